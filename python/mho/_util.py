"""Small helpers shared by mho's Python modules: progress bars and atomic figure files."""
import contextlib
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


@contextlib.contextmanager
def atomic_file(path):
    """Yields a temporary path beside `path`; on success it is renamed to `path`, on failure
    removed, so a failed run leaves no half-written file."""
    out = os.path.abspath(os.fspath(path))
    fd, tmp = tempfile.mkstemp(suffix=os.path.splitext(out)[1], dir=os.path.dirname(out))
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_figure(fig, path, dpi=120):
    """Write a matplotlib figure atomically. Returns the absolute path."""
    with atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=os.path.splitext(os.fspath(path))[1][1:] or "png")
    return os.path.abspath(os.fspath(path))
