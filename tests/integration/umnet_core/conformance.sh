#!/usr/bin/env bash
# The conformance program natively and in a view with only its loopback (--net none):
# every socket call must answer exactly as the kernel does.
. "$(dirname "$0")/../umnet/lib.sh"
: "${CONFORMANCE:?}"
cd "$WORK"
timeout 120 "$CONFORMANCE" >native.txt 2>native.err || fail "native run failed: $(cat native.err)"
timeout 120 "$TN" run -m "$UMNET_MOD" --net none -- "$CONFORMANCE" >view.txt 2>view.err
rc=$?
[ $rc -eq 0 ] || { cat view.err; fail "run in the view exited $rc"; }
grep -q '^done$' native.txt || fail "native run incomplete"
if ! diff -u native.txt view.txt; then fail "outputs differ (native vs view, diff above)"; fi
echo "conformance: $(wc -l <native.txt) lines identical"
