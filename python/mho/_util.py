"""Small helpers shared by mho's Python modules: argument checks, progress bars, atomic files."""
import contextlib
import math
import numbers
import os
import re
import secrets
import sys
import time

# Temporary files are named `.mho-tmp-<pid>-<random>-<final name>` beside their final path,
# so a run killed at any moment leaves only names a later run recognises, and removes once
# the process that made them is gone.
TMP_PREFIX = ".mho-tmp-"
_TMP_RE = re.compile(re.escape(TMP_PREFIX) + r"(\d+)-[0-9a-f]+-")


def integer(name, v, lo=None, hi=None, none_ok=False):
    """`v` as an int: a Python or numpy integer, never a bool, a float (even 2.0: a fraction
    would be truncated, NaN would mean anything) or a string. TypeError/ValueError name `name`."""
    if v is None and none_ok:
        return None
    import numpy as np
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name}: expected an integer{' or None' if none_ok else ''}, "
                        f"got {type(v).__name__} {v!r}")
    v = int(v)
    if lo is not None and v < lo:
        raise ValueError(f"{name} = {v}: must be >= {lo}")
    if hi is not None and v > hi:
        raise ValueError(f"{name} = {v}: must be <= {hi}")
    return v


def real(name, v, lo=None, hi=None, none_ok=False):
    """`v` as a finite float in [lo, hi] (a Python or numpy number, not a bool or string)."""
    if v is None and none_ok:
        return None
    import numpy as np
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name}: expected a number{' or None' if none_ok else ''}, "
                        f"got {type(v).__name__} {v!r}")
    v = float(v)
    if not math.isfinite(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
        raise ValueError(f"{name} = {v!r}: must be a finite number in {rng}")
    return v


# Seconds between progress log lines where there is no terminal (Jupyter, nohup, batch jobs).
LOG_EVERY_S = 10.0


def duration(s):
    """Seconds as '3 min 05 s' or '2 h 07 min'."""
    s = int(round(s))
    return f"{s // 3600} h {s % 3600 // 60:02d} min" if s >= 3600 else f"{s // 60} min {s % 60:02d} s"


class Progress:
    """Progress of `total` units of work: a tqdm bar with ETA when `out` (default stderr) is a
    terminal; elsewhere (Jupyter, nohup, batch jobs) a log line `desc: done/total units
    (pct %), ETA ...` every LOG_EVERY_S seconds, at each 10 % and at the end, after a first
    line `desc: total units to run<header>`. enabled=False: silent. update(n, suffix): n more
    done; suffix (e.g. ', 2 errors') goes inside the parentheses of the next log line."""

    def __init__(self, total, desc, enabled=True, unit="step", out=None, header=""):
        self.total, self.desc, self.done = max(int(total), 0), desc, 0
        self.units = unit + ("es" if unit.endswith(("s", "ch", "sh", "x")) else "s")
        self.out = out or sys.stderr
        tty = bool(enabled) and _isatty(self.out)
        self.log = bool(enabled) and not tty
        self.bar = None
        if tty:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=self.total, desc=desc, unit=unit, file=self.out, leave=False)
            except ImportError:
                self.log = True
        self.t0 = self.last = time.monotonic()
        self.step = 0
        if self.log:
            self._print(f"{desc}: {self.total} {self.units} to run{header}")

    def _print(self, line):
        print(line, file=self.out, flush=True)

    def update(self, n=1, suffix=""):
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        if not self.log:
            return
        now = time.monotonic()
        step = (10 * self.done) // max(self.total, 1)
        if now - self.last >= LOG_EVERY_S or step > self.step or self.done >= self.total:
            self.last, self.step = now, step
            eta = duration((now - self.t0) / self.done * max(self.total - self.done, 0)) if self.done else "?"
            pct = 100 * self.done // max(self.total, 1)
            self._print(f"{self.desc}: {self.done}/{self.total} {self.units} ({pct} %{suffix}), ETA {eta}")

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _isatty(f):
    try:
        return f.isatty()
    except (AttributeError, ValueError):
        return False


def progress(total, desc, enabled=True, unit="step"):
    """Progress(total, desc, enabled, unit) on stderr (see Progress)."""
    return Progress(total, desc, enabled, unit)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def clean_stale_temps(folder):
    """Remove temporary files in `folder` left by mho processes that no longer run (killed
    with -9, or the machine went down). Returns the names removed."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for n in names:
        m = _TMP_RE.match(n)
        if not m or int(m.group(1)) == os.getpid() or _pid_alive(int(m.group(1))):
            continue
        try:
            os.unlink(os.path.join(folder, n))
            removed.append(n)
        except FileNotFoundError:
            pass  # another run cleaned it first
    return removed


def temp_path(path):
    """A fresh temporary name beside `path` (same folder, so a rename is atomic), with the
    same extension (writers pick the format from it)."""
    out = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(out)
    return os.path.join(folder, f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{name}")


def fsync_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder):
    """Make the renames in `folder` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path):
    """Yields a temporary path beside `path`; on success it is fsync'ed and renamed to `path`
    (and the folder fsync'ed), on failure removed, so a failed or killed run never leaves a
    half-written file under the final name (and its temporary is cleaned by a later run)."""
    out = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(out)
    if os.path.isdir(out):
        raise IsADirectoryError(f"{out}: is a directory, expected a file path")
    clean_stale_temps(folder)
    tmp = temp_path(out)
    try:
        yield tmp
        fsync_file(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
        fsync_dir(folder)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_figure(fig, path, dpi=120):
    """Write a matplotlib figure atomically. Returns the absolute path."""
    with atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=os.path.splitext(os.fspath(path))[1][1:] or "png")
    return os.path.abspath(os.fspath(path))
