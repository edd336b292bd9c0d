// Golden-byte tests for every wire parser/emitter. Expected bytes are written from the
// RFC header layouts; checksums were computed by hand (RFC 1071 one's complement sum).
#include <gtest/gtest.h>

#include <vector>

#include "wire/wire.h"

namespace libstack::wire {
namespace {

using V = std::vector<uint8_t>;

Ipv4Addr a4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {{a, b, c, d}}; }
Ipv6Addr a6(const char* s) { return *Ipv6Addr::parse(s); }

TEST(Wire, ChecksumRfc1071Example) {
  // RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 -> checksum 220d.
  V b = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(checksum(b), 0x220d);
  // Adding in two odd-sized pieces gives the same result.
  Checksum c;
  c.add(std::span<const uint8_t>(b).first(3));
  c.add(std::span<const uint8_t>(b).subspan(3));
  EXPECT_EQ(c.fold(), 0x220d);
}

TEST(Wire, EthernetParseEmit) {
  V f = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06, 0xaa};
  auto e = EthernetRepr::parse(f);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->dst.is_broadcast());
  EXPECT_EQ(e->src, (MacAddr{{2, 0, 0, 0, 0, 1}}));
  EXPECT_EQ(e->ethertype, ethertype::kArp);
  ASSERT_EQ(e->payload.size(), 1u);
  V out(14);
  e->emit(out);
  EXPECT_EQ(out, V(f.begin(), f.begin() + 14));
  EXPECT_EQ(EthernetRepr::parse(std::span<const uint8_t>(f).first(13)).error, Error::Truncated);
  f[12] = 0x05;  // 802.3 length field
  EXPECT_EQ(EthernetRepr::parse(f).error, Error::Unsupported);
}

TEST(Wire, ArpParseEmit) {
  V g = {0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,  // htype, ptype, hlen, plen, op=request
         0x02, 0, 0, 0, 0, 1, 10, 0, 0, 1,                // sha, spa
         0, 0, 0, 0, 0, 0, 10, 0, 0, 2};                  // tha, tpa
  auto a = ArpRepr::parse(g);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->op, ArpRepr::kRequest);
  EXPECT_EQ(a->spa, a4(10, 0, 0, 1));
  EXPECT_EQ(a->tpa, a4(10, 0, 0, 2));
  V out(28);
  a->emit(out);
  EXPECT_EQ(out, g);
  EXPECT_EQ(ArpRepr::parse(std::span<const uint8_t>(g).first(27)).error, Error::Truncated);
  g[5] = 16;  // plen 16: not Ethernet/IPv4
  EXPECT_EQ(ArpRepr::parse(g).error, Error::Unsupported);
}

TEST(Wire, Ipv4ParseEmitGolden) {
  // 10.0.0.1 -> 10.0.0.2, id 0x1c46, TTL 64, ICMP, total 28, checksum 0x4a99.
  V g = {0x45, 0x00, 0x00, 0x1c, 0x1c, 0x46, 0x00, 0x00, 0x40, 0x01, 0x4a, 0x99,
         10,   0,    0,    1,    10,   0,    0,    2,    8,    0,    0,    0,
         0,    0,    0,    0};
  auto ip = Ipv4Repr::parse(g);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->ident, 0x1c46);
  EXPECT_EQ(ip->ttl, 64);
  EXPECT_EQ(ip->protocol, ipproto::kIcmp);
  EXPECT_FALSE(ip->is_fragment());
  EXPECT_EQ(ip->payload.size(), 8u);
  V out(20);
  ip->emit(out, 8);
  EXPECT_EQ(out, V(g.begin(), g.begin() + 20));
}

TEST(Wire, Ipv4WikipediaHeader) {
  // A widely published sample header: checksum b861, DF set, UDP, 192.168.0.1 -> .199.
  V h = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
         0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  V pkt = h;
  pkt.resize(0x73);
  auto ip = Ipv4Repr::parse(pkt);
  ASSERT_TRUE(ip);
  EXPECT_TRUE(ip->dont_frag);
  EXPECT_EQ(ip->dst, a4(192, 168, 0, 199));
  V out(20);
  ip->emit(out, ip->payload.size());
  EXPECT_EQ(out, h);
}

TEST(Wire, Ipv4Rejects) {
  V g = {0x45, 0x00, 0x00, 0x14, 0, 0, 0x20, 0x01, 0x40, 0x11, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
  wr16(g.data() + 10, checksum(std::span<const uint8_t>(g).first(20)));
  auto ok = Ipv4Repr::parse(g);
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->more_frags);
  EXPECT_EQ(ok->frag_offset, 8);
  for (size_t n = 0; n < g.size(); ++n)
    EXPECT_EQ(Ipv4Repr::parse(std::span<const uint8_t>(g).first(n)).error, Error::Truncated) << n;
  V bad = g;
  bad[11] ^= 1;
  EXPECT_EQ(Ipv4Repr::parse(bad).error, Error::BadChecksum);
  bad = g;
  bad[0] = 0x44;  // IHL 16 bytes
  EXPECT_EQ(Ipv4Repr::parse(bad, false).error, Error::BadLength);
  bad = g;
  bad[3] = 0x10;  // total length 16 < IHL
  EXPECT_EQ(Ipv4Repr::parse(bad, false).error, Error::BadLength);
  bad = g;
  bad[3] = 0x40;  // total length beyond buffer
  EXPECT_EQ(Ipv4Repr::parse(bad, false).error, Error::Truncated);
  bad = g;
  bad[0] = 0x65;
  EXPECT_EQ(Ipv4Repr::parse(bad, false).error, Error::BadVersion);
  // Options: type 0x44 with length 40 overruns the 4-byte option area.
  V opt = {0x46, 0, 0, 24, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x44, 40, 0, 0};
  EXPECT_EQ(Ipv4Repr::parse(opt, false).error, Error::Malformed);
}

TEST(Wire, Ipv6AndExtensionHeaders) {
  V g = {0x60, 0x00, 0x00, 0x00, 0x00, 0x08, 0x11, 0x40};
  Ipv6Addr s = a6("2001:db8::1"), d = a6("2001:db8::2");
  g.insert(g.end(), s.b.begin(), s.b.end());
  g.insert(g.end(), d.b.begin(), d.b.end());
  g.resize(48);
  auto ip = Ipv6Repr::parse(g);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->next_header, ipproto::kUdp);
  EXPECT_EQ(ip->hop_limit, 64);
  EXPECT_EQ(ip->src, s);
  EXPECT_EQ(ip->payload.size(), 8u);
  V out(40);
  ip->emit(out, 8);
  EXPECT_EQ(out, V(g.begin(), g.begin() + 40));
  EXPECT_EQ(Ipv6Repr::parse(std::span<const uint8_t>(g).first(47)).error, Error::Truncated);

  // Fragment header: next UDP, offset 1448 (0x5a8), M=1, id 0x12345678.
  V fh = {0x11, 0x00, 0x05, 0xa9, 0x12, 0x34, 0x56, 0x78};
  auto f = Ipv6FragRepr::parse(fh);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->offset, 1448);
  EXPECT_TRUE(f->more);
  EXPECT_EQ(f->ident, 0x12345678u);
  V fo(8);
  f->emit(fo);
  EXPECT_EQ(fo, fh);

  // Chain: hop-by-hop (PadN) -> dest opts (PadN) -> fragment -> UDP.
  V chain = {ipproto::kIpv6Opts, 0, 1, 4, 0, 0, 0, 0,  // HBH, PadN(4)
             ipproto::kIpv6Frag, 0, 1, 4, 0, 0, 0, 0,  // dest opts
             0x11, 0, 0, 0, 0, 0, 0, 7,                // frag offset 0, M=0
             1, 2, 3, 4, 0, 8, 0, 0};                  // UDP header
  auto c = Ipv6Chain::parse(ipproto::kHopByHop, chain);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->upper_proto, ipproto::kUdp);
  EXPECT_EQ(c->upper_offset, 24u);
  ASSERT_TRUE(c->frag);
  EXPECT_EQ(c->frag->ident, 7u);
  EXPECT_FALSE(c->unknown_opt);
  // Unknown option 0x80 (action 10: discard + ICMP) in the dest options header.
  V unk = chain;
  unk[10] = 0x80;
  auto c2 = Ipv6Chain::parse(ipproto::kHopByHop, unk);
  ASSERT_TRUE(c2);
  EXPECT_TRUE(c2->unknown_opt);
  EXPECT_EQ(c2->unknown_opt_type, 0x80);
  EXPECT_EQ(c2->unknown_opt_pointer, 40u + 8 + 2);
  // Hop-by-hop anywhere but first is malformed; option length overrunning too.
  EXPECT_EQ(Ipv6Chain::parse(ipproto::kIpv6Opts, V{0, 0, 1, 4, 0, 0, 0, 0}).error, Error::Malformed);
  EXPECT_EQ(Ipv6Chain::parse(ipproto::kIpv6Opts, V{59, 0, 1, 9, 0, 0, 0, 0}).error, Error::Malformed);
  EXPECT_EQ(Ipv6Chain::parse(ipproto::kIpv6Opts, V{59, 1, 1, 4, 0, 0, 0, 0}).error, Error::Truncated);
}

TEST(Wire, Icmpv4EchoGolden) {
  V g = {0x08, 0x00, 0x21, 0x04, 0x12, 0x34, 0x00, 0x01, 'a', 'b', 'c', 'd'};
  auto ic = Icmpv4Repr::parse(g);
  ASSERT_TRUE(ic);
  EXPECT_EQ(ic->type, icmp4::kEchoRequest);
  EXPECT_EQ(ic->echo_id(), 0x1234);
  EXPECT_EQ(ic->echo_seq(), 1);
  V out(ic->len());
  ic->emit(out);
  EXPECT_EQ(out, g);
  g[9] = 'x';
  EXPECT_EQ(Icmpv4Repr::parse(g).error, Error::BadChecksum);
  EXPECT_EQ(Icmpv4Repr::parse(std::span<const uint8_t>(g).first(7)).error, Error::Truncated);
}

TEST(Wire, Icmpv6EchoGolden) {
  Ipv6Addr s = a6("fe80::1"), d = a6("fe80::2");
  V g = {0x80, 0x00, 0xab, 0xb8, 0x12, 0x34, 0x00, 0x01, 'a', 'b', 'c', 'd'};
  auto ic = Icmpv6Repr::parse(g, s, d);
  ASSERT_TRUE(ic);
  EXPECT_EQ(ic->type, icmp6::kEchoRequest);
  V out(ic->len());
  ic->emit(out, s, d);
  EXPECT_EQ(out, g);
  // Same bytes with another pseudo-header fail the checksum.
  EXPECT_EQ(Icmpv6Repr::parse(g, d, d).error, Error::BadChecksum);
}

TEST(Wire, NdpOptionsAndMessages) {
  // NS body: target fe80::2, SLLA option 02:00:00:00:00:01.
  Ipv6Addr t = a6("fe80::2");
  V body(t.b.begin(), t.b.end());
  V slla = {1, 1, 2, 0, 0, 0, 0, 1};
  body.insert(body.end(), slla.begin(), slla.end());
  auto ns = NdpNeighborRepr::parse(0, body);
  ASSERT_TRUE(ns);
  EXPECT_EQ(ns->target, t);
  ASSERT_TRUE(ns->options.source_lladdr);
  EXPECT_EQ(*ns->options.source_lladdr, (MacAddr{{2, 0, 0, 0, 0, 1}}));
  V emitted(8);
  NdpOptions::emit_lladdr(emitted, 1, MacAddr{{2, 0, 0, 0, 0, 1}});
  EXPECT_EQ(emitted, slla);
  // NA flags R|S|O.
  auto na = NdpNeighborRepr::parse(0xe0000000u, body);
  ASSERT_TRUE(na);
  EXPECT_TRUE(na->router && na->solicited && na->override_);
  // Zero-length option must be rejected (RFC 4861 §4.6), and overruns.
  V bad = body;
  bad[17] = 0;
  EXPECT_EQ(NdpNeighborRepr::parse(0, bad).error, Error::Malformed);
  bad[17] = 2;
  EXPECT_EQ(NdpNeighborRepr::parse(0, bad).error, Error::Truncated);
  // Multicast target is invalid.
  V mc = body;
  mc[0] = 0xff;
  EXPECT_FALSE(NdpNeighborRepr::parse(0, mc));
  // RA with prefix + MTU options.
  V ra = {0, 0, 0x75, 0x30, 0, 0, 0x03, 0xe8,  // reachable 30000, retrans 1000
          5, 1, 0, 0, 0, 0, 0x05, 0xdc,        // MTU 1500
          3, 4, 64, 0xc0, 0, 0, 0x0e, 0x10, 0, 0, 0x07, 0x08, 0, 0, 0, 0};
  Ipv6Addr p = a6("2001:db8:1::");
  ra.insert(ra.end(), p.b.begin(), p.b.end());
  auto r = NdpRouterAdvertRepr::parse(0x40001c20u, ra);  // hop limit 64, lifetime 7200
  ASSERT_TRUE(r);
  EXPECT_EQ(r->cur_hop_limit, 64);
  EXPECT_EQ(r->router_lifetime, 7200);
  EXPECT_EQ(r->reachable_time, 30000u);
  ASSERT_TRUE(r->options.mtu);
  EXPECT_EQ(*r->options.mtu, 1500u);
  ASSERT_EQ(r->options.prefixes.size(), 1u);
  EXPECT_EQ(r->options.prefixes[0].prefix, p);
  EXPECT_EQ(r->options.prefixes[0].prefix_len, 64);
  EXPECT_TRUE(r->options.prefixes[0].on_link && r->options.prefixes[0].autonomous);
  EXPECT_EQ(r->options.prefixes[0].valid_lifetime, 3600u);
}

TEST(Wire, UdpGolden) {
  IpAddr s(a4(10, 0, 0, 1)), d(a4(10, 0, 0, 2));
  V g = {0x04, 0xd2, 0x00, 0x35, 0x00, 0x0a, 0x7e, 0x67, 'h', 'i'};
  auto u = UdpRepr::parse(g, s, d);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->src_port, 1234);
  EXPECT_EQ(u->dst_port, 53);
  EXPECT_EQ(u->payload.size(), 2u);
  V out(10);
  u->emit(out, s, d);
  EXPECT_EQ(out, g);
  V nock = g;
  nock[6] = nock[7] = 0;  // IPv4: zero checksum = not computed
  EXPECT_TRUE(UdpRepr::parse(nock, s, d));
  V bad = g;
  bad[9] = 'j';
  EXPECT_EQ(UdpRepr::parse(bad, s, d).error, Error::BadChecksum);
  bad = g;
  bad[5] = 0x20;  // length beyond buffer
  EXPECT_EQ(UdpRepr::parse(bad, s, d).error, Error::BadLength);
  bad[5] = 0x04;  // length below header size
  EXPECT_EQ(UdpRepr::parse(bad, s, d).error, Error::BadLength);

  IpAddr s6(a6("2001:db8::1")), d6(a6("2001:db8::2"));
  V g6 = {0x13, 0x88, 0x17, 0x70, 0x00, 0x09, 0x01, 0x6f, 'x'};
  auto u6 = UdpRepr::parse(g6, s6, d6);
  ASSERT_TRUE(u6);
  V out6(9);
  u6->emit(out6, s6, d6);
  EXPECT_EQ(out6, g6);
  g6[6] = g6[7] = 0;  // IPv6: zero checksum is invalid
  EXPECT_EQ(UdpRepr::parse(g6, s6, d6).error, Error::BadChecksum);
}

TEST(Wire, AddressHelpers) {
  EXPECT_EQ(solicited_node(a6("2001:db8::abcd:1234")), a6("ff02::1:ffcd:1234"));
  EXPECT_EQ(link_local_from_mac(MacAddr{{0x00, 0x11, 0x22, 0x33, 0x44, 0x55}}), a6("fe80::211:22ff:fe33:4455"));
  EXPECT_EQ(multicast_mac(IpAddr(a4(239, 129, 2, 3))), (MacAddr{{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03}}));
  EXPECT_EQ(multicast_mac(IpAddr(a6("ff02::1:ff00:2"))), (MacAddr{{0x33, 0x33, 0xff, 0x00, 0x00, 0x02}}));
}

TEST(Types, TextForms) {
  EXPECT_EQ(Cidr::parse("10.1.2.3/8")->to_string(), "10.1.2.3/8");
  EXPECT_FALSE(Cidr::parse("10.1.2.3/33"));
  EXPECT_FALSE(Cidr::parse("2001:db8::/129"));
  EXPECT_TRUE(Cidr::parse("10.1.2.3/8")->contains(*IpAddr::parse("10.200.0.1")));
  EXPECT_FALSE(Cidr::parse("10.1.2.3/9")->contains(*IpAddr::parse("10.200.0.1")));
  EXPECT_TRUE(Cidr::parse("2001:db8::/33")->contains(*IpAddr::parse("2001:db8:7fff::1")));
  EXPECT_FALSE(Cidr::parse("2001:db8::/33")->contains(*IpAddr::parse("2001:db8:8000::1")));
  EXPECT_EQ((Endpoint{*IpAddr::parse("::1"), 80}.to_string()), "[::1]:80");
  EXPECT_EQ(MacAddr::parse("02:00:0a:0B:0c:ff")->to_string(), "02:00:0a:0b:0c:ff");
  EXPECT_FALSE(MacAddr::parse("02:00:0a:0b:0c"));
  EXPECT_FALSE(IpAddr::parse("1.2.3"));
}

}  // namespace
}  // namespace libstack::wire
