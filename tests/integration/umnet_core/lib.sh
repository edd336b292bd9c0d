# Shared helpers of the umnet core integration tests (sourced). Every wait is bounded;
# every process and switch a test starts is killed on exit, every temp dir removed.
set -uo pipefail
: "${TN:?path of the threadnet launcher}"
: "${UMNET_MOD:?path of the umnet module}"
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/tn-umnet-test.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 not installed"; }
tn() { "$TN" run -m "$UMNET_MOD" "$@"; }
bg() { "$@" & PIDS+=($!); }
free_port() {
  $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# wait_file FILE [SECONDS]: until FILE exists and is not empty.
wait_file() {
  local i
  for ((i = 0; i < ${2:-15} * 10; i++)); do
    [ -s "$1" ] && return 0
    sleep 0.1
  done
  fail "$1 did not appear"
}
# start_switch DIR: a vde_switch (Debian vde2) with its control socket in DIR.
start_switch() {
  need vde_switch
  vde_switch --sock "$1" --mgmt "$1.mgmt" --daemon --pidfile "$1.pid" >/dev/null 2>&1 \
    || fail "vde_switch did not start"
  wait_file "$1.pid" 5
  PIDS+=("$(cat "$1.pid")")
  local i
  for ((i = 0; i < 50; i++)); do [ -S "$1/ctl" ] && return 0; sleep 0.1; done
  fail "vde_switch control socket $1/ctl did not appear"
}
