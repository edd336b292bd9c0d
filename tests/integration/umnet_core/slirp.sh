#!/usr/bin/env bash
# The embedded default view (slirp:// NAT): the program has its own address, sees only
# its own interfaces, and reaches a server on the host (slirp maps 10.0.2.2 to the host's
# loopback); a published port of a server in the view is reached from the host.
. "$(dirname "$0")/../umnet/lib.sh"
need curl
cd "$WORK"
mkdir site && echo "host page $$" >site/index.html
port=$(free_port)
bg $PY -m http.server "$port" --bind 127.0.0.1 --directory site
for ((i = 0; i < 50; i++)); do curl -fs "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
out=$(timeout 30 "$TN" run -m "$UMNET_MOD" -- curl -fsS --max-time 10 "http://10.0.2.2:$port/") \
  || fail "curl in the view failed"
[ "$out" = "host page $$" ] || fail "wrong page from the host: $out"
addrs=$(timeout 30 "$TN" run -m "$UMNET_MOD" -- ip -4 -o addr) || fail "ip addr in the view failed"
echo "$addrs" | grep -q "eth0 *inet 10.0.2.15/24" || fail "view has no 10.0.2.15: $addrs"
[ "$(echo "$addrs" | wc -l)" -eq 2 ] || fail "view shows more than lo and eth0: $addrs"
# --publish: python listens on port 80 inside the view (no privilege), the host reaches it.
hport=$(free_port)
mkdir view && echo "view page $$" >view/index.html
bg "$TN" run -m "$UMNET_MOD" --publish "80:$hport" -- $PY -m http.server 80 --directory view
got=""
for ((i = 0; i < 100; i++)); do
  got=$(curl -fs --max-time 2 "http://127.0.0.1:$hport/") && break
  sleep 0.1
done
[ "$got" = "view page $$" ] || fail "published server not reached: '$got'"
echo "slirp view: host reached, own address, published port works"
