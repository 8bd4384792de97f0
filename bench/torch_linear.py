"""bench case torch_linear: a converted 512x512 nn.Linear (mho.torch) on one tile with the
`realistic` case's settings (bench_main.cpp: 8-bit cells and weights, 3 % programming error,
2 % read noise, 8-bit multi-level bipolar DAC, 8-bit calibrated ADC), batch 1024. Prints one
JSON line: ratio_to_tile = its time / Tile.forward of the same spec on the same matrix and
inputs (the conversion's overhead: im2col, tensor <-> numpy, bias), ratio_to_torch_linear =
its time / the float nn.Linear; medians of interleaved repetitions in the same run."""
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import mho  # noqa: E402
import torch  # noqa: E402

N, BATCH, REPS = 512, 1024, 21


def spec():
    cell = mho.CellSpec(name="bench_rram", bits=8, prog_error="proportional", prog_sigma=[0.03],
                        read_noise="proportional", read_sigma=[0.02])
    return mho.TileSpec(rows=N, cols=2 * N, cell=cell, weight_bits=8, bits_per_cell=8,
                        dac=mho.DacSpec(input_bits=8, mode="multilevel", signed_mode="bipolar"),
                        adc=mho.AdcSpec(bits=8, range="calibrated"), seed=41)


def seconds(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main():
    torch.manual_seed(0)
    linear = torch.nn.Linear(N, N).eval()
    x = torch.randn(BATCH, N)
    s = spec()
    analog = mho.torch.convert(linear, s).program(0).calibrate(x)
    assert len(analog.tile_layers()[""].tiles) == 1, "the matrix must fit one tile"
    tile = mho.Tile(s, 0)
    tile.program(linear.weight.detach().double().t().numpy(), 0)
    xn = x.numpy()
    tile.calibrate(xn)
    with torch.no_grad():
        y = analog(x)
        ref = linear(x)
    rel = float((y - ref).norm() / ref.norm())
    runs = {"converted": lambda: analog(x), "tile": lambda: tile.forward(xn), "torch": lambda: linear(x)}
    t = {k: [] for k in runs}
    with torch.no_grad():
        for fn in runs.values():  # warm-up
            fn()
        for _ in range(REPS):
            for k, fn in runs.items():
                t[k].append(seconds(fn))
    med = {k: statistics.median(v) for k, v in t.items()}
    print(json.dumps({
        "case": "torch_linear", "seconds": round(med["converted"], 6), "tile_seconds": round(med["tile"], 6),
        "torch_linear_seconds": round(med["torch"], 6),
        "ratio_to_tile": round(med["converted"] / med["tile"], 3),
        "ratio_to_torch_linear": round(med["converted"] / med["torch"], 2),
        "ratio_note": "medians of interleaved calls; the tile call is Tile.forward of the same spec, matrix and x",
        "relative_error_to_float": round(rel, 5), "threads": mho.get_num_threads(), "batch": BATCH,
        "matrix": [N, N], "repetitions": REPS,
    }))


if __name__ == "__main__":
    main()
