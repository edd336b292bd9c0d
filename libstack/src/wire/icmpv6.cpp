// ICMPv6 (RFC 4443) and Neighbor Discovery messages/options (RFC 4861 §4).
#include <algorithm>

#include "wire/wire.h"

namespace libstack::wire {

Result<Icmpv6Repr> Icmpv6Repr::parse(Bytes b, const Ipv6Addr& src, const Ipv6Addr& dst,
                                     bool verify_checksum) {
  if (b.size() < kHeaderLen) return Error::Truncated;
  if (verify_checksum && transport_checksum(src, dst, ipproto::kIcmpv6, b) != 0)
    return Error::BadChecksum;
  Icmpv6Repr r;
  r.type = b[0];
  r.code = b[1];
  r.rest = rd32(b.data() + 4);
  r.data = b.subspan(kHeaderLen);
  return r;
}

void Icmpv6Repr::emit(MutBytes out, const Ipv6Addr& src, const Ipv6Addr& dst) const {
  uint8_t* p = out.data();
  p[0] = type;
  p[1] = code;
  wr16(p + 2, 0);
  wr32(p + 4, rest);
  if (!data.empty() && data.data() != p + kHeaderLen) std::copy(data.begin(), data.end(), p + kHeaderLen);
  wr16(p + 2, transport_checksum(src, dst, ipproto::kIcmpv6, Bytes(p, len())));
}

Result<NdpOptions> NdpOptions::parse(Bytes b) {
  NdpOptions o;
  size_t i = 0;
  for (int guard = 0; i < b.size() && guard < 256; ++guard) {
    if (b.size() - i < 2) return Error::Truncated;
    size_t len = size_t(b[i + 1]) * 8;
    if (len == 0) return Error::Malformed;  // RFC 4861 §4.6: must discard
    if (i + len > b.size()) return Error::Truncated;
    Bytes opt = b.subspan(i, len);
    switch (opt[0]) {
      case 1:
      case 2: {
        if (len < 8) return Error::BadLength;
        MacAddr m;
        std::copy_n(opt.data() + 2, 6, m.b.data());
        (opt[0] == 1 ? o.source_lladdr : o.target_lladdr) = m;
        break;
      }
      case 3: {
        if (len != 32) return Error::BadLength;
        Prefix p;
        p.prefix_len = opt[2];
        if (p.prefix_len > 128) return Error::Malformed;
        p.on_link = opt[3] & 0x80;
        p.autonomous = opt[3] & 0x40;
        p.valid_lifetime = rd32(opt.data() + 4);
        p.preferred_lifetime = rd32(opt.data() + 8);
        std::copy_n(opt.data() + 16, 16, p.prefix.b.data());
        o.prefixes.push_back(p);
        break;
      }
      case 5:
        if (len != 8) return Error::BadLength;
        o.mtu = rd32(opt.data() + 4);
        break;
      default:
        break;  // unknown options are skipped (RFC 4861 §4.6)
    }
    i += len;
  }
  if (i < b.size()) return Error::Malformed;
  return o;
}

size_t NdpOptions::emit_lladdr(MutBytes out, uint8_t type, const MacAddr& mac) {
  out[0] = type;
  out[1] = 1;
  std::copy_n(mac.b.data(), 6, out.data() + 2);
  return 8;
}

Result<NdpNeighborRepr> NdpNeighborRepr::parse(uint32_t rest, Bytes body) {
  if (body.size() < 16) return Error::Truncated;
  NdpNeighborRepr r;
  r.router = rest & 0x80000000u;
  r.solicited = rest & 0x40000000u;
  r.override_ = rest & 0x20000000u;
  std::copy_n(body.data(), 16, r.target.b.data());
  if (r.target.is_multicast()) return Error::Malformed;
  auto o = NdpOptions::parse(body.subspan(16));
  if (!o) return o.error;
  r.options = std::move(*o);
  return r;
}

Result<NdpRouterAdvertRepr> NdpRouterAdvertRepr::parse(uint32_t rest, Bytes body) {
  if (body.size() < 8) return Error::Truncated;
  NdpRouterAdvertRepr r;
  r.cur_hop_limit = uint8_t(rest >> 24);
  r.managed = rest & 0x800000u;
  r.other = rest & 0x400000u;
  r.router_lifetime = uint16_t(rest);
  r.reachable_time = rd32(body.data());
  r.retrans_timer = rd32(body.data() + 4);
  auto o = NdpOptions::parse(body.subspan(8));
  if (!o) return o.error;
  r.options = std::move(*o);
  return r;
}

}  // namespace libstack::wire
