"""Sweep configuration files (YAML) for `mho sweep`: a study config whose `sweep` section
names design points instead of one swept parameter.

    model: ../../data/models/lenet5_mnist.h5
    seed: 1                      # the sweep seed (every task's seed derives from it)
    test_images: 200
    hardware: {rows: 256, cols: 256, cell: rram_neurosim_22nm, adc: {bits: 8}}
    sweep:
      grid:                      # every combination (the last key varies fastest)
        adc.bits: [3, 4, 5]
        cell: [rram_neurosim_22nm, pcm_joshi2020]
      points:                    # and/or a list of points, after the grid's
        - {adc.bits: 6, time_s: 3600}
      chips: 5                   # simulated chips per point (default 5)
      cost: true                 # one cost task per point (default true)
    output: {dir: results, name: null, plots: true}

The other keys are those of mho.config (a study config) and give the design that every
point starts from; `chips` and `digital` are not used by a sweep (chips per point are
`sweep.chips`; the cost table is PIM only) and `layers` (per-layer rules) is refused: a
sweep task builds one TileSpec per point. Parameters a point may set:

- top-level study keys: model, dataset, test_images, calib_samples, time_s;
- system.<PimSystemSpec field>, tech.node, tech.file;
- hardware parameters as mho.study.with_parameter names them: a TileSpec field (rows,
  weight_bits, cell, ...), adc.<field>, dac.<field>, cell.<field>, wires.<field>, array
  (rows = cols), read_noise_scale; `hardware.` may prefix them. They are applied to the
  built design in the order written, whole fields (cell) before sub-fields (cell.prog_sigma).

Every point's whole design is built and checked (with mho.config's checks: the model, the
dataset, the tech table's ADC resolutions, mapping and cost) before any task starts; an error
names the point and the key. Two points with the same design are an error.

A point's `design_key` is mho.specs.design_key of mho.specs.study_design of its built design
(the tile without its seed, the model and tech files by their SHA-256, not their paths, the
dataset, test_images, calib_samples, time_s, system and tech node; not chips, seed or batch,
which do not change a point's results): the same key as `mho run` gives that design. Two
points that build the same design are an error, however they were written.
"""
import copy
import hashlib
import itertools
import os

from . import config, specs
from .config import ConfigError, _fail

TOP_PARAMS = ("model", "dataset", "test_images", "calib_samples", "time_s")
NOT_SWEPT = {
    "chips": "the chips per point are sweep.chips",
    "seed": "every task's seed derives from the top-level seed",
    "hardware.seed": "every task's seed derives from the top-level seed",
    "batch": "the batch never changes results",
    "sweep": "a sweep cannot sweep itself",
    "output": "one sweep writes one output",
    "digital": "the sweep's cost table is PIM only",
}
SWEEP_KEYS = ("grid", "points", "chips", "cost")
NOT_IN_DESIGN = ("sweep", "output", "chips", "seed", "batch")


def _kind(name, where):
    """('top' | 'system' | 'tech' | 'hardware', the name inside it) of a swept parameter."""
    if not isinstance(name, str) or not name:
        _fail(where, f"expected a parameter name such as 'adc.bits', got {name!r}")
    if name in NOT_SWEPT:
        _fail(where, f"{name!r} cannot be swept: {NOT_SWEPT[name]}")
    if name in TOP_PARAMS:
        return "top", name
    part, _, rest = name.partition(".")
    if part in ("system", "tech") and rest:
        return part, rest
    if part == "hardware" and rest:
        name = rest
    if name == "seed":
        _fail(where, f"{name!r} cannot be swept: {NOT_SWEPT['seed']}")
    if not config._param_known(config._core.TileSpec(), name):
        _fail(where, f"{name!r}: unknown parameter; allowed: {', '.join(TOP_PARAMS)}, system.<field>, "
                     f"tech.node, tech.file, or a hardware parameter (a TileSpec field, adc.*, dac.*, cell.*, "
                     f"wires.*, array, read_noise_scale)")
    return "hardware", name


def _points(sw):
    """[(where, {param: value})] of the grid's combinations, then the listed points."""
    out = []
    grid = sw.get("grid")
    if grid is not None:
        if not isinstance(grid, dict) or not grid:
            _fail("sweep.grid", f"expected a mapping of parameter: [values], got {grid!r}")
        for k, v in grid.items():
            if not isinstance(v, list) or not v:
                _fail(f"sweep.grid.{k}", f"expected a non-empty list of values, got {v!r}")
        for combo in itertools.product(*grid.values()):
            out.append(("sweep.grid", dict(zip(grid, combo))))
    pts = sw.get("points")
    if pts is not None:
        if not isinstance(pts, list) or not pts:
            _fail("sweep.points", f"expected a non-empty list of mappings, got {pts!r}")
        for i, p in enumerate(pts):
            if not isinstance(p, dict):
                _fail(f"sweep.points[{i}]", f"expected a mapping of parameter: value, got {p!r}")
            out.append((f"sweep.points[{i}]", dict(p)))
    if not out:
        _fail("sweep", "give the design points as sweep.grid and/or sweep.points")
    return out


def _label(params):
    return ", ".join(f"{k}={v!r}" for k, v in params.items()) or "the base design"


def _design_key(c):
    return specs.design_key(config.study_design(c))


def point_design(base_raw, params):
    """(the point's study mapping, its hardware edits in the order applied) from the base
    mapping and the point's {param: value}."""
    raw = copy.deepcopy(base_raw)
    edits = []
    for name, value in params.items():
        kind, inner = _kind(name, name)
        if kind == "top":
            raw[name] = value
        elif kind in ("system", "tech"):
            section = raw.get(kind) or {}
            if not isinstance(section, dict):
                _fail(kind, f"expected a mapping, got {section!r}")
            raw[kind] = dict(section, **{inner: value})
        else:
            edits.append((inner, value))
    edits.sort(key=lambda e: e[0].count("."))  # stable: whole fields first, else as written
    return raw, edits


def build_point(raw, edits, base):
    """A point's built study config (mho.config's dict; no output keys)."""
    return config._build(raw, base, None, "sweep", edits=edits, check_output=False)


def effective(c, edits, name):
    """The value a point has for parameter `name` (for a point that does not set it)."""
    kind, inner = _kind(name, name)
    if kind == "top":
        return {"model": c["raw"]["model"], "dataset": c["dataset_name"]}.get(name, c.get(name))
    if kind == "system":
        return getattr(c["system"], inner)
    if kind == "tech":
        return c["tech"].node if inner == "node" else c["tech_file"]
    spec = c["spec"]
    if inner == "array":
        return spec.rows if spec.rows == spec.cols else f"{spec.rows}x{spec.cols}"
    if inner == "read_noise_scale":
        return next((v for p, v in reversed(edits) if p == inner), 1.0)
    v = spec
    for part in inner.split("."):
        v = getattr(v, part)
    return v.name if inner == "cell" else v


def _located(where, label, e):
    """`e` re-raised with the point it belongs to in front of its message."""
    msg = f"sweep point {where} ({label}): {e}"
    if isinstance(e, ConfigError):
        return ConfigError(msg)
    return type(e)(msg)


def load_sweep(source, base_dir=None):
    """A validated sweep: a path to a YAML file, or its mapping (relative paths then resolve
    against base_dir, default the working directory). Returns a dict: file, base, raw,
    params (column names), points (index, params, raw, edits, design_key, label), chips,
    seed, cost, config_sha256, out_dir, name, plots. Raises ConfigError (a ValueError) naming
    the point and the key, FileNotFoundError for a missing file; no task has run."""
    if isinstance(source, dict):
        raw, file = copy.deepcopy(source), None
        base = os.path.abspath(base_dir or os.getcwd())
        stem = "sweep"
    else:
        file = os.path.abspath(os.fspath(source))
        raw = config._read(file)
        base = os.path.dirname(file)
        stem = os.path.splitext(os.path.basename(file))[0]
    config._known(raw, config.TOP_KEYS, "")
    for k in ("chips", "digital"):
        if k in raw:
            _fail(k, f"not used by mho sweep: {NOT_SWEPT[k]}")
    if "layers" in raw:  # its tasks build one TileSpec per point
        _fail("layers", "per-layer rules are not supported by mho sweep yet; sweep a design with layers with "
                        "`mho run`'s sweep or mho.study.sweep")
    sw = raw.get("sweep")
    if sw is None:
        _fail("sweep", "missing: give the design points as sweep.grid and/or sweep.points")
    config._known(sw, SWEEP_KEYS, "sweep")
    chips = config._int(sw, "chips", 5, 1, where="sweep.")
    cost = sw.get("cost", True)
    if not isinstance(cost, bool):
        _fail("sweep.cost", f"expected true or false, got {cost!r}")
    seed = config._int(raw, "seed", 1, 0)
    base_raw = {k: v for k, v in raw.items() if k not in ("sweep", "output")}
    base_raw["digital"] = False

    s = {"file": file, "base": base, "raw": raw, "chips": chips, "seed": seed, "cost": cost}
    s.update(config._output(raw, base, stem))
    params, points, seen = [], [], {}
    for where, p in _points(sw):
        for name in p:
            _kind(name, f"{where}.{name}")
            if name not in params:
                params.append(name)
        label = _label(p)
        where_i = f"{len(points)}"
        try:
            praw, edits = point_design(base_raw, p)
            c = build_point(praw, edits, base)
        except (ConfigError, FileNotFoundError, IsADirectoryError) as e:
            raise _located(where_i, label, e) from None
        key = _design_key(c)
        if key in seen:
            _fail(where, f"points {seen[key]} and {len(points)} ({label}) are the same design")
        seen[key] = len(points)
        points.append({"index": len(points), "params": p, "raw": praw, "edits": edits,
                       "design_key": key, "label": label, "config": c})
    for pt in points:
        pt["columns"] = {n: pt["params"][n] if n in pt["params"] else effective(pt["config"], pt["edits"], n)
                         for n in params}
    s["params"], s["points"] = params, points
    s["config_sha256"] = hashlib.sha256(specs.canonical_json(
        {"store_format": 2, "seed": seed, "chips": chips, "cost": cost, "params": params,
         "points": [pt["design_key"] for pt in points]}).encode("ascii")).hexdigest()
    return s
