"""The BLAS kernel: chosen per CPU before OpenBLAS loads, the environment wins, checked before
trusted, a warning when chosen too late; across kernels the same statistics."""
import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import mho
from mho import _core, blas

AVX512 = {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"}


def test_runnable_kernels_by_instructions():
    assert blas.runnable_kernels({"sse2"}) == ["Prescott"]
    assert blas.runnable_kernels({"avx2", "fma"}) == ["Prescott", "Haswell"]
    assert blas.runnable_kernels(AVX512 | {"avx2", "fma"}) == ["Prescott", "Haswell", "SkylakeX"]


def test_preferred_kernel_by_instructions():
    assert blas.preferred_kernel("GenuineIntel", AVX512 | {"avx2", "fma"}) == "SkylakeX"
    assert blas.preferred_kernel("AuthenticAMD", AVX512 | {"avx2", "fma"}) == "SkylakeX"  # Zen 4
    assert blas.preferred_kernel("GenuineIntel", {"avx2", "fma", "avx512f"}) == "Haswell"
    assert blas.preferred_kernel("AuthenticAMD", {"avx2", "fma"}) == "Zen"
    assert blas.preferred_kernel("GenuineIntel", {"avx", "sse4_2"}) == ""


def test_python_and_cpp_agree_on_this_cpu():
    assert blas.preferred_kernel() == _core.preferred_blas_kernel()


def test_running_kernel_is_the_chosen_one_and_computes_correctly():
    ok, detail = _core.blas_self_check()
    assert ok, detail
    kernel = _core.blas_kernel().lower()
    env = os.environ.get("OPENBLAS_CORETYPE")
    if env:  # a kernel named in the environment always wins
        assert kernel == env.lower()
    elif blas.preferred_kernel():
        assert kernel == blas.preferred_kernel().lower()
        assert not _core.blas_kernel_is_generic()


def test_child_check_of_the_running_kernel(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    ok, detail = blas.check_kernel(_core.blas_kernel())
    assert ok, detail
    cached = json.loads((tmp_path / "mho" / "blas_check.json").read_text())
    assert [v["ok"] for v in cached.values()] == [True]
    assert blas.check_kernel(_core.blas_kernel()) == (ok, detail)  # from the cache
    bad, why = blas.check_kernel("NoSuchKernel", use_cache=False)
    assert not bad and "NoSuchKernel" in why


def _fresh(code, **env):
    e = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    e.update(env)
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=e, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out


def test_environment_wins_and_import_order():
    want = blas.preferred_kernel()
    if not want:
        pytest.skip("no AVX2 on this CPU: nothing to choose")
    code = "import mho, mho._core as c; print(c.blas_kernel(), mho.blas._state['source'])"
    assert _fresh(code).stdout.lower().split() == [want.lower(), "mho"]
    assert _fresh(code, OPENBLAS_CORETYPE="Prescott").stdout.lower().split() == ["prescott", "environment"]
    # numpy first: too late to choose; no warning unless OpenBLAS picked a generic kernel.
    late = _fresh("import numpy; " + code)
    assert late.stdout.split()[1:] == ["too", "late"]


def test_generic_kernel_warns_once(monkeypatch):
    monkeypatch.setattr(_core, "blas_kernel_is_generic", lambda: True)
    monkeypatch.setattr(_core, "blas_kernel", lambda: "Prescott")
    monkeypatch.setitem(blas._state, "source", "too late")
    monkeypatch.setattr(blas, "_warned", [False])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        blas.warn_if_generic()
        blas.warn_if_generic()
    assert len(w) == 1 and "Prescott" in str(w[0].message) and "OPENBLAS_CORETYPE" in str(w[0].message)


def test_info_reports_kernel_and_speed():
    d = blas.info(measure=True)
    assert d["blas_kernel"] == _core.blas_kernel() and d["self_check"] == "passed"
    assert d["gflops_mho"] > 0 and d["gflops_openblas_threaded"] > 0
    text = blas.report(measure=False)
    assert "kernel" in text and _core.blas_kernel() in text


# Across kernels the arithmetic differs in the last bits; the claim is the same statistics:
# outputs within float rounding of each other before the ADC; after it, calibrated ranges
# differ in their last bits and a few codes flip at decision thresholds.
_TILE = """
import json, numpy as np, mho
rng = np.random.default_rng(3)
w = rng.normal(size=(200, 61)) / 14
x = np.maximum(rng.normal(size=(400, 200)), 0).astype(np.float32)
ideal = mho.Tile(mho.TileSpec.ideal(200, 122)); ideal.program(w)
spec = mho.TileSpec(rows=200, cols=366, cell="rram_neurosim_22nm", weight_bits=6, bits_per_cell=2,
                    dac=mho.DacSpec(input_bits=6, mode="bitserial", signed_mode="unsigned"),
                    adc=mho.AdcSpec(bits=6), seed=5)
t = mho.Tile(spec); t.program(w, chip=0); t.calibrate(x[:100])
print(json.dumps({"kernel": mho._core.blas_kernel(), "ideal": ideal.forward(x).tolist(),
                  "noisy": t.forward(x).tolist()}))
"""


def _kernels():
    return blas.runnable_kernels()


@pytest.mark.skipif(len(_kernels()) < 2, reason="only one OpenBLAS kernel runs on this CPU")
def test_kernels_agree_in_statistics():
    rng = np.random.default_rng(3)
    w = rng.normal(size=(200, 61)) / 14
    x = np.maximum(rng.normal(size=(400, 200)), 0).astype(np.float32)
    exact = x.astype(np.float64) @ w
    runs = {}
    for k in _kernels():
        r = json.loads(_fresh(_TILE, OPENBLAS_CORETYPE=k).stdout)
        assert r["kernel"].lower() == k.lower()
        runs[k] = {n: np.array(r[n]) for n in ("ideal", "noisy")}
    base = runs[_kernels()[0]]
    scale = np.abs(exact).max()
    for k, r in runs.items():
        # float32 products: within k * eps of the exact one, whatever the kernel
        assert np.abs(r["ideal"] - exact).max() <= 200 * 2.0 ** -23 * np.abs(x).max() * np.abs(w).sum(0).max()
        err_k = np.abs(r["noisy"] - exact).mean()
        err_0 = np.abs(base["noisy"] - exact).mean()
        assert abs(err_k - err_0) <= 0.01 * err_0, k  # same error statistics
        # calibrated ranges move in their last bits; a code flips only near a threshold
        assert np.mean(np.abs(r["noisy"] - base["noisy"]) > 1e-5 * scale) <= 0.02, k
        assert np.abs(r["noisy"] - base["noisy"]).max() <= 0.1 * scale, k
