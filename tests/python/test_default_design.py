"""One default design: mho.study.default_spec(), the keys a config leaves out, `mho cost`
without options and the example config are the same design (data/default_design.yaml);
`mho cost --design FILE` costs a design file, options edit it, errors name the file and key."""
import io
import json
import os

import pytest

import mho
from mho import cli, config

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EXAMPLE = os.path.join(ROOT, "examples", "configs", "lenet5_mnist.yaml")
LENET = os.path.join(ROOT, "data", "models", "lenet5_mnist.h5")


def test_the_example_config_is_the_default_design():
    c = config.load(EXAMPLE)
    d = config.default_design()
    assert c["spec"] == mho.study.default_spec() == d["hardware"]
    assert c["system"] == d["system"] and c["digital"] == d["digital"] and c["tech"].node == d["tech_node"]


def test_a_config_without_hardware_is_the_default_design(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"model: {LENET}\nseed: 1\ndigital: {{}}\noutput: {{dir: out}}\n")
    c = config.load(cfg)
    assert c["spec"] == mho.study.default_spec() and c["digital"] == config.default_design()["digital"]
    cfg.write_text(f"model: {LENET}\nseed: 4\nhardware: {{adc: {{bits: 6}}}}\noutput: {{dir: out}}\n")
    d = mho.study.default_spec()
    assert config.load(cfg)["spec"] == d.replace(adc=d.adc.replace(bits=6), seed=4)  # columns_per_adc kept


def _cost_record(tmp_path, *args):
    j = tmp_path / "c.json"
    out = io.StringIO()
    rec = cli._cost(cli.parser().parse_args(["cost", "--net", "lenet5", "--json", str(j), *args]), out=out)
    return rec, out.getvalue()


def test_mho_cost_without_options_costs_the_default_design(tmp_path):
    rec, text = _cost_record(tmp_path)
    d = config.default_design()
    assert mho.TileSpec.from_dict(rec["design"]["tile"]) == d["hardware"]
    assert mho.PimSystemSpec.from_dict(rec["design"]["system"]) == d["system"]
    assert mho.DigitalSpec.from_dict(rec["design"]["digital"]) == d["digital"]
    assert rec["hardware"]["node"] == d["tech_node"]
    assert "design costed" in text and repr(d["hardware"]) in text  # it prints what it costed


def test_mho_cost_design_file_then_options(tmp_path):
    f = tmp_path / "design.yaml"
    f.write_text("hardware: {rows: 128, cols: 128, adc: {bits: 6}}\nsystem: {adc_type: flash}\n"
                 "tech: {node: 65nm}\ndigital: {pe_rows: 8, pe_cols: 8}\n")
    rec, text = _cost_record(tmp_path, "--design", str(f), "--adc-bits", "5")
    tile = mho.TileSpec.from_dict(rec["design"]["tile"])
    d = mho.study.default_spec()
    assert tile == d.replace(rows=128, cols=128, adc=d.adc.replace(bits=5))  # the option wins
    assert rec["design"]["system"]["adc_type"] == "flash" and rec["hardware"]["node"] == "65nm"
    assert rec["design"]["digital"]["pe_rows"] == 8
    assert f"--design {f}" in text


@pytest.mark.parametrize("text, message", [
    ("hardware: {adc: {bitz: 3}}\n", r"--design .*: config key 'hardware.adc.bitz': unknown"),
    ("hardware: {seed: 3}\n", r"hardware.seed"),
    ("tech: {node: 65nm, file: x}\n", r"tech.file"),
    ("hardwar: {}\n", r"config key 'hardwar': unknown"),
])
def test_mho_cost_design_file_errors_name_the_key(tmp_path, capsys, text, message):
    f = tmp_path / "design.yaml"
    f.write_text(text)
    assert cli.main(["cost", "--net", "lenet5", "--design", str(f)]) == 2
    err = capsys.readouterr().err
    assert __import__("re").search(message, err), err
    assert "Traceback" not in err


def test_mho_cost_design_file_missing(capsys, tmp_path):
    assert cli.main(["cost", "--net", "lenet5", "--design", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml" in capsys.readouterr().err


@pytest.mark.parametrize("net", ["lenet5", "resnet50"])
def test_iso_area_and_iso_throughput_size_the_digital_array(net):
    from mho import cost
    p = cost.pim(net, mho.study.default_spec())
    base = mho.DigitalSpec()
    s, r, note = cost.normalized_digital(net, p, base, "iso-area")
    n = s.pe_rows
    assert s.pe_cols == n and s.replace(pe_rows=16, pe_cols=16) == base  # only the MAC array changed
    assert r.area_total_m2 <= p.area_total_m2 and "iso-area" in note
    if n < cost.MAX_PE_SIDE:  # the next size up would not fit
        assert cost.digital(net, spec=s.replace(pe_rows=n + 1, pe_cols=n + 1)).area_total_m2 > p.area_total_m2
    s, r, note = cost.normalized_digital(net, p, base, "iso-throughput")
    assert r.throughput_per_s >= p.throughput_per_s and "iso-throughput" in note
    s_own, r_own, _ = cost.normalized_digital(net, p, base, "own")
    assert s_own == base and r_own.energy_total_J == cost.digital(net, spec=base).energy_total_J
    with pytest.raises(ValueError, match="normalization = 'iso-power'"):
        cost.normalized_digital(net, p, base, "iso-power")


def test_mho_cost_normalize_prints_and_records_it(tmp_path):
    rec, text = _cost_record(tmp_path, "--normalize", "iso-area")
    assert rec["normalization"]["mode"] == "iso-area" and "iso-area: MAC array sized to" in text
    assert f"DigitalSpec(pe_rows={rec['design']['digital']['pe_rows']}" in text
