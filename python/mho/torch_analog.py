"""PyTorch models on mho tiles: `mho.torch.convert(model, hardware)`.

    import torch, mho
    spec = mho.TileSpec(rows=128, cols=128, cell="rram_neurosim_22nm", weight_bits=8,
                        dac=mho.DacSpec(input_bits=8), adc=mho.AdcSpec(bits=8))
    analog = mho.torch.convert(model, [("conv1", "digital"),      # first layer stays digital
                                       ("fc", mho.TileSpec(...)), # its own converters
                                       ("*", spec)])              # every other layer
    analog.program(chip=0)             # one seeded programming draw (error, faults, drift)
    analog.calibrate(train_loader)     # DAC/ADC ranges from training data
    analog.set_time(3600.0)            # one hour of drift
    with torch.no_grad():
        y = analog(x)                  # in the user's own loop
    analog.counters()                  # per-layer tile actions since program()

Every nn.Linear, nn.Conv1d and nn.Conv2d (any stride, padding, dilation and groups) runs its
matrix product on mho tiles through the C++ engine; every other module runs in torch
unchanged, and so do the layers a rule keeps "digital". A layer's weight matrix per group,
(in/groups * kernel) x (out/groups) in im2col order, is cut into array-sized blocks by the
C++ mapper (mapping/mapping.h) and each block is one `mho.Tile`; row blocks' partial sums and
the bias are added digitally after the ADCs, as nets/pim_network.cpp does.
nn.MultiheadAttention runs its query/key/value and output projections on tiles; its
activation-by-activation products (Q K^T, softmax . V) stay in torch, i.e. digital.
nn.LSTM, nn.GRU and nn.RNN run their input and hidden products on tiles, their gates in torch
(python/mho/torch_recurrent.py).

Reproducibility. Tile (layer l, block k) has tile id l * 2**32 + k (an attention layer's
projection p: l * 2**32 + p * 2**24 + k; a recurrent layer's matrices likewise), where l
counts the model's Linear, Conv, MultiheadAttention and LSTM/GRU/RNN layers in
`named_modules()` order whether or not they are converted, so a layer's programming draw
and noise depend on (TileSpec.seed, chip, l, k) only -- never on which other layers are
analog. Read and ADC noise are keyed by the *sample*: the index, along
the first dimension of a layer's input, of each input since program() (or reset_samples()).
Each sample owns the next stretch of each tile's noise stream, one position per tile input
row (its output positions for a convolution, its leading positions for a Linear on
(N, ..., in), its tokens for attention), so the same inputs give bit-identical outputs for
any batch split and any thread count, and inputs of varying size never share noise. Calling
the model twice on the same batch is two reads (fresh noise, as on hardware);
`reset_samples()` starts the streams again, replaying a read.

Hardware-aware training (torch_hwa.py). In train() mode every tile layer's product runs in
torch instead: a new chip's programming error, drift and read noise per batch (statistics
from the layer's TileSpec and cell model), DAC/ADC quantization with the calibrated ranges and
weights clipped to the programmable range, with straight-through gradients to the layer's
float weights (the original module's nn.Parameters). Training needs program(chip) and
calibrate(inputs) first (for the ranges and the set time); program(chip) afterwards maps the
trained weights. eval() mode runs on the tiles as above.
"""
import copy
import fnmatch

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import _core, _util, layer_rules, torch_hwa

CONVERTIBLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.MultiheadAttention, nn.LSTM, nn.GRU, nn.RNN)
DIGITAL = layer_rules.DIGITAL

# Tile ids: layer index in the high 32 bits, block (placement) index in the low ones; a
# layer of 2**32 blocks would need 2**32 arrays, far past any model.
_BLOCK_BITS = 32
# Calibration reads use a disjoint part of each tile's noise stream, and at most this many
# input rows per tile (an evenly strided subsample), as nets/pim_network.cpp does.
_CALIBRATION_STREAM = 1 << 50
_CALIBRATION_ROWS = 16384


def _check_rules(hardware):
    """`hardware` as a list of (pattern, TileSpec | "digital") with validated entries."""
    def convertible(cls):
        return issubclass(cls, nn.Module) and any(issubclass(cls, c) or issubclass(c, cls) for c in CONVERTIBLE)
    rules = layer_rules.check(hardware, convertible, "nn.Linear, nn.Conv1d, nn.Conv2d, nn.MultiheadAttention, nn.LSTM, "
                                                     "nn.GRU, nn.RNN; other modules always run in torch")
    # A type named by text (a design file's) is the torch type it names.
    return [(getattr(nn, p.__name__) if isinstance(p, layer_rules.ModuleType) else p, t) for p, t in rules]


def _matches(pattern, name, module):
    if isinstance(pattern, type):
        return isinstance(module, pattern)
    return fnmatch.fnmatchcase(name, pattern)


def _check_module(name, m):
    if isinstance(m, (nn.Conv1d, nn.Conv2d)) and m.padding_mode != "zeros":
        raise ValueError(f"layer '{name}' ({type(m).__name__}): padding_mode = {m.padding_mode!r} is not "
                         f"supported on tiles; use padding_mode='zeros' or keep the layer digital")
    if isinstance(m, nn.modules.lazy.LazyModuleMixin) and m.has_uninitialized_params():
        raise ValueError(f"layer '{name}' ({type(m).__name__}): lazy parameters are not initialised yet; "
                         f"run one forward pass before convert()")


def _same_padding(kernel, dilation):
    """(left, right) zero padding per dimension for padding='same' (torch pads the extra one
    on the right)."""
    out = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        out.append((total // 2, total - total // 2))
    return out


_COUNTER_KEYS = ("cell_reads", "driven_rows", "dac_conversions", "adc_conversions", "shift_adds", "cell_energy_J")


class _TileMatrix:
    """One weight matrix per group, (rows x cols) each, on the tiles the C++ mapper places it on
    (mapping/mapping.h): one mho.Tile per block, tile ids first_id + block."""

    def __init__(self, spec, name, groups, rows, cols, first_id):
        self.name, self.groups, self.rows, self.cols = name, groups, rows, cols
        mapping = _core.Mapping([(0, name, groups, rows, cols)], spec)
        self.placements = mapping.placements()
        self.arrays = mapping.arrays
        self.tiles = [_core.Tile(spec, first_id + k) for k in range(len(self.placements))]
        self.counts = {}
        self.rows_seen = 0  # noise-stream position of the next input row

    def program(self, group_matrix, chip):
        """group_matrix(g): group g's matrix as float64 numpy (rows x cols)."""
        mats = {}
        for p, tile in zip(self.placements, self.tiles):
            if p["group"] not in mats:
                mats[p["group"]] = group_matrix(p["group"])
            w = mats[p["group"]]
            tile.program(np.ascontiguousarray(w[p["row0"]:p["row0"] + p["rows"], p["col0"]:p["col0"] + p["cols"]]),
                         chip)
        self.counts = {}
        self.rows_seen = 0

    def set_time(self, t_s):
        for tile in self.tiles:
            tile.set_time(t_s)

    def matmul(self, xin, calibrating):
        """Tile product of `xin` (numpy, batch x groups * rows): batch x groups * cols. Row
        blocks' partial sums are added digitally. Inference rows take the next noise-stream
        positions; calibration reads a disjoint part of the stream and advances nothing."""
        if calibrating:
            offset = _CALIBRATION_STREAM
        else:
            offset = self.rows_seen
            if offset + xin.shape[0] > _CALIBRATION_STREAM:
                raise ValueError(f"layer '{self.name}': {offset + xin.shape[0]} input rows since program() "
                                 f"run into the calibration stream; call reset_samples()")
        # One tile holding the whole matrix returns the layer's output as is.
        y = None if len(self.tiles) == 1 else np.zeros((xin.shape[0], self.groups * self.cols), dtype=xin.dtype)
        for p, tile in zip(self.placements, self.tiles):
            c0 = p["group"] * self.rows + p["row0"]
            block = xin[:, c0:c0 + p["rows"]] if p["rows"] != xin.shape[1] else xin
            if calibrating:
                stride = -(-block.shape[0] // _CALIBRATION_ROWS)
                tile.calibrate(block[::stride] if stride > 1 else block)
            try:
                out = tile.forward(block, offset)
            except RuntimeError as e:  # e.g. calibrated ranges before calibrate(): name the layer
                raise RuntimeError(f"layer '{self.name}': {e}; on the converted model: program(chip), "
                                   f"then calibrate(inputs)") from None
            if y is None:
                y = out
            else:
                o0 = p["group"] * self.cols + p["col0"]
                y[:, o0:o0 + p["cols"]] += out
            if not calibrating:
                for key in _COUNTER_KEYS:
                    self.counts[key] = self.counts.get(key, 0) + tile.last_counters[key]
        if not calibrating:
            self.rows_seen += xin.shape[0]
        return y

    def counters(self):
        c = {k: self.counts.get(k, 0) for k in _COUNTER_KEYS}
        c["cell_energy_J"] = float(c["cell_energy_J"])
        return c


class _TileModule(nn.Module):
    """What the converted model drives in each of its tile layers: program, time, calibration
    mode, sample numbers and counters."""

    def __init__(self, name, index, spec):
        super().__init__()
        self.name, self.index, self.spec = name, index, spec
        self.programmed = False
        self.calibrating = False
        self.samples = 0

    def matrices(self):
        """(counter name, _TileMatrix, group_matrix function) of each matrix of the layer."""
        raise NotImplementedError

    def program(self, chip):
        for _, m, group_matrix in self.matrices():
            m.program(group_matrix, chip)
        self.programmed = True
        self.calibrating = False
        self.samples = 0

    def set_time(self, t_s):
        for _, m, _ in self.matrices():
            m.set_time(t_s)

    def counters(self):
        return {name: m.counters() for name, m, _ in self.matrices()}

    def _start(self, x):
        if not self.programmed:
            raise RuntimeError(f"layer '{self.name}': call program(chip) on the converted model first")
        if x.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"layer '{self.name}': input dtype {x.dtype} is not supported on tiles; "
                            f"use float32 or float64")

    def reset_samples(self):
        self.samples = 0
        for _, m, _ in self.matrices():
            m.rows_seen = 0

    def _advance(self, n):
        if not self.calibrating and not self.training:
            self.samples += n

    def _product(self, matrix, rows, group_weight):
        """rows (batch x groups * rows) times `matrix`'s weights: on its tiles in eval() mode;
        in train() mode the hardware-aware product of torch_hwa, differentiable in the rows and
        in the weights group_weight(g) (rows x cols tensors). The one place every tile layer
        type multiplies."""
        if self.training and not self.calibrating:
            return torch_hwa.train_product(matrix, rows, group_weight)
        return torch.from_numpy(matrix.matmul(_numpy_rows(rows), self.calibrating))


def _numpy_rows(t):
    """A 2-D tensor as numpy rows for a tile: a view for contiguous CPU tensors."""
    return t.detach().cpu().contiguous().numpy()


class TileLayer(_TileModule):
    """An nn.Linear, nn.Conv1d or nn.Conv2d whose matrix product runs on mho tiles.

    Holds the layer's float `weight` and `bias` (same state_dict keys as the original) and
    one `mho.Tile` per block of its weight matrix; program() maps the current weights."""

    def __init__(self, module, spec, name, index):
        super().__init__(name, index, spec)
        self.kind = type(module).__name__
        self.weight = module.weight
        self.bias = module.bias
        if isinstance(module, nn.Linear):
            self.conv = None
            self.groups, self.in_features, self.out_features = 1, module.in_features, module.out_features
            rows = module.in_features
        else:
            dims = 1 if isinstance(module, nn.Conv1d) else 2
            self.conv = dims
            self.kernel_size = tuple(module.kernel_size)
            self.stride = tuple(module.stride)
            self.dilation = tuple(module.dilation)
            if module.padding == "same":
                self.pads = _same_padding(self.kernel_size, self.dilation)
            elif module.padding == "valid":
                self.pads = [(0, 0)] * dims
            else:
                self.pads = [(p, p) for p in module.padding]
            self.groups, self.in_features, self.out_features = module.groups, module.in_channels, module.out_channels
            rows = module.in_channels // module.groups * int(np.prod(self.kernel_size))
        self.matrix = (rows, self.out_features // self.groups)
        self._tiles = _TileMatrix(spec, name, self.groups, rows, self.matrix[1], index << _BLOCK_BITS)
        self.tiles = self._tiles.tiles

    def extra_repr(self):
        return (f"{self.kind} '{self.name}', matrix {self.matrix[0]}x{self.matrix[1]}"
                f"{f' x {self.groups} groups' if self.groups > 1 else ''}, {len(self.tiles)} tiles")

    def _group_weight(self, g):
        """Group g's weight matrix, (in/groups * kernel) x (out/groups), a view of the weight."""
        og = self.matrix[1]
        return self.weight[g * og:(g + 1) * og].reshape(og, -1).t()

    def _group_matrix(self, g):
        """Group g's weight matrix as float64 numpy."""
        return self._group_weight(g).detach().to("cpu", torch.float64).numpy()

    def matrices(self):
        return [(self.name, self._tiles, self._group_matrix)]

    def _im2col(self, x):
        """x -> the tile input rows (batch * positions, in * kernel) and the output shape after
        the batch dimension."""
        if self.conv is None:
            if x.dim() < 1 or x.shape[-1] != self.in_features:
                raise ValueError(f"layer '{self.name}' (Linear): input shape {tuple(x.shape)}, expected "
                                 f"(..., {self.in_features})")
            lead = tuple(x.shape[1:-1]) if x.dim() > 1 else ()
            return x.reshape(-1, self.in_features), lead + (self.out_features,)
        want = self.conv + 2
        if x.dim() != want or x.shape[1] != self.in_features:
            raise ValueError(f"layer '{self.name}' ({self.kind}): input shape {tuple(x.shape)}, expected "
                             f"(batch, {self.in_features}, {'L' if self.conv == 1 else 'H, W'})")
        if self.conv == 1:
            x = x.unsqueeze(2)
            k, s, d, pads = (1,) + self.kernel_size, (1,) + self.stride, (1,) + self.dilation, [(0, 0)] + self.pads
        else:
            k, s, d, pads = self.kernel_size, self.stride, self.dilation, self.pads
        if any(a != b for a, b in pads):
            x = F.pad(x, [v for p in reversed(pads) for v in p])
            pad = (0, 0)
        else:
            pad = tuple(a for a, _ in pads)
        spatial = [(x.shape[2 + i] + 2 * pad[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2)]
        if min(spatial) < 1:
            raise ValueError(f"layer '{self.name}' ({self.kind}): input shape {tuple(x.shape)} is smaller than "
                             f"its kernel")
        cols = F.unfold(x, k, dilation=d, padding=pad, stride=s)  # (N, C*kernel, positions)
        rows = cols.transpose(1, 2).reshape(-1, cols.shape[1])
        out_shape = (self.out_features,) + ((spatial[1],) if self.conv == 1 else tuple(spatial))
        return rows, out_shape

    def forward(self, x):
        self._start(x)
        n = x.shape[0] if x.dim() > 1 else 1
        rows, out_shape = self._im2col(x)
        out = self._product(self._tiles, rows, self._group_weight)
        self._advance(n)
        if self.bias is not None:
            out = out + (self.bias if self.training else self.bias.detach()).to(out.dtype)
        out = out.to(x.device)
        if self.conv is None:
            return out.reshape((x.shape[0],) + out_shape if x.dim() > 1 else out_shape)
        return out.reshape(x.shape[0], -1, out_shape[0]).transpose(1, 2).reshape((x.shape[0],) + out_shape)


class TileAttention(_TileModule):
    """nn.MultiheadAttention whose input projections (query, key, value) and output
    projection run on mho tiles; the activation-by-activation products (Q K^T, softmax . V)
    and the softmax stay in torch (digital). Counters: '<name>.q_proj', '.k_proj', '.v_proj',
    '.out_proj'. A sample is one batch element (inputs are taken batch first whatever
    batch_first says); its tokens own consecutive noise positions."""

    _PARTS = ("q_proj", "k_proj", "v_proj", "out_proj")

    def __init__(self, module, spec, name, index):
        super().__init__(name, index, spec)
        if module.bias_k is not None or module.add_zero_attn:
            raise ValueError(f"layer '{name}' (MultiheadAttention): add_bias_kv / add_zero_attn are not "
                             f"supported on tiles; keep the layer digital")
        self.embed_dim, self.num_heads = module.embed_dim, module.num_heads
        self.kdim, self.vdim, self.batch_first = module.kdim, module.vdim, module.batch_first
        self.dropout = module.dropout
        if module._qkv_same_embed_dim:
            self.in_proj_weight = module.in_proj_weight
        else:
            self.q_proj_weight = module.q_proj_weight
            self.k_proj_weight = module.k_proj_weight
            self.v_proj_weight = module.v_proj_weight
        self.in_proj_bias = module.in_proj_bias
        self.out_proj = module.out_proj  # its weight and bias; the product runs on tiles
        self._same = module._qkv_same_embed_dim
        e = self.embed_dim
        ins = (e, self.kdim, self.vdim, e)
        self._tiles = [_TileMatrix(spec, f"{name}.{part}", 1, ins[i], e, (index << _BLOCK_BITS) + (i << 24))
                       for i, part in enumerate(self._PARTS)]
        self.digital_macs = 0  # Q K^T and softmax . V multiply-accumulates since program()

    def extra_repr(self):
        return (f"MultiheadAttention '{self.name}', {self.num_heads} heads, embed {self.embed_dim}: q/k/v/out "
                f"projections on {sum(len(m.tiles) for m in self._tiles)} tiles; {self.DIGITAL_PRODUCTS} "
                f"digital (torch)")

    DIGITAL_PRODUCTS = "Q K^T, softmax . V"

    def program(self, chip):
        super().program(chip)
        self.digital_macs = 0

    def reset_samples(self):
        super().reset_samples()
        self.digital_macs = 0

    def _weight(self, i):
        """Projection i's weight, out x in (torch's layout)."""
        e = self.embed_dim
        if i == 3:
            return self.out_proj.weight
        if self._same:
            return self.in_proj_weight[i * e:(i + 1) * e]
        return (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)[i]

    def _bias(self, i):
        e = self.embed_dim
        if i == 3:
            return self.out_proj.bias
        return None if self.in_proj_bias is None else self.in_proj_bias[i * e:(i + 1) * e]

    def matrices(self):
        return [(m.name, m, (lambda g, i=i: self._weight(i).detach().to("cpu", torch.float64).t().numpy()))
                for i, m in enumerate(self._tiles)]

    def _project(self, i, x):
        """x: (batch, tokens, in) -> (batch, tokens, embed) on projection i's tiles."""
        y = self._product(self._tiles[i], x.reshape(-1, x.shape[-1]), lambda g: self._weight(i).t())
        b = self._bias(i)
        if b is not None:
            y = y + (b if self.training else b.detach()).to(y.dtype)
        return y.reshape(x.shape[0], x.shape[1], -1).to(x.device)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True):
        for t in (query, key, value):
            self._start(t)
        batched = query.dim() == 3
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        if not self.batch_first or not batched:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        n, lq, lk = query.shape[0], query.shape[1], key.shape[1]
        q, k, v = self._project(0, query), self._project(1, key), self._project(2, value)
        h, e = self.num_heads, self.embed_dim
        d = e // h
        q, k, v = (t.reshape(n, t.shape[1], h, d).transpose(1, 2) for t in (q, k, v))  # n, h, L, d
        scores = q @ k.transpose(-2, -1) / (d ** 0.5)
        if attn_mask is not None:
            m = attn_mask if attn_mask.dim() == 2 else attn_mask.reshape(n, h, lq, lk)
            scores = scores.masked_fill(m, float("-inf")) if m.dtype == torch.bool else scores + m
        if key_padding_mask is not None:
            kpm = key_padding_mask.reshape(n, 1, 1, lk)
            scores = (scores.masked_fill(kpm, float("-inf")) if kpm.dtype == torch.bool
                      else scores + kpm)
        attn = torch.softmax(scores, dim=-1)
        if self.training and self.dropout > 0:
            attn = F.dropout(attn, p=self.dropout)
        o = (attn @ v).transpose(1, 2).reshape(n, lq, e)
        if not self.calibrating:
            self.digital_macs += n * h * lq * lk * d * 2  # both products: (lq x d)(d x lk), (lq x lk)(lk x d)
        out = self._project(3, o)
        self._advance(n)
        if not self.batch_first or not batched:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(1)
        if not need_weights:
            return out, None
        w = attn.mean(dim=1) if average_attn_weights else attn
        return out, (w if batched else w.squeeze(0))


class AnalogModel(nn.Module):
    """A converted model: `model` (a deep copy of the user's) with its tile layers. Forward
    runs `model`; program/calibrate/set_time/counters act on every tile layer."""

    def __init__(self, model, layers, digital):
        super().__init__()
        self.model = model
        self._tile_layers = layers        # name -> TileLayer (also inside self.model)
        self.digital_layers = digital     # names of Linear/Conv layers kept in torch
        self.chip = None
        self.training = model.training

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def tile_layers(self):
        """Layer name -> TileLayer, in the model's order."""
        return dict(self._tile_layers)

    def program(self, chip):
        """One programming draw of every tile for simulated chip `chip` (programming error,
        stuck cells and drift exponents keyed by (TileSpec.seed, chip, layer, block)); resets
        time to 0, calibration, sample counts and counters."""
        chip = _util.integer("program(chip)", chip, lo=0, hi=2 ** 64 - 1)
        for layer in self._tile_layers.values():
            layer.program(chip)
        self.chip = chip
        return self

    def _check_programmed(self, what):
        if self.chip is None:
            raise RuntimeError(f"{what}: call program(chip) first")

    def set_time(self, t_s):
        """Age every tile to t_s seconds after programming (drift; frozen read noise)."""
        self._check_programmed("set_time")
        t_s = _util.real("set_time(t_s)", t_s, lo=0.0, hi=1e10)
        for layer in self._tile_layers.values():
            layer.set_time(t_s)
        return self

    def reset_samples(self):
        """Start every tile's noise stream again (as program() does, keeping the programmed
        state, time and calibration): the same inputs read again give the same outputs."""
        for layer in self._tile_layers.values():
            layer.reset_samples()

    def calibrate(self, inputs):
        """Calibrated DAC/ADC ranges from training data for a model of one input: a tensor (one
        batch), or an iterable of batches (a DataLoader) yielding x or (x, y, ...). The batches are concatenated and run
        forward once in calibration mode, so each tile layer is calibrated on the inputs it
        really sees, after the tiles before it (at most 16384 rows per tile, evenly strided).
        Calibration reads are not counted and do not advance the sample numbers."""
        self._check_programmed("calibrate")
        x = _calibration_batch(inputs)
        modes = [(m, m.training) for m in self.modules()]
        self.eval()
        try:
            for layer in self._tile_layers.values():
                layer.calibrating = True
            with torch.no_grad():
                self.model(x)
        finally:
            for layer in self._tile_layers.values():
                layer.calibrating = False
            for m, mode in modes:
                m.training = mode
        return self

    def counters(self):
        """Tile actions since program(), per tile layer: {name: {cell_reads, dac_conversions,
        adc_conversions, shift_adds, cell_energy_J}} (PimNetwork.counters' keys, one dict per
        layer; an attention layer has one per projection, '<name>.q_proj' ...);
        `inferences()` gives the samples they cover."""
        out = {}
        for layer in self._tile_layers.values():
            out.update(layer.counters())
        return out

    def digital_products(self):
        """What the tiles do not compute: {attention layer name: {'products': 'Q K^T, softmax .
        V', 'macs': their multiply-accumulates since program()}} (they run in torch, i.e. on
        digital logic; counters() holds the tile actions only)."""
        return {name: {"products": layer.DIGITAL_PRODUCTS, "macs": layer.digital_macs}
                for name, layer in self._tile_layers.items() if isinstance(layer, TileAttention)}

    def inferences(self):
        """Samples the first tile layer has seen since program() (what mho.cost divides by)."""
        return next(iter(self._tile_layers.values())).samples if self._tile_layers else 0


def _calibration_batch(inputs):
    if isinstance(inputs, torch.Tensor):
        if inputs.dim() < 1 or inputs.shape[0] < 1:
            raise ValueError(f"calibrate(inputs): tensor of shape {tuple(inputs.shape)} has no samples")
        return inputs
    if isinstance(inputs, np.ndarray):
        return _calibration_batch(torch.from_numpy(inputs))
    try:
        it = iter(inputs)
    except TypeError:
        raise TypeError(f"calibrate(inputs): expected a tensor or an iterable of batches (DataLoader), "
                        f"got {type(inputs).__name__}") from None
    batches = []
    for i, b in enumerate(it):
        x = b[0] if isinstance(b, (list, tuple)) else b
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"calibrate(inputs): batch {i} is {type(x).__name__}, expected a tensor "
                            f"or an (x, y) pair of tensors")
        batches.append(x)
    if not batches:
        raise ValueError("calibrate(inputs): the iterable yielded no batches")
    return torch.cat(batches)


def _layer_class(m):
    if isinstance(m, nn.MultiheadAttention):
        return TileAttention
    if isinstance(m, nn.RNNBase):
        from .torch_recurrent import tile_class  # it builds on this module's classes
        return tile_class(m)
    return TileLayer


def convert(model, hardware):
    """A new nn.Module running `model` (untouched: a deep copy is converted) with its
    nn.Linear / nn.Conv1d / nn.Conv2d layers on mho tiles.

    hardware: one TileSpec for every such layer, or an ordered list of rules
    (pattern, TileSpec | "digital"); pattern is a glob on the layer's qualified name
    (fnmatch, e.g. "features.0" or "blocks.*.conv2") or a module type (nn.Conv2d); the first
    matching rule wins. Layers no rule matches are an error unless a final catch-all
    ("*", ...) is given. An nn.MultiheadAttention is one layer (TileAttention: its four
    projections on tiles, attention products in torch); the Linear inside it is not matched
    on its own.

    The converted model starts in eval() mode (inference on the tiles, whatever mode `model`
    is in); train() switches it to hardware-aware training (torch_hwa.py).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    rules = _check_rules(hardware)
    new = copy.deepcopy(model)
    skip = set()
    for name, m in new.named_modules():
        if isinstance(m, nn.MultiheadAttention):
            skip.update(id(c) for c in m.modules() if c is not m)
    # MultiheadAttention's forward reads its out_proj's weight directly: it is one layer.
    found = [(name, m) for name, m in new.named_modules()
             if isinstance(m, CONVERTIBLE) and id(m) not in skip]
    plan, unmatched = [], []
    for index, (name, m) in enumerate(found):
        for pattern, target in rules:
            if _matches(pattern, name, m):
                plan.append((index, name, m, target))
                break
        else:
            unmatched.append(f"{name} ({type(m).__name__})")
    if unmatched:
        raise ValueError(f"hardware: no rule matches layer{'s' if len(unmatched) > 1 else ''} "
                         f"{', '.join(unmatched)}; add a rule for them or a final catch-all ('*', TileSpec | "
                         f"'digital')")
    layers, digital, replace = {}, [], {}
    for index, name, m, target in plan:
        if target == DIGITAL:
            digital.append(name)
            continue
        _check_module(name, m)
        if any(p.is_complex() for p in m.parameters()):
            raise ValueError(f"layer '{name}' ({type(m).__name__}): complex weights are not supported")
        layer = _layer_class(m)(m, target, name, index)
        layers[name] = layer
        replace[id(m)] = layer
    for parent in new.modules():
        for key, child in list(parent._modules.items()):
            if child is not None and id(child) in replace:
                parent._modules[key] = replace[id(child)]
    if id(new) in replace:  # the model is itself one layer
        new = replace[id(new)]
    # Inference is what a converted model is for; train() means hardware-aware training.
    return AnalogModel(new, layers, digital).eval()


__all__ = ["convert", "AnalogModel", "TileLayer", "TileAttention", "CONVERTIBLE"]
