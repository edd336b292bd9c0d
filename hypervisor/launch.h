// Starting the supervised tree (see launch.cpp).
#pragma once
#include <linux/filter.h>
#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace tn {

struct Launched {
  int listener = -1;    // seccomp user-notify fd (supervisor side)
  int ctl = -1;         // socket to the init (status messages); -1 in fallback mode
  int child_pidfd = -1; // pidfd of our direct child (the init, or P in fallback mode)
  pid_t child = -1;
  bool namespaced = false;
  int fail_code = 0;    // != 0: launch failed, exit with this code (message printed)
};

// Messages the init sends on `ctl`.
struct CtlMsg {
  int32_t type;    // 1 listener (fd attached), 2 program status, 3 error
  int32_t value;   // wait status for 2, errno for 3
};

// What the program must inherit from the user, not from the supervisor (which blocks the
// forwarded signals and ignores SIGPIPE): the original signal mask and SIGPIPE action.
struct Inherit {
  sigset_t mask;
  bool sigpipe_ignored = false;
};

// How the tree is started.
struct LaunchSpec {
  // PID + mount + network (+ user when not root) namespaces; without them (or when the
  // kernel refuses them) the tree shares the host's, and one line says what that loses.
  bool use_ns = true;
  // The tree's /proc/net shows the supervisor's (host) network namespace instead of the
  // tree's empty one: for modules that serve the host network on purpose (relay, a
  // `host` default stack). /proc/self/net and /proc/PID/net still show the empty one.
  bool host_procnet = false;
  // Root mode: the program gets no capabilities (ambient, permitted, effective and
  // inheritable sets cleared; SECBIT_NOROOT so exec as uid 0 does not give them back;
  // no_new_privs so no exec gains any).
  bool drop_caps = false;
  Inherit inherit;
};

// Fork the tree. `prog` is the BPF filter; argv[0] is looked up in PATH.
Launched launch_tree(const std::vector<sock_filter> &prog, const std::vector<std::string> &argv,
                     const LaunchSpec &spec);

// The calling process's effective set has `cap` / any capability at all.
bool has_capability(int cap);
bool has_any_capability();

// Clears every capability of the calling process for good (see LaunchSpec::drop_caps).
// 0 or -errno.
int drop_all_capabilities();

// Exit code for a wait status (128+N for a signal).
int exit_code_of(int wstatus);

}  // namespace tn
