#!/usr/bin/env bash
# Signals in every kind of view (issue 18): SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to
# threadnet reach the program, whose handler runs and sets the exit status (40 + signo),
# on slirp (the default: its plugin's thread once took them), vde_switch, switch://, tap,
# mem://, none, relay, host and several stacks at once. While each view runs, every thread
# of the supervisor must have the four signals blocked (no module, link or plugin thread
# may take one).
set -uo pipefail
: "${TN:?threadnet launcher}" "${RELAY_MOD:?relay module}"
UMNET_MOD=${UMNET_MOD:-umnet}
. "$(dirname "$0")/../common.sh"
new_work signals
NS=""
extra_cleanup() { [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null; }
FAILS=0
bad() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
cat >"$WORK/handler.py" <<'PY'
import signal, sys, time
def on(sig, _):
    print("got", signal.Signals(sig).name, flush=True)
    sys.exit(40 + sig)
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
    signal.signal(s, on)
open(sys.argv[1], "w").write("ready\n")
for _ in range(600):  # at most 60 s
    time.sleep(0.1)
sys.exit(3)
PY

# one NAME SIGNAL PREFIX... -- VIEW OPTIONS: a run, one signal, its checks.
one() {
  local name=$1 sig=$2; shift 2
  local pre=()
  while [ "$1" != "--" ]; do pre+=("$1"); shift; done
  shift
  local ready=$WORK/$name.$sig.ready out=$WORK/$name.$sig.out
  rm -f "$ready"
  "${pre[@]}" "$TN" run "$@" -- "$PY" "$WORK/handler.py" "$ready" >"$out" 2>&1 &
  local tn=$!
  PIDS+=($tn)
  local i
  for ((i = 0; i < 150; i++)); do [ -s "$ready" ] && break; sleep 0.1; done
  [ -s "$ready" ] || { bad "$name: the program did not start: $(tail -3 "$out")"; kill -9 $tn; wait $tn 2>/dev/null; return; }
  # The supervisor: threadnet itself, or under `ip netns exec` its child of that name.
  local s=$tn
  [ "$(cat /proc/$tn/comm 2>/dev/null)" = threadnet ] || s=$(pgrep -P $tn -x threadnet | head -1)
  if [ -n "$s" ]; then
    local t blk
    for t in /proc/$s/task/*; do
      blk=$(awk '/^SigBlk/ {print $2}' "$t/status" 2>/dev/null) || continue
      [ -n "$blk" ] || continue
      (( (0x$blk & 0x4007) == 0x4007 )) ||
        bad "$name: supervisor thread $(cat "$t/comm") has SigBlk $blk (INT/TERM/HUP/QUIT not all blocked)"
    done
  else
    bad "$name: no supervisor process found"
  fi
  kill -s "$sig" "${s:-$tn}"
  local rc
  for ((i = 0; i < 100; i++)); do kill -0 $tn 2>/dev/null || break; sleep 0.1; done
  if kill -0 $tn 2>/dev/null; then
    bad "$name: SIG$sig: still running after 10 s"
    kill -9 $tn
  fi
  wait $tn
  rc=$?
  local want=$((40 + $(kill -l "$sig")))
  [ "$rc" = "$want" ] || bad "$name: SIG$sig: exit $rc, want $want (the handler's): $(tail -3 "$out")"
  grep -q "^got SIG$sig" "$out" || bad "$name: SIG$sig: the handler did not run: $(tail -3 "$out")"
}

views() {  # NAME PREFIX... -- OPTIONS...
  local name=$1; shift
  local s
  for s in INT TERM HUP QUIT; do one "$name" "$s" "$@"; done
  echo "signals: $name: INT TERM HUP QUIT handled"
}
views slirp -- -m "$UMNET_MOD"
views none -- -m "$UMNET_MOD" --net none
views mem -- -m "$UMNET_MOD" --net mem://sig --ip 10.61.0.1/24
views relay -- -m "$RELAY_MOD"
views host -- -m "$UMNET_MOD" --net host
views several -- -m "$UMNET_MOD" --net none --stack a=mem://m,ip=10.62.0.1/24 --stack b=host \
  --stack c=slirp://
if command -v vde_switch >/dev/null; then
  vde_switch -s "$WORK/sw" -d -p "$WORK/sw.pid" </dev/null >/dev/null 2>&1
  # The control socket can appear before the daemon has written its pid file: wait for
  # both, or the cleanup has no pid to kill and the switch outlives the test.
  for ((i = 0; i < 50; i++)); do [ -S "$WORK/sw/ctl" ] && [ -s "$WORK/sw.pid" ] && break; sleep 0.1; done
  PIDS+=("$(cat "$WORK/sw.pid")")
  views vde -- -m "$UMNET_MOD" --net "vde://$WORK/sw" --ip 10.63.0.1/24
else
  echo "note: vde_switch missing: no vde:// view"
fi
views switch -- -m "$UMNET_MOD" --net "switch://$WORK/swp" --ip 10.64.0.1/24
if [ "$(id -u)" = 0 ] && [ -w /dev/net/tun ]; then
  NS=tnsig-$$
  ip netns add "$NS" && ip -n "$NS" tuntap add tnsig0 mode tap && ip -n "$NS" link set tnsig0 up
  views tap ip netns exec "$NS" -- -m "$UMNET_MOD" --net tap:tnsig0 --ip 10.65.0.1/24
else
  echo "note: not root or no /dev/net/tun: no tap view"
fi
[ "$FAILS" = 0 ] || { echo "$FAILS check(s) failed"; exit 1; }
echo "signals: every view relays INT/TERM/HUP/QUIT to the program"
