"""Energy, area, latency and utilization of a network on PIM tiles, and on a digital baseline.

    spec = mho.TileSpec(rows=256, cols=256, cell="rram_neurosim_22nm", weight_bits=8,
                        adc=mho.AdcSpec(bits=6, columns_per_adc=8))
    pim = mho.cost.pim("resnet50", spec, node="22nm")       # zoo name, Network or model file
    dig = mho.cost.digital("resnet50", node="22nm")
    print(mho.cost.table(pim, dig))                          # PIM vs digital, ratio per metric
    mho.cost.plot(pim, dig, "resnet50_cost.png")

The models and their assumptions are documented in evaluator/*.h; the numbers come from
data/tech.yaml (every entry with its source). All figures are per inference, in SI units
unless the name says otherwise (mm2, TOPS).
"""
import os

from . import _core, _util, datasets, layer_rules, nets

NODES_FILE = "tech.yaml"


def tech_file():
    return os.fspath(datasets.data_dir() / NODES_FILE)


def check_regular_file(path, what):
    """`path` as a str, if it names an existing regular file (a folder, a FIFO -- which would
    block the reader for ever -- or a device is refused before anything opens it)."""
    import stat
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what}: expected a file path, got {type(path).__name__} {path!r}")
    p = os.fspath(path)
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{what}: no such file: {p}") from None
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{what}: {p} is a directory, expected a file")
    if not stat.S_ISREG(mode):
        raise ValueError(f"{what}: {p} is not a regular file")
    return p


def load_tech(node="22nm", path=None, components=None):
    """The technology table of `node` (FileNotFoundError for a missing file, ValueError
    naming the key for a malformed one or an unknown node). components: a design's own
    figures at the node, a mapping in the node-table format of data/tech.yaml (e.g. an `adc`
    type with its published energy, area and time), added to or replacing the node's."""
    if not isinstance(node, str):
        raise TypeError(f"node: expected a node name such as '22nm', got {type(node).__name__} {node!r}")
    p = check_regular_file(path if path else tech_file(), "tech file")
    if components and not isinstance(components, dict):
        raise TypeError(f"components: expected a mapping of node-table figures, got {type(components).__name__}")
    import yaml
    return _core.TechTable.load(p, node, yaml.safe_dump(components, sort_keys=False) if components else "")


def _network(net):
    if isinstance(net, _core.Network):
        return net
    if isinstance(net, (str, os.PathLike)):
        s = os.fspath(net)
        if s in _core.zoo_names():
            return _core.zoo_network(s)
        if s.endswith(".h5") or os.sep in s:
            return nets.load(s)[0]
        raise ValueError(f"network = {s!r}: not a zoo network ({', '.join(_core.zoo_names())}) "
                         f"nor a model file (.h5)")
    raise TypeError(f"network: expected a zoo name, a model file or a Network, got {type(net).__name__}")


def _tech(tech, node):
    return tech if isinstance(tech, _core.TechTable) else load_tech(node, tech)


def pim(network, spec, node="22nm", system=None, replication=None, tech=None):
    """CostReport of `network` mapped on arrays of `spec`, action counts from layer shapes.
    spec: a TileSpec, or per-layer rules [(pattern, TileSpec | "digital"), ...]
    (mho.layer_rules): each layer costed on its own arrays, digital layers as digital MACs.
    Copies per layer: `replication` ({layer index: copies}), or the system's
    (PimSystemSpec.replication 'auto' within area_budget_mm2, or layer_replication: one per
    conv/linear layer); not both. Each layer's report says its copies (LayerCost.replication)."""
    from .study import check_replication
    net = _network(network)
    system = system or _core.PimSystemSpec()
    tech = _tech(tech, node)
    replication = check_replication(replication)
    hw = layer_rules.resolve(net, spec, "spec")
    spec = hw.spec
    if not replication:
        replication = _core.system_replication(net, spec, tech, system, **hw.kwargs())
    elif system.replication != "given" or system.layer_replication:
        raise ValueError("replication: given both as an argument and in the system (PimSystemSpec.replication / "
                         "layer_replication); give one")
    mapping = _core.map_network(net, spec, replication, **hw.kwargs())
    return _core.evaluate_pim(net, mapping, tech, system)


def measured(pim_network, node="22nm", system=None, tech=None, network=None):
    """CostReport of a PimNetwork whose last programmed chip ran the inferences to count: tile
    actions and the cells' energy as the tiles counted them (mho.study.evaluate(keep_pim=True)).

    Or of a model converted by mho.torch.convert() (its counters() since program()); then
    `network` is the same model as a Network or model file (mho.export.export_torch), each of
    whose conv/linear layers is costed on its converted layer's TileSpec, or as digital MACs
    where the conversion kept it digital."""
    system = system or _core.PimSystemSpec()
    if system.replication != "given" or system.layer_replication:
        raise ValueError(f"system.replication = {system.replication!r}, layer_replication = "
                         f"{list(system.layer_replication)}: a measured cost is that of the chip that ran, with "
                         f"its own copies (PimNetwork's replication); choose copies for shape costs (mho.cost.pim)")
    if isinstance(pim_network, _core.PimNetwork):
        if network is not None:
            raise ValueError("network: only for a converted torch model; a PimNetwork has its own")
        return _core.evaluate_pim_measured(pim_network, _tech(tech, node), system)
    if not (hasattr(pim_network, "tile_layers") and hasattr(pim_network, "counters")):
        raise TypeError(f"pim_network: expected a PimNetwork or a model from mho.torch.convert, "
                        f"got {type(pim_network).__name__}")
    if network is None:
        raise ValueError("network: a converted torch model needs its network (Network or model file) to be costed")
    return _converted_cost(pim_network, _network(network), _tech(tech, node), system)


def _converted_cost(analog, net, tech, system):
    layers, kept = analog.tile_layers(), set(analog.digital_layers)
    if not layers:
        raise ValueError("pim_network: the converted model has no tile layers to cost")
    counts = analog.counters()
    # The network's conv/linear layers, each on its converted layer's TileSpec or digital as
    # the converted model keeps it. Exported layer names are "<kind>:<module path>" (mho.export).
    own, digital, unused, per_layer = {}, set(), set(counts), {}
    for i in range(net.num_layers):
        layer = net.layer(i)
        if layer["type"] not in ("conv2d", "linear"):
            continue
        torch_name = layer["name"].split(":", 1)[-1]
        if torch_name in layers:
            own[i] = layers[torch_name].spec
            per_layer[i] = counts[torch_name]
            unused.discard(torch_name)
        elif torch_name in kept:
            digital.add(i)
        else:
            raise ValueError(f"network layer {i} '{layer['name']}' has no layer '{torch_name}' in the converted "
                             f"model (another model?)")
    if unused:
        raise ValueError(f"converted tile layers {sorted(unused)} are not in the network")
    if not own:
        raise ValueError("network: none of its conv/linear layers runs on the converted model's tiles")
    main = list(own.values())[0]
    hw = layer_rules.Hardware(main, {i: s for i, s in own.items() if s != main}, digital)
    mapping = _core.map_network(net, main, {}, **hw.kwargs())
    return _core.evaluate_pim_counted(net, mapping, tech, system, per_layer, analog.inferences())


def digital(network, node="22nm", spec=None, tech=None):
    """CostReport of `network` on the digital baseline: its dataflow, weight storage and
    batch as `spec` (DigitalSpec) says; each layer's report says whether its weights are
    resident on chip or stream from DRAM."""
    return _core.evaluate_digital(_network(network), _tech(tech, node), spec or _core.DigitalSpec())


def _layer_dict(r, l):
    d = {"layer": l.layer, "name": l.name, "kind": l.kind, "macs": l.macs,
         "arrays": l.arrays, "utilization": l.utilization, "replication": l.replication,
         "energy_J": l.energy_J, "latency_s": l.latency_s}
    if r.system == "pim":
        d |= {"energy_by_component_J": dict(l.energy_by_component_J),
              "area_by_component_m2": dict(l.area_by_component_m2),
              "latency_by_component_s": dict(l.latency_by_component_s),
              "activity": l.activity}
    if r.system == "digital":
        d |= {"weights_resident": l.weights_resident, "dram_bytes": l.dram_bytes, "tiling": l.tiling,
              "accesses_words": {"dram": l.dram_accesses, "global_buffer": l.glb_accesses,
                                 "pe_to_pe": l.array_accesses, "register_file": l.rf_accesses}}
    return d


def to_dict(r):
    """A report as plain data, every key carrying its unit."""
    extra = {"leakage_W": r.leakage_W}
    if r.system == "digital":
        extra |= {"dataflow": r.dataflow, "weight_storage_bytes": r.weight_storage_bytes,
                  "dram_bytes_per_inference": r.dram_bytes}
    return extra | {
        "system": r.system,
        "network": r.network,
        "batch": r.batch,
        "macs_per_inference": r.macs,
        "energy_per_inference_J": dict(r.energy_J),
        "energy_total_per_inference_J": r.energy_total_J,
        "energy_per_batch_J": r.energy_per_batch_J,
        "area_m2": dict(r.area_m2),
        "area_total_mm2": r.area_total_m2 * 1e6,
        "latency_s": r.latency_s,
        "throughput_inferences_per_s": r.throughput_per_s,
        "tops": r.tops,
        "tops_per_w": r.tops_per_w,
        "tops_per_mm2": r.tops_per_mm2,
        "utilization": r.utilization,
        "layers": [_layer_dict(r, l) for l in r.layers],
    }


METRICS = [  # (label, unit, getter, lower is better)
    ("energy / inference", "uJ", lambda r: r.energy_total_J * 1e6, True),
    ("area", "mm2", lambda r: r.area_total_m2 * 1e6, True),
    ("latency / inference", "us", lambda r: r.latency_s * 1e6, True),
    ("throughput", "inf/s", lambda r: r.throughput_per_s, False),
    ("TOPS", "TOPS", lambda r: r.tops, False),
    ("TOPS/W", "TOPS/W", lambda r: r.tops_per_w, False),
    ("TOPS/mm2", "TOPS/mm2", lambda r: r.tops_per_mm2, False),
    ("utilization", "%", lambda r: 100 * r.utilization, False),
]


def _fmt(v):
    return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:.4g}"


def table(pim_report, digital_report=None):
    """A terminal table: the metrics with units, the breakdowns and, with a digital report,
    the PIM / digital ratio per metric (> 1 means PIM has more of it)."""
    p, d = pim_report, digital_report
    head = f"{'metric':22s} {'unit':9s} {'PIM':>12s}"
    if d is not None:
        head += f" {'digital':>12s} {'PIM/digital':>12s}"
    lines = [f"cost of {p.network} ({p.macs:,} MACs / inference, batch {p.batch})", head, "-" * len(head)]
    for label, unit, get, _ in METRICS:
        row = f"{label:22s} {unit:9s} {_fmt(get(p)):>12s}"
        if d is not None:
            a, b = get(p), get(d)
            row += f" {_fmt(b):>12s} {(_fmt(a / b) if b else '-'):>12s}"
        lines.append(row)
    for title, key, scale, unit in (("energy / inference", "energy_J", 1e6, "uJ"), ("area", "area_m2", 1e6, "mm2")):
        for r in (p, d) if d is not None else (p,):
            parts = getattr(r, key)
            total = sum(v for _, v in parts) or 1.0
            lines.append(f"{title} ({r.system}, {unit}): " +
                         ", ".join(f"{k} {_fmt(v * scale)} ({100 * v / total:.0f} %)" for k, v in parts))
    if d is not None and d.system == "digital":
        lines.append(digital_summary(d))
    return "\n".join(lines)


# Per-layer breakdown blocks: (title, LayerCost attribute, scale, unit).
LAYER_BLOCKS = (("energy / inference", "energy_by_component_J", 1e9, "nJ"),
                ("area", "area_by_component_m2", 1e6, "mm2"),
                ("latency / inference", "latency_by_component_s", 1e6, "us"))


def layer_table(pim_report, width=9):
    """The PIM report's layers as three terminal tables, each figure with its unit: energy
    per component (nJ), area per component (mm2; the layer's arrays and their periphery,
    the chip-wide parts are in the report's totals) and latency per component (us), each
    with the layer's copies (weight duplication) and total; the latency table marks the
    slowest layer (the pipeline cycle) and gives the activity the cell and DAC energy used.
    Layers not on tiles appear in the latency table only (their buffer and digital time),
    but for conv/linear layers kept digital (per-layer rules), which appear in the energy
    table too with copies 'dig' (their MACs are digital energy)."""
    layers = [l for l in pim_report.layers if l.latency_by_component_s]
    if not layers:
        return ""
    kept = {l.layer for l in layers if l.arrays == 0 and l.kind in ("conv2d", "linear")}
    tiled = [l for l in layers if l.arrays > 0 or (l.layer in kept and l.energy_by_component_J)]
    slowest = max(layers, key=lambda l: l.latency_s)
    name_w = max(14, min(24, max(len(l.name) for l in layers)))
    out = []
    for title, attr, scale, unit in LAYER_BLOCKS:
        rows = layers if attr == "latency_by_component_s" else (
            tiled if attr == "energy_by_component_J" else [l for l in tiled if l.arrays > 0])
        if not rows:
            continue
        comps = list(dict.fromkeys(k for l in rows for k, _ in getattr(l, attr)))
        extra = " activity" if attr == "latency_by_component_s" else ""
        head = (f"{'layer':{name_w}s} {'copies':>6s} " + " ".join(f"{k[:width]:>{width}s}" for k in comps) +
                f" {'total':>{width}s}{extra}")
        units = f"{'':{name_w}s} {'':>6s} " + " ".join(f"{unit:>{width}s}" for _ in comps) + f" {unit:>{width}s}"
        out += [f"{title} per layer ({unit})", head, units, "-" * len(head)]
        for l in rows:
            parts = dict(getattr(l, attr))
            total = l.latency_s if attr == "latency_by_component_s" else sum(parts.values())
            copies = str(l.replication) if l.arrays else ("dig" if l.layer in kept else "-")
            line = (f"{l.name[:name_w]:{name_w}s} {copies:>6s} " +
                    " ".join(f"{parts.get(k, 0.0) * scale:{width}.4g}" for k in comps) +
                    f" {total * scale:{width}.4g}")
            if attr == "latency_by_component_s":
                line += f" {l.activity:8.3g}" if l.arrays else f" {'-':>8s}"
                if l is slowest:
                    line += "  <- pipeline cycle"
            out.append(line)
        out.append("")
    return "\n".join(out).rstrip("\n")


def digital_summary(r):
    """One line: the digital design's dataflow, weight storage and which layers' weights
    stream from DRAM."""
    weighted = [l for l in r.layers if l.arrays > 0]
    streamed = [l.name for l in weighted if not l.weights_resident]
    return (f"digital: {r.dataflow}, weight storage {r.weight_storage_bytes / 1024:,.1f} KiB, "
            f"{len(weighted) - len(streamed)} of {len(weighted)} weight layers resident"
            + (f" (streamed from DRAM: {', '.join(streamed)})" if streamed else "")
            + f"; DRAM {r.dram_bytes:,.0f} B / inference; leakage {r.leakage_W * 1e3:.3g} mW")


def plot(pim_report, digital_report, path):
    """PNG: energy and area breakdowns (PIM beside digital) and per-layer array utilization."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    reports = [r for r in (pim_report, digital_report) if r is not None]
    fig, axes = plt.subplots(1, 3, figsize=(15, 5))
    for ax, key, scale, unit in ((axes[0], "energy_J", 1e6, "energy / inference (uJ, log)"),
                                 (axes[1], "area_m2", 1e6, "area (mm2, log)")):
        # One row per component, one bar per system; log axis since parts span decades.
        names = ["total"]
        for r in reports:
            names += [k for k, _ in getattr(r, key) if k not in names]
        y = np.arange(len(names))
        h = 0.8 / len(reports)
        for i, r in enumerate(reports):
            parts = dict(getattr(r, key))
            parts["total"] = sum(parts.values())
            vals = [parts.get(n, 0.0) * scale for n in names]
            ax.barh(y + i * h, [v if v > 0 else np.nan for v in vals], height=h, label=r.system)
        ax.set_yticks(y + h * (len(reports) - 1) / 2, names)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel(unit)
        ax.legend(fontsize=8)
        ax.grid(True, axis="x", alpha=0.3)
    layers = [l for l in pim_report.layers if l.arrays > 0]
    ax = axes[2]
    ax.bar(np.arange(len(layers)), [100 * l.utilization for l in layers])
    ax.set_xticks(np.arange(len(layers)), [l.name for l in layers], rotation=90, fontsize=6)
    ax.set_ylabel("array utilization (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"{pim_report.network}: {100 * pim_report.utilization:.1f} % overall")
    ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle(f"{pim_report.network}: cost per inference")
    fig.tight_layout()
    out = _util.save_figure(fig, path)
    plt.close(fig)
    return out


NORMALIZATIONS = ("own", "iso-area", "iso-throughput")
MAX_PE_SIDE = 1024  # the largest square MAC array the normalisations consider (1 M MACs)


def normalized_digital(network, pim_report, spec=None, mode="own", node="22nm", tech=None):
    """(DigitalSpec, CostReport, note) of the digital baseline under a normalisation:
    'own': `spec` as given; 'iso-area': its MAC array resized (square, n x n, everything
    else as given) to the largest that fits the PIM chip's area; 'iso-throughput': to the
    smallest whose throughput reaches the PIM chip's. The note says what was sized and
    whether the target was reached (a design whose buffers alone exceed the PIM area, or
    that cannot reach its throughput with MAX_PE_SIDE^2 MACs, says so)."""
    if mode not in NORMALIZATIONS:
        raise ValueError(f"normalization = {mode!r}: must be one of {', '.join(NORMALIZATIONS)}")
    spec = spec or _core.DigitalSpec()
    tech = _tech(tech, node)
    if mode == "own":
        return spec, digital(network, spec=spec, tech=tech), "the digital design as given"

    def at(n):
        s = spec.replace(pe_rows=n, pe_cols=n)
        return s, digital(network, spec=s, tech=tech)

    if mode == "iso-area":
        target, ok = pim_report.area_total_m2, lambda r: r.area_total_m2 <= pim_report.area_total_m2
        want_largest = True
    else:
        target, ok = pim_report.throughput_per_s, lambda r: r.throughput_per_s >= pim_report.throughput_per_s
        want_largest = False
    lo, hi = 1, MAX_PE_SIDE  # bisection over n: area grows with n, throughput (nearly) with it
    if want_largest:
        if not ok(at(1)[1]):
            s, r = at(1)
            return s, r, (f"iso-area not reachable: even a 1x1 MAC array with these buffers takes "
                          f"{r.area_total_m2 * 1e6:.3g} mm2 > the PIM chip's {target * 1e6:.3g} mm2")
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if ok(at(mid)[1]) else (lo, mid - 1)
        s, r = at(lo)
        cap = f" (capped: the largest array considered, {MAX_PE_SIDE}x{MAX_PE_SIDE})" if lo == MAX_PE_SIDE else ""
        return s, r, (f"iso-area: MAC array sized to {lo}x{lo}, the largest within the PIM chip's "
                      f"{target * 1e6:.3g} mm2 (digital {r.area_total_m2 * 1e6:.3g} mm2){cap}")
    if not ok(at(hi)[1]):
        s, r = at(hi)
        return s, r, (f"iso-throughput not reachable: {hi}x{hi} MACs give {r.throughput_per_s:.4g} inf/s "
                      f"< the PIM chip's {target:.4g}")
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(at(mid)[1]) else (mid + 1, hi)
    s, r = at(lo)
    return s, r, (f"iso-throughput: MAC array sized to {lo}x{lo}, the smallest reaching the PIM chip's "
                  f"{target:.4g} inf/s (digital {r.throughput_per_s:.4g})")
