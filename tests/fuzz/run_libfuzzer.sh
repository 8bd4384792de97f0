#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang, AddressSanitizer and UBSan in build-fuzz/ and runs
# each for SECONDS (default 30) from the seed corpora in tests/fuzz/corpus/.
#
#   bash tests/fuzz/run_libfuzzer.sh            # 30 s each (CI)
#   bash tests/fuzz/run_libfuzzer.sh 300        # 5 minutes each (before a release)
#   FUZZERS="tech_table_fuzzer" bash tests/fuzz/run_libfuzzer.sh 60
#
# Harnesses (tests/fuzz/*_fuzzer.cpp say what each covers): model_reader_fuzzer (the whole
# load: integrity check first), model_structure_fuzzer (mho's validation of well-formed HDF5
# files with fuzzed contents, with and without the check), tech_table_fuzzer. Not run by
# default: model_parser_fuzzer (byte mutations straight into libhdf5, skipping the check),
# whose findings are libhdf5's own; run it with FUZZERS=model_parser_fuzzer and
# FUZZ_KEEP_GOING=1 to count them (see tests/fuzz/README.md).
# Only mho's reader code is compiled here (instrumented); libhdf5, libcrypto and yaml-cpp are
# Debian's uninstrumented libraries, so a fault inside them shows as a signal, not a report.
# Findings (crash-*, leak-*, timeout-*, oom-*) are written to build-fuzz/findings/; the exit
# status is non-zero if any harness found something.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_EACH=${1:-30}
OUT=build-fuzz
FUZZERS=${FUZZERS:-"model_reader_fuzzer model_structure_fuzzer tech_table_fuzzer"}
CXX=${CXX_FUZZ:-clang++-14}
command -v "$CXX" >/dev/null || CXX=clang++
mkdir -p "$OUT/obj" "$OUT/findings"

FLAGS=(-std=c++17 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
       -Wno-unknown-pragmas -I. -I/usr/include/eigen3 $(pkg-config --cflags hdf5))
LIBS=($(pkg-config --libs hdf5) -lcrypto -lyaml-cpp)

# One object per source, rebuilt when the source or a header it includes is newer.
objects=()
compile() {  # compile SRC [extra flags...]
  local src=$1; shift
  local obj="$OUT/obj/$(echo "$src" | tr / _)$(echo "$*" | tr -dc 'A-Za-z_').o"
  if [[ ! -f $obj || -n $(find "$src" nets evaluator common crossbar/gemm.h -newer "$obj" -name '*.h' -o -newer "$obj" -path "$src" 2>/dev/null | head -1) ]]; then
    echo "fuzz build: $src" >&2
    "$CXX" "${FLAGS[@]}" -fsanitize=fuzzer-no-link "$@" -c "$src" -o "$obj"
  fi
  objects+=("$obj")
}
link() {  # link NAME OBJECTS...
  local name=$1; shift
  "$CXX" "${FLAGS[@]}" -fsanitize=fuzzer "$@" "${LIBS[@]}" -o "$OUT/$name"
}

objects=()
for s in nets/model_file.cpp nets/layer.cpp nets/network.cpp common/regular_file.cpp tests/fuzz/gemm_stub.cpp; do compile "$s"; done
reader=("${objects[@]}")
objects=(); compile tests/fuzz/model_reader_fuzzer.cpp; link model_reader_fuzzer "${reader[@]}" "${objects[@]}"
objects=(); compile tests/fuzz/model_reader_fuzzer.cpp -DMHO_FUZZ_PARSER; link model_parser_fuzzer "${reader[@]}" "${objects[@]}"
objects=(); compile tests/fuzz/model_structure_fuzzer.cpp; link model_structure_fuzzer "${reader[@]}" "${objects[@]}"
objects=()
for s in evaluator/tech_table.cpp common/regular_file.cpp tests/fuzz/tech_table_fuzzer.cpp; do compile "$s"; done
link tech_table_fuzzer "${objects[@]}"

status=0
for f in $FUZZERS; do
  case $f in
    tech_table_fuzzer) seeds=tests/fuzz/corpus/tech; dict=(-dict=tests/fuzz/yaml.dict) ;;
    model_structure_fuzzer) seeds=tests/fuzz/corpus/structure; dict=() ;;
    *) seeds=tests/fuzz/corpus/model; dict=() ;;
  esac
  # New inputs go to a work corpus in build-fuzz/, never into the repository's seeds.
  mkdir -p "$OUT/corpus-$f"
  log="$OUT/$f.log"
  echo "== $f: $SECONDS_EACH s" >&2
  # leak detection off: libhdf5 keeps its free lists until exit, which LeakSanitizer reports.
  # FUZZ_KEEP_GOING=1: fork mode that records every finding and carries on (for counting).
  keep=()
  [[ ${FUZZ_KEEP_GOING:-0} == 1 ]] && keep=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  if ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=0 UBSAN_OPTIONS=print_stacktrace=1 \
     "$OUT/$f" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
       "${keep[@]}" "${dict[@]}" -artifact_prefix="$OUT/findings/$f-" "$OUT/corpus-$f" "$seeds" >"$log" 2>&1; then
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)" "$log" | sed "s/^/  /" >&2 || true
  else
    status=1
    echo "  $f FOUND A PROBLEM (log: $log):" >&2
    grep -E "ERROR|SUMMARY|Test unit written|runtime error" "$log" | head -10 | sed "s/^/  /" >&2
  fi
done
exit $status
