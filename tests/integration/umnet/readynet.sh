#!/usr/bin/env bash
# A ready network (issue 18): with --dhcp / --slaac the program starts once the view has
# its lease / a usable global address (--wait-net, default 10 s), so unmodified programs
# that do not retry succeed with no sleep: curl without --retry and headless chromium on a
# DHCP view, curl over IPv6 on a SLAAC view. Topology as realnet.sh: a tap in namespace
# CL bridged to a veth whose peer in RT has dnsmasq (DHCPv4 + RA) and an http server.
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
ip -n $CL tuntap add tnrd0 mode tap || fail "tuntap add in $CL"
ip -n $CL link add br0 type bridge || fail "bridge in $CL"
ip -n $CL link add vc type veth peer name vr netns $RT || fail "veth $CL-$RT"
for i in tnrd0 vc; do ip -n $CL link set $i master br0 && ip -n $CL link set $i up; done
ip -n $CL link set br0 up
ip -n $RT addr add 10.84.0.1/24 dev vr
ip -n $RT addr add fd00:84::1/64 dev vr nodad
ip -n $RT link set vr up
bg ip netns exec $RT /usr/sbin/dnsmasq --no-daemon --conf-file=/dev/null --port=0 \
  --interface=vr --bind-interfaces --user=root --dhcp-leasefile="$WORK/leases" \
  --pid-file="$WORK/dnsmasq.pid" --dhcp-range=10.84.0.50,10.84.0.150,255.255.255.0,10m \
  --dhcp-range=fd00:84::,ra-only,64,10m --enable-ra --ra-param=vr,4 --log-dhcp \
  >"$WORK/dnsmasq.log" 2>&1
mkdir -p "$WORK/www"
echo "ready-page-$$" >"$WORK/www/page.txt"
printf '<html><body><div id="m">ready-dom-%s</div></body></html>\n' "$$" >"$WORK/www/index.html"
bg ip netns exec $RT $PY -u -m http.server --bind :: --directory "$WORK/www" 80 >"$WORK/http.log" 2>&1
wait_log "$WORK/http.log" "Serving HTTP" 20
wait_log "$WORK/dnsmasq.log" "started" 10
# One try each, no --retry, no sleep: the view must be configured when the program starts.
ONCE=(curl -sS --fail --connect-timeout 5 --max-time 10)
out=$(timeout 60 ip netns exec $CL "${V[@]}" --net tap://tnrd0 --dhcp -- "${ONCE[@]}" \
  http://10.84.0.1/page.txt 2>&1) || fail "curl on a DHCP view (rc $?): $out; dnsmasq: $(tail -5 "$WORK/dnsmasq.log")"
[ "$out" = "ready-page-$$" ] || fail "curl on a DHCP view got: $out"
out=$(timeout 60 ip netns exec $CL "${V[@]}" --net tap://tnrd0 --slaac -- "${ONCE[@]}" -g \
  "http://[fd00:84::1]/page.txt" 2>&1) || fail "curl on a SLAAC view (rc $?): $out"
[ "$out" = "ready-page-$$" ] || fail "curl on a SLAAC view got: $out"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$CHROMIUM" ]; then
  mkdir -p "$WORK/home"
  HOME=$WORK/home timeout 150 ip netns exec $CL "${V[@]}" --net tap://tnrd0 --dhcp -- \
    "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$WORK/profile" --dump-dom http://10.84.0.1/index.html \
    >"$WORK/dom.html" 2>"$WORK/chromium.err"
  rc=$?
  grep -q "ready-dom-$$" "$WORK/dom.html" ||
    fail "chromium on a DHCP view (rc $rc): $(grep -v dbus "$WORK/chromium.err" | tail -10)"
else
  echo "note: chromium not installed: only curl checked"
fi
echo "readynet: curl and chromium on DHCP/SLAAC views worked on the first try: ok"
