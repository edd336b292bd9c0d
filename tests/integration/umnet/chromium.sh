#!/usr/bin/env bash
# Scenario 5, a browser in a view: nginx in one view serves a page whose script adds a
# marker to the DOM; headless chromium in another view (same vde_switch) loads it and
# dumps the DOM (--dump-dom): the marker proves the page was fetched over the views'
# stacks and rendered. Flags: --headless=new; --no-sandbox (chromium refuses to run as
# root with its sandbox, and its own sandbox would stack a second seccomp filter);
# --disable-gpu; background networking off (there is no route out anyway).
. "$(dirname "$0")/lib.sh"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || skip "chromium not installed"
need curl
[ -x "$NGINX" ] || skip "nginx (package nginx-light) not installed"
SW=$(new_switch sw) || exit 1
D=$WORK/nginx
nginx_conf "$D" 80
M=js-marker-$$-$RANDOM
cat >"$D/www/index.html" <<HTML
<html><body><p id="s">static text</p>
<script>document.getElementById("s").insertAdjacentHTML("afterend", "<div id=\"m\">$M</div>")</script>
</body></html>
HTML
bgview "${ROOTCAPS[@]}" --net "$SW" --ip 10.83.0.1/24 -- "$NGINX" -p "$D" -c "$D/nginx.conf" -e "$D/logs/error.log" \
  >"$WORK/nginx.log" 2>&1
# nginx has no "ready" line: a curl view waits for it (bounded retries).
timeout 60 "${V[@]}" --net "$SW" --ip 10.83.0.3/24 -- "${CURL[@]}" -o /dev/null http://10.83.0.1/ \
  >"$WORK/wait.log" 2>&1 || fail "nginx view not reachable: $(cat "$WORK/wait.log" "$D/logs/error.log")"
mkdir -p "$WORK/home"
HOME=$WORK/home timeout 150 "${V[@]}" --net "$SW" --ip 10.83.0.2/24 -- "$CHROMIUM" --headless=new \
  --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$WORK/profile" \
  --dump-dom http://10.83.0.1/ >"$WORK/dom.html" 2>"$WORK/chromium.err"
rc=$?
cat "$WORK/dom.html"
[ $rc = 0 ] || fail "chromium in a view: rc $rc; $(grep -v dbus "$WORK/chromium.err" | tail -20)"
grep -q "<div id=\"m\">$M</div>" "$WORK/dom.html" ||
  fail "the DOM has no script-made marker; $(grep -v dbus "$WORK/chromium.err" | tail -20)"
echo "chromium: headless chromium in a view rendered the page from nginx in another view: ok"
