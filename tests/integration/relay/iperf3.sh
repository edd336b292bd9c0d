#!/usr/bin/env bash
# iperf3 server and client, both under relay (TCP, then UDP), short runs.
. "$(dirname "$0")/lib.sh"
need iperf3
P=$(free_port)
bg "$TN" run -m "$RELAY_MOD" -- iperf3 -s -p "$P" -B 127.0.0.1
SRV=$!
wait_port "$P"
sleep 0.2
timeout 60 "$TN" run -m "$RELAY_MOD" -- iperf3 -c 127.0.0.1 -p "$P" -t 2 -J >"$WORK/tcp.json" ||
  fail "iperf3 tcp client failed: $(head -c 2000 "$WORK/tcp.json")"
$PY - "$WORK/tcp.json" <<'PY' || fail "iperf3 tcp result"
import json, sys
j = json.load(open(sys.argv[1]))
bps = j["end"]["sum_received"]["bits_per_second"]
print("iperf3 tcp: %.0f Mbit/s" % (bps / 1e6))
sys.exit(0 if bps > 1e6 else 1)
PY
timeout 60 "$TN" run -m "$RELAY_MOD" -- iperf3 -c 127.0.0.1 -p "$P" -u -b 50M -t 2 -J >"$WORK/udp.json" ||
  fail "iperf3 udp client failed: $(head -c 2000 "$WORK/udp.json")"
$PY - "$WORK/udp.json" <<'PY' || fail "iperf3 udp result"
import json, sys
j = json.load(open(sys.argv[1]))
s = j["end"]["sum"]
print("iperf3 udp: %.0f Mbit/s, lost %d of %d" % (s["bits_per_second"] / 1e6, s["lost_packets"], s["packets"]))
sys.exit(0 if s["packets"] > 100 else 1)
PY
stop $SRV
echo "iperf3: ok"
