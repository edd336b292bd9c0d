#!/usr/bin/env bash
# Scenario 1, virtual hosting: one vde_switch (run as the test user, sockets in the test's
# temp dir), three views each running an unmodified `python3 -m http.server 80` on
# 10.77.0.1, .2, .3 with a different index page; a fourth view (curl) fetches all three
# and must get three different pages. No namespace, no privilege: the whole network is
# the switch and the views' stacks.
. "$(dirname "$0")/lib.sh"
need curl
SW=$(new_switch sw) || exit 1
for i in 1 2 3; do
  http_root "$WORK/site$i" "site-$i-$RANDOM"
  (cd "$WORK/site$i" && bgview --net "$SW" --ip 10.77.0.$i/24 -- $PY -u -m http.server 80 \
    >"$WORK/srv$i.log" 2>&1)
done
for i in 1 2 3; do wait_log "$WORK/srv$i.log" "Serving HTTP" 20; done
# One client view, three fetches (ARP, TCP, HTTP all through the switch).
timeout 120 "${V[@]}" --net "$SW" --ip 10.77.0.9/24 -- bash -c '
  for i in 1 2 3; do "$@" http://10.77.0.$i/ >"'"$WORK"'/got$i" || exit 1; done' \
  _ "${CURL[@]}" >"$WORK/client.log" 2>&1 || fail "client view: $(cat "$WORK/client.log")"
for i in 1 2 3; do
  cmp -s "$WORK/got$i" "$WORK/site$i/index.html" ||
    fail "10.77.0.$i served '$(cat "$WORK/got$i")', want '$(cat "$WORK/site$i/index.html")'"
done
[ "$(sort -u "$WORK"/got? | wc -l)" = 3 ] || fail "the three hosts did not serve three pages"
echo "vhost: three views, three pages: ok"
