#!/usr/bin/env bash
# Start-up cost of a view: `threadnet run [VIEW] -- /bin/true` against /bin/true alone,
# for the example module, --net none, the embedded default (slirp) and a vde_switch view,
# with pasta (`pasta --config-net -- /bin/true`) measured in the same run when installed.
# With a second build dir, the same rows for it (e.g. the tree before a change), so
# before/after figures come from one sitting.
#   usage: bench/startup.sh [BUILD_DIR] [OTHER_BUILD_DIR] [ROUNDS]
set -euo pipefail
BUILD=${1:-build}
OTHER=${2:-}
ROUNDS=${3:-30}
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
W=$(mktemp -d /tmp/tn-startup.XXXXXX)
SWPID=""
cleanup() { [ -n "$SWPID" ] && kill "$SWPID" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
if command -v vde_switch >/dev/null; then
  vde_switch -s "$W/sw" -d -p "$W/sw.pid" </dev/null >/dev/null 2>&1
  for _ in $(seq 50); do [ -S "$W/sw/ctl" ] && break; sleep 0.1; done
  SWPID=$(cat "$W/sw.pid")
fi
# time_ms CMD...: median wall time of ROUNDS runs, in ms.
time_ms() {
  local t=() t0
  for _ in $(seq "$ROUNDS"); do
    t0=$(now); "$@" >/dev/null 2>&1 || true; t+=($(( $(now) - t0 )))
  done
  printf '%s\n' "${t[@]}" | median | awk '{printf "%.2f", $1/1e6}'
}
native=$(time_ms /bin/true)
echo "startup: $ROUNDS rounds (median), $(nproc) CPUs, kernel $(uname -r); /bin/true alone $native ms"
row() {  # LABEL BUILD ARGS...
  local label=$1 b=$2; shift 2
  local ms
  ms=$(time_ms "$b/tools/threadnet" run "$@" -- /bin/true)
  awk -v l="$label" -v m="$ms" -v n="$native" 'BEGIN {printf "  %-44s %8.2f ms  (%.1fx /bin/true)\n", l, m, m/n}'
}
rows() {  # NAME BUILD
  local name=$1 b=$2
  echo "$name ($b):"
  row "example module" "$b" -m "$b/modules/example/threadnet-example.so"
  row "--net none" "$b" --net none
  row "embedded default (slirp)" "$b"
  [ -n "$SWPID" ] && row "--net vde:// --ip" "$b" --net "vde://$W/sw" --ip 10.99.0.2/24
  return 0
}
rows "this tree" "$BUILD"
[ -n "$OTHER" ] && rows "other tree" "$OTHER"
if command -v pasta >/dev/null && [ "$(id -u)" = 0 ]; then
  # As bench/umnet.sh runs it: in the foreground, as root (--runas 0), addresses given.
  IF=$(ip -o link show up | awk -F': ' '$2 != "lo" {print $2; exit}')
  ms=$(time_ms timeout 10 pasta --runas 0 -f -q -i "$IF" -a 10.0.2.15 -n 24 -g 10.0.2.2 \
    --config-net -- /bin/true)
  awk -v m="$ms" -v n="$native" 'BEGIN {printf "pasta --config-net: %.2f ms (%.1fx /bin/true)\n", m, m/n}'
fi
