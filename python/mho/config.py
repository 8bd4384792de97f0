"""Design files and study configuration files (YAML): schema, validation, and the run itself.

The schema -- every section and key, its unit, default and allowed values, with a complete
annotated example -- is docs/design_schema.md (a test checks that it names exactly the keys
this loader accepts, with the default design's values).

    d = mho.config.design("design.yaml")     # or a mapping: Design(tile, system, tech, digital)
    c = mho.config.load("study.yaml")        # a study config for `mho run`: design + study keys

A design file holds the sections hardware (TileSpec, with nested cell, cap, dac, adc, wires),
system (PimSystemSpec), tech (node, file) and digital (DigitalSpec, or false); a study config
adds model, dataset, chips, seed, test_images, batch, calib_samples, time_s, sweep and output.
Keys left out take the default design's values (data/default_design.yaml;
config.default_design()), not the specs' own field defaults: a file edits the default design.
A cell (or cap) is a preset name or a mapping of its fields, edited from `base: <preset>` or
else from the default design's cell.

Errors name the key: `config key 'hardware.cell.g_max_S': ...` (ValueError), a missing file is
a FileNotFoundError. load() checks everything a run needs before any work starts (the model,
the dataset's files, the tech table and its ADC types and resolutions, every sweep value, the
cost of every design, the output folder), so a run never fails after its study.
"""
import collections
import copy
import os
import re

from . import _core, layer_rules

TOP_KEYS = ("model", "dataset", "chips", "seed", "test_images", "batch", "calib_samples", "time_s",
            "hardware", "system", "tech", "digital", "layers", "sweep", "output")


RUN_SWEEP_KEYS = ("param", "values", "chips")
OUTPUT_KEYS = ("dir", "name", "plots")


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


def _blame(where, cls, message):
    """The key a spec's error names: its messages start with `Class.field` (the field that
    failed validation, which may be one this mapping left at its base value)."""
    m = re.match(rf"{cls.__name__}((?:\.\w+)+)", message)
    return where + m.group(1) if m else where


def _spec(cls, values, where, nested=None, base=None):
    """`base` (default cls()) with `values` replaced; a nested spec's values edit base's
    nested spec (or, with `base: <preset>`, that preset). All values are replaced at once, so
    fields that constrain each other (g_min_S < g_max_S, bits_per_cell <= the cell's bits)
    may be written in any order; an error names the key whose field failed."""
    nested = nested or {}
    spec = cls() if base is None else base
    if not isinstance(values, dict):
        _fail(where, f"expected a mapping of {cls.__name__} fields, got {values!r}")
    _known(values, spec.fields(), where)
    resolved = {}
    for k, v in values.items():
        resolved[k] = _nested(nested[k], v, f"{where}.{k}", getattr(spec, k)) if k in nested else v
    try:
        return spec.replace(**resolved)
    except (TypeError, ValueError) as e:
        _fail(_blame(where, cls, str(e)), str(e))


# Nested specs a design may give as a preset name, or as a mapping edited from `base: <preset>`.
_PRESETS = {_core.CellSpec: (_core.cell_preset, _core.cell_preset_names),
            _core.CapSpec: (_core.cap_preset, _core.cap_preset_names)}


def _nested(cls, v, where, current):
    """A nested spec's value: a preset name (the binding resolves it), or a mapping of fields
    edited from `base: <preset>` if given, else from `current`. A preset edited in anything
    but its name and source is no longer that preset: unless the mapping names it, it is
    called 'custom' and its source says what was edited."""
    if cls not in _PRESETS:
        return _spec(cls, v, where, base=current)
    lookup, names = _PRESETS[cls]
    if isinstance(v, str):
        if v not in names():
            _fail(where, f"{v!r}: not a preset; presets: {', '.join(names())} (or a mapping of "
                         f"{cls.__name__} fields)")
        return lookup(v)
    if not isinstance(v, dict):
        _fail(where, f"expected a preset name ({', '.join(names())}) or a mapping of {cls.__name__} "
                     f"fields, got {v!r}")
    _known(v, cls().fields() + ["base"], where)
    v = dict(v)
    if "base" in v:
        b = v.pop("base")
        if not isinstance(b, str) or b not in names():
            _fail(f"{where}.base", f"{b!r}: not a preset; presets: {', '.join(names())}")
        current = lookup(b)
    spec = _spec(cls, v, where, base=current)
    edited = [k for k in v if k not in ("name", "source") and getattr(spec, k) != getattr(current, k)]
    if edited and "name" not in v:
        spec = spec.replace(name="custom")
    if edited and "source" not in v:
        spec = spec.replace(source=f"{current.name} with {', '.join(edited)} set by the design "
                                   f"({current.name}: {current.source})")
    return spec


DEFAULT_DESIGN_FILE = "default_design.yaml"
DESIGN_SECTIONS = ("hardware", "system", "tech", "digital")
TECH_KEYS = ("node", "file", "components")
# A node's own figures a design may give (data/tech.yaml's node tables; node_nm is the node's).
TECH_COMPONENT_KEYS = ("vdd_V", "clock_hz", "leakage", "periphery", "adc", "source")
_NESTED = {"cell": _core.CellSpec, "dac": _core.DacSpec, "adc": _core.AdcSpec, "wires": _core.WireSpec,
           "cap": _core.CapSpec}
_default = {}


def _sections(raw, base, dflt, seed_hint):
    """The design sections of a mapping (hardware, system, tech, digital), each edited from
    `dflt` (default_design()'s dict; None: the specs' own defaults): a dict of hardware,
    system, tech_node, tech_file (the path a design names, or None) and digital (None for
    `digital: false`). `base` resolves a relative tech.file; `seed_hint` says where a seed goes."""
    hw = raw.get("hardware") or {}
    if isinstance(hw, dict) and "seed" in hw:
        _fail("hardware.seed", seed_hint)
    d = {"hardware": _spec(_core.TileSpec, hw, "hardware", _NESTED, base=dflt and dflt["hardware"]),
         "system": _spec(_core.PimSystemSpec, raw.get("system") or {}, "system", base=dflt and dflt["system"])}
    tech = raw.get("tech") or {}
    _known(tech, TECH_KEYS, "tech")
    node = tech.get("node", dflt["tech_node"] if dflt else "22nm")
    if not isinstance(node, str):
        _fail("tech.node", f"expected a node name such as '22nm', got {node!r}")
    d["tech_node"] = node
    d["tech_file"] = _file(base, tech["file"], "tech.file") if tech.get("file") is not None else None
    comp = tech.get("components")
    if comp is not None and not isinstance(comp, dict):
        _fail("tech.components", f"expected a mapping of the node's own figures (adc, periphery, "
                                 f"vdd_V, clock_hz, ... as in data/tech.yaml), got {comp!r}")
    if comp:
        _known(comp, TECH_COMPONENT_KEYS, "tech.components")
    d["tech_components"] = comp or None
    dig = raw.get("digital", {})
    if not (dig is False or dig is None or isinstance(dig, dict)):
        _fail("digital", f"expected a mapping of DigitalSpec fields, or false (no digital baseline), got {dig!r}")
    d["digital"] = None if dig is False else _spec(_core.DigitalSpec, dig or {}, "digital",
                                                   base=dflt and dflt["digital"])
    d["layers"], d["layer_keys"] = _layers(raw.get("layers"), d["hardware"])
    return d


# A `layers` entry: which layers (match) and either digital: true or the tile keys it edits.
LAYER_KEYS = ("match", "digital")
LAYERS_HELP = ("a list of {match: <layer-name glob such as 'conv2d:0', 'linear:*', 'features.*', or nn.Linear / "
               "nn.Conv1d / nn.Conv2d>, digital: true} or {match: ..., <hardware keys this layer's tile changes>}")


def _layers(raw, hardware):
    """A design's `layers` as per-layer rules [(pattern, TileSpec | "digital")] (mho.layer_rules),
    each entry's tile keys editing `hardware` (the design's tile, as its hardware section
    does the default's), and the top-level TileSpec fields each entry sets; (None, None)
    without the section. The design's tile is the implicit last rule, for every layer no
    entry matches (Design.hardware)."""
    if raw is None:
        return None, None
    if not isinstance(raw, list) or not raw:
        _fail("layers", f"expected {LAYERS_HELP}; got {raw!r}")
    tile_keys = [f for f in _core.TileSpec().fields() if f != "seed"]
    rules, keys = [], []
    for i, e in enumerate(raw):
        where = f"layers[{i}]"
        if not isinstance(e, dict):
            _fail(where, f"expected a mapping {{match: ..., digital: true | <hardware keys>}}, got {e!r}")
        if "seed" in e:
            _fail(f"{where}.seed", "a layer has no seed of its own: chips differ by the study's top-level seed")
        _known(e, LAYER_KEYS + tuple(tile_keys), where)
        m = e.get("match")
        if not isinstance(m, str) or not m:
            _fail(f"{where}.match", f"expected a layer-name glob ('conv2d:0', 'linear:*', 'features.*') or a "
                                    f"module type ({', '.join(layer_rules.ModuleType.NAMES)}), got {m!r}")
        pattern = layer_rules.ModuleType(m) if m in layer_rules.ModuleType.NAMES else m
        dig = e.get("digital", False)
        if not isinstance(dig, bool):
            _fail(f"{where}.digital", f"expected true (the layer stays off the arrays) or false, got {dig!r}")
        edits = {k: v for k, v in e.items() if k not in LAYER_KEYS}
        if dig and edits:
            _fail(f"{where}.{next(iter(edits))}", "a digital layer has no tile: give digital: true alone, or "
                                                  "this layer's tile keys without it")
        rules.append((pattern, layer_rules.DIGITAL if dig else _spec(_core.TileSpec, edits, where, _NESTED,
                                                                     base=hardware)))
        # The fields it sets: a nested mapping edits its keys only, a preset (or `base:`) the whole part.
        keys.append({f"{k}.{f}" for k, v in edits.items() if k in _NESTED and isinstance(v, dict) and "base" not in v
                     for f in v} | {k for k, v in edits.items() if not (k in _NESTED and isinstance(v, dict)
                                                                        and "base" not in v)})
    return rules, keys


def check_adcs(tech, system, rules, tile=None, key=None):
    """_check_adc for every tile of `rules` (per-layer rules [(pattern, TileSpec | "digital")],
    or None: none): errors name hardware.adc.bits for the design's own `tile`, layers[i].adc.bits
    for entry i's, or `key` for every one (a swept design's value)."""
    for i, (_, t) in enumerate(rules or ()):
        if t != layer_rules.DIGITAL:
            _check_adc(tech, system, t, key or ("hardware.adc.bits" if t is tile else f"layers[{i}].adc.bits"))


def resolve_layers(net, layers, tile):
    """The per-layer Hardware (mho.layer_rules.Hardware) of a design's `layers` rules (None:
    every layer on `tile`) and tile on a network, errors naming the entry: an entry that
    matches none of its conv/linear layers is refused (most likely a misspelt name)."""
    if not layers:
        return layer_rules.Hardware(tile)
    for i, (p, _) in enumerate(layers):
        if not layer_rules.matching(net, p):
            names = [net.layer(j)["name"] for j in range(net.num_layers) if net.layer(j)["type"] in ("conv2d", "linear")]
            _fail(f"layers[{i}].match", f"{layer_rules.pattern_text(p)!r} matches none of the network's conv/linear "
                                        f"layers ({', '.join(names)})")
    try:
        return layer_rules.resolve(net, list(layers) + [("*", tile)], "layers")
    except ValueError as e:
        _fail("layers", str(e).removeprefix("layers: "))


def layers_to_list(layers):
    """Per-layer rules as a design file's `layers` list: every tile written in full (no seed)."""
    return [{"match": layer_rules.pattern_text(p), "digital": True} if t == layer_rules.DIGITAL else
            {"match": layer_rules.pattern_text(p), **layer_rules.spec_dict(t)} for p, t in layers]


# A swept hardware parameter -> the fields it changes ('adc.bits', 'cell': the whole cell). A
# `layers` entry that sets one of them, or a part or whole of one, would make the sweep
# ambiguous (the entry's value or the swept one?); any other sweep edits every tile alike,
# which is the same as editing the design's tile before the entries edit it.
def _swept_fields(param):
    if param == "array":
        return {"rows", "cols"}
    if param == "read_noise_scale":
        return {"cell.read_sigma", "cell.read_noise"}
    return {param}


def _overlap(swept, entry):
    return sorted({e for e in entry for p in swept if p == e or p.startswith(e + ".") or e.startswith(p + ".")})


def default_design():
    """The default design (data/default_design.yaml, which says why each choice): a dict of
    hardware (TileSpec, seed 1), system (PimSystemSpec), tech_node (str) and digital
    (DigitalSpec). Keys a config leaves out take these values; mho.study.default_spec() and
    `mho cost`'s options are this design."""
    if not _default:
        from . import datasets
        path = os.fspath(datasets.data_dir() / DEFAULT_DESIGN_FILE)
        raw = _read(path)
        try:
            _known(raw, DESIGN_SECTIONS, "")
            d = _sections(raw, os.path.dirname(path), None, "the default design has no seed")
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from None
        d["hardware"] = d["hardware"].replace(seed=1)
        del d["tech_file"], d["tech_components"], d["layers"], d["layer_keys"]
        _default.update(d)
    return dict(_default)


# network: what `mho cost --design` costs when the file names it (a zoo network or a model
# file, relative to the file); None otherwise. Copies per layer are the system's
# (PimSystemSpec.replication / layer_replication).
class Design(collections.namedtuple("Design", "tile system tech digital network layers", defaults=(None, None))):
    """A whole design (docs/design_schema.md): tile (TileSpec), system (PimSystemSpec),
    tech (TechTable of the node), digital (DigitalSpec, or None: no digital baseline),
    network (what `mho cost --design` costs, or None) and layers (the `layers` section as
    per-layer rules [(pattern, TileSpec | "digital")], or None: every layer on `tile`)."""
    __slots__ = ()

    @property
    def hardware(self):
        """What mho.study.evaluate / mho.cost.pim take: the tile, or the per-layer rules
        followed by the catch-all ("*", tile) for the layers no entry matches."""
        return self.tile if not self.layers else list(self.layers) + [("*", self.tile)]


DESIGN_COST_KEYS = ("network", "published")


def design(source, base=None):
    """The Design a design file (a path) or mapping describes: its hardware, system, tech and
    digital sections (docs/design_schema.md) edit `base` (a Design; default: the default
    design, data/default_design.yaml). A relative tech.file is relative to the file (a
    mapping: to the working directory). The technology table is loaded and checked to hold
    the system's ADC type and the tile's ADC resolution. Errors name the key
    (ConfigError, a ValueError; FileNotFoundError for a missing file)."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        raw, folder, where = _read(path), os.path.dirname(os.path.abspath(path)), f"design {path}: "
    elif isinstance(source, dict):
        raw, folder, where = source, os.getcwd(), ""
    else:
        raise TypeError(f"design(source): expected a design file path or a mapping, got "
                        f"{type(source).__name__} {source!r}")
    if base is not None and not isinstance(base, Design):
        raise TypeError(f"design(base): expected a Design, got {type(base).__name__} {base!r}")
    try:
        _known(raw, DESIGN_SECTIONS + ("layers",) + DESIGN_COST_KEYS, "")
        network = _network_key(raw, folder)
        if base is None:
            dflt = default_design()
            tech_file = None
        else:
            dflt = {"hardware": base.tile, "system": base.system, "tech_node": base.tech.node,
                    "digital": base.digital if base.digital is not None else _core.DigitalSpec()}
            tech_file = base.tech.file
        d = _sections(raw, folder, dflt, "a design has no seed (chips differ by seed: `mho run`'s "
                                         "top-level key 'seed')")
        if base is not None and base.digital is None and "digital" not in raw:
            d["digital"] = None
        if base is not None and base.layers and "layers" not in raw:
            if "hardware" in raw:  # its entries were built on the base's tile
                _fail("layers", "the base design has per-layer rules (layers) built on its tile; editing its "
                                "hardware needs the layers given again")
            d["layers"] = base.layers
        if base is not None and base.tech.overlay and d["tech_node"] == base.tech.node:
            d["tech_components"] = _merged(components_of(base.tech), d["tech_components"] or {})
        tech = _tech(d["tech_node"], d["tech_file"] or tech_file, d["tech_components"])
        _check_adc(tech, d["system"], d["hardware"])
        check_adcs(tech, d["system"], d["layers"])
    except ConfigError as e:
        raise ConfigError(where + str(e)) from None
    return Design(d["hardware"], d["system"], tech, d["digital"], network, d["layers"])


def _network_key(raw, folder):
    """A design file's network: a zoo name, or a model file relative to the file."""
    network = raw.get("network")
    if network is not None:
        if not isinstance(network, str) or not network:
            _fail("network", f"expected a zoo name or a model file, got {network!r}")
        if network not in _core.zoo_names() and not os.path.isabs(network):
            network = os.path.normpath(os.path.join(folder, network))
    return network


def design_to_dict(d):
    """A Design as the mapping design() reads back to an equal Design: every field written
    out (the cell and capacitors in full, so the design keeps meaning the same cell), the
    tile's seed left out, the technology as its node (and its table file, unless the shipped
    data/tech.yaml)."""
    if not isinstance(d, Design):
        raise TypeError(f"design_to_dict(d): expected a Design, got {type(d).__name__} {d!r}")
    hw = d.tile.to_dict()
    hw.pop("seed")
    from . import cost
    tech = {"node": d.tech.node}
    if os.path.abspath(d.tech.file) != os.path.abspath(cost.tech_file()):  # no machine path for the shipped one
        tech["file"] = d.tech.file
    if d.tech.overlay:
        tech["components"] = components_of(d.tech)
    out = {"hardware": hw, "system": d.system.to_dict(), "tech": tech,
           "digital": d.digital.to_dict() if d.digital is not None else False}
    if d.network is not None:
        out["network"] = d.network
    if d.layers:
        out["layers"] = layers_to_list(d.layers)
    return out


def schema_keys():
    """Every key a study config or design file accepts, as full paths ('hardware.cell.g_max_S'),
    from the same lists and spec fields the loader checks against: what docs/design_schema.md
    must document."""
    keys = [k for k in TOP_KEYS if k not in DESIGN_SECTIONS] + list(DESIGN_COST_KEYS)
    for f in _core.TileSpec().fields():
        if f == "seed":  # refused: the study's top-level seed seeds the chips
            continue
        keys.append(f"hardware.{f}")
        if f in _NESTED:
            keys += [f"hardware.{f}.{g}" for g in _NESTED[f]().fields()]
            if _NESTED[f] in _PRESETS:
                keys.append(f"hardware.{f}.base")
    keys += [f"system.{f}" for f in _core.PimSystemSpec().fields()]
    keys += [f"tech.{f}" for f in TECH_KEYS]
    keys += [f"digital.{f}" for f in _core.DigitalSpec().fields()]
    keys += ["layers"] + [f"layers.{f}" for f in LAYER_KEYS]  # an entry's other keys are hardware.*'s
    keys += [f"sweep.{f}" for f in RUN_SWEEP_KEYS] + [f"output.{f}" for f in OUTPUT_KEYS]
    return keys


def _tech(node, file, components=None):
    """The technology table of `node` in `file` (None: data/tech.yaml), edited by a design's
    own `components` (tech.components: figures in the node-table format), errors naming the key."""
    from . import cost
    try:
        return cost.load_tech(node, file or cost.tech_file(), components)
    except (FileNotFoundError, IsADirectoryError):
        raise
    except ValueError as e:
        key = "tech.node" if f"'{node}'" in str(e) else "tech.file"
        if components and ("the design's own figures" in str(e) or f"nodes.{node}." in str(e)):
            key = "tech.components"
        _fail(key, str(e))


def _merged(a, b):
    """`a` edited by `b`: nested mappings merged key by key, anything else replaced."""
    out = dict(a)
    for k, v in b.items():
        out[k] = _merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def components_of(tech):
    """A table's design-given figures (tech.components) as a mapping; None if it has none."""
    if not tech.overlay:
        return None
    import yaml

    from . import specs
    return yaml.load(tech.overlay, Loader=specs.yaml_loader())


def _check_adc(tech, system, tile, key="hardware.adc.bits"):
    types = tech.adc_types()
    # The multilevel sense amplifier's energy is a formula; its area and timing are the table's
    # sense_amp entry (evaluator/periphery.h).
    table_adc = "sense_amp" if system.adc_type == "multilevel_sa" else system.adc_type
    if table_adc not in types:
        _fail("system.adc_type", f"'{system.adc_type}': the {tech.node} table has {', '.join(types)}")
    have = tech.adc_bits(table_adc)
    if key is not None and tile.adc.bits not in have:
        _fail(key, f"ADC bits = {tile.adc.bits}: the {tech.node} table has {', '.join(map(str, have))} "
                   f"for system.adc_type '{system.adc_type}'")


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

    d = _sections(raw, base, default_design(), "set the seed with the top-level key 'seed'")
    c["spec"] = d["hardware"].replace(seed=c["seed"])
    # Per-layer rules: every tile with the study's seed, as the tile itself.
    c["layers"] = None if d["layers"] is None else [
        (p, t if t == layer_rules.DIGITAL else t.replace(seed=c["seed"])) for p, t in d["layers"]]
    c["system"], c["digital"] = d["system"], d["digital"]
    node = d["tech_node"]
    c["tech_file"] = d["tech_file"] or cost.tech_file()
    c["tech"] = _tech(node, c["tech_file"], d["tech_components"])
    _check_adc(c["tech"], c["system"], c["spec"], None)  # its bits after the edits, below

    def costs(hw, key):
        """The design (a TileSpec or per-layer rules) mapped and costed from shapes now, so
        the run cannot fail later."""
        check_adcs(c["tech"], c["system"], layer_rules.check(hw), c["spec"], None if key == "hardware" else key)
        _checked(key, cost.pim, net, hw, system=c["system"], tech=c["tech"])
        h = layer_rules.resolve(net, hw)
        _checked(key, _core.PimNetwork, net, h.spec, {}, **h.kwargs())

    for param, value in edits:
        c["spec"] = _checked(param, study.with_parameter, c["spec"], param, value)
    c["hardware"] = c["spec"] if not c["layers"] else c["layers"] + [("*", c["spec"])]
    c["layer_hw"] = resolve_layers(net, c["layers"], c["spec"])
    costs(c["hardware"], edits[-1][0] if edits else "hardware")
    if c["digital"] is not None:
        _checked("digital", cost.digital, net, spec=c["digital"], tech=c["tech"])

    sw = raw.get("sweep")
    if sw is not None:
        if isinstance(sw, dict) and ("grid" in sw or "points" in sw):
            _fail("sweep", "grid and points sweeps run with `mho sweep` (mho.sweep), not `mho run`")
        _known(sw, RUN_SWEEP_KEYS, "sweep")
        if not isinstance(sw.get("param"), str):
            _fail("sweep.param", f"expected a parameter name such as 'adc.bits', got {sw.get('param')!r}")
        if not isinstance(sw.get("values"), list) or not sw["values"]:
            _fail("sweep.values", f"expected a non-empty list, got {sw.get('values')!r}")
        if sw["param"] != "time_s" and not _param_known(c["spec"], sw["param"]):
            _fail("sweep.param", f"{sw['param']!r}: not a TileSpec field nor one of array, read_noise_scale, "
                                 f"time_s, adc.*, dac.*, cell.*, wires.* (fields: {', '.join(c['spec'].fields())})")
        if sw["param"] != "time_s":
            for i, k in enumerate(d["layer_keys"] or ()):
                both = _overlap(_swept_fields(sw["param"]), k)
                if both:
                    _fail("sweep.param", f"{sw['param']!r} changes {', '.join(both)}, which layers[{i}] sets too: the "
                                         f"swept value and the entry's would compete; sweep a parameter no layers "
                                         f"entry sets, or write one design per value")
        # The swept value replaces the parameter in every tile, the layers' too (study.sweep).
        designs = _checked("sweep.values", study.swept_designs, c["hardware"], sw["param"], sw["values"])
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


def study_design(c, tile=None, time_s=None, layers=None):
    """mho.specs.study_design of a built config's design (its tile, per-layer hardware and
    time_s unless given: a swept value replaces them; `layers` as
    mho.layer_rules.Hardware.layers() gives it), with its system and technology."""
    from . import results, specs
    tech = {"node": c["tech"].node, "sha256": results.sha256_file(c["tech_file"])}
    if c["tech"].overlay:  # the design's own figures are part of the design (and its key)
        tech["components"] = components_of(c["tech"])
    if tile is None:
        tile, layers = c["layer_hw"].spec, c["layer_hw"].layers()
    return specs.study_design(tile, results.sha256_file(c["model"]), c["dataset_name"],
                              c["test_images"], c["calib_samples"], c["time_s"] if time_s is None else time_s,
                              system=c["system"], tech=tech, layers=layers)


def _output(raw, base, stem):
    """out_dir, name and plots of the `output` keys, the folder checked to be writable."""
    c = {}
    out = raw.get("output") or {}
    _known(out, OUTPUT_KEYS, "output")
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
