"""Sweep plots (mho.sweep_plots) on synthetic tables in the sweep schema: the plotted values
are the hand-computed means, CIs and Pareto sets, failed rows are left out and counted, the
PNGs are valid and legends sit off the data."""
import itertools

import matplotlib
import numpy as np
import pandas as pd
import pytest

from mho import _util, sweep_plots, tables

matplotlib.use("Agg")

# Two-sided 95 % Student-t quantiles t(0.975, dof) to 10 digits (any statistics table);
# mho rounds them to 4 digits, hence the tolerance of the CI checks.
T975 = {2: 4.302652730, 3: 3.182446305}
CI_REL = 5e-4

CELLS = ["rram_neurosim_22nm", "pcm_joshi2020"]
BITS = [3, 4, 6, 8]
FLOAT = 0.991


def sweep_tables(seed=3, chips=4):
    """Accuracy (point x chip) and cost (point) tables: cells x ADC bits, one chip task and
    one cost task failed."""
    rng = np.random.default_rng(seed)
    acc, cost = [], []
    for p, (cell, bits) in enumerate(itertools.product(CELLS, BITS)):
        for chip in range(chips):
            failed = (p, chip) == (2, 1)
            acc.append({"point": p, "design_key": f"{p:016x}", "cell": cell, "adc.bits": bits, "chip": chip,
                        "seed": 100 * p + chip, "accuracy": np.nan if failed else 0.9 + 0.09 * rng.random(),
                        "float_accuracy": FLOAT, "test_images": 1000, "status": "error" if failed else "ok",
                        "error": "MemoryError: worker died" if failed else ""})
        cost.append({"point": p, "design_key": f"{p:016x}", "cell": cell, "adc.bits": bits,
                     "energy_total_per_inference_J": float(rng.integers(1, 5)) * 1e-7,  # ties on purpose
                     "area_total_mm2": float(rng.integers(1, 4)), "latency_s": 1e-5, "tops_per_w": 1.0,
                     "tops_per_mm2": 0.1, "status": "error" if p == 5 else "ok",
                     "error": "ValueError: no ADC" if p == 5 else ""})
    return pd.DataFrame(acc), pd.DataFrame(cost)


@pytest.fixture
def captured(monkeypatch):
    """The figures the plots save (still written to their files)."""
    figs = []

    def save(fig, path, **kw):
        figs.append(fig)
        return real(fig, path, **kw)
    real = _util.save_figure
    monkeypatch.setattr(_util, "save_figure", save)
    return figs


def assert_png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = matplotlib.image.imread(path)
    assert img.shape[0] > 300 and img.shape[1] > 400
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(_util.TMP_PREFIX)] == []


def assert_legend_off_the_data(fig):
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    legends = [a.get_legend() for a in fig.axes if a.get_legend()]
    assert legends
    for leg in legends:
        box = leg.get_window_extent(r)
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 and fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1
        for ax in fig.axes:  # the plot area, its axis labels and ticks, and the colorbar
            if ax.get_legend() is None:
                parts = [ax.get_tightbbox(r)]
            else:  # (its tight box includes the legend itself)
                parts = [ax.get_window_extent(r), ax.xaxis.get_tightbbox(r), ax.yaxis.get_tightbbox(r)]
            assert not any(box.overlaps(p) for p in parts), ax


def hand_ci(values):
    v = np.asarray(values)
    return T975[len(v) - 1] * np.std(v, ddof=1) / np.sqrt(len(v))


def test_accuracy_summary_and_plot_are_the_hand_computed_mean_and_ci(tmp_path, captured):
    acc, _ = sweep_tables()
    s = sweep_plots.plot_accuracy(acc, "adc.bits", tmp_path / "acc.png", by="cell")
    assert_png(tmp_path / "acc.png")
    assert len(s) == len(CELLS) * len(BITS)
    for _, row in s.iterrows():
        ok = acc[(acc.cell == row["cell"]) & (acc["adc.bits"] == row["adc.bits"]) & (acc.status == "ok")]
        vals = ok["accuracy"].to_numpy()
        assert row["chips"] == len(vals) == (3 if (row["cell"], row["adc.bits"]) == (CELLS[0], BITS[2]) else 4)
        assert row["accuracy"] == pytest.approx(sum(vals) / len(vals), rel=1e-14)
        assert row["ci95"] == pytest.approx(hand_ci(vals), rel=CI_REL)
        assert row["float_accuracy"] == FLOAT
    fig, = captured
    ax = fig.axes[0]
    assert "chip rows 1" in ax.get_title()  # the failed task is counted, not plotted
    assert ax.get_xscale() == "linear"
    lines = {l.get_label(): l for l in ax.get_lines()}
    for cell in CELLS:
        sc = s[s.cell == cell]
        line = lines[f"cell = {cell}: mean over chips"]
        assert list(line.get_xdata()) == BITS
        assert np.allclose(line.get_ydata(), 100 * sc["accuracy"], rtol=0, atol=1e-12)
        band, = [c for c in ax.collections if c.get_label() == f"cell = {cell}: 95 % CI"]
        ys = band.get_paths()[0].vertices[:, 1]
        assert ys.min() == pytest.approx(100 * (sc["accuracy"] - sc["ci95"]).min(), rel=1e-12)
        assert ys.max() == pytest.approx(100 * (sc["accuracy"] + sc["ci95"]).max(), rel=1e-12)
    assert lines["float"].get_ydata()[0] == pytest.approx(100 * FLOAT)
    assert ax.get_ylabel() == "test accuracy (%)"
    assert_legend_off_the_data(fig)


def test_a_categorical_parameter_is_plotted_in_its_order(tmp_path, captured):
    acc, _ = sweep_tables()
    s = sweep_plots.plot_accuracy(acc, "cell", tmp_path / "cells.png")
    assert_png(tmp_path / "cells.png")
    assert list(s["cell"]) == CELLS  # the sweep's order, not alphabetical
    ok = acc[acc.status == "ok"]
    for _, row in s.iterrows():
        vals = ok[ok.cell == row["cell"]]["accuracy"].to_numpy()
        assert row["chips"] == len(vals) and row["accuracy"] == pytest.approx(vals.mean(), rel=1e-14)
    ax = captured[0].axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == CELLS
    bars, = [c for c in ax.containers if c.get_label() == "PIM: mean over chips, 95 % CI"]
    points, _, (whiskers,) = bars.lines
    assert list(points.get_xdata()) == [0, 1]
    assert np.allclose(points.get_ydata(), 100 * s["accuracy"], rtol=0, atol=1e-12)
    for seg, (_, row) in zip(whiskers.get_segments(), s.iterrows()):
        assert sorted(seg[:, 1]) == pytest.approx([100 * (row["accuracy"] - row["ci95"]),
                                                   100 * (row["accuracy"] + row["ci95"])], rel=1e-12)
    assert_legend_off_the_data(captured[0])


def test_one_chip_gives_no_band_and_a_wide_range_a_log_axis(tmp_path, captured):
    acc = pd.DataFrame({"point": [0, 1, 2, 2], "time_s": [1.0, 1e3, 1e6, 1e6], "chip": [0, 0, 0, 1],
                        "accuracy": [0.9, 0.8, 0.7, 0.6], "float_accuracy": [0.95] * 4, "status": ["ok"] * 4})
    s = sweep_plots.plot_accuracy(acc, "time_s", tmp_path / "t.png")
    assert np.isnan(s["ci95"][:2]).all() and s["ci95"][2] == pytest.approx(
        12.706204736 * np.std([0.7, 0.6], ddof=1) / np.sqrt(2), rel=CI_REL)
    ax = captured[0].axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "time_s (s), log"
    sweep_plots.plot_accuracy(acc, "time_s", tmp_path / "t.png", log_x=False)
    assert captured[1].axes[0].get_xscale() == "linear"


def brute_force_front(points):
    """Indices no other point dominates (<= everywhere, < somewhere), pair by pair."""
    front = []
    for i, p in enumerate(points):
        if not any(all(a <= b for a, b in zip(q, p)) and any(a < b for a, b in zip(q, p))
                   for j, q in enumerate(points) if j != i):
            front.append(i)
    return front


def test_pareto_summary_and_plot_match_a_brute_force_dominance_check(tmp_path, captured):
    acc, cost = sweep_tables()
    s = sweep_plots.plot_pareto(acc, cost, tmp_path / "pareto.png")
    assert_png(tmp_path / "pareto.png")
    assert 5 not in set(s["point"]) and len(s) == len(cost) - 1  # its cost task failed
    for _, row in s.iterrows():
        ok = acc[(acc.point == row["point"]) & (acc.status == "ok")]
        assert row["chips"] == len(ok)
        assert row["accuracy_drop"] == pytest.approx(np.mean(FLOAT - ok["accuracy"].to_numpy()), rel=1e-12)
        c = cost[cost.point == row["point"]].iloc[0]
        assert (row["energy_total_per_inference_J"], row["area_total_mm2"]) == (
            c["energy_total_per_inference_J"], c["area_total_mm2"])
        assert row["label"] == f"cell={c['cell']}, adc.bits={c['adc.bits']}"
    two = [(e, d) for e, d in zip(s["energy_total_per_inference_J"], s["accuracy_drop"])]
    three = [(e, d, a) for e, d, a in zip(s["energy_total_per_inference_J"], s["accuracy_drop"], s["area_total_mm2"])]
    assert list(np.flatnonzero(s["pareto"])) == brute_force_front(two)
    assert list(np.flatnonzero(s["pareto_with_area"])) == brute_force_front(three)
    fig = captured[0]
    ax = fig.axes[0]
    step, = [l for l in ax.get_lines() if l.get_label() == "Pareto front (energy, drop)"]
    front = s[s["pareto"]].sort_values(["energy_total_per_inference_J", "accuracy_drop"])
    assert np.allclose(step.get_xdata(), 1e6 * front["energy_total_per_inference_J"], rtol=1e-14)
    assert np.allclose(step.get_ydata(), 100 * front["accuracy_drop"], rtol=1e-14)
    dots = ax.collections[0]
    assert np.allclose(dots.get_offsets(), np.column_stack([1e6 * s["energy_total_per_inference_J"],
                                                            100 * s["accuracy_drop"]]), rtol=1e-14)
    assert np.array_equal(dots.get_array(), s["area_total_mm2"])
    assert ax.get_xscale() == "log" and "µJ" in ax.get_xlabel() and "points" in ax.get_ylabel()
    assert "mm²" in fig.axes[1].get_ylabel()  # the colorbar
    assert "chip rows 1" in ax.get_title() and "cost rows 1" in ax.get_title()
    assert sorted(t.get_text() for t in ax.texts) == sorted(s["label"])
    assert_legend_off_the_data(fig)


@pytest.mark.parametrize("seed", range(5))
def test_the_two_dimensional_front_on_random_points_with_ties(seed):
    rng = np.random.default_rng(seed)
    e = rng.integers(0, 6, 40).astype(float)
    d = rng.integers(0, 6, 40).astype(float)
    assert sorted(sweep_plots._front_2d(e, d)) == brute_force_front(list(zip(e, d)))


def test_bad_input_is_a_clear_error(tmp_path):
    acc, cost = sweep_tables()
    with pytest.raises(TypeError, match="pandas.DataFrame"):
        sweep_plots.plot_accuracy(acc.to_dict(), "cell", tmp_path / "a.png")
    with pytest.raises(ValueError, match="no column 'array'"):
        sweep_plots.plot_accuracy(acc, "array", tmp_path / "a.png")
    with pytest.raises(ValueError, match="'chip': a fixed column"):
        sweep_plots.plot_accuracy(acc, "chip", tmp_path / "a.png")
    with pytest.raises(ValueError, match="by = 'cell'"):
        sweep_plots.plot_accuracy(acc, "cell", tmp_path / "a.png", by="cell")
    with pytest.raises(ValueError, match="log_x = True: 'cell' must be numeric"):
        sweep_plots.plot_accuracy(acc, "cell", tmp_path / "a.png", log_x=True)
    with pytest.raises(ValueError, match="no row has status 'ok'"):
        sweep_plots.plot_accuracy(acc.assign(status="error"), "cell", tmp_path / "a.png")
    with pytest.raises(ValueError, match="no column 'area_total_mm2'"):
        sweep_plots.plot_pareto(acc, cost.drop(columns="area_total_mm2"), tmp_path / "p.png")
    with pytest.raises(ValueError, match="more than one ok row"):
        sweep_plots.plot_pareto(acc, pd.concat([cost, cost]), tmp_path / "p.png")
    with pytest.raises(ValueError, match="point 0: energy_total_per_inference_J = 0.0"):
        sweep_plots.plot_pareto(acc, cost.assign(energy_total_per_inference_J=0.0), tmp_path / "p.png")
    assert list(tmp_path.iterdir()) == []


def test_tables_read_back_from_files_plot_the_same(tmp_path):
    acc, cost = sweep_tables()
    for name, df in (("acc", acc), ("cost", cost)):
        tables.write_table(df, tmp_path / name)
    acc2, cost2 = (tables.read_table(tmp_path / f"{n}.csv")[0] for n in ("acc", "cost"))
    pd.testing.assert_frame_equal(sweep_plots.accuracy_summary(acc2, "adc.bits", by="cell"),
                                  sweep_plots.accuracy_summary(acc, "adc.bits", by="cell"), check_exact=True)
    pd.testing.assert_frame_equal(sweep_plots.pareto_summary(acc2, cost2)[0],
                                  sweep_plots.pareto_summary(acc, cost)[0], check_exact=True)
