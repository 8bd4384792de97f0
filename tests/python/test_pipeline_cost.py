"""Latency per component, weight duplication and the per-layer table of `mho cost`: the
terminal table carries every figure with its unit and agrees with the report; the result
files hold the same breakdown; replication 'auto' / a per-layer list reach the mapping."""
import io
import math

import pytest

import mho
from mho import cli, tables


def _cost(tmp_path, *args):
    out = io.StringIO()
    rec = cli._cost(cli.parser().parse_args(["cost", "--net", "lenet5", "--no-digital", *args]), out=out)
    return rec, out.getvalue()


def _rows(text, title):
    """{layer name: [numbers]} of the block of `text` under the line starting with `title`."""
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith(title))
    head, units = lines[i + 1].split(), lines[i + 2].split()
    rows = {}
    for line in lines[i + 4:]:
        if not line.strip():
            break
        cells = line.replace("<- pipeline cycle", "").split()
        rows[cells[0]] = cells[1:]
    return head, units, rows


def test_layers_table_prints_every_component_with_its_unit(tmp_path):
    rec, text = _cost(tmp_path, "--layers")
    layers = rec["cost"]["pim"]["layers"]
    tiled = [l for l in layers if l["arrays"] > 0]
    for title, key, scale, unit in (("energy / inference per layer (nJ)", "energy_by_component_J", 1e9, "nJ"),
                                    ("area per layer (mm2)", "area_by_component_m2", 1e6, "mm2"),
                                    ("latency / inference per layer (us)", "latency_by_component_s", 1e6, "us")):
        head, units, rows = _rows(text, title)
        parts = list(tiled[0][key])
        assert head[:2] == ["layer", "copies"] and head[2:2 + len(parts)] == [p[:9] for p in parts]
        assert units == [unit] * (len(parts) + 1)  # every figure column has its unit
        for l in (tiled if key != "latency_by_component_s" else layers):
            cells = rows[l["name"][:24]]
            assert cells[0] == (str(l["replication"]) if l["arrays"] else "-")
            for p, cell in zip(parts, cells[1:]):
                assert float(cell) == pytest.approx(l[key][p] * scale, rel=1e-3, abs=1e-300)
            total = l["latency_s"] if key == "latency_by_component_s" else sum(l[key].values())
            assert float(cells[1 + len(parts)]) == pytest.approx(total * scale, rel=1e-3)
    slowest = max(layers, key=lambda l: l["latency_s"])
    assert any(line.startswith(slowest["name"]) and "<- pipeline cycle" in line for line in text.splitlines())
    block = text[text.index("energy / inference per layer"):]
    assert max(len(line) for line in block.splitlines()) <= 160
    # Without --layers the breakdown is left out; the pipeline line is always there.
    _, plain = _cost(tmp_path)
    assert "per layer (nJ)" not in plain and "pipeline: copies per conv/linear layer" in plain


def test_layers_result_tables_hold_the_breakdown(tmp_path):
    stem = tmp_path / "lenet"
    rec, _ = _cost(tmp_path, "--tables", str(stem))
    df, meta = tables.read_table(str(stem) + "_layers.csv")
    h5, _ = tables.read_table(str(stem) + "_layers.h5")
    assert df.equals(h5)
    layers = rec["cost"]["pim"]["layers"]
    assert list(df["name"]) == [l["name"] for l in layers]
    for (_, row), l in zip(df.iterrows(), layers):
        assert row["replication"] == l["replication"]
        for k, v in l.get("latency_by_component_s", {}).items():
            assert row[f"latency_{k}_s"] == v
        for k, v in l.get("energy_by_component_J", {}).items():
            assert row[f"energy_{k}_J"] == v
        for k, v in l.get("area_by_component_m2", {}).items():
            assert row[f"area_{k}_mm2"] == v * 1e6
    assert meta["units"]["latency_buffer_s"] == "s" and meta["units"]["area_adcs_mm2"] == "mm2"
    cost, _ = tables.read_table(str(stem) + "_cost.h5")
    assert cost["energy_total_per_inference_J"][0] == rec["cost"]["pim"]["energy_total_per_inference_J"]


def test_given_and_auto_replication_reach_the_mapping(tmp_path):
    rec, text = _cost(tmp_path, "--replication", "3,1,1,2,1")
    tiled = [l for l in rec["cost"]["pim"]["layers"] if l["arrays"] > 0]
    assert [l["replication"] for l in tiled] == [3, 1, 1, 2, 1]
    assert "copies per conv/linear layer [3, 1, 1, 2, 1]" in text
    one, _ = _cost(tmp_path)
    area1 = one["cost"]["pim"]["area_total_mm2"]
    auto, text = _cost(tmp_path, "--replication", "auto", "--area-budget", str(2 * area1))
    p = auto["cost"]["pim"]
    assert p["area_total_mm2"] <= 2 * area1 * (1 + 1e-12)
    cycle = lambda r: max(l["latency_s"] for l in r["cost"]["pim"]["layers"])  # noqa: E731
    assert cycle(auto) < cycle(one)
    assert math.isclose(1 / p["throughput_inferences_per_s"], cycle(auto), rel_tol=1e-12)
    assert "area budget" in text


@pytest.mark.parametrize("args, message", [
    (("--replication", "3,x"), "--replication '3,x'"),
    (("--replication", "1,1"), "layer_replication"),
    (("--replication", "auto"), "area_budget_mm2"),
    (("--replication", "auto", "--area-budget", "1e-9"), "area_budget_mm2"),
    (("--replication", "0,1,1,1,1"), r"layer_replication\[0\]"),
])
def test_bad_replication_names_the_parameter(tmp_path, args, message):
    with pytest.raises(ValueError, match=message):
        _cost(tmp_path, *args)


def test_replication_twice_is_refused():
    spec = mho.study.default_spec()
    with pytest.raises(ValueError, match="give one"):
        mho.cost.pim("lenet5", spec, system=mho.PimSystemSpec(layer_replication=[1] * 5), replication={0: 2})


def test_a_measured_cost_refuses_copies_it_did_not_run():
    # The chip that ran has its own copies; a system asking for others is refused, not ignored.
    for system in (mho.PimSystemSpec(replication="auto", area_budget_mm2=100.0),
                   mho.PimSystemSpec(layer_replication=[2, 1, 1, 1, 1])):
        with pytest.raises(ValueError, match="measured cost"):
            mho.cost.measured(object(), system=system)


def _tile_buffer_us(tmp_path, system):
    import yaml
    d = tmp_path / "d.yaml"
    d.write_text(yaml.safe_dump({"network": "lenet5", "system": system, "digital": False}))
    rec = cli._cost(cli.parser().parse_args(["cost", "--design", str(d)]), out=io.StringIO())
    return [l["latency_by_component_s"]["tile_buffer"] * 1e6 for l in rec["cost"]["pim"]["layers"] if l["arrays"] > 0]


def test_tile_buffer_level_is_shared_by_copies_and_set_by_its_lines(tmp_path):
    # No tile level with one buffer level; with two, every tiled layer spends time in its tile's
    # buffers, which copies do not shorten (they sit in the same tile) and twice the lines per
    # clock halves (to whole clocks).
    assert all(t == 0 for t in _tile_buffer_us(tmp_path, {"buffer_levels": 1}))
    base = {"buffer_levels": 2, "clock_hz": 1e9, "tile_buffer_line_bits": 8}
    one = _tile_buffer_us(tmp_path, base)
    assert all(t > 0 for t in one)
    copies = _tile_buffer_us(tmp_path, {**base, "layer_replication": [2, 2, 1, 1, 1]})
    assert copies == one
    wide = _tile_buffer_us(tmp_path, {**base, "tile_input_lines_per_clock": 2, "tile_output_lines_per_clock": 2})
    for w, t in zip(wide, one):
        assert t / 2 <= w <= t / 2 + 2e-3  # at most one clock (1 ns) more per buffer from rounding up


@pytest.mark.parametrize("key", ["tile_row_arrays", "tile_col_arrays", "tile_buffer_line_bits",
                                 "tile_input_lines_per_clock", "tile_output_lines_per_clock"])
def test_bad_tile_buffer_key_names_the_parameter(key):
    with pytest.raises(ValueError, match=key):
        mho.cost.pim("lenet5", system=mho._core.PimSystemSpec(**{key: 0}))
