"""Per-layer hardware rules on mho's own networks (mho.layer_rules) in mho.study."""
import os

import numpy as np
import pytest

import mho
from mho import _core, layer_rules

HERE = os.path.dirname(os.path.abspath(__file__))
LENET = os.path.join(HERE, "..", "..", "data", "models", "lenet5_mnist.h5")
# LeNet-5's layers: conv2d:0, conv2d:3, linear:7, linear:9, linear:11 (the others have no weights).


@pytest.fixture(scope="module")
def lenet():
    return _core.load_model(LENET)[0]


def small(**kw):
    return mho.TileSpec(rows=64, cols=64, cell="rram_neurosim_22nm", weight_bits=4, bits_per_cell=2,
                        dac=mho.DacSpec(input_bits=4), adc=mho.AdcSpec(bits=6), **kw)


def test_first_matching_rule_wins_on_names_paths_and_kinds(lenet):
    a, b = small(), small(seed=7).replace(rows=32, cols=32)
    hw = layer_rules.resolve(lenet, [("0", "digital"), ("linear:11", b), ("linear:*", a), ("conv2d:*", b), ("*", a)])
    assert hw.spec == a  # the catch-all's TileSpec is the mapping's
    assert hw.digital == {0}
    assert set(hw.layer_specs) == {3, 11} and hw.layer_specs[3] == b
    assert hw.layers()["0"] == "digital" and "seed" not in hw.layers()["3"]
    torch = pytest.importorskip("torch")
    hw = layer_rules.resolve(lenet, [(torch.nn.Linear, "digital"), (torch.nn.Conv2d, a)])
    assert hw.digital == {7, 9, 11} and hw.uniform is False and hw.spec == a


def test_a_single_tilespec_and_a_catch_all_are_the_uniform_design(lenet):
    assert layer_rules.resolve(lenet, small()).uniform
    assert layer_rules.resolve(lenet, [("*", small())]).uniform
    assert layer_rules.resolve(lenet, [("conv2d:*", small()), ("*", small())]).layers() is None


def test_bad_rules_name_what_is_wrong(lenet):
    with pytest.raises(ValueError, match=r"hardware: no rule matches layers linear:7 \(layer 7, linear\)"):
        layer_rules.resolve(lenet, [("conv2d:*", small())])
    with pytest.raises(ValueError, match="every conv/linear layer is digital"):
        layer_rules.resolve(lenet, [("*", "digital")])
    with pytest.raises(ValueError, match=r"hardware\[0\] target = 'analog'"):
        layer_rules.check([("*", "analog")])
    with pytest.raises(TypeError, match=r"hardware\[1\] = 'x'"):
        layer_rules.check([("*", small()), "x"])
    with pytest.raises(TypeError, match="expected a TileSpec or a list"):
        layer_rules.check({"*": small()})
    with pytest.raises(ValueError, match=r"hardware = \[\]"):
        layer_rules.check([])
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="ReLU: not a layer type that runs on tiles"):
        layer_rules.check([(torch.nn.ReLU, small())])


def test_mapping_follows_the_rules(lenet):
    hw = layer_rules.resolve(lenet, [("conv2d:0", "digital"), ("linear:7", small().replace(rows=32, cols=32)),
                                     ("*", small())])
    m = _core.map_network(lenet, hw.spec, {}, **hw.kwargs())
    assert m.digital_layers == [0]
    assert [lm["layer"] for lm in m.layers()] == [3, 7, 9, 11]
    assert m.layer_spec(7).rows == 32 and m.layer_spec(9).rows == 64
    # linear:7 is 400x120 with 4-bit weights on two 2-bit cells, differential: 4 cells a weight,
    # so 8 outputs per 32-column array: ceil(400/32) row blocks x ceil(120/8) column blocks.
    assert next(lm for lm in m.layers() if lm["layer"] == 7)["arrays"] == 13 * 15
    assert "digital layers (not on arrays): 0" in m.summary()


def test_ideal_tiles_and_digital_layers_give_the_float_network(lenet):
    x = np.random.default_rng(0).random((16, 1, 28, 28), dtype=np.float32)
    ref = lenet.forward(x)
    hw = layer_rules.resolve(lenet, [("conv2d:*", "digital"), ("*", mho.TileSpec.ideal(128, 128))])
    p = _core.PimNetwork(lenet, hw.spec, {}, **hw.kwargs())
    p.program(0)
    np.testing.assert_allclose(p.forward(x), ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())
    assert set(p.counters) and p.counters["cell_reads"] > 0
    # A digital layer draws no tile actions: all-but-one digital reads fewer cells.
    only_last = layer_rules.resolve(lenet, [("linear:11", mho.TileSpec.ideal(128, 128)), ("*", "digital")])
    q = _core.PimNetwork(lenet, only_last.spec, {}, **only_last.kwargs())
    q.program(0)
    np.testing.assert_allclose(q.forward(x), ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())
    assert 0 < q.counters["cell_reads"] < p.counters["cell_reads"]


def test_study_with_rules_is_reproducible_and_keyed_by_its_hardware():
    spec = mho.study.default_spec()
    kw = dict(chips=2, limit=100, progress=False)
    plain = mho.study.evaluate(LENET, spec, **kw)
    same = mho.study.evaluate(LENET, [("*", spec)], **kw)
    assert same.key == plain.key and same.pim_accuracies == plain.pim_accuracies and same.layers is None
    rules = [("conv2d:0", "digital"), ("linear:*", spec.replace(adc=spec.adc.replace(bits=4))), ("*", spec)]
    a = mho.study.evaluate(LENET, rules, batch=100, **kw)
    b = mho.study.evaluate(LENET, rules, batch=7, **kw)  # another batch split
    assert a.pim_accuracies == b.pim_accuracies and a.key == b.key != plain.key
    assert a.layers["0"] == "digital" and a.layers["7"]["adc"]["bits"] == 4
    assert "per-layer hardware: layer 0 digital" in a.spec


def test_a_sweep_edits_every_tilespec_of_the_rules():
    spec = mho.study.default_spec()
    rules = [("conv2d:0", "digital"), ("*", spec)]
    designs = mho.study.swept_designs(rules, "adc.bits", [5, 6])
    assert [d[0][0][1] for d in designs] == ["digital", "digital"]
    assert [d[0][1][1].adc.bits for d in designs] == [5, 6]


# Components of a layer's cost that depend on that layer's arrays alone (buffers and the
# interconnect depend on the whole chip's size).
PER_LAYER = ("arrays", "adcs", "dacs", "shift_add", "wires")


def _layer(report, i):
    return next(l for l in mho.cost.to_dict(report)["layers"] if l["layer"] == i)


def test_cost_of_per_layer_hardware_is_each_layer_costed_on_its_own_arrays():
    spec = mho.study.default_spec()
    other = spec.replace(rows=128, cols=128, adc=spec.adc.replace(bits=6))
    assert mho.cost.to_dict(mho.cost.pim(LENET, [("*", spec)])) == mho.cost.to_dict(mho.cost.pim(LENET, spec))
    mixed = mho.cost.pim(LENET, [("linear:*", other), ("*", spec)])
    alone = {s: mho.cost.pim(LENET, s) for s in (spec, other)}
    total_arrays = 0.0
    for i, s in ((0, spec), (3, spec), (7, other), (9, other), (11, other)):
        got, ref = _layer(mixed, i), _layer(alone[s], i)
        assert got["arrays"] == ref["arrays"]
        for c in PER_LAYER:
            assert got["energy_by_component_J"][c] == pytest.approx(ref["energy_by_component_J"][c], rel=1e-12), (i, c)
        assert got["area_by_component_m2"] == pytest.approx(ref["area_by_component_m2"], rel=1e-12)
        total_arrays += got["area_by_component_m2"]["arrays"]
    assert dict(mixed.area_m2)["arrays"] == pytest.approx(total_arrays, rel=1e-12)


def test_a_digital_layer_is_costed_as_digital_macs_with_its_weights_on_chip(lenet):
    spec = mho.study.default_spec()
    tech = mho.cost.load_tech("22nm")
    plain = mho.cost.pim(LENET, spec, tech=tech)
    mixed = mho.cost.pim(LENET, [("conv2d:0", "digital"), ("*", spec)], tech=tech)
    d, p = _layer(mixed, 0), _layer(plain, 0)
    assert d["arrays"] == 0
    for c in ("arrays", "adcs", "dacs", "shift_add", "wires"):
        assert d["energy_by_component_J"][c] == 0.0
    layer = lenet.layer(0)
    macs, weights, outputs = layer["macs"], layer["weights"], 6 * 28 * 28
    # A multiply at activation precision and an add at accumulator precision per MAC, one
    # accumulator add per output for the bias.
    want = macs * tech.mult(8)["energy_J"] + (macs + outputs) * tech.add(32)["energy_J"]
    assert d["energy_by_component_J"]["digital"] == pytest.approx(want, rel=1e-12)
    # The weights are read once per inference from the buffers and held in them.
    assert dict(mixed.area_m2)["buffers"] - dict(plain.area_m2)["buffers"] == pytest.approx(
        weights * 8 * tech.sram_bit_area_m2, rel=1e-9)
    assert dict(mixed.area_m2)["arrays"] == pytest.approx(
        dict(plain.area_m2)["arrays"] - p["area_by_component_m2"]["arrays"], rel=1e-12)
    # Its MACs take digital lanes' time.
    assert d["latency_by_component_s"]["digital"] > p["latency_by_component_s"]["digital"]


def test_measured_cost_of_a_study_with_rules_counts_only_the_tile_layers():
    spec = mho.study.default_spec()
    r = mho.study.evaluate(LENET, [("conv2d:0", "digital"), ("*", spec)], chips=1, limit=50, progress=False,
                           keep_pim=True)
    m = mho.cost.measured(r.pim)
    layers = {l["layer"]: l for l in mho.cost.to_dict(m)["layers"]}
    assert layers[0]["arrays"] == 0 and layers[0]["energy_by_component_J"]["adcs"] == 0.0
    assert layers[3]["energy_by_component_J"]["adcs"] > 0 and layers[3]["activity"] > 0
