"""PIM inference of the shipped models and the study API."""
import os

import numpy as np
import pytest

import mho
from mho import _core

MODELS = os.path.join(os.path.dirname(__file__), "..", "..", "data", "models")
LENET = os.path.join(MODELS, "lenet5_mnist.h5")
RESCNN = os.path.join(MODELS, "rescnn_fmnist.h5")


# Minimums from issue 10 (LeNet-5 >= 98.5 % on MNIST, the residual CNN >= 90 % on
# Fashion-MNIST), on the full official test sets (10,000 images each).
@pytest.mark.parametrize("path,dataset,minimum", [(LENET, "mnist", 0.985), (RESCNN, "fashion_mnist", 0.90)])
def test_shipped_model_accuracy_is_recorded_and_reproduced(path, dataset, minimum):
    net, info = mho.nets.load(path)
    assert info.dataset == dataset and info.float_test_accuracy >= minimum
    assert "train_models.py" in info.source
    x, y = mho.datasets.load(dataset, "test")
    assert len(y) == 10000
    pred = np.concatenate([net.forward(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    assert abs(np.mean(pred == y) - info.float_test_accuracy) <= 1.0 / len(y)


@pytest.mark.parametrize("path,dataset", [(LENET, "mnist"), (RESCNN, "fashion_mnist")])
def test_ideal_hardware_reproduces_float_inference(path, dataset):
    net, _ = mho.nets.load(path)
    x, _ = mho.datasets.load(dataset, "test", limit=300)
    pim = _core.PimNetwork(net, mho.TileSpec.ideal(128, 128))
    pim.program(0)
    ref = net.forward(x)
    out = pim.forward(x)
    assert np.abs(out - ref).max() <= 1e-4 * np.abs(ref).max()


def test_quantized_hardware_within_quantization_error():
    # 8-bit weights and inputs, ideal ADC, no noise: logits close to float, same decisions
    # almost everywhere.
    net, _ = mho.nets.load(LENET)
    x, y = mho.datasets.load("mnist", "test", limit=500)
    calib, _ = mho.datasets.load("mnist", "train", limit=200)
    spec = mho.TileSpec.ideal(256, 256).replace(weight_bits=8, dac=mho.DacSpec(input_bits=8, signed_mode="unsigned", percentile=100.0))
    pim = _core.PimNetwork(net, spec)
    pim.program(0)
    pim.calibrate(calib)
    out, ref = pim.forward(x), net.forward(x)
    assert np.mean(out.argmax(1) == ref.argmax(1)) >= 0.99
    assert np.linalg.norm(out - ref) <= 0.05 * np.linalg.norm(ref)


def test_evaluate_is_reproducible_and_batch_split_invariant():
    spec = mho.study.default_spec()
    a = mho.study.evaluate(LENET, spec=spec, chips=2, limit=240, batch=240, progress=False)
    b = mho.study.evaluate(LENET, spec=spec, chips=2, limit=240, batch=70, progress=False)
    assert a.pim_accuracies == b.pim_accuracies
    assert len(a.pim_accuracies) == 2 and a.test_samples == 240
    lo, hi = min(a.pim_accuracies), max(a.pim_accuracies)
    assert a.mean - a.ci95 <= (lo + hi) / 2 <= a.mean + a.ci95 or lo == hi
    assert abs(a.drop - (a.float_accuracy - a.mean)) < 1e-12
    assert "PIM accuracy" in a.report() and "utilization" in a.report()


def test_sweep_table_and_plot(tmp_path):
    rs = mho.study.sweep(LENET, "adc.bits", [3, 8], chips=2, limit=200, progress=False)
    assert [r.parameter["adc.bits"] for r in rs] == [3, 8]
    assert rs[1].mean >= rs[0].mean - 0.02
    assert "adc.bits" in mho.study.sweep_table(rs)
    png = mho.study.plot_sweep(rs, tmp_path / "s.png")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_parameter_errors():
    spec = mho.study.default_spec()
    assert mho.study.with_parameter(spec, "array", 128).rows == 128
    assert mho.study.with_parameter(spec, "read_noise_scale", 2.0).cell.read_sigma == [0.02]
    with pytest.raises(ValueError, match="has no field 'bitz'"):
        mho.study.with_parameter(spec, "adc.bitz", 3)
    with pytest.raises(ValueError, match="not a TileSpec field"):
        mho.study.with_parameter(spec, "speed", 3)
    with pytest.raises(ValueError, match="chips = 0"):
        mho.study.evaluate(LENET, chips=0)
    with pytest.raises(FileNotFoundError):
        mho.study.evaluate("missing.h5")


def test_zoo_networks_map_but_do_not_run():
    net = _core.zoo_network("resnet50")
    m = _core.map_network(net, mho.TileSpec(rows=256, cols=256, weight_bits=8, bits_per_cell=8))
    assert m.arrays > 100 and 0 < m.utilization < 1
    with pytest.raises(ValueError, match="shape-only"):
        _core.PimNetwork(net, mho.TileSpec())
