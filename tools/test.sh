#!/usr/bin/env bash
# The test command of the README (and of CI): installs what is missing, builds three
# trees and runs every test suite:
#   build/        optimised build, -Werror; the whole ctest suite
#   build-asan/   AddressSanitizer + UndefinedBehaviorSanitizer; the whole ctest suite
#   build-fuzz/   clang + libFuzzer; each fuzz target for a bounded time (label fuzz)
# Exits non-zero if any build or test fails; prints ctest's summary for each tree.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}

./tools/install-deps.sh || exit 1

status=0
run_tree() {  # dir, cmake args...   (TARGET=name builds only that target)
  local dir=$1; shift
  echo "=== configure+build $dir"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir.configure.log" 2>&1 \
    || { cat "$dir.configure.log"; echo "configure of $dir failed"; status=1; return 1; }
  cmake --build "$dir" -j"$JOBS" ${TARGET:+--target "$TARGET"} 2>&1 | grep -E "error|warning|Error" | head -50
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "build of $dir failed"; status=1; return 1; }
}
run_ctest() {  # dir, ctest args...
  local dir=$1; shift
  echo "=== ctest $dir $*"
  (cd "$dir" && ctest --output-on-failure --timeout 600 -j"$JOBS" "$@") || status=1
}

mkdir -p build build-asan build-fuzz
run_tree build && run_ctest build -LE fuzz
run_tree build-asan -DTHREADNET_SANITIZE=ON && \
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_ctest build-asan -LE "fuzz|bench"
TARGET=fuzz_all run_tree build-fuzz -DTHREADNET_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ && \
  run_ctest build-fuzz -L fuzz

if [ $status -ne 0 ]; then echo "threadnet tests: FAILED"; else echo "threadnet tests: all passed"; fi
exit $status
