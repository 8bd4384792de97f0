"""Study configuration files (YAML) for `mho run`: schema, validation, and the run itself.

Schema (every key but `model` optional; relative paths are relative to the config file):

    model: ../../data/models/lenet5_mnist.h5   # an mho model file
    dataset: mnist             # default: the dataset the model file names
    chips: 10                  # simulated chips (Monte Carlo over programming, faults, noise)
    seed: 1                    # hardware seed; chip k draws from (seed, k, tile)
    test_images: null          # null: the whole test split; N: N evenly spaced images
    batch: 500                 # images per forward call (memory), never changes results
    calib_samples: 512         # training images for DAC/ADC range calibration
    time_s: null               # age every chip to this time (drift), seconds
    hardware:                  # TileSpec fields (python: mho.TileSpec().fields())
      rows: 256
      cols: 256
      cell: rram_neurosim_22nm # a preset name (mho.cell_preset_names())
      weight_bits: 6
      dac: {input_bits: 8, signed_mode: unsigned}   # DacSpec fields
      adc: {bits: 8, columns_per_adc: 8}            # AdcSpec fields
      wires: {r_row: 0.0, r_col: 0.0}               # WireSpec fields
    system: {adc_type: sar}    # PimSystemSpec fields (periphery, buffers, digital lanes)
    tech: {node: 22nm, file: null}   # technology table; default data/tech.yaml
    digital: {pe_rows: 16, pe_cols: 16}   # DigitalSpec fields, or false: no baseline
    sweep: {param: adc.bits, values: [4, 5, 6, 8], chips: 5}   # optional accuracy sweep
    output: {dir: results, name: null, plots: true}   # name: default the config's stem

Errors name the key: `config key 'hardware.adc.bits': ...` (ValueError), a missing file is a
FileNotFoundError.
"""
import copy
import os

from . import _core

TOP_KEYS = ("model", "dataset", "chips", "seed", "test_images", "batch", "calib_samples", "time_s",
            "hardware", "system", "tech", "digital", "sweep", "output")


class ConfigError(ValueError):
    pass


def _fail(key, msg):
    raise ConfigError(f"config key '{key}': {msg}")


def _known(d, allowed, where):
    if not isinstance(d, dict):
        _fail(where or "(top level)", f"expected a mapping, got {type(d).__name__}")
    for k in d:
        if k not in allowed:
            _fail(f"{where}.{k}" if where else str(k), f"unknown; allowed: {', '.join(allowed)}")


def _int(d, key, default, lo=None, none_ok=False, where=""):
    v = d.get(key, default)
    full = f"{where}{key}"
    if v is None and none_ok:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        _fail(full, f"expected an integer, got {v!r}")
    if lo is not None and v < lo:
        _fail(full, f"{v} must be >= {lo}")
    return v


def _spec(cls, values, where, nested=None):
    """cls(**values) built one key at a time, so an error names the key that caused it."""
    nested = nested or {}
    spec = cls()
    _known(values, spec.fields(), where)
    for k, v in values.items():
        if k in nested:
            v = _spec(nested[k], v, f"{where}.{k}")
        try:
            spec = spec.replace(**{k: v})
        except (TypeError, ValueError) as e:
            _fail(f"{where}.{k}", str(e))
    return spec


def _path(base, p, key):
    if not isinstance(p, str) or not p:
        _fail(key, f"expected a file path, got {p!r}")
    return p if os.path.isabs(p) else os.path.normpath(os.path.join(base, p))


def load(path):
    """A validated configuration: a dict with built specs (TileSpec, PimSystemSpec,
    DigitalSpec or None) and resolved paths; 'raw' holds the file's own mapping."""
    import yaml
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"config file not found: {path}")
    with open(path) as f:
        try:
            raw = yaml.safe_load(f)
        except yaml.YAMLError as e:
            raise ConfigError(f"config {path}: not valid YAML: {e}") from None
    if raw is None:
        raise ConfigError(f"config {path}: empty file")
    _known(raw, TOP_KEYS, "")
    base = os.path.dirname(os.path.abspath(path))
    if "model" not in raw:
        _fail("model", "missing (an mho model file)")
    c = {"raw": copy.deepcopy(raw), "file": os.path.abspath(path)}
    c["model"] = _path(base, raw["model"], "model")
    if not os.path.isfile(c["model"]):
        raise FileNotFoundError(f"config key 'model': file not found: {c['model']}")
    ds = raw.get("dataset")
    if ds is not None and not isinstance(ds, str):
        _fail("dataset", f"expected a dataset name, got {ds!r}")
    c["dataset"] = ds
    c["chips"] = _int(raw, "chips", 10, 1)
    c["seed"] = _int(raw, "seed", 1, 0)
    c["test_images"] = _int(raw, "test_images", None, 1, none_ok=True)
    c["batch"] = _int(raw, "batch", 500, 1)
    c["calib_samples"] = _int(raw, "calib_samples", 512, 1)
    t = raw.get("time_s")
    if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or t < 0):
        _fail("time_s", f"expected a number of seconds >= 0, got {t!r}")
    c["time_s"] = t

    hw = dict(raw.get("hardware") or {})
    hw.setdefault("seed", c["seed"])
    if "seed" in (raw.get("hardware") or {}):
        _fail("hardware.seed", "set the seed with the top-level key 'seed'")
    c["spec"] = _spec(_core.TileSpec, hw, "hardware",
                      {"dac": _core.DacSpec, "adc": _core.AdcSpec, "wires": _core.WireSpec})
    c["system"] = _spec(_core.PimSystemSpec, raw.get("system") or {}, "system")

    tech = raw.get("tech") or {}
    _known(tech, ("node", "file"), "tech")
    node = tech.get("node", "22nm")
    if not isinstance(node, str):
        _fail("tech.node", f"expected a node name such as '22nm', got {node!r}")
    from . import cost
    c["tech_file"] = _path(base, tech["file"], "tech.file") if tech.get("file") else cost.tech_file()
    try:
        c["tech"] = cost.load_tech(node, c["tech_file"])
    except ValueError as e:
        _fail("tech.node", str(e))

    dig = raw.get("digital", {})
    if dig is False:
        c["digital"] = None
    else:
        c["digital"] = _spec(_core.DigitalSpec, dig or {}, "digital")

    sw = raw.get("sweep")
    if sw is not None:
        _known(sw, ("param", "values", "chips"), "sweep")
        if not isinstance(sw.get("param"), str):
            _fail("sweep.param", f"expected a parameter name such as 'adc.bits', got {sw.get('param')!r}")
        if not isinstance(sw.get("values"), list) or not sw["values"]:
            _fail("sweep.values", f"expected a non-empty list, got {sw.get('values')!r}")
        from .study import with_parameter
        for v in sw["values"]:
            if sw["param"] != "time_s":
                try:
                    with_parameter(c["spec"], sw["param"], v)
                except (TypeError, ValueError) as e:
                    _fail("sweep.values", f"{v!r}: {e}")
        c["sweep"] = {"param": sw["param"], "values": sw["values"], "chips": _int(sw, "chips", 5, 1, where="sweep.")}
    else:
        c["sweep"] = None

    out = raw.get("output") or {}
    _known(out, ("dir", "name", "plots"), "output")
    c["out_dir"] = _path(base if "dir" in out else os.getcwd(), out.get("dir", "results"), "output.dir")
    name = out.get("name") or os.path.splitext(os.path.basename(path))[0]
    if not isinstance(name, str) or os.sep in name:
        _fail("output.name", f"expected a file stem without '/', got {name!r}")
    c["name"] = name
    plots = out.get("plots", True)
    if not isinstance(plots, bool):
        _fail("output.plots", f"expected true or false, got {plots!r}")
    c["plots"] = plots
    return c
