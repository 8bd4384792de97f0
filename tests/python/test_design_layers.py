"""Per-layer hardware in design files (the `layers` section, docs/design_schema.md): a file's
entries are the per-layer rules of mho.layer_rules, and give exactly the results those rules
give from Python, in `mho run` (accuracy, cost, design key) and `mho cost --design`; errors
name the entry's key; a design round-trips through its dict."""
import json
import os

import pytest
import yaml

import mho
from mho import cli, config, layer_rules

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
LENET = os.path.join(ROOT, "data", "models", "lenet5_mnist.h5")
# LeNet-5's conv/linear layers: conv2d:0, conv2d:3, linear:7, linear:9, linear:11.
LAYERS = [{"match": "conv2d:0", "digital": True}, {"match": "linear:11", "digital": True},
          {"match": "nn.Linear", "adc": {"bits": 6}, "dac": {"input_bits": 6}}]


def python_rules(seed=1):
    """The Python rules LAYERS stands for, on the default design's tile with 4-column ADCs."""
    tile = mho.study.default_spec().replace(seed=seed)
    tile = tile.replace(adc=tile.adc.replace(columns_per_adc=4))
    lin = tile.replace(adc=tile.adc.replace(bits=6), dac=tile.dac.replace(input_bits=6))
    return [("conv2d:0", "digital"), ("linear:11", "digital"), (layer_rules.ModuleType("nn.Linear"), lin),
            ("*", tile)]


def design_raw():
    return {"hardware": {"adc": {"columns_per_adc": 4}}, "layers": [dict(e) for e in LAYERS]}


def test_a_design_files_layers_are_the_python_rules():
    d = config.design(design_raw())
    assert d.hardware == python_rules()
    assert d.layers == python_rules()[:-1] and d.tile == python_rules()[-1][1]
    assert config.design({}).hardware == mho.study.default_spec() and config.design({}).layers is None
    net = mho._core.load_model(LENET)[0]
    hw = layer_rules.resolve(net, d.hardware)
    assert hw.digital == {0, 11} and set(hw.layer_specs) == {7, 9}


def test_a_module_type_by_name_matches_as_the_torch_type():
    torch = pytest.importorskip("torch")
    net = mho._core.load_model(LENET)[0]
    tile = mho.study.default_spec()
    for name, cls in (("nn.Linear", torch.nn.Linear), ("nn.Conv2d", torch.nn.Conv2d), ("nn.Conv1d", torch.nn.Conv1d)):
        by_name = layer_rules.resolve(net, [(layer_rules.ModuleType(name), "digital"), ("*", tile)])
        by_type = layer_rules.resolve(net, [(cls, "digital"), ("*", tile)])
        assert by_name.digital == by_type.digital and by_name.digital
    with pytest.raises(ValueError, match="module type 'nn.ReLU': expected one of nn.Linear, nn.Conv1d, nn.Conv2d"):
        layer_rules.ModuleType("nn.ReLU")


def _config(tmp_path, extra=""):
    f = tmp_path / "study.yaml"
    f.write_text(f"model: {LENET}\nchips: 2\nseed: 1\ntest_images: 200\ncalib_samples: 128\n"
                 f"{yaml.safe_dump(design_raw())}{extra}output: {{dir: {tmp_path / 'out'}, plots: false}}\n")
    return f


def test_mho_run_with_layers_gives_the_python_rules_results(tmp_path):
    f = _config(tmp_path, "digital: false\nsweep: {param: adc.columns_per_adc, values: [8], chips: 1}\n")
    with open(os.devnull, "w") as null:
        rec = cli.run(f, progress=False, out=null)
    rules = python_rules()
    r = mho.study.evaluate(LENET, rules, chips=2, limit=200, calib_samples=128, progress=False, keep_pim=True)
    assert rec["accuracy"]["pim_per_chip"] == r.pim_accuracies  # the same chips, bit for bit
    c = config.load(f)
    assert rec["cost"]["pim"] == json.loads(json.dumps(mho.cost.to_dict(
        mho.cost.measured(r.pim, system=c["system"], tech=c["tech"]))))
    digital = {l["layer"]: l for l in rec["cost"]["pim"]["layers"] if l["layer"] in (0, 11)}
    assert all(l["arrays"] == 0 and l["energy_by_component_J"]["digital"] > 0 for l in digital.values())
    # The sweep edits every tile of the rules, as mho.study.sweep does.
    s = mho.study.sweep(LENET, "adc.columns_per_adc", [8], spec=rules, chips=1, limit=200, calib_samples=128,
                        progress=False)
    assert rec["sweep"]["pim_mean"] == [s[0].mean]
    # The design key covers the per-layer hardware: the record's is the chips table's point 0,
    # and differs from the uniform design's.
    import pandas as pd
    chips = pd.read_csv(tmp_path / "out" / "study_chips.csv", comment="#")
    assert chips[chips.point == 0].design_key.unique().tolist() == [rec["design_key"]]
    assert len(chips.design_key.unique()) == 2
    uniform = dict(c, layer_hw=layer_rules.Hardware(c["spec"]))
    assert mho.specs.design_key(config.study_design(uniform)) != rec["design_key"]
    assert rec["design"]["layers"] == config.layers_to_list(c["layers"])
    assert "layer 0 digital; layer 11 digital" in rec["hardware"]["layers"]


def test_mho_cost_design_with_layers_costs_the_python_rules(tmp_path, capsys):
    f = tmp_path / "design.yaml"
    f.write_text(yaml.safe_dump(dict(design_raw(), network=LENET)))
    out = tmp_path / "cost.json"
    assert cli.main(["cost", "--design", str(f), "--layers", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "conv2d:0 (layer 0)  digital" in text and "linear:11 (layer 11)  digital" in text
    assert "linear:7 (layer 7)  TileSpec(" in text and "bits=6" in text
    assert any(line.startswith("conv2d:0") and " dig " in line for line in text.splitlines())
    rec = json.loads(out.read_text())
    c = config.default_design()
    want = mho.cost.pim(LENET, python_rules(), system=c["system"], tech=mho.cost.load_tech("22nm"))
    assert rec["cost"]["pim"] == json.loads(json.dumps(mho.cost.to_dict(want)))
    assert rec["design"]["layers"][0] == {"match": "conv2d:0", "digital": True}
    assert rec["hardware"]["layers"]["conv2d:0"] == "digital"
    uniform = tmp_path / "uniform.json"
    assert cli.main(["cost", "--net", LENET, "--columns-per-adc", "4", "--json", str(uniform)]) == 0
    assert json.loads(uniform.read_text())["design_key"] != rec["design_key"]


def test_design_with_layers_round_trips_through_its_dict(tmp_path):
    raw = design_raw()
    raw["layers"].append({"match": "features.*", "cell": {"base": "pcm_joshi2020", "g_max_S": 3e-5}, "rows": 128})
    d = config.design(raw)
    again = config.design(config.design_to_dict(d))
    assert again.layers == d.layers and again.tile == d.tile and again.hardware == d.hardware
    f = tmp_path / "d.yaml"
    f.write_text(yaml.safe_dump(config.design_to_dict(d)))
    assert config.design(f).hardware == d.hardware
    # A base with layers keeps them for edits outside the tile, and refuses tile edits.
    assert config.design({"system": {"batch": 4}}, base=d).layers == d.layers
    with pytest.raises(ValueError, match="config key 'layers': the base design has per-layer rules"):
        config.design({"hardware": {"rows": 64}}, base=d)


@pytest.mark.parametrize("layers, key, allowed", [
    ({"match": "*"}, "layers", "expected a list of {match:"),
    ([], "layers", "expected a list of {match:"),
    (["conv2d:0"], "layers[0]", "expected a mapping {match: ..., digital: true"),
    ([{"digital": True}], "layers[0].match", "expected a layer-name glob"),
    ([{"match": "*", "digital": "yes"}], "layers[0].digital", "expected true"),
    ([{"match": "*", "digital": True, "adc": {"bits": 4}}], "layers[0].adc", "a digital layer has no tile"),
    ([{"match": "a"}, {"match": "*", "adc": {"bitz": 4}}], "layers[1].adc.bitz", "unknown; allowed:"),
    ([{"match": "*", "adc": {"bits": 0}}], "layers[0].adc.bits", ""),
    ([{"match": "*", "adc": {"bits": 13}}], "layers[0].adc.bits", "the 22nm table has"),
    ([{"match": "*", "seed": 3}], "layers[0].seed", "a layer has no seed"),
    ([{"match": "*", "zz": 1}], "layers[0].zz", "unknown; allowed: match, digital, rows"),
])
def test_errors_name_the_entrys_key(layers, key, allowed):
    with pytest.raises(ValueError, match=rf"config key '{__import__('re').escape(key)}': .*"
                                         rf"{__import__('re').escape(allowed)}"):
        config.design({"layers": layers})


@pytest.mark.parametrize("extra, key, allowed", [
    ("layers: [{match: 'conv2d:9', digital: true}]\n", "layers[0].match",
     "'conv2d:9' matches none of the network's conv/linear layers (conv2d:0, conv2d:3"),
    ("layers: [{match: '*', digital: true}]\n", "layers", "every conv/linear layer is digital"),
    ("layers: [{match: 'linear:*', adc: {bits: 6}}]\nsweep: {param: adc.bits, values: [4]}\n", "sweep.param",
     "'adc.bits' changes adc.bits, which layers[0] sets too"),
    ("layers: [{match: 'linear:*', cell: pcm_joshi2020}]\nsweep: {param: read_noise_scale, values: [2]}\n",
     "sweep.param", "changes cell, which layers[0] sets too"),
])
def test_mho_run_refuses_with_one_line_naming_the_key(tmp_path, capsys, extra, key, allowed):
    f = tmp_path / "run.yaml"
    f.write_text(f"model: {LENET}\n{extra}output: {{dir: {tmp_path / 'out'}}}\n")
    assert cli.main(["run", str(f), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"config key '{key}': " in err and allowed in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


def test_a_sweep_of_a_parameter_no_entry_sets_is_allowed(tmp_path):
    f = tmp_path / "run.yaml"
    f.write_text(f"model: {LENET}\nlayers: [{{match: 'linear:*', adc: {{bits: 6}}}}]\n"
                 f"sweep: {{param: cell.prog_sigma, values: [[0.01]]}}\noutput: {{dir: {tmp_path}}}\n")
    c = config.load(f)
    assert c["layer_hw"].layer_specs[7].adc.bits == 6


def test_mho_cost_and_sweep_and_validate_refuse_what_they_cannot_do(tmp_path, capsys):
    f = tmp_path / "design.yaml"
    f.write_text(yaml.safe_dump(design_raw()))
    assert cli.main(["cost", "--net", LENET, "--design", str(f), "--adc-bits", "4"]) == 2
    err = capsys.readouterr().err
    assert "--adc-bits: the design file" in err and "has per-layer rules (layers)" in err
    assert cli.main(["cost", "--net", "lenet5", "--design", str(f)]) == 2  # the zoo's names are conv2d0, ...
    assert "config key 'layers[0].match': 'conv2d:0' matches none" in capsys.readouterr().err
    from mho import sweep_config
    with pytest.raises(ValueError, match="config key 'layers': per-layer rules are not supported by mho sweep"):
        sweep_config.load_sweep({"model": LENET, **design_raw(), "sweep": {"grid": {"adc.bits": [4, 6]}}})
    from mho import validate
    pub = os.path.join(ROOT, "examples", "published")
    macro = os.path.join(pub, sorted(p for p in os.listdir(pub) if p.endswith(".yaml"))[0])
    raw = config._read(macro)
    raw["layers"] = [{"match": "*", "digital": True}]
    g = tmp_path / "macro.yaml"
    g.write_text(yaml.safe_dump(raw))
    with pytest.raises(ValueError, match="config key 'layers': a published macro is one array design"):
        validate.load(os.fspath(g))


def test_the_example_config_loads_with_first_and_last_layers_digital():
    c = config.load(os.path.join(ROOT, "examples", "configs", "lenet5_layers.yaml"))
    assert c["layer_hw"].digital == {0, 11} and not c["layer_hw"].layer_specs
    assert c["spec"].adc.bits == 8 and c["sweep"]["param"] == "adc.bits"
