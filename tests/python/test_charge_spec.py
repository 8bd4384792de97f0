"""Charge-domain tile fields in Python: round trips, presets, validation naming the field."""
import copy
import math
import os
import pickle

import numpy as np
import pytest

import mho


def charge_spec(**kw):
    return mho.TileSpec(rows=32, cols=32, accumulation="charge", weight_bits=4, bits_per_cell=4,
                        cell=mho.CellSpec(bits=4), **kw)


def test_defaults_keep_current_summing():
    s = mho.TileSpec()
    assert s.accumulation == "current"
    assert s.cap == mho.CapSpec()


def test_round_trips_dict_pickle_copy():
    s = charge_spec(cap=mho.CapSpec(scheme="c2c", mismatch_sigma=0.01, injection_offset_V=1e-3,
                                    temperature_K=330.0))
    d = s.to_dict()
    assert d["accumulation"] == "charge"
    assert d["cap"]["scheme"] == "c2c" and d["cap"]["temperature_K"] == 330.0
    assert mho.TileSpec.from_dict(d) == s
    assert pickle.loads(pickle.dumps(s)) == s
    assert copy.deepcopy(s) == s
    assert hash(mho.TileSpec.from_dict(d)) == hash(s)
    assert s != charge_spec()
    # A dict holding only some CapSpec fields takes the others' defaults.
    assert mho.TileSpec(cap={"scheme": "binary_weighted"}).cap.c_unit_F == mho.CapSpec().c_unit_F


def test_presets_have_sources_and_load_by_name():
    names = mho.cap_preset_names()
    assert set(names) == {"sram_65nm_jia2020", "sram_7nm_dong2020", "sram_22nm_wang2022"}
    for n in names:
        p = mho.cap_preset(n)
        assert p.name == n and "cimloop" in p.source
        assert charge_spec(cap=n).cap == p
    assert mho.cap_preset("sram_7nm_dong2020").scheme == "binary_weighted"
    assert mho.cap_preset("sram_22nm_wang2022").scheme == "c2c"
    assert "sram_65nm_jia2020" in repr(charge_spec(cap="sram_65nm_jia2020"))
    with pytest.raises(ValueError, match="cap_preset"):
        mho.cap_preset("sram_28nm")


def test_preset_mismatch_is_the_foundry_mom_figure_by_pelgroms_law():
    # SKY130's 0.7833 fF MOM capacitor model (cap_vpp_01p8x01p8_m1m2_noshield): std 0.0183 of
    # its slope parameter, scaled by 0.85105 sqrt(0.50527 / mult) at mult = 1, is sigma(C)/C.
    sky130 = 0.85105 * math.sqrt(0.50527) * 0.0183
    assert mho.mom_mismatch_sigma(0.7833e-15) == pytest.approx(sky130, rel=1e-12)
    for n in mho.cap_preset_names():
        p = mho.cap_preset(n)
        # Pelgrom: sigma x sqrt(C) is the same for every unit capacitance.
        assert p.mismatch_sigma * math.sqrt(p.c_unit_F) == pytest.approx(sky130 * math.sqrt(0.7833e-15), rel=1e-12)
        assert "SKY130" in p.source
    with pytest.raises(ValueError, match=r"mom_mismatch_sigma\(c_unit_F\) = 0"):
        mho.mom_mismatch_sigma(0.0)


@pytest.mark.parametrize("kw,field", [
    ({"accumulation": "voltage"}, "TileSpec.accumulation"),
    ({"cap": {"scheme": "ladder"}}, "TileSpec.cap.scheme"),
    ({"cap": {"c_unit_F": 0.0}}, "TileSpec.cap.c_unit_F"),
    ({"cap": {"mismatch_sigma": -0.1}}, "TileSpec.cap.mismatch_sigma"),
    ({"cap": {"v_dd_V": float("nan")}}, "TileSpec.cap.v_dd_V"),
    ({"cap": {"temperature_K": 0.0}}, "TileSpec.cap.temperature_K"),
    ({"cap": {"injection_offset_V": 11.0}}, "TileSpec.cap.injection_offset_V"),
])
def test_bad_values_raise_value_error_naming_the_field(kw, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        mho.TileSpec(**kw)


def test_bad_cap_spec_alone_names_its_field():
    with pytest.raises(ValueError, match=r"CapSpec\.scheme = 'ladder'"):
        mho.CapSpec(scheme="ladder")


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match=r"cap\.scheme"):
        mho.TileSpec(cap={"scheme": 3})
    with pytest.raises(TypeError, match="cap"):
        mho.TileSpec(cap=1.0)


def test_charge_tile_computes_the_product_with_noise_off():
    s = charge_spec(programming_error=False, read_noise=False, dac=mho.DacSpec(input_bits=0),
                    adc=mho.AdcSpec(bits=0))
    rng = np.random.default_rng(1)
    w = rng.normal(size=(20, 6))
    x = rng.normal(size=(8, 20))
    t = mho.Tile(s)
    t.program(w)
    lsb = np.abs(w).max() / 15
    np.testing.assert_allclose(t.forward(x), x @ (np.round(w / lsb) * lsb), atol=1e-9)


def cost_spec(scheme, **cap):
    return mho.TileSpec(rows=128, cols=128, accumulation="charge", weight_bits=4, bits_per_cell=2,
                        cell=mho.CellSpec(bits=2), cap=mho.CapSpec(scheme=scheme, **cap),
                        dac=mho.DacSpec(input_bits=4, mode="bitserial", signed_mode="unsigned"),
                        adc=mho.AdcSpec(bits=6, columns_per_adc=8))


def test_shape_cost_of_charge_arrays_is_the_capacitors_supply_energy():
    # Same shapes and activity: a driven cell draws C_u V_DD^2 x its mean level, 1/2 on bit-line
    # sharing and 3/2 (levels 0 .. 3) on binary-weighted capacitors; no bit line charges.
    tech = mho.cost.load_tech("22nm")
    line = dict(mho.cost.pim("lenet5", cost_spec("bitline_sharing"), tech=tech).energy_J)
    binary = dict(mho.cost.pim("lenet5", cost_spec("binary_weighted"), tech=tech).energy_J)
    hot = dict(mho.cost.pim("lenet5", cost_spec("binary_weighted", v_dd_V=1.0, c_unit_F=4e-15), tech=tech).energy_J)
    assert line["arrays"] > 0
    assert binary["arrays"] == pytest.approx(3 * line["arrays"], rel=1e-12)
    assert hot["arrays"] == pytest.approx(binary["arrays"] * 2 / 0.85 ** 2, rel=1e-12)
    assert hot["wires"] == pytest.approx(binary["wires"], rel=1e-12)  # word lines only, at the node's Vdd


def test_measured_cost_of_charge_arrays_is_the_simulated_energy():
    lenet = os.path.join(os.path.dirname(__file__), "..", "..", "data", "models", "lenet5_mnist.h5")
    r = mho.study.evaluate(lenet, spec=cost_spec("binary_weighted", mismatch_sigma=0.02), chips=1, limit=20,
                           calib_samples=32, progress=False, keep_pim=True)
    m = dict(mho.cost.measured(r.pim).energy_J)
    c = r.pim.counters
    assert c["cell_energy_J"] > 0
    assert m["arrays"] == pytest.approx(c["cell_energy_J"] / r.pim.inferences, rel=1e-12)
    # Measured against the shape estimate at the measured activity: the same order (the
    # trained weights' levels are not uniform, so not equal).
    activity = c["driven_rows"] / c["dac_conversions"]
    shaped = dict(mho.cost.pim(lenet, cost_spec("binary_weighted"),
                               system=mho.PimSystemSpec(input_activity=activity)).energy_J)
    assert 0.05 < m["arrays"] / shaped["arrays"] < 2


def test_sram_charge_spec_changes_only_the_array_technology():
    base = mho.study.default_spec().replace(dac=mho.DacSpec(signed_mode="two_pass"))
    s = mho.study.sram_charge_spec(base)
    assert (s.accumulation, s.bits_per_cell, s.cell.name) == ("charge", 1, "sram_8t_22nm")
    assert s.cap == mho.cap_preset("sram_65nm_jia2020")
    assert s.replace(cell=base.cell, bits_per_cell=base.bits_per_cell, accumulation=base.accumulation,
                     cap=base.cap) == base
    assert mho.study.sram_charge_spec() == mho.study.sram_charge_spec(mho.study.default_spec())
