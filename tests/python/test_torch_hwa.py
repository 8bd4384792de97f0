"""Hardware-aware training of converted models (mho.torch in train() mode, torch_hwa.py).

Truths: the C++ tiles (the noise-free training forward reproduces their quantized outputs),
the float model (an ideal TileSpec), the C++ cell model's sigma functions evaluated at the
C++ tile's own target conductances (the noise's variance), and plain torch autograd of the
clipped float product (the straight-through gradients)."""
import math

import numpy as np
import pytest

import mho

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402


def noiseless(**kw):
    kw.setdefault("cell", "pcm_joshi2020")
    return mho.TileSpec(rows=kw.pop("rows", 32), cols=kw.pop("cols", 32), programming_error=False, read_noise=False,
                        drift=False, stuck_at=False, **kw)


def both_modes(model, spec, x, chip=0):
    """(eval output on the tiles, train-mode output) of `model` converted with `spec`."""
    analog = mho.torch.convert(model, spec)
    analog.program(chip)
    analog.calibrate(x)
    with torch.no_grad():
        y_eval = analog(x)
    analog.train()
    return y_eval, analog(x), analog


@pytest.mark.parametrize("kw", [dict(), dict(encoding="offset"), dict(subtract="digital"),
                                dict(encoding="offset", subtract="digital"), dict(weight_scale="per_column"),
                                dict(dac=mho.DacSpec(input_bits=6, mode="bitserial", bits_per_plane=2)),
                                dict(dac=mho.DacSpec(input_bits=5, signed_mode="bipolar")),
                                dict(adc=mho.AdcSpec(bits=6), weight_bits=5),
                                dict(weight_bits=0), dict(weight_bits=0, encoding="offset")])
def test_noise_free_training_forward_is_the_tiles_product(kw):
    # Quantization, slices, encodings, converters and the split over blocks (rows=16: several
    # row blocks, 54 tiles for the Linear) follow the C++ tile to the last bit of float64.
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(4, 8, 3, groups=2, padding=1), nn.ReLU(), nn.Flatten(),
                      nn.Linear(8 * 5 * 5, 12)).double()
    x = torch.randn(12, 4, 5, 5, dtype=torch.float64)
    y_eval, y_train, analog = both_modes(m, noiseless(rows=16, **kw), x)
    assert len(analog.tile_layers()["3"].tiles) > 1
    assert torch.allclose(y_train, y_eval, rtol=0, atol=1e-12 * float(y_eval.abs().max()))


def test_ideal_spec_in_train_mode_is_the_float_model_with_its_gradients():
    torch.manual_seed(1)
    m = nn.Sequential(nn.Conv1d(3, 6, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 9, 4))
    x = torch.randn(7, 3, 9)
    analog = mho.torch.convert(m, mho.TileSpec.ideal(32, 32))
    analog.program(0)
    analog.train()
    xa, xf = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yf = analog(xa), m(xf)
    assert float((ya - yf).norm() / yf.norm()) < 1e-5
    r = torch.randn_like(yf)
    (ya * r).sum().backward()
    (yf * r).sum().backward()
    pa, pf = list(analog.parameters()), list(m.parameters())
    assert len(pa) == len(pf) == 4
    for a, f in zip(pa, pf):
        assert a.grad is not None and torch.allclose(a.grad, f.grad, rtol=1e-5, atol=1e-6)
    assert torch.allclose(xa.grad, xf.grad, rtol=1e-5, atol=1e-6)


def test_attention_trains_through_its_projections():
    torch.manual_seed(2)
    m = nn.MultiheadAttention(8, 2, batch_first=True)
    x = torch.randn(3, 5, 8)
    analog = mho.torch.convert(m, mho.TileSpec.ideal(32, 32))
    analog.program(0)
    analog.train()
    m.train()
    ya, _ = analog(x, x, x)
    yf, _ = m(x, x, x)
    assert float((ya - yf).norm() / yf.norm()) < 1e-5
    ya.sum().backward()
    yf.sum().backward()
    assert torch.allclose(analog.model.in_proj_weight.grad, m.in_proj_weight.grad, rtol=1e-5, atol=1e-6)
    assert torch.allclose(analog.model.out_proj.weight.grad, m.out_proj.weight.grad, rtol=1e-5, atol=1e-6)


def test_train_mode_leaves_the_tiles_untouched_and_program_maps_trained_weights():
    torch.manual_seed(3)
    m = nn.Linear(10, 6, bias=False)  # a bias is digital: it would change the outputs below
    x = torch.randn(20, 10)
    spec = mho.TileSpec(rows=16, cols=32, cell="pcm_joshi2020", weight_bits=8)
    analog = mho.torch.convert(m, spec)
    assert not analog.training  # a converted model starts as an inference model
    analog.program(0)
    analog.calibrate(x)
    with torch.no_grad():
        y0 = analog(x)
    analog.train()
    opt = torch.optim.SGD(analog.parameters(), lr=0.1)
    F.mse_loss(analog(x), torch.zeros(20, 6)).backward()
    opt.step()
    assert analog.inferences() == 20 and analog.counters()[""]["cell_reads"] > 0
    analog.eval()
    analog.reset_samples()
    with torch.no_grad():
        assert torch.equal(analog(x), y0)  # the tiles still hold the old weights
    analog.program(0)
    analog.calibrate(x)
    tile = analog.tile_layers()[""].tiles[0]
    ref = mho.Tile(spec, tile.tile_id)
    ref.program(analog.model.weight.detach().double().t().numpy().copy(), 0)
    assert np.array_equal(tile.target_conductances, ref.target_conductances)
    assert not torch.equal(analog.model.weight, m.weight)  # the user's model is untouched


def identity_readout(spec, w, draws, t_s=None):
    """Effective weights (draws x rows x cols) of `draws` training forwards of a bias-free
    Linear holding w.T, read with one-hot inputs through an ideal DAC and ADC (t_s after
    programming when given); and the tile."""
    n_in, n_out = w.shape
    lin = nn.Linear(n_in, n_out, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(w.T))
    analog = mho.torch.convert(lin, spec)
    analog.program(0)
    eye = torch.eye(n_in, dtype=torch.float64)
    analog.calibrate(eye)
    if t_s is not None:
        analog.set_time(t_s)
    analog.train()
    with torch.no_grad():
        ys = torch.stack([analog(eye) for _ in range(draws)]).numpy()
    return ys, analog.tile_layers()[""].tiles[0]


def custom_pcm(**kw):
    # g_min well above the programming error's sigma, so that clipping at 0 never acts and
    # the noise stays Gaussian.
    cell = mho.cell_preset("pcm_joshi2020")
    d = cell.to_dict()
    d.update(g_min_S=5e-6, **kw)
    return mho.CellSpec.from_dict(d)


def sigma_of_outputs(spec, tile, w, sigma_fn):
    """Per weight: the sigma of its effective value from the cells' sigma (C++ CellModel at
    the C++ tile's target conductances), combined as the tile combines slices and signs."""
    g = tile.target_conductances
    n_out = tile.num_outputs
    slices = tile.num_slices
    bpc = -(-spec.weight_bits // slices)
    w_max = np.abs(w).max()
    w_lsb = w_max / (2 ** spec.weight_bits - 1)
    dg = (spec.cell.g_max_S - spec.cell.g_min_S) / (2 ** bpc - 1)
    model = mho.CellModel(spec.cell)
    s = np.vectorize(lambda v: sigma_fn(model, v))(g)
    var = np.zeros((g.shape[0], n_out))
    for k in range(slices):
        c = (2.0 ** (k * bpc) * w_lsb / dg) ** 2
        var += c * (s[:, 2 * k * n_out:(2 * k + 1) * n_out] ** 2 + s[:, (2 * k + 1) * n_out:(2 * k + 2) * n_out] ** 2)
    return np.sqrt(var)


W = np.random.default_rng(5).normal(0.0, 0.3, size=(12, 10))


def check_gaussian(ys, mean, sigma):
    z = (ys - mean) / sigma
    n = z.size
    # Sample mean and variance of n standard normals: standard errors 1/sqrt(n), sqrt(2/n).
    assert abs(z.mean()) < 5.0 / math.sqrt(n)
    assert abs(z.var() - 1.0) < 5.0 * math.sqrt(2.0 / n)


def test_programming_error_has_the_cell_models_variance():
    torch.manual_seed(4)
    spec = mho.TileSpec(rows=16, cols=64, cell=custom_pcm(), weight_bits=8, dac=mho.DacSpec(input_bits=0),
                        adc=mho.AdcSpec(bits=0), read_noise=False, drift=False, stuck_at=False)
    ys, tile = identity_readout(spec, W, 100)
    quiet = mho.Tile(noiseless(cell=custom_pcm(), rows=16, cols=64, weight_bits=8), tile.tile_id)
    quiet.program(W, 0)
    quiet.calibrate(np.eye(12))
    mean = quiet.forward(np.eye(12), 0)
    check_gaussian(ys, mean, sigma_of_outputs(spec, tile, W, lambda m, g: m.prog_sigma(g)))
    with pytest.raises(AssertionError):  # the check can fail: a sigma 10 % off is caught
        check_gaussian(ys, mean, 1.1 * sigma_of_outputs(spec, tile, W, lambda m, g: m.prog_sigma(g)))


@pytest.mark.parametrize("draw", ["per_read", "frozen"])
def test_read_noise_has_the_cell_models_variance(draw):
    torch.manual_seed(5)
    cell = custom_pcm(read_noise_draw=draw, read_noise_state="drifted")
    spec = mho.TileSpec(rows=16, cols=64, cell=cell, weight_bits=8, dac=mho.DacSpec(input_bits=0),
                        adc=mho.AdcSpec(bits=0), programming_error=False, drift=False, stuck_at=False)
    t_s = 3600.0
    n_in = W.shape[0]
    ys, tile = identity_readout(spec, W, 100, t_s)
    quiet = mho.Tile(noiseless(cell=cell, rows=16, cols=64, weight_bits=8), tile.tile_id)
    quiet.program(W, 0)
    quiet.calibrate(np.eye(n_in))
    check_gaussian(ys, quiet.forward(np.eye(n_in), 0), sigma_of_outputs(spec, tile, W, lambda m, g: m.read_sigma(g, t_s)))


def test_straight_through_gradients_are_the_float_ones_and_zero_where_clipped():
    torch.manual_seed(6)
    lin = nn.Linear(8, 5)
    x = torch.rand(30, 8)
    spec = mho.TileSpec(rows=16, cols=64, cell="pcm_joshi2020", weight_bits=6,
                        dac=mho.DacSpec(input_bits=6), adc=mho.AdcSpec(bits=6))
    analog = mho.torch.convert(lin, spec)
    analog.program(0)
    analog.calibrate(x)
    analog.set_time(3600.0)
    analog.train()
    analog(x)  # fixes the programmable range: max |w|
    layer = analog.model
    w_range = float(lin.weight.abs().max())
    with torch.no_grad():
        layer.weight[0, 0] = 3.0 * w_range   # clipped
        layer.weight[1, 2] = -2.0 * w_range  # clipped
    x_max = analog.tile_layers()[""].tiles[0].dac_range
    xin = x.clone()
    xin[3, 4] = 5.0 * x_max  # past the DAC's range: clipped
    xin.requires_grad_()
    r = torch.randn(30, 5)
    (analog(xin) * r).sum().backward()
    # The reference: the float product of the clipped operands, by plain autograd.
    w_ref = layer.weight.detach().clone().requires_grad_()
    x_ref = xin.detach().clone().requires_grad_()
    b_ref = layer.bias.detach().clone().requires_grad_()
    x_bound = x_max * (1 + 0.5 / 63)  # the DAC's last code's rounding interval
    y_ref = F.linear(torch.clamp(x_ref, -x_bound, x_bound), torch.clamp(w_ref, -w_range, w_range), b_ref)
    (y_ref * r).sum().backward()
    assert layer.weight.grad[0, 0] == 0 and layer.weight.grad[1, 2] == 0 and xin.grad[3, 4] == 0
    assert int((layer.weight.grad != 0).sum()) == 5 * 8 - 2
    assert torch.allclose(layer.weight.grad, w_ref.grad, rtol=1e-5, atol=1e-6)
    assert torch.allclose(xin.grad, x_ref.grad, rtol=1e-5, atol=1e-6)
    assert torch.allclose(layer.bias.grad, b_ref.grad, rtol=1e-5, atol=1e-6)


def test_training_needs_calibrated_ranges_and_current_accumulation():
    m = nn.Linear(4, 3)
    analog = mho.torch.convert(m, mho.TileSpec(rows=16, cols=32, cell="pcm_joshi2020"))
    analog.program(0)
    analog.train()
    with pytest.raises(RuntimeError, match="calibrate"):
        analog(torch.rand(2, 4))
    charge = mho.TileSpec(rows=16, cols=32, accumulation="charge", cap="sram_22nm_wang2022", weight_bits=4,
                          bits_per_cell=1, dac=mho.DacSpec(input_bits=4, mode="bitserial", signed_mode="unsigned"))
    analog = mho.torch.convert(m, charge)
    analog.program(0)
    analog.calibrate(torch.rand(8, 4))
    analog.train()
    with pytest.raises(ValueError, match="accumulation"):
        analog(torch.rand(2, 4))


def blobs(n, seed):
    """6 overlapping Gaussian classes in 16 dimensions (fixed centres)."""
    centres = torch.randn(6, 16, generator=torch.Generator().manual_seed(99))
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 6, (n,), generator=g)
    return centres[y] + 1.1 * torch.randn(n, 16, generator=g), y


def test_hwa_finetuning_improves_analog_accuracy():
    torch.manual_seed(0)
    xtr, ytr = blobs(4000, 1)
    xte, yte = blobs(1000, 2)
    m = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 6))

    def fit(model, steps, lr):
        opt = torch.optim.Adam(model.parameters(), lr)
        for _ in range(steps):
            i = torch.randint(0, len(xtr), (128,))
            loss = F.cross_entropy(model(xtr[i]), ytr[i])
            opt.zero_grad()
            loss.backward()
            opt.step()

    fit(m, 300, 1e-2)
    # A noisy RRAM: programming error sigma 20 % of g_max (the preset's is 3 %), 6-bit weights
    # and converters.
    d = mho.cell_preset("rram_neurosim_22nm").to_dict()
    d.update(prog_sigma=[0.2 * d["g_max_S"]])
    spec = mho.TileSpec(rows=64, cols=64, cell=mho.CellSpec.from_dict(d), weight_bits=6,
                        dac=mho.DacSpec(input_bits=6), adc=mho.AdcSpec(bits=6), seed=3)
    analog = mho.torch.convert(m, spec)

    def chips():
        analog.eval()
        out = []
        for chip in range(4):
            analog.program(chip)
            analog.calibrate(xtr[:500])
            with torch.no_grad():
                out.append(float((analog(xte).argmax(1) == yte).float().mean()))
        return np.array(out)

    with torch.no_grad():
        float_acc = float((m(xte).argmax(1) == yte).float().mean())
    before = chips()
    analog.program(100)  # the training chip: ranges only, never one of the evaluated chips
    analog.calibrate(xtr[:500])
    analog.train()
    torch.manual_seed(0)
    fit(analog, 150, 3e-3)
    after = chips()
    # Measured: float 98.5 %, before 93.6 % (chips 92.2-94.7), after 96.9 % (96.3-97.9).
    assert float_acc - before.mean() > 0.03
    assert after.min() > before.max()
    assert after.mean() - before.mean() > 0.5 * (float_acc - before.mean())


def test_drift_has_the_cell_models_exponent_statistics():
    # Drift alone, no compensation: each cell's g (t/t0)^-nu with nu ~ N(mu(g), sd(g)) from the
    # C++ drift_moments at the C++ tile's targets; a weight is its slices' G+ - G- recombined.
    torch.manual_seed(7)
    cell = custom_pcm()
    spec = mho.TileSpec(rows=16, cols=64, cell=cell, weight_bits=8, dac=mho.DacSpec(input_bits=0),
                        adc=mho.AdcSpec(bits=0), programming_error=False, read_noise=False, stuck_at=False)
    t_s = 86400.0
    lin = nn.Linear(W.shape[0], W.shape[1], bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(W.T))
    analog = mho.torch.convert(lin, spec)
    analog.program(0)
    eye = torch.eye(W.shape[0], dtype=torch.float64)
    analog.calibrate(eye)
    analog.set_time(t_s)
    analog.train()
    with torch.no_grad():
        ys = torch.stack([analog(eye) for _ in range(100)]).numpy()
    tile = analog.tile_layers()[""].tiles[0]
    g, n_out, slices = tile.target_conductances, tile.num_outputs, tile.num_slices
    model = mho.CellModel(cell)
    lt = math.log(t_s / cell.drift_t0_s)
    moments = np.vectorize(lambda v: model.drift_moments(v), otypes=[float, float])(g)
    # E and Var of g exp(-nu lt) for Gaussian nu (a log-normal factor).
    m1 = g * np.exp(-moments[0] * lt + 0.5 * (moments[1] * lt) ** 2)
    m2 = g ** 2 * np.exp(-2 * moments[0] * lt + 2 * (moments[1] * lt) ** 2)
    bpc = 4
    unit = (np.abs(W).max() / 255) / ((cell.g_max_S - cell.g_min_S) / (2 ** bpc - 1))
    mean = np.zeros((g.shape[0], n_out))
    var = np.zeros_like(mean)
    for k in range(slices):
        c = 2.0 ** (k * bpc) * unit
        pos, neg = slice(2 * k * n_out, (2 * k + 1) * n_out), slice((2 * k + 1) * n_out, (2 * k + 2) * n_out)
        mean += c * (m1[:, pos] - m1[:, neg])
        var += c * c * (m2[:, pos] - m1[:, pos] ** 2 + m2[:, neg] - m1[:, neg] ** 2)
    z = (ys - mean) / np.sqrt(var)
    assert abs(z.mean()) < 5.0 / math.sqrt(z.size)
    # The factor is nearly Gaussian here (sd * ln(t/t0) <= 0.4): a loose bound on the variance.
    assert abs(z.var() - 1.0) < 0.1


def test_zero_weights_are_not_clipped_to_zero():
    lin = nn.Linear(6, 3)
    with torch.no_grad():
        lin.weight.zero_()
    x = torch.rand(10, 6)
    analog = mho.torch.convert(lin, mho.TileSpec(rows=16, cols=32, cell="pcm_joshi2020"))
    analog.program(0)
    analog.calibrate(x)
    analog.train()
    analog(x).sum().backward()
    assert bool((analog.model.weight.grad != 0).all())
