// Ethernet II header (IEEE 802.3 length-framed frames are rejected as Unsupported).
#include <algorithm>

#include "wire/wire.h"

namespace libstack::wire {

Result<EthernetRepr> EthernetRepr::parse(Bytes f) {
  if (f.size() < kHeaderLen) return Error::Truncated;
  EthernetRepr r;
  std::copy_n(f.data(), 6, r.dst.b.data());
  std::copy_n(f.data() + 6, 6, r.src.b.data());
  r.ethertype = rd16(f.data() + 12);
  if (r.ethertype < 0x0600) return Error::Unsupported;  // 802.3 length field
  r.payload = f.subspan(kHeaderLen);
  return r;
}

void EthernetRepr::emit(MutBytes out) const {
  std::copy_n(dst.b.data(), 6, out.data());
  std::copy_n(src.b.data(), 6, out.data() + 6);
  wr16(out.data() + 12, ethertype);
}

}  // namespace libstack::wire
