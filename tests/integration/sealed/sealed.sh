#!/usr/bin/env bash
# Sealed views: from a `--net none` view and from the default view, the escape program
# tries every route around the view (inherited host socket, other socket families, raw
# and packet sockets, non-ROUTE netlink, SOCK_DIAG, /proc/net, io_uring, x32, ptrace /
# pidfd_getfd / process_vm_readv of the supervisor, a hostile SO_ATTACH_FILTER pointer,
# abstract AF_UNIX); a host server on 127.0.0.1 and ::1 (TCP and UDP) must receive
# nothing and no host socket may be listed, while a path AF_UNIX server stays reachable.
# Also in --no-namespaces mode (the supervisor must stay out of reach there too), under
# -m relay (the host's network on purpose: SOCK_DIAG and /proc/net show the host, as
# natively, and nothing else opens), and the supervisor's own state from /proc.
set -uo pipefail
: "${TN:?threadnet launcher}" "${ESCAPE:?escape program}"
UMNET_MOD=${UMNET_MOD:-umnet}
RELAY_MOD=${RELAY_MOD:-relay}
. "$(dirname "$0")/../common.sh"
new_work sealed

P=$(free_port)
ABSTRACT="tn-sealed-$$"
UPATH=$WORK/host.sock
LOG=$WORK/server.log
: >"$LOG"
# The host's servers: every accept, datagram and byte goes to the log.
$PY - "$P" "$ABSTRACT" "$UPATH" "$LOG" <<'PYEOF' &
import os, selectors, socket, sys
port, abstract, path, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
sel = selectors.DefaultSelector()
def note(s):
    with open(log, "a") as f: f.write(s + "\n")
def listen(fam, addr, kind):
    s = socket.socket(fam, socket.SOCK_STREAM)
    if fam == socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(addr); s.listen(16); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, ("listen", kind))
for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    listen(fam, (host, port), "tcp")
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.bind((host, port)); u.setblocking(False)
    sel.register(u, selectors.EVENT_READ, ("udp", "udp"))
listen(socket.AF_UNIX, "\0" + abstract, "abstract")
listen(socket.AF_UNIX, path, "path")
os.chmod(path, 0o777)  # reachable by the rootless round too
open(log + ".ready", "w").write("ready\n")
while True:
    for key, _ in sel.select():
        what, kind = key.data
        if what == "listen":
            c, _ = key.fileobj.accept(); c.setblocking(False)
            note(kind + "-accept")
            sel.register(c, selectors.EVENT_READ, ("conn", kind))
        elif what == "udp":
            d = key.fileobj.recv(65536); note("udp-data %d" % len(d))
        else:
            try: d = key.fileobj.recv(65536)
            except OSError: d = b""
            if d: note(kind + "-data %d" % len(d))
            else: sel.unregister(key.fileobj); key.fileobj.close()
PYEOF
PIDS+=($!)
wait_file "$LOG.ready"
FAILS=0
bad() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
count() { grep -c "^$1" "$LOG"; }

# run_escape NAME THREADNET-OPTIONS...: the escape program in a view with fd 3 an open
# connection to the host server; the supervisor's pid reaches it through a file.
run_escape() {
  local name=$1; shift
  local pidf=$WORK/$name.pid out=$WORK/$name.out
  rm -f "$pidf"
  (exec 3<>/dev/tcp/127.0.0.1/"$P" && exec timeout 60 "${RUNAS[@]}" "$TN" run "$@" -- "$ESCAPE" "$P" "@$pidf" 3 \
    "$ABSTRACT" "$UPATH") >"$out" 2>"$WORK/$name.err" &
  local tn=$!
  # The subshell execs threadnet, so $! is the supervisor (timeout's child): find it.
  local i s=""
  for ((i = 0; i < 50; i++)); do
    s=$(pgrep -P "$tn" -x threadnet | head -1)
    [ -n "$s" ] && break
    sleep 0.1
  done
  [ -n "$s" ] && echo "$s" >"$pidf"
  wait "$tn"
  echo "--- $name (exit $?)"
  cat "$out"
  grep -q "^open routes:" "$out" || bad "$name: the escape program did not finish: $(tail -3 "$WORK/$name.err")"
}

expect_sealed() {  # NAME
  local out=$WORK/$1.out
  grep ": OPEN" "$out" | while read -r l; do echo "FAIL: $1: $l" >&2; done
  grep -q ": OPEN" "$out" && FAILS=$((FAILS + 1))
  grep -q "^path AF_UNIX of the host: works" "$out" || bad "$1: path AF_UNIX socket not reachable"
  grep -q "^inherited host socket: sealed" "$out" || bad "$1: inherited socket not closed"
  grep -q "closed inherited host sockets 3 (AF_INET)" "$WORK/$1.err" ||
    bad "$1: no notice of the closed inherited socket: $(head -3 "$WORK/$1.err")"
}

RUNAS=()
RUNS=0 NONS=0  # escape runs (each makes one harness connection), of which --no-namespaces
run_escape none -m "$UMNET_MOD" --net none
expect_sealed none
run_escape default -m "$UMNET_MOD"
expect_sealed default
RUNS=$((RUNS + 2))
# --no-namespaces: the tree shares the host's network namespace (said once); the
# supervisor must still be out of reach.
supervisor_sealed() {  # NAME
  grep -q "no-namespaces is weaker" "$WORK/$1.err" || bad "$1: no notice that the mode is weaker"
  for r in "pidfd_getfd(supervisor)" "ptrace(supervisor)" "process_vm_readv(supervisor)" \
    "/proc/PID/mem of the supervisor" "pidfd_open(supervisor)" "supervisor pid"; do
    grep -qF "$r: OPEN" "$WORK/$1.out" && bad "$1: $(grep -F "$r" "$WORK/$1.out")"
  done
  return 0
}
run_escape nons -m "$UMNET_MOD" --net none --no-namespaces
supervisor_sealed nons
RUNS=$((RUNS + 1)) NONS=$((NONS + 1))
# Rootless (the usual way to run it): the same as an unprivileged user, from copies of the
# binaries that user can reach.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  RL=$WORK/rootless
  mkdir -p "$RL" && cp "$TN" "$RL/threadnet" && cp "$UMNET_MOD" "$RL/umnet.so" && cp "$ESCAPE" "$RL/escape"
  chmod -R a+rX "$RL"
  RUNAS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  SAVE_TN=$TN SAVE_ESCAPE=$ESCAPE
  TN=$RL/threadnet ESCAPE=$RL/escape
  run_escape rootless -m "$RL/umnet.so" --net none
  if grep -q "namespaces unavailable" "$WORK/rootless.err"; then
    echo "note: unprivileged user namespaces are disabled here: the rootless round runs in the fallback"
    supervisor_sealed rootless
    NONS=$((NONS + 1))
  else
    expect_sealed rootless
  fi
  run_escape rootless-nons -m "$RL/umnet.so" --net none --no-namespaces
  supervisor_sealed rootless-nons
  RUNS=$((RUNS + 2)) NONS=$((NONS + 1))
  TN=$SAVE_TN ESCAPE=$SAVE_ESCAPE
  RUNAS=()
else
  echo "note: not root or no setpriv: no rootless round"
fi
# The relay serves the host's network on purpose: SOCK_DIAG and /proc/net list the host
# as natively (here: the test's server); every other route stays sealed.
run_escape relay -m "$RELAY_MOD"
RUNS=$((RUNS + 1))
grep -q "^NETLINK_SOCK_DIAG: OPEN" "$WORK/relay.out" || bad "relay: SOCK_DIAG does not list the host"
grep -q "^/proc/net/tcp\*,udp\*: OPEN" "$WORK/relay.out" || bad "relay: /proc/net does not list the host"
grep ": OPEN" "$WORK/relay.out" | grep -v "^NETLINK_SOCK_DIAG\|^/proc/net/tcp" |
  while read -r l; do echo "FAIL: relay: $l" >&2; done
[ "$(grep ": OPEN" "$WORK/relay.out" | grep -vc "^NETLINK_SOCK_DIAG\|^/proc/net/tcp")" = 0 ] ||
  FAILS=$((FAILS + 1))

# The host's server saw the harness connections (fd 3, one per run) and the path
# clients, and nothing else: no byte, no datagram, and abstract connections only from the
# --no-namespaces runs (abstract names are per network namespace).
sleep 0.3
[ "$(count tcp-data)" = 0 ] || bad "the host's TCP server received data: $(grep tcp-data "$LOG")"
[ "$(count udp-data)" = 0 ] || bad "the host's UDP server received datagrams"
[ "$(count abstract-accept)" = "$NONS" ] || bad "the host's abstract AF_UNIX server: $(count abstract-accept) connections, expected $NONS (--no-namespaces)"
[ "$(count tcp-accept)" = "$RUNS" ] || bad "expected $RUNS TCP connections (the harness's), got $(count tcp-accept)"
[ "$(count path-data)" = "$RUNS" ] || bad "expected $RUNS path AF_UNIX messages, got $(count path-data)"

# The supervisor's own state, read from /proc while a view runs: seccomp filter mode,
# no_new_privs, not dumpable (/proc/PID files owned by root), capabilities (root mode:
# CAP_NET_BIND_SERVICE only), and every thread with the relayed signals blocked.
"$TN" run -m "$UMNET_MOD" -- sh -c "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status > $WORK/prog.status; sleep 3" &
TNP=$!
PIDS+=($TNP)
for ((i = 0; i < 50; i++)); do
  grep -q "^Seccomp:[[:space:]]*2" "/proc/$TNP/status" 2>/dev/null && break
  sleep 0.1
done
st=$(cat "/proc/$TNP/status")
grep -q "^Seccomp:[[:space:]]*2" <<<"$st" || bad "supervisor not in seccomp filter mode: $(grep Seccomp <<<"$st")"
grep -q "^NoNewPrivs:[[:space:]]*1" <<<"$st" || bad "supervisor without no_new_privs"
if [ "$(id -u)" = 0 ]; then
  grep -q "^CapEff:[[:space:]]*0000000000000400" <<<"$st" ||
    bad "root supervisor keeps more than CAP_NET_BIND_SERVICE: $(grep CapEff <<<"$st")"
  grep -q "^CapBnd:[[:space:]]*0000000000000400" <<<"$st" || bad "supervisor's bounding set not reduced"
fi
for t in /proc/$TNP/task/*; do
  blk=$(awk '/^SigBlk/ {print $2}' "$t/status")
  (( (0x$blk & 0x4007) == 0x4007 )) || bad "supervisor thread $(basename "$t") ($(cat "$t/comm")) does not block INT/TERM/HUP/QUIT: SigBlk $blk"
done
ntasks=$(ls "/proc/$TNP/task" | wc -l)
[ "$ntasks" -ge 2 ] || echo "note: the slirp view runs $ntasks supervisor thread(s)"
[ "$(stat -c %u "/proc/$TNP/mem")" = 0 ] || bad "supervisor is dumpable (/proc/PID/mem not root's)"
wait "$TNP"
grep -q "^CapEff:[[:space:]]*0000000000000000" "$WORK/prog.status" || bad "the program has capabilities: $(cat "$WORK/prog.status")"
grep -q "^NoNewPrivs:[[:space:]]*1" "$WORK/prog.status" || bad "the program lacks no_new_privs"

# Fail closed: a launcher that finds no default module runs nothing (it used to run the
# program on the host's network after a warning). A copy of the launcher away from the
# build tree finds no module.
mkdir -p "$WORK/bin" && cp "$TN" "$WORK/bin/threadnet"
out=$(THREADNET_MODULE_PATH=$WORK/none "$WORK/bin/threadnet" run -- sh -c 'echo RAN' 2>&1)
code=$?
[ "$code" = 2 ] || bad "a missing default module did not stop the run (exit $code): $out"
grep -q RAN <<<"$out" && bad "the program ran without its module"
grep -q "^threadnet: the default module umnet was not found in" <<<"$out" || bad "missing module message: $out"

[ "$FAILS" = 0 ] || { echo "$FAILS check(s) failed"; exit 1; }
echo "sealed: all routes closed"
