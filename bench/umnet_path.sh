#!/usr/bin/env bash
# umnet data path: iperf3 throughput of the paths a view's TCP can take, against kernel TCP
# loopback measured in the same run (the VMs are noisy: only ratios from one run mean
# something; the load average is printed with the figures).
#   kernel   iperf3 client and server natively over 127.0.0.1 (the reference)
#   viewlo   client and server in one view, over the stack's loopback (--net none)
#   mem      two stacks of one view joined by an in-session link (mem://NAME, MTU 65535)
#   mem1500  the same at MTU 1500
#   vde      two views on a vde_switch (MTU 1500), server in one, client in the other
#   slirp    a view (embedded default slirp://) to a kernel server on the host (10.0.2.2)
#   slirp-r  the same, reverse direction (-R: the kernel server sends into the view)
# Usage: bench/umnet_path.sh [BUILD_DIR] [CASES...]   (default: build, every case)
# Env: BENCH_SECONDS (iperf3 -t, default 5), ROUNDS (default 1; medians over rounds).
set -uo pipefail
B=$(cd "${1:-build}" && pwd)
shift || true
CASES=("$@")
[ ${#CASES[@]} -eq 0 ] && CASES=(kernel viewlo mem mem1500 vde slirp slirp-r)
TN=$B/tools/threadnet
MOD=$B/modules/umnet/threadnet-umnet.so
T=${BENCH_SECONDS:-5}
ROUNDS=${ROUNDS:-1}
W=$(mktemp -d /tmp/tn-umnet-bench.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]:-}"; do kill -9 $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$W"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { python3 -c 'import sys,statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
# Received bits/s of an iperf3 -J report on stdin (0 if the run failed).
bps() {
  python3 -c '
import json, sys
try:
    print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])
except Exception:
    print(0)'
}
tn() { timeout $((T + 40)) "$TN" run -m "$MOD" "$@"; }
# In one view: server in the background, then the client (both see the same stack).
inview() {  # ADDR CLIENT_OPTS -- VIEW_OPTS...
  local addr=$1 copts=$2; shift 3
  local p; p=$(free_port)
  tn "$@" -- sh -c "iperf3 -s -1 -p $p >/dev/null 2>&1 & sleep 0.5; iperf3 -c $addr -p $p -t $T $copts -J" | bps
}
run_case() {
  case $1 in
    kernel)
      local p; p=$(free_port)
      iperf3 -s -1 -p $p -B 127.0.0.1 >/dev/null 2>&1 & PIDS+=($!)
      sleep 0.3
      timeout $((T + 30)) iperf3 -c 127.0.0.1 -p $p -t $T -J | bps ;;
    viewlo) inview 127.0.0.1 "" -- --net none ;;
    mem|mem1500)
      local mtu=65535; [ $1 = mem1500 ] && mtu=1500
      local p; p=$(free_port)
      tn --stack a=mem://x,ip=10.7.0.1/24,mtu=$mtu --stack b=mem://x,ip=10.7.0.2/24,mtu=$mtu -- \
        sh -c "$TN stack a -- iperf3 -s -1 -p $p >/dev/null 2>&1 & sleep 0.5; $TN stack b -- iperf3 -c 10.7.0.1 -p $p -t $T -J" | bps ;;
    vde)
      local sw=$W/sw p; p=$(free_port)
      rm -rf "$sw"
      vde_switch --sock "$sw" --daemon --pidfile "$sw.pid" >/dev/null 2>&1 || { echo 0; return; }
      for i in $(seq 50); do [ -S "$sw/ctl" ] && [ -s "$sw.pid" ] && break; sleep 0.1; done
      PIDS+=("$(cat "$sw.pid")")
      tn --net "vde://$sw" --ip 10.5.0.1/24 -- iperf3 -s -1 -p $p >/dev/null 2>&1 & PIDS+=($!)
      sleep 1
      tn --net "vde://$sw" --ip 10.5.0.2/24 -- iperf3 -c 10.5.0.1 -p $p -t $T -J | bps
      kill "$(cat "$sw.pid")" 2>/dev/null ;;
    slirp|slirp-r)
      local p r=""; p=$(free_port); [ $1 = slirp-r ] && r=-R
      iperf3 -s -1 -p $p >/dev/null 2>&1 & PIDS+=($!)
      sleep 0.3
      tn -- iperf3 -c 10.0.2.2 -p $p -t $T $r -J | bps ;;
  esac
}

echo "== umnet data path, iperf3 -t $T, $(nproc) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A RES
for c in "${CASES[@]}"; do
  vals=()
  for ((r = 0; r < ROUNDS; r++)); do vals+=($(run_case $c)); done
  RES[$c]=$(median "${vals[@]}")
done
ref=${RES[kernel]:-}
for c in "${CASES[@]}"; do
  v=${RES[$c]}
  if [ -n "$ref" ] && [ "$c" != kernel ]; then
    printf '%-8s %8.0f Mbit/s   ratio to kernel loopback %s\n' $c "$(python3 -c "print($v/1e6)")" \
      "$(python3 -c "print('%.2f' % ($v/$ref if $ref else 0))")"
  else
    printf '%-8s %8.0f Mbit/s\n' $c "$(python3 -c "print($v/1e6)")"
  fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
