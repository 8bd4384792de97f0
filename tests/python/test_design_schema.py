"""docs/design_schema.md cannot drift from the loader: it documents exactly the keys that
config.design() and config.load() accept, its defaults column is the default design, and its
examples load."""
import os
import re

import pytest

import mho
from mho import config, specs

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "design_schema.md")
ROW = re.compile(r"^\| `([A-Za-z_0-9.]+)` \|([^|]*)\|([^|]*)\|")


@pytest.fixture(scope="module")
def doc():
    with open(DOC, encoding="utf-8") as f:
        return f.read()


def _rows(doc):
    rows = {}
    for line in doc.splitlines():
        m = ROW.match(line)
        if m:
            assert m.group(1) not in rows, f"{m.group(1)} documented twice"
            rows[m.group(1)] = m.group(3).strip()
    return rows


def test_the_doc_names_exactly_the_keys_the_loader_accepts(doc):
    documented, accepted = set(_rows(doc)), set(config.schema_keys())
    assert not accepted - documented, f"accepted but not documented: {sorted(accepted - documented)}"
    assert not documented - accepted, f"documented but not accepted: {sorted(documented - accepted)}"


def test_schema_keys_are_what_the_loader_accepts():
    # Every design key is accepted at its default design value; one level deeper is unknown.
    dflt = config.default_design()
    for key in config.schema_keys():
        section, _, rest = key.partition(".")
        if section not in config.DESIGN_SECTIONS or key in ("hardware.cell.base", "hardware.cap.base"):
            continue
        obj = {"hardware": dflt["hardware"], "system": dflt["system"], "digital": dflt["digital"],
               "tech": {"node": dflt["tech_node"], "file": mho.cost.tech_file(), "components": {}}}[section]
        for part in rest.split("."):
            obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
        value = obj.to_dict() if hasattr(obj, "to_dict") else obj
        raw = value
        for part in reversed(key.split(".")):
            raw = {part: raw}
        config.design(raw)
        bad = {"zz_not_a_key": 1} if isinstance(value, dict) else None
        if bad is not None:
            raw = bad
            for part in reversed(key.split(".")):
                raw = {part: raw}
            with pytest.raises(ValueError, match=re.escape(f"config key '{key}.zz_not_a_key': unknown")):
                config.design(raw)


def test_the_defaults_column_is_the_default_design(doc):
    d = config.default_design()
    specs_of = {"hardware": d["hardware"], "system": d["system"], "digital": d["digital"]}
    checked = 0
    for key, default in _rows(doc).items():
        section, _, rest = key.partition(".")
        m = re.fullmatch(r"`([^`]*)`", default)
        if section not in specs_of or not m:
            continue
        obj = specs_of[section]
        for part in rest.split("."):
            obj = getattr(obj, part)
        want = obj.name if hasattr(obj, "fields") else obj
        import yaml
        got = yaml.load(m.group(1), Loader=specs.yaml_loader())
        if want == "" and got is None:
            got = ""
        assert got == want and type(got) is type(want), f"{key}: the doc says {m.group(1)}, the default design has {want!r}"
        checked += 1
    assert checked > 80
    assert _rows(doc)["tech.node"] == f"`{d['tech_node']}`"


def _yaml_blocks(doc):
    return re.findall(r"```yaml\n(.*?)```", doc, flags=re.S)


def test_the_examples_load(doc):
    import yaml
    blocks = _yaml_blocks(doc)
    assert len(blocks) == 3
    layers = config.design(yaml.load(blocks[0], Loader=specs.yaml_loader()))
    assert [p for p, _ in layers.layers] == ["conv2d:0", "linear:11", mho.layer_rules.ModuleType("nn.Linear")]
    assert layers.layers[2][1].dac.input_bits == 6 and layers.layers[2][1].adc.bits == 8
    full = config.design(yaml.load(blocks[1], Loader=specs.yaml_loader()))
    assert set(yaml.safe_load(blocks[1])) == set(config.DESIGN_SECTIONS)  # every section
    assert full.tile.cell.name == "rram_intel_22nm_4b" and full.tile.cell.bits == 4
    assert full.tile.cell.g_max_S == mho.cell_preset("rram_intel_22nm").g_max_S
    assert full.tile.adc.bits == 6 and full.tech.node == "22nm"
    charge = config.design(yaml.load(blocks[2], Loader=specs.yaml_loader()))
    assert charge.tile.accumulation == "charge" and charge.tile.cap.mismatch_sigma == 0.01
    assert charge.tile.cap.c_unit_F == mho.cap_preset("sram_22nm_wang2022").c_unit_F


def test_the_doc_lists_the_tables_nodes(doc):
    import yaml
    with open(mho.cost.tech_file()) as f:
        nodes = yaml.load(f, Loader=specs.yaml_loader())["nodes"]
    row = next(line for line in doc.splitlines() if line.startswith("| `tech.node`"))
    assert re.findall(r"`(\d+nm)`", row.split("|")[4]) == sorted(nodes, key=lambda n: int(n[:-2]))


def test_the_config_module_points_to_the_doc():
    assert "docs/design_schema.md" in config.__doc__
