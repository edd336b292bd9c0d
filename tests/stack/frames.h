// Frame builders for injecting hand-made traffic into a stack under test.
#pragma once

#include <vector>

#include "harness.h"
#include "wire/wire.h"

namespace libstack::test {

using Bytes = std::vector<uint8_t>;

inline Bytes eth_frame(const MacAddr& dst, const MacAddr& src, uint16_t et, std::span<const uint8_t> payload) {
  Bytes f(14 + payload.size());
  wire::EthernetRepr e;
  e.dst = dst;
  e.src = src;
  e.ethertype = et;
  e.emit(f);
  std::copy(payload.begin(), payload.end(), f.begin() + 14);
  return f;
}

inline Bytes udp_dgram(const IpAddr& s, const IpAddr& d, uint16_t sp, uint16_t dp, std::span<const uint8_t> payload) {
  Bytes u(8 + payload.size());
  wire::UdpRepr r;
  r.src_port = sp;
  r.dst_port = dp;
  r.payload = payload;
  r.emit(u, s, d);
  return u;
}

inline Bytes v4_packet(const IpAddr& s, const IpAddr& d, uint8_t proto, std::span<const uint8_t> data,
                       uint16_t id = 1, uint16_t off = 0, bool more = false, uint8_t ttl = 64) {
  Bytes p(20 + data.size());
  wire::Ipv4Repr h;
  h.src = s.v4();
  h.dst = d.v4();
  h.protocol = proto;
  h.ident = id;
  h.frag_offset = off;
  h.more_frags = more;
  h.ttl = ttl;
  h.emit(p, data.size());
  std::copy(data.begin(), data.end(), p.begin() + 20);
  return p;
}

inline Bytes v6_packet(const IpAddr& s, const IpAddr& d, uint8_t next, std::span<const uint8_t> data,
                       uint8_t hop = 64) {
  Bytes p(40 + data.size());
  wire::Ipv6Repr h;
  h.src = s.v6();
  h.dst = d.v6();
  h.next_header = next;
  h.hop_limit = hop;
  h.emit(p, data.size());
  std::copy(data.begin(), data.end(), p.begin() + 40);
  return p;
}

inline Bytes v6_fragment(const IpAddr& s, const IpAddr& d, uint8_t upper, uint32_t id, uint16_t off,
                         bool more, std::span<const uint8_t> data) {
  Bytes body(8 + data.size());
  wire::Ipv6FragRepr f;
  f.next_header = upper;
  f.offset = off;
  f.more = more;
  f.ident = id;
  f.emit(body);
  std::copy(data.begin(), data.end(), body.begin() + 8);
  return v6_packet(s, d, wire::ipproto::kIpv6Frag, body);
}

}  // namespace libstack::test
