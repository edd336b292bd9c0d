#!/usr/bin/env bash
# Scenario 7, --net none: a view whose stack has only its loopback interface. Connecting
# anywhere else fails at once with ENETUNREACH, and the program says so ("Network is
# unreachable" from curl -v and from python); loopback inside the view still works.
. "$(dirname "$0")/lib.sh"
need curl
timeout 30 "${V[@]}" --net none -- curl -v -sS --connect-timeout 5 http://10.80.0.1/ >"$WORK/curl.out" 2>&1 &&
  fail "curl connected with --net none: $(cat "$WORK/curl.out")"
cat "$WORK/curl.out"
grep -q "Network is unreachable" "$WORK/curl.out" || fail "curl did not report 'Network is unreachable'"

for dst in '("10.80.0.1", 80)' '("fd00:80::1", 80)'; do
  timeout 30 "${V[@]}" --net none -- $PY -c "
import socket, errno, sys
try:
    socket.create_connection($dst, timeout=5)
except OSError as e:
    print(e); sys.exit(0 if e.errno == errno.ENETUNREACH else 1)
sys.exit(2)" >"$WORK/py.out" 2>&1
  rc=$?
  cat "$WORK/py.out"
  [ $rc = 0 ] || fail "python connect to $dst with --net none: rc $rc, $(cat "$WORK/py.out")"
  grep -q "Network is unreachable" "$WORK/py.out" || fail "python did not say why"
done

# The loopback of the view's stack: a server and a client in the same view.
out=$(timeout 30 "${V[@]}" --net none -- $PY -c '
import socket
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
c = socket.create_connection(l.getsockname(), timeout=5); a, _ = l.accept()
c.sendall(b"ping"); print(a.recv(4).decode())' 2>&1) || fail "loopback in --net none: $out"
[ "$out" = ping ] || fail "loopback in --net none: got '$out'"
echo "netnone: unreachable with a reason, loopback works: ok"
