// RouterHost: a libstack Stack seen through the router ABI (threadnet/router.h).
//
// The owner of a stack (umnet's View for --mesh, the mesh simulator for thousands of nodes)
// makes one RouterHost per stack. It opens one UDP socket on the router's port per
// interface (bound to that device, broadcast allowed), fills a tn_router_host whose calls
// land on the stack (datagrams, addresses, multipath routes of origin Mesh), and hands
// received datagrams to the router when the owner calls deliver(). Time, randomness and
// wake-ups are the owner's: the callbacks below.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <threadnet/router.h>

#include "libstack/stack.h"
#include "libstack/udp.h"

namespace tn {

class RouterHost {
 public:
  struct Callbacks {
    std::function<uint64_t()> now_ns;
    std::function<uint64_t()> random_u64;
    std::function<void(uint64_t at_ns)> wakeup;  // call the router's poll by then
    std::function<void()> readable;              // a datagram waits: call deliver() soon
    std::function<void(const char *line)> log;   // may be empty
  };
  RouterHost(libstack::Stack &stack, Callbacks cb, uint16_t port);
  ~RouterHost();
  RouterHost(const RouterHost &) = delete;
  RouterHost &operator=(const RouterHost &) = delete;

  // One socket per interface but loopback; false with a message (e.g. the port is taken).
  bool open_sockets(std::string *err);
  const tn_router_host *host() const { return &host_; }
  // Hand every waiting datagram to the router's receive().
  void deliver(const tn_router *r, void *self);
  // Routes the router installed (for the owner's tear-down and the simulator's checks).
  size_t route_count() const { return installed_.size(); }
  // Remove the router's addresses and routes from the stack (the router stops).
  void withdraw();

 private:
  static uint64_t c_now(void *ctx);
  static uint64_t c_random(void *ctx);
  static void c_wakeup(void *ctx, uint64_t at);
  static int c_interfaces(void *ctx, tn_router_if *out, int max);
  static int c_send(void *ctx, uint32_t ifindex, const tn_router_addr *dst, uint16_t port,
                    const void *buf, size_t len);
  static int c_add_address(void *ctx, uint32_t ifindex, const tn_router_addr *a, uint8_t plen);
  static int c_del_address(void *ctx, uint32_t ifindex, const tn_router_addr *a, uint8_t plen);
  static int c_set_route(void *ctx, const tn_router_addr *dst, uint8_t plen,
                         const tn_router_nexthop *hops, int n);
  static void c_log(void *ctx, const char *line);

  libstack::Stack &stack_;
  Callbacks cb_;
  uint16_t port_;
  tn_router_host host_{};
  std::map<uint32_t, std::unique_ptr<libstack::UdpSocket>> socks_;  // by ifindex
  std::map<libstack::Cidr, std::vector<libstack::NextHop>> installed_;
  std::vector<std::pair<uint32_t, libstack::Cidr>> addresses_;
  std::vector<uint8_t> buf_;
};

}  // namespace tn
