#!/usr/bin/env bash
# A static binary (busybox): wget from a native server, and nc in both roles.
. "$(dirname "$0")/lib.sh"
BB=$(command -v busybox) || skip "busybox not installed"
mkdir -p "$WORK/www"
head -c 500000 /dev/urandom >"$WORK/www/f"
want=$(sha256sum <"$WORK/www/f" | cut -d' ' -f1)
P=$(free_port)
bg $PY -m http.server "$P" --bind 127.0.0.1 --directory "$WORK/www"
SRV=$!
wait_port "$P"
got=$(timeout 60 "$TN" run -m "$RELAY_MOD" -- "$BB" wget -q -O - http://127.0.0.1:$P/f | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "busybox wget under relay: checksum mismatch"
stop $SRV
# nc quits when its stdin ends: give the listeners a stdin that stays open (a fifo that
# this shell holds), so each session ends only when the sender closes.
mkfifo "$WORK/hold"
exec 7<>"$WORK/hold"
# nc: listener under relay receives a file from a native sender.
P=$(free_port)
"$TN" run -m "$RELAY_MOD" -- "$BB" nc -l -p "$P" <"$WORK/hold" >"$WORK/recv" &
NC=$!
PIDS+=($NC)
wait_listen "$P"
timeout 30 "$BB" nc 127.0.0.1 "$P" <"$WORK/www/f" || true
for i in $(seq 100); do kill -0 $NC 2>/dev/null || break; sleep 0.1; done
stop $NC
got=$(sha256sum <"$WORK/recv" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "busybox nc -l under relay: checksum mismatch ($(wc -c <"$WORK/recv") bytes)"
# nc: sender under relay, native listener.
P=$(free_port)
"$BB" nc -l -p "$P" <"$WORK/hold" >"$WORK/recv2" &
NC=$!
PIDS+=($NC)
wait_listen "$P"
timeout 30 "$TN" run -m "$RELAY_MOD" -- "$BB" nc 127.0.0.1 "$P" <"$WORK/www/f" || true
for i in $(seq 100); do kill -0 $NC 2>/dev/null || break; sleep 0.1; done
stop $NC
got=$(sha256sum <"$WORK/recv2" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "busybox nc under relay: checksum mismatch ($(wc -c <"$WORK/recv2") bytes)"
echo "busybox: ok"
