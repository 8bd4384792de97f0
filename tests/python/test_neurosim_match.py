"""mho's cost model against NeuroSim V1.4 on NeuroSim's own VGG-8 design
(examples/configs/neurosim_vgg8.yaml), every NeuroSim figure read from
data/neurosim_v14_vgg8.yaml (NeuroSim's version and parameters are recorded there): totals
within 1.5x, each energy and area bucket within 2x, with the bucket mapping of
docs/validation.md. Also the pieces the match rests on: the zoo's VGG-8 has NeuroSim's shapes,
the sense-amplifier formula reproduces NeuroSim's own per-conversion probe figures, and the
design file's per-layer activity is the recorded trace density."""
import io
import os

import pytest
import yaml

from mho import _core, cli

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DESIGN = os.path.join(ROOT, "examples", "configs", "neurosim_vgg8.yaml")
with open(os.path.join(ROOT, "data", "neurosim_v14_vgg8.yaml")) as f:
    NS = yaml.safe_load(f)
R = NS["results_per_image"]
ZETA = NS["parameters"]["calibration"]["zeta"]

# NeuroSim's buckets as sums of mho's components (docs/validation.md, "Bucket mapping").
# "digital" splits by layer: on a conv/linear layer it is the partial-sum and bias adds
# (NeuroSim's accumulation), elsewhere ReLU and pooling (NeuroSim's other periphery).
ENERGY_BUCKETS = {
    "adc_energy_pJ": ["arrays", "adcs", "wires"],
    "accumulation_energy_pJ": ["shift_add", "digital@tiles"],
    "other_energy_pJ": ["dacs", "column_mux", "buffers", "interconnect", "digital@other", "offchip"],
    "leakage_energy_pJ": ["leakage"],
}
AREA_BUCKETS = {
    "cim_array": ["arrays"],
    "adc": ["adcs"],
    "accumulation": ["shift_add"],
    "interconnect": ["interconnect"],
    "other_periphery": ["dacs", "column_mux", "level_shifters", "buffers", "digital"],
    "unattributed": ["layout_white_space"],
}


@pytest.fixture(scope="module")
def pim(tmp_path_factory):
    j = tmp_path_factory.mktemp("ns") / "c.json"
    rec = cli._cost(cli.parser().parse_args(["cost", "--design", DESIGN, "--json", str(j)]), out=io.StringIO())
    return rec["cost"]["pim"]


def energy_parts(pim):
    e = dict(pim["energy_per_inference_J"])
    tiles = sum(l["energy_by_component_J"].get("digital", 0.0) for l in pim["layers"] if l["arrays"] > 0)
    e["digital@tiles"], e["digital@other"] = tiles, e.pop("digital") - tiles
    return e


def within(ratio, tol):
    return 1 / tol <= ratio <= tol


def test_the_zoo_vgg8_has_neurosims_shapes():
    net = _core.zoo_network("vgg8_neurosim")
    weighted = [l for l in net.layers() if l["type"] in ("conv2d", "linear")]
    assert len(weighted) == len(NS["network"]["layers"])
    for l, n in zip(weighted, NS["network"]["layers"]):
        assert l["macs"] == n["macs_padded"], l["name"]
        assert (l["in"], l["out"]) == (n["in_channels"], n["out_channels"])
        assert l["kernel"] == tuple(n["kernel_hw"]) and l["padding"] == (n["padding"],) * 2
    assert 2 * net.total_macs == R["operations_counted"]


def test_the_design_file_uses_the_recorded_trace_activity():
    with open(DESIGN) as f:
        act = yaml.safe_load(f)["system"]["layer_activity"]
    net = _core.zoo_network("vgg8_neurosim")
    on_tiles = [a for a, l in zip(act, net.layers()) if l["type"] in ("conv2d", "linear")]
    assert on_tiles == [l["input_bit_density"] for l in NS["layers"]]


def test_sense_amp_formula_reproduces_neurosims_probe():
    # One 128x128 subarray's 5-bit unit (docs/neurosim_v14_vgg8.md): 0.952 ns per conversion and
    # 64 / 71.1 / 74.7 fJ at column resistances 38.9 / 9.0 / 3.6 kOhm; the switching part is the
    # tech table's figure, the rest the fits.
    tech = _core.TechTable.load(os.path.join(ROOT, "data", "tech.yaml"), "22nm")
    t = _core.msa_conversion_time_s(100e3, 128, 31)
    assert t == pytest.approx(NS["subarray_probe"]["adc_conversion_ns"] * 1e-9, rel=1e-3)
    p_ref = _core.msa_reference_power_W(100e3, 128, 31, 32)
    e_sw = 31 * tech.periphery()["msa_switching_per_level_fJ"]
    for (key, fJ), r in zip(NS["subarray_probe"]["adc_conversion_fJ"].items(), (38.9e3, 9.0e3, 3.6e3)):
        e = e_sw + (_core.msa_column_power_W(r, 31) + p_ref) * t
        assert e == pytest.approx(fJ * 1e-15, rel=0.01), key


def test_totals_within_1_5x(pim):
    a = pim["area_total_mm2"] / (R["area_um2"]["chip"] * 1e-6)
    assert within(a, 1.5), a
    assert 2 * pim["macs_per_inference"] == R["operations_counted"]


def unpadded_energy_J(pim):
    """mho's energy per image at NeuroSim's positions: NeuroSim simulates each convolution only
    at its (H-2)(W-2) unpadded positions (docs/validation.md), so each conv/linear layer's
    energy is scaled by simulated / padded positions; ReLU, pooling and leakage stay as they are."""
    scale = iter(n["positions_simulated"] / n["positions_padded"] for n in NS["network"]["layers"])
    e = sum(l["energy_J"] * (next(scale) if l["kind"] in ("conv2d", "linear") else 1.0) for l in pim["layers"])
    return e + pim["energy_per_inference_J"]["leakage"]


def test_energy_and_tops_per_w_within_1_5x_at_neurosims_positions(pim):
    # Like for like: both sides' energy at the positions NeuroSim simulates, and TOPS/W as the
    # operations simulated over that energy (zeta on neither side).
    e = unpadded_energy_J(pim)
    assert within(e / (R["energy_total_pJ"] * 1e-12), 1.5), e
    assert sum(n["macs_simulated"] for n in NS["network"]["layers"]) * 2 == R["operations_simulated"]
    ns = R["operations_simulated"] / (R["energy_total_pJ"] * 1e-12)
    assert within((R["operations_simulated"] / e) / ns, 1.5)


def test_energy_per_image_within_1_5x(pim):
    # Every position mho computes against NeuroSim's energy of its unpadded ones: the margin is
    # thin (1.48x; 1.11x at NeuroSim's positions, above), all of it the positions NeuroSim does
    # not simulate.
    e = pim["energy_total_per_inference_J"] / (R["energy_total_pJ"] * 1e-12)
    assert within(e, 1.5), e


def test_tops_per_w_within_1_5x(pim):
    # TOPS/W without zeta on either side; both count the padded network's operations (0.67x).
    t = pim["tops_per_w"] / (R["tops_per_w"] * ZETA)
    assert within(t, 1.5), t


def test_pipeline_cycle_throughput_and_tops_per_mm2_within_1_5x(pim):
    # The slowest layer's latency (evaluator/pipeline.h, with the tile buffer level) against
    # NeuroSim's pipeline cycle (its slowest layer's read latency), images per second and
    # padded operations x images per second per mm2.
    cycle = max(l["latency_s"] for l in pim["layers"])
    assert within(cycle / (R["pipeline_cycle_ns"] * 1e-9), 1.5), cycle
    assert pim["throughput_inferences_per_s"] == pytest.approx(1 / cycle, rel=1e-12)
    assert within(pim["throughput_inferences_per_s"] / R["fps"], 1.5)
    assert within(pim["tops_per_mm2"] / R["tops_per_mm2"], 1.5)
    assert R["tops_per_mm2"] == pytest.approx(R["operations_counted"] * R["fps"] * 1e-12 / (R["area_um2"]["chip"] * 1e-6),
                                              rel=1e-4)


# Buckets that cannot get within 2x yet, and the missing piece (docs/validation.md). strict:
# the test fails once the piece lands and the mark must go.
NOT_YET = {}


def _maybe_not_yet(bucket):
    return pytest.param(bucket, marks=pytest.mark.xfail(strict=True, reason=NOT_YET[bucket])) \
        if bucket in NOT_YET else bucket


def test_recorded_interconnect_probe_adds_up_to_the_bucket():
    # The split docs/validation.md gives for NeuroSim's interconnect area: its tile H-trees and
    # its X-Y bus, from a probe of its classes, sum to the bucket it printed.
    ip = NS["interconnect_probe"]
    total = ip["tiles_novel_mapped"] * ip["tile_htree_novel_um2"] + ip["tiles_conventional"] * ip["tile_htree_conventional_um2"] \
        + ip["xy_bus_um2"]
    assert total == pytest.approx(R["area_um2"]["interconnect"], rel=1e-5)
    # Its bus: the tiles' (width + width / numColMuxed) summed and halved until <= 2048 wires.
    wires = ip["tiles_conventional"] * (1024 + 1024 // 8) + ip["tiles_novel_mapped"] * (1536 + 1536 // 8)
    while wires > NS["parameters"]["max_global_bus_width_bits"]:
        wires /= 2
    assert wires == ip["xy_bus_wires"]
    with open(DESIGN) as f:
        assert yaml.safe_load(f)["system"]["bus_width_bits"] == ip["xy_bus_wires"]


def test_the_design_file_puts_each_layer_on_neurosims_tile_design():
    # NeuroSim's rule (Chip.cpp): novel mapping for the layers of the most common kernel (3x3)
    # with at least numRowSubArray weight rows, the rest (conv1, fc1, fc2) conventional. Its
    # novel-mapped tile holds 36 x 4 arrays, its conventional one 1024 x 1024 cells (8 x 8); the
    # recorded tile counts split 36 / 67 as in the interconnect probe.
    with open(DESIGN) as f:
        sys_ = yaml.safe_load(f)["system"]
    rows = NS["parameters"]["subarray_rows"]
    want = [(36, 4) if tuple(n["kernel_hw"]) == (3, 3) and n["in_channels"] * 9 >= rows else (8, 8)
            for n in NS["network"]["layers"]]
    assert list(zip(sys_["layer_tile_row_arrays"], sys_["layer_tile_col_arrays"])) == want
    assert (sys_["tile_row_arrays"], sys_["tile_col_arrays"]) == (36, 4)
    ip = NS["interconnect_probe"]
    novel = sum(l["tiles"] for l, w in zip(NS["layers"], want) if w == (36, 4))
    assert (novel, sum(l["tiles"] for l in NS["layers"]) - novel) == (ip["tiles_novel_mapped"], ip["tiles_conventional"])


def test_leakage_power_within_2x(pim):
    ratio = pim["leakage_W"] / (R["leakage_power_uW"] * 1e-6)
    assert within(ratio, 2.0), ratio


@pytest.mark.parametrize("bucket", [_maybe_not_yet(b) for b in sorted(ENERGY_BUCKETS)])
def test_energy_bucket_within_2x(pim, bucket):
    e = energy_parts(pim)
    assert set(c for cs in ENERGY_BUCKETS.values() for c in cs) == set(e), "every mho component in one bucket"
    ours = sum(e[c] for c in ENERGY_BUCKETS[bucket])
    ratio = ours / (R[bucket] * 1e-12)
    assert within(ratio, 2.0), (bucket, ratio)


@pytest.mark.parametrize("bucket", [_maybe_not_yet(b) for b in sorted(AREA_BUCKETS)])
def test_area_bucket_within_2x(pim, bucket):
    a = dict(pim["area_m2"])
    assert set(c for cs in AREA_BUCKETS.values() for c in cs) == set(a), "every mho component in one bucket"
    ours = sum(a[c] for c in AREA_BUCKETS[bucket])
    ratio = ours / (R["area_um2"][bucket] * 1e-12)
    assert within(ratio, 2.0), (bucket, ratio)


def test_design_file_network_errors_name_the_key_and_copies_reach_the_mapping(tmp_path):
    from mho import config
    d = tmp_path / "d.yaml"
    for text, key in (("network: 3\n", "network"), ("network: lenet5\nreplication: {0: 2}\n", "replication")):
        d.write_text(text)
        with pytest.raises(config.ConfigError, match=f"'{key}'"):
            cli._cost(cli.parser().parse_args(["cost", "--design", str(d), "--no-digital"]), out=io.StringIO())
    d.write_text("hardware: {rows: 64}\n")
    with pytest.raises(ValueError, match="no network"):
        cli._cost(cli.parser().parse_args(["cost", "--design", str(d)]), out=io.StringIO())
    # --net wins over the design's network; the replication applies to the mapping.
    d.write_text("network: vgg8_neurosim\nsystem: {layer_replication: [2, 1, 1, 1, 1, 1, 1, 1]}\ndigital: false\n")
    one = cli._cost(cli.parser().parse_args(["cost", "--design", str(d)]), out=io.StringIO())
    assert one["cost"]["pim"]["network"] == "vgg8_neurosim"
    d2 = tmp_path / "d2.yaml"
    d2.write_text("network: vgg8_neurosim\ndigital: false\n")
    plain = cli._cost(cli.parser().parse_args(["cost", "--design", str(d2)]), out=io.StringIO())
    assert one["cost"]["pim"]["layers"][0]["arrays"] == 2 * plain["cost"]["pim"]["layers"][0]["arrays"]
    assert one["cost"]["pim"]["layers"][2]["arrays"] == plain["cost"]["pim"]["layers"][2]["arrays"]
    other = cli._cost(cli.parser().parse_args(["cost", "--design", str(d2), "--net", "lenet5"]), out=io.StringIO())
    assert other["cost"]["pim"]["network"] == "lenet5"
