// IPv6 input (extension header chain, fragments) and forwarding.
//
// A packet is ours if its destination is one of our valid addresses or a multicast group
// joined on the receiving interface; packets to a tentative address are only accepted
// for NDP (DAD). Unknown options act per their two high bits (RFC 8200 §4.2). Routing
// headers with segments left are not processed (we are not a source-routing hop).
#include <algorithm>

#include "stack_impl.h"
#include "wire/tcp.h"

namespace libstack {

using namespace wire;

void StackImpl::ipv6_input(Interface& i, std::span<const uint8_t> pkt) {
  ++ctr.ipv6_rx;
  auto ip = Ipv6Repr::parse(pkt);
  if (!ip) {
    if (ip.error == Error::Truncated) ++ctr.ipv6_truncated;
    else if (ip.error == Error::BadVersion) ++ctr.ipv6_bad_version;
    else ++ctr.ipv6_malformed;
    return;
  }
  pkt = pkt.first(40 + ip->payload.size());
  IpAddr src(ip->src), dst(ip->dst);
  if (ip->src.is_multicast() || (!i.loopback && (ip->src.is_loopback() || ip->dst.is_loopback()))) {
    ++ctr.ipv6_martian_src;
    return;
  }
  IpMeta m;
  m.src = src;
  m.dst = dst;
  m.ttl = ip->hop_limit;
  m.ifindex = i.id;
  m.packet = pkt;
  m.checksum_trusted = i.trusted_checksum();
  bool ours = is_local(dst);
  bool tentative = false;
  if (!ours && ip->dst.is_multicast()) {
    if (joined(i, dst) || i.loopback) ours = m.dst_multicast = true;
    else { ++ctr.mcast_filtered; return; }
  }
  if (!ours) {
    if (IfAddr* a = find_addr(dst); a && (a->tentative || a->dad_failed)) ours = tentative = true;
  }
  if (!ours) {
    if (tuning.forward_v6) forward_v6(i, *ip, pkt);
    else ++ctr.ipv6_not_for_us;
    return;
  }
  auto chain = Ipv6Chain::parse(ip->next_header, ip->payload);
  if (!chain) {
    if (chain.error == Error::Truncated) ++ctr.ipv6_truncated;
    else ++ctr.ipv6_malformed;
    return;
  }
  if (chain->unknown_opt) {
    ++ctr.ipv6_bad_option;
    uint8_t action = chain->unknown_opt_type >> 6;
    if (action == 2 || (action == 3 && !m.dst_multicast))
      icmp_error(true, icmp6::kParamProblem, 2, uint32_t(chain->unknown_opt_pointer), pkt, i.id);
    return;
  }
  if (chain->routing_segments_left) {
    ++ctr.ipv6_bad_option;
    return;
  }
  if (tentative && chain->upper_proto != ipproto::kIcmpv6) {
    ++ctr.ipv6_to_tentative;
    return;
  }
  if (chain->frag && (chain->frag->offset != 0 || chain->frag->more)) {
    ++ctr.ipv6_fragments_rx;
    const auto& f = *chain->frag;
    size_t data_off = chain->frag_offset_in_payload + Ipv6FragRepr::kLen;
    auto whole = reassemble(true, src, dst, f.ident, f.next_header, f.offset, f.more,
                            ip->payload.subspan(data_off), pkt.first(std::min<size_t>(pkt.size(), 1232)), i.id);
    if (!whole) return;
    ++ctr.ipv6_reassembled;
    // Rebuild: fixed header (next header = the first fragment's next header) + data.
    uint8_t first_next = f.next_header;
    std::vector<uint8_t> full(40 + whole->size());
    std::copy_n(pkt.data(), 40, full.data());
    if (whole->size() > 65535) { ++ctr.reasm_oversize; return; }
    wr16(full.data() + 4, uint16_t(whole->size()));
    full[6] = first_next;
    std::copy(whole->begin(), whole->end(), full.begin() + 40);
    // NB: the reassembled payload may begin with further extension headers.
    auto c2 = Ipv6Chain::parse(first_next, std::span<const uint8_t>(full).subspan(40));
    if (!c2 || c2->frag) { ++ctr.ipv6_malformed; return; }
    m.proto = c2->upper_proto;
    m.packet = full;
    deliver(m, std::span<const uint8_t>(full).subspan(40 + c2->upper_offset));
    return;
  }
  m.proto = chain->upper_proto;
  deliver(m, ip->payload.subspan(chain->upper_offset));
}

void StackImpl::forward_v6(Interface& in, const Ipv6Repr& ip, std::span<const uint8_t> pkt) {
  if (ip.src.is_link_local() || ip.dst.is_link_local() || ip.src.is_unspecified()) {
    ++ctr.ipv6_not_for_us;
    return;
  }
  if (ip.hop_limit <= 1) {
    ++ctr.ipv6_hop_limit_exceeded;
    icmp_error(true, icmp6::kTimeExceeded, 0, 0, pkt, in.id);
    return;
  }
  // The flow: the upper-layer header behind the extension headers (none for fragments,
  // or when the chain does not parse: addresses and the first next header only).
  FlowKey flow{IpAddr(ip.src), IpAddr(ip.dst), ip.next_header, 0, 0};
  if (auto chain = Ipv6Chain::parse(ip.next_header, ip.payload))
    flow = flow_of(flow.src, flow.dst, chain->upper_proto, ip.payload.subspan(chain->upper_offset),
                   chain->frag.has_value());
  Hop r = lookup(IpAddr(ip.dst), 0, &flow);
  Interface* out = r ? iface(r.ifindex) : nullptr;
  if (!out || out->loopback) {
    ++ctr.ipv6_no_route;
    icmp_error(true, icmp6::kDestUnreach, icmp6::kNoRoute, 0, pkt, in.id);
    return;
  }
  if (pkt.size() > out->mtu) {
    ++ctr.ipv6_too_big;
    icmp_error(true, icmp6::kPacketTooBig, 0, uint32_t(out->mtu), pkt, in.id);
    return;
  }
  IpAddr nh = r.next_hop(IpAddr(ip.dst));
  std::vector<uint8_t> p(pkt.begin(), pkt.end());
  p[7] = uint8_t(ip.hop_limit - 1);
  // As for IPv4: a segment from a checksum-trusting link gets a real checksum on the way out.
  if (in.trusted_checksum() && !out->trusted_checksum() && ip.next_header == ipproto::kTcp &&
      p.size() >= 40 + kTcpMinHeader)
    tcp_fill_checksum(IpAddr(ip.src), IpAddr(ip.dst), std::span<uint8_t>(p).subspan(40));
  ++ctr.ipv6_forwarded;
  link_output(*out, nh, std::move(p));
}

}  // namespace libstack
