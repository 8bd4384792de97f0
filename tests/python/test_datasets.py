"""mho.datasets: the official MNIST / Fashion-MNIST sets, checked before HDF5 reads a byte."""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

import mho

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
LENET = os.path.join(ROOT, "data", "models", "lenet5_mnist.h5")

# The independent truth: sha256 of the publishers' raw IDX files (MNIST: yann.lecun.com/exdb/mnist;
# Fashion-MNIST: the files decompressed from the .gz whose MD5s Zalando's README lists), and
# the first five test labels of each set (the publishers' documentation).
PUBLISHED = {
    "mnist": {"train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
              "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
              "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
              "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
    "fashion_mnist": {"train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                      "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                      "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                      "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"},
}
FIRST_TEST_LABELS = {"mnist": [7, 2, 1, 0, 4], "fashion_mnist": [9, 2, 1, 1, 6]}


def idx_bytes(arr):
    """The IDX file of a uint8 array (yann.lecun.com/exdb/mnist, "FILE FORMATS")."""
    header = bytes([0, 0, 0x08, arr.ndim]) + np.asarray(arr.shape, dtype=">i4").tobytes()
    return header + np.ascontiguousarray(arr, dtype=np.uint8).tobytes()


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_official_sets_in_official_order(name):
    for split, tag, n in (("train", "train", 60000), ("test", "t10k", 10000)):
        x, y = mho.datasets.load(name, split, raw=True)
        assert x.shape == (n, 28, 28) and x.dtype == np.uint8
        assert y.shape == (n,) and y.dtype == np.int64 and set(np.unique(y)) == set(range(10))
        # Rebuilding the original files from what was loaded gives the published bytes: same
        # images, same labels, same order.
        assert hashlib.sha256(idx_bytes(x)).hexdigest() == PUBLISHED[name][f"{tag}-images-idx3-ubyte"]
        assert hashlib.sha256(idx_bytes(y.astype(np.uint8))).hexdigest() == PUBLISHED[name][f"{tag}-labels-idx1-ubyte"]
        if split == "test":
            assert y[:5].tolist() == FIRST_TEST_LABELS[name]
    assert len(mho.datasets.class_names(name)) == 10


def test_float_images_and_evenly_spaced_limit():
    xr, yr = mho.datasets.load("mnist", "test", raw=True)
    x, y = mho.datasets.load("mnist", "test", limit=100)
    assert x.shape == (100, 1, 28, 28) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_array_equal(y, yr[::100])  # 10,000 / 100: every 100th image
    np.testing.assert_array_equal(x[:, 0], xr[::100].astype(np.float32) / 255.0)
    assert mho.datasets.load("mnist", "test", limit=np.int64(3))[1].tolist() == yr[[0, 3333, 6666]].tolist()
    assert len(mho.datasets.load("mnist", "test", limit=20000)[1]) == 10000


@pytest.mark.parametrize("limit,error", [(1.5, TypeError), (True, TypeError), (float("nan"), TypeError),
                                         ("10", TypeError), (10.0, TypeError), (0, ValueError), (-3, ValueError)])
def test_limit_must_be_a_positive_integer(limit, error):
    with pytest.raises(error, match="limit = "):
        mho.datasets.load("mnist", "test", limit=limit)


def test_bad_names():
    with pytest.raises(ValueError, match="dataset name = 'cifar'"):
        mho.datasets.load("cifar")
    with pytest.raises(ValueError, match="split = 'val'"):
        mho.datasets.load("mnist", "val")


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A data folder holding a copy of mnist.h5 and the manifest, used through MHO_DATA_DIR."""
    src = mho.datasets.data_dir()
    shutil.copy(src / "mnist.h5", tmp_path / "mnist.h5")
    shutil.copy(src / "datasets.json", tmp_path / "datasets.json")
    monkeypatch.setenv("MHO_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def no_hdf5(monkeypatch):
    """Fails the test if anything opens an HDF5 file."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"h5py.File{args} opened an unverified file")
    monkeypatch.setattr(h5py, "File", refuse)


def flip_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x01]))


@pytest.mark.parametrize("where", [0, 2851, 30_000_000, -1])
def test_one_changed_byte_is_refused_before_hdf5_opens_the_file(data_copy, no_hdf5, where):
    path = data_copy / "mnist.h5"
    flip_byte(path, where if where >= 0 else os.path.getsize(path) - 1)
    with pytest.raises(ValueError, match=r"mnist\.h5 is damaged .*sha256.*fetch_datasets\.py"):
        mho.datasets.load("mnist", "test", limit=10)


def test_truncated_file_is_refused(data_copy, no_hdf5):
    with open(data_copy / "mnist.h5", "r+b") as f:
        f.truncate(1000)
    with pytest.raises(ValueError, match="1000 bytes, the manifest says"):
        mho.datasets.load("mnist", "train", limit=10)


def test_a_file_changed_after_a_good_load_is_checked_again(data_copy):
    mho.datasets.load("mnist", "test", limit=10)
    path = data_copy / "mnist.h5"
    st = os.stat(path)
    flip_byte(path, 40_000_000)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    with pytest.raises(ValueError, match="damaged"):
        mho.datasets.load("mnist", "test", limit=10)


@pytest.mark.parametrize("manifest", ['{"files": {}}', "not json", '{"files": {"mnist.h5": {"sha256": 5}}}',
                                      "[1, 2]"])
def test_manifest_without_a_valid_entry_is_an_error(data_copy, no_hdf5, manifest):
    (data_copy / "datasets.json").write_text(manifest)
    with pytest.raises(ValueError, match="manifest .* no valid entry for mnist.h5"):
        mho.datasets.load("mnist", "test")


def test_missing_files_name_the_fix(data_copy, no_hdf5):
    os.unlink(data_copy / "datasets.json")
    with pytest.raises(FileNotFoundError, match=r"datasets\.json not found: run .*fetch_datasets\.py"):
        mho.datasets.load("mnist", "test")
    os.unlink(data_copy / "mnist.h5")
    with pytest.raises(FileNotFoundError, match=r"mnist\.h5 not found: run .*fetch_datasets\.py"):
        mho.datasets.load("mnist", "test")


@pytest.mark.parametrize("which", ["mnist.h5", "datasets.json"])
def test_fifo_is_refused_without_blocking(tmp_path, which):
    # A child process, so that a regression shows as a timeout instead of a hung test run.
    src = mho.datasets.data_dir()
    for f in ("mnist.h5", "datasets.json"):
        if f != which:
            shutil.copy(src / f, tmp_path / f)
    os.mkfifo(tmp_path / which)
    code = ("import mho\n"
            "for verify in (True, False):\n"
            "    try:\n        mho.datasets.load('mnist', 'test', verify=verify)\n"
            "    except ValueError as e:\n        print('ValueError:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, MHO_DATA_DIR=str(tmp_path)),
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.count("ValueError:") == (2 if which == "mnist.h5" else 1), out.stdout + out.stderr
    assert "not a regular file" in out.stdout, out.stdout + out.stderr


def test_directory_is_refused(data_copy, no_hdf5):
    os.unlink(data_copy / "mnist.h5")
    os.mkdir(data_copy / "mnist.h5")
    with pytest.raises(ValueError, match="not a regular file"):
        mho.datasets.load("mnist", "test")


def test_a_study_refuses_a_damaged_dataset(data_copy):
    flip_byte(data_copy / "mnist.h5", 12345)
    with pytest.raises(ValueError, match="damaged"):
        mho.study.evaluate(LENET, chips=1, limit=10, calib_samples=16, progress=False)


def test_manifest_is_what_the_fetch_script_wrote():
    m = json.loads((mho.datasets.data_dir() / "datasets.json").read_text())
    for name in ("mnist", "fashion_mnist"):
        entry = m["files"][f"{name}.h5"]
        path = mho.datasets.data_dir() / f"{name}.h5"
        assert entry["size"] == os.path.getsize(path)
        with h5py.File(mho.datasets.verify_file(name), "r") as f:
            assert json.loads(f.attrs["raw_sha256"]) == PUBLISHED[name]


def fetch_script():
    import importlib.util
    spec = importlib.util.spec_from_file_location("fetch_datasets", os.path.join(ROOT, "data", "fetch_datasets.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_idx_parser_reads_idx_and_refuses_malformed_files():
    parse = fetch_script().parse_idx
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse(idx_bytes(a), "a", 3), a)
    good = idx_bytes(a)
    bad = {"short header": good[:9], "one byte missing": good[:-1], "one byte extra": good + b"\0",
           "wrong type byte": good[:2] + b"\x0b" + good[3:], "wrong dimension count": good[:3] + b"\x01" + good[4:],
           "nonzero first byte": b"\x01" + good[1:], "negative dimension": good[:4] + np.asarray([-2], ">i4").tobytes() + good[8:],
           "huge dimensions": good[:4] + np.asarray([2**31 - 1] * 3, ">i4").tobytes()}
    for what, data in bad.items():
        with pytest.raises(ValueError, match="^a: "):
            parse(data, "a", 3)


def test_deeply_nested_manifest_is_an_error(data_copy, no_hdf5):
    (data_copy / "datasets.json").write_text("[" * 200_000)
    with pytest.raises(ValueError, match="no valid entry"):
        mho.datasets.load("mnist", "test")



def test_fetch_removes_a_killed_runs_temporary_files(tmp_path):
    fetch = fetch_script()
    (tmp_path / ".mnist.h5.abc123.tmp").write_bytes(b"partial")
    (tmp_path / ".datasets.json.x.tmp").write_text("{")
    (tmp_path / "keep.tmp").write_text("not ours")
    fetch.remove_leftovers(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["keep.tmp"]


def test_fetch_writes_atomically_and_keeps_the_old_file_on_failure(tmp_path):
    fetch = fetch_script()
    target = tmp_path / "x.h5"
    target.write_bytes(b"old")

    def fail(tmp):
        open(tmp, "wb").write(b"half")
        raise RuntimeError("killed")
    with pytest.raises(RuntimeError):
        fetch.write_atomic(str(target), fail)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["x.h5"]
    fetch.write_atomic(str(target), lambda tmp: open(tmp, "wb").write(b"new"))
    assert target.read_bytes() == b"new" and os.listdir(tmp_path) == ["x.h5"]
