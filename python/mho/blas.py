"""The BLAS under mho: which OpenBLAS kernel runs, how it was chosen, how fast it is.

    >>> import mho
    >>> print(mho.blas.report())       # also: `mho info`

Debian's OpenBLAS (0.3.21) holds kernels for every x86-64 CPU and picks one when the library
loads. It does not know recent CPUs (e.g. Sapphire Rapids Xeons) and falls back to its generic
Prescott kernels there, about 4x slower. The kernel is read from OPENBLAS_CORETYPE when the
library loads, so `import mho` sets it, before mho or numpy loads OpenBLAS, to the kernel that
suits the CPU's instructions (AVX-512: SkylakeX; AVX2 + FMA: Zen on AMD, Haswell elsewhere)
once a child process has checked that kernel against a float64 product on this CPU (the
verdict is cached per CPU, library and kernel). A kernel named in the environment always wins.
If OpenBLAS was loaded before mho (numpy imported first) with a generic kernel, mho warns once
with the fix. Results are bit-identical on one kernel and statistically equivalent across
kernels (see the README).
"""
import hashlib
import json
import os
import subprocess
import sys
import sysconfig
import warnings

ENV = "OPENBLAS_CORETYPE"
_AVX512 = ("avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd")

# How the kernel was settled in this process: set by select() on import.
_state = {"source": None, "kernel": None, "note": ""}
_warned = [False]


def cpu():
    """(vendor, model name, set of instruction flags) of this CPU, from /proc/cpuinfo."""
    vendor = model = ""
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                key = key.strip()
                if key == "vendor_id" and not vendor:
                    vendor = val.strip()
                elif key == "model name" and not model:
                    model = val.strip()
                elif key == "flags" and not flags:
                    flags = set(val.split())
                if vendor and model and flags:
                    break
    except OSError:
        pass
    return vendor, model, flags


def preferred_kernel(vendor=None, flags=None):
    """The OPENBLAS_CORETYPE name that suits a CPU (this one by default), or '' for none."""
    if flags is None:
        vendor, _, flags = cpu()
    if all(f in flags for f in _AVX512):
        return "SkylakeX"
    if "avx2" in flags and "fma" in flags:
        return "Zen" if vendor == "AuthenticAMD" else "Haswell"
    return ""


def runnable_kernels(flags=None):
    """The OpenBLAS kernels whose paths the tests force on this CPU: Prescott (any x86-64),
    Haswell (AVX2 + FMA), SkylakeX (AVX-512)."""
    if flags is None:
        flags = cpu()[2]
    ks = ["Prescott"]
    if "avx2" in flags and "fma" in flags:
        ks.append("Haswell")
    if all(f in flags for f in _AVX512):
        ks.append("SkylakeX")
    return ks


def _openblas_loaded():
    try:
        with open("/proc/self/maps") as f:
            return any("libopenblas" in line for line in f)
    except OSError:
        return False


# Run in a child with OPENBLAS_CORETYPE set: the kernel OpenBLAS runs and whether sgemm and
# dgemm agree with an exactly summed float64 product (inputs exact in float32, products exact
# in float64, math.fsum exact) to within k * eps * sum |a b|. ctypes only: no numpy, no mho.
_CHECK = r"""
import ctypes, ctypes.util, json, math, sys
lib = ctypes.CDLL("libopenblas.so.0")
lib.openblas_get_corename.restype = ctypes.c_char_p
core = lib.openblas_get_corename().decode()
lib.openblas_set_num_threads(1)
seed = [12345]
def rnd():
    seed[0] = (seed[0] * 6364136223846793005 + 1442695040888963407) % 2**64
    return ((seed[0] >> 40) - 2**23) / 2**20
ok, why = True, ""
for m, n, k in ((1, 1, 1), (7, 5, 3), (33, 17, 29), (64, 20, 64), (19, 9, 600)):
    a = [rnd() for _ in range(m * k)]
    b = [rnd() for _ in range(k * n)]
    for name, ct, eps in (("sgemm", ctypes.c_float, 2.0**-23), ("dgemm", ctypes.c_double, 2.0**-52)):
        A, B, C = (ct * (m * k))(*a), (ct * (k * n))(*b), (ct * (m * n))()
        f = getattr(lib, "cblas_" + name)
        f(101, 111, 111, m, n, k, ct(1.0), A, k, B, n, ct(0.0), C, n)
        for i in range(m):
            for j in range(n):
                p = [a[i * k + q] * b[q * n + j] for q in range(k)]
                err = abs(C[i * n + j] - math.fsum(p))
                if not err <= (k + 4) * eps * math.fsum(abs(v) for v in p):
                    ok, why = False, f"{name} {m}x{n}x{k}: C[{i},{j}] off by {err:.3g}"
print(json.dumps({"core": core, "ok": ok, "why": why}))
"""


def _cache_path():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "mho", "blas_check.json")


def _check_key(kernel):
    _, model, flags = cpu()
    try:
        arch = sysconfig.get_config_var("MULTIARCH") or ""
        st = os.stat(os.path.realpath(os.path.join("/usr/lib", arch, "libopenblas.so.0")))
        lib = f"{st.st_size}:{int(st.st_mtime)}"
    except OSError:
        lib = "?"
    text = json.dumps([kernel, model, sorted(flags), lib, sys.version_info[:2]])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def check_kernel(kernel, use_cache=True):
    """Runs OpenBLAS with `kernel` in a child process: (ok, detail). Cached per CPU, library
    and kernel in $XDG_CACHE_HOME/mho/blas_check.json."""
    key = _check_key(kernel)
    path = _cache_path()
    cache = {}
    if use_cache:
        try:
            with open(path) as f:
                cache = json.load(f)
            if isinstance(cache, dict) and isinstance(cache.get(key), dict):
                r = cache[key]
                return bool(r.get("ok")), str(r.get("detail", ""))
        except (OSError, ValueError):
            cache = {}
    env = dict(os.environ, **{ENV: kernel})
    try:
        out = subprocess.run([sys.executable, "-I", "-c", _CHECK], env=env, capture_output=True,
                             text=True, timeout=60)
        r = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        r = None
    if r is None:
        ok, detail = False, "the check process failed"
    elif r["core"].lower() != kernel.lower():
        ok, detail = False, f"OpenBLAS ran {r['core']} when asked for {kernel}"
    else:
        ok, detail = bool(r["ok"]), r["why"] or "sgemm and dgemm agree with an exact float64 product"
    if use_cache and r is not None:
        cache = cache if isinstance(cache, dict) else {}
        cache[key] = {"ok": ok, "detail": detail, "kernel": kernel}
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w") as f:
                json.dump(cache, f)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only home: check again next time
    return ok, detail


def select():
    """Settles OPENBLAS_CORETYPE before OpenBLAS loads (called by `import mho`)."""
    if _state["source"] is not None:
        return
    if os.environ.get(ENV):
        _state.update(source="environment", kernel=os.environ[ENV])
        return
    want = preferred_kernel()
    if not want:
        _state.update(source="openblas", note="no AVX2 on this CPU: OpenBLAS's own choice")
        return
    if _openblas_loaded():
        _state.update(source="too late", kernel=want,
                      note="OpenBLAS was loaded before mho (e.g. numpy imported first)")
        return
    ok, detail = check_kernel(want)
    if not ok:
        _state.update(source="openblas", kernel=want,
                      note=f"{want} failed its check on this CPU ({detail}): OpenBLAS's own choice")
        warnings.warn(f"mho: OpenBLAS kernel {want} failed its check on this CPU ({detail}); "
                      f"running with OpenBLAS's own choice", RuntimeWarning, stacklevel=3)
        return
    os.environ[ENV] = want
    _state.update(source="mho", kernel=want, note=detail)


def warn_if_generic():
    """After the core is loaded: one warning if a generic kernel runs where a better one exists."""
    from . import _core
    if _warned[0] or not _core.blas_kernel_is_generic() or _state["source"] == "environment":
        return
    _warned[0] = True
    want = preferred_kernel()
    warnings.warn(
        f"mho: OpenBLAS runs its generic {_core.blas_kernel()} kernel on this CPU, which supports "
        f"{want}: matrix products run several times slower. It was loaded before mho (e.g. numpy "
        f"imported first). Fix: import mho before numpy, or start Python with {ENV}={want}.",
        RuntimeWarning, stacklevel=3)


def peak_gflops(threads):
    """A rough float32 peak of `threads` cores: clock x FMA lanes x 2 x 2 FMA units."""
    _, model, flags = cpu()
    ghz = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    ghz = float(line.split(":")[1]) / 1000.0
                    break
    except (OSError, ValueError):
        pass
    if not ghz:
        return None, ""
    lanes = 16 if all(f in flags for f in _AVX512) else 8 if "avx2" in flags else 4
    per_cycle = lanes * 2 * 2
    return threads * ghz * per_cycle, f"{threads} cores x {ghz:.2f} GHz x {per_cycle} flops/cycle"


def info(measure=True):
    """A dict: BLAS library and kernel, how it was chosen, self-check, threads, GFLOP/s."""
    from . import _core
    vendor, model, flags = cpu()
    threads = _core.get_num_threads()
    ok, detail = _core.blas_self_check()
    d = {
        "cpu": model, "cpu_vendor": vendor,
        "cpu_features": [f for f in ("avx2", "fma") + _AVX512 if f in flags],
        "blas_config": _core.blas_config(), "blas_kernel": _core.blas_kernel(),
        "kernel_generic": bool(_core.blas_kernel_is_generic()),
        "preferred_kernel": preferred_kernel(vendor, flags),
        "kernel_source": _state["source"], "kernel_note": _state["note"],
        "self_check": "passed" if ok else f"FAILED: {detail}",
        "threads": threads,
    }
    if measure:
        shape = (1024, 256, 256)
        d["gemm_shape"] = "x".join(map(str, shape))
        d["gflops_mho"] = _core.blas_measure_gflops(*shape, True)
        d["gflops_openblas_threaded"] = _core.blas_measure_gflops(*shape, False)
        peak, how = peak_gflops(os.cpu_count() or 1)
        d["peak_gflops_estimate"] = peak
        d["peak_basis"] = how
    return d


def report(measure=True):
    """`mho info` as text."""
    d = info(measure)
    src = {"environment": f"from {ENV} in the environment", "mho": "chosen by mho for this CPU",
           "openblas": "chosen by OpenBLAS", "too late": "chosen by OpenBLAS (loaded before mho)"}
    lines = [
        f"CPU         {d['cpu']} ({', '.join(d['cpu_features']) or 'no AVX2'})",
        f"BLAS        {d['blas_config'].strip()}",
        f"kernel      {d['blas_kernel']} ({src.get(d['kernel_source'], d['kernel_source'])}"
        + (f"; {d['kernel_note']}" if d["kernel_note"] else "") + ")"
        + ("  ** generic kernel: slow **" if d["kernel_generic"] else ""),
        f"self-check  {d['self_check']} (sgemm, dgemm against a long-double product)",
        f"threads     {d['threads']} (mho's OpenMP threads; its products are single-threaded "
        f"OpenBLAS calls run side by side, so results never depend on the count)",
    ]
    if measure:
        peak = d["peak_gflops_estimate"]
        lines.append(f"sgemm       {d['gemm_shape']}: {d['gflops_mho']:.1f} GFLOP/s as mho runs it, "
                     f"{d['gflops_openblas_threaded']:.1f} GFLOP/s threaded by OpenBLAS"
                     + (f"; CPU peak ~ {peak:.0f} GFLOP/s ({d['peak_basis']})" if peak else ""))
    return "\n".join(lines)
