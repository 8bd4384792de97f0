"""bench case sweep_scaling: `mho sweep` of LeNet-5 on 1,000 MNIST test images, 24 design
points (ADC bits 3-8 x RRAM/PCM x as programmed/one day of drift) x 5 chips plus one cost task
per point, run twice in this process: serially (mho.sweep.run(workers=0): the same task
function, one task after another, tiles single-threaded) and on an embedded 2-worker
LocalCluster. Prints one JSON line:

- speedup = serial seconds / 2-worker seconds, both end to end (config checks, the cluster's
  start and stop, the store, the tables); target >= 1.7 on a 2-core machine;
- overhead_per_task_s = (2-worker task-phase seconds x 2 - the sum of the tasks' compute
  seconds) / tasks, where the task phase runs from the first submit to the last result and a
  task's compute seconds are its simulation proper (building the PimNetwork, programming,
  calibrating and running the images; or the cost evaluation), as the task measures them: so
  the overhead is everything the sweep adds per task (building the design from plain data,
  the caches, Dask's scheduling and transfers, the store's fsync, idle workers at the end);
  target <= 0.05 s. The cluster's start (cluster_start_s) is a cost per sweep, not per task.

Also checks that both runs give the same tables (tables_equal). Options shrink it for a
quick check: --points N --chips N --images N.
"""
import argparse
import itertools
import json
import os
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import mho  # noqa: E402
from mho import sweep  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
WORKERS = 2


def config(points, chips, images):
    grid = list(itertools.product([3, 4, 5, 6, 7, 8], ["rram_neurosim_22nm", "pcm_joshi2020"], [0, 86400]))
    return {
        "model": "data/models/lenet5_mnist.h5", "seed": 1, "test_images": images,
        "hardware": {"rows": 256, "cols": 256, "cell": "rram_neurosim_22nm", "weight_bits": 6,
                     "dac": {"input_bits": 8, "signed_mode": "unsigned"}, "adc": {"bits": 8, "columns_per_adc": 8}},
        "system": {"adc_type": "sar"},
        "sweep": {"points": [{"adc.bits": b, "cell": c, "time_s": t} for b, c, t in grid[:points]],
                  "chips": chips, "cost": True},
        "output": {"plots": False},
    }


def timed(cfg, out, workers):
    t = time.perf_counter()
    r = sweep.run(cfg, out_dir=out, workers=workers, progress=False, plots=False, base_dir=ROOT)
    sec = time.perf_counter() - t
    with open(r.store) as f:
        compute = sum(json.loads(line)["compute_s"] for line in list(f)[1:])
    return r, sec, compute


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=24)
    ap.add_argument("--chips", type=int, default=5)
    ap.add_argument("--images", type=int, default=1000)
    a = ap.parse_args()
    if not 1 <= a.points <= 24:
        ap.error("--points: 1 to 24")
    cfg = config(a.points, a.chips, a.images)
    with tempfile.TemporaryDirectory() as tmp:
        serial, serial_s, serial_compute = timed(cfg, os.path.join(tmp, "serial"), 0)
        par, par_s, par_compute = timed(cfg, os.path.join(tmp, "cluster"), WORKERS)
    equal = serial.accuracy.equals(par.accuracy) and serial.cost.equals(par.cost)
    tasks = par.tasks
    print(json.dumps({
        "case": "sweep_scaling", "seconds": round(par_s, 3), "serial_seconds": round(serial_s, 3),
        "speedup": round(serial_s / par_s, 3), "target_speedup": 1.7,
        "overhead_per_task_s": round((par.timing["tasks_s"] * WORKERS - par_compute) / tasks, 4),
        "target_overhead_per_task_s": 0.05,
        "overhead_note": "(2-worker task phase s x 2 - sum of in-task compute s) / tasks",
        "serial_overhead_per_task_s": round((serial.timing["tasks_s"] - serial_compute) / tasks, 4),
        "cluster_start_s": round(par.timing["cluster_start_s"], 3),
        "compute_seconds_serial": round(serial_compute, 3), "compute_seconds_cluster": round(par_compute, 3),
        "workers": WORKERS, "cores": sweep.default_workers(), "tasks": tasks, "points": a.points,
        "chips": a.chips, "images": a.images, "tables_equal": bool(equal),
        "blas_kernel": mho.blas.info(measure=False)["blas_kernel"],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
