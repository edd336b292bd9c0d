#!/usr/bin/env bash
# Supervisor overhead for programs that do no networking: a process-spawn loop
# (fork+exec /bin/true) and a file I/O loop (open/write 4 KiB/pread/close), each run
# natively and under `threadnet run`, alternating, ROUNDS times; prints the median times
# and the ratio threadnet/native (target <= 1.05).
#   usage: bench/nonnet.sh [BUILD_DIR] [SPAWNS] [FILE_OPS] [ROUNDS] [MODULE]
set -euo pipefail
BUILD=${1:-build}
SPAWNS=${2:-2000}
FILEOPS=${3:-200000}
ROUNDS=${4:-5}
MODULE=${5:-example}
TN="$BUILD/tools/threadnet"
PROBE="$BUILD/tests/hypervisor/tn_probe"
for f in "$TN" "$PROBE"; do
  [ -x "$f" ] || { echo "nonnet: $f missing (build targets threadnet and tn_probe)" >&2; exit 1; }
done
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() {  # label, args...
  local label=$1; shift
  local nat=() sup=()
  for _ in $(seq "$ROUNDS"); do
    local t0; t0=$(now); "$PROBE" "$@"; nat+=($(( $(now) - t0 )))
    t0=$(now); "$TN" run --module "$MODULE" -- "$PROBE" "$@"; sup+=($(( $(now) - t0 )))
  done
  local n s
  n=$(printf '%s\n' "${nat[@]}" | median)
  s=$(printf '%s\n' "${sup[@]}" | median)
  awk -v l="$label" -v n="$n" -v s="$s" 'BEGIN {
    printf "%-28s native %8.1f ms   threadnet %8.1f ms   ratio %.3f\n", l, n/1e6, s/1e6, s/n }'
}
echo "nonnet: module=$MODULE rounds=$ROUNDS (median), $(nproc) CPUs, kernel $(uname -r)"
measure "spawn loop ($SPAWNS x fork+exec)" spawnloop "$SPAWNS"
measure "file loop ($FILEOPS x open/rw/close)" fileloop "$FILEOPS"
