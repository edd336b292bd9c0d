# Shared helpers of the umnet scenario tests (sourced). Each test builds its own network:
# vde_switch daemons with their sockets in the test's temp dir, network namespaces named
# tnu-<tag>-<pid>, taps inside those namespaces. Everything is removed on exit (also on
# failure): processes by pid, then whatever still runs inside the test's namespaces, then
# the namespaces. Every wait is bounded in count and time.
#
# Environment: TN (the threadnet launcher), UMNET_MOD (the umnet module; "umnet" lets the
# launcher find it). TN_VIEW=kernel runs each "view" as a kernel network namespace plugged
# into the same VDE network instead (static --ip only): it checks the scenario's own
# plumbing without the module.
set -uo pipefail
: "${TN:?path of the threadnet launcher}"
UMNET_MOD=${UMNET_MOD:-umnet}
PY=/usr/bin/python3
TAG=${TAG:-$(basename "$0" .sh)}
WORK=$(mktemp -d /tmp/tnu-"$TAG".XXXXXX)
chmod 755 "$WORK"
PIDS=()
NSLIST=$WORK/.netns    # namespaces this test made, one per line
: >"$NSLIST"
cleanup() {
  local p ns
  exec 2>/dev/null  # no "Killed" job notices for the servers ended here
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  for f in "$WORK"/*.vdepid; do [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  sleep 0.2
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
  while read -r ns; do
    [ -n "$ns" ] || continue
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done <"$NSLIST"
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
need_root() { [ "$(id -u)" = 0 ] || skip "needs root (network namespaces, taps)"; }
# need_mesh_router: --mesh tests; the router plug-in this build made, whatever else is
# installed (skipped in a tree without modules/netsukuku, or for kernel "views").
need_mesh_router() {
  [ "${TN_VIEW:-}" = kernel ] && skip "--mesh: umnet only"
  [ -n "${MESH_ROUTER:-}" ] || skip "no mesh router in this tree (modules/netsukuku)"
  [ -f "$MESH_ROUTER" ] || fail "the mesh router $MESH_ROUTER is not built"
  export THREADNET_MODULE_PATH=$(dirname "$MESH_ROUTER")
}
# wait_log FILE REGEX [SECONDS]: until FILE has a line matching REGEX.
wait_log() {
  local i
  for ((i = 0; i < ${3:-20} * 10; i++)); do
    grep -Eq "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "'$2' did not appear in $1: $(tail -5 "$1" 2>/dev/null)"
}
# A curl that waits for a server that is still starting (bounded: 30 s in all).
CURL=(curl -sS --fail --connect-timeout 3 --max-time 30 --retry 15 --retry-all-errors
  --retry-delay 1 --retry-max-time 30)

# new_switch NAME: a vde_switch daemon, socket dir $WORK/NAME; prints vde://$WORK/NAME.
new_switch() {
  command -v vde_switch >/dev/null || skip "vde_switch (package vde2) not installed"
  vde_switch -s "$WORK/$1" -d -p "$WORK/$1.vdepid" </dev/null >/dev/null 2>&1 ||
    fail "vde_switch -s $WORK/$1 did not start"
  local i
  for ((i = 0; i < 50; i++)); do [ -S "$WORK/$1/ctl" ] && break; sleep 0.1; done
  [ -S "$WORK/$1/ctl" ] || fail "vde_switch made no $WORK/$1/ctl"
  echo "vde://$WORK/$1"
}

# new_ns SHORT: a network namespace tnu-SHORT-PID with lo up; prints its name.
new_ns() {
  local ns=tnu-$1-$$
  ip netns del "$ns" 2>/dev/null
  ip netns add "$ns" || fail "ip netns add $ns"
  echo "$ns" >>"$NSLIST"
  ip -n "$ns" link set lo up
  echo "$ns"
}

# "${V[@]}" [umnet options] -- PROGRAM...: PROGRAM in a umnet view (or in a kernel
# namespace with TN_VIEW=kernel, see kview.sh). An argv, so that `timeout` can run it.
if [ "${TN_VIEW:-}" = kernel ]; then
  export TNU_NSLIST=$NSLIST
  V=(bash "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kview.sh")
else
  V=("$TN" run -m "$UMNET_MOD")
fi
# bgview [umnet options] -- PROGRAM...: the same in the background, remembered for cleanup
# (the pid is the supervisor's: killing it ends the whole view).
bgview() { "${V[@]}" "$@" & PIDS+=($!); }

# http_root DIR TEXT: a directory whose index.html holds TEXT.
http_root() { mkdir -p "$1" && printf '<html><body>%s</body></html>\n' "$2" >"$1/index.html"; }

# nginx_conf DIR LISTEN: writes DIR/nginx.conf (no daemon, no master, files under DIR).
nginx_conf() {
  mkdir -p "$1/tmp" "$1/logs" "$1/www"
  cat >"$1/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $1/logs/error.log warn;
pid $1/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $1/tmp/body;
  proxy_temp_path $1/tmp/proxy;
  fastcgi_temp_path $1/tmp/fastcgi;
  uwsgi_temp_path $1/tmp/uwsgi;
  scgi_temp_path $1/tmp/scgi;
  sendfile on;
  server {
    listen $2;
    root $1/www;
  }
}
CONF
}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# router_lan TAP N: a view's real LAN (realnet.sh, readynet.sh): namespace CL holds tap
# TAP bridged (br0) to a veth whose peer is in namespace RT, the router: 10.N.0.1/24 and
# fd00:N::1/64, dnsmasq serving DHCPv4 (10.N.0.50-150) and router advertisements (SLAAC
# fd00:N::/64), a dual-stack python http server on port 80 serving $WORK/www. Sets CL, RT.
router_lan() {
  local tap=$1 n=$2
  need_root
  [ -x /usr/sbin/dnsmasq ] || skip "dnsmasq (package dnsmasq-base) not installed"
  [ -w /dev/net/tun ] || skip "/dev/net/tun not available"
  CL=$(new_ns cl) || exit 1
  RT=$(new_ns rt) || exit 1
  local x
  for x in $CL $RT; do
    ip netns exec $x sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  done
  ip -n $CL tuntap add $tap mode tap || fail "tuntap add in $CL"
  ip -n $CL link add br0 type bridge || fail "bridge in $CL"
  ip -n $CL link add vc type veth peer name vr netns $RT || fail "veth $CL-$RT"
  for x in $tap vc; do ip -n $CL link set $x master br0 && ip -n $CL link set $x up; done
  ip -n $CL link set br0 up
  ip -n $RT addr add 10.$n.0.1/24 dev vr
  ip -n $RT addr add fd00:$n::1/64 dev vr nodad
  ip -n $RT link set vr up
  bg ip netns exec $RT /usr/sbin/dnsmasq --no-daemon --conf-file=/dev/null --port=0 \
    --interface=vr --bind-interfaces --user=root --dhcp-leasefile="$WORK/leases" \
    --pid-file="$WORK/dnsmasq.pid" --dhcp-range=10.$n.0.50,10.$n.0.150,255.255.255.0,10m \
    --dhcp-range=fd00:$n::,ra-only,64,10m --enable-ra --ra-param=vr,4 --log-dhcp \
    >"$WORK/dnsmasq.log" 2>&1
  mkdir -p "$WORK/www"
  bg ip netns exec $RT $PY -u -m http.server --bind :: --directory "$WORK/www" 80 >"$WORK/http.log" 2>&1
  wait_log "$WORK/http.log" "Serving HTTP" 20
  wait_log "$WORK/dnsmasq.log" "started" 10
}
