#!/usr/bin/env bash
# --publish 80:PORT: python3 -m http.server binds port 80 in the view (and says so, from
# getsockname) while curl reaches it on the host's PORT.
. "$(dirname "$0")/lib.sh"
need curl
mkdir -p "$WORK/www"
echo "published page" >"$WORK/www/index.html"
P=$(free_port)
busy80=$(ss -Hltn 'sport = :80' | wc -l)
"$TN" run -m "$RELAY_MOD" --publish 80:$P -- $PY -u -m http.server 80 --bind 127.0.0.1 \
  --directory "$WORK/www" >"$WORK/srv.out" 2>&1 &
S=$!
PIDS+=($S)
wait_port "$P"
got=$(timeout 30 curl -sS --fail http://127.0.0.1:$P/)
[ "$got" = "published page" ] || fail "curl on host port $P: '$got'"
grep -q "port 80 " "$WORK/srv.out" || fail "server did not see port 80: $(cat "$WORK/srv.out")"
if [ "$busy80" -eq 0 ]; then
  [ "$(ss -Hltn 'sport = :80' | wc -l)" -eq 0 ] || fail "port 80 bound on the host"
fi
stop $S
# Inside the view, clients use the view port: a loopback connect to 80 reaches the server.
P=$(free_port)
out=$(timeout 60 "$TN" run -m "$RELAY_MOD" --publish 80:$P -- bash -c '
  '"$PY"' -m http.server 80 --bind 127.0.0.1 --directory '"$WORK/www"' >/dev/null 2>&1 &
  s=$!
  for i in $(seq 100); do curl -s http://127.0.0.1:80/ && break; sleep 0.1; done
  '"$PY"' -c "import socket; c = socket.create_connection((\"127.0.0.1\", 80)); print(\"peer port\", c.getpeername()[1])"
  kill $s; wait $s 2>/dev/null; true')
[ "$out" = "published page
peer port 80" ] || fail "in-view client on port 80: '$out'"
echo "publish: ok"
