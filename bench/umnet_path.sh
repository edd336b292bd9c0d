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
#   curl     a CURL_MB file (default 1024) from nginx on stack a to curl on stack b of one
#            view (mem://) vs native nginx -> curl over loopback (bytes/s, ratio printed)
#   wrk      wrk -t 2 -c 10 -d WRK_SECONDS against nginx in a view reached through --publish,
#            keep-alive and Connection: close, vs native nginx (requests/s, ratios printed)
# Usage: bench/umnet_path.sh [BUILD_DIR] [CASES...]   (default: build, every case)
# Env: BENCH_SECONDS (iperf3 -t, default 5), ROUNDS (default 1; medians over rounds).
set -uo pipefail
B=$(cd "${1:-build}" && pwd)
shift || true
CASES=("$@")
[ ${#CASES[@]} -eq 0 ] && CASES=(kernel viewlo mem mem1500 vde slirp slirp-r curl wrk)
TN=$B/tools/threadnet
MOD=$B/modules/umnet/threadnet-umnet.so
T=${BENCH_SECONDS:-5}
ROUNDS=${ROUNDS:-1}
CURL_MB=${CURL_MB:-1024}
WT=${WRK_SECONDS:-5}
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

ngconf() {  # PORT [ADDR]
  cat <<CONF
daemon off; master_process off; worker_processes 1; error_log $W/error.log warn; pid $W/ng$1.pid;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $W/tmp/b; proxy_temp_path $W/tmp/p;
  fastcgi_temp_path $W/tmp/f; uwsgi_temp_path $W/tmp/u; scgi_temp_path $W/tmp/s;
  sendfile on; keepalive_requests 1000000;
  server { listen ${2:-127.0.0.1}:$1; root $W/www; } }
CONF
}
wait_port() { for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
curl_case() {
  mkdir -p "$W/www" "$W/tmp"
  [ -f "$W/www/big" ] || head -c $((CURL_MB << 20)) /dev/zero >"$W/www/big"
  local pn; pn=$(free_port); ngconf $pn >"$W/n.conf"
  nginx -p "$W" -c "$W/n.conf" -e "$W/error.log" & PIDS+=($!)
  wait_port $pn
  local nat; nat=$(curl -s -o /dev/null -w '%{speed_download}' http://127.0.0.1:$pn/big)
  ngconf 80 0.0.0.0 >"$W/v.conf"
  local view
  view=$(tn --stack a=mem://c,ip=10.9.0.1/24 --stack b=mem://c,ip=10.9.0.2/24 -- sh -c \
    "$TN stack a -- nginx -p $W -c $W/v.conf -e $W/error.log & s=\$!; for i in \$(seq 100); do $TN stack b -- curl -fs -o /dev/null http://10.9.0.1/ngconf-probe-missing; [ \$? -ne 7 ] && break; sleep 0.1; done; $TN stack b -- curl -s -o /dev/null -w '%{speed_download}' http://10.9.0.1/big; kill \$s")
  echo "curl     native $(python3 -c "print('%.0f MB/s' % ($nat/1e6))"), mem:// view to view $(python3 -c "print('%.0f MB/s' % (${view:-0}/1e6))"), ratio $(python3 -c "print('%.2f' % (${view:-0}/$nat if $nat else 0))") (target >= 0.5)"
}
wrk_case() {
  mkdir -p "$W/www" "$W/tmp"
  head -c 4096 /dev/urandom >"$W/www/4k"
  local pn hp; pn=$(free_port); hp=$(free_port)
  ngconf $pn >"$W/wn.conf"; ngconf 8080 0.0.0.0 >"$W/wv.conf"
  nginx -p "$W" -c "$W/wn.conf" -e "$W/error.log" & PIDS+=($!)
  "$TN" run -m "$MOD" --publish 8080:$hp -- nginx -p "$W" -c "$W/wv.conf" -e "$W/error.log" & PIDS+=($!)
  wait_port $pn && wait_port $hp
  for i in $(seq 50); do curl -fs -o /dev/null http://127.0.0.1:$hp/4k && break; sleep 0.1; done
  rps() { wrk -t 2 -c 10 -d ${WT}s "$@" | awk '/Requests\/sec/ {print $2}'; }
  for mode in keep-alive close; do
    local H=(); [ $mode = close ] && H=(-H 'Connection: close')
    local a b; a=$(rps "${H[@]}" http://127.0.0.1:$pn/4k); b=$(rps "${H[@]}" http://127.0.0.1:$hp/4k)
    local tgt=0.7; [ $mode = close ] && tgt=0.5
    echo "wrk $mode: native ${a:-0} req/s, view (--publish) ${b:-0} req/s, ratio $(python3 -c "print('%.2f' % (${b:-0}/${a:-1}))") (target >= $tgt)"
  done
}

echo "== umnet data path, iperf3 -t $T, $(nproc) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A RES
for c in "${CASES[@]}"; do
  case $c in curl) curl_case; continue ;; wrk) wrk_case; continue ;; esac
  vals=()
  for ((r = 0; r < ROUNDS; r++)); do vals+=($(run_case $c)); done
  RES[$c]=$(median "${vals[@]}")
done
ref=${RES[kernel]:-}
for c in "${CASES[@]}"; do
  [ -n "${RES[$c]:-}" ] || continue
  v=${RES[$c]}
  if [ -n "$ref" ] && [ "$c" != kernel ]; then
    printf '%-8s %8.0f Mbit/s   ratio to kernel loopback %s\n' $c "$(python3 -c "print($v/1e6)")" \
      "$(python3 -c "print('%.2f' % ($v/$ref if $ref else 0))")"
  else
    printf '%-8s %8.0f Mbit/s\n' $c "$(python3 -c "print($v/1e6)")"
  fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
