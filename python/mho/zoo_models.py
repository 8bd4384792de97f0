"""Definitions of the shipped torch models beyond ReLU CNNs (trained by data/train_models.py).

    model = mho.zoo_models.load("vit_fmnist")   # data/models/vit_fmnist.pt, in eval mode
    analog = mho.torch.convert(model, mho.study.default_spec())

mobilenetv2_fmnist: a MobileNetV2-style network (Sandler et al., CVPR 2018: inverted residual
    blocks of 1x1 expansion, 3x3 depthwise and linear 1x1 projection convolutions, ReLU6,
    BatchNorm) scaled to 28x28 images; shipped as an mho model file (HDF5,
    data/models/mobilenetv2_fmnist.h5), its module here so that torch can rebuild it.
vit_fmnist: a small vision transformer (Dosovitskiy et al., ICLR 2021: patch embedding,
    learned position embedding, pre-LayerNorm encoder blocks of multi-head attention and a
    GELU MLP) on 7x7 patches (16 tokens), mean-pooled tokens into the classifier. Attention
    does not export to the HDF5 format, so it ships as a state_dict (data/models/vit_fmnist.pt)
    with its float test accuracy and the training command.
"""
import json
import os

import torch
from torch import nn

MODELS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "models")


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expansion (skipped for expand = 1), 3x3 depthwise, linear 1x1
    projection; a residual add where input and output shapes agree."""

    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        layers = []
        if expand != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
                   nn.BatchNorm2d(hidden), nn.ReLU6(),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


# (out channels, stride, expansion) per block: MobileNetV2's first rows (Sandler et al. 2018,
# Table 2: 16/t=1, 24/t=6, 32/t=6 ...) with expansion 4 and two stride-2 stages, since a
# 28x28 image reaches 7x7 after two halvings.
MOBILENET_BLOCKS = ((16, 1, 1), (24, 2, 4), (24, 1, 4), (32, 2, 4), (32, 1, 4), (64, 1, 4))


class MobileNetV2(nn.Module):
    def __init__(self, blocks=MOBILENET_BLOCKS, stem=16, head=128, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, stem, 3, padding=1, bias=False), nn.BatchNorm2d(stem), nn.ReLU6())
        layers, cin = [], stem
        for cout, stride, expand in blocks:
            layers.append(InvertedResidual(cin, cout, stride, expand))
            cin = cout
        self.blocks = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Conv2d(cin, head, 1, bias=False), nn.BatchNorm2d(head), nn.ReLU6())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(head, classes)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class EncoderBlock(nn.Module):
    """Pre-LayerNorm transformer encoder block: x + attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim, heads, mlp):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(mlp, dim)

    def forward(self, x):
        h = self.ln1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.fc2(self.act(self.fc1(self.ln2(x))))


class ViT(nn.Module):
    """Patch embedding (a patch x patch convolution of stride patch), learned position
    embedding, `depth` encoder blocks, LayerNorm, mean over tokens, Linear classifier."""

    def __init__(self, image=28, patch=7, dim=64, depth=2, heads=4, mlp=128, classes=10):
        super().__init__()
        tokens = (image // patch) ** 2
        self.embed = nn.Conv2d(1, dim, patch, stride=patch)
        self.pos = nn.Parameter(torch.zeros(1, tokens, dim))
        nn.init.normal_(self.pos, std=0.02)  # ViT's initialisation of the position embedding
        self.blocks = nn.Sequential(*[EncoderBlock(dim, heads, mlp) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.embed(x).flatten(2).transpose(1, 2) + self.pos  # (batch, tokens, dim)
        x = self.norm(self.blocks(x))
        return self.fc(x.mean(dim=1))


# Name -> (constructor, file in data/models, format): what data/train_models.py trains.
ZOO = {
    "mobilenetv2_fmnist": (MobileNetV2, "mobilenetv2_fmnist.h5", "hdf5"),
    "vit_fmnist": (ViT, "vit_fmnist.pt", "state_dict"),
}


def save_state(model, path, **meta):
    """Write `model`'s state_dict and metadata (JSON values) atomically to `path`."""
    from ._util import atomic_file
    with atomic_file(path) as tmp:
        # torch 1.13's weights_only unpickler takes tensors and strings but not Python floats:
        # the metadata travels as one JSON string.
        torch.save({"state_dict": model.state_dict(), "meta": json.dumps(meta, sort_keys=True)}, tmp)


def load(name, path=None):
    """The shipped torch model `name` (a key of ZOO stored as a state_dict) in eval mode, and
    its metadata (float_test_accuracy, dataset, source) as attribute `meta`."""
    if name not in ZOO:
        raise ValueError(f"name = {name!r}: not a shipped torch model; expected one of {', '.join(sorted(ZOO))}")
    make, file, kind = ZOO[name]
    if kind != "state_dict":
        raise ValueError(f"name = {name!r}: ships as an mho model file (data/models/{file}); load it with "
                         f"mho.nets.load or pass the path to mho.study.evaluate")
    path = path or os.path.join(MODELS_DIR, file)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such model file; run data/train_models.py --only {name}")
    saved = torch.load(path, map_location="cpu", weights_only=True)  # tensors only, no pickled code
    model = make()
    model.load_state_dict(saved["state_dict"])
    model.eval()
    model.meta = json.loads(saved["meta"])
    return model


__all__ = ["MobileNetV2", "InvertedResidual", "ViT", "EncoderBlock", "ZOO", "load", "save_state"]
