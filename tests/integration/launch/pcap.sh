#!/usr/bin/env bash
# --pcap: accepted on the embedded default view, and the records are dated in Unix time
# (they were 1970 + uptime): tcpdump reads the file back and every record's date is today
# (or yesterday, across midnight), its time within the run's.
set -uo pipefail
: "${TN:?threadnet launcher}"
command -v tcpdump >/dev/null || { echo "SKIP: tcpdump not installed"; exit 77; }
. "$(dirname "$0")/../common.sh"
new_work pcap
FAILS=0
bad() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
t0=$(date +%s)
# UDP to slirp's DNS and a ping to the gateway: frames on the view's link (TCP to the host
# is spliced and not captured).
timeout 60 "$TN" run --pcap "$WORK/default.pcap" -- $PY -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01", ("10.0.2.3", 53))
s.settimeout(2)
try: s.recv(512)
except OSError: pass
' >"$WORK/run.log" 2>&1 || bad "the default view with --pcap: $(cat "$WORK/run.log")"
t1=$(date +%s)
[ -s "$WORK/default.pcap" ] || bad "no capture written"
tcpdump -r "$WORK/default.pcap" -n -tt 2>"$WORK/tcpdump.err" >"$WORK/records" || bad "tcpdump -r: $(cat "$WORK/tcpdump.err")"
n=$(wc -l <"$WORK/records")
[ "$n" -ge 2 ] || bad "only $n records: $(cat "$WORK/records")"
grep -q "10.0.2.3.53" "$WORK/records" || bad "the DNS datagram is not in the capture"
while read -r ts _; do
  sec=${ts%%.*}
  if [ "$sec" -lt $((t0 - 1)) ] || [ "$sec" -gt $((t1 + 1)) ]; then
    bad "record dated $(date -d "@$sec" '+%F %T') outside the run ($(date -d "@$t0" '+%F %T') .. $(date -d "@$t1" '+%T'))"
    break
  fi
done <"$WORK/records"
tcpdump -r "$WORK/default.pcap" -n -tttt 2>/dev/null | head -2
[ "$FAILS" = 0 ] || exit 1
echo "pcap: $n records from the embedded default, dated $(date -d "@$t0" +%F): ok"
