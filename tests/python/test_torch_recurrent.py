"""mho.torch: nn.LSTM / nn.GRU / nn.RNN converted onto tiles (python/mho/torch_recurrent.py)."""
import pytest

import mho

torch = pytest.importorskip("torch")
nn = torch.nn

from test_torch_analog import ideal, noisy, rel_err  # noqa: E402


def recurrent(kind, **kw):
    torch.manual_seed(11)
    return getattr(nn, kind)(5, 7, **kw).eval()


def sequences(n, steps=4, seed=1, features=5):
    return torch.randn(n, steps, features, generator=torch.Generator().manual_seed(seed))


def as_tensors(result):
    """(output, h_n[, c_n]) of a recurrent module's result."""
    out, state = result
    return (out,) + (tuple(state) if isinstance(state, tuple) else (state,))


OPTIONS = [dict(), dict(num_layers=2), dict(bidirectional=True), dict(batch_first=True), dict(bias=False),
           dict(num_layers=3, bidirectional=True, batch_first=True, dropout=0.3)]


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("kw", OPTIONS)
def test_ideal_equals_torch(kind, kw):
    m = recurrent(kind, **kw)
    analog = mho.torch.convert(m, ideal(4, 8)).program(0)  # small arrays: several blocks per matrix
    x = sequences(3, steps=6)
    x = x if kw.get("batch_first") else x.transpose(0, 1)
    with torch.no_grad():
        got, ref = as_tensors(analog(x)), as_tensors(m(x))
    assert len(got) == len(ref)
    for a, b in zip(got, ref):
        assert a.shape == b.shape and rel_err(a, b) < 1e-5


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_ideal_initial_state_unbatched_and_proj(kind):
    dirs, layers = 2, 2
    m = recurrent(kind, num_layers=layers, bidirectional=True, batch_first=True)
    analog = mho.torch.convert(m, ideal()).program(0)
    x = sequences(4)
    g = torch.Generator().manual_seed(2)
    h0 = torch.randn(dirs * layers, 4, 7, generator=g)
    hx = (h0, torch.randn(dirs * layers, 4, 7, generator=g)) if kind == "LSTM" else h0
    with torch.no_grad():
        for args in ((x, hx), (x[0],), (x[0], tuple(s[:, 0] for s in hx) if kind == "LSTM" else h0[:, 0])):
            for a, b in zip(as_tensors(analog(*args)), as_tensors(m(*args))):
                assert a.shape == b.shape and rel_err(a, b) < 1e-5
    if kind == "LSTM":
        p = recurrent("LSTM", proj_size=3, num_layers=2, bidirectional=True)
        analog = mho.torch.convert(p, ideal(4, 4)).program(0)
        hx = (torch.randn(4, 4, 3, generator=g), torch.randn(4, 4, 7, generator=g))
        with torch.no_grad():
            for a, b in zip(as_tensors(analog(x.transpose(0, 1), hx)), as_tensors(p(x.transpose(0, 1), hx))):
                assert a.shape == b.shape and rel_err(a, b) < 1e-5
        assert ".hr_l1_reverse" in analog.counters()


def test_in_a_model_state_dict_and_tile_ids():
    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(3, 5)
            self.rnn = nn.LSTM(5, 7, batch_first=True, bidirectional=True)
            self.head = nn.Linear(14, 2)

        def forward(self, x):
            o, (h, c) = self.rnn(self.embed(x))  # the usual tuple unpacking
            return self.head(o)

    torch.manual_seed(3)
    m = Tagger().eval()
    analog = mho.torch.convert(m, ideal())
    assert set(analog.state_dict()) == {"model." + k for k in m.state_dict()}
    assert type(analog.model.rnn).__name__ == "TileLSTM" and m.rnn.__class__ is nn.LSTM
    x = sequences(2, features=3)
    with torch.no_grad():
        assert rel_err(analog.program(0)(x), m(x)) < 1e-5
    # the LSTM is layer 1: every one of its matrices has its own tiles under l = 1
    ids = [t.tile_id for t in analog.tile_layers()["rnn"].tiles]
    assert len(set(ids)) == len(ids) and {i >> 32 for i in ids} == {1}
    assert analog.tile_layers()["head"].tiles[0].tile_id >> 32 == 2
    assert type(mho.torch.convert(m, [(nn.LSTM, "digital"), ("*", ideal())]).model.rnn) is nn.LSTM


def test_errors():
    analog = mho.torch.convert(nn.Sequential(recurrent("LSTM")), ideal()).program(0)
    lstm = analog.model[0]
    with pytest.raises(ValueError, match=r"layer '0' \(LSTM\): input shape \(4, 3, 6\)"):
        lstm(torch.zeros(4, 3, 6))
    with pytest.raises(ValueError, match=r"input shape \(0, 3, 5\)"):
        lstm(torch.zeros(0, 3, 5))
    with pytest.raises(ValueError, match=r"h0 of shape \(1, 2, 7\), expected \(1, 3, 7\)"):
        lstm(torch.zeros(4, 3, 5), (torch.zeros(1, 2, 7), torch.zeros(1, 3, 7)))
    with pytest.raises(ValueError, match=r"c0 of shape"):
        lstm(torch.zeros(4, 3, 5), (torch.zeros(1, 3, 7), torch.zeros(1, 3, 5)))
    with pytest.raises(TypeError, match=r"hx must be a pair"):
        lstm(torch.zeros(4, 3, 5), torch.zeros(1, 3, 7))
    packed = nn.utils.rnn.pack_sequence([torch.zeros(3, 5), torch.zeros(2, 5)])
    with pytest.raises(TypeError, match="PackedSequence"):
        lstm(packed)
    with pytest.raises(TypeError, match="dtype"):
        lstm(torch.zeros(4, 3, 5, dtype=torch.int32))
    with pytest.raises(RuntimeError, match="program"):
        mho.torch.convert(recurrent("GRU"), ideal())(torch.zeros(4, 3, 5))
    with pytest.raises(ValueError, match=r"num_layers = 100; tile ids number at most 64"):
        mho.torch.convert(nn.LSTM(2, 2, num_layers=100, bidirectional=True), ideal())


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_batch_split_and_threads_invariant_chips_differ(kind):
    m = recurrent(kind, num_layers=2, bidirectional=True, batch_first=True)
    analog = mho.torch.convert(m, noisy())
    x = sequences(12, steps=5, seed=3)
    analog.program(0).calibrate(sequences(16, steps=5, seed=4))

    def run(split):
        analog.reset_samples()
        with torch.no_grad():
            return torch.cat([analog(x[i:i + split])[0] for i in range(0, len(x), split)])

    full = run(12)
    assert 1e-4 < rel_err(full, m(x)[0].detach()) < 0.5  # close to the float model, not equal
    for split in (1, 5):
        assert torch.equal(run(split), full)
    threads = mho.get_num_threads()
    try:
        for n in (1, 2):
            mho.set_num_threads(n)
            assert torch.equal(run(12), full)
    finally:
        mho.set_num_threads(threads)
    with torch.no_grad():  # without reset_samples a second read draws fresh noise
        assert not torch.equal(analog(x)[0], full)
        # ... and so does a sequence of another length: its samples have other numbers
        analog.reset_samples()
        short = analog(x[:1, :3])[0]
        analog.reset_samples()
        long_ = analog(x[1:2, :5])[0]
        analog.reset_samples()
        assert torch.equal(analog(x[:1, :3])[0], short) and not torch.equal(analog(x[1:2, :3])[0], long_[:, :3])
    analog.program(1).calibrate(sequences(16, steps=5, seed=4))
    assert not torch.equal(run(12), full)
    analog.program(0).calibrate(sequences(16, steps=5, seed=4))
    assert torch.equal(run(12), full)


def test_calibration_and_counters():
    """Noise-free 8-bit converters: calibration is needed and brings the outputs close to
    float; W_ih and W_hh each count what a Linear layer of their shape counts on the same
    number of rows, batch x steps."""
    m = recurrent("LSTM", batch_first=True)
    spec = noisy().replace(programming_error=False, read_noise=False)
    analog = mho.torch.convert(m, spec).program(0)
    x = sequences(6, steps=4, seed=5)
    with pytest.raises(RuntimeError, match=r"layer '.ih_l0'.*calibrate\(X\) was not called"):
        analog(x)
    analog.program(0).calibrate(sequences(20, steps=4, seed=6))
    assert analog.counters()[".ih_l0"]["adc_conversions"] == 0  # calibration reads are not counted
    with torch.no_grad():
        y = analog(x)
    assert rel_err(y[0], m(x)[0].detach()) < 0.05
    counts = analog.counters()
    assert set(counts) == {".ih_l0", ".hh_l0"} and analog.inferences() == 6
    for key, rows in ((".ih_l0", 5), (".hh_l0", 7)):
        lin = mho.torch.convert(nn.Linear(rows, 28), spec).program(0).calibrate(torch.randn(8, rows))
        with torch.no_grad():
            lin(torch.randn(6 * 4, rows))
        assert counts[key]["adc_conversions"] >= 6 * 4 * 28  # one per gate output and row at least
        for k in ("cell_reads", "dac_conversions", "adc_conversions", "shift_adds"):
            assert counts[key][k] == lin.counters()[""][k], (key, k)


def test_set_time_drift_and_restore():
    m = recurrent("GRU")
    spec = mho.TileSpec(rows=32, cols=32, cell="pcm_joshi2020", weight_bits=0, read_noise=False,
                        programming_error=False, dac=mho.DacSpec(input_bits=0), adc=mho.AdcSpec(bits=0))
    analog = mho.torch.convert(m, spec).program(0)
    x = sequences(3)
    t0 = outputs_first(analog, x)
    analog.set_time(86400.0)
    assert rel_err(outputs_first(analog, x), t0) > 1e-3
    analog.set_time(0.0)
    assert torch.equal(outputs_first(analog, x), t0)


def outputs_first(analog, x):
    analog.reset_samples()
    with torch.no_grad():
        return analog(x)[0]

