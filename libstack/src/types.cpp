// Text forms of the shared address types (types.h). Uses the reentrant libc converters.
#include <arpa/inet.h>

#include <charconv>
#include <cstdio>

#include "libstack/types.h"

namespace libstack {

std::string MacAddr::to_string() const {
  char s[18];
  std::snprintf(s, sizeof s, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
  return s;
}

std::optional<MacAddr> MacAddr::parse(std::string_view s) {
  if (s.size() != 17) return std::nullopt;
  MacAddr m;
  for (int i = 0; i < 6; ++i) {
    if (i < 5 && s[size_t(i) * 3 + 2] != ':') return std::nullopt;
    unsigned v = 0;
    const char* f = s.data() + i * 3;
    auto r = std::from_chars(f, f + 2, v, 16);
    if (r.ec != std::errc() || r.ptr != f + 2) return std::nullopt;
    m.b[size_t(i)] = uint8_t(v);
  }
  return m;
}

std::string Ipv4Addr::to_string() const {
  char s[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, b.data(), s, sizeof s);
  return s;
}

std::optional<Ipv4Addr> Ipv4Addr::parse(std::string_view s) {
  if (s.size() >= INET_ADDRSTRLEN) return std::nullopt;
  char buf[INET_ADDRSTRLEN] = {};
  s.copy(buf, s.size());
  Ipv4Addr a;
  if (inet_pton(AF_INET, buf, a.b.data()) != 1) return std::nullopt;
  return a;
}

std::string Ipv6Addr::to_string() const {
  char s[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, b.data(), s, sizeof s);
  return s;
}

std::optional<Ipv6Addr> Ipv6Addr::parse(std::string_view s) {
  if (s.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  s.copy(buf, s.size());
  Ipv6Addr a;
  if (inet_pton(AF_INET6, buf, a.b.data()) != 1) return std::nullopt;
  return a;
}

std::string IpAddr::to_string() const { return is_v4() ? v4().to_string() : v6().to_string(); }

std::optional<IpAddr> IpAddr::parse(std::string_view s) {
  if (s.find(':') != std::string_view::npos) {
    if (auto a = Ipv6Addr::parse(s)) return IpAddr(*a);
    return std::nullopt;
  }
  if (auto a = Ipv4Addr::parse(s)) return IpAddr(*a);
  return std::nullopt;
}

std::string Endpoint::to_string() const {
  if (addr.is_v4()) return addr.to_string() + ":" + std::to_string(port);
  return "[" + addr.to_string() + "]:" + std::to_string(port);
}

bool Cidr::contains(const IpAddr& a) const {
  if (a.family != addr.family) return false;
  size_t bits = addr.is_v4() ? 32 : 128;
  size_t n = prefix_len > bits ? bits : prefix_len;
  size_t full = n / 8;
  for (size_t i = 0; i < full; ++i)
    if (a.b[i] != addr.b[i]) return false;
  if (n % 8) {
    uint8_t mask = uint8_t(0xff << (8 - n % 8));
    if ((a.b[full] & mask) != (addr.b[full] & mask)) return false;
  }
  return true;
}

std::string Cidr::to_string() const { return addr.to_string() + "/" + std::to_string(prefix_len); }

std::optional<Cidr> Cidr::parse(std::string_view s) {
  auto slash = s.find('/');
  auto a = IpAddr::parse(s.substr(0, slash));
  if (!a) return std::nullopt;
  unsigned max = a->is_v4() ? 32 : 128;
  unsigned len = max;
  if (slash != std::string_view::npos) {
    auto rest = s.substr(slash + 1);
    auto r = std::from_chars(rest.data(), rest.data() + rest.size(), len);
    if (r.ec != std::errc() || r.ptr != rest.data() + rest.size() || len > max) return std::nullopt;
  }
  return Cidr{*a, uint8_t(len)};
}

}  // namespace libstack
