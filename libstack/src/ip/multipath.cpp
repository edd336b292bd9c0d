// Multipath routes: one route to a prefix with up to kMaxNextHops weighted next hops, as a
// routing protocol (the mesh router, threadnet/router.h set_route) installs them.
//
// Theory of operation. A multipath route is a Route whose info.nexthops is non-empty (its
// info.gateway is unspecified and info.ifindex 0). It is identified by (dest, origin): a
// router's set replaces its own route to that prefix and never a route of another origin,
// so a static route of the same prefix stays, and wins on equal metric (route.cpp).
//
// Which hop a packet takes: the live hops (interface present and up, and the forced oif
// when one is given) split [0, sum of weights) into consecutive ranges in the order given
// (hash-threshold, RFC 2992); the packet's flow hash, libstack's keyed PRF (SipHash-2-4,
// crypto/prf.h) under a per-stack key of (src, dst, protocol, ports), scaled into that
// interval picks the range. Hop i
// thus carries weight_i / sum of the flows, and every packet of one flow the same hop as
// long as the set of live hops does not change (a hop going down moves the flows of the
// others only as far as the ranges shift, like Linux). The key is drawn from the
// injected Random when the first multipath route is installed, so a stack that never has
// one draws nothing more than before, and flows cannot be steered by an outsider who
// knows the algorithm. Ports are read for TCP and UDP, the echo id for ICMP/ICMPv6 echo;
// fragments (and forwarded packets whose upper header is not there) hash on addresses and
// protocol only, so all fragments of one datagram leave by one hop.
// A lookup that knows only the destination (source selection, path MTU, `ip route get`)
// takes the live hop of highest weight (the first of those on a tie); path_mtu() and the
// checksum/TSO decisions look at every live hop instead (route.cpp, output.cpp).
#include <algorithm>
#include <cerrno>

#include "crypto/prf.h"
#include "stack_impl.h"
#include "wire/wire.h"

namespace libstack {

using namespace wire;

bool StackImpl::hop_live(const NextHop& h, uint32_t oif) const {
  if (oif && h.ifindex != oif) return false;
  const Interface* i = iface(h.ifindex);
  return i && i->up;
}

bool StackImpl::route_live(const Route& r, uint32_t oif) const {
  if (r.info.nexthops.empty()) {
    if (oif && r.info.ifindex != oif) return false;
    const Interface* i = iface(r.info.ifindex);
    return i && i->up;
  }
  for (auto& h : r.info.nexthops)
    if (hop_live(h, oif)) return true;
  return false;
}

// The PRF's domain byte for flow hashes (the key is this use's own, the byte keeps the
// input format apart from every other PrfInput anyway).
constexpr uint8_t kFlowDomain = 'M';

uint64_t StackImpl::flow_hash(const FlowKey& f) const {
  crypto::PrfInput in(kFlowDomain);
  in.addr(f.src).addr(f.dst).u8(f.proto).u16(f.sport).u16(f.dport);
  return flow_key.hash(in.view());
}

const NextHop& StackImpl::pick_nexthop(const Route& r, uint32_t oif, const FlowKey* flow) const {
  const NextHop* best = nullptr;
  uint64_t sum = 0;
  for (auto& h : r.info.nexthops)
    if (hop_live(h, oif)) {
      sum += h.weight;
      if (!best || h.weight > best->weight) best = &h;
    }
  if (!flow || !best) return best ? *best : r.info.nexthops.front();  // callers checked liveness
  // The top 32 bits of the hash scaled into [0, sum): no modulo bias worth the name.
  uint64_t point = ((flow_hash(*flow) >> 32) * sum) >> 32;
  for (auto& h : r.info.nexthops) {
    if (!hop_live(h, oif)) continue;
    if (point < h.weight) return h;
    point -= h.weight;
  }
  return *best;
}

FlowKey StackImpl::flow_of(const IpAddr& src, const IpAddr& dst, uint8_t proto,
                           std::span<const uint8_t> l4, bool fragment) {
  FlowKey f{src, dst, proto, 0, 0};
  if (fragment) return f;
  if ((proto == ipproto::kTcp || proto == ipproto::kUdp) && l4.size() >= 4) {
    f.sport = rd16(l4.data());
    f.dport = rd16(l4.data() + 2);
  } else if (l4.size() >= 8 &&
             ((proto == ipproto::kIcmp && (l4[0] == icmp4::kEchoRequest || l4[0] == icmp4::kEchoReply)) ||
              (proto == ipproto::kIcmpv6 && (l4[0] == 128 || l4[0] == 129)))) {
    f.sport = rd16(l4.data() + 4);  // the echo identifier: one ping session, one path
  }
  return f;
}

int StackImpl::set_multipath_route(const Cidr& dest, std::span<const NextHop> hops_in,
                                   RouteInfo::Origin origin, uint32_t metric) {
  if (origin != RouteInfo::Origin::Mesh && origin != RouteInfo::Origin::Static) return -EINVAL;
  if (dest.prefix_len > (dest.addr.is_v4() ? 32 : 128)) return -EINVAL;
  auto same = [&](const Route& r) {
    return !r.info.nexthops.empty() && r.info.dest == dest && r.info.origin == origin;
  };
  if (hops_in.empty()) return std::erase_if(routes, same) ? 0 : -ESRCH;
  if (hops_in.size() > kMaxNextHops) return -EINVAL;
  std::vector<NextHop> hops(hops_in.begin(), hops_in.end());
  for (size_t k = 0; k < hops.size(); ++k) {
    NextHop& h = hops[k];
    if (h.gateway.is_unspecified()) h.gateway = unspecified(dest.addr.family);  // on-link
    if (h.gateway.family != dest.addr.family) return -EINVAL;
    if (h.weight < 1 || h.weight > kMaxNextHopWeight) return -EINVAL;
    if (!h.ifindex) {
      if (h.gateway.is_unspecified()) return -EINVAL;  // on-link needs its interface
      Hop g = lookup(h.gateway);
      if (!g || !g.route->info.nexthops.empty() || !g.gateway.is_unspecified()) return -ENETUNREACH;
      h.ifindex = g.ifindex;
    }
    const Interface* i = iface(h.ifindex);
    if (!i) return -ENODEV;
    if (i->loopback) return -EINVAL;
    for (size_t j = 0; j < k; ++j)
      if (hops[j].gateway == h.gateway && hops[j].ifindex == h.ifindex) return -EINVAL;
  }
  if (!flow_key_set) {
    flow_key = crypto::SipKey::draw(rng);
    flow_key_set = true;
  }
  for (auto& r : routes)
    if (same(r)) {
      r.info.nexthops = std::move(hops);
      r.info.metric = metric;
      return 0;
    }
  RouteInfo ri;
  ri.dest = dest;
  ri.gateway = unspecified(dest.addr.family);
  ri.ifindex = 0;
  ri.metric = metric;
  ri.origin = origin;
  ri.nexthops = std::move(hops);
  routes.push_back({std::move(ri)});
  return 0;
}

}  // namespace libstack
