"""Wire parasitics (IR drop) of a crossbar, solved exactly.

``ir_drop(G, V, r_row, r_col)`` solves the resistive network of shared/ARCHITECTURE.md:
each row driven at its column-0 end through ``r_driver`` (default: one row segment), row
segments of ``r_row``, cells ``G[i, j]`` between row node (i, j) and column node (i, j),
column segments of ``r_col``, and the last node of each column reaching a 0 V sense node
through ``r_sense`` (default: one column segment). The nodal system is factored once (sparse
Cholesky, CHOLMOD) and solved for every input vector.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import _core


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


def ir_drop(G, V, r_row, r_col, r_driver=None, r_sense=None, nodes=False):
    """Column currents of a crossbar with wire resistance.

    G: rows x cols conductances in siemens. V: row voltages in volts, a vector (rows,) or a
    batch (batch, rows). r_row, r_col: segment resistances in ohms (0 is a short).
    Returns the currents (cols,) or (batch, cols) in amperes, or an IRDropResult with the
    node voltages when ``nodes=True``.
    """
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
    wires = _core.WireSpec(r_row_ohm=float(r_row), r_col_ohm=float(r_col),
                           r_driver_ohm=-1.0 if r_driver is None else float(r_driver),
                           r_sense_ohm=-1.0 if r_sense is None else float(r_sense))
    cur, rn, cn, t, n = _core._ir_drop(G, np.ascontiguousarray(V2), wires, bool(nodes))
    if not nodes:
        return cur[0] if single else cur
    shape = (V2.shape[0],) + G.shape
    rn, cn = rn.reshape(shape), cn.reshape(shape)
    if single:
        cur, rn, cn = cur[0], rn[0], cn[0]
    return IRDropResult(cur, rn, cn, t, n)
