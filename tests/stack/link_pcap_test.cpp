// PcapLink: file layout checked byte by byte, then read back by tcpdump (a real reader).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "libstack/links.h"

using namespace libstack;
using namespace std::chrono_literals;

namespace {

std::vector<uint8_t> arp_request(uint8_t target_last) {
  std::vector<uint8_t> f = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1,
                            0x08, 0x06,  // ARP
                            0, 1, 0x08, 0, 6, 4, 0, 1,  // Ethernet/IPv4, request
                            0x02, 0, 0, 0, 0, 1, 10, 0, 0, 1,
                            0, 0, 0, 0, 0, 0, 10, 0, 0, target_last};
  f.resize(60, 0);
  return f;
}

std::vector<uint8_t> ipv4_udp() {
  // 10.0.0.1:1000 -> 10.0.0.2:2000, 4 bytes payload, checksum left 0 (UDP allows it).
  std::vector<uint8_t> p = {0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
                            0x03, 0xe8, 0x07, 0xd0, 0, 12, 0, 0, 'p', 'i', 'n', 'g'};
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += uint32_t(p[i]) << 8 | p[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  p[10] = uint8_t(~sum >> 8);
  p[11] = uint8_t(~sum);
  return p;
}

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/libstack-pcap-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

std::vector<uint8_t> slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

uint32_t le32(const std::vector<uint8_t>& b, size_t off) {
  uint32_t v;
  std::memcpy(&v, &b[off], 4);
  return v;
}

// Runs tcpdump -r and returns its output lines (empty optional if tcpdump is missing).
std::optional<std::vector<std::string>> tcpdump_lines(const std::string& file) {
  if (access("/usr/bin/tcpdump", X_OK) != 0 && access("/usr/sbin/tcpdump", X_OK) != 0)
    return std::nullopt;
  std::string cmd = "timeout 20 tcpdump -nn -r '" + file + "' 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return std::nullopt;
  std::vector<std::string> lines;
  char line[4096];
  for (int i = 0; i < 10000 && fgets(line, sizeof line, p); ++i) lines.emplace_back(line);
  int rc = pclose(p);
  EXPECT_EQ(rc, 0) << "tcpdump failed on " << file;
  return lines;
}

TEST(PcapLink, RecordsTransmittedAndReceivedFramesInClassicFormat) {
  TempDir dir;
  std::string file = dir.path + "/eth.pcap";
  auto [a, b] = InProcessHub::make_pair();
  std::string err;
  auto pa = PcapLink::open(std::move(a), file, &err);
  ASSERT_TRUE(pa) << err;
  for (uint8_t i = 0; i < 5; ++i) ASSERT_TRUE(pa->transmit(arp_request(10 + i), Instant(1s + i * 1ms)));
  for (uint8_t i = 0; i < 3; ++i) ASSERT_TRUE(b->transmit(arp_request(50 + i), 0ns));
  std::array<uint8_t, 1600> buf;
  int got = 0;
  for (int i = 0; i < 10 && pa->receive(buf, Instant(2s + 500us)) > 0; ++i) ++got;
  EXPECT_EQ(got, 3);
  EXPECT_EQ(pa->records(), 8u);

  auto bytes = slurp(file);
  ASSERT_EQ(bytes.size(), 24u + 8 * (16 + 60));
  EXPECT_EQ(le32(bytes, 0), 0xa1b2c3d4u);
  EXPECT_EQ(le32(bytes, 20), 1u) << "LINKTYPE_ETHERNET";
  // First record: ts 1 s, 0 us; caplen = origlen = 60.
  EXPECT_EQ(le32(bytes, 24), 1u);
  EXPECT_EQ(le32(bytes, 28), 0u);
  EXPECT_EQ(le32(bytes, 32), 60u);
  EXPECT_EQ(le32(bytes, 36), 60u);
  // Second record at 1.001 s.
  EXPECT_EQ(le32(bytes, 24 + 76 + 4), 1000u);
  // Last record is a received one at 2.0005 s.
  size_t last = 24 + 7 * 76;
  EXPECT_EQ(le32(bytes, last), 2u);
  EXPECT_EQ(le32(bytes, last + 4), 500u);

  auto lines = tcpdump_lines(file);
  if (!lines) GTEST_SKIP() << "tcpdump not installed (tools/install-deps.sh installs it)";
  ASSERT_EQ(lines->size(), 8u);
  int requests = 0;
  for (auto& l : *lines) requests += l.find("ARP, Request who-has 10.0.0.") != std::string::npos;
  EXPECT_EQ(requests, 8);
  EXPECT_NE((*lines)[0].find("10.0.0.10"), std::string::npos) << (*lines)[0];
  EXPECT_NE((*lines)[7].find("10.0.0.52"), std::string::npos) << (*lines)[7];
}

TEST(PcapLink, RawIpLinkType) {
  TempDir dir;
  std::string file = dir.path + "/ip.pcap";
  InProcessOptions o;
  o.kind = LinkKind::Ip;
  auto [a, b] = InProcessHub::make_pair(o);
  std::string err;
  auto pa = PcapLink::open(std::move(a), file, &err);
  ASSERT_TRUE(pa) << err;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(pa->transmit(ipv4_udp(), Instant(i * 1s)));
  auto bytes = slurp(file);
  ASSERT_EQ(bytes.size(), 24u + 4 * (16 + 32));
  EXPECT_EQ(le32(bytes, 20), 101u) << "LINKTYPE_RAW";
  auto lines = tcpdump_lines(file);
  if (!lines) GTEST_SKIP() << "tcpdump not installed";
  ASSERT_EQ(lines->size(), 4u);
  for (auto& l : *lines) EXPECT_NE(l.find("10.0.0.1.1000 > 10.0.0.2.2000: UDP, length 4"), std::string::npos) << l;
}

TEST(PcapLink, DroppedTransmitIsNotRecorded) {
  TempDir dir;
  auto [a, b] = InProcessHub::make_pair();
  std::string err;
  auto pa = PcapLink::open(std::move(a), dir.path + "/x.pcap", &err);
  ASSERT_TRUE(pa);
  std::vector<uint8_t> huge(3000, 0);
  EXPECT_FALSE(pa->transmit(huge, 0ns));
  EXPECT_EQ(pa->records(), 0u);
}

TEST(PcapLink, UnwritablePathGivesClearError) {
  auto [a, b] = InProcessHub::make_pair();
  std::string err;
  auto pa = PcapLink::open(std::move(a), "/nonexistent-dir/x.pcap", &err);
  EXPECT_FALSE(pa);
  EXPECT_NE(err.find("/nonexistent-dir/x.pcap"), std::string::npos) << err;
  EXPECT_NE(err.find(std::strerror(ENOENT)), std::string::npos) << err;
  EXPECT_EQ(errno, ENOENT);
}

}  // namespace
