"""Networks: model files, float reference inference, MAC and weight counts.

    net, info = mho.nets.load("data/models/lenet5_mnist.h5")   # BatchNorm folded
    logits = net.forward(x)                                    # (batch, C, H, W) float32

A model file carries a SHA-256 of its contents, checked before the file is parsed (format in
nets/model_file.h). Files written before that check existed still load, with an
UnverifiedModelWarning; `mho model-migrate FILE` rewrites them with the check.
"""
import os
import warnings

from . import _core


class UnverifiedModelWarning(UserWarning):
    """A model file without an integrity block was loaded without checking it for damage."""


_warned = set()


def load(path, fold_batchnorm=True):
    """(Network, ModelInfo) from an mho model file; FileNotFoundError if it is missing,
    ValueError naming the problem if it is damaged or malformed."""
    path = os.fspath(path)
    net, info = _core.load_model(path)
    if not info.integrity_verified:
        key = os.path.realpath(path)
        if key not in _warned:  # once per file and process: a study loads its model often
            _warned.add(key)
            warnings.warn(f"model file {path} has no integrity block (it was written before mho "
                          f"added one), so it was loaded without checking it for damage; add the "
                          f"check with: mho model-migrate {path}", UnverifiedModelWarning, stacklevel=2)
    if fold_batchnorm:
        net.fold_batchnorm()
    return net, info
