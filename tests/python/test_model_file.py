"""Model files: the integrity block (checked with hashlib, independently of mho's writers),
damage rejected as ValueError naming the file, unverified files warned about and migrated,
non-finite values and unsupported storage rejected, only regular files opened."""
import hashlib
import os
import signal
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import torch.nn as nn

import mho
import mho.cli
import mho.export
import mho.nets

ROOT = Path(__file__).resolve().parents[2]


def block_of(payload):
    """The 512-byte integrity block nets/model_file.h specifies, built from scratch."""
    text = (b"mho-model-integrity 1\npayload-bytes %d\npayload-sha256 %s\n"
            % (len(payload), hashlib.sha256(payload).hexdigest().encode()))
    return text + bytes(512 - len(text))


def reseal(path):
    data = Path(path).read_bytes()
    Path(path).write_bytes(block_of(data[512:]) + data[512:])


def edit(path, fn):
    with h5py.File(path, "r+") as f:
        fn(f)
    reseal(path)


def small():
    torch.manual_seed(3)
    m = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 4))
    with torch.no_grad():
        m[1].running_mean.uniform_(-1, 1)
        m[1].running_var.uniform_(0.5, 2)
    return m.eval()


@pytest.fixture
def model_file(tmp_path):
    return mho.export.export_torch(small(), tmp_path / "m.h5", (1, 6, 6), dataset="synthetic", source="test")


def load_quiet(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a verified file must not warn
        return mho.nets.load(path, fold_batchnorm=False)


def same_values(a, b):
    return mho.export._same_network(a[0], a[1], b[0], b[1])


def legacy_copy(src, dst):
    """The file as mho wrote it before the block: no user block, variable-length strings."""
    with h5py.File(src, "r") as s, h5py.File(dst, "w") as d:
        def attrs(a, b):
            for k, v in a.attrs.items():
                b.attrs[k] = v.decode() if isinstance(v, bytes) else v
        attrs(s, d)

        def visit(name, obj):
            if isinstance(obj, h5py.Group):
                attrs(obj, d.create_group(name))
            else:
                d.create_dataset(name, data=obj[()])
        s.visititems(visit)
    return dst


def test_both_writers_write_the_block_of_their_bytes(model_file, tmp_path):
    data = Path(model_file).read_bytes()
    assert data[:512] == block_of(data[512:])
    assert data[512:520] == b"\x89HDF\r\n\x1a\n"
    net, info = load_quiet(model_file)
    assert info.integrity_verified and info.dataset == "synthetic" and info.source == "test"
    with h5py.File(model_file, "r") as f:  # fixed-length strings only
        assert h5py.check_string_dtype(f.attrs.get_id("name").dtype).length is not None
        assert h5py.check_string_dtype(f["layers/0"].attrs.get_id("type").dtype).length is not None
    # The C++ writer: the same block, the same values.
    cpp = tmp_path / "cpp.h5"
    mho._core.save_model(net, str(cpp), info)
    data = cpp.read_bytes()
    assert data[:512] == block_of(data[512:])
    assert same_values((net, info), load_quiet(cpp))


@pytest.mark.parametrize("damage", ["flip_block", "flip_payload", "flip_last", "truncate", "append", "zero_block"])
def test_damage_is_a_value_error_naming_the_file(model_file, damage):
    data = bytearray(Path(model_file).read_bytes())
    n = len(data)
    if damage == "flip_block":
        data[60] ^= 0x01
    elif damage == "flip_payload":
        data[n // 2] ^= 0x80
    elif damage == "flip_last":
        data[-1] ^= 0x01
    elif damage == "truncate":
        del data[n - 100:]
    elif damage == "append":
        data += b"\0"
    else:
        data[:512] = bytes(512)
    Path(model_file).write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"model file {model_file}: (damaged|not an mho model file)"):
        mho.nets.load(model_file)


def test_the_check_comes_before_libhdf5(model_file):
    # The byte that crashed libhdf5 1.10 in a variable-length string attribute of the old
    # file (issue 10): any change now stops at the checksum, whatever libhdf5 would do.
    data = bytearray(Path(model_file).read_bytes())
    for at in range(512, len(data), max(1, len(data) // 97)):
        d = bytearray(data)
        d[at] ^= 0x80
        Path(model_file).write_bytes(bytes(d))
        with pytest.raises(ValueError, match="SHA-256 of its contents does not match"):
            mho.nets.load(model_file)


def test_unverified_file_warns_once_and_migrates(model_file, tmp_path, capsys):
    old = legacy_copy(model_file, tmp_path / "old.h5")
    assert Path(old).read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    mho.nets._warned.discard(os.path.realpath(old))
    with pytest.warns(mho.nets.UnverifiedModelWarning, match="mho model-migrate"):
        before = mho.nets.load(old, fold_batchnorm=False)
    assert not before[1].integrity_verified
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mho.nets.load(old)  # once per file
    assert mho.cli.main(["model-migrate", str(old)]) == 0
    assert "rewritten with an integrity block" in capsys.readouterr().out
    after = load_quiet(old)
    assert after[1].integrity_verified and same_values(before, after)
    data = Path(old).read_bytes()
    assert data[:512] == block_of(data[512:])
    assert mho.cli.main(["model-migrate", str(old)]) == 0
    assert "already has a valid integrity block" in capsys.readouterr().out


def test_migrate_leaves_a_damaged_file_alone(model_file, capsys):
    data = bytearray(Path(model_file).read_bytes())
    data[1000] ^= 1
    Path(model_file).write_bytes(bytes(data))
    assert mho.cli.main(["model-migrate", str(model_file)]) == 2
    assert "damaged" in capsys.readouterr().err
    assert Path(model_file).read_bytes() == bytes(data)
    assert sorted(os.listdir(Path(model_file).parent)) == ["m.h5"]


def test_shipped_models_are_verified():
    for p in sorted((ROOT / "data" / "models").glob("*.h5")):
        assert load_quiet(p)[1].integrity_verified, p


def put(key, value):
    def fn(f):
        g = f[os.path.dirname(key) or "/"]
        g.attrs[os.path.basename(key)] = value
    return fn


def replace_data(key, fn_values, **kw):
    def fn(f):
        v = f[key][()]
        del f[key]
        f.create_dataset(key, data=fn_values(v), **kw)
    return fn


def nan_at_3(v):
    v = v.copy()
    v.flat[3] = np.nan
    return v


@pytest.mark.parametrize("change, message", [
    (replace_data("layers/0/weight", nan_at_3), r"/layers/0/weight: value \[3\] = nan: must be a finite float32"),
    (replace_data("layers/4/bias", lambda v: v + np.float32(np.inf)), r"/layers/4/bias: value \[0\] = inf"),
    (replace_data("layers/1/running_mean", lambda v: v.astype(np.float64) * 1e300),
     r"/layers/1/running_mean: .* must be a finite float32"),
    (replace_data("layers/1/running_var", lambda v: -v), r"/layers/1/running_var: value \[0\] = .*: must be >= 0"),
    (put("layers/1/eps", 0.0), r"/layers/1: attribute 'eps' = 0.0+: must be > 0"),
    (put("layers/1/eps", np.nan), r"/layers/1: attribute 'eps' = nan: must be finite"),
    (put("layers/0/in_channels", 1e300), r"/layers/0: attribute 'in_channels' = .*: must be an integer in \[1, "),
    (put("layers/0/kernel", np.array([3.5, 3])), r"/layers/0: attribute 'kernel'\[0\] = 3.50*: must be an integer"),
    (put("layers/2/inputs", np.array([2])), r"/layers/2: input = 2.0+: must be an integer in \[-1, 1\]"),
    (put("layers/count", 4), r"/layers: holds 5 entries, but its attribute 'count' says 4"),
    (put("name", "a variable-length string"), r"/: attribute 'name' is a variable-length string"),
    (put("input_shape", np.array([1, 6, 6, 1])), r"/: attribute 'input_shape' has 4 values, expected 3"),
    (replace_data("layers/4/weight", lambda v: v, chunks=(2, 8), compression="gzip"),
     r"/layers/4/weight: must be stored contiguously"),
    (replace_data("layers/4/weight", lambda v: v.astype(np.int32)), r"/layers/4/weight: must hold float32 or float64"),
])
def test_values_and_storage_are_validated(model_file, change, message):
    edit(model_file, change)
    with pytest.raises(ValueError, match=f"model file {model_file}: {message}"):
        mho.nets.load(model_file)


def test_float64_values_within_float32_range_load(model_file):
    edit(model_file, replace_data("layers/4/weight", lambda v: v.astype(np.float64)))
    load_quiet(model_file)


def test_only_regular_files_are_opened(tmp_path):
    with pytest.raises(ValueError, match="is not a regular file"):
        mho.nets.load(tmp_path)
    fifo = tmp_path / "fifo.h5"
    os.mkfifo(fifo)
    signal.alarm(20)  # an ordinary open of a FIFO without a writer would wait for ever
    try:
        with pytest.raises(ValueError, match="fifo.h5: is not a regular file"):
            mho.nets.load(fifo)
    finally:
        signal.alarm(0)
