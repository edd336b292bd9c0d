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
# --mesh: the router plug-in's messages and start gate, with a stand-in router
# (tests/unit/fake_router.c) installed as threadnet-netsukuku.so in a module directory of
# our own (searched first). Links: in-memory switches, no switch process.
if [ -n "${FAKE_ROUTER:-}" ]; then
  mkdir -p "$WORK/mods" "$WORK/none"
  if ! "$TN" modules | grep -q "^netsukuku "; then
    err=$(THREADNET_MODULE_PATH=$WORK/none timeout 30 "$TN" run --net mem://x --mesh -- true 2>&1)
    code=$?
    want="threadnet: --mesh: the mesh router threadnet-netsukuku.so is not installed (looked in $WORK/none:"
    if [ "$code" != 2 ] || [ "${err:0:${#want}}" != "$want" ] || ! grep -q "; build modules/netsukuku or set THREADNET_MODULE_PATH)$" <<<"$err"; then
      echo "FAIL: --mesh without the router -> exit $code: $err" >&2; FAILS=$((FAILS + 1))
    fi
  fi
  cp "$FAKE_ROUTER" "$WORK/mods/threadnet-netsukuku.so"
  M=(env THREADNET_MODULE_PATH="$WORK/mods" "$TN")
  expect 2 "threadnet: --mesh-radar-interval bad: not a duration (500ms, 5s or milliseconds)" \
    "${M[@]}" run --net mem://x --mesh --mesh-radar-interval bad -- sh -c 'echo RAN'
  expect 2 "threadnet: --mesh: realm bad is not a prefix" \
    "${M[@]}" run --net mem://x --mesh --mesh-realm bad -- sh -c 'echo RAN'
  expect 2 "threadnet: --mesh-radar-pings 4: no stack joins the mesh (add --mesh, or mesh in --stack NAME=URL,...,mesh)" \
    "${M[@]}" run --net mem://x --mesh-radar-pings 4 -- true
  out=$("${M[@]}" modules)
  grep -qxF "fake       a stand-in router for the --mesh glue tests  (router plug-in of umnet, for --mesh; $WORK/mods/threadnet-netsukuku.so)" <<<"$out" ||
    { echo "FAIL: threadnet modules does not list the router plug-in: $out" >&2; FAILS=$((FAILS + 1)); }
  "${M[@]}" options | grep -qx "router:fake --mesh-flood-rate=" ||
    { echo "FAIL: threadnet options does not list the router plug-in's options" >&2; FAILS=$((FAILS + 1)); }
  # Alone on its switch the stand-in never hooks: the program starts after --wait-net,
  # and one line says what was missing.
  expect 0 "threadnet: no mesh address (hook) on stack default after 1 s (--wait-net); starting the program anyway" \
    "${M[@]}" run --net mem://x --mesh --wait-net 1 -- true
  # Two mesh stacks of one view on one switch hook through each other (the view polls
  # them at the router's deadlines): no wait-net message, the router's route in `ip route`
  # of stack a, the router's log with --mesh-verbose.
  t0=$(date +%s%N)
  out=$(timeout 60 "${M[@]}" run --stack a=mem://x,mesh,mac=02:00:00:00:00:0a \
    --stack b=mem://x,mesh,mac=02:00:00:00:00:0b --mesh-verbose --wait-net 20 -- \
    ip -4 route 2>&1)
  ms=$((($(date +%s%N) - t0) / 1000000))
  grep -q "after 20 s (--wait-net)" <<<"$out" && { echo "FAIL: two mesh stacks did not hook: $out" >&2; FAILS=$((FAILS + 1)); }
  [ "$ms" -lt 15000 ] || { echo "FAIL: two mesh stacks took $ms ms to start the program" >&2; FAILS=$((FAILS + 1)); }
  grep -A1 -E "^10\.99\.11\.0/24 " <<<"$out" | grep -Eq "nexthop via 10\.0\.0\.11 dev eth0" ||
    { echo "FAIL: no mesh route in stack a's ip route: $out" >&2; FAILS=$((FAILS + 1)); }
  for l in "threadnet: mesh (stack a): opt mesh-verbose=1" "threadnet: mesh (stack b): hooked via 10"; do
    grep -qxF "$l" <<<"$out" || { echo "FAIL: no line '$l' in: $out" >&2; FAILS=$((FAILS + 1)); }
  done
else
  echo "note: FAKE_ROUTER not given: no --mesh checks"
fi
[ "$FAILS" = 0 ] || { echo "$FAILS message(s) wrong"; exit 1; }
echo "messages: all exact"
