// Netsukuku wire format: see wire.h. Every read is bounds-checked by Reader.
#include "wire.h"

namespace ntk {
namespace {

struct Reader {
  std::span<const uint8_t> d;
  size_t off = 0;
  bool ok = true;
  bool need(size_t n) {
    if (!ok || d.size() - off < n) ok = false;
    return ok;
  }
  uint8_t u8() { return need(1) ? d[off++] : 0; }
  uint16_t u16() {
    if (!need(2)) return 0;
    uint16_t v = uint16_t(d[off] << 8 | d[off + 1]);
    off += 2;
    return v;
  }
  uint32_t u32() {
    uint32_t hi = u16();
    return hi << 16 | u16();
  }
  uint64_t u64() {
    uint64_t hi = u32();
    return hi << 32 | u32();
  }
  size_t left() const { return d.size() - off; }
};

void put8(std::vector<uint8_t>& o, uint8_t v) { o.push_back(v); }
void put16(std::vector<uint8_t>& o, uint16_t v) {
  o.push_back(uint8_t(v >> 8));
  o.push_back(uint8_t(v));
}
void put32(std::vector<uint8_t>& o, uint32_t v) {
  put16(o, uint16_t(v >> 16));
  put16(o, uint16_t(v));
}
void put64(std::vector<uint8_t>& o, uint64_t v) {
  put32(o, uint32_t(v >> 32));
  put32(o, uint32_t(v));
}

constexpr size_t kEchoLen = 17;
constexpr size_t kHookReplyLen = 12 + 2 * (kMaxGroupNode / 8);
constexpr size_t kTracerFixedLen = 12;  // kind flags round sub_id pkt_id nhops

}  // namespace

void encode_header(std::vector<uint8_t>& out, const Header& h, size_t body_len) {
  out.clear();
  put8(out, 'N');
  put8(out, 'K');
  put8(out, kWireVersion);
  put8(out, uint8_t(h.type));
  put8(out, h.flags);
  put8(out, h.l1_gnodes);
  put16(out, uint16_t(body_len));
  put64(out, h.src_nid);
  put64(out, h.dst_nid);
  put32(out, h.src_addr);
  put16(out, h.gnode_size);
  put16(out, h.gseq);
}

bool encode(std::vector<uint8_t>& out, const Header& h, const Echo& e) {
  encode_header(out, h, kEchoLen);
  put32(out, e.seq);
  put64(out, e.sent_ns);
  put32(out, e.gtag);
  put8(out, e.origin);
  return true;
}

bool encode(std::vector<uint8_t>& out, const Header& h) {
  encode_header(out, h, 0);
  return true;
}

bool encode(std::vector<uint8_t>& out, const Header& h, const HookReply& r) {
  encode_header(out, h, kHookReplyLen);
  put32(out, r.qspn_age_ms);
  put32(out, r.round);
  out.insert(out.end(), std::begin(r.free), std::end(r.free));
  out.insert(out.end(), std::begin(r.gnodes), std::end(r.gnodes));
  put32(out, r.gtag);
  return true;
}

bool encode(std::vector<uint8_t>& out, const Header& h, uint8_t level, std::span<const ExtEntry> e,
            size_t max) {
  size_t body = 3 + e.size() * kExtEntryLen;
  if (e.size() > kMaxGroupNode || kHeaderLen + body > max) return false;
  encode_header(out, h, body);
  put8(out, level);
  put16(out, uint16_t(e.size()));
  for (const ExtEntry& x : e) {
    put8(out, x.gnode);
    put16(out, x.seq);
    put32(out, x.tag);
    put32(out, x.cost_us);
    put8(out, x.origin);
    put8(out, x.size);
  }
  return true;
}

bool encode(std::vector<uint8_t>& out, const Header& h, uint32_t round, std::span<const MapEntry> m,
            size_t max) {
  size_t body = 6 + m.size() * kMapEntryLen;
  if (m.size() > kMaxGroupNode || kHeaderLen + body > max) return false;
  encode_header(out, h, body);
  put32(out, round);
  put16(out, uint16_t(m.size()));
  for (const MapEntry& e : m) {
    put8(out, e.pos);
    put32(out, e.tag);
    put32(out, e.cost_us);
  }
  return true;
}

bool encode(std::vector<uint8_t>& out, const Header& h, const Tracer& t, size_t max) {
  size_t body = kTracerFixedLen + t.hops.size() * kHopLen;
  if (t.hops.empty() || t.hops.size() > 255 || kHeaderLen + body > max) return false;
  encode_header(out, h, body);
  put8(out, uint8_t(t.kind));
  put8(out, t.flags);
  put32(out, t.round);
  put8(out, t.sub_id);
  put32(out, t.pkt_id);
  put8(out, uint8_t(t.hops.size()));
  for (const Hop& x : t.hops) {
    put8(out, x.pos);
    put32(out, x.tag);
    put32(out, x.rtt_us);
  }
  return true;
}

std::optional<Message> decode(std::span<const uint8_t> d, WireError* err) {
  auto fail = [&](WireError e) -> std::optional<Message> {
    if (err) *err = e;
    return std::nullopt;
  };
  if (d.size() < kHeaderLen) return fail(WireError::Short);
  if (d[0] != 'N' || d[1] != 'K') return fail(WireError::BadMagic);
  if (d[2] != kWireVersion) return fail(WireError::BadVersion);
  Reader r{d, 3};
  Message m;
  uint8_t type = r.u8();
  m.h.flags = r.u8();
  m.h.l1_gnodes = r.u8();
  uint16_t body = r.u16();
  m.h.src_nid = r.u64();
  m.h.dst_nid = r.u64();
  m.h.src_addr = r.u32();
  m.h.gnode_size = r.u16();
  m.h.gseq = r.u16();
  if (size_t(body) != r.left()) return fail(WireError::BadLength);
  if (type < uint8_t(Type::Echo) || type > uint8_t(Type::ExtMap)) return fail(WireError::UnknownType);
  m.h.type = Type(type);
  switch (m.h.type) {
    case Type::Echo:
    case Type::EchoReply:
      if (body != kEchoLen) return fail(WireError::BadBody);
      m.echo.seq = r.u32();
      m.echo.sent_ns = r.u64();
      m.echo.gtag = r.u32();
      m.echo.origin = r.u8();
      break;
    case Type::HookRequest:
    case Type::MapRequest:
      if (body != 0) return fail(WireError::BadBody);
      break;
    case Type::HookReply:
      if (body != kHookReplyLen) return fail(WireError::BadBody);
      m.hook.qspn_age_ms = r.u32();
      m.hook.round = r.u32();
      for (uint8_t& b : m.hook.free) b = r.u8();
      for (uint8_t& b : m.hook.gnodes) b = r.u8();
      m.hook.gtag = r.u32();
      break;
    case Type::ExtMap: {
      m.ext_level = r.u8();
      uint16_t n = r.u16();
      if (!r.ok || m.ext_level == 0 || n > kMaxGroupNode || r.left() != size_t(n) * kExtEntryLen)
        return fail(WireError::BadBody);
      m.ext.resize(n);
      for (ExtEntry& x : m.ext) {
        x.gnode = r.u8();
        x.seq = r.u16();
        x.tag = r.u32();
        x.cost_us = r.u32();
        x.origin = r.u8();
        x.size = r.u8();
      }
      break;
    }
    case Type::MapReply: {
      m.map_round = r.u32();
      uint16_t n = r.u16();
      if (!r.ok || n > kMaxGroupNode || r.left() != size_t(n) * kMapEntryLen)
        return fail(WireError::BadBody);
      m.map.resize(n);
      for (MapEntry& e : m.map) {
        e.pos = r.u8();
        e.tag = r.u32();
        e.cost_us = r.u32();
      }
      break;
    }
    case Type::Tracer: {
      if (body < kTracerFixedLen) return fail(WireError::BadBody);
      uint8_t kind = r.u8();
      if (kind > uint8_t(TracerKind::Open)) return fail(WireError::BadBody);
      m.tracer.kind = TracerKind(kind);
      m.tracer.flags = r.u8();
      m.tracer.round = r.u32();
      m.tracer.sub_id = r.u8();
      m.tracer.pkt_id = r.u32();
      uint8_t n = r.u8();
      if (n == 0 || r.left() != size_t(n) * kHopLen) return fail(WireError::BadBody);
      m.tracer.hops.resize(n);
      for (Hop& x : m.tracer.hops) {
        x.pos = r.u8();
        x.tag = r.u32();
        x.rtt_us = r.u32();
      }
      break;
    }
  }
  if (!r.ok) return fail(WireError::BadBody);
  if (err) *err = WireError::None;
  return m;
}

const char* wire_error_name(WireError e) {
  switch (e) {
    case WireError::None: return "none";
    case WireError::Short: return "short";
    case WireError::BadMagic: return "bad_magic";
    case WireError::BadVersion: return "bad_version";
    case WireError::BadLength: return "bad_length";
    case WireError::UnknownType: return "unknown_type";
    case WireError::BadBody: return "bad_body";
  }
  return "?";
}

}  // namespace ntk
