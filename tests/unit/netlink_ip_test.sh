#!/bin/bash
# End-to-end: the real iproute2 `ip` binary, its netlink sockets answered by the umnet
# emulation over a libstack Stack (netlink_ip_shim.so via LD_PRELOAD). Exit 77 = skipped.
# usage: netlink_ip_test.sh IP_BINARY SHIM_SO
set -u
# The commands below change interfaces (`link set lo down`, `addr add`): should the shim
# ever fail to intercept, they must hit a throwaway network namespace, never the host's.
if [ -z "${TN_NETLINK_TEST_NETNS:-}" ]; then
  export TN_NETLINK_TEST_NETNS=1
  if [ "$(id -u)" = 0 ]; then exec unshare -n -- "$0" "$@"; fi
  exec unshare -rn -- "$0" "$@" 2>/dev/null || { echo "SKIP: cannot make a network namespace (unshare -rn)"; exit 77; }
fi
IP=$1
SHIM=$2
if [ ! -x "$IP" ]; then echo "SKIP: no iproute2 ip binary at '$IP'"; exit 77; fi
# Sanitizer builds: the sanitizer runtimes must be loaded before the shim.
PRE=""
for rt in libasan libubsan; do
  lib=$(ldd "$SHIM" | awk -v r="$rt" '$1 ~ r {print $3}')
  [ -n "$lib" ] && PRE="$PRE $lib"
done
# ip itself is not instrumented and has its own harmless overlaps (strncpy onto itself in
# print_route): check our shim, not libc string calls made by ip.
export ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0:replace_str=0:replace_intrin=0
fail=0
run() {  # run IP ARGS...: prints output, returns ip's status
  LD_PRELOAD="$PRE $SHIM" timeout 10 "$IP" "$@" 2>&1
}
expect() {  # expect "needle" ARGS...
  local needle=$1; shift
  local out
  out=$(run "$@")
  if ! grep -qF -- "$needle" <<<"$out"; then
    echo "FAIL: 'ip $*' lacks '$needle'; output:"; echo "$out"; fail=1
  else
    echo "ok: ip $* -> $needle"
  fi
}
expect "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536" link
expect "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500" link
expect "link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff" link show eth0
expect "inet 10.0.0.1/24 brd 10.0.0.255 scope global eth0" -4 addr
expect "inet 127.0.0.1/8 scope host lo" -4 addr show dev lo
expect "inet6 2001:db8::1/64 scope global" -6 addr
expect "default via 10.0.0.254 dev eth0" route
expect "10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.1" route
expect "2001:db8::/64 dev eth0 proto kernel metric 256" -6 route
expect "10.0.0.5 dev eth0 src 10.0.0.1" route get 10.0.0.5
expect "8.8.8.8 via 10.0.0.254 dev eth0 src 10.0.0.1" route get 8.8.8.8
expect "10.0.0.254 dev eth0 INCOMPLETE" neigh
expect "32766:	from all lookup main" rule
expect "inet6 ::1/128 scope host" addr
expect "RTNETLINK answers: File exists" addr add 10.0.0.1/24 dev eth0
expect "RTNETLINK answers: Operation not supported" link set lo down
expect "Cannot find device \"eth9\"" addr add 10.0.0.9/24 dev eth9
# Changes within one process (state lives in the shim's Stack): ip -batch.
batch=$(printf 'addr add 10.5.0.1/24 dev eth0\nroute add 192.168.9.0/24 via 10.0.0.254\nlink set eth0 mtu 1400\naddr show dev eth0\nroute\naddr del 10.0.0.1/24 dev eth0\nroute\n')
out=$(LD_PRELOAD="$PRE $SHIM" timeout 10 "$IP" -batch - <<<"$batch" 2>&1)
for needle in "inet 10.5.0.1/24 brd 10.5.0.255 scope global eth0" "192.168.9.0/24 via 10.0.0.254 dev eth0" \
              "mtu 1400" "10.5.0.0/24 dev eth0 proto kernel scope link src 10.5.0.1"; do
  if grep -qF -- "$needle" <<<"$out"; then echo "ok: batch -> $needle"; else echo "FAIL: batch lacks '$needle'"; fail=1; fi
done
# After `addr del`, the last `route` no longer lists 10.0.0.0/24 (the connected route
# went with the address): it appears exactly once, from the first `route`.
n=$(grep -cF "10.0.0.0/24 dev eth0" <<<"$out")
if [ "$n" = 1 ]; then echo "ok: connected route removed with its address"; else echo "FAIL: 10.0.0.0/24 listed $n times"; fail=1; fi
[ $fail = 0 ] || { echo "--- batch output:"; echo "$out"; }
# Flushes: dump, then one delete per entry echoing every dumped attribute.
out=$(printf 'route flush table main\nroute\naddr flush dev eth0\naddr show dev eth0\n' |
      LD_PRELOAD="$PRE $SHIM" timeout 10 "$IP" -batch - 2>&1)
rc=$?
if [ $rc = 0 ] && grep -qF "2: eth0:" <<<"$out" && ! grep -qE "inet|via|scope link" <<<"$out"; then
  echo "ok: route flush + addr flush emptied the Stack"
else
  echo "FAIL: flush (rc $rc):"; echo "$out"; fail=1
fi
exit $fail
