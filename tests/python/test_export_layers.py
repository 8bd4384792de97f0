"""Export of the activations, LayerNorm, nearest upsampling and adaptive pooling: mho's float
forward and an ideal-tile PimNetwork equal torch's output; export failures name the module
(path and type) or the operation and what is supported; tracing failures are explained."""
import h5py
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import mho
import mho.export
import mho.nets
from mho import _core
from test_model_file import edit, put


class Modules(nn.Module):
    """Every new kind in its module form, on conv feature maps and on flat features."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 6, 3, padding=1)
        self.acts = nn.Sequential(nn.ReLU6(), nn.Conv2d(6, 6, 1), nn.Sigmoid(), nn.Conv2d(6, 6, 1),
                                  nn.Tanh(), nn.Conv2d(6, 6, 1), nn.GELU(), nn.Conv2d(6, 6, 1),
                                  nn.GELU(approximate="tanh"), nn.SiLU(), nn.LeakyReLU(0.2))
        self.ln_map = nn.LayerNorm((6, 7, 5))
        self.up = nn.Upsample(scale_factor=(2, 3))          # 14 x 15
        self.pool = nn.AdaptiveAvgPool2d((4, 6))            # uneven, overlapping bins
        self.up2 = nn.Upsample(size=(9, 11), mode="nearest")  # not a multiple
        self.pool2 = nn.AdaptiveAvgPool2d(3)
        self.ln_w = nn.LayerNorm(5, elementwise_affine=False)  # over the width
        self.fc = nn.Linear(6 * 9, 12)
        self.ln = nn.LayerNorm(12, eps=1e-3)
        self.out = nn.Linear(12, 5)

    def forward(self, x):
        y = self.ln_map(self.ln_w(self.acts(self.c1(x))))
        y = self.pool2(self.up2(self.pool(self.up(y))))
        return self.out(F.gelu(self.ln(self.fc(torch.flatten(y, 1)))))


class Functional(nn.Module):
    """The functional and Tensor-method forms torch.fx records."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 3 * 2, 3)

    def forward(self, x):
        y = F.relu6(self.c1(x))
        y = torch.sigmoid(self.c2(y)) + y.tanh()
        y = F.leaky_relu(F.silu(y), negative_slope=0.05) + torch.tanh(y).sigmoid()
        y = F.gelu(y, approximate="tanh") + F.hardtanh(y, 0.0, 6.0)
        y = F.interpolate(y, scale_factor=2, mode="nearest")
        y = F.interpolate(y, size=(5, 3))
        y = F.adaptive_avg_pool2d(y, (3, 2))
        y = F.layer_norm(y, (4, 3, 2), eps=1e-4)
        return self.fc(y.view(y.size(0), -1))


class FunctionalLayerNormAffine(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)
        self.w = nn.Parameter(torch.rand(4) + 0.5)
        self.b = nn.Parameter(torch.rand(4) - 0.5)

    def forward(self, x):
        return F.layer_norm(self.fc(torch.flatten(x, 1)), (4,), self.w, self.b, 1e-4)


def check_equal_to_torch(model, shape, tmp_path, batch=7):
    torch.manual_seed(1)
    model = model.eval()
    net, _ = mho.nets.load(mho.export.export_torch(model, tmp_path / "m.h5", shape))
    x = torch.randn(batch, *shape) * 2
    with torch.no_grad():
        ref = model(x).numpy()
    y = net.forward(x.numpy())
    assert np.abs(y - ref).max() <= 1e-5 * np.abs(ref).max()
    # Tiles smaller than the layers, so partial sums of several arrays meet between the layers.
    pim = _core.PimNetwork(net, mho.TileSpec.ideal(32, 16))
    pim.program(0)
    out = pim.forward(x.numpy())
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()
    return net


def test_module_forms_equal_torch(tmp_path):
    torch.manual_seed(0)
    net = check_equal_to_torch(Modules(), (2, 7, 5), tmp_path)
    kinds = [layer["type"] for layer in net.layers()]
    for kind in ("relu6", "sigmoid", "tanh", "gelu", "silu", "leaky_relu", "layernorm", "upsample",
                 "adaptive_avgpool"):
        assert kind in kinds, kind
    gelus = [layer["approximate"] for layer in net.layers() if layer["type"] == "gelu"]
    assert gelus == ["none", "tanh", "none"]
    assert [layer.get("scale_factor", layer.get("size")) for layer in net.layers()
            if layer["type"] == "upsample"] == [(2, 3), (9, 11)]


def test_functional_forms_equal_torch(tmp_path):
    torch.manual_seed(0)
    check_equal_to_torch(Functional(), (2, 6, 5), tmp_path)
    check_equal_to_torch(FunctionalLayerNormAffine(), (2, 2, 2), tmp_path)


def test_global_pool_keeps_its_old_form(tmp_path):
    # AdaptiveAvgPool2d(1) is written as global_avgpool, which every mho reads.
    net = check_equal_to_torch(nn.Sequential(nn.Conv2d(1, 3, 3), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten()),
                               (1, 6, 6), tmp_path)
    assert [layer["type"] for layer in net.layers()] == ["conv2d", "global_avgpool", "flatten"]


class Block(nn.Module):
    def __init__(self, act):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        self.act = act

    def forward(self, x):
        return self.act(self.conv(x))


def test_unsupported_module_names_its_path_type_and_the_alternatives(tmp_path):
    model = nn.Sequential()
    model.add_module("features", nn.Sequential(nn.Conv2d(1, 3, 1), nn.ReLU(), Block(nn.ReLU()), Block(nn.ELU())))
    with pytest.raises(ValueError, match=r"features\.3\.act \(ELU\) is not supported; supported modules: "
                                         r"Conv2d, Linear, ReLU, ReLU6 .*LayerNorm, Upsample"):
        mho.export.export_torch(model, tmp_path / "m.h5", (1, 4, 4))


def test_unsupported_operation_prints_its_name(tmp_path):
    class M(nn.Module):
        def forward(self, x):
            return torch.matmul(x, x)
    with pytest.raises(ValueError) as e:
        mho.export.export_torch(M(), tmp_path / "m.h5", (1, 4, 4))
    text = str(e.value)
    assert "torch.matmul is not supported; supported operations: " in text
    assert "test_export_layers.py" in text  # the line of the model that made it
    assert "<built-in" not in text and " at 0x" not in text

    class Constant(nn.Module):
        def forward(self, x):
            return x + 1
    with pytest.raises(ValueError, match=r"^add \(at .*test_export_layers.py:\d+ in forward\(\): `return x \+ 1`\): "
                                         r"operation operator.add takes 1 as a layer input"):
        mho.export.export_torch(Constant(), tmp_path / "m.h5", (1, 4, 4))


class Lstm(nn.Module):
    def __init__(self, index=False):
        super().__init__()
        self.lstm = nn.LSTM(4, 4, batch_first=True)
        self.index = index

    def forward(self, x):
        if self.index:
            return self.lstm(x)[0]
        o, _ = self.lstm(x)
        return o


def test_lstm_tuple_unpacking_is_explained(tmp_path):
    with pytest.raises(ValueError) as e:
        mho.export.export_torch(Lstm(), tmp_path / "m.h5", (1, 3, 4))
    text = str(e.value)
    assert text.startswith("Lstm cannot be traced symbolically by torch.fx at ")
    assert "`o, _ = self.lstm(x)`" in text and "unpacks a module's tuple output" in text
    assert "LSTM, GRU, RNN and attention (nn.MultiheadAttention) are not exportable" in text


def test_lstm_without_unpacking_names_the_module(tmp_path):
    with pytest.raises(ValueError, match=r"^lstm \(LSTM\): LSTM, GRU, RNN and attention .* are not exportable"):
        mho.export.export_torch(Lstm(index=True), tmp_path / "m.h5", (1, 3, 4))


def test_attention_tuple_unpacking_is_a_value_error(tmp_path):
    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.att = nn.MultiheadAttention(4, 2)

        def forward(self, x):
            o, _ = self.att(x, x, x)
            return o
    with pytest.raises(ValueError, match="cannot be traced symbolically"):
        mho.export.export_torch(Attention(), tmp_path / "m.h5", (1, 3, 4))


@pytest.mark.parametrize("module, message", [
    (nn.Upsample(scale_factor=2, mode="bilinear"), r"^0 \(Upsample\): mode = 'bilinear' is not supported"),
    (nn.Upsample(scale_factor=1.5), r"^0 \(Upsample\): scale_factor = 1.5: only integer factors"),
    (nn.AdaptiveAvgPool2d((None, 2)), r"^0 \(AdaptiveAvgPool2d\): output_size = \(None, 2\): give both"),
    (nn.Hardtanh(-1.0, 1.0), r"^0 \(Hardtanh\) is not supported"),
])
def test_unsupported_settings_name_the_module(module, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        mho.export.export_torch(nn.Sequential(module), tmp_path / "m.h5", (1, 4, 4))


@pytest.fixture
def kinds_file(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.GELU(), nn.LeakyReLU(0.1), nn.Upsample(scale_factor=2),
                          nn.AdaptiveAvgPool2d((3, 3)), nn.LayerNorm((2, 3, 3)))
    return mho.export.export_torch(model.eval(), tmp_path / "k.h5", (1, 5, 5))


def drop_attr(group, name):
    def fn(f):
        del f[group].attrs[name]
    return fn


@pytest.mark.parametrize("change, message", [
    (put("layers/1/approximate", mho.export._text("fast")),
     r"/layers/1: layer 'gelu:1' \(gelu\): attribute 'approximate' = 'fast': must be 'none' \(erf\) or 'tanh'"),
    (put("layers/2/negative_slope", np.nan), r"/layers/2: attribute 'negative_slope' = nan: must be finite"),
    (put("layers/3/mode", mho.export._text("bilinear")),
     r"/layers/3: layer 'upsample:3' \(upsample\): attribute 'mode' = 'bilinear': must be 'nearest'"),
    (put("layers/3/size", np.array([4, 4])),
     r"/layers/3: layer 'upsample:3' \(upsample\): needs exactly one of the attributes 'scale_factor' .* has both"),
    (drop_attr("layers/3", "scale_factor"), r"/layers/3: .* needs exactly one of .* has neither"),
    (put("layers/3/scale_factor", np.array([2, 0])), r"/layers/3: attribute 'scale_factor'\[1\] = 0.0+: must be an integer in \[1, "),
    (put("layers/4/output_size", np.array([3, 0])), r"/layers/4: attribute 'output_size'\[1\] = 0.0+: must be an integer in \[1, "),
    (put("layers/5/eps", -1.0), r"/layers/5: layer 'layernorm:5' \(layernorm\): attribute 'eps' = -1.0+: must be > 0"),
    (put("layers/5/normalized_shape", np.array([2, 9])),
     r"/layers/5/weight: shape \[2, 3, 3\] does not match the layer, which needs \[2, 9\]"),
    (put("layers/5/normalized_shape", np.array([1, 2, 3, 3])), r"/layers/5: .*'normalized_shape' has 4 values: must name 1 to 3"),
])
def test_new_kinds_are_validated_on_load(kinds_file, change, message):
    edit(kinds_file, change)
    with pytest.raises(ValueError, match=f"model file {kinds_file}: {message}"):
        mho.nets.load(kinds_file)


def test_layernorm_over_non_trailing_dimensions_is_refused_on_load(kinds_file):
    def fn(f):
        g = f["layers/5"]
        g.attrs["normalized_shape"] = np.array([2], dtype=np.int64)  # the channels: not trailing
        for k in ("weight", "bias"):
            del g[k]
            g.create_dataset(k, data=np.ones(2, np.float32))
    edit(kinds_file, fn)
    with pytest.raises(ValueError, match=r"\('layernorm:5', layernorm\) normalized_shape = \[2\]: must be trailing "
                                         r"dimensions of its input 2x3x3: one of \[3\], \[3, 3\], \[2, 3, 3\]"):
        mho.nets.load(kinds_file)


def test_new_kinds_are_costed_as_digital_operations(tmp_path):
    torch.manual_seed(0)
    path = mho.export.export_torch(Modules().eval(), tmp_path / "m.h5", (2, 7, 5))
    for report in (mho.cost.pim(path, mho.study.default_spec()),
                   mho.cost.digital(path)):
        energy = {layer.name: layer.energy_J for layer in report.layers}
        # Layers on the same 6 x 7 x 5 activations: evaluator/actions.cpp's counts (2 compares
        # for relu6, a function = 5 adds + 5 mults in the others) order their energies.
        for name in ("sigmoid:acts.2", "tanh:acts.4", "gelu:acts.6", "silu:acts.9", "layernorm:ln_map"):
            assert energy[name] > energy["relu6:acts.0"] > 0, name
        assert energy["adaptive_avgpool:pool"] > 0 and energy["upsample:up"] > 0
