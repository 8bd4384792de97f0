"""Per-layer hardware for mho's own networks (model files, zoo networks, exported torch
models): the rules `mho.torch.convert` takes, resolved on a Network's conv/linear layers.

    rules = [("conv2d:conv1", "digital"),          # the first layer stays digital
             ("linear:*", spec.replace(adc=...)),  # every linear layer gets its own ADC
             ("*", spec)]                          # every other layer
    mho.study.evaluate("data/models/lenet5_mnist.h5", rules)
    mho.cost.pim("data/models/lenet5_mnist.h5", rules)

hardware: one TileSpec for every conv/linear layer, or an ordered list of rules
(pattern, TileSpec | "digital"); the first matching rule wins, and a layer no rule matches
is an error (end with a catch-all ("*", ...)). A pattern is a glob (fnmatch) on the layer's
name -- exported layers are named "<kind>:<module path>" (e.g. "conv2d:features.0",
"linear:fc"), so "linear:*" matches every linear layer -- or on the module path alone
("features.0", "blocks.*.conv2"), or a torch module type (nn.Linear matches linear layers,
nn.Conv1d / nn.Conv2d convolutions), or such a type by name without torch
(ModuleType("nn.Linear"): what a design file's `layers[].match: nn.Linear` becomes). A digital layer's product is computed exactly (in
float) and costed as digital MACs on the chip's digital datapath (evaluator/pim_cost.h).

Reproducibility: a tile's noise is keyed by its placement index in the mapping, so making a
layer digital (or giving it another array size) re-keys the draws of the layers after it;
each design is still reproducible bit for bit.
"""
import fnmatch

from . import _core

DIGITAL = "digital"

# Module types a rule may name, by the network layer kinds they become (mho.export).
_TYPE_KINDS = {"Linear": {"linear"}, "Conv1d": {"conv2d"}, "Conv2d": {"conv2d"}}


class ModuleType:
    """A torch module type named by text ("nn.Linear", "nn.Conv1d", "nn.Conv2d"): it matches
    the layers that type becomes, as the type itself does, without importing torch (design
    files name types this way)."""

    NAMES = tuple(f"nn.{n}" for n in _TYPE_KINDS)

    def __init__(self, name):
        if name not in self.NAMES:
            raise ValueError(f"module type {name!r}: expected one of {', '.join(self.NAMES)}")
        self.name = name
        self.__name__ = name.removeprefix("nn.")

    def __eq__(self, other):
        return isinstance(other, ModuleType) and other.name == self.name

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return f"ModuleType({self.name!r})"


def _type_kinds(pattern):
    if isinstance(pattern, ModuleType):
        return set(_TYPE_KINDS[pattern.__name__])
    kinds = set()
    for cls in getattr(pattern, "__mro__", ()):
        if cls.__module__.startswith("torch.nn") and cls.__name__ in _TYPE_KINDS:
            kinds |= _TYPE_KINDS[cls.__name__]
    return kinds


def check(hardware, type_ok=None, types="nn.Linear, nn.Conv1d, nn.Conv2d", name="hardware"):
    """`hardware` as a list of (pattern, TileSpec | "digital") with validated entries.
    type_ok(cls): whether a module type may be a pattern (default: it names a layer kind of
    mho's networks); `types` lists those types for the error message; `name` is the
    argument's name in errors."""
    type_ok = type_ok or (lambda cls: bool(_type_kinds(cls)))
    if isinstance(hardware, _core.TileSpec):
        return [("*", hardware)]
    if not isinstance(hardware, (list, tuple)):
        raise TypeError(f"{name}: expected a TileSpec or a list of (pattern, TileSpec | 'digital') rules, "
                        f"got {type(hardware).__name__} {hardware!r}")
    if not hardware:
        raise ValueError(f"{name} = []: give at least one (pattern, TileSpec | 'digital') rule")
    rules = []
    for i, rule in enumerate(hardware):
        if not isinstance(rule, (list, tuple)) or len(rule) != 2:
            raise TypeError(f"{name}[{i}] = {rule!r}: expected a (pattern, TileSpec | 'digital') pair")
        pattern, target = rule
        if isinstance(pattern, ModuleType):
            pass
        elif isinstance(pattern, type):
            if not type_ok(pattern):
                raise ValueError(f"{name}[{i}] pattern {pattern.__name__}: not a layer type that runs on tiles "
                                 f"({types})")
        elif not isinstance(pattern, str):
            raise TypeError(f"{name}[{i}] pattern: expected a layer-name glob (str) or an nn.Module type, "
                            f"got {type(pattern).__name__} {pattern!r}")
        if isinstance(target, str):
            if target != DIGITAL:
                raise ValueError(f"{name}[{i}] target = {target!r}: expected a TileSpec or 'digital'")
        elif not isinstance(target, _core.TileSpec):
            raise TypeError(f"{name}[{i}] target: expected a TileSpec or 'digital', "
                            f"got {type(target).__name__} {target!r}")
        rules.append((pattern, target))
    return rules


def _matches(pattern, name, kind):
    if isinstance(pattern, (type, ModuleType)):
        return kind in _type_kinds(pattern)
    return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(name.split(":", 1)[-1], pattern)


def matching(net, pattern):
    """The indices of `net`'s conv/linear layers that `pattern` matches (whatever rule
    comes first): a rule that matches none is most likely a misspelt name."""
    return [i for i in range(net.num_layers) if net.layer(i)["type"] in ("conv2d", "linear")
            and _matches(pattern, net.layer(i)["name"], net.layer(i)["type"])]


def pattern_text(pattern):
    """A rule's pattern as a design file writes it: the glob, or the module type's name."""
    if isinstance(pattern, ModuleType):
        return pattern.name
    if isinstance(pattern, type):
        if f"nn.{pattern.__name__}" not in ModuleType.NAMES:
            raise ValueError(f"pattern {pattern.__name__}: a design file names only the types "
                             f"{', '.join(ModuleType.NAMES)}")
        return f"nn.{pattern.__name__}"
    return pattern


class Hardware:
    """Rules resolved on one network: `spec` (the mapping's TileSpec), `layer_specs` (layer
    index -> its own TileSpec) and `digital` (layer indices kept off the arrays)."""

    def __init__(self, spec, layer_specs=None, digital=()):
        self.spec = spec
        self.layer_specs = dict(layer_specs or {})
        self.digital = set(digital)

    @property
    def uniform(self):
        return not self.layer_specs and not self.digital

    def kwargs(self):
        """Arguments of _core.map_network / _core.PimNetwork after (network, spec, replication)."""
        return {"layer_specs": self.layer_specs, "digital": self.digital}

    def layers(self):
        """Plain data for the design key: {layer index: TileSpec dict (no seed) | "digital"}
        for the layers that do not use `spec`; None when every layer does."""
        if self.uniform:
            return None
        out = {}
        for i, s in self.layer_specs.items():
            out[str(i)] = spec_dict(s)
        for i in self.digital:
            out[str(i)] = DIGITAL
        return dict(sorted(out.items(), key=lambda kv: int(kv[0])))


def main_spec(rules, on_tiles):
    """The TileSpec a design is known by (its mapping's): the catch-all rule's, else the first
    layer's on tiles (`on_tiles`: the TileSpecs of the layers on tiles, in order)."""
    catch_all = [t for p, t in rules if p == "*" and t != DIGITAL]
    return catch_all[0] if catch_all else on_tiles[0]


def spec_dict(spec):
    """A TileSpec as plain data for design keys: its dict without the seed."""
    d = spec.to_dict()
    d.pop("seed", None)
    return d


def resolve(net, hardware, name="hardware"):
    """Hardware of `net` (a Network) under `hardware` (a TileSpec or rules); `name`: the
    argument's name in errors."""
    if isinstance(hardware, Hardware):
        return hardware
    if isinstance(hardware, _core.TileSpec):
        return Hardware(hardware)
    rules = check(hardware, name=name)
    assigned, unmatched = {}, []
    for i in range(net.num_layers):
        layer = net.layer(i)
        if layer["type"] not in ("conv2d", "linear"):
            continue
        for pattern, target in rules:
            if _matches(pattern, layer["name"], layer["type"]):
                assigned[i] = target
                break
        else:
            unmatched.append(f"{layer['name']} (layer {i}, {layer['type']})")
    if unmatched:
        raise ValueError(f"{name}: no rule matches layer{'s' if len(unmatched) > 1 else ''} "
                         f"{', '.join(unmatched)}; add a rule for them or a final catch-all ('*', TileSpec | "
                         f"'digital')")
    on_tiles = [t for t in assigned.values() if t != DIGITAL]
    if not on_tiles:
        raise ValueError(f"{name}: every conv/linear layer is digital; give at least one layer a TileSpec "
                         "(the float model is the all-digital design)")
    spec = main_spec(rules, on_tiles)
    layer_specs = {i: t for i, t in assigned.items() if t != DIGITAL and t != spec}
    digital = {i for i, t in assigned.items() if t == DIGITAL}
    return Hardware(spec, layer_specs, digital)
