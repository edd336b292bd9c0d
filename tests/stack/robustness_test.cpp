// Robustness and scale: malformed-frame floods, 10,000 stacks in one process, isolation
// between stacks, memory per idle stack, router advertisement handling.
#include <malloc.h>

#include <cstdio>

#include "frames.h"

namespace libstack::test {
namespace {

std::vector<Bytes> valid_frames(Pair& p) {
  std::vector<Bytes> v;
  IpAddr a4 = ip("10.0.0.1"), b4 = ip("10.0.0.2"), a6 = ip("2001:db8::1"), b6 = ip("2001:db8::2");
  Bytes arp(28);
  wire::ArpRepr ar;
  ar.sha = mac(1);
  ar.spa = a4.v4();
  ar.tpa = b4.v4();
  ar.emit(arp);
  v.push_back(eth_frame(mac(2), mac(1), wire::ethertype::kArp, arp));
  Bytes u4 = udp_dgram(a4, b4, 1000, 7, bytes("payload-4"));
  v.push_back(eth_frame(mac(2), mac(1), wire::ethertype::kIpv4, v4_packet(a4, b4, 17, u4)));
  Bytes u6 = udp_dgram(a6, b6, 1000, 7, bytes("payload-6"));
  v.push_back(eth_frame(mac(2), mac(1), wire::ethertype::kIpv6, v6_packet(a6, b6, 17, u6)));
  Bytes echo = {8, 0, 0, 0, 0, 1, 0, 1, 'x', 'y'};
  wire::wr16(echo.data() + 2, wire::checksum(echo));
  v.push_back(eth_frame(mac(2), mac(1), wire::ethertype::kIpv4, v4_packet(a4, b4, 1, echo)));
  Bytes echo6 = {128, 0, 0, 0, 0, 1, 0, 1, 'x', 'y'};
  wire::wr16(echo6.data() + 2, wire::transport_checksum(a6, b6, 58, echo6));
  v.push_back(eth_frame(mac(2), mac(1), wire::ethertype::kIpv6, v6_packet(a6, b6, 58, echo6)));
  // NS for B's address with SLLA.
  Bytes ns(8 + 16 + 8);
  ns[0] = 135;
  std::copy(b6.b.begin(), b6.b.end(), ns.begin() + 8);
  wire::NdpOptions::emit_lladdr(std::span<uint8_t>(ns).subspan(24), 1, mac(1));
  wire::wr16(ns.data() + 2, wire::transport_checksum(a6, b6, 58, ns));
  v.push_back(eth_frame(mac(2), mac(1), wire::ethertype::kIpv6, v6_packet(a6, b6, 58, ns, 255)));
  // Fragments, TCP SYN, extension header chain.
  Bytes big = udp_dgram(a4, b4, 1000, 7, Bytes(100, 9));
  v.push_back(eth_frame(mac(2), mac(1), wire::ethertype::kIpv4,
                        v4_packet(a4, b4, 17, std::span<const uint8_t>(big).first(64), 3, 0, true)));
  v.push_back(eth_frame(mac(2), mac(1), wire::ethertype::kIpv6,
                        v6_fragment(a6, b6, 17, 3, 0, true, std::span<const uint8_t>(u6).first(8))));
  const uint8_t ext[16] = {wire::ipproto::kIpv6Opts, 0, 1, 4, 0, 0, 0, 0, 17, 0, 0x1e, 4, 0, 0, 0, 0};
  Bytes hbh(16 + u6.size());
  for (size_t k = 0; k < hbh.size(); ++k) hbh[k] = k < 16 ? ext[k] : u6[k - 16];
  v.push_back(eth_frame(mac(2), mac(1), wire::ethertype::kIpv6, v6_packet(a6, b6, 0, hbh)));
  (void)p;
  return v;
}

TEST(Robustness, TruncatedAndCorruptedFloodLeavesStackAlive) {
  Pair p;
  auto frames = valid_frames(p);
  // 1. Every truncation of every valid frame.
  for (auto& f : frames)
    for (size_t n = 0; n < f.size(); ++n) p.lb.inject(std::span<const uint8_t>(f).first(n));
  p.pump();
  const Counters& c = p.b->counters();
  EXPECT_GT(c.eth_truncated, 0u);
  EXPECT_GT(c.ipv4_truncated, 0u);
  EXPECT_GT(c.ipv6_truncated, 0u);
  EXPECT_GT(c.arp_malformed, 0u);
  // 2. Random byte corruption (deterministic), 20,000 frames.
  SplitMix64 rng(99);
  for (int k = 0; k < 20000; ++k) {
    Bytes f = frames[rng.below(frames.size())];
    size_t flips = 1 + rng.below(4);
    for (size_t j = 0; j < flips; ++j) {
      size_t pos = 14 + rng.below(f.size() - 14);  // keep Ethernet header so IP code is hit
      f[pos] = uint8_t(rng.next_u32());
    }
    if (rng.below(4) == 0) f.resize(14 + rng.below(f.size() - 14));
    p.lb.inject(f);
    if (k % 256 == 0) p.pump();
  }
  p.pump();
  EXPECT_GT(c.ipv4_bad_checksum, 0u);
  EXPECT_GT(c.udp_bad_checksum + c.icmp_bad_checksum, 0u);
  EXPECT_GT(c.ipv4_bad_length + c.ipv4_truncated, 0u);
  uint64_t drops = 0;
  c.for_each([&](const char* name, uint64_t v) {
    std::string n = name;
    if (n.find("bad") != std::string::npos || n.find("truncated") != std::string::npos ||
        n.find("malformed") != std::string::npos)
      drops += v;
  });
  EXPECT_GT(drops, 10000u);
  // 3. Lengths that lie: IPv4 total length 0xffff, UDP length 0xffff.
  Bytes lie = frames[1];
  wire::wr16(lie.data() + 14 + 2, 0xffff);
  p.lb.inject(lie);
  Bytes ulie = frames[1];
  wire::wr16(ulie.data() + 14 + 20 + 4, 0xffff);
  p.lb.inject(ulie);
  p.pump();
  EXPECT_GT(c.udp_bad_length, 0u);
  // Still alive: a ping round-trip works and no reassembly memory is stuck beyond limits.
  p.advance(70s);
  EXPECT_EQ(p.b->impl().reasm_bytes, 0u);
  auto s = p.a->icmp_socket(IpAddr::Family::V4);
  Bytes echo = {8, 0, 0, 0, 0, 0, 0, 1};
  ASSERT_EQ(s->sendto(echo, Endpoint{ip("10.0.0.2"), 0}), 8);
  p.pump();
  uint8_t buf[16];
  EXPECT_EQ(s->recvfrom(buf), 8);
}

TEST(Robustness, NdpValidation) {
  Pair p;
  IpAddr a6 = ip("2001:db8::1"), b6 = ip("2001:db8::2");
  Bytes ns(8 + 16);
  ns[0] = 135;
  std::copy(b6.b.begin(), b6.b.end(), ns.begin() + 8);
  wire::wr16(ns.data() + 2, wire::transport_checksum(a6, b6, 58, ns));
  uint64_t tx = p.b->counters().ndp_na_tx;
  p.lb.inject(eth_frame(mac(2), mac(1), wire::ethertype::kIpv6, v6_packet(a6, b6, 58, ns, 64)));  // hop != 255
  p.pump();
  EXPECT_EQ(p.b->counters().ndp_invalid, 1u);
  EXPECT_EQ(p.b->counters().ndp_na_tx, tx);
}

TEST(Robustness, RouterAdvertInstallsDefaultRoute) {
  Pair p;
  std::vector<uint8_t> hooked;
  uint32_t hook_if = 0;
  p.a->set_router_advert_hook([&](uint32_t ifx, const Ipv6Addr& router, std::span<const uint8_t> m) {
    hook_if = ifx;
    EXPECT_EQ(IpAddr(router), ip("fe80::1"));
    hooked.assign(m.begin(), m.end());
  });
  IpAddr r = ip("fe80::1"), all = ip("ff02::1");
  Bytes ra = {134, 0, 0, 0, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 0, 0, 0, 0, 9};
  wire::wr16(ra.data() + 2, wire::transport_checksum(r, all, 58, ra));
  p.la.inject(eth_frame(wire::multicast_mac(all), mac(9), wire::ethertype::kIpv6, v6_packet(r, all, 58, ra, 255)));
  p.pump();
  EXPECT_EQ(p.a->counters().ndp_ra_rx, 1u);
  EXPECT_EQ(hook_if, p.ia);
  EXPECT_EQ(hooked, ra);
  bool found = false;
  for (auto& rt : p.a->routes())
    if (rt.dest == cidr("::/0") && rt.gateway == r && rt.origin == RouteInfo::Origin::RouterAdvert) found = true;
  EXPECT_TRUE(found);
  EXPECT_EQ(p.a->source_for(ip("2001:4860::8888")), ip("2001:db8::1"));
}

TEST(Robustness, IcmpErrorsAreRateLimited) {
  Pair p;
  IpAddr a4 = ip("10.0.0.1"), b4 = ip("10.0.0.2");
  Bytes u = udp_dgram(a4, b4, 1000, 9999, bytes("x"));
  Bytes f = eth_frame(mac(2), mac(1), wire::ethertype::kIpv4, v4_packet(a4, b4, 17, u));
  for (int k = 0; k < 200; ++k) p.lb.inject(f);
  p.pump();
  const Counters& c = p.b->counters();
  EXPECT_EQ(c.udp_port_unreachable, 200u);
  EXPECT_EQ(c.icmp_errors_tx, p.b->tuning().icmp_error_burst);
  EXPECT_EQ(c.icmp_ratelimited, 200u - p.b->tuning().icmp_error_burst);
  p.now += 10ms;  // 1000/s refills 10 tokens
  for (int k = 0; k < 20; ++k) p.lb.inject(f);
  p.pump();
  EXPECT_EQ(c.icmp_errors_tx, p.b->tuning().icmp_error_burst + 10u);
}

TEST(Scale, TenThousandStacks) {
  SplitMix64 rng(1);
  std::vector<std::unique_ptr<Stack>> v;
  v.reserve(10000);
  size_t heap0 = mallinfo2().uordblks;
  for (int k = 0; k < 10000; ++k) v.push_back(Stack::create({rng}));
  size_t heap1 = mallinfo2().uordblks;  // 0 under ASan (its allocator does not report)
  if (heap1 > heap0) {
    std::printf("10000 stacks: measured heap %zu bytes per stack\n", (heap1 - heap0) / 10000);
    EXPECT_LE((heap1 - heap0) / 10000, 64u * 1024);
  }
  size_t total = 0;
  for (size_t k = 0; k < v.size(); ++k) {
    v[k]->poll(Instant{1});
    total += v[k]->memory_usage();
  }
  // Each stack answers on its own loopback independently.
  for (size_t k = 0; k < v.size(); k += 1000) {
    auto s = v[k]->udp_socket(IpAddr::Family::V4);
    ASSERT_EQ(s->bind({ip("127.0.0.1"), 53}), 0);
    auto c = v[k]->udp_socket(IpAddr::Family::V4);
    ASSERT_EQ(c->sendto(bytes("q"), Endpoint{ip("127.0.0.1"), 53}), 1);
    v[k]->poll(Instant{2});
    uint8_t b[4];
    EXPECT_EQ(s->recv(b), 1);
  }
  std::printf("10000 stacks: %zu bytes accounted, %zu per stack\n", total, total / v.size());
  EXPECT_LE(total / v.size(), 64u * 1024);
}

TEST(Scale, MemoryPerIdleStackWithEthernet) {
  SplitMix64 rng(1);
  MemLink l;
  auto st = Stack::create({rng});
  uint32_t i = uint32_t(st->add_interface(l, mac(1)));
  st->add_address(i, cidr("10.0.0.1/24"));
  st->add_address(i, cidr("2001:db8::1/64"));
  for (int k = 0; k < 10; ++k) st->poll(Instant{std::chrono::seconds(k)});
  size_t m = st->memory_usage();
  std::printf("sizeof(Stack)=%zu sizeof(StackImpl)=%zu idle stack with one Ethernet iface: %zu bytes\n",
              sizeof(Stack), sizeof(StackImpl), m);
  EXPECT_LE(m, 64u * 1024);
}

TEST(Isolation, TwoStacksShareNoState) {
  SplitMix64 r1(5), r2(5);
  auto s1 = Stack::create({r1});
  auto s2 = Stack::create({r2});
  auto u1 = s1->udp_socket(IpAddr::Family::V4);
  auto u2 = s2->udp_socket(IpAddr::Family::V4);
  ASSERT_EQ(u1->bind({ip("127.0.0.1"), 4242}), 0);
  ASSERT_EQ(u2->bind({ip("127.0.0.1"), 4242}), 0);  // same port in another stack: fine
  auto c = s1->udp_socket(IpAddr::Family::V4);
  ASSERT_EQ(c->sendto(bytes("only-s1"), Endpoint{ip("127.0.0.1"), 4242}), 7);
  s1->poll(Instant{1});
  s2->poll(Instant{1});
  uint8_t b[16];
  EXPECT_EQ(u1->recv(b), 7);
  EXPECT_EQ(u2->recv(b), -EAGAIN);
  uint64_t sum2 = 0;
  s2->counters().for_each([&](const char*, uint64_t v) { sum2 += v; });
  EXPECT_EQ(sum2, 0u);
  s1->tuning_mut().default_ttl = 5;
  EXPECT_EQ(s2->tuning().default_ttl, 64);
  EXPECT_EQ(s2->add_route(cidr("0.0.0.0/0"), ip("127.0.0.2"), Stack::kLoopbackIfindex), 0);
  EXPECT_EQ(s1->routes().size() + 1, s2->routes().size());
}

TEST(Lifetime, SocketOutlivingStackIsSafe) {
  SplitMix64 r(3);
  auto st = Stack::create({r});
  auto u = st->udp_socket(IpAddr::Family::V4);
  auto p = st->icmp_socket(IpAddr::Family::V6);
  st.reset();
  uint8_t b[4];
  EXPECT_EQ(u->recv(b), -EBADF);
  EXPECT_EQ(u->sendto(bytes("x"), Endpoint{ip("127.0.0.1"), 1}), -EBADF);
  EXPECT_EQ(p->bind({ip("::1"), 0}), -EBADF);
  EXPECT_TRUE(u->poll_events() & events::kHup);
}

}  // namespace
}  // namespace libstack::test
