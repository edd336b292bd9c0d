// Multipath routes (ip/multipath.cpp): weighted spreading of flows, one hop per flow for
// sent and forwarded packets (UDP, TCP over both output paths), replacement, removal,
// dead hops and fallback, origin tagging, validation. Manual clock, in-memory Ethernet.
#include <cerrno>
#include <map>
#include <set>

#include "harness.h"

namespace libstack::test {
namespace {

// A fan: the hub stack X has one link per leaf k = 1..N (X 10.0.k.1/24 and
// 2001:db8:k::1/64, leaf 10.0.k.2 / ::2). Every leaf also owns the "anycast" address
// 10.9.0.1/32 and 2001:db8:9::1/128, so a packet to it is answered by whichever leaf its
// hop leads to; leaves route everything back through X. A source stack S hangs off X on
// link 0 (10.0.100.2 / 2001:db8:100::2) for forwarding tests.
struct Fan {
  static constexpr size_t kMax = 4;
  size_t n;
  SplitMix64 rx{21}, rs{22};
  std::vector<std::unique_ptr<SplitMix64>> rl;
  MemLink x_s, s_x;                   // X <-> S
  MemLink x_l[kMax], l_x[kMax];       // X <-> leaf k-1
  std::unique_ptr<Stack> x, s;
  std::vector<std::unique_ptr<Stack>> leaf;
  uint32_t xs = 0, sx = 0, xl[kMax]{}, lx[kMax]{};
  Instant now{std::chrono::seconds(100)};

  explicit Fan(size_t leaves, bool forward = true) : n(leaves) {
    Tuning t;
    t.dad_transmits = 0;
    t.router_solicitations = 0;
    Tuning tx = t;
    tx.forward_v4 = tx.forward_v6 = forward;
    x = Stack::create({rx, tx});
    s = Stack::create({rs, t});
    MemLink::connect(x_s, s_x);
    xs = uint32_t(x->add_interface(x_s, mac(0x10)));
    sx = uint32_t(s->add_interface(s_x, mac(0x11)));
    EXPECT_EQ(x->add_address(xs, cidr("10.0.100.1/24")), 0);
    EXPECT_EQ(s->add_address(sx, cidr("10.0.100.2/24")), 0);
    EXPECT_EQ(x->add_address(xs, cidr("2001:db8:100::1/64")), 0);
    EXPECT_EQ(s->add_address(sx, cidr("2001:db8:100::2/64")), 0);
    EXPECT_EQ(s->add_route(cidr("0.0.0.0/0"), ip("10.0.100.1")), 0);
    EXPECT_EQ(s->add_route(cidr("::/0"), ip("2001:db8:100::1")), 0);
    for (size_t k = 0; k < n; ++k) {
      rl.push_back(std::make_unique<SplitMix64>(30 + k));
      leaf.push_back(Stack::create({*rl.back(), t}));
      MemLink::connect(x_l[k], l_x[k]);
      xl[k] = uint32_t(x->add_interface(x_l[k], mac(uint8_t(0x20 + k))));
      lx[k] = uint32_t(leaf[k]->add_interface(l_x[k], mac(uint8_t(0x30 + k))));
      std::string net = std::to_string(k + 1);
      EXPECT_EQ(x->add_address(xl[k], cidr(("10.0." + net + ".1/24").c_str())), 0);
      EXPECT_EQ(leaf[k]->add_address(lx[k], cidr(("10.0." + net + ".2/24").c_str())), 0);
      EXPECT_EQ(x->add_address(xl[k], cidr(("2001:db8:" + net + "::1/64").c_str())), 0);
      EXPECT_EQ(leaf[k]->add_address(lx[k], cidr(("2001:db8:" + net + "::2/64").c_str())), 0);
      EXPECT_EQ(leaf[k]->add_address(lx[k], cidr("10.9.0.1/32")), 0);
      EXPECT_EQ(leaf[k]->add_address(lx[k], cidr("2001:db8:9::1/128")), 0);
      EXPECT_EQ(leaf[k]->add_route(cidr("0.0.0.0/0"), ip(("10.0." + net + ".1").c_str())), 0);
      EXPECT_EQ(leaf[k]->add_route(cidr("::/0"), ip(("2001:db8:" + net + "::1").c_str())), 0);
    }
    advance(2s);
    resolve();
  }
  // Every neighbour entry filled (X's towards S and the leaves, S's towards X), so that
  // bursts leave at once instead of overflowing the 8-packet resolution queue.
  void resolve() {
    auto poke = [](Stack& from, const char* to) {
      from.impl().ip_output(IpAddr(from.source_for(ip(to))), ip(to), 17, std::vector<uint8_t>(8), {});
    };
    for (const char* a : {"10.0.100.2", "2001:db8:100::2"}) poke(*x, a);
    for (const char* a : {"10.0.100.1", "2001:db8:100::1"}) poke(*s, a);
    for (size_t k = 0; k < n; ++k) {
      std::string net = std::to_string(k + 1);
      poke(*x, ("10.0." + net + ".2").c_str());
      poke(*x, ("2001:db8:" + net + "::2").c_str());
    }
    advance(1s);
  }
  // Hop k (0-based) as the leaf's address on X's link k.
  NextHop hop(size_t k, uint16_t weight, bool v6 = false) const {
    std::string net = std::to_string(k + 1);
    return {ip((v6 ? "2001:db8:" + net + "::2" : "10.0." + net + ".2").c_str()), xl[k], weight};
  }
  bool idle() const {
    if (!x_s.rx.empty() || !s_x.rx.empty()) return false;
    for (size_t k = 0; k < n; ++k)
      if (!x_l[k].rx.empty() || !l_x[k].rx.empty()) return false;
    return true;
  }
  void pump() {
    for (int i = 0; i < 1000; ++i) {
      x->poll(now);
      s->poll(now);
      for (auto& l : leaf) l->poll(now);
      if (idle()) return;
    }
    ADD_FAILURE() << "not idle";
  }
  void advance(Duration d) {
    Instant end = now + d;
    pump();
    for (int i = 0; i < 100000 && now < end; ++i) {
      Instant next = std::min({x->next_deadline(), s->next_deadline(), end});
      for (auto& l : leaf) next = std::min(next, l->next_deadline());
      now = std::max(now, next);
      pump();
    }
  }
  void clear_sent() {
    for (size_t k = 0; k < n; ++k) x_l[k].sent.clear();
  }
};

// Frames of protocol `proto` to `dst` that X sent on each leaf link, keyed by the
// transport source port (ICMP: none, 0).
struct PortCount {
  std::map<uint16_t, std::set<size_t>> links_of;  // source port -> links it left on
  std::vector<size_t> per_link;
};
PortCount count_sent(const Fan& f, uint8_t proto) {
  PortCount c;
  c.per_link.assign(f.n, 0);
  for (size_t k = 0; k < f.n; ++k)
    for (auto& fr : f.x_l[k].sent) {
      if (fr.size() < 14 + 40) continue;
      const uint8_t* p = fr.data() + 14;
      uint16_t et = uint16_t(fr[12] << 8 | fr[13]);
      size_t l4 = 0;
      if (et == 0x0800 && p[9] == proto) l4 = size_t(p[0] & 15) * 4;
      else if (et == 0x86dd && p[6] == proto) l4 = 40;
      else continue;
      ++c.per_link[k];
      c.links_of[uint16_t(p[l4] << 8 | p[l4 + 1])].insert(k);
    }
  return c;
}

// A UDP header (ports, length; checksum 0) and a byte, for ip_output.
std::vector<uint8_t> udp(uint16_t sport, uint16_t dport) {
  return {uint8_t(sport >> 8), uint8_t(sport), uint8_t(dport >> 8), uint8_t(dport), 0, 9, 0, 0, 'x'};
}

TEST(Multipath, WeightsSpreadFlowsAndOneFlowKeepsItsHop) {
  Fan f(3, false);
  std::vector<NextHop> hops{f.hop(0, 1), f.hop(1, 2), f.hop(2, 5)};
  ASSERT_EQ(f.x->set_multipath_route(cidr("10.9.0.0/16"), hops), 0);
  f.clear_sent();
  constexpr size_t kFlows = 4000;
  for (size_t i = 0; i < kFlows; ++i)
    ASSERT_EQ(f.x->impl().ip_output(ip("10.0.100.1"), ip("10.9.0.1"), 17,
                                    udp(uint16_t(10000 + i), 53), {}), 0);
  f.pump();
  PortCount c = count_sent(f, 17);
  ASSERT_EQ(c.per_link[0] + c.per_link[1] + c.per_link[2], kFlows);
  // Shares 1/8, 2/8, 5/8; a binomial's standard deviation here is at most ~31 flows.
  const double want[3] = {1.0 / 8, 2.0 / 8, 5.0 / 8};
  for (size_t k = 0; k < 3; ++k)
    EXPECT_NEAR(double(c.per_link[k]) / kFlows, want[k], 0.03) << "link " << k;
  // The same flow, again and again: always the hop it took the first time.
  std::map<uint16_t, size_t> first;
  for (auto& [port, links] : c.links_of) first[port] = *links.begin();
  f.clear_sent();
  for (int rep = 0; rep < 5; ++rep)
    for (uint16_t i = 0; i < 200; ++i)
      ASSERT_EQ(f.x->impl().ip_output(ip("10.0.100.1"), ip("10.9.0.1"), 17, udp(uint16_t(10000 + i), 53), {}), 0);
  f.pump();
  c = count_sent(f, 17);
  ASSERT_EQ(c.links_of.size(), 200u);
  for (auto& [port, links] : c.links_of) {
    ASSERT_EQ(links.size(), 1u) << "port " << port;
    EXPECT_EQ(*links.begin(), first[port]) << "port " << port;
  }
  // Another destination port is another flow: over many, every hop is used.
  EXPECT_GT(c.per_link[0], 0u);
  EXPECT_GT(c.per_link[2], c.per_link[0]);
}

TEST(Multipath, ListedReplacedAndRemoved) {
  Fan f(3, false);
  size_t before = f.x->routes().size();
  ASSERT_EQ(f.x->set_multipath_route(cidr("10.9.1.2/16"), std::vector<NextHop>{f.hop(0, 3), f.hop(1, 1)}), 0);
  auto find = [&](RouteInfo::Origin o) -> std::optional<RouteInfo> {
    for (auto& r : f.x->routes())
      if (r.dest == cidr("10.9.0.0/16") && r.origin == o) return r;
    return std::nullopt;
  };
  auto r = find(RouteInfo::Origin::Mesh);
  ASSERT_TRUE(r);  // host bits cleared, origin Mesh by default
  EXPECT_EQ(r->nexthops, (std::vector<NextHop>{f.hop(0, 3), f.hop(1, 1)}));
  EXPECT_TRUE(r->gateway.is_unspecified());
  EXPECT_EQ(r->ifindex, 0u);
  // Flow-less lookups take the hop of highest weight.
  auto ch = f.x->lookup_route(ip("10.9.0.1"));
  ASSERT_TRUE(ch);
  EXPECT_EQ(ch->ifindex, f.xl[0]);
  EXPECT_EQ(ch->gateway, ip("10.0.1.2"));
  EXPECT_EQ(f.x->route_interface(ip("10.9.0.1")), f.xl[0]);
  EXPECT_EQ(f.x->source_for(ip("10.9.0.1")), ip("10.0.1.1"));
  // Replace: one route still, the new hops only, and traffic follows them.
  ASSERT_EQ(f.x->set_multipath_route(cidr("10.9.0.0/16"), std::vector<NextHop>{f.hop(2, 7)}, RouteInfo::Origin::Mesh, 5), 0);
  EXPECT_EQ(f.x->routes().size(), before + 1);
  r = find(RouteInfo::Origin::Mesh);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->nexthops, std::vector<NextHop>{f.hop(2, 7)});
  EXPECT_EQ(r->metric, 5u);
  f.clear_sent();
  for (uint16_t i = 0; i < 50; ++i)
    ASSERT_EQ(f.x->impl().ip_output(ip("10.0.3.1"), ip("10.9.0.1"), 17, udp(uint16_t(2000 + i), 53), {}), 0);
  f.pump();
  EXPECT_EQ(count_sent(f, 17).per_link, (std::vector<size_t>{0, 0, 50}));
  // Remove: gone, and the destination is unreachable (counted).
  ASSERT_EQ(f.x->set_multipath_route(cidr("10.9.0.0/16"), {}), 0);
  EXPECT_EQ(f.x->set_multipath_route(cidr("10.9.0.0/16"), {}), -ESRCH);
  EXPECT_FALSE(find(RouteInfo::Origin::Mesh));
  EXPECT_EQ(f.x->routes().size(), before);
  uint64_t nr = f.x->counters().ipv4_no_route;
  EXPECT_EQ(f.x->impl().ip_output(ip("10.0.3.1"), ip("10.9.0.1"), 17, udp(1, 53), {}), -ENETUNREACH);
  EXPECT_EQ(f.x->counters().ipv4_no_route, nr + 1);
  EXPECT_FALSE(f.x->lookup_route(ip("10.9.0.1")));
}

TEST(Multipath, DeadHopsAreSkippedThenFallBackToLessSpecific) {
  Fan f(3, false);
  ASSERT_EQ(f.x->add_route(cidr("0.0.0.0/0"), ip("10.0.1.2")), 0);
  ASSERT_EQ(f.x->set_multipath_route(cidr("10.9.0.0/16"), std::vector<NextHop>{f.hop(1, 1), f.hop(2, 1)}), 0);
  auto send_flows = [&] {
    f.resolve();
    f.clear_sent();
    for (uint16_t i = 0; i < 200; ++i)
      EXPECT_EQ(f.x->impl().ip_output(ip("10.0.100.1"), ip("10.9.0.1"), 17, udp(uint16_t(3000 + i), 53), {}), 0);
    f.advance(2s);  // neighbours resolve on links that came back
    return count_sent(f, 17).per_link;
  };
  auto both = send_flows();
  EXPECT_EQ(both[0], 0u);
  EXPECT_GT(both[1], 50u);
  EXPECT_GT(both[2], 50u);
  ASSERT_EQ(f.x->set_link_up(f.xl[2], false), 0);  // one hop down: the other takes all
  EXPECT_EQ(send_flows(), (std::vector<size_t>{0, 200, 0}));
  ASSERT_EQ(f.x->set_link_up(f.xl[1], false), 0);  // all down: the default route
  EXPECT_EQ(send_flows(), (std::vector<size_t>{200, 0, 0}));
  EXPECT_EQ(f.x->route_interface(ip("10.9.0.1")), f.xl[0]);
  ASSERT_EQ(f.x->set_link_up(f.xl[1], true), 0);
  ASSERT_EQ(f.x->set_link_up(f.xl[2], true), 0);
  EXPECT_EQ(send_flows(), both);  // the same flows take the same hops again
  // With no less specific route, all hops down is no route at all.
  ASSERT_EQ(f.x->remove_route(cidr("0.0.0.0/0"), ip("10.0.1.2")), 0);
  ASSERT_EQ(f.x->set_link_up(f.xl[1], false), 0);
  ASSERT_EQ(f.x->set_link_up(f.xl[2], false), 0);
  EXPECT_EQ(f.x->impl().ip_output(ip("10.0.100.1"), ip("10.9.0.1"), 17, udp(1, 53), {}), -ENETUNREACH);
  // An interface that goes away takes its hops; the last hop takes the route.
  ASSERT_EQ(f.x->set_link_up(f.xl[1], true), 0);
  ASSERT_EQ(f.x->remove_interface(f.xl[2]), 0);
  auto hops_of = [&] {
    for (auto& r : f.x->routes())
      if (r.origin == RouteInfo::Origin::Mesh) return r.nexthops;
    return std::vector<NextHop>{};
  };
  EXPECT_EQ(hops_of(), std::vector<NextHop>{f.hop(1, 1)});
  ASSERT_EQ(f.x->remove_interface(f.xl[1]), 0);
  EXPECT_TRUE(hops_of().empty());
  EXPECT_EQ(f.x->flush_routes(RouteInfo::Origin::Mesh), 0u);
}

TEST(Multipath, RouterRoutesNeverReplaceStaticOnes) {
  Fan f(3, false);
  ASSERT_EQ(f.x->add_route(cidr("10.9.0.0/16"), ip("10.0.1.2")), 0);
  ASSERT_EQ(f.x->set_multipath_route(cidr("10.9.0.0/16"), std::vector<NextHop>{f.hop(1, 1), f.hop(2, 1)}), 0);
  size_t statics = 0, mesh = 0;
  for (auto& r : f.x->routes())
    if (r.dest == cidr("10.9.0.0/16")) ++(r.origin == RouteInfo::Origin::Mesh ? mesh : statics);
  EXPECT_EQ(statics, 1u);
  EXPECT_EQ(mesh, 1u);
  // Same prefix and metric: the static route wins.
  EXPECT_EQ(f.x->route_interface(ip("10.9.0.1")), f.xl[0]);
  // A static multipath route is another route again, and replaces only its own kind.
  ASSERT_EQ(f.x->set_multipath_route(cidr("10.9.0.0/16"), std::vector<NextHop>{f.hop(2, 1)}, RouteInfo::Origin::Static, 10), 0);
  ASSERT_EQ(f.x->set_multipath_route(cidr("10.9.0.0/16"), {}, RouteInfo::Origin::Static), 0);
  // Removing the router's route leaves the static one; removing the static (single-path)
  // route leaves the router's, which then carries the traffic.
  ASSERT_EQ(f.x->set_multipath_route(cidr("10.9.0.0/16"), {}), 0);
  EXPECT_EQ(f.x->route_interface(ip("10.9.0.1")), f.xl[0]);
  ASSERT_EQ(f.x->set_multipath_route(cidr("10.9.0.0/16"), std::vector<NextHop>{f.hop(2, 1)}), 0);
  EXPECT_EQ(f.x->remove_route(cidr("10.9.0.0/16"), IpAddr(Ipv4Addr{})), 0);
  EXPECT_EQ(f.x->remove_route(cidr("10.9.0.0/16"), IpAddr(Ipv4Addr{})), -ESRCH);  // not the router's
  EXPECT_EQ(f.x->route_interface(ip("10.9.0.1")), f.xl[2]);
  // A lower metric still beats a more specific origin preference; a longer prefix beats all.
  ASSERT_EQ(f.x->add_route(cidr("10.9.0.0/16"), ip("10.0.2.2"), 0, 7), 0);
  EXPECT_EQ(f.x->route_interface(ip("10.9.0.1")), f.xl[2]);  // mesh has metric 0
  ASSERT_EQ(f.x->add_route(cidr("10.9.0.0/24"), ip("10.0.2.2"), 0, 7), 0);
  EXPECT_EQ(f.x->route_interface(ip("10.9.0.1")), f.xl[1]);
  // A router that stops takes its routes, and only its routes.
  ASSERT_EQ(f.x->set_multipath_route(cidr("10.8.0.0/16"), std::vector<NextHop>{f.hop(0, 1)}), 0);
  EXPECT_EQ(f.x->flush_routes(RouteInfo::Origin::Mesh), 2u);
  EXPECT_EQ(f.x->route_interface(ip("10.9.0.1")), f.xl[1]);
  EXPECT_EQ(f.x->route_interface(ip("10.8.0.1")), 0u);
}

TEST(Multipath, InvalidRoutesAreRefused) {
  Fan f(2, false);
  auto set = [&](std::vector<NextHop> h, RouteInfo::Origin o = RouteInfo::Origin::Mesh) {
    return f.x->set_multipath_route(cidr("10.9.0.0/16"), h, o);
  };
  std::vector<NextHop> many;
  for (size_t i = 0; i <= kMaxNextHops; ++i)
    many.push_back({IpAddr(Ipv4Addr{{10, 0, 1, uint8_t(10 + i)}}), f.xl[0], 1});
  EXPECT_EQ(set(many), -EINVAL);
  many.pop_back();
  EXPECT_EQ(set(many), 0);  // exactly kMaxNextHops
  EXPECT_EQ(set({f.hop(0, 0)}), -EINVAL);
  EXPECT_EQ(set({f.hop(0, kMaxNextHopWeight + 1)}), -EINVAL);
  EXPECT_EQ(set({f.hop(0, kMaxNextHopWeight)}), 0);
  EXPECT_EQ(set({f.hop(0, 1), f.hop(0, 2)}), -EINVAL);                  // same hop twice
  EXPECT_EQ(set({{ip("10.0.1.2"), 99, 1}}), -ENODEV);
  EXPECT_EQ(set({{ip("127.0.0.2"), Stack::kLoopbackIfindex, 1}}), -EINVAL);
  EXPECT_EQ(set({{ip("192.168.7.1"), 0, 1}}), -ENETUNREACH);           // not on a connected net
  EXPECT_EQ(set({{ip("10.0.2.2"), 0, 1}}), 0);                          // interface found from it
  EXPECT_EQ(set({f.hop(0, 1, true)}), -EINVAL);                         // v6 hop, v4 route
  EXPECT_EQ(set({f.hop(0, 1)}, RouteInfo::Origin::Connected), -EINVAL);
  EXPECT_EQ(set({f.hop(0, 1)}, RouteInfo::Origin::RouterAdvert), -EINVAL);
  EXPECT_EQ(set({{IpAddr(Ipv4Addr{}), 0, 1}}), -EINVAL);               // on-link needs an interface
  EXPECT_EQ(set({{IpAddr(Ipv4Addr{}), f.xl[1], 1}}), 0);               // on-link through xl[1]
  EXPECT_EQ(f.x->route_interface(ip("10.9.0.1")), f.xl[1]);
  auto ch = f.x->lookup_route(ip("10.9.0.1"));
  ASSERT_TRUE(ch);
  EXPECT_TRUE(ch->gateway.is_unspecified());
}

// Runs `conns` TCP connections from `from` (a Fan stack) to [dst]:80 served by every leaf,
// 20 KB each, and checks that each connection's segments left X by one link only.
void tcp_through_hops(Fan& f, Stack& from, const char* dst, size_t conns) {
  auto fam = ip(dst).family;
  std::vector<TcpSocket> lst;
  for (auto& l : f.leaf) {
    lst.push_back(l->tcp_socket());
    ASSERT_EQ(lst.back().bind({unspecified_of(fam), 80}), 0);
    ASSERT_EQ(lst.back().listen(64), 0);
  }
  std::vector<TcpSocket> cli;
  for (size_t i = 0; i < conns; ++i) {
    cli.push_back(from.tcp_socket());
    int rc = cli.back().connect({ip(dst), 80});
    ASSERT_TRUE(rc == 0 || rc == -EINPROGRESS) << rc;
  }
  f.advance(100ms);
  std::vector<TcpSocket> srv;
  std::vector<size_t> accepted(f.n, 0);
  for (size_t k = 0; k < f.n; ++k)
    for (;;) {
      TcpSocket s;
      if (lst[k].accept(&s) != 0) break;
      srv.push_back(std::move(s));
      ++accepted[k];
    }
  ASSERT_EQ(srv.size(), conns);
  for (size_t k = 0; k < f.n; ++k) EXPECT_GT(accepted[k], 0u) << "leaf " << k << " got no connection";
  std::vector<uint8_t> data(20000, 0x42), buf(65536);
  std::vector<size_t> sent(conns, 0);
  size_t got = 0;
  for (int round = 0; round < 2000 && got < conns * data.size(); ++round) {
    for (size_t i = 0; i < conns; ++i)
      if (sent[i] < data.size()) {
        int64_t w = cli[i].send(std::span<const uint8_t>(data).subspan(sent[i]));
        if (w > 0) sent[i] += size_t(w);
      }
    f.advance(1ms);
    for (auto& s : srv)
      for (int64_t r; (r = s.recv(buf)) > 0;) got += size_t(r);
  }
  EXPECT_EQ(got, conns * data.size());
  PortCount c = count_sent(f, 6);
  EXPECT_EQ(c.links_of.size(), conns);
  for (auto& [port, links] : c.links_of) EXPECT_EQ(links.size(), 1u) << "source port " << port;
  for (auto& l : f.leaf) EXPECT_EQ(l->counters().tcp_bad_checksum, 0u);
  for (auto& s : cli) s.abort();
  for (auto& s : srv) s.abort();
}

TEST(Multipath, LocalTcpConnectionsKeepOneHopV4V6) {
  for (bool v6 : {false, true}) {
    Fan f(3, false);
    ASSERT_EQ(f.x->set_multipath_route(cidr(v6 ? "2001:db8:9::/48" : "10.9.0.0/16"),
                                       std::vector<NextHop>{f.hop(0, 1, v6), f.hop(1, 1, v6), f.hop(2, 1, v6)}), 0);
    tcp_through_hops(f, *f.x, v6 ? "2001:db8:9::1" : "10.9.0.1", 24);
  }
}

TEST(Multipath, ForwardedFlowsAreSpreadAndKeepOneHopV4V6) {
  for (bool v6 : {false, true}) {
    Fan f(3, true);
    ASSERT_EQ(f.x->set_multipath_route(cidr(v6 ? "2001:db8:9::/48" : "10.9.0.0/16"),
                                       std::vector<NextHop>{f.hop(0, 1, v6), f.hop(1, 1, v6), f.hop(2, 2, v6)}), 0);
    tcp_through_hops(f, *f.s, v6 ? "2001:db8:9::1" : "10.9.0.1", 24);
    EXPECT_GT(v6 ? f.x->counters().ipv6_forwarded : f.x->counters().ipv4_forwarded, 24u * 10);
    // UDP from S: spread too, one hop per flow, delivered to the leaf behind that hop.
    f.clear_sent();
    std::vector<std::unique_ptr<UdpSocket>> srv;
    for (auto& l : f.leaf) {
      srv.push_back(l->udp_socket(ip(v6 ? "::" : "0.0.0.0").family));
      ASSERT_EQ(srv.back()->bind({ip(v6 ? "::" : "0.0.0.0"), 53}), 0);
    }
    std::vector<std::unique_ptr<UdpSocket>> cli;
    for (int i = 0; i < 300; ++i) {
      cli.push_back(f.s->udp_socket(ip(v6 ? "::" : "0.0.0.0").family));
      for (int rep = 0; rep < 3; ++rep)
        ASSERT_EQ(cli.back()->sendto(bytes("q"), Endpoint{ip(v6 ? "2001:db8:9::1" : "10.9.0.1"), 53}), 1);
    }
    f.pump();
    PortCount c = count_sent(f, 17);
    EXPECT_EQ(c.links_of.size(), 300u);
    for (auto& [port, links] : c.links_of) EXPECT_EQ(links.size(), 1u) << "source port " << port;
    EXPECT_NEAR(double(c.per_link[2]) / 900, 0.5, 0.1);
    size_t delivered = 0;
    uint8_t b[4];
    for (auto& s : srv)
      while (s->recv(b) == 1) ++delivered;
    EXPECT_EQ(delivered, 900u);
  }
}

// Fragments of one forwarded datagram take one hop (addresses-only hash), and reach the
// leaf behind it, which reassembles them.
TEST(Multipath, ForwardedFragmentsStayTogether) {
  Fan f(3, true);
  ASSERT_EQ(f.x->set_multipath_route(cidr("10.9.0.0/16"), std::vector<NextHop>{f.hop(0, 1), f.hop(1, 1), f.hop(2, 1)}), 0);
  std::vector<std::unique_ptr<UdpSocket>> srv;
  for (auto& l : f.leaf) {
    srv.push_back(l->udp_socket(IpAddr::Family::V4));
    ASSERT_EQ(srv.back()->bind({ip("0.0.0.0"), 99}), 0);
  }
  auto cli = f.s->udp_socket(IpAddr::Family::V4);
  std::vector<uint8_t> big(4000, 7), buf(5000);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(cli->sendto(big, Endpoint{ip("10.9.0.1"), 99}), 4000);
  f.pump();
  size_t got = 0;
  for (auto& s : srv)
    while (s->recv(buf) == 4000) ++got;
  EXPECT_EQ(got, 5u);
  EXPECT_EQ(f.x->counters().ipv4_forwarded, 15u);  // 3 fragments each
}

}  // namespace
}  // namespace libstack::test
