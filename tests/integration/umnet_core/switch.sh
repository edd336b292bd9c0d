#!/usr/bin/env bash
# Two views on one vde_switch (Debian vde2): ping between them, TCP (curl to a python web
# server on port 80 of the other view), and DNS redirection: the client resolves a name
# with the C library (which asks the host's /etc/resolv.conf servers); the query reaches
# the view's --dns server on the switch instead, and the answer is accepted.
. "$(dirname "$0")/../umnet/lib.sh"
need curl
need ping
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$WORK"
NET=$(new_switch sw) || exit 1
mkdir site && echo "served over the switch $$" >site/index.html
bg "$TN" run -m "$UMNET_MOD" --net "$NET" --ip 10.5.0.1/24 -- sh -c \
  "$PY $HERE/dns_server.py 10.5.0.1 $WORK/dns.ready & exec $PY -m http.server 80 --directory site >/dev/null 2>&1"
wait_file "$WORK/dns.ready" 20
client() { timeout 30 "$TN" run -m "$UMNET_MOD" --net "$NET" --ip 10.5.0.2/24 --dns 10.5.0.1 -- "$@"; }
client ping -c 2 -i 0.3 -W 3 10.5.0.1 >ping.out 2>&1 || { cat ping.out; fail "ping between views failed"; }
grep -q "2 received" ping.out || fail "ping: $(cat ping.out)"
got=""
for ((i = 0; i < 50; i++)); do
  got=$(client curl -fsS --max-time 5 http://10.5.0.1/) && break
  sleep 0.2
done
[ "$got" = "served over the switch $$" ] || fail "curl by address: '$got'"
res=$(client getent ahostsv4 www.threadnet.test) || fail "name not resolved in the view"
echo "$res" | grep -q "^10.5.0.1 " || fail "resolved to the wrong address: $res"
got=$(client curl -fsS --max-time 5 http://www.threadnet.test/) || fail "curl by name failed"
[ "$got" = "served over the switch $$" ] || fail "curl by name: '$got'"
echo "switch: ping, TCP by address and by name (DNS redirected) between two views"
