"""mho sweep: a 2-worker LocalCluster, a real dask-scheduler with two dask-workers, a sweep
killed with -9 and resumed, and a worker killed in a task all give the serial run's tables
bit for bit; the serial run agrees with a chip simulated here directly; config errors stop
a sweep before its first task; a failing task is recorded and the others finish."""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

import mho
from mho import study, sweep, sweep_config, sweep_store, sweep_task

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
LENET = os.path.join(ROOT, "data", "models", "lenet5_mnist.h5")
ENV = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))

# 3 points x 3 chips + 3 cost tasks on 150 images: a few seconds of simulation.
CONFIG = """
model: MODEL
seed: 7
test_images: 150
calib_samples: 64
hardware: {rows: 256, cols: 256, cell: rram_neurosim_22nm, weight_bits: 6,
           dac: {input_bits: 8, signed_mode: unsigned}, adc: {bits: 8, columns_per_adc: 8}}
system: {adc_type: sar}
sweep:
  grid: {adc.bits: [3, 6]}
  points:
    - {cell: pcm_joshi2020, time_s: 3600}
  chips: 3
output: {dir: out, plots: false}
"""
TASKS = 3 * 3 + 3


def write(tmp_path, text=CONFIG, name="sw.yaml"):
    p = tmp_path / name
    p.write_text(text.replace("MODEL", LENET))
    return p


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The serial, in-process run: (accuracy, cost) tables."""
    d = tmp_path_factory.mktemp("serial")
    r = sweep.run(write(d), workers=0, progress=False)
    assert (r.tasks, r.computed, r.errors) == (TASKS, TASKS, 0)
    return r.accuracy, r.cost


def same(a, b):
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    for col in a.columns:  # floats bit for bit (assert_frame_equal would pass -0.0 == 0.0)
        if a[col].dtype == np.float64:
            assert a[col].to_numpy().tobytes() == b[col].to_numpy().tobytes(), col


def store_lines(path):
    with open(path, "rb") as f:
        return f.read().split(b"\n")


def test_serial_run_matches_a_chip_simulated_directly(reference):
    acc, cost = reference
    assert list(acc.columns) == ["point", "design_key", "adc.bits", "cell", "time_s", "chip", "seed", "accuracy",
                                 "float_accuracy", "test_images", "status", "error"]
    assert list(acc[["point", "chip"]].itertuples(index=False, name=None)) == [(p, c) for p in range(3) for c in range(3)]
    assert list(acc["adc.bits"]) == [3] * 3 + [6] * 3 + [8] * 3   # the point that does not set it: the base's
    assert list(acc["cell"]) == ["rram_neurosim_22nm"] * 6 + ["pcm_joshi2020"] * 3
    assert (acc.status == "ok").all() and (acc.error == "").all() and (acc.test_images == 150).all()
    # The documented seed formula, computed here.
    row = acc.iloc[7]  # point 2 (PCM, one hour of drift), chip 1
    h = hashlib.sha256(f"mho-sweep-task\0{7}\0{row.design_key}\0{1}".encode()).digest()
    assert row.seed == int.from_bytes(h[:8], "big") >> 1
    assert acc.seed.nunique() == len(acc)
    # The same chip simulated here, without the sweep machinery.
    net, _ = mho.nets.load(LENET)
    x, y = mho.datasets.load("mnist", "test", limit=150)
    calib, _ = mho.datasets.load("mnist", "train", limit=64)
    d = mho.study.default_spec()  # what the config leaves out
    spec = d.replace(rows=256, cols=256, cell="pcm_joshi2020", weight_bits=6, seed=int(row.seed),
                     dac=d.dac.replace(input_bits=8, signed_mode="unsigned"), adc=d.adc.replace(bits=8, columns_per_adc=8))
    pim = mho._core.PimNetwork(net, spec, {})
    threads = mho.get_num_threads()
    mho.set_num_threads(2)  # the sweep's tasks run single-threaded: the bits must not depend on it
    try:
        assert row.accuracy == study.chip_accuracy(pim, 1, x, y, calib, 500, 3600.0)
    finally:
        mho.set_num_threads(threads)
    assert row.float_accuracy == float(np.mean(net.forward(x).argmax(1) == y))
    # Cost from shapes, as mho.cost computes it for the point's design.
    c = mho.cost.pim(net, spec.replace(adc=spec.adc.replace(bits=8)), system=mho.PimSystemSpec(adc_type="sar"))
    assert cost.loc[2, "energy_total_per_inference_J"] == c.energy_total_J
    assert cost.loc[2, "area_total_mm2"] == c.area_total_m2 * 1e6
    assert list(cost.columns[-7:]) == list(sweep.COST_COLUMNS)
    # Fewer ADC bits, lower accuracy (a sanity check of the design columns).
    assert acc[acc["adc.bits"] == 3].accuracy.mean() < acc[acc["adc.bits"] == 6].accuracy.mean()


def test_two_worker_local_cluster_equals_serial(reference, tmp_path):
    r = sweep.run(write(tmp_path), workers=2, progress=False)
    same(r.accuracy, reference[0])
    same(r.cost, reference[1])
    pids = {json.loads(l)["worker_pid"] for l in store_lines(r.store)[1:-1]}
    assert len(pids) == 2 and os.getpid() not in pids  # really ran on the two workers
    # The written tables hold the same values.
    same(pd.read_hdf(os.path.join(tmp_path, "out", "sw_accuracy.h5")), reference[0])
    csv = pd.read_csv(os.path.join(tmp_path, "out", "sw_cost.csv"), comment="#", keep_default_na=False,
                      float_precision="round_trip")  # the default parser can miss the last bit
    assert csv.energy_total_per_inference_J.to_numpy().tobytes() == \
        reference[1].energy_total_per_inference_J.to_numpy().tobytes()


def _worker_settings():
    return os.environ.get("MALLOC_ARENA_MAX"), __import__("dask").config.get("distributed.worker.profile.enabled")


def test_local_cluster_workers_get_the_sweep_settings():
    """The nannies start the workers with one malloc arena (a task's thread arena re-faulted
    its arrays on every batch) and without the statistical profiler."""
    import dask
    from distributed import Client, LocalCluster
    with dask.config.set(sweep.DASK_SETTINGS), \
            LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
            Client(cl) as c:
        assert list(c.run(_worker_settings).values()) == [("1", False)]


def test_kill_9_of_the_sweep_then_resume(reference, tmp_path):
    cfg = write(tmp_path)
    store = tmp_path / "out" / "sw_store.jsonl"
    cmd = [sys.executable, "-m", "mho", "sweep", str(cfg), "--workers", "2", "--no-progress"]
    p = subprocess.Popen(cmd, env=ENV, cwd=tmp_path, start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and p.poll() is None:
            if store.exists() and len(store_lines(store)) >= 3:  # header + one record + ""
                break
            time.sleep(0.01)
        # The sweep process and its LocalCluster's worker processes, at once.
        os.killpg(p.pid, signal.SIGKILL)
    finally:
        p.wait()
    assert p.returncode == -signal.SIGKILL, "the sweep ended before it could be killed"
    before = [l for l in store_lines(store)[1:] if l.endswith(b"}")]
    assert 1 <= len(before) < TASKS
    out = subprocess.run(cmd, env=ENV, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = store_lines(store)
    assert lines[-1] == b""
    records = [json.loads(l) for l in lines[1:-1]]
    assert len(records) == TASKS  # none lost, none run twice
    assert len({sweep_store.task_id(r) for r in records}) == TASKS
    assert lines[1:1 + len(before)] == before  # the finished ones kept as they were
    assert f"{TASKS - len(before)} run now, {len(before)} from the store" in out.stdout
    same(pd.read_hdf(tmp_path / "out" / "sw_accuracy.h5"), reference[0])
    same(pd.read_hdf(tmp_path / "out" / "sw_cost.h5"), reference[1])


def test_a_worker_killed_in_a_task_is_retried(reference, tmp_path, monkeypatch):
    marker = tmp_path / "killed"
    monkeypatch.setenv(sweep_task.KILL_ONCE_ENV, f"{marker}:1:2")
    r = sweep.run(write(tmp_path), workers=2, progress=False)
    assert marker.exists()  # the first attempt of task (1, 2) killed its worker
    killed_pid = int(marker.read_text())
    rec = [json.loads(l) for l in store_lines(r.store)[1:-1] if json.loads(l)["point"] == 1
           and json.loads(l)["chip"] == 2]
    assert len(rec) == 1 and rec[0]["status"] == "ok" and rec[0]["worker_pid"] != killed_pid
    same(r.accuracy, reference[0])
    same(r.cost, reference[1])


def _start(args, **kw):
    return subprocess.Popen(args, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, **kw)


def _dask_command(name):
    exe = shutil.which(f"dask-{name}")
    return [exe] if exe else [sys.executable, "-m", f"distributed.cli.dask_{name}"]


def test_real_scheduler_and_two_workers(reference, tmp_path):
    from distributed import Client
    sched_file = tmp_path / "scheduler.json"
    procs = []
    try:
        # Port 0: the scheduler takes a free port and writes its address to the file.
        procs.append(_start(_dask_command("scheduler") + ["--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                                         "--scheduler-file", str(sched_file)]))
        deadline = time.monotonic() + 60
        address = None
        while address is None and time.monotonic() < deadline:
            try:  # the scheduler may be half-way through writing the file
                address = json.loads(sched_file.read_text())["address"]
            except (FileNotFoundError, ValueError, KeyError):
                time.sleep(0.1)
        assert address.startswith("tcp://127.0.0.1:")
        for _ in range(2):
            procs.append(_start(_dask_command("worker") + [address, "--nworkers", "1", "--nthreads", "1",
                                                           "--host", "127.0.0.1", "--no-dashboard"], cwd=tmp_path))
        with Client(address, timeout=30) as c:
            c.wait_for_workers(2, timeout=60)
            worker_pids = set(c.run(os.getpid).values())
        out = subprocess.run([sys.executable, "-m", "mho", "sweep", str(write(tmp_path)), "--scheduler", address,
                              "--no-progress"], env=ENV, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        pids = {json.loads(l)["worker_pid"] for l in store_lines(tmp_path / "out" / "sw_store.jsonl")[1:-1]}
        assert pids <= worker_pids and len(worker_pids) == 2  # the cluster's two workers ran the tasks
        same(pd.read_hdf(tmp_path / "out" / "sw_accuracy.h5"), reference[0])
        same(pd.read_hdf(tmp_path / "out" / "sw_cost.h5"), reference[1])
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


@pytest.fixture
def no_task(monkeypatch):
    def refuse(p):
        raise AssertionError("a task started before the sweep was fully checked")
    monkeypatch.setattr(sweep_task, "run_task", refuse)


@pytest.mark.parametrize("edit, message", [
    (("grid: {adc.bits: [3, 6]}", "grid: {adc.bits: [3, 12]}"), r"sweep point 1 \(adc.bits=12\).*'adc.bits'.*ADC bits = 12"),
    (("grid: {adc.bits: [3, 6]}", "grid: {adc.bits: [3, 6.5]}"), r"sweep point 1 \(adc.bits=6.5\).*'adc.bits'"),
    (("grid: {adc.bits: [3, 6]}", "grid: {adc.bitz: [3, 6]}"), r"'sweep.grid.adc.bitz'.*unknown parameter"),
    (("grid: {adc.bits: [3, 6]}", "grid: {system.adc_typ: [sar]}"), r"sweep point 0 .*'system.adc_typ': unknown"),
    (("grid: {adc.bits: [3, 6]}", "grid: {system.adc_type: [sar, pipeline]}"), r"sweep point 1 .*'system.adc_type'"),
    (("grid: {adc.bits: [3, 6]}", "grid: {adc_bits: [3, 6]}"), r"'sweep.grid.adc_bits'.*unknown parameter"),
    (("grid: {adc.bits: [3, 6]}", "grid: {seed: [3, 6]}"), r"'sweep.grid.seed'.*cannot be swept"),
    (("grid: {adc.bits: [3, 6]}", "grid: {adc.bits: []}"), r"'sweep.grid.adc.bits'.*non-empty list"),
    (("time_s: 3600}", "time_s: -1}"), r"sweep point 2 .*'time_s'"),
    (("cell: pcm_joshi2020", "cell: pcm_nope"), r"sweep point 2 .*'cell'"),
    (("  chips: 3", "  chips: 3\n  chipz: 2"), r"'sweep.chipz': unknown"),
    (("  chips: 3", "  chips: 0"), r"'sweep.chips'"),
    (("seed: 7", "seed: 7\nchips: 4"), r"'chips': not used by mho sweep"),
    (("cell: pcm_joshi2020, time_s: 3600", "adc.bits: 3"), r"points 0 and 2 .*same design"),
    (("test_images: 150", "test_images: 150\ndataset: cifar10"), r"sweep point 0 .*'dataset'"),
])
def test_config_errors_stop_the_sweep_before_any_task(tmp_path, no_task, edit, message):
    text = CONFIG.replace(*edit)
    assert text != CONFIG
    with pytest.raises(ValueError, match=message):
        sweep.run(write(tmp_path, text), workers=0, progress=False)
    assert not (tmp_path / "out").exists()


def test_cli_reports_a_config_error_in_one_line(tmp_path):
    cfg = write(tmp_path, CONFIG.replace("grid: {adc.bits: [3, 6]}", "grid: {adc.bits: [3, 12]}"))
    out = subprocess.run([sys.executable, "-m", "mho", "sweep", str(cfg), "--workers", "0"], env=ENV,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.startswith("mho: error: sweep point 1 (adc.bits=12)") and "Traceback" not in out.stderr


@pytest.mark.parametrize("address, message", [
    ("tcp://127.0.0.1:notaport", "--scheduler 'tcp://127.0.0.1:notaport': not a scheduler address"),
    ("", "--scheduler ''"),
    ("tcp://127.0.0.1:9", "--scheduler tcp://127.0.0.1:9: cannot connect"),  # the discard port: nobody listens
])
def test_a_bad_scheduler_fails_before_any_task(tmp_path, no_task, address, message):
    with pytest.raises(OSError if "connect" in message else ValueError, match=message.replace("(", r"\(")):
        sweep.run(write(tmp_path), scheduler=address, progress=False, connect_timeout_s=1)
    assert not (tmp_path / "out").exists()


def test_a_failing_task_is_recorded_and_the_others_finish(reference, tmp_path, monkeypatch):
    monkeypatch.setenv(sweep_task.FAIL_ENV, "1")
    r = sweep.run(write(tmp_path), workers=0, progress=False)
    assert r.errors == 4  # point 1: 3 chips and its cost
    acc, cost = r.accuracy, r.cost
    bad = acc.point == 1
    assert (acc[bad].status == "error").all() and acc[bad].error.str.contains("asks point 1 to fail").all()
    assert acc[bad].accuracy.isna().all() and (acc[bad].test_images == 150).all()
    same(acc[~bad], reference[0][~bad])
    assert cost.loc[1, "status"] == "error" and np.isnan(cost.loc[1, "tops_per_w"])
    same(cost[cost.point != 1], reference[1][reference[1].point != 1])


def test_a_store_of_another_sweep_is_refused(reference, tmp_path):
    sweep.run(write(tmp_path), workers=0, progress=False)
    with pytest.raises(sweep_store.StoreError, match="belongs to another sweep"):
        sweep.run(write(tmp_path, CONFIG.replace("chips: 3", "chips: 2")), workers=0, progress=False)


def test_store_drops_a_torn_last_line_and_refuses_a_damaged_one(tmp_path):
    path = tmp_path / "s.jsonl"
    rec = {"type": "accuracy", "point": 0, "chip": 0, "accuracy": 0.1 + 0.2, "status": "ok", "error": ""}
    with sweep_store.Store(path, "abc", 2) as s:
        assert s.append(rec) and not s.append(rec)  # a task is recorded once
    with open(path, "ab") as f:
        f.write(b'{"type": "accuracy", "point": 0, "chip": 1, "accur')  # killed in the write
    with sweep_store.Store(path, "abc", 2) as s:
        assert s.dropped > 0 and list(s.records) == [("accuracy", 0, 0)]
        assert s.records[("accuracy", 0, 0)]["accuracy"] == 0.1 + 0.2  # the same bits back
        s.append(dict(rec, chip=1))
    assert [json.loads(l)["chip"] for l in store_lines(path)[1:-1]] == [0, 1]
    with pytest.raises(sweep_store.StoreError, match="another mho sweep"):
        with sweep_store.Store(path, "abc", 2):
            sweep_store.Store(path, "abc", 2)
    text = path.read_text().splitlines()
    path.write_text("\n".join([text[0], "garbage", text[1]]) + "\n")
    with pytest.raises(sweep_store.StoreError, match="line 2 is damaged"):
        sweep_store.Store(path, "abc", 2)


def test_design_keys_name_the_design_not_the_path(tmp_path):
    a = sweep_config.load_sweep(write(tmp_path))
    moved = tmp_path / "sub"
    moved.mkdir()
    shutil.copy(LENET, moved / "lenet.h5")
    b = sweep_config.load_sweep(write(tmp_path, CONFIG.replace("MODEL", str(moved / "lenet.h5")), "b.yaml"))
    assert [p["design_key"] for p in a["points"]] == [p["design_key"] for p in b["points"]]
    assert a["config_sha256"] == b["config_sha256"]
    assert len({p["design_key"] for p in a["points"]}) == 3


def test_mho_run_and_mho_sweep_give_one_design_one_key(tmp_path):
    """A sweep point and a `mho run` of the same design (written differently) share their
    design key, so their tables join on it; the chip seed is not part of the design."""
    run_cfg = tmp_path / "run.yaml"
    run_cfg.write_text(f"model: {LENET}\nseed: 3\nchips: 1\ntest_images: 30\ncalib_samples: 16\n"
                       "hardware: {rows: 128, cols: 128, cell: pcm_joshi2020, adc: {bits: 5}}\n"
                       "system: {adc_type: sar}\ndigital: false\noutput: {dir: out, plots: false}\n")
    rec = mho.cli.run(run_cfg, progress=False, out=open(os.devnull, "w"))
    sw = sweep_config.load_sweep({"model": LENET, "seed": 9, "test_images": 30, "calib_samples": 16,
                                  "hardware": {"rows": 128, "cols": 128, "adc": {"bits": 5}},
                                  "system": {"adc_type": "sar"},
                                  "sweep": {"points": [{"cell": "pcm_joshi2020"}, {"cell": "pcm_joshi2020",
                                                                                   "adc.bits": 6}]}},
                                 base_dir=str(tmp_path))
    assert sw["points"][0]["design_key"] == rec["design_key"] != sw["points"][1]["design_key"]


def test_points_that_build_the_same_design_are_refused(tmp_path):
    with pytest.raises(mho.config.ConfigError, match="are the same design"):
        sweep_config.load_sweep({"model": LENET, "hardware": {"rows": 128, "cols": 128},
                                 "sweep": {"points": [{"array": 128}, {"rows": 128}]}}, base_dir=str(tmp_path))


def test_progress_lines_when_stderr_is_not_a_terminal():
    import io
    out = io.StringIO()  # isatty() is False
    bar = sweep._Progress(20, 5, True, out=out)
    for i in range(20):
        bar.update({"status": "error" if i == 3 else "ok"})
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "sweep: 20 tasks to run, 5 already in the store"
    # One line at each 10 % (the updates take far less than LOG_EVERY_S).
    assert [l.split(" tasks")[0] for l in lines[1:]] == [f"sweep: {k}/20" for k in range(2, 21, 2)]
    assert lines[-1].startswith("sweep: 20/20 tasks (100 %, 1 errors), ETA 0 min 00 s")
    quiet = io.StringIO()
    bar = sweep._Progress(20, 0, False, out=quiet)
    bar.update({"status": "ok"})
    assert quiet.getvalue() == ""


def test_cli_bad_scheduler_and_mho_run_of_a_sweep_config(tmp_path):
    cfg = write(tmp_path)
    out = subprocess.run([sys.executable, "-m", "mho", "sweep", str(cfg), "--scheduler", "tcp://127.0.0.1:notaport"],
                         env=ENV, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.startswith("mho: error: --scheduler 'tcp://127.0.0.1:notaport'")
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="config key 'sweep': grid and points sweeps run with `mho sweep`"):
        mho.config.load(cfg)


def test_plots_are_written_with_the_tables(reference, tmp_path):
    r = sweep.run(write(tmp_path, CONFIG.replace("plots: false", "plots: true")), workers=0, progress=False)
    same(r.accuracy, reference[0])
    out = tmp_path / "out"
    for name in ("sw_accuracy.png", "sw_pareto.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    with open(out / "sw.json") as f:
        assert {"sw_accuracy.png", "sw_pareto.png"} <= set(json.load(f)["result_files"])
