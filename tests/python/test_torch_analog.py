"""mho.torch: PyTorch models converted onto tiles (python/mho/torch_analog.py)."""
import numpy as np
import pytest

import mho

torch = pytest.importorskip("torch")
nn = torch.nn


def rel_err(a, b):
    return float((a - b).abs().max() / b.abs().max())


def ideal(rows=16, cols=16):
    # Small arrays so every layer below is cut into several row and column blocks.
    return mho.TileSpec.ideal(rows, cols)


def noisy(seed=7, adc_bits=8):
    cell = mho.CellSpec(name="test_rram", bits=8, prog_error="proportional", prog_sigma=[0.03],
                        read_noise="proportional", read_sigma=[0.02])
    return mho.TileSpec(rows=32, cols=32, cell=cell, weight_bits=8, bits_per_cell=8,
                        dac=mho.DacSpec(input_bits=8, signed_mode="bipolar"),
                        adc=mho.AdcSpec(bits=adc_bits), seed=seed)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2, groups=2)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv1(x)))
        x = torch.relu(self.dw(self.conv2(x)))
        return self.fc(self.pool(x).flatten(1))


def cnn():
    torch.manual_seed(0)
    m = SmallCNN().eval()
    with torch.no_grad():  # a non-trivial BatchNorm
        m.bn.running_mean.uniform_(-0.5, 0.5)
        m.bn.running_var.uniform_(0.5, 2.0)
    return m


def images(n, seed=1, shape=(3, 9, 9)):
    return torch.randn((n,) + shape, generator=torch.Generator().manual_seed(seed))


def run_ideal(module, x, spec=None):
    analog = mho.torch.convert(module, spec or ideal())
    analog.program(0)
    with torch.no_grad():
        return analog(x), module(x)


def test_ideal_linear_equals_torch():
    torch.manual_seed(0)
    m = nn.Linear(40, 24)
    y, ref = run_ideal(m, torch.randn(5, 40))
    assert y.shape == ref.shape and rel_err(y, ref) < 1e-5
    # leading dimensions of a Linear input are kept
    y3, ref3 = run_ideal(m, torch.randn(2, 3, 40))
    assert y3.shape == (2, 3, 24) and rel_err(y3, ref3) < 1e-5
    y_nb, ref_nb = run_ideal(nn.Linear(40, 24, bias=False), torch.randn(4, 40))
    assert rel_err(y_nb, ref_nb) < 1e-5


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(dilation=2, padding=2),
                                dict(groups=2), dict(groups=6), dict(padding="same", dilation=2),
                                dict(padding="valid", stride=3)])
def test_ideal_conv1d_equals_torch(kw):
    torch.manual_seed(1)
    m = nn.Conv1d(6, 12, 4, **kw)
    y, ref = run_ideal(m, torch.randn(3, 6, 17))
    assert y.shape == ref.shape and rel_err(y, ref) < 1e-5


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(stride=(1, 2), padding=(2, 0)),
                                dict(dilation=2, padding=1), dict(groups=3), dict(groups=6),
                                dict(padding="same"), dict(padding="same", kernel_size=(2, 4))])
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's own reference
def test_ideal_conv2d_equals_torch(kw):
    torch.manual_seed(2)
    args = dict(kernel_size=3) | kw
    m = nn.Conv2d(6, 12, **args)
    y, ref = run_ideal(m, torch.randn(2, 6, 10, 9))
    assert y.shape == ref.shape and rel_err(y, ref) < 1e-5


def test_ideal_cnn_equals_torch_and_original_untouched():
    m = cnn()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    x = images(6)
    y, ref = run_ideal(m, x)
    assert rel_err(y, ref) < 1e-5
    assert type(m.conv1) is nn.Conv2d and type(m.fc) is nn.Linear
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())
    analog = mho.torch.convert(m, ideal())
    assert set(analog.tile_layers()) == {"conv1", "conv2", "dw", "fc"}
    assert analog.model.fc.weight is not m.fc.weight
    # the converted model keeps the original's state_dict keys under `model.`
    assert set(analog.state_dict()) == {"model." + k for k in m.state_dict()}


def test_float64_model():
    m = cnn().double()
    y, ref = run_ideal(m, images(3).double())
    assert y.dtype == torch.float64 and rel_err(y, ref) < 1e-12


def test_rules_first_and_last_digital_and_per_layer_adc():
    m = cnn()
    analog = mho.torch.convert(m, [("conv1", "digital"), ("fc", "digital"), ("*", ideal())])
    assert type(analog.model.conv1) is nn.Conv2d and type(analog.model.fc) is nn.Linear
    assert analog.digital_layers == ["conv1", "fc"]
    assert set(analog.tile_layers()) == {"conv2", "dw"}
    analog.program(0)
    with torch.no_grad():
        assert rel_err(analog(images(4)), m(images(4))) < 1e-5
    # first match wins; a module type as pattern; per-layer converters
    coarse = noisy(adc_bits=4)
    analog = mho.torch.convert(m, [("fc", coarse), (nn.Conv2d, noisy()), ("fc", "digital")])
    layers = analog.tile_layers()
    assert layers["fc"].spec.adc.bits == 4 and layers["conv1"].spec.adc.bits == 8
    # tile ids follow the layer's index among all Linear/Conv layers, whichever are analog
    ids = {n: [t.tile_id for t in l.tiles] for n, l in layers.items()}
    other = mho.torch.convert(m, [("conv1", "digital"), ("*", coarse)]).tile_layers()
    assert ids["fc"] == [t.tile_id for t in other["fc"].tiles]
    assert ids["fc"][0] >> 32 == 3 and ids["conv1"][0] == 0


def test_rule_errors():
    m = cnn()
    with pytest.raises(ValueError, match=r"no rule matches layers conv2 \(Conv2d\), dw \(Conv2d\), fc \(Linear\)"):
        mho.torch.convert(m, [("conv1", ideal())])
    with pytest.raises(TypeError, match=r"hardware\[1\].*pair"):
        mho.torch.convert(m, [("*", ideal()), "digital"])
    with pytest.raises(ValueError, match=r"hardware\[0\] target = 'analog'"):
        mho.torch.convert(m, [("*", "analog")])
    with pytest.raises(TypeError, match=r"hardware\[0\] target"):
        mho.torch.convert(m, [("*", 8)])
    with pytest.raises(TypeError, match=r"hardware\[0\] pattern"):
        mho.torch.convert(m, [(3, ideal())])
    with pytest.raises(ValueError, match=r"hardware\[0\] pattern ReLU"):
        mho.torch.convert(m, [(nn.ReLU, "digital"), ("*", ideal())])
    with pytest.raises(ValueError, match=r"hardware = \[\]"):
        mho.torch.convert(m, [])
    with pytest.raises(TypeError, match="hardware: expected a TileSpec"):
        mho.torch.convert(m, "digital")
    with pytest.raises(TypeError, match="model: expected a torch.nn.Module"):
        mho.torch.convert(np.zeros(3), ideal())
    with pytest.raises(ValueError, match=r"layer 'c' \(Conv2d\): padding_mode = 'reflect'"):
        mho.torch.convert(_named("c", nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect")), ideal())
    analog = mho.torch.convert(m, ideal())
    with pytest.raises(RuntimeError, match="program"):
        analog(images(1))
    with pytest.raises(RuntimeError, match="program"):
        analog.calibrate(images(1))
    analog.program(0)
    with pytest.raises(ValueError, match=r"input shape \(1, 4, 9, 9\)"):
        analog(images(1, shape=(4, 9, 9)))
    with pytest.raises(TypeError, match="program\\(chip\\)"):
        analog.program(1.5)
    with pytest.raises(ValueError, match="set_time\\(t_s\\)"):
        analog.set_time(-1.0)
    with pytest.raises(TypeError, match="calibrate\\(inputs\\)"):
        analog.calibrate(3)
    with pytest.raises(ValueError, match="no batches"):
        analog.calibrate([])


def _named(name, module):
    s = nn.Sequential()
    s.add_module(name, module)
    return s


def outputs(analog, x, split):
    analog.reset_samples()
    with torch.no_grad():
        return torch.cat([analog(x[i:i + split]) for i in range(0, len(x), split)])


def test_batch_split_and_threads_invariant_chips_differ():
    m = cnn()
    analog = mho.torch.convert(m, noisy())
    x = images(64, seed=3)
    analog.program(0).calibrate(images(32, seed=4))
    full = outputs(analog, x, 64)
    assert rel_err(full, m(x).detach()) < 0.5  # close to the float model, not equal
    for split in (1, 7):
        assert torch.equal(outputs(analog, x, split), full)
    threads = mho.get_num_threads()
    try:
        for n in (1, 2):
            mho.set_num_threads(n)
            assert torch.equal(outputs(analog, x, 64), full)
    finally:
        mho.set_num_threads(threads)
    with torch.no_grad():  # without reset_samples a second read draws fresh noise
        assert not torch.equal(analog(x), full)
    analog.program(1).calibrate(images(32, seed=4))
    assert not torch.equal(outputs(analog, x, 64), full)
    analog.program(0).calibrate(images(32, seed=4))
    assert torch.equal(outputs(analog, x, 64), full)


def test_sequences_split_invariant_and_lengths_do_not_share_noise():
    torch.manual_seed(6)
    m = nn.Sequential(nn.Linear(12, 20), nn.ReLU(), nn.Linear(20, 6))
    analog = mho.torch.convert(m, noisy()).program(0).calibrate(torch.randn(8, 4, 12))
    a, b = torch.randn(3, 4, 12), torch.randn(3, 6, 12)
    with torch.no_grad():
        whole = [analog(a), analog(b)]
        analog.reset_samples()
        parts = [torch.cat([analog(a[:1]), analog(a[1:])]), torch.cat([analog(b[:2]), analog(b[2:])])]
        assert all(torch.equal(p, w) for p, w in zip(parts, whole))
        # a second sequence of the same tokens after the first reads fresh noise, not the
        # first one's (per-row stream positions continue after every row read)
        analog.reset_samples()
        y1 = analog(b[:1])
        y2 = analog(b[:1])
        assert not torch.equal(y1, y2)
    assert analog.inferences() == 2


def test_calibrate_dataloader_equals_tensor_and_helps():
    m = cnn()
    spec = noisy().replace(programming_error=False, read_noise=False)
    calib = images(40, seed=5)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(calib, torch.zeros(40)), batch_size=16)
    x = images(16, seed=6)
    analog = mho.torch.convert(m, spec).program(0)
    with pytest.raises(RuntimeError, match=r"layer 'conv1'.*calibrate\(X\) was not called"):
        outputs(analog, x, 16)
    analog.calibrate(calib)
    a = outputs(analog, x, 16)
    analog.calibrate(loader)
    assert torch.equal(outputs(analog, x, 16), a)
    assert rel_err(a, m(x).detach()) < 0.05
    # 10 outputs, one multi-level bipolar pass each, per sample; calibration not counted
    assert analog.counters()["fc"]["adc_conversions"] == 2 * 16 * 10


def test_set_time_drift_and_restore():
    m = cnn()
    spec = mho.TileSpec(rows=32, cols=32, cell="pcm_joshi2020", weight_bits=0, read_noise=False,
                        programming_error=False, dac=mho.DacSpec(input_bits=0), adc=mho.AdcSpec(bits=0))
    assert spec.drift
    analog = mho.torch.convert(m, spec).program(0)
    x = images(8, seed=7)
    t0 = outputs(analog, x, 8)
    analog.set_time(86400.0)
    day = outputs(analog, x, 8)
    assert rel_err(day, t0) > 1e-3
    analog.set_time(0.0)
    assert torch.equal(outputs(analog, x, 8), t0)


def test_counters_match_pim_network(tmp_path):
    """The converted model counts the same tile actions as the C++ PimNetwork running the
    exported model on the same spec and inputs (quantised, noise-free: the same numbers)."""
    m = cnn()
    spec = noisy().replace(programming_error=False, read_noise=False)
    x, calib = images(10, seed=8), images(20, seed=9)
    path = tmp_path / "cnn.h5"
    mho.export.export_torch(m, path, input_shape=(3, 9, 9))
    net, _ = mho.nets.load(path, fold_batchnorm=False)
    pim = mho._core.PimNetwork(net, spec)
    pim.program(0)
    pim.calibrate(calib.numpy())
    y_pim = pim.forward(x.numpy())
    analog = mho.torch.convert(m, spec).program(0).calibrate(calib)
    with torch.no_grad():
        y = analog(x)
    assert rel_err(y, torch.from_numpy(y_pim)) < 1e-4
    counts = analog.counters()
    assert analog.inferences() == 10
    total = {k: sum(c[k] for c in counts.values()) for k in pim.counters}
    for k in ("cell_reads", "driven_rows", "dac_conversions", "adc_conversions", "shift_adds"):
        assert total[k] == pim.counters[k], k
    assert total["cell_energy_J"] == pytest.approx(pim.counters["cell_energy_J"], rel=1e-9)
    # ... and so mho.cost costs both alike
    ours, theirs = mho.cost.measured(analog, network=net), mho.cost.measured(pim)
    assert ours.energy_total_J == pytest.approx(theirs.energy_total_J, rel=1e-9)
    assert dict(ours.energy_J) == pytest.approx(dict(theirs.energy_J), rel=1e-9)
    with pytest.raises(ValueError, match="needs its network"):
        mho.cost.measured(analog)
    # per-layer hardware: costed as the PimNetwork of the same design costs it
    fc = [i for i in range(net.num_layers) if net.layer(i)["name"] == "linear:fc"]
    first = net.layer(0)["name"].split(":", 1)[-1]
    six = spec.replace(adc=mho.AdcSpec(bits=6))
    partial = mho.torch.convert(m, [("fc", "digital"), (first, six), ("*", spec)]).program(0).calibrate(calib)
    pim = mho._core.PimNetwork(net, spec, {}, layer_specs={0: six}, digital=set(fc))
    pim.program(0)
    pim.calibrate(calib.numpy())
    pim.forward(x.numpy())
    with torch.no_grad():
        partial(x)
    ours, theirs = mho.cost.measured(partial, network=net), mho.cost.measured(pim)
    assert dict(ours.energy_J) == pytest.approx(dict(theirs.energy_J), rel=1e-9)
    assert dict(ours.area_m2) == pytest.approx(dict(theirs.area_m2), rel=1e-9)
    assert dict(ours.energy_J)["digital"] > dict(mho.cost.measured(analog, network=net).energy_J)["digital"]
    other = nn.Sequential(nn.Flatten(), nn.Linear(3 * 9 * 9, 4)).eval()
    mho.export.export_torch(other, tmp_path / "other.h5", input_shape=(3, 9, 9))
    with pytest.raises(ValueError, match=r"'linear:1' has no layer '1' in the converted model"):
        mho.cost.measured(partial, network=tmp_path / "other.h5")
    with pytest.raises(TypeError, match="pim_network: expected a PimNetwork"):
        mho.cost.measured(object())


def test_tile_reads_strided_views_like_copies():
    """Column blocks of a batch go to Tile.forward in place (mho.torch's row blocks); other
    layouts are copied. Either way the output is that of the contiguous copy."""
    rng = np.random.default_rng(3)
    tile = mho.Tile(noisy(), 5)
    tile.program(rng.normal(size=(20, 8)), 0)
    x = rng.normal(size=(30, 50)).astype(np.float32)
    tile.calibrate(x[:, 10:30])
    ranges = (tile.dac_range, tile.adc_ranges)
    tile.calibrate(np.ascontiguousarray(x[:, 10:30]))
    assert (tile.dac_range, tile.adc_ranges) == ranges
    for view in (x[:, 10:30], x[::-1, 5:25], x[:, ::2][:, :20], x[::3, 30:]):
        assert np.array_equal(tile.forward(view, 0), tile.forward(np.ascontiguousarray(view), 0))


@pytest.mark.parametrize("batch_first", [True, False])
def test_ideal_attention_equals_torch(batch_first):
    torch.manual_seed(4)
    m = nn.MultiheadAttention(12, 3, batch_first=batch_first).eval()
    analog = mho.torch.convert(m, ideal()).program(0)
    assert set(analog.tile_layers()) == {""}
    x = torch.randn(2, 5, 12) if batch_first else torch.randn(5, 2, 12)
    mask = torch.tensor([[False] * 5, [False, False, False, True, True]])
    causal = torch.triu(torch.ones(5, 5, dtype=torch.bool), 1)
    with torch.no_grad():
        for kw in (dict(), dict(key_padding_mask=mask), dict(attn_mask=causal, need_weights=False),
                   dict(average_attn_weights=False)):
            (y, w), (ry, rw) = analog(x, x, x, **kw), m(x, x, x, **kw)
            assert rel_err(y, ry) < 1e-5
            assert (w is None) == (rw is None) and (w is None or rel_err(w, rw) < 1e-5)
    assert set(analog.counters()) == {".q_proj", ".k_proj", ".v_proj", ".out_proj"}
    assert analog.counters()[".q_proj"]["cell_reads"] > 0


def test_ideal_attention_kdim_vdim_and_rules():
    torch.manual_seed(5)
    m = nn.MultiheadAttention(8, 2, kdim=6, vdim=4, batch_first=True).eval()
    q, k, v = torch.randn(3, 4, 8), torch.randn(3, 7, 6), torch.randn(3, 7, 4)
    analog = mho.torch.convert(m, ideal()).program(0)
    with torch.no_grad():
        assert rel_err(analog(q, k, v)[0], m(q, k, v)[0]) < 1e-5
    seq = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 8))
    seq.add_module("attn", nn.MultiheadAttention(8, 2))
    analog = mho.torch.convert(seq, [(nn.MultiheadAttention, "digital"), ("*", ideal())])
    assert type(analog.model.attn) is nn.MultiheadAttention and set(analog.tile_layers()) == {"0", "1"}
    with pytest.raises(ValueError, match=r"no rule matches layer attn \(MultiheadAttention\)"):
        mho.torch.convert(seq, [("0", ideal()), ("1", ideal())])
    with pytest.raises(ValueError, match="add_bias_kv"):
        mho.torch.convert(nn.MultiheadAttention(8, 2, add_bias_kv=True), ideal())


def test_import_mho_does_not_import_torch():
    import subprocess
    import sys
    code = "import sys, mho; assert 'torch' not in sys.modules; mho.torch.convert; assert 'torch' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
