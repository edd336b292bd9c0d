// libstack public API: one Stack object is one IP host (or router) with its own
// interfaces, addresses, routes, neighbour cache and sockets. Many stacks may live in one
// process; they share nothing. A Stack is not thread-safe: drive it from one thread.
//
//   SplitMix64 rng(seed);
//   auto st = Stack::create({rng});
//   int eth0 = st->add_interface(std::move(link), mac);
//   st->add_address(eth0, *Cidr::parse("10.0.0.2/24"));
//   st->add_route(*Cidr::parse("0.0.0.0/0"), *IpAddr::parse("10.0.0.1"), eth0);
//   auto u = st->udp_socket(IpAddr::Family::V4);
//   loop: st->poll(now); sleep until min(st->next_deadline(), link fds readable)
//
// Time only enters through poll(now); calls made between polls use the last `now`.
// Errors are negative Linux errno values.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "libstack/link.h"
#include "libstack/tcp.h"
#include "libstack/tuning.h"
#include "libstack/types.h"

namespace libstack {

namespace tcp {
class TcpEngine;
}
class UdpSocket;
class IcmpSocket;
class StackImpl;

// Readiness bits for socket callbacks and poll_events(): the Linux EPOLL* values.
namespace events {
inline constexpr uint32_t kIn = 0x001, kOut = 0x004, kErr = 0x008, kHup = 0x010;
}

struct StackConfig {
  Random& random;
  Tuning tuning{};
};

// One counter per reason a packet was dropped, plus a few traffic counters. The X-macro
// lets callers (netstat-like tools, tests) enumerate them by name.
#define LIBSTACK_COUNTERS(X)                                                                  \
  X(rx_frames) X(tx_frames) X(link_tx_dropped) X(rx_frame_too_big)                            \
  X(eth_truncated) X(eth_not_for_us) X(eth_unknown_ethertype) X(eth_bad_src)                  \
  X(arp_malformed) X(arp_not_for_us) X(arp_requests_rx) X(arp_replies_rx) X(arp_requests_tx)  \
  X(arp_replies_tx) X(arp_gratuitous_tx) X(arp_conflict)                                      \
  X(neigh_queue_overflow) X(neigh_resolve_failed) X(neigh_table_full)                         \
  X(ipv4_rx) X(ipv4_tx) X(ipv4_truncated) X(ipv4_bad_checksum) X(ipv4_bad_version)            \
  X(ipv4_bad_length) X(ipv4_malformed) X(ipv4_martian_src) X(ipv4_not_for_us) X(mcast_filtered)\
  X(ipv4_forwarded) X(ipv4_ttl_exceeded) X(ipv4_no_route) X(ipv4_frag_needed)                 \
  X(ipv4_fragments_rx) X(ipv4_reassembled) X(ipv4_fragments_tx)                               \
  X(ipv6_rx) X(ipv6_tx) X(ipv6_truncated) X(ipv6_bad_version) X(ipv6_malformed)               \
  X(ipv6_martian_src) X(ipv6_not_for_us) X(ipv6_forwarded) X(ipv6_hop_limit_exceeded)         \
  X(ipv6_no_route) X(ipv6_too_big) X(ipv6_bad_option) X(ipv6_fragments_rx)                    \
  X(ipv6_reassembled) X(ipv6_fragments_tx) X(ipv6_to_tentative)                               \
  X(reasm_timeout) X(reasm_overflow) X(reasm_overlap) X(reasm_oversize) X(reasm_bad_length)   \
  X(unknown_protocol)                                                                         \
  X(icmp_truncated) X(icmp_bad_checksum) X(icmp_echo_rx) X(icmp_echo_reply_tx)                \
  X(icmp_errors_tx) X(icmp_errors_rx) X(icmp_unknown_type) X(icmp_broadcast_ignored)          \
  X(icmp_ratelimited) X(icmp_error_suppressed)                                                \
  X(ndp_invalid) X(ndp_ns_rx) X(ndp_na_rx) X(ndp_ns_tx) X(ndp_na_tx) X(ndp_rs_tx)             \
  X(ndp_ra_rx) X(dad_conflict)                                                                \
  X(udp_rx) X(udp_tx) X(udp_truncated) X(udp_bad_length) X(udp_bad_checksum)                  \
  X(udp_port_unreachable) X(udp_rcvbuf_full)                                                  \
  X(ping_rx) X(ping_unmatched)                                                                \
  X(tcp_rx) X(tcp_tx) X(tcp_bad_checksum) X(tcp_truncated) X(tcp_rst_no_engine)

struct Counters {
#define LIBSTACK_DECL(n) uint64_t n = 0;
  LIBSTACK_COUNTERS(LIBSTACK_DECL)
#undef LIBSTACK_DECL
  template <typename F>
  void for_each(F&& f) const {
#define LIBSTACK_VISIT(n) f(#n, n);
    LIBSTACK_COUNTERS(LIBSTACK_VISIT)
#undef LIBSTACK_VISIT
  }
};

struct InterfaceInfo {
  uint32_t id = 0;
  std::string name;
  LinkKind kind = LinkKind::Ethernet;
  MacAddr mac;
  size_t mtu = 0;
  bool loopback = false;
  bool up = true;
};

struct AddressInfo {
  uint32_t ifindex = 0;
  Cidr cidr;
  bool tentative = false;   // IPv6 DAD in progress: not usable yet
  bool dad_failed = false;  // IPv6 DAD found a duplicate: never usable
  bool deprecated = false;  // preferred lifetime over (SLAAC): not chosen for new traffic
  bool temporary = false;   // RFC 8981 temporary address: preferred for new traffic
};

// One next hop of a multipath route.
struct NextHop {
  IpAddr gateway;        // a neighbour on ifindex; unspecified: the destination is on-link
  uint32_t ifindex = 0;  // 0: the interface of the gateway's connected subnet
  uint16_t weight = 1;   // 1..kMaxNextHopWeight: carries weight / (sum of live weights) of flows
  auto operator<=>(const NextHop&) const = default;
};
// At most this many next hops in one multipath route (TN_ROUTER_MAX_NEXTHOPS of
// threadnet/router.h; the router host static_asserts that they match).
inline constexpr size_t kMaxNextHops = 24;
inline constexpr uint16_t kMaxNextHopWeight = 256;  // Linux: rtnh_hops + 1 <= 256

struct RouteInfo {
  Cidr dest;
  IpAddr gateway;  // unspecified: destination is on-link (multipath: unspecified)
  uint32_t ifindex = 0;  // multipath: 0
  uint32_t metric = 0;
  // Mesh: installed by a routing protocol (the mesh router) through set_multipath_route.
  enum class Origin : uint8_t { Static, Connected, RouterAdvert, Mesh } origin = Origin::Static;
  // Non-empty: a multipath route (set_multipath_route), its next hops in the order given.
  std::vector<NextHop> nexthops;
};

// What a route lookup chose for one destination: the route, and the next hop taken (for a
// multipath route, the one a flow-less lookup takes: the live hop of highest weight).
struct RouteChoice {
  RouteInfo route;
  IpAddr gateway;  // unspecified: on-link
  uint32_t ifindex = 0;
};

struct NeighbourInfo {
  uint32_t ifindex = 0;
  IpAddr addr;
  MacAddr mac;
  enum class State : uint8_t { Incomplete, Reachable, Stale, Delay, Probe, Failed } state{};
};

class Stack {
 public:
  static std::unique_ptr<Stack> create(StackConfig cfg);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  static constexpr uint32_t kLoopbackIfindex = 1;

  // Attach a link; returns the interface id (> 1), or -EINVAL. mtu 0 = link->mtu().
  int add_interface(std::unique_ptr<Link> link, MacAddr mac, size_t mtu = 0, std::string name = {});
  int add_interface(Link& link, MacAddr mac, size_t mtu = 0, std::string name = {});  // not owned
  int remove_interface(uint32_t ifindex);
  int set_mtu(uint32_t ifindex, size_t mtu);
  // Administrative state (ip link set up/down): a down interface neither receives (its
  // link is still drained) nor sends, and routes through it are ignored.
  int set_link_up(uint32_t ifindex, bool up);

  // 0 or -ENODEV / -EEXIST / -EINVAL / -EADDRNOTAVAIL. Adding an address adds the
  // connected route; IPv4 addresses are announced with gratuitous ARP, IPv6 addresses
  // go through duplicate address detection first.
  int add_address(uint32_t ifindex, const Cidr& cidr);
  int remove_address(uint32_t ifindex, const Cidr& cidr);
  // Source-selection hints (RFC 6724), set by SLAAC: a deprecated address (RFC 4862 5.5.4)
  // is picked for new traffic only when no other address of its family and scope is
  // usable (existing connections keep it); a temporary one (RFC 8981) is preferred over
  // the others. 0 or -ENODEV / -EADDRNOTAVAIL.
  int set_address_preference(uint32_t ifindex, const IpAddr& addr, bool deprecated, bool temporary);
  // gateway unspecified = on-link. ifindex 0 = the interface of the gateway's subnet.
  int add_route(const Cidr& dest, const IpAddr& gateway, uint32_t ifindex = 0, uint32_t metric = 0);
  // Single-path routes only: multipath routes go with set_multipath_route(dest, {}, origin).
  int remove_route(const Cidr& dest, const IpAddr& gateway, uint32_t ifindex = 0);

  // Multipath routes, for routing protocols. Installs, or replaces, the multipath route of
  // `origin` (Mesh or Static) to `dest` (host bits are cleared) with 1..kMaxNextHops next
  // hops; an empty `hops` removes it (-ESRCH if there is none). A route is identified by
  // dest and origin: a router's set never touches a static route of the same prefix, nor
  // another origin's. Flows (src, dst, protocol, TCP/UDP ports or ICMP echo id) are spread
  // over the live next hops by a keyed hash, hop i with probability weight_i / sum, so
  // every packet of one connection takes one hop (sent or forwarded). A hop whose
  // interface is down is skipped; with all down the route is ignored and a less specific
  // one is used. Between routes of equal prefix and metric, a non-Mesh route wins.
  // 0 or -EINVAL (too many hops, weight 0 or > kMaxNextHopWeight, the same gateway and
  // interface twice, wrong family, loopback, Connected/RouterAdvert origin), -ENODEV (no
  // such interface), -ENETUNREACH (ifindex 0 and the gateway is on no connected subnet).
  int set_multipath_route(const Cidr& dest, std::span<const NextHop> hops,
                          RouteInfo::Origin origin = RouteInfo::Origin::Mesh, uint32_t metric = 0);
  // Removes every route of `origin` (a router that stops); returns how many.
  size_t flush_routes(RouteInfo::Origin origin);
  // The route and next hop a flow-less lookup of dst takes (oif: only through that
  // interface); nullopt when unreachable. Local addresses are not routes: check
  // is_local_address() first.
  std::optional<RouteChoice> lookup_route(const IpAddr& dst, uint32_t oif = 0) const;

  std::vector<InterfaceInfo> interfaces() const;
  std::vector<AddressInfo> addresses() const;
  std::vector<RouteInfo> routes() const;
  std::vector<NeighbourInfo> neighbours() const;

  // Process received frames and expired timers. Safe to call at any time; cheap when idle.
  void poll(Instant now);
  // When poll() must next be called even if no frame arrives (kNever if never; a time
  // <= the last poll's `now` if work is already pending, e.g. loopback packets).
  Instant next_deadline() const;
  // Called (synchronously) whenever something may need a poll() or socket readiness
  // changed: frames arrived on in-memory links, loopback traffic, timers rearmed.
  void set_wakeup(std::function<void()> cb);

  // Every valid router advertisement (the whole ICMPv6 message, header included), with
  // the receiving interface and the router's link-local address: the hook for SLAAC /
  // RDNSS (src/config). The stack itself only installs the default route.
  void set_router_advert_hook(
      std::function<void(uint32_t ifindex, const Ipv6Addr& router, std::span<const uint8_t> ra)> cb);

  const Counters& counters() const;
  const Tuning& tuning() const;
  Tuning& tuning_mut();  // e.g. toggle forwarding at run time

  std::unique_ptr<UdpSocket> udp_socket(IpAddr::Family family);
  std::unique_ptr<IcmpSocket> icmp_socket(IpAddr::Family family);  // ping socket
  // A new TCP socket handle (see libstack/tcp.h); an empty handle if no engine is built.
  TcpSocket tcp_socket();
  // The TCP engine (created on first use; null when built without it), for counters.
  tcp::TcpEngine* tcp();

  // Routing helpers (also used by the TCP seam): the source address the stack would use
  // towards dst (unspecified if unreachable), and the path MTU (IP packet size).
  IpAddr source_for(const IpAddr& dst) const;
  size_t path_mtu(const IpAddr& dst) const;
  bool is_local_address(const IpAddr& a) const;
  // The interface a packet to dst leaves through (0: one of our own addresses, or no route).
  uint32_t route_interface(const IpAddr& dst) const;

  // Approximate heap bytes owned by this stack (for the memory-per-stack budget).
  size_t memory_usage() const;

  StackImpl& impl() { return *impl_; }

 private:
  explicit Stack(std::unique_ptr<StackImpl> impl);
  std::unique_ptr<StackImpl> impl_;
};

}  // namespace libstack
