#!/usr/bin/env bash
# The conformance program natively and under relay: outputs must be identical.
. "$(dirname "$0")/lib.sh"
: "${CONFORMANCE:?}"
cd "$WORK"
timeout 120 "$CONFORMANCE" >native.txt 2>native.err || fail "native run failed: $(cat native.err)"
timeout 120 "$TN" run -m "$RELAY_MOD" -- "$CONFORMANCE" >relay.txt 2>relay.err
rc=$?
[ $rc -eq 0 ] || { cat relay.err; fail "run under relay exited $rc"; }
grep -q '^done$' native.txt || fail "native run incomplete"
if ! diff -u native.txt relay.txt; then fail "outputs differ (native vs relay, diff above)"; fi
echo "conformance: $(wc -l <native.txt) lines identical"
