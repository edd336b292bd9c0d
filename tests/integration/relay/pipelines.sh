#!/usr/bin/env bash
# A tree of shell pipelines that fork and exec network clients (curl, busybox wget,
# python) in parallel, natively and under relay: identical output.
. "$(dirname "$0")/lib.sh"
need curl
BB=$(command -v busybox || true)
mkdir -p "$WORK/www"
head -c 700000 /dev/urandom >"$WORK/www/f"
P=$(free_port)
bg $PY -m http.server "$P" --bind 127.0.0.1 --directory "$WORK/www"
wait_port "$P"
U=http://127.0.0.1:$P/f
cat >"$WORK/script.sh" <<SH
set -e
for i in 1 2 3; do curl -s $U | sha256sum; done
( curl -s $U & curl -s $U & wait ) | wc -c
curl -s $U | (read -r -n 10 x; cat) | wc -c
sh -c 'exec curl -s $U' | md5sum
$PY -c 'import urllib.request,sys; sys.stdout.write(str(len(urllib.request.urlopen("$U").read())))' | cat; echo
for j in 1 2 3 4; do (curl -s -o /dev/null -w '%{http_code}\n' $U &) ; done | sort | uniq -c
SH
if [ -n "$BB" ]; then
  echo "$BB wget -q -O - $U | $BB sha256sum | cut -d' ' -f1" >>"$WORK/script.sh"
  echo "(cd $WORK && $BB sh -c '$BB wget -q -O - $U | gzip -c | gunzip | md5sum')" >>"$WORK/script.sh"
fi
timeout 60 bash "$WORK/script.sh" >"$WORK/native.txt" 2>&1 || fail "native run: $(cat "$WORK/native.txt")"
timeout 90 "$TN" run -m "$RELAY_MOD" -- bash "$WORK/script.sh" >"$WORK/relay.txt" 2>&1 ||
  fail "relay run: $(cat "$WORK/relay.txt")"
diff -u "$WORK/native.txt" "$WORK/relay.txt" || fail "outputs differ"
echo "pipelines: ok ($(wc -l <"$WORK/relay.txt") lines)"
