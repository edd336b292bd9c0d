#!/usr/bin/env bash
# Two stacks of one view joined by an in-session link (mem://NAME): a web server on stack
# a, curl on stack b fetches an 8 MiB file (checked byte for byte) at the hub's MTU 65535
# and over a second pair at MTU 1500; a stack on another mem:// name is not reachable;
# mem:// without a name is refused.
# (lib.sh moved to ../umnet on main; either layout works)
if [ -f "$(dirname "$0")/../umnet/lib.sh" ]; then . "$(dirname "$0")/../umnet/lib.sh"; else . "$(dirname "$0")/lib.sh"; fi
need curl
cd "$WORK"
mkdir site && head -c 8388608 /dev/urandom >site/blob
want=$(sha256sum <site/blob)
view() {
  timeout 60 "$TN" run -m "$UMNET_MOD" \
    --stack "a=mem://x,ip=10.7.0.1/24" --stack "b=mem://x,ip=10.7.0.2/24" \
    --stack "c=mem://y,ip=10.7.0.3/24" \
    --stack "d=mem://z,ip=10.8.0.1/24,mtu=1500" --stack "e=mem://z,ip=10.8.0.2/24,mtu=1500" \
    -- sh -c "$1"
}
script='
"$TN" stack a -- '"$PY"' -m http.server 80 --directory site >/dev/null 2>&1 & s1=$!
"$TN" stack d -- '"$PY"' -m http.server 80 --directory site >/dev/null 2>&1 & s2=$!
trap "kill \$s1 \$s2" EXIT
up() {  # STACK URL: until the server answers (bounded)
  for i in $(seq 100); do
    "$TN" stack $1 -- curl -fs --max-time 2 -o /dev/null $2 && return 0
    sleep 0.1
  done
  echo "$2 not reached from $1"; exit 1
}
up b http://10.7.0.1/blob
up e http://10.8.0.1/blob
"$TN" stack b -- curl -fsS --max-time 20 http://10.7.0.1/blob | sha256sum >b.sum
"$TN" stack e -- curl -fsS --max-time 20 http://10.8.0.1/blob | sha256sum >e.sum
if "$TN" stack c -- curl -fs --max-time 2 -o /dev/null http://10.7.0.1/blob; then echo "c reached a"; exit 1; fi
'
export TN
view "$script" || fail "view run failed"
[ "$(cat b.sum)" = "$want" ] || fail "mem://x (MTU 65535): file differs"
[ "$(cat e.sum)" = "$want" ] || fail "mem://z (MTU 1500): file differs"
if err=$(timeout 20 "$TN" run -m "$UMNET_MOD" --stack "a=mem://,ip=10.7.0.1/24" -- true 2>&1); then
  fail "mem:// without a name was accepted"
fi
echo "$err" | grep -q "mem://NAME" || fail "unexpected error for mem://: $err"
echo "mem: 8 MiB byte-exact between two stacks at MTU 65535 and 1500; hubs kept apart"
