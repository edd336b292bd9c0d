#!/usr/bin/env bash
# Relay benchmarks: ratios of the same workload under relay and native, measured in one
# run (these VMs are noisy: only ratios taken together mean something).
#   1. iperf3 -t 10 over loopback: client under relay vs native client (target >= 0.7)
#   2. wrk -c 10 against nginx under relay vs native nginx, keep-alive (>= 0.8) and
#      "Connection: close" (>= 0.5)
#   3. supervisor RSS with 1,000 open virtual sockets (<= 32 MB)
# Usage: bench/relay_bench.sh [BUILD_DIR]   (default: build)
# Env: BENCH_SECONDS (iperf3 -t, default 10), WRK_SECONDS (default 5), ROUNDS (default 3:
# native and relay alternate, the medians are compared).
set -uo pipefail
B=$(cd "${1:-build}" && pwd)
TN=$B/tools/threadnet
MOD=$B/modules/relay/threadnet-relay.so
T=${BENCH_SECONDS:-10}
WT=${WRK_SECONDS:-5}
ROUNDS=${ROUNDS:-3}
W=$(mktemp -d /tmp/tn-relay-bench.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]:-}"; do kill -9 $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$W"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
median() { python3 -c 'import sys,statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.2f' % (a/b if b else 0))" "$1" "$2"; }

echo "== iperf3 -t $T (loopback), client under relay vs native"
P=$(free_port)
iperf3 -s -p $P -B 127.0.0.1 >/dev/null 2>&1 & PIDS+=($!)
wait_port $P; sleep 0.2
bps() { python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])'; }
N=(); R=()
for ((r = 0; r < ROUNDS; r++)); do
  N+=($(iperf3 -c 127.0.0.1 -p $P -t $T -J | bps))
  R+=($("$TN" run -m "$MOD" -- iperf3 -c 127.0.0.1 -p $P -t $T -J | bps))
done
nat=$(median "${N[@]}"); rel=$(median "${R[@]}")
printf 'native %.0f Mbit/s, relay %.0f Mbit/s (medians of %d), ratio %s (target >= 0.7)\n' \
  "$(python3 -c "print($nat/1e6)")" "$(python3 -c "print($rel/1e6)")" $ROUNDS "$(ratio $rel $nat)"

echo "== wrk -t 2 -c 10 -d ${WT}s against nginx (1 worker): under relay vs native"
mkdir -p "$W/www" "$W/tmp"
head -c 4096 /dev/urandom >"$W/www/4k"
ngconf() {  # port
  cat <<CONF
daemon off; master_process off; worker_processes 1; error_log $W/error.log warn; pid $W/ng$1.pid;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $W/tmp/b; proxy_temp_path $W/tmp/p;
  fastcgi_temp_path $W/tmp/f; uwsgi_temp_path $W/tmp/u; scgi_temp_path $W/tmp/s;
  sendfile on; keepalive_requests 1000000;
  server { listen 127.0.0.1:$1; root $W/www; } }
CONF
}
PN=$(free_port); ngconf $PN >"$W/n.conf"
PR=$(free_port); ngconf $PR >"$W/r.conf"
nginx -p "$W" -c "$W/n.conf" -e "$W/error.log" & PIDS+=($!)
"$TN" run -m "$MOD" -- nginx -p "$W" -c "$W/r.conf" -e "$W/error.log" & PIDS+=($!)
wait_port $PN && wait_port $PR
rps() { wrk -t 2 -c 10 -d ${WT}s "$@" | awk '/Requests\/sec/ {print $2}'; }
for mode in keep-alive close; do
  H=(); [ $mode = close ] && H=(-H 'Connection: close')
  N=(); R=()
  for ((r = 0; r < ROUNDS; r++)); do
    N+=($(rps "${H[@]}" http://127.0.0.1:$PN/4k))
    R+=($(rps "${H[@]}" http://127.0.0.1:$PR/4k))
  done
  kn=$(median "${N[@]}"); kr=$(median "${R[@]}")
  tgt=0.8; [ $mode = close ] && tgt=0.5
  echo "$mode: native $kn req/s, relay $kr req/s (medians of $ROUNDS), ratio $(ratio $kr $kn) (target >= $tgt)"
done

echo "== supervisor RSS with 1,000 open virtual sockets"
mkfifo "$W/go"
"$TN" run -m "$MOD" -- python3 -c '
import socket, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(512)
keep = []
for i in range(333):
    c = socket.create_connection(l.getsockname()); a, _ = l.accept()
    c.sendall(b"x"); a.recv(1)
    keep += [c, a]
for i in range(333):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0)); keep.append(u)
print(len(keep) + 1, flush=True)
open(sys.argv[1]).read()' "$W/go" >"$W/rss.out" & S=$!; PIDS+=($S)
for i in $(seq 200); do [ -s "$W/rss.out" ] && break; sleep 0.1; done
rss=$(awk '/VmRSS/ {print $2}' /proc/$S/status)
fds=$(ls /proc/$S/fd | wc -l)
echo "$(cat "$W/rss.out") virtual sockets open: supervisor RSS $((rss / 1024)) MB ($rss kB), $fds fds (target <= 32 MB)"
echo done >"$W/go"
wait $S
