#!/usr/bin/env bash
# Failure cases: a program that crashes, a program SIGKILLed while blocked in emulated
# calls, 10,000 sockets opened and closed (supervisor fd count and RSS stay bounded).
. "$(dirname "$0")/lib.sh"
: "${MANY_SOCKETS:?}"
descendants() {  # descendants PID: every process below PID
  local p kids
  for kids in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$kids"
    descendants "$kids"
  done
}

# 1. A crash with sockets open: exit status 128+11, no hang.
timeout 30 "$TN" run -m "$RELAY_MOD" -- $PY -c '
import socket, os, signal
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen()
c = socket.create_connection(l.getsockname()); a, _ = l.accept()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
os.kill(os.getpid(), signal.SIGSEGV)'
rc=$?
[ $rc -eq 139 ] || fail "crash: exit status $rc, want 139"

# 2. SIGKILL while blocked in accept, recvfrom and connect (deferred replies).
"$TN" run -m "$RELAY_MOD" -- $PY -c '
import socket, threading, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(0)
f = socket.create_connection(l.getsockname())   # fills the accept queue
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
l2 = socket.socket(); l2.bind(("127.0.0.1", 0)); l2.listen()
threading.Thread(target=lambda: u.recvfrom(100), daemon=True).start()
threading.Thread(target=lambda: socket.create_connection(l.getsockname()), daemon=True).start()
print("blocked", flush=True)
l2.accept()' >"$WORK/kill.out" &
T=$!
PIDS+=($T)
wait_file "$WORK/kill.out"
sleep 0.5
victim=""
for p in $(descendants $T); do
  grep -q "l2.accept" /proc/$p/cmdline 2>/dev/null && victim=$p
done
[ -n "$victim" ] || fail "SIGKILL: cannot find the tracee"
kill -9 "$victim"
for ((i = 0; i < 100; i++)); do kill -0 $T 2>/dev/null || break; sleep 0.1; done
kill -0 $T 2>/dev/null && fail "SIGKILL: the supervisor did not finish within 10 s"
wait $T
rc=$?
[ $rc -eq 137 ] || fail "SIGKILL: exit status $rc, want 137"

# 3. 10,000 sockets: the supervisor's fds and memory come back after closes.
mkfifo "$WORK/in" "$WORK/out"
"$TN" run -m "$RELAY_MOD" -- "$MANY_SOCKETS" 500 10000 <"$WORK/in" >"$WORK/out" &
T=$!
PIDS+=($T)
exec 8>"$WORK/in" 9<"$WORK/out"
read -r -t 60 line <&9 || fail "many: no first round"
sleep 0.7  # the zombie sweep runs every 0.5 s
fd1=$(ls /proc/$T/fd | wc -l)
rss1=$(awk '/VmRSS/ {print $2}' /proc/$T/status)
echo go >&8
read -r -t 100 line <&9 || fail "many: no second round"
# The supervisor learns about closes asynchronously: give it (bounded) time to catch up.
for ((i = 0; i < 100; i++)); do
  fd2=$(ls /proc/$T/fd | wc -l)
  [ $fd2 -le $((fd1 + 4)) ] && break
  sleep 0.1
done
rss2=$(awk '/VmRSS/ {print $2}' /proc/$T/status)
echo go >&8
exec 8>&-
wait $T || fail "many: program failed"
echo "supervisor after 500: $fd1 fds, $rss1 kB; after 10,000 more: $fd2 fds, $rss2 kB"
[ $fd2 -le $((fd1 + 4)) ] || fail "supervisor fds grew: $fd1 -> $fd2"
[ $rss2 -le $((rss1 + ${RSS_SLACK_KB:-16384})) ] || fail "supervisor RSS grew: $rss1 -> $rss2 kB"
echo "failures: ok"
