"""The sweep store: an append-only file of JSON lines, the only state of a sweep.

Line 1 is a header {"type": "header", "format": 1, "config_sha256": ..., "tasks": N, ...},
written atomically (temporary file, fsync, rename) when the store is created. Every finished
task appends one line {"type": "accuracy" | "cost", "point": ..., ...} with a single write()
on an O_APPEND descriptor followed by fsync, so a line is either whole or, after a kill -9 or
a power loss in the middle of the write, a torn last line without its newline: opening the
store drops that piece (its task runs again). Floats are written by repr (Python's json), which
reads back to the same bits. The store is locked (flock) while a sweep runs, so two sweeps
never append to one store; the kernel releases the lock of a killed process.
"""
import datetime
import fcntl
import json
import os

from . import _util

FORMAT = 1


class StoreError(ValueError):
    pass


def task_id(rec):
    return (rec["type"], rec["point"], rec.get("chip"))


class Store:
    """Open (or create) the store at `path` for the sweep whose hash is `config_sha256`."""

    def __init__(self, path, config_sha256, tasks):
        self.path = os.path.abspath(os.fspath(path))
        if not os.path.exists(self.path):
            header = {"type": "header", "format": FORMAT, "config_sha256": config_sha256, "tasks": tasks,
                      "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
            with _util.atomic_file(self.path) as tmp:
                with open(tmp, "w") as f:
                    f.write(json.dumps(header) + "\n")
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise StoreError(f"sweep store {self.path}: another mho sweep is writing to it") from None
        try:
            self.header, self.records, self.dropped = self._read(config_sha256)
        except BaseException:
            self.close()
            raise

    def _read(self, config_sha256):
        with open(self.path, "rb") as f:
            data = f.read()
        lines = data.split(b"\n")
        torn = lines.pop()  # b"" when the file ends with a newline
        if torn:
            os.ftruncate(self._fd, len(data) - len(torn))  # the next append starts on a fresh line
            os.fsync(self._fd)
        try:
            header = json.loads(lines[0])
            if header.get("type") != "header":
                raise ValueError
        except (ValueError, IndexError, AttributeError):
            raise StoreError(f"sweep store {self.path}: no header line; it is not an mho sweep store "
                             f"(remove it or choose another output folder)") from None
        if header.get("format") != FORMAT:
            raise StoreError(f"sweep store {self.path}: format {header.get('format')!r}, this mho reads {FORMAT}")
        if header.get("config_sha256") != config_sha256:
            raise StoreError(f"sweep store {self.path} belongs to another sweep (config sha256 "
                             f"{header.get('config_sha256')}, this config {config_sha256}): the points, "
                             f"chips, seed or cost setting changed; use another output folder (--out) or "
                             f"remove the store to start again")
        records = {}
        for n, line in enumerate(lines[1:], start=2):
            try:
                rec = json.loads(line)
                tid = task_id(rec)
            except (ValueError, KeyError, TypeError):
                raise StoreError(f"sweep store {self.path}: line {n} is damaged (not a task record)") from None
            records.setdefault(tid, rec)  # never two for one task (see append); first wins
        return header, records, len(torn)

    def append(self, rec):
        """Record one finished task (durable when this returns); a task already recorded is
        not recorded again."""
        tid = task_id(rec)
        if tid in self.records:
            return False
        line = (json.dumps(rec, allow_nan=False) + "\n").encode()
        written = os.write(self._fd, line)
        if written != len(line):
            raise OSError(f"sweep store {self.path}: short write ({written} of {len(line)} bytes)")
        os.fsync(self._fd)
        self.records[tid] = rec
        return True

    def close(self):
        if self._fd is not None:
            os.close(self._fd)  # releases the lock
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
