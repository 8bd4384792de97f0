"""Accuracy of a network on PIM hardware, over Monte Carlo chips.

    r = mho.study.evaluate("data/models/lenet5_mnist.h5", spec=spec, chips=10)
    print(r.report())
    rs = mho.study.sweep("data/models/lenet5_mnist.h5", "adc.bits", [4, 5, 6, 8], spec=spec)
    mho.study.plot_sweep(rs, "adc_bits.png")

Each chip is one seeded programming draw (errors, faults, drift exponents); the test set is
streamed in batches (memory bounded by the batch); DAC/ADC ranges are calibrated on training
images, never on the test set. Accuracy is reported as the mean over chips with a 95 %
confidence interval (Student t) and the drop from float accuracy.

    python -m mho.study            # the README's main job: LeNet-5 on MNIST
"""
import argparse
import os
import time
from dataclasses import dataclass, field
from typing import List

import numpy as np

from . import _core, _util, layer_rules, specs, study_inputs, study_torch
from .tile_study import mean_ci95

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "..", "data", "models")


def default_spec():
    """The default design's TileSpec (data/default_design.yaml, which gives the reasons): RRAM
    (NeuroSim 22 nm cell), 256x256 arrays, 8-bit weights as four 2-bit slices on differential
    pairs with a per-column scale, 8-bit unsigned bit-serial inputs, 8-bit calibrated ADCs
    shared by 8 columns; seed 1. The same design as `mho cost`'s defaults and the example
    config examples/configs/lenet5_mnist.yaml."""
    from . import config
    return config.default_design()["hardware"]


def sram_charge_spec(spec=None):
    """`spec` (default: default_spec()) on SRAM charge-domain arrays: 8T bit cells
    (sram_8t_22nm, one bit each, so an 8-bit weight is eight 1-bit slices) sharing charge on the
    bit line with the sram_65nm_jia2020 capacitors (2 fF, 0.85 V, their mismatch; the lines'
    kT/C noise on every readout), every other field as `spec` has it. The README's SRAM
    accuracy columns (examples/technology_accuracy.py, examples/zoo_accuracy.py --tech sram)."""
    from . import _core
    spec = default_spec() if spec is None else spec
    return spec.replace(cell="sram_8t_22nm", bits_per_cell=1, accumulation="charge",
                        cap=_core.cap_preset("sram_65nm_jia2020"))


@dataclass
class StudyResult:
    model: str
    dataset: str
    chips: int
    test_samples: int
    float_accuracy: float
    pim_accuracies: List[float]
    arrays: int
    utilization: float
    mapping: str
    counters_per_inference: dict
    seconds: float
    spec: str  # repr(TileSpec), for display
    parameter: dict = field(default_factory=dict)
    design: dict = field(default_factory=dict)  # TileSpec.to_dict(): TileSpec.from_dict(design) rebuilds it
    key: str = ""  # specs.design_key(specs.study_design(...)); "" (made by hand): the key of `design`
    # Per-layer hardware (mho.layer_rules): {layer index: TileSpec dict | "digital"} for the
    # layers that do not use `design`; None when every layer does.
    layers: dict = None
    pim: object = field(default=None, repr=False, compare=False)  # the PimNetwork, if kept

    @property
    def mean(self):
        return mean_ci95(self.pim_accuracies)[0]

    @property
    def ci95(self):
        return mean_ci95(self.pim_accuracies)[1]

    @property
    def drop(self):
        return self.float_accuracy - self.mean

    @property
    def design_key(self):
        return self.key or specs.design_key(self.design)

    def report(self):
        lines = [
            f"mho study: {self.model} on {self.dataset} ({self.test_samples} test images), "
            f"{self.chips} simulated chips",
            f"  float accuracy        {100 * self.float_accuracy:6.2f} %",
            f"  PIM accuracy          {100 * self.mean:6.2f} % ± {100 * self.ci95:.2f} (95 % CI over chips)",
            f"  accuracy drop         {100 * self.drop:6.2f} points",
            "  per chip              " + " ".join(f"{100 * a:.2f}" for a in self.pim_accuracies),
            f"  arrays                {self.arrays}, utilization {100 * self.utilization:.1f} %",
            "  actions / inference   " + ", ".join(
                f"{k} {v:.3g}" if k.endswith("_J") else f"{k} {v:,.0f}" for k, v in self.counters_per_inference.items()),
            f"  hardware              {self.spec}",
            f"  time                  {self.seconds:.1f} s",
            "",
            self.mapping.rstrip(),
        ]
        return "\n".join(lines)


def evaluate(model, spec=None, chips=5, dataset=None, batch=500, calib_samples=512, limit=None,
             time_s=None, replication=None, progress=True, float_accuracy=None, keep_pim=False, calib=None):
    """Float and PIM accuracy of `model` on `spec` over `chips` chips.

    spec: a TileSpec for every conv/linear layer (default: default_spec()), or per-layer rules
    [(pattern, TileSpec | "digital"), ...] as mho.torch.convert takes them (mho.layer_rules).
    model: an mho model file or a torch nn.Module (exported to mho's network engine; see
    mho.study_inputs; one with LSTM/GRU/RNN layers runs through mho.torch: mho.study_torch).
    dataset: a shipped dataset name (default: the one the model file names), (x, y) arrays, a torch Dataset or a DataLoader; data of your own needs `calib`
    (calibration inputs: an array, Dataset or DataLoader), never the test set. limit: N
    evenly spaced test samples; calib_samples: the calibration samples used (evenly spaced).
    progress: a bar on terminals, log lines every 10 s elsewhere (Jupyter, nohup, batch jobs).
    keep_pim: keep the PimNetwork (result.pim), whose action counters then hold the last
    chip's run over the test set (for mho.cost.measured(result.pim))."""
    chips = _util.integer("chips", chips, lo=1)
    batch = _util.integer("batch", batch, lo=1)
    calib_samples = _util.integer("calib_samples", calib_samples, lo=1)
    limit = _util.integer("limit", limit, lo=1, none_ok=True)
    time_s = check_time(time_s)
    replication = check_replication(replication)
    if study_torch.runs_in_torch(model):  # mho.torch.convert checks the rules there
        return study_torch.evaluate(model, spec if spec is not None else default_spec(), chips, dataset, batch,
                                    calib_samples, limit, time_s, progress, float_accuracy, keep_pim, calib,
                                    replication)
    if spec is not None and not isinstance(spec, _core.TileSpec):
        layer_rules.check(spec, name="spec")
    t0 = time.time()
    inp = study_inputs.load(model, dataset, calib, limit, calib_samples)
    net, name, dataset = inp["net"], inp["name"], inp["dataset"]
    x, y, calib = inp["x"], inp["y"], inp["calib"]
    spec = spec if spec is not None else default_spec()
    starts = range(0, len(x), batch)
    if float_accuracy is None:
        pred = np.concatenate([net.forward(x[s:s + batch]).argmax(1) for s in starts])
        float_accuracy = float(np.mean(pred == y))
    hw = layer_rules.resolve(net, spec, "spec")
    pim = _core.PimNetwork(net, hw.spec, replication or {}, **hw.kwargs())
    bar = _util.progress(chips * len(starts), name, progress, unit="batch")
    accs = [chip_accuracy(pim, chip, x, y, calib, batch, time_s, bar) for chip in range(chips)]
    bar.close()
    per = {k: v / (chips * len(x)) for k, v in pim.counters.items()}
    m = pim.mapping
    key = specs.design_key(specs.study_design(hw.spec, inp["model_sha256"], inp["dataset_key"], limit, calib_samples,
                                              time_s, layers=hw.layers()))
    shown = design_text(hw.spec, [(f"layer {i}", layer_rules.DIGITAL) for i in sorted(hw.digital)] +
                        [(f"layer {i}", t) for i, t in sorted(hw.layer_specs.items())])
    return StudyResult(name, dataset, chips, len(x), float_accuracy, accs, m.arrays, m.utilization,
                       m.summary(), per, time.time() - t0, shown, design=hw.spec.to_dict(), key=key,
                       pim=pim if keep_pim else None, layers=hw.layers())


def design_text(spec, own):
    """How a result names its design: the mapping's TileSpec and, where some layers differ,
    each (label, TileSpec | "digital") of `own`."""
    if not own:
        return repr(spec)
    return repr(spec) + " (per-layer hardware: " + "; ".join(
        f"{label} {t if t == layer_rules.DIGITAL else repr(t)}" for label, t in own) + ")"


def chip_accuracy(pim, chip, x, y, calib, batch, time_s=None, bar=None):
    """Accuracy of one simulated chip: `pim` (a PimNetwork) programmed as `chip`, aged to
    time_s, calibrated on `calib`, then run over (x, y) in batches."""
    pim.program(chip)
    if time_s is not None:
        pim.set_time(time_s)
    pim.calibrate(calib)
    correct = 0
    for s in range(0, len(x), batch):
        correct += int(np.sum(pim.forward(x[s:s + batch]).argmax(1) == y[s:s + batch]))
        if bar is not None:
            bar.update()
    return correct / len(x)


# Ageing beyond ~300 years is outside any retention specification (10 years); Tile.set_time
# enforces the same bound.
MAX_TIME_S = 1e10


def check_time(time_s, name="time_s"):
    """time_s: None (no ageing) or a finite number of seconds in [0, 1e10]."""
    return _util.real(name, time_s, 0.0, MAX_TIME_S, none_ok=True)


def check_replication(replication, name="replication"):
    """None or {layer index: copies >= 1}, integers only."""
    if replication is None:
        return {}
    if not isinstance(replication, dict):
        raise TypeError(f"{name}: expected a dict {{layer index: copies}}, got {type(replication).__name__}")
    return {_util.integer(f"{name} key", k, lo=0): _util.integer(f"{name}[{k!r}]", v, lo=1)
            for k, v in replication.items()}


def with_parameter(spec, param, value):
    """A copy of `spec` with one parameter changed. param: a TileSpec field ('weight_bits'),
    'adc.<field>', 'dac.<field>', 'cell.<field>', 'wires.<field>', 'array' (rows = cols =
    value), or 'read_noise_scale' (multiplies the cell's read-noise parameters)."""
    if not isinstance(param, str):
        raise TypeError(f"param: expected a parameter name such as 'adc.bits', got {type(param).__name__}")
    if param == "array":
        n = _util.integer("array", value, lo=1)
        return spec.replace(rows=n, cols=n)
    if param == "read_noise_scale":
        value = _util.real("read_noise_scale", value, 0.0)
        c = spec.cell
        if c.read_noise == "none":
            raise ValueError("read_noise_scale: the cell has no read noise to scale")
        if c.read_noise == "pcm_1f":
            q0, ex, qmax, tr = c.read_sigma or [0.0088, 0.65, 0.2, 250e-9]
            sigma = [q0 * value, ex, qmax * value, tr]
        else:
            sigma = [s * value for s in c.read_sigma]
        return spec.replace(cell=c.replace(read_sigma=sigma))
    if "." in param:
        part, fld = param.split(".", 1)
        if part not in ("adc", "dac", "cell", "wires"):
            raise ValueError(f"param = {param!r}: the part before '.' must be adc, dac, cell or wires")
        sub = getattr(spec, part)
        if fld not in sub.fields():
            raise ValueError(f"param = {param!r}: {type(sub).__name__} has no field {fld!r}")
        return spec.replace(**{part: sub.replace(**{fld: value})})
    if param not in spec.fields():
        raise ValueError(f"param = {param!r}: not a TileSpec field nor one of array, "
                         f"read_noise_scale, adc.*, dac.*, cell.*, wires.*, time_s")
    return spec.replace(**{param: value})


def _with_parameter_everywhere(spec, param, value):
    """with_parameter on a TileSpec, or on every TileSpec of per-layer rules."""
    if isinstance(spec, _core.TileSpec):
        return with_parameter(spec, param, value)
    return [(p, t if t == layer_rules.DIGITAL else with_parameter(t, param, value))
            for p, t in layer_rules.check(spec)]


def swept_designs(spec, param, values):
    """(spec, time_s) for each value of a sweep, every value checked: a sweep never fails
    half-way on a bad value. Per-layer rules: the value replaces the parameter in every
    TileSpec of the rules."""
    out = []
    for i, v in enumerate(values):
        try:
            out.append((spec, check_time(v, "time_s")) if param == "time_s"
                       else (_with_parameter_everywhere(spec, param, v), None))
        except (TypeError, ValueError) as e:
            raise type(e)(f"values[{i}] = {v!r}: {e}") from None
    return out


def sweep(model, param, values, spec=None, chips=5, **kw):
    """evaluate() for each value of one parameter ('time_s' ages the chips instead)."""
    spec = spec if spec is not None else default_spec()
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__len__"):
        raise TypeError(f"values: expected a list of values to sweep, got {type(values).__name__}")
    if len(values) == 0:
        raise ValueError("values: give at least one value to sweep")
    chips = _util.integer("chips", chips, lo=1)
    if "time_s" in kw and param == "time_s":
        raise TypeError("time_s: it is the swept parameter here; give its values in `values`")
    designs = swept_designs(spec, param, values)  # every value checked before any work starts
    results, float_acc = [], kw.pop("float_accuracy", None)
    for v, (sp, t) in zip(values, designs):
        if param == "time_s":
            r = evaluate(model, spec=sp, chips=chips, time_s=t, float_accuracy=float_acc, **kw)
        else:
            r = evaluate(model, spec=sp, chips=chips, float_accuracy=float_acc, **kw)
        float_acc = r.float_accuracy
        r.parameter = {param: v}
        results.append(r)
    return results


def sweep_table(results):
    param = next(iter(results[0].parameter))
    lines = [f"{param:>18s} | PIM accuracy (95% CI) | drop   | arrays | util",
             "-" * 64]
    for r in results:
        ci = f"{100 * r.ci95:5.2f}" if np.isfinite(r.ci95) else "  n/a"
        lines.append(f"{str(r.parameter[param]):>18s} | {100 * r.mean:6.2f} % ± {ci} "
                     f"| {100 * r.drop:5.2f} | {r.arrays:6d} | {100 * r.utilization:4.1f} %")
    lines.append(f"float accuracy {100 * results[0].float_accuracy:.2f} % ({results[0].model}, "
                 f"{results[0].dataset}, {results[0].chips} chips per point)")
    return "\n".join(lines)


def plot_sweep(results, path, log_x=False):
    """Accuracy vs the swept parameter, with 95 % CI bands and the float accuracy (PNG,
    written atomically)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    param = next(iter(results[0].parameter))
    xs = [r.parameter[param] for r in results]
    m = np.array([100 * r.mean for r in results])
    ci = np.nan_to_num(np.array([100 * r.ci95 for r in results]))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(xs, m, marker="o", label="PIM (mean over chips)")
    ax.fill_between(xs, m - ci, m + ci, alpha=0.25, label="95 % CI")
    ax.axhline(100 * results[0].float_accuracy, color="k", ls="--", lw=1, label="float")
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(param)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{results[0].model} on {results[0].dataset}")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out = _util.save_figure(fig, path)
    plt.close(fig)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m mho.study", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(MODELS, "lenet5_mnist.h5"))
    ap.add_argument("--chips", type=int, default=10)
    ap.add_argument("--sweep-chips", type=int, default=5)
    ap.add_argument("--plot", metavar="PNG", help="draw the ADC-bits sweep to this file")
    a = ap.parse_args(argv)
    spec = default_spec()
    r = evaluate(a.model, spec=spec, chips=a.chips)
    print(r.report())
    print()
    rs = sweep(a.model, "adc.bits", [3, 4, 5, 6, 8], spec=spec, chips=a.sweep_chips,
               float_accuracy=r.float_accuracy)
    print("ADC resolution sweep (same design otherwise):")
    print(sweep_table(rs))
    if a.plot:
        print(f"plot written to {plot_sweep(rs, a.plot)}")


if __name__ == "__main__":
    main()
