// IPv4 input and forwarding.
//
// Input accepts a packet when its destination is one of our addresses on any interface
// (weak host model, like Linux), the limited or a directed broadcast of the receiving
// interface, or a multicast group joined on it. Anything else is forwarded when
// Tuning::forward_v4 is on (TTL check -> ICMP time exceeded, route -> net unreachable,
// DF + too big -> fragmentation needed) and otherwise dropped (ipv4_not_for_us).
#include <algorithm>

#include "stack_impl.h"
#include "wire/tcp.h"

namespace libstack {

using namespace wire;

void StackImpl::ipv4_input(Interface& i, std::span<const uint8_t> pkt) {
  ++ctr.ipv4_rx;
  auto ip = Ipv4Repr::parse(pkt);
  if (!ip) {
    switch (ip.error) {
      case Error::Truncated: ++ctr.ipv4_truncated; break;
      case Error::BadChecksum: ++ctr.ipv4_bad_checksum; break;
      case Error::BadVersion: ++ctr.ipv4_bad_version; break;
      case Error::BadLength: ++ctr.ipv4_bad_length; break;
      default: ++ctr.ipv4_malformed; break;
    }
    return;
  }
  pkt = pkt.first(ip->header_len + ip->payload.size());  // strip link padding
  IpAddr src(ip->src), dst(ip->dst);
  if (ip->src.is_multicast() || ip->src.is_broadcast() || (!i.loopback && ip->src.is_loopback()) ||
      (!i.loopback && ip->dst.is_loopback())) {
    ++ctr.ipv4_martian_src;
    return;
  }
  IpMeta m;
  m.src = src;
  m.dst = dst;
  m.proto = ip->protocol;
  m.ttl = ip->ttl;
  m.ifindex = i.id;
  m.packet = pkt;
  m.checksum_trusted = i.trusted_checksum();
  bool ours = is_local(dst);
  if (!ours && is_v4_broadcast(dst, i)) ours = m.dst_broadcast = true;
  if (!ours && ip->dst.is_multicast()) {
    if (joined(i, dst) || ip->dst.to_u32() == 0xe0000001u || i.loopback) ours = m.dst_multicast = true;
    else { ++ctr.mcast_filtered; return; }
  }
  if (!ours && i.loopback) ours = true;  // looped-back broadcast copies
  if (!ours) {
    if (tuning.forward_v4) forward_v4(i, *ip, pkt);
    else ++ctr.ipv4_not_for_us;
    return;
  }
  if (ip->is_fragment()) {
    ++ctr.ipv4_fragments_rx;
    auto whole = reassemble(false, src, dst, ip->ident, ip->protocol, ip->frag_offset, ip->more_frags,
                            ip->payload, pkt.first(std::min(pkt.size(), ip->header_len + 8)), i.id);
    if (!whole) return;
    ++ctr.ipv4_reassembled;
    // Rebuild a contiguous packet so ICMP errors can quote it and the upper layers see
    // one datagram.
    std::vector<uint8_t> full(ip->header_len + whole->size());
    std::copy_n(pkt.data(), ip->header_len, full.data());
    wr16(full.data() + 2, uint16_t(std::min<size_t>(full.size(), 65535)));
    wr16(full.data() + 6, 0);
    std::copy(whole->begin(), whole->end(), full.begin() + long(ip->header_len));
    m.packet = full;
    deliver(m, std::span<const uint8_t>(full).subspan(ip->header_len));
    return;
  }
  deliver(m, ip->payload);
}

void StackImpl::deliver(IpMeta& m, std::span<const uint8_t> payload) {
  switch (m.proto) {
    case ipproto::kIcmp:
      if (m.src.is_v4()) return icmpv4_input(m, payload);
      break;
    case ipproto::kIcmpv6:
      if (m.src.is_v6()) return icmpv6_input(m, payload);
      break;
    case ipproto::kUdp:
      return udp_input(m, payload);
    case ipproto::kTcp:
      return tcp_input(m, payload);
    case ipproto::kIpv6NoNxt:
      if (m.src.is_v6()) return;
      break;
    default:
      break;
  }
  ++ctr.unknown_protocol;
  if (m.dst_broadcast || m.dst_multicast) return;
  if (m.src.is_v4()) icmp_error(false, icmp4::kDestUnreach, icmp4::kProtoUnreach, 0, m.packet, m.ifindex);
  else icmp_error(true, icmp6::kParamProblem, 1, 6, m.packet, m.ifindex);
}

void StackImpl::forward_v4(Interface& in, const Ipv4Repr& ip, std::span<const uint8_t> pkt) {
  if (ip.dst.is_broadcast() || ip.src.is_unspecified() || (ip.src.b[0] == 169 && ip.src.b[1] == 254)) {
    ++ctr.ipv4_not_for_us;
    return;
  }
  if (ip.ttl <= 1) {
    ++ctr.ipv4_ttl_exceeded;
    icmp_error(false, icmp4::kTimeExceeded, 0, 0, pkt, in.id);
    return;
  }
  FlowKey flow = flow_of(IpAddr(ip.src), IpAddr(ip.dst), ip.protocol, ip.payload, ip.is_fragment());
  Hop r = lookup(IpAddr(ip.dst), 0, &flow);
  Interface* out = r ? iface(r.ifindex) : nullptr;
  if (!out || out->loopback) {
    ++ctr.ipv4_no_route;
    icmp_error(false, icmp4::kDestUnreach, icmp4::kNetUnreach, 0, pkt, in.id);
    return;
  }
  IpAddr nh = r.next_hop(IpAddr(ip.dst));
  std::vector<uint8_t> p(pkt.begin(), pkt.end());
  p[8] = uint8_t(ip.ttl - 1);
  wr16(p.data() + 10, 0);
  wr16(p.data() + 10, checksum(std::span<const uint8_t>(p.data(), ip.header_len)));
  // A TCP segment from a link that trusts checksums may carry none: give it a real one
  // before it leaves for a link that does not.
  if (in.trusted_checksum() && !out->trusted_checksum() && ip.protocol == ipproto::kTcp &&
      !ip.is_fragment() && p.size() >= ip.header_len + kTcpMinHeader)
    tcp_fill_checksum(IpAddr(ip.src), IpAddr(ip.dst), std::span<uint8_t>(p).subspan(ip.header_len));
  ++ctr.ipv4_forwarded;
  if (p.size() <= out->mtu) {
    link_output(*out, nh, std::move(p));
    return;
  }
  if (ip.dont_frag) {
    ++ctr.ipv4_frag_needed;
    icmp_error(false, icmp4::kDestUnreach, icmp4::kFragNeeded, uint32_t(out->mtu), pkt, in.id);
    return;
  }
  Ipv4Repr h = ip;  // options are not copied into fragments (allowed: RFC 791 copy flag)
  h.ttl = uint8_t(ip.ttl - 1);
  send_v4_fragments(*out, nh, h, ip.payload);
}

}  // namespace libstack
