"""Wire parasitics: mho.ir_drop against ngspice, closed forms and conservation laws."""
import re
import shutil
import subprocess

import numpy as np
import pytest

import mho


def spice_currents(G, V, r_row, r_col, r_drv, r_sense, tmp_path):
    """Sense currents of the crossbar topology, solved by ngspice (operating point)."""
    ngspice = shutil.which("ngspice")
    if ngspice is None:
        pytest.fail("ngspice is not installed (scripts/setup.sh installs it)")
    rows, cols = G.shape
    lines = ["mho crossbar"]
    for i in range(rows):
        if r_drv == 0:  # a short: the source drives the row's first node itself
            lines.append(f"V{i} r{i}_0 0 DC {V[i]:.17g}")
        else:
            lines.append(f"V{i} s{i} 0 DC {V[i]:.17g}")
            lines.append(f"Rd{i} s{i} r{i}_0 {r_drv:.17g}")
        for j in range(cols - 1):
            lines.append(f"Rr{i}_{j} r{i}_{j} r{i}_{j + 1} {r_row:.17g}")
        for j in range(cols):
            lines.append(f"Rg{i}_{j} r{i}_{j} c{i}_{j} {1.0 / G[i, j]:.17g}")
    for j in range(cols):
        for i in range(rows - 1):
            lines.append(f"Rc{i}_{j} c{i}_{j} c{i + 1}_{j} {r_col:.17g}")
        if r_sense == 0:
            lines.append(f"Vam{j} c{rows - 1}_{j} 0 DC 0")
        else:
            lines.append(f"Rs{j} c{rows - 1}_{j} sn{j} {r_sense:.17g}")
            lines.append(f"Vam{j} sn{j} 0 DC 0")
    lines += [".control", "op", "set numdgt=16",
              "print " + " ".join(f"i(vam{j})" for j in range(cols)), ".endc", ".end"]
    net = tmp_path / "crossbar.cir"
    net.write_text("\n".join(lines) + "\n")
    out = subprocess.run([ngspice, "-b", str(net)], capture_output=True, text=True, timeout=120)
    found = dict(re.findall(r"i\(vam(\d+)\)\s*=\s*([-+0-9.eE]+)", out.stdout))
    assert len(found) == cols, out.stdout[-2000:] + out.stderr[-2000:]
    return np.array([float(found[str(j)]) for j in range(cols)])


CASES = [  # rows, cols, r_row, r_col, r_driver, r_sense
    (4, 4, 0.1, 0.1, None, None),
    (8, 16, 1.0, 2.0, None, None),
    (16, 8, 5.0, 0.5, 3.0, 7.0),
    (32, 32, 1.0, 1.0, None, None),
    (32, 32, 10.0, 10.0, None, None),  # heavy drop
    (12, 10, 2.0, 3.0, 0.0, 0.0),  # shorted driver and sense: the merged-node path
    (48, 64, 1.0, 2.0, 0.5, 3.0),  # 64 wide: solved as two halves
]


@pytest.mark.parametrize("rows,cols,r_row,r_col,r_drv,r_sense", CASES)
def test_matches_ngspice(rows, cols, r_row, r_col, r_drv, r_sense, tmp_path):
    rng = np.random.default_rng(rows * 100 + cols)
    G = rng.uniform(1e-6, 1e-3, size=(rows, cols))
    V = rng.uniform(0.05, 0.3, size=rows)
    mine = mho.ir_drop(G, V, r_row, r_col, r_driver=r_drv, r_sense=r_sense)
    ref = spice_currents(G, V, r_row, r_col, r_row if r_drv is None else r_drv,
                         r_col if r_sense is None else r_sense, tmp_path)
    assert np.all(np.abs(mine - ref) <= 1e-6 * np.abs(ref))
    if (r_row, r_col) == (10.0, 10.0):
        ideal = V @ G
        assert np.max(1 - mine / ideal) > 0.30  # the case drops more than 30 %


def ladder(g_branch, V, r_drv, r_row):
    """One driven row of branches to ground (admittances g_branch) joined by r_row:
    returns the branch currents, by the textbook ladder recursion."""
    n = len(g_branch)
    z = [0.0] * n  # impedance seen looking into node j (towards the far end)
    z[n - 1] = 1.0 / g_branch[n - 1]
    for j in range(n - 2, -1, -1):
        z[j] = 1.0 / (g_branch[j] + 1.0 / (r_row + z[j + 1]))
    v = V * z[0] / (r_drv + z[0])
    out = []
    for j in range(n):
        out.append(v * g_branch[j])
        if j + 1 < n:
            v = v * z[j + 1] / (r_row + z[j + 1])
    return np.array(out)


def test_one_cell_closed_form():
    g, V, rd, rs = 5e-4, 0.2, 3.0, 7.0
    i = mho.ir_drop(np.array([[g]]), np.array([V]), 1.0, 1.0, r_driver=rd, r_sense=rs)
    assert i[0] == pytest.approx(V / (rd + 1 / g + rs), rel=1e-13)


def test_one_row_closed_form():
    rng = np.random.default_rng(1)
    g = rng.uniform(1e-5, 1e-3, size=40)
    r_row, r_col = 2.0, 5.0  # one row: each cell reaches the sense node through one r_col
    i = mho.ir_drop(g[None, :], np.array([0.25]), r_row, r_col)
    ref = ladder(1.0 / (1.0 / g + r_col), 0.25, r_row, r_row)
    np.testing.assert_allclose(i, ref, rtol=1e-12)


def test_zero_resistance_is_the_ideal_product():
    rng = np.random.default_rng(2)
    G = rng.uniform(1e-6, 1e-3, size=(20, 30))
    V = rng.uniform(0, 0.2, size=(5, 20))
    np.testing.assert_allclose(mho.ir_drop(G, V, 0.0, 0.0), V @ G, rtol=1e-14)


def test_grounded_columns_decouple_into_row_ladders():
    # r_col = r_sense = 0: every column node is the sense node; each row is a ladder.
    rng = np.random.default_rng(3)
    G = rng.uniform(1e-5, 1e-3, size=(6, 25))
    V = rng.uniform(0.1, 0.2, size=6)
    i = mho.ir_drop(G, V, 1.5, 0.0)
    ref = sum(ladder(G[k], V[k], 1.5, 1.5) for k in range(6))
    np.testing.assert_allclose(i, ref, rtol=1e-12)


def test_shorted_rows_decouple_into_column_chains():
    # r_row = r_driver = 0: every row node sits at its source voltage; solve each column's
    # own nodal equations densely with numpy.
    rng = np.random.default_rng(4)
    rows, cols, rc = 12, 5, 2.0
    G = rng.uniform(1e-5, 1e-3, size=(rows, cols))
    V = rng.uniform(0.1, 0.2, size=rows)
    i = mho.ir_drop(G, V, 0.0, rc)
    for j in range(cols):
        A = np.zeros((rows, rows))
        b = G[:, j] * V
        for k in range(rows):
            A[k, k] += G[k, j] + 1 / rc  # cell, and the segment below (or the sense)
            if k > 0:
                A[k, k] += 1 / rc
                A[k, k - 1] -= 1 / rc
                A[k - 1, k] -= 1 / rc
        vc = np.linalg.solve(A, b)
        assert i[j] == pytest.approx(vc[-1] / rc, rel=1e-12)


def test_power_balance_and_kcl():
    rng = np.random.default_rng(5)
    rows, cols, rr, rc, rd, rs = 24, 18, 0.7, 1.3, 2.0, 0.5
    G = rng.uniform(1e-6, 1e-3, size=(rows, cols))
    V = rng.uniform(0.0, 0.3, size=(3, rows))
    res = mho.ir_drop(G, V, rr, rc, r_driver=rd, r_sense=rs, nodes=True)
    for b in range(3):
        R, C = res.row_voltages[b], res.col_voltages[b]
        i_src = (V[b] - R[:, 0]) / rd
        delivered = np.sum(V[b] * i_src)
        dissipated = (np.sum(G * (R - C) ** 2) + np.sum(np.diff(R, axis=1) ** 2) / rr
                      + np.sum(np.diff(C, axis=0) ** 2) / rc + np.sum(C[-1] ** 2) / rs
                      + np.sum((V[b] - R[:, 0]) ** 2) / rd)
        assert dissipated == pytest.approx(delivered, rel=1e-9)
        # sense current = sum of the column's cell currents = current in the sense resistor
        np.testing.assert_allclose(res.currents[b], (G * (R - C)).sum(axis=0), rtol=1e-10)
        np.testing.assert_allclose(res.currents[b], C[-1] / rs, rtol=1e-10)
        assert np.sum(i_src) == pytest.approx(np.sum(res.currents[b]), rel=1e-10)


def test_tile_with_wires_uses_the_exact_network():
    rng = np.random.default_rng(6)
    W = rng.normal(size=(48, 10))
    X = rng.normal(size=(7, 48))
    spec = mho.TileSpec.ideal(48, 20).replace(wires=mho.WireSpec(r_row_ohm=2.0, r_col_ohm=2.0))
    tile = mho.Tile(spec)
    tile.program(W)
    y = tile.forward(X)
    G = tile.conductances
    x_max = tile.dac_range  # ideal DAC, never calibrated here: levels are X / x_max
    v = spec.cell.v_read_V
    I = mho.ir_drop(G, X / x_max * v, 2.0, 2.0)
    dg = spec.cell.g_max_S - spec.cell.g_min_S
    expect = (I[:, :10] - I[:, 10:]) / (v * dg) * np.abs(W).max() * x_max
    np.testing.assert_allclose(y, expect, rtol=1e-9, atol=1e-12 * np.abs(expect).max())
    assert np.linalg.norm(y - X @ W) > 1e-3 * np.linalg.norm(X @ W)  # the wires matter


def test_errors():
    G = np.full((3, 3), 1e-4)
    with pytest.raises(ValueError, match=r"WireSpec.r_row_ohm = -1: must be 0 \(a short\) or a finite number in \[1e-09, 1e\+09\]"):
        mho.ir_drop(G, np.ones(3), -1.0, 1.0)
    with pytest.raises(ValueError, match="expected \\(3,\\)"):
        mho.ir_drop(G, np.ones(4), 1.0, 1.0)
    with pytest.raises(ValueError, match="negative"):
        mho.ir_drop(-G, np.ones(3), 1.0, 1.0)
    wires = mho.WireSpec(r_row_ohm=1.0)
    with pytest.raises(ValueError, match="nonlinear"):
        mho.TileSpec(wires=wires, cell=mho.CellSpec(iv="sinh"))
    with pytest.raises(ValueError, match="per_cell"):
        mho.TileSpec(wires=wires, read_noise_method="per_cell")
    with pytest.raises(ValueError, match="r_driver_ohm"):
        mho.WireSpec(r_driver_ohm=-2.0)


def test_example_script_writes_its_png(tmp_path):
    import runpy
    import sys
    out = tmp_path / "ir.png"
    argv = sys.argv
    sys.argv = ["ir_drop_maps.py", "--out", str(out)]
    try:
        runpy.run_path(str(__import__("pathlib").Path(__file__).parents[2] / "examples" / "ir_drop_maps.py"),
                       run_name="__main__")
    finally:
        sys.argv = argv
    assert out.stat().st_size > 10_000 and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
