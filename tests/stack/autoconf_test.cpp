// Autoconf on a Stack with RFC 8981 temporary addresses (config/autoconf.cpp): a router
// advertisement injected on an in-memory link, the stack's addresses and source selection
// followed over a day on a manual clock.
#include <gtest/gtest.h>

#include "frames.h"
#include "libstack/autoconf.h"
#include "libstack/crypto.h"

namespace libstack::test {
namespace {

using namespace std::chrono_literals;

// ICMPv6 RA from fe80::1 to ff02::1 with one prefix (A and L set), router lifetime 0.
Bytes ra_frame(uint32_t valid, uint32_t preferred) {
  Bytes body(8 + 32, 0);  // reachable, retrans, then the prefix information option
  uint8_t* o = body.data() + 8;
  o[0] = 3;
  o[1] = 4;
  o[2] = 64;
  o[3] = 0xc0;
  for (int i = 0; i < 4; ++i) {
    o[4 + i] = uint8_t(valid >> (24 - 8 * i));
    o[8 + i] = uint8_t(preferred >> (24 - 8 * i));
  }
  Ipv6Addr pfx = ip("2001:db8:5::").v6();
  std::copy_n(pfx.b.begin(), 16, o + 16);
  wire::Icmpv6Repr m;
  m.type = wire::icmp6::kRouterAdvert;
  m.rest = uint32_t(64) << 24;  // hop limit 64, no flags, router lifetime 0
  m.data = body;
  IpAddr src = ip("fe80::1"), dst = ip("ff02::1");
  Bytes icmp(m.len());
  m.emit(icmp, src.v6(), dst.v6());
  MacAddr all_nodes{{0x33, 0x33, 0, 0, 0, 1}};
  return eth_frame(all_nodes, mac(9), 0x86dd, v6_packet(src, dst, 58, icmp, 255));
}

struct Node {
  std::array<uint8_t, 32> key{};
  CryptoRandom rng{key};
  MemLink link, peer;
  std::unique_ptr<Stack> st;
  std::unique_ptr<Autoconf> ac;
  uint32_t ifx = 0;
  Instant now{1000s};
  explicit Node(bool temporary) {
    st = Stack::create({rng, Tuning{}});
    MemLink::connect(link, peer);
    ifx = uint32_t(st->add_interface(link, mac(1), 0, "eth0"));
    AutoconfConfig c;
    c.mac = mac(1);
    c.dhcp4 = false;
    c.slaac_temporary = temporary;
    ac = std::make_unique<Autoconf>(*st, ifx, c, rng);
    ac->start(now);
  }
  void run_until(Instant end) {
    for (int k = 0; k < 100000; ++k) {
      st->poll(now);
      ac->poll(now);
      peer.rx.clear();
      Instant nx = std::min({st->next_deadline(), ac->next_deadline(), end});
      if (now >= end && nx >= end) return;
      now = std::max(now, nx);
    }
    ADD_FAILURE() << "did not settle";
  }
  std::vector<AddressInfo> global() const {
    std::vector<AddressInfo> v;
    for (auto& a : st->addresses())
      if (a.cidr.addr.is_v6() && !a.cidr.addr.v6().is_link_local() && !a.cidr.addr.v6().is_loopback())
        v.push_back(a);
    return v;
  }
};

TEST(AutoconfTemporary, TemporaryAddressesAreUsedAndDeprecatedOnesAvoided) {
  Node n(true);
  n.run_until(n.now + 5s);
  n.link.inject(ra_frame(7 * 86400, 7 * 86400));
  n.run_until(n.now + 10s);
  auto g = n.global();
  ASSERT_EQ(g.size(), 2u);
  const AddressInfo* temp = g[0].temporary ? &g[0] : &g[1];
  const AddressInfo* stable = g[0].temporary ? &g[1] : &g[0];
  ASSERT_TRUE(temp->temporary);
  EXPECT_FALSE(stable->temporary);
  EXPECT_FALSE(temp->tentative);
  IpAddr dst = ip("2001:db8:5::99");
  EXPECT_EQ(n.st->source_for(dst), temp->cidr.addr) << "RFC 6724 rule 7";
  EXPECT_EQ(n.ac->stats().slaac_temporary_added, 1u);
  IpAddr first = temp->cidr.addr;

  // A day later the first temporary address is deprecated, its successor is in use.
  n.run_until(n.now + 24h + 1s);
  g = n.global();
  ASSERT_EQ(g.size(), 3u);
  size_t temps = 0;
  IpAddr fresh;
  for (auto& a : g) {
    if (!a.temporary) continue;
    ++temps;
    if (a.cidr.addr == first) {
      EXPECT_TRUE(a.deprecated);
    } else {
      fresh = a.cidr.addr;
      EXPECT_FALSE(a.deprecated);
    }
  }
  EXPECT_EQ(temps, 2u);
  EXPECT_EQ(n.st->source_for(dst), fresh) << "not the deprecated one (rule 3)";
  EXPECT_TRUE(n.st->is_local_address(first)) << "still valid: its connections go on";
}

TEST(AutoconfTemporary, OffByDefaultAndIdsStableNotEui64) {
  Node n(false);
  n.run_until(n.now + 5s);
  n.link.inject(ra_frame(86400, 3600));
  n.run_until(n.now + 10s);
  auto g = n.global();
  ASSERT_EQ(g.size(), 1u);
  EXPECT_FALSE(g[0].temporary);
  // mac(1) = 02:00:00:00:00:01; EUI-64 would put ff:fe in the middle.
  EXPECT_FALSE(g[0].cidr.addr.b[11] == 0xff && g[0].cidr.addr.b[12] == 0xfe);
}

}  // namespace
}  // namespace libstack::test
