// libstack shared vocabulary: addresses, endpoints, time and randomness.
//
// Conventions for the whole library:
//  * No global or static mutable state. Everything hangs off a Stack instance.
//  * Time is never read from the system: callers pass `Instant now` in, so tests drive a
//    manual clock. Randomness comes from an injected `Random`.
//  * Fallible calls return 0 / a count on success and a negative Linux errno on failure
//    (-EAGAIN, -ECONNREFUSED, ...), so a system-call emulator can pass them straight on.
#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace libstack {

// Monotonic time, nanoseconds since an arbitrary epoch chosen by the caller.
using Instant = std::chrono::nanoseconds;
using Duration = std::chrono::nanoseconds;
inline constexpr Instant kNever = Instant::max();

// Injected randomness (ISNs, ephemeral ports, DHCP xids, DAD delays...).
class Random {
 public:
  virtual ~Random() = default;
  virtual uint64_t next_u64() = 0;
  uint32_t next_u32() { return static_cast<uint32_t>(next_u64() >> 32); }
  // Uniform in [0, bound) (bound > 0).
  uint64_t below(uint64_t bound) { return next_u64() % bound; }
};

// Deterministic generator for tests and for callers that seed from the OS themselves.
class SplitMix64 final : public Random {
 public:
  explicit SplitMix64(uint64_t seed) : s_(seed) {}
  uint64_t next_u64() override {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t s_;
};

struct MacAddr {
  std::array<uint8_t, 6> b{};
  static constexpr MacAddr broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  bool is_broadcast() const { return *this == broadcast(); }
  bool is_multicast() const { return (b[0] & 1) != 0; }
  auto operator<=>(const MacAddr&) const = default;
  std::string to_string() const;
  static std::optional<MacAddr> parse(std::string_view s);
};

struct Ipv4Addr {
  std::array<uint8_t, 4> b{};
  static constexpr Ipv4Addr from_u32(uint32_t host_order) {
    return {{uint8_t(host_order >> 24), uint8_t(host_order >> 16), uint8_t(host_order >> 8),
             uint8_t(host_order)}};
  }
  constexpr uint32_t to_u32() const {
    return uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3];
  }
  constexpr bool is_unspecified() const { return to_u32() == 0; }
  constexpr bool is_broadcast() const { return to_u32() == 0xffffffffu; }
  constexpr bool is_loopback() const { return b[0] == 127; }
  constexpr bool is_multicast() const { return (b[0] & 0xf0) == 0xe0; }
  auto operator<=>(const Ipv4Addr&) const = default;
  std::string to_string() const;
  static std::optional<Ipv4Addr> parse(std::string_view s);
};

struct Ipv6Addr {
  std::array<uint8_t, 16> b{};
  bool is_unspecified() const { return *this == Ipv6Addr{}; }
  bool is_loopback() const {
    Ipv6Addr l{};
    l.b[15] = 1;
    return *this == l;
  }
  bool is_multicast() const { return b[0] == 0xff; }
  bool is_link_local() const { return b[0] == 0xfe && (b[1] & 0xc0) == 0x80; }
  bool is_v4_mapped() const {
    static constexpr uint8_t p[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(b.data(), p, 12) == 0;
  }
  auto operator<=>(const Ipv6Addr&) const = default;
  std::string to_string() const;
  static std::optional<Ipv6Addr> parse(std::string_view s);
};

// An IPv4 or IPv6 address.
struct IpAddr {
  enum class Family : uint8_t { V4 = 4, V6 = 6 };
  Family family = Family::V4;
  std::array<uint8_t, 16> b{};  // V4 uses b[0..3]

  IpAddr() = default;
  IpAddr(Ipv4Addr a) : family(Family::V4) { std::memcpy(b.data(), a.b.data(), 4); }
  IpAddr(Ipv6Addr a) : family(Family::V6), b(a.b) {}
  bool is_v4() const { return family == Family::V4; }
  bool is_v6() const { return family == Family::V6; }
  Ipv4Addr v4() const { return {{b[0], b[1], b[2], b[3]}}; }
  Ipv6Addr v6() const { return {b}; }
  bool is_unspecified() const { return is_v4() ? v4().is_unspecified() : v6().is_unspecified(); }
  auto operator<=>(const IpAddr&) const = default;
  std::string to_string() const;
  static std::optional<IpAddr> parse(std::string_view s);
};

struct Endpoint {
  IpAddr addr;
  uint16_t port = 0;  // host byte order
  auto operator<=>(const Endpoint&) const = default;
  std::string to_string() const;  // "1.2.3.4:80", "[::1]:80"
};

// An address with prefix length, e.g. 10.0.0.2/24.
struct Cidr {
  IpAddr addr;
  uint8_t prefix_len = 0;
  bool contains(const IpAddr& a) const;
  auto operator<=>(const Cidr&) const = default;
  std::string to_string() const;
  static std::optional<Cidr> parse(std::string_view s);
};

}  // namespace libstack
