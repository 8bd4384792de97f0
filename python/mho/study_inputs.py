"""What a study runs: the model and the data, in whichever form the user has them.

Models: an mho model file (path), or a torch `nn.Module`, exported with mho.export (the same
layers an HDF5 model may hold) to a temporary file, loaded, and keyed by that file's SHA-256.

Data: a shipped dataset name ('mnist', 'fashion_mnist'; calibration images from its training
split), a pair of arrays `(x, y)` (numpy or torch; x is N x C x H x W, or N x features for a
network that starts with a Linear layer, or N x steps x features for a recurrent one; y the
N integer labels), a torch `Dataset` of
`(x, y)` samples, or a `DataLoader` of `(x, y)` batches. Data given as arrays, a Dataset or a
DataLoader has no training split here, so its calibration inputs must be given too (`calib`:
arrays, a Dataset or a DataLoader; only the inputs are used): DAC/ADC ranges are never
calibrated on the test set. Torch data is read once into float32 arrays (in the loader's
order), and `limit` takes N evenly spaced samples as for shipped datasets; a study's result
does not depend on the batch or the order of samples within it.
"""
import hashlib
import os
import tempfile

import numpy as np

from . import datasets, nets, results


def _torch():
    try:
        import torch
        return torch
    except ImportError:  # torch objects cannot reach here without torch
        return None


def _is_module(model):
    torch = _torch()
    return torch is not None and isinstance(model, torch.nn.Module)


def load_model(model, input_shape=None):
    """(Network, ModelInfo, display name, SHA-256 of the model file) of `model`: a model file
    path or an nn.Module (input_shape (C, H, W) or (features,) then needed, from the data)."""
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        net, info = nets.load(path)
        return net, info, os.path.basename(path), results.sha256_file(path)
    if _is_module(model):
        from . import export
        if input_shape is None:
            raise ValueError("model: an nn.Module needs its input shape; give the data as arrays, a "
                             "Dataset or a DataLoader (or a shipped dataset name) so it can be read off")
        shape = tuple(int(v) for v in input_shape)
        shape = shape if len(shape) == 3 else (shape[0], 1, 1) if len(shape) == 1 else None
        if shape is None:
            raise ValueError(f"model: inputs of shape {tuple(input_shape)} per sample; an nn.Module "
                             "takes (C, H, W) images or (features,) vectors")
        was_training = model.training
        try:
            with tempfile.TemporaryDirectory(prefix="mho-model-") as d:
                path = export.export_torch(model, os.path.join(d, "model.h5"), shape, name=type(model).__name__)
                net, info = nets.load(path)
                return net, info, type(model).__name__, results.sha256_file(path)
        finally:
            model.train(was_training)  # the export evaluates in eval mode; the user's module stays as it was
    raise TypeError(f"model: expected an mho model file path or a torch nn.Module, got {type(model).__name__}")


def _as_array(v, what):
    torch = _torch()
    if torch is not None and isinstance(v, torch.Tensor):
        v = v.detach().cpu().numpy()
    if not isinstance(v, np.ndarray):
        raise TypeError(f"{what}: expected a numpy array or a torch tensor, got {type(v).__name__}")
    return v


def _inputs(x, what):
    x = _as_array(x, what)
    if x.ndim not in (2, 3, 4) or len(x) == 0 or x.dtype.kind not in "fiu":
        raise ValueError(f"{what}: expected N x C x H x W, N x steps x features or N x features numbers with N >= 1, got "
                         f"shape {x.shape}, dtype {x.dtype}")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        raise ValueError(f"{what}: holds NaN or infinite values")
    return x


def _labels(y, n, what):
    y = _as_array(y, what)
    if y.shape != (n,) or y.dtype.kind not in "iu":
        raise ValueError(f"{what}: expected {n} integer class labels (shape ({n},)), got shape {y.shape}, "
                         f"dtype {y.dtype}")
    return y.astype(np.int64)


def _read_torch(data, what, labels=True):
    """(x, y) arrays of a torch Dataset or DataLoader, in its order (y None if not labels)."""
    torch = _torch()
    loader = data if isinstance(data, torch.utils.data.DataLoader) else \
        torch.utils.data.DataLoader(data, batch_size=256, shuffle=False)
    xs, ys = [], []
    for i, b in enumerate(loader):
        if not isinstance(b, (tuple, list)) or len(b) < (2 if labels else 1):
            raise ValueError(f"{what}: batch {i} is a {type(b).__name__}; expected (inputs, labels) samples")
        xs.append(_as_array(b[0], f"{what} batch {i} inputs"))
        if labels:
            ys.append(_as_array(b[1], f"{what} batch {i} labels").reshape(-1))
    if not xs:
        raise ValueError(f"{what}: holds no samples")
    return np.concatenate(xs), (np.concatenate(ys) if labels else None)


def _is_torch_data(d):
    torch = _torch()
    return torch is not None and isinstance(d, (torch.utils.data.Dataset, torch.utils.data.DataLoader))


def _evenly(limit, *arrays):
    n = len(arrays[0])
    if limit is None or limit >= n:
        return arrays
    pick = (np.arange(limit) * n) // limit  # as datasets.load: a fair sample, not a prefix
    return tuple(a[pick] for a in arrays)


def _digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def load_data(dataset, calib, limit, calib_samples, default_name):
    """(x, y, calib_x, label, key) for a study: label names the data in reports; key names it
    in design keys (a shipped name, or 'sha256:<hex>' of the arrays)."""
    if dataset is None:
        dataset = default_name
        if not dataset:
            raise ValueError("dataset: the model names none; pass a dataset name, (x, y) arrays, a torch "
                             "Dataset or a DataLoader")
    if isinstance(dataset, str):
        if calib is not None:
            raise ValueError(f"calib: dataset {dataset!r} calibrates on its own training split; give calib "
                             "only with data of your own")
        x, y = datasets.load(dataset, "test", limit=limit)
        cx, _ = datasets.load(dataset, "train", limit=calib_samples)
        return x, y, cx, dataset, dataset
    if isinstance(dataset, (tuple, list)):
        if len(dataset) != 2:
            raise ValueError(f"dataset: a pair (x, y) of inputs and labels, got a {type(dataset).__name__} of "
                             f"{len(dataset)}")
        x = _inputs(dataset[0], "dataset x")
        y = _labels(dataset[1], len(x), "dataset y")
        label = "arrays"
    elif _is_torch_data(dataset):
        x, y = _read_torch(dataset, "dataset")
        x = _inputs(x, "dataset inputs")
        y = _labels(y, len(x), "dataset labels")
        label = type(dataset).__name__
    else:
        raise TypeError(f"dataset: expected a shipped dataset name ({', '.join(datasets.NAMES)}), (x, y) arrays, "
                        f"a torch Dataset or a DataLoader, got {type(dataset).__name__}")
    if calib is None:
        raise ValueError("calib: data of your own needs calibration inputs (e.g. some training images) "
                         "as an array, a Dataset or a DataLoader; DAC/ADC ranges are never calibrated on "
                         "the test set")
    if _is_torch_data(calib):
        cx = _read_torch(calib, "calib", labels=False)[0]
    elif isinstance(calib, (tuple, list)) and len(calib) == 2:
        cx = calib[0]
    else:
        cx = calib
    cx = _inputs(cx, "calib")
    if cx.shape[1:] != x.shape[1:]:
        raise ValueError(f"calib: samples of shape {cx.shape[1:]}, but the data's are {x.shape[1:]}")
    x, y = _evenly(limit, x, y)
    (cx,) = _evenly(calib_samples, cx)
    return x, y, cx, label, "sha256:" + _digest(x, y, cx)


def check_fits(net, x, what="dataset"):
    """A clear error if the samples do not have the network's input size."""
    s = net.input_shape
    need = int(np.prod(s))
    if int(np.prod(x.shape[1:])) != need:
        raise ValueError(f"{what}: samples of shape {tuple(x.shape[1:])}, but the network takes {tuple(s)} "
                         f"({need} values per sample)")


def load(model, dataset, calib, limit, calib_samples):
    """Everything a study reads, checked: a dict with net, info, name, model_sha256, x, y,
    calib, dataset (label) and dataset_key. An nn.Module takes its input shape from the data,
    a model file names its default dataset."""
    if _is_module(model):
        if dataset is None:
            raise ValueError("dataset: an nn.Module names no dataset; pass a dataset name, (x, y) arrays, a "
                             "torch Dataset or a DataLoader")
        x, y, cx, label, key = load_data(dataset, calib, limit, calib_samples, None)
        net, info, name, sha = load_model(model, x.shape[1:])
    else:
        net, info, name, sha = load_model(model)
        x, y, cx, label, key = load_data(dataset, calib, limit, calib_samples, info.dataset)
    check_fits(net, x)
    check_fits(net, cx, "calib")
    return {"net": net, "info": info, "name": name, "model_sha256": sha, "x": x, "y": y, "calib": cx,
            "dataset": label, "dataset_key": key}
