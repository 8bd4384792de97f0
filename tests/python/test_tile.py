import numpy as np
import pytest

import mho


def ideal_tile(w, rows=128, cols=128):
    t = mho.Tile(mho.TileSpec.ideal(rows, cols))
    t.program(w)
    return t


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_ideal_equals_numpy_matmul(rng, dtype, rtol):
    w = rng.normal(size=(100, 40))
    x = rng.normal(size=(17, 100)).astype(dtype)
    y = ideal_tile(w).forward(x)
    ref = x.astype(np.float64) @ w
    assert y.dtype == dtype and y.shape == (17, 40)
    assert np.abs(y - ref).max() <= rtol * np.abs(ref).max()


def test_any_memory_order(rng):
    w = rng.normal(size=(50, 20))
    t = ideal_tile(w)
    x = rng.normal(size=(30, 50))
    ref = t.forward(x)
    np.testing.assert_array_equal(t.forward(np.asfortranarray(x)), ref)
    big = rng.normal(size=(60, 100))
    view = big[::2, ::2]  # non-contiguous
    np.testing.assert_allclose(t.forward(view), view @ w, rtol=1e-12, atol=1e-12)


def test_bad_inputs(rng):
    t = ideal_tile(rng.normal(size=(10, 4)))
    with pytest.raises(TypeError, match="dtype int64 is not supported; use float32 or float64"):
        t.forward(np.ones((2, 10), dtype=np.int64))
    with pytest.raises(TypeError, match=r"Tile.forward\(x\): expected a 2-D float32 or float64 numpy array, got list"):
        t.forward([[1.0] * 10])
    with pytest.raises(ValueError, match="2-D"):
        t.forward(np.ones(10))
    with pytest.raises(ValueError, match="must have 10 columns"):
        t.forward(np.ones((2, 11)))
    with pytest.raises(ValueError, match="finite"):
        t.forward(np.full((2, 10), np.nan))
    with pytest.raises(ValueError, match="needs 300 rows"):
        t.program(np.ones((300, 2)))
    with pytest.raises(RuntimeError, match="not programmed"):
        mho.Tile(mho.TileSpec()).forward(np.ones((1, 3)))
    calib = mho.Tile(mho.TileSpec(rows=16, cols=16))
    calib.program(np.ones((4, 2)))
    with pytest.raises(RuntimeError, match="calibrate"):
        calib.forward(np.ones((1, 4)))


def test_realistic_tile_close_to_matmul_and_counts(rng):
    spec = mho.TileSpec(rows=128, cols=128, cell="rram_neurosim_22nm", weight_bits=6,
                        bits_per_cell=6, dac=mho.DacSpec(input_bits=8), adc=mho.AdcSpec(bits=10))
    w = rng.normal(size=(128, 32))
    x = rng.normal(size=(64, 128))
    t = mho.Tile(spec, tile_id=1)
    t.program(w, chip=0)
    t.calibrate(x)
    y = t.forward(x)
    ref = x @ w
    rel = np.linalg.norm(y - ref) / np.linalg.norm(ref)
    assert 0.005 < rel < 0.2  # noisy but still the same product
    c = t.last_counters
    energy = c.pop("cell_energy_J")
    # Two passes (x+ and x-): an input drives a row in at most one of them, and only those
    # whose code is not 0.
    driven = c.pop("driven_rows")
    assert 0.9 * 64 * 128 < driven <= 64 * 128
    assert c == {"cell_reads": 2 * 64 * 128 * 64, "dac_conversions": 2 * 64 * 128,
                 "adc_conversions": 2 * 64 * 32, "shift_adds": 64 * 32 * 1,
                 "samples": 64, "forward_calls": 1}
    # At most every cell at full read voltage: t_read v_read^2 sum(G) per pass and sample.
    g = t.conductances
    cell = spec.cell
    assert 0 < energy <= 2 * 64 * cell.t_read_s * cell.v_read_V ** 2 * g.sum()
    t.forward(x)
    assert t.total_counters["samples"] == 128


def test_reproducible_across_threads_and_splits(rng):
    spec = mho.TileSpec(rows=64, cols=128, cell="pcm_joshi2020", weight_bits=8, bits_per_cell=4,
                        dac=mho.DacSpec(input_bits=8, mode="bitserial", bits_per_plane=2),
                        adc=mho.AdcSpec(bits=8, noise_lsb=0.3), seed=7)
    w = rng.normal(size=(64, 20))
    x = rng.normal(size=(200, 64)).astype(np.float32)

    def run(splits):
        t = mho.Tile(spec)
        t.program(w, chip=2)
        t.set_time(3600.0)
        t.calibrate(x[:50])
        return np.concatenate([t.forward(part) for part in np.split(x, splits)])

    before = mho.get_num_threads()
    try:
        mho.set_num_threads(1)
        a = run([200])
        mho.set_num_threads(2)
        b = run([1, 3, 120])
    finally:
        mho.set_num_threads(before)
    np.testing.assert_array_equal(a, b)


def test_pcm_drift_lowers_output_and_compensation_restores(rng):
    base = dict(rows=64, cols=64, cell="pcm_joshi2020", weight_bits=0, programming_error=False,
                read_noise=False, dac=mho.DacSpec(input_bits=0), adc=mho.AdcSpec(bits=0))
    w = rng.normal(size=(64, 16))
    x = np.abs(rng.normal(size=(32, 64)))
    out = {}
    for comp in ("none", "global", "per_column"):
        t = mho.Tile(mho.TileSpec(drift_compensation=comp, **base))
        t.program(w)
        t.set_time(86400.0)
        out[comp] = t.forward(x)
        assert t.drift_scale.shape == (16,)
    ref = x @ w
    err = {k: np.linalg.norm(v - ref) / np.linalg.norm(ref) for k, v in out.items()}
    assert err["global"] < 0.5 * err["none"]
    assert err["per_column"] < 0.5 * err["none"]
    with pytest.raises(ValueError, match=r"TileSpec\.drift_compensation = 'yes'.*per_column"):
        mho.TileSpec(drift_compensation="yes")
    with pytest.raises(TypeError, match="drift_compensation"):
        mho.TileSpec(drift_compensation=True)


def test_pcm_read_noise_grows_with_time(rng):
    # Per-read draws (the preset's 1/f noise is frozen per campaign): the spread over repeated
    # reads then measures sigma(t).
    cell = mho.cell_preset("pcm_joshi2020").replace(read_noise_draw="per_read")
    spec = mho.TileSpec(rows=32, cols=8, cell=cell, weight_bits=0,
                        programming_error=False, drift=False,
                        dac=mho.DacSpec(input_bits=0), adc=mho.AdcSpec(bits=0), seed=3)
    w = rng.normal(size=(32, 4))
    x = np.repeat(np.abs(rng.normal(size=(1, 32))), 4000, axis=0)
    spread = []
    for t in (100.0, 1e7):
        tile = mho.Tile(spec)
        tile.program(w)
        tile.set_time(t)
        spread.append(tile.forward(x).std(axis=0).mean())
    # sigma ~ sqrt(ln((t + t_read) / (2 t_read))): ratio sqrt(ln(2e13) / ln(2e8)) = 1.38
    expect = np.sqrt(np.log((1e7 + 250e-9) / 500e-9) / np.log((100 + 250e-9) / 500e-9))
    assert spread[1] / spread[0] == pytest.approx(expect, rel=0.05)
