#!/usr/bin/env bash
# --mesh across two hosts (issue 10): two network namespaces stand for two machines, joined
# by a veth pair the test makes; views in each join one VDE network over vxvde:// (VDE over
# IP multicast on that veth) and the Netsukuku router hooks them into one mesh.
#   namespace H1: views C (python3 http.server) and D      namespace H2: view A (curl)
#   H1 --veth (192.168.77.0/24, multicast 239.77.0.1)-- H2
# No address given to any view. Checks: the three hook into one gnode (one /24 of
# 10.0.0.0/8, three different addresses), A fetches C's page from C's mesh address, and
# the datagrams went over the veth (its counters grew by at least the page's size).
. "$(dirname "$0")/lib.sh"
need curl
need_root
need_mesh_router
H1=$(new_ns vx1) || exit 1
H2=$(new_ns vx2) || exit 1
ip -n "$H1" link add vxa type veth peer name vxb netns "$H2" || fail "veth $H1-$H2"
ip -n "$H1" addr add 192.168.77.1/24 dev vxa
ip -n "$H2" addr add 192.168.77.2/24 dev vxb
for x in "$H1 vxa" "$H2 vxb"; do
  set -- $x
  ip -n "$1" link set "$2" up multicast on || fail "link up $2 in $1"
  # vxvde sends to the group: it needs a route for it (there is no default route here)
  ip -n "$1" route add 224.0.0.0/4 dev "$2" || fail "multicast route in $1"
done
URL=vxvde://239.77.0.1
MESH=(--mesh --net "$URL" --mesh-radar-interval 200ms --mesh-radar-timeout 100ms
      --mesh-radar-pings 4 --mesh-qspn-wait 200ms --mesh-qspn-wait-round 2s
      --mesh-hook-wait 200ms --mesh-verbose --wait-net 20)
# in_ns NS VIEW-ARGS...: a view in namespace NS, in the background (its pid in PIDS).
in_ns() { local ns=$1; shift; bg ip netns exec "$ns" "${V[@]}" "$@"; }
# addr_loop NAME: writes the view's `ip -4 -o addr` into $WORK/NAME.addr every 0.3 s (at
# most 6 minutes): an address can change after the hook (two gnodes that met fuse).
addr_loop() {
  echo "for i in \$(seq 1200); do ip -4 -o addr >$WORK/$1.tmp 2>&1 && mv -f $WORK/$1.tmp $WORK/$1.addr; sleep 0.3; done &"
}
mesh_addr() { grep -oE "eth0 +inet 10\.[0-9]+\.[0-9]+\.[0-9]+" "$WORK/$1.addr" 2>/dev/null | awk '{print $3}' | head -1; }
rx_bytes() { ip netns exec "$H2" cat /sys/class/net/vxb/statistics/rx_bytes; }
g() { echo "${1%.*}"; }

http_root "$WORK/www" "a page from the other host"
$PY -c 'print("x" * 200000)' >"$WORK/www/big.txt"
in_ns "$H1" "${MESH[@]}" -- sh -c "$(addr_loop c) exec $PY -m http.server --bind 0.0.0.0 -d $WORK/www 8080" \
  >"$WORK/c.log" 2>&1
in_ns "$H1" "${MESH[@]}" -- sh -c "$(addr_loop d) exec sleep 360" >"$WORK/d.log" 2>&1
# A: its addresses, and on request ($WORK/a.req holds a URL) a fetch of that URL into
# $WORK/a.out with curl's exit code in $WORK/a.rc and its routes after it in a.route.
cat >"$WORK/a.sh" <<A
$(addr_loop a)
for n in \$(seq 1800); do
  if [ -f $WORK/a.req ]; then
    url=\$(cat $WORK/a.req); rm -f $WORK/a.req
    curl -sS --fail --connect-timeout 2 --max-time 20 "\$url" >$WORK/a.o 2>$WORK/a.err; echo \$? >$WORK/a.r
    ip -4 route >$WORK/a.route 2>&1
    mv -f $WORK/a.o $WORK/a.out; mv -f $WORK/a.r $WORK/a.rc
  fi
  [ -f $WORK/a.stop ] && exit 0
  sleep 0.2
done
A
in_ns "$H2" "${MESH[@]}" -- bash "$WORK/a.sh" >"$WORK/a.log" 2>&1
state() { echo "A=$(mesh_addr a) C=$(mesh_addr c) D=$(mesh_addr d); A's routes: $(tr '\n' ' ' <"$WORK/a.route" 2>/dev/null)"; }
# a_fetch URL: curl URL inside view A; its exit code, the body in $WORK/a.out.
a_fetch() {
  local i
  rm -f "$WORK/a.rc"
  echo "$1" >"$WORK/a.req.tmp" && mv -f "$WORK/a.req.tmp" "$WORK/a.req"
  for ((i = 0; i < 300; i++)); do [ -s "$WORK/a.rc" ] && return "$(cat "$WORK/a.rc")"; sleep 0.1; done
  fail "view A did not answer a fetch in 30 s: $(tail -5 "$WORK/a.log")"
}

# 1. One mesh: the three hook into one gnode (the same /24, three positions).
ok=
for ((i = 0; i < 60; i++)); do
  A=$(mesh_addr a) C=$(mesh_addr c) D=$(mesh_addr d)
  if [ -n "$A" ] && [ -n "$C" ] && [ -n "$D" ] && [ "$(g "$A")" = "$(g "$C")" ] && [ "$(g "$C")" = "$(g "$D")" ]; then
    ok=1
    break
  fi
  sleep 0.5
done
[ -n "$ok" ] || fail "the views did not hook into one gnode in 30 s: $(state)"
[ "$A" != "$C" ] && [ "$A" != "$D" ] && [ "$C" != "$D" ] || fail "two views took one address: $(state)"

# 2. A (host 2) fetches C's page (host 1) from C's mesh address, once QSPN brings the route.
ok=
for ((i = 0; i < 20; i++)); do
  C=$(mesh_addr c)
  if a_fetch "http://$C:8080/" && grep -qF "a page from the other host" "$WORK/a.out"; then ok=1; break; fi
  sleep 1
done
[ -n "$ok" ] || fail "curl in H2 never fetched C's page over vxvde: $(cat "$WORK/a.err" 2>/dev/null); $(state); A: $(tail -5 "$WORK/a.log")"
rx0=$(rx_bytes)
a_fetch "http://$C:8080/big.txt" || fail "curl in H2 did not fetch C's 200 kB file: $(cat "$WORK/a.err"); $(state)"
cmp -s "$WORK/a.out" "$WORK/www/big.txt" || fail "the 200 kB file arrived different ($(stat -c %s "$WORK/a.out") bytes)"
touch "$WORK/a.stop"
A=$(mesh_addr a) D=$(mesh_addr d)
rx=$(($(rx_bytes) - rx0))
[ "$rx" -ge 200000 ] || fail "only $rx bytes came over the veth into H2: the page did not cross it"
echo "mesh_vxvde: A ($A, host 2) fetched 200 kB from C ($C, host 1) over vxvde, D at $D, one gnode; $rx bytes over the veth: ok"
