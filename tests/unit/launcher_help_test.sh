#!/usr/bin/env bash
# --help, the option tables and the parser cannot drift apart: every option the launcher
# and the shipped modules (umnet, relay) take (`threadnet options`, from their tables) is
# named in `threadnet run --help`; every --option --help names is one of them; the parser
# accepts each (its error, if any, is about the value, never "unknown option"); every
# libvdeplug plugin installed (a URL scheme) is listed; the man page threadnet(1) names
# every option too; the mesh router's options have their defaults in both, and agree with
# the router plug-in's own table when one is installed.
set -uo pipefail
: "${TN:?threadnet launcher}"
FAILS=0
# The parser check runs every option with the value "1" (--pcap 1 makes a file "1"):
# in a directory of its own.
T=$(mktemp -d /tmp/tn-help.XXXXXX)
trap 'rm -rf "$T"' EXIT
MAN=$(cd "$(dirname "$0")/../../docs/man" && pwd)/threadnet.1
cd "$T" || exit 1
bad() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
HELP=$("$TN" run --help) || bad "threadnet run --help exited $?"
OPTS=$("$TN" options | awk '$1 == "launcher" || $1 == "umnet" || $1 == "relay" {print $2}' | sort -u)
[ -n "$OPTS" ] || { echo "FAIL: threadnet options printed nothing"; exit 1; }
for o in $OPTS; do
  name=${o%=}
  grep -qE -- "(^|[^a-z-])$name([^a-z-]|$)" <<<"$HELP" || bad "$name is accepted but --help does not name it"
  if [ "$o" != "$name" ]; then args=("$name" 1); else args=("$name"); fi
  err=$(timeout 20 "$TN" run "${args[@]}" -- true 2>&1 >/dev/null)
  grep -q "unknown option" <<<"$err" && bad "$name is in the tables but the parser says: $err"
done
for o in $OPTS; do
  name=${o%=}
  grep -qF -- "$(sed 's/-/\\-/g' <<<"$name")" "$MAN" || bad "$name is not in docs/man/threadnet.1"
done
for h in $(grep -oE -- "--[a-z][a-z0-9-]*" <<<"$HELP" | sort -u); do
  grep -qxE -- "$h=?" <<<"$OPTS" || bad "--help names $h, which no table has"
done
# The mesh router's options (umnet passes them to the router plug-in): --help and the man
# page give each one's default, and umnet's table has exactly these, in the router's order.
MESH_DEFAULTS=(mesh-radar-interval=5s mesh-radar-pings=16 mesh-radar-timeout=1s
  mesh-rtt-threshold=1000ms mesh-qspn-wait-round=60s mesh-qspn-wait=5s mesh-maxroutes=10
  mesh-realm=10.0.0.0/8 mesh-hook-wait=1s mesh-flood-rate=500 mesh-gnode-size=254)
UMNET_MESH=$("$TN" options | awk '$1 == "umnet" && $2 ~ /^--mesh-/ {print $2}')
want=$(printf -- '--%s=\n' "${MESH_DEFAULTS[@]%%=*}"; echo "--mesh-verbose")
[ "$UMNET_MESH" = "$want" ] || bad "umnet's mesh options are not the router's list: $(tr '\n' ' ' <<<"$UMNET_MESH")"
"$TN" options | grep -qx "umnet --mesh" || bad "umnet takes no --mesh"
for d in "${MESH_DEFAULTS[@]}"; do
  name=${d%%=*} def=${d#*=}
  # The option's entry: its line and the description lines below it, up to the next option.
  entry=$(awk -v o="--$name" '$1 == o {on = 1; print; next} on && /^  --|^[^ ]/ {exit} on' <<<"$HELP")
  grep -qF "(default $def)" <<<"$entry" || bad "--help does not give $name's default $def: $entry"
  mentry=$(awk -v o="--$name" '/^\.B/ {l = $0; gsub(/\\-/, "-", l); split(l, f, " ")
    if (f[2] == o) {on = 1; next}} on && /^\.(TP|SH)/ {exit} on' "$MAN")
  grep -qF "(default $def)" <<<"$mentry" || bad "docs/man/threadnet.1 does not give $name's default $def"
done
# An installed router plug-in takes exactly umnet's list, in that order.
ROUTER_OPTS=$("$TN" options | awk '$1 ~ /^router:/ {print $1, $2}')
for r in $(awk '{print $1}' <<<"$ROUTER_OPTS" | sort -u); do
  got=$(awk -v r="$r" '$1 == r {print $2}' <<<"$ROUTER_OPTS")
  [ "$got" = "$want" ] || bad "$r takes $(tr '\n' ' ' <<<"$got"), umnet passes $(tr '\n' ' ' <<<"$want")"
done
"$TN" run --version | grep -q "^threadnet [0-9]" || bad "threadnet run --version"
"$TN" --version | grep -q "^threadnet [0-9]" || bad "threadnet --version"
for p in /usr/lib/*/vdeplug/libvdeplug_*.so; do
  [ -e "$p" ] || continue
  sc=$(basename "$p" .so); sc=${sc#libvdeplug_}
  grep -qF -- "$sc://" <<<"$HELP" || bad "--help does not list the installed scheme $sc://"
done
for u in none host "mem://NAME" "tap:NAME" "tun:NAME" "/PATH"; do
  grep -qF -- "$u" <<<"$HELP" || bad "--help does not list the URL form $u"
done
[ "$FAILS" = 0 ] || { echo "$FAILS check(s) failed"; exit 1; }
echo "launcher help: $(wc -l <<<"$OPTS") options, all named and accepted"
