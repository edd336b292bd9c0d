#!/usr/bin/env bash
# Scenario 1, virtual hosting: one vde_switch (run as the test user, sockets in the test's
# temp dir), three views each running an unmodified `python3 -m http.server --bind :: 80`
# (dual-stack socket) on 10.77.0.1, .2, .3 and fd00:77::1, ::2, ::3 with a different index
# page; a fourth view (curl) fetches all three over IPv4 and over IPv6 and must get three
# different pages. No namespace, no privilege: the whole network is the switch and the
# views' stacks. (Static IPv6 addresses are tentative for ~1 s of DAD: curl's bounded
# retries absorb that.)
. "$(dirname "$0")/lib.sh"
need curl
SW=$(new_switch sw) || exit 1
for i in 1 2 3; do
  http_root "$WORK/site$i" "site-$i-$RANDOM"
  # Not in a subshell: bgview must record the supervisor's pid for the cleanup.
  bgview --net "$SW" --ip 10.77.0.$i/24 --ip fd00:77::$i/64 -- $PY -u -m http.server \
    --bind :: --directory "$WORK/site$i" 80 >"$WORK/srv$i.log" 2>&1
done
for i in 1 2 3; do wait_log "$WORK/srv$i.log" "Serving HTTP" 20; done
# One client view, three fetches (ARP, TCP, HTTP all through the switch).
timeout 120 "${V[@]}" --net "$SW" --ip 10.77.0.9/24 --ip fd00:77::9/64 -- bash -c '
  for i in 1 2 3; do "$@" http://10.77.0.$i/ >"'"$WORK"'/got$i" || exit 1; done
  for i in 1 2 3; do "$@" -g "http://[fd00:77::$i]/" >"'"$WORK"'/got6-$i" || exit 1; done' \
  _ "${CURL[@]}" >"$WORK/client.log" 2>&1 || fail "client view: $(cat "$WORK/client.log")"
for i in 1 2 3; do
  cmp -s "$WORK/got$i" "$WORK/site$i/index.html" ||
    fail "10.77.0.$i served '$(cat "$WORK/got$i")', want '$(cat "$WORK/site$i/index.html")'"
done
for i in 1 2 3; do
  cmp -s "$WORK/got6-$i" "$WORK/site$i/index.html" ||
    fail "fd00:77::$i served '$(cat "$WORK/got6-$i")', want '$(cat "$WORK/site$i/index.html")'"
done
[ "$(sort -u "$WORK"/got? | wc -l)" = 3 ] || fail "the three hosts did not serve three pages"
echo "vhost: three views, three pages, IPv4 and IPv6: ok"
