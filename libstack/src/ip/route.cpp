// Routing table (longest prefix match, then lowest metric; multipath routes and their
// next hop choice in ip/multipath.cpp), source address selection
// (a simplified RFC 6724: same interface, same scope, longest matching prefix) and the
// path MTU cache fed by ICMP "fragmentation needed" / "packet too big".
#include <algorithm>
#include <cerrno>

#include "stack_impl.h"

namespace libstack {

// Does route a beat route b for the same destination? Longer prefix, then lower metric,
// then a route the administrator (or the kernel-like stack itself) made over a router's.
static bool better(const Route& a, const Route& b) {
  if (a.info.dest.prefix_len != b.info.dest.prefix_len)
    return a.info.dest.prefix_len > b.info.dest.prefix_len;
  if (a.info.metric != b.info.metric) return a.info.metric < b.info.metric;
  return b.info.origin == RouteInfo::Origin::Mesh && a.info.origin != RouteInfo::Origin::Mesh;
}

// A linear scan: a few routes on a host, a few hundred on a mesh node (one per gnode and
// level); cost O(routes) per packet. Another issue replaces it with a trie.
Hop StackImpl::lookup(const IpAddr& dst, uint32_t oif, const FlowKey* flow) const {
  const Route* best = nullptr;
  for (auto& r : routes) {
    if (!r.info.dest.contains(dst)) continue;
    if (best && !better(r, *best)) continue;
    if (!route_live(r, oif)) continue;
    best = &r;
  }
  if (!best) return {};
  if (best->info.nexthops.empty()) return {best, best->info.ifindex, best->info.gateway};
  const NextHop& h = pick_nexthop(*best, oif, flow);
  return {best, h.ifindex, h.gateway};
}

static size_t common_prefix(const IpAddr& a, const IpAddr& b) {
  size_t n = a.is_v4() ? 4 : 16, bits = 0;
  for (size_t k = 0; k < n; ++k) {
    uint8_t x = a.b[k] ^ b.b[k];
    if (x == 0) { bits += 8; continue; }
    while (!(x & 0x80)) { ++bits; x = uint8_t(x << 1); }
    break;
  }
  return bits;
}

IpAddr StackImpl::select_source(const IpAddr& dst, uint32_t oif) const {
  if (is_local(dst)) {
    if (dst.is_v4() && dst.v4().is_loopback()) return IpAddr(Ipv4Addr{{127, 0, 0, 1}});
    return dst;
  }
  bool mcast = dst.is_v4() ? (dst.v4().is_multicast() || dst.v4().is_broadcast()) : dst.v6().is_multicast();
  if (!oif) {
    if (Hop h = lookup(dst)) oif = h.ifindex;
    else if (mcast || (dst.is_v6() && dst.v6().is_link_local())) {
      for (auto& i : ifs)
        if (!i->loopback) { oif = i->id; break; }
    }
  }
  if (!oif) return unspecified(dst.family);
  bool want_ll = dst.is_v6() && (dst.v6().is_link_local() || (dst.v6().is_multicast() && (dst.v6().b[1] & 0x0f) <= 2));
  const IfAddr* best = nullptr;
  size_t best_score = 0;
  auto consider = [&](const Interface& i) {
    for (auto& a : i.addrs) {
      if (a.cidr.addr.family != dst.family || a.tentative || a.dad_failed) continue;
      // RFC 6724 in order: scope (rule 2), not deprecated (3), temporary (7), prefix (8).
      size_t score = 1 + common_prefix(a.cidr.addr, dst);
      if (dst.is_v6() && a.cidr.addr.v6().is_link_local() == want_ll) score += 4000;
      if (!a.deprecated) score += 2000;
      if (a.temporary) score += 1000;
      if (!best || score > best_score) { best = &a; best_score = score; }
    }
  };
  if (const Interface* i = iface(oif)) consider(*i);
  if (!best && dst.is_v4())
    for (auto& i : ifs)
      if (!i->loopback) consider(*i);
  return best ? best->cidr.addr : unspecified(dst.family);
}

bool StackImpl::is_local(const IpAddr& a, uint32_t* ifindex) const {
  if (a.is_v4() && a.v4().is_loopback()) {
    if (ifindex) *ifindex = Stack::kLoopbackIfindex;
    return true;
  }
  for (auto& i : ifs)
    for (auto& x : i->addrs)
      if (x.cidr.addr == a && !x.tentative && !x.dad_failed) {
        if (ifindex) *ifindex = i->id;
        return true;
      }
  return false;
}

IfAddr* StackImpl::find_addr(const IpAddr& a, uint32_t* ifindex) {
  for (auto& i : ifs)
    for (auto& x : i->addrs)
      if (x.cidr.addr == a) {
        if (ifindex) *ifindex = i->id;
        return &x;
      }
  return nullptr;
}

bool StackImpl::is_v4_broadcast(const IpAddr& a, const Interface& i) const {
  if (!a.is_v4()) return false;
  if (a.v4().is_broadcast()) return true;
  for (auto& x : i.addrs) {
    if (!x.cidr.addr.is_v4() || x.cidr.prefix_len >= 31) continue;
    uint32_t mask = x.cidr.prefix_len == 0 ? 0 : ~0u << (32 - x.cidr.prefix_len);
    if ((a.v4().to_u32() & mask) == (x.cidr.addr.v4().to_u32() & mask) && (a.v4().to_u32() | mask) == ~0u)
      return true;
  }
  return false;
}

size_t StackImpl::path_mtu(const IpAddr& dst) const {
  size_t floor = dst.is_v4() ? 576 : 1280;
  // An IPv4 packet is at most 65535 bytes (16-bit total length), whatever the link MTU
  // (the loopback's is 65536, as on Linux).
  size_t cap = dst.is_v4() ? 65535 : SIZE_MAX;
  if (is_local(dst)) return std::min(ifs[0]->mtu, cap);
  Hop h = lookup(dst);
  const Interface* i = h ? iface(h.ifindex) : nullptr;
  if (!i) return floor;
  size_t m = std::min(i->mtu, cap);
  // A multipath route: the smallest MTU of its live hops, so that whichever hop a flow
  // takes, its packets fit (TCP's MSS is chosen before the flow's hop is known).
  if (!h.route->info.nexthops.empty())
    for (auto& x : h.route->info.nexthops)
      if (hop_live(x, 0)) m = std::min(m, iface(x.ifindex)->mtu);
  for (auto& p : pmtu)
    if (p.dst == dst) m = std::min(m, p.mtu);
  return m;
}

void StackImpl::learn_pmtu(const IpAddr& dst, size_t mtu) {
  size_t floor = dst.is_v4() ? 552 : 1280;  // Linux min_pmtu / IPv6 minimum MTU
  mtu = std::max(mtu, floor);
  for (auto& p : pmtu)
    if (p.dst == dst) {
      p.mtu = std::min(p.mtu, mtu);
      p.expires = now + std::chrono::minutes(10);
      return;
    }
  if (pmtu.size() >= 64) pmtu.erase(pmtu.begin());
  pmtu.push_back({dst, mtu, now + std::chrono::minutes(10)});
}

int StackImpl::add_route(const RouteInfo& in) {
  RouteInfo r = in;
  if (r.dest.addr.family != r.gateway.family) return -EINVAL;
  if (r.dest.prefix_len > (r.dest.addr.is_v4() ? 32 : 128)) return -EINVAL;
  if (!r.gateway.is_unspecified()) {
    if (!r.ifindex) {
      Hop g = lookup(r.gateway);
      if (!g || !g.route->info.nexthops.empty() || !g.gateway.is_unspecified()) return -ENETUNREACH;
      r.ifindex = g.ifindex;
    }
  }
  if (!r.ifindex || !iface(r.ifindex)) return r.ifindex ? -ENODEV : -EINVAL;
  for (auto& x : routes)
    if (x.info.nexthops.empty() && x.info.dest == r.dest && x.info.gateway == r.gateway &&
        x.info.ifindex == r.ifindex && x.info.metric == r.metric)
      return -EEXIST;
  routes.push_back({r});
  return 0;
}

int StackImpl::remove_route(const Cidr& dest, const IpAddr& gw, uint32_t ifindex) {
  auto n = std::erase_if(routes, [&](const Route& r) {
    return r.info.nexthops.empty() && r.info.dest == dest &&
           (gw.is_unspecified() || r.info.gateway == gw) && (!ifindex || r.info.ifindex == ifindex);
  });
  return n ? 0 : -ESRCH;
}

void StackImpl::routes_drop_interface(uint32_t ifindex) {
  for (auto& r : routes)
    std::erase_if(r.info.nexthops, [&](const NextHop& h) { return h.ifindex == ifindex; });
  // A multipath route whose last hop went is gone too (its nexthops are empty now, and
  // its ifindex 0 would make it look like a broken single-path route).
  std::erase_if(routes, [&](const Route& r) {
    return r.info.ifindex == ifindex || (r.info.nexthops.empty() && r.info.ifindex == 0);
  });
}

}  // namespace libstack
