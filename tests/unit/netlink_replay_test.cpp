// Replays the exact request datagrams of the real iproute2 6.1 `ip` binary and of glibc's
// getifaddrs()/getaddrinfo(AI_ADDRCONFIG) into the emulator. The `ip` bytes were captured
// with `strace -e trace=sendto,sendmsg -e write=3,4 ip ...` (trailing zero padding that ip
// really sends after its dump requests is restored to the captured datagram size).
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "netlink_harness.h"

namespace nltest {
namespace {

std::vector<uint8_t> hex(const std::string& h, size_t total) {
  std::vector<uint8_t> v;
  for (size_t i = 0; i + 1 < h.size(); i += 2) v.push_back(uint8_t(std::stoi(h.substr(i, 2), nullptr, 16)));
  EXPECT_LE(v.size(), total);
  v.resize(total, 0);
  return v;
}

struct Captured {
  const char* what;
  const char* hex;
  size_t size;
};

// ip -4 addr show
const Captured kAddrShowLink{"ip -4 addr show (links)", "2000000012000103f074026b000000000200", 32};
const Captured kAddrShowAddr{"ip -4 addr show (addrs)", "1800000016000103f174026b000000000200", 152};
// ip route / ip -6 route
const Captured kRoute4{"ip route", "240000001a000103f074026b0000000002000000000000000000000008000f00fe00", 156};
const Captured kRoute6{"ip -6 route", "240000001a000103f474026b000000000a000000000000000000000008000f00fe00", 156};
// ip link
const Captured kLink{"ip link",
                     "2800000012000103f074026b000000001100000000000000000000000000000008001d000100", 40};
// ip neigh (the link dump is like `ip link` with AF_UNSPEC)
const Captured kNeigh{"ip neigh", "1c0000001e000103f574026b", 284};
// ip link show lo: strict-check probe, then the by-name lookups
const Captured kProbe{"ip link probe", "2000000010000500", 32};
const Captured kLinkByName{"ip link show lo",
                           "3000000012000100f474026b000000000000000000000000000000000000000008001d0009000000070003006c6f",
                           48};
const Captured kLinkByName2{"ip link show lo (AF_PACKET)",
                            "3000000012000100f474026b0000000011000000000000000000000000000000070003006c6f000008001d000100",
                            48};
// ip addr add 10.9.9.9/24 dev lo
const Captured kAddrAdd{"ip addr add 10.9.9.9/24 dev lo",
                        "2800000014000506f074026b000000000218000001000000080002000a090909080001000a090909", 40};
// ip route get 10.0.0.5
const Captured kRouteGet{"ip route get 10.0.0.5",
                         "240000001a000100f074026b00000000022000000000000000100000080001000a000005", 36};
// ip route add 10.8.0.0/16 via 127.0.0.2 (gateway bytes patched to 10.0.0.2 below)
const Captured kRouteAdd{"ip route add 10.8.0.0/16 via 127.0.0.2",
                         "2c00000018000506f474026b0000000002100000fe03000100000000080001000a080000080005007f000002",
                         44};

std::vector<Decoded> replay(umnet::NetlinkRoute& nl, const Captured& c) {
  SCOPED_TRACE(c.what);
  return decode(nl.handle(hex(c.hex, c.size), 31337));
}

size_t count_type(const std::vector<Decoded>& r, uint16_t type) {
  size_t n = 0;
  for (auto& m : r) n += m.type == type;
  return n;
}

TEST(NetlinkReplay, IpAddrShow) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  auto links = replay(nl, kAddrShowLink);
  EXPECT_EQ(count_type(links, RTM_NEWLINK), 2u);
  EXPECT_EQ(links.back().type, NLMSG_DONE);
  EXPECT_EQ(links.back().seq, 0x6b0274f0u);
  auto addrs = replay(nl, kAddrShowAddr);
  ASSERT_EQ(count_type(addrs, RTM_NEWADDR), 2u);
  EXPECT_EQ(addrs[0].ipstr(IFA_LOCAL), "127.0.0.1");
  EXPECT_EQ(addrs[1].ipstr(IFA_LOCAL), "10.0.0.1");
  EXPECT_EQ(addrs.back().type, NLMSG_DONE);
  EXPECT_EQ(addrs.back().seq, 0x6b0274f1u);
  EXPECT_EQ(addrs.back().pid, 31337u);
  EXPECT_EQ(nl.counters().dropped_bytes, 0u);  // the zero padding is not an error
  EXPECT_EQ(nl.counters().error_acks, 0u);
}

TEST(NetlinkReplay, IpRouteAndIpv6Route) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  auto r4 = replay(nl, kRoute4);
  ASSERT_EQ(count_type(r4, RTM_NEWROUTE), 1u);
  EXPECT_EQ(r4[0].ipstr(RTA_DST), "10.0.0.0");
  EXPECT_EQ(r4[0].ipstr(RTA_PREFSRC), "10.0.0.1");
  auto r6 = replay(nl, kRoute6);
  EXPECT_GE(count_type(r6, RTM_NEWROUTE), 1u);
  for (auto& m : r6)
    if (m.type == RTM_NEWROUTE) { EXPECT_EQ(m.fixed[0], AF_INET6); }
  EXPECT_EQ(r6.back().type, NLMSG_DONE);
}

TEST(NetlinkReplay, IpLinkAndNeigh) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  auto l = replay(nl, kLink);
  ASSERT_EQ(count_type(l, RTM_NEWLINK), 2u);
  EXPECT_EQ(l[1].str(IFLA_IFNAME), "eth0");
  auto ne = replay(nl, kNeigh);
  EXPECT_EQ(ne.back().type, NLMSG_DONE);
  EXPECT_EQ(count_type(ne, NLMSG_ERROR), 0u);
}

TEST(NetlinkReplay, IpLinkShowByName) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  // The probe (RTM_NEWLINK without a device) fails like on a kernel: no such device.
  EXPECT_EQ(ack_error(replay(nl, kProbe)), -ENODEV);
  for (auto* c : {&kLinkByName, &kLinkByName2}) {
    auto r = replay(nl, *c);
    ASSERT_EQ(r.size(), 1u) << c->what;
    EXPECT_EQ(r[0].type, RTM_NEWLINK);
    EXPECT_EQ(r[0].str(IFLA_IFNAME), "lo");
    EXPECT_EQ(r[0].fixed32(4), 1u);
  }
}

TEST(NetlinkReplay, IpAddrAddAndRouteAdd) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  EXPECT_EQ(ack_error(replay(nl, kAddrAdd)), 0);
  bool found = false;
  for (auto& a : n.a->addresses()) found |= a.ifindex == 1 && a.cidr == cidr("10.9.9.9/24");
  EXPECT_TRUE(found);
  EXPECT_TRUE(n.a->is_local_address(ip("10.9.9.9")));
  EXPECT_EQ(ack_error(replay(nl, kAddrAdd)), -EEXIST);

  Captured add = kRouteAdd;
  std::string h = add.hex;
  h.replace(h.size() - 8, 8, "0a000002");
  add.hex = h.c_str();
  EXPECT_EQ(ack_error(replay(nl, add)), 0);
  found = false;
  for (auto& r : n.a->routes())
    found |= r.dest == cidr("10.8.0.0/16") && r.gateway == ip("10.0.0.2") && r.ifindex == n.ia;
  EXPECT_TRUE(found);
  // Unmodified (gateway 127.0.0.2): loopback has no connected route, the gateway is
  // unreachable.
  EXPECT_EQ(ack_error(replay(nl, kRouteAdd)), -ENETUNREACH);
}

TEST(NetlinkReplay, IpRouteGet) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  auto r = replay(nl, kRouteGet);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, RTM_NEWROUTE);
  EXPECT_EQ(r[0].ipstr(RTA_DST), "10.0.0.5");
  EXPECT_EQ(r[0].u32(RTA_OIF), n.ia);
  EXPECT_EQ(r[0].ipstr(RTA_PREFSRC), "10.0.0.1");
  EXPECT_FALSE(r[0].has(RTA_GATEWAY));
}

// glibc getifaddrs(): two dumps of {nlmsghdr, rtgenmsg, pad[3]} (20 bytes), AF_UNSPEC,
// NLM_F_ROOT|NLM_F_MATCH|NLM_F_REQUEST; replies must carry its seq and port id.
TEST(NetlinkReplay, GlibcGetifaddrs) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  auto req = [](uint16_t type, uint32_t seq) {
    Req r(type, NLM_F_ROOT | NLM_F_MATCH | NLM_F_REQUEST, seq);
    r.bytes({AF_UNSPEC, 0, 0, 0});
    return r.done();
  };
  auto links = decode(nl.handle(req(RTM_GETLINK, 500), 1234));
  auto addrs = decode(nl.handle(req(RTM_GETADDR, 501), 1234));
  std::map<uint32_t, std::string> names;
  for (auto& m : links) {
    EXPECT_EQ(m.pid, 1234u);
    EXPECT_EQ(m.seq, 500u);
    if (m.type == RTM_NEWLINK) names[m.fixed32(4)] = m.str(IFLA_IFNAME);
  }
  EXPECT_EQ(names.size(), 2u);
  std::vector<std::string> ifa;  // what getifaddrs() would list: name + address
  for (auto& m : addrs) {
    EXPECT_EQ(m.seq, 501u);
    if (m.type != RTM_NEWADDR) continue;
    ASSERT_TRUE(names.count(m.fixed32(4))) << "address on an interface the link dump did not list";
    ifa.push_back(names[m.fixed32(4)] + " " + m.ipstr(m.has(IFA_LOCAL) ? IFA_LOCAL : IFA_ADDRESS));
  }
  EXPECT_EQ(ifa.size(), n.a->addresses().size());
  EXPECT_NE(std::find(ifa.begin(), ifa.end(), "eth0 10.0.0.1"), ifa.end());
  EXPECT_NE(std::find(ifa.begin(), ifa.end(), "eth0 2001:db8::1"), ifa.end());
  EXPECT_NE(std::find(ifa.begin(), ifa.end(), "lo 127.0.0.1"), ifa.end());
}

// glibc getaddrinfo(AI_ADDRCONFIG) (__check_pf): an RTM_GETADDR dump with a full
// ifaddrmsg; IPv4/IPv6 count as configured when a non-loopback address exists.
TEST(NetlinkReplay, GlibcAddrconfig) {
  auto seen = [](umnet::NetlinkRoute& nl) {
    auto r = decode(nl.handle(addr_req(RTM_GETADDR, NLM_F_ROOT | NLM_F_MATCH | NLM_F_REQUEST, AF_UNSPEC, 0, 0, 9).done(), 77));
    std::pair<bool, bool> s{false, false};
    for (auto& m : r) {
      if (m.type != RTM_NEWADDR) continue;
      std::string a = m.ipstr(m.has(IFA_LOCAL) ? IFA_LOCAL : IFA_ADDRESS);
      if (m.fixed[0] == AF_INET && a != "127.0.0.1") s.first = true;
      if (m.fixed[0] == AF_INET6 && a != "::1") s.second = true;
    }
    return s;
  };
  // glibc counts any non-loopback IPv6 address, link-local included: a view without
  // IPv6 must not get the automatic fe80:: address.
  Tuning no_ll;
  no_ll.ipv6_link_local = false;
  Net v4only(false, no_ll);
  ASSERT_EQ(v4only.a->add_address(v4only.ia, cidr("192.0.2.7/24")), 0);
  umnet::NetlinkRoute nl(*v4only.a);
  EXPECT_EQ(seen(nl), std::make_pair(true, false));
  Net none(false, no_ll);
  umnet::NetlinkRoute nl2(*none.a);
  EXPECT_EQ(seen(nl2), std::make_pair(false, false));
  Net both;
  umnet::NetlinkRoute nl3(*both.a);
  EXPECT_EQ(seen(nl3), std::make_pair(true, true));
  Net ll_only(false);  // default tuning: fe80:: only, which glibc counts as IPv6
  umnet::NetlinkRoute nl4(*ll_only.a);
  EXPECT_EQ(seen(nl4), std::make_pair(false, true));
}

}  // namespace
}  // namespace nltest
