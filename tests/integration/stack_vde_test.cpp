// VdeLink against real VDE: a vde_switch child process (vde2) and the vdeplug4 ptp://,
// hub:// and switch:// plugins. Frames go both ways and are compared byte for byte.
#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "libstack/links.h"
#include "links_test_util.h"

using namespace libstack;
using namespace linktest;
using namespace std::chrono_literals;

namespace {

std::vector<uint8_t> make_frame(const MacAddr& dst, const MacAddr& src, uint32_t tag, size_t len) {
  std::vector<uint8_t> f(len);
  std::memcpy(&f[0], dst.b.data(), 6);
  std::memcpy(&f[6], src.b.data(), 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  std::memcpy(&f[14], &tag, 4);
  for (size_t i = 18; i < len; ++i) f[i] = uint8_t(i * 7 + tag);
  return f;
}

auto tagged(uint32_t tag) {
  return [tag](std::span<const uint8_t> f) {
    uint32_t t;
    return f.size() >= 18 && f[12] == 0x88 && f[13] == 0xb5 &&
           (std::memcpy(&t, &f[14], 4), t == tag);
  };
}

const MacAddr kMacA{{0x02, 0, 0, 0, 0, 0xa}};
const MacAddr kMacB{{0x02, 0, 0, 0, 0, 0xb}};

// Sends broadcast A->B, unicast B->A, and a full-MTU frame A->B; asserts exact delivery.
void exchange(Link& a, Link& b) {
  std::array<uint8_t, 2000> buf;
  // The first frames may race the plugin's own setup: retry the broadcast a few times.
  auto f1 = make_frame(MacAddr::broadcast(), kMacA, 1, 60);
  size_t n = 0;
  for (int i = 0; i < 20 && n == 0; ++i) {
    ASSERT_TRUE(a.transmit(f1, mono_now()));
    n = receive_matching(b, buf, tagged(1), 250ms);
  }
  ASSERT_EQ(n, f1.size());
  EXPECT_EQ(0, std::memcmp(buf.data(), f1.data(), n));

  auto f2 = make_frame(kMacA, kMacB, 2, 200);
  ASSERT_TRUE(b.transmit(f2, mono_now()));
  n = receive_matching(a, buf, tagged(2), 3s);
  ASSERT_EQ(n, f2.size());
  EXPECT_EQ(0, std::memcmp(buf.data(), f2.data(), n));

  auto f3 = make_frame(kMacB, kMacA, 3, 1514);
  ASSERT_TRUE(a.transmit(f3, mono_now()));
  n = receive_matching(b, buf, tagged(3), 3s);
  ASSERT_EQ(n, f3.size());
  EXPECT_EQ(0, std::memcmp(buf.data(), f3.data(), n));
}

class VdeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("vde");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override {
    if (!dir_.empty()) sh("rm -rf '" + dir_ + "'");
  }
  std::unique_ptr<Link> open(const std::string& url) {
    std::string err;
    auto l = make_link(url, {}, &err);
    EXPECT_TRUE(l) << err;
    return l;
  }
  std::string dir_;
};

TEST_F(VdeTest, ThroughVdeSwitchProcess) {
  if (!have("/usr/bin/vde_switch")) GTEST_SKIP() << "vde_switch (package vde2) not installed";
  std::string sw = dir_ + "/sw";
  Child swp({"vde_switch", "-s", sw});
  ASSERT_TRUE(wait_until([&] { return access((sw + "/ctl").c_str(), F_OK) == 0; }, 5s))
      << "vde_switch did not create " << sw << "/ctl";
  auto a = open("vde://" + sw);
  auto b = open(sw);  // a bare directory path means vde:// too
  ASSERT_TRUE(a && b);
  EXPECT_GE(a->wait_fd(), 0);
  exchange(*a, *b);
  EXPECT_TRUE(swp.running());
}

TEST_F(VdeTest, Vdeplug4Ptp) {
  auto a = open("ptp://" + dir_ + "/ptp");
  auto b = open("ptp://" + dir_ + "/ptp");
  ASSERT_TRUE(a && b);
  exchange(*a, *b);
}

// vdeplug4 hub:// and switch:// are served by the process that opened them, from its own
// vde_recv loop (libvdeplug_hub(1)): a vde_plug child hosts the hub/switch (its other end
// is null://) and both of our links join it with vde://.
void through_vde_plug_host(const std::string& host_url) {
  if (!have("/usr/bin/vde_plug")) GTEST_SKIP() << "vde_plug (package vde2) not installed";
  std::string path = host_url.substr(host_url.find("://") + 3);
  Child host({"vde_plug", host_url, "null://"});
  ASSERT_TRUE(wait_until([&] { return access((path + "/ctl").c_str(), F_OK) == 0; }, 5s))
      << "vde_plug did not create " << path << "/ctl";
  std::string err;
  auto a = make_link("vde://" + path, {}, &err);
  ASSERT_TRUE(a) << err;
  auto b = make_link("vde://" + path, {}, &err);
  ASSERT_TRUE(b) << err;
  exchange(*a, *b);
  EXPECT_TRUE(host.running());
}

TEST_F(VdeTest, Vdeplug4HubHostedByVdePlug) {
  through_vde_plug_host("hub://" + dir_ + "/hub");
}

TEST_F(VdeTest, Vdeplug4SwitchHostedByVdePlug) {
  through_vde_plug_host("switch://" + dir_ + "/swp");
}

TEST_F(VdeTest, PcapOptionRecordsBothDirections) {
  LinkOptions o;
  o.pcap_path = dir_ + "/a.pcap";
  std::string err;
  auto a = make_link("ptp://" + dir_ + "/ptp3", o, &err);
  ASSERT_TRUE(a) << err;
  auto* pa = dynamic_cast<PcapLink*>(a.get());
  ASSERT_NE(pa, nullptr) << "pcap_path must wrap the link";
  auto b = open("ptp://" + dir_ + "/ptp3");
  ASSERT_TRUE(b);
  exchange(*a, *b);
  // a sent >= 2 frames (broadcast retries + f3) and received f2.
  EXPECT_GE(pa->records(), 3u);
  struct stat st {};
  ASSERT_EQ(stat(o.pcap_path.c_str(), &st), 0);
  EXPECT_GT(st.st_size, 24 + 3 * 16 + 60 + 200);
}

TEST_F(VdeTest, MtuIsSettable) {
  std::string err;
  auto a = VdeLink::open("ptp://" + dir_ + "/ptp4", 9000, &err);
  ASSERT_TRUE(a) << err;
  auto b = VdeLink::open("ptp://" + dir_ + "/ptp4", 9000, &err);
  ASSERT_TRUE(b) << err;
  EXPECT_EQ(a->mtu(), 9000u);
  std::vector<uint8_t> jumbo(9014, 0x5a);
  std::memcpy(jumbo.data(), kMacB.b.data(), 6);
  std::memcpy(jumbo.data() + 6, kMacA.b.data(), 6);
  jumbo[12] = 0x88;
  jumbo[13] = 0xb5;
  uint32_t tag = 9;
  std::memcpy(&jumbo[14], &tag, 4);
  std::vector<uint8_t> buf(10000);
  size_t n = 0;
  for (int i = 0; i < 20 && n == 0; ++i) {
    ASSERT_TRUE(a->transmit(jumbo, mono_now()));
    n = receive_matching(*b, buf, tagged(9), 250ms);
  }
  EXPECT_EQ(n, jumbo.size());
  a->set_mtu(1500);
  EXPECT_FALSE(a->transmit(jumbo, mono_now()));
}

TEST_F(VdeTest, OversizeFrameIsDroppedNotSent) {
  auto a = open("ptp://" + dir_ + "/ptp2");
  ASSERT_TRUE(a);
  std::vector<uint8_t> big(1515, 0);
  EXPECT_FALSE(a->transmit(big, mono_now()));
  EXPECT_EQ(a->dropped(), 1u);
}

}  // namespace
