#!/usr/bin/env bash
# kview.sh [--net URL] [--ip A/L]... [--gw A] -- PROGRAM...: a stand-in for a umnet view
# made of kernel parts (TN_VIEW=kernel in the scenario tests): a fresh network namespace
# whose tap is plugged into URL by vde_plug, with the static addresses given. Used to
# check a scenario's own plumbing without the module. The namespace is listed in
# $TNU_NSLIST: the test's cleanup removes it with whatever runs in it.
set -uo pipefail
url="" ips=() gws=()
while [ $# -gt 0 ]; do
  case $1 in
    --net) url=$2; shift 2 ;;
    --ip) ips+=("$2"); shift 2 ;;
    --gw) gws+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "kview: cannot emulate $1" >&2; exit 2 ;;
  esac
done
ns=tnu-k$$
ip netns add "$ns" || exit 2
echo "$ns" >>"${TNU_NSLIST:-/dev/null}"
ip -n "$ns" link set lo up
plug=""
if [ -n "$url" ] && [ "$url" != none ]; then
  ip netns exec "$ns" vde_plug "$url" tap://kv0 </dev/null >/dev/null 2>&1 &
  plug=$!
  for ((i = 0; i < 50; i++)); do ip -n "$ns" link show kv0 >/dev/null 2>&1 && break; sleep 0.1; done
  ip -n "$ns" link set kv0 up
  for a in "${ips[@]}"; do
    case $a in *:*) ip -n "$ns" addr add "$a" dev kv0 nodad ;; *) ip -n "$ns" addr add "$a" dev kv0 ;; esac
  done
  for a in "${gws[@]}"; do ip -n "$ns" route add default via "$a"; done
fi
ip netns exec "$ns" "$@" &
child=$!
trap 'kill $child $plug 2>/dev/null' TERM INT
wait $child
rc=$?
[ -n "$plug" ] && kill "$plug" 2>/dev/null
exit $rc
