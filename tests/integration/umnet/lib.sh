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
