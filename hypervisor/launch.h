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

// Fork the tree. `prog` is the BPF filter; argv[0] is looked up in PATH.
// `use_ns`: try the PID/mount (and user) namespaces; fallback warns once.
Launched launch_tree(const std::vector<sock_filter> &prog, const std::vector<std::string> &argv,
                     bool use_ns, const Inherit &inherit);

// Exit code for a wait status (128+N for a signal).
int exit_code_of(int wstatus);

}  // namespace tn
