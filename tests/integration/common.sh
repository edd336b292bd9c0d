# Helpers shared by the shell integration tests (sourced by relay/lib.sh and
# umnet/lib.sh, which own WORK, PIDS and the cleanup). Every wait is bounded.
PY=${PY:-/usr/bin/python3}
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 not installed"; }
# As root a view's program runs without capabilities unless --keep-caps is given; nginx
# started as root needs them to switch to its worker user (chown, setgroups).
ROOTCAPS=()
[ "$(id -u)" = 0 ] && ROOTCAPS=(--keep-caps)
bg() { "$@" & PIDS+=($!); }
# stop PID: TERM, then KILL after 5 s; reaps it.
stop() {
  local i
  kill "$1" 2>/dev/null
  for ((i = 0; i < 50; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  return 0
}
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

# new_work TAG: for tests that own no lib.sh: WORK, a fresh directory /tmp/tn-TAG.XXXXXX
# (mode 755, so other uids of a test can reach it), PIDS to kill at the end (TERM, then
# KILL), and an EXIT trap that also runs the test's own `extra_cleanup` if it defines one.
new_work() {
  WORK=$(mktemp -d "/tmp/tn-$1.XXXXXX")
  chmod 755 "$WORK"
  PIDS=()
  trap _work_cleanup EXIT
}
_work_cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  sleep 0.1
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
  declare -F extra_cleanup >/dev/null && extra_cleanup
  wait 2>/dev/null
  rm -rf "$WORK"
}
