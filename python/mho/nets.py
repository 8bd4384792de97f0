"""Networks: model files, float reference inference, MAC and weight counts.

    net, info = mho.nets.load("data/models/lenet5_mnist.h5")   # BatchNorm folded
    logits = net.forward(x)                                    # (batch, C, H, W) float32
"""
import os

from . import _core


def load(path, fold_batchnorm=True):
    """(Network, ModelInfo) from an mho model file; FileNotFoundError if it is missing,
    ValueError naming the problem if it is malformed."""
    net, info = _core.load_model(os.fspath(path))
    if fold_batchnorm:
        net.fold_batchnorm()
    return net, info
