// ICMPv4 header (RFC 792): type, code, checksum over the whole message, 4 "rest" bytes.
#include <algorithm>

#include "wire/wire.h"

namespace libstack::wire {

Result<Icmpv4Repr> Icmpv4Repr::parse(Bytes b, bool verify_checksum) {
  if (b.size() < kHeaderLen) return Error::Truncated;
  if (verify_checksum && checksum(b) != 0) return Error::BadChecksum;
  Icmpv4Repr r;
  r.type = b[0];
  r.code = b[1];
  r.rest = rd32(b.data() + 4);
  r.data = b.subspan(kHeaderLen);
  return r;
}

void Icmpv4Repr::emit(MutBytes out) const {
  uint8_t* p = out.data();
  p[0] = type;
  p[1] = code;
  wr16(p + 2, 0);
  wr32(p + 4, rest);
  if (!data.empty() && data.data() != p + kHeaderLen) std::copy(data.begin(), data.end(), p + kHeaderLen);
  wr16(p + 2, checksum(Bytes(p, len())));
}

}  // namespace libstack::wire
