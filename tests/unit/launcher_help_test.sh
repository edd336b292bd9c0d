#!/usr/bin/env bash
# --help, the option tables and the parser cannot drift apart: every option the launcher
# and the shipped modules (umnet, relay) take (`threadnet options`, from their tables) is
# named in `threadnet run --help`; every --option --help names is one of them; the parser
# accepts each (its error, if any, is about the value, never "unknown option"); every
# libvdeplug plugin installed (a URL scheme) is listed; the man page threadnet(1) names
# every option too.
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
