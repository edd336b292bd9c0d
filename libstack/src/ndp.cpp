// Neighbor Discovery (RFC 4861) and Duplicate Address Detection (RFC 4862 §5.4).
//
// NS/NA feed the shared neighbour cache (neighbour.cpp); NDP packets are validated per
// RFC 4861 §7.1 (hop limit 255, code 0, option lengths). A new IPv6 address on an
// Ethernet interface is tentative: we join its solicited-node group, send
// Tuning::dad_transmits NS from :: and, if no NA for it (or NS from another node doing
// DAD for it) arrives within neigh_retrans after the last one, the address becomes
// valid; otherwise it is marked dad_failed and never used. After the link-local address
// is valid we send router solicitations; a router advertisement installs a default route
// (SLAAC itself lives in src/config, not here).
#include <algorithm>

#include "stack_impl.h"

namespace libstack {

using namespace wire;

void StackImpl::ndp_output(Interface& i, const Ipv6Addr& src, const Ipv6Addr& dst, const MacAddr& dmac,
                           std::span<const uint8_t> body, uint8_t type, uint32_t rest) {
  if (!i.is_ethernet()) return;
  std::vector<uint8_t> p(40 + 8 + body.size());
  Ipv6Repr h;
  h.next_header = ipproto::kIcmpv6;
  h.hop_limit = 255;
  h.src = src;
  h.dst = dst;
  h.emit(p, 8 + body.size());
  Icmpv6Repr ic;
  ic.type = type;
  ic.rest = rest;
  ic.data = body;
  ic.emit(std::span<uint8_t>(p).subspan(40), src, dst);
  ++ctr.ipv6_tx;
  eth_output(i, dmac, ethertype::kIpv6, p);
}

void StackImpl::ndp_send_ns(Interface& i, const Ipv6Addr& src, const Ipv6Addr& dst, const Ipv6Addr& target) {
  uint8_t body[24];
  std::copy(target.b.begin(), target.b.end(), body);
  size_t n = 16;
  if (!src.is_unspecified()) n += NdpOptions::emit_lladdr(std::span<uint8_t>(body + 16, 8), 1, i.mac);
  MacAddr dmac;
  if (dst.is_multicast()) dmac = multicast_mac(IpAddr(dst));
  else if (Neighbour* nb = neigh_find(i.id, IpAddr(dst))) dmac = nb->mac;
  else return;
  ++ctr.ndp_ns_tx;
  ndp_output(i, src, dst, dmac, std::span<const uint8_t>(body, n), icmp6::kNeighborSolicit, 0);
}

void StackImpl::ndp_send_na(Interface& i, const Ipv6Addr& src, const Ipv6Addr& dst, const Ipv6Addr& target,
                            bool solicited, bool override_) {
  uint8_t body[24];
  std::copy(target.b.begin(), target.b.end(), body);
  NdpOptions::emit_lladdr(std::span<uint8_t>(body + 16, 8), 2, i.mac);
  MacAddr dmac;
  if (dst.is_multicast()) dmac = multicast_mac(IpAddr(dst));
  else if (Neighbour* nb = neigh_find(i.id, IpAddr(dst)); nb && nb->state != State::Incomplete) dmac = nb->mac;
  else return;
  uint32_t rest = (solicited ? 0x40000000u : 0) | (override_ ? 0x20000000u : 0) |
                  (tuning.forward_v6 ? 0x80000000u : 0);
  ++ctr.ndp_na_tx;
  ndp_output(i, src, dst, dmac, body, icmp6::kNeighborAdvert, rest);
}

void StackImpl::ndp_send_rs(Interface& i) {
  IpAddr src = select_source(IpAddr(all_routers()), i.id);
  uint8_t opt[8];
  size_t n = 0;
  if (!src.is_unspecified()) n = NdpOptions::emit_lladdr(opt, 1, i.mac);
  ++ctr.ndp_rs_tx;
  // RS body: 4 reserved bytes live in the ICMPv6 "rest" field.
  ndp_output(i, src.is_unspecified() ? Ipv6Addr{} : src.v6(), all_routers(),
             multicast_mac(IpAddr(all_routers())), std::span<const uint8_t>(opt, n),
             icmp6::kRouterSolicit, 0);
}

void StackImpl::dad_conflict(Interface& i, const Ipv6Addr& a) {
  for (auto& x : i.addrs)
    if (x.cidr.addr == IpAddr(a) && x.tentative) {
      ++ctr.dad_conflict;
      x.tentative = false;
      x.dad_failed = true;
      x.dad_next = kNever;
      notify();
    }
}

void StackImpl::dad_timers() {
  for (auto& ip : ifs) {
    Interface& i = *ip;
    for (size_t k = 0; k < i.addrs.size(); ++k) {
      IfAddr& a = i.addrs[k];
      if (!a.tentative || a.dad_next > now) continue;
      if (a.dad_probes_left > 0) {
        --a.dad_probes_left;
        a.dad_next = now + tuning.neigh_retrans;
        Ipv6Addr t = a.cidr.addr.v6();
        ndp_send_ns(i, Ipv6Addr{}, solicited_node(t), t);
      } else {
        a.tentative = false;
        a.dad_next = kNever;
        // Announce (RFC 4861 §7.2.6) so caches that knew a previous owner update.
        ndp_send_na(i, a.cidr.addr.v6(), all_nodes(), a.cidr.addr.v6(), false, true);
        if (a.cidr.addr.v6().is_link_local() && tuning.router_solicitations && !tuning.forward_v6) {
          i.rs_left = tuning.router_solicitations;
          i.rs_next = now;
        }
        notify();
      }
    }
    if (i.rs_left && i.rs_next <= now) {
      --i.rs_left;
      ndp_send_rs(i);
      i.rs_next = i.rs_left ? now + tuning.rs_interval : kNever;
    }
  }
}

void StackImpl::ndp_input(Interface& i, const IpMeta& m, const Icmpv6Repr& ic) {
  if (m.ttl != 255 || ic.code != 0 || !i.is_ethernet()) {
    ++ctr.ndp_invalid;
    return;
  }
  const Ipv6Addr src = m.src.v6(), dst = m.dst.v6();
  switch (ic.type) {
    case icmp6::kNeighborSolicit: {
      auto ns = NdpNeighborRepr::parse(ic.rest, ic.data);
      if (!ns || (src.is_unspecified() && (!dst.is_multicast() || ns->options.source_lladdr))) {
        ++ctr.ndp_invalid;
        return;
      }
      ++ctr.ndp_ns_rx;
      IfAddr* a = nullptr;
      for (auto& x : i.addrs)
        if (x.cidr.addr == IpAddr(ns->target)) a = &x;
      if (!a || a->dad_failed) return;  // not for one of our addresses on this link
      if (src.is_unspecified()) {
        if (a->tentative) dad_conflict(i, ns->target);  // someone else probes it too
        else ndp_send_na(i, ns->target, all_nodes(), ns->target, false, true);
        return;
      }
      if (a->tentative) return;
      if (ns->options.source_lladdr)
        neigh_update(i.id, m.src, *ns->options.source_lladdr, false, true, true);
      ndp_send_na(i, ns->target, src, ns->target, true, true);
      return;
    }
    case icmp6::kNeighborAdvert: {
      auto na = NdpNeighborRepr::parse(ic.rest, ic.data);
      if (!na || (dst.is_multicast() && na->solicited)) {
        ++ctr.ndp_invalid;
        return;
      }
      ++ctr.ndp_na_rx;
      for (auto& x : i.addrs)
        if (x.cidr.addr == IpAddr(na->target)) {
          if (x.tentative) dad_conflict(i, na->target);
          return;
        }
      if (na->options.target_lladdr)
        neigh_update(i.id, IpAddr(na->target), *na->options.target_lladdr, na->solicited,
                     na->override_, false);
      return;
    }
    case icmp6::kRouterAdvert: {
      auto ra = NdpRouterAdvertRepr::parse(ic.rest, ic.data);
      if (!ra || !src.is_link_local()) {
        ++ctr.ndp_invalid;
        return;
      }
      ++ctr.ndp_ra_rx;
      if (ra_hook) {
        // ic.data points into the received message, 8 bytes after its ICMPv6 header.
        std::span<const uint8_t> msg(ic.data.data() - Icmpv6Repr::kHeaderLen, ic.len());
        ra_hook(i.id, src, msg);
      }
      if (tuning.forward_v6) return;
      if (ra->options.source_lladdr) neigh_update(i.id, m.src, *ra->options.source_lladdr, false, true, true);
      if (ra->options.mtu && *ra->options.mtu >= 1280 && *ra->options.mtu <= i.link->mtu()) i.mtu = *ra->options.mtu;
      Cidr def{IpAddr(Ipv6Addr{}), 0};
      std::erase_if(routes, [&](const Route& r) {
        return r.info.origin == RouteInfo::Origin::RouterAdvert && r.info.dest == def &&
               r.info.gateway == m.src && r.info.ifindex == i.id;
      });
      if (ra->router_lifetime) {
        RouteInfo r;
        r.dest = def;
        r.gateway = m.src;
        r.ifindex = i.id;
        r.metric = 1024;
        r.origin = RouteInfo::Origin::RouterAdvert;
        add_route(r);
      }
      return;
    }
    case icmp6::kRouterSolicit:
    case icmp6::kRedirect:
      return;  // hosts ignore RS; redirects are not implemented
    default:
      return;
  }
}

}  // namespace libstack
