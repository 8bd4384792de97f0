"""mho.study.evaluate on any model and data: an nn.Module gives the same chips as its exported
file, and the data as a shipped name, (x, y) arrays, a torch Dataset or a DataLoader (any
batch size) gives the same chips bit for bit; bad data is a clear error; progress is a log
line where there is no terminal."""
import io
import os

import numpy as np
import pytest
import torch

import mho
from mho import _util, datasets, export, study

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
LENET = os.path.join(ROOT, "data", "models", "lenet5_mnist.h5")
N, CALIB = 60, 32


def small_spec():
    return mho.TileSpec(rows=128, cols=128, cell="rram_neurosim_22nm", weight_bits=6,
                        dac=mho.DacSpec(input_bits=8, signed_mode="unsigned"), adc=mho.AdcSpec(bits=6), seed=5)


def run(model, dataset=None, **kw):
    return study.evaluate(model, spec=small_spec(), chips=2, dataset=dataset, limit=N, calib_samples=CALIB,
                          progress=False, **kw)


@pytest.fixture(scope="module")
def reference():
    return run(LENET, "mnist")


@pytest.fixture(scope="module")
def data():
    x, y = datasets.load("mnist", "test", limit=N)
    cx, _ = datasets.load("mnist", "train", limit=CALIB)
    return x, y, cx


def same_chips(a, b):
    assert a.pim_accuracies == b.pim_accuracies and a.float_accuracy == b.float_accuracy
    assert a.test_samples == b.test_samples == N


def test_arrays_numpy_and_torch_give_the_shipped_datasets_chips(reference, data):
    x, y, cx = data
    r = run(LENET, (x, y), calib=cx)
    same_chips(r, reference)
    assert r.dataset == "arrays" and r.design_key != reference.design_key  # keyed by the arrays' bytes
    same_chips(run(LENET, (torch.from_numpy(x), torch.from_numpy(y)), calib=torch.from_numpy(cx)), reference)
    assert run(LENET, (x, y), calib=cx).design_key == r.design_key


@pytest.mark.parametrize("loader_batch", [1, 7, 64])
def test_a_dataloader_of_any_batch_size_and_a_dataset_give_the_same_chips(reference, data, loader_batch):
    x, y, cx = data
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    cal = torch.utils.data.TensorDataset(torch.from_numpy(cx), torch.zeros(len(cx), dtype=torch.int64))
    r = run(LENET, torch.utils.data.DataLoader(ds, batch_size=loader_batch),
            calib=torch.utils.data.DataLoader(cal, batch_size=loader_batch))
    same_chips(r, reference)
    if loader_batch == 1:
        same_chips(run(LENET, ds, calib=cal), reference)


def test_limit_takes_evenly_spaced_samples_of_your_own_data(reference):
    x, y = datasets.load("mnist", "test", limit=3 * N)
    full = (np.arange(N) * 3 * N) // N
    xs, ys = datasets.load("mnist", "test")
    cx, _ = datasets.load("mnist", "train", limit=CALIB)
    a = study.evaluate(LENET, spec=small_spec(), chips=1, dataset=(x, y), calib=cx, limit=N, progress=False)
    b = study.evaluate(LENET, spec=small_spec(), chips=1, dataset=(x[full], y[full]), calib=cx, progress=False)
    assert a.pim_accuracies == b.pim_accuracies and a.test_samples == N
    assert len(xs) > len(x)


class SmallNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.conv = torch.nn.Conv2d(1, 4, 5, stride=2)
        self.fc = torch.nn.Linear(4 * 12 * 12, 10)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))


@pytest.fixture(scope="module")
def trained():
    """SmallNet after 300 seeded SGD steps on 3,000 MNIST training images (about 90 %)."""
    torch.manual_seed(0)
    m = SmallNet()
    x, y = datasets.load("mnist", "train", limit=3000)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    for step in range(300):
        i = torch.randint(0, len(x), (32,))
        opt.zero_grad()
        torch.nn.functional.cross_entropy(m(x[i]), y[i]).backward()
        opt.step()
    return m


def test_an_nn_module_gives_the_chips_of_its_exported_file(tmp_path, trained):
    m = trained
    before = [p.detach().clone() for p in m.parameters()]
    path = export.export_torch(m, tmp_path / "small.h5", (1, 28, 28), name="SmallNet")
    m.train()
    a = run(m, "mnist")
    assert m.training  # evaluate leaves the module's mode as it was
    b = run(path, "mnist")
    assert a.pim_accuracies == b.pim_accuracies and a.design_key == b.design_key
    assert a.model == "SmallNet" and a.float_accuracy > 0.8 and min(a.pim_accuracies) > 0.5
    assert all(torch.equal(p, q) for p, q in zip(before, m.parameters()))  # the user's module is untouched
    # The float accuracy is the module's own.
    x, y = datasets.load("mnist", "test", limit=N)
    with torch.no_grad():
        assert a.float_accuracy == float((m(torch.from_numpy(x)).argmax(1).numpy() == y).mean())
    assert m.training and list(m.parameters())[0].requires_grad
    m.eval()
    rs = study.sweep(m, "adc.bits", [4, 6], spec=small_spec(), chips=1, dataset="mnist", limit=N,
                     calib_samples=CALIB, progress=False)
    assert [r.parameter for r in rs] == [{"adc.bits": 4}, {"adc.bits": 6}]


@pytest.mark.parametrize("kw, exc, message", [
    ({"dataset": "cifar10"}, ValueError, "cifar10"),
    ({"dataset": 3}, TypeError, "dataset: expected a shipped dataset name"),
    ({"dataset": "mnist", "calib": np.zeros((4, 1, 28, 28), np.float32)}, ValueError, "calib: dataset 'mnist'"),
    ({"dataset": "ARRAYS"}, ValueError, "calib: data of your own needs calibration inputs"),
    ({"dataset": "ARRAYS", "calib": np.zeros((4, 1, 14, 14), np.float32)}, ValueError, r"calib: samples of shape"),
    ({"dataset": "BADLABELS", "calib": np.zeros((4, 1, 28, 28), np.float32)}, ValueError, "integer class labels"),
    ({"dataset": "NAN", "calib": np.zeros((4, 1, 28, 28), np.float32)}, ValueError, "NaN"),
    ({"dataset": "WRONGSIZE", "calib": np.zeros((4, 1, 20, 20), np.float32)}, ValueError, "the network takes"),
    ({"dataset": (np.zeros((4, 1, 28, 28)),)}, ValueError, "a pair"),
])
def test_bad_data_is_a_clear_error(data, kw, exc, message):
    x, y, _ = data
    forms = {"ARRAYS": (x, y), "BADLABELS": (x, y.astype(np.float64)), "NAN": (np.full_like(x, np.nan), y),
             "WRONGSIZE": (np.zeros((N, 1, 20, 20), np.float32), y)}
    if isinstance(kw["dataset"], str) and kw["dataset"] in forms:
        kw = dict(kw, dataset=forms[kw["dataset"]])
    with pytest.raises(exc, match=message):
        run(LENET, **kw)


def test_a_module_needs_data_and_a_model_must_be_a_file_or_module():
    with pytest.raises(ValueError, match="an nn.Module names no dataset"):
        run(SmallNet())
    with pytest.raises(TypeError, match="expected an mho model file path or a torch nn.Module"):
        run(42, "mnist")


def test_progress_is_logged_where_there_is_no_terminal():
    out = io.StringIO()
    bar = _util.Progress(40, "lenet5_mnist.h5", True, unit="batch", out=out)
    for _ in range(40):
        bar.update()
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "lenet5_mnist.h5: 40 batches to run"
    assert [l.split(" batches")[0] for l in lines[1:]] == [f"lenet5_mnist.h5: {k}/40" for k in range(4, 41, 4)]
    assert lines[-1].startswith("lenet5_mnist.h5: 40/40 batches (100 %), ETA 0 min 00 s")
    quiet = io.StringIO()
    bar = _util.Progress(40, "x", False, out=quiet)
    bar.update()
    assert quiet.getvalue() == ""
