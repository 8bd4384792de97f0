"""A design's own figures at its node (tech.components) and the one-product network of mho
validate: what they add to the table, errors naming the key, the round trip."""
import pytest

import mho
from mho import _core, config

JIA_ADC = {"bits": [8], "energy_pJ": [1.79], "area_um2": [900.0], "time_ns": [20.0],
           "source": "a test figure"}


def _design(**tech):
    return config.design({"hardware": {"adc": {"bits": 8}}, "system": {"adc_type": "macro_sar"},
                          "tech": {"node": "65nm", "components": {"adc": {"macro_sar": JIA_ADC}, **tech}}})


def test_an_adc_type_is_added_beside_the_nodes_own():
    d = _design()
    c = d.tech.adc("macro_sar", 8)
    assert c["energy_J"] == pytest.approx(1.79e-12, rel=1e-15)
    assert c["area_m2"] == pytest.approx(900e-12, rel=1e-15)
    assert c["time_s"] == pytest.approx(20e-9, rel=1e-15)
    plain = mho.cost.load_tech("65nm")
    assert set(d.tech.adc_types()) == set(plain.adc_types()) | {"macro_sar"}
    assert d.tech.adc("sar", 8) == plain.adc("sar", 8)


def test_a_supply_replaces_the_nodes_and_scales_logic_as_the_table_says():
    plain = mho.cost.load_tech("65nm")
    d = _design(vdd_V=1.2)
    assert d.tech.vdd_V == 1.2
    # Logic energy ~ Vdd^2 (data/tech.yaml's scaling rule); areas do not change.
    assert d.tech.add(8)["energy_J"] == pytest.approx(plain.add(8)["energy_J"] * (1.2 / plain.vdd_V) ** 2, rel=1e-12)
    assert d.tech.add(8)["area_m2"] == pytest.approx(plain.add(8)["area_m2"], rel=1e-15)


def test_an_operating_point_edits_the_base_designs_figures():
    d = _design()
    p = config.design({"tech": {"components": {"vdd_V": 1.2}}}, base=d)
    assert p.tech.vdd_V == 1.2 and p.tech.adc("macro_sar", 8) == d.tech.adc("macro_sar", 8)
    q = config.design({"hardware": {"rows": 64}}, base=d)
    assert q.tech.adc("macro_sar", 8) == d.tech.adc("macro_sar", 8) and q.tech.vdd_V == d.tech.vdd_V


def test_the_round_trip_keeps_the_figures():
    d = _design(vdd_V=1.1)
    again = config.design(config.design_to_dict(d))
    assert again.tech.overlay == d.tech.overlay
    assert again.tech.adc("macro_sar", 8) == d.tech.adc("macro_sar", 8) and again.tech.vdd_V == 1.1


def test_errors_name_the_key():
    with pytest.raises(ValueError, match=r"config key 'tech.components.vdd': unknown; allowed: vdd_V"):
        config.design({"tech": {"components": {"vdd": 1.0}}})
    with pytest.raises(ValueError, match=r"config key 'tech.components': expected a mapping"):
        config.design({"tech": {"components": [1]}})
    bad = dict(JIA_ADC)
    del bad["source"]
    with pytest.raises(ValueError, match=r"config key 'tech.components'.*macro_sar.source"):
        config.design({"tech": {"node": "65nm", "components": {"adc": {"macro_sar": bad}}}})
    with pytest.raises(ValueError, match=r"config key 'tech.components'.*vdd_V"):
        config.design({"tech": {"components": {"vdd_V": -1}}})


def test_mvm_network_is_one_linear_layer():
    n = _core.mvm_network(768, 96)
    assert n.name == "mvm_768x96" and n.input_shape == (768, 1, 1)
    lin = [l for l in n.layers() if l["type"] == "linear"]
    assert len(lin) == 1 and lin[0]["matrix"] == (768, 96) and lin[0]["macs"] == 768 * 96
    for bad in ((0, 4), (4, 0), (1 << 25, 1)):
        with pytest.raises(ValueError, match=r"mvm_network\((inputs|outputs)\)"):
            _core.mvm_network(*bad)
    with pytest.raises(TypeError):
        _core.mvm_network(1.5, 2)


def test_a_study_records_the_designs_own_figures(tmp_path):
    import yaml

    from mho import datasets
    model = datasets.data_dir() / "models" / "lenet5_mnist.h5"
    cfg = {"model": str(model), "chips": 1, "seed": 1, "test_images": 10,
           "hardware": {"adc": {"bits": 8}}, "system": {"adc_type": "macro_sar"},
           "tech": {"node": "65nm", "components": {"adc": {"macro_sar": JIA_ADC}}},
           "output": {"dir": str(tmp_path / "out")}}
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(cfg))
    c = config.load(str(p))
    assert c["tech"].adc("macro_sar", 8)["energy_J"] == pytest.approx(1.79e-12)
    rec = config.study_design(c)
    assert rec["tech"]["components"]["adc"]["macro_sar"]["energy_pJ"] == [1.79]
    cfg["tech"]["components"]["adc"]["macro_sar"] = dict(JIA_ADC, energy_pJ=[2.0])
    p.write_text(yaml.safe_dump(cfg))
    assert config.study_design(config.load(str(p)))["tech"] != rec["tech"]
