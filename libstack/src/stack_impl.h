// Internal state of one Stack. All protocol code is written as StackImpl member functions
// spread over one file per protocol (arp.cpp, ndp.cpp, icmp.cpp, ip/*.cpp, transport/*.cpp).
#pragma once

#include <array>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/prf.h"
#include "libstack/icmp.h"
#include "libstack/stack.h"
#include "libstack/udp.h"
#include "wire/wire.h"

namespace libstack {

class TcpGlue;

struct IfAddr {
  Cidr cidr;
  bool tentative = false;
  bool dad_failed = false;
  bool deprecated = false;  // preferred lifetime over: avoided as a source (RFC 6724 rule 3)
  bool temporary = false;   // RFC 8981: preferred as a source (RFC 6724 rule 7)
  uint32_t dad_probes_left = 0;
  Instant dad_next = kNever;
};

struct Interface {
  uint32_t id = 0;
  std::string name;
  Link* link = nullptr;  // null for the built-in loopback
  std::unique_ptr<Link> owned;
  MacAddr mac;
  size_t mtu = 1500;
  bool loopback = false;
  bool up = true;
  std::vector<IfAddr> addrs;
  // Multicast groups joined on this interface, with a reference count (sockets + stack).
  std::vector<std::pair<IpAddr, uint32_t>> groups;
  uint32_t rs_left = 0;
  Instant rs_next = kNever;
  bool is_ethernet() const { return !loopback && link && link->kind() == LinkKind::Ethernet; }
  // Transport checksums need not be computed/verified for traffic on this interface.
  bool trusted_checksum() const {
    return loopback || (link && (link->offloads() & link_offload::kTrustedChecksum));
  }
};

struct Route {
  RouteInfo info;  // info.nexthops non-empty: a multipath route (ip/multipath.cpp)
};

// What picks the next hop of a multipath route for one packet: addresses, protocol and
// the TCP/UDP ports (ICMP echo: the id in sport; fragments: no ports).
struct FlowKey {
  IpAddr src, dst;
  uint8_t proto = 0;
  uint16_t sport = 0, dport = 0;
};

// The result of a route lookup: the route and the next hop taken.
struct Hop {
  const Route* route = nullptr;
  uint32_t ifindex = 0;
  IpAddr gateway;  // unspecified: the destination is on-link
  explicit operator bool() const { return route != nullptr; }
  IpAddr next_hop(const IpAddr& dst) const { return gateway.is_unspecified() ? dst : gateway; }
};

using State = NeighbourInfo::State;
struct Neighbour {
  uint32_t ifindex = 0;
  IpAddr addr;
  MacAddr mac;
  State state = State::Incomplete;
  Instant timer = kNever;  // next retransmit / state change
  Instant last_used{};
  uint32_t probes = 0;
  std::deque<std::vector<uint8_t>> pending;  // whole IP packets waiting for the MAC
};

struct ReasmFrag {
  uint32_t off = 0;
  std::vector<uint8_t> data;
};
struct Reasm {
  bool v6 = false;
  IpAddr src, dst;
  uint32_t ident = 0;
  uint8_t proto = 0;
  Instant deadline{};
  std::vector<ReasmFrag> frags;
  uint32_t total = 0;  // known once the last fragment arrived (0 = unknown)
  size_t bytes = 0;
  std::vector<uint8_t> first_header;  // IP header of the offset-0 fragment (for ICMP)
  uint32_t ifindex = 0;
};

struct PmtuEntry {
  IpAddr dst;
  size_t mtu = 0;
  Instant expires{};
};

// An incoming IP datagram after the IP layer (reassembled if needed).
struct IpMeta {
  IpAddr src, dst;
  uint8_t proto = 0;
  uint8_t ttl = 0;
  uint32_t ifindex = 0;
  bool dst_broadcast = false;  // v4 limited / directed broadcast
  bool dst_multicast = false;
  bool checksum_trusted = false;  // came over loopback or a link_offload::kTrustedChecksum link
  std::span<const uint8_t> packet;  // the whole IP packet as received (for ICMP quotes)
};

struct UdpDatagram {
  Endpoint from;
  IpAddr to;
  std::vector<uint8_t> data;
};

struct UdpSocketState {
  StackImpl* stack = nullptr;
  UdpSocket* owner = nullptr;
  IpAddr::Family family = IpAddr::Family::V4;
  Endpoint local;
  bool bound = false;
  std::optional<Endpoint> peer;
  bool reuse_addr = false, reuse_port = false, broadcast = false;
  uint32_t bound_if = 0;
  int ttl = -1, mcast_ttl = 1;
  bool mcast_loop = true;
  uint32_t mcast_if = 0;
  std::vector<std::pair<IpAddr, uint32_t>> groups;
  std::deque<UdpDatagram> rx;
  size_t rx_bytes = 0;
  size_t rcvbuf = 0;
  int error = 0;
  std::function<void(uint32_t)> cb;
};

struct IcmpSocketState {
  StackImpl* stack = nullptr;
  IpAddr::Family family = IpAddr::Family::V4;
  Endpoint local;
  bool bound = false;
  std::optional<Endpoint> peer;
  int ttl = -1;
  std::deque<UdpDatagram> rx;
  size_t rx_bytes = 0;
  std::function<void(uint32_t)> cb;
};

class StackImpl {
 public:
  static constexpr size_t kLoopbackQueueMax = 1024;  // packets; like a txqueuelen
  static constexpr size_t kMaxGroupsPerSocket = 20;  // Linux igmp_max_memberships
  StackImpl(Random& rng, const Tuning& t);
  ~StackImpl();

  Random& rng;
  Tuning tuning;
  Counters ctr;
  Instant now{};
  std::function<void()> wakeup;
  std::vector<std::unique_ptr<Interface>> ifs;
  uint32_t next_ifindex = 2;
  std::vector<Route> routes;
  std::vector<Neighbour> neigh;
  std::vector<Reasm> reasm;
  size_t reasm_bytes = 0;
  std::vector<PmtuEntry> pmtu;
  std::deque<std::vector<uint8_t>> loopback_q;  // IP packets looped back to ourselves
  // Packet buffers recycled through the loopback queue: a bulk transfer between two local
  // sockets would otherwise allocate, zero and free a 64 KiB buffer per segment (and the
  // C library return the top of the heap to the kernel and fault it back in each time).
  std::vector<std::vector<uint8_t>> buf_pool;
  std::vector<uint8_t> take_buf(size_t n) {
    if (buf_pool.empty()) return std::vector<uint8_t>(n);
    std::vector<uint8_t> v = std::move(buf_pool.back());
    buf_pool.pop_back();
    v.resize(n);  // zeroes only what grows beyond the buffer's last size
    return v;
  }
  void give_buf(std::vector<uint8_t>&& v) {
    if (buf_pool.size() < 32 && v.capacity() <= 70000) buf_pool.push_back(std::move(v));
  }
  std::vector<UdpSocketState*> udp;
  std::vector<IcmpSocketState*> icmp_socks;
  uint16_t ip4_ident = 0;
  uint32_t ip6_ident = 0;
  std::vector<uint8_t> rxbuf;  // one frame being received
  std::unique_ptr<TcpGlue> tcp;
  double icmp_tokens = 0;  // ICMP error token bucket (filled at construction)
  Instant icmp_last{};
  std::function<void(uint32_t, const Ipv6Addr&, std::span<const uint8_t>)> ra_hook;

  // ---- stack.cpp ----
  Interface* iface(uint32_t id);
  const Interface* iface(uint32_t id) const;
  int add_interface(Link* link, std::unique_ptr<Link> owned, MacAddr mac, size_t mtu, std::string name);
  int add_address(uint32_t ifindex, const Cidr& c);
  int remove_address(uint32_t ifindex, const Cidr& c);
  int set_address_preference(uint32_t ifindex, const IpAddr& a, bool deprecated, bool temporary);
  void poll(Instant now);
  Instant next_deadline() const;
  void notify() { if (wakeup) wakeup(); }
  void join(Interface& i, const IpAddr& g);
  void leave(Interface& i, const IpAddr& g);
  bool joined(const Interface& i, const IpAddr& g) const;

  // ---- link layer (stack.cpp) ----
  void frame_input(Interface& i, std::span<const uint8_t> frame);
  bool eth_output(Interface& i, const MacAddr& dst, uint16_t ethertype, std::span<const uint8_t> payload);
  // Send a whole IP packet to next hop `nh` on interface i (resolving the MAC).
  void link_output(Interface& i, const IpAddr& nh, std::vector<uint8_t> packet);

  // ---- routing (ip/route.cpp) ----
  // Longest prefix match, then lowest metric, then non-Mesh; routes whose interface (or
  // every next hop's) is down are skipped. For a multipath route the hop comes from the
  // flow hash of `flow`, or without one the live hop of highest weight (source
  // selection, PMTU: queries that know only the destination). Linear in the table size.
  Hop lookup(const IpAddr& dst, uint32_t oif = 0, const FlowKey* flow = nullptr) const;
  IpAddr select_source(const IpAddr& dst, uint32_t oif) const;
  bool is_local(const IpAddr& a, uint32_t* ifindex = nullptr) const;  // usable addresses
  IfAddr* find_addr(const IpAddr& a, uint32_t* ifindex = nullptr);
  bool is_v4_broadcast(const IpAddr& a, const Interface& i) const;
  size_t path_mtu(const IpAddr& dst) const;
  void learn_pmtu(const IpAddr& dst, size_t mtu);
  int add_route(const RouteInfo& r);
  int remove_route(const Cidr& dest, const IpAddr& gw, uint32_t ifindex);
  void routes_drop_interface(uint32_t ifindex);  // an interface goes: its routes and hops

  // ---- multipath (ip/multipath.cpp) ----
  crypto::SipKey flow_key;     // key of the flow hash (crypto/prf.h), drawn with the first route
  bool flow_key_set = false;
  int set_multipath_route(const Cidr& dest, std::span<const NextHop> hops, RouteInfo::Origin o,
                          uint32_t metric);
  bool hop_live(const NextHop& h, uint32_t oif) const;
  bool route_live(const Route& r, uint32_t oif) const;
  const NextHop& pick_nexthop(const Route& r, uint32_t oif, const FlowKey* flow) const;
  uint64_t flow_hash(const FlowKey& f) const;
  // Does every interface a lookup of dst may leave through satisfy pred (all live hops of
  // a multipath route)? false without a route.
  template <typename P>
  bool every_egress(const Hop& h, uint32_t oif, P&& pred) const {
    if (!h) return false;
    if (h.route->info.nexthops.empty()) return pred(iface(h.ifindex));
    for (auto& x : h.route->info.nexthops)
      if (hop_live(x, oif) && !pred(iface(x.ifindex))) return false;
    return true;
  }
  // The flow of an IP payload (upper-layer header at `l4`; fragment: addresses only).
  static FlowKey flow_of(const IpAddr& src, const IpAddr& dst, uint8_t proto,
                         std::span<const uint8_t> l4, bool fragment);

  // ---- IP (ip/ipv4.cpp, ip/ipv6.cpp, ip/reassembly.cpp, ip/output.cpp) ----
  struct TxOpts {
    int ttl = -1;
    uint32_t oif = 0;         // force the interface (multicast/broadcast/SO_BINDTODEVICE)
    bool dont_frag = false;
    bool mcast_loop = true;
  };
  // Build and route an IP packet. Returns 0 or -errno (-ENETUNREACH, -EMSGSIZE, ...).
  int ip_output(const IpAddr& src, const IpAddr& dst, uint8_t proto,
                std::span<const uint8_t> payload, const TxOpts& o);
  // TCP fast path: `buf` holds `headroom` free bytes followed by a TCP segment whose
  // checksum is not filled yet. For a unicast destination reached through an Ethernet
  // interface with a resolved neighbour and no fragmentation, writes the checksum (full,
  // partial for a checksum-offloading link, none on a trusted link), IP and Ethernet
  // headers into place and transmits the frame without copying it: returns 1.
  // gso_size != 0 with a longer payload: a super-segment for a kTso link. Returns 0 when
  // the general path (ip_output; software segmentation) must be used instead.
  int tcp_output_inplace(const IpAddr& src, const IpAddr& dst, std::span<uint8_t> buf,
                         size_t headroom, uint32_t oif, size_t gso_size);
  // Largest TCP payload per super-segment towards dst (0: its link has no TSO).
  size_t tcp_tso_max(const IpAddr& dst) const;
  // Would a unicast packet to dst leave through an interface that trusts checksums
  // (loopback for our own addresses, or a link_offload::kTrustedChecksum link)?
  bool egress_trusted(const IpAddr& dst, uint32_t oif) const;
  void ipv4_input(Interface& i, std::span<const uint8_t> pkt);
  void ipv6_input(Interface& i, std::span<const uint8_t> pkt);
  void deliver(IpMeta& m, std::span<const uint8_t> payload);
  void forward_v4(Interface& in, const wire::Ipv4Repr& ip, std::span<const uint8_t> pkt);
  void forward_v6(Interface& in, const wire::Ipv6Repr& ip, std::span<const uint8_t> pkt);
  void send_v4_fragments(Interface& i, const IpAddr& nh, const wire::Ipv4Repr& hdr,
                         std::span<const uint8_t> payload);
  // Reassembly: returns the complete payload when the last piece arrives.
  std::optional<std::vector<uint8_t>> reassemble(bool v6, const IpAddr& src, const IpAddr& dst,
                                                 uint32_t ident, uint8_t proto, uint32_t off,
                                                 bool more, std::span<const uint8_t> data,
                                                 std::span<const uint8_t> header, uint32_t ifindex);
  void reasm_timers();
  void drop_reasm(size_t idx);

  // ---- neighbours (neighbour.cpp, arp.cpp, ndp.cpp) ----
  Neighbour* neigh_find(uint32_t ifindex, const IpAddr& a);
  // Record a link-layer address (solicited: confirmed reachability; override: may replace).
  void neigh_update(uint32_t ifindex, const IpAddr& a, const MacAddr& mac, bool solicited,
                    bool override_, bool create);
  void neigh_timers();
  void neigh_solicit(Interface& i, Neighbour& n, bool unicast);
  void neigh_flush_pending(Neighbour& n);
  void arp_input(Interface& i, std::span<const uint8_t> payload);
  void arp_send(Interface& i, uint16_t op, const Ipv4Addr& spa, const MacAddr& tha,
                const Ipv4Addr& tpa, const MacAddr& dst);
  void ndp_input(Interface& i, const IpMeta& m, const wire::Icmpv6Repr& icmp);
  void ndp_send_ns(Interface& i, const Ipv6Addr& src, const Ipv6Addr& dst, const Ipv6Addr& target);
  void ndp_send_na(Interface& i, const Ipv6Addr& src, const Ipv6Addr& dst, const Ipv6Addr& target,
                   bool solicited, bool override_);
  void ndp_send_rs(Interface& i);
  void dad_timers();
  void dad_conflict(Interface& i, const Ipv6Addr& a);
  // Send a NDP packet: hop limit 255, link-level destination given explicitly.
  void ndp_output(Interface& i, const Ipv6Addr& src, const Ipv6Addr& dst, const MacAddr& dmac,
                  std::span<const uint8_t> icmp_body, uint8_t type, uint32_t rest);

  // ---- ICMP (icmp.cpp) ----
  void icmpv4_input(IpMeta& m, std::span<const uint8_t> payload);
  void icmpv6_input(IpMeta& m, std::span<const uint8_t> payload);
  // Send an ICMP error quoting `offending` (the IP packet that caused it).
  void icmp_error(bool v6, uint8_t type, uint8_t code, uint32_t rest,
                  std::span<const uint8_t> offending, uint32_t in_ifindex);
  bool icmp_rate_ok();
  void icmp_error_received(bool v6, uint8_t type, uint8_t code, uint32_t rest,
                           std::span<const uint8_t> quoted);

  // ---- UDP (transport/udp.cpp) ----
  void udp_input(IpMeta& m, std::span<const uint8_t> payload);
  bool port_in_use(IpAddr::Family f, const IpAddr& addr, uint16_t port, const UdpSocketState* self,
                   bool reuse) const;
  uint16_t ephemeral_port(IpAddr::Family f, bool udp);
  void udp_notify(UdpSocketState& s);
  void ping_input(IpMeta& m, std::span<const uint8_t> icmp_msg, uint16_t id);

  // ---- TCP (tcp_glue.cpp) ----
  void tcp_input(IpMeta& m, std::span<const uint8_t> segment);

  size_t memory_usage() const;
};

// Helpers shared by the protocol files.
inline IpAddr unspecified(IpAddr::Family f) { return f == IpAddr::Family::V4 ? IpAddr(Ipv4Addr{}) : IpAddr(Ipv6Addr{}); }
inline Ipv6Addr all_nodes() { Ipv6Addr a{}; a.b[0] = 0xff; a.b[1] = 0x02; a.b[15] = 1; return a; }
inline Ipv6Addr all_routers() { Ipv6Addr a{}; a.b[0] = 0xff; a.b[1] = 0x02; a.b[15] = 2; return a; }

}  // namespace libstack
