#!/usr/bin/env bash
# Hostile arguments (hostile.c) natively, under relay, in a --net none view and in the
# default view: every line must be the kernel's answer. Lines marked filter. (valid socket
# filters: libstack has no BPF), ifreq. (interfaces that exist), dualstack. (IPv4 on an IPv6
# UDP socket) and policy. (options refused on purpose) are compared only where they must
# match (hostile.c says why); the policy answers are checked here.
set -uo pipefail
: "${TN:?path of the threadnet launcher}" "${RELAY_MOD:?}" "${HOSTILE:?}"
WORK=$(mktemp -d /tmp/tn-hostile.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/../common.sh"
cd "$WORK"
run() {  # NAME CMD...: the program's output in NAME.txt, the supervisor's stderr in NAME.err
  local name=$1
  shift
  timeout 150 "$@" "$HOSTILE" >"$name.txt" 2>"$name.err"
  local rc=$?
  [ $rc -eq 0 ] || { tail -20 "$name.err"; fail "$name run exited $rc"; }
  grep -q '^done: yes$' "$name.txt" || fail "$name run incomplete"
}
# compare NAME EXCLUDE-REGEX: NAME.txt equals native.txt except the excluded lines.
compare() {
  if ! diff -u <(grep -Ev "$2" native.txt) <(grep -Ev "$2" "$1.txt"); then
    fail "$1 differs from the native run (diff above)"
  fi
  echo "$1: $(grep -Evc "$2" native.txt) lines identical"
}
policy() {  # NAME: options refused on purpose get the documented errno
  local want
  for want in 'tcp4.setsockopt.policy.tcp_repair: EPERM' 'tcp6.setsockopt.policy.tcp_ulp: EOPNOTSUPP' \
              'udp4.setsockopt.policy.ipt_set_replace: EPERM' 'tcp6.setsockopt.policy.ipt_set_replace: EPERM'; do
    grep -qxF "$want" "$1.txt" || fail "$1: expected '$want', got '$(grep -F "${want%%:*}:" "$1.txt")'"
  done
}
# The views run with the native run's privileges (as root, a view's program has no
# capabilities unless --keep-caps: compared with a root native run, option and bpf
# results would differ for that reason alone).
KEEP=()
[ "$(id -u)" = 0 ] && KEEP=(--keep-caps)
run native
run relay "$TN" run -m "$RELAY_MOD" "${KEEP[@]}" --
compare relay '\.policy\.'
policy relay
grep -qx 'udp4.filter.drop.arrived: no' relay.txt || fail "relay: a drop-all filter let datagrams through"
grep -qx 'udp6.filter.drop.arrived: no' relay.txt || fail "relay: a drop-all filter let datagrams through (v6)"
if grep -qx 'udp4.filter.drop_bpf.load: OK' native.txt; then  # (compared above as well)
  grep -qx 'udp4.filter.drop_bpf.arrived: no' relay.txt || fail "relay: SO_ATTACH_BPF did not take effect"
fi
if [ -n "${UMNET_MOD:-}" ]; then
  run none "$TN" run -m "$UMNET_MOD" "${KEEP[@]}" --net none --
  compare none '\.(policy|filter|ifreq|dualstack)\.'
  policy none
  run view "$TN" run -m "$UMNET_MOD" "${KEEP[@]}" --
  compare view '\.(policy|filter|ifreq|dualstack)\.'
  policy view
fi
echo "hostile: ok"
