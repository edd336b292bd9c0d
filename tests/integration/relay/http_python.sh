#!/usr/bin/env bash
# curl against python3 -m http.server: client alone under relay, server alone, both.
. "$(dirname "$0")/lib.sh"
need curl
mkdir -p "$WORK/www"
head -c 3000000 /dev/urandom >"$WORK/www/blob"
want=$(sha256sum <"$WORK/www/blob" | cut -d' ' -f1)

# 1. client under relay, server native.
P=$(free_port)
bg $PY -m http.server "$P" --bind 127.0.0.1 --directory "$WORK/www"
SRV=$!
wait_port "$P"
got=$(timeout 60 "$TN" run -m "$RELAY_MOD" -- curl -sS --fail http://127.0.0.1:$P/blob | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "client under relay: checksum mismatch"
# The IPv6 path too (localhost resolves to ::1 and 127.0.0.1; force v4 host name here).
code=$(timeout 60 "$TN" run -m "$RELAY_MOD" -- curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$P/nope)
[ "$code" = 404 ] || fail "client under relay: 404 expected, got $code"
stop $SRV

# 2. server under relay, client native.
P=$(free_port)
bg "$TN" run -m "$RELAY_MOD" -- $PY -m http.server "$P" --bind 127.0.0.1 --directory "$WORK/www"
SRV=$!
wait_port "$P"
for i in 1 2 3; do
  got=$(timeout 60 curl -sS --fail http://127.0.0.1:$P/blob | sha256sum | cut -d' ' -f1)
  [ "$got" = "$want" ] || fail "server under relay: checksum mismatch ($i)"
done
stop $SRV

# 3. both in one supervised tree.
P=$(free_port)
out=$(timeout 90 "$TN" run -m "$RELAY_MOD" -- bash -c '
  '"$PY"' -m http.server '"$P"' --bind 127.0.0.1 --directory '"$WORK/www"' >/dev/null 2>&1 &
  s=$!
  for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:'"$P"'/ && break; sleep 0.1; done
  curl -sS --fail http://127.0.0.1:'"$P"'/blob | sha256sum | cut -d" " -f1
  kill $s; wait $s 2>/dev/null; true')
[ "$out" = "$want" ] || fail "both under relay: got '$out'"
echo "http_python: ok"
