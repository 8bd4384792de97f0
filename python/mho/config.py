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
      weight_bits: 8
      bits_per_cell: 2
      weight_scale: per_column
      dac: {input_bits: 8, mode: bitserial, signed_mode: unsigned}   # DacSpec fields
      adc: {bits: 8, columns_per_adc: 8}            # AdcSpec fields
      wires: {r_row_ohm: 0.0, r_col_ohm: 0.0}       # WireSpec fields
    system: {adc_type: sar}    # PimSystemSpec fields (periphery, buffers, digital lanes)
    tech: {node: 22nm, file: null}   # technology table; default data/tech.yaml
    digital: {pe_rows: 16, pe_cols: 16}   # DigitalSpec fields, or false: no baseline
    sweep: {param: adc.bits, values: [4, 5, 6, 8], chips: 5}   # optional accuracy sweep
    output: {dir: results, name: null, plots: true}   # name: default the config's stem

Keys left out of hardware, system, tech and digital (and their nested dac/adc/wires
mappings) take the default design's values (data/default_design.yaml; config.default_design()),
not the specs' own field defaults: a config edits the default design.

Errors name the key: `config key 'hardware.adc.bits': ...` (ValueError), a missing file is a
FileNotFoundError. load() checks everything a run needs before any work starts (the model,
the dataset's files, the tech table and its ADC types and resolutions, every sweep value, the
cost of every design, the output folder), so a run never fails after its study.
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


def _spec(cls, values, where, nested=None, base=None):
    """`base` (default cls()) with `values` replaced one key at a time, so an error names the
    key that caused it; a nested spec's values edit base's nested spec."""
    nested = nested or {}
    spec = cls() if base is None else base
    if not isinstance(values, dict):
        _fail(where, f"expected a mapping of {cls.__name__} fields, got {values!r}")
    _known(values, spec.fields(), where)
    for k, v in values.items():
        if k in nested:
            v = _spec(nested[k], v, f"{where}.{k}", base=getattr(spec, k))
        try:
            spec = spec.replace(**{k: v})
        except (TypeError, ValueError) as e:
            _fail(f"{where}.{k}", str(e))
    return spec


DEFAULT_DESIGN_FILE = "default_design.yaml"
_NESTED = {"dac": _core.DacSpec, "adc": _core.AdcSpec, "wires": _core.WireSpec, "cap": _core.CapSpec}
_default = {}


def default_design():
    """The default design (data/default_design.yaml, which says why each choice): a dict of
    hardware (TileSpec, seed 1), system (PimSystemSpec), tech_node (str) and digital
    (DigitalSpec). Keys a config leaves out take these values; mho.study.default_spec() and
    `mho cost`'s options are this design."""
    if not _default:
        from . import datasets
        path = os.fspath(datasets.data_dir() / DEFAULT_DESIGN_FILE)
        raw = _read(path)
        where = f"{path}: "
        _known(raw, ("hardware", "system", "tech", "digital"), "")
        try:
            d = {"hardware": _spec(_core.TileSpec, raw.get("hardware") or {}, "hardware", _NESTED).replace(seed=1),
                 "system": _spec(_core.PimSystemSpec, raw.get("system") or {}, "system"),
                 "tech_node": (raw.get("tech") or {}).get("node", "22nm"),
                 "digital": _spec(_core.DigitalSpec, raw.get("digital") or {}, "digital")}
        except ConfigError as e:
            raise ConfigError(where + str(e)) from None
        _default.update(d)
    return dict(_default)


def _path(base, p, key):
    if not isinstance(p, str) or not p:
        _fail(key, f"expected a file path, got {p!r}")
    return p if os.path.isabs(p) else os.path.normpath(os.path.join(base, p))


def _file(base, p, key):
    """A config path that must name an existing regular file (FileNotFoundError,
    IsADirectoryError or ConfigError naming the key)."""
    from .cost import check_regular_file
    full = _path(base, p, key)
    try:
        return check_regular_file(full, f"config key '{key}'")
    except (FileNotFoundError, IsADirectoryError):
        raise
    except (TypeError, ValueError) as e:
        raise ConfigError(str(e)) from None


def _checked(key, fn, *args, **kw):
    """fn(*args, **kw), its TypeError/ValueError re-raised as a ConfigError naming `key`."""
    try:
        return fn(*args, **kw)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        _fail(key, str(e))


def _read(path):
    """The YAML mapping of a config file (errors name the file)."""
    import yaml

    from . import specs
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"config {path}: is a directory, expected a YAML file")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"config file not found: {path}")
    with open(path) as f:
        try:
            raw = yaml.load(f, Loader=specs.yaml_loader())  # 1e-6 is a number, as in YAML 1.2
        except yaml.YAMLError as e:
            raise ConfigError(f"config {path}: not valid YAML: {e}") from None
        except RecursionError:
            raise ConfigError(f"config {path}: nested too deeply") from None
    if raw is None:
        raise ConfigError(f"config {path}: empty file")
    return raw


def load(path):
    """A validated configuration: a dict with built specs (TileSpec, PimSystemSpec,
    DigitalSpec or None) and resolved paths; 'raw' holds the file's own mapping.

    Everything a run needs is checked here, before any work starts: every key and value,
    the model file (loaded), the dataset and its files, the tech table and that it holds
    the ADC type and resolutions, each sweep value (its design is built and mapped), the
    cost of the design (computed from shapes) and the output folder."""
    path = os.fspath(path)
    raw = _read(path)
    return _build(raw, os.path.dirname(os.path.abspath(path)), os.path.abspath(path),
                  os.path.splitext(os.path.basename(path))[0])


def _build(raw, base, file, stem, edits=(), check_output=True):
    """load()'s work on a mapping: `base` resolves relative paths, `stem` names the output
    by default, `edits` are (parameter, value) pairs applied to the TileSpec with
    study.with_parameter (a sweep point's hardware values), check_output=False skips the
    output keys (a sweep's worker writes nothing)."""
    from . import cost, datasets, nets, study
    _known(raw, TOP_KEYS, "")
    if "model" not in raw:
        _fail("model", "missing (an mho model file)")
    c = {"raw": copy.deepcopy(raw), "file": file}
    c["model"] = _file(base, raw["model"], "model")
    net, info = _checked("model", nets.load, c["model"])
    ds = raw.get("dataset")
    if ds is not None and not isinstance(ds, str):
        _fail("dataset", f"expected a dataset name, got {ds!r}")
    c["dataset"] = ds
    c["dataset_name"] = ds_name = ds or info.dataset
    if not ds_name:
        _fail("dataset", f"missing: the model file {c['model']} names no dataset")
    try:
        for part in datasets.files(ds_name):
            if not os.path.isfile(part):
                raise FileNotFoundError(f"{part} not found: run /usr/bin/python3 data/fetch_datasets.py")
    except FileNotFoundError as e:
        raise FileNotFoundError(f"config key 'dataset' ({ds_name!r}): {e}") from None
    except (TypeError, ValueError, OSError) as e:
        _fail("dataset", str(e))
    c["chips"] = _int(raw, "chips", 10, 1)
    c["seed"] = _int(raw, "seed", 1, 0)
    c["test_images"] = _int(raw, "test_images", None, 1, none_ok=True)
    c["batch"] = _int(raw, "batch", 500, 1)
    c["calib_samples"] = _int(raw, "calib_samples", 512, 1)
    c["time_s"] = _checked("time_s", study.check_time, raw.get("time_s"))

    hw = dict(raw.get("hardware") or {})
    hw.setdefault("seed", c["seed"])
    if "seed" in (raw.get("hardware") or {}):
        _fail("hardware.seed", "set the seed with the top-level key 'seed'")
    dflt = default_design()  # what the config leaves out
    c["spec"] = _spec(_core.TileSpec, hw, "hardware", _NESTED, base=dflt["hardware"])
    c["system"] = _spec(_core.PimSystemSpec, raw.get("system") or {}, "system", base=dflt["system"])

    tech = raw.get("tech") or {}
    _known(tech, ("node", "file"), "tech")
    node = tech.get("node", dflt["tech_node"])
    if not isinstance(node, str):
        _fail("tech.node", f"expected a node name such as '22nm', got {node!r}")
    c["tech_file"] = _file(base, tech["file"], "tech.file") if tech.get("file") is not None else cost.tech_file()
    try:
        c["tech"] = cost.load_tech(node, c["tech_file"])
    except (FileNotFoundError, IsADirectoryError):
        raise
    except ValueError as e:
        _fail("tech.node" if f"'{node}'" in str(e) else "tech.file", str(e))
    types = c["tech"].adc_types()
    # The multilevel sense amplifier's energy is a formula; its area and timing are the table's
    # sense_amp entry (evaluator/periphery.h).
    table_adc = "sense_amp" if c["system"].adc_type == "multilevel_sa" else c["system"].adc_type
    if table_adc not in types:
        _fail("system.adc_type", f"'{c['system'].adc_type}': the {node} table has {', '.join(types)}")

    dig = raw.get("digital", {})
    if dig is False:
        c["digital"] = None
    else:
        c["digital"] = _spec(_core.DigitalSpec, dig or {}, "digital", base=dflt["digital"])

    def costs(spec, key):
        """The design mapped and costed from shapes now, so the run cannot fail later."""
        bits = spec.adc.bits
        have = c["tech"].adc_bits(table_adc)
        if bits not in have:
            _fail(key, f"ADC bits = {bits}: the {node} table has {', '.join(map(str, have))} "
                       f"for system.adc_type '{c['system'].adc_type}'")
        _checked(key, cost.pim, net, spec, system=c["system"], tech=c["tech"])
        _checked(key, _core.PimNetwork, net, spec, {})

    for param, value in edits:
        c["spec"] = _checked(param, study.with_parameter, c["spec"], param, value)
    costs(c["spec"], edits[-1][0] if edits else "hardware")
    if c["digital"] is not None:
        _checked("digital", cost.digital, net, spec=c["digital"], tech=c["tech"])

    sw = raw.get("sweep")
    if sw is not None:
        if isinstance(sw, dict) and ("grid" in sw or "points" in sw):
            _fail("sweep", "grid and points sweeps run with `mho sweep` (mho.sweep), not `mho run`")
        _known(sw, ("param", "values", "chips"), "sweep")
        if not isinstance(sw.get("param"), str):
            _fail("sweep.param", f"expected a parameter name such as 'adc.bits', got {sw.get('param')!r}")
        if not isinstance(sw.get("values"), list) or not sw["values"]:
            _fail("sweep.values", f"expected a non-empty list, got {sw.get('values')!r}")
        if sw["param"] != "time_s" and not _param_known(c["spec"], sw["param"]):
            _fail("sweep.param", f"{sw['param']!r}: not a TileSpec field nor one of array, read_noise_scale, "
                                 f"time_s, adc.*, dac.*, cell.*, wires.* (fields: {', '.join(c['spec'].fields())})")
        designs = _checked("sweep.values", study.swept_designs, c["spec"], sw["param"], sw["values"])
        if sw["param"] != "time_s":
            for i, (spec, _) in enumerate(designs):
                costs(spec, f"sweep.values[{i}]")
        c["sweep"] = {"param": sw["param"], "values": sw["values"], "chips": _int(sw, "chips", 5, 1, where="sweep.")}
    else:
        c["sweep"] = None

    if not check_output:
        return c
    c.update(_output(raw, base, stem))
    return c


def study_design(c, tile=None, time_s=None):
    """mho.specs.study_design of a built config's design (its tile and time_s unless given:
    a swept value replaces them), with its system and technology."""
    from . import results, specs
    tech = {"node": c["tech"].node, "sha256": results.sha256_file(c["tech_file"])}
    return specs.study_design(c["spec"] if tile is None else tile, results.sha256_file(c["model"]), c["dataset_name"],
                              c["test_images"], c["calib_samples"], c["time_s"] if time_s is None else time_s,
                              system=c["system"], tech=tech)


def _output(raw, base, stem):
    """out_dir, name and plots of the `output` keys, the folder checked to be writable."""
    c = {}
    out = raw.get("output") or {}
    _known(out, ("dir", "name", "plots"), "output")
    c["out_dir"] = _path(base if "dir" in out else os.getcwd(), out.get("dir", "results"), "output.dir")
    problem = output_dir_problem(c["out_dir"])
    if problem:
        _fail("output.dir", problem)
    name = out.get("name") or stem
    if not isinstance(name, str) or os.sep in name or name in (".", "..") or name.startswith("."):
        _fail("output.name", f"expected a file stem without '/' or a leading '.', got {name!r}")
    c["name"] = name
    plots = out.get("plots", True)
    if not isinstance(plots, bool):
        _fail("output.plots", f"expected true or false, got {plots!r}")
    c["plots"] = plots
    return c


def _param_known(spec, param):
    if param in ("array", "read_noise_scale") or param in spec.fields():
        return True
    part, _, fld = param.partition(".")
    return part in ("adc", "dac", "cell", "wires") and fld in getattr(spec, part).fields()


def output_dir_problem(folder):
    """Why results could not be written to `folder` (None if they can): checked before a run,
    so a study never ends in an unwritable place."""
    f = os.path.abspath(folder)
    while not os.path.exists(f):  # the nearest existing ancestor must be a writable folder
        parent = os.path.dirname(f)
        if parent == f:
            break
        f = parent
    if not os.path.isdir(f):
        return f"{folder}: {f} is not a directory"
    if not os.access(f, os.W_OK | os.X_OK):
        return f"{folder}: {f} is not writable"
    return None
