// RTA_MULTIPATH encoding and decoding (route_multipath.h). Layout (linux/rtnetlink.h):
// each entry is an 8-byte struct rtnexthop whose rtnh_len covers the entry's attributes,
// padded to 4 bytes (RTNH_ALIGN); the attributes are ordinary rtattrs. Every read below is
// checked against the payload's length.
#include "route_multipath.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace umnet::detail {

using libstack::IpAddr;
using libstack::NextHop;

namespace {

constexpr size_t kRtnh = sizeof(struct rtnexthop);  // 8
constexpr size_t align4(size_t n) { return (n + 3) & ~size_t(3); }
uint16_t rd16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }

}  // namespace

std::vector<uint8_t> encode_multipath(const std::vector<NextHop>& hops,
                                      const std::vector<libstack::InterfaceInfo>& ifs) {
  std::vector<uint8_t> out;
  for (auto& h : hops) {
    bool has_gw = !h.gateway.is_unspecified();
    size_t alen = h.gateway.is_v4() ? 4 : 16;
    size_t len = kRtnh + (has_gw ? 4 + alen : 0);
    rtnexthop nh{};
    nh.rtnh_len = uint16_t(len);
    nh.rtnh_hops = uint8_t(h.weight - 1);
    nh.rtnh_ifindex = int(h.ifindex);
    bool up = false;
    for (auto& i : ifs)
      if (i.id == h.ifindex) up = i.up;
    if (!up) nh.rtnh_flags = RTNH_F_DEAD | RTNH_F_LINKDOWN;
    size_t at = out.size();
    out.resize(at + align4(len), 0);
    std::memcpy(&out[at], &nh, kRtnh);
    if (has_gw) {
      uint16_t rl = uint16_t(4 + alen), rt = RTA_GATEWAY;
      std::memcpy(&out[at + kRtnh], &rl, 2);
      std::memcpy(&out[at + kRtnh + 2], &rt, 2);
      std::memcpy(&out[at + kRtnh + 4], h.gateway.b.data(), alen);
    }
  }
  return out;
}

int decode_multipath(const uint8_t* p, size_t n, int family, std::vector<NextHop>* out) {
  out->clear();
  const size_t alen = family == AF_INET ? 4 : 16;
  size_t off = 0;
  while (n - off >= kRtnh) {
    rtnexthop nh;
    std::memcpy(&nh, p + off, kRtnh);
    if (nh.rtnh_len < kRtnh || nh.rtnh_len > n - off) return -EINVAL;
    if (nh.rtnh_flags & ~unsigned(RTNH_F_ONLINK)) return -EINVAL;
    if (nh.rtnh_ifindex < 0) return -EINVAL;
    if (out->size() == libstack::kMaxNextHops) return -EINVAL;
    NextHop h;
    h.gateway = family == AF_INET ? IpAddr(libstack::Ipv4Addr{}) : IpAddr(libstack::Ipv6Addr{});
    h.ifindex = uint32_t(nh.rtnh_ifindex);
    h.weight = uint16_t(nh.rtnh_hops + 1);
    // The entry's attributes.
    const uint8_t* a = p + off + kRtnh;
    size_t an = nh.rtnh_len - kRtnh, ao = 0;
    while (an - ao >= 4) {
      uint16_t len = rd16(a + ao), type = rd16(a + ao + 2) & NLA_TYPE_MASK;
      if (len < 4 || len > an - ao) return -EINVAL;
      if (type == RTA_GATEWAY) {
        if (len - 4u != alen) return -EINVAL;
        std::memcpy(h.gateway.b.data(), a + ao + 4, alen);
      } else if (type == RTA_VIA || type == RTA_ENCAP || type == RTA_ENCAP_TYPE || type == RTA_NEWDST) {
        return -EOPNOTSUPP;
      }  // RTA_FLOW and the like: ignored, as the kernel does for IPv4 realms it has off
      ao += align4(len);
      if (ao > an) ao = an;
    }
    out->push_back(h);
    off += align4(nh.rtnh_len);
    if (off > n) off = n;
  }
  return out->empty() ? -EINVAL : 0;
}

}  // namespace umnet::detail
