"""mho keeps its own thread count (common/threads.h): importing torch, which lowers OpenMP's
default for the importing thread (to 1 on 2-vCPU machines), must not make mho single-threaded."""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
SOURCES = ("adc_dac", "common", "crossbar", "devices", "evaluator", "mapping", "nets", "bindings")


def test_import_torch_keeps_mho_threads():
    code = ("import mho; mho.set_num_threads(2); import torch; torch.set_num_threads(1); "
            "print(mho.get_num_threads())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "2"


def test_every_parallel_region_names_mho_thread_count():
    # A region without the clause would take OpenMP's per-thread default, which torch sets.
    bad = []
    for folder in SOURCES:
        for dirpath, _, files in os.walk(os.path.join(ROOT, folder)):
            for f in files:
                if not f.endswith((".cpp", ".h")):
                    continue
                path = os.path.join(dirpath, f)
                with open(path) as fh:
                    for no, line in enumerate(fh, 1):
                        if re.match(r"\s*#pragma omp parallel\b", line) and "num_threads(threads())" not in line:
                            bad.append(f"{os.path.relpath(path, ROOT)}:{no}")
    assert not bad, "parallel regions without num_threads(threads()): " + ", ".join(bad)
