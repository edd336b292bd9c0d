// RTA_MULTIPATH, the attribute of a route with several next hops: a sequence of
// struct rtnexthop (rtnh_len, rtnh_flags, rtnh_hops = weight - 1, rtnh_ifindex), each
// followed by its own attributes (RTA_GATEWAY), every entry 4-aligned. Encoded for dumps
// of libstack's multipath routes and decoded for `ip route add ... nexthop ...`.
#pragma once

#include <cstdint>
#include <vector>

#include "libstack/stack.h"

namespace umnet::detail {

// The RTA_MULTIPATH payload for `hops`; a hop through an interface that is down (or gone)
// carries RTNH_F_DEAD | RTNH_F_LINKDOWN, as Linux marks the next hops of a downed device.
std::vector<uint8_t> encode_multipath(const std::vector<libstack::NextHop>& hops,
                                      const std::vector<libstack::InterfaceInfo>& ifs);

// Parses an RTA_MULTIPATH payload of address family `family` (AF_INET / AF_INET6) into
// hops (gateway unspecified when an entry has no RTA_GATEWAY; ifindex 0 when none given).
// 0, -EINVAL (malformed, no entry, more than libstack::kMaxNextHops, flags other than
// RTNH_F_ONLINK, a gateway of the wrong size) or -EOPNOTSUPP (RTA_VIA, RTA_ENCAP,
// RTA_NEWDST: what libstack cannot do).
int decode_multipath(const uint8_t* p, size_t n, int family, std::vector<libstack::NextHop>* out);

}  // namespace umnet::detail
