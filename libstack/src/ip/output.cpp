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
#include "wire/tcp.h"

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
      if (Hop h = lookup(dst)) oif = h.ifindex;
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
    // The source may still be unspecified here; the flow hash takes it as it is, which is
    // the same for every packet of a socket that never bound (the stack picks one source).
    FlowKey flow = flow_of(src_in, dst, proto, payload, false);
    Hop r = lookup(dst, o.oif, &flow);
    if (!r && dst.is_v6() && dst.v6().is_link_local()) {
      // Link-local without a route for the chosen interface: on-link on oif/first iface.
      for (auto& i : ifs)
        if (!i->loopback && (!o.oif || i->id == o.oif)) { out = i.get(); break; }
    } else if (r) {
      out = iface(r.ifindex);
      nh = r.next_hop(dst);
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
      std::vector<uint8_t> p = take_buf(20 + payload.size());
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
    std::vector<uint8_t> p = take_buf(40 + payload.size());
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

// Both answer for every interface the destination's route may use (all live hops of a
// multipath route): the caller does not know the flow's hop.
bool StackImpl::egress_trusted(const IpAddr& dst, uint32_t oif) const {
  if (is_local(dst)) return true;
  return every_egress(lookup(dst, oif), oif,
                      [](const Interface* out) { return out && out->trusted_checksum(); });
}

size_t StackImpl::tcp_tso_max(const IpAddr& dst) const {
  if (is_local(dst)) return 0;
  bool tso = every_egress(lookup(dst), 0, [](const Interface* out) {
    return out && out->is_ethernet() && (out->link->offloads() & link_offload::kTso);
  });
  if (!tso) return 0;
  return 65535 - (dst.is_v4() ? 20 : 0) - 60;  // IPv4 total length / IPv6 payload length
}

int StackImpl::tcp_output_inplace(const IpAddr& src, const IpAddr& dst, std::span<uint8_t> buf,
                                  size_t headroom, uint32_t oif, size_t gso_size) {
  const bool v4 = dst.is_v4();
  const size_t iphl = v4 ? 20 : 40;
  if (headroom < iphl + EthernetRepr::kHeaderLen || src.is_unspecified()) return 0;
  if (buf.size() < headroom + kTcpMinHeader) return 0;
  if (v4 ? dst.v4().is_multicast() || dst.v4().is_broadcast() : dst.v6().is_multicast()) return 0;
  if (is_local(dst)) return 0;
  std::span<uint8_t> seg = buf.subspan(headroom);
  FlowKey flow{src, dst, ipproto::kTcp, rd16(seg.data()), rd16(seg.data() + 2)};
  Hop r = lookup(dst, oif, &flow);
  if (!r) return 0;
  Interface* out = iface(r.ifindex);
  if (!out || !out->up || !out->is_ethernet()) return 0;
  if (v4 && is_v4_broadcast(dst, *out)) return 0;
  const IpAddr nh = r.next_hop(dst);
  const size_t seglen = seg.size();
  const size_t tcp_hl = size_t(seg[12] >> 4) * 4;
  const uint32_t offl = out->link->offloads();
  const bool gso = gso_size && seglen > tcp_hl + gso_size;
  size_t mtu = out->mtu;
  for (auto& p : pmtu)
    if (p.dst == dst) mtu = std::min(mtu, p.mtu);
  if (gso) {
    if (!(offl & link_offload::kTso) || iphl + tcp_hl + gso_size > mtu ||
        seglen + (v4 ? iphl : 0) > 65535)
      return 0;
  } else if (iphl + seglen > mtu) {
    return 0;
  }
  Neighbour* n = neigh_find(out->id, nh);
  if (!n || n->state == State::Incomplete || n->state == State::Failed) return 0;
  n->last_used = now;
  if (n->state == State::Stale) {
    n->state = State::Delay;
    n->timer = now + tuning.neigh_delay;
  }
  TxOffload o;
  if (out->trusted_checksum()) {
    // nothing: receivers on this link do not verify
  } else if (offl & (link_offload::kTxChecksumPartial | link_offload::kTso)) {
    // The receiver completes it: store the pseudo-header sum only (like CHECKSUM_PARTIAL).
    wr16(seg.data() + 16, uint16_t(~pseudo_header(src, dst, ipproto::kTcp, uint32_t(seglen)).fold()));
    o.csum_partial = true;
    o.csum_start = uint16_t(EthernetRepr::kHeaderLen + iphl);
    o.csum_offset = 16;
  } else {
    tcp_fill_checksum(src, dst, seg);
  }
  if (gso) {
    o.gso = v4 ? TxOffload::kTcpV4 : TxOffload::kTcpV6;
    o.gso_size = uint16_t(gso_size);
    o.hdr_len = uint16_t(EthernetRepr::kHeaderLen + iphl + tcp_hl);
  }
  uint8_t* ip = buf.data() + headroom - iphl;
  if (v4) {
    Ipv4Repr h;
    h.ident = ip4_ident;
    // A super-segment becomes ceil(payload / gso_size) packets with consecutive idents.
    ip4_ident = uint16_t(ip4_ident + (gso ? (seglen - tcp_hl + gso_size - 1) / gso_size : 1));
    h.ttl = uint8_t(tuning.default_ttl);
    h.protocol = ipproto::kTcp;
    h.src = src.v4();
    h.dst = dst.v4();
    h.dont_frag = true;
    h.emit(MutBytes(ip, iphl), seglen);
    ++ctr.ipv4_tx;
  } else {
    Ipv6Repr h;
    h.next_header = ipproto::kTcp;
    h.hop_limit = uint8_t(tuning.default_hop_limit);
    h.src = src.v6();
    h.dst = dst.v6();
    h.emit(MutBytes(ip, iphl), seglen);
    ++ctr.ipv6_tx;
  }
  uint8_t* eth = ip - EthernetRepr::kHeaderLen;
  EthernetRepr e;
  e.dst = n->mac;
  e.src = out->mac;
  e.ethertype = v4 ? ethertype::kIpv4 : ethertype::kIpv6;
  e.emit(MutBytes(eth, EthernetRepr::kHeaderLen));
  size_t flen = EthernetRepr::kHeaderLen + iphl + seglen;
  if (flen < 60) {  // a bare ACK without options: pad to the Ethernet minimum
    if (buf.data() + buf.size() - eth < 60) return 0;
    std::fill(eth + flen, eth + 60, uint8_t(0));
    flen = 60;
  }
  std::span<const uint8_t> frame(eth, flen);
  bool ok = o.csum_partial || gso ? out->link->transmit_offload(frame, o, now) : out->link->transmit(frame, now);
  if (ok) ++ctr.tx_frames;
  else ++ctr.link_tx_dropped;
  return 1;
}

}  // namespace libstack
