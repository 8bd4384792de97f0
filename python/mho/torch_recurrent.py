"""nn.LSTM, nn.GRU and nn.RNN on mho tiles (what mho.torch.convert makes of them).

Each layer and direction has two weight matrices on tiles, as torch parameterises it:
W_ih (input x gates) and W_hh (hidden x gates), plus W_hr (hidden x proj_size) for an LSTM
with a projection. Two matrices rather than one stacked on [x_t, h_(t-1)], because
- the input products of all time steps are known before the recurrence starts, so they run
  as one batched tile product over (batch x time) rows; only W_hh waits for the time loop;
- x and h have different ranges (pixels vs. tanh-bounded states): each matrix gets its own
  calibrated DAC and ADC ranges instead of one range for both;
- a GRU needs W_hn h apart from W_in x anyway (n = tanh(W_in x + r * (W_hn h + b_hn)));
- the state_dict keeps torch's keys (weight_ih_l0, weight_hh_l0_reverse, ...).
The price is one ADC conversion per gate output for each of the two products instead of one
for their analog sum (the counters show it). Gate nonlinearities, the cell update, biases
and dropout between layers run in torch (digital), element-wise.

Noise streams. W_ih reads its (batch x time) rows as a Linear on (batch, time, in) does: each
sample owns the next stretch of the stream, one position per time step. W_hh (and W_hr) are
read once per time step on the batch; the read of sample s (its number since program() or
reset_samples()) at time step t takes position t * 2**32 + s, so the outputs depend on the
sample and the step only, never on the batch split; a sample of another length has another
number, hence its own noise.

Calibration. The products of h need calibrated ranges before the tiles can compute h, so in
calibrate() the recurrence runs once with float W_hh / W_hr products on the tiles' input
products; W_hh and W_hr are calibrated on all time steps' states of that run, and the layer
passes that run's outputs on to the layers after it.

Bit-identical outputs for any batch split and thread count need element-wise functions whose
result does not depend on where an element sits in a tensor: torch's vectorised sigmoid
differs from its scalar tail in the last bit, so tanh and sigmoid run in numpy (whose SIMD
loops compute tails with the same code); the recurrence runs on the CPU.
"""
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .torch_analog import _BLOCK_BITS, _numpy_rows, _TileMatrix, _TileModule

# Tile ids within the layer: part (layer, direction, matrix) in bits 24..31, block below, as
# TileAttention numbers its projections.
_PART_BITS = 24
# W_hh noise position t * 2**32 + s: 2**32 samples per program(), and 2**18 time steps keeps
# every position below mho.torch's calibration stream (2**50).
_STEP_BITS = 32
_MAX_STEPS = 1 << 18


def _tanh(t):
    return torch.from_numpy(np.tanh(t.numpy()))


def _sigmoid(t):
    with np.errstate(over="ignore"):  # exp(-x) = inf for x << 0: the sigmoid is then 0
        return torch.from_numpy(1 / (1 + np.exp(-t.numpy())))


class TileRecurrent(_TileModule):
    """An nn.LSTM / nn.GRU / nn.RNN whose matrix products run on mho tiles; the same options,
    inputs and outputs as the original (num_layers, bidirectional, batch_first, bias, dropout
    between layers in training, LSTM proj_size; unbatched inputs; h0 / (h0, c0)). Counters per
    matrix: '<name>.ih_l0', '<name>.hh_l0', '<name>.hh_l0_reverse', '<name>.hr_l0' ..."""

    gates = 1  # gate blocks in W_ih / W_hh (torch's order)

    def __init__(self, module, spec, name, index):
        super().__init__(name, index, spec)
        self.kind = type(module).__name__
        self.training = module.training  # dropout between layers follows the original's mode
        self.input_size, self.hidden_size = module.input_size, module.hidden_size
        self.num_layers, self.bias, self.batch_first = module.num_layers, module.bias, module.batch_first
        self.dropout, self.bidirectional = module.dropout, module.bidirectional
        self.proj_size = getattr(module, "proj_size", 0)
        self.nonlinearity = getattr(module, "nonlinearity", "tanh")
        self.out_size = self.proj_size or self.hidden_size
        dirs = 2 if self.bidirectional else 1
        parts = 3 if self.proj_size else 2
        if self.num_layers * dirs * parts > 1 << (_BLOCK_BITS - _PART_BITS):
            raise ValueError(f"layer '{name}' ({self.kind}): num_layers = {self.num_layers}; tile ids number at "
                             f"most {(1 << (_BLOCK_BITS - _PART_BITS)) // (dirs * parts)} layers of this kind")
        g = self.gates * self.hidden_size
        self._mats = {}
        for k in range(self.num_layers):
            rows_in = self.input_size if k == 0 else dirs * self.out_size
            for d in range(dirs):
                sfx = f"_l{k}" + ("_reverse" if d else "")
                shapes = [("ih", rows_in, g), ("hh", self.out_size, g)]
                if self.proj_size:
                    shapes.append(("hr", self.hidden_size, self.proj_size))
                for kind, rows, cols in shapes:
                    part = (k * dirs + d) * parts + len([p for p in self._mats if p[:2] == (k, d)])
                    self._mats[(k, d, kind)] = _TileMatrix(spec, f"{name}.{kind}{sfx}", 1, rows, cols,
                                                           (index << _BLOCK_BITS) + (part << _PART_BITS))
                for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"):
                    if hasattr(module, p + sfx):  # the original's parameters: same state_dict keys
                        setattr(self, p + sfx, getattr(module, p + sfx))
        self.tiles = [t for m in self._mats.values() for t in m.tiles]

    def extra_repr(self):
        return (f"{self.kind} '{self.name}', {self.input_size} -> {self.hidden_size}"
                f"{f' (proj {self.proj_size})' if self.proj_size else ''}, {self.num_layers} layer(s)"
                f"{', bidirectional' if self.bidirectional else ''}, {len(self.tiles)} tiles")

    def _param(self, p, k, d):
        return getattr(self, f"{p}_l{k}" + ("_reverse" if d else ""), None)

    def matrices(self):
        def matrix(key):
            w = self._param({"ih": "weight_ih", "hh": "weight_hh", "hr": "weight_hr"}[key[2]], key[0], key[1])
            return lambda g: w.detach().to("cpu", torch.float64).t().numpy()
        return [(m.name, m, matrix(key)) for key, m in self._mats.items()]

    # -- products -------------------------------------------------------------------------

    def _product(self, key, x, step=None):
        """x (rows, in) @ W on the tiles of matrix `key`, as a tensor like x. step: the time
        step of a per-step read (position step * 2**32 + sample); None: continue the stream."""
        m = self._mats[key]
        if step is not None:
            m.rows_seen = (step << _STEP_BITS) + self.samples
        try:
            return torch.from_numpy(m.matmul(_numpy_rows(x), self.calibrating))
        except ValueError as e:  # e.g. signed states on an unsigned DAC: name the matrix
            raise ValueError(f"layer '{m.name}' ({self.kind}): {e}") from None

    def _hidden_product(self, key, h, step, seen):
        """h @ W_hh (or W_hr): on tiles, or in float while calibrating (collecting h in `seen`)."""
        if not self.calibrating:
            return self._product(key, h, step)
        seen.append(h)
        w = self._param("weight_hh" if key[2] == "hh" else "weight_hr", key[0], key[1])
        # numpy's own loops, not a BLAS whose rounding follows the thread count: the ranges
        # calibrated on these states must not depend on it
        return torch.from_numpy(np.einsum("nk,gk->ng", h.numpy(), w.detach().to(h.dtype).numpy()))

    def _cell(self, gx, gh, h, c):
        """One time step: input products gx and hidden products gh (biases added), state
        (h, c) -> the new state (c None but for an LSTM)."""
        act = _tanh if self.nonlinearity == "tanh" else torch.relu
        return act(gx + gh), None

    # -- forward --------------------------------------------------------------------------

    def _check_inputs(self, x, hx):
        if isinstance(x, nn.utils.rnn.PackedSequence):
            raise TypeError(f"layer '{self.name}' ({self.kind}): PackedSequence inputs are not supported on "
                            f"tiles; pad the sequences (nn.utils.rnn.pad_packed_sequence) or keep the layer "
                            f"digital")
        self._start(x)
        if x.dim() not in (2, 3) or x.shape[-1] != self.input_size or min(x.shape[:-1]) < 1:
            order = "batch, time" if self.batch_first else "time, batch"
            raise ValueError(f"layer '{self.name}' ({self.kind}): input shape {tuple(x.shape)}, expected "
                             f"({order}, {self.input_size}) or unbatched (time, {self.input_size}), "
                             f"at least one sample and step")
        batched, device = x.dim() == 3, x.device
        x = x.detach().cpu()
        x = (x if self.batch_first else x.transpose(0, 1)) if batched else x.unsqueeze(0)
        n, steps = x.shape[0], x.shape[1]
        if steps > _MAX_STEPS:
            raise ValueError(f"layer '{self.name}' ({self.kind}): {steps} time steps; at most {_MAX_STEPS}")
        if not self.calibrating and self.samples + n > 1 << _STEP_BITS:
            raise ValueError(f"layer '{self.name}' ({self.kind}): {self.samples + n} samples since program() "
                             f"(at most 2**{_STEP_BITS}); call reset_samples()")
        dirs = 2 if self.bidirectional else 1
        shapes = [("h0", self.out_size)] + ([("c0", self.hidden_size)] if isinstance(self, TileLSTM) else [])
        if hx is None:
            states = [x.new_zeros(self.num_layers * dirs, n, size) for _, size in shapes]
        else:
            given = list(hx) if isinstance(self, TileLSTM) else [hx]
            if isinstance(self, TileLSTM) and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise TypeError(f"layer '{self.name}' (LSTM): hx must be a pair (h0, c0) of tensors")
            states = []
            for (what, size), s in zip(shapes, given):
                want = (self.num_layers * dirs, n, size) if batched else (self.num_layers * dirs, size)
                if not isinstance(s, torch.Tensor) or tuple(s.shape) != want:
                    got = tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__
                    raise ValueError(f"layer '{self.name}' ({self.kind}): {what} of shape {got}, expected {want}")
                s = s.detach().to("cpu", x.dtype)
                states.append(s if batched else s.unsqueeze(1))
        return x, batched, states, device

    def forward(self, x, hx=None):
        x, batched, states, device = self._check_inputs(x, hx)
        n, steps = x.shape[0], x.shape[1]
        dirs = 2 if self.bidirectional else 1
        h_n, c_n = [], []
        layer_in = x
        for k in range(self.num_layers):
            outs = []
            for d in range(dirs):
                j = k * dirs + d
                h = states[0][j]
                c = states[1][j] if len(states) > 1 else None
                gx = self._product((k, d, "ih"), layer_in.reshape(n * steps, -1)).reshape(n, steps, -1)
                if self.bias:
                    gx = gx + self._param("bias_ih", k, d).detach().to(gx.dtype)
                b_hh = self._param("bias_hh", k, d).detach().to(gx.dtype) if self.bias else None
                seen_h, seen_full, out = [], [], [None] * steps
                for t in (reversed(range(steps)) if d else range(steps)):
                    gh = self._hidden_product((k, d, "hh"), h, t, seen_h)
                    if b_hh is not None:
                        gh = gh + b_hh
                    h, c = self._cell(gx[:, t], gh, h, c)
                    if self.proj_size:
                        h = self._hidden_product((k, d, "hr"), h, t, seen_full)
                    out[t] = h
                if self.calibrating:  # the states the float recurrence saw (module docstring)
                    self._product((k, d, "hh"), torch.cat(seen_h))
                    if self.proj_size:
                        self._product((k, d, "hr"), torch.cat(seen_full))
                outs.append(torch.stack(out, 1))
                h_n.append(h)
                c_n.append(c)
            layer_in = outs[0] if dirs == 1 else torch.cat(outs, 2)
            if self.training and self.dropout > 0 and k < self.num_layers - 1:
                layer_in = F.dropout(layer_in, p=self.dropout)
        self._advance(n)
        out, h_n = layer_in, torch.stack(h_n)
        c_n = torch.stack(c_n) if c_n[0] is not None else None
        if batched:
            out = out if self.batch_first else out.transpose(0, 1)
        else:
            out, h_n = out.squeeze(0), h_n.squeeze(1)
            c_n = None if c_n is None else c_n.squeeze(1)
        out, h_n = out.to(device), h_n.to(device)
        return (out, (h_n, c_n.to(device))) if c_n is not None else (out, h_n)


class TileLSTM(TileRecurrent):
    gates = 4

    def _cell(self, gx, gh, h, c):
        i, f, g, o = (gx + gh).chunk(4, 1)
        c = _sigmoid(f) * c + _sigmoid(i) * _tanh(g)
        return _sigmoid(o) * _tanh(c), c


class TileGRU(TileRecurrent):
    gates = 3

    def _cell(self, gx, gh, h, c):
        xr, xz, xn = gx.chunk(3, 1)
        hr, hz, hn = gh.chunk(3, 1)
        r, z = _sigmoid(xr + hr), _sigmoid(xz + hz)
        return (1 - z) * _tanh(xn + r * hn) + z * h, None


class TileRNN(TileRecurrent):
    pass


def tile_class(module):
    """The tile module for a recurrent torch module."""
    return TileLSTM if isinstance(module, nn.LSTM) else TileGRU if isinstance(module, nn.GRU) else TileRNN


__all__ = ["TileRecurrent", "TileLSTM", "TileGRU", "TileRNN", "tile_class"]
