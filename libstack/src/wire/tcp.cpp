// TCP header/options parse and emit, TCP checksum. See tcp.h.
#include "wire/tcp.h"

#include <algorithm>
#include <cstring>

namespace libstack::wire {
namespace {

uint16_t rd16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t rd32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
void wr16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
void wr32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24); p[1] = uint8_t(v >> 16); p[2] = uint8_t(v >> 8); p[3] = uint8_t(v);
}

enum : uint8_t { kEol = 0, kNop = 1, kMss = 2, kWscale = 3, kSackPerm = 4, kSack = 5, kTs = 8 };

// Sum of the buffer as native-endian 16-bit words (RFC 1071 §2(B): byte order
// independence), 8 bytes at a time. `n` bytes starting at an even stream offset.
uint64_t sum_native(const uint8_t* p, size_t n, uint64_t acc) {
  while (n >= 32) {
    uint64_t a, b, c, d;
    std::memcpy(&a, p, 8); std::memcpy(&b, p + 8, 8);
    std::memcpy(&c, p + 16, 8); std::memcpy(&d, p + 24, 8);
    acc += (a & 0xffffffffu) + (a >> 32) + (b & 0xffffffffu) + (b >> 32) +
           (c & 0xffffffffu) + (c >> 32) + (d & 0xffffffffu) + (d >> 32);
    p += 32; n -= 32;
  }
  while (n >= 8) {
    uint64_t a;
    std::memcpy(&a, p, 8);
    acc += (a & 0xffffffffu) + (a >> 32);
    p += 8; n -= 8;
  }
  while (n >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    acc += w;
    p += 2; n -= 2;
  }
  if (n) {
    uint8_t last[2] = {p[0], 0};
    uint16_t w;
    std::memcpy(&w, last, 2);
    acc += w;
  }
  return acc;
}

uint16_t fold(uint64_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return uint16_t(acc);
}

}  // namespace

bool parse_tcp(std::span<const uint8_t> seg, TcpHeader& h, std::span<const uint8_t>& payload) {
  if (seg.size() < kTcpMinHeader) return false;
  const uint8_t* p = seg.data();
  h.src_port = rd16(p);
  h.dst_port = rd16(p + 2);
  h.seq = rd32(p + 4);
  h.ack = rd32(p + 8);
  size_t hl = size_t(p[12] >> 4) * 4;
  if (hl < kTcpMinHeader || hl > seg.size()) return false;
  h.header_len = uint8_t(hl);
  h.flags = p[13];
  h.window = rd16(p + 14);
  h.checksum = rd16(p + 16);
  h.urgent = rd16(p + 18);
  h.opt = TcpOptions{};
  size_t i = kTcpMinHeader;
  while (i < hl) {
    uint8_t kind = p[i];
    if (kind == kEol) break;
    if (kind == kNop) { ++i; continue; }
    if (i + 1 >= hl) return false;
    uint8_t len = p[i + 1];
    if (len < 2 || i + len > hl) return false;
    const uint8_t* o = p + i + 2;
    switch (kind) {
      case kMss:
        if (len == 4) { h.opt.has_mss = true; h.opt.mss = rd16(o); }
        break;
      case kWscale:
        if (len == 3) { h.opt.has_wscale = true; h.opt.wscale = std::min<uint8_t>(o[0], 14); }
        break;
      case kSackPerm:
        if (len == 2) h.opt.sack_permitted = true;
        break;
      case kTs:
        if (len == 10) { h.opt.has_timestamps = true; h.opt.ts_val = rd32(o); h.opt.ts_ecr = rd32(o + 4); }
        break;
      case kSack:
        if (len >= 10 && (len - 2) % 8 == 0) {
          size_t n = std::min<size_t>((len - 2) / 8, 4);
          for (size_t k = 0; k < n; ++k)
            h.opt.sack[k] = {rd32(o + 8 * k), rd32(o + 8 * k + 4)};
          h.opt.sack_count = uint8_t(n);
        }
        break;
      default:
        break;
    }
    i += len;
  }
  payload = seg.subspan(hl);
  return true;
}

size_t tcp_options_length(const TcpOptions& o) {
  size_t n = 0;
  if (o.has_mss) n += 4;
  if (o.has_timestamps) n += 12;  // (SACK_PERM | NOP NOP) + TS
  else if (o.sack_permitted) n += 4;
  if (o.has_wscale) n += 4;
  if (o.sack_count) n += 4 + 8 * size_t(o.sack_count);
  return n;
}

size_t emit_tcp_header(const TcpHeader& h, std::span<uint8_t> out) {
  size_t ol = tcp_options_length(h.opt);
  size_t hl = kTcpMinHeader + ol;
  if (ol > 40 || out.size() < hl) return 0;
  uint8_t* p = out.data();
  wr16(p, h.src_port);
  wr16(p + 2, h.dst_port);
  wr32(p + 4, h.seq);
  wr32(p + 8, h.ack);
  p[12] = uint8_t((hl / 4) << 4);
  p[13] = h.flags;
  wr16(p + 14, h.window);
  wr16(p + 16, h.checksum);
  wr16(p + 18, h.urgent);
  uint8_t* q = p + kTcpMinHeader;
  const TcpOptions& o = h.opt;
  if (o.has_mss) { q[0] = kMss; q[1] = 4; wr16(q + 2, o.mss); q += 4; }
  if (o.has_timestamps) {
    if (o.sack_permitted) { q[0] = kSackPerm; q[1] = 2; }
    else { q[0] = kNop; q[1] = kNop; }
    q[2] = kTs; q[3] = 10; wr32(q + 4, o.ts_val); wr32(q + 8, o.ts_ecr);
    q += 12;
  } else if (o.sack_permitted) {
    q[0] = kNop; q[1] = kNop; q[2] = kSackPerm; q[3] = 2; q += 4;
  }
  if (o.has_wscale) { q[0] = kNop; q[1] = kWscale; q[2] = 3; q[3] = o.wscale; q += 4; }
  if (o.sack_count) {
    q[0] = kNop; q[1] = kNop; q[2] = kSack; q[3] = uint8_t(2 + 8 * o.sack_count);
    q += 4;
    for (size_t k = 0; k < o.sack_count; ++k) {
      wr32(q, o.sack[k].left); wr32(q + 4, o.sack[k].right); q += 8;
    }
  }
  return hl;
}

uint16_t tcp_checksum(const IpAddr& src, const IpAddr& dst, std::span<const uint8_t> seg) {
  uint8_t ph[40];
  size_t pl;
  if (src.is_v4()) {
    std::memcpy(ph, src.b.data(), 4);
    std::memcpy(ph + 4, dst.b.data(), 4);
    ph[8] = 0; ph[9] = 6;
    wr16(ph + 10, uint16_t(seg.size()));
    pl = 12;
  } else {
    std::memcpy(ph, src.b.data(), 16);
    std::memcpy(ph + 16, dst.b.data(), 16);
    wr32(ph + 32, uint32_t(seg.size()));
    ph[36] = 0; ph[37] = 0; ph[38] = 0; ph[39] = 6;
    pl = 40;
  }
  uint64_t acc = sum_native(ph, pl, 0);
  acc = sum_native(seg.data(), seg.size(), acc);
  uint16_t s = uint16_t(~fold(acc));
  // s is in memory (native) order: store it as-is, i.e. return its network reading.
  uint8_t b[2];
  std::memcpy(b, &s, 2);
  return uint16_t(b[0] << 8 | b[1]);
}

void tcp_fill_checksum(const IpAddr& src, const IpAddr& dst, std::span<uint8_t> seg) {
  if (seg.size() < kTcpMinHeader) return;
  seg[16] = 0; seg[17] = 0;
  wr16(seg.data() + 16, tcp_checksum(src, dst, seg));
}

}  // namespace libstack::wire
