"""Hardware-aware training for models converted by `mho.torch.convert` (torch_analog.py).

In train() mode every tile layer's matrix product runs here, in torch, instead of on the C++
tiles: the product a freshly programmed chip would compute, with the statistics of the
layer's TileSpec and cell model, and gradients passed straight through to the float weights.

    analog = mho.torch.convert(model, spec)
    analog.program(0); analog.calibrate(x_train[:1000]); analog.set_time(86400.0)
    analog.train()                      # HWA forward: a new chip's noise every batch
    for x, y in loader: loss(analog(x), y).backward(); opt.step()
    analog.eval(); analog.program(chip) # maps the trained weights

The hardware forward of one array (one tile block, as the C++ mapper places it) follows
crossbar/tile.cpp step by step, vectorised over the cells:
  - weights clipped to the *programmable range* (max |w| per tensor or per column of the
    block, as TileSpec.weight_scale says, taken from the weights at the first training
    forward and then fixed), quantized to weight_bits codes with the tile's scale, split into
    slices and encoded (differential or offset, with the offset reference columns) as target
    conductances g_min + level * (g_max - g_min) / (2^slice_bits - 1);
  - per batch, a new programming draw: programming error sigma(g) (clipped as
    CellSpec.prog_clip says), stuck-at faults, one drift exponent per cell and drift to the
    layer's set_time(), and read noise: a frozen draw per cell (read_noise_draw "frozen") or,
    per read, one Gaussian per sample and output of variance sum_i V_i^2 sigma_ij^2 (the
    tile's aggregate path);
  - drift compensation from the 32 Hadamard reference reads of the tile (tile.h), through the
    same DAC / array / ADC path, at t = 0 and at the set time;
  - DAC codes with the tile's calibrated range, bit-serial or multilevel planes, two-pass or
    bipolar signs; ADC codes per (plane, conversion group) with the tile's calibrated ranges,
    INL and noise; shift-and-add.
The noise's statistics come from the C++ cell model (CellModel.prog_sigma, read_sigma and
drift_moments, tabulated on a fine conductance grid and interpolated), never from a second
copy of the device physics. Not modelled in training: wire resistance (IR drop), the sinh
I-V nonlinearity and charge accumulation; a layer using charge accumulation is refused in
train mode.

Gradients (straight-through estimators): the layer's output is y_float + (y_hw - y_float)
with the difference detached, y_float = clip(x) @ clip(W): the float product's gradient
wherever neither the input (DAC range) nor the weight (programmable range) is clipped, zero
where it is. Training draws come from torch's global generator (seed it with
torch.manual_seed); they do not touch the tiles' noise streams, counters or sample numbers.
"""
import numpy as np
import torch

# Reference reads per drift-compensation campaign (kDriftReferenceReads in crossbar/tile.cpp).
_REFERENCE_READS = 32
# The conductance grid of the tabulated cell-model functions: 8192 steps up to 2 g_max (an
# overshoot past g_max stays on it under prog_clip "zero": the programming error of
# Joshi et al. 2020 is ~1 uS of 25 uS). Linear interpolation of these smooth functions on
# steps of g_max / 4096 is exact to ~1e-7 relative.
_GRID_STEPS = 8192
_GRID_TOP = 2.0


class _Tables:
    """The cell model's sigma and drift functions of one CellSpec at one time, on a grid."""

    def __init__(self, cell, t_s):
        from . import _core
        model = _core.CellModel(cell)
        self.g_max = cell.g_max_S
        self.step = _GRID_TOP * cell.g_max_S / _GRID_STEPS
        g = [i * self.step for i in range(_GRID_STEPS + 1)]
        self.prog = torch.tensor([model.prog_sigma(v) for v in g], dtype=torch.float64)
        self.read = torch.tensor([model.read_sigma(v, t_s) for v in g], dtype=torch.float64)
        moments = [model.drift_moments(v) for v in g]
        self.nu_mean = torch.tensor([m[0] for m in moments], dtype=torch.float64)
        self.nu_sd = torch.tensor([m[1] for m in moments], dtype=torch.float64)

    def at(self, table, g):
        u = (g / self.step).clamp(0.0, float(_GRID_STEPS))
        i = u.floor().clamp(max=_GRID_STEPS - 1)
        f = u - i
        i = i.long()
        return table[i] * (1.0 - f) + table[i + 1] * f


# (repr(CellSpec), t_s) -> _Tables, shared by every block of every layer.
_TABLES = {}


class _Block:
    """What the training forward needs of one tile (block): its geometry, encoding constants,
    calibrated ranges and the fixed programmable weight range."""

    def __init__(self, tile, w):
        spec = tile.spec
        if spec.accumulation != "current":
            raise ValueError(f"TileSpec.accumulation = {spec.accumulation!r}: hardware-aware training "
                             f"models current accumulation only; keep the layer in eval() mode or use "
                             f"accumulation='current'")
        self.tile, self.spec = tile, spec
        wb = spec.weight_bits
        self.analog = wb == 0
        self.diff = spec.encoding == "differential"
        self.slices = tile.num_slices
        self.bpc = 1 if self.analog else -(-wb // self.slices)
        self.pad = 1.0 if self.analog else float(2 ** (self.slices * self.bpc - wb))
        self.level_max = 1 if self.analog else 2 ** self.bpc - 1
        self.cmax = 1.0 if self.analog else float(2 ** wb - 1 if self.diff else 2 ** (wb - 1) - 1)
        self.zero_level = 0.5 if self.analog else float(2 ** (wb - 1))
        cell = spec.cell
        self.g_min, self.g_max = cell.g_min_S, cell.g_max_S
        self.delta_g = (cell.g_max_S - cell.g_min_S) / self.level_max
        self.per_column = spec.weight_scale == "per_column"
        # The programmable range: what the scale maps to full scale when training starts.
        a = w.detach().abs()
        r = a.amax(dim=0) if self.per_column else a.max()
        # An all-zero tensor or column has no range yet: it is left unclipped, free to train.
        self.w_range = torch.where(r > 0, r, torch.full_like(r, float("inf")))

    def tables_at(self, t_s):
        key = (repr(self.spec.cell), t_s)
        if key not in _TABLES:
            if len(_TABLES) > 16:  # set_time() moved on: forget the old campaigns
                _TABLES.clear()
            _TABLES[key] = _Tables(self.spec.cell, t_s)
        return _TABLES[key]

    def tables_now(self):
        return self.tables_at(self.tile.time)


def _ste_clip(w, bound):
    """w clipped to [-bound, bound]: gradient 1 inside, 0 where clipped."""
    return torch.where(w.abs() <= bound, w, torch.sign(w) * bound)


def _targets(b, c):
    """Target conductances of codes c (rows x outputs, float64): (slices, columns, rows, n)
    where columns are (G+, G-) for differential encoding and (G, reference) for offset, the
    reference broadcast over the outputs."""
    def slice_level(m, s):
        if b.analog:
            return m
        return torch.bitwise_and(torch.bitwise_right_shift((m * b.pad).round().long(), s * b.bpc),
                                 b.level_max).to(torch.float64)
    out = []
    for s in range(b.slices):
        if b.diff:
            cols = (slice_level(c.clamp(min=0.0), s), slice_level((-c).clamp(min=0.0), s))
        else:
            u = (c + 1.0) / 2.0 if b.analog else c + b.zero_level
            ref = slice_level(torch.full_like(c[:, :1], b.zero_level), s)
            cols = (slice_level(u, s), ref.expand_as(c))
        out.append(torch.stack(cols))
    return b.g_min + torch.stack(out) * b.delta_g


def _program(b, g):
    """One chip's programmed conductances for targets g: error, clipping, stuck cells."""
    spec, cell = b.spec, b.spec.cell
    if spec.programming_error and cell.prog_error != "none":
        g = g + b.tables_now().at(b.tables_now().prog, g) * torch.randn_like(g)
    g = g.clamp(b.g_min, b.g_max) if cell.prog_clip == "range" else g.clamp(min=0.0)
    p_min, p_max = cell.stuck_at_min_prob, cell.stuck_at_max_prob
    if spec.stuck_at and (p_min > 0.0 or p_max > 0.0):
        u = torch.rand_like(g)
        g = torch.where(u < p_min, torch.full_like(g, b.g_min),
                        torch.where(u < p_min + p_max, torch.full_like(g, b.g_max), g))
    return g


def _nu(b, g0):
    spec, cell = b.spec, b.spec.cell
    if not spec.drift or cell.drift == "none":
        return None
    tab = b.tables_now()
    return tab.at(tab.nu_mean, g0) + tab.at(tab.nu_sd, g0) * torch.randn_like(g0)


def _state(b, g0, nu, t_s):
    """(conductances, read-noise variance or None) of the array t_s after programming."""
    spec, cell = b.spec, b.spec.cell
    g = g0
    if nu is not None and t_s > cell.drift_t0_s:
        g = g0 * (t_s / cell.drift_t0_s) ** (-nu)
    if not spec.read_noise or cell.read_noise == "none":
        return g, None
    tab = b.tables_at(t_s)
    if cell.read_noise_state == "drifted":
        sigma = tab.at(tab.read, g)
    elif cell.read_noise == "pcm_1f":
        # pcm_1f: g(t) Q_s(g(t0)) ...: the model's sigma at g(t0) (= its own g(t) Q_s(g(t0)) for
        # an undrifted cell) times g(t) / g(t0).
        ratio = torch.where(g0 > 0.0, g / torch.where(g0 > 0.0, g0, torch.ones_like(g0)), torch.zeros_like(g))
        sigma = tab.at(tab.read, g0) * ratio
    else:
        sigma = tab.at(tab.read, g0)
    if cell.read_noise_draw == "frozen":
        return (g + sigma * torch.randn_like(g)).clamp(min=0.0), None
    return g, sigma * sigma


def _planes(spec, x, x_max):
    """DAC planes of inputs x, as adc_dac/dac.cpp: yields (levels (rows x inputs), multiplier)
    for each plane, or None for a pass that drives no row (a two-pass DAC's negative pass of
    non-negative inputs)."""
    dac = spec.dac
    bits = dac.input_bits
    ideal = bits == 0
    per_plane = min(dac.bits_per_plane, bits) if dac.mode == "bitserial" else bits
    n_planes = 1 if ideal else -(-bits // per_plane)
    plane_max = 1 if ideal else 2 ** per_plane - 1
    max_code = 1 if ideal else 2 ** bits - 1

    def codes(v):  # signed magnitude codes (continuous levels for the ideal DAC)
        a = v / x_max
        return a if ideal else torch.sign(a) * torch.clamp(torch.round(a.abs() * max_code), max=float(max_code))

    if dac.signed_mode == "two_pass":
        passes = [(1.0, x.clamp(min=0.0)), (-1.0, (-x).clamp(min=0.0) if bool((x < 0).any()) else None)]
    else:  # bipolar: the sign drives the voltage; unsigned: non-negative inputs only
        passes = [(1.0, x)]
    for sign, v in passes:
        code = None if v is None else codes(v)
        for k in range(n_planes):
            if code is None:
                yield None
                continue
            if ideal:
                mag, mult = code, sign * x_max
            elif n_planes == 1:  # one multilevel plane: the code itself
                mag, mult = code / plane_max, sign * plane_max * (x_max / max_code)
            else:
                c = code.abs().long()
                mag = torch.bitwise_and(torch.bitwise_right_shift(c, k * per_plane), plane_max).to(x.dtype)
                mag = torch.sign(code) * mag / plane_max
                mult = sign * 2.0 ** (k * per_plane) * plane_max * (x_max / max_code)
            yield mag, mult


def _groups(b):
    """Conversion groups as crossbar/tile.cpp orders them: (slice, kind, coeff, signed) with kind
    'diff' (G+ - G-, or G - reference), 'pos' / 'neg' (one sign column), 'main' / 'ref' (offset
    digital subtraction: the outputs' columns, the reference column converted once)."""
    bipolar = b.spec.dac.signed_mode == "bipolar"
    analog_sub = b.spec.subtract == "analog"
    out = []
    for s in range(b.slices):
        coeff = 2.0 ** (s * b.bpc)
        if analog_sub:
            out.append((s, "diff", coeff, True))
        elif b.diff:
            out += [(s, "pos", coeff, bipolar), (s, "neg", -coeff, bipolar)]
        else:
            out += [(s, "main", coeff, bipolar), (s, "ref", -coeff, bipolar)]
    return out


def _adc(spec, cur, range_S, is_signed):
    """Column currents (in units of S x drive level) through the ADC of full scale range_S."""
    adc = spec.adc
    if adc.bits == 0:
        return cur
    half = 2.0 ** (adc.bits - 1) - 1.0
    qmax, qmin = (half, -half) if is_signed else (2.0 ** adc.bits - 1.0, 0.0)
    lsb = range_S / qmax
    c = cur / lsb
    if adc.inl_lsb != 0.0:
        u = ((c - qmin) / (qmax - qmin)).clamp(0.0, 1.0)
        c = c + adc.inl_lsb * 4.0 * u * (1.0 - u)
    if adc.noise_lsb > 0.0:
        c = c + adc.noise_lsb * torch.randn_like(c)
    return torch.clamp(torch.round(c), qmin, qmax) * lsb


def _read(b, x, g, var, x_max, adc_ranges):
    """Outputs (rows x n) before the output scale, in units of S x input: planes, array, ADC,
    shift-and-add, as Tile::read with the conductances g (slices, 2, rows, n) and per-read
    variance var (same shape) or None."""
    v = b.spec.cell.v_read_V
    # An undriven pass reads exactly zero current, which an ADC without noise or INL converts
    # to zero (e.g. the negative pass of non-negative inputs): skipping it changes nothing.
    skip_zero = b.spec.adc.noise_lsb == 0.0 and b.spec.adc.inl_lsb == 0.0
    acc = None
    for k, plane in enumerate(_planes(b.spec, x, x_max)):
        if plane is None and skip_zero:
            continue
        lv, mult = plane if plane is not None else (torch.zeros_like(x), 0.0)
        lv2 = lv * lv if var is not None else None

        def current(m, s):
            y = lv @ m
            if var is not None:
                y = y + torch.sqrt((lv2 @ s).clamp(min=0.0)) * torch.randn_like(y)
            return y

        for gi, (s, kind, coeff, signed) in enumerate(_groups(b)):
            r = adc_ranges[k][gi] / v
            if kind == "diff":
                if b.diff:
                    cur = current(g[s, 0] - g[s, 1], None if var is None else var[s, 0] + var[s, 1])
                else:
                    cur = (current(g[s, 0], None if var is None else var[s, 0])
                           - current(g[s, 1][:, :1], None if var is None else var[s, 1][:, :1]))
            elif kind in ("pos", "main"):
                cur = current(g[s, 0], None if var is None else var[s, 0])
            elif kind == "neg":
                cur = current(g[s, 1], None if var is None else var[s, 1])
            else:  # the reference column, converted once, subtracted from every output
                cur = current(g[s, 1][:, :1], None if var is None else var[s, 1][:, :1])
            term = mult * coeff * _adc(b.spec, cur, r, signed)
            acc = term if acc is None else acc + term
    return acc if acc is not None else torch.zeros(x.shape[0], g.shape[3], dtype=x.dtype)


def _reference_sums(b, g, var, x_max, adc_ranges, dtype):
    n_in = g.shape[2]
    k = torch.arange(_REFERENCE_READS).reshape(-1, 1)
    i = torch.arange(n_in).reshape(1, -1)
    parity = torch.zeros(_REFERENCE_READS, n_in, dtype=torch.long)
    m = torch.bitwise_and(k, i)
    while bool((m > 0).any()):
        parity ^= torch.bitwise_and(m, 1)
        m = torch.bitwise_right_shift(m, 1)
    x = (parity == 0).to(dtype) * x_max
    return _read(b, x, g, var, x_max, adc_ranges).abs().sum(dim=0)


def _hardware_product(b, x, w):
    """One chip's output for inputs x (rows x inputs) on weights w (detached), float."""
    spec, tile = b.spec, b.tile
    dtype = x.dtype
    w = w.to(torch.float64)
    wc = torch.where(w.abs() <= b.w_range, w, torch.sign(w) * b.w_range)
    w_lsb = (wc.abs().amax(dim=0) if b.per_column else wc.abs().max()) / b.cmax
    w_lsb = torch.where(w_lsb == 0.0, torch.ones_like(w_lsb), w_lsb)
    c = wc / w_lsb
    if not b.analog:
        c = torch.clamp(torch.round(c), -b.cmax, b.cmax)
    g0 = _program(b, _targets(b, c))
    nu = _nu(b, g0)
    t_s = tile.time
    g, var = _state(b, g0, nu, t_s)
    x_max = tile.dac_range
    ranges = tile.adc_ranges
    cast = (lambda a: None if a is None else a.to(dtype))
    y = _read(b, x, cast(g), cast(var), x_max, ranges)
    unit = (2.0 * w_lsb if b.analog and not b.diff else w_lsb / b.pad) / b.delta_g
    if spec.drift_compensation != "none" and t_s != 0.0:
        g_base, var_base = _state(b, g0, nu, 0.0)
        base = _reference_sums(b, cast(g_base), cast(var_base), x_max, ranges, dtype)
        now = _reference_sums(b, cast(g), cast(var), x_max, ranges, dtype)
        if spec.drift_compensation == "global":
            bs, cs = base.sum(), now.sum()
            alpha = bs / cs if bs > 0 and cs > 0 else torch.ones((), dtype=dtype)
        else:
            ok = (base > 0) & (now > 0)
            alpha = torch.where(ok, base / torch.where(ok, now, torch.ones_like(now)), torch.ones_like(now))
        unit = unit * alpha.to(torch.float64)
    return y * unit.to(dtype)


def _check_ready(name, block):
    tile, spec = block.tile, block.spec
    needs = ((spec.dac.range == "calibrated" and spec.dac.input_bits > 0)
             or (spec.adc.range == "calibrated" and spec.adc.bits > 0))
    if needs and not tile.calibrated:
        raise RuntimeError(f"layer '{name}': training needs the calibrated DAC/ADC ranges; on the "
                           f"converted model: program(chip), then calibrate(inputs), then train()")


def train_product(matrix, x, group_weight):
    """The training-mode product of a torch_analog._TileMatrix: x (batch x groups * rows) by
    the group weight matrices group_weight(g) (rows x cols, tensors with autograd), one
    chip's hardware output with straight-through gradients (see the module docstring)."""
    if x.dim() != 2 or x.shape[1] != matrix.groups * matrix.rows:
        raise ValueError(f"layer '{matrix.name}': training input shape {tuple(x.shape)}, expected "
                         f"(rows, {matrix.groups * matrix.rows})")
    weights = {}
    blocks = getattr(matrix, "hwa_blocks", None)
    if blocks is None:
        blocks = []
        for p, tile in zip(matrix.placements, matrix.tiles):
            if p["group"] not in weights:
                weights[p["group"]] = group_weight(p["group"])
            w = weights[p["group"]][p["row0"]:p["row0"] + p["rows"], p["col0"]:p["col0"] + p["cols"]]
            blocks.append(_Block(tile, w))
        matrix.hwa_blocks = blocks
    out = []  # (output column offset, block output)
    for p, block in zip(matrix.placements, blocks):
        _check_ready(matrix.name, block)
        if p["group"] not in weights:
            weights[p["group"]] = group_weight(p["group"])
        w = weights[p["group"]][p["row0"]:p["row0"] + p["rows"], p["col0"]:p["col0"] + p["cols"]]
        c0 = p["group"] * matrix.rows + p["row0"]
        xb = x[:, c0:c0 + p["rows"]]
        dac = block.spec.dac
        if dac.signed_mode == "unsigned" and bool((xb < 0).any()):
            raise ValueError(f"layer '{matrix.name}': negative inputs with DacSpec.signed_mode = 'unsigned'; "
                             f"use 'two_pass' or 'bipolar'")
        if dac.input_bits == 0:
            xc = xb
        else:
            x_max = block.tile.dac_range
            xc = _ste_clip(xb, torch.tensor(x_max * (1.0 + 0.5 / (2 ** dac.input_bits - 1)), dtype=xb.dtype))
        wc = _ste_clip(w, block.w_range.to(w.dtype))
        y_float = xc @ wc.to(xc.dtype)
        with torch.no_grad():
            y_hw = _hardware_product(block, xb.detach(), w.detach())
        out.append((p["group"] * matrix.cols + p["col0"], y_float + (y_hw - y_float).detach()))
    if len(out) == 1:
        return out[0][1]
    n = x.shape[0]
    cols = []
    # Row blocks' partial sums added digitally, column blocks side by side, in output order.
    by_col = {}
    for o0, y in out:
        by_col[o0] = y if o0 not in by_col else by_col[o0] + y
    for o0 in sorted(by_col):
        cols.append(by_col[o0])
    y = torch.cat(cols, dim=1)
    if y.shape != (n, matrix.groups * matrix.cols):
        raise AssertionError(f"layer '{matrix.name}': blocks cover {tuple(y.shape)}")
    return y
