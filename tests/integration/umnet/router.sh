#!/usr/bin/env bash
# Several links per stack: a view on two vde_switches routes between them (--forward).
#   A 10.81.1.2 / fd81:1::2 --sw1-- R eth0 10.81.1.1 / fd81:1::1, eth1 10.81.2.1 / fd81:2::1 --sw2-- C 10.81.2.2 / fd81:2::2
#   (R: --net sw1 --net sw2, addresses @eth1, --forward, nothing but `sleep` inside)
#   python3 http.server in C; curl in A fetches its page through R, over IPv4 and IPv6.
#   Without --forward R must not route (the same curl fails); `ip addr` in a view on two
#   switches shows eth0 and eth1 with their addresses; --pcap records each link apart.
. "$(dirname "$0")/lib.sh"
need curl
[ "${TN_VIEW:-}" = kernel ] && skip "several links per view: umnet only"
SW1=$(new_switch sw1) || exit 1
SW2=$(new_switch sw2) || exit 1
R_OPTS=(--net "$SW1" --net "$SW2" --ip 10.81.1.1/24 --ip 10.81.2.1/24@eth1
        --ip fd81:1::1/64 --ip fd81:2::1/64@eth1)

# What a program in a two-link view sees.
timeout 30 "${V[@]}" "${R_OPTS[@]}" -- ip -o addr >"$WORK/addr" 2>&1 || fail "ip addr in the router view: $(cat "$WORK/addr")"
grep -Eq "eth0 +inet 10\.81\.1\.1/24" "$WORK/addr" || fail "eth0 lacks 10.81.1.1/24: $(cat "$WORK/addr")"
grep -Eq "eth1 +inet 10\.81\.2\.1/24" "$WORK/addr" || fail "eth1 lacks 10.81.2.1/24: $(cat "$WORK/addr")"
grep -Eq "eth1 +inet6 fd81:2::1/64" "$WORK/addr" || fail "eth1 lacks fd81:2::1/64: $(cat "$WORK/addr")"

http_root "$WORK/www" "routed through the middle view"
bgview --net "$SW2" --ip 10.81.2.2/24 --gw 10.81.2.1 --ip fd81:2::2/64 --gw fd81:2::1 -- \
  "$PY" -m http.server --bind :: -d "$WORK/www" 8080 >"$WORK/http.log" 2>&1
A_OPTS=(--net "$SW1" --ip 10.81.1.2/24 --gw 10.81.1.1 --ip fd81:1::2/64 --gw fd81:1::1)

bgview "${R_OPTS[@]}" --forward --pcap "$WORK/r.pcap" -- sleep 120 >"$WORK/r.log" 2>&1
R1=$!
for url in http://10.81.2.2:8080/ "http://[fd81:2::2]:8080/"; do
  out=$(timeout 60 "${V[@]}" "${A_OPTS[@]}" -- "${CURL[@]}" -g "$url" 2>"$WORK/curl.err") ||
    fail "curl $url through the router view: $(cat "$WORK/curl.err"); router: $(cat "$WORK/r.log"); server: $(tail -5 "$WORK/http.log")"
  grep -qF "routed through the middle view" <<<"$out" || fail "curl $url got: $out"
done
# Each link's frames in its own capture file (eth1's: r.eth1.pcap), both with traffic.
for f in "$WORK/r.pcap" "$WORK/r.eth1.pcap"; do
  [ "$(stat -c %s "$f" 2>/dev/null || echo 0)" -gt 1000 ] || fail "$f is missing or nearly empty"
done
kill "$R1"; wait "$R1" 2>/dev/null

# The same router without --forward drops what is not for it: the fetch that worked
# (so the server is up) must fail now.
bgview "${R_OPTS[@]}" -- sleep 120 >"$WORK/r0.log" 2>&1
sleep 1
if timeout 20 "${V[@]}" "${A_OPTS[@]}" -- curl -sS --connect-timeout 2 --max-time 4 \
   http://10.81.2.2:8080/ >"$WORK/noroute" 2>&1; then
  fail "a view without --forward routed: $(cat "$WORK/noroute")"
fi
echo "router: A reaches C's http server through a view on two switches (v4, v6); no route without --forward: ok"
