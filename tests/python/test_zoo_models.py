"""Shipped models beyond ReLU CNNs (python/mho/zoo_models.py, data/train_models.py)."""
import os

import numpy as np
import pytest

import mho

torch = pytest.importorskip("torch")
from mho import zoo_models  # noqa: E402  (imports torch)

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")

# Correct predictions of each shipped model on the 500 evenly spaced Fashion-MNIST test images
# of mho.datasets.load(..., limit=500), counted with torch when the model was trained
# (data/train_models.py, seed 0).
SHIPPED_TORCH = {"vit_fmnist": 438}


def rel_err(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max())


def test_mobilenet_shape_and_export_equal_torch(tmp_path):
    torch.manual_seed(0)
    m = zoo_models.MobileNetV2()
    m.train()
    with torch.no_grad():  # BatchNorm statistics from data, so that folding them matters
        m(torch.randn(64, 1, 28, 28))
    m.eval()
    kinds = {(type(c).__name__, getattr(c, "groups", 1) > 1) for c in m.modules()}
    assert ("Conv2d", True) in kinds and ("ReLU6", False) in kinds  # depthwise, ReLU6
    assert sum(isinstance(b, zoo_models.InvertedResidual) and b.residual for b in m.blocks) == 3
    path = mho.export.export_torch(m, str(tmp_path / "mb.h5"), (1, 28, 28), dataset="fashion_mnist")
    net, _ = mho.nets.load(path)
    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = m(x).numpy()
    assert rel_err(net.forward(x.numpy()), ref) < 1e-5
    pim = mho._core.PimNetwork(net, mho.TileSpec.ideal(256, 256), {})
    pim.program(0)
    assert rel_err(pim.forward(x.numpy()), ref) < 1e-5


def test_vit_ideal_tiles_equal_torch_and_attention_products_are_digital():
    torch.manual_seed(0)
    m = zoo_models.ViT().eval()
    x = torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    analog = mho.torch.convert(m, mho.TileSpec.ideal(256, 256))
    analog.program(0)
    with torch.no_grad():
        y, ref = analog(x), m(x)
    assert rel_err(y, ref) < 1e-5
    blocks = [f"blocks.{i}.attn" for i in range(2)]
    assert set(analog.digital_products()) == set(blocks)
    # Per image and block: Q K^T and softmax . V over 16 tokens of 64 = 4 heads x 16 dims.
    assert all(d == {"products": "Q K^T, softmax . V", "macs": 3 * 2 * 16 * 16 * 64}
               for d in analog.digital_products().values())
    assert "Q K^T, softmax . V digital" in repr(analog)
    assert {f"{b}.{p}" for b in blocks for p in ("q_proj", "k_proj", "v_proj", "out_proj")} <= set(analog.counters())
    analog.program(1)
    assert all(d["macs"] == 0 for d in analog.digital_products().values())


def test_load_names_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match="'resnet'.*mobilenetv2_fmnist, vit_fmnist"):
        zoo_models.load("resnet")
    with pytest.raises(ValueError, match="mobilenetv2_fmnist.*mho model file"):
        zoo_models.load("mobilenetv2_fmnist")
    with pytest.raises(FileNotFoundError, match="train_models.py --only vit_fmnist"):
        zoo_models.load("vit_fmnist", str(tmp_path / "none.pt"))


@pytest.mark.parametrize("name", sorted(SHIPPED_TORCH))
def test_shipped_torch_model(name):
    model = zoo_models.load(name)
    path = os.path.join(ROOT, "data", "models", zoo_models.ZOO[name][1])
    assert os.path.getsize(path) < 5 * 2 ** 20
    assert model.meta["dataset"] == "fashion_mnist" and model.meta["source"].startswith("data/train_models.py")
    x, y = mho.datasets.load(model.meta["dataset"], "test", limit=500)
    with torch.no_grad():
        ref = model(torch.from_numpy(x))
    assert int((ref.argmax(1).numpy() == y).sum()) == SHIPPED_TORCH[name]
    analog = mho.torch.convert(model, mho.TileSpec.ideal(256, 256))
    analog.program(0)
    with torch.no_grad():
        assert rel_err(analog(torch.from_numpy(x[:8])), ref[:8]) < 1e-5


def test_shipped_mobilenet_file():
    # Correct predictions on the same 500 images, counted when the model was trained.
    path = os.path.join(ROOT, "data", "models", zoo_models.ZOO["mobilenetv2_fmnist"][1])
    assert os.path.getsize(path) < 5 * 2 ** 20
    net, info = mho.nets.load(path)
    assert info.dataset == "fashion_mnist" and info.float_test_accuracy >= 0.90
    assert info.source.startswith("data/train_models.py --only mobilenetv2_fmnist")
    kinds = [net.layer(i)["type"] for i in range(net.num_layers)]
    assert "relu6" in kinds and "add" in kinds
    assert any(net.layer(i).get("groups", 1) > 1 for i in range(net.num_layers))  # depthwise
    x, y = mho.datasets.load("fashion_mnist", "test", limit=500)
    assert int((net.forward(x).argmax(1) == y).sum()) == 456
