"""Accuracy of the shipped models on three array technologies, each on the default design's
arrays and converters (256x256, 8-bit weights, 8 bit-serial input bits, 8-bit SAR ADCs shared
by 8 columns, per-column weight scale):

- RRAM, current summing: the default design itself (rram_neurosim_22nm, four 2-bit slices);
- PCM, current summing: pcm_joshi2020 (four 2-bit slices) read one second and one day after
  programming, drift compensated by a global reference read (TileSpec.drift_compensation);
- SRAM, charge domain: 8T SRAM bit cells (one bit each, so eight 1-bit slices per weight)
  sharing charge on the bit line, with the capacitor and supply of the sram_65nm_jia2020
  preset (2 fF, 0.85 V, capacitor mismatch 0.69 % a unit capacitor by the SKY130 MOM models,
  crossbar/cap_spec.h), kT/C noise of the line on every readout.

    .venv/bin/python examples/technology_accuracy.py [--chips 5] [--limit 2000] [--only SRAM] [--out FILE.json]

Prints one row per model and design: float and PIM accuracy with the 95 % CI over chips.
"""
import argparse

import mho
from mho import results


def designs():
    base = mho.study.default_spec()
    pcm = base.replace(cell="pcm_joshi2020", drift_compensation="global")
    sram = mho.study.sram_charge_spec(base)
    return [("RRAM, current summing (default design)", base, None),
            ("PCM pcm_joshi2020, 1 s, global drift compensation", pcm, 1.0),
            ("PCM pcm_joshi2020, 1 day, global drift compensation", pcm, 86400.0),
            ("SRAM 8T, charge domain (sram_65nm_jia2020 caps)", sram, None)]


MODELS = ("data/models/lenet5_mnist.h5", "data/models/rescnn_fmnist.h5")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chips", type=int, default=5)
    ap.add_argument("--limit", type=int, default=2000, help="test images, evenly spaced over the test set")
    ap.add_argument("--only", default="", help="run only the designs whose name holds this text (e.g. SRAM)")
    ap.add_argument("--out", help="JSON file to write the rows to")
    a = ap.parse_args(argv)
    chosen = [d for d in designs() if a.only in d[0]]
    if not chosen:
        ap.error(f"--only {a.only!r}: no design name holds it; the designs are " + "; ".join(d[0] for d in designs()))
    rows = []
    print(f"{'model':<16s} {'design':<52s} {'float %':>8s} {'PIM %':>7s} {'95% CI':>7s}")
    for model in MODELS:
        flt = None
        for name, spec, t in chosen:
            r = mho.study.evaluate(model, spec, chips=a.chips, limit=a.limit, time_s=t, float_accuracy=flt,
                                   progress=False)
            flt = r.float_accuracy
            rows.append({"model": r.model, "dataset": r.dataset, "design": name, "time_s": t,
                         "test_images": r.test_samples, "chips": r.chips, "float_accuracy": r.float_accuracy,
                         "pim_mean": r.mean, "pim_ci95": r.ci95, "pim_per_chip": r.pim_accuracies,
                         "spec": r.design, "design_key": r.design_key})
            print(f"{r.model:<16.16s} {name:<52.52s} {100 * r.float_accuracy:8.2f} {100 * r.mean:7.2f} "
                  f"{100 * r.ci95:7.2f}", flush=True)
    if a.out:
        results.write_json(a.out, {"rows": rows, "provenance": results.provenance()})


if __name__ == "__main__":
    main()
