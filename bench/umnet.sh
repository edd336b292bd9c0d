#!/usr/bin/env bash
# umnet benchmarks: the same workloads on kernel loopback, under pasta (passt's
# namespace-based user-mode networking) and in umnet views, measured in one run (these VMs
# are noisy: compare the ratios, not single figures). Not a ctest entry.
#   1. iperf3 between two views of one session: two stacks joined by an in-session link
#      (--stack a=mem://x,... --stack b=mem://x,..., `threadnet stack a|b -- ...`); pasta:
#      server in one pasta namespace (-t port forward), client in another via the gateway
#      address (mapped to the host) -- the pasta way for two isolated programs to talk;
#      kernel: loopback. Also between two views (two runs) on one vde_switch, on a
#      vdeplug4 switch:// hosted by the server's view, and on switch:// with --mtu 65000.
#   2. iperf3 view to a kernel server on the host loopback, both directions (-R): a view on
#      the embedded default network (slirp://, 10.0.2.2 is the host) vs pasta (gateway
#      mapped to the host) vs kernel loopback.
#   3. curl of a 1 GiB file (sparse, made in a temp dir) from nginx: nginx and curl in two
#      views of one session (mem://) vs pasta (nginx in a pasta namespace, curl in another)
#      vs native loopback.
#   4. wrk -t 2 -c 10 against nginx in a view, keep-alive and "Connection: close": wrk on
#      the host through --publish; pasta: nginx in a namespace with -t, wrk on the host;
#      native. Also wrk in a second view of the session (mem://).
#   5. start-up: `threadnet run --net vde://... --ip ... -- /bin/true` (and --net none),
#      `pasta --config-net -- /bin/true` and /bin/true, median wall time in ms.
# Usage: bench/umnet.sh [BUILD_DIR]    (default: build; root for pasta and namespaces)
# Env: BENCH_SECONDS (iperf3 -t, default 5), WRK_SECONDS (default 5), ROUNDS (default 3,
# medians), SPAWNS (start-up runs, default 20), SIZE_MB (curl file, default 1024),
# SKIP_PASTA=1, SKIP_UMNET=1.
set -uo pipefail
B=$(cd "${1:-build}" && pwd)
TN=$B/tools/threadnet
MOD=${UMNET_MOD:-$B/modules/umnet/threadnet-umnet.so}
T=${BENCH_SECONDS:-5}
WT=${WRK_SECONDS:-5}
ROUNDS=${ROUNDS:-3}
SPAWNS=${SPAWNS:-20}
SIZE_MB=${SIZE_MB:-1024}
PY=/usr/bin/python3
W=$(mktemp -d /tmp/tn-umnet-bench.XXXXXX)
chmod 755 "$W"
PIDS=()
GROUPS_=()  # process groups (setsid) of pasta runs: pasta leaves its command running
cleanup() {
  for g in "${GROUPS_[@]:-}"; do [ -n "$g" ] && kill -- "-$g" 2>/dev/null; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  for f in "$W"/*.vdepid; do [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  sleep 0.2
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

HAVE_UMNET=1
[ -n "${SKIP_UMNET:-}" ] && HAVE_UMNET=0
[ -x "$TN" ] && [ -f "$MOD" ] || { HAVE_UMNET=0; echo "(umnet module not built at $MOD: no threadnet figures)"; }
HAVE_PASTA=1
[ -n "${SKIP_PASTA:-}" ] && HAVE_PASTA=0
command -v pasta >/dev/null || { HAVE_PASTA=0; echo "(pasta not installed, package passt: no pasta figures)"; }
[ "$(id -u)" = 0 ] || { HAVE_PASTA=0; echo "(not root: no pasta figures, see below)"; }
for c in iperf3 curl wrk nginx vde_switch; do
  command -v $c >/dev/null || { echo "bench/umnet.sh: $c not installed (tools/install-deps.sh)"; exit 1; }
done

# pasta as root: --runas 0 keeps it from switching to "nobody" (which cannot open a 0600
# /dev/net/tun); the addresses are given because the host may have no IPv4 route to copy.
# Inside, 10.0.2.2 (the gateway) is mapped to the host's loopback.
PASTA=(pasta --runas 0 -f -q -i "${PASTA_IF:-$(ip -o link show up | awk -F': ' '$2 != "lo" {print $2; exit}')}"
  -a 10.0.2.15 -n 24 -g 10.0.2.2 --config-net)
TNR=("$TN" run -m "$MOD")  # an argv (not a function) so that timeout can run it
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  local i
  for ((i = 0; i < 100; i++)); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
median() {  # of the non-empty arguments; nothing if there are none
  $PY -c 'import sys,statistics
v = [float(x) for x in sys.argv[1:] if x]
print(statistics.median(v) if v else "")' "$@"
}
ratio() { $PY -c "import sys
try: print('%.3g' % (float(sys.argv[1]) / float(sys.argv[2])))
except Exception: print('-')" "$1" "$2"; }
# wait_log FILE REGEX: bounded (10 s).
wait_log() {
  local i
  for ((i = 0; i < 100; i++)); do grep -Eq "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "(no '$2' in $1: $(tail -3 "$1" 2>/dev/null))" >&2
  return 1
}
new_switch() {
  vde_switch -s "$W/$1" -d -p "$W/$1.vdepid" </dev/null >/dev/null 2>&1
  local i
  for ((i = 0; i < 50; i++)); do [ -S "$W/$1/ctl" ] && break; sleep 0.1; done
  echo "vde://$W/$1"
}
stop() {
  local i
  kill "$1" 2>/dev/null
  for ((i = 0; i < 50; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  return 0
}
mbps() { $PY -c 'import json,sys
try: print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception: pass'; }

ROWS=()   # "workload|kernel|pasta|threadnet|unit"
row() { ROWS+=("$1|${2:--}|${3:--}|${4:--}|$5"); echo "  -> $1: kernel ${2:--}, pasta ${3:--}, threadnet ${4:--} $5"; }

# ---- 1 + 2. iperf3 ----------------------------------------------------------------------
echo "== iperf3 -t $T, medians of $ROUNDS"
P=$(free_port)
iperf3 -s -p $P -B 127.0.0.1 >/dev/null 2>&1 & PIDS+=($!)
wait_port $P; sleep 0.2
K=(); PV=(); PK=(); PR=(); TV=(); TS=(); TK=(); TR=(); TJ=(); TM=()
MEMV=(--stack a=mem://bx,ip=10.93.0.1/24 --stack b=mem://bx,ip=10.93.0.2/24)
if [ $HAVE_UMNET = 1 ]; then
  SW=$(new_switch sw1)
  "${TNR[@]}" --net "$SW" --ip 10.90.0.1/24 -- iperf3 -s --forceflush >"$W/tv.log" 2>&1 & PIDS+=($!)
  wait_log "$W/tv.log" "Server listening" || HAVE_TV=0
  "${TNR[@]}" --net "switch://$W/sw2" --ip 10.91.0.1/24 -- iperf3 -s --forceflush >"$W/ts.log" 2>&1 & PIDS+=($!)
  wait_log "$W/ts.log" "Server listening" || true
  # Views can use jumbo frames between themselves (vde_switch cannot: it drops frames
  # above 1514 bytes silently).
  "${TNR[@]}" --net "switch://$W/sw3" --mtu 65000 --ip 10.92.0.1/24 -- iperf3 -s --forceflush >"$W/tj.log" 2>&1 & PIDS+=($!)
  wait_log "$W/tj.log" "Server listening" || true
fi
if [ $HAVE_PASTA = 1 ]; then
  PP=$(free_port)
  setsid "${PASTA[@]}" -t $PP -- iperf3 -s -p $PP --forceflush >"$W/pv.log" 2>&1 </dev/null & GROUPS_+=($!)
  wait_log "$W/pv.log" "Server listening" || true
fi
for ((r = 0; r < ROUNDS; r++)); do
  K+=($(iperf3 -c 127.0.0.1 -p $P -t $T -J | mbps))
  if [ $HAVE_PASTA = 1 ]; then
    PV+=($(timeout $((T + 30)) "${PASTA[@]}" -- iperf3 -c 10.0.2.2 -p $PP -t $T -J </dev/null 2>/dev/null | mbps))
    PK+=($(timeout $((T + 30)) "${PASTA[@]}" -- iperf3 -c 10.0.2.2 -p $P -t $T -J </dev/null 2>/dev/null | mbps))
    PR+=($(timeout $((T + 30)) "${PASTA[@]}" -- iperf3 -c 10.0.2.2 -p $P -t $T -R -J </dev/null 2>/dev/null | mbps))
  fi
  if [ $HAVE_UMNET = 1 ]; then
    TV+=($(timeout $((T + 30)) "${TNR[@]}" --net "$SW" --ip 10.90.0.2/24 -- iperf3 -c 10.90.0.1 -t $T -J 2>/dev/null | mbps))
    TS+=($(timeout $((T + 30)) "${TNR[@]}" --net "vde://$W/sw2" --ip 10.91.0.2/24 -- iperf3 -c 10.91.0.1 -t $T -J 2>/dev/null | mbps))
    TJ+=($(timeout $((T + 30)) "${TNR[@]}" --net "vde://$W/sw3" --mtu 65000 --ip 10.92.0.2/24 -- iperf3 -c 10.92.0.1 -t $T -J 2>/dev/null | mbps))
    TK+=($(timeout $((T + 30)) "$TN" run -m "$MOD" -- iperf3 -c 10.0.2.2 -p $P -t $T -J 2>/dev/null | mbps))
    TR+=($(timeout $((T + 30)) "$TN" run -m "$MOD" -- iperf3 -c 10.0.2.2 -p $P -t $T -R -J 2>/dev/null | mbps))
    MP=$(free_port)
    TM+=($(timeout $((T + 30)) "${TNR[@]}" "${MEMV[@]}" -- sh -c \
      "$TN stack a -- iperf3 -s -1 -p $MP >/dev/null 2>&1 & sleep 0.5; $TN stack b -- iperf3 -c 10.93.0.1 -p $MP -t $T -J" 2>/dev/null | mbps))
  fi
done
k=$(median "${K[@]}")
row "iperf3 two views of one session (mem://)" "$k" "$(median "${PV[@]:-}")" "$(median "${TM[@]:-}")" Mbit/s
row "iperf3 view to view, vde_switch" "$k" "$(median "${PV[@]:-}")" "$(median "${TV[@]:-}")" Mbit/s
row "iperf3 view to view, switch:// (vdeplug4)" "$k" "$(median "${PV[@]:-}")" "$(median "${TS[@]:-}")" Mbit/s
row "iperf3 view to view, switch://, --mtu 65000" "$k" "$(median "${PV[@]:-}")" "$(median "${TJ[@]:-}")" Mbit/s
row "iperf3 view to host loopback server (slirp / pasta gw)" "$k" "$(median "${PK[@]:-}")" "$(median "${TK[@]:-}")" Mbit/s
row "iperf3 host loopback server to view (-R)" "$k" "$(median "${PR[@]:-}")" "$(median "${TR[@]:-}")" Mbit/s

# ---- 3. curl of a big file ------------------------------------------------------------
echo "== curl of a ${SIZE_MB} MiB file from nginx, medians of $ROUNDS"
mkdir -p "$W/www" "$W/tmp"
truncate -s ${SIZE_MB}M "$W/www/big"
head -c 4096 /dev/urandom >"$W/www/4k"
ngconf() {  # LISTEN NAME
  cat <<CONF
daemon off; master_process off; worker_processes 1; error_log $W/error-$2.log warn;
pid $W/ng-$2.pid;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $W/tmp/b; proxy_temp_path $W/tmp/p;
  fastcgi_temp_path $W/tmp/f; uwsgi_temp_path $W/tmp/u; scgi_temp_path $W/tmp/s;
  sendfile on; keepalive_requests 1000000;
  server { listen $1; root $W/www; } }
CONF
}
# curl_rate CMD...: MB/s of the transfer the command does (curl -w speed_download).
curl_rate() { "$@" 2>/dev/null | awk '{printf "%.0f\n", $1 / 1e6}'; }
CURLW=(curl -sS --fail -o /dev/null -w '%{speed_download}\n' --max-time 300)
NP=$(free_port); ngconf "127.0.0.1:$NP" native >"$W/n.conf"
nginx -p "$W" -c "$W/n.conf" -e "$W/error-native.log" & PIDS+=($!)
wait_port $NP
if [ $HAVE_PASTA = 1 ]; then
  PNP=$(free_port); ngconf "$PNP" pasta >"$W/p.conf"
  setsid "${PASTA[@]}" -t $PNP -- nginx -p "$W" -c "$W/p.conf" -e "$W/error-pasta.log" </dev/null >/dev/null 2>&1 & GROUPS_+=($!)
  wait_port $PNP
fi
# threadnet: one session with two stacks on mem://cx: nginx on a (port 80, and published
# on the host for the wrk rows), curl/wrk on b via `threadnet stack b`, run by a control
# loop in the session that executes the commands written into a fifo.
if [ $HAVE_UMNET = 1 ]; then
  ngconf 80 view >"$W/v.conf"
  HPUB=$(free_port)
  mkfifo "$W/ctl"
  cat >"$W/ctl.sh" <<CTL
$TN stack a -- nginx -p "$W" -c "$W/v.conf" -e "$W/error-view.log" &
while read -r out cmd; do $TN stack b -- sh -c "\$cmd" >"\$out" 2>/dev/null; echo done >>"\$out.done"; done <"$W/ctl"
CTL
  "${TNR[@]}" --stack a=mem://cx,ip=10.94.0.1/24 --stack b=mem://cx,ip=10.94.0.2/24 --publish "80:$HPUB" \
    -- sh "$W/ctl.sh" >/dev/null 2>&1 & PIDS+=($!)
  exec 7<>"$W/ctl"  # (read-write: never blocks, even if the session did not start)
  wait_port $HPUB
fi
# inview OUTFILE CMD: run CMD on stack b of the session, wait for it (bounded), print OUTFILE.
inview() {
  rm -f "$1" "$1.done"
  echo "$1 $2" >&7
  local i
  for ((i = 0; i < 3000; i++)); do [ -s "$1.done" ] && break; sleep 0.1; done
  cat "$1" 2>/dev/null
}
K=(); PC=(); TC=()
for ((r = 0; r < ROUNDS; r++)); do
  K+=($(curl_rate "${CURLW[@]}" http://127.0.0.1:$NP/big))
  [ $HAVE_PASTA = 1 ] && PC+=($(curl_rate timeout 300 "${PASTA[@]}" -- "${CURLW[@]}" http://10.0.2.2:$PNP/big </dev/null))
  [ $HAVE_UMNET = 1 ] && TC+=($(inview "$W/curl.out" "curl -sS --fail -o /dev/null -w '%{speed_download}' --max-time 300 http://10.94.0.1/big" | awk '{printf "%.0f\n", $1 / 1e6}'))
done
row "curl ${SIZE_MB} MiB, nginx to curl (two views of one session)" "$(median "${K[@]}")" "$(median "${PC[@]:-}")" "$(median "${TC[@]:-}")" MB/s

# ---- 4. wrk ----------------------------------------------------------------------------
echo "== wrk -t 2 -c 10 -d ${WT}s, nginx 4 KiB file, medians of $ROUNDS"
rps() { awk '/Requests\/sec/ {print $2}'; }
for mode in keep-alive close; do
  H=(); [ $mode = close ] && H=(-H 'Connection: close')
  K=(); PW=(); TW=(); TV2=()
  HS=""; [ $mode = close ] && HS="-H 'Connection: close'"
  for ((r = 0; r < ROUNDS; r++)); do
    K+=($(wrk -t 2 -c 10 -d ${WT}s "${H[@]}" http://127.0.0.1:$NP/4k | rps))
    [ $HAVE_PASTA = 1 ] && PW+=($(wrk -t 2 -c 10 -d ${WT}s "${H[@]}" http://127.0.0.1:$PNP/4k | rps))
    [ $HAVE_UMNET = 1 ] && TW+=($(wrk -t 2 -c 10 -d ${WT}s "${H[@]}" http://127.0.0.1:$HPUB/4k | rps))
    [ $HAVE_UMNET = 1 ] && TV2+=($(inview "$W/wrk.out" "wrk -t 2 -c 10 -d ${WT}s $HS http://10.94.0.1/4k" | rps))
  done
  row "wrk -c 10 nginx in a view from the host (--publish / pasta -t), $mode" "$(median "${K[@]}")" "$(median "${PW[@]:-}")" "$(median "${TW[@]:-}")" req/s
  row "wrk -c 10 nginx, wrk in a second view of the session, $mode" "$(median "${K[@]}")" "" "$(median "${TV2[@]:-}")" req/s
done

# ---- 5. start-up -----------------------------------------------------------------------
echo "== start-up, median of $SPAWNS runs"
# ms CMD...: median wall time of SPAWNS runs of CMD, in ms.
ms() {
  $PY - "$SPAWNS" "$@" <<'EOF'
import statistics, subprocess, sys, time
n = int(sys.argv[1]); cmd = sys.argv[2:]; t = []
for _ in range(n):
    s = time.perf_counter()
    subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    t.append((time.perf_counter() - s) * 1000)
print("%.1f" % statistics.median(t))
EOF
}
k=$(ms /bin/true)
p=""; [ $HAVE_PASTA = 1 ] && p=$(ms "${PASTA[@]}" -- /bin/true)
t=""; tnone=""
if [ $HAVE_UMNET = 1 ]; then
  t=$(ms "$TN" run -m "$MOD" --net "$SW" --ip 10.90.0.6/24 -- /bin/true)
  tnone=$(ms "$TN" run -m "$MOD" --net none -- /bin/true)
fi
row "start-up, --net vde://... -- /bin/true" "$k" "$p" "$t" ms
row "start-up, --net none -- /bin/true" "$k" "" "$tnone" ms

exec 7>&-  # ends the session's control loop
# ---- summary ----------------------------------------------------------------------------
echo
echo "| workload | kernel | pasta | threadnet | unit | threadnet/kernel | threadnet/pasta | pasta/kernel |"
echo "|---|---|---|---|---|---|---|---|"
for r in "${ROWS[@]}"; do
  IFS='|' read -r name kv pv tv unit <<<"$r"
  echo "| $name | $kv | $pv | $tv | $unit | $(ratio "$tv" "$kv") | $(ratio "$tv" "$pv") | $(ratio "$pv" "$kv") |"
done
echo "(start-up: lower is better, the ratios are cost multiples; elsewhere higher is better)"
