// Internet checksum (RFC 1071) and the transport pseudo-headers.
#include "wire/wire.h"

namespace libstack::wire {

void Checksum::add(Bytes b) {
  size_t i = 0;
  uint64_t s = sum;
  if (odd && !b.empty()) {
    s += b[0];
    i = 1;
    odd = false;
  }
  for (; i + 1 < b.size(); i += 2) s += uint32_t(b[i]) << 8 | b[i + 1];
  if (i < b.size()) {
    s += uint32_t(b[i]) << 8;
    odd = true;
  }
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  sum = uint32_t(s);
}

uint16_t Checksum::fold() const {
  uint32_t s = sum;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return uint16_t(~s);
}

uint16_t checksum(Bytes b) {
  Checksum c;
  c.add(b);
  return c.fold();
}

Checksum pseudo_header(const IpAddr& src, const IpAddr& dst, uint8_t proto, uint32_t len) {
  Checksum c;
  size_t n = src.is_v4() ? 4 : 16;
  c.add(Bytes(src.b.data(), n));
  c.add(Bytes(dst.b.data(), n));
  c.add_u32(len >> 16);
  c.add_u32(len & 0xffff);
  c.add_u32(proto);
  return c;
}

uint16_t transport_checksum(const IpAddr& src, const IpAddr& dst, uint8_t proto, Bytes data) {
  Checksum c = pseudo_header(src, dst, proto, uint32_t(data.size()));
  c.add(data);
  return c.fold();
}

MacAddr multicast_mac(const IpAddr& g) {
  if (g.is_v4()) return {{0x01, 0x00, 0x5e, uint8_t(g.b[1] & 0x7f), g.b[2], g.b[3]}};
  return {{0x33, 0x33, g.b[12], g.b[13], g.b[14], g.b[15]}};
}

Ipv6Addr solicited_node(const Ipv6Addr& a) {
  Ipv6Addr r{};
  r.b[0] = 0xff;
  r.b[1] = 0x02;
  r.b[11] = 0x01;
  r.b[12] = 0xff;
  r.b[13] = a.b[13];
  r.b[14] = a.b[14];
  r.b[15] = a.b[15];
  return r;
}

Ipv6Addr link_local_from_mac(const MacAddr& m) {
  Ipv6Addr r{};
  r.b[0] = 0xfe;
  r.b[1] = 0x80;
  r.b[8] = m.b[0] ^ 0x02;
  r.b[9] = m.b[1];
  r.b[10] = m.b[2];
  r.b[11] = 0xff;
  r.b[12] = 0xfe;
  r.b[13] = m.b[3];
  r.b[14] = m.b[4];
  r.b[15] = m.b[5];
  return r;
}

}  // namespace libstack::wire
