#!/bin/sh
# `threadnet stack` inside a real view of the umnet module (label integration): two
# loopback-only stacks a and b; stack_probe reports which stack its plain socket() lands
# on, by connecting to its own listener through msocket(a) and msocket(b).
#   threadnet_stack_view_test.sh THREADNET STACK_PROBE UMNET_MODULE_SO
set -u
TN=$1 PROBE=$2 MOD=$3
if [ ! -e "$MOD" ]; then
  echo "SKIP: the umnet module is not built yet ($MOD does not exist)"
  exit 77
fi
errf=$(mktemp "${TMPDIR:-/tmp}/tn-stack-view.XXXXXX") || exit 1
trap 'rm -f "$errf"' EXIT INT TERM
fails=0
# expect NAME WANT_STDOUT SCRIPT: SCRIPT runs in the view with $TN and $PROBE set.
expect() {
  out=$(TN="$TN" PROBE="$PROBE" timeout 60 "$TN" run --module "$MOD" --stack a=none \
        --stack b=none -- sh -c "$3" 2>"$errf")
  rc=$?
  if [ "$rc" -ne 0 ] || [ "$out" != "$2" ]; then
    echo "FAIL $1: rc=$rc stdout:"; echo "$out" | sed 's/^/  /'; echo "  (want: $2)"
    echo "  stderr:"; sed 's/^/  /' "$errf"
    fails=$((fails + 1))
  else
    echo "ok   $1"
  fi
}
expect initial_default_is_first_stack "a" '"$PROBE" a b'
expect stack_b "b" '"$TN" stack b -- "$PROBE" a b'
expect stack_a "a" '"$TN" stack a -- "$PROBE" a b'
expect nested_last_wins "b" '"$TN" stack a -- "$TN" stack b -- "$PROBE" a b'
expect inherited_by_children "b" '"$TN" stack b -- sh -c "\"\$PROBE\" a b"'
expect not_changing_the_parent "a" '"$TN" stack b -- true; "$PROBE" a b'
expect no_such_stack "threadnet stack: no stack named c in this view
rc=2" '"$TN" stack c -- true 2>&1; echo rc=$?'
[ "$fails" -eq 0 ] && echo "all passed" || echo "$fails failed"
[ "$fails" -eq 0 ]
