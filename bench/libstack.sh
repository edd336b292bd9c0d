#!/bin/bash
# libstack benchmarks: prints figures and ratios measured in this run. Builds nothing.
#   bench/libstack.sh BUILD_DIR [SECONDS]
# Needs iperf3 (kernel loopback reference) and, for the tap/veth comparison, root.
# Namespaces/taps/veths are created here with unique names and removed on exit.
set -u
B=${1:?usage: libstack.sh BUILD_DIR [SECONDS]}
T=${2:-5}
BIN=$B/bench/libstack_bench
[ -x "$BIN" ] || { echo "missing $BIN (cmake --build $B --target libstack_bench)"; exit 1; }
ID=$$
TMP=$(mktemp -d /tmp/libstack-bench-XXXXXX)
NS1=lsbA$ID NS2=lsbB$ID NS3=lsbC$ID
NSLIST="" TAPS=""
cleanup() {
  for n in $NSLIST; do ip netns del $n 2>/dev/null; done
  for t in $TAPS; do ip link del $t 2>/dev/null; done
  [ -n "${BPID:-}" ] && kill $BPID 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.2f' % (a/b if b else 0))" "$1" "$2"; }
field() { awk -v k="$1" '$1==k {print $2}'; }

echo "== in-process TCP, one stream, $T s (two stacks, InProcessHub::make_pair with trusted_checksum, 4 MiB buffers)"
R1500=$($BIN throughput 1500 $T); echo "$R1500"
R64K=$($BIN throughput 65535 $T); echo "$R64K"
R64K2=$($BIN throughput2 65535 $T); echo "$R64K2"  # sender and receiver stack on two threads
if command -v iperf3 >/dev/null; then
  P=$((20000 + ID % 20000))
  K=0
  for attempt in 1 2 3; do  # a loaded machine may start the server late: wait, retry
    timeout $((T + 20)) iperf3 -s -1 -B 127.0.0.1 -p $P >/dev/null 2>&1 &
    for w in $(seq 50); do ss -ltn "sport = :$P" | grep -q ":$P" && break; sleep 0.1; done
    K=$(timeout $((T + 15)) iperf3 -c 127.0.0.1 -p $P -t $T -J 2>/dev/null |
        python3 -c "import json,sys
try: print('%.3f' % (json.load(sys.stdin)['end']['sum_received']['bits_per_second']/8e9))
except Exception: print(0)")
    [ "$K" != 0 ] && break
    P=$((P + 1))
  done
  echo "kernel_loopback_iperf3 $K GB/s"
  echo "ratio libstack(mtu1500)/kernel_loopback $(ratio "$(echo "$R1500" | field libstack_inprocess_mtu1500)" "$K")"
  echo "ratio libstack(mtu65535)/kernel_loopback $(ratio "$(echo "$R64K" | field libstack_inprocess_mtu65535)" "$K")"
  echo "ratio libstack(mtu65535, 2 threads)/kernel_loopback $(ratio "$(echo "$R64K2" | field libstack_inprocess_2threads_mtu65535)" "$K")"
else
  echo "iperf3 not installed: no kernel loopback reference"
fi

echo "== transactions (1-byte request/response, two stacks in one process)"
$BIN rr $T
echo "== memory"
$BIN memory 10000
echo "== 10,000 concurrent TCP connections on one stack"
$BIN conns 10000

echo "== libstack -> kernel over tap vs kernel -> kernel over veth, one stream, $T s"
if [ "$(id -u)" != 0 ] || [ ! -w /dev/net/tun ]; then echo "skipped: needs root and /dev/net/tun"; exit 0; fi
cat > $TMP/sink.py <<'PY'
import socket, sys, time
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('0.0.0.0', int(sys.argv[1]))); ls.listen(1); ls.settimeout(30)
c, _ = ls.accept(); c.settimeout(30); buf = bytearray(1 << 20); got = 0; t0 = t1 = None
try:
    while True:
        n = c.recv_into(buf)
        if n == 0: break
        if t0 is None: t0 = time.monotonic()
        got += n; t1 = time.monotonic()
except (ConnectionResetError, socket.timeout): pass
print('%.3f' % (got / (t1 - t0) / 1e9 if t0 and t1 > t0 else 0))
PY
cat > $TMP/source.py <<'PY'
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
b = bytes(1 << 20); end = time.monotonic() + float(sys.argv[3])
while time.monotonic() < end: s.sendall(b)
s.close()
PY
run_pair() {  # $1 = MTU: libstack over tap vs kernel over veth
  local M=$1 ID2=$ID$1
  local N1=$NS1$M N2=$NS2$M N3=$NS3$M TP=t${ID}m$M
  NSLIST="$NSLIST $N1 $N2 $N3"; TAPS="$TAPS $TP"
  ip netns add $N1 && ip netns exec $N1 ip link set lo up
  coproc BENCH { exec $BIN tap $TP 10.205.0.1 5201 $T $M; }
  BPID=$BENCH_PID
  read -t 10 -u ${BENCH[0]} line
  ip link set $TP netns $N1
  ip netns exec $N1 ip link set $TP mtu $M
  ip netns exec $N1 ip addr add 10.205.0.1/24 dev $TP
  ip netns exec $N1 ip link set $TP up
  ip netns exec $N1 timeout $((T + 40)) python3 $TMP/sink.py 5201 > $TMP/tap.res &
  local SINK=$!
  sleep 0.5
  echo go >&${BENCH[1]}
  timeout $((T + 30)) cat <&${BENCH[0]}
  wait $SINK
  local TAPK=$(cat $TMP/tap.res)
  echo "libstack_to_kernel_tap_mtu${M}_at_sink $TAPK GB/s"
  ip netns add $N2; ip netns add $N3
  ip link add v${ID}m$M netns $N2 mtu $M type veth peer name w${ID}m$M netns $N3 mtu $M
  ip netns exec $N2 ip addr add 10.206.0.1/24 dev v${ID}m$M; ip netns exec $N2 ip link set v${ID}m$M up
  ip netns exec $N3 ip addr add 10.206.0.2/24 dev w${ID}m$M; ip netns exec $N3 ip link set w${ID}m$M up
  ip netns exec $N2 timeout $((T + 40)) python3 $TMP/sink.py 5202 > $TMP/veth.res &
  SINK=$!
  sleep 0.5
  ip netns exec $N3 timeout $((T + 30)) python3 $TMP/source.py 10.206.0.1 5202 $T
  wait $SINK
  local VETH=$(cat $TMP/veth.res)
  echo "kernel_to_kernel_veth_mtu${M}_at_sink $VETH GB/s (python sender and sink)"
  echo "ratio libstack_tap/kernel_veth at MTU $M: $(ratio "$TAPK" "$VETH")"
}
run_pair 1500
run_pair 65000  # tap devices accept at most 65521
