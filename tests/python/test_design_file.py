"""Design files (docs/design_schema.md): config.design() builds the whole design from a file or
mapping, cells are presets or custom parameters (`base:` plus overrides), every bad key at
any depth is named in full with what is allowed, and `mho run` / `mho cost --design` report
it in one line with exit status 2."""
import os
import re

import pytest
import yaml

import mho
from mho import cli, config

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def test_an_empty_mapping_is_the_default_design():
    d = config.design({})
    dflt = config.default_design()
    assert (d.tile, d.system, d.digital, d.tech.node) == (dflt["hardware"], dflt["system"], dflt["digital"],
                                                          dflt["tech_node"])


def test_a_cell_preset_by_name():
    d = config.design({"hardware": {"cell": "pcm_joshi2020", "bits_per_cell": 2}})
    assert d.tile.cell == mho.cell_preset("pcm_joshi2020")


def test_a_custom_cell_edits_its_base_preset():
    d = config.design({"hardware": {"cell": {"base": "rram_intel_22nm", "g_max_S": 2e-4, "bits": 4},
                                    "bits_per_cell": 2}})
    want = mho.cell_preset("rram_intel_22nm").replace(g_max_S=2e-4, bits=4)
    got = d.tile.cell
    assert got.replace(name=want.name, source=want.source) == want
    # no longer the preset: it says so, and what was edited
    assert got.name == "custom" and "rram_intel_22nm with g_max_S, bits set by the design" in got.source


def test_a_custom_cell_without_base_edits_the_default_designs_cell():
    d = config.design({"hardware": {"cell": {"v_read_V": 0.3, "name": "my_rram", "source": "lab data"}}})
    want = config.default_design()["hardware"].cell.replace(v_read_V=0.3, name="my_rram", source="lab data")
    assert d.tile.cell == want


def test_fields_that_constrain_each_other_may_come_in_any_order():
    # Raising g_min_S above the base's g_max_S one key at a time would fail half-way.
    d = config.design({"hardware": {"cell": {"base": "rram_neurosim_22nm", "g_min_S": 2e-5, "g_max_S": 5e-5}}})
    assert (d.tile.cell.g_min_S, d.tile.cell.g_max_S) == (2e-5, 5e-5)
    # bits_per_cell 1 for a 1-bit cell given after it
    d = config.design({"hardware": {"bits_per_cell": 1, "cell": "sram_8t_22nm"}})
    assert d.tile.cell.bits == 1


def test_a_custom_cell_from_a_file_and_the_python_api(tmp_path):
    f = tmp_path / "design.yaml"
    f.write_text("hardware:\n  cell: {base: pcm_joshi2020, g_max_S: 3.0e-5, stuck_at_min_prob: 1e-3}\n"
                 "  bits_per_cell: 2\ntech: {node: 65nm}\ndigital: false\n")
    d = config.design(f)
    assert d.tile.cell.g_max_S == 3e-5 and d.tile.cell.stuck_at_min_prob == 1e-3
    assert d.tech.node == "65nm" and d.digital is None
    assert config.design(str(f)).tile == d.tile


def test_a_relative_tech_file_is_relative_to_the_design_file(tmp_path):
    import shutil
    (tmp_path / "sub").mkdir()
    shutil.copy(mho.cost.tech_file(), tmp_path / "sub" / "my_tech.yaml")
    f = tmp_path / "sub" / "design.yaml"
    f.write_text("tech: {node: 130nm, file: my_tech.yaml}\n")
    d = config.design(f)
    assert d.tech.file == str(tmp_path / "sub" / "my_tech.yaml") and d.tech.node == "130nm"
    assert config.design_to_dict(d)["tech"] == {"node": "130nm", "file": d.tech.file}
    with pytest.raises(FileNotFoundError, match="config key 'tech.file'"):
        config.design({"tech": {"file": str(tmp_path / "none.yaml")}})


def test_design_round_trips_through_its_dict(tmp_path):
    d = config.design({"hardware": {"cell": {"base": "pcm_joshi2020", "g_max_S": 3e-5}, "bits_per_cell": 2,
                                    "accumulation": "current", "adc": {"bits": 6}},
                       "system": {"adc_type": "flash"}, "tech": {"node": "65nm"}, "digital": {"pe_rows": 8}})
    again = config.design(config.design_to_dict(d))
    assert again.tile == d.tile and again.system == d.system and again.digital == d.digital
    assert again.tech.node == d.tech.node and again.tech.file == d.tech.file
    f = tmp_path / "d.yaml"
    f.write_text(yaml.safe_dump(config.design_to_dict(d)))
    assert config.design(f).tile == d.tile


def test_design_edits_a_given_base():
    base = config.design({"hardware": {"rows": 128}, "digital": False})
    d = config.design({"hardware": {"cols": 64}}, base=base)
    assert (d.tile.rows, d.tile.cols, d.digital) == (128, 64, None)
    with pytest.raises(TypeError, match="design\\(base\\)"):
        config.design({}, base={"hardware": {}})
    with pytest.raises(TypeError, match="design\\(source\\)"):
        config.design(3)


@pytest.mark.parametrize("raw, key, allowed", [
    # top level
    ({"hardwar": {}}, "hardwar", "allowed: hardware, system, tech, digital"),
    ({"hardware": 3}, "hardware", "expected a mapping"),
    # one level down
    ({"hardware": {"rowz": 3}}, "hardware.rowz", "allowed: rows, cols"),
    ({"hardware": {"rows": "many"}}, "hardware.rows", "expected an integer"),
    ({"hardware": {"rows": 0}}, "hardware.rows", r"must be in \[1, 65536\]"),
    ({"hardware": {"encoding": "gray"}}, "hardware.encoding", "must be one of 'differential', 'offset'"),
    ({"hardware": {"accumulation": "magic"}}, "hardware.accumulation", "must be one of 'current', 'charge'"),
    ({"system": {"batch": 0}}, "system.batch", r"must be in \[1, "),
    ({"system": {"adc_type": "pipelined"}}, "system.adc_type", "the 22nm table has"),
    ({"digital": {"pe_rows": 2.5}}, "digital.pe_rows", "expected an integer"),
    ({"digital": True}, "digital", "or false"),
    ({"tech": {"node": "5nm"}}, "tech.node", "has 22nm, 65nm"),
    ({"tech": {"nod": "5nm"}}, "tech.nod", "allowed: node, file"),
    ({"tech": {"node": 22}}, "tech.node", "expected a node name"),
    ({"hardware": {"seed": 3}}, "hardware.seed", "a design has no seed"),
    # two levels down
    ({"hardware": {"adc": {"bitz": 3}}}, "hardware.adc.bitz", "allowed: bits, range"),
    ({"hardware": {"adc": {"bits": 30}}}, "hardware.adc.bits", r"must be in \[0, 24\]"),
    ({"hardware": {"adc": {"bits": 11}}}, "hardware.adc.bits", "the 22nm table has 1, 2"),
    ({"hardware": {"dac": {"mode": "pwm"}}}, "hardware.dac.mode", "must be one of"),
    ({"hardware": {"wires": {"r_row_ohm": -1}}}, "hardware.wires.r_row_ohm", ""),
    ({"hardware": {"cap": {"c_unit_F": 1}}}, "hardware.cap.c_unit_F", r"\[1e-18, 1e-09\]"),
    ({"hardware": {"cap": {"base": "nope"}}}, "hardware.cap.base", "presets: sram_22nm_wang2022"),
    ({"hardware": {"cell": "nope"}}, "hardware.cell", "presets: ideal, pcm_joshi2020"),
    ({"hardware": {"cell": 7}}, "hardware.cell", "expected a preset name"),
    ({"hardware": {"cell": {"g_max": 1e-5}}}, "hardware.cell.g_max", "allowed: name, source, g_min_S"),
    ({"hardware": {"cell": {"g_max_S": -1}}}, "hardware.cell.g_max_S", r"must be a finite number in \(0, 1\]"),
    ({"hardware": {"cell": {"g_max_S": "big"}}}, "hardware.cell.g_max_S", "expected a number"),
    ({"hardware": {"cell": {"prog_error": "lots"}}}, "hardware.cell.prog_error", "must be one of 'none'"),
    ({"hardware": {"cell": {"base": 3}}}, "hardware.cell.base", "presets: ideal"),
    ({"hardware": {"cell": {"base": "sram_8t_22nm"}, "bits_per_cell": 2}}, "hardware.bits_per_cell",
     "must be <= the cell's bits"),
    ({"hardware": {"accumulation": "charge", "weight_bits": 0, "cap": {"scheme": "c2c"}}}, "hardware.cap.scheme",
     "needs weight_bits > 0"),  # a tile's check on a nested field
    ({"hardware": {"accumulation": "charge", "wires": {"r_row_ohm": 1.0}}}, "hardware.wires",
     "charge accumulation does not model wire resistance"),
    # three levels down (an element of a list)
    ({"hardware": {"cell": {"prog_sigma": [1e-7, "x"]}}}, "hardware.cell.prog_sigma", r"prog_sigma\[1\]"),
    ({"system": {"layer_activity": [0.5, 2]}}, "system.layer_activity", r"layer_activity\[1\] = 2"),
])
def test_errors_name_the_full_key_and_what_is_allowed(raw, key, allowed):
    with pytest.raises(ValueError) as e:
        config.design(raw)
    msg = str(e.value)
    assert msg.startswith(f"config key '{key}': "), msg
    assert re.search(allowed, msg), msg


def _run(tmp_path, capsys, argv):
    status = cli.main(argv)
    err = capsys.readouterr().err
    return status, err


@pytest.mark.parametrize("text, key", [
    ("hardware: {cell: {base: rram_intel_22nm, g_max_S: -1}}\n", "hardware.cell.g_max_S"),
    ("hardware: {cell: {bitz: 2}}\n", "hardware.cell.bitz"),
    ("hardware: {adc: {bits: 2.5}}\n", "hardware.adc.bits"),
    ("system: {digital_lanes: 0}\n", "system.digital_lanes"),
    ("tech: {node: 3nm}\n", "tech.node"),
    ("hardware: [1, 2]\n", "hardware"),
])
def test_mho_cost_and_run_print_one_line_naming_the_key(tmp_path, capsys, text, key):
    f = tmp_path / "design.yaml"
    f.write_text(text)
    status, err = _run(tmp_path, capsys, ["cost", "--net", "lenet5", "--design", str(f)])
    assert status == 2 and f"config key '{key}'" in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    run = tmp_path / "run.yaml"
    model = os.path.join(ROOT, "data", "models", "lenet5_mnist.h5")
    run.write_text(f"model: {model}\n{text}output: {{dir: {tmp_path / 'out'}}}\n")
    status, err = _run(tmp_path, capsys, ["run", str(run), "--quiet"])
    assert status == 2 and f"config key '{key}'" in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


def test_mho_cost_costs_a_custom_cell(tmp_path):
    # The cells' read energy is v_read^2 G t_read per cell read: doubling v_read quadruples it.
    f = tmp_path / "design.yaml"
    f.write_text("hardware: {cell: {base: rram_neurosim_22nm, v_read_V: 1.1}}\ndigital: false\n")
    with open(os.devnull, "w") as null:
        rec = cli._cost(cli.parser().parse_args(["cost", "--net", "lenet5", "--design", str(f)]), out=null)
        base = cli._cost(cli.parser().parse_args(["cost", "--net", "lenet5", "--no-digital"]), out=null)
    assert mho.study.default_spec().cell.v_read_V == 0.55
    e, e0 = (r["cost"]["pim"]["energy_per_inference_J"]["arrays"] for r in (rec, base))
    assert e == pytest.approx(4 * e0, rel=1e-9)
