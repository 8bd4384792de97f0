"""Plots from sweep tables: accuracy vs a parameter with CI bands, and a Pareto plot.

    acc, costs = ...                      # the sweep's accuracy and cost tables (DataFrames)
    mho.sweep_plots.plot_accuracy(acc, "adc.bits", "adc.png", by="cell")
    mho.sweep_plots.plot_pareto(acc, costs, "pareto.png")

The accuracy table has one row per (point, chip), the cost table one per point, in the
sweep's schema (mho.sweep): fixed columns (ACCURACY_COLUMNS, COST_COLUMNS) and one column
per swept parameter. Rows whose `status` is not "ok" are left out and counted in the
title. Both functions return the values they plot as a DataFrame (fractions and SI-derived
units as in the tables; the figures show percent, points, µJ and mm²) and write the PNG
atomically (mho._util.save_figure). Legends sit outside the axes, so they cover no data.
"""
import math

import numpy as np

from . import _util, tables
from .tile_study import mean_ci95

ACCURACY_COLUMNS = ("point", "design_key", "chip", "seed", "accuracy", "float_accuracy",
                    "test_images", "status", "error")
COST_COLUMNS = ("point", "design_key", "energy_total_per_inference_J", "area_total_mm2",
                "latency_s", "tops_per_w", "tops_per_mm2", "status", "error")
# A numeric parameter spanning this many decades or more is drawn on a log axis by default.
LOG_X_DECADES = 3
# Horizontal spacing of the series at one category (ticks are 1 apart).
CATEGORY_OFFSET = 0.12


def _frame(df, name, needed):
    import pandas as pd
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{name}: expected a pandas.DataFrame (a sweep table), got {type(df).__name__}")
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: no column {', '.join(map(repr, missing))} (columns: {list(df.columns)})")
    return df


def _ok(df):
    """(rows whose status is "ok", how many rows were left out)."""
    ok = df["status"] == "ok"
    return df[ok], int((~ok).sum())


def _no_missing(df, name, cols):
    for c in cols:
        bad = df[c].isna()
        if bad.any():
            raise ValueError(f"{name}: column {c!r} is missing in the ok rows of point(s) "
                             f"{sorted(set(df.loc[bad, 'point']))}")


def _is_numeric(s):
    return s.dtype.kind in "iuf"


def _order(s):
    """The distinct values of a column: ascending for numbers, else in order of appearance
    (a sweep lists categories such as cell names in the order it means)."""
    values = list(dict.fromkeys(s))
    return sorted(values) if _is_numeric(s) else values


def accuracy_summary(acc_df, param, by=None):
    """One row per (by value, param value) of the ok rows: chips, mean accuracy, ci95 (the
    half-width of the 95 % Student-t interval over chips; NaN for one chip) and the mean
    float accuracy, all fractions, in plotting order."""
    import pandas as pd
    if not isinstance(param, str):
        raise TypeError(f"param: expected a column name, got {type(param).__name__}")
    if by is not None and (not isinstance(by, str) or by == param):
        raise ValueError(f"by = {by!r}: expected a second parameter column, not {param!r}")
    keys = [by, param] if by else [param]
    fixed = [k for k in keys if k in ACCURACY_COLUMNS]
    if fixed:
        raise ValueError(f"param/by = {fixed[0]!r}: a fixed column of the accuracy table, not a swept parameter")
    acc = _frame(acc_df, "acc_df", ["point", "accuracy", "float_accuracy", "status", *keys])
    ok, _ = _ok(acc)
    if ok.empty:
        raise ValueError("acc_df: no row has status 'ok'; nothing to plot")
    _no_missing(ok, "acc_df", keys)
    rows = []
    for b in (_order(ok[by]) if by else [None]):
        part = ok[ok[by] == b] if by else ok
        for v in _order(part[param]):
            g = part[part[param] == v]
            mean, ci = mean_ci95(g["accuracy"].to_numpy())
            rows.append({**({by: b} if by else {}), param: v, "chips": len(g), "accuracy": mean,
                         "ci95": ci, "float_accuracy": float(g["float_accuracy"].mean())})
    return pd.DataFrame(rows, columns=[*keys, "chips", "accuracy", "ci95", "float_accuracy"])


def _label(name):
    unit = tables.units([name]).get(name)
    return f"{name} ({unit})" if unit and unit != "fraction" else name


def _outside_legend(ax, **kw):
    # Beside the axes, not on them: a legend never hides a point; the constrained layout
    # makes room for it.
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8, **kw)


def plot_accuracy(acc_df, param, path, log_x=None, by=None):
    """PNG: mean accuracy over chips vs `param` with 95 % CI bands and the float accuracy
    (dashed), one series per value of `by` if given. A categorical parameter (e.g. cell
    names) is drawn at evenly spaced ticks, as points with CI whiskers. log_x: None picks a log axis for a positive
    numeric parameter spanning >= 3 decades. Returns accuracy_summary()."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    summary = accuracy_summary(acc_df, param, by)
    _, skipped = _ok(acc_df)
    numeric = _is_numeric(acc_df[param])
    values = _order(summary[param])
    if log_x is None:
        log_x = bool(numeric and min(values) > 0 and math.log10(max(values) / min(values)) >= LOG_X_DECADES)
    elif not isinstance(log_x, bool):
        raise TypeError(f"log_x: expected True, False or None, got {type(log_x).__name__}")
    if log_x and not (numeric and min(values) > 0):
        raise ValueError(f"log_x = True: {param!r} must be numeric and positive, got {values}")
    pos = {v: (v if numeric else i) for i, v in enumerate(values)}
    fig, ax = plt.subplots(figsize=(7.0, 4.4), layout="constrained")
    series = _order(summary[by]) if by else [None]
    # One float line when every point has the same float accuracy (same model and data).
    one_float = summary["float_accuracy"].nunique() == 1
    for k, b in enumerate(series):
        s = summary[summary[by] == b] if by else summary
        x = np.array([pos[v] for v in s[param]], dtype=float)
        m = 100 * s["accuracy"].to_numpy()
        ci = 100 * s["ci95"].to_numpy()
        band = np.isfinite(ci)  # one chip: no interval
        name = f"{by} = {b}" if by else "PIM"
        if numeric:
            line, = ax.plot(x, m, marker="o", label=f"{name}: mean over chips")
            if band.any():
                ax.fill_between(x, m - np.nan_to_num(ci), m + np.nan_to_num(ci), where=band, alpha=0.2,
                                color=line.get_color(), label=f"{name}: 95 % CI")
        else:
            # Categories have no order to interpolate along: points with CI whiskers, the
            # series side by side.
            x = x + CATEGORY_OFFSET * (k - (len(series) - 1) / 2)
            bars = ax.errorbar(x, m, yerr=np.where(band, ci, 0.0), fmt="o", capsize=4,
                               label=f"{name}: mean over chips, 95 % CI")
            line = bars.lines[0]
        if not one_float:
            ax.plot(x, 100 * s["float_accuracy"].to_numpy(), ls="--" if numeric else "none",
                    marker=None if numeric else "_", markersize=18, lw=1, color=line.get_color(),
                    label=f"{name}: float")
    if one_float:
        ax.axhline(100 * summary["float_accuracy"].iloc[0], ls="--", lw=1, color="k", label="float")
    if log_x:
        ax.set_xscale("log")
    if not numeric:
        names = [str(v) for v in values]
        long = max(map(len, names)) > 8  # long category names slant so they do not collide
        ax.set_xticks(range(len(values)), names, rotation=30 if long else 0, ha="right" if long else "center")
    ax.set_xlabel(_label(param) + (", log" if log_x else ""))
    ax.set_ylabel("test accuracy (%)")
    lo, hi = summary["chips"].min(), summary["chips"].max()
    note = f"\nfailed tasks left out: chip rows {skipped}" if skipped else ""
    ax.set_title(f"accuracy vs {param}, {lo if lo == hi else f'{lo}-{hi}'} chips per point{note}", fontsize=10)
    ax.grid(True, alpha=0.3)
    _outside_legend(ax)
    _util.save_figure(fig, path)
    plt.close(fig)
    return summary


def _dominated(points):
    """dominated[i]: some other point is no worse in every column of `points` (n x k, lower
    is better) and better in one. O(n^2 k) over all pairs."""
    p = np.asarray(points, dtype=float)
    le = (p[None, :, :] <= p[:, None, :]).all(axis=2)  # [i, j]: j no worse than i everywhere
    lt = (p[None, :, :] < p[:, None, :]).any(axis=2)
    return (le & lt).any(axis=1)


def _front_2d(energy, drop):
    """Indices of the points that no other point beats in energy and drop (lower is better;
    exact ties are all kept), in one pass over the points sorted by (energy, drop)."""
    order = np.lexsort((drop, energy))
    front, best = [], math.inf  # best: the lowest drop at a strictly lower energy
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and energy[order[j]] == energy[order[i]]:
            j += 1
        low = drop[order[i]]  # the lowest drop at this energy
        if low < best:
            front += [int(k) for k in order[i:j] if drop[k] == low]
            best = low
        i = j
    return front


def _design_label(row, params, key):
    if not params:
        return str(row[key])[:8]
    return ", ".join(f"{p}={row[p]:g}" if isinstance(row[p], float) else f"{p}={row[p]}" for p in params)


def pareto_summary(acc_df, cost_df):
    """One row per point with an ok cost row and at least one ok chip: the parameter
    columns, label, chips, accuracy_drop (mean over ok chips of float - chip accuracy, a
    fraction), energy_total_per_inference_J, area_total_mm2, `pareto` (on the front of
    energy and drop) and `pareto_with_area` (on the front of energy, drop and area).
    Returns (summary, {"chip rows", "cost rows", "points not drawn": counts left out})."""
    import pandas as pd
    acc = _frame(acc_df, "acc_df", ["point", "accuracy", "float_accuracy", "status"])
    costs = _frame(cost_df, "cost_df", ["point", "design_key", "energy_total_per_inference_J",
                                        "area_total_mm2", "status"])
    acc_ok, acc_skipped = _ok(acc)
    cost_ok, cost_skipped = _ok(costs)
    if cost_ok["point"].duplicated().any():
        raise ValueError(f"cost_df: point(s) {sorted(set(cost_ok.loc[cost_ok['point'].duplicated(), 'point']))} "
                         f"have more than one ok row; the cost table has one row per point")
    params = [c for c in costs.columns if c not in COST_COLUMNS]
    _no_missing(cost_ok, "cost_df", ["energy_total_per_inference_J", "area_total_mm2"])
    drops = (acc_ok["float_accuracy"] - acc_ok["accuracy"]).groupby(acc_ok["point"]).agg(["mean", "size"])
    rows = []
    for _, c in cost_ok.iterrows():
        if c["point"] not in drops.index:
            continue  # every chip of this point failed
        if not c["energy_total_per_inference_J"] > 0:
            raise ValueError(f"cost_df: point {c['point']}: energy_total_per_inference_J = "
                             f"{c['energy_total_per_inference_J']!r}; the energy axis is logarithmic, it must be > 0")
        rows.append({"point": c["point"], "design_key": c["design_key"], **{p: c[p] for p in params},
                     "label": _design_label(c, params, "design_key"), "chips": int(drops.loc[c["point"], "size"]),
                     "accuracy_drop": float(drops.loc[c["point"], "mean"]),
                     "energy_total_per_inference_J": float(c["energy_total_per_inference_J"]),
                     "area_total_mm2": float(c["area_total_mm2"])})
    if not rows:
        raise ValueError("acc_df, cost_df: no point has an ok cost row and an ok chip; nothing to plot")
    s = pd.DataFrame(rows).sort_values("point", kind="stable").reset_index(drop=True)
    e, d, a = (s[k].to_numpy() for k in ("energy_total_per_inference_J", "accuracy_drop", "area_total_mm2"))
    s["pareto"] = False
    s.loc[_front_2d(e, d), "pareto"] = True
    s["pareto_with_area"] = ~_dominated(np.column_stack([e, d, a]))
    unplotted = len(set(costs["point"]) - set(s["point"]))
    return s, {"chip rows": acc_skipped, "cost rows": cost_skipped, "points not drawn": unplotted}


def plot_pareto(acc_df, cost_df, path):
    """PNG: accuracy drop (points, mean over chips) vs energy per inference (uJ, log axis),
    colour = area (mm2), each point labelled by its parameter values; the Pareto front of
    energy and drop as a staircase, points also optimal when area counts ringed in black.
    Returns the summary of pareto_summary()."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    s, skipped = pareto_summary(acc_df, cost_df)
    e_uj = 1e6 * s["energy_total_per_inference_J"].to_numpy()
    drop_pts = 100 * s["accuracy_drop"].to_numpy()
    area = s["area_total_mm2"].to_numpy()
    fig, ax = plt.subplots(figsize=(7.5, 5.0), layout="constrained")
    sc = ax.scatter(e_uj, drop_pts, c=area, cmap="viridis", s=40, zorder=3, label="design (colour: area)")
    ring = s["pareto_with_area"].to_numpy()
    ax.scatter(e_uj[ring], drop_pts[ring], s=110, facecolors="none", edgecolors="k", linewidths=1.2,
               zorder=4, label="Pareto-optimal in energy, drop and area")
    front = s[s["pareto"]].sort_values(["energy_total_per_inference_J", "accuracy_drop"])
    ax.step(1e6 * front["energy_total_per_inference_J"], 100 * front["accuracy_drop"], where="post",
            color="C3", lw=1.5, zorder=2, label="Pareto front (energy, drop)")
    for x, y, text in zip(e_uj, drop_pts, s["label"]):
        ax.annotate(text, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=6.5)
    ax.set_xscale("log")
    ax.set_xlabel("energy / inference (µJ, log)")
    ax.margins(x=0.12, y=0.08)  # room for the labels of the outermost points
    ax.set_ylabel("accuracy drop (points, mean over chips)")
    fig.colorbar(sc, ax=ax, label="area (mm²)")
    failed = [f"{k} {v}" for k, v in skipped.items() if v]
    note = f"\nfailed tasks left out: {', '.join(failed)}" if failed else ""
    ax.set_title(f"accuracy drop vs energy and area, {len(s)} designs{note}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    # Below the axes and their labels: the colorbar takes the right-hand side.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8, borderaxespad=0.0)
    _util.save_figure(fig, path)
    plt.close(fig)
    return s
