#!/usr/bin/env bash
# Scenario 4, a view as a client of a real (kernel) network: namespace CL holds a tap and a
# bridge joining it to a veth whose peer is in namespace RT, the "router": kernel IPv4 and
# IPv6 addresses, dnsmasq serving DHCPv4 and router advertisements (enable-ra, SLAAC
# prefix fd00:82::/64), and a dual-stack python http server. The supervisor runs inside
# CL (it opens the tap there: tap://NAME); the view configures itself with --dhcp --slaac
# and fetches the page over IPv4 and over IPv6.
. "$(dirname "$0")/lib.sh"
need_root
need curl
[ -x /usr/sbin/dnsmasq ] || skip "dnsmasq (package dnsmasq-base) not installed"
[ -w /dev/net/tun ] || skip "/dev/net/tun not available"
[ "${TN_VIEW:-}" = kernel ] && skip "TN_VIEW=kernel cannot stand in for --dhcp --slaac"
CL=$(new_ns cl) || exit 1
RT=$(new_ns rt) || exit 1
for n in $CL $RT; do
  ip netns exec $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip -n $CL tuntap add tnrn0 mode tap || fail "tuntap add in $CL"
ip -n $CL link add br0 type bridge || fail "bridge in $CL"
ip -n $CL link add vc type veth peer name vr netns $RT || fail "veth $CL-$RT"
for i in tnrn0 vc; do ip -n $CL link set $i master br0 && ip -n $CL link set $i up; done
ip -n $CL link set br0 up
ip -n $RT addr add 10.82.0.1/24 dev vr
ip -n $RT addr add fd00:82::1/64 dev vr nodad
ip -n $RT link set vr up

bg ip netns exec $RT /usr/sbin/dnsmasq --no-daemon --conf-file=/dev/null --port=0 \
  --interface=vr --bind-interfaces --user=root --dhcp-leasefile="$WORK/leases" \
  --pid-file="$WORK/dnsmasq.pid" --dhcp-range=10.82.0.50,10.82.0.150,255.255.255.0,10m \
  --dhcp-range=fd00:82::,ra-only,64,10m --enable-ra --ra-param=vr,4 --log-dhcp \
  >"$WORK/dnsmasq.log" 2>&1
mkdir -p "$WORK/www" && echo "router-page-$$" >"$WORK/www/page.txt"
bg ip netns exec $RT $PY -u -m http.server --bind :: --directory "$WORK/www" 80 >"$WORK/http.log" 2>&1
wait_log "$WORK/http.log" "Serving HTTP" 20
wait_log "$WORK/dnsmasq.log" "started" 10

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
