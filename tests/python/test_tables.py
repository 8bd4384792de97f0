"""Tidy tables (mho.tables): values equal the study and cost objects they come from, files
round-trip bit-exactly, writes are atomic, bad input is a clear error."""
import hashlib
import json
import os
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mho
from mho import cli, cost, results, study, tables
from test_evaluator import GOOD, write_config

ROOT = Path(__file__).resolve().parents[2]
LENET = str(ROOT / "data" / "models" / "lenet5_mnist.h5")


def small_spec():
    return mho.TileSpec(rows=128, cols=128, cell="rram_neurosim_22nm", weight_bits=6,
                        dac=mho.DacSpec(input_bits=8, signed_mode="unsigned"),
                        adc=mho.AdcSpec(bits=6, columns_per_adc=8))


@pytest.fixture(scope="module")
def points():
    """Two designs (ADC bits 4 and 6) x 2 chips on 200 MNIST test images."""
    return study.sweep(LENET, "adc.bits", [4, 6], spec=small_spec(), chips=2, limit=200,
                       calib_samples=64, progress=False, keep_pim=True)


@pytest.fixture(scope="module")
def reports(points):
    tech = cost.load_tech("65nm")
    return [cost.measured(points[0].pim, tech=tech), cost.pim("lenet5", small_spec(), tech=tech),
            cost.digital("lenet5", tech=tech)]


def test_chips_table_holds_the_study_values(points):
    df = tables.chips_table(points)
    assert len(df) == sum(len(r.pim_accuracies) for r in points) == 4
    for _, row in df.iterrows():
        r = points[row["point"]]
        assert row["adc.bits"] == r.parameter["adc.bits"]
        assert row["accuracy"] == r.pim_accuracies[row["chip"]]
        assert row["float_accuracy"] == r.float_accuracy
        assert row["accuracy_drop"] == r.float_accuracy - r.pim_accuracies[row["chip"]]
        assert (row["test_images"], row["model"], row["dataset"]) == (200, "lenet5_mnist.h5", "mnist")
        assert (row["arrays"], row["utilization"]) == (r.arrays, r.utilization)
        assert row["cell_reads_per_inference"] == r.counters_per_inference["cell_reads"]
        assert row["cell_energy_per_inference_J"] == r.counters_per_inference["cell_energy_J"]
        # The key of the whole study design (mho.specs.study_design), computed here by hand.
        tile = {k: v for k, v in r.design.items() if k != "seed"}
        design = {"tile": tile, "model_sha256": hashlib.sha256(Path(LENET).read_bytes()).hexdigest(),
                  "dataset": "mnist", "test_images": 200, "calib_samples": 64, "time_s": None,
                  "system": None, "tech": None}
        canonical = json.dumps(design, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        assert row["design_key"] == hashlib.sha256(canonical.encode()).hexdigest()[:16]
    assert df.groupby("point")["design_key"].nunique().eq(1).all()
    assert df["design_key"].nunique() == 2  # the two ADC resolutions are two designs
    # The mean over chips of the table is the study's mean.
    for p, g in df.groupby("point"):
        assert g["accuracy"].mean() == pytest.approx(points[p].mean, rel=1e-15)
    assert all(df[c].dtype.kind in "if" for c in df.columns if c not in ("design_key", "model", "dataset"))
    assert tables.units(df.columns)["cell_energy_per_inference_J"] == "J"
    assert tables.units(df.columns)["accuracy"] == "fraction"


def test_a_result_without_a_design_dict_is_keyed_by_its_spec_repr(points):
    # Results made by hand (or before specs became data) carry only the repr.
    r = study.StudyResult(**{f: getattr(points[0], f) for f in points[0].__dataclass_fields__})
    r.design, r.key = {}, ""
    assert set(tables.chips_table(r)["design_key"]) == {hashlib.sha256(r.spec.encode()).hexdigest()[:16]}


def test_cost_table_matches_cost_to_dict(reports):
    df = tables.cost_table(reports, designs=[{"point": i} for i in range(len(reports))])
    assert list(df["point"]) == [0, 1, 2]
    for (_, row), r in zip(df.iterrows(), reports):
        d = cost.to_dict(r)
        for k in ("system", "network", "batch", "macs_per_inference", "energy_total_per_inference_J",
                  "energy_per_batch_J", "area_total_mm2", "latency_s", "throughput_inferences_per_s",
                  "tops", "tops_per_w", "tops_per_mm2", "utilization"):
            assert row[k] == d[k], k
        for part, v in d["energy_per_inference_J"].items():
            assert row[f"energy_{part}_J"] == v
        for part, v in d["area_m2"].items():
            assert row[f"area_{part}_mm2"] == v * 1e6
        # Parts of the other system that this one lacks are zero, and the parts add up.
        e = [c for c in df.columns if c.startswith("energy_") and c not in
             ("energy_total_per_inference_J", "energy_per_batch_J")]
        assert all(row[c] == 0.0 for c in e if c[len("energy_"):-2] not in d["energy_per_inference_J"])
        assert sum(row[c] for c in e) == pytest.approx(d["energy_total_per_inference_J"], rel=1e-12)
    assert df["energy_adcs_J"].iloc[2] == 0.0 and df["energy_adcs_J"].iloc[0] > 0


def test_layers_table_matches_cost_to_dict(reports):
    df = tables.layers_table(reports)
    assert len(df) == sum(len(r.layers) for r in reports)
    for i, r in enumerate(reports):
        g = df[df["report"] == i]
        for (_, row), l in zip(g.iterrows(), cost.to_dict(r)["layers"]):
            assert (row["system"], row["layer"], row["name"], row["kind"]) == (r.system, l["layer"], l["name"], l["kind"])
            assert (row["macs_per_inference"], row["arrays"], row["utilization"]) == (l["macs"], l["arrays"], l["utilization"])
            assert (row["energy_per_inference_J"], row["latency_s"]) == (l["energy_J"], l["latency_s"])


def awkward_table(seed=7):
    rng = np.random.default_rng(seed)
    n = 64
    x = rng.normal(size=n) * 10.0 ** rng.integers(-300, 300, n)
    x[:9] = [5e-324, -0.0, np.inf, -np.inf, np.nan, np.finfo(float).max, 0.1, np.finfo(float).tiny, 1 / 3]
    s = ["", "nan", "%missing%", "a,b", 'q"uote', "line\nbreak", "é ☃ 漢", "  spaced  ", "#hash"]
    return pd.DataFrame({
        "point": np.arange(n, dtype=np.int64),
        "adc.bits": rng.integers(-2**63, 2**63 - 1, n, dtype=np.int64, endpoint=True),
        "u": np.full(n, 2**64 - 1, dtype=np.uint64),
        "x_J": x, "y": rng.random(n),
        "ok": rng.random(n) < 0.5,
        "cell": [s[i % len(s)] for i in range(n)],
    })


def same_bits(a, b):
    assert list(a.columns) == list(b.columns)
    assert list(a.dtypes) == list(b.dtypes)
    for c in a.columns:
        if a[c].dtype.kind == "f":
            assert np.array_equal(a[c].to_numpy().view(np.int64), b[c].to_numpy().view(np.int64)), c
        else:
            assert list(a[c]) == list(b[c]), c
    assert b.index.equals(pd.RangeIndex(len(b)))


@pytest.mark.parametrize("suffix", [".csv", ".h5"])
def test_files_round_trip_bit_exactly_with_provenance_and_units(tmp_path, suffix):
    df = awkward_table()
    prov = results.provenance()
    paths = tables.write_table(df, tmp_path / "t", provenance=prov, meta={"note": "test"})
    assert [Path(p).name for p in paths] == ["t.csv", "t.h5"]
    back, meta = tables.read_table(tmp_path / ("t" + suffix))
    same_bits(df, back)
    assert meta["provenance"] == prov and meta["meta"] == {"note": "test"}
    assert meta["units"] == {"x_J": "J"} and meta["columns"] == list(df.columns)
    assert sorted(os.listdir(tmp_path)) == ["t.csv", "t.h5"]  # no temporaries left


def test_plain_pandas_reads_both_files(tmp_path, points):
    df = tables.chips_table(points)
    csv, h5 = tables.write_table(df, tmp_path / "chips")
    same_bits(df, pd.read_hdf(h5))
    plain = pd.read_csv(csv, skiprows=1)
    assert list(plain.columns) == list(df.columns) and plain["accuracy"].tolist() == df["accuracy"].tolist()
    assert open(csv).readline().startswith(tables.CSV_MARK)


def test_an_empty_table_round_trips(tmp_path):
    df = awkward_table().iloc[:0].reset_index(drop=True)
    tables.write_table(df, tmp_path / "e")
    for suffix in (".csv", ".h5"):
        same_bits(df, tables.read_table(tmp_path / ("e" + suffix))[0])


@pytest.mark.parametrize("fail_in", ["to_csv", "put"])
def test_a_failed_write_leaves_the_previous_pair_and_no_temporary(tmp_path, monkeypatch, fail_in):
    old = awkward_table(1)
    tables.write_table(old, tmp_path / "t")
    before = {n: (tmp_path / n).read_bytes() for n in ("t.csv", "t.h5")}

    def boom(self, *a, **k):
        if fail_in == "to_csv" and a and hasattr(a[0], "write"):
            a[0].write("half a table")
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(pd.DataFrame if fail_in == "to_csv" else pd.HDFStore, fail_in, boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        tables.write_table(awkward_table(2), tmp_path / "t")
    assert sorted(os.listdir(tmp_path)) == ["t.csv", "t.h5"]
    assert {n: (tmp_path / n).read_bytes() for n in before} == before


def test_bad_input_is_a_clear_error(tmp_path, points, reports):
    with pytest.raises(TypeError, match="StudyResult"):
        tables.chips_table("results.json")
    with pytest.raises(ValueError, match="empty"):
        tables.chips_table([])
    with pytest.raises(TypeError, match=r"results\[1\]: expected a StudyResult, got CostReport"):
        tables.chips_table([points[0], reports[0]])
    with pytest.raises(TypeError, match="CostReport"):
        tables.cost_table(points[0])
    with pytest.raises(ValueError, match="empty"):
        tables.layers_table([])
    with pytest.raises(ValueError, match="designs: expected a list of 3"):
        tables.cost_table(reports, designs=[{}])
    with pytest.raises(ValueError, match=r"designs\[0\]: \['tops'\] are also cost columns"):
        tables.cost_table(reports[:1], designs=[{"tops": 1}])
    with pytest.raises(ValueError, match="unknown suffix '.parquet'"):
        tables.read_table(tmp_path / "t.parquet")
    with pytest.raises(FileNotFoundError):
        tables.read_table(tmp_path / "none.h5")
    with pytest.raises(ValueError, match="without .csv/.h5"):
        tables.write_table(awkward_table(), tmp_path / "t.csv")
    with pytest.raises(TypeError, match="pandas.DataFrame"):
        tables.write_table({"a": [1]}, tmp_path / "t")
    with pytest.raises(TypeError, match="column 'm': an object column holds int 3"):
        tables.write_table(pd.DataFrame({"m": ["a", 3]}), tmp_path / "t")
    with pytest.raises(TypeError, match="column 'm': an object column holds a missing value"):
        tables.write_table(pd.DataFrame({"m": ["a", None]}), tmp_path / "t")
    with pytest.raises(TypeError, match="column 'c': dtype complex128"):
        tables.write_table(pd.DataFrame({"c": [1j]}), tmp_path / "t")
    with pytest.raises(ValueError, match="default index"):
        tables.write_table(pd.DataFrame({"a": [1, 2]}, index=[5, 6]), tmp_path / "t")
    (tmp_path / "plain.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not an mho table header"):
        tables.read_table(tmp_path / "plain.csv")
    assert sorted(os.listdir(tmp_path)) == ["plain.csv"]  # nothing written by the refused calls


# test_evaluator's config, sweeping a categorical parameter (cell names) without plots.
RUN = (GOOD.replace("test_images: 100", "test_images: 200")
       .replace("sweep: {param: adc.bits, values: [4, 6], chips: 1}",
                "sweep: {param: cell, values: [rram_neurosim_22nm, pcm_joshi2020], chips: 2}")
       .replace("output: {dir: out}", "output: {dir: out, plots: false}"))


def test_mho_run_writes_the_tables_in_its_result_set(tmp_path):
    assert "param: cell" in RUN and "plots: false" in RUN
    rec = cli.run(write_config(tmp_path, RUN), progress=False, out=open(os.devnull, "w"))
    out = tmp_path / "out"
    assert sorted(rec["result_files"]) == sorted(os.listdir(out))
    chips, meta = tables.read_table(out / "study_chips.h5")
    assert meta["provenance"] == rec["provenance"]
    same_bits(chips, tables.read_table(out / "study_chips.csv")[0])
    p0 = chips[chips["point"] == 0]
    assert p0["accuracy"].tolist() == rec["accuracy"]["pim_per_chip"]
    assert set(p0["cell"]) == {"rram_neurosim_22nm"}  # the config's own cell
    assert chips.groupby("point")["cell"].first().tolist() == ["rram_neurosim_22nm", "rram_neurosim_22nm", "pcm_joshi2020"]
    # Point 1 is the config's design again, so its chips are point 0's (same seeds).
    assert chips[chips["point"] == 1]["accuracy"].tolist() == p0["accuracy"].tolist()
    costs = tables.read_table(out / "study_cost.csv")[0]
    assert costs["system"].tolist() == ["pim", "digital"]
    for (_, row), key in zip(costs.iterrows(), ("pim", "digital")):
        d = rec["cost"][key]
        assert row["energy_total_per_inference_J"] == d["energy_total_per_inference_J"]
        assert row["tops_per_w"] == d["tops_per_w"] and row["area_total_mm2"] == d["area_total_mm2"]
    layers = tables.read_table(out / "study_layers.h5")[0]
    assert layers[layers["system"] == "pim"]["energy_per_inference_J"].tolist() == \
        [l["energy_J"] for l in rec["cost"]["pim"]["layers"]]
