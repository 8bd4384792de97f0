"""mho against published compute-in-memory macros: `mho validate`.

Each file in examples/published/ is a design file (docs/design_schema.md) with one more
section, `published`: the macro's citation, the workload its headline figures describe and,
per operating point, the design edits that point makes and the published figures, each with
where it came from. `mho validate` costs every operating point with mho's own models and
prints mho against the published figures; it exits non-zero when any headline figure is off
by more than the tolerance (25 %).

The macro is what the published figures describe: one matrix-vector product on one array
(`workload`: the rows used and the outputs, default the whole array), with the components a
macro holds -- the cells and their lines, row drivers, converters, column muxes and the
shift-and-add of bit-serial planes and weight slices. Buffers, interconnect, off-chip I/O and
the chip's digital lanes are outside a macro and are left out; so is leakage (a macro's
published efficiency is measured at its clock, where its static power is part of the measured
energy only through the components above). Time per product: its sequential passes, each a
read and the conversions of the columns sharing a converter, in the design's clock
(`system.synchronous`).

Operations: 2 per multiply-accumulate. A figure counted in one-bit operations (`ops: 1b`,
e.g. Jia et al.'s 1b-TOPS) counts input bits x weight bits of them per MAC.

    rows = mho.validate.run()                    # every file in examples/published/
    print(mho.validate.table(rows))
"""
import glob
import math
import os

from . import _core, config, cost, datasets

TOLERANCE = 0.25
FIGURES = ("tops_per_w", "tops", "tops_per_mm2")
UNITS = {"tops_per_w": "TOPS/W", "tops": "TOPS", "tops_per_mm2": "TOPS/mm2"}
MACRO_ENERGY = ("arrays", "adcs", "dacs", "shift_add", "wires", "column_mux")
MACRO_AREA = ("arrays", "adcs", "dacs", "shift_add", "column_mux", "level_shifters", "layout_white_space")
OPS = ("full", "1b")


def folder():
    """examples/published of this checkout."""
    return os.fspath(datasets.data_dir().parent / "examples" / "published")


def files(where=None):
    """The published-macro files of `where` (a folder or a file; default: folder())."""
    where = os.fspath(where) if where is not None else folder()
    if os.path.isfile(where):
        return [where]
    if not os.path.isdir(where):
        raise FileNotFoundError(f"mho validate: no such file or folder: {where}")
    found = sorted(glob.glob(os.path.join(where, "*.yaml")))
    if not found:
        raise FileNotFoundError(f"mho validate: no published-macro files (*.yaml) in {where}")
    return found


def _fail(path, key, msg):
    raise config.ConfigError(f"{path}: config key 'published.{key}': {msg}")


def _text(pub, path, key, where=None):
    v = pub.get(key)
    if not isinstance(v, str) or not v.strip():
        _fail(path, f"{where + '.' if where else ''}{key}", f"expected a non-empty string, got {v!r}")
    return v


def _positive_int(v, path, key, hi):
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= hi:
        _fail(path, key, f"expected an integer in 1 to {hi}, got {v!r}")
    return v


def load(path):
    """One published-macro file: a dict of name, citation, ops, workload, points (each with
    name, design (a config.Design), figures {figure: (value, source)}, cimloop {figure: error})."""
    path = os.fspath(path)
    raw = config._read(path)
    pub = raw.get("published")
    if not isinstance(pub, dict):
        raise config.ConfigError(f"{path}: a published-macro file needs a mapping 'published' "
                                 f"(citation, ops, workload, points): got {pub!r}")
    allowed = ("name", "citation", "source", "ops", "workload", "points", "notes", "excludes")
    for k in pub:
        if k not in allowed:
            _fail(path, k, f"unknown; allowed: {', '.join(allowed)}")
    m = {"file": path, "name": _text(pub, path, "name"), "citation": _text(pub, path, "citation"),
         "ops": pub.get("ops", "full")}
    if m["ops"] not in OPS:
        _fail(path, "ops", f"{m['ops']!r}: allowed: {', '.join(OPS)} (1b: one-bit operations)")
    ex = pub.get("excludes") or []
    if not isinstance(ex, list) or any(c not in MACRO_ENERGY + MACRO_AREA for c in ex):
        _fail(path, "excludes", f"{ex!r}: a list of macro components the published figures leave out "
                                f"({', '.join(sorted(set(MACRO_ENERGY + MACRO_AREA)))})")
    m["excludes"] = tuple(ex)
    base = config.design(path)
    if base.layers:  # a macro is one array: every figure is of its tile
        raise config.ConfigError(f"{path}: config key 'layers': a published macro is one array design; per-layer "
                                 f"rules belong to network designs")
    work = pub.get("workload") or {}
    if not isinstance(work, dict):
        _fail(path, "workload", f"expected a mapping of rows, outputs, input_activity; got {work!r}")
    for k in work:
        if k not in ("rows", "outputs", "source"):
            _fail(path, f"workload.{k}", "unknown; allowed: rows, outputs, source")
    m["rows"] = _positive_int(work.get("rows", base.tile.rows), path, "workload.rows", base.tile.rows)
    m["outputs"] = _positive_int(work.get("outputs", base.tile.max_outputs()), path, "workload.outputs",
                                 base.tile.max_outputs())
    points = pub.get("points")
    if not isinstance(points, list) or not points:
        _fail(path, "points", f"expected a list of operating points, got {points!r}")
    m["points"] = []
    for i, p in enumerate(points):
        key = f"points[{i}]"
        if not isinstance(p, dict):
            _fail(path, key, f"expected a mapping (name, design, figures), got {p!r}")
        for k in p:
            if k not in ("name", "design", "figures", "cimloop_error_pct", "notes"):
                _fail(path, f"{key}.{k}", "unknown; allowed: name, design, figures, cimloop_error_pct, notes")
        name = _text(p, path, "name", key)
        edits = p.get("design") or {}
        if not isinstance(edits, dict):
            _fail(path, f"{key}.design", f"expected a mapping of design edits, got {edits!r}")
        try:
            d = config.design(edits, base=base) if edits else base
        except config.ConfigError as e:
            _fail(path, f"{key}.design", str(e))
        figs = p.get("figures")
        if not isinstance(figs, dict) or not figs:
            _fail(path, f"{key}.figures", f"expected a mapping of {', '.join(FIGURES)}, got {figs!r}")
        figures = {}
        for f, v in figs.items():
            if f not in FIGURES:
                _fail(path, f"{key}.figures.{f}", f"unknown; allowed: {', '.join(FIGURES)}")
            if not isinstance(v, dict) or set(v) - {"value", "source"}:
                _fail(path, f"{key}.figures.{f}", f"expected {{value: number, source: text}}, got {v!r}")
            val = v.get("value")
            if isinstance(val, bool) or not isinstance(val, (int, float)) or not (math.isfinite(val) and val > 0):
                _fail(path, f"{key}.figures.{f}.value", f"expected a positive number, got {val!r}")
            figures[f] = (float(val), _text(v, path, "source", f"{key}.figures.{f}"))
        cim = p.get("cimloop_error_pct") or {}
        for f in cim:
            if f not in FIGURES:
                _fail(path, f"{key}.cimloop_error_pct.{f}", f"unknown; allowed: {', '.join(FIGURES)}")
        m["points"].append({"name": name, "design": d, "figures": figures, "cimloop": dict(cim)})
    return m


def figures(design, rows, outputs, ops="full", excludes=()):
    """mho's figures of one matrix-vector product (rows x outputs) on `design`'s macro: a dict
    of tops_per_w, tops, tops_per_mm2, plus energy_J, area_m2, time_s, ops and the components'
    energy and area."""
    net = _core.mvm_network(rows, outputs)
    r = cost.pim(net, design.tile, system=design.system, tech=design.tech)
    lc = [l for l in r.layers if l.kind == "linear"][0]
    if lc.arrays != 1:
        raise ValueError(f"workload {rows} x {outputs}: takes {lc.arrays} arrays of {design.tile.rows} x "
                         f"{design.tile.cols}; a macro's figures describe one array")
    e = {k: v for k, v in lc.energy_by_component_J if k in MACRO_ENERGY and k not in excludes}
    a = {k: v for k, v in lc.area_by_component_m2 if k in MACRO_AREA and k not in excludes}
    t = dict(lc.latency_by_component_s)
    time_s = t["sensing"] + t["adc"]
    bits = 1
    if ops == "1b":
        bits = max(1, design.tile.dac.input_bits) * max(1, design.tile.weight_bits)
    n_ops = 2.0 * lc.macs * bits
    energy, area = sum(e.values()), sum(a.values())
    return {"tops_per_w": n_ops / energy / 1e12, "tops": n_ops / time_s / 1e12,
            "tops_per_mm2": n_ops / time_s / 1e12 / (area * 1e6), "energy_J": energy, "area_m2": area,
            "time_s": time_s, "ops": n_ops, "energy_by_component_J": e, "area_by_component_m2": a}


def run(where=None):
    """Rows of (macro, point, figure, published, mho, error, within, cimloop_error_pct, source)
    for every file of `where` (default: examples/published)."""
    rows = []
    for path in files(where):
        m = load(path)
        for p in m["points"]:
            got = figures(p["design"], m["rows"], m["outputs"], m["ops"], m["excludes"])
            for f, (value, source) in p["figures"].items():
                err = got[f] / value - 1.0
                rows.append({"macro": m["name"], "point": p["name"], "figure": f, "published": value,
                             "mho": got[f], "error": err, "within": abs(err) <= TOLERANCE,
                             "cimloop_error_pct": p["cimloop"].get(f), "source": source,
                             "detail": got})
    return rows


def table(rows):
    """The rows as a fixed-width text table."""
    head = f"{'macro':<24} {'point':<14} {'figure':<10} {'published':>11} {'mho':>11} {'error':>8} {'CiMLoop':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        cim = "" if r["cimloop_error_pct"] is None else f"{r['cimloop_error_pct']:+.0f}%"
        flag = "" if r["within"] else "  outside"
        lines.append(f"{r['macro']:<24} {r['point']:<14} {UNITS[r['figure']]:<10} {r['published']:>11.4g} "
                     f"{r['mho']:>11.4g} {100 * r['error']:>+7.1f}% {cim:>8}{flag}")
    bad = sum(not r["within"] for r in rows)
    lines.append(f"{len(rows)} figures, {len(rows) - bad} within {TOLERANCE:.0%}, {bad} outside")
    return "\n".join(lines)


def breakdown(rows):
    """Per operating point, mho's energy and area by component (text)."""
    seen, lines = set(), []
    for r in rows:
        k = (r["macro"], r["point"])
        if k in seen:
            continue
        seen.add(k)
        d = r["detail"]
        e = ", ".join(f"{c} {v / d['ops'] * 2e15:.3g}" for c, v in d["energy_by_component_J"].items() if v)
        a = ", ".join(f"{c} {v * 1e12:.4g}" for c, v in d["area_by_component_m2"].items() if v)
        lines.append(f"{k[0]} {k[1]}: fJ per 2 ops: {e}; um2: {a}; {d['time_s'] * 1e9:.4g} ns per product")
    return "\n".join(lines)


def plot(rows, path):
    """PNG: mho / published per headline figure (log scale), the 25 % band shaded."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from . import _util
    labels = [f"{r['macro']} {r['point']} {UNITS[r['figure']]}" for r in rows]
    ratio = np.array([r["mho"] / r["published"] for r in rows])
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(rows) + 1.5))
    y = np.arange(len(rows))
    ax.axvspan(1 - TOLERANCE, 1 + TOLERANCE, color="0.9", label=f"within {TOLERANCE:.0%}")
    ax.scatter(ratio, y, c=["tab:green" if r["within"] else "tab:red" for r in rows], zorder=3)
    cim = [(i, 1 + r["cimloop_error_pct"] / 100) for i, r in enumerate(rows) if r["cimloop_error_pct"] is not None]
    if cim:
        ax.scatter([c for _, c in cim], [i for i, _ in cim], marker="x", c="0.4", label="CiMLoop", zorder=3)
    ax.axvline(1.0, color="0.5", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("model / published")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("mho against published compute-in-memory macros")
    fig.tight_layout()
    out = _util.save_figure(fig, path)
    plt.close(fig)
    return out
