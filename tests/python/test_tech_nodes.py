"""The technology nodes of data/tech.yaml (7, 22, 28, 32, 65, 130 nm): every node loads and
costs, and every figure the table derives by a documented rule (its header) is what the rule
gives, recomputed here from the table's own source figures."""
import pytest

from mho import cli, cost, specs

NODES = ["7nm", "22nm", "28nm", "32nm", "65nm", "130nm"]
# The nodes whose ADC figures are survey points (Murmann survey regression), and those derived.
SURVEY = {"22nm", "65nm"}
DERIVED_ADC = {"7nm": "22nm", "28nm": "22nm", "32nm": "22nm", "130nm": "65nm"}
# Off-currents, A/um: low-standby-power (SRAM) and high-performance (logic) devices; NeuroSim
# V1.4's 7 nm LSTP FinFET figure where it has one (Technology.cpp currentlist_off[2]).
I_OFF_LSTP = {"7nm": 147e-12}
I_OFF_LSTP_RULE, I_OFF_HP_RULE = 100e-12, 100e-9


@pytest.fixture(scope="module")
def table():
    import yaml
    with open(cost.tech_file()) as f:
        return yaml.load(f, Loader=specs.yaml_loader())


def test_the_table_holds_exactly_the_documented_nodes(table):
    assert sorted(table["nodes"], key=lambda n: int(n[:-2])) == NODES


@pytest.mark.parametrize("node", NODES)
def test_every_node_loads_with_its_sources(table, node):
    t = cost.load_tech(node)
    n = table["nodes"][node]
    assert t.node == node and t.node_m == pytest.approx(int(node[:-2]) * 1e-9)
    assert n["source"] and n["leakage"]["source"] and all(a["source"] for a in n["adc"].values())
    assert set(t.adc_types()) == {"sar", "sense_amp", "flash"}
    assert t.adc_bits("sar") == list(range(1, 11))


@pytest.mark.parametrize("node", NODES)
def test_the_clock_rule(table, node):
    f_nm = table["nodes"][node]["node_nm"]
    assert table["nodes"][node]["clock_hz"] == pytest.approx(min(1e9, 0.5e9 * 65 / f_nm), rel=1e-9)


@pytest.mark.parametrize("node", NODES)
def test_the_leakage_rule(table, node):
    n = table["nodes"][node]
    f_um, v = n["node_nm"] * 1e-3, n["vdd_V"]
    sram_W = I_OFF_LSTP.get(node, I_OFF_LSTP_RULE) * 4 * f_um * v
    logic_W = I_OFF_HP_RULE * 4500 * f_um * v
    assert n["leakage"]["sram_pW_per_bit"] * 1e-12 == pytest.approx(sram_W, rel=5e-4)
    assert n["leakage"]["logic_uW_per_mac"] * 1e-6 == pytest.approx(logic_W, rel=5e-4)


def test_the_supply_rule_between_cards(table):
    # 28 nm has no PTM card: linear in F between the 32 nm (0.9 V) and 22 nm (0.85 V) cards.
    assert table["nodes"]["32nm"]["vdd_V"] == 0.9
    assert table["nodes"]["28nm"]["vdd_V"] == pytest.approx(0.9 + (28 - 32) * (0.85 - 0.9) / (22 - 32))


def _scaled(table, node, ref, kind):
    n, r = table["nodes"][node], table["nodes"][ref]
    k = n["node_nm"] / r["node_nm"]
    e = k * (n["vdd_V"] / r["vdd_V"]) ** 2
    src = r["adc"][kind]
    time = [1e9 / n["clock_hz"]] * len(src["bits"]) if kind == "flash" else [t * k for t in src["time_ns"]]
    return [x * e for x in src["energy_pJ"]], [x * k * k for x in src["area_um2"]], time


@pytest.mark.parametrize("node, ref", sorted(DERIVED_ADC.items()))
@pytest.mark.parametrize("kind", ["sar", "sense_amp", "flash"])
def test_derived_adcs_follow_the_rule(table, node, ref, kind):
    assert ref in SURVEY
    energy, area, time = _scaled(table, node, ref, kind)
    got = table["nodes"][node]["adc"][kind]
    assert got["bits"] == table["nodes"][ref]["adc"][kind]["bits"]
    assert got["energy_pJ"] == pytest.approx(energy, rel=5e-4)  # 4 significant digits
    assert got["area_um2"] == pytest.approx(area, rel=5e-4)
    assert got["time_ns"] == pytest.approx(time, rel=5e-4)


def test_the_65nm_figures_stated_as_scaled_from_22nm(table):
    # 65 nm: SAR energy is a survey point, its area and time the rule; the sense amplifier's
    # energy and area the rule (its time is NeuroSim's 65 nm fit); a flash one per clock.
    energy, area, time = _scaled(table, "65nm", "22nm", "sar")
    sar = table["nodes"]["65nm"]["adc"]["sar"]
    assert sar["area_um2"] == pytest.approx(area, rel=5e-3) and sar["time_ns"] == pytest.approx(time, rel=5e-3)
    energy, area, _ = _scaled(table, "65nm", "22nm", "sense_amp")
    sa = table["nodes"]["65nm"]["adc"]["sense_amp"]
    assert sa["energy_pJ"] == pytest.approx(energy, rel=5e-4) and sa["area_um2"] == pytest.approx(area, rel=5e-4)
    for node in SURVEY:
        assert table["nodes"][node]["adc"]["flash"]["time_ns"] == pytest.approx(
            _scaled(table, node, node, "flash")[2], rel=1e-9)


@pytest.mark.parametrize("node", NODES)
def test_the_loader_scales_the_45nm_reference(table, node):
    n, ref, sc = table["nodes"][node], table["reference_45nm"], table["scaling"]
    k = n["node_nm"] / sc["reference_node_nm"]
    v2 = (n["vdd_V"] / sc["reference_vdd_V"]) ** 2
    t = cost.load_tech(node)
    for i, bits in enumerate(ref["add"]["bits"]):
        assert t.add(bits)["energy_J"] == pytest.approx(ref["add"]["energy_pJ"][i] * 1e-12 * k * v2, rel=1e-12)
        assert t.add(bits)["area_m2"] == pytest.approx(ref["add"]["area_um2"][i] * 1e-12 * k * k, rel=1e-12)
    for i, bits in enumerate(ref["mult"]["bits"]):
        assert t.mult(bits)["energy_J"] == pytest.approx(ref["mult"]["energy_pJ"][i] * 1e-12 * k * v2, rel=1e-12)
    assert t.wire_J_per_bit_m == pytest.approx(ref["wire"]["energy_pJ_per_bit_mm"] * 1e-12 / 1e-3 * v2, rel=1e-12)
    cap, e64 = ref["sram_read_64b"]["capacity_bytes"][0], ref["sram_read_64b"]["energy_pJ"][0]
    assert t.sram_J_per_bit(float(cap)) == pytest.approx(e64 * 1e-12 / 64 * k * v2, rel=1e-12)


@pytest.mark.parametrize("node", NODES)
def test_mho_cost_at_every_node(node, capsys):
    assert cli.main(["cost", "--net", "lenet5", "--node", node]) == 0
    out = capsys.readouterr().out
    assert f"design costed, at {node}" in out and "TOPS/W" in out
