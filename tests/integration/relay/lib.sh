# Shared helpers of the relay integration tests (sourced). Every wait is bounded; every
# process a test starts is remembered and killed (by pid) on exit.
set -uo pipefail
: "${TN:?path of the threadnet launcher}"
: "${RELAY_MOD:?path of the relay module}"
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/tn-relay-test.XXXXXX)
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
tn() { "$TN" run -m "$RELAY_MOD" "$@"; }
bg() { "$@" & PIDS+=($!); }
free_port() {
  $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT.
wait_port() {
  local i
  for ((i = 0; i < ${2:-15} * 10; i++)); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.1
  done
  fail "nothing listens on port $1"
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
stop() {  # stop PID: TERM, then KILL after 5 s
  local i
  kill "$1" 2>/dev/null
  for ((i = 0; i < 50; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  return 0
}
# wait_listen PORT [SECONDS]: until a TCP socket listens on PORT (without connecting).
wait_listen() {
  local i
  for ((i = 0; i < ${2:-15} * 10; i++)); do
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] && return 0
    sleep 0.1
  done
  fail "nothing listens on port $1"
}
