"""Design-space sweeps on Dask distributed: (point, chip) accuracy tasks and (point) cost
tasks, resumable, with tidy tables.

    tables = mho.sweep.run("examples/configs/sweep_lenet5.yaml")          # a LocalCluster
    tables = mho.sweep.run(cfg, scheduler="tcp://10.0.0.5:8786")           # an existing cluster
    tables = mho.sweep.run(cfg, workers=0)                                 # serial, in-process
    tables.accuracy, tables.cost                                           # pandas DataFrames

The config format is in mho.sweep_config. Execution: by default an embedded LocalCluster
(one single-threaded worker process per core, or `workers`), started and stopped here;
`scheduler=ADDRESS` uses an existing cluster (its workers must import the same mho and see
the same files); workers=0 runs the same task function in this process, one task after
another. Every task's seed derives from (sweep seed, point, chip) (mho.sweep_task), so the
tables are the same for any of these.

State: the sweep store <out>/<name>_store.jsonl (mho.sweep_store), one record per finished
task, appended as tasks finish. Running the same sweep again resumes: the recorded tasks are
not run again, the missing ones are, and the tables (built from the store, sorted by point
and chip) are bit-identical to an uninterrupted run's. A store of another sweep is refused.
A worker killed during a task: Dask runs the task again on another worker (up to
ALLOWED_FAILURES times, then it is recorded as an error); a task that raises is recorded with
status "error" and its message, and the sweep goes on.

Outputs in the output folder: <name>_accuracy.csv/.h5 (one row per point x chip),
<name>_cost.csv/.h5 (one row per point), <name>.json (provenance, the config, counts, the file
list) and PNG plots.
"""
import logging
import os
import time
from dataclasses import dataclass, field
from typing import List

from . import _core, _util, config, results, specs, sweep_config, sweep_store, sweep_task
from . import tables as mho_tables

# A task whose worker dies this many times is recorded as an error (distributed's own default,
# distributed.yaml `scheduler.allowed-failures`): a dying worker is usually the machine's doing
# (OOM killer, a lost node), and three deaths in a row mean the task itself kills workers.
ALLOWED_FAILURES = 3
# Log lines (when stderr is not a terminal) at most this often, and at every 10 % done
# (issue 14: periodic done / total / ETA lines).

ACCURACY_COLUMNS = ("chip", "seed", "accuracy", "float_accuracy", "test_images", "status", "error")
COST_COLUMNS = ("energy_total_per_inference_J", "area_total_mm2", "latency_s", "tops_per_w", "tops_per_mm2",
                "status", "error")


@dataclass
class SweepResult:
    accuracy: object            # pandas DataFrame, one row per (point, chip)
    cost: object                # pandas DataFrame, one row per point (None without cost tasks)
    store: str                  # the sweep store's path
    files: List[str] = field(default_factory=list)   # tables, summary and plots written
    tasks: int = 0              # tasks of the sweep
    computed: int = 0           # tasks run by this call (the others were in the store)
    errors: int = 0             # tasks recorded with status "error"
    timing: dict = field(default_factory=dict)   # seconds: cluster_start_s, tasks_s (first submit to last result)


def default_workers():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def check_scheduler(address):
    """A scheduler address such as tcp://host:8786 (or host:8786), checked for its form."""
    if not isinstance(address, str) or not address.strip():
        raise ValueError(f"--scheduler {address!r}: expected an address such as tcp://127.0.0.1:8786")
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port
    try:
        proto, loc = parse_address(address)
        if proto in ("tcp", "tls"):
            parse_host_port(loc)
    except (ValueError, TypeError) as e:
        raise ValueError(f"--scheduler {address!r}: not a scheduler address ({e}); expected e.g. "
                         f"tcp://127.0.0.1:8786") from None
    return address


class _Progress(_util.Progress):
    """The sweep's progress (mho._util.Progress): tasks, with the error count in log lines."""

    def __init__(self, total, resumed, enabled, out=None):
        super().__init__(total, "sweep", enabled, unit="task", out=out,
                         header=f", {resumed} already in the store" if resumed else "")
        self.errors = 0

    def update(self, rec):
        self.errors += rec["status"] != "ok"
        super().update(1, f", {self.errors} errors" if self.errors else "")


def _serial(todo, done, timing):
    threads = _core.get_num_threads()
    t0 = time.perf_counter()
    try:
        for p in todo:
            done(sweep_task.run_task(p))
    finally:
        _core.set_num_threads(threads)
    timing["tasks_s"] = time.perf_counter() - t0


def _killed_record(p, e):
    rec = {k: p[k] for k in ("type", "point", "chip", "design_key")}
    if p["seed"] is not None:
        rec["seed"] = p["seed"]
    rec.update(status="error", error=f"{type(e).__name__}: {' '.join(str(e).split())}",
               compute_s=0.0, task_s=0.0, worker_pid=None)
    return rec


def _on_dask(client, todo, done, tag, timing):
    from distributed import as_completed
    from distributed.scheduler import KilledWorker
    t0 = time.perf_counter()
    keys = [f"mho-sweep-{tag}-{p['type']}-{p['point']}-{p['chip']}" for p in todo]
    futures = client.map(sweep_task.run_task, todo, key=keys, pure=False)
    by_key = dict(zip(keys, todo))
    for fut in as_completed(futures):
        try:
            rec = fut.result()
        except KilledWorker as e:  # it killed ALLOWED_FAILURES workers: recorded, the sweep goes on
            rec = _killed_record(by_key[fut.key], e)
        done(rec)
        fut.release()
    timing["tasks_s"] = time.perf_counter() - t0


# Dask settings of a sweep. The workers' statistical profiler samples the task thread's stack
# every 10 ms, taking the GIL from it; a sweep task has no use for that profile.
# MALLOC_ARENA_MAX=1 (for the workers the LocalCluster's nannies start): a task runs in a
# worker thread, whose glibc arena unmaps each of its 64 MiB heaps as soon as it empties
# (whatever the trim threshold), so every batch re-faulted its arrays: 7.6 s of system time
# per worker in bench sweep_scaling, 0.7 s with the one main arena, 20 % less wall time.
DASK_SETTINGS = {"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                 "distributed.worker.profile.enabled": False,
                 "distributed.nanny.pre-spawn-environ.MALLOC_ARENA_MAX": 1}


def _execute(todo, done, workers, scheduler, connect_timeout_s, tag, timing):
    if scheduler is None and workers == 0:
        return _serial(todo, done, timing)
    import dask
    from distributed import Client, LocalCluster
    with dask.config.set(DASK_SETTINGS):
        if scheduler is not None:
            client = _connect(scheduler, connect_timeout_s)
            try:
                _on_dask(client, todo, done, tag, timing)
            finally:
                client.close()
            return
        # No dashboard: it would need a free port (and bokeh); quiet logs: a worker that is
        # killed and restarted is Dask's business, the store records what matters.
        t0 = time.perf_counter()
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            timing["cluster_start_s"] = time.perf_counter() - t0
            _on_dask(client, todo, done, tag, timing)


def _connect(scheduler, timeout_s):
    from distributed import Client
    try:
        return Client(scheduler, timeout=timeout_s)
    except OSError as e:
        raise ConnectionError(f"--scheduler {scheduler}: cannot connect to a Dask scheduler there ({e})") from None


def _column_value(v):
    """A parameter's value as a table cell: numbers and strings as they are, anything else
    (lists, mappings) as its JSON text."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return specs.canonical_json(v)


def tables(s, records):
    """(accuracy, cost) DataFrames of a sweep's records, sorted by point and chip (cost None
    when the sweep has no cost tasks)."""
    import pandas as pd
    acc, cost = [], []
    for pt in s["points"]:
        head = {"point": pt["index"], "design_key": pt["design_key"]}
        head.update({n: _column_value(v) for n, v in pt["columns"].items()})
        for chip in range(s["chips"]):
            r = records[("accuracy", pt["index"], chip)]
            row = dict(head, chip=chip, seed=r["seed"])  # every accuracy record carries its task's seed
            row.update({k: r.get(k, float("nan")) for k in ("accuracy", "float_accuracy")})
            row["test_images"] = r.get("test_images", pt["config"]["test_images"])
            row.update(status=r["status"], error=r["error"])
            acc.append(row)
        if s["cost"]:
            r = records[("cost", pt["index"], None)]
            row = dict(head)
            row.update({k: (r.get(k) if r.get(k) is not None else float("nan")) for k in COST_COLUMNS[:-2]})
            row.update(status=r["status"], error=r["error"])
            cost.append(row)
    columns = ["point", "design_key"] + [n for n in s["params"] if n not in ACCURACY_COLUMNS]
    a = pd.DataFrame(acc, columns=columns + list(ACCURACY_COLUMNS))
    c = pd.DataFrame(cost, columns=["point", "design_key"] + s["params"] + list(COST_COLUMNS)) if s["cost"] else None
    return a, c


def _plots(acc, cost, stem, params):
    """Accuracy vs the first swept parameter (one series per value of the second, if any) and,
    with costs, the Pareto plot."""
    from . import sweep_plots
    out = []
    if params:  # each plot returns its summary frame; the file is the path given
        sweep_plots.plot_accuracy(acc, params[0], stem + "_accuracy.png", by=params[1] if len(params) > 1 else None)
        out.append(stem + "_accuracy.png")
    if cost is not None:
        sweep_plots.plot_pareto(acc, cost, stem + "_pareto.png")
        out.append(stem + "_pareto.png")
    return out


def _inputs(s):
    files = {"model": sorted({pt["config"]["model"] for pt in s["points"]}),
             "tech": sorted({pt["config"]["tech_file"] for pt in s["points"]})}
    out = {k: [{"path": p, "sha256": results.sha256_file(p)} for p in v] for k, v in files.items()}
    if s["file"]:
        out["config"] = {"path": s["file"], "sha256": results.sha256_file(s["file"])}
    return out


def run(source, out_dir=None, scheduler=None, workers=None, progress=True, plots=None, base_dir=None,
        connect_timeout_s=10.0):
    """Run (or resume) the sweep a config describes (a YAML path, or its mapping with relative
    paths against base_dir) and return its tables (SweepResult). workers: LocalCluster worker
    processes (default: one per core), 0 for a serial run in this process; scheduler: the
    address of an existing Dask scheduler (workers is then unused). Everything is checked
    before the first task: the config and every point's design, the output folder, the store
    (refused if it belongs to another sweep) and the scheduler."""
    s = sweep_config.load_sweep(source, base_dir)
    if out_dir is not None:
        s["out_dir"] = os.path.abspath(os.fspath(out_dir))
        problem = config.output_dir_problem(s["out_dir"])
        if problem:
            raise ValueError(f"--out {out_dir}: {problem}")
    if plots is not None:
        s["plots"] = plots
    if scheduler is not None:
        check_scheduler(scheduler)
        _connect(scheduler, connect_timeout_s).close()  # reachable, before any task
    workers = default_workers() if workers is None else _util.integer("workers", workers, lo=0)
    os.makedirs(s["out_dir"], exist_ok=True)
    stem = os.path.join(s["out_dir"], s["name"])
    tasks = [sweep_task.payload(s, pt, chip) for pt in s["points"] for chip in range(s["chips"])]
    if s["cost"]:
        tasks += [sweep_task.payload(s, pt) for pt in s["points"]]
    with sweep_store.Store(stem + "_store.jsonl", s["config_sha256"], len(tasks)) as store:
        todo = [p for p in tasks if sweep_store.task_id(p) not in store.records]
        bar = _Progress(len(todo), len(tasks) - len(todo), progress)
        timing = {}

        def done(rec):
            store.append(rec)
            bar.update(rec)
        try:
            if todo:
                _execute(todo, done, workers, scheduler, connect_timeout_s, s["config_sha256"][:12], timing)
        finally:
            bar.close()
        records = dict(store.records)
    acc, cost = tables(s, records)
    prov = results.provenance()
    meta = {"config_sha256": s["config_sha256"], "sweep_seed": s["seed"], "chips": s["chips"]}
    files = list(mho_tables.write_table(acc, stem + "_accuracy", prov, dict(meta, table="accuracy")))
    if cost is not None:
        files += mho_tables.write_table(cost, stem + "_cost", prov, dict(meta, table="cost"))
    if s["plots"]:
        files += _plots(acc, cost, stem, s["params"])
    errors = sum(r["status"] != "ok" for r in records.values())
    summary = {"provenance": prov, "config": s["raw"], "config_sha256": s["config_sha256"], "inputs": _inputs(s),
               "points": len(s["points"]), "chips": s["chips"], "tasks": len(tasks), "computed": len(todo),
               "errors": errors, "store": os.path.basename(store.path),
               "result_files": [os.path.basename(f) for f in files]}
    files.append(results.write_json(stem + ".json", summary))
    return SweepResult(acc, cost, store.path, files, len(tasks), len(todo), errors, timing)
