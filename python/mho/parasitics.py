"""Wire parasitics (IR drop) of a crossbar, solved exactly.

``ir_drop(G, V, r_row, r_col)`` solves the resistive network of shared/ARCHITECTURE.md:
each row driven at its column-0 end through ``r_driver`` (default: one row segment), row
segments of ``r_row``, cells ``G[i, j]`` between row node (i, j) and column node (i, j),
column segments of ``r_col``, and the last node of each column reaching a 0 V sense node
through ``r_sense`` (default: one column segment). The nodal system is factored once (sparse
Cholesky, CHOLMOD) and solved for every input vector. Before it starts, the factor's memory
and time are estimated (estimate_ir_drop): what cannot fit in the available memory is refused
with MemoryError at once, and a long solve warns (SlowSolveWarning) with its estimate.
"""
import math
import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import _core, _util


@dataclass(frozen=True)
class IRDropResult:
    """Result of :func:`ir_drop`; arrays have a leading batch axis unless V was 1-D."""

    currents: np.ndarray            # sense currents, A: (batch, cols) or (cols,)
    row_voltages: Optional[np.ndarray]  # row-wire node voltages, V: (batch, rows, cols)
    col_voltages: Optional[np.ndarray]  # column-wire node voltages, V: (batch, rows, cols)
    factor_seconds: float           # time to assemble and factor the nodal matrix
    unknowns: int                   # free node voltages in the factored system

    @property
    def cell_voltages(self):
        """Voltage across each cell, row node minus column node (V)."""
        if self.row_voltages is None:
            raise ValueError("node voltages were not computed: call ir_drop(..., nodes=True)")
        return self.row_voltages - self.col_voltages


class SlowSolveWarning(UserWarning):
    """An ir_drop call expected to take long (its estimate is in the message)."""


# Peak memory of a factorization, bytes per (cell x log2 cells): measured peak RSS of
# mho.ir_drop on random 1 uS - 1 mS arrays with 0.1-ohm wires here (84 at 256x256, 90 at
# 512x512, 84 at 1024x1024, 1.68 GiB; with r_col = 0: 91 and 81), rounded up. A nested-
# dissection factor of a planar grid holds O(n log n) entries.
BYTES_PER_CELL_LOG2 = 100.0
# Seconds of one 1024x1024 factorization on 2 cores (README, bench `parasitics_1024`:
# 2.0-2.5 s, first array of a shape up to 3.7 s); nested dissection does O(n^1.5) work.
SECONDS_1024 = 3.7
# Solves estimated to take longer than this warn first (SlowSolveWarning).
WARN_SECONDS = 10.0


def available_memory():
    """Bytes available to this process now (/proc/meminfo MemAvailable), None if unknown."""
    return _core._available_memory_bytes()


def estimate_ir_drop(rows, cols, batch=1, nodes=False):
    """(bytes, seconds): a rough upper estimate of the peak memory and the time of
    ir_drop on a rows x cols array (the factorization dominates both)."""
    n = float(rows) * float(cols)
    factor = BYTES_PER_CELL_LOG2 * n * max(math.log2(max(n, 2.0)), 1.0)
    dense = 8.0 * (rows + cols) ** 2 + 8.0 * float(batch) * (rows + cols)  # ports' Schur complement, V, I
    mem = factor + dense
    if nodes:  # the whole network's factor besides the split halves, and two batch x rows x cols outputs
        mem += factor + 16.0 * float(batch) * n
    seconds = SECONDS_1024 * (n / 1024.0 ** 2) ** 1.5
    return mem, seconds


def _check_fits(rows, cols, batch, nodes):
    mem, seconds = estimate_ir_drop(rows, cols, batch, nodes)
    avail = available_memory()
    if avail is not None and mem > avail:
        raise MemoryError(f"ir_drop: a {rows}x{cols} array needs about {mem / 1e9:.3g} GB to factor "
                          f"(estimate), {avail / 1e9:.3g} GB available: solve smaller arrays "
                          f"(a tile is at most 1024x1024 in practice)")
    if seconds > WARN_SECONDS:
        warnings.warn(f"ir_drop: a {rows}x{cols} array takes about {seconds:.0f} s to factor (estimate, "
                      f"{mem / 1e9:.2g} GB)", SlowSolveWarning, stacklevel=3)


def ir_drop(G, V, r_row, r_col, r_driver=None, r_sense=None, nodes=False):
    """Column currents of a crossbar with wire resistance.

    G: rows x cols conductances in siemens. V: row voltages in volts, a vector (rows,) or a
    batch (batch, rows). r_row, r_col: segment resistances in ohms (0 is a short).
    Returns the currents (cols,) or (batch, cols) in amperes, or an IRDropResult with the
    node voltages when ``nodes=True``.
    """
    # What cannot fit is refused before anything is converted or copied.
    g_shape, v_shape = np.shape(G), np.shape(V)
    if len(g_shape) == 2 and len(v_shape) in (1, 2) and isinstance(nodes, (bool, np.bool_)):
        _check_fits(g_shape[0], g_shape[1], 1 if len(v_shape) == 1 else v_shape[0], bool(nodes))
    G = np.asarray(G, dtype=np.float64)
    V = np.asarray(V, dtype=np.float64)
    if G.ndim != 2:
        raise ValueError(f"G must be a 2-D rows x cols matrix, got shape {G.shape}")
    single = V.ndim == 1
    V2 = V[None, :] if single else V
    if V2.ndim != 2 or V2.shape[1] != G.shape[0]:
        raise ValueError(f"V has shape {V.shape}: expected ({G.shape[0]},) or (batch, {G.shape[0]})")
    if not np.all(np.isfinite(V2)):
        raise ValueError("V must be finite")
    if not isinstance(nodes, (bool, np.bool_)):
        raise TypeError(f"nodes: expected True or False, got {type(nodes).__name__} {nodes!r}")
    wires = _core.WireSpec(r_row_ohm=_util.real("r_row", r_row), r_col_ohm=_util.real("r_col", r_col),
                           r_driver_ohm=-1.0 if r_driver is None else _util.real("r_driver", r_driver),
                           r_sense_ohm=-1.0 if r_sense is None else _util.real("r_sense", r_sense))
    _check_fits(G.shape[0], G.shape[1], V2.shape[0], bool(nodes))
    cur, rn, cn, t, n = _core._ir_drop(G, np.ascontiguousarray(V2), wires, bool(nodes))
    if not nodes:
        return cur[0] if single else cur
    shape = (V2.shape[0],) + G.shape
    rn, cn = rn.reshape(shape), cn.reshape(shape)
    if single:
        cur, rn, cn = cur[0], rn[0], cn[0]
    return IRDropResult(cur, rn, cn, t, n)
