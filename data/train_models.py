"""Train the models shipped in data/models/ (seeded, Debian's torch 1.13 on CPU, 2 threads; vit_fmnist 1).

    .venv/bin/python data/train_models.py [--only NAME] (NAME: a key of MODELS below)

All train on the 60,000 official training images of their set and report the accuracy on
the 10,000 official test images (mho.datasets; run data/fetch_datasets.py first).
lenet5_mnist:  LeNet-5 (conv 6@5x5 pad 2, maxpool, conv 16@5x5, maxpool, FC 120, 84, 10) on
               MNIST.
rescnn_fmnist: a small residual CNN with BatchNorm on Fashion-MNIST:
               conv 16 + BN + ReLU + maxpool, a residual block of 16, a strided conv to 32,
               a residual block of 32, global average pooling, FC 10.
lstm_mnist:    an LSTM (64 hidden units) reading MNIST row by row (28 steps of 28 pixels),
               FC 10 on its last hidden state (mho.zoo_lstm.RowLSTM).
The CNNs are written with mho.export (BatchNorm layers kept; mho folds them on load) with
its float test accuracy measured here, and checked: mho's float inference must give the
same predictions as PyTorch on the test set. The LSTM, which the HDF5 format cannot hold,
is written as a torch state_dict (mho.zoo_lstm.save) and checked the same way through
mho.torch.convert on ideal tiles.
mobilenetv2_fmnist: a MobileNetV2-style network (ReLU6, depthwise 3x3, inverted residuals) on
               Fashion-MNIST; vit_fmnist: a small vision transformer (7x7 patches, dim 64, 2
               pre-LayerNorm blocks of 4-head attention and a GELU MLP) on Fashion-MNIST; both
               defined in mho.zoo_models, which says more. vit_fmnist (attention does not export
               to HDF5) is written as a state_dict with the same metadata (mho.zoo_models.save_state)
               and checked by reloading it with mho.zoo_models.load.
"""
import argparse
import os
import sys
import time

# torch parallelises over its own 2 threads; OpenBLAS's pool (Debian's torch calls OpenBLAS)
# on top of them yields-and-spins at every small product, which on a loaded machine made one
# ViT epoch take over 15 minutes. One OpenBLAS thread, set before torch loads the library.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import mho  # noqa: E402
from mho import zoo_lstm, zoo_models  # noqa: E402


def lenet5():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(c)
        self.c2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(c)

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        return F.relu(x + self.b2(self.c2(y)))


class ResCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(2)
        self.block1 = Block(16)
        self.down = nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False)
        self.bn_down = nn.BatchNorm2d(32)
        self.block2 = Block(32)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn(self.stem(x))))
        x = self.block1(x)
        x = F.relu(self.bn_down(self.down(x)))
        x = self.block2(x)
        return self.fc(torch.flatten(self.gap(x), 1))


MODELS = {
    # A few epochs suffice on 60,000 images (a few minutes each on 2 cores); no augmentation.
    "lenet5_mnist": dict(make=lenet5, dataset="mnist", epochs=6, lr=2e-3, batch=128),
    "rescnn_fmnist": dict(make=ResCNN, dataset="fashion_mnist", epochs=4, lr=3e-3, batch=128),
    # Gradient clipping keeps the LSTM's early steps (large one-cycle lr) from exploding. One
    # thread: torch 1.13's LSTM on CPU (28 small per-step GEMMs) took 17x the CPU time per batch
    # on 2 threads (0.85 vs 0.05 s, measured here on a loaded machine).
    "lstm_mnist": dict(make=zoo_lstm.RowLSTM, dataset="mnist", epochs=3, lr=4e-3, batch=128, clip=1.0,
                       torch_file=True, threads=1),
    # 4 epochs: 887 s of wall time on 2 cores shared with builds (1,446 s of CPU; a 128-image
    # step takes 0.33 s on 2 idle threads, 0.52 s on one), 91.93 % float test accuracy.
    "mobilenetv2_fmnist": dict(make=zoo_models.MobileNetV2, dataset="fashion_mnist", epochs=4, lr=3e-3,
                               batch=128),
    # A transformer lacks convolutions' prior and needs more passes; its epochs cost ~1/4 as much.
    # One thread: its many small operations each end at a barrier of torch's pool, where on a
    # loaded machine one thread waits for the other to be scheduled again (an epoch took > 15 min).
    "vit_fmnist": dict(make=zoo_models.ViT, dataset="fashion_mnist", epochs=6, lr=3e-3, batch=256,
                       state_dict=True, threads=1),
}


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    return (pred == y).float().mean().item(), pred.numpy()


def train(name, seed=0):
    cfg = MODELS[name]
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(cfg.get("threads", 2))  # a fixed count: the reductions' order, hence the bits, depend on it
    torch.use_deterministic_algorithms(True)
    xtr, ytr = (torch.from_numpy(a) for a in mho.datasets.load(cfg["dataset"], "train"))
    xte, yte = (torch.from_numpy(a) for a in mho.datasets.load(cfg["dataset"], "test"))
    model = cfg["make"]()
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    steps = cfg["epochs"] * ((len(xtr) + cfg["batch"] - 1) // cfg["batch"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=steps)
    gen = torch.Generator().manual_seed(seed)
    t0, c0 = time.time(), time.process_time()
    for epoch in range(cfg["epochs"]):
        model.train()
        order = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(xtr), cfg["batch"]):
            idx = order[i:i + cfg["batch"]]
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            if "clip" in cfg:
                nn.utils.clip_grad_norm_(model.parameters(), cfg["clip"])
            opt.step()
            sched.step()
        acc, _ = accuracy(model, xte, yte)
        # CPU seconds beside wall seconds: on a shared machine only the former extrapolate.
        print(f"{name} epoch {epoch + 1}/{cfg['epochs']}: test accuracy {acc:.4f} "
              f"({time.time() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU)", flush=True)
    acc, pred = accuracy(model, xte, yte)
    trained_s = time.time() - t0
    src = (f"data/train_models.py --only {name} (seed {seed}, {cfg['epochs']} epochs, Adam "
           f"one-cycle lr {cfg['lr']}, batch {cfg['batch']}{', clip ' + str(cfg['clip']) if 'clip' in cfg else ''}, "
           f"torch {torch.__version__} CPU, {torch.get_num_threads()} thread(s))")
    if cfg.get("state_dict"):
        path = os.path.join(HERE, "models", zoo_models.ZOO[name][1])
        zoo_models.save_state(model, path, name=name, dataset=cfg["dataset"], float_test_accuracy=acc,
                              source=src)
        again = zoo_models.load(name, path)
        same = bool((accuracy(again, xte, yte)[1] == pred).all())
        print(f"{name}: trained in {trained_s:.0f} s; float test accuracy {acc:.4f} on "
              f"{len(yte)} images; reloaded model gives the same predictions: {same}; written {path}",
              flush=True)
        if not same:
            raise SystemExit(f"{name}: the reloaded state_dict predicts differently")
        return
    if cfg.get("torch_file"):
        path = os.path.join(HERE, "models", f"{name}.pt")
        zoo_lstm.save(model, path, name=name, dataset=cfg["dataset"], float_test_accuracy=acc, source=src)
        analog = mho.torch.convert(zoo_lstm.load(path), mho.TileSpec.ideal(256, 256)).program(0)
        with torch.no_grad():
            mine = torch.cat([analog(xte[i:i + 500]).argmax(1) for i in range(0, len(xte), 500)]).numpy()
    else:
        path = os.path.join(HERE, "models", f"{name}.h5")
        mho.export.export_torch(model, path, (1, 28, 28), name=name, dataset=cfg["dataset"],
                                float_test_accuracy=acc, source=src)
        net, info = mho.nets.load(path)
        mine = np.concatenate([net.forward(xte[i:i + 500].numpy()).argmax(1) for i in range(0, len(xte), 500)])
    agree = float(np.mean(mine == pred))
    print(f"{name}: trained in {trained_s:.0f} s; float test accuracy {acc:.4f} on "
          f"{len(yte)} images; mho float inference agrees on {agree:.4%} of "
          f"predictions; written {path}", flush=True)
    if agree < 0.999:
        raise SystemExit(f"{name}: mho and PyTorch disagree on {1 - agree:.2%} of test predictions")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=sorted(MODELS), action="append")
    a = ap.parse_args(argv)
    for name in a.only or sorted(MODELS):
        train(name)


if __name__ == "__main__":
    main()
