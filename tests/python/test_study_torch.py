"""mho.study.evaluate on an nn.Module with recurrent layers (python/mho/study_torch.py)."""
import numpy as np
import pytest

import mho

torch = pytest.importorskip("torch")
nn = torch.nn

from test_torch_analog import ideal, noisy  # noqa: E402


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 6, batch_first=True)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        o, h = self.gru(x)
        return self.fc(h[-1])


def data(n, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 5, 4)).astype(np.float32), rng.integers(0, 3, size=n)


def model():
    torch.manual_seed(8)
    return Classifier().eval()


def test_ideal_equals_float_and_a_chip_equals_its_own_loop():
    m = model()
    (x, y), (cx, _) = data(60, 1), data(30, 2)
    with torch.no_grad():
        float_acc = float(np.mean(m(torch.from_numpy(x)).argmax(1).numpy() == y))
    r = mho.study.evaluate(m, spec=ideal(), chips=2, dataset=(x, y), calib=cx, batch=25, progress=False)
    assert r.float_accuracy == float_acc and r.pim_accuracies == [float_acc] * 2
    assert r.model == "Classifier" and r.test_samples == 60 and "gru.hh_l0" in r.mapping
    # the arrays of the study's mapping are the tiles the converted layers hold
    assert r.arrays == sum(len(layer.tiles) for layer in mho.torch.convert(m, ideal()).tile_layers().values()) > 3
    spec = noisy()
    r = mho.study.evaluate(m, spec=spec, chips=2, dataset=(x, y), calib=cx, batch=25, progress=False)
    analog = mho.torch.convert(m, spec).program(1).calibrate(torch.from_numpy(cx))
    with torch.no_grad():
        pred = analog(torch.from_numpy(x)).argmax(1).numpy()
    assert r.pim_accuracies[1] == float(np.mean(pred == y))
    assert r.counters_per_inference["adc_conversions"] > 0
    assert r.design_key == mho.study.evaluate(m, spec=spec, chips=1, dataset=(x, y), calib=cx,
                                              progress=False).design_key
    assert m.training is False and type(m.gru) is nn.GRU  # the user's module is untouched


def test_per_layer_rules_as_convert_takes_them():
    m = model()
    (x, y), (cx, _) = data(60, 1), data(30, 2)
    spec = noisy()
    six = spec.replace(adc=mho.AdcSpec(bits=6))
    kw = dict(chips=2, dataset=(x, y), calib=cx, batch=25, progress=False)
    plain = mho.study.evaluate(m, spec=spec, **kw)
    # a catch-all rule alone is the uniform design: the same chips and key
    same = mho.study.evaluate(m, spec=[("*", spec)], **kw)
    assert same.pim_accuracies == plain.pim_accuracies and same.design_key == plain.design_key
    assert same.layers is None
    # the classifier digital, the GRU on its own converters: each chip is the converted model's
    rules = [("fc", "digital"), (nn.GRU, six), ("*", spec)]
    r = mho.study.evaluate(m, spec=rules, **kw)
    analog = mho.torch.convert(m, rules).program(1).calibrate(torch.from_numpy(cx))
    with torch.no_grad():
        pred = analog(torch.from_numpy(x)).argmax(1).numpy()
    assert r.pim_accuracies[1] == float(np.mean(pred == y))
    assert r.layers["fc"] == "digital" and r.layers["gru"]["adc"]["bits"] == 6
    assert r.design_key != plain.design_key and "per-layer hardware: fc digital; gru" in r.spec
    assert "fc" not in r.mapping and r.arrays == sum(len(layer.tiles) for layer in analog.tile_layers().values())
    # ideal tiles and a digital classifier: the float model
    r = mho.study.evaluate(m, spec=[("fc", "digital"), ("*", ideal())], **kw)
    assert r.pim_accuracies == [r.float_accuracy] * 2
    with pytest.raises(ValueError, match="every Linear/Conv/attention/recurrent layer is digital"):
        mho.study.evaluate(m, spec=[("*", "digital")], **kw)


def test_errors():
    m = model()
    x, y = data(10, 3)
    with pytest.raises(ValueError, match="replication"):
        mho.study.evaluate(m, spec=ideal(), dataset=(x, y), calib=x, replication={0: 2}, progress=False)
    with pytest.raises(ValueError, match="calib"):
        mho.study.evaluate(m, spec=ideal(), dataset=(x, y), progress=False)
    unsigned = noisy().replace(dac=mho.DacSpec(input_bits=8, signed_mode="unsigned"))
    with pytest.raises(ValueError, match=r"layer 'gru.ih_l0' \(GRU\).*unsigned"):
        mho.study.evaluate(m, spec=unsigned, dataset=(x, y), calib=x, progress=False)


def test_zoo_lstm_file_round_trip(tmp_path):
    from mho import zoo_lstm
    torch.manual_seed(9)
    m = zoo_lstm.RowLSTM(hidden=8)
    path = tmp_path / "m.pt"
    zoo_lstm.save(m, path, float_test_accuracy=0.5)
    back = zoo_lstm.load(path)
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(back(x), m(x))
    assert back.meta == {"float_test_accuracy": 0.5} and not back.training
    with pytest.raises(FileNotFoundError, match="train_models.py --only lstm_mnist"):
        zoo_lstm.load(tmp_path / "missing.pt")


def test_shipped_lstm_on_ideal_tiles_predicts_as_torch():
    from mho import zoo_lstm
    m = zoo_lstm.load()
    assert m.meta["float_test_accuracy"] >= 0.97 and m.meta["dataset"] == "mnist"
    x, y = (torch.from_numpy(a) for a in mho.datasets.load("mnist", "test", limit=200))
    analog = mho.torch.convert(m, mho.TileSpec.ideal(256, 256)).program(0)
    with torch.no_grad():
        pred = m(x).argmax(1)
        assert torch.equal(analog(x).argmax(1), pred)
    assert float((pred == y).float().mean()) > 0.95
