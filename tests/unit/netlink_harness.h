// Test support for the netlink/ioctl emulation: two real libstack Stacks joined by an
// in-memory Ethernet cable with a manual clock, a request builder and a small netlink
// decoder written independently of the library (offsets from the Linux UAPI by hand).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "libstack/stack.h"
#include "libstack/udp.h"
#include "umnet/netlink_route.h"
#include "../stack/harness.h"

namespace nltest {

using namespace libstack;
using namespace std::chrono_literals;

// Whether this libstack has administrative link state (Stack::set_link_up, added on the
// stack branch): tests assert "down works" with it and "down is refused" without it.
template <typename S>
concept HasLinkState = requires(S& s) { s.set_link_up(1u, true); };

using libstack::test::cidr;
using libstack::test::ip;

// A (the view under test): eth0 10.0.0.1/24, 2001:db8::1/64, mac 02:00:00:00:00:01.
// B (its peer): eth0 10.0.0.2/24, 2001:db8::2/64. The stack tests' two-stack harness.
struct Net : libstack::test::Pair {
  explicit Net(bool addrs = true, Tuning t = {}) : Pair(t, addrs) {}
};

// ---- request building (host byte order, as netlink uses) ----
struct Req {
  std::vector<uint8_t> b;
  Req(uint16_t type, uint16_t flags, uint32_t seq = 1) : b(16, 0) {
    put32(0, 16);
    put16(4, type);
    put16(6, flags);
    put32(8, seq);
  }
  void put16(size_t at, uint16_t v) { std::memcpy(&b[at], &v, 2); }
  void put32(size_t at, uint32_t v) { std::memcpy(&b[at], &v, 4); }
  Req& bytes(std::initializer_list<uint8_t> v) {
    b.insert(b.end(), v);
    pad();
    return *this;
  }
  Req& zeros(size_t n) {
    b.resize(b.size() + n, 0);
    pad();
    return *this;
  }
  Req& attr(uint16_t type, const void* p, size_t n) {
    uint16_t len = uint16_t(4 + n);
    size_t at = b.size();
    b.resize(at + 4);
    put16(at, len);
    put16(at + 2, type);
    auto* c = static_cast<const uint8_t*>(p);
    b.insert(b.end(), c, c + n);
    pad();
    return *this;
  }
  Req& u32(uint16_t type, uint32_t v) { return attr(type, &v, 4); }
  Req& addr(uint16_t type, const IpAddr& a) { return attr(type, a.b.data(), a.is_v4() ? 4 : 16); }
  Req& str(uint16_t type, const std::string& s) { return attr(type, s.c_str(), s.size() + 1); }
  void pad() { b.resize((b.size() + 3) & ~size_t(3), 0); }
  std::vector<uint8_t> done() {
    put32(0, uint32_t(b.size()));
    return b;
  }
};

// ifaddrmsg / rtmsg / ifinfomsg / ndmsg headers, byte by byte.
inline Req addr_req(uint16_t type, uint16_t flags, uint8_t fam, uint8_t plen, uint32_t idx, uint32_t seq = 1) {
  Req r(type, flags, seq);
  uint8_t i[4];
  std::memcpy(i, &idx, 4);
  r.bytes({fam, plen, 0, 0, i[0], i[1], i[2], i[3]});
  return r;
}
inline Req route_req(uint16_t type, uint16_t flags, uint8_t fam, uint8_t dst_len, uint8_t table = 254,
                     uint8_t type_ = 1, uint32_t rtflags = 0, uint32_t seq = 1) {
  Req r(type, flags, seq);
  uint8_t f[4];
  std::memcpy(f, &rtflags, 4);
  // family dst_len src_len tos table protocol scope type flags(u32)
  r.bytes({fam, dst_len, 0, 0, table, 3, 0, type_, f[0], f[1], f[2], f[3]});
  return r;
}
inline Req link_req(uint16_t type, uint16_t flags, int32_t index, uint32_t ifflags = 0, uint32_t change = 0,
                    uint32_t seq = 1) {
  Req r(type, flags, seq);
  r.zeros(16);
  std::memcpy(&r.b[16 + 4], &index, 4);
  std::memcpy(&r.b[16 + 8], &ifflags, 4);
  std::memcpy(&r.b[16 + 12], &change, 4);
  return r;
}

// ---- independent decoder ----
struct Decoded {
  uint32_t len = 0;
  uint16_t type = 0, flags = 0;
  uint32_t seq = 0, pid = 0;
  std::vector<uint8_t> fixed;  // family header
  std::multimap<uint16_t, std::vector<uint8_t>> attrs;
  int32_t error = 0;  // NLMSG_ERROR
  std::vector<uint8_t> raw;

  bool has(uint16_t t) const { return attrs.count(t) != 0; }
  const std::vector<uint8_t>& at(uint16_t t) const {
    static const std::vector<uint8_t> none;
    auto it = attrs.find(t);
    return it == attrs.end() ? none : it->second;
  }
  uint32_t u32(uint16_t t) const {
    auto& v = at(t);
    uint32_t x = 0;
    if (v.size() == 4) std::memcpy(&x, v.data(), 4);
    return x;
  }
  uint8_t u8(uint16_t t) const { return at(t).size() == 1 ? at(t)[0] : 0xee; }
  std::string str(uint16_t t) const {
    auto& v = at(t);
    if (v.empty() || v.back() != 0) return "<not NUL-terminated>";
    return std::string(v.begin(), v.end() - 1);
  }
  std::string ipstr(uint16_t t) const {
    auto& v = at(t);
    IpAddr a;
    if (v.size() == 4) { Ipv4Addr x; std::memcpy(x.b.data(), v.data(), 4); a = x; }
    else if (v.size() == 16) { Ipv6Addr x; std::memcpy(x.b.data(), v.data(), 16); a = x; }
    else return "<bad address>";
    return a.to_string();
  }
  uint32_t fixed32(size_t off) const {
    uint32_t x = 0;
    if (off + 4 <= fixed.size()) std::memcpy(&x, &fixed[off], 4);
    return x;
  }
};

inline size_t fixed_len(uint16_t type) {
  switch (type) {
    case 16: case 17: case 18: return 16;  // ifinfomsg
    case 20: case 21: case 22: return 8;   // ifaddrmsg
    case 24: case 25: case 26: return 12;  // rtmsg
    case 28: case 29: case 30: return 12;  // ndmsg
    case 32: case 33: case 34: return 12;  // fib_rule_hdr
    default: return 0;
  }
}

// Decode every message of every datagram; structural problems are test failures.
inline std::vector<Decoded> decode(const std::vector<std::vector<uint8_t>>& dgrams, size_t max_dgram = 0) {
  std::vector<Decoded> out;
  for (auto& d : dgrams) {
    if (max_dgram) { EXPECT_LE(d.size(), max_dgram); }
    EXPECT_EQ(d.size() % 4, 0u) << "datagram not 4-aligned";
    size_t off = 0;
    while (off < d.size()) {
      if (d.size() - off < 16) { ADD_FAILURE() << "short header"; break; }
      Decoded m;
      std::memcpy(&m.len, &d[off], 4);
      std::memcpy(&m.type, &d[off + 4], 2);
      std::memcpy(&m.flags, &d[off + 6], 2);
      std::memcpy(&m.seq, &d[off + 8], 4);
      std::memcpy(&m.pid, &d[off + 12], 4);
      if (m.len < 16 || m.len > d.size() - off) { ADD_FAILURE() << "bad nlmsg_len " << m.len; break; }
      m.raw.assign(d.begin() + long(off), d.begin() + long(off + m.len));
      if (m.type == 2) {
        EXPECT_GE(m.len, 36u);
        if (m.len >= 20) std::memcpy(&m.error, &d[off + 16], 4);
      } else if (size_t fl = fixed_len(m.type)) {
        EXPECT_GE(m.len, 16 + fl);
        m.fixed.assign(d.begin() + long(off + 16), d.begin() + long(off + 16 + fl));
        size_t a = 16 + ((fl + 3) & ~size_t(3));
        while (a + 4 <= m.len) {
          uint16_t al, at;
          std::memcpy(&al, &d[off + a], 2);
          std::memcpy(&at, &d[off + a + 2], 2);
          if (al < 4 || a + al > m.len) { ADD_FAILURE() << "bad rta_len " << al; break; }
          m.attrs.emplace(at, std::vector<uint8_t>(d.begin() + long(off + a + 4), d.begin() + long(off + a + al)));
          a += (al + 3u) & ~3u;
        }
        EXPECT_EQ(a, m.len) << "attributes do not fill the message";
      }
      size_t step = (m.len + 3u) & ~3u;
      out.push_back(std::move(m));
      off += step;
    }
  }
  return out;
}

inline std::vector<Decoded> ask(umnet::NetlinkRoute& nl, const std::vector<uint8_t>& req, uint32_t pid = 4242) {
  return decode(nl.handle(req, pid));
}

// The error of the single NLMSG_ERROR reply (fails the test if there is not exactly one).
inline int ack_error(const std::vector<Decoded>& r) {
  EXPECT_EQ(r.size(), 1u);
  if (r.size() != 1 || r[0].type != 2) {
    ADD_FAILURE() << "expected one NLMSG_ERROR";
    return 1;
  }
  return r[0].error;
}

}  // namespace nltest
