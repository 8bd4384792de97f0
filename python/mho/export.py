"""Export a torch.nn.Module to an mho model file (format in nets/model_file.h).

    mho.export.export_torch(model, "lenet.h5", input_shape=(1, 28, 28), dataset="mnist")

The module is traced with torch.fx, so sequential and residual networks work. Supported:
Conv2d (stride, padding, dilation, groups), Linear, the activations ReLU, ReLU6, Sigmoid, Tanh,
GELU (erf or approximate='tanh'), SiLU, LeakyReLU, MaxPool2d, AvgPool2d
(count_include_pad=True), AdaptiveAvgPool2d (any output size), BatchNorm1d/2d (exported as
layers; mho folds them into the preceding conv/linear when it loads the file), LayerNorm (over
the trailing dimensions of (C, H, W), or the features of a flat tensor), Upsample /
F.interpolate with mode='nearest' (integer scale factors or a size), Flatten / torch.flatten /
view to (batch, -1), residual additions (+, torch.add), channel concatenation (torch.cat(...,
dim=1), as in Inception blocks), Identity / Dropout (no-ops at inference), and the functional
forms of these (SUPPORTED_OPERATIONS). Anything else raises ValueError naming the module (its
path and type) or the operation and listing what is supported; a model torch.fx cannot trace
(e.g. one that unpacks an LSTM's tuple output) raises ValueError saying why and where.

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


# What the exporter understands, as the errors list it.
SUPPORTED_MODULES = (
    "Conv2d, Linear, ReLU, ReLU6 (Hardtanh(0, 6)), Sigmoid, Tanh, GELU, SiLU, LeakyReLU, "
    "MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, BatchNorm1d/2d, LayerNorm, Upsample(mode='nearest'), "
    "Flatten, Identity, Dropout")
SUPPORTED_OPERATIONS = (
    "+ / torch.add, torch.relu, torch.sigmoid, torch.tanh, torch.flatten(x, 1), "
    "torch.cat(..., dim=1), x.view(x.size(0), -1) / x.reshape, the Tensor methods relu, sigmoid, "
    "tanh, flatten, and from torch.nn.functional: relu, relu6, hardtanh(0, 6), gelu, silu, "
    "leaky_relu, layer_norm, interpolate(mode='nearest'), adaptive_avg_pool2d")
_SEQUENCE_MODELS = ("LSTM, GRU, RNN and attention (nn.MultiheadAttention) are not exportable to "
                    "the HDF5 model format yet")
_SEQUENCE_MODULES = ("LSTM", "GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell", "MultiheadAttention",
                     "Transformer", "TransformerEncoder", "TransformerDecoder",
                     "TransformerEncoderLayer", "TransformerDecoderLayer")


def _op_name(target):
    """An fx call target as its user wrote it (`torch.matmul`, `Tensor.sum`), never its repr."""
    if isinstance(target, str):
        return f"Tensor.{target}"
    from torch.fx.node import _get_qualified_name
    try:
        name = _get_qualified_name(target)
    except Exception:  # an object fx cannot name: its own qualified name, else its type
        name = getattr(target, "__qualname__", None) or type(target).__name__
        module = getattr(target, "__module__", None)
        name = f"{module}.{name}" if module else name
    return name.replace("_operator.", "operator.", 1) if name.startswith("_operator.") else name


def _user_frame(tb):
    """(file, line, function, code) of the innermost traceback frame outside torch, or None."""
    import traceback
    import torch
    torch_dir = os.path.dirname(torch.__file__) + os.sep
    frames = [f for f in traceback.extract_tb(tb) if not f.filename.startswith(torch_dir)
              and f.filename != __file__]
    return frames[-1] if frames else None


def _trace(model):
    """torch.fx's graph of `model`; a tracing failure becomes a ValueError that says why."""
    import traceback
    from torch import fx
    tracer = fx.Tracer()
    tracer.record_stack_traces = True  # so that an unsupported operation can name its line
    try:
        graph = tracer.trace(model)
    except Exception as e:
        frame = _user_frame(e.__traceback__)
        where = (f" at {frame.filename}:{frame.lineno} in {frame.name}(): `{frame.line}`"
                 if frame else "")
        unpacking = any(f.name == "__iter__" and f.filename.endswith(os.path.join("fx", "proxy.py"))
                        for f in traceback.extract_tb(e.__traceback__))
        why = ("it unpacks a module's tuple output (as `o, _ = lstm(x)` does), which torch.fx "
               "cannot follow" if unpacking else f"torch.fx raised {type(e).__name__}: {e}")
        raise ValueError(
            f"{type(model).__name__} cannot be traced symbolically by torch.fx{where}: {why}. The "
            f"HDF5 exporter needs a model whose forward() is a fixed graph of the supported "
            f"modules ({SUPPORTED_MODULES}) and operations, without Python control flow on "
            f"tensor values; {_SEQUENCE_MODELS}.") from e
    return fx.GraphModule(tracer.root, graph)


def _where(node):
    """` (at file:line in function(): `code`)` of the model code that made `node`, where
    torch.fx recorded it (its stack trace lists the innermost frame first)."""
    import re
    lines = (getattr(node, "stack_trace", None) or "").splitlines()
    for k, line in enumerate(lines):
        m = re.match(r'\s*File "(.*)", line (\d+), in (.*)', line)
        if m:
            code = f": `{lines[k + 1].strip()}`" if k + 1 < len(lines) else ""
            return f" (at {m.group(1)}:{m.group(2)} in {m.group(3)}(){code})"
    return ""


def _integral_scale(v, what):
    """An Upsample / interpolate scale factor as an integer pair, or ValueError."""
    pair = (v, v) if not isinstance(v, (tuple, list)) else tuple(v)
    if len(pair) != 2 or any(not float(f).is_integer() or f < 1 for f in pair):
        raise ValueError(f"{what}: scale_factor = {v!r}: only integer factors >= 1 are supported "
                         f"(give size=(H, W) for other output sizes)")
    return int(pair[0]), int(pair[1])


def _layers(model):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch import fx

    gm = _trace(model)
    layers, index = [], {}

    def src(node, arg):
        if not isinstance(arg, fx.Node) or arg.name not in index or not isinstance(index[arg.name], int):
            user = {"call_module": f"module {node.target}", "output": "the model's output"}.get(
                node.op, f"operation {_op_name(node.target)}")
            raise ValueError(f"{node.name}{_where(node)}: {user} takes {arg!r} as a layer input; only "
                             f"tensors the model computes from its input can be (constants and "
                             f"parameters are not supported there)")
        return index[arg.name]

    def add(node, kind, inputs, **kw):
        # Module paths ("block1.c1", "0") name layers as the model does; functions by node.
        name = f"{kind}:{node.target}" if node.op == "call_module" else node.name
        layers.append(dict(type=kind, name=name, inputs=inputs, **kw))
        index[node.name] = len(layers) - 1

    def arg(node, position, key, default=None):
        if len(node.args) > position:
            return node.args[position]
        return node.kwargs.get(key, default)

    def tensor(node, a, what):
        """A parameter of a functional call (None or a module attribute) as numpy."""
        if a is None:
            return None
        if isinstance(a, fx.Node) and a.op == "get_attr":
            value = gm
            for part in a.target.split("."):
                value = getattr(value, part)
            return value.detach().cpu().numpy()
        raise ValueError(f"{node.name}{_where(node)}: {_op_name(node.target)} {what} must be a "
                         f"parameter or buffer of the model, not {a!r}")

    def layernorm(node, x, shape, weight, bias, eps):
        shape = (int(shape),) if isinstance(shape, int) else tuple(int(d) for d in shape)
        add(node, "layernorm", [x], eps=float(eps), normalized_shape=shape, weight=weight, bias=bias)

    def upsample(node, x, what, size, scale, mode):
        if mode != "nearest":
            raise ValueError(f"{what}: mode = {mode!r} is not supported; only mode='nearest' is")
        if (size is None) == (scale is None):
            raise ValueError(f"{what}: needs exactly one of size and scale_factor")
        if size is not None:
            h, w = _pair(size)
            add(node, "upsample", [x], mode="nearest", size=(h, w))
        else:
            add(node, "upsample", [x], mode="nearest", scale_factor=_integral_scale(scale, what))

    def adaptive_avgpool(node, x, what, size):
        pair = (size, size) if not isinstance(size, (tuple, list)) else tuple(size)
        if len(pair) != 2 or any(s is None for s in pair):
            raise ValueError(f"{what}: output_size = {size!r}: give both output extents as integers "
                             f"(None, keeping the input's extent, is not supported)")
        if _pair(pair) == (1, 1):
            add(node, "global_avgpool", [x])  # the form every mho reads
        else:
            add(node, "adaptive_avgpool", [x], output_size=_pair(pair))

    def numpy(t):
        return None if t is None else t.detach().cpu().numpy()

    for node in gm.graph.nodes:
        if node.op == "placeholder":
            if -1 in index.values():
                raise ValueError("only models with one input tensor are supported")
            index[node.name] = -1
        elif node.op == "get_attr":
            index[node.name] = "attribute"  # only as a parameter of a functional call
        elif node.op == "call_module":
            m = gm.get_submodule(node.target)
            what = f"{node.target} ({type(m).__name__})"
            if type(m).__name__ in _SEQUENCE_MODULES:
                raise ValueError(f"{what}: {_SEQUENCE_MODELS}; supported modules: {SUPPORTED_MODULES}")
            x = src(node, node.args[0])
            if isinstance(m, nn.Conv2d):
                if m.padding_mode != "zeros" or isinstance(m.padding, str):
                    raise ValueError(f"{what}: only numeric zero padding is supported")
                add(node, "conv2d", [x], in_channels=m.in_channels, out_channels=m.out_channels,
                    kernel=_pair(m.kernel_size), stride=_pair(m.stride), padding=_pair(m.padding),
                    dilation=_pair(m.dilation), groups=m.groups,
                    weight=numpy(m.weight), bias=numpy(m.bias))
            elif isinstance(m, nn.Linear):
                add(node, "linear", [x], in_features=m.in_features, out_features=m.out_features,
                    weight=numpy(m.weight), bias=numpy(m.bias))
            elif isinstance(m, nn.ReLU):
                add(node, "relu", [x])
            elif isinstance(m, nn.Hardtanh) and (m.min_val, m.max_val) == (0.0, 6.0):
                add(node, "relu6", [x])  # nn.ReLU6 is Hardtanh(0, 6)
            elif isinstance(m, nn.Sigmoid):
                add(node, "sigmoid", [x])
            elif isinstance(m, nn.Tanh):
                add(node, "tanh", [x])
            elif isinstance(m, nn.GELU):
                add(node, "gelu", [x], approximate=str(m.approximate))
            elif isinstance(m, nn.SiLU):
                add(node, "silu", [x])
            elif isinstance(m, nn.LeakyReLU):
                add(node, "leaky_relu", [x], negative_slope=float(m.negative_slope))
            elif isinstance(m, nn.LayerNorm):
                layernorm(node, x, m.normalized_shape, numpy(m.weight), numpy(m.bias), m.eps)
            elif isinstance(m, nn.Upsample):
                upsample(node, x, what, m.size, m.scale_factor, m.mode)
            elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
                if m.ceil_mode:
                    raise ValueError(f"{what}: ceil_mode=True is not supported")
                if isinstance(m, nn.MaxPool2d) and _pair(m.dilation) != (1, 1):
                    raise ValueError(f"{what}: pooling dilation is not supported")
                if isinstance(m, nn.AvgPool2d) and not m.count_include_pad:
                    raise ValueError(f"{what}: count_include_pad=False is not supported")
                kind = "maxpool" if isinstance(m, nn.MaxPool2d) else "avgpool"
                add(node, kind, [x], kernel=_pair(m.kernel_size),
                    stride=_pair(m.stride if m.stride is not None else m.kernel_size),
                    padding=_pair(m.padding))
            elif isinstance(m, nn.AdaptiveAvgPool2d):
                adaptive_avgpool(node, x, what, m.output_size)
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
                add(node, "batchnorm", [x], eps=float(m.eps), num_features=m.num_features,
                    weight=numpy(m.weight), bias=numpy(m.bias),
                    running_mean=numpy(m.running_mean), running_var=numpy(m.running_var))
            elif isinstance(m, nn.Flatten):
                if m.start_dim != 1 or m.end_dim != -1:
                    raise ValueError(f"{what}: only Flatten(start_dim=1) is supported")
                add(node, "flatten", [x])
            elif isinstance(m, (nn.Identity, nn.Dropout)):
                index[node.name] = x
            else:
                raise ValueError(f"{what} is not supported; supported modules: {SUPPORTED_MODULES}")
        elif node.op in ("call_function", "call_method"):
            t, what = node.target, f"{node.name}{_where(node)}: {_op_name(node.target)}"
            if t in (operator.add, torch.add, "add"):
                add(node, "add", [src(node, node.args[0]), src(node, node.args[1])])
            elif t in (F.relu, torch.relu, "relu"):
                add(node, "relu", [src(node, node.args[0])])
            elif t is F.relu6:
                add(node, "relu6", [src(node, node.args[0])])
            elif t is F.hardtanh and (arg(node, 1, "min_val", -1.0), arg(node, 2, "max_val", 1.0)) == (0, 6):
                add(node, "relu6", [src(node, node.args[0])])
            elif t in (torch.sigmoid, "sigmoid"):
                add(node, "sigmoid", [src(node, node.args[0])])
            elif t in (torch.tanh, "tanh"):
                add(node, "tanh", [src(node, node.args[0])])
            elif t is F.gelu:
                add(node, "gelu", [src(node, node.args[0])], approximate=str(arg(node, 1, "approximate", "none")))
            elif t is F.silu:
                add(node, "silu", [src(node, node.args[0])])
            elif t is F.leaky_relu:
                add(node, "leaky_relu", [src(node, node.args[0])],
                    negative_slope=float(arg(node, 1, "negative_slope", 0.01)))
            elif t is F.layer_norm:
                layernorm(node, src(node, node.args[0]), arg(node, 1, "normalized_shape"),
                          tensor(node, arg(node, 2, "weight"), "weight"),
                          tensor(node, arg(node, 3, "bias"), "bias"), arg(node, 4, "eps", 1e-5))
            elif t is F.interpolate:
                upsample(node, src(node, node.args[0]), what, arg(node, 1, "size"),
                         arg(node, 2, "scale_factor"), arg(node, 3, "mode", "nearest"))
            elif t is F.adaptive_avg_pool2d:
                adaptive_avgpool(node, src(node, node.args[0]), what, arg(node, 1, "output_size"))
            elif t in (torch.flatten, "flatten"):
                start = arg(node, 1, "start_dim", 0)
                if start != 1:
                    raise ValueError(f"{what}: only flatten from dimension 1 is supported")
                add(node, "flatten", [src(node, node.args[0])])
            elif t in (torch.cat, torch.concat):
                tensors = node.args[0]
                dim = arg(node, 1, "dim", 0)
                if dim not in (1, -3):
                    raise ValueError(f"{what}: only concatenation along channels (dim=1) is supported")
                add(node, "concat", [src(node, a) for a in tensors])
            elif t in ("view", "reshape") and len(node.args) == 3 and node.args[2] == -1:
                add(node, "flatten", [src(node, node.args[0])])
            elif t == "size" or t == getattr:
                index[node.name] = None  # only as a view argument
            else:
                raise ValueError(f"{what} is not supported; supported operations: {SUPPORTED_OPERATIONS}")
        elif node.op == "output":
            out = src(node, node.args[0])
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
