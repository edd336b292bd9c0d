// IPv4 header (RFC 791). Options are kept as bytes but their TLV structure is checked.
#include <algorithm>

#include "wire/wire.h"

namespace libstack::wire {

Result<Ipv4Repr> Ipv4Repr::parse(Bytes b, bool verify_checksum) {
  if (b.size() < kMinHeaderLen) return Error::Truncated;
  if ((b[0] >> 4) != 4) return Error::BadVersion;
  size_t ihl = size_t(b[0] & 0x0f) * 4;
  if (ihl < kMinHeaderLen) return Error::BadLength;
  if (b.size() < ihl) return Error::Truncated;
  size_t total = rd16(b.data() + 2);
  if (total < ihl) return Error::BadLength;
  if (b.size() < total) return Error::Truncated;
  if (verify_checksum && checksum(b.first(ihl)) != 0) return Error::BadChecksum;
  Ipv4Repr r;
  r.dscp_ecn = b[1];
  r.ident = rd16(b.data() + 4);
  uint16_t ff = rd16(b.data() + 6);
  if (ff & 0x8000) return Error::Malformed;  // reserved flag must be zero
  r.dont_frag = ff & 0x4000;
  r.more_frags = ff & 0x2000;
  r.frag_offset = uint16_t((ff & 0x1fff) * 8);
  r.ttl = b[8];
  r.protocol = b[9];
  std::copy_n(b.data() + 12, 4, r.src.b.data());
  std::copy_n(b.data() + 16, 4, r.dst.b.data());
  r.header_len = ihl;
  r.options = b.subspan(kMinHeaderLen, ihl - kMinHeaderLen);
  // Options: 0 = end, 1 = nop, else type,len(>=2).
  for (size_t i = 0; i < r.options.size();) {
    uint8_t t = r.options[i];
    if (t == 0) break;
    if (t == 1) { ++i; continue; }
    if (i + 1 >= r.options.size()) return Error::Malformed;
    uint8_t l = r.options[i + 1];
    if (l < 2 || i + l > r.options.size()) return Error::Malformed;
    i += l;
  }
  r.payload = b.subspan(ihl, total - ihl);
  if (size_t(r.frag_offset) + r.payload.size() > 65535) return Error::BadLength;
  return r;
}

void Ipv4Repr::emit(MutBytes out, size_t payload_len) const {
  uint8_t* p = out.data();
  p[0] = 0x45;
  p[1] = dscp_ecn;
  wr16(p + 2, uint16_t(20 + payload_len));
  wr16(p + 4, ident);
  wr16(p + 6, uint16_t((dont_frag ? 0x4000 : 0) | (more_frags ? 0x2000 : 0) | (frag_offset / 8)));
  p[8] = ttl;
  p[9] = protocol;
  wr16(p + 10, 0);
  std::copy_n(src.b.data(), 4, p + 12);
  std::copy_n(dst.b.data(), 4, p + 16);
  wr16(p + 10, checksum(Bytes(p, 20)));
}

}  // namespace libstack::wire
