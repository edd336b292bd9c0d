// TCP header and option parsing/emission (RFC 9293 §3.1, RFC 7323, RFC 2018) and the
// TCP checksum with the IPv4/IPv6 pseudo-header. Pure functions over byte spans, every
// read bounds-checked; no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "libstack/types.h"

namespace libstack::wire {

namespace tcpflag {
inline constexpr uint8_t FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10,
                         URG = 0x20, ECE = 0x40, CWR = 0x80;
}

struct TcpSackBlock {
  uint32_t left = 0, right = 0;
  bool operator==(const TcpSackBlock&) const = default;
};

struct TcpOptions {
  bool has_mss = false;
  uint16_t mss = 0;
  bool has_wscale = false;
  uint8_t wscale = 0;  // clamped to 14 on parse (RFC 7323 §2.3)
  bool sack_permitted = false;
  bool has_timestamps = false;
  uint32_t ts_val = 0, ts_ecr = 0;
  uint8_t sack_count = 0;  // at most 4
  TcpSackBlock sack[4];
};

struct TcpHeader {
  uint16_t src_port = 0, dst_port = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  uint16_t checksum = 0;
  uint16_t urgent = 0;
  uint8_t header_len = 20;  // bytes (data offset * 4), filled by parse
  TcpOptions opt;
};

inline constexpr size_t kTcpMinHeader = 20;
inline constexpr size_t kTcpMaxHeader = 60;

// Parses header and options. Returns false for a malformed header (too short, data
// offset < 5 or beyond the segment, option length running past the header).
// Unknown options are skipped. `payload` is set to the bytes after the header.
bool parse_tcp(std::span<const uint8_t> seg, TcpHeader& h, std::span<const uint8_t>& payload);

// Bytes the options of `o` occupy when emitted (multiple of 4, at most 40).
size_t tcp_options_length(const TcpOptions& o);

// Writes header + options into out (needs 20 + tcp_options_length bytes); the checksum
// field is written as h.checksum (normally 0, filled later). Returns the header length,
// or 0 if out is too small or the options do not fit in 40 bytes.
size_t emit_tcp_header(const TcpHeader& h, std::span<uint8_t> out);

// One's-complement sum helpers. `tcp_checksum` returns the value to store in the checksum
// field for `seg` (whose checksum field must be 0); verification: tcp_checksum over a
// segment with its checksum in place returns 0.
uint16_t tcp_checksum(const IpAddr& src, const IpAddr& dst, std::span<const uint8_t> seg);
// Fills the checksum field of seg (bytes 16..17) in place.
void tcp_fill_checksum(const IpAddr& src, const IpAddr& dst, std::span<uint8_t> seg);

}  // namespace libstack::wire
