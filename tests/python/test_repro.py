"""Same seed, same bits: networks on tiles and studies for 1-4 threads and any batch split.
(Single tiles: tests/crossbar/test_tile_repro.cpp; scripts/test.sh reruns these files with
OPENBLAS_CORETYPE forced to each kernel the CPU supports.)"""
import os

import numpy as np
import pytest

import mho
from mho import _core

HERE = os.path.dirname(os.path.abspath(__file__))
LENET = os.path.join(HERE, "..", "..", "data", "models", "lenet5_mnist.h5")


@pytest.fixture(autouse=True)
def restore_threads():
    before = mho.get_num_threads()
    yield
    mho.set_num_threads(before)


def _specs():
    base = mho.study.default_spec()
    return {
        "multilevel": base,
        "bitserial": base.replace(weight_bits=4, bits_per_cell=2,
                                  dac=mho.DacSpec(input_bits=4, mode="bitserial", bits_per_plane=1,
                                                  signed_mode="unsigned")),
        "bitserial_2bpp_1bpc": base.replace(rows=61, cols=122, weight_bits=3, bits_per_cell=1,
                                            dac=mho.DacSpec(input_bits=4, mode="bitserial",
                                                            bits_per_plane=2, signed_mode="unsigned")),
    }


@pytest.mark.parametrize("name", sorted(_specs()))
def test_network_on_tiles_bit_identical_for_threads_and_splits(name):
    net, _ = mho.nets.load(LENET)
    x, _ = mho.datasets.load("mnist", "test", limit=150)
    calib, _ = mho.datasets.load("mnist", "train", limit=64)
    spec = _specs()[name].replace(seed=11)

    def logits(threads, splits):
        mho.set_num_threads(threads)
        pim = _core.PimNetwork(net, spec)
        pim.program(1)
        pim.calibrate(calib)
        return np.concatenate([pim.forward(part) for part in np.split(x, np.cumsum(splits)[:-1])])

    ref = logits(1, [150])
    assert np.all(np.isfinite(ref)) and np.ptp(ref) > 0
    for threads, splits in ((2, [150]), (3, [1, 8, 141]), (4, [75, 75]), (2, [149, 1])):
        np.testing.assert_array_equal(logits(threads, splits), ref, err_msg=f"{threads} threads, {splits}")


def test_float_network_bit_identical_for_threads():
    net, _ = mho.nets.load(LENET)
    x, _ = mho.datasets.load("mnist", "test", limit=300)
    mho.set_num_threads(1)
    ref = net.forward(x)
    for threads in (2, 3, 4):
        mho.set_num_threads(threads)
        np.testing.assert_array_equal(net.forward(x), ref)


def test_study_bit_identical_for_threads_and_batches():
    spec = _specs()["bitserial"]
    runs = []
    for threads, batch in ((1, 200), (2, 37), (3, 200), (4, 64)):
        mho.set_num_threads(threads)
        r = mho.study.evaluate(LENET, spec=spec, chips=2, limit=200, batch=batch, calib_samples=64,
                               progress=False)
        runs.append((r.float_accuracy, r.pim_accuracies, r.counters_per_inference))
    for other in runs[1:]:
        assert other == runs[0]
