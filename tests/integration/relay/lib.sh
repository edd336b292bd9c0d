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
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
tn() { "$TN" run -m "$RELAY_MOD" "$@"; }
# wait_listen PORT [SECONDS]: until a TCP socket listens on PORT (without connecting).
wait_listen() {
  local i
  for ((i = 0; i < ${2:-15} * 10; i++)); do
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] && return 0
    sleep 0.1
  done
  fail "nothing listens on port $1"
}
