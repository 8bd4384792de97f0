"""Mutation fuzzer for the files mho reads: model files, dataset files, the tech table and a
study config. Each case damages one file (byte flips, overwrites, truncations, insertions,
deletions, chunk copies; text files also line edits and YAML tokens), loads it through mho's
public Python API in a forked child with a time limit, and classifies the outcome:

    error    a clean error: ValueError / TypeError / FileNotFoundError (model errors must
             name the file)
    load     loaded, and what was loaded is what the file says: binary kinds: identical to
             the original; text kinds: every value agrees with what PyYAML reads from the
             damaged text
    silent   loaded, but the content differs (binary) or disagrees with PyYAML (text)
    unclear  any other exception, or an error message that does not name the file
    crash    the child died of a signal
    hang     the child ran past --timeout

    .venv/bin/python tests/fuzz/mutate.py --cases 2000         # per kind (the release check)
    .venv/bin/python tests/fuzz/mutate.py --cases 100          # CI

Exits 1 if any case crashed, hung, loaded silently or failed unclearly. Seeded: the same
--seed gives the same cases. The parent imports mho once and forks per case, so a case
costs milliseconds. Kinds: model (data/models/*.h5, through mho.nets.load), dataset (the
mnist files, through mho.datasets.load, including the manifest that the loader checks if
there is one), tech (data/tech.yaml, through mho.cost.load_tech, every node), config
(examples/configs/lenet5_mnist.yaml, through mho.config.load, which validates and builds
but runs nothing).
"""
import argparse
import json
import math
import os
import random
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

# Before numpy and mho load: a forked child must not need a thread pool of its parent.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_v] = "1"

import numpy as np  # noqa: E402
import yaml  # noqa: E402

import mho  # noqa: E402
import mho.config  # noqa: E402
import mho.cost  # noqa: E402
import mho.datasets  # noqa: E402
import mho.nets  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("model", "dataset", "tech", "config")
OUTCOMES = ("error", "load", "silent", "unclear", "crash", "hang")
FAILURES = ("silent", "unclear", "crash", "hang")
# A folder named where a file belongs (a truncated path in a config) is as clear as a missing
# file: IsADirectoryError naming the key, which the CLI prints as one line.
CLEAN = (ValueError, TypeError, FileNotFoundError, IsADirectoryError)

# Text that YAML gives meaning to: anchors, aliases, tags, merges, flow collections, special
# numbers, huge numbers, and deep nesting (yaml-cpp and PyYAML both recurse).
YAML_TOKENS = ["&a ", "*a", "!!binary ", "!!str ", "!!float ", "<<: *a", "{", "}", "[", "]", ": ", "- ",
               ".nan", ".inf", "-.inf", "-1", "0", "1e400", "-1e400", "0x7fffffff", "9" * 40, "~", "null",
               "true", "1.5", "\t", "'", '"', "#", "? ", "%YAML 1.2\n", "---\n", "...\n", "\\x00",
               "[" * 5000, "{a: " * 3000, "- " * 3000]


# ---------------------------------------------------------------- mutations

def mutate_bytes(data, rng):
    """One damaged copy of `data` and a short description of the damage."""
    d = bytearray(data)
    n = len(d)
    op = rng.choice(("flip", "flip", "flip", "set", "truncate", "insert", "delete", "copy"))
    if op == "flip":
        k = rng.choice((1, 1, 1, 2, 4, 8, 32))
        at = [rng.randrange(n) for _ in range(k)]
        for i in at:
            d[i] ^= 1 << rng.randrange(8) if rng.random() < 0.5 else rng.randrange(1, 256)
        return bytes(d), f"flip {k} at {at[0]}"
    if op == "set":
        i = rng.randrange(n)
        w = rng.choice((1, 2, 4, 8))
        v = rng.choice((b"\x00", b"\xff", b"\x7f", b"\x80", b"\x01"))
        d[i:i + w] = v * w
        return bytes(d[:n]), f"set {w}x{v.hex()} at {i}"
    if op == "truncate":
        i = rng.randrange(n)
        return bytes(d[:i]), f"truncate to {i}"
    if op == "insert":
        i = rng.randrange(n + 1)
        k = rng.choice((1, 4, 8, 64, 512))
        d[i:i] = bytes(rng.randrange(256) for _ in range(k))
        return bytes(d), f"insert {k} at {i}"
    if op == "delete":
        i = rng.randrange(n)
        k = rng.choice((1, 4, 8, 64, 512, 4096))
        del d[i:i + k]
        return bytes(d), f"delete {k} at {i}"
    k = rng.choice((8, 16, 64, 256))
    src, dst = rng.randrange(max(n - k, 1)), rng.randrange(max(n - k, 1))
    d[dst:dst + k] = data[src:src + k]
    return bytes(d[:n]), f"copy {k} from {src} to {dst}"


def changed(mutate, data, rng):
    """A mutation that changes the bytes (setting a zero byte to zero is no test)."""
    for _ in range(100):
        out, desc = mutate(data, rng)
        if out != data:
            return out, desc
    raise RuntimeError("no mutation changed the file")


def mutate_text(data, rng):
    if rng.random() < 0.4:
        return mutate_bytes(data, rng)
    lines = data.decode("utf-8", "replace").split("\n")
    i = rng.randrange(len(lines))
    op = rng.choice(("token", "token", "token", "del_line", "dup_line", "swap", "indent", "value"))
    if op == "token":
        t = rng.choice(YAML_TOKENS)
        j = rng.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:j] + t + lines[i][j:]
        desc = f"token {t[:12]!r} at line {i + 1}:{j}"
    elif op == "del_line":
        del lines[i]
        desc = f"delete line {i + 1}"
    elif op == "dup_line":
        lines.insert(i, lines[i])
        desc = f"duplicate line {i + 1}"
    elif op == "swap":
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        desc = f"swap lines {i + 1} and {j + 1}"
    elif op == "indent":
        lines[i] = (" " * rng.choice((1, 2, 4)) + lines[i]) if rng.random() < 0.5 else lines[i].lstrip()
        desc = f"indent line {i + 1}"
    else:
        # Replace one number on the line with an edge value.
        import re
        nums = list(re.finditer(r"-?\d+(\.\d+)?(e[+-]?\d+)?", lines[i]))
        if not nums:
            return mutate_bytes(data, rng)
        m = rng.choice(nums)
        v = rng.choice(("0", "-1", "0.5", "1.5", "1e400", "-0", "1e-400", ".nan", ".inf", "2147483648",
                        "9223372036854775808", "1e18", "007", "0x10", "0o17", "1_000", "+5"))
        lines[i] = lines[i][:m.start()] + v + lines[i][m.end():]
        desc = f"value {m.group(0)} -> {v} at line {i + 1}"
    return "\n".join(lines).encode("utf-8"), desc


# ---------------------------------------------------------------- children

def run_child(fn, timeout):
    """(outcome, detail) of fn() run in a forked child. fn returns (outcome, detail)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = fn()
        except CLEAN as e:
            res = ("error", f"{type(e).__name__}: {e}")
        except BaseException as e:  # noqa: B902 - everything else is what we look for
            res = ("unclear", f"{type(e).__name__}: {e} | " + traceback.format_exc(limit=3)[-400:])
        try:
            os.write(w, json.dumps([res[0], str(res[1])[:2000]]).encode())
        finally:
            os._exit(0)
    os.close(w)
    chunks, deadline = [], time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(r)
            return "hang", f"ran past {timeout} s"
        ready, _, _ = select.select([r], [], [], left)
        if ready:
            b = os.read(r, 1 << 16)
            if not b:
                break
            chunks.append(b)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "crash", f"signal {os.WTERMSIG(status)} ({signal.Signals(os.WTERMSIG(status)).name})"
    if not chunks:
        return "crash", f"exit status {os.WEXITSTATUS(status)} without a result"
    out = json.loads(b"".join(chunks))
    return out[0], out[1]


# ---------------------------------------------------------------- kinds

def model_fingerprint(net, info):
    layers = []
    for i in range(net.num_layers):
        p = net.parameters(i)
        layers.append((net.layer(i), {k: (v.tobytes() if isinstance(v, np.ndarray) else v) for k, v in p.items()}))
    return (net.name, net.input_shape, (info.dataset, info.source, info.float_test_accuracy), layers)


class ModelKind:
    name = "model"

    def __init__(self, tmp):
        self.files = sorted((ROOT / "data" / "models").glob("*.h5"))
        self.tmp = tmp
        self.orig = {}
        for p in self.files:
            net, info = mho.nets.load(p, fold_batchnorm=False)
            self.orig[p] = (p.read_bytes(), model_fingerprint(net, info))

    def case(self, k, rng):
        src = self.files[k % len(self.files)]
        data, desc = changed(mutate_bytes, self.orig[src][0], rng)
        path = self.tmp / src.name
        path.write_bytes(data)
        want = self.orig[src][1]

        def load():
            try:
                net, info = mho.nets.load(path, fold_batchnorm=False)
            except CLEAN as e:
                if str(path) not in str(e):
                    return "unclear", f"message does not name the file: {type(e).__name__}: {e}"
                raise
            if model_fingerprint(net, info) != want:
                return "silent", "loaded with changed content"
            return "load", "same content" + ("" if info.integrity_verified else " (unverified)")
        return f"{src.name}: {desc}", load


class DatasetKind:
    name = "dataset"

    def __init__(self, tmp, names=("mnist",)):
        self.tmp = tmp / "data"
        self.tmp.mkdir()
        src_dir = mho.datasets.data_dir()
        self.targets, self.orig = [], {}
        for name in names:
            files = [Path(p) for p in mho.datasets.files(name)] if hasattr(mho.datasets, "files") else \
                [Path(mho.datasets.path_of(name))]
            self.targets += files
            self.orig[name] = {s: mho.datasets.load(name, s, raw=True) for s in ("train", "test")}
        for extra in ("datasets.json",):  # the checksum manifest, where the loader has one
            if (src_dir / extra).is_file():
                self.targets.append(src_dir / extra)
        self.names = names
        self.src = {p.name: p.read_bytes() for p in self.targets}
        for p in self.targets:  # copies of the bytes read now: the originals may change meanwhile
            (self.tmp / p.name).write_bytes(self.src[p.name])

    def case(self, k, rng):
        target = self.targets[k % len(self.targets)]
        data, desc = changed(mutate_bytes, self.src[target.name], rng)
        dst = self.tmp / target.name

        def load():
            os.environ["MHO_DATA_DIR"] = str(self.tmp)
            dst.unlink()
            dst.write_bytes(data)
            loaded = 0
            for name in self.names:
                for split in ("train", "test"):
                    x, y = mho.datasets.load(name, split, raw=True)
                    ox, oy = self.orig[name][split]
                    if x.shape != ox.shape or y.shape != oy.shape or not (np.array_equal(x, ox) and np.array_equal(y, oy)):
                        return "silent", f"{name}/{split} loaded with changed content"
                    loaded += 1
            return "load", "same content"
        # The mutated file is written in the child; the parent restores the original after.
        def restore():
            dst.unlink(missing_ok=True)
            dst.write_bytes(self.src[target.name])
        return f"{target.name}: {desc}", load, restore


def _num(v):
    """A YAML scalar as mho's YAML 1.2 reader takes a number, or None if it is not one."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _close(a, b):
    return a == b or (math.isfinite(a) and math.isfinite(b) and abs(a - b) <= 1e-12 * max(abs(a), abs(b)))


class Disagree(Exception):
    pass


def _expect(what, got, want):
    if want is None or not _close(float(got), float(want)):
        raise Disagree(f"{what}: loaded {got!r}, PyYAML reads {want!r}")


class TechKind:
    name = "tech"

    def __init__(self, tmp):
        self.src = (ROOT / "data" / "tech.yaml").read_bytes()
        self.nodes = list(yaml.safe_load(self.src)["nodes"])
        self.path = tmp / "tech.yaml"

    @staticmethod
    def check(t, doc, node):
        """Every value TechTable exposes against the PyYAML reading of the same text."""
        if not isinstance(doc, dict):
            raise Disagree(f"loaded, but PyYAML reads a {type(doc).__name__}")
        n = doc["nodes"][node]
        _expect("node_m", t.node_m, _mul(_num(n["node_nm"]), 1e-9))
        _expect("vdd_V", t.vdd_V, _num(n["vdd_V"]))
        _expect("clock_hz", t.clock_hz, _num(n["clock_hz"]))
        sc = doc["scaling"]
        f0, v0 = _mul(_num(sc["reference_node_nm"]), 1e-9), _num(sc["reference_vdd_V"])
        v2 = (t.vdd_V / v0) ** 2
        logic, area = (t.node_m / f0) * v2, (t.node_m / f0) ** 2
        scale = {"logic": logic, "wire": v2, "none": 1.0}
        ref = doc["reference_45nm"]
        for op in ("add", "mult"):
            e = ref[op]
            _table(f"{op}", e["bits"], [getattr(t, op)], e, scale[e["scale"]], area, keys=("energy_pJ", "area_um2"))
        s = ref["sram_read_64b"]
        if len(s["capacity_bytes"]) != len(s["energy_pJ"]):
            raise Disagree("sram_read_64b lists of different lengths loaded")
        for c, en in zip(s["capacity_bytes"], s["energy_pJ"]):
            _expect(f"sram_J_per_bit({c})", t.sram_J_per_bit(_num(c)), _mul(_num(en), 1e-12 * scale[s["scale"]] / 64))
        w = ref["wire"]
        _expect("wire_J_per_bit_m", t.wire_J_per_bit_m, _mul(_num(w["energy_pJ_per_bit_mm"]), 1e-12 * 1e3 * scale[w["scale"]]))
        d = ref["dac_bit"]
        _expect("dac(1).energy", t.dac(1)["energy_J"], _mul(_num(d["energy_pJ"]), 1e-12 * scale[d["scale"]]))
        _expect("dac(1).area", t.dac(1)["area_m2"], _mul(_num(d["area_um2"]), 1e-12 * area))
        _expect("dram_J_per_bit", t.dram_J_per_bit, _mul(_num(doc["dram"]["energy_pJ_per_64b"]), 1e-12 / 64))
        _expect("rf_access_per_mac", t.rf_access_per_mac, _num(doc["eyeriss"]["rf_access_per_mac"]))
        _expect("pe_to_pe_per_mac", t.pe_to_pe_per_mac, _num(doc["eyeriss"]["pe_to_pe_per_mac"]))
        c = doc["sram_cell"]
        _expect("sram_bit_area_m2", t.sram_bit_area_m2,
                _mul(_num(c["area_F2"]), t.node_m ** 2 / _num(c["array_efficiency"])))
        if sorted(t.adc_types()) != sorted(str(k) for k in n["adc"]):
            raise Disagree(f"adc types {t.adc_types()} vs {list(n['adc'])}")
        for typ, e in n["adc"].items():
            _table(f"adc {typ}", e["bits"], [lambda b, typ=typ: t.adc(typ, b)], e, 1.0, 1.0,
                   keys=("energy_pJ", "area_um2", "time_ns"))
            if t.adc_bits(str(typ)) != sorted({int(_num(b)) for b in e["bits"]}):
                raise Disagree(f"adc {typ} bits {t.adc_bits(str(typ))} vs {e['bits']}")

    def case(self, k, rng):
        data, desc = changed(mutate_text, self.src, rng)
        path = self.path

        def load():
            path.write_bytes(data)
            try:
                doc = yaml.safe_load(data)
            except Exception:  # noqa: BLE001 - PyYAML cannot read it: nothing to compare with
                doc = _UNPARSABLE
            outcomes = []
            for node in self.nodes:
                try:
                    t = mho.cost.load_tech(node, path)
                except CLEAN as e:
                    outcomes.append(("error", f"{type(e).__name__}: {e}"))
                    continue
                if doc is _UNPARSABLE:
                    outcomes.append(("load", "PyYAML cannot read the text; not compared"))
                    continue
                try:
                    self.check(t, doc, node)
                except Disagree as e:
                    return "silent", f"node {node}: {e}"
                except (KeyError, TypeError, IndexError, AttributeError, ZeroDivisionError, ValueError) as e:
                    return "silent", f"node {node}: loaded, but the text lacks or garbles it: {type(e).__name__}: {e}"
                outcomes.append(("load", "agrees with PyYAML"))
            return next((o for o in outcomes if o[0] == "load"), outcomes[0])
        return desc, load


_UNPARSABLE = object()


def _mul(a, b):
    return None if a is None else a * b


def _table(what, bits, getters, e, escale, ascale, keys):
    """A per-bits table (adder, multiplier, ADC) against the YAML lists it came from."""
    get = getters[0]
    names = {"energy_pJ": ("energy_J", 1e-12 * escale), "area_um2": ("area_m2", 1e-12 * ascale), "time_ns": ("time_s", 1e-9)}
    seen = {}
    for i, b in enumerate(bits):
        bv = _num(b)
        if bv is None or bv != int(bv):
            raise Disagree(f"{what}: bits entry {b!r} loaded as an integer")
        row = tuple(_num(e[k][i]) for k in keys)
        if int(bv) in seen and seen[int(bv)] != row:
            raise Disagree(f"{what}: bits {int(bv)} listed twice with different values, loaded")
        seen[int(bv)] = row
    for b, row in seen.items():
        got = get(b) if callable(get) else get(b)
        for k, want in zip(keys, row):
            field, mult = names[k]
            _expect(f"{what}({b}).{field}", got[field], _mul(want, mult))


class ConfigKind:
    name = "config"

    def __init__(self, tmp):
        self.src_path = ROOT / "examples" / "configs" / "lenet5_mnist.yaml"
        self.src = self.src_path.read_bytes()
        # The same folder layout as the repository, so the config's relative paths resolve.
        (tmp / "examples" / "configs").mkdir(parents=True)
        os.symlink(ROOT / "data", tmp / "data")
        self.path = tmp / "examples" / "configs" / "lenet5_mnist.yaml"

    @staticmethod
    def check(c, raw, path):
        if not isinstance(raw, dict):
            raise Disagree(f"loaded, but PyYAML reads a {type(raw).__name__}")
        base = os.path.dirname(os.path.abspath(path))

        def same(key, got, want):
            if isinstance(want, str) and hasattr(got, "name") and not isinstance(got, str):
                got = got.name  # a preset (cell) given by name
            if type(got) is bool or type(want) is bool:
                ok = type(got) is type(want) and got == want
            elif isinstance(want, (int, float)) and isinstance(got, (int, float)):
                ok = got == want and not (isinstance(got, int) and isinstance(want, float) and want != int(want))
            else:
                ok = got == want
            if not ok:
                raise Disagree(f"{key}: loaded {got!r}, the text says {want!r}")

        same("model", c["model"], os.path.normpath(os.path.join(base, raw["model"])))
        for key, default in (("chips", 10), ("seed", 1), ("test_images", None), ("batch", 500),
                             ("calib_samples", 512), ("time_s", None), ("dataset", None)):
            same(key, c[key], raw.get(key, default))

        def spec(obj, values, where):
            for k, v in (values or {}).items():
                got = getattr(obj, k)
                if isinstance(v, dict):
                    spec(got, v, f"{where}.{k}")
                else:
                    same(f"{where}.{k}", got, v)
        spec(c["spec"], raw.get("hardware"), "hardware")
        spec(c["system"], raw.get("system"), "system")
        if raw.get("digital") is not False:
            spec(c["digital"], raw.get("digital"), "digital")
        tech = raw.get("tech") or {}
        same("tech.node", c["tech"].node, tech.get("node", "22nm"))
        sw = raw.get("sweep")
        if sw is not None:
            same("sweep.param", c["sweep"]["param"], sw["param"])
            same("sweep.values", c["sweep"]["values"], sw["values"])
            same("sweep.chips", c["sweep"]["chips"], sw.get("chips", 5))
        out = raw.get("output") or {}
        if "plots" in out:
            same("output.plots", c["plots"], out["plots"])
        if out.get("name"):
            same("output.name", c["name"], out["name"])

    def case(self, k, rng):
        data, desc = changed(mutate_text, self.src, rng)
        path = self.path

        def load():
            path.write_bytes(data)
            c = mho.config.load(path)
            try:
                raw = yaml.safe_load(data)
            except Exception:  # noqa: BLE001
                return "silent", "loaded, but PyYAML cannot read the text"
            try:
                self.check(c, raw, path)
            except Disagree as e:
                return "silent", str(e)
            except (KeyError, TypeError, AttributeError) as e:
                return "silent", f"loaded, but the text lacks or garbles a value: {type(e).__name__}: {e}"
            return "load", "agrees with PyYAML"
        return desc, load


# ---------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=2000, help="cases per kind")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated subset of {', '.join(KINDS)}")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds before a case counts as a hang")
    ap.add_argument("--show", type=int, default=5, help="cases of each failure outcome to print")
    a = ap.parse_args(argv)
    kinds = [k for k in a.kinds.split(",") if k]
    for k in kinds:
        if k not in KINDS:
            ap.error(f"--kinds: unknown kind {k!r}; allowed: {', '.join(KINDS)}")
    # A fuzzer case must never find a stray file of a previous run.
    tmp = Path(tempfile.mkdtemp(prefix="mho-fuzz-"))
    failed = False
    try:
        for kind_name in kinds:
            ktmp = tmp / kind_name
            ktmp.mkdir()
            kind = {"model": ModelKind, "dataset": DatasetKind, "tech": TechKind, "config": ConfigKind}[kind_name](ktmp)
            counts = {o: 0 for o in OUTCOMES}
            shown = {o: 0 for o in OUTCOMES}
            t0 = time.monotonic()
            for k in range(a.cases):
                rng = random.Random(f"{a.seed}:{kind_name}:{k}")
                spec = kind.case(k, rng)
                desc, fn = spec[0], spec[1]
                outcome, detail = run_child(fn, a.timeout)
                if len(spec) > 2:
                    spec[2]()
                counts[outcome] += 1
                if outcome in FAILURES and shown[outcome] < a.show:
                    shown[outcome] += 1
                    print(f"  {kind_name} case {k} [{desc}]: {outcome}: {detail[:600]}", flush=True)
            dt = time.monotonic() - t0
            print(f"{kind_name:8s} cases {a.cases:6d}  " + "  ".join(f"{o} {counts[o]}" for o in OUTCOMES) +
                  f"  ({dt:.0f} s)", flush=True)
            failed |= any(counts[o] for o in FAILURES)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
