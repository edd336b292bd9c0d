// Golden bytes for the TCP header, each option's parse/emit, and the checksum.
#include <gtest/gtest.h>

#include <vector>

#include "wire/tcp.h"

using namespace libstack;
using namespace libstack::wire;

namespace {

std::vector<uint8_t> emit(const TcpHeader& h) {
  std::vector<uint8_t> b(60);
  size_t n = emit_tcp_header(h, b);
  b.resize(n);
  return b;
}

TcpHeader base() {
  TcpHeader h;
  h.src_port = 0x1234;
  h.dst_port = 80;
  h.seq = 0x01020304;
  h.ack = 0xa0b0c0d0;
  h.flags = tcpflag::ACK | tcpflag::PSH;
  h.window = 0xfff0;
  return h;
}

TEST(TcpWire, PlainHeaderGolden) {
  std::vector<uint8_t> want = {0x12, 0x34, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04, 0xa0, 0xb0,
                               0xc0, 0xd0, 0x50, 0x18, 0xff, 0xf0, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(emit(base()), want);
  TcpHeader h;
  std::span<const uint8_t> pl;
  ASSERT_TRUE(parse_tcp(want, h, pl));
  EXPECT_EQ(h.src_port, 0x1234);
  EXPECT_EQ(h.dst_port, 80);
  EXPECT_EQ(h.seq, 0x01020304u);
  EXPECT_EQ(h.ack, 0xa0b0c0d0u);
  EXPECT_EQ(h.flags, tcpflag::ACK | tcpflag::PSH);
  EXPECT_EQ(h.window, 0xfff0);
  EXPECT_EQ(h.header_len, 20);
  EXPECT_TRUE(pl.empty());
}

TEST(TcpWire, MssOptionGolden) {
  TcpHeader h = base();
  h.opt.has_mss = true;
  h.opt.mss = 1460;
  auto b = emit(h);
  ASSERT_EQ(b.size(), 24u);
  EXPECT_EQ(b[12], 0x60);
  EXPECT_EQ(std::vector<uint8_t>(b.begin() + 20, b.end()), (std::vector<uint8_t>{2, 4, 0x05, 0xb4}));
  TcpHeader p;
  std::span<const uint8_t> pl;
  ASSERT_TRUE(parse_tcp(b, p, pl));
  EXPECT_TRUE(p.opt.has_mss);
  EXPECT_EQ(p.opt.mss, 1460);
}

TEST(TcpWire, WindowScaleGoldenAndClamp) {
  TcpHeader h = base();
  h.opt.has_wscale = true;
  h.opt.wscale = 7;
  auto b = emit(h);
  EXPECT_EQ(std::vector<uint8_t>(b.begin() + 20, b.end()), (std::vector<uint8_t>{1, 3, 3, 7}));
  b[23] = 20;  // RFC 7323 §2.3: values above 14 are treated as 14
  TcpHeader p;
  std::span<const uint8_t> pl;
  ASSERT_TRUE(parse_tcp(b, p, pl));
  EXPECT_TRUE(p.opt.has_wscale);
  EXPECT_EQ(p.opt.wscale, 14);
}

TEST(TcpWire, SackPermittedAloneGolden) {
  TcpHeader h = base();
  h.opt.sack_permitted = true;
  auto b = emit(h);
  EXPECT_EQ(std::vector<uint8_t>(b.begin() + 20, b.end()), (std::vector<uint8_t>{1, 1, 4, 2}));
  TcpHeader p;
  std::span<const uint8_t> pl;
  ASSERT_TRUE(parse_tcp(b, p, pl));
  EXPECT_TRUE(p.opt.sack_permitted);
  EXPECT_FALSE(p.opt.has_timestamps);
}

TEST(TcpWire, TimestampsGolden) {
  TcpHeader h = base();
  h.opt.has_timestamps = true;
  h.opt.ts_val = 0x11223344;
  h.opt.ts_ecr = 0x55667788;
  auto b = emit(h);
  EXPECT_EQ(std::vector<uint8_t>(b.begin() + 20, b.end()),
            (std::vector<uint8_t>{1, 1, 8, 10, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}));
  TcpHeader p;
  std::span<const uint8_t> pl;
  ASSERT_TRUE(parse_tcp(b, p, pl));
  EXPECT_TRUE(p.opt.has_timestamps);
  EXPECT_EQ(p.opt.ts_val, 0x11223344u);
  EXPECT_EQ(p.opt.ts_ecr, 0x55667788u);
}

TEST(TcpWire, SynOptionSetGolden) {
  TcpHeader h = base();
  h.flags = tcpflag::SYN;
  h.opt.has_mss = true;
  h.opt.mss = 0xffd7;
  h.opt.sack_permitted = true;
  h.opt.has_timestamps = true;
  h.opt.ts_val = 1;
  h.opt.ts_ecr = 0;
  h.opt.has_wscale = true;
  h.opt.wscale = 2;
  auto b = emit(h);
  ASSERT_EQ(b.size(), 40u);
  EXPECT_EQ(b[12], 0xa0);
  EXPECT_EQ(std::vector<uint8_t>(b.begin() + 20, b.end()),
            (std::vector<uint8_t>{2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 2}));
  TcpHeader p;
  std::span<const uint8_t> pl;
  ASSERT_TRUE(parse_tcp(b, p, pl));
  EXPECT_TRUE(p.opt.has_mss && p.opt.sack_permitted && p.opt.has_timestamps && p.opt.has_wscale);
  EXPECT_EQ(p.opt.mss, 0xffd7);
  EXPECT_EQ(p.opt.wscale, 2);
}

TEST(TcpWire, SackBlocksGolden) {
  TcpHeader h = base();
  h.opt.sack_count = 2;
  h.opt.sack[0] = {0x10, 0x20};
  h.opt.sack[1] = {0x30000000, 0x40000000};
  auto b = emit(h);
  EXPECT_EQ(std::vector<uint8_t>(b.begin() + 20, b.end()),
            (std::vector<uint8_t>{1, 1, 5, 18, 0, 0, 0, 0x10, 0, 0, 0, 0x20, 0x30, 0, 0, 0, 0x40, 0, 0, 0}));
  TcpHeader p;
  std::span<const uint8_t> pl;
  ASSERT_TRUE(parse_tcp(b, p, pl));
  ASSERT_EQ(p.opt.sack_count, 2);
  EXPECT_EQ(p.opt.sack[0], (TcpSackBlock{0x10, 0x20}));
  EXPECT_EQ(p.opt.sack[1], (TcpSackBlock{0x30000000, 0x40000000}));
}

TEST(TcpWire, TooManyOptionsRefused) {
  TcpHeader h = base();
  h.opt.has_mss = true;
  h.opt.has_timestamps = true;
  h.opt.sack_count = 4;  // 4 + 12 + 36 > 40
  std::vector<uint8_t> b(60);
  EXPECT_EQ(emit_tcp_header(h, b), 0u);
}

TEST(TcpWire, MalformedRejected) {
  std::vector<uint8_t> b = emit(base());
  TcpHeader p;
  std::span<const uint8_t> pl;
  EXPECT_FALSE(parse_tcp(std::span(b).first(19), p, pl));  // short
  auto c = b;
  c[12] = 0x40;  // data offset 4
  EXPECT_FALSE(parse_tcp(c, p, pl));
  c[12] = 0x60;  // data offset beyond the segment
  EXPECT_FALSE(parse_tcp(c, p, pl));
  // An option whose length runs past the header.
  std::vector<uint8_t> d = b;
  d[12] = 0x60;
  d.insert(d.end(), {2, 8, 0, 0});
  EXPECT_FALSE(parse_tcp(d, p, pl));
  // Option length 0 / 1 is invalid.
  d[21] = 1;
  EXPECT_FALSE(parse_tcp(d, p, pl));
  // Unknown option skipped, EOL ends the list, payload follows.
  std::vector<uint8_t> e = b;
  e[12] = 0x60;
  e.insert(e.end(), {99, 2, 0, 0, 'x', 'y'});
  ASSERT_TRUE(parse_tcp(e, p, pl));
  EXPECT_FALSE(p.opt.has_mss);
  ASSERT_EQ(pl.size(), 2u);
  EXPECT_EQ(pl[0], 'x');
}

TEST(TcpWire, ChecksumKnownVectorV4) {
  // SYN 192.168.0.1:1025 -> 192.168.0.2:80, seq 1, no options; checksum computed by
  // hand: pseudo header + header words summed in one's complement.
  TcpHeader h;
  h.src_port = 1025;
  h.dst_port = 80;
  h.seq = 1;
  h.flags = tcpflag::SYN;
  h.window = 8192;
  std::vector<uint8_t> b = emit(h);
  IpAddr s(Ipv4Addr{{192, 168, 0, 1}}), d(Ipv4Addr{{192, 168, 0, 2}});
  // Sum: c0a8+0001+c0a8+0002+0006+0014 + 0401+0050+0000+0001+0000+0000+5002+2000
  uint32_t sum = 0xc0a8 + 0x0001 + 0xc0a8 + 0x0002 + 0x0006 + 0x0014 + 0x0401 + 0x0050 +
                 0x0001 + 0x5002 + 0x2000;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(tcp_checksum(s, d, b), uint16_t(~sum));
  tcp_fill_checksum(s, d, b);
  EXPECT_EQ(tcp_checksum(s, d, b), 0);
  b[5] ^= 1;
  EXPECT_NE(tcp_checksum(s, d, b), 0);
}

TEST(TcpWire, ChecksumV6AndOddLength) {
  TcpHeader h = base();
  std::vector<uint8_t> b = emit(h);
  b.push_back(0xab);  // odd payload
  Ipv6Addr a{}, c{};
  a.b[0] = 0xfd; a.b[15] = 1;
  c.b[0] = 0xfd; c.b[15] = 2;
  tcp_fill_checksum(IpAddr(a), IpAddr(c), b);
  EXPECT_EQ(tcp_checksum(IpAddr(a), IpAddr(c), b), 0);
  // Reference: straightforward 16-bit big-endian summation.
  uint32_t sum = 0;
  for (int i = 0; i < 16; i += 2) sum += uint32_t(a.b[i] << 8 | a.b[i + 1]) + uint32_t(c.b[i] << 8 | c.b[i + 1]);
  sum += uint32_t(b.size()) + 6;
  for (size_t i = 0; i + 1 < b.size(); i += 2) sum += uint32_t(b[i] << 8 | b[i + 1]);
  sum += uint32_t(b.back()) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(sum, 0xffffu);
}

}  // namespace
