#!/usr/bin/env bash
# Scenario 6, `ip` inside a view: unmodified iproute2 (NETLINK_ROUTE, answered by the
# view) shows the view's own stack: the address given with --ip, the connected route and
# the default route of --gw, and no host interface. `ip addr add` inside a view adds an
# address the stack then answers on: a server binds it, another view connects and pings.
. "$(dirname "$0")/lib.sh"
need curl
need ip
# `ip addr add` runs inside the views: as root, the views also run in a throwaway network
# namespace, so that if the view ever failed to trap a netlink call the change would land
# there and never on the host's interfaces (vde_switch is reached by its socket path).
if [ "$(id -u)" = 0 ] && [ "${TN_VIEW:-}" != kernel ]; then V=(unshare -n -- "${V[@]}"); fi
SW=$(new_switch sw) || exit 1

timeout 60 "${V[@]}" --net "$SW" --ip 10.79.0.1/24 --gw 10.79.0.254 -- \
  sh -c 'ip -o addr show; echo ROUTES; ip route show' >"$WORK/ip.out" 2>&1 ||
  fail "ip in a view: $(cat "$WORK/ip.out")"
cat "$WORK/ip.out"
grep -q "inet 10.79.0.1/24 " "$WORK/ip.out" || fail "ip addr does not show the view's 10.79.0.1/24"
grep -Eq "^10.79.0.0/24 dev " "$WORK/ip.out" || fail "ip route does not show 10.79.0.0/24"
grep -Eq "^default via 10.79.0.254 " "$WORK/ip.out" || fail "ip route does not show the --gw default route"
# Nothing of the host leaks in: none of the host's global addresses is listed.
for a in $(ip -o addr show scope global | awk '{print $4}'); do
  grep -q "inet6\? $a " "$WORK/ip.out" && fail "host address $a visible inside the view"
done

# ip addr add inside the view, then a server on the new address.
bgview --net "$SW" --ip 10.79.0.2/24 -- sh -c '
  dev=$(ip -o link show | awk -F": " "\$2 != \"lo\" {sub(/@.*/, \"\", \$2); print \$2; exit}")
  echo "device $dev"
  ip addr add 10.79.0.7/24 dev "$dev" || exit 1
  ip -o addr show dev "$dev"
  cd "$1" && exec "$2" -u -m http.server --bind 10.79.0.7 80' _ "$WORK" "$PY" >"$WORK/srv.log" 2>&1
echo marker-$$ >"$WORK/page.txt"
wait_log "$WORK/srv.log" "Serving HTTP" 20
grep -q "inet 10.79.0.7/24" "$WORK/srv.log" || fail "ip addr add did not show the address: $(cat "$WORK/srv.log")"
got=$(timeout 60 "${V[@]}" --net "$SW" --ip 10.79.0.3/24 -- "${CURL[@]}" http://10.79.0.7/page.txt 2>&1) ||
  fail "connect to the address added with ip addr add: $got; server: $(cat "$WORK/srv.log")"
[ "$got" = "marker-$$" ] || fail "got '$got' from 10.79.0.7"
# The stack answers ICMP echo on the added address too (iputils ping, ICMP datagram socket).
if command -v ping >/dev/null; then
  out=$(timeout 60 "${V[@]}" --net "$SW" --ip 10.79.0.4/24 -- ping -c 2 -W 5 10.79.0.7 2>&1) ||
    fail "ping 10.79.0.7 from another view: $out"
  echo "$out" | grep -q " 2 received" || fail "ping: $out"
fi
echo "ipcmd: ip addr/route show the view, ip addr add serves: ok"
