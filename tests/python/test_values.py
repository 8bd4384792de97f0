"""Values from Python: every spec field's type and range, tile and network arguments, failed
copies (MemoryError, never a crash), errors in Python terms, integer arguments of the study
API, and the ir_drop memory estimate."""
import math
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import mho
from mho import _core

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
LENET = os.path.join(ROOT, "data", "models", "lenet5_mnist.h5")
SPECS = [mho.CellSpec, mho.DacSpec, mho.AdcSpec, mho.WireSpec, mho.TileSpec, mho.PimSystemSpec, mho.DigitalSpec]


def fields_of(kind):
    """(spec class, field) for every field whose default is of `kind`."""
    out = []
    for cls in SPECS:
        s = cls()
        for f in s.fields():
            v = getattr(s, f)
            if type(v) is kind:
                out.append((cls, f))
    return out


FLOAT_FIELDS = fields_of(float)
INT_FIELDS = fields_of(int)
BOOL_FIELDS = fields_of(bool)


def test_the_field_lists_cover_the_specs():
    assert len(FLOAT_FIELDS) >= 20 and len(INT_FIELDS) >= 20 and len(BOOL_FIELDS) >= 7
    assert (mho.CellSpec, "g_max_S") in FLOAT_FIELDS and (mho.AdcSpec, "bits") in INT_FIELDS
    # TileSpec.drift_compensation became a name ("none" | "global" | "per_column").
    assert (mho.TileSpec, "read_noise") in BOOL_FIELDS


@pytest.mark.parametrize("cls,field", FLOAT_FIELDS, ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e300])
def test_every_float_field_rejects_non_finite_and_overflowing_values(cls, field, bad):
    with pytest.raises(ValueError) as e:
        cls(**{field: bad})
    msg = str(e.value)
    assert f"{cls.__name__}.{field} = " in msg, msg
    assert repr(bad) in msg or f"{bad:g}" in msg, msg   # the value
    assert "finite number in" in msg, msg               # the allowed range


@pytest.mark.parametrize("cls,field", FLOAT_FIELDS, ids=lambda v: getattr(v, "__name__", v))
def test_float_fields_take_numbers_not_bools_or_strings(cls, field):
    default = getattr(cls(), field)
    assert getattr(cls(**{field: np.float64(default)}), field) == default
    for bad in (True, "1.0", None, [1.0]):
        with pytest.raises(TypeError, match=f"{cls.__name__}.{field}: expected a number"):
            cls(**{field: bad})


@pytest.mark.parametrize("cls,field", INT_FIELDS, ids=lambda v: getattr(v, "__name__", v))
def test_integer_fields_reject_fractions_bools_and_nan(cls, field):
    default = getattr(cls(), field)
    assert getattr(cls(**{field: np.int64(default)}), field) == default
    for bad in (default + 0.5, float(default), np.float32(default + 0.5), True, math.nan, None, str(default)):
        with pytest.raises(TypeError, match=f"{cls.__name__}.{field}: expected an integer"):
            cls(**{field: bad})


def test_fractional_adc_bits_are_not_truncated():
    with pytest.raises(TypeError, match=r"AdcSpec.bits: expected an integer, got float 4.5"):
        mho.AdcSpec(bits=4.5)
    with pytest.raises(TypeError, match=r"AdcSpec.bits: expected an integer, got float32 4.5"):
        mho.AdcSpec(bits=np.float32(4.5))
    with pytest.raises(TypeError, match="AdcSpec.bits"):
        mho.AdcSpec().replace(bits=5.0)


@pytest.mark.parametrize("cls,field", BOOL_FIELDS, ids=lambda v: getattr(v, "__name__", v))
def test_bool_fields_take_only_bools(cls, field):
    assert getattr(cls(**{field: np.bool_(True)}), field) is True
    assert getattr(cls(**{field: False}), field) is False
    for bad in (None, 1.0, 1, 0, "true"):
        with pytest.raises(TypeError, match=f"{cls.__name__}.{field}: expected True or False"):
            cls(**{field: bad})


@pytest.mark.parametrize("field", ["prog_sigma", "read_sigma"])
def test_noise_parameters_are_bounded(field):
    kind = "prog_error" if field == "prog_sigma" else "read_noise"
    with pytest.raises(ValueError, match=rf"CellSpec.{field}\[0\] \(sigma_S\) = 1e\+300: must be a finite number"):
        mho.CellSpec(**{kind: "constant", field: [1e300]})
    with pytest.raises(ValueError, match=rf"CellSpec.{field}\[0\]"):
        mho.CellSpec(**{kind: "proportional", field: [math.inf]})
    with pytest.raises(TypeError, match=rf"CellSpec.{field}\[1\]: expected a number, got bool"):
        mho.CellSpec(**{kind: "polynomial", field: [1e-6, True]})


def test_specs_take_keywords_only():
    with pytest.raises(TypeError, match=r"AdcSpec\(\) takes keyword arguments only"):
        mho.AdcSpec(4)
    with pytest.raises(TypeError, match=r"AdcSpec.replace\(\) takes keyword arguments only"):
        mho.AdcSpec().replace(4)


def programmed_tile(rows=16, outputs=4):
    t = mho.Tile(mho.TileSpec.ideal(rows, 2 * outputs))
    t.program(np.ones((rows, outputs)))
    return t


@pytest.mark.parametrize("bad", [math.inf, math.nan, -1.0, 1e11])
def test_set_time_rejects_non_finite_and_negative(bad):
    t = programmed_tile()
    with pytest.raises(ValueError, match=r"Tile.set_time\(t_s\) = .*: must be a finite number in \[0, 1e\+10\]"):
        t.set_time(bad)
    with pytest.raises(TypeError, match=r"Tile.set_time\(t_s\): expected a number"):
        t.set_time("1")


def test_sample_offset_must_keep_the_stream_counter_in_range():
    t = programmed_tile()
    x = np.ones((3, 16))
    assert np.array_equal(t.forward(x, sample_offset=None), t.forward(x, sample_offset=-1))
    t.forward(x, sample_offset=2**62 - 3)
    for bad in (-2, 2**62 - 2, 2**62, 2**63 - 1):
        with pytest.raises(ValueError, match=r"Tile.forward\(sample_offset\) = "):
            t.forward(x, sample_offset=bad)
    with pytest.raises(ValueError, match=r"Tile.forward\(sample_offset\)"):
        t.forward(x, sample_offset=2**63)
    for bad in (1.0, math.nan, True):
        with pytest.raises(TypeError, match=r"Tile.forward\(sample_offset\): expected an integer"):
            t.forward(x, sample_offset=bad)


def test_network_forward_rejects_non_finite_input_like_tile_forward():
    net, _ = mho.nets.load(LENET)
    x = np.zeros((3, 1, 28, 28), np.float32)
    net.forward(x)
    for bad in (np.nan, np.inf, -np.inf):
        x[2, 0, 5, 5] = bad
        with pytest.raises(ValueError, match="network input = row 2 with NaN or infinity: must be finite"):
            net.forward(x)
    spec = mho.TileSpec.ideal(256, 256)
    pim = _core.PimNetwork(net, spec)
    pim.program(0)
    with pytest.raises(ValueError, match="must be finite"):
        pim.forward(x)


HUGE = (10**9, 64)


@pytest.mark.parametrize("call", ["forward", "calibrate"])
def test_a_copy_too_large_for_memory_is_a_memory_error(call):
    t = mho.Tile(mho.TileSpec(rows=64, cols=64, weight_bits=4, cell="rram_neurosim_22nm",
                              dac=mho.DacSpec(input_bits=4, signed_mode="bipolar")))
    t.program(np.ones((64, 4)))
    x = np.broadcast_to(np.ones(64), HUGE)  # a view: every row the same memory
    with pytest.raises(MemoryError, match=rf"Tile.{call}\(x\): a contiguous float64 copy of the 1000000000x64 array needs 512 GB"):
        getattr(t, call)(x)


def test_network_copy_too_large_is_a_memory_error():
    net, _ = mho.nets.load(LENET)
    x = np.broadcast_to(np.ones((1, 28, 28), np.float32), (10**9, 1, 28, 28))
    with pytest.raises(MemoryError, match=r"Network.forward\(x\): a contiguous float32 copy"):
        net.forward(x)


def test_a_failed_allocation_inside_numpy_is_a_memory_error_not_a_crash():
    # Under an address-space limit numpy's own allocation fails (the copy is far below the
    # memory available, so mho's estimate lets it through): it must surface as MemoryError.
    code = textwrap.dedent("""
        import resource, numpy as np, mho
        t = mho.Tile(mho.TileSpec.ideal(64, 8)); t.program(np.ones((64, 4)))
        x = np.broadcast_to(np.ones(64), (4 * 10**6, 64))   # 2 GB as a contiguous copy
        vm = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (vm + (1 << 30), vm + (1 << 30)))   # 1 GiB more than now
        for call in (t.forward, t.calibrate):
            try:
                call(x)
            except MemoryError as e:
                print("MemoryError")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["MemoryError", "MemoryError"]


@pytest.mark.parametrize("call, text", [
    (lambda: mho.Tile("spec"), r"Tile\(spec\): expected TileSpec, got str 'spec'"),
    (lambda: programmed_tile().forward("x"), r"Tile.forward\(x\): expected a 2-D float32 or float64 numpy array, got str"),
    (lambda: programmed_tile().forward(np.ones((2, 16)), y=1), r"Tile.forward\(x: 2-D float32/float64 array, sample_offset"),
    (lambda: programmed_tile().program("w"), r"Tile.program\(weights\): expected a numpy array, got str"),
    (lambda: programmed_tile().program(np.array([["a"]])), r"Tile.program\(weights\): expected an array of numbers, got dtype <U1"),
    (lambda: _core.load_model(3), r"load_model\(path\): expected a path"),
    (lambda: mho.cell_preset(5), r"cell_preset\(name\): expected a string, got int 5"),
    (lambda: mho.TileSpec(cell=5), r"TileSpec.cell: expected CellSpec, got int 5"),
    (lambda: mho.TileSpec(adc=mho.DacSpec()), r"TileSpec.adc: expected AdcSpec, got DacSpec"),
    (lambda: mho.CellSpec(name=None), r"CellSpec.name: expected a string, got NoneType None"),
    (lambda: _core.map_network(_core.zoo_network("lenet5"), mho.TileSpec(), {0: 1.5}), r"map_network\(network: Network"),
    (lambda: _core.PimNetwork("net", mho.TileSpec()), r"PimNetwork\(network\): expected Network, got str"),
    (lambda: mho.cost.load_tech("22nm").adc("sar", "six"), r"TechTable.adc\(type: str, bits: int\): got \(str 'sar', str 'six'\)"),
    (lambda: _core.TechTable.load(path=1, node="22nm"), r"TechTable.load\(path\): expected a path"),
    (lambda: mho.set_num_threads(1.5), r"set_num_threads\(n\): expected an integer, got float 1.5"),
    (lambda: mho.TileSpec.ideal(64.5, 64), r"TileSpec.ideal\(rows: int, cols: int\): got \(float 64.5, int 64\)"),
])
def test_errors_name_the_argument_in_python_terms(call, text):
    with pytest.raises(TypeError) as e:
        call()
    msg = str(e.value)
    assert __import__("re").search(text, msg), msg
    for cpp in ("std::", "incompatible function arguments", "mho::", "Invoked with"):
        assert cpp not in msg, msg


@pytest.mark.parametrize("kw, name, kind", [
    ({"chips": 1.5}, "chips", TypeError), ({"chips": True}, "chips", TypeError), ({"chips": 0}, "chips", ValueError),
    ({"limit": math.nan}, "limit", TypeError), ({"limit": 2.0}, "limit", TypeError), ({"limit": 0}, "limit", ValueError),
    ({"batch": np.float64(8)}, "batch", TypeError), ({"batch": False}, "batch", TypeError),
    ({"calib_samples": 8.5}, "calib_samples", TypeError),
    ({"time_s": math.nan}, "time_s", ValueError), ({"time_s": math.inf}, "time_s", ValueError),
    ({"time_s": -1.0}, "time_s", ValueError), ({"time_s": "1"}, "time_s", TypeError),
    ({"replication": {0: 1.5}}, "replication", TypeError), ({"spec": "x"}, "spec", TypeError),
])
def test_study_arguments_are_checked_before_any_work(kw, name, kind, monkeypatch):
    def no_work(*a, **k):
        raise AssertionError("work started before the arguments were checked")
    monkeypatch.setattr(mho.study_inputs, "load", no_work)
    with pytest.raises(kind, match=name):
        mho.study.evaluate(LENET, **kw)


@pytest.mark.parametrize("param, values, text", [
    ("array", [64, 64.5], r"values\[1\] = 64.5: array: expected an integer"),
    ("array", [True], r"values\[0\] = True: array: expected an integer"),
    ("adc.bits", [4, 4.5], r"values\[1\] = 4.5: AdcSpec.bits: expected an integer"),
    ("time_s", [0, math.nan], r"values\[1\] = nan: time_s"),
    ("read_noise_scale", [1, math.inf], r"values\[1\] = inf: read_noise_scale"),
    ("adc.bits", "456", r"values: expected a list"),
])
def test_every_sweep_value_is_checked_before_the_first_runs(param, values, text, monkeypatch):
    monkeypatch.setattr(mho.study, "evaluate", lambda *a, **k: pytest.fail("a sweep point ran"))
    with pytest.raises((TypeError, ValueError), match=text):
        mho.study.sweep(LENET, param, values, spec=mho.study.default_spec())


def test_tile_study_and_cost_integer_arguments():
    for kw, name in (({"chips": 2.5}, "chips"), ({"rows": 64.0}, "rows"), ({"batch": True}, "batch"),
                     ({"adc_bits": (4, 4.5)}, r"adc_bits\[1\]"), ({"read_noise": (math.nan,)}, r"read_noise\[0\]")):
        with pytest.raises((TypeError, ValueError), match=name):
            mho.tile_study.run(**kw)
    with pytest.raises(TypeError, match=r"replication\[0\]: expected an integer"):
        mho.cost.pim("lenet5", mho.TileSpec(), replication={0: 2.5})
    with pytest.raises(TypeError, match="node: expected a node name"):
        mho.cost.load_tech(22)


def test_ir_drop_refuses_what_cannot_fit_at_once():
    g = np.broadcast_to(1e-4, (20000, 20000))   # a view: no memory of its own
    with pytest.raises(MemoryError, match=r"ir_drop: a 20000x20000 array needs about .* GB to factor \(estimate\)"):
        mho.ir_drop(g, np.ones(20000), 0.1, 0.1)


def test_ir_drop_estimate_grows_as_measured_and_warns_for_long_solves(monkeypatch):
    from mho import parasitics
    m256, t256 = parasitics.estimate_ir_drop(256, 256)
    m1024, t1024 = parasitics.estimate_ir_drop(1024, 1024)
    # Peak RSS measured for these sizes: 85 MiB and 1.68 GiB; the estimate bounds them from above.
    assert 85 * 2**20 < m256 < 2 * 85 * 2**20 and 1.68 * 2**30 < m1024 < 2 * 1.68 * 2**30
    assert t1024 == pytest.approx(parasitics.SECONDS_1024) and t256 < 0.1
    assert parasitics.estimate_ir_drop(64, 64, batch=8, nodes=True)[0] > parasitics.estimate_ir_drop(64, 64)[0]
    monkeypatch.setattr(parasitics, "available_memory", lambda: 1 << 50)
    with pytest.warns(parasitics.SlowSolveWarning, match=r"a 3000x3000 array takes about \d+ s to factor"):
        parasitics._check_fits(3000, 3000, 1, False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parasitics._check_fits(512, 512, 1, False)   # quick: no warning
        mho.ir_drop(np.full((8, 8), 1e-4), np.ones(8), 0.1, 0.1)


def test_ir_drop_arguments():
    g = np.full((4, 4), 1e-4)
    with pytest.raises(TypeError, match="r_row: expected a number"):
        mho.ir_drop(g, np.ones(4), "0.1", 0.1)
    with pytest.raises(ValueError, match="r_col = nan"):
        mho.ir_drop(g, np.ones(4), 0.1, math.nan)
    with pytest.raises(TypeError, match="nodes: expected True or False"):
        mho.ir_drop(g, np.ones(4), 0.1, 0.1, nodes=1)


def test_layer_indices_are_checked():
    net, _ = mho.nets.load(LENET)
    n = net.num_layers
    assert net.layer(-1) == net.layer(n - 1)
    with pytest.raises(IndexError, match=rf"Network.layer\(index\) = {n}: the network has {n} layers"):
        net.layer(n)
    with pytest.raises(IndexError, match=r"Network.weight_matrix\(group\) = 1: layer 0 has 1 group"):
        net.weight_matrix(0, 1)
    with pytest.raises(IndexError, match=r"Network.weight_matrix\(layer\)"):
        net.weight_matrix(-n - 1)
