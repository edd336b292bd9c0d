#!/usr/bin/env bash
# --mesh with unmodified programs (issue 10): three views on two vde_switches, no address
# given anywhere; the Netsukuku router plug-in hooks each one and routes.
#   A --sw1-- B --sw2-- C        (B: --net sw1 --net sw2; every view --mesh --wait-net)
#   python3 http.server in C; curl in A fetches its page from C's mesh address, and A's
#   route to C goes through B. Killing B makes that route disappear from A's `ip route`
#   (within a bound) and the fetch fail; a second B restores both.
# Short timers (time compressed). A is one long-lived view running a small loop that writes
# its `ip route` every 0.2 s and runs the fetches the test asks for (files in $WORK), so the
# same node is watched before, during and after B's death.
. "$(dirname "$0")/lib.sh"
need curl
need_mesh_router
SW1=$(new_switch sw1) || exit 1
SW2=$(new_switch sw2) || exit 1
MESH=(--mesh --mesh-radar-interval 200ms --mesh-radar-timeout 100ms --mesh-radar-pings 4
      --mesh-qspn-wait 200ms --mesh-qspn-wait-round 2s --mesh-hook-wait 200ms --mesh-verbose
      --wait-net 20)

# addr_loop NAME: a view's program prefix that writes the view's `ip -4 -o addr` into
# $WORK/NAME.addr every 0.5 s (at most 10 minutes) beside the program it then becomes.
addr_loop() {
  echo "for i in \$(seq 1200); do ip -4 -o addr >$WORK/$1.tmp 2>&1 && mv -f $WORK/$1.tmp $WORK/$1.addr; sleep 0.5; done &"
}
# mesh_addr NAME: the view's address from the hook (10.x.y.z), or nothing.
mesh_addr() { grep -oE "eth0 +inet 10\.[0-9]+\.[0-9]+\.[0-9]+" "$WORK/$1.addr" 2>/dev/null | awk '{print $3}' | head -1; }
# gateways_to ADDR: the gateways of A's routes that hold ADDR (with a gateway: not the
# realm's on-link route), one per line, from A's last `ip -4 route`.
gateways_to() {
  $PY - "$1" "$WORK/a.route" <<'PY'
import ipaddress, sys
dst = ipaddress.ip_address(sys.argv[1])
cur, out = None, []
for line in open(sys.argv[2]).read().splitlines():
    f = line.split()
    if not f:
        continue
    if not line[0].isspace():
        p = "0.0.0.0/0" if f[0] == "default" else f[0]
        try:
            cur = dst in ipaddress.ip_network(p, strict=False)
        except ValueError:
            cur = False
    if cur and "via" in f:
        out.append(f[f.index("via") + 1])
print("\n".join(out))
PY
}
start_b() {  # start_b TAG: view B on both switches; waits until it is hooked
  rm -f "$WORK/$1.addr"
  bgview --net "$SW1" --net "$SW2" "${MESH[@]}" -- sh -c "$(addr_loop "$1") exec sleep 600" \
    >"$WORK/$1.log" 2>&1
  B=$!
  wait_file "$WORK/$1.addr" 30
  [ -n "$(mesh_addr "$1")" ] || fail "view $1 has no mesh address: $(cat "$WORK/$1.addr"); $(tail -5 "$WORK/$1.log")"
}
# a_fetch URL: curl URL inside view A; its exit code, the output in $WORK/a.out.
a_fetch() {
  local i
  rm -f "$WORK/a.rc"
  echo "$1" >"$WORK/a.req.tmp" && mv -f "$WORK/a.req.tmp" "$WORK/a.req"
  for ((i = 0; i < 150; i++)); do [ -s "$WORK/a.rc" ] && return "$(cat "$WORK/a.rc")"; sleep 0.1; done
  fail "view A did not answer a fetch in 15 s: $(tail -5 "$WORK/a.log")"
}

http_root "$WORK/www" "a page across the mesh"
start_b b1
B1=$B
bgview --net "$SW2" "${MESH[@]}" -- sh -c "$(addr_loop c) exec $PY -m http.server --bind 0.0.0.0 -d $WORK/www 8080" \
  >"$WORK/c.log" 2>&1
wait_file "$WORK/c.addr" 30
cat >"$WORK/a.sh" <<A
for n in \$(seq 3000); do
  ip -4 route >$WORK/a.rt 2>&1 && mv -f $WORK/a.rt $WORK/a.route
  if [ -f $WORK/a.req ]; then
    url=\$(cat $WORK/a.req); rm -f $WORK/a.req
    curl -sS --connect-timeout 2 --max-time 5 "\$url" >$WORK/a.o 2>&1; echo \$? >$WORK/a.r
    # the routes as they are after the fetch: curl retries its SYN, so a route that came
    # during the fetch must be in the table the test reads with the answer
    ip -4 route >$WORK/a.rt 2>&1 && mv -f $WORK/a.rt $WORK/a.route
    mv -f $WORK/a.o $WORK/a.out; mv -f $WORK/a.r $WORK/a.rc
  fi
  [ -f $WORK/a.stop ] && exit 0
  sleep 0.2
done
A
bgview --net "$SW1" "${MESH[@]}" -- bash "$WORK/a.sh" >"$WORK/a.log" 2>&1
wait_file "$WORK/a.route" 30
state() { echo "A: $(tr '\n' ' ' <"$WORK/a.route"); C: $(mesh_addr c); B: $(mesh_addr b1) $(mesh_addr b2)"; }

# 1. A fetches C's page through B (the mesh converges within a few rounds of 2 s).
ok=
for ((i = 0; i < 20; i++)); do
  C=$(mesh_addr c)
  if [ -n "$C" ] && a_fetch "http://$C:8080/" && grep -qF "a page across the mesh" "$WORK/a.out"; then ok=1; break; fi
  sleep 1
done
[ -n "$ok" ] || fail "curl in A never reached C ($(state)); last: $(cat "$WORK/a.out" 2>/dev/null); A: $(tail -5 "$WORK/a.log")"
gw=$(gateways_to "$C")
[ -n "$gw" ] || fail "A fetched C's page but has no route to $C: $(state)"
B1ADDRS=$(grep -oE "inet 10\.[0-9.]+" "$WORK/b1.addr" | awk '{print $2}')
for g in $gw; do
  grep -qxF "$g" <<<"$B1ADDRS" || fail "A's route to C goes through $g, not B ($(tr '\n' ' ' <<<"$B1ADDRS")): $(state)"
done

# 2. B dies (SIGKILL: its supervisor and with it the whole tree, no goodbye): A's route to
# C goes (radar: a lost neighbour within a scan), the fetch fails.
kill -9 "$B1"; wait "$B1" 2>/dev/null
t0=$(date +%s%N)
for ((i = 0; i < 150; i++)); do
  [ -z "$(gateways_to "$C")" ] && break
  sleep 0.1
done
ms=$((($(date +%s%N) - t0) / 1000000))
[ -z "$(gateways_to "$C")" ] || fail "A still routes to C 15 s after B died: $(state)"
if a_fetch "http://$C:8080/"; then fail "A still fetched C's page with B dead: $(state)"; fi
echo "mesh: A's route to C gone $ms ms after B died"

# 3. A second B restores the route and the fetch.
start_b b2
ok=
for ((i = 0; i < 30; i++)); do
  if [ -n "$(gateways_to "$C")" ] && a_fetch "http://$C:8080/" && grep -qF "a page across the mesh" "$WORK/a.out"; then ok=1; break; fi
  sleep 1
done
[ -n "$ok" ] || fail "a new B did not restore A's way to C: $(state); last: $(cat "$WORK/a.out" 2>/dev/null); B2: $(tail -5 "$WORK/b2.log")"
[ "$(mesh_addr c)" = "$C" ] || fail "C's address changed from $C: $(state)"
touch "$WORK/a.stop"
echo "mesh: A reaches C through B on three --mesh views, loses the route when B dies, a new B restores it: ok"
