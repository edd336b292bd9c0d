// IPv6 fixed header and extension headers (RFC 8200 §3-§4).
#include <algorithm>

#include "wire/wire.h"

namespace libstack::wire {

Result<Ipv6Repr> Ipv6Repr::parse(Bytes b) {
  if (b.size() < kHeaderLen) return Error::Truncated;
  if ((b[0] >> 4) != 6) return Error::BadVersion;
  Ipv6Repr r;
  uint32_t w = rd32(b.data());
  r.traffic_class = uint8_t(w >> 20);
  r.flow_label = w & 0xfffff;
  size_t plen = rd16(b.data() + 4);
  r.next_header = b[6];
  r.hop_limit = b[7];
  std::copy_n(b.data() + 8, 16, r.src.b.data());
  std::copy_n(b.data() + 24, 16, r.dst.b.data());
  if (plen == 0 && r.next_header == ipproto::kHopByHop) return Error::Unsupported;  // jumbogram
  if (b.size() < kHeaderLen + plen) return Error::Truncated;
  r.payload = b.subspan(kHeaderLen, plen);
  return r;
}

void Ipv6Repr::emit(MutBytes out, size_t payload_len) const {
  uint8_t* p = out.data();
  wr32(p, 6u << 28 | uint32_t(traffic_class) << 20 | (flow_label & 0xfffff));
  wr16(p + 4, uint16_t(payload_len));
  p[6] = next_header;
  p[7] = hop_limit;
  std::copy_n(src.b.data(), 16, p + 8);
  std::copy_n(dst.b.data(), 16, p + 24);
}

Result<Ipv6FragRepr> Ipv6FragRepr::parse(Bytes b) {
  if (b.size() < kLen) return Error::Truncated;
  Ipv6FragRepr r;
  r.next_header = b[0];
  uint16_t w = rd16(b.data() + 2);
  r.offset = uint16_t(w & 0xfff8);
  r.more = w & 1;
  r.ident = rd32(b.data() + 4);
  return r;
}

void Ipv6FragRepr::emit(MutBytes out) const {
  uint8_t* p = out.data();
  p[0] = next_header;
  p[1] = 0;
  wr16(p + 2, uint16_t((offset & 0xfff8) | (more ? 1 : 0)));
  wr32(p + 4, ident);
}

Result<Ipv6ExtRepr> Ipv6ExtRepr::parse(Bytes b) {
  if (b.size() < 8) return Error::Truncated;
  Ipv6ExtRepr r;
  r.next_header = b[0];
  r.length = (size_t(b[1]) + 1) * 8;
  if (b.size() < r.length) return Error::Truncated;
  r.data = b.subspan(2, r.length - 2);
  return r;
}

bool Ipv6ExtRepr::first_unknown_option(uint8_t& type, size_t& offset) const {
  for (size_t i = 0; i < data.size();) {
    uint8_t t = data[i];
    if (t == 0) { ++i; continue; }  // Pad1
    if (i + 1 >= data.size()) return false;
    size_t l = size_t(data[i + 1]) + 2;
    if (t != 1 && (t & 0xc0) != 0) {  // unknown option whose action is not "skip"
      type = t;
      offset = 2 + i;
      return true;
    }
    i += l;
  }
  return false;
}

static bool options_well_formed(Bytes d) {
  for (size_t i = 0; i < d.size();) {
    if (d[i] == 0) { ++i; continue; }
    if (i + 1 >= d.size()) return false;
    size_t l = size_t(d[i + 1]) + 2;
    if (i + l > d.size()) return false;
    i += l;
  }
  return true;
}

Result<Ipv6Chain> Ipv6Chain::parse(uint8_t next, Bytes payload) {
  Ipv6Chain c;
  size_t off = 0;
  bool first = true;
  for (int guard = 0; guard < 16; ++guard) {
    switch (next) {
      case ipproto::kHopByHop:
      case ipproto::kIpv6Opts:
      case ipproto::kIpv6Route: {
        if (next == ipproto::kHopByHop && !first) return Error::Malformed;  // RFC 8200 §4.3
        auto e = Ipv6ExtRepr::parse(payload.subspan(off));
        if (!e) return e.error;
        if (next != ipproto::kIpv6Route) {
          if (!options_well_formed(e->data)) return Error::Malformed;
          uint8_t t;
          size_t o;
          if (!c.unknown_opt && e->first_unknown_option(t, o)) {
            // Only actions 01 (discard silently), 10/11 (discard + ICMP) exist above 0x3f.
            c.unknown_opt = true;
            c.unknown_opt_type = t;
            c.unknown_opt_pointer = 40 + off + o;
          }
        } else {
          if (e->data.size() < 2) return Error::Truncated;
          c.routing_segments_left = e->data[1];
        }
        next = e->next_header;
        off += e->length;
        break;
      }
      case ipproto::kIpv6Frag: {
        if (c.frag) return Error::Malformed;  // two fragment headers
        auto f = Ipv6FragRepr::parse(payload.subspan(off));
        if (!f) return f.error;
        c.frag = *f;
        c.frag_offset_in_payload = off;
        next = f->next_header;
        off += Ipv6FragRepr::kLen;
        // Headers after a non-first fragment header are in the fragment data.
        if (f->offset != 0) {
          c.upper_proto = next;
          c.upper_offset = off;
          return c;
        }
        break;
      }
      default:
        c.upper_proto = next;
        c.upper_offset = off;
        return c;
    }
    first = false;
  }
  return Error::Malformed;  // header chain too long
}

}  // namespace libstack::wire
