#!/usr/bin/env bash
# CI smoke run of the fuzzers (about 3 minutes): the mutation fuzzer's short mode (100 cases
# per file kind) and 30 s of each libFuzzer harness. Installs clang and its libFuzzer runtime
# from Debian if they are missing. Needs the venv and build of scripts/setup.sh.
# Exits non-zero on any crash, hang, silent load, unclear error or sanitizer finding.
set -euo pipefail
cd "$(dirname "$0")/../.."
need=()
command -v clang++-14 >/dev/null || need+=(clang-14)
ls /usr/lib/llvm-14/lib/clang/14*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 || need+=(libclang-rt-14-dev)
if ((${#need[@]})); then
  echo "fuzz smoke: installing ${need[*]}" >&2
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
status=0
echo "== mutation fuzzer (100 cases per kind)"
.venv/bin/python tests/fuzz/mutate.py --cases 100 || status=1
echo "== libFuzzer (30 s per harness)"
bash tests/fuzz/run_libfuzzer.sh 30 || status=1
exit $status
