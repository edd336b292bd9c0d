// The supervisor protecting itself and the host from what it runs (see sandbox.cpp).
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace tn {

// First thing at start: the fds >= 3 the supervisor was started with. (The supervisor
// makes itself not dumpable in launch_tree, before any process of the tree runs.)
std::vector<int> sandbox_early();

// Closes the inherited sockets that would reach a network around the view (every family
// but AF_UNIX) unless listed in `keep`, before the tree is forked. Returns a description
// ("3 (AF_INET), 7 (AF_NETLINK)") of what was closed, empty if nothing; the fds closed are
// removed from *inherited. `bad_keep` gets a kept fd that is not open (-1: none).
std::string close_inherited_sockets(std::vector<int> *inherited, const std::set<int> &keep,
                                    int *bad_keep);

// After the launch: the supervisor's copies of the inherited fds (the tree has its own).
void close_inherited_fds(const std::vector<int> &inherited);

// Root mode: keep only the capabilities in `keep` (CAP_* numbers) in every set, bounding
// set included. 0 or -errno.
int keep_only_capabilities(const std::vector<int> &keep);

// The supervisor's own seccomp filter, installed once set-up is done (TSYNC: every
// thread, the link plugins' included). Anything outside `syscalls` / `ioctls` traps, the
// handler says which call on stderr and the supervisor exits (its tree dies with it).
// Arguments are narrowed where the supervisor's needs are narrow (socket families,
// read-only opens, signals only to processes of its own, no exec, no new processes).
struct SandboxSpec {
  std::set<int> syscalls;
  std::set<uint32_t> ioctls;
  bool log_only = false;  // THREADNET_SANDBOX=log: log to the kernel audit log instead
};

// The calls the supervisor itself and the C/C++ runtime make after set-up.
void add_base_syscalls(SandboxSpec *spec);
int install_sandbox(const SandboxSpec &spec, std::string *err);

}  // namespace tn
