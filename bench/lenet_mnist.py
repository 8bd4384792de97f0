"""bench case lenet_mnist: the official MNIST test set (all 10,000 images) through LeNet-5 on
PIM tiles with the foundation issue's `bitserial` settings (8 one-bit input planes, 8-bit
weights as 4 slices of 2-bit cells on differential pairs, 8-bit calibrated ADC, 3 %
programming error, 2 % read noise), 10 chips. Prints one JSON line; the reference is float
inference of the same network (mho's im2col + GEMM) on the same images, timed in the same run."""
import json
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import mho  # noqa: E402
from mho import _core  # noqa: E402

MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "models", "lenet5_mnist.h5")


def main():
    net, _ = mho.nets.load(MODEL)
    x, y = mho.datasets.load("mnist", "test")  # no limit: the full 10,000-image test set
    calib, _ = mho.datasets.load("mnist", "train", limit=512)
    cell = mho.CellSpec(name="bench_rram", bits=8, prog_error="proportional", prog_sigma=[0.03],
                        read_noise="proportional", read_sigma=[0.02])
    spec = mho.TileSpec(rows=256, cols=256, cell=cell, weight_bits=8, bits_per_cell=2,
                        dac=mho.DacSpec(input_bits=8, mode="bitserial", bits_per_plane=1,
                                        signed_mode="unsigned"),
                        adc=mho.AdcSpec(bits=8), seed=3)
    chips, batch = 10, 500
    t = time.perf_counter()
    pred = np.concatenate([net.forward(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)])
    float_s = time.perf_counter() - t
    float_acc = float(np.mean(pred == y))
    pim = _core.PimNetwork(net, spec)
    accs = []
    t = time.perf_counter()
    for chip in range(chips):
        pim.program(chip)
        pim.calibrate(calib)
        correct = 0
        for i in range(0, len(x), batch):
            correct += int(np.sum(pim.forward(x[i:i + batch]).argmax(1) == y[i:i + batch]))
        accs.append(correct / len(x))
    sec = time.perf_counter() - t
    per_chip = sec / chips
    print(json.dumps({
        "case": "lenet_mnist", "seconds": round(sec, 4), "gemm_seconds": round(float_s, 6),
        "ratio_to_gemm": round(per_chip / float_s, 2),
        "ratio_note": "PIM seconds per chip / float inference seconds of the same net and images",
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "threads": mho.get_num_threads(), "chips": chips, "images": len(x),
        "images_per_second": round(chips * len(x) / sec, 1),
        "float_accuracy": round(float_acc, 4), "pim_accuracy_mean": round(float(np.mean(accs)), 4),
    }))


if __name__ == "__main__":
    main()
