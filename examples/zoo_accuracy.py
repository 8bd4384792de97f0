"""Float and PIM accuracy of the shipped models beyond ReLU CNNs (README, "data/"):
mobilenetv2_fmnist (an mho model file, through mho.study.evaluate) and vit_fmnist (a torch
state_dict, through mho.torch.convert), over simulated chips with 95 % confidence intervals.

    .venv/bin/python examples/zoo_accuracy.py [--chips 5] [--limit 2000] [--only vit_fmnist] [--tech sram]

Hardware: the default design (mho.study.default_spec()) with signed inputs
(DacSpec.signed_mode='two_pass'): MobileNetV2's linear bottlenecks and the transformer's
LayerNorm outputs are signed, which the default's unsigned DAC refuses; `--tech sram` puts that
design on SRAM charge-domain arrays (mho.study.sram_charge_spec). Calibration on 512
evenly spaced training images (--calib), never on the test set. In the transformer, attention's
activation-by-activation products (Q K^T, softmax . V) run in torch, i.e. digitally; the
script prints their multiply-accumulates per image (AnalogModel.digital_products()).
"""
import argparse
import os
import time

import mho
from mho.tile_study import mean_ci95

MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "models")


def signed_default():
    spec = mho.study.default_spec()
    return spec.replace(dac=spec.dac.replace(signed_mode="two_pass"))


def vit(spec, chips, limit, calib_samples):
    import torch
    from mho import zoo_models
    # torch's digital operations (LayerNorm, softmax, GELU) on one thread, as the model was
    # trained: fixed bits, and no barrier waits on a loaded machine.
    torch.set_num_threads(1)
    model = zoo_models.load("vit_fmnist")
    x, y = mho.datasets.load("fashion_mnist", "test", limit=limit)
    cx, _ = mho.datasets.load("fashion_mnist", "train", limit=calib_samples)
    x, cx = torch.from_numpy(x), torch.from_numpy(cx)
    with torch.no_grad():
        float_acc = float((torch.cat([model(x[s:s + 500]) for s in range(0, len(x), 500)]).argmax(1).numpy()
                           == y).mean())
    analog = mho.torch.convert(model, spec)
    accs = []
    for chip in range(chips):
        analog.program(chip)
        analog.calibrate(cx)
        with torch.no_grad():
            pred = torch.cat([analog(x[s:s + 500]).argmax(1) for s in range(0, len(x), 500)]).numpy()
        accs.append(float((pred == y).mean()))
        print(f"  vit_fmnist chip {chip}: {100 * accs[-1]:.2f} %", flush=True)
    digital = sum(d["macs"] for d in analog.digital_products().values()) / len(x)
    return float_acc, accs, digital


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chips", type=int, default=5)
    ap.add_argument("--limit", type=int, default=2000, help="evenly spaced test images")
    ap.add_argument("--calib", type=int, default=512, help="calibration images (training split)")
    ap.add_argument("--only", choices=["mobilenetv2_fmnist", "vit_fmnist"], action="append")
    ap.add_argument("--tech", choices=["rram", "sram"], default="rram",
                    help="rram: the default design's arrays; sram: charge-domain SRAM (mho.study.sram_charge_spec)")
    a = ap.parse_args(argv)
    spec = signed_default() if a.tech == "rram" else mho.study.sram_charge_spec(signed_default())
    print(f"hardware: {spec!r}")
    for name in a.only or ["mobilenetv2_fmnist", "vit_fmnist"]:
        t0 = time.time()
        if name == "vit_fmnist":
            float_acc, accs, digital = vit(spec, a.chips, a.limit, a.calib)
            note = f"; attention products Q K^T, softmax . V digital: {digital:,.0f} MACs per image"
        else:
            r = mho.study.evaluate(os.path.join(MODELS, "mobilenetv2_fmnist.h5"), spec=spec, chips=a.chips,
                                   limit=a.limit, calib_samples=a.calib)
            float_acc, accs, note = r.float_accuracy, r.pim_accuracies, ""
        mean, ci = mean_ci95(accs)
        print(f"{name}: float {100 * float_acc:.2f} %, PIM {100 * mean:.2f} % ± {100 * ci:.2f} (95 % CI over "
              f"{a.chips} chips, {a.limit} test images; per chip "
              f"{' '.join(f'{100 * v:.2f}' for v in accs)}){note} [{time.time() - t0:.0f} s]", flush=True)


if __name__ == "__main__":
    main()
