#!/usr/bin/env bash
# Unreachable and timed-out connects (errnos, SO_ERROR, SO_SNDTIMEO) inside a network
# namespace this test creates (unshare -n: it vanishes with its last process), natively and
# under relay: identical output.
. "$(dirname "$0")/lib.sh"
: "${CONFORMANCE:?}"
unshare -n true 2>/dev/null || skip "cannot create a network namespace (unshare -n)"
setup='ip link set lo up && ip link add d0 type veth peer name d1 && ip link set d1 up &&
  ip addr add 10.9.0.1/24 dev d0 &&
  ip link set d0 up && ip neigh add 10.9.0.2 lladdr 02:00:00:00:00:02 dev d0 nud permanent &&
  sysctl -qw net.ipv4.tcp_syn_retries=1'
timeout 60 unshare -n bash -c "$setup && exec \"\$0\" netns" "$CONFORMANCE" >"$WORK/native.txt" 2>&1 ||
  fail "native run: $(cat "$WORK/native.txt")"
timeout 60 unshare -n bash -c "$setup && exec \"\$0\" run -m \"\$1\" -- \"\$2\" netns" \
  "$TN" "$RELAY_MOD" "$CONFORMANCE" >"$WORK/relay.txt" 2>&1 || fail "relay run: $(cat "$WORK/relay.txt")"
cat "$WORK/native.txt"
diff -u "$WORK/native.txt" "$WORK/relay.txt" || fail "outputs differ (native vs relay)"
grep -q "timeout.blocking: ETIMEDOUT" "$WORK/native.txt" || fail "the blackhole did not time out"
echo "netns: ok"
