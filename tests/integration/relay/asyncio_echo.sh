#!/usr/bin/env bash
# A python asyncio echo server with many clients: server under relay with native clients,
# then server and clients in one process under relay.
. "$(dirname "$0")/lib.sh"
H=$(dirname "$0")/asyncio_echo.py
N=200
P=$(free_port)
bg "$TN" run -m "$RELAY_MOD" -- $PY "$H" server "$P"
SRV=$!
wait_port "$P"
out=$(timeout 90 $PY "$H" clients "$P" $N) || fail "native clients failed: $out"
[ "$out" = "ok $N" ] || fail "server under relay: $out"
out=$(timeout 90 "$TN" run -m "$RELAY_MOD" -- $PY "$H" clients "$P" $N) || fail "relay clients failed: $out"
[ "$out" = "ok $N" ] || fail "clients under relay: $out"
stop $SRV
out=$(timeout 90 "$TN" run -m "$RELAY_MOD" -- $PY "$H" both $N) || fail "both failed: $out"
[ "$out" = "ok $N" ] || fail "both under relay: $out"
echo "asyncio_echo: ok"
