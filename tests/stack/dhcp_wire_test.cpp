// DHCPv4 wire format: golden bytes written out from RFC 2131/2132 by hand, parse of a
// server reply, RFC 3396 long options, overload, and bounds checks on hostile input.
#include <gtest/gtest.h>

#include "wire/dhcp.h"

using namespace libstack;
using namespace libstack::wire;

namespace {

std::vector<uint8_t> zeros(size_t n) { return std::vector<uint8_t>(n, 0); }
void append(std::vector<uint8_t>& v, std::initializer_list<uint8_t> b) { v.insert(v.end(), b); }
void append(std::vector<uint8_t>& v, const std::vector<uint8_t>& b) { v.insert(v.end(), b.begin(), b.end()); }

const MacAddr kMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};

TEST(DhcpWire, DiscoverGoldenBytes) {
  DhcpMessage m;
  m.xid = 0x12345678;
  m.secs = 3;
  m.flags = kDhcpFlagBroadcast;
  std::copy(kMac.b.begin(), kMac.b.end(), m.chaddr.begin());
  m.type = DhcpMessageType::Discover;
  m.client_id = {1, 0x02, 0, 0, 0, 0, 1};
  m.param_request_list = {1, 3, 6};

  std::vector<uint8_t> want;
  append(want, {0x01, 0x01, 0x06, 0x00});   // op BOOTREQUEST, htype Ethernet, hlen 6, hops
  append(want, {0x12, 0x34, 0x56, 0x78});   // xid
  append(want, {0x00, 0x03, 0x80, 0x00});   // secs 3, flags B
  append(want, zeros(16));                  // ciaddr yiaddr siaddr giaddr
  append(want, {0x02, 0, 0, 0, 0, 0x01});   // chaddr
  append(want, zeros(10));                  //   padding to 16
  append(want, zeros(64 + 128));            // sname, file
  append(want, {0x63, 0x82, 0x53, 0x63});   // magic cookie
  append(want, {53, 1, 1});                 // DHCPDISCOVER
  append(want, {61, 7, 1, 0x02, 0, 0, 0, 0, 1});
  append(want, {55, 3, 1, 3, 6});
  append(want, {255});
  want.resize(300, 0);                      // BOOTP minimum length
  EXPECT_EQ(emit_dhcp(m), want);
}

// An ACK as a server would send it, bytes written by hand.
std::vector<uint8_t> golden_ack() {
  std::vector<uint8_t> b;
  append(b, {0x02, 0x01, 0x06, 0x00, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0});
  append(b, {0, 0, 0, 0});                 // ciaddr
  append(b, {192, 168, 7, 23});            // yiaddr
  append(b, {192, 168, 7, 1});             // siaddr
  append(b, {0, 0, 0, 0});                 // giaddr
  append(b, {0x02, 0, 0, 0, 0, 0x01});
  append(b, zeros(10));
  std::vector<uint8_t> sname(64, 0);
  sname[0] = 's'; sname[1] = 'r'; sname[2] = 'v';
  append(b, sname);
  append(b, zeros(128));
  append(b, {0x63, 0x82, 0x53, 0x63});
  append(b, {53, 1, 5});                     // ACK
  append(b, {54, 4, 192, 168, 7, 1});        // server id
  append(b, {51, 4, 0, 0, 0x0e, 0x10});      // lease 3600
  append(b, {58, 4, 0, 0, 0x07, 0x08});      // T1 1800
  append(b, {59, 4, 0, 0, 0x0c, 0x4e});      // T2 3150
  append(b, {1, 4, 255, 255, 255, 0});
  append(b, {0});                            // pad
  append(b, {3, 8, 192, 168, 7, 1, 192, 168, 7, 2});
  append(b, {6, 4, 9, 9, 9, 9});
  append(b, {15, 7, 'e', 'x', '.', 't', 'e', 's', 't'});
  append(b, {26, 2, 0x05, 0xdc});            // MTU 1500
  append(b, {224, 3, 'a', 'b', 'c'});        // private option kept raw
  append(b, {255});
  return b;
}

TEST(DhcpWire, ParsesServerAck) {
  std::string err;
  auto m = parse_dhcp(golden_ack(), &err);
  ASSERT_TRUE(m) << err;
  EXPECT_EQ(m->op, DhcpOp::Reply);
  EXPECT_EQ(m->xid, 0xdeadbeefu);
  EXPECT_EQ(m->type, DhcpMessageType::Ack);
  EXPECT_EQ(m->yiaddr, (Ipv4Addr{{192, 168, 7, 23}}));
  EXPECT_EQ(m->client_mac(), kMac);
  EXPECT_EQ(m->sname, "srv");
  EXPECT_EQ(m->server_id, (Ipv4Addr{{192, 168, 7, 1}}));
  EXPECT_EQ(m->lease_time, 3600u);
  EXPECT_EQ(m->renewal_time, 1800u);
  EXPECT_EQ(m->rebinding_time, 3150u);
  EXPECT_EQ(m->subnet_mask, (Ipv4Addr{{255, 255, 255, 0}}));
  ASSERT_EQ(m->routers.size(), 2u);
  EXPECT_EQ(m->routers[1], (Ipv4Addr{{192, 168, 7, 2}}));
  ASSERT_EQ(m->dns_servers.size(), 1u);
  EXPECT_EQ(m->domain_name, "ex.test");
  EXPECT_EQ(m->interface_mtu, 1500);
  ASSERT_EQ(m->other.count(224), 1u);
  EXPECT_EQ(m->other.at(224), (std::vector<uint8_t>{'a', 'b', 'c'}));
}

TEST(DhcpWire, EmitParseRoundTrip) {
  auto m = parse_dhcp(golden_ack());
  ASSERT_TRUE(m);
  auto again = parse_dhcp(emit_dhcp(*m));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->routers, m->routers);
  EXPECT_EQ(again->lease_time, m->lease_time);
  EXPECT_EQ(again->other, m->other);
  EXPECT_EQ(again->domain_name, m->domain_name);
  EXPECT_EQ(again->sname, "srv");
}

TEST(DhcpWire, LongOptionIsSplitAndConcatenated) {
  DhcpMessage m;
  m.type = DhcpMessageType::Offer;
  m.op = DhcpOp::Reply;
  for (int i = 0; i < 100; ++i) m.dns_servers.push_back(Ipv4Addr::from_u32(0x0a000000u + i));
  auto bytes = emit_dhcp(m);
  // 400 bytes of value -> two instances of option 6 (255 + 145).
  int instances = 0;
  for (size_t i = kDhcpFixedLen + 4; i < bytes.size() && bytes[i] != 255;) {
    if (bytes[i] == 0) { ++i; continue; }
    instances += bytes[i] == 6;
    i += 2 + bytes[i + 1];
  }
  EXPECT_EQ(instances, 2);
  auto p = parse_dhcp(bytes);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->dns_servers, m.dns_servers);
}

TEST(DhcpWire, OverloadedFileAndSnameCarryOptions) {
  auto b = golden_ack();
  // Replace the End at the end of options by overload=3, End; put options in file+sname.
  b.pop_back();
  append(b, {52, 1, 3, 255});
  size_t file = 108, sname = 44;
  std::vector<uint8_t> in_file = {42, 4, 10, 0, 0, 123, 255};  // NTP server (raw)
  std::copy(in_file.begin(), in_file.end(), b.begin() + file);
  std::vector<uint8_t> in_sname = {12, 4, 'h', 'o', 's', 't', 255};
  std::fill(b.begin() + sname, b.begin() + sname + 64, 0);
  std::copy(in_sname.begin(), in_sname.end(), b.begin() + sname);
  std::string err;
  auto m = parse_dhcp(b, &err);
  ASSERT_TRUE(m) << err;
  EXPECT_EQ(m->host_name, "host");
  EXPECT_EQ(m->other.at(42), (std::vector<uint8_t>{10, 0, 0, 123}));
  EXPECT_TRUE(m->sname.empty());
  EXPECT_EQ(m->lease_time, 3600u);
}

TEST(DhcpWire, RejectsTruncatedAndOverflowingInput) {
  auto good = golden_ack();
  std::string err;
  EXPECT_FALSE(parse_dhcp(std::span(good).first(239), &err));
  EXPECT_NE(err.find("shorter"), std::string::npos);
  auto bad_cookie = good;
  bad_cookie[236] = 0;
  EXPECT_FALSE(parse_dhcp(bad_cookie, &err));
  EXPECT_NE(err.find("cookie"), std::string::npos);
  // Option length that runs past the buffer.
  std::vector<uint8_t> trunc(good.begin(), good.begin() + 240);
  append(trunc, {53, 1, 5, 6, 200, 1, 2, 3});
  EXPECT_FALSE(parse_dhcp(trunc, &err));
  EXPECT_NE(err.find("runs past"), std::string::npos) << err;
  // Code with no length byte at the very end.
  std::vector<uint8_t> nolen(good.begin(), good.begin() + 240);
  append(nolen, {53});
  EXPECT_FALSE(parse_dhcp(nolen, &err));
  // Overload pointing at a file field whose option overflows 128 bytes.
  auto ov = good;
  ov.pop_back();
  append(ov, {52, 1, 1, 255});
  ov[108 + 126] = 43;
  ov[108 + 127] = 10;  // 10 bytes announced, field ends
  EXPECT_FALSE(parse_dhcp(ov, &err));
  // Wrong-size known options are ignored, not trusted.
  std::vector<uint8_t> odd(good.begin(), good.begin() + 240);
  append(odd, {53, 1, 2, 1, 3, 255, 255, 0, 3, 5, 1, 2, 3, 4, 5, 26, 2, 0, 10, 255});
  auto m = parse_dhcp(odd, &err);
  ASSERT_TRUE(m) << err;
  EXPECT_FALSE(m->subnet_mask);
  EXPECT_TRUE(m->routers.empty());
  EXPECT_FALSE(m->interface_mtu) << "MTU below 68 is ignored";
  // Missing End is tolerated when the options end cleanly.
  std::vector<uint8_t> noend(good.begin(), good.begin() + 240);
  append(noend, {53, 1, 2});
  ASSERT_TRUE(parse_dhcp(noend));
}

TEST(DhcpWire, RandomMutationsNeverReadOutOfBounds) {
  // Under ASan this proves the bounds checks; here it proves no crash/exception.
  SplitMix64 rng(77);
  auto base = golden_ack();
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    auto b = base;
    int edits = 1 + int(rng.below(8));
    for (int e = 0; e < edits; ++e) b[236 + 4 + rng.below(b.size() - 240)] = uint8_t(rng.next_u64());
    b.resize(240 + rng.below(b.size() - 239));
    parsed += parse_dhcp(b).has_value();
  }
  EXPECT_GT(parsed, 0);
}

}  // namespace
