// The socket options the vsock engine knows how to pass to a far socket, and how.
//
// A program's setsockopt value is tracee memory; the far socket is the supervisor's (a host
// kernel socket, or a libstack socket). Plain values (ints, fixed structs, strings, byte
// strings) are copied and passed; values that carry a pointer (struct sock_fprog) or a file
// descriptor (an eBPF program) are translated from the tracee's memory and fd table; options
// that would let the program act with the supervisor's privilege on the host, map pages
// into the supervisor, or install fds there are refused with an errno a program handles.
// Options not in the table are unknown: ENOPROTOOPT, as Linux answers for an option it does
// not have. See docs/relay.md ("Socket options") for the list and the reasons.
#pragma once

#include <sys/socket.h>

#include <cstdint>

namespace tn::vsock::sockopt {

enum class Set : uint8_t {
  No,      // not settable (get-only or unknown here): ENOPROTOOPT, after the level's checks
  Value,   // plain bytes: at most `cap` bytes of the program's value are read
  Filter,  // struct sock_fprog: the instructions are read from the tracee (SO_ATTACH_FILTER)
  BpfFd,   // a u32 fd of the tracee: passed as the supervisor's duplicate (SO_ATTACH_BPF)
  Refuse,  // refused with `err`
};

enum class Get : uint8_t {
  No,      // not readable here: ENOPROTOOPT
  Out,     // written by the socket (at most the program's length)
  InOut,   // the socket also reads the first `in` bytes the program put there
  Filter,  // SO_GET_FILTER: the length counts instructions, not bytes
  Refuse,  // refused with `err`
};

struct Spec {
  int level;
  int name;
  Set set;
  uint32_t cap;  // Set::Value: the most bytes the kernel reads from optval for it
  uint32_t min;  // Set::Value: the kernel's EINVAL below this length (0: none)
  Get get;
  uint32_t in;   // Get::InOut: input bytes read from the program's buffer
  int set_err;   // Set::Refuse
  int get_err;   // Get::Refuse
};

// The entry for (level, name), or nullptr when the option is unknown.
const Spec *find(int level, int name);

// Linux reads an int from optval before it looks the option up at these levels (SOL_SOCKET,
// TCP, UDP: EINVAL for a length below 4, EFAULT when unreadable, then ENOPROTOOPT).
bool reads_int_first(int level);

// Largest value the engine copies for any option (bytes).
constexpr uint32_t kMaxValue = 128 * 1024;

}  // namespace tn::vsock::sockopt
