#!/usr/bin/env bash
# Netlink sockets and interface ioctls of a view, under the real supervisor: real iproute2
# `ip` and a C probe (getifaddrs, if_nametoindex, getaddrinfo(AI_ADDRCONFIG), SIOCGIF*,
# raw netlink socket semantics) run under `threadnet run -m` with the nlsock test module,
# whose Stack has lo + tnv0 (02:00:00:09:00:02, 10.9.0.2/24, fd00:9::2/64, default routes
# via 10.9.0.1 / fd00:9::1, an INCOMPLETE neighbour 10.9.0.1). Checks that the view shows up, the host does not, and that
# changes made with `ip` land in the Stack (the module writes the Stack's own state on exit).
set -uo pipefail
: "${TN:?threadnet launcher}" "${NLSOCK_MOD:?nlsock test module}" "${PROBE:?nlsock_probe}"
IP=${IP:-$(command -v ip)}
[ -x "$IP" ] || { echo "SKIP: iproute2 ip not installed"; exit 77; }
WORK=$(mktemp -d /tmp/tn-nlsock-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
run() { timeout 30 "$TN" run -m "$NLSOCK_MOD" "$@"; }
# has TEXT FILE / hasnt TEXT FILE: fixed-string checks on a captured output.
has() { grep -qF -- "$1" "$2" || fail "$2: expected '$1' in: $(tr '\n' '|' <"$2")"; }
hasnt() { ! grep -qF -- "$1" "$2" || fail "$2: unexpected '$1' in: $(tr '\n' '|' <"$2")"; }

# The host's own names and addresses (other than loopback), which the view must not show.
mapfile -t HOST_IFS < <("$IP" -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | grep -vx lo)
mapfile -t HOST_ADDRS < <("$IP" -o addr show | awk '{print $4}' | grep -vxE '127\.0\.0\.1/8|::1/128')
HOST_IF=${HOST_IFS[0]:-tn-none0}
no_host() {  # no_host FILE
  local x
  for x in "${HOST_IFS[@]}"; do grep -qE "(^|[ :])$x([ :@]|$)" "$1" && fail "$1: host interface $x visible"; done
  for x in "${HOST_ADDRS[@]}"; do hasnt "$x" "$1"; done
  return 0
}

# --- ip show commands -----------------------------------------------------------------
run -- "$IP" addr >"$WORK/addr" 2>&1 || fail "ip addr exited $?"
has "tnv0:" "$WORK/addr"; has "inet 10.9.0.2/24 brd 10.9.0.255 scope global tnv0" "$WORK/addr"
has "inet6 fd00:9::2/64 scope global" "$WORK/addr"; has "link/ether 02:00:00:09:00:02" "$WORK/addr"
has "inet 127.0.0.1/8 scope host lo" "$WORK/addr"; no_host "$WORK/addr"
run -- "$IP" -6 addr >"$WORK/addr6" 2>&1 || fail "ip -6 addr exited $?"
has "inet6 fd00:9::2/64" "$WORK/addr6"; hasnt "10.9.0.2" "$WORK/addr6"; no_host "$WORK/addr6"
run -- "$IP" route >"$WORK/route" 2>&1 || fail "ip route exited $?"
has "default via 10.9.0.1 dev tnv0" "$WORK/route"
has "10.9.0.0/24 dev tnv0 proto kernel scope link src 10.9.0.2" "$WORK/route"; no_host "$WORK/route"
run -- "$IP" -6 route >"$WORK/route6" 2>&1 || fail "ip -6 route exited $?"
has "default via fd00:9::1 dev tnv0" "$WORK/route6"; has "fd00:9::/64 dev tnv0" "$WORK/route6"
no_host "$WORK/route6"
run -- "$IP" link >"$WORK/link" 2>&1 || fail "ip link exited $?"
has "2: tnv0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500" "$WORK/link"; no_host "$WORK/link"
run -- "$IP" neigh >"$WORK/neigh" 2>&1 || fail "ip neigh exited $?"
has "10.9.0.1 dev tnv0 INCOMPLETE" "$WORK/neigh"; no_host "$WORK/neigh"
run -- "$IP" route get 192.0.2.99 >"$WORK/get" 2>&1 || fail "ip route get exited $?"
has "via 10.9.0.1 dev tnv0 src 10.9.0.2" "$WORK/get"

# --- changes through ip, checked with ip and in the Stack itself ----------------------
run --nlt-state "$WORK/state1" -- sh -c "
  '$IP' addr add 10.9.0.7/24 dev tnv0 && '$IP' route add 192.168.77.0/24 via 10.9.0.1 &&
  '$IP' link set dev tnv0 mtu 1400 && '$IP' link set dev tnv0 down && '$IP' link show tnv0 &&
  '$IP' link set tnv0 up && '$IP' addr && '$IP' route" >"$WORK/chg" 2>&1 || fail "changes exited $?"
has "inet 10.9.0.7/24" "$WORK/chg"; has "192.168.77.0/24 via 10.9.0.1 dev tnv0" "$WORK/chg"
has "tnv0: <BROADCAST,MULTICAST> mtu 1400 qdisc noqueue state DOWN" "$WORK/chg"
has "tnv0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400" "$WORK/chg"
[ -s "$WORK/state1" ] || fail "the test module wrote no Stack state"
has "addr 2 10.9.0.7/24" "$WORK/state1"; has "route 192.168.77.0/24 via 10.9.0.1 dev 2" "$WORK/state1"
has "link 2 tnv0 mtu 1400 up" "$WORK/state1"
run --nlt-state "$WORK/state2" -- sh -c "
  '$IP' addr add 10.9.0.7/24 dev tnv0 && '$IP' addr del 10.9.0.7/24 dev tnv0 &&
  '$IP' route add 192.168.77.0/24 via 10.9.0.1 && '$IP' route del 192.168.77.0/24 &&
  '$IP' -4 addr && '$IP' route" >"$WORK/del" 2>&1 || fail "deletions exited $?"
hasnt "10.9.0.7" "$WORK/del"; hasnt "192.168.77.0" "$WORK/del"
hasnt "10.9.0.7" "$WORK/state2"; hasnt "192.168.77.0" "$WORK/state2"; has "addr 2 10.9.0.2/24" "$WORK/state2"
run -- "$IP" addr add 10.9.0.2/24 dev tnv0 >"$WORK/dup" 2>&1
rc=$?
[ $rc -ne 0 ] || fail "adding an existing address succeeded"
has "File exists" "$WORK/dup"

# --- multipath routes (a router's, origin Mesh), as Linux prints the same routes -------
# The module's --nlt-mpath adds tnv1 (10.8.0.2/24, fd00:8::2/64) and two Mesh routes with
# weights 3 and 1; the view's `ip route` must print what Linux prints for those routes
# (made in a test-made namespace with proto ntk), before and after tnv1 goes down (Linux:
# "dead linkdown" on that hop), and a static `ip route add ... nexthop ...` likewise.
MP_SHOW="'$IP' route show 10.1.0.0/16; '$IP' -6 route show fd00:1::/48"
MP_ADD="'$IP' route add 10.3.0.0/16 nexthop via 10.9.0.1 dev tnv0 weight 2 nexthop via 10.8.0.1 dev tnv1"
MP_SCRIPT="$MP_SHOW; $MP_ADD; '$IP' route show 10.3.0.0/16; '$IP' link set tnv1 down; $MP_SHOW"
run --nlt-mpath --nlt-state "$WORK/mpstate" -- sh -c "$MP_SCRIPT" >"$WORK/mp_view" 2>&1 ||
  fail "multipath ip commands exited $?"
MP_NS=tn-nlsock-mp$$
if ip netns add "$MP_NS" 2>/dev/null; then
  ns() { ip -n "$MP_NS" "$@"; }
  ns link add tnv0 type veth peer name p0 && ns link add tnv1 type veth peer name p1 &&
    for d in tnv0 tnv1 p0 p1; do ns link set "$d" up; done &&
    ns addr add 10.9.0.2/24 dev tnv0 && ns addr add 10.8.0.2/24 dev tnv1 &&
    ns addr add fd00:9::2/64 dev tnv0 nodad && ns addr add fd00:8::2/64 dev tnv1 nodad &&
    ns route add 10.1.0.0/16 proto ntk nexthop via 10.9.0.1 dev tnv0 weight 3 nexthop via 10.8.0.1 dev tnv1 weight 1 &&
    ns -6 route add fd00:1::/48 proto ntk metric 1024 nexthop via fd00:9::1 dev tnv0 weight 3 nexthop via fd00:8::1 dev tnv1 weight 1 ||
    fail "could not build the Linux reference namespace"
  ip netns exec "$MP_NS" sh -c "$MP_SCRIPT" >"$WORK/mp_linux" 2>&1
  ip netns del "$MP_NS"
else
  echo "note: no network namespace for Linux's reference text; using the recorded one"
  printf '%s\n' '10.1.0.0/16 proto ntk ' '	nexthop via 10.9.0.1 dev tnv0 weight 3 ' \
    '	nexthop via 10.8.0.1 dev tnv1 weight 1 ' 'fd00:1::/48 proto ntk metric 1024 pref medium' \
    '	nexthop via fd00:9::1 dev tnv0 weight 3 ' '	nexthop via fd00:8::1 dev tnv1 weight 1 ' \
    '10.3.0.0/16 ' '	nexthop via 10.9.0.1 dev tnv0 weight 2 ' '	nexthop via 10.8.0.1 dev tnv1 weight 1 ' \
    '10.1.0.0/16 proto ntk ' '	nexthop via 10.9.0.1 dev tnv0 weight 3 ' \
    '	nexthop via 10.8.0.1 dev tnv1 weight 1 dead linkdown ' 'fd00:1::/48 proto ntk metric 1024 pref medium' \
    '	nexthop via fd00:9::1 dev tnv0 weight 3 ' '	nexthop via fd00:8::1 dev tnv1 weight 1 dead linkdown ' \
    >"$WORK/mp_linux"
fi
has "nexthop via 10.8.0.1 dev tnv1 weight 1 dead linkdown" "$WORK/mp_linux"
diff -u "$WORK/mp_linux" "$WORK/mp_view" >"$WORK/mp_diff" ||
  fail "ip route of multipath routes differs from Linux: $(cat "$WORK/mp_diff")"
has "route 10.1.0.0/16 via 0.0.0.0 dev 0 nexthop 10.9.0.1 dev 2 weight 3 nexthop 10.8.0.1 dev 3 weight 1" "$WORK/mpstate"
has "route 10.3.0.0/16 via 0.0.0.0 dev 0 nexthop 10.9.0.1 dev 2 weight 2 nexthop 10.8.0.1 dev 3 weight 1" "$WORK/mpstate"
run --nlt-mpath -- "$IP" route get 10.1.2.3 >"$WORK/mp_get" 2>&1 || fail "ip route get (multipath) exited $?"
has "10.1.2.3 via 10.9.0.1 dev tnv0 src 10.9.0.2" "$WORK/mp_get"
run --nlt-mpath --nlt-state "$WORK/mpstate2" -- sh -c "'$IP' route del 10.1.0.0/16 && '$IP' -6 route flush fd00:1::/48 && '$IP' route" \
  >"$WORK/mp_del" 2>&1 || fail "multipath deletion exited $?"
hasnt "10.1.0.0" "$WORK/mp_del"; hasnt "10.1.0.0" "$WORK/mpstate2"; hasnt "fd00:1::" "$WORK/mpstate2"

# --- the C library and the old ioctls ------------------------------------------------
run -- "$PROBE" ifaddrs >"$WORK/ifa" 2>&1 || fail "probe ifaddrs exited $?"
has "ifa tnv0 inet 10.9.0.2" "$WORK/ifa"; has "ifa tnv0 inet6 fd00:9::2" "$WORK/ifa"
has "ifa tnv0 packet" "$WORK/ifa"; has "ifa lo inet 127.0.0.1" "$WORK/ifa"; no_host "$WORK/ifa"
run -- "$PROBE" index tnv0 >"$WORK/idx" 2>&1 || fail "probe index exited $?"
has "index tnv0 2 tnv0" "$WORK/idx"
run -- "$PROBE" index "$HOST_IF" >"$WORK/idx2" 2>&1 || fail "probe index host exited $?"
has "index $HOST_IF 0 -" "$WORK/idx2"
run -- "$PROBE" ioctl tnv0 "$HOST_IF" >"$WORK/ioc" 2>&1 || fail "probe ioctl exited $?"
for l in "ifconf_needed 80" "ifconf tnv0 10.9.0.2" "ifconf lo 127.0.0.1" "addr 10.9.0.2" \
         "netmask 255.255.255.0" "hwaddr 02:00:00:09:00:02" "mtu 1500" "flags up" "host_if ENODEV"; do
  has "$l" "$WORK/ioc"
done
no_host "$WORK/ioc"
# AI_ADDRCONFIG follows the view: an IPv4-only view has no IPv6, an IPv6-only one no IPv4.
run --nlt-ip 10.9.0.2/24 --nlt-no-ll -- "$PROBE" gai >"$WORK/gai4" 2>&1 || fail "probe gai exited $?"
has "gai inet ok" "$WORK/gai4"; has "gai inet6 none" "$WORK/gai4"
run --nlt-ip fd00:9::2/64 -- "$PROBE" gai >"$WORK/gai6" 2>&1 || fail "probe gai6 exited $?"
has "gai inet none" "$WORK/gai6"; has "gai inet6 ok" "$WORK/gai6"

# --- socket semantics ---------------------------------------------------------------
run -- "$PROBE" raw >"$WORK/raw" 2>&1 || fail "probe raw exited $?"
for l in "so_type dgram" "so_domain netlink" "ext_ack 1" "bound pid len 12" "second unique" \
         "rebind_taken EADDRINUSE" "empty EAGAIN" "peek_trunc sized" "first_len match" \
         "from family netlink pid 0 namelen 12" "links 2 done 1" "short truncated"; do
  has "$l" "$WORK/raw"
done
run -- "$PROBE" block >"$WORK/block" 2>&1 || fail "probe block exited $?"
for l in "timeout EAGAIN" "signal EINTR" "write_then_dontwait answered" "to_user ECONNREFUSED" \
         "shutdown EOPNOTSUPP" "so_protocol 0"; do
  has "$l" "$WORK/block"
done
run -- "$PROBE" flood 3000 >"$WORK/flood" 2>&1 || fail "probe flood exited $?"
has "flood 3000 of 3000 in order" "$WORK/flood"
run -- "$PROBE" fork >"$WORK/fork" 2>&1 || fail "probe fork exited $?"
has "child 1" "$WORK/fork"; has "parent 1" "$WORK/fork"
# Many processes at once, each with its own socket.
# (each to its own file: their writes to one shared file may interleave mid-line)
run -- sh -c "for i in \$(seq 20); do '$IP' -br addr >'$WORK/par.'\$i 2>&1 & done; wait" || fail "parallel ip exited $?"
cat "$WORK"/par.* >"$WORK/par"
[ "$(grep -c '^tnv0 .*10.9.0.2/24' "$WORK/par")" = 20 ] || fail "parallel ip: $(sort "$WORK/par" | uniq -c | tr '\n' '|')"
# One socket, many requests (ip -batch keeps its socket), an error in the middle (-force).
printf 'addr add 10.9.1.1/24 dev tnv0\naddr add 10.9.0.2/24 dev tnv0\nroute add 10.50.0.0/16 via 10.9.1.254\nlink set tnv0 mtu 1280\n' >"$WORK/batch"
run --nlt-state "$WORK/state3" -- "$IP" -force -batch "$WORK/batch" >"$WORK/batch.out" 2>&1
[ $? -ne 0 ] || fail "ip -batch with a failing command exited 0"
has "File exists" "$WORK/batch.out"
has "addr 2 10.9.1.1/24" "$WORK/state3"; has "route 10.50.0.0/16 via 10.9.1.254 dev 2" "$WORK/state3"
has "link 2 tnv0 mtu 1280 up" "$WORK/state3"
# ifconfig (net-tools) by name: its ioctls see the view.
if command -v ifconfig >/dev/null; then
  run -- ifconfig tnv0 >"$WORK/ifconfig" 2>&1 || fail "ifconfig tnv0 exited $?"
  has "inet 10.9.0.2  netmask 255.255.255.0  broadcast 10.9.0.255" "$WORK/ifconfig"
  has "ether 02:00:00:09:00:02" "$WORK/ifconfig"
fi

[ $FAILS -eq 0 ] || { echo "$FAILS check(s) failed"; exit 1; }
echo "all nlsock checks passed"
