// Routing table (longest prefix match, then lowest metric), source address selection
// (a simplified RFC 6724: same interface, same scope, longest matching prefix) and the
// path MTU cache fed by ICMP "fragmentation needed" / "packet too big".
#include <algorithm>
#include <cerrno>

#include "stack_impl.h"

namespace libstack {

const Route* StackImpl::lookup(const IpAddr& dst, uint32_t oif) const {
  const Route* best = nullptr;
  for (auto& r : routes) {
    if (oif && r.info.ifindex != oif) continue;
    if (!r.info.dest.contains(dst)) continue;
    if (const Interface* i = iface(r.info.ifindex); !i || !i->up) continue;
    if (!best || r.info.dest.prefix_len > best->info.dest.prefix_len ||
        (r.info.dest.prefix_len == best->info.dest.prefix_len && r.info.metric < best->info.metric))
      best = &r;
  }
  return best;
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
    if (const Route* r = lookup(dst)) oif = r->info.ifindex;
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
  const Route* r = lookup(dst);
  const Interface* i = r ? iface(r->info.ifindex) : nullptr;
  if (!i) return floor;
  size_t m = std::min(i->mtu, cap);
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
      const Route* g = lookup(r.gateway);
      if (!g || !g->info.gateway.is_unspecified()) return -ENETUNREACH;
      r.ifindex = g->info.ifindex;
    }
  }
  if (!r.ifindex || !iface(r.ifindex)) return r.ifindex ? -ENODEV : -EINVAL;
  for (auto& x : routes)
    if (x.info.dest == r.dest && x.info.gateway == r.gateway && x.info.ifindex == r.ifindex &&
        x.info.metric == r.metric)
      return -EEXIST;
  routes.push_back({r});
  return 0;
}

int StackImpl::remove_route(const Cidr& dest, const IpAddr& gw, uint32_t ifindex) {
  auto n = std::erase_if(routes, [&](const Route& r) {
    return r.info.dest == dest && (gw.is_unspecified() || r.info.gateway == gw) &&
           (!ifindex || r.info.ifindex == ifindex);
  });
  return n ? 0 : -ESRCH;
}

}  // namespace libstack
