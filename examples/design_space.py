"""Design-space exploration from layer shapes: energy efficiency and area density of a zoo
network on PIM tiles against array size, ADC resolution and ADC sharing, with the digital
baseline for reference. Writes one PNG (default design_space.png) and prints the table.

    .venv/bin/python examples/design_space.py [--net resnet50] [--node 22nm] [--out design_space.png]

Every point is a full cost evaluation (mapping, action counts, energy, area, latency) from
data/tech.yaml; no weights or simulation are needed, so the whole sweep takes well under a
second. Accuracy for the same knobs comes from `mho run` / mho.study on a trained model.
"""
import argparse

import mho
from mho._util import save_figure


def spec(array, adc_bits, columns_per_adc):
    return mho.TileSpec(rows=array, cols=array, cell="rram_neurosim_22nm", weight_bits=8, bits_per_cell=2,
                        dac=mho.DacSpec(input_bits=8, mode="bitserial", signed_mode="unsigned"),
                        adc=mho.AdcSpec(bits=adc_bits, columns_per_adc=columns_per_adc))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--net", default="resnet50", help="zoo network (mho zoo)")
    ap.add_argument("--node", default="22nm")
    ap.add_argument("--out", default="design_space.png", help="PNG to write")
    a = ap.parse_args(argv)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tech = mho.cost.load_tech(a.node)
    digital = mho.cost.digital(a.net, tech=tech)
    arrays, bits, sharing = (64, 128, 256, 512), (4, 5, 6, 7, 8), (1, 4, 8, 16)
    print(f"{a.net} at {a.node}: digital baseline {digital.tops_per_w:.3g} TOPS/W, "
          f"{digital.tops_per_mm2:.3g} TOPS/mm2")
    print(f"{'array':>6s} {'ADC bits':>8s} {'cols/ADC':>8s} {'TOPS/W':>8s} {'TOPS/mm2':>9s} {'mm2':>9s} "
          f"{'util %':>7s} {'ADC E %':>8s}")
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    for n in arrays:
        eff, dens = [], []
        for b in bits:
            r = mho.cost.pim(a.net, spec(n, b, 8), tech=tech)
            eff.append(r.tops_per_w)
            dens.append(r.tops_per_mm2)
            adc_share = dict(r.energy_J)["adcs"] / r.energy_total_J
            print(f"{n:>6d} {b:>8d} {8:>8d} {r.tops_per_w:>8.3g} {r.tops_per_mm2:>9.3g} "
                  f"{r.area_total_m2 * 1e6:>9.4g} {100 * r.utilization:>7.1f} {100 * adc_share:>8.1f}")
        axes[0].plot(bits, eff, marker="o", label=f"{n}x{n}")
        axes[1].plot(bits, dens, marker="o", label=f"{n}x{n}")
    for ax, d, label in ((axes[0], digital.tops_per_w, "TOPS/W"), (axes[1], digital.tops_per_mm2, "TOPS/mm2")):
        ax.axhline(d, color="k", ls="--", lw=1, label="digital baseline")
        ax.set_xlabel("ADC bits (8 columns per ADC)")
        ax.set_ylabel(label)
        ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    for n in (128, 256):
        pts = [mho.cost.pim(a.net, spec(n, 6, c), tech=tech) for c in sharing]
        axes[2].plot([p.area_total_m2 * 1e6 for p in pts], [p.latency_s * 1e3 for p in pts], marker="o",
                     label=f"{n}x{n}, 6-bit ADC")
        for c, p in zip(sharing, pts):
            axes[2].annotate(f"{c}", (p.area_total_m2 * 1e6, p.latency_s * 1e3), fontsize=7)
    axes[2].set_xlabel("area (mm2)")
    axes[2].set_ylabel("latency / inference (ms)")
    axes[2].set_xscale("log")
    axes[2].set_yscale("log")
    axes[2].set_title("ADC sharing (columns per ADC)")
    axes[2].grid(True, alpha=0.3)
    axes[2].legend(fontsize=8)
    fig.suptitle(f"{a.net} on RRAM tiles ({a.node}): 8-bit weights in 2-bit cells, 8 bit-serial input planes")
    fig.tight_layout()
    print(f"written: {save_figure(fig, a.out)}")
    plt.close(fig)


if __name__ == "__main__":
    main()
