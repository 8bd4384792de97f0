"""Specs as data: YAML design files and design keys.

Every spec (TileSpec, CellSpec, DacSpec, AdcSpec, WireSpec, CapSpec, PimSystemSpec, DigitalSpec) is a
value: ``spec.to_dict()`` gives every field as plain data (a nested spec as its full dict, a
TileSpec's cell as all of its CellSpec fields rather than a preset name, so a saved design
keeps meaning the same cell), ``Spec.from_dict(d)`` builds it back validated like the
constructor, and specs compare, hash, pickle and copy by value (bindings/spec_binder.h).

    text = mho.to_yaml(spec)                      # or to_yaml(spec, "design.yaml")
    same = mho.from_yaml(text, mho.TileSpec)      # or from_yaml("design.yaml", mho.TileSpec)
    key = mho.design_key(spec)                    # '3f1c...' (16 hex digits)

A design file may name a preset instead of writing a cell out (``cell: pcm_joshi2020``) and
may leave fields out (their defaults); from_yaml reads ``1e-6`` as a number (YAML 1.2), where
PyYAML's YAML 1.1 would read a string.

design_key(x) is the first 16 hex digits (64 bits) of the SHA-256 of x's canonical JSON:
keys sorted, separators ``,`` and ``:``, ASCII, specs replaced by their to_dict(), tuples as
lists, integers as integers and floats as Python's repr (the shortest text that reads back to
the same double, on every platform), with -0.0 written as 0.0 since it equals 0.0. NaN and
infinity are refused. So equal specs have equal keys, on any machine and Python version.
"""
import hashlib
import json
import math
import numbers
import os
import re

import numpy as np

from . import _core, _util

SPEC_CLASSES = (_core.TileSpec, _core.CellSpec, _core.DacSpec, _core.AdcSpec, _core.WireSpec, _core.CapSpec,
                _core.PimSystemSpec, _core.DigitalSpec)


def _check_spec(spec, what):
    if not isinstance(spec, SPEC_CLASSES):
        names = ", ".join(c.__name__ for c in SPEC_CLASSES)
        raise TypeError(f"{what}: expected a spec ({names}), got {type(spec).__name__} {spec!r}")


def _check_class(cls):
    if not (isinstance(cls, type) and issubclass(cls, SPEC_CLASSES)):
        names = ", ".join(c.__name__ for c in SPEC_CLASSES)
        raise TypeError(f"from_yaml(cls): expected a spec class ({names}), got {cls!r}")


def to_yaml(spec, path=None):
    """`spec` as YAML text (every field, in declaration order); with `path`, also written
    there atomically. Returns the text."""
    import yaml
    _check_spec(spec, "to_yaml(spec)")
    text = yaml.safe_dump(spec.to_dict(), sort_keys=False, default_flow_style=False, allow_unicode=True)
    if path is not None:
        with _util.atomic_file(path) as tmp:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
    return text


def yaml_loader():
    """PyYAML's safe loader, reading exponent floats without a dot (1e-6) as numbers, as YAML
    1.2 does (YAML 1.1, PyYAML's schema, reads them as strings)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"))
    return Loader


def _is_path(x):
    if isinstance(x, os.PathLike):
        return True
    return isinstance(x, str) and "\n" not in x and (x.endswith((".yaml", ".yml")) or os.path.isfile(x))


def from_yaml(text_or_path, cls):
    """The `cls` spec a YAML text or file describes (validated; errors name the key). A path
    is an os.PathLike, or a one-line str ending in .yaml/.yml or naming an existing file;
    any other str is YAML text."""
    import yaml
    _check_class(cls)
    if _is_path(text_or_path):
        from .cost import check_regular_file
        path = check_regular_file(text_or_path, "from_yaml")
        with open(path, encoding="utf-8") as f:
            text, where = f.read(), path
    elif isinstance(text_or_path, str):
        text, where = text_or_path, "text"
    else:
        raise TypeError(f"from_yaml(text_or_path): expected YAML text or a path, got "
                        f"{type(text_or_path).__name__} {text_or_path!r}")
    try:
        data = yaml.load(text, Loader=yaml_loader())
    except yaml.YAMLError as e:
        raise ValueError(f"from_yaml: {where} is not valid YAML: {e}") from None
    return cls.from_dict(data)


def _canonical(x, path):
    if isinstance(x, SPEC_CLASSES):
        return _canonical(x.to_dict(), path)
    if isinstance(x, dict):
        out = {}
        for k, v in x.items():
            if not isinstance(k, str):
                raise TypeError(f"design_key: {path}: keys must be str, got {type(k).__name__} {k!r}")
            out[k] = _canonical(v, f"{path}.{k}")
        return out
    if isinstance(x, (list, tuple)):
        return [_canonical(v, f"{path}[{i}]") for i, v in enumerate(x)]
    if x is None or isinstance(x, str):
        return x
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, numbers.Integral):
        return int(x)
    if isinstance(x, numbers.Real):
        v = float(x)
        if not math.isfinite(v):
            raise ValueError(f"design_key: {path} = {v!r}: must be finite")
        return 0.0 if v == 0.0 else v
    raise TypeError(f"design_key: {path}: expected a spec, dict, list, str, number, bool or None, "
                    f"got {type(x).__name__} {x!r}")


def canonical_json(spec_or_dict):
    """The text design_key hashes (see the module's doc)."""
    return json.dumps(_canonical(spec_or_dict, "design"), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True, allow_nan=False)


def design_key(spec_or_dict):
    """First 16 hex digits of the SHA-256 of the canonical JSON of a spec's to_dict() (or of a
    dict of plain data and specs, e.g. {"tile": tile_spec, "system": system_spec})."""
    return hashlib.sha256(canonical_json(spec_or_dict).encode("ascii")).hexdigest()[:16]


def study_design(tile, model_sha256, dataset, test_images=None, calib_samples=512, time_s=None,
                 system=None, tech=None, layers=None):
    """The design a study's numbers belong to, as plain data (its design_key is the key of
    every table row of that design, from `mho run`, `mho sweep` or mho.study alike): the tile
    without its seed (chips differ by seed, the design does not), the model by the SHA-256 of
    its file, the dataset by name, the study settings that change results, and the system and
    technology (tech: {"node", "sha256"} of the table file) when the result has a cost side;
    None where it has none (mho.study.evaluate knows no system). Batch and chip count are
    left out: they never change a chip's result. layers: per-layer hardware
    (mho.layer_rules.Hardware.layers()), present only when some layer does not use `tile`, so
    that a uniform design keeps its key."""
    t = tile.to_dict()
    t.pop("seed", None)
    d = {"tile": t, "model_sha256": model_sha256, "dataset": dataset, "test_images": test_images,
         "calib_samples": calib_samples, "time_s": time_s,
         "system": system.to_dict() if system is not None else None, "tech": tech}
    if layers:
        d["layers"] = layers
    return d
