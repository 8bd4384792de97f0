"""Small helpers shared by mho's Python modules: progress bars and atomic figure files."""
import os
import sys
import tempfile


def progress(total, desc, enabled=True, unit="step"):
    """A tqdm bar on stderr when it is a terminal (and tqdm is installed), else a no-op."""
    try:
        from tqdm import tqdm
        return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
                    disable=not (enabled and sys.stderr.isatty()))
    except ImportError:
        class _Null:
            def update(self, n=1):
                pass

            def close(self):
                pass
        return _Null()


def save_figure(fig, path, dpi=120):
    """Write a matplotlib figure atomically (a temporary file, then a rename): a failed run
    leaves no half-written file. Returns the absolute path."""
    out = os.path.abspath(os.fspath(path))
    fd, tmp = tempfile.mkstemp(suffix=os.path.splitext(out)[1] or ".png", dir=os.path.dirname(out))
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=dpi)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
