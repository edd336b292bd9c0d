// Building the supervisor's seccomp filter (see filter.cpp for the policy).
#pragma once
#include <linux/filter.h>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace tn {

struct FilterRule {
  int nr;
  unsigned arg;
  uint64_t mask, value;
};

struct FilterSpec {
  std::set<int> syscalls;      // x86_64 numbers the modules want (union)
  std::vector<FilterRule> rules;  // conditional traps (OR'ed; ignored for nrs in syscalls)
  bool close_io_uring = true;  // io_uring_* -> user-notify, answered ENOSYS by the supervisor
  bool close_other_abis = true;  // x32 and i386 -> user-notify, answered ENOSYS
  bool watch_own_listener = true;  // seccomp(NEW_LISTENER) -> user-notify (warn, let fail)
};

// Returns the BPF program (empty on error, message in *err).
std::vector<sock_filter> build_filter(const FilterSpec &spec, std::string *err);

// Address families whose socket()/socketpair() calls are trapped.
bool trapped_family(long family);

}  // namespace tn
