// The host's network information for programs that use the host network on purpose (the
// relay module, umnet's `host` stack). The tree runs in an empty network namespace; the
// supervisor stays in the host's, so what a program would read of the host natively is
// answered from the supervisor (see host_net.cpp).
#pragma once

#include <threadnet/module.h>

#include "tracee_fds.h"

namespace tn::hostnet {

// socket(AF_NETLINK, *, NETLINK_ROUTE or NETLINK_SOCK_DIAG): served from the host.
bool is_host_netlink(const tn_call *c);
// Creates that socket in the supervisor (host namespace) and installs it in the tracee as
// the call's result.
void netlink_socket(const tn_host *h, const tn_call *c);

// An interface ioctl (request 0x89xx) on any fd: the read-only requests are answered by
// the host's kernel on a socket of the supervisor; requests about the fd itself go to the
// kernel; requests that would change the host (addresses, flags, routes, ARP) fail EPERM.
class IfIoctls {
 public:
  IfIoctls(const tn_host *h, TraceeFds &fds) : h_(h), fds_(fds) {}
  ~IfIoctls();
  IfIoctls(const IfIoctls &) = delete;
  IfIoctls &operator=(const IfIoctls &) = delete;
  void handle(const tn_call *c);

 private:
  int sock();
  const tn_host *h_;
  TraceeFds &fds_;
  int sock_ = -1;
};

// ioctl requests the supervisor makes on the program's behalf (for tn_host.allow_ioctls).
extern const unsigned long kIoctls[];

}  // namespace tn::hostnet
