// The supervisor: runs a program under the seccomp user-notify filter and dispatches
// its trapped calls to modules (see supervisor.cpp).
#pragma once
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "module_loader.h"

namespace tn {

struct ModuleUse {
  LoadedModule loaded;
  std::vector<std::string> argv;  // options for init
};

struct RunOptions {
  std::vector<ModuleUse> modules;
  std::vector<std::string> argv;  // PROGRAM ARGS...
  bool trace = false;
  std::string trace_file;  // empty: stderr
  bool trace_stack = false;  // with --trace: a backtrace under each line
  bool use_namespaces = true;
  bool sync_wakeup = true;
  double wait_net_s = 10;           // --wait-net: longest wait for the modules' start gates
  bool keep_caps = false;           // root mode: the program keeps its capabilities
  std::set<int> keep_fds;           // inherited host sockets the user keeps on purpose
  std::vector<int> inherited_fds;   // fds >= 3 the supervisor started with (run_supervised)
};

// Runs the program to completion; returns the exit code for `threadnet run`.
int run_supervised(RunOptions &opts);

}  // namespace tn
