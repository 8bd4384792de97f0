"""Export a torch.nn.Module to an mho model file (format in nets/model_file.h).

    mho.export.export_torch(model, "lenet.h5", input_shape=(1, 28, 28), dataset="mnist")

The module is traced with torch.fx, so sequential and residual networks work. Supported:
Conv2d (stride, padding, dilation, groups), Linear, ReLU, MaxPool2d, AvgPool2d
(count_include_pad=True), AdaptiveAvgPool2d(1), BatchNorm1d/2d (exported as layers; mho folds
them into the preceding conv/linear when it loads the file), Flatten / torch.flatten / view
to (batch, -1), residual additions (+, torch.add), channel concatenation (torch.cat(...,
dim=1), as in Inception blocks), and Identity / Dropout (no-ops at inference). Anything else raises ValueError naming the module.

The file starts with a 512-byte integrity block (the HDF5 user block) holding the SHA-256 of
everything after it, which mho checks before it lets libhdf5 parse the file; strings are
fixed-length, so a reader never follows heap pointers (format: nets/model_file.h).
`migrate(path)` (command line: `mho model-migrate FILE`) adds the block to a file written
before it existed.
"""
import hashlib
import operator
import os

import numpy as np

from ._util import atomic_file

FORMAT_VERSION = 1
USER_BLOCK_BYTES = 512  # nets/model_file.h: kModelUserBlockBytes
_MAGIC = b"mho-model-integrity 1\n"


def _pair(v):
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _layers(model):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch import fx

    gm = fx.symbolic_trace(model)
    layers, index = [], {}

    def src(arg):
        if not isinstance(arg, fx.Node) or arg.name not in index:
            raise ValueError(f"unsupported graph input {arg!r}")
        return index[arg.name]

    def add(node, kind, inputs, **kw):
        # Module paths ("block1.c1", "0") name layers as the model does; functions by node.
        name = f"{kind}:{node.target}" if node.op == "call_module" else node.name
        layers.append(dict(type=kind, name=name, inputs=inputs, **kw))
        index[node.name] = len(layers) - 1

    for node in gm.graph.nodes:
        if node.op == "placeholder":
            if -1 in index.values():
                raise ValueError("only models with one input tensor are supported")
            index[node.name] = -1
        elif node.op == "call_module":
            m = gm.get_submodule(node.target)
            x = src(node.args[0])
            if isinstance(m, nn.Conv2d):
                if m.padding_mode != "zeros" or isinstance(m.padding, str):
                    raise ValueError(f"{node.target}: only numeric zero padding is supported")
                add(node, "conv2d", [x], in_channels=m.in_channels, out_channels=m.out_channels,
                    kernel=_pair(m.kernel_size), stride=_pair(m.stride), padding=_pair(m.padding),
                    dilation=_pair(m.dilation), groups=m.groups,
                    weight=m.weight.detach().cpu().numpy(),
                    bias=None if m.bias is None else m.bias.detach().cpu().numpy())
            elif isinstance(m, nn.Linear):
                add(node, "linear", [x], in_features=m.in_features, out_features=m.out_features,
                    weight=m.weight.detach().cpu().numpy(),
                    bias=None if m.bias is None else m.bias.detach().cpu().numpy())
            elif isinstance(m, nn.ReLU):
                add(node, "relu", [x])
            elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
                if m.ceil_mode:
                    raise ValueError(f"{node.target}: ceil_mode=True is not supported")
                if isinstance(m, nn.MaxPool2d) and _pair(m.dilation) != (1, 1):
                    raise ValueError(f"{node.target}: pooling dilation is not supported")
                if isinstance(m, nn.AvgPool2d) and not m.count_include_pad:
                    raise ValueError(f"{node.target}: count_include_pad=False is not supported")
                kind = "maxpool" if isinstance(m, nn.MaxPool2d) else "avgpool"
                add(node, kind, [x], kernel=_pair(m.kernel_size),
                    stride=_pair(m.stride if m.stride is not None else m.kernel_size),
                    padding=_pair(m.padding))
            elif isinstance(m, nn.AdaptiveAvgPool2d) and _pair(m.output_size) == (1, 1):
                add(node, "global_avgpool", [x])
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
                add(node, "batchnorm", [x], eps=float(m.eps), num_features=m.num_features,
                    weight=m.weight.detach().cpu().numpy(), bias=m.bias.detach().cpu().numpy(),
                    running_mean=m.running_mean.detach().cpu().numpy(),
                    running_var=m.running_var.detach().cpu().numpy())
            elif isinstance(m, nn.Flatten):
                if m.start_dim != 1 or m.end_dim != -1:
                    raise ValueError(f"{node.target}: only Flatten(start_dim=1) is supported")
                add(node, "flatten", [x])
            elif isinstance(m, (nn.Identity, nn.Dropout)):
                index[node.name] = x
            else:
                raise ValueError(f"{node.target}: module type {type(m).__name__} is not supported")
        elif node.op in ("call_function", "call_method"):
            t = node.target
            if t in (operator.add, torch.add, "add"):
                add(node, "add", [src(node.args[0]), src(node.args[1])])
            elif t in (F.relu, torch.relu, "relu"):
                add(node, "relu", [src(node.args[0])])
            elif t in (torch.flatten, "flatten"):
                start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0 if t == "flatten" else 0)
                if start != 1:
                    raise ValueError(f"{node.name}: only flatten from dimension 1 is supported")
                add(node, "flatten", [src(node.args[0])])
            elif t in (torch.cat, torch.concat):
                tensors = node.args[0]
                dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
                if dim not in (1, -3):
                    raise ValueError(f"{node.name}: only concatenation along channels (dim=1) is supported")
                add(node, "concat", [src(a) for a in tensors])
            elif t in ("view", "reshape") and len(node.args) == 3 and node.args[2] == -1:
                add(node, "flatten", [src(node.args[0])])
            elif t == "size" or t == getattr:
                index[node.name] = None  # only as a view argument
            else:
                raise ValueError(f"{node.name}: operation {t} is not supported")
        elif node.op == "output":
            out = src(node.args[0])
            if out != len(layers) - 1:
                raise ValueError("the model's output must be its last operation")
        else:
            raise ValueError(f"{node.name}: graph node kind {node.op} is not supported")
    return layers


def integrity_block(payload_bytes, sha256_hex):
    """The 512-byte block that precedes the HDF5 part of a model file of `payload_bytes`."""
    block = (_MAGIC + b"payload-bytes %d\n" % payload_bytes +
             b"payload-sha256 " + sha256_hex.encode("ascii") + b"\n")
    return block.ljust(USER_BLOCK_BYTES, b"\0")


def _seal(path):
    """Write the integrity block into the (zeroed) user block of a closed HDF5 file; fsync."""
    digest, n = hashlib.sha256(), 0
    with open(path, "r+b") as f:
        if f.read(USER_BLOCK_BYTES) != bytes(USER_BLOCK_BYTES):
            raise RuntimeError(f"{path}: expected an empty {USER_BLOCK_BYTES}-byte HDF5 user block")
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
            n += len(chunk)
        f.seek(0)
        f.write(integrity_block(n, digest.hexdigest()))
        f.flush()
        os.fsync(f.fileno())


def _text(s):
    """A fixed-length UTF-8 string attribute value (h5py would write a variable-length one)."""
    import h5py
    b = str(s).encode("utf-8")
    return np.array(b, dtype=h5py.string_dtype("utf-8", max(len(b), 1)))


def export_torch(model, path, input_shape, name=None, dataset=None, float_test_accuracy=None,
                 source=None):
    """Write `model` (in eval mode) to `path`, atomically. input_shape: (C, H, W)."""
    import h5py
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape = {input_shape}: must be (C, H, W) with positive extents")
    model = model.eval()
    layers = _layers(model)
    path = os.fspath(path)
    with atomic_file(path) as tmp:
        with h5py.File(tmp, "w", userblock_size=USER_BLOCK_BYTES) as f:
            f.attrs["format"] = _text("mho-model")
            f.attrs["version"] = np.int64(FORMAT_VERSION)
            f.attrs["name"] = _text(name or type(model).__name__)
            f.attrs["input_shape"] = np.asarray(input_shape, dtype=np.int64)
            if dataset is not None:
                f.attrs["dataset"] = _text(dataset)
            if float_test_accuracy is not None:
                f.attrs["float_test_accuracy"] = np.float64(float_test_accuracy)
            if source is not None:
                f.attrs["source"] = _text(source)
            g = f.create_group("layers")
            g.attrs["count"] = np.int64(len(layers))
            for k, layer in enumerate(layers):
                lg = g.create_group(str(k))
                for key, value in layer.items():
                    if isinstance(value, np.ndarray):
                        lg.create_dataset(key, data=value.astype(np.float32))
                    elif value is None:
                        continue
                    elif isinstance(value, (list, tuple)):
                        lg.attrs[key] = np.asarray(value, dtype=np.int64)
                    elif isinstance(value, str):
                        lg.attrs[key] = _text(value)
                    elif isinstance(value, float):
                        lg.attrs[key] = np.float64(value)
                    else:
                        lg.attrs[key] = np.int64(value)
        _seal(tmp)
    return path


def _same_network(a, ia, b, ib):
    """Whether two loaded networks and their ModelInfo hold the same values, bit for bit."""
    if (a.name, a.input_shape, a.layers()) != (b.name, b.input_shape, b.layers()):
        return False
    if (ia.dataset, ia.source, ia.float_test_accuracy) != (ib.dataset, ib.source, ib.float_test_accuracy):
        return False
    for i in range(a.num_layers):
        pa, pb = a.parameters(i), b.parameters(i)
        for k, v in pa.items():
            same = np.array_equal(v, pb[k]) if isinstance(v, np.ndarray) else v == pb[k]
            if not same:
                return False
    return True


def migrate(path):
    """Rewrite a model file written before integrity blocks existed, with one (atomically).

    The file is read and validated as mho reads it, written again by mho's writer, and the
    new file is checked to hold the same values bit for bit before it replaces the old one.
    Returns True if the file was rewritten, False if it already had a valid block. A damaged
    or malformed file raises ValueError and is left as it is."""
    import warnings
    from . import _core
    path = os.fspath(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net, info = _core.load_model(path)
    if info.integrity_verified:
        return False
    with atomic_file(path) as tmp:
        _core.save_model(net, tmp, info)
        new, new_info = _core.load_model(tmp)
        if not new_info.integrity_verified or not _same_network(net, info, new, new_info):
            raise RuntimeError(f"model-migrate {path}: the rewritten file does not read back the same; "
                               f"the original is left unchanged")
    return True
