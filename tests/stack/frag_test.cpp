// IPv4/IPv6 fragmentation and reassembly: order, duplicates, overlap, oversize, timeout,
// memory bound. Fragments are injected as hand-made frames from "A" into stack B.
#include "frames.h"

namespace libstack::test {
namespace {

struct FragFixture {
  Pair p;
  std::unique_ptr<UdpSocket> s4, s6;
  explicit FragFixture(Tuning t = {}) : p(t) {
    s4 = p.b->udp_socket(IpAddr::Family::V4);
    s6 = p.b->udp_socket(IpAddr::Family::V6);
    EXPECT_EQ(s4->bind({ip("0.0.0.0"), 9000}), 0);
    EXPECT_EQ(s6->bind({ip("::"), 9000}), 0);
  }
  void inject4(const Bytes& pkt) { p.lb.inject(eth_frame(mac(2), mac(1), wire::ethertype::kIpv4, pkt)); }
  void inject6(const Bytes& pkt) { p.lb.inject(eth_frame(mac(2), mac(1), wire::ethertype::kIpv6, pkt)); }
  // Split a UDP datagram into IPv4 fragments of `chunk` bytes.
  std::vector<Bytes> frags4(const Bytes& dgram, size_t chunk, uint16_t id) {
    std::vector<Bytes> v;
    for (size_t off = 0; off < dgram.size(); off += chunk) {
      size_t n = std::min(chunk, dgram.size() - off);
      v.push_back(v4_packet(ip("10.0.0.1"), ip("10.0.0.2"), 17,
                            std::span<const uint8_t>(dgram).subspan(off, n), id, uint16_t(off),
                            off + n < dgram.size()));
    }
    return v;
  }
  std::vector<Bytes> frags6(const Bytes& dgram, size_t chunk, uint32_t id) {
    std::vector<Bytes> v;
    for (size_t off = 0; off < dgram.size(); off += chunk) {
      size_t n = std::min(chunk, dgram.size() - off);
      v.push_back(v6_fragment(ip("2001:db8::1"), ip("2001:db8::2"), 17, id, uint16_t(off),
                              off + n < dgram.size(), std::span<const uint8_t>(dgram).subspan(off, n)));
    }
    return v;
  }
  Bytes payload(size_t n) {
    Bytes b(n);
    for (size_t k = 0; k < n; ++k) b[k] = uint8_t(k * 7);
    return b;
  }
  ssize_t recv4(Bytes& out) { out.resize(70000); auto r = s4->recv(out); if (r > 0) out.resize(size_t(r)); return r; }
  ssize_t recv6(Bytes& out) { out.resize(70000); auto r = s6->recv(out); if (r > 0) out.resize(size_t(r)); return r; }
};

TEST(Reassembly, V4OutOfOrderWithDuplicate) {
  FragFixture f;
  Bytes data = f.payload(3000);
  auto fr = f.frags4(udp_dgram(ip("10.0.0.1"), ip("10.0.0.2"), 1, 9000, data), 1000, 77);
  ASSERT_EQ(fr.size(), 4u);
  f.inject4(fr[3]);
  f.inject4(fr[1]);
  f.inject4(fr[1]);  // exact duplicate: ignored
  f.inject4(fr[0]);
  f.p.pump();
  Bytes got;
  EXPECT_EQ(f.recv4(got), -EAGAIN);
  f.inject4(fr[2]);
  f.p.pump();
  ASSERT_EQ(f.recv4(got), 3000);
  EXPECT_EQ(got, data);
  EXPECT_EQ(f.p.b->counters().ipv4_reassembled, 1u);
  EXPECT_EQ(f.p.b->counters().reasm_overlap, 0u);
  EXPECT_EQ(f.p.b->impl().reasm_bytes, 0u);
}

TEST(Reassembly, V4OverlapDropsDatagram) {
  FragFixture f;
  Bytes data = f.payload(2000);
  Bytes d = udp_dgram(ip("10.0.0.1"), ip("10.0.0.2"), 1, 9000, data);
  f.inject4(v4_packet(ip("10.0.0.1"), ip("10.0.0.2"), 17, std::span<const uint8_t>(d).first(1000), 5, 0, true));
  // Second fragment starts inside the first (offset 992) with different bytes.
  Bytes evil(d.begin() + 992, d.end());
  evil[0] ^= 0xff;
  f.inject4(v4_packet(ip("10.0.0.1"), ip("10.0.0.2"), 17, evil, 5, 992, false));
  f.p.pump();
  Bytes got;
  EXPECT_EQ(f.recv4(got), -EAGAIN);
  EXPECT_EQ(f.p.b->counters().reasm_overlap, 1u);
  EXPECT_EQ(f.p.b->impl().reasm.size(), 0u);
}

TEST(Reassembly, V4OversizeAndBadLengths) {
  FragFixture f;
  Bytes chunk(64, 1);
  // Offset 65480 + 64 > 65515: would exceed the maximum datagram.
  f.inject4(v4_packet(ip("10.0.0.1"), ip("10.0.0.2"), 17, chunk, 9, 65480, false));
  // Non-final fragment whose length is not a multiple of 8.
  f.inject4(v4_packet(ip("10.0.0.1"), ip("10.0.0.2"), 17, std::span<const uint8_t>(chunk).first(13), 10, 0, true));
  f.p.pump();
  EXPECT_EQ(f.p.b->counters().ipv4_bad_length + f.p.b->counters().reasm_oversize, 1u);
  EXPECT_EQ(f.p.b->counters().reasm_bad_length, 1u);
  EXPECT_EQ(f.p.b->impl().reasm.size(), 0u);
}

TEST(Reassembly, V4TimeoutSendsTimeExceeded) {
  FragFixture f;
  Bytes d = udp_dgram(ip("10.0.0.1"), ip("10.0.0.2"), 1, 9000, f.payload(2000));
  auto fr = f.frags4(d, 1000, 42);
  f.inject4(fr[0]);
  f.p.pump();
  EXPECT_EQ(f.p.b->impl().reasm.size(), 1u);
  EXPECT_LT(f.p.b->next_deadline(), f.p.now + 31s);
  f.p.advance(31s);
  EXPECT_EQ(f.p.b->counters().reasm_timeout, 1u);
  EXPECT_EQ(f.p.b->impl().reasm.size(), 0u);
  EXPECT_EQ(f.p.b->counters().icmp_errors_tx, 1u);
  EXPECT_EQ(f.p.a->counters().icmp_errors_rx, 1u);
  // The late rest starts a new (incomplete) datagram; nothing delivered.
  f.inject4(fr[1]);
  f.inject4(fr[2]);
  f.p.pump();
  Bytes got;
  EXPECT_EQ(f.recv4(got), -EAGAIN);
}

TEST(Reassembly, MemoryBound) {
  Tuning t;
  t.reasm_mem_limit = 16 * 1024;
  t.reasm_max_datagrams = 1000;
  FragFixture f(t);
  Bytes chunk(1024, 3);
  for (uint16_t id = 0; id < 200; ++id) {
    f.inject4(v4_packet(ip("10.0.0.1"), ip("10.0.0.2"), 17, chunk, id, 0, true));
    f.inject6(v6_fragment(ip("2001:db8::1"), ip("2001:db8::2"), 17, id, 0, true, chunk));
    f.p.pump();
    ASSERT_LE(f.p.b->impl().reasm_bytes, t.reasm_mem_limit);
  }
  EXPECT_GE(f.p.b->counters().reasm_overflow, 400u - 16u);
  // Datagram count bound.
  Tuning t2;
  t2.reasm_max_datagrams = 4;
  FragFixture g(t2);
  for (uint16_t id = 0; id < 10; ++id) g.inject4(v4_packet(ip("10.0.0.1"), ip("10.0.0.2"), 17, chunk, id, 0, true));
  g.p.pump();
  EXPECT_EQ(g.p.b->impl().reasm.size(), 4u);
  EXPECT_EQ(g.p.b->counters().reasm_overflow, 6u);
}

TEST(Reassembly, V6OutOfOrderOverlapTimeout) {
  FragFixture f;
  Bytes data = f.payload(2500);
  Bytes d = udp_dgram(ip("2001:db8::1"), ip("2001:db8::2"), 1, 9000, data);
  auto fr = f.frags6(d, 1024, 0xabcdef);
  ASSERT_EQ(fr.size(), 3u);
  f.inject6(fr[2]);
  f.inject6(fr[0]);
  f.inject6(fr[1]);
  f.p.pump();
  Bytes got;
  ASSERT_EQ(f.recv6(got), 2500);
  EXPECT_EQ(got, data);
  EXPECT_EQ(f.p.b->counters().ipv6_reassembled, 1u);
  // Overlap (RFC 5722): whole datagram discarded.
  f.inject6(v6_fragment(ip("2001:db8::1"), ip("2001:db8::2"), 17, 9, 0, true, std::span<const uint8_t>(d).first(1024)));
  f.inject6(v6_fragment(ip("2001:db8::1"), ip("2001:db8::2"), 17, 9, 1016, false, std::span<const uint8_t>(d).subspan(1016)));
  f.p.pump();
  EXPECT_EQ(f.recv6(got), -EAGAIN);
  EXPECT_EQ(f.p.b->counters().reasm_overlap, 1u);
  // Timeout after 60 s with ICMPv6 time exceeded (code 1).
  f.inject6(fr[0]);
  f.p.pump();
  f.p.advance(59s);
  EXPECT_EQ(f.p.b->counters().reasm_timeout, 0u);
  f.p.advance(2s);
  EXPECT_EQ(f.p.b->counters().reasm_timeout, 1u);
  EXPECT_EQ(f.p.a->counters().icmp_errors_rx, 1u);
}

TEST(Reassembly, V6AtomicFragmentAndOversize) {
  FragFixture f;
  Bytes d = udp_dgram(ip("2001:db8::1"), ip("2001:db8::2"), 1, 9000, bytes("atomic"));
  f.inject6(v6_fragment(ip("2001:db8::1"), ip("2001:db8::2"), 17, 1, 0, false, d));
  Bytes big(64, 0);
  f.inject6(v6_fragment(ip("2001:db8::1"), ip("2001:db8::2"), 17, 2, 65480, false, big));
  f.p.pump();
  Bytes got;
  EXPECT_EQ(f.recv6(got), 6);
  EXPECT_EQ(f.p.b->counters().reasm_oversize, 1u);
}

TEST(Fragmentation, LocalSendsAreFragmentedAndReassembled) {
  FragFixture f;
  Bytes data = f.payload(5000);
  auto c4 = f.p.a->udp_socket(IpAddr::Family::V4);
  auto c6 = f.p.a->udp_socket(IpAddr::Family::V6);
  ASSERT_EQ(c4->sendto(data, Endpoint{ip("10.0.0.2"), 9000}), 5000);
  ASSERT_EQ(c6->sendto(data, Endpoint{ip("2001:db8::2"), 9000}), 5000);
  f.p.pump();
  Bytes got;
  ASSERT_EQ(f.recv4(got), 5000);
  EXPECT_EQ(got, data);
  ASSERT_EQ(f.recv6(got), 5000);
  EXPECT_EQ(got, data);
  EXPECT_EQ(f.p.a->counters().ipv4_fragments_tx, 4u);  // 1480 * 3 + 548 (5008 bytes of UDP)
  EXPECT_EQ(f.p.a->counters().ipv6_fragments_tx, 4u);  // 1448 * 3 + 664
  for (auto& fr : f.p.la.sent) EXPECT_LE(fr.size(), 1514u);
  // Maximum UDP payload over loopback-free path, and just above it.
  Bytes max(65507, 1);
  EXPECT_EQ(c4->sendto(max, Endpoint{ip("10.0.0.2"), 9000}), 65507);
  max.push_back(1);
  EXPECT_EQ(c4->sendto(max, Endpoint{ip("10.0.0.2"), 9000}), -EMSGSIZE);
  f.p.pump();
  ASSERT_EQ(f.recv4(got), 65507);
}

}  // namespace
}  // namespace libstack::test
