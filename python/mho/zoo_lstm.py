"""The shipped recurrent model: an LSTM reading MNIST row by row (data/models/lstm_mnist.pt).

    model = mho.zoo_lstm.load()                 # the trained nn.Module (eval mode)
    r = mho.study.evaluate(model, dataset="mnist", chips=5)

The HDF5 model format holds no recurrent layers, so the model ships as a torch state_dict
(with its float test accuracy and training command) and this definition; mho.study runs it
through mho.torch.convert. Trained by data/train_models.py --only lstm_mnist.
"""
import os

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_PATH = os.path.join(HERE, "..", "..", "data", "models", "lstm_mnist.pt")


class RowLSTM(nn.Module):
    """Images (N, 1, 28, 28) or (N, 28, 28) as 28 time steps of 28 pixels (one row each):
    one LSTM layer, and a Linear classifier on its last hidden state."""

    def __init__(self, rows=28, hidden=64, classes=10):
        super().__init__()
        self.rows = rows
        self.lstm = nn.LSTM(rows, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x):
        # Row-by-row MNIST: the sequence is the image's rows, each row one input vector.
        _, (h, _) = self.lstm(x.reshape(x.shape[0], -1, self.rows))
        return self.fc(h[-1])


def save(model, path, **meta):
    """Write `model`'s state_dict and `meta` (float_test_accuracy, source ...) atomically."""
    from . import _util
    with _util.atomic_file(path) as tmp:
        torch.save({"state_dict": model.state_dict(), "hidden": model.lstm.hidden_size, **meta}, tmp)


def load(path=MODEL_PATH):
    """(RowLSTM in eval mode with the shipped weights); its file's metadata in `model.meta`."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such model file; train it with data/train_models.py --only lstm_mnist")
    blob = torch.load(path, map_location="cpu")
    model = RowLSTM(hidden=blob.pop("hidden"))
    model.load_state_dict(blob.pop("state_dict"))
    model.meta = blob
    return model.eval()


def pim_spec():
    """mho.study.default_spec() with signed inputs (DacSpec.signed_mode = 'two_pass': the
    positive and the negative part as two bit-serial passes), since the LSTM's hidden states
    are signed (tanh) and the default design's unsigned DAC takes post-ReLU activations only."""
    from . import study
    spec = study.default_spec()
    return spec.replace(dac=spec.dac.replace(signed_mode="two_pass"))


def main(argv=None):
    import argparse
    from . import study
    ap = argparse.ArgumentParser(prog="python -m mho.zoo_lstm", description="Float and PIM accuracy of the "
                                 "shipped LSTM on MNIST (pim_spec(): the default design, signed inputs).")
    ap.add_argument("--chips", type=int, default=5)
    ap.add_argument("--limit", type=int, default=2000, help="test images (evenly spaced)")
    ap.add_argument("--calib-samples", type=int, default=512)
    ap.add_argument("--tech", choices=["rram", "sram"], default="rram",
                    help="rram: pim_spec(); sram: pim_spec() on charge-domain SRAM arrays (mho.study.sram_charge_spec)")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    spec = pim_spec() if a.tech == "rram" else study.sram_charge_spec(pim_spec())
    r = study.evaluate(load(), spec=spec, chips=a.chips, dataset="mnist", limit=a.limit,
                       calib_samples=a.calib_samples)
    print(r.report())


if __name__ == "__main__":
    main()
