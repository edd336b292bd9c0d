#!/usr/bin/env bash
# Scenario 4, a view as a client of a real (kernel) network: namespace CL holds a tap and a
# bridge joining it to a veth whose peer is in namespace RT, the "router": kernel IPv4 and
# IPv6 addresses, dnsmasq serving DHCPv4 and router advertisements (enable-ra, SLAAC
# prefix fd00:82::/64), and a dual-stack python http server. The supervisor runs inside
# CL (it opens the tap there: tap://NAME); the view configures itself with --dhcp --slaac
# and fetches the page over IPv4 and over IPv6.
. "$(dirname "$0")/lib.sh"
need curl
[ "${TN_VIEW:-}" = kernel ] && skip "TN_VIEW=kernel cannot stand in for --dhcp --slaac"
router_lan tnrn0 82
echo "router-page-$$" >"$WORK/www/page.txt"

timeout 150 ip netns exec $CL "${V[@]}" --net tap://tnrn0 --dhcp --slaac -- bash -c '
  "${@:2}" http://10.82.0.1/page.txt >"$1/got4" || { echo "IPv4 fetch failed"; exit 1; }
  "${@:2}" -g "http://[fd00:82::1]/page.txt" >"$1/got6" || { echo "IPv6 fetch failed"; exit 1; }
  ip -o addr show' _ "$WORK" "${CURL[@]}" >"$WORK/view.log" 2>&1 ||
  fail "view on tap://tnrn0: $(cat "$WORK/view.log"); dnsmasq: $(tail -20 "$WORK/dnsmasq.log")"
cat "$WORK/view.log"
for f in got4 got6; do
  [ "$(cat "$WORK/$f")" = "router-page-$$" ] || fail "$f: '$(cat "$WORK/$f")'"
done
grep -q "inet 10.82.0.\([5-9][0-9]\|1[0-4][0-9]\|150\)/24" "$WORK/view.log" ||
  fail "the view does not show a DHCP address from 10.82.0.50-150"
grep -q "inet6 fd00:82::[0-9a-f:]*/64" "$WORK/view.log" || fail "the view does not show a SLAAC address"
grep -q "DHCPACK" "$WORK/dnsmasq.log" || fail "dnsmasq acked no lease"
echo "realnet: DHCPv4 + SLAAC through a tap, page over IPv4 and IPv6: ok"
