// Backtrace of a tracee thread blocked in a trapped call (for --trace-stack).
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace tn {

// Frames as "#N function+0xoff (object)" or "#N 0xaddr (object)"; empty if unavailable.
std::vector<std::string> tracee_backtrace(pid_t tid, int max_frames);

// System calls the walk makes beyond the supervisor's own (for its sandbox): libunwind
// checks addresses with mincore (with every signal blocked). Terminated by -1.
extern const int kBacktraceSyscalls[];

}  // namespace tn
