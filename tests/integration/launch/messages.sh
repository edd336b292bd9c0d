#!/usr/bin/env bash
# The launcher's error messages, first line exact, with their exit codes (the table in
# docs/errors.md). Each says what is wrong and what to do.
set -uo pipefail
: "${TN:?threadnet launcher}" "${RELAY_MOD:?relay module}"
. "$(dirname "$0")/../common.sh"
new_work messages
FAILS=0
# expect CODE "FIRST LINE" ARGS...: threadnet ARGS exits CODE and its stderr starts with
# FIRST LINE (exactly, as a whole line).
expect() {
  local code=$1 want=$2; shift 2
  local err got
  err=$(timeout 30 "$@" 2>&1 >/dev/null)
  got=$?
  local first=${err%%$'\n'*}
  if [ "$got" != "$code" ] || [ "$first" != "$want" ]; then
    echo "FAIL: $* -> exit $got, first line:" >&2
    echo "  got:  $first" >&2
    echo "  want: $want (exit $code)" >&2
    FAILS=$((FAILS + 1))
  fi
}
expect 2 "threadnet: --net vde://$WORK/nosw: no VDE switch at $WORK/nosw (start one with: vde_switch -s $WORK/nosw -d)" \
  "$TN" run --net "vde://$WORK/nosw" -- true
expect 2 "threadnet: --net $WORK/nosw: no VDE switch at $WORK/nosw (start one with: vde_switch -s $WORK/nosw -d)" \
  "$TN" run --net "$WORK/nosw" -- true
expect 2 "threadnet: --stack b=vde://$WORK/nosw: no VDE switch at $WORK/nosw (start one with: vde_switch -s $WORK/nosw -d)" \
  "$TN" run --net none --stack "b=vde://$WORK/nosw" -- true
expect 2 "threadnet: --net tap:: the device name is missing (tap:NAME, e.g. tap:tap0)" \
  "$TN" run --net tap: -- true
expect 2 "threadnet: module ./no-such-module.so: No such file or directory" \
  "$TN" run -m ./no-such-module.so -- true
expect 2 "threadnet: --pcap $WORK/no/dir/x.pcap: cannot create the file: No such file or directory" \
  "$TN" run --pcap "$WORK/no/dir/x.pcap" -- true
expect 2 "threadnet: --stack b: pcap=$WORK/no/dir/x.pcap: cannot create the file: No such file or directory" \
  "$TN" run --net none --stack "b=mem://x,pcap=$WORK/no/dir/x.pcap" -- true
expect 2 "threadnet: --pcap: not with --net none (a stack with only its loopback interface)" \
  "$TN" run --net none --pcap "$WORK/x.pcap" -- true
expect 2 "threadnet: unknown option --bogus (see threadnet run --help)" "$TN" run --bogus -- true
expect 2 "threadnet: --wait-net soon: not a number of seconds from 0 to 3600 (see threadnet run --help)" \
  "$TN" run --wait-net soon -- true
expect 2 "threadnet: --keep-fd 99: no such open file descriptor" "$TN" run --keep-fd 99 -- true
expect 2 "threadnet: --keep-fd 1: not a file descriptor number >= 3 (see threadnet run --help)" \
  "$TN" run --keep-fd 1 -- true
expect 127 "threadnet: /no/such/program: command not found" "$TN" run --net none -- /no/such/program
expect 2 "threadnet: no PROGRAM given (see threadnet run --help)" "$TN" run --net none
expect 2 "threadnet stack: not inside a threadnet view (run it under \`threadnet run --stack NAME=URL ...\`)" \
  "$TN" stack x -- true
expect 2 "threadnet stack: this view has no named stacks (it runs -m relay, the host's network; named stacks come with the umnet module's --stack NAME=URL)" \
  "$TN" run -m "$RELAY_MOD" -- "$TN" stack x -- true
expect 2 "threadnet stack: no stack named x in this view" "$TN" run --net none -- "$TN" stack x -- true
# --publish on a host port that is taken: an error before the program starts, both modules.
P=$(free_port)
$PY -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1',$P)); s.listen(); open('$WORK/held','w').write('1'); time.sleep(60)" &
PIDS+=($!)
wait_file "$WORK/held"
expect 2 "threadnet: --publish 8080:$P: cannot listen on 127.0.0.1:$P: Address already in use" \
  "$TN" run --publish "8080:$P" -- sh -c 'echo RAN'
expect 2 "threadnet: --publish 8080:$P: cannot listen on 127.0.0.1:$P: Address already in use" \
  "$TN" run -m "$RELAY_MOD" --publish "8080:$P" -- sh -c 'echo RAN'
# --wait-net: a DHCP view on a switch without a DHCP server starts after the timeout, and
# one line names what is missing.
if command -v vde_switch >/dev/null; then
  vde_switch -s "$WORK/sw" -d -p "$WORK/sw.pid" </dev/null >/dev/null 2>&1
  # The control socket can appear before the daemon has written its pid file: wait for
  # both, or the cleanup has no pid to kill and the switch outlives the test.
  for ((i = 0; i < 50; i++)); do [ -S "$WORK/sw/ctl" ] && [ -s "$WORK/sw.pid" ] && break; sleep 0.1; done
  PIDS+=("$(cat "$WORK/sw.pid")")
  t0=$(date +%s%N)
  expect 0 "threadnet: no DHCPv4 lease on stack default after 1 s (--wait-net); starting the program anyway" \
    "$TN" run --net "vde://$WORK/sw" --dhcp --wait-net 1 -- true
  ms=$((($(date +%s%N) - t0) / 1000000))
  [ "$ms" -ge 1000 ] || { echo "FAIL: --wait-net 1 returned after $ms ms" >&2; FAILS=$((FAILS + 1)); }
  t0=$(date +%s%N)
  expect 0 "" "$TN" run --net "vde://$WORK/sw" --dhcp --wait-net 0 -- true
  ms=$((($(date +%s%N) - t0) / 1000000))
  [ "$ms" -lt 1000 ] || { echo "FAIL: --wait-net 0 still waited $ms ms" >&2; FAILS=$((FAILS + 1)); }
else
  echo "note: vde_switch missing: no --wait-net timeout check"
fi
[ "$FAILS" = 0 ] || { echo "$FAILS message(s) wrong"; exit 1; }
echo "messages: all exact"
