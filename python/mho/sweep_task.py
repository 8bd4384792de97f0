"""One sweep task, as a worker runs it: (point, chip) accuracy or (point) cost.

A task is plain data (payload(): the point's study mapping, its hardware edits, the folder
its relative paths resolve against, the chip and the seed), so it pickles and any worker
can run it. run_task() builds the design from it with mho.config's builders. A worker
process keeps what every task of a point needs (the built config, the model, the test and
calibration images, the float accuracy) in caches keyed by path and file hash, so a task
costs little more than its chip's simulation.

Task seeds: seed = int(SHA-256("mho-sweep-task\\0<sweep seed>\\0<design_key>\\0<chip>")[:8]) >> 1,
a 63-bit integer, set as the TileSpec seed of the chip (which is then programmed as chip
<chip>); so the table is the same for any worker count, order or cluster.
"""
import hashlib
import math
import os
import signal
import time

import numpy as np

from . import _core, datasets, nets, results, specs, study, sweep_config

# Test hook (tests/python/test_sweep.py): "MARKER:POINT:CHIP" makes the first attempt of that
# accuracy task kill its own worker process with SIGKILL, once: the marker file records it.
KILL_ONCE_ENV = "MHO_SWEEP_KILL_ONCE"
# Test hook: "POINT" makes that point's tasks raise (a failing task is recorded, the rest go on).
FAIL_ENV = "MHO_SWEEP_FAIL_POINT"

_cache = {}


def task_seed(sweep_seed, design_key, chip):
    h = hashlib.sha256(f"mho-sweep-task\0{sweep_seed}\0{design_key}\0{chip}".encode()).digest()
    return int.from_bytes(h[:8], "big") >> 1


def payload(sweep, point, chip=None):
    """The plain-data task of `point` (a load_sweep point): chip None is its cost task."""
    return {"type": "cost" if chip is None else "accuracy", "point": point["index"], "chip": chip,
            "design_key": point["design_key"], "raw": point["raw"], "edits": [list(e) for e in point["edits"]],
            "base": sweep["base"], "batch": sweep["raw"].get("batch", 500),
            "seed": None if chip is None else task_seed(sweep["seed"], point["design_key"], chip)}


def _cached(key, make):
    if key not in _cache:
        _cache[key] = make()
    return _cache[key]


def _file_key(path):
    """A file's identity for the caches: its path and the SHA-256 of its bytes (the hash is
    itself cached by path, size and modification time)."""
    st = os.stat(path)
    return path, _cached(("sha256", path, st.st_size, st.st_mtime_ns), lambda: results.sha256_file(path))


def _prepare(p):
    c = _cached(("config", specs.canonical_json([p["raw"], p["edits"], p["base"]])),
                lambda: sweep_config.build_point(p["raw"], [tuple(e) for e in p["edits"]], p["base"]))
    model = _file_key(c["model"])
    net = _cached(("net", model), lambda: nets.load(c["model"])[0])
    return c, model, net


def _images(c):
    ds = c["dataset_name"]
    ident = _file_key(os.fspath(datasets.path_of(ds)))
    x, y = _cached(("test", ident, c["test_images"]), lambda: datasets.load(ds, "test", limit=c["test_images"]))
    calib = _cached(("calib", ident, c["calib_samples"]),
                    lambda: datasets.load(ds, "train", limit=c["calib_samples"])[0])
    return ident, x, y, calib


def _float_accuracy(net, model, ident, c, x, y, batch):
    def compute():
        pred = np.concatenate([net.forward(x[s:s + batch]).argmax(1) for s in range(0, len(x), batch)])
        return float(np.mean(pred == y))
    return _cached(("float", model, ident, c["test_images"]), compute)


def _finite(v):
    v = float(v)
    return v if math.isfinite(v) else None


def _test_hooks(p):
    spec = os.environ.get(KILL_ONCE_ENV)
    if spec and p["type"] == "accuracy":
        marker, point, chip = spec.rsplit(":", 2)
        if (int(point), int(chip)) == (p["point"], p["chip"]) and not os.path.exists(marker):
            with open(marker, "w") as f:
                f.write(f"{os.getpid()}\n")
            os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(FAIL_ENV) == str(p["point"]):
        raise RuntimeError(f"{FAIL_ENV} asks point {p['point']} to fail")


def _accuracy(p, c, model, net):
    ident, x, y, calib = _images(c)
    batch = p["batch"]
    float_acc = _float_accuracy(net, model, ident, c, x, y, batch)
    t0 = time.perf_counter()
    pim = _core.PimNetwork(net, c["spec"].replace(seed=p["seed"]), {})
    acc = study.chip_accuracy(pim, p["chip"], x, y, calib, batch, c["time_s"])
    return {"accuracy": acc, "float_accuracy": float_acc, "test_images": len(x)}, time.perf_counter() - t0


def _cost(p, c, model, net):
    from . import cost
    t0 = time.perf_counter()
    r = cost.pim(net, c["spec"], system=c["system"], tech=c["tech"])
    out = {"energy_total_per_inference_J": r.energy_total_J, "area_total_mm2": r.area_total_m2 * 1e6,
           "latency_s": r.latency_s, "tops_per_w": r.tops_per_w, "tops_per_mm2": r.tops_per_mm2}
    return {k: _finite(v) for k, v in out.items()}, time.perf_counter() - t0


def run_task(p):
    """The task's record for the store. An error inside the task is recorded (status
    "error", its message), never raised: the sweep goes on."""
    # One task per core: the tiles run single-threaded (their bits do not depend on it).
    if _core.get_num_threads() != 1:
        _core.set_num_threads(1)
    # Dask's nanny gives every worker MALLOC_TRIM_THRESHOLD_=65536, which returns each freed
    # array to the kernel and made tasks twice as slow (common/allocator.h).
    _core.keep_freed_memory(even_if_set=True)
    rec = {"type": p["type"], "point": p["point"], "chip": p["chip"], "design_key": p["design_key"]}
    if p["seed"] is not None:
        rec["seed"] = p["seed"]
    t0 = time.perf_counter()
    try:
        _test_hooks(p)
        c, model, net = _prepare(p)
        values, compute_s = (_accuracy if p["type"] == "accuracy" else _cost)(p, c, model, net)
        rec.update(values, status="ok", error="")
    except Exception as e:  # recorded in the table; the other tasks go on
        rec.update(status="error", error=f"{type(e).__name__}: {' '.join(str(e).split())}")
        compute_s = 0.0
    rec["compute_s"] = compute_s
    rec["task_s"] = time.perf_counter() - t0
    rec["worker_pid"] = os.getpid()
    return rec
