// Virtual sockets: the part of a network module that makes a program's AF_INET/AF_INET6
// socket an AF_UNIX pair end in the tracee and moves its bytes, with the kernel's socket
// semantics, to and from a "far side" that really carries the traffic: a host kernel
// socket (relay, and umnet's `host` stack) or a libstack socket (umnet). See vsock.cpp's
// theory of operation. The engine is the same for every far side; a far side implements
// `Far` with kernel-like, non-blocking semantics and errno results.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>

#include <threadnet/module.h>

#include "tracee_fds.h"

namespace tn::vsock {

// One far-side socket. Every call is non-blocking; results are >= 0 or -errno, with the
// meaning the same call has on a non-blocking Linux socket.
class Far {
 public:
  virtual ~Far() = default;
  // Start reporting readiness: `ev` (EPOLLIN/OUT/ERR/HUP/RDHUP bits) whenever the state
  // may have changed (edge style: the engine drains until -EAGAIN). The callback may be
  // called from inside any other call of this object; the engine defers its work.
  virtual int start(std::function<void(uint32_t ev)> on_event) = 0;
  // Kernel connect(): 0, -EINPROGRESS, then on later calls -EALREADY while in progress,
  // 0 or -EISCONN once established, the failure errno once (then the socket is fresh).
  virtual int connect(const sockaddr_storage &to, socklen_t len) = 0;
  virtual int bind(const sockaddr_storage &a, socklen_t len) = 0;
  virtual int listen(int backlog) = 0;
  virtual std::unique_ptr<Far> accept(sockaddr_storage *peer, socklen_t *plen, int *err) = 0;
  virtual bool accept_pending() = 0;
  virtual ssize_t recv(void *buf, size_t n) = 0;  // 0 = EOF
  virtual ssize_t send(const void *buf, size_t n) = 0;
  // How many bytes send() would take now: 0 only if the socket is not writable (an
  // EPOLLOUT edge follows when it becomes so); SIZE_MAX when unknown. The pump reads no
  // more than this from the program, so that bytes are not parked in a stash.
  virtual size_t send_room() { return SIZE_MAX; }
  // Datagrams with addresses (UDP, ping).
  virtual ssize_t recvfrom(void *buf, size_t n, sockaddr_storage *from, socklen_t *flen) = 0;
  virtual ssize_t sendmsg(const void *buf, size_t n, const sockaddr_storage *to, socklen_t tolen,
                          const void *ctl, size_t ctllen, int flags) = 0;
  virtual int shutdown(int how) = 0;
  virtual int name(bool peer, sockaddr_storage *out, socklen_t *len) = 0;
  // Socket options. The engine has checked the option against its table
  // (sockopt_table.h) and translated pointers and fds into the supervisor's. For a far side
  // that is a kernel socket (kernel_socket()), `len` is the program's own length and the
  // bytes past the program's readable value are an inaccessible page, so the kernel's own
  // length checks and faults apply; `val` may be NULL when the program passed NULL. For
  // other far sides, `val` holds `len` readable bytes (at most what Linux reads for the
  // option), and getopt's *len is at most the buffer's size.
  virtual int setopt(int level, int name, const void *val, socklen_t len) = 0;
  virtual int getopt(int level, int name, void *val, socklen_t *len) = 0;
  // Is this far side a host kernel socket (its options are the kernel's own)?
  virtual bool kernel_socket() const { return false; }
  // A pollable fd (for the flush at the end of a run), or -1.
  virtual int poll_fd() const { return -1; }
};

// Creates far sockets of one network (the host, one libstack stack) and rewrites
// addresses where that network wants it (published ports, DNS redirection).
class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::unique_ptr<Far> create(int domain, int type, int protocol, int *err) = 0;
  // Destination of a connect/sendto, before the far side sees it.
  virtual void map_dest(sockaddr_storage *, socklen_t) {}
  // Address a program binds, before the far side sees it; *tag is kept with the socket
  // and passed back to map_name (e.g. the published port that was bound).
  virtual void map_bind(sockaddr_storage *, socklen_t, uint32_t *tag) { (void)tag; }
  // getsockname (peer == false) / getpeername / a datagram's source, before the program
  // sees it.
  virtual void map_name(sockaddr_storage *, socklen_t, bool peer, uint32_t tag) {
    (void)peer;
    (void)tag;
  }
};

class Engine {
 public:
  Engine(const tn_host *h, TraceeFds &fds);
  ~Engine();
  Engine(const Engine &) = delete;
  Engine &operator=(const Engine &) = delete;

  // Is this call on one of our sockets (or socket() itself is never claimed here)? Cheap
  // for calls that cannot be ours. Must not block.
  bool choose(const tn_call *c);
  // Serve a call claimed by choose().
  void handle(const tn_call *c);
  // Answer socket(domain, type, protocol) (from c->args) with a virtual socket of `p`.
  // `p` must outlive every socket it created (until fini()).
  void socket(const tn_call *c, Provider &p);
  // Work that far sides' callbacks deferred; call after driving a far network.
  void run_posted();
  // End of the run: flush what the tracees wrote (bounded), then drop every socket.
  void fini();
  void on_exit(int32_t tgid);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// A far side for a host socket the supervisor already has (connected, non-blocking); it
// owns `fd` from here on.
std::unique_ptr<Far> host_far(const tn_host *h, int fd);

// The host kernel's network: every far socket is a real socket of the supervisor.
class HostProvider : public Provider {
 public:
  explicit HostProvider(const tn_host *h) : h_(h) {}
  std::unique_ptr<Far> create(int domain, int type, int protocol, int *err) override;

 private:
  const tn_host *h_;
};

}  // namespace tn::vsock
