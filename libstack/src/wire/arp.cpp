// ARP packet (RFC 826), only the Ethernet/IPv4 flavour (htype 1, ptype 0x0800, 6/4).
#include <algorithm>

#include "wire/wire.h"

namespace libstack::wire {

Result<ArpRepr> ArpRepr::parse(Bytes b) {
  if (b.size() < kLen) return Error::Truncated;
  if (rd16(b.data()) != 1 || rd16(b.data() + 2) != ethertype::kIpv4 || b[4] != 6 || b[5] != 4)
    return Error::Unsupported;
  ArpRepr r;
  r.op = rd16(b.data() + 6);
  if (r.op != kRequest && r.op != kReply) return Error::Unsupported;
  std::copy_n(b.data() + 8, 6, r.sha.b.data());
  std::copy_n(b.data() + 14, 4, r.spa.b.data());
  std::copy_n(b.data() + 18, 6, r.tha.b.data());
  std::copy_n(b.data() + 24, 4, r.tpa.b.data());
  return r;
}

void ArpRepr::emit(MutBytes out) const {
  uint8_t* p = out.data();
  wr16(p, 1);
  wr16(p + 2, ethertype::kIpv4);
  p[4] = 6;
  p[5] = 4;
  wr16(p + 6, op);
  std::copy_n(sha.b.data(), 6, p + 8);
  std::copy_n(spa.b.data(), 4, p + 14);
  std::copy_n(tha.b.data(), 6, p + 18);
  std::copy_n(tpa.b.data(), 4, p + 24);
}

}  // namespace libstack::wire
