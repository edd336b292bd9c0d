// TapLink against the Linux kernel: a tap device moved into a namespace the test creates,
// with an address on the kernel side; our ARP request must get the kernel's ARP reply.
#include <gtest/gtest.h>

#include <grp.h>

#include <array>
#include <cstring>

#include "libstack/links.h"
#include "links_test_util.h"

using namespace libstack;
using namespace linktest;
using namespace std::chrono_literals;

namespace {

TEST(TapLink, KernelAnswersArpInNamespace) {
  if (auto why = netns_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  std::string id = std::to_string(getpid());
  std::string tap = "lstap" + id;
  NetnsGuard ns("lstapns" + id);
  if (!ns.ok()) GTEST_SKIP() << "ip netns add failed (no CAP_SYS_ADMIN in this container?)";

  std::string err;
  auto link = make_link("tap:" + tap, {}, &err);
  if (!link && err.find("CAP_NET_ADMIN") != std::string::npos) GTEST_SKIP() << err;
  ASSERT_TRUE(link) << err;
  EXPECT_EQ(link->kind(), LinkKind::Ethernet);
  ASSERT_EQ(sh("ip link set " + tap + " netns " + ns.name()), 0);
  ASSERT_EQ(ns.exec("ip addr add 10.201.0.1/24 dev " + tap), 0);
  ASSERT_EQ(ns.exec("ip link set " + tap + " up"), 0);

  const std::array<uint8_t, 6> mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
  std::vector<uint8_t> req = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  req.insert(req.end(), mac.begin(), mac.end());
  std::vector<uint8_t> arp = {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1};
  req.insert(req.end(), arp.begin(), arp.end());
  req.insert(req.end(), mac.begin(), mac.end());
  for (uint8_t b : {10, 201, 0, 2}) req.push_back(b);
  for (int i = 0; i < 6; ++i) req.push_back(0);
  for (uint8_t b : {10, 201, 0, 1}) req.push_back(b);
  req.resize(60, 0);

  auto is_reply = [&](std::span<const uint8_t> f) {
    return f.size() >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[20] == 0 && f[21] == 2 &&
           std::memcmp(&f[0], mac.data(), 6) == 0 && f[28] == 10 && f[29] == 201 &&
           f[30] == 0 && f[31] == 1 && std::memcmp(&f[32], mac.data(), 6) == 0;
  };
  std::array<uint8_t, 2000> buf;
  size_t n = 0;
  for (int attempt = 0; attempt < 10 && n == 0; ++attempt) {
    ASSERT_TRUE(link->transmit(req, mono_now())) << "write to tap failed";
    n = receive_matching(*link, buf, is_reply, 500ms);
  }
  ASSERT_GT(n, 0u) << "no ARP reply from the kernel side of " << tap;
  // The kernel's MAC (sender hardware address) must be its tap's MAC, unicast.
  EXPECT_EQ(buf[22] & 1, 0);
  EXPECT_EQ(std::memcmp(&buf[6], &buf[22], 6), 0);
}

uint16_t csum(std::span<const uint8_t> b) {
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < b.size(); i += 2) s += uint32_t(b[i]) << 8 | b[i + 1];
  if (b.size() & 1) s += uint32_t(b.back()) << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return uint16_t(~s);
}

TEST(TapLink, TunModeKernelAnswersPing) {
  if (auto why = netns_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  std::string id = std::to_string(getpid());
  std::string tun = "lstun" + id;
  NetnsGuard ns("lstunns" + id);
  if (!ns.ok()) GTEST_SKIP() << "ip netns add failed (no CAP_SYS_ADMIN in this container?)";
  std::string err;
  auto link = make_link("tun:" + tun, {}, &err);
  if (!link && err.find("CAP_NET_ADMIN") != std::string::npos) GTEST_SKIP() << err;
  ASSERT_TRUE(link) << err;
  EXPECT_EQ(link->kind(), LinkKind::Ip);
  ASSERT_EQ(sh("ip link set " + tun + " netns " + ns.name()), 0);
  ASSERT_EQ(ns.exec("ip addr add 10.203.0.1/24 dev " + tun), 0);
  ASSERT_EQ(ns.exec("ip link set " + tun + " up"), 0);

  // ICMP echo request 10.203.0.2 -> 10.203.0.1, id 0x4c53, seq 1, 8 bytes payload.
  std::vector<uint8_t> pkt = {0x45, 0, 0, 36, 0, 1, 0x40, 0, 64, 1, 0, 0, 10, 203, 0, 2,
                              10, 203, 0, 1, 8, 0, 0, 0, 0x4c, 0x53, 0, 1,
                              'l', 'i', 'b', 's', 't', 'a', 'c', 'k'};
  uint16_t c = csum(std::span(pkt).first(20));
  pkt[10] = uint8_t(c >> 8);
  pkt[11] = uint8_t(c);
  c = csum(std::span(pkt).subspan(20));
  pkt[22] = uint8_t(c >> 8);
  pkt[23] = uint8_t(c);
  auto is_reply = [](std::span<const uint8_t> f) {
    return f.size() >= 36 && (f[0] >> 4) == 4 && f[9] == 1 && f[20] == 0 && f[24] == 0x4c &&
           f[25] == 0x53 && f[12] == 10 && f[13] == 203 && f[15] == 1 &&
           std::memcmp(&f[28], "libstack", 8) == 0;
  };
  std::array<uint8_t, 2000> buf;
  size_t n = 0;
  for (int attempt = 0; attempt < 10 && n == 0; ++attempt) {
    ASSERT_TRUE(link->transmit(pkt, mono_now()));
    n = receive_matching(*link, buf, is_reply, 500ms);
  }
  ASSERT_GT(n, 0u) << "no ICMP echo reply from the kernel side of " << tun;
}

// Opens a tap as an unprivileged user (a child that drops to nobody when we are root) and
// returns the error text.
std::string unprivileged_open_error(const std::string& name) {
  int p[2];
  if (pipe(p) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    if (geteuid() == 0 && (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
                           setresuid(65534, 65534, 65534) != 0))
      _exit(2);
    std::string err;
    auto l = TapLink::open(name, 1500, &err);
    if (l) err = "unexpectedly opened";
    (void)!write(p[1], err.data(), err.size());
    _exit(0);
  }
  close(p[1]);
  std::string out;
  char buf[512];
  for (int i = 0; i < 100; ++i) {
    ssize_t n = read(p[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, size_t(n));
  }
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  return out;
}

TEST(TapLink, OpenErrorsAreClear) {
  std::string err;
  EXPECT_FALSE(TapLink::open("", 1500, &err));
  EXPECT_NE(err.find("must be"), std::string::npos) << err;
  EXPECT_FALSE(TapLink::open("a b", 1500, &err));
  EXPECT_NE(err.find("invalid character"), std::string::npos) << err;
  if (access("/dev/net/tun", R_OK | W_OK) != 0) GTEST_SKIP() << "/dev/net/tun not available";
  std::string e = unprivileged_open_error("lsnoperm" + std::to_string(getpid()));
  EXPECT_NE(e.find("CAP_NET_ADMIN"), std::string::npos) << e;
  EXPECT_NE(e.find("errno"), std::string::npos) << e;
}

}  // namespace
