"""Evaluator from Python: cost API, result files, config validation, the `mho` CLI."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import mho
from mho import _core, cli, config, results

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
LENET = os.path.join(ROOT, "data", "models", "lenet5_mnist.h5")


def mho_cmd(*args):
    return subprocess.run([sys.executable, "-m", "mho", *args], capture_output=True, text=True, cwd=ROOT)


def small_spec(**kw):
    base = dict(rows=128, cols=128, cell="rram_neurosim_22nm", weight_bits=6,
                dac=mho.DacSpec(input_bits=8, signed_mode="unsigned"), adc=mho.AdcSpec(bits=6, columns_per_adc=8))
    base.update(kw)
    return mho.TileSpec(**base)


@pytest.mark.parametrize("command", [[], ["run"], ["cost"], ["zoo"]])
def test_every_command_has_help(command):
    p = mho_cmd(*command, "--help")
    assert p.returncode == 0, p.stderr
    assert "usage: mho" in p.stdout


def test_zoo_json_lists_every_network_with_macs_and_weights():
    p = mho_cmd("zoo", "--json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    assert [r["name"] for r in rows] == _core.zoo_names()
    for r in rows:
        n = _core.zoo_network(r["name"])
        assert r["macs"] == n.total_macs and r["weights"] == n.total_weights
    resnet = next(r for r in rows if r["name"] == "resnet50")
    assert abs(resnet["macs"] - 4.09e9) / 4.09e9 < 0.01  # published ResNet-50 figure


def test_cost_command_writes_round_tripping_files(tmp_path):
    j, h, png = tmp_path / "c.json", tmp_path / "c.h5", tmp_path / "c.png"
    p = mho_cmd("cost", "--net", "resnet50", "--array", "256x256", "--adc-bits", "6",
                "--json", str(j), "--h5", str(h), "--plot", str(png))
    assert p.returncode == 0, p.stderr
    assert "TOPS/W" in p.stdout and "PIM/digital" in p.stdout
    a, b = results.read_json(j), results.read_h5(h)
    assert a == b
    assert a["cost"]["pim"]["macs_per_inference"] == _core.zoo_network("resnet50").total_macs
    assert a["inputs"]["tech"]["sha256"] == results.sha256_file(mho.cost.tech_file())
    assert a["provenance"]["mho_version"] == mho.__version__
    assert png.stat().st_size > 10_000
    # The same numbers as the API.
    tech = mho.cost.load_tech("22nm")
    spec = mho.TileSpec(rows=256, cols=256, cell="rram_neurosim_22nm", weight_bits=8, bits_per_cell=2,
                        dac=mho.DacSpec(input_bits=8, mode="bitserial", signed_mode="unsigned"),
                        adc=mho.AdcSpec(bits=6, columns_per_adc=8))
    r = mho.cost.pim("resnet50", spec, tech=tech)
    assert a["cost"]["pim"]["energy_total_per_inference_J"] == pytest.approx(r.energy_total_J, rel=1e-12)


def test_cost_command_errors_name_the_option():
    p = mho_cmd("cost", "--net", "resnet51")
    assert p.returncode == 2 and "resnet51" in p.stderr and "resnet50" in p.stderr
    p = mho_cmd("cost", "--net", "lenet5", "--adc-bits", "12")
    assert p.returncode == 2 and "bits = 12" in p.stderr
    p = mho_cmd("cost", "--net", "lenet5", "--array", "256by256")
    assert p.returncode == 2 and "ROWSxCOLS" in p.stderr


def test_results_round_trip_json_and_hdf5(tmp_path):
    rec = {"seed": 3, "name": "x", "flag": True, "none": None, "vals": [1.5, 2.5], "ints": [1, 2],
           "mixed": ["a", 1], "nested": {"deep": {"e": 1e-12}}, "rows": [{"a": 1, "b": "q"}, {"a": 2, "b": "r"}],
           "arr": np.arange(3.0)}
    plain = json.loads(json.dumps(results._plain(rec)))
    assert results.read_json(results.write_json(tmp_path / "r.json", rec)) == plain
    assert results.read_h5(results.write_h5(tmp_path / "r.h5", rec)) == plain


def test_failed_write_leaves_no_file(tmp_path):
    with pytest.raises(TypeError):
        results.write_json(tmp_path / "bad.json", {"x": object()})
    assert list(tmp_path.iterdir()) == []


def test_measured_counts_give_the_shape_cost():
    r = mho.study.evaluate(LENET, spec=small_spec(), chips=1, limit=40, calib_samples=64, progress=False,
                           keep_pim=True)
    tech = mho.cost.load_tech("22nm")
    measured = mho.cost.measured(r.pim, tech=tech)
    every_row = _core.PimSystemSpec(input_activity=1.0)
    shaped = _core.evaluate_pim(r.pim.network, r.pim.mapping, tech, every_row)
    m, b = dict(measured.energy_J), dict(shaped.energy_J)
    # Tile action counts equal the shape counts; the cells' energy is measured, not bounded,
    # and the DACs' is the rows the tiles drove with a nonzero code.
    for part in m:
        if part not in ("arrays", "dacs", "wires"):  # the driven rows charge word lines too
            assert m[part] == pytest.approx(b[part], rel=1e-12), part
    assert 0 < m["arrays"] < b["arrays"]
    assert m["arrays"] == pytest.approx(r.pim.counters["cell_energy_J"] / r.pim.inferences, rel=1e-12)
    c = r.pim.counters
    assert 0 < c["driven_rows"] < c["dac_conversions"]
    # small_spec's DAC drives each row in one 8-bit multilevel pass.
    assert m["dacs"] == pytest.approx(c["driven_rows"] / r.pim.inferences * tech.dac(8)["energy_J"], rel=1e-12)
    # The same activity from shapes gives the same DAC energy.
    activity = c["driven_rows"] / c["dac_conversions"]
    same = _core.evaluate_pim(r.pim.network, r.pim.mapping, tech, _core.PimSystemSpec(input_activity=activity))
    assert dict(same.energy_J)["dacs"] == pytest.approx(m["dacs"], rel=1e-9)
    assert r.pim.mapping.arrays == sum(l.arrays for l in measured.layers)


def test_pim_layers_carry_their_component_breakdown():
    rep = mho.cost.pim("lenet5", small_spec(), system=_core.PimSystemSpec(adc_type="sense_amp"))
    d = mho.cost.to_dict(rep)
    assert set(d) >= {"energy_total_per_inference_J", "area_total_mm2", "tops_per_w", "layers"}
    tiled = [l for l in d["layers"] if l["arrays"] > 0]
    assert tiled
    for l in tiled:
        assert sum(l["energy_by_component_J"].values()) == pytest.approx(l["energy_J"], rel=1e-12)
        assert set(l["latency_by_component_s"]) == {"sensing", "adc", "digital", "buffer", "tile_buffer", "interconnect"}
        assert l["replication"] == 1
        assert l["activity"] == 0.5
    # The layers' ADC areas add up to the chip's.
    assert sum(l["area_by_component_m2"]["adcs"] for l in tiled) == pytest.approx(d["area_m2"]["adcs"], rel=1e-12)
    text = mho.cost.layer_table(rep)
    assert "adc" in text and "interconn" in text and tiled[0]["name"] in text
    with pytest.raises(ValueError, match="input_activity"):
        mho.cost.pim("lenet5", small_spec(), system=_core.PimSystemSpec(input_activity=2.0))


def test_energy_per_batch_is_linear():
    tech = mho.cost.load_tech("65nm")
    one = mho.cost.pim("lenet5", small_spec(), tech=tech)
    for b in (2, 16, 1000):
        r = mho.cost.pim("lenet5", small_spec(), tech=tech, system=mho.PimSystemSpec(batch=b))
        assert r.energy_per_batch_J == pytest.approx(b * one.energy_total_J, rel=1e-12)


def write_config(tmp_path, text):
    p = tmp_path / "study.yaml"
    p.write_text(text.replace("MODEL", LENET))
    return p


GOOD = """
model: MODEL
chips: 2
seed: 4
test_images: 100
calib_samples: 64
hardware: {rows: 128, cols: 128, cell: rram_neurosim_22nm, weight_bits: 6,
           dac: {input_bits: 8, signed_mode: unsigned}, adc: {bits: 6, columns_per_adc: 8}}
tech: {node: 65nm}
digital: {pe_rows: 8, pe_cols: 8}
sweep: {param: adc.bits, values: [4, 6], chips: 1}
output: {dir: out}
"""


def test_run_config_reports_accuracy_and_cost_of_the_same_chip(tmp_path, capsys):
    rec = cli.run(write_config(tmp_path, GOOD), progress=False)
    text = capsys.readouterr().out
    assert "PIM accuracy" in text and "TOPS/W" in text and "adc.bits" in text
    out = tmp_path / "out"
    names = sorted(os.listdir(out))
    assert names == sorted(["study.h5", "study.json", "study_cost.png", "study_sweep.png"]
                           + [f"study_{t}.{x}" for t in ("chips", "cost", "layers") for x in ("csv", "h5")])
    j, h = results.read_json(out / "study.json"), results.read_h5(out / "study.h5")
    assert j == h
    assert j["seed"] == 4 and j["provenance"]["mho_version"] == mho.__version__
    assert j["inputs"]["model"]["sha256"] == results.sha256_file(LENET)
    assert len(j["inputs"]["dataset"]["files"]) >= 1
    assert j["config"]["tech"] == {"node": "65nm"}
    assert len(j["accuracy"]["pim_per_chip"]) == 2
    assert j["cost"]["pim"]["energy_total_per_inference_J"] > 0
    assert j["mapping"]["arrays"] == sum(l["arrays"] for l in j["cost"]["pim"]["layers"])
    assert rec["accuracy"] == j["accuracy"]


@pytest.mark.parametrize("edit, key", [
    (("chips: 2", "chipz: 2"), "chipz"),
    (("chips: 2", "chips: two"), "chips"),
    (("chips: 2", "chips: 0"), "chips"),
    (("rows: 128", "rows: -1"), "hardware.rows"),
    (("rows: 128", "rowz: 128"), "hardware.rowz"),
    (("bits: 6, columns_per_adc", "bits: 60, columns_per_adc"), "hardware.adc.bits"),
    (("cell: rram_neurosim_22nm", "cell: unobtainium"), "hardware.cell"),
    (("node: 65nm", "node: 3nm"), "tech.node"),
    (("pe_rows: 8", "pe_rows: 0"), "digital.pe_rows"),
    (("values: [4, 6]", "values: []"), "sweep.values"),
    (("output: {dir: out}", "output: {folder: out}"), "output.folder"),
])
def test_bad_config_names_the_key(tmp_path, edit, key):
    p = write_config(tmp_path, GOOD.replace(*edit))
    with pytest.raises(ValueError, match=f"config key '{key}'"):
        config.load(p)
    assert not (tmp_path / "out").exists()  # nothing written


def test_missing_files_are_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        config.load(tmp_path / "none.yaml")
    p = write_config(tmp_path, GOOD.replace(LENET, "no_such_model.h5").replace("MODEL", "no_such_model.h5"))
    with pytest.raises(FileNotFoundError, match="model"):
        config.load(p)
    with pytest.raises(FileNotFoundError):
        mho.cost.load_tech("22nm", tmp_path / "none.yaml")


def test_cli_run_reports_a_bad_config_as_an_error(tmp_path):
    p = write_config(tmp_path, GOOD.replace("chips: 2", "chips: -3"))
    r = mho_cmd("run", str(p))
    assert r.returncode == 2
    assert "config key 'chips'" in r.stderr


def test_digital_report_says_which_weights_stream_and_keeps_its_keys():
    tech = mho.cost.load_tech("22nm")
    spec = mho.DigitalSpec(weight_storage="fixed", weight_storage_bytes=12000, dataflow="row_stationary")
    r = mho.cost.digital("lenet5", spec=spec, tech=tech)
    d = mho.cost.to_dict(r)
    for key in ("energy_total_per_inference_J", "area_total_mm2", "tops_per_w", "energy_per_inference_J",
                "latency_s", "layers"):
        assert key in d
    assert d["dataflow"] == "row_stationary" and d["weight_storage_bytes"] == 12000
    weighted = [l for l in d["layers"] if l["kind"] in ("conv2d", "linear")]
    # First fit in network order (see DigitalCost.ResidencyIsFirstFitInNetworkOrder).
    assert [l["weights_resident"] for l in weighted] == [True, True, False, False, True]
    assert weighted[2]["dram_bytes"] == 48000 and weighted[0]["dram_bytes"] == 0
    assert d["dram_bytes_per_inference"] == pytest.approx(sum(l["dram_bytes"] for l in d["layers"]) + 794)
    line = mho.cost.digital_summary(r)
    assert "row_stationary" in line and "3 of 5 weight layers resident" in line and "linear" in line
    assert "digital: row_stationary" in mho.cost.table(mho.cost.pim("lenet5", small_spec(), tech=tech), r)
    with pytest.raises(ValueError, match="DigitalSpec.dataflow"):
        mho.cost.digital("lenet5", spec=mho.DigitalSpec(dataflow="input_stationary"), tech=tech)
