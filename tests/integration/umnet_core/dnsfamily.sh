#!/usr/bin/env bash
# DNS redirection whatever the families (issue 18): the C library asks the host's name
# servers of /etc/resolv.conf; a view whose only --dns server is of the other family must
# still get the answer. Two views on a vde_switch, DNS servers (dns_server.py on
# 0.0.0.0:53 and [::]:53) in one; the client resolves a name with getent
#  - with an IPv4-only resolv.conf and an IPv6-only --dns,
#  - with an IPv6-only resolv.conf and an IPv4-only --dns,
#  - and, for comparison, same-family in both.
# The host's resolv.conf is replaced in a private mount namespace of the test (root).
. "$(dirname "$0")/../umnet/lib.sh"
need_root
need getent
command -v unshare >/dev/null || skip "unshare (util-linux) missing"
HERE=$(cd "$(dirname "$0")" && pwd)
NET=$(new_switch sw) || exit 1
bg "$TN" run -m "$UMNET_MOD" --net "$NET" --ip 10.66.0.1/24 --ip fd00:66::1/64 -- sh -c \
  "$PY $HERE/dns_server.py 10.66.0.77 $WORK/dns4.ready & exec $PY $HERE/dns_server.py 10.66.0.77 $WORK/dns6.ready ::"
wait_file "$WORK/dns4.ready" 20
wait_file "$WORK/dns6.ready" 20
# resolve RESOLV_CONF_LINE DNS: getent in a client view whose host resolv.conf is that line.
resolve() {
  printf 'nameserver %s\noptions attempts:2 timeout:2\n' "$1" >"$WORK/resolv.conf"
  timeout 30 unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' _ \
    "$WORK/resolv.conf" "$TN" run -m "$UMNET_MOD" --net "$NET" --ip 10.66.0.2/24 \
    --ip fd00:66::2/64 --dns "$2" -- getent ahostsv4 www.threadnet.test
}
for c in "192.0.2.53 fd00:66::1" "2001:db8::53 10.66.0.1" "192.0.2.53 10.66.0.1" "2001:db8::53 fd00:66::1"; do
  set -- $c
  out=$(resolve "$1" "$2" 2>&1) || fail "resolv.conf $1, --dns $2: not resolved: $out"
  grep -q "^10.66.0.77 " <<<"$out" || fail "resolv.conf $1, --dns $2: wrong answer: $out"
  echo "dnsfamily: resolv.conf $1 -> view server $2: ok"
done
echo "dnsfamily: queries reach the view's name servers whatever the families"
