"""mho keeps freed memory for reuse (common/allocator.h) unless glibc's malloc tunables are
set in the environment; sweep workers (whose environment Dask's nanny chose) override them."""
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PROBE = ("import sys; sys.path.insert(0, 'python'); from mho import _core; "
         "print(_core.keep_freed_memory(), _core.keep_freed_memory(even_if_set=True), _core.keep_freed_memory())")


def probe(**env):
    base = {k: v for k, v in os.environ.items()
            if k not in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES")}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env={**base, **env}, capture_output=True,
                         text=True, check=True)
    return out.stdout.split()


def test_policy_is_on_by_default():
    assert probe() == ["True", "True", "True"]


def test_the_users_malloc_tunables_win_unless_overridden():
    for var in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES"):
        value = "glibc.malloc.trim_threshold=65536" if var == "GLIBC_TUNABLES" else "65536"
        assert probe(**{var: value}) == ["False", "True", "True"], var
