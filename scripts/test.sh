#!/usr/bin/env bash
# Every test: set up (apt, venv, build), then the C++ suites (ctest) and the Python suite
# (pytest). Exits non-zero if any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ctest"
(cd build && ctest --output-on-failure -j "$(nproc)")
echo "== pytest"
.venv/bin/python -m pytest -q tests/python
