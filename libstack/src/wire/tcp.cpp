// TCP header/options parse and emit, TCP checksum. See tcp.h.
#include "wire/tcp.h"
#include "wire/wire.h"

#include <algorithm>
#include <cstring>

namespace libstack::wire {
namespace {

enum : uint8_t { kEol = 0, kNop = 1, kMss = 2, kWscale = 3, kSackPerm = 4, kSack = 5, kTs = 8 };

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
  return transport_checksum(src, dst, 6, seg);
}

void tcp_fill_checksum(const IpAddr& src, const IpAddr& dst, std::span<uint8_t> seg) {
  if (seg.size() < kTcpMinHeader) return;
  seg[16] = 0; seg[17] = 0;
  wr16(seg.data() + 16, tcp_checksum(src, dst, seg));
}

}  // namespace libstack::wire
