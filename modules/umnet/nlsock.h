// Netlink sockets of a view: socket(AF_NETLINK, SOCK_RAW|SOCK_DGRAM, NETLINK_ROUTE) made
// by a process on a libstack stack is virtual and answered by umnet::NetlinkRoute from
// that stack's state; interface ioctls (SIOCGIF*, SIOCGIFCONF) on any fd are answered by
// umnet::IfIoctl. Other netlink protocols (generic, sock_diag, ...) are declined by the
// owner and reach the kernel unchanged.
//
// Runs on the supervisor's event-loop thread; the owner (umnet.cpp) decides which calls
// reach it: create() for the socket() call, handle() for calls whose fd identity owns()
// reports, if_ioctl() for a trapped interface ioctl.
#pragma once

#include <cstdint>
#include <memory>

#include <threadnet/module.h>

#include "libstack/stack.h"
#include "tracee_fds.h"

namespace umnet {

class NetlinkSockets {
 public:
  NetlinkSockets(const tn_host *h, tn::TraceeFds &fds);
  ~NetlinkSockets();
  NetlinkSockets(const NetlinkSockets &) = delete;
  NetlinkSockets &operator=(const NetlinkSockets &) = delete;

  // Answer socket(AF_NETLINK, type, protocol) (c->args) with a virtual netlink socket
  // served from `stack` (which outlives every socket: stacks live as long as the view).
  void create(const tn_call *c, libstack::Stack &stack);
  // Is `ident` (TraceeFds identity of a call's fd) one of our sockets? Cheap.
  bool owns(uint64_t ident) const;
  // Serve bind/connect/getsockname/getpeername/sendto/sendmsg/recvfrom/recvmsg/
  // setsockopt/getsockopt/shutdown on one of our sockets (ident from owns()).
  void handle(const tn_call *c, uint64_t ident);
  // ioctl(fd, request, arg) with an interface request (IfIoctl::is_interface_ioctl), on
  // any fd: answered from `stack`.
  void if_ioctl(const tn_call *c, libstack::Stack &stack);
  // A process exited (free per-process state if any).
  void on_exit(int32_t tgid);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace umnet
