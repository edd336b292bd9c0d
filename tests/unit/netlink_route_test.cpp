// NETLINK_ROUTE emulation against real libstack Stacks (label unit). Replies are decoded
// with the test's own decoder (netlink_harness.h) and compared with the Stack state.
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>

#include "netlink_harness.h"

namespace nltest {
namespace {

constexpr uint16_t kDump = NLM_F_REQUEST | NLM_F_DUMP;
constexpr uint16_t kNew = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
constexpr uint16_t kDel = NLM_F_REQUEST | NLM_F_ACK;

// Messages of a dump, checking the framing: all NLM_F_MULTI, seq/pid echoed, DONE last.
std::vector<Decoded> dump_body(const std::vector<Decoded>& r, uint32_t seq, uint32_t pid = 4242) {
  EXPECT_FALSE(r.empty());
  if (r.empty()) return {};
  EXPECT_EQ(r.back().type, NLMSG_DONE);
  EXPECT_EQ(r.back().len, 20u);
  for (auto& m : r) {
    EXPECT_TRUE(m.flags & NLM_F_MULTI);
    EXPECT_EQ(m.seq, seq);
    EXPECT_EQ(m.pid, pid);
  }
  return {r.begin(), r.end() - 1};
}

std::vector<std::string> addr_strings(const std::vector<Decoded>& msgs) {
  std::vector<std::string> v;
  for (auto& m : msgs) v.push_back(m.ipstr(IFA_ADDRESS) + "/" + std::to_string(m.fixed[1]) + "@" +
                                   std::to_string(m.fixed32(4)));
  return v;
}

TEST(NetlinkRoute, LinkDumpListsLoopbackAndEthernet) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  auto links = dump_body(ask(nl, link_req(RTM_GETLINK, kDump, 0, 0, 0, 77).u32(IFLA_EXT_MASK, 1).done()), 77);
  ASSERT_EQ(links.size(), 2u);
  auto& lo = links[0];
  auto& eth = links[1];
  EXPECT_EQ(lo.type, RTM_NEWLINK);
  EXPECT_EQ(lo.str(IFLA_IFNAME), "lo");
  EXPECT_EQ(int32_t(lo.fixed32(4)), 1);
  EXPECT_EQ(uint16_t(lo.fixed[2] | lo.fixed[3] << 8), ARPHRD_LOOPBACK);
  EXPECT_EQ(lo.fixed32(8) & (IFF_UP | IFF_LOOPBACK | IFF_RUNNING), unsigned(IFF_UP | IFF_LOOPBACK | IFF_RUNNING));
  EXPECT_EQ(lo.fixed32(8) & IFF_BROADCAST, 0u);
  EXPECT_EQ(lo.u32(IFLA_MTU), 65536u);
  EXPECT_EQ(eth.str(IFLA_IFNAME), "eth0");
  EXPECT_EQ(eth.fixed32(4), n.ia);
  EXPECT_EQ(uint16_t(eth.fixed[2] | eth.fixed[3] << 8), ARPHRD_ETHER);
  EXPECT_EQ(eth.fixed32(8) & (IFF_UP | IFF_BROADCAST | IFF_MULTICAST | IFF_RUNNING),
            unsigned(IFF_UP | IFF_BROADCAST | IFF_MULTICAST | IFF_RUNNING));
  EXPECT_EQ(eth.fixed32(8) & IFF_LOOPBACK, 0u);
  EXPECT_EQ(eth.at(IFLA_ADDRESS), (std::vector<uint8_t>{2, 0, 0, 0, 0, 1}));
  EXPECT_EQ(eth.at(IFLA_BROADCAST), std::vector<uint8_t>(6, 0xff));
  EXPECT_EQ(eth.u32(IFLA_MTU), 1500u);
  EXPECT_EQ(eth.u8(IFLA_OPERSTATE), IF_OPER_UP);
  EXPECT_EQ(eth.u32(IFLA_TXQLEN), 1000u);
  EXPECT_EQ(eth.u8(IFLA_LINKMODE), 0);
  // MTU changes in the Stack show up in the next dump.
  ASSERT_EQ(n.a->set_mtu(n.ia, 1400), 0);
  links = dump_body(ask(nl, link_req(RTM_GETLINK, kDump, 0).done()), 1);
  ASSERT_EQ(links.size(), 2u);
  EXPECT_EQ(links[1].u32(IFLA_MTU), 1400u);
}

TEST(NetlinkRoute, GetLinkByIndexAndByName) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  auto r = ask(nl, link_req(RTM_GETLINK, NLM_F_REQUEST, int32_t(n.ia), 0, 0, 9).done());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].type, RTM_NEWLINK);
  EXPECT_EQ(r[0].flags & NLM_F_MULTI, 0);
  EXPECT_EQ(r[0].seq, 9u);
  EXPECT_EQ(r[0].str(IFLA_IFNAME), "eth0");
  r = ask(nl, link_req(RTM_GETLINK, NLM_F_REQUEST, 0).str(IFLA_IFNAME, "lo").done());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].fixed32(4), 1u);
  EXPECT_EQ(ack_error(ask(nl, link_req(RTM_GETLINK, NLM_F_REQUEST, 0).str(IFLA_IFNAME, "eth9").done())), -ENODEV);
  EXPECT_EQ(ack_error(ask(nl, link_req(RTM_GETLINK, NLM_F_REQUEST, 99).done())), -ENODEV);
  EXPECT_EQ(ack_error(ask(nl, link_req(RTM_GETLINK, NLM_F_REQUEST, 0).done())), -EINVAL);
}

TEST(NetlinkRoute, SetLinkMtuAndRefuseWhatTheStackCannotDo) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  // ip link set eth0 mtu 1280
  EXPECT_EQ(ack_error(ask(nl, link_req(RTM_NEWLINK, kDel, int32_t(n.ia)).u32(IFLA_MTU, 1280).done())), 0);
  EXPECT_EQ(n.a->interfaces()[1].mtu, 1280u);
  // ip link set eth0 up: already up, accepted.
  EXPECT_EQ(ack_error(ask(nl, link_req(RTM_NEWLINK, kDel, int32_t(n.ia), IFF_UP, IFF_UP).done())), 0);
  // down, rename, MAC change, creating a link: not representable.
  EXPECT_EQ(ack_error(ask(nl, link_req(RTM_NEWLINK, kDel, int32_t(n.ia), 0, IFF_UP).done())), -EOPNOTSUPP);
  EXPECT_EQ(ack_error(ask(nl, link_req(RTM_NEWLINK, kDel, int32_t(n.ia)).str(IFLA_IFNAME, "wan0").done())),
            -EOPNOTSUPP);
  uint8_t mac[6] = {2, 9, 9, 9, 9, 9};
  EXPECT_EQ(ack_error(ask(nl, link_req(RTM_NEWLINK, kDel, int32_t(n.ia)).attr(IFLA_ADDRESS, mac, 6).done())),
            -EOPNOTSUPP);
  EXPECT_EQ(ack_error(ask(nl, link_req(RTM_NEWLINK, kNew, 0).str(IFLA_IFNAME, "dummy0").done())), -EOPNOTSUPP);
  EXPECT_EQ(ack_error(ask(nl, link_req(RTM_NEWLINK, kDel, 0).str(IFLA_IFNAME, "dummy0").done())), -ENODEV);
  EXPECT_EQ(ack_error(ask(nl, link_req(RTM_DELLINK, kDel, int32_t(n.ia)).done())), -EOPNOTSUPP);
  EXPECT_EQ(n.a->interfaces().size(), 2u);
  EXPECT_EQ(n.a->interfaces()[1].mtu, 1280u);
}

TEST(NetlinkRoute, AddressDumpPerFamily) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  auto v4 = dump_body(ask(nl, addr_req(RTM_GETADDR, kDump, AF_INET, 0, 0, 5).done()), 5);
  std::vector<std::string> want4 = {"127.0.0.1/8@1", "10.0.0.1/24@" + std::to_string(n.ia)};
  EXPECT_EQ(addr_strings(v4), want4);
  ASSERT_EQ(v4.size(), 2u);
  EXPECT_EQ(v4[1].ipstr(IFA_LOCAL), "10.0.0.1");
  EXPECT_EQ(v4[1].ipstr(IFA_BROADCAST), "10.0.0.255");
  EXPECT_EQ(v4[1].str(IFA_LABEL), "eth0");
  EXPECT_EQ(v4[0].str(IFA_LABEL), "lo");
  EXPECT_FALSE(v4[0].has(IFA_BROADCAST));  // lo is not broadcast-capable
  EXPECT_EQ(v4[0].fixed[3], RT_SCOPE_HOST);
  EXPECT_EQ(v4[1].fixed[3], RT_SCOPE_UNIVERSE);
  ASSERT_EQ(v4[1].at(IFA_CACHEINFO).size(), 16u);
  EXPECT_EQ(v4[1].u32(IFA_FLAGS) & IFA_F_PERMANENT, unsigned(IFA_F_PERMANENT));

  auto v6 = dump_body(ask(nl, addr_req(RTM_GETADDR, kDump, AF_INET6, 0, 0, 6).done()), 6);
  std::vector<std::string> got6 = addr_strings(v6);
  EXPECT_NE(std::find(got6.begin(), got6.end(), "::1/128@1"), got6.end());
  EXPECT_NE(std::find(got6.begin(), got6.end(), "2001:db8::1/64@" + std::to_string(n.ia)), got6.end());
  for (auto& m : v6) {
    EXPECT_FALSE(m.has(IFA_LOCAL));
    EXPECT_EQ(m.fixed[0], AF_INET6);
    EXPECT_EQ(m.u32(IFA_FLAGS) & IFA_F_TENTATIVE, 0u);  // DAD finished in Net()
  }
  // AF_UNSPEC: everything, IPv4 first (kernel order).
  auto all = dump_body(ask(nl, addr_req(RTM_GETADDR, kDump, AF_UNSPEC, 0, 0, 7).done()), 7);
  EXPECT_EQ(all.size(), v4.size() + v6.size());
  EXPECT_EQ(all.size(), n.a->addresses().size());
  EXPECT_EQ(all.front().fixed[0], AF_INET);
  EXPECT_EQ(all.back().fixed[0], AF_INET6);
  // ifa_index filter (iproute2 `ip addr show dev eth0` in strict mode).
  auto eth = dump_body(ask(nl, addr_req(RTM_GETADDR, kDump, AF_INET, 0, n.ia).done()), 1);
  EXPECT_EQ(addr_strings(eth), std::vector<std::string>{"10.0.0.1/24@" + std::to_string(n.ia)});
}

TEST(NetlinkRoute, TentativeAddressIsFlagged) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  ASSERT_EQ(n.a->add_address(n.ia, cidr("2001:db8:1::5/64")), 0);  // DAD starts, clock frozen
  auto v6 = dump_body(ask(nl, addr_req(RTM_GETADDR, kDump, AF_INET6, 0, 0).done()), 1);
  int tentative = 0;
  for (auto& m : v6)
    if (m.ipstr(IFA_ADDRESS) == "2001:db8:1::5") {
      EXPECT_TRUE(m.u32(IFA_FLAGS) & IFA_F_TENTATIVE);
      EXPECT_TRUE(m.fixed[2] & IFA_F_TENTATIVE);
      ++tentative;
    }
  EXPECT_EQ(tentative, 1);
  n.advance(5s);
  v6 = dump_body(ask(nl, addr_req(RTM_GETADDR, kDump, AF_INET6, 0, 0).done()), 1);
  for (auto& m : v6) { EXPECT_EQ(m.u32(IFA_FLAGS) & IFA_F_TENTATIVE, 0u) << m.ipstr(IFA_ADDRESS); }
}

TEST(NetlinkRoute, AddAddressThroughNetlinkAndPeerReachesIt) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  // ip addr add 10.0.0.50/24 dev eth0
  auto req = addr_req(RTM_NEWADDR, kNew, AF_INET, 24, n.ia, 31)
                 .addr(IFA_LOCAL, ip("10.0.0.50")).addr(IFA_ADDRESS, ip("10.0.0.50")).done();
  auto r = ask(nl, req);
  ASSERT_EQ(ack_error(r), 0);
  EXPECT_EQ(r[0].seq, 31u);
  EXPECT_EQ(r[0].len, 36u);  // success ack: header only (NLM_F_CAPPED)
  EXPECT_TRUE(r[0].flags & NLM_F_CAPPED);
  bool found = false;
  for (auto& a : n.a->addresses()) found |= a.cidr == cidr("10.0.0.50/24") && a.ifindex == n.ia;
  EXPECT_TRUE(found);
  // The same again: EEXIST with the request echoed back.
  r = ask(nl, req);
  ASSERT_EQ(ack_error(r), -EEXIST);
  EXPECT_EQ(r[0].len, 20u + req.size());
  EXPECT_TRUE(std::equal(req.begin(), req.end(), r[0].raw.begin() + 20));
  // The peer sends UDP to the new address; the view's stack receives it.
  auto rx = n.a->udp_socket(IpAddr::Family::V4);
  ASSERT_EQ(rx->bind({ip("10.0.0.50"), 7001}), 0);
  auto tx = n.b->udp_socket(IpAddr::Family::V4);
  uint8_t msg[3] = {'h', 'i', '!'};
  ASSERT_EQ(tx->sendto(msg, Endpoint{ip("10.0.0.50"), 7001}), 3);
  n.advance(1s);
  uint8_t buf[16];
  Endpoint from;
  ASSERT_EQ(rx->recvfrom(buf, &from), 3);
  EXPECT_EQ(from.addr, ip("10.0.0.2"));
  // ip addr del 10.0.0.50/24 dev eth0, then the address is gone and unreachable.
  auto del = addr_req(RTM_DELADDR, kDel, AF_INET, 24, n.ia).addr(IFA_LOCAL, ip("10.0.0.50"))
                 .addr(IFA_ADDRESS, ip("10.0.0.50")).done();
  EXPECT_EQ(ack_error(ask(nl, del)), 0);
  EXPECT_FALSE(n.a->is_local_address(ip("10.0.0.50")));
  EXPECT_EQ(ack_error(ask(nl, del)), -EADDRNOTAVAIL);
  ASSERT_EQ(tx->sendto(msg, Endpoint{ip("10.0.0.50"), 7001}), 3);
  n.advance(5s);
  EXPECT_EQ(rx->recvfrom(buf, &from), -EAGAIN);
}

TEST(NetlinkRoute, AddressErrors) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  auto v6 = addr_req(RTM_NEWADDR, kNew, AF_INET6, 64, 77).addr(IFA_LOCAL, ip("2001:db8:9::1")).done();
  EXPECT_EQ(ack_error(ask(nl, v6)), -ENODEV);
  // Address attribute of the wrong size for the family.
  auto bad = addr_req(RTM_NEWADDR, kNew, AF_INET6, 64, n.ia).addr(IFA_LOCAL, ip("10.1.1.1")).done();
  EXPECT_EQ(ack_error(ask(nl, bad)), -EINVAL);
  auto plen = addr_req(RTM_NEWADDR, kNew, AF_INET, 33, n.ia).addr(IFA_LOCAL, ip("10.1.1.1")).done();
  EXPECT_EQ(ack_error(ask(nl, plen)), -EINVAL);
  auto noaddr = addr_req(RTM_NEWADDR, kNew, AF_INET, 24, n.ia).done();
  EXPECT_EQ(ack_error(ask(nl, noaddr)), -EINVAL);
  auto fam = addr_req(RTM_NEWADDR, kNew, AF_PACKET, 24, n.ia).addr(IFA_LOCAL, ip("10.1.1.1")).done();
  EXPECT_EQ(ack_error(ask(nl, fam)), -EOPNOTSUPP);
  // Delete with a prefix length that does not match the address.
  auto del = addr_req(RTM_DELADDR, kDel, AF_INET, 16, n.ia).addr(IFA_LOCAL, ip("10.0.0.1"))
                 .addr(IFA_ADDRESS, ip("10.0.0.1")).done();
  EXPECT_EQ(ack_error(ask(nl, del)), -EADDRNOTAVAIL);
  EXPECT_TRUE(n.a->is_local_address(ip("10.0.0.1")));
  // IPv6 add/delete round trip.
  auto add6 = addr_req(RTM_NEWADDR, kNew, AF_INET6, 64, n.ia).addr(IFA_ADDRESS, ip("2001:db8:7::1")).done();
  EXPECT_EQ(ack_error(ask(nl, add6)), 0);
  auto with7 = n.a->addresses();
  EXPECT_TRUE(std::any_of(with7.begin(), with7.end(), [](auto& a) { return a.cidr.addr == ip("2001:db8:7::1"); }));
  auto del6 = addr_req(RTM_DELADDR, kDel, AF_INET6, 64, n.ia).addr(IFA_ADDRESS, ip("2001:db8:7::1")).done();
  EXPECT_EQ(ack_error(ask(nl, del6)), 0);
  auto addrs = n.a->addresses();
  EXPECT_TRUE(std::none_of(addrs.begin(), addrs.end(), [](auto& a) { return a.cidr.addr == ip("2001:db8:7::1"); }));
}

std::vector<std::string> route_strings(const std::vector<Decoded>& msgs) {
  std::vector<std::string> v;
  for (auto& m : msgs) {
    std::string s = m.has(RTA_DST) ? m.ipstr(RTA_DST) + "/" + std::to_string(m.fixed[1]) : "default";
    if (m.has(RTA_GATEWAY)) s += " via " + m.ipstr(RTA_GATEWAY);
    s += " dev " + std::to_string(m.u32(RTA_OIF));
    if (m.has(RTA_PREFSRC)) s += " src " + m.ipstr(RTA_PREFSRC);
    v.push_back(s);
  }
  return v;
}

TEST(NetlinkRoute, RouteDumpMainTable) {
  Net n;
  ASSERT_EQ(n.a->add_route(cidr("0.0.0.0/0"), ip("10.0.0.2"), n.ia, 0), 0);
  umnet::NetlinkRoute nl(*n.a);
  // ip route (v4, table main filter attribute as iproute2 sends it)
  auto v4 = dump_body(ask(nl, route_req(RTM_GETROUTE, kDump, AF_INET, 0, 0, 0, 0, 3).u32(RTA_TABLE, 254).done()), 3);
  auto got = route_strings(v4);
  std::sort(got.begin(), got.end());
  std::string d = std::to_string(n.ia);
  EXPECT_EQ(got, (std::vector<std::string>{"10.0.0.0/24 dev " + d + " src 10.0.0.1", "default via 10.0.0.2 dev " + d}));
  for (auto& m : v4) {
    EXPECT_EQ(m.fixed[4], RT_TABLE_MAIN);
    EXPECT_EQ(m.u32(RTA_TABLE), 254u);
    EXPECT_EQ(m.fixed[7], RTN_UNICAST);
    EXPECT_EQ(m.fixed[6], m.has(RTA_GATEWAY) ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
    EXPECT_EQ(m.fixed[5], m.has(RTA_GATEWAY) ? RTPROT_BOOT : RTPROT_KERNEL);
  }
  // ip -6 route: the connected /64 with metric 256.
  auto v6 = dump_body(ask(nl, route_req(RTM_GETROUTE, kDump, AF_INET6, 0, 0).u32(RTA_TABLE, 254).done()), 1);
  bool connected = false;
  for (auto& m : v6) {
    EXPECT_EQ(m.fixed[0], AF_INET6);
    EXPECT_TRUE(m.has(RTA_PRIORITY));
    if (m.ipstr(RTA_DST) == "2001:db8::" && m.fixed[1] == 64) connected = m.u32(RTA_PRIORITY) == 256;
  }
  EXPECT_TRUE(connected);
  EXPECT_EQ(v6.size() + v4.size(), n.a->routes().size());
  // Tables libstack does not have dump empty.
  EXPECT_TRUE(dump_body(ask(nl, route_req(RTM_GETROUTE, kDump, AF_INET, 0, 0).u32(RTA_TABLE, 255).done()), 1).empty());
}

TEST(NetlinkRoute, AddAndDeleteRouteChangesForwarding) {
  Net n;
  umnet::NetlinkRoute nl_a(*n.a), nl_b(*n.b);
  // B gets 192.168.5.1/32 through netlink; A learns the way there through netlink.
  ASSERT_EQ(ack_error(ask(nl_b, addr_req(RTM_NEWADDR, kNew, AF_INET, 32, n.ib)
                                    .addr(IFA_LOCAL, ip("192.168.5.1")).done())), 0);
  auto rx = n.b->udp_socket(IpAddr::Family::V4);
  ASSERT_EQ(rx->bind({ip("192.168.5.1"), 9000}), 0);
  auto tx = n.a->udp_socket(IpAddr::Family::V4);
  uint8_t msg[2] = {1, 2};
  EXPECT_EQ(tx->sendto(msg, Endpoint{ip("192.168.5.1"), 9000}), -ENETUNREACH);
  // ip route add 192.168.5.0/24 via 10.0.0.2
  auto add = route_req(RTM_NEWROUTE, kNew, AF_INET, 24).addr(RTA_DST, ip("192.168.5.0"))
                 .addr(RTA_GATEWAY, ip("10.0.0.2")).done();
  ASSERT_EQ(ack_error(ask(nl_a, add)), 0);
  EXPECT_EQ(ack_error(ask(nl_a, add)), -EEXIST);
  ASSERT_EQ(tx->sendto(msg, Endpoint{ip("192.168.5.1"), 9000}), 2);
  n.advance(1s);
  uint8_t buf[8];
  EXPECT_EQ(rx->recvfrom(buf), 2);
  // ip route get 192.168.5.1 answers from the new route.
  auto got = ask(nl_a, route_req(RTM_GETROUTE, NLM_F_REQUEST, AF_INET, 32, 0, 0, RTM_F_LOOKUP_TABLE)
                           .addr(RTA_DST, ip("192.168.5.1")).done());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, RTM_NEWROUTE);
  EXPECT_EQ(got[0].ipstr(RTA_GATEWAY), "10.0.0.2");
  EXPECT_EQ(got[0].ipstr(RTA_PREFSRC), "10.0.0.1");
  EXPECT_EQ(got[0].ipstr(RTA_DST), "192.168.5.1");
  EXPECT_EQ(got[0].u32(RTA_OIF), n.ia);
  // ip route del 192.168.5.0/24
  auto del = route_req(RTM_DELROUTE, kDel, AF_INET, 24, 254, 0).addr(RTA_DST, ip("192.168.5.0")).done();
  EXPECT_EQ(ack_error(ask(nl_a, del)), 0);
  EXPECT_EQ(ack_error(ask(nl_a, del)), -ESRCH);
  EXPECT_EQ(tx->sendto(msg, Endpoint{ip("192.168.5.1"), 9000}), -ENETUNREACH);
  EXPECT_EQ(ack_error(ask(nl_a, route_req(RTM_GETROUTE, NLM_F_REQUEST, AF_INET, 32)
                                    .addr(RTA_DST, ip("192.168.5.1")).done())), -ENETUNREACH);
}

TEST(NetlinkRoute, RouteRequestsTheStackCannotRepresent) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  auto base = [&](uint8_t table, uint8_t type) {
    return route_req(RTM_NEWROUTE, kNew, AF_INET, 24, table, type).addr(RTA_DST, ip("172.16.0.0"));
  };
  EXPECT_EQ(ack_error(ask(nl, base(100, RTN_UNICAST).u32(RTA_OIF, n.ia).done())), -EOPNOTSUPP);  // table 100
  EXPECT_EQ(ack_error(ask(nl, base(254, RTN_BLACKHOLE).done())), -EOPNOTSUPP);
  EXPECT_EQ(ack_error(ask(nl, base(254, RTN_UNICAST).u32(RTA_OIF, 99).done())), -ENODEV);
  EXPECT_EQ(ack_error(ask(nl, base(254, RTN_UNICAST).addr(RTA_PREFSRC, ip("10.0.0.1")).u32(RTA_OIF, n.ia).done())),
            -EOPNOTSUPP);
  // Host bits set in the destination.
  EXPECT_EQ(ack_error(ask(nl, route_req(RTM_NEWROUTE, kNew, AF_INET, 24).addr(RTA_DST, ip("172.16.0.9"))
                                  .u32(RTA_OIF, n.ia).done())), -EINVAL);
  // Gateway of the other family.
  EXPECT_EQ(ack_error(ask(nl, base(254, RTN_UNICAST).addr(RTA_GATEWAY, ip("2001:db8::2")).done())), -EINVAL);
  // IPv6 default route via the peer, then `ip -6 route get`.
  auto add6 = route_req(RTM_NEWROUTE, kNew, AF_INET6, 0).addr(RTA_GATEWAY, ip("2001:db8::2")).u32(RTA_OIF, n.ia).done();
  EXPECT_EQ(ack_error(ask(nl, add6)), 0);
  auto got = ask(nl, route_req(RTM_GETROUTE, NLM_F_REQUEST, AF_INET6, 128).addr(RTA_DST, ip("2001:db8:ff::1")).done());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].ipstr(RTA_GATEWAY), "2001:db8::2");
  EXPECT_EQ(got[0].ipstr(RTA_PREFSRC), "2001:db8::1");
  bool found = false;
  for (auto& r : n.a->routes()) found |= r.dest.prefix_len == 0 && r.dest.addr.is_v6() && r.metric == 1024;
  EXPECT_TRUE(found);
  // Local destination: RTN_LOCAL through lo.
  got = ask(nl, route_req(RTM_GETROUTE, NLM_F_REQUEST, AF_INET, 32).addr(RTA_DST, ip("10.0.0.1")).done());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].fixed[7], RTN_LOCAL);
  EXPECT_EQ(got[0].u32(RTA_OIF), 1u);
}

TEST(NetlinkRoute, NeighbourDumpAfterTraffic) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  auto empty = dump_body(ask(nl, Req(RTM_GETNEIGH, kDump).zeros(12).done()), 1);
  size_t before = empty.size();
  auto tx = n.a->udp_socket(IpAddr::Family::V4);
  uint8_t msg[1] = {0};
  ASSERT_EQ(tx->sendto(msg, Endpoint{ip("10.0.0.2"), 9}), 1);
  n.advance(100ms);
  Req r(RTM_GETNEIGH, kDump, 12);
  r.bytes({AF_INET, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  auto v4 = dump_body(ask(nl, r.done()), 12);
  ASSERT_GE(v4.size(), 1u);
  EXPECT_GE(n.a->neighbours().size(), before);
  bool seen = false;
  for (auto& m : v4) {
    EXPECT_EQ(m.type, RTM_NEWNEIGH);
    EXPECT_EQ(m.fixed[0], AF_INET);
    if (m.ipstr(NDA_DST) != "10.0.0.2") continue;
    seen = true;
    uint16_t state = uint16_t(m.fixed[8] | m.fixed[9] << 8);
    EXPECT_EQ(state, NUD_REACHABLE);
    EXPECT_EQ(m.at(NDA_LLADDR), (std::vector<uint8_t>{2, 0, 0, 0, 0, 2}));
    EXPECT_EQ(m.fixed32(4), n.ia);
  }
  EXPECT_TRUE(seen);
  EXPECT_EQ(ack_error(ask(nl, Req(RTM_NEWNEIGH, kNew).zeros(12).done())), -EOPNOTSUPP);
}

TEST(NetlinkRoute, AcksUnknownTypesAndControlMessages) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  EXPECT_EQ(ack_error(ask(nl, Req(RTM_GETRULE, NLM_F_REQUEST).zeros(12).done())), -EOPNOTSUPP);
  EXPECT_EQ(ack_error(ask(nl, Req(1000, NLM_F_REQUEST).done())), -EOPNOTSUPP);
  // NLMSG_NOOP with NLM_F_ACK: acked with 0; without: nothing.
  EXPECT_EQ(ack_error(ask(nl, Req(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK).done())), 0);
  EXPECT_TRUE(ask(nl, Req(NLMSG_NOOP, NLM_F_REQUEST).done()).empty());
  // Not a request (NLM_F_REQUEST missing): ignored.
  EXPECT_TRUE(ask(nl, link_req(RTM_GETLINK, NLM_F_DUMP, 0).done()).empty());
  EXPECT_GE(nl.counters().unsupported, 2u);
}

TEST(NetlinkRoute, SeveralMessagesInOneDatagram) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  auto a = link_req(RTM_GETLINK, kDump, 0, 0, 0, 1).done();
  auto b = addr_req(RTM_GETADDR, kDump, AF_INET, 0, 0, 2).done();
  auto c = Req(999, NLM_F_REQUEST, 3).done();
  std::vector<uint8_t> all = a;
  all.insert(all.end(), b.begin(), b.end());
  all.insert(all.end(), c.begin(), c.end());
  auto r = ask(nl, all);
  std::vector<std::pair<uint32_t, uint16_t>> seq_type;
  for (auto& m : r) seq_type.emplace_back(m.seq, m.type);
  std::vector<std::pair<uint32_t, uint16_t>> want = {
      {1, RTM_NEWLINK}, {1, RTM_NEWLINK}, {1, NLMSG_DONE}, {2, RTM_NEWADDR},
      {2, RTM_NEWADDR}, {2, NLMSG_DONE},  {3, NLMSG_ERROR}};
  EXPECT_EQ(seq_type, want);
}

TEST(NetlinkRoute, LargeDumpIsSplitIntoDatagrams) {
  Net n;
  for (int k = 0; k < 60; ++k)
    ASSERT_EQ(n.a->add_address(n.ia, cidr(("10.1." + std::to_string(k) + ".1/24").c_str())), 0);
  umnet::NetlinkRoute nl(*n.a);
  nl.set_max_datagram(1024);
  auto d = nl.handle(addr_req(RTM_GETADDR, kDump, AF_INET, 0, 0, 8).done(), 7);
  EXPECT_GT(d.size(), 3u);
  auto msgs = dump_body(decode(d, 1024), 8, 7);
  EXPECT_EQ(msgs.size(), 62u);  // lo + 10.0.0.1 + 60
  // DONE is the last message of the last datagram only.
  for (size_t k = 0; k + 1 < d.size(); ++k)
    for (auto& m : decode({d[k]})) { EXPECT_NE(m.type, NLMSG_DONE); }
}

}  // namespace
}  // namespace nltest
