#!/usr/bin/env bash
# Scenario 2, IPC by TCP/IP: two views on one vde_switch talk TCP to each other.
#   iperf3 -s in one view, iperf3 -c in the other: the receiver must count the bytes.
#   nginx (generated config in the temp dir, not root, port 80 inside its view) serves a
#   16 MB file; curl in the other view fetches it; sha256 compared.
. "$(dirname "$0")/lib.sh"
need curl
need iperf3
[ -x "$NGINX" ] || skip "nginx (package nginx-light) not installed"
SW=$(new_switch sw) || exit 1

bgview --net "$SW" --ip 10.78.0.1/24 -- iperf3 -s --forceflush -1 >"$WORK/iperf-s.log" 2>&1
wait_log "$WORK/iperf-s.log" "Server listening" 20
timeout 90 "${V[@]}" --net "$SW" --ip 10.78.0.2/24 -- \
  iperf3 -c 10.78.0.1 -t 2 -J --connect-timeout 5000 >"$WORK/iperf-c.json" 2>"$WORK/iperf-c.err" ||
  fail "iperf3 client view: $(cat "$WORK/iperf-c.err") $(tail -c 600 "$WORK/iperf-c.json")"
bytes=$($PY -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bytes"]))' \
  "$WORK/iperf-c.json") || fail "iperf3 output: $(tail -c 600 "$WORK/iperf-c.json")"
echo "iperf3: $bytes bytes received in 2 s"
[ "$bytes" -ge 1000000 ] || fail "iperf3 moved only $bytes bytes in 2 s"

D=$WORK/nginx
nginx_conf "$D" 80
head -c $((16 << 20)) /dev/urandom >"$D/www/blob"
want=$(sha256sum <"$D/www/blob" | cut -d' ' -f1)
bgview "${ROOTCAPS[@]}" --net "$SW" --ip 10.78.0.3/24 -- "$NGINX" -p "$D" -c "$D/nginx.conf" -e "$D/logs/error.log" \
  >"$WORK/nginx.log" 2>&1
got=$(timeout 120 "${V[@]}" --net "$SW" --ip 10.78.0.4/24 -- "${CURL[@]}" http://10.78.0.3/blob |
  sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "curl view got a different file ($got, want $want); nginx: $(cat "$D/logs/error.log" "$WORK/nginx.log")"
echo "ipc: iperf3 and nginx+curl between two views: ok"
