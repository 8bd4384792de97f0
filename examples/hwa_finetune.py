"""Hardware-aware fine-tuning of the shipped residual Fashion-MNIST model for PCM one day after
programming, with drift compensation: accuracy over simulated chips before and after.

    .venv/bin/python examples/hwa_finetune.py [--chips 5] [--test 2000] [--steps 300]

The model (data/models/rescnn_fmnist.h5, trained by data/train_models.py) is rebuilt in torch
from the training script's definition with its BatchNorm folded into the convolutions (as
mho.nets.load does for the HDF5 path) and converted with mho.torch.convert. Each chip is
programmed, calibrated on 1000 training images, aged to one day and evaluated on the first
`--test` test images; fine-tuning then runs `--steps` Adam steps of hardware-aware training
(mho.torch in train() mode: a new chip's programming error, drift and read noise per batch,
the converters' quantization, straight-through gradients) on training images, and the same
chips are evaluated again with the trained weights. Runs on one thread.
"""
import argparse
import importlib.util
import os
import sys
import time

import h5py
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(ROOT, "python"))
import mho  # noqa: E402
from mho.tile_study import mean_ci95  # noqa: E402

ONE_DAY_S = 86400.0


def design():
    """PCM (Joshi et al. 2020 preset), 8-bit weights on two 4-bit slices with per-column
    scaling, 8-bit multilevel DAC and ADC, per-column drift compensation from reference reads
    (the better choice of each pair: global compensation and per-tensor scaling lose more)."""
    return mho.TileSpec(rows=128, cols=128, cell="pcm_joshi2020", weight_bits=8, weight_scale="per_column",
                        dac=mho.DacSpec(input_bits=8), adc=mho.AdcSpec(bits=8),
                        drift_compensation="per_column", seed=11)


def load_rescnn(path):
    """The shipped model as the torch module of data/train_models.py, BatchNorm folded."""
    spec = importlib.util.spec_from_file_location("train_models", os.path.join(ROOT, "data", "train_models.py"))
    tm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tm)
    model = tm.ResCNN()
    state = {}
    with h5py.File(path, "r") as f:
        for key in f["layers"]:
            g = f["layers"][key]
            kind, _, name = g.attrs["name"].decode().partition(":")
            for p in ("weight", "bias", "running_mean", "running_var"):
                if p in g:
                    state[f"{name}.{p}"] = torch.from_numpy(np.asarray(g[p]))
    missing = [k for k in model.state_dict() if k not in state and not k.endswith("num_batches_tracked")]
    if missing:
        raise ValueError(f"{path}: no weights for {missing}")
    model.load_state_dict(state, strict=False)
    model.eval()
    for parent in list(model.modules()):
        pairs = (("stem", "bn"), ("down", "bn_down"), ("c1", "b1"), ("c2", "b2"))
        for conv, bn in pairs:
            if isinstance(getattr(parent, conv, None), nn.Conv2d) and isinstance(getattr(parent, bn, None),
                                                                                 nn.BatchNorm2d):
                setattr(parent, conv, torch.nn.utils.fusion.fuse_conv_bn_eval(getattr(parent, conv),
                                                                               getattr(parent, bn)))
                setattr(parent, bn, nn.Identity())
    return model


def accuracy(model, x, y, batch=500):
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)])
    return float((pred == y).float().mean())


def chip_accuracies(analog, chips, x_cal, x, y):
    analog.eval()
    out = []
    for chip in range(chips):
        analog.program(chip)
        analog.calibrate(x_cal)
        analog.set_time(ONE_DAY_S)
        out.append(accuracy(analog, x, y))
    return out


def finetune(analog, x_cal, xtr, ytr, steps, batch, lr, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    # The ranges (and the set time) the training forward reads: one chip, as in evaluation.
    analog.program(1000)
    analog.calibrate(x_cal)
    analog.set_time(ONE_DAY_S)
    analog.train()
    opt = torch.optim.Adam([p for p in analog.parameters() if p.requires_grad], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    order = torch.randperm(len(xtr), generator=gen)
    losses = []
    for step in range(steps):
        i = (step * batch) % (len(xtr) - batch + 1)
        idx = order[i:i + batch]
        loss = F.cross_entropy(analog(xtr[idx]), ytr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss))
    analog.eval()
    return losses


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chips", type=int, default=5)
    ap.add_argument("--test", type=int, default=2000, help="test images (the first N)")
    ap.add_argument("--steps", type=int, default=150, help="fine-tuning steps")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=("before", "after"),
                    help="one half of the table (the two halves can run side by side)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    mho.set_num_threads(1)

    model = load_rescnn(os.path.join(ROOT, "data", "models", "rescnn_fmnist.h5"))
    xtr, ytr = (torch.from_numpy(v) for v in mho.datasets.load("fashion_mnist", "train"))
    xte, yte = (torch.from_numpy(v) for v in mho.datasets.load("fashion_mnist", "test", limit=a.test))
    x_cal = xtr[:1000]
    fl = accuracy(model, xte, yte)
    analog = mho.torch.convert(model, design())
    print(f"rescnn_fmnist on PCM (pcm_joshi2020), 1 day after programming, per-column drift compensation; "
          f"{a.test} test images, {a.chips} chips; fine-tuning {a.steps} steps of batch {a.batch} (lr {a.lr})")
    print(f"{'':24s} {'accuracy %':>11s} {'95% CI':>8s} {'drop':>6s}   per chip")
    print(f"{'float':24s} {100 * fl:11.2f}", flush=True)

    def row(label, accs):
        m, c = mean_ci95(accs)
        print(f"{label:24s} {100 * m:11.2f} {100 * c:8.2f} {100 * (fl - m):6.2f}   "
              f"{' '.join(f'{100 * v:.2f}' for v in accs)}", flush=True)
        return m

    if a.only != "after":
        t0 = time.time()
        m0 = row("PIM, as trained", chip_accuracies(analog, a.chips, x_cal, xte, yte))
        print(f"  (evaluation {time.time() - t0:.0f} s)", flush=True)
    if a.only == "before":
        return
    t1 = time.time()
    losses = finetune(analog, x_cal, xtr[1000:], ytr[1000:], a.steps, a.batch, a.lr, a.seed)
    print(f"  (fine-tuning {time.time() - t1:.0f} s on 1 thread; loss {np.mean(losses[:20]):.3f} -> "
          f"{np.mean(losses[-20:]):.3f})", flush=True)
    m1 = row("PIM, HWA fine-tuned", chip_accuracies(analog, a.chips, x_cal, xte, yte))
    if a.only is None and fl > m0:
        print(f"recovered {100 * (m1 - m0) / (fl - m0):.0f} % of the drop")


if __name__ == "__main__":
    main()
