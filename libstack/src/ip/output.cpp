// IP output: route, pick the source, build the header, fragment, hand to the link layer.
//
// Local destinations go through the loopback queue (drained by poll()). Multicast and
// broadcast go out of the chosen interface and, like Linux, a copy is looped back so
// that local sockets that joined the group / listen for broadcast see it too (multicast
// copy only when the sender asked for IP_MULTICAST_LOOP). IPv4 packets larger than the
// MTU are fragmented unless DF is set (-EMSGSIZE); IPv6 packets get a fragment header.
#include <algorithm>
#include <cerrno>

#include "stack_impl.h"

namespace libstack {

using namespace wire;

void StackImpl::send_v4_fragments(Interface& i, const IpAddr& nh, const Ipv4Repr& hdr,
                                  std::span<const uint8_t> payload) {
  size_t chunk = (i.mtu - 20) & ~size_t(7);
  for (size_t off = 0; off < payload.size(); off += chunk) {
    size_t n = std::min(chunk, payload.size() - off);
    Ipv4Repr h = hdr;
    h.frag_offset = uint16_t(hdr.frag_offset + off);
    h.more_frags = hdr.more_frags || off + n < payload.size();
    std::vector<uint8_t> p(20 + n);
    h.emit(p, n);
    std::copy_n(payload.data() + off, n, p.data() + 20);
    ++ctr.ipv4_fragments_tx;
    link_output(i, nh, std::move(p));
  }
}

int StackImpl::ip_output(const IpAddr& src_in, const IpAddr& dst, uint8_t proto,
                         std::span<const uint8_t> payload, const TxOpts& o) {
  const bool v4 = dst.is_v4();
  Interface* out = nullptr;
  IpAddr nh = dst;
  bool loop_copy = false;
  const bool mcast = v4 ? dst.v4().is_multicast() : dst.v6().is_multicast();
  if (is_local(dst)) {
    out = ifs[0].get();
  } else if (mcast || (v4 && dst.v4().is_broadcast())) {
    uint32_t oif = o.oif;
    if (!oif) {
      if (const Route* r = lookup(dst)) oif = r->info.ifindex;
      else
        for (auto& i : ifs)
          if (!i->loopback) { oif = i->id; break; }
    }
    out = iface(oif);
    if (!out) {
      ++(v4 ? ctr.ipv4_no_route : ctr.ipv6_no_route);
      return -ENETUNREACH;
    }
    loop_copy = !out->loopback && (mcast ? (o.mcast_loop && joined(*out, dst)) : true);
  } else {
    const Route* r = lookup(dst, o.oif);
    if (!r && dst.is_v6() && dst.v6().is_link_local()) {
      // Link-local without a route for the chosen interface: on-link on oif/first iface.
      for (auto& i : ifs)
        if (!i->loopback && (!o.oif || i->id == o.oif)) { out = i.get(); break; }
    } else if (r) {
      out = iface(r->info.ifindex);
      if (!r->info.gateway.is_unspecified()) nh = r->info.gateway;
    }
    if (!out) {
      ++(v4 ? ctr.ipv4_no_route : ctr.ipv6_no_route);
      return -ENETUNREACH;
    }
    if (v4 && is_v4_broadcast(dst, *out)) loop_copy = true;
  }
  IpAddr src = src_in.is_unspecified() ? select_source(dst, out->id) : src_in;
  // Unspecified sources are allowed for NDP and, like Linux, for the limited broadcast
  // (a DHCP client before it has an address).
  if (src.is_unspecified() && !(dst.is_v6() && proto == ipproto::kIcmpv6) &&
      !(v4 && dst.v4().is_broadcast())) {
    ++(v4 ? ctr.ipv4_no_route : ctr.ipv6_no_route);
    return -EADDRNOTAVAIL;
  }
  size_t mtu = out->mtu;
  for (auto& p : pmtu)
    if (p.dst == dst) mtu = std::min(mtu, p.mtu);

  if (v4) {
    if (20 + payload.size() > 65535) return -EMSGSIZE;
    Ipv4Repr h;
    h.ident = ip4_ident++;
    h.ttl = uint8_t(o.ttl >= 0 ? o.ttl : tuning.default_ttl);
    h.protocol = proto;
    h.src = src.v4();
    h.dst = dst.v4();
    h.dont_frag = o.dont_frag;
    ++ctr.ipv4_tx;
    if (20 + payload.size() <= mtu) {
      std::vector<uint8_t> p(20 + payload.size());
      h.emit(p, payload.size());
      std::copy(payload.begin(), payload.end(), p.begin() + 20);
      if (loop_copy && loopback_q.size() < kLoopbackQueueMax) loopback_q.push_back(p), notify();
      link_output(*out, nh, std::move(p));
    } else {
      if (o.dont_frag) return -EMSGSIZE;
      if (loop_copy && loopback_q.size() < kLoopbackQueueMax) {
        std::vector<uint8_t> p(20 + payload.size());
        h.emit(p, payload.size());
        std::copy(payload.begin(), payload.end(), p.begin() + 20);
        loopback_q.push_back(std::move(p));
        notify();
      }
      // Fragment for the path, not just the interface.
      size_t saved = out->mtu;
      out->mtu = mtu;
      send_v4_fragments(*out, nh, h, payload);
      out->mtu = saved;
    }
    return 0;
  }

  if (payload.size() > 65535) return -EMSGSIZE;
  Ipv6Repr h;
  h.next_header = proto;
  h.hop_limit = uint8_t(o.ttl >= 0 ? o.ttl : tuning.default_hop_limit);
  h.src = src.v6();
  h.dst = dst.v6();
  ++ctr.ipv6_tx;
  if (40 + payload.size() <= mtu || loop_copy) {
    std::vector<uint8_t> p(40 + payload.size());
    h.emit(p, payload.size());
    std::copy(payload.begin(), payload.end(), p.begin() + 40);
    if (loop_copy && loopback_q.size() < kLoopbackQueueMax) {
      loopback_q.push_back(p);
      notify();
    }
    if (40 + payload.size() <= mtu) {
      link_output(*out, nh, std::move(p));
      return 0;
    }
  }
  if (o.dont_frag) return -EMSGSIZE;
  size_t chunk = (mtu - 48) & ~size_t(7);
  uint32_t ident = ip6_ident++;
  for (size_t off = 0; off < payload.size(); off += chunk) {
    size_t n = std::min(chunk, payload.size() - off);
    Ipv6Repr fh = h;
    fh.next_header = ipproto::kIpv6Frag;
    std::vector<uint8_t> p(48 + n);
    fh.emit(p, 8 + n);
    Ipv6FragRepr f;
    f.next_header = proto;
    f.offset = uint16_t(off);
    f.more = off + n < payload.size();
    f.ident = ident;
    f.emit(std::span<uint8_t>(p).subspan(40));
    std::copy_n(payload.data() + off, n, p.data() + 48);
    ++ctr.ipv6_fragments_tx;
    link_output(*out, nh, std::move(p));
  }
  return 0;
}

}  // namespace libstack
