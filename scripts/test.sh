#!/usr/bin/env bash
# Every test: set up (apt, venv, build), then the C++ suites (ctest) and the Python suite
# (pytest), a short run of the fuzzers (tests/fuzz), then the reproducibility tests again with OpenBLAS forced to each kernel this CPU
# can run, so that CI also takes the kernel paths of other CPUs. Exits non-zero if any fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ctest"
(cd build && ctest --output-on-failure -j "$(nproc)")
echo "== pytest"
.venv/bin/python -m pytest -q tests/python
echo "== fuzz smoke (mutations of every input file kind; libFuzzer with ASan + UBSan)"
bash tests/fuzz/ci_smoke.sh

echo "== reproducibility on other OpenBLAS kernels"
if [[ -n "${OPENBLAS_CORETYPE:-}" ]]; then
  # Some machines set it on purpose (older OpenBLAS builds compute wrong results on their
  # CPUs): keep it, and do not force others.
  echo "OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE is set in the environment: kept; no other kernel forced"
  kernels=()
else
  read -r -a kernels <<<"$(.venv/bin/python -c 'from mho import blas; print(*blas.runnable_kernels())')"
  echo "kernels this CPU can run: ${kernels[*]}"
  [[ " ${kernels[*]} " == *" SkylakeX "* ]] || echo "(SkylakeX needs AVX-512, which this CPU lacks: not run here)"
fi
for k in "${kernels[@]}"; do
  echo "-- OPENBLAS_CORETYPE=$k"
  (cd build && OPENBLAS_CORETYPE=$k ctest --output-on-failure -j "$(nproc)" -R 'Repro')
  OPENBLAS_CORETYPE=$k .venv/bin/python -m pytest -q tests/python/test_repro.py tests/python/test_blas.py
done
