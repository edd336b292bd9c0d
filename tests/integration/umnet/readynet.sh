#!/usr/bin/env bash
# A ready network (issue 18): with --dhcp / --slaac the program starts once the view has
# its lease / a usable global address (--wait-net, default 10 s), so unmodified programs
# that do not retry succeed with no sleep: curl without --retry and headless chromium on a
# DHCP view, curl over IPv6 on a SLAAC view. Topology as realnet.sh: a tap in namespace
# CL bridged to a veth whose peer in RT has dnsmasq (DHCPv4 + RA) and an http server.
. "$(dirname "$0")/lib.sh"
need curl
[ "${TN_VIEW:-}" = kernel ] && skip "TN_VIEW=kernel cannot stand in for --dhcp --slaac"
router_lan tnrd0 84
echo "ready-page-$$" >"$WORK/www/page.txt"
printf '<html><body><div id="m">ready-dom-%s</div></body></html>\n' "$$" >"$WORK/www/index.html"
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
