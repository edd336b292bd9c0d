// Multipath routes through the NETLINK_ROUTE emulation (label unit): the RTA_MULTIPATH of
// a dump decoded byte by byte, `ip route add ... nexthop ...` requests and every way such
// a request can be refused, deletion. The real `ip` binary's text is checked against
// Linux's by nlsock.integration.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "netlink_harness.h"

namespace nltest {
namespace {

constexpr uint16_t kDump = NLM_F_REQUEST | NLM_F_DUMP;
constexpr uint16_t kNew = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
constexpr uint16_t kDel = NLM_F_REQUEST | NLM_F_ACK;

// One RTA_MULTIPATH entry: struct rtnexthop, then its attributes.
std::vector<uint8_t> entry(uint8_t hops, int32_t ifindex, const std::vector<uint8_t>& attrs,
                           uint8_t flags = 0, int len_delta = 0) {
  std::vector<uint8_t> e(8);
  uint16_t len = uint16_t(8 + attrs.size() + len_delta);
  std::memcpy(&e[0], &len, 2);
  e[2] = flags;
  e[3] = hops;
  std::memcpy(&e[4], &ifindex, 4);
  e.insert(e.end(), attrs.begin(), attrs.end());
  e.resize((e.size() + 3) & ~size_t(3), 0);
  return e;
}
std::vector<uint8_t> rta(uint16_t type, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> a(4);
  uint16_t len = uint16_t(4 + data.size());
  std::memcpy(&a[0], &len, 2);
  std::memcpy(&a[2], &type, 2);
  a.insert(a.end(), data.begin(), data.end());
  a.resize((a.size() + 3) & ~size_t(3), 0);
  return a;
}
std::vector<uint8_t> gw(const char* a) {
  IpAddr x = ip(a);
  return rta(RTA_GATEWAY, std::vector<uint8_t>(x.b.begin(), x.b.begin() + (x.is_v4() ? 4 : 16)));
}
std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> v;
  for (auto& p : parts) v.insert(v.end(), p.begin(), p.end());
  return v;
}
Req add_mp(const std::vector<uint8_t>& mp, uint16_t flags = kNew) {
  return route_req(RTM_NEWROUTE, flags, AF_INET, 16).addr(RTA_DST, ip("10.3.0.0")).attr(RTA_MULTIPATH, mp.data(), mp.size());
}

struct Hop {
  uint16_t len;
  uint8_t flags, hops;
  int32_t ifindex;
  std::string gateway;
};
std::vector<Hop> hops_of(const std::vector<uint8_t>& mp) {
  std::vector<Hop> v;
  for (size_t off = 0; off + 8 <= mp.size();) {
    Hop h{};
    std::memcpy(&h.len, &mp[off], 2);
    h.flags = mp[off + 2];
    h.hops = mp[off + 3];
    std::memcpy(&h.ifindex, &mp[off + 4], 4);
    if (h.len < 8 || off + h.len > mp.size()) {
      ADD_FAILURE() << "bad rtnh_len " << h.len;
      return v;
    }
    if (h.len >= 16) {  // RTA_GATEWAY inside
      uint16_t t;
      std::memcpy(&t, &mp[off + 10], 2);
      EXPECT_EQ(t, RTA_GATEWAY);
      Ipv4Addr a;
      std::memcpy(a.b.data(), &mp[off + 12], 4);
      h.gateway = a.to_string();
    }
    v.push_back(h);
    off += (h.len + 3u) & ~3u;
  }
  return v;
}

const Decoded* route_to(const std::vector<Decoded>& msgs, const char* dst) {
  for (auto& m : msgs)
    if (m.type == RTM_NEWROUTE && m.has(RTA_DST) && m.ipstr(RTA_DST) == dst) return &m;
  return nullptr;
}

TEST(NetlinkMultipath, DumpCarriesRtaMultipathAndProtoNtk) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  std::vector<NextHop> hops{{ip("10.0.0.2"), n.ia, 3}, {ip("10.0.0.3"), n.ia, 256}};
  ASSERT_EQ(n.a->set_multipath_route(cidr("10.1.0.0/16"), hops), 0);
  auto msgs = ask(nl, route_req(RTM_GETROUTE, kDump, AF_INET, 0, 0).done());
  const Decoded* r = route_to(msgs, "10.1.0.0");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->fixed[1], 16);               // rtm_dst_len
  EXPECT_EQ(r->fixed[5], RTPROT_NTK);       // rtm_protocol
  EXPECT_EQ(r->fixed[6], RT_SCOPE_UNIVERSE);
  EXPECT_FALSE(r->has(RTA_OIF));
  EXPECT_FALSE(r->has(RTA_GATEWAY));
  auto h = hops_of(r->at(RTA_MULTIPATH));
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].len, 16);
  EXPECT_EQ(h[0].hops, 2);  // weight - 1
  EXPECT_EQ(h[0].ifindex, int32_t(n.ia));
  EXPECT_EQ(h[0].gateway, "10.0.0.2");
  EXPECT_EQ(h[0].flags, 0);
  EXPECT_EQ(h[1].hops, 255);
  EXPECT_EQ(h[1].gateway, "10.0.0.3");
  // A downed interface: its hops are dead and linkdown, as Linux marks them.
  ASSERT_EQ(n.a->set_link_up(n.ia, false), 0);
  msgs = ask(nl, route_req(RTM_GETROUTE, kDump, AF_INET, 0, 0).done());
  r = route_to(msgs, "10.1.0.0");
  ASSERT_NE(r, nullptr);
  for (auto& x : hops_of(r->at(RTA_MULTIPATH))) EXPECT_EQ(x.flags, RTNH_F_DEAD | RTNH_F_LINKDOWN);
  // IPv6: RTA_PREF medium like every IPv6 route the kernel dumps.
  ASSERT_EQ(n.a->set_link_up(n.ia, true), 0);
  std::vector<NextHop> h6{{ip("2001:db8::2"), n.ia, 1}};
  ASSERT_EQ(n.a->set_multipath_route(cidr("2001:db8:9::/48"), h6, RouteInfo::Origin::Mesh, 1024), 0);
  msgs = ask(nl, route_req(RTM_GETROUTE, kDump, AF_INET6, 0, 0).done());
  r = route_to(msgs, "2001:db8:9::");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->u8(RTA_PREF), 0);
  EXPECT_EQ(r->u32(RTA_PRIORITY), 1024u);
  ASSERT_EQ(r->at(RTA_MULTIPATH).size(), 8u + 20u);
  // ip route get: the hop of highest weight.
  auto got = ask(nl, route_req(RTM_GETROUTE, NLM_F_REQUEST, AF_INET, 32).addr(RTA_DST, ip("10.1.2.3")).done());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].ipstr(RTA_GATEWAY), "10.0.0.3");
  EXPECT_EQ(got[0].u32(RTA_OIF), n.ia);
}

TEST(NetlinkMultipath, AddReplaceAndDelete) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  auto mp = cat({entry(2, int32_t(n.ia), gw("10.0.0.2")), entry(0, 0, gw("10.0.0.3"))});
  ASSERT_EQ(ack_error(ask(nl, add_mp(mp).done())), 0);
  std::optional<RouteInfo> got;
  for (auto& r : n.a->routes())
    if (r.dest == cidr("10.3.0.0/16")) got = r;
  ASSERT_TRUE(got);
  EXPECT_EQ(got->origin, RouteInfo::Origin::Static);
  EXPECT_EQ(got->nexthops, (std::vector<NextHop>{{ip("10.0.0.2"), n.ia, 3}, {ip("10.0.0.3"), n.ia, 1}}));
  EXPECT_EQ(ack_error(ask(nl, add_mp(mp).done())), -EEXIST);
  auto one = entry(4, int32_t(n.ia), gw("10.0.0.4"));
  ASSERT_EQ(ack_error(ask(nl, add_mp(one, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE).done())), 0);
  for (auto& r : n.a->routes())
    if (r.dest == cidr("10.3.0.0/16")) {
      EXPECT_EQ(r.nexthops, (std::vector<NextHop>{{ip("10.0.0.4"), n.ia, 5}}));
    }
  // A router's route of the same prefix is another route; deleting by prefix removes one.
  std::vector<NextHop> mesh{{ip("10.0.0.2"), n.ia, 1}};
  ASSERT_EQ(n.a->set_multipath_route(cidr("10.3.0.0/16"), mesh), 0);
  auto del = route_req(RTM_DELROUTE, kDel, AF_INET, 16, 254, 0).addr(RTA_DST, ip("10.3.0.0")).done();
  EXPECT_EQ(ack_error(ask(nl, del)), 0);
  EXPECT_EQ(ack_error(ask(nl, del)), 0);
  EXPECT_EQ(ack_error(ask(nl, del)), -ESRCH);
  // Delete naming a gateway that no hop has: not that route.
  ASSERT_EQ(n.a->set_multipath_route(cidr("10.3.0.0/16"), mesh), 0);
  auto del_gw = route_req(RTM_DELROUTE, kDel, AF_INET, 16, 254, 0).addr(RTA_DST, ip("10.3.0.0"))
                    .addr(RTA_GATEWAY, ip("10.0.0.9")).done();
  EXPECT_EQ(ack_error(ask(nl, del_gw)), -ESRCH);
  auto del_mp = route_req(RTM_DELROUTE, kDel, AF_INET, 16, 254, 0).addr(RTA_DST, ip("10.3.0.0"))
                    .attr(RTA_MULTIPATH, one.data(), one.size()).done();
  EXPECT_EQ(ack_error(ask(nl, del_mp)), 0);
  EXPECT_EQ(n.a->flush_routes(RouteInfo::Origin::Mesh), 0u);
}

TEST(NetlinkMultipath, MalformedOrUnsupportedRequestsAreRefused) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  int32_t ia = int32_t(n.ia);
  auto err = [&](const std::vector<uint8_t>& mp) { return ack_error(ask(nl, add_mp(mp).done())); };
  EXPECT_EQ(err({}), -EINVAL);                                             // no entry
  EXPECT_EQ(err(entry(0, ia, gw("10.0.0.2"), 0, -9)), -EINVAL);           // rtnh_len < 8
  EXPECT_EQ(err(entry(0, ia, gw("10.0.0.2"), 0, 40)), -EINVAL);           // past the end
  EXPECT_EQ(err(entry(0, ia, gw("10.0.0.2"), RTNH_F_DEAD)), -EINVAL);     // flags
  EXPECT_EQ(err(entry(0, ia, rta(RTA_GATEWAY, {10, 0, 0}))), -EINVAL);    // 3-byte gateway
  EXPECT_EQ(err(entry(0, ia, gw("2001:db8::2"))), -EINVAL);               // v6 gateway, v4 route
  EXPECT_EQ(err(entry(0, ia, rta(RTA_VIA, {2, 0, 10, 0, 0, 2}))), -EOPNOTSUPP);
  EXPECT_EQ(err(entry(0, 99, gw("10.0.0.2"))), -ENODEV);
  EXPECT_EQ(err(entry(0, -1, gw("10.0.0.2"))), -EINVAL);
  EXPECT_EQ(err(cat({entry(0, ia, gw("10.0.0.2")), entry(1, ia, gw("10.0.0.2"))})), -EINVAL);  // twice
  std::vector<uint8_t> many;
  for (int i = 0; i < 25; ++i) {
    auto e = entry(0, ia, gw(("10.0.0." + std::to_string(10 + i)).c_str()));
    many.insert(many.end(), e.begin(), e.end());
  }
  EXPECT_EQ(err(many), -EINVAL);                                           // 25 > 24 hops
  many.resize(many.size() - 16);
  EXPECT_EQ(err(many), 0);                                                 // 24
  auto mp = entry(0, ia, gw("10.0.0.2"));
  EXPECT_EQ(ack_error(ask(nl, add_mp(mp).addr(RTA_GATEWAY, ip("10.0.0.2")).done())), -EINVAL);
  EXPECT_EQ(ack_error(ask(nl, add_mp(mp).u32(RTA_OIF, n.ia).done())), -EINVAL);
}

}  // namespace
}  // namespace nltest
