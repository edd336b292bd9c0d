// Backtrace of a tracee thread blocked in a trapped call (for --trace-stack).
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace tn {

// Frames as "#N function+0xoff (object)" or "#N 0xaddr (object)"; empty if unavailable.
std::vector<std::string> tracee_backtrace(pid_t tid, int max_frames);

}  // namespace tn
