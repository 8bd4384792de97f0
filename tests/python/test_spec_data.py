"""Specs as data: for every spec class and every field (enumerated from to_dict, so a new
field is covered without editing this file), a non-default value survives to_dict/from_dict,
pickle (protocols 0-5), copy, deepcopy and YAML; equality, hash and design key change with
it; from_dict errors name the key path; repr omits defaults and evaluates back."""
import ast
import copy
import hashlib
import io
import json
import os
import pickle
import re

import pandas as pd
import pytest

import mho
from mho import _core, cli, results, specs

SPEC_NAMES = {"TileSpec", "CellSpec", "DacSpec", "AdcSpec", "WireSpec", "CapSpec", "PimSystemSpec", "DigitalSpec"}

# Fields valid only together with another one (a CellSpec model kind and its parameter list):
# the companion set beside the field when the field alone cannot change.
COMPANION = {"prog_sigma": ("prog_error", "constant"), "read_sigma": ("read_noise", "constant"),
             "drift_params": ("drift", "constant"), "prog_error": ("prog_sigma", [1e-7]),
             "wl_v_low_V": ("wl_v_high_V", 2.2)}

LENET = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "models", "lenet5_mnist.h5")
EVAL_NAMES = {n: getattr(mho, n) for n in mho.__all__}  # what `from mho import *` gives


def leaves(d, prefix=()):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from leaves(v, prefix + (k,))
        else:
            yield prefix + (k,), v


def put(d, path, v):
    d = copy.deepcopy(d)
    x = d
    for k in path[:-1]:
        x = x[k]
    x[path[-1]] = v
    return d


def candidates(v):
    if isinstance(v, bool):
        return [not v]
    if isinstance(v, int):
        return [v + 1, v - 1, 2 * v + 3, 1, 2]
    if isinstance(v, float):
        return [v * 1.5 + 0.125, v / 2, v + 0.25, 0.5, 0.0, 1e-3, 2.0, 1e-15]  # 1 fF: a small capacitance
    if isinstance(v, str):
        return [v + "_x"]
    if isinstance(v, list):
        return [[1, 2], [0.125], [1e-7], [0.01, 0.5], [0.01, 0.5, 0.2, 1e-7]]  # lists of ints, then of floats
    raise AssertionError(f"to_dict holds a {type(v).__name__}: not plain data")


def changed(cls, path):
    """A valid spec of `cls` whose field `path` differs from the default, and its dict."""
    base = cls().to_dict()
    old = dict(leaves(base))[path]
    starts = [base]
    if path[-1] in COMPANION:
        k, v = COMPANION[path[-1]]
        starts.append(put(base, path[:-1] + (k,), v))
    errors = []
    for start in starts:
        todo = [c for c in candidates(old) if c != old]
        while todo:
            c = todo.pop(0)
            d = put(start, path, c)
            try:
                return cls.from_dict(d), d
            except ValueError as e:
                errors.append(str(e))
                allowed = str(e).split("must be one of", 1)
                if isinstance(old, str) and len(allowed) == 2:  # a name from a fixed set
                    todo += [a for a in re.findall(r"'([^']*)'", allowed[1]) if a != old and a != c]
    raise AssertionError(f"{cls.__name__}.{'.'.join(path)}: no valid non-default value found: {errors}")


CASES = [(cls, path) for cls in specs.SPEC_CLASSES for path, _ in leaves(cls().to_dict())]
IDS = [f"{cls.__name__}.{'.'.join(p)}" for cls, p in CASES]


def test_every_bound_spec_is_covered():
    bound = {n for n, c in vars(_core).items() if isinstance(c, type) and hasattr(c, "from_dict")}
    assert bound == SPEC_NAMES == {c.__name__ for c in specs.SPEC_CLASSES}
    assert len(CASES) > 60  # the nested fields of TileSpec are enumerated too


@pytest.mark.parametrize("cls, path", CASES, ids=IDS)
def test_every_field_round_trips_and_counts(cls, path):
    s, d = changed(cls, path)
    base = cls()
    # to_dict is the dict it was built from (every field, plain data), JSON and back too
    assert s.to_dict() == d and type(dict(leaves(s.to_dict()))[path]) is type(dict(leaves(base.to_dict()))[path])
    assert json.loads(json.dumps(s.to_dict())) == d
    assert cls.from_dict(s.to_dict()) == s
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(s, proto)) == s, proto
    assert copy.copy(s) == s and copy.deepcopy(s) == s and copy.deepcopy([s])[0] == s
    assert mho.from_yaml(mho.to_yaml(s), cls) == s
    # equality, hash and key follow the field
    assert s != base and not (s == base)
    assert hash(s) != hash(base) and hash(s) == hash(cls.from_dict(d)) and len({s, copy.copy(s), base}) == 2
    assert mho.design_key(s) != mho.design_key(base)
    assert mho.design_key(s) == mho.design_key(d) == mho.design_key(pickle.loads(pickle.dumps(s)))
    # repr: exactly the non-default fields, and it evaluates back to the same spec
    assert repr(base) == f"{cls.__name__}()"
    assert_repr_names_only_changes(ast.parse(repr(s), mode="eval").body, s.to_dict(), base.to_dict())
    assert eval(repr(s), EVAL_NAMES) == s


def assert_repr_names_only_changes(call, d, base):
    assert isinstance(call, ast.Call), ast.dump(call)
    named = {k.arg: k.value for k in call.keywords}
    assert set(named) == {k for k in d if d[k] != base[k]}
    for k, node in named.items():
        if isinstance(d[k], dict) and isinstance(node, ast.Call):
            assert_repr_names_only_changes(node, d[k], base[k])


@pytest.mark.parametrize("cls, path", CASES, ids=IDS)
def test_from_dict_errors_name_the_key(cls, path):
    base = cls().to_dict()
    old = dict(leaves(base))[path]
    full = re.escape(".".join((cls.__name__,) + path))
    wrong = {bool: 1, int: "3", float: "0.5", str: 5, list: "0.5"}[type(old)]
    with pytest.raises(TypeError, match=full + r": expected"):
        cls.from_dict(put(base, path, wrong))
    with pytest.raises(TypeError, match=full + r"_x: unknown key"):
        cls.from_dict(put(base, path[:-1] + (path[-1] + "_x",), old))
    if isinstance(old, list):
        with pytest.raises(TypeError, match=full + r"\[1\]: expected (a number|an integer)"):
            cls.from_dict(put(base, path, [1, "x"]))


def test_from_dict_is_the_keyword_constructor():
    for cls in specs.SPEC_CLASSES:
        assert cls.from_dict({}) == cls()
        assert cls.from_dict(cls().to_dict()) == cls()
        for path, _ in leaves(cls().to_dict()):
            s, d = changed(cls, path)
            kw = {k: v for k, v in d.items() if v != cls().to_dict()[k]}
            assert cls(**kw) == s == cls().replace(**kw)  # nested specs as dicts in keywords too


def test_from_dict_value_and_structure_errors():
    with pytest.raises(ValueError, match=r"^TileSpec\.adc\.bits = 99: must be in"):
        mho.TileSpec.from_dict({"adc": {"bits": 99}})
    with pytest.raises(ValueError, match=r"^TileSpec\.cell\.g_min_S = "):
        mho.TileSpec.from_dict({"cell": {"g_min_S": -1.0}})
    with pytest.raises(ValueError, match=r"^TileSpec\.bits_per_cell = 4: must be <= the cell's bits"):
        mho.TileSpec.from_dict({"cell": {"bits": 2}, "bits_per_cell": 4})  # a check across fields
    with pytest.raises(ValueError, match=r"^TileSpec\.cell: cell preset = 'nope': must be one of"):
        mho.TileSpec.from_dict({"cell": "nope"})
    with pytest.raises(TypeError, match=r"^TileSpec: expected a dict of TileSpec fields, got list"):
        mho.TileSpec.from_dict([1])
    with pytest.raises(TypeError, match=r"^TileSpec\.adc: expected AdcSpec, got int 5"):
        mho.TileSpec.from_dict({"adc": 5})
    with pytest.raises(TypeError, match=r"^TileSpec\.wires: keys must be field names \(str\), got int 1"):
        mho.TileSpec.from_dict({"wires": {1: 2.0}})
    with pytest.raises(ValueError, match=r"^AdcSpec\.bits = 99"):  # a corrupted pickle is validated too
        pickle.loads(pickle.dumps(mho.AdcSpec(bits=3), 2).replace(b"K\x03", b"Kc"))


def test_cell_presets_as_names_and_as_data():
    pcm = mho.cell_preset("pcm_joshi2020")
    t = mho.TileSpec(cell="pcm_joshi2020", rows=64)
    assert repr(t) == "TileSpec(rows=64, cell='pcm_joshi2020')"
    assert t.to_dict()["cell"] == pcm.to_dict()  # written out in full: the dict needs no preset table
    assert mho.TileSpec.from_dict({"rows": 64, "cell": "pcm_joshi2020"}) == t == mho.TileSpec.from_dict(t.to_dict())
    t2 = t.replace(cell=pcm.replace(bits=2, g_max_S=2e-05))
    assert repr(t2) == "TileSpec(rows=64, cell=cell_preset('pcm_joshi2020').replace(g_max_S=2e-05, bits=2))"
    assert eval(repr(t2), EVAL_NAMES) == t2 != t
    custom = t.replace(cell=pcm.replace(name="my_pcm"))  # not a preset's name: every changed field
    assert repr(custom).startswith("TileSpec(rows=64, cell=CellSpec(name='my_pcm', source=")
    assert eval(repr(custom), EVAL_NAMES) == custom


def test_specs_of_different_classes_or_plain_dicts_are_not_equal():
    assert mho.AdcSpec() != mho.DacSpec() and mho.AdcSpec() != mho.AdcSpec().to_dict()
    assert mho.AdcSpec() == mho.AdcSpec() and hash(mho.AdcSpec()) == hash(mho.AdcSpec())
    # floats exactly (the old repr equality rounded to 6 digits), -0.0 == 0.0 as in Python
    assert mho.AdcSpec(percentile=99.9900001) != mho.AdcSpec(percentile=99.99)
    zero = mho.WireSpec(r_row_ohm=-0.0)
    assert zero == mho.WireSpec() and hash(zero) == hash(mho.WireSpec())
    assert mho.design_key(zero) == mho.design_key(mho.WireSpec())


def test_design_key_is_sha256_of_the_documented_canonical_json():
    text = ('{"bits":6,"columns_per_adc":1,"inl_lsb":0.0,"noise_lsb":0.0,"percentile":99.99,'
            '"range":"calibrated"}')
    assert specs.canonical_json(mho.AdcSpec(bits=6)) == text
    assert mho.design_key(mho.AdcSpec(bits=6)) == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert specs.canonical_json({"b": (1, 2.5e-07), "a": mho.WireSpec(r_row_ohm=1.0), "c": None, "d": True}) == (
        '{"a":{"r_col_ohm":0.0,"r_driver_ohm":-1.0,"r_row_ohm":1.0,"r_sense_ohm":-1.0},"b":[1,2.5e-07],'
        '"c":null,"d":true}')
    with pytest.raises(ValueError, match=r"design\.x = nan: must be finite"):
        mho.design_key({"x": float("nan")})
    with pytest.raises(TypeError, match=r"design\.x\[0\]: expected"):
        mho.design_key({"x": [object()]})
    with pytest.raises(TypeError, match=r"design: keys must be str"):
        mho.design_key({1: 2})


def test_yaml_files_and_hand_written_yaml(tmp_path):
    t = mho.TileSpec(rows=64, cell="pcm_joshi2020", adc=mho.AdcSpec(bits=6), seed=2**64 - 1)
    path = tmp_path / "design.yaml"
    text = mho.to_yaml(t, path)
    assert path.read_text() == text and mho.from_yaml(path, mho.TileSpec) == t
    assert mho.from_yaml(str(path), mho.TileSpec) == t
    hand = "rows: 64\ncell: {name: x, g_min_S: 2e-6, g_max_S: 1.5E-5}\nadc: {bits: 4}\n"  # YAML 1.2 floats
    s = mho.from_yaml(hand, mho.TileSpec)
    assert s.cell.g_min_S == 2e-6 and s.cell.g_max_S == 1.5e-5 and s.adc.bits == 4
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        mho.from_yaml(tmp_path / "missing.yaml", mho.TileSpec)
    with pytest.raises(IsADirectoryError):
        mho.from_yaml(tmp_path, mho.TileSpec)
    with pytest.raises(ValueError, match="not valid YAML"):
        mho.from_yaml("rows: [1\n", mho.TileSpec)
    with pytest.raises(TypeError, match=r"TileSpec\.rowz: unknown key"):
        mho.from_yaml("rowz: 1\n", mho.TileSpec)
    with pytest.raises(TypeError, match=r"from_yaml\(cls\): expected a spec class"):
        mho.from_yaml("bits: 1\n", dict)
    with pytest.raises(TypeError, match=r"to_yaml\(spec\): expected a spec"):
        mho.to_yaml({"bits": 1})


def test_cost_record_carries_the_design_as_data(tmp_path):
    j, h = tmp_path / "c.json", tmp_path / "c.h5"
    assert cli.main(["cost", "--net", "lenet5", "--array", "128x64", "--adc-bits", "5", "--json", str(j),
                     "--h5", str(h)]) == 0
    rj, rh = results.read_json(j), results.read_h5(h)
    assert rj["design"] == rh["design"] and rj["design_key"] == rh["design_key"]
    tech = {"node": rj["hardware"]["node"], "sha256": rj["inputs"]["tech"]["sha256"]}
    assert rj["design_key"] == mho.design_key(mho.specs.study_design(
        mho.TileSpec.from_dict(rj["design"]["tile"]), "zoo:lenet5", None,
        system=mho.PimSystemSpec.from_dict(rj["design"]["system"]), tech=tech))
    tile = mho.TileSpec.from_dict(rj["design"]["tile"])
    assert (tile.rows, tile.cols, tile.adc.bits) == (128, 64, 5)
    assert repr(tile) == rj["hardware"]["tile"] and repr(mho.TileSpec.from_dict(rh["design"]["tile"])) == repr(tile)
    assert repr(mho.PimSystemSpec.from_dict(rj["design"]["system"])) == rj["hardware"]["system"]
    assert mho.DigitalSpec.from_dict(rj["design"]["digital"]).pe_rows > 0


def test_run_record_carries_the_design_as_data(tmp_path):
    cfg = tmp_path / "study.yaml"
    cfg.write_text(f"model: {LENET}\nchips: 1\ntest_images: 20\ncalib_samples: 16\n"
                   "hardware: {rows: 128, cols: 128, cell: pcm_joshi2020, weight_bits: 4, adc: {bits: 6}}\n"
                   "digital: false\noutput: {dir: out, plots: false}\n")
    rec = cli.run(cfg, progress=False, out=io.StringIO())
    stored = results.read_h5(tmp_path / "out" / "study.h5")
    assert stored["design"] == rec["design"] and stored["design_key"] == rec["design_key"]
    d = mho.study.default_spec()  # keys the config leaves out are the default design's
    assert mho.TileSpec.from_dict(stored["design"]["tile"]) == d.replace(
        rows=128, cols=128, cell="pcm_joshi2020", weight_bits=4, adc=d.adc.replace(bits=6), seed=rec["seed"])
    assert stored["design"]["digital"] is None
    tech = {"node": rec["inputs"]["tech"]["node"], "sha256": rec["inputs"]["tech"]["sha256"]}
    assert rec["design_key"] == mho.design_key(mho.specs.study_design(
        mho.TileSpec.from_dict(rec["design"]["tile"]), rec["inputs"]["model"]["sha256"], "mnist", 20, 16, None,
        system=mho.PimSystemSpec.from_dict(rec["design"]["system"]), tech=tech))
    chips = pd.read_csv(tmp_path / "out" / "study_chips.csv", comment="#")
    assert set(chips["design_key"]) == {rec["design_key"]}


def test_study_result_carries_the_design_as_data():
    spec = mho.TileSpec.ideal(64, 64)
    r = mho.study.evaluate(LENET, spec=spec, chips=1, limit=20, calib_samples=16,
                           progress=False)
    assert mho.TileSpec.from_dict(r.design) == spec and r.spec == repr(spec)
    model_sha = hashlib.sha256(open(LENET, "rb").read()).hexdigest()
    assert r.design_key == mho.design_key(mho.specs.study_design(spec, model_sha, "mnist", 20, 16, None))
    assert r.design_key != mho.design_key(mho.specs.study_design(spec, model_sha, "mnist", 20, 16, 3600.0))
