"""mho.study.evaluate on nn.Modules the model file cannot hold (LSTM, GRU, RNN layers): the
module is converted with mho.torch.convert and run in torch, chip by chip, with the same data
handling (mho.study_inputs), calibration, chips and report as for a model file.

The model is keyed by the SHA-256 of its class name, structure (repr) and state_dict, in the
place of a model file's hash. The mapping and utilization are those of all the converted
layers' weight matrices placed together, as the C++ mapper places a network's, each on its
own layer's TileSpec. Per-layer rules are mho.torch.convert's: a layer kept "digital" runs in
torch and has no arrays.
"""
import hashlib
import os
import time

import numpy as np

from . import _core, _util, layer_rules, specs, study_inputs


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
    tile_layers = analog.tile_layers()
    if not tile_layers:
        raise ValueError("spec: every Linear/Conv/attention/recurrent layer is digital; give at least one layer a "
                         "TileSpec (the float model is the all-digital design)")
    main = layer_rules.main_spec(torch_analog._check_rules(spec), [t.spec for t in tile_layers.values()])
    mats, layer_specs, own = [], {}, {}
    for name_, layer in tile_layers.items():
        for _, m, _ in layer.matrices():
            if layer.spec != main:
                layer_specs[len(mats)] = layer.spec
            mats.append((len(mats), m.name, m.groups, m.rows, m.cols))
        if layer.spec != main:
            own[name_] = layer_rules.spec_dict(layer.spec)
    own.update({n: layer_rules.DIGITAL for n in analog.digital_layers})
    mapping = _core.Mapping(mats, main, layer_specs=layer_specs)
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
    layers = dict(sorted(own.items())) or None
    design_key = specs.design_key(specs.study_design(main, sha, key, limit, calib_samples, time_s, layers=layers))
    shown = study.design_text(main, [(n, t if t == layer_rules.DIGITAL else tile_layers[n].spec)
                                     for n, t in (layers or {}).items()])
    return study.StudyResult(name, label, chips, len(x), float_accuracy, accs, mapping.arrays, mapping.utilization,
                             mapping.summary(), per, time.time() - t0, shown, design=main.to_dict(),
                             key=design_key, pim=analog if keep_pim else None, layers=layers)
