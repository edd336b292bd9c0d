#!/usr/bin/env bash
# Scenario 3, a per-process VPN: namespace NS plays an intranet (a persistent tap with
# 10.81.0.1/24, dnsmasq with DHCP and the DNS record "intranet-server", a python http
# server). A view reaches it through cmd://"ip netns exec NS vde_plug tap://tnvpn0" (VDE's
# way to build a VPN, as with cmd://"ssh host vde_plug ..."), configures itself with
# --dhcp, and fetches http://intranet-server/ (name served by dnsmasq, learnt by DHCP).
# The host itself has no way in. With --stack lan=host the same view can still reach a
# server on the host's loopback with `threadnet stack lan -- curl ...`.
. "$(dirname "$0")/lib.sh"
need_root
need curl
need vde_plug
[ -x /usr/sbin/dnsmasq ] || skip "dnsmasq (package dnsmasq-base) not installed"
[ -w /dev/net/tun ] || skip "/dev/net/tun not available"
[ "${TN_VIEW:-}" = kernel ] && skip "TN_VIEW=kernel cannot stand in for --dhcp"
NS=$(new_ns vpn) || exit 1
ip -n $NS tuntap add tnvpn0 mode tap || fail "tuntap add in $NS"
ip -n $NS addr add 10.81.0.1/24 dev tnvpn0
ip -n $NS link set tnvpn0 up
bg ip netns exec $NS /usr/sbin/dnsmasq --no-daemon --conf-file=/dev/null --no-hosts --no-resolv \
  --interface=tnvpn0 --bind-interfaces --user=root --dhcp-leasefile="$WORK/leases" \
  --pid-file="$WORK/dnsmasq.pid" --dhcp-range=10.81.0.50,10.81.0.150,255.255.255.0,10m \
  --host-record=intranet-server,10.81.0.1 --domain=intranet --log-dhcp --log-queries \
  >"$WORK/dnsmasq.log" 2>&1
mkdir -p "$WORK/www" && echo "intranet-page-$$" >"$WORK/www/index.html"
bg ip netns exec $NS $PY -u -m http.server --bind 10.81.0.1 --directory "$WORK/www" 80 >"$WORK/http.log" 2>&1
wait_log "$WORK/http.log" "Serving HTTP" 20
wait_log "$WORK/dnsmasq.log" "started" 10

# The host has no address, route or device into the intranet.
ip -o addr show | grep -q " 10\.81\.0\." && fail "the host has an intranet address"
ip link show tnvpn0 >/dev/null 2>&1 && fail "the intranet's tap is visible on the host"
ip route get 10.81.0.1 2>/dev/null | grep -q "dev tnvpn0" && fail "the host routes into the intranet"

# A host loopback server for the --stack lan=host part.
mkdir -p "$WORK/lo" && echo "host-loopback-$$" >"$WORK/lo/index.html"
LP=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
bg $PY -u -m http.server --bind 127.0.0.1 --directory "$WORK/lo" "$LP" >"$WORK/lo.log" 2>&1
wait_log "$WORK/lo.log" "Serving HTTP" 20

URL="cmd://ip netns exec $NS vde_plug tap://tnvpn0"
timeout 120 "${V[@]}" --net "$URL" --dhcp -- "${CURL[@]}" http://intranet-server/ \
  >"$WORK/got" 2>"$WORK/view.err" ||
  fail "view via $URL: $(cat "$WORK/view.err"); dnsmasq: $(tail -20 "$WORK/dnsmasq.log")"
[ "$(cat "$WORK/got")" = "intranet-page-$$" ] || fail "intranet-server served '$(cat "$WORK/got")'"
grep -q "DHCPACK" "$WORK/dnsmasq.log" || fail "dnsmasq acked no lease"
grep -q "query.*intranet-server" "$WORK/dnsmasq.log" || fail "the name was not asked to dnsmasq"
echo "vpn: intranet-server through cmd://vde_plug with DHCP and DNS: ok"

if ! "$TN" stack --help >/dev/null 2>&1; then
  echo "vpn: 'threadnet stack' not available in this launcher: --stack lan=host step not run"
  exit 0
fi
timeout 120 "${V[@]}" --net "$URL" --dhcp --stack lan=host -- bash -c '
  curl -sS --connect-timeout 3 --max-time 10 "http://127.0.0.1:$2/" >/dev/null 2>&1 &&
    { echo "the view default stack reached the host loopback"; exit 1; }
  "$1" stack lan -- curl -sS --fail --max-time 20 "http://127.0.0.1:$2/"' _ "$TN" "$LP" \
  >"$WORK/lan.out" 2>&1 || fail "--stack lan=host: $(cat "$WORK/lan.out")"
[ "$(cat "$WORK/lan.out")" = "host-loopback-$$" ] || fail "threadnet stack lan: got '$(cat "$WORK/lan.out")'"
echo "vpn: threadnet stack lan reaches the host loopback, the default stack does not: ok"
