#!/bin/sh
# `threadnet stack` outside a view (label unit): usage and error paths with the real
# kernel (ENOSYS), and with a preloaded fake of the module's msocket answer (ENOENT, the
# request sent, exec of COMMAND and its exit status).
#   threadnet_stack_test.sh THREADNET FAKE_VIEW_SHIM
set -u
TN=$1 SHIM=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/tn-stack-test.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT INT TERM
fails=0
# A sanitizer runtime must come first among the initial libraries; the shim is not
# instrumented and only needs to come before libc.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

# check NAME WANT_RC WANT_STDERR_SUBSTRING ("": stderr empty) [--shim] -- ARGS...
check() {
  name=$1 want_rc=$2 want_err=$3
  shift 3
  preload=
  if [ "$1" = --shim ]; then preload=$SHIM; shift; fi
  shift  # --
  if [ -n "$preload" ]; then
    LD_PRELOAD=$preload timeout 30 "$TN" "$@" >"$dir/out" 2>"$dir/err"
  else
    timeout 30 "$TN" "$@" >"$dir/out" 2>"$dir/err"
  fi
  rc=$?
  if [ -z "$want_err" ]; then  # no message wanted: stderr must be empty
    err_ok=$([ -s "$dir/err" ] && echo no || echo yes)
  else
    err_ok=$(grep -qF -- "$want_err" "$dir/err" && echo yes || echo no)
  fi
  if [ "$rc" -ne "$want_rc" ] || [ "$err_ok" != yes ]; then
    echo "FAIL $name: rc=$rc (want $want_rc), stderr:"; sed 's/^/  /' "$dir/err"
    echo "  (want stderr containing: $want_err)"
    fails=$((fails + 1))
  else
    echo "ok   $name"
  fi
}

long=$(printf '%064d' 0)
check not_in_view 2 "threadnet stack: not inside a threadnet view" -- stack vpn -- true
check no_name 2 "no stack NAME given" -- stack
check no_command 2 "no COMMAND given" -- stack vpn
check no_command_after_dashes 2 "no COMMAND given" -- stack vpn --
check empty_name 2 "threadnet stack: empty stack name" -- stack "" -- true
check long_name 2 "stack names are at most 63 characters" -- stack "$long" -- true

export TN_FAKE_VIEW_STACKS=a,b TN_FAKE_VIEW_LOG="$dir/log"
check no_such_stack 2 "threadnet stack: no stack named c in this view" --shim -- stack c -- true
: >"$dir/log"
check runs_command 7 "" --shim -- stack b -- sh -c 'echo ran; exit 7'
if [ "$(cat "$dir/out")" != ran ] || [ "$(cat "$dir/log")" != "2 0 b" ]; then
  echo "FAIL runs_command: stdout '$(cat "$dir/out")' (want ran), request '$(cat "$dir/log")' (want '2 0 b')"
  fails=$((fails + 1))
fi
check without_dashes 5 "" --shim -- stack a sh -c 'exit 5'
check missing_command 127 "threadnet stack: $dir/nonexistent:" --shim -- stack a -- "$dir/nonexistent"
unset TN_FAKE_VIEW_STACKS TN_FAKE_VIEW_LOG

timeout 30 "$TN" --help >"$dir/out" 2>&1
if ! grep -qF "threadnet stack NAME" "$dir/out"; then
  echo "FAIL help: no 'threadnet stack NAME' in threadnet --help"; fails=$((fails + 1))
fi
timeout 30 "$TN" stack --help >"$dir/out" 2>&1 || { echo "FAIL stack --help: rc $?"; fails=$((fails + 1)); }

[ "$fails" -eq 0 ] && echo "all passed" || echo "$fails failed"
[ "$fails" -eq 0 ]
