"""Result files: one study's configuration, provenance, accuracy and cost in JSON and HDF5.

Both files hold the same nested record and are written atomically (a failed run leaves no
half-written file). In HDF5 a dict is a group, a number or string an attribute, a list of
numbers a dataset, a list of records a group of numbered subgroups; read_h5 restores the
record that write_h5 was given, for any key and string (tuples come back as lists, NaN as
None). A run's files form a result set (ResultSet): written under temporary names, then
renamed in together, so a folder never holds the JSON of one run beside the plots of another.
"""
import datetime
import hashlib
import json
import os
import platform
import re

import numpy as np

from . import _util


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


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


# HDF5 layout (format 2). Names: every '%', '/' and NUL of a key (%25, %2F, %00), lone
# surrogates (%uD800), and a key of dots only (%2E) are percent-escaped, the empty key is '%', so any key is a valid, distinct HDF5 name. Markers are
# names no escaped key can take (they contain a bare '%'): "%format" (root), "%list" (a
# group holding a list of records), and "<key>%json" for values stored as JSON text (bools,
# None, mixed or nested lists, strings HDF5 cannot hold as they are, integers beyond int64).
# Format 1 files (no "%format") stored JSON values as strings prefixed "__json__".
_FORMAT = 2
_LIST = "%list"
_JSON = "%json"
_INT64 = (-(1 << 63), (1 << 63) - 1)


def _escape_char(c):
    if c in "%/\x00":
        return f"%{ord(c):02X}"
    if 0xD800 <= ord(c) <= 0xDFFF:  # a lone surrogate has no UTF-8 form
        return f"%u{ord(c):04X}"
    return c


def _escape(key):
    k = "".join(_escape_char(c) for c in key)
    if k == "":
        return "%"
    if set(k) == {"."}:  # HDF5 reads "." as the group itself
        return k.replace(".", "%2E")
    return k


def _unescape(name):
    if name == "%":
        return ""
    return re.sub(r"%(u[0-9A-F]{4}|[0-9A-F]{2})",
                  lambda m: chr(int(m.group(1)[1:] if m.group(1)[0] == "u" else m.group(1), 16)), name)


def _h5_safe_str(v):
    """HDF5 variable-length strings are NUL-terminated UTF-8."""
    if "\x00" in v:
        return False
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def _dataset_list(v):
    """A list stored as an HDF5 dataset: all ints within int64, or all floats."""
    if not isinstance(v, list) or not v:
        return False
    if all(isinstance(e, int) and not isinstance(e, bool) and _INT64[0] <= e <= _INT64[1] for e in v):
        return True
    return all(isinstance(e, float) for e in v)


def _write_group(g, record):
    for k, v in record.items():
        name = _escape(k)
        if isinstance(v, dict):
            _write_group(g.create_group(name), v)
        elif isinstance(v, list) and v and all(isinstance(e, dict) for e in v):
            sub = g.create_group(name)
            sub.attrs[_LIST] = len(v)
            for i, e in enumerate(v):
                _write_group(sub.create_group(str(i)), e)
        elif _dataset_list(v):
            g.create_dataset(name, data=np.asarray(v))
        elif isinstance(v, str) and _h5_safe_str(v):
            g.attrs[name] = v
        elif isinstance(v, float) or (isinstance(v, int) and not isinstance(v, bool) and _INT64[0] <= v <= _INT64[1]):
            g.attrs[name] = v
        else:
            g.attrs[name + _JSON] = json.dumps(v)  # keeps the type; ASCII, so always storable


def _read_group(g, legacy):
    out = {}
    for k, v in g.attrs.items():
        if k in ((_LIST, "%format") if not legacy else ("__list__",)):
            continue
        if isinstance(v, bytes):
            v = v.decode("utf-8")
        if not legacy and k.endswith(_JSON):
            out[_unescape(k[:-len(_JSON)])] = json.loads(v)
        elif legacy and isinstance(v, str) and v.startswith("__json__"):
            out[k] = json.loads(v[len("__json__"):])
        else:
            out[k if legacy else _unescape(k)] = v.item() if isinstance(v, np.generic) else v
    for k, v in g.items():
        key = k if legacy else _unescape(k)
        if hasattr(v, "keys"):
            marker = "__list__" if legacy else _LIST
            if marker in v.attrs:
                out[key] = [_read_group(v[str(i)], legacy) for i in range(int(v.attrs[marker]))]
            else:
                out[key] = _read_group(v, legacy)
        else:
            out[key] = v[()].tolist()
    return out


def write_h5(path, record):
    import h5py
    with _util.atomic_file(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["%format"] = _FORMAT
            _write_group(f, _plain(record))
    return os.path.abspath(os.fspath(path))


def read_h5(path):
    import h5py
    with h5py.File(path, "r") as f:
        return _read_group(f, legacy="%format" not in f.attrs)


class ResultSet:
    """The files of one run, replaced together.

        with results.ResultSet([stem + ".json", stem + ".h5", stem + "_cost.png"]) as rs:
            rec["result_files"] = rs.names      # the JSON lists its set
            results.write_json(rs.tmp(stem + ".json"), rec)
            ...
        # on leaving the block without an error: every file renamed in

    Every member is written under a temporary name beside its final path (the `.mho-tmp-`
    names of _util, removed by a later run if this one is killed), fsync'ed, then: the
    previous set's JSON is replaced by a placeholder {"incomplete": ..., "result_files": both
    sets' names} (so no JSON ever describes a mix, and a run killed from here on leaves a list
    of what the next run removes), the previous set's members that the new set does not
    overwrite are removed, the members are renamed in (the JSON last) and the folders
    fsync'ed. On an error before that the temporaries are removed and the previous set stays
    as it was. Without a JSON member there is no list: only same-named files are replaced.
    """

    def __init__(self, paths):
        self.finals = [os.path.abspath(os.fspath(p)) for p in paths]
        if len(set(self.finals)) != len(self.finals):
            raise ValueError(f"result files: the same path twice in {self.finals}")
        for p in self.finals:
            if os.path.isdir(p):
                raise IsADirectoryError(f"{p}: is a directory, expected a file path")
            folder = os.path.dirname(p)
            if not os.path.isdir(folder):
                raise FileNotFoundError(f"{p}: the folder {folder} does not exist")
            if not os.access(folder, os.W_OK | os.X_OK):
                raise PermissionError(f"{p}: the folder {folder} is not writable")
        self.names = [os.path.basename(p) for p in self.finals]
        self._tmp = {}
        for d in {os.path.dirname(p) for p in self.finals}:
            _util.clean_stale_temps(d)

    def tmp(self, final):
        """The temporary path to write the member `final` to."""
        final = os.path.abspath(os.fspath(final))
        if final not in self.finals:
            raise ValueError(f"{final}: not a member of this result set")
        if final not in self._tmp:
            self._tmp[final] = _util.temp_path(final)
        return self._tmp[final]

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.commit()
        else:
            self.abort()
        return False

    def abort(self):
        for t in self._tmp.values():
            if os.path.exists(t):
                os.unlink(t)

    @staticmethod
    def _previous_members(manifest):
        """Members a previous set's JSON lists, as paths in its folder (plain names only)."""
        try:
            old = read_json(manifest).get("result_files", [])
        except (OSError, ValueError, AttributeError):
            return []
        folder = os.path.dirname(manifest)
        return [os.path.join(folder, n) for n in old
                if isinstance(n, str) and n and os.path.basename(n) == n and n not in (".", "..")]

    def commit(self):
        missing = [f for f in self.finals if f not in self._tmp or not os.path.isfile(self._tmp[f])]
        if missing:
            self.abort()
            raise RuntimeError(f"result set: no file written for {', '.join(missing)}")
        for t in self._tmp.values():
            _util.fsync_file(t)
            os.chmod(t, 0o644)
        manifests = [f for f in self.finals if f.endswith(".json")]
        stale = []
        for m in manifests:
            old = self._previous_members(m)
            stale += [p for p in old if p not in self.finals]
            # Until the new JSON is renamed in, the JSON in its place is a placeholder that
            # names both sets' files: killed now, a later run still knows what to remove,
            # and no reader takes a half-replaced set for a result.
            folder = os.path.dirname(m)
            both = sorted({os.path.basename(p) for p in old + self.finals if os.path.dirname(p) == folder})
            write_json(m, {"incomplete": "a result set being replaced; the next run removes these files",
                           "result_files": both})
        for p in stale:
            if os.path.isfile(p) and not os.path.islink(p):
                os.unlink(p)
        for f in sorted(self.finals, key=lambda f: f in manifests):  # JSON last
            os.replace(self._tmp[f], f)
        for d in {os.path.dirname(p) for p in self.finals + stale}:
            _util.fsync_dir(d)
