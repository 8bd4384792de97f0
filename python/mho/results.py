"""Result files: one study's configuration, provenance, accuracy and cost in JSON and HDF5.

Both files hold the same nested record and are written atomically (a failed run leaves no
half-written file). In HDF5 a dict is a group, a number or string an attribute, a list of
numbers a dataset, a list of records a group of numbered subgroups; read_h5 restores the
record that write_h5 was given (tuples come back as lists, NaN as None).
"""
import datetime
import hashlib
import json
import os
import platform

import numpy as np

from . import _util


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def provenance():
    from . import __version__
    return {"mho_version": __version__, "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(), "machine": platform.machine()}


def _plain(x):
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None  # JSON has no NaN; a missing value (e.g. a CI from one chip) is null
    if isinstance(x, np.ndarray):
        return x.tolist()
    return x


def write_json(path, record):
    with _util.atomic_file(path) as tmp:
        with open(tmp, "w") as f:
            json.dump(_plain(record), f, indent=2, allow_nan=False)
            f.write("\n")
    return os.path.abspath(os.fspath(path))


def read_json(path):
    with open(path) as f:
        return json.load(f)


def _is_number_list(v):
    return isinstance(v, list) and v and all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in v)


def _write_group(g, record):
    for k, v in record.items():
        if isinstance(v, dict):
            _write_group(g.create_group(k), v)
        elif isinstance(v, list) and v and all(isinstance(e, dict) for e in v):
            sub = g.create_group(k)
            sub.attrs["__list__"] = len(v)
            for i, e in enumerate(v):
                _write_group(sub.create_group(str(i)), e)
        elif _is_number_list(v):
            g.create_dataset(k, data=np.asarray(v))
        elif isinstance(v, (list, bool)) or v is None:
            g.attrs[k] = "__json__" + json.dumps(v)  # bools, None and mixed lists keep their type
        else:
            g.attrs[k] = v


def _read_group(g):
    out = {}
    for k, v in g.attrs.items():
        if k == "__list__":
            continue
        if isinstance(v, str) and v.startswith("__json__"):
            out[k] = json.loads(v[len("__json__"):])
        else:
            out[k] = v.item() if isinstance(v, np.generic) else v
    for k, v in g.items():
        if hasattr(v, "keys"):
            if "__list__" in v.attrs:
                out[k] = [_read_group(v[str(i)]) for i in range(int(v.attrs["__list__"]))]
            else:
                out[k] = _read_group(v)
        else:
            out[k] = v[()].tolist()
    return out


def write_h5(path, record):
    import h5py
    with _util.atomic_file(path) as tmp:
        with h5py.File(tmp, "w") as f:
            _write_group(f, _plain(record))
    return os.path.abspath(os.fspath(path))


def read_h5(path):
    import h5py
    with h5py.File(path, "r") as f:
        return _read_group(f)
