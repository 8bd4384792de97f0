"""nets: export from PyTorch, load with validation, float inference equal to PyTorch."""
import h5py
import numpy as np
import pytest
import torch
import torch.nn as nn

import mho


class Residual(nn.Module):
    """Conv/BN/ReLU, a depthwise dilated conv in a residual branch, strides, pools, FC."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 8, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8)
        self.b2 = nn.BatchNorm2d(8)
        self.c3 = nn.Conv2d(8, 16, (1, 3), stride=(2, 1), padding=(0, 1), groups=2)
        self.avg = nn.AvgPool2d(3, stride=1, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        y = torch.relu(self.b1(self.c1(x)))
        y = torch.relu(y + self.b2(self.c2(y)))
        y = self.pool(self.avg(self.c3(y)))
        return self.fc(self.drop(torch.flatten(self.gap(y), 1)))


class Inception(nn.Module):
    """Parallel branches joined by channel concatenation."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Conv2d(3, 6, 3, padding=1)
        self.p = nn.MaxPool2d(3, stride=1, padding=1)
        self.fc = nn.Linear(13 * 8 * 8, 5)

    def forward(self, x):
        y = torch.cat([torch.relu(self.a(x)), torch.relu(self.b(x)), self.p(x)], dim=1)
        return self.fc(torch.flatten(y, 1))


def lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def randomize_bn(model):
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) * 2 - 1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(m.num_features, generator=g) - 0.5)
    return model.eval()


@pytest.mark.parametrize("make,shape", [(lenet, (1, 28, 28)), (Residual, (2, 20, 24)),
                                        (Inception, (3, 8, 8))])
def test_export_load_forward_equals_pytorch(make, shape, tmp_path):
    torch.manual_seed(0)
    model = randomize_bn(make())
    path = mho.export.export_torch(model, tmp_path / "m.h5", shape, dataset="synthetic",
                                   float_test_accuracy=0.5)
    net, info = mho.nets.load(path)
    assert info.dataset == "synthetic" and info.float_test_accuracy == 0.5
    assert all(layer["type"] != "batchnorm" for layer in net.layers())
    x = torch.randn(9, *shape)
    with torch.no_grad():
        ref = model(x).numpy()
    y = net.forward(x.numpy())
    assert np.abs(y - ref).max() <= 1e-5 * np.abs(ref).max()


def test_unfolded_batchnorm_runs_as_a_layer(tmp_path):
    torch.manual_seed(0)
    model = randomize_bn(Residual())
    net, _ = mho.nets.load(mho.export.export_torch(model, tmp_path / "m.h5", (2, 20, 24)),
                           fold_batchnorm=False)
    assert sum(layer["type"] == "batchnorm" for layer in net.layers()) == 2
    x = torch.randn(3, 2, 20, 24)
    with torch.no_grad():
        ref = model(x).numpy()
    assert np.abs(net.forward(x.numpy()) - ref).max() <= 1e-5 * np.abs(ref).max()


@pytest.fixture
def lenet_file(tmp_path):
    torch.manual_seed(0)
    return mho.export.export_torch(lenet(), tmp_path / "lenet.h5", (1, 28, 28))


def edit(path, fn):
    """Change a model file with h5py, then write the integrity block of the changed bytes, so
    that what is tested is the validation behind the check."""
    with h5py.File(path, "r+") as f:
        fn(f)
    reseal(path)


def reseal(path):
    # Independent of mho's writers: the block as nets/model_file.h specifies it.
    import hashlib
    with open(path, "r+b") as f:
        f.seek(512)
        payload = f.read()
        block = (b"mho-model-integrity 1\npayload-bytes %d\npayload-sha256 %s\n"
                 % (len(payload), hashlib.sha256(payload).hexdigest().encode()))
        f.seek(0)
        f.write(block.ljust(512, b"\0"))


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="model file not found"):
        mho.nets.load("no/such/model.h5")


def test_missing_dataset(lenet_file):
    edit(lenet_file, lambda f: f["layers/0"].__delitem__("weight"))
    with pytest.raises(ValueError, match="/layers/0: missing dataset 'weight'"):
        mho.nets.load(lenet_file)


def test_shape_mismatch(lenet_file):
    def f(h):
        del h["layers/3/weight"]
        h["layers/3"].create_dataset("weight", data=np.zeros((16, 6, 3, 3), np.float32))
    edit(lenet_file, f)
    with pytest.raises(ValueError, match=r"/layers/3/weight: shape \[16, 6, 3, 3\] .* needs \[16, 6, 5, 5\]"):
        mho.nets.load(lenet_file)


def test_unknown_layer_type(lenet_file):
    edit(lenet_file, lambda f: f["layers/1"].attrs.__setitem__("type", np.bytes_("hardswish")))
    with pytest.raises(ValueError, match="/layers/1: unknown layer type: layer type = 'hardswish'"):
        mho.nets.load(lenet_file)


def test_wrong_version(lenet_file):
    edit(lenet_file, lambda f: f.attrs.__setitem__("version", 2))
    with pytest.raises(ValueError, match="format version 2 is not supported"):
        mho.nets.load(lenet_file)


def test_not_hdf5(tmp_path):
    p = tmp_path / "x.h5"
    p.write_text("hello")
    with pytest.raises(ValueError, match="x.h5: not an mho model file"):
        mho.nets.load(p)


def test_unsupported_module_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"^1 \(ELU\) is not supported; supported modules: Conv2d"):
        mho.export.export_torch(nn.Sequential(nn.Linear(4, 4), nn.ELU()), tmp_path / "g.h5", (4, 1, 1))


def test_wrong_input_size(lenet_file):
    net, _ = mho.nets.load(lenet_file)
    with pytest.raises(ValueError, match="must have 784 columns"):
        net.forward(np.zeros((2, 1, 27, 28), np.float32))
