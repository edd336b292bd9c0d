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
# Inside the view, a client of the same tree reaches the server through its view port? The
# view port is a name only (the host port is real): a client must use the host port.
echo "publish: ok"
