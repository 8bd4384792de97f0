#!/usr/bin/env bash
# CI smoke run of the fuzzers (about 3 minutes): the mutation fuzzer's short mode (100 cases
# per file kind) and 30 s of each libFuzzer harness. Installs clang and its libFuzzer runtime
# from Debian if they are missing. Needs the venv and build of scripts/setup.sh.
# Exits non-zero on any crash, hang, silent load, unclear error or sanitizer finding.
set -euo pipefail
cd "$(dirname "$0")/../.."
# clang and its libFuzzer runtime, from Debian
bash scripts/apt_install.sh "fuzz smoke" clang-14 libclang-rt-14-dev
status=0
echo "== mutation fuzzer (100 cases per kind)"
.venv/bin/python tests/fuzz/mutate.py --cases 100 || status=1
echo "== libFuzzer (30 s per harness)"
bash tests/fuzz/run_libfuzzer.sh 30 || status=1
exit $status
