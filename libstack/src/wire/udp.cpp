// UDP header (RFC 768), checksum over the pseudo-header (RFC 768, RFC 8200 §8.1).
#include <algorithm>

#include "wire/wire.h"

namespace libstack::wire {

Result<UdpRepr> UdpRepr::parse(Bytes b, const IpAddr& src, const IpAddr& dst, bool verify_checksum) {
  if (b.size() < kHeaderLen) return Error::Truncated;
  size_t len = rd16(b.data() + 4);
  if (len < kHeaderLen || len > b.size()) return Error::BadLength;
  uint16_t ck = rd16(b.data() + 6);
  if (verify_checksum) {
    if (ck == 0) {
      if (src.is_v6()) return Error::BadChecksum;
    } else if (transport_checksum(src, dst, ipproto::kUdp, b.first(len)) != 0) {
      return Error::BadChecksum;
    }
  }
  UdpRepr r;
  r.src_port = rd16(b.data());
  r.dst_port = rd16(b.data() + 2);
  r.payload = b.subspan(kHeaderLen, len - kHeaderLen);
  return r;
}

void UdpRepr::emit(MutBytes out, const IpAddr& src, const IpAddr& dst) const {
  uint8_t* p = out.data();
  size_t len = kHeaderLen + payload.size();
  wr16(p, src_port);
  wr16(p + 2, dst_port);
  wr16(p + 4, uint16_t(len));
  wr16(p + 6, 0);
  if (!payload.empty() && payload.data() != p + kHeaderLen)
    std::copy(payload.begin(), payload.end(), p + kHeaderLen);
  uint16_t ck = transport_checksum(src, dst, ipproto::kUdp, Bytes(p, len));
  wr16(p + 6, ck == 0 ? 0xffff : ck);
}

}  // namespace libstack::wire
