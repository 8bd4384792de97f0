"""Tile study: output error of one crossbar tile vs ADC resolution and read noise.

A random weight block (Gaussian, as in a trained layer) and ReLU-like inputs run through a
tile built on a device preset, over several simulated chips (independent programming draws).
The figure of merit is the relative RMS error of the tile's output against the exact product
X @ W, with a 95% confidence interval over chips (Student t).

    python -m mho.tile_study                # the README's main job
    python -m mho.tile_study --plot err.png --chips 8
"""
import argparse
import math

import numpy as np

from . import _core as core
from . import _util

# Two-sided 95% Student-t quantiles for n-1 degrees of freedom (n = chips), n <= 31.
_T95 = [float("nan"), 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074,
        2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def mean_ci95(values):
    """Mean and half-width of the 95% confidence interval of the mean."""
    v = np.asarray(values, dtype=float)
    if v.size < 2:
        return float(v.mean()), float("nan")
    dof = v.size - 1
    t = _T95[dof] if dof < len(_T95) else 1.96
    return float(v.mean()), float(t * v.std(ddof=1) / math.sqrt(v.size))


def run(preset="rram_neurosim_22nm", rows=256, outputs=64, batch=512, chips=5,
        adc_bits=(4, 5, 6, 7, 8, 10), read_noise=(0.0, 0.01, 0.02, 0.05), weight_bits=None,
        input_bits=8, seed=2024):
    """Returns {(adc_bits, read_noise): (mean, ci95)} of the relative RMS output error.

    read_noise is the proportional per-read sigma (fraction of g); programming error is the
    preset's own. weight_bits defaults to the cell's bits (one slice per sign)."""
    # Array sizes up to the largest TileSpec (65536 rows); batch bounded so x stays < 8 GB.
    rows = _util.integer("rows", rows, lo=1, hi=65536)
    outputs = _util.integer("outputs", outputs, lo=1, hi=65536)
    batch = _util.integer("batch", batch, lo=1, hi=(1 << 30) // rows)
    chips = _util.integer("chips", chips, lo=1)
    seed = _util.integer("seed", seed, lo=0)
    input_bits = _util.integer("input_bits", input_bits, lo=0)
    weight_bits = _util.integer("weight_bits", weight_bits, lo=0, none_ok=True)
    adc_bits = [_util.integer(f"adc_bits[{i}]", b, lo=0) for i, b in enumerate(adc_bits)]
    read_noise = [_util.real(f"read_noise[{i}]", r, 0.0) for i, r in enumerate(read_noise)]
    if not adc_bits or not read_noise:
        raise ValueError("adc_bits and read_noise: give at least one value each")
    data = np.random.default_rng(seed)
    w = data.normal(0.0, 1.0 / math.sqrt(rows), size=(rows, outputs))
    x = np.maximum(data.normal(size=(batch, rows)), 0.0)  # ReLU activations
    calib = np.maximum(data.normal(size=(256, rows)), 0.0)  # calibration data, not the test batch
    ref = x @ w
    cell = core.cell_preset(preset)
    if weight_bits is None:
        weight_bits = cell.bits
    bits_per_cell = min(cell.bits, weight_bits)
    cols_needed = 2 * outputs * math.ceil(weight_bits / bits_per_cell)
    results = {}
    bar = _util.progress(len(adc_bits) * len(read_noise) * chips, "tile study", unit="run")
    for ab in adc_bits:
        for rn in read_noise:
            c = cell.replace(read_noise="proportional" if rn > 0 else "none",
                             read_sigma=[rn] if rn > 0 else [])
            spec = core.TileSpec(rows=rows, cols=cols_needed, cell=c, weight_bits=weight_bits,
                                 bits_per_cell=bits_per_cell,
                                 dac=core.DacSpec(input_bits=input_bits, signed_mode="unsigned"),
                                 adc=core.AdcSpec(bits=ab), seed=seed)
            errs = []
            for chip in range(chips):
                tile = core.Tile(spec)
                tile.program(w, chip=chip)
                tile.calibrate(calib)
                y = tile.forward(x)
                errs.append(np.linalg.norm(y - ref) / np.linalg.norm(ref))
                bar.update()
            results[(ab, rn)] = mean_ci95(errs)
    bar.close()
    return results


def format_table(results, title):
    adc = sorted({k[0] for k in results})
    noise = sorted({k[1] for k in results})
    head = "ADC bits | " + " | ".join(f"read noise {100 * n:4.1f}%" for n in noise)
    lines = [title, head, "-" * len(head)]
    for ab in adc:
        cells = []
        for n in noise:
            m, ci = results[(ab, n)]
            cells.append(f"{100 * m:6.2f}% ±{100 * ci:5.2f}")
        lines.append(f"{ab:8d} | " + " | ".join(f"{c:>17s}" for c in cells))
    return "\n".join(lines)


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    adc = sorted({k[0] for k in results})
    noise = sorted({k[1] for k in results})
    fig, ax = plt.subplots(figsize=(6, 4))
    for n in noise:
        m = np.array([results[(a, n)][0] for a in adc]) * 100
        ci = np.nan_to_num(np.array([results[(a, n)][1] for a in adc]) * 100)
        ax.plot(adc, m, marker="o", label=f"read noise {100 * n:.0f}%")
        ax.fill_between(adc, m - ci, m + ci, alpha=0.2)
    ax.set_xlabel("ADC bits")
    ax.set_ylabel("relative RMS output error (%)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    _util.save_figure(fig, path)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m mho.tile_study", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="rram_neurosim_22nm", choices=core.cell_preset_names())
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--outputs", type=int, default=64)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--chips", type=int, default=5)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--plot", metavar="PNG", help="also draw error vs ADC bits to this file")
    a = ap.parse_args(argv)
    res = run(preset=a.preset, rows=a.rows, outputs=a.outputs, batch=a.batch, chips=a.chips,
              seed=a.seed)
    cell = core.cell_preset(a.preset)
    title = (f"mho tile study: {a.rows}x{a.outputs} Gaussian weight block on '{a.preset}' "
             f"({cell.bits}-bit weights on differential pairs, 8-bit inputs, calibrated ADC, "
             f"the preset's programming error), {a.chips} chips x {a.batch} inputs\n"
             f"relative RMS error of the output vs X @ W, mean ±95% CI over chips\n"
             f"device: {cell.source}")
    print(format_table(res, title))
    if a.plot:
        plot(res, a.plot)
        print(f"plot written to {a.plot}")


if __name__ == "__main__":
    main()
