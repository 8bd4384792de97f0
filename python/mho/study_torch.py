"""mho.study.evaluate on nn.Modules the model file cannot hold (LSTM, GRU, RNN layers): the
module is converted with mho.torch.convert and run in torch, chip by chip, with the same data
handling (mho.study_inputs), calibration, chips and report as for a model file.

The model is keyed by the SHA-256 of its class name, structure (repr) and state_dict, in the
place of a model file's hash. The mapping and utilization are those of all the converted
layers' weight matrices placed together, as the C++ mapper places a network's.
"""
import hashlib
import os
import time

import numpy as np

from . import _core, _util, specs, study_inputs


def runs_in_torch(model):
    """True for an nn.Module with a recurrent layer: the HDF5 exporter does not take those."""
    if isinstance(model, (str, os.PathLike)) or not study_inputs._is_module(model):
        return False
    from torch import nn
    return any(isinstance(m, nn.RNNBase) for m in model.modules())


def module_sha256(model):
    h = hashlib.sha256(f"{type(model).__qualname__}\n{model!r}\n".encode())
    for k, v in model.state_dict().items():
        a = v.detach().cpu().contiguous().numpy()
        h.update(f"{k} {a.shape} {a.dtype.str}\n".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _predict(model, x, batch, bar=None):
    import torch
    pred = []
    with torch.no_grad():
        for s in range(0, len(x), batch):
            pred.append(model(torch.from_numpy(x[s:s + batch])).argmax(1).numpy())
            if bar is not None:
                bar.update()
    return np.concatenate(pred)


def evaluate(model, spec, chips, dataset, batch, calib_samples, limit, time_s, progress, float_accuracy,
             keep_pim, calib, replication):
    """mho.study.evaluate's work for a module that runs in torch (arguments checked there)."""
    from . import study, torch_analog
    import torch
    if replication:
        raise ValueError("replication: not available for a model run through mho.torch (recurrent layers)")
    t0 = time.time()
    x, y, cx, label, key = study_inputs.load_data(dataset, calib, limit, calib_samples, None)
    name, sha = type(model).__name__, module_sha256(model)
    was_training = model.training
    model.eval()
    try:
        if float_accuracy is None:
            float_accuracy = float(np.mean(_predict(model, x, batch) == y))
        analog = torch_analog.convert(model, spec)
    finally:
        model.train(was_training)
    mats = [m for layer in analog.tile_layers().values() for _, m, _ in layer.matrices()]
    mapping = _core.Mapping([(i, m.name, m.groups, m.rows, m.cols) for i, m in enumerate(mats)], spec)
    bar = _util.progress(chips * len(range(0, len(x), batch)), name, progress, unit="batch")
    accs, totals = [], {}
    for chip in range(chips):
        analog.program(chip)
        if time_s is not None:
            analog.set_time(time_s)
        analog.calibrate(torch.from_numpy(cx))
        accs.append(float(np.mean(_predict(analog, x, batch, bar) == y)))
        for c in analog.counters().values():
            for k, v in c.items():
                totals[k] = totals.get(k, 0) + v
    bar.close()
    per = {k: v / (chips * len(x)) for k, v in totals.items()}
    design_key = specs.design_key(specs.study_design(spec, sha, key, limit, calib_samples, time_s))
    return study.StudyResult(name, label, chips, len(x), float_accuracy, accs, mapping.arrays, mapping.utilization,
                             mapping.summary(), per, time.time() - t0, repr(spec), design=spec.to_dict(),
                             key=design_key, pim=analog if keep_pim else None)
