"""Every constrained spec field rejects a bad value with ValueError naming field and value."""
import pytest

import mho

BAD = [
    # (spec class, field, bad value, text the message must contain)
    (mho.CellSpec, "name", "", "must not be empty"),
    (mho.CellSpec, "g_min_S", -1e-6, "finite number in [0, 1]"),
    (mho.CellSpec, "g_max_S", 0.0, "finite number in (0, 1]"),
    (mho.CellSpec, "g_max_S", 0.5e-6, "> g_min_S"),
    (mho.CellSpec, "bits", 0, "[1, 16]"),
    (mho.CellSpec, "bits", 17, "[1, 16]"),
    (mho.CellSpec, "prog_error", "gauss", "one of"),
    (mho.CellSpec, "read_noise", "white", "one of"),
    (mho.CellSpec, "drift", "fast", "one of"),
    (mho.CellSpec, "drift_t0_s", 0.0, "finite number in (0, 1e+10]"),
    (mho.CellSpec, "iv", "cubic", "one of"),
    (mho.CellSpec, "iv_v0_V", -1.0, "finite number in (0, 1e+06]"),
    (mho.CellSpec, "stuck_at_min_prob", 1.5, "[0, 1]"),
    (mho.CellSpec, "stuck_at_max_prob", -0.1, "[0, 1]"),
    (mho.CellSpec, "area_F2", 0.0, "finite number in (0, 1e+06]"),
    (mho.CellSpec, "feature_size_m", 0.0, "finite number in [1e-10, 1e-05]"),
    (mho.CellSpec, "v_read_V", 0.0, "finite number in (0, 10]"),
    (mho.CellSpec, "t_read_s", -1.0, "finite number in (0, 1]"),
    (mho.DacSpec, "input_bits", 17, "[0, 16]"),
    (mho.DacSpec, "input_bits", -1, "[0, 16]"),
    (mho.DacSpec, "mode", "serial", "one of"),
    (mho.DacSpec, "bits_per_plane", 0, "[1, 16]"),
    (mho.DacSpec, "signed_mode", "signed", "one of"),
    (mho.DacSpec, "range", "auto", "one of"),
    (mho.DacSpec, "x_max", 0.0, "finite number in [1e-30, 1e+30]"),
    (mho.DacSpec, "percentile", 100.5, "[1e-09, 100]"),
    (mho.AdcSpec, "bits", 25, "[0, 24]"),
    (mho.AdcSpec, "range", "auto", "one of"),
    (mho.AdcSpec, "percentile", 0.0, "[1e-09, 100]"),
    (mho.AdcSpec, "noise_lsb", -0.1, "finite number in [0, 1.67772e+07]"),
    (mho.AdcSpec, "inl_lsb", -0.1, "finite number in [0, 1.67772e+07]"),
    (mho.AdcSpec, "columns_per_adc", 0, "[1, 4096]"),
    (mho.TileSpec, "rows", 0, "[1, 65536]"),
    (mho.TileSpec, "cols", 70000, "[1, 65536]"),
    (mho.TileSpec, "weight_bits", 17, "[0, 16]"),
    (mho.TileSpec, "bits_per_cell", -1, "[0, 16]"),
    (mho.TileSpec, "weight_scale", "per_row", "one of"),
    (mho.TileSpec, "encoding", "twos_complement", "one of"),
    (mho.TileSpec, "subtract", "none", "one of"),
    (mho.TileSpec, "read_noise_method", "fast", "one of"),
]


@pytest.mark.parametrize("cls,field,value,allowed", BAD, ids=lambda v: str(v))
def test_bad_field_raises_value_error(cls, field, value, allowed):
    with pytest.raises(ValueError) as err:
        cls(**{field: value})
    msg = str(err.value)
    assert f"{cls.__name__}.{field}" in msg
    assert allowed in msg
    shown = f"'{value}'" if isinstance(value, str) else None
    assert (shown or "=") in msg


@pytest.mark.parametrize("cls,field,value", [
    (mho.CellSpec, "prog_sigma", [-1.0]),
    (mho.CellSpec, "read_sigma", [1.0, 2.0]),
    (mho.CellSpec, "drift_params", [0.1]),
])
def test_model_parameters_checked_against_kind(cls, field, value):
    kind = {"prog_sigma": ("prog_error", "constant"), "read_sigma": ("read_noise", "pcm_1f"),
            "drift_params": ("drift", "constant")}[field]
    with pytest.raises(ValueError, match=f"CellSpec.{field}"):
        cls(**{kind[0]: kind[1], field: value})


def test_cross_field_constraints():
    with pytest.raises(ValueError, match="stuck_at_min_prob \\+ stuck_at_max_prob"):
        mho.CellSpec(stuck_at_min_prob=0.6, stuck_at_max_prob=0.6)
    with pytest.raises(ValueError, match="bits_per_cell = 8: must be <= the cell's bits \\(1"):
        mho.TileSpec(cell="sram_8t_22nm", bits_per_cell=8)
    with pytest.raises(ValueError, match="DacSpec.mode"):
        mho.DacSpec(mode="bitserial", input_bits=0)


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match="CellSpec.bits"):
        mho.CellSpec(bits="eight")
    with pytest.raises(TypeError, match="unexpected keyword 'rowz'"):
        mho.TileSpec(rowz=3)
    with pytest.raises(TypeError, match="TileSpec.adc"):
        mho.TileSpec(adc=mho.DacSpec())
    with pytest.raises(TypeError, match="TileSpec.dac"):
        mho.TileSpec(dac=8)


def test_presets_by_name_and_repr():
    names = mho.cell_preset_names()
    assert {"rram_neurosim_22nm", "pcm_joshi2020", "sram_8t_22nm"} <= set(names)
    for n in names:
        c = mho.cell_preset(n)
        assert c.name == n and c.source
    with pytest.raises(ValueError, match="cell preset = 'nope'"):
        mho.cell_preset("nope")
    t = mho.TileSpec(cell="pcm_joshi2020", rows=64)
    assert t.cell == mho.cell_preset("pcm_joshi2020")
    assert "rows=64" in repr(t) and "pcm_joshi2020" in repr(t)
    assert t.replace(rows=32).rows == 32 and t.rows == 64
    with pytest.raises(ValueError):
        t.replace(rows=-1)


def test_specs_are_immutable():
    s = mho.AdcSpec(bits=6)
    with pytest.raises(AttributeError):
        s.bits = 3
