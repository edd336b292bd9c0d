// NETLINK_ROUTE emulation over a libstack::Stack: the request datagram a program sent on
// its AF_NETLINK socket goes in, the reply datagrams it must read come out. See
// docs/netlink.md for the supported messages and how they map onto the Stack.
//
//   umnet::NetlinkRoute nl(stack);
//   auto replies = nl.handle(request_bytes, port_id);   // port_id = the socket's nl_pid
//   for (auto& d : replies) queue d as one datagram for recvmsg()
//
// Not thread-safe (like the Stack it acts on). Holds no reference to request memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "libstack/stack.h"

namespace umnet {

struct NetlinkCounters {
  uint64_t messages = 0;        // netlink messages processed (requests, not datagrams)
  uint64_t dumps = 0;           // dump requests answered
  uint64_t error_acks = 0;      // NLMSG_ERROR replies carrying a non-zero error
  uint64_t unsupported = 0;     // -EOPNOTSUPP answers (unknown type, unsupported change)
  uint64_t malformed = 0;       // messages rejected with -EINVAL for bad layout
  uint64_t dropped_bytes = 0;   // trailing bytes dropped (bad nlmsg_len, short header)
  uint64_t dropped_datagrams = 0;  // datagrams of which something was dropped
};

class NetlinkRoute {
 public:
  explicit NetlinkRoute(libstack::Stack& stack) : st_(stack) {}

  // Largest reply datagram; a dump is split into several NLM_F_MULTI datagrams of at most
  // this size (the kernel uses about one page). Minimum 1024.
  void set_max_datagram(size_t bytes) { max_dgram_ = bytes < 1024 ? 1024 : bytes; }

  // Process every netlink message in `request` (one sendmsg datagram), in order, like the
  // kernel's netlink_rcv_skb: a message whose nlmsg_len is shorter than a header or runs
  // past the datagram ends processing silently (counted). Returns the reply datagrams.
  std::vector<std::vector<uint8_t>> handle(std::span<const uint8_t> request, uint32_t port_id);

  const NetlinkCounters& counters() const { return ctr_; }

 private:
  class Out;
  int dispatch(const uint8_t* msg, size_t len, Out& out);
  int get_link(const uint8_t* msg, size_t len, Out& out);
  int new_link(const uint8_t* msg, size_t len);
  int get_addr(const uint8_t* msg, size_t len, Out& out);
  int change_addr(const uint8_t* msg, size_t len, bool add);
  int get_route(const uint8_t* msg, size_t len, Out& out);
  int route_lookup(const uint8_t* msg, size_t len, Out& out);
  int change_route(const uint8_t* msg, size_t len, bool add);
  int get_neigh(const uint8_t* msg, size_t len, Out& out);

  libstack::Stack& st_;
  size_t max_dgram_ = 4096;
  NetlinkCounters ctr_;
};

}  // namespace umnet
