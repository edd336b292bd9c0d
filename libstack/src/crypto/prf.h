// The keyed PRF of libstack's secrets (internal): SipHash-2-4 through libsodium's
// crypto_shorthash, 128-bit key. Used for RFC 6528 ISN offsets, RFC 4987 SYN cookies,
// RFC 6056 port offsets, per-connection timestamp offsets (transport/tcp/tcp_secrets.cpp)
// and RFC 7217 interface ids (config/slaac.cpp).
//
// Inputs are built with PrfInput, which writes a domain byte first so that two uses of one
// key never hash the same bytes, then fixed-width fields in network order.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "libstack/types.h"

namespace libstack::crypto {

class SipKey {
 public:
  static constexpr size_t kBytes = 16;
  SipKey() = default;  // all zero: only for objects that are keyed before use
  explicit SipKey(const std::array<uint8_t, kBytes>& k) : k_(k) {}
  // 16 bytes from `r` (two next_u64 draws).
  static SipKey draw(Random& r);
  // SipHash-2-4 of `in`, the 8 output bytes read little-endian (as in the reference).
  uint64_t hash(std::span<const uint8_t> in) const;
  const std::array<uint8_t, kBytes>& bytes() const { return k_; }

 private:
  std::array<uint8_t, kBytes> k_{};
};

// A small fixed buffer for PRF inputs (no allocation; 96 bytes is enough for a domain byte,
// two IPv6 addresses, ports and counters, or an RFC 7217 input with a name).
class PrfInput {
 public:
  explicit PrfInput(uint8_t domain) { u8(domain); }
  PrfInput& u8(uint8_t v) {
    if (n_ < buf_.size()) buf_[n_++] = v;
    return *this;
  }
  PrfInput& u16(uint16_t v) { return u8(uint8_t(v >> 8)).u8(uint8_t(v)); }
  PrfInput& u32(uint32_t v) { return u16(uint16_t(v >> 16)).u16(uint16_t(v)); }
  PrfInput& bytes(std::span<const uint8_t> b) {
    for (uint8_t x : b) u8(x);
    return *this;
  }
  // The address family byte and its 4 or 16 bytes.
  PrfInput& addr(const IpAddr& a) {
    u8(uint8_t(a.family));
    return bytes(std::span<const uint8_t>(a.b.data(), a.is_v4() ? 4 : 16));
  }
  std::span<const uint8_t> view() const { return {buf_.data(), n_}; }
  bool overflowed() const { return n_ >= buf_.size(); }

 private:
  std::array<uint8_t, 96> buf_{};
  size_t n_ = 0;
};

}  // namespace libstack::crypto
