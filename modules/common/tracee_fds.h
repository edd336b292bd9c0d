// Tracee file descriptors as seen from a module: supervisor-side duplicates through a
// per-process pidfd cache, socket identity (sockfs inode), and "is this AF_UNIX end still
// open anywhere" through NETLINK_SOCK_DIAG. Shared by the modules that inject AF_UNIX
// pair ends as virtual sockets (relay, umnet). One instance per module instance; runs on
// the supervisor's event-loop thread only.
#pragma once
#include <cstdint>
#include <unordered_map>

#include <threadnet/module.h>

namespace tn {

class TraceeFds {
 public:
  explicit TraceeFds(const tn_host *h);
  ~TraceeFds();
  TraceeFds(const TraceeFds &) = delete;
  TraceeFds &operator=(const TraceeFds &) = delete;

  // A supervisor-side duplicate of the tracee's fd (caller closes), or -errno (EBADF: the
  // tracee has no such fd; ENOENT: the call went away while a pidfd was opened).
  int dup_of(const tn_call *c, int fd);
  // Identity of a socket: its sockfs inode; 0 for anything that is not a socket.
  uint64_t ident_local(int fd);
  // Identity of the tracee's fd (0 when not a socket or no such fd).
  uint64_t ident_of(const tn_call *c, int fd);
  // Forget the cached pidfd of a process that exited.
  void drop(int32_t tgid);
  // Does the AF_UNIX socket with inode `ino` still exist (some fd or in-flight message)?
  // true when unsure.
  bool alive(uint64_t ino);

 private:
  const tn_host *h_;
  std::unordered_map<int32_t, int> pidfds_;
  uint64_t sock_dev_ = ~0ull;
  int diag_ = -1;
};

}  // namespace tn
