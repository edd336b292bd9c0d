#!/usr/bin/env bash
# 64 threads blocked in accept and 64 in connect at once, natively and under relay.
. "$(dirname "$0")/lib.sh"
: "${THREADS64:?}"
timeout 90 "$THREADS64" >"$WORK/native.txt" || fail "native run failed: $(cat "$WORK/native.txt")"
timeout 90 "$TN" run -m "$RELAY_MOD" -- "$THREADS64" >"$WORK/relay.txt" ||
  fail "relay run failed: $(cat "$WORK/relay.txt")"
cat "$WORK/relay.txt"
grep -q "^blocked: connected 0 accepted 0" "$WORK/relay.txt" || fail "calls did not block under relay"
grep -q "^connected 64 accepted 64 bytes 64" "$WORK/relay.txt" || fail "shortfall under relay"
echo "threads64: ok"
