#!/usr/bin/env bash
# SIGINT during a blocking connect: identical behaviour natively and under relay.
. "$(dirname "$0")/lib.sh"
: "${SIGINT_CONNECT:?}"
timeout 60 "$SIGINT_CONNECT" >"$WORK/native.txt" || fail "native run failed"
timeout 60 "$TN" run -m "$RELAY_MOD" -- "$SIGINT_CONNECT" >"$WORK/relay.txt" || fail "relay run failed"
diff -u "$WORK/native.txt" "$WORK/relay.txt" || fail "outputs differ (native vs relay)"
cat "$WORK/relay.txt"
grep -q "^connect: EINTR" "$WORK/relay.txt" || fail "connect was not interrupted"
echo "sigint_connect: ok"
