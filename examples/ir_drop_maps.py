"""IR drop in a crossbar: the cell-voltage map of one array, and the output error against
array size and wire resistance. Writes one PNG (default ir_drop.png).

    .venv/bin/python examples/ir_drop_maps.py [--out ir_drop.png]

Cells are drawn uniformly in [1 uS, 100 uS] (an RRAM-like range); every row is driven at
0.2 V. The error is the relative RMS deviation of the column currents from the ideal V @ G.
"""
import argparse
import numpy as np

import mho
from mho._util import save_figure


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="ir_drop.png", help="PNG to write")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(a.seed)
    v_read = 0.2
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.2))

    # Cell-voltage map of a 128 x 128 array with 1 ohm segments.
    n, r = 128, 1.0
    G = rng.uniform(1e-6, 1e-4, size=(n, n))
    res = mho.ir_drop(G, np.full(n, v_read), r, r, nodes=True)
    im = ax0.imshow(res.cell_voltages / v_read, cmap="viridis", origin="upper")
    ax0.set_title(f"cell voltage / V_read, {n}x{n}, {r:g} ohm segments")
    ax0.set_xlabel("column (sense at the bottom)")
    ax0.set_ylabel("row (driven at column 0)")
    fig.colorbar(im, ax=ax0, fraction=0.046)

    # Output error vs array size and wire resistance.
    sizes = [16, 32, 64, 128, 256]
    for r in (0.1, 0.5, 1.0, 2.5):
        err = []
        for n in sizes:
            G = rng.uniform(1e-6, 1e-4, size=(n, n))
            V = np.full((1, n), v_read)
            I = mho.ir_drop(G, V, r, r)
            ideal = V @ G
            err.append(100 * np.sqrt(np.mean((I - ideal) ** 2) / np.mean(ideal ** 2)))
        ax1.plot(sizes, err, marker="o", label=f"{r:g} ohm / segment")
    ax1.set_xscale("log", base=2)
    ax1.set_yscale("log")
    ax1.set_xlabel("array size (rows = columns)")
    ax1.set_ylabel("relative RMS output error (%)")
    ax1.set_title("IR drop error, cells 1-100 uS, all rows at V_read")
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend()
    fig.tight_layout()

    save_figure(fig, a.out, dpi=110)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
