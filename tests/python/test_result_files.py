"""Result files: HDF5 round-trips any key and string; a result set is renamed in together
(never a mix of two runs); files are fsync'ed before their rename; a run killed with -9 leaves
only temporaries that the next run removes."""
import json
import os
import signal
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from mho import _util, cli, results

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")

AWKWARD_KEYS = ["a/b", "/", "//x", ".", "..", "a.b", "", "%", "%2F", "%25", "__json__", "__list__", "%list",
                "%json", "x%json", "%format", "ünï/cødé", "sp ace", "0", "\t"]
AWKWARD_STRINGS = ["__json__5", "__json__", "__json__[1]", "", "ünïcødé ✓", "a\x00b", "\ud800", "%json", "null",
                   "true", "[1, 2]", "\n", "x" * 10000]


def roundtrip(tmp_path, rec):
    return results.read_h5(results.write_h5(tmp_path / "r.h5", rec))


def test_awkward_keys_and_strings_round_trip(tmp_path):
    rec = {k: {k: s} for k, s in zip(AWKWARD_KEYS, AWKWARD_STRINGS * 2)}
    rec["strings"] = {str(i): s for i, s in enumerate(AWKWARD_STRINGS)}
    rec["list of records"] = [{"/": 1, "__list__": "__json__5"}, {"": ""}]
    rec["lists"] = {"mixed": [1, 2.5], "ints": [1, 2], "floats": [1.0, 2.0], "big": [2**70], "bools": [True],
                    "empty": [], "nested": [[1], [2, 3]], "strs": ["a", ""]}
    rec["scalars"] = {"big": 2**64, "neg": -(2**63), "t": True, "n": None, "f": 1e-300, "i": 0}
    rec["empty"] = {}
    assert roundtrip(tmp_path, rec) == rec


def random_record(rng, depth=0):
    """A seeded random record: awkward keys, strings, numbers, lists, nested records."""
    def key():
        return "".join(rng.choice(list("ab/.%_\x00ü_jsonlist ")) for _ in range(rng.integers(0, 6)))

    def value():
        kind = rng.integers(0, 9 if depth < 3 else 6)
        if kind == 0:
            return rng.choice(AWKWARD_STRINGS) + key()
        if kind == 1:
            return int(rng.integers(-2**62, 2**62))
        if kind == 2:
            return float(rng.normal()) * 10.0 ** int(rng.integers(-300, 300))
        if kind == 3:
            return [float(v) for v in rng.normal(size=rng.integers(0, 4))]
        if kind == 4:
            return [True, None, "s", 1][: rng.integers(0, 5)]
        if kind == 5:
            return bool(rng.integers(0, 2)) if rng.integers(0, 2) else None
        if kind == 6:
            return [random_record(rng, depth + 1) for _ in range(rng.integers(1, 3))]
        return random_record(rng, depth + 1)
    return {key(): value() for _ in range(rng.integers(0, 6))}


@pytest.mark.parametrize("seed", range(40))
def test_random_records_round_trip_json_and_hdf5(tmp_path, seed):
    rec = random_record(np.random.default_rng(seed))
    assert roundtrip(tmp_path, rec) == rec
    # JSON holds the same record (it escapes NUL and lone surrogates).
    assert results.read_json(results.write_json(tmp_path / "r.json", rec)) == rec


def test_format_1_files_are_still_read(tmp_path):
    with h5py.File(tmp_path / "old.h5", "w") as f:
        f.attrs["flag"] = "__json__true"
        f.attrs["name"] = "x"
        g = f.create_group("rows")
        g.attrs["__list__"] = 1
        g.create_group("0").attrs["a"] = 1
    assert results.read_h5(tmp_path / "old.h5") == {"flag": True, "name": "x", "rows": [{"a": 1}]}


def write_set(folder, names, run):
    """A result set of `names` in `folder`, each file holding `run`; the JSON lists the set."""
    finals = [os.path.join(folder, n) for n in names]
    with results.ResultSet(finals) as rs:
        for f in finals:
            if f.endswith(".json"):
                results.write_json(rs.tmp(f), {"run": run, "result_files": rs.names})
            else:
                with open(rs.tmp(f), "w") as fh:
                    fh.write(run)
    return finals


def contents(folder):
    out = {}
    for n in sorted(os.listdir(folder)):
        with open(os.path.join(folder, n)) as f:
            text = f.read()
        out[n] = json.loads(text).get("run", "placeholder") if n.endswith(".json") else text
    return out


def test_a_new_set_removes_the_members_of_the_old_one_it_does_not_overwrite(tmp_path):
    (tmp_path / "unrelated.png").write_text("keep")
    write_set(tmp_path, ["s.json", "s.h5", "s_cost.png", "s_sweep.png"], "one")
    write_set(tmp_path, ["s.json", "s.h5"], "two")
    assert contents(tmp_path) == {"s.json": "two", "s.h5": "two", "unrelated.png": "keep"}


def test_a_failed_set_leaves_the_old_one_untouched(tmp_path):
    write_set(tmp_path, ["s.json", "s.h5", "s_cost.png"], "one")
    with pytest.raises(RuntimeError, match="plot failed"):
        with results.ResultSet([tmp_path / "s.json", tmp_path / "s.h5"]) as rs:
            results.write_json(rs.tmp(tmp_path / "s.json"), {"run": "two"})
            raise RuntimeError("plot failed")
    assert contents(tmp_path) == {"s.json": "one", "s.h5": "one", "s_cost.png": "one"}


def test_files_are_fsynced_before_rename_and_the_folder_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))))
        return real_fsync(fd)

    def replace(a, b):
        events.append(("rename", os.path.basename(b)))
        return real_replace(a, b)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_set(tmp_path, ["s.json", "s.h5"], "one")
    renames = [i for i, e in enumerate(events) if e[0] == "rename" and not e[1].startswith(".mho-tmp-")]
    final_renames = [events[i][1] for i in renames]
    assert final_renames == ["s.json", "s.h5", "s.json"]  # placeholder, members, the JSON last
    fsynced = [e[1] for e in events[:renames[0]] if e[0] == "fsync"]
    assert sum(n.startswith(".mho-tmp-") and n.endswith("s.h5") for n in fsynced) >= 1
    assert sum(n.startswith(".mho-tmp-") and n.endswith("s.json") for n in fsynced) >= 1
    assert events[-1] == ("fsync", os.path.basename(str(tmp_path)))  # the folder, after the renames


KILLED_CHILD = textwrap.dedent("""
    import os, signal, sys
    from mho import results
    folder, when = sys.argv[1], sys.argv[2]
    finals = [os.path.join(folder, n) for n in ("s.json", "s.h5", "s_cost.png")]
    rs = results.ResultSet(finals)
    for f in finals:
        with open(rs.tmp(f), "w") as fh:
            fh.write('{"run": "two", "result_files": []}' if f.endswith(".json") else "two")
        if when == "writing":
            os.kill(os.getpid(), signal.SIGKILL)
    real, calls = os.replace, []
    def replace_then_die(a, b):  # dies after the placeholder JSON and one member
        real(a, b)
        calls.append(b)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
    os.replace = replace_then_die
    rs.commit()
""")


@pytest.mark.parametrize("when", ["writing", "renaming"])
def test_kill_9_leaves_no_mix_and_only_temporaries_the_next_run_removes(tmp_path, when):
    write_set(tmp_path, ["s.json", "s.h5", "s_cost.png"], "one")
    r = subprocess.run([sys.executable, "-c", KILLED_CHILD, str(tmp_path), when], capture_output=True, text=True)
    assert r.returncode == -signal.SIGKILL, r.stderr
    names = os.listdir(tmp_path)
    temps = [n for n in names if n.startswith(_util.TMP_PREFIX)]
    assert temps, names
    finished = {n: v for n, v in contents(tmp_path).items() if not n.startswith(_util.TMP_PREFIX)}
    if when == "writing":
        assert finished == {"s.json": "one", "s.h5": "one", "s_cost.png": "one"}  # the old set, whole
    else:  # no JSON describes a half-replaced set: the placeholder lists both sets' files
        placeholder = results.read_json(tmp_path / "s.json")
        assert "incomplete" in placeholder and "run" not in placeholder
        assert placeholder["result_files"] == ["s.h5", "s.json", "s_cost.png"]
    write_set(tmp_path, ["s.json", "s.h5"], "three")
    assert contents(tmp_path) == {"s.json": "three", "s.h5": "three"}


def test_temporaries_of_live_processes_are_kept(tmp_path):
    mine = tmp_path / f"{_util.TMP_PREFIX}{os.getpid()}-abcd1234-x.json"
    mine.write_text("in progress")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"{_util.TMP_PREFIX}{int(dead.stdout)}-abcd1234-x.json"
    stale.write_text("left by a killed run")
    assert _util.clean_stale_temps(tmp_path) == [stale.name]
    assert mine.exists() and not stale.exists()


def test_cost_command_replaces_its_whole_set(tmp_path):
    a = ["cost", "--net", "lenet5", "--json", str(tmp_path / "c.json")]
    assert cli.main(a + ["--plot", str(tmp_path / "c.png"), "--h5", str(tmp_path / "c.h5")]) == 0
    assert sorted(os.listdir(tmp_path)) == ["c.h5", "c.json", "c.png"]
    assert results.read_json(tmp_path / "c.json")["result_files"] == ["c.json", "c.h5", "c.png"]
    assert cli.main(a) == 0
    assert sorted(os.listdir(tmp_path)) == ["c.json"]  # the old run's plot and HDF5 are gone
