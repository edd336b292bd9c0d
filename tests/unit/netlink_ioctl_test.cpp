// SIOCGIF* / SIOCGIFCONF emulation on real Stacks (label unit).
#include <net/if_arp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "netlink_harness.h"
#include "umnet/if_ioctl.h"

namespace nltest {
namespace {

ifreq named(const char* name) {
  ifreq r{};
  std::strncpy(r.ifr_name, name, IFNAMSIZ - 1);
  return r;
}
std::string v4(const sockaddr& sa) {
  EXPECT_EQ(sa.sa_family, AF_INET);
  sockaddr_in sin;
  std::memcpy(&sin, &sa, sizeof sin);
  char buf[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, &sin.sin_addr, buf, sizeof buf);
}

TEST(IfIoctl, InterfaceQueries) {
  Net n;
  umnet::IfIoctl io(*n.a);
  auto r = named("eth0");
  ASSERT_EQ(io.ifreq_ioctl(SIOCGIFFLAGS, r), 0);
  EXPECT_EQ(r.ifr_flags & (IFF_UP | IFF_RUNNING | IFF_BROADCAST | IFF_MULTICAST),
            IFF_UP | IFF_RUNNING | IFF_BROADCAST | IFF_MULTICAST);
  EXPECT_EQ(r.ifr_flags & IFF_LOOPBACK, 0);
  ASSERT_EQ(io.ifreq_ioctl(SIOCGIFADDR, r), 0);
  EXPECT_EQ(v4(r.ifr_addr), "10.0.0.1");
  ASSERT_EQ(io.ifreq_ioctl(SIOCGIFNETMASK, r), 0);
  EXPECT_EQ(v4(r.ifr_netmask), "255.255.255.0");
  ASSERT_EQ(io.ifreq_ioctl(SIOCGIFBRDADDR, r), 0);
  EXPECT_EQ(v4(r.ifr_broadaddr), "10.0.0.255");
  ASSERT_EQ(io.ifreq_ioctl(SIOCGIFHWADDR, r), 0);
  EXPECT_EQ(r.ifr_hwaddr.sa_family, ARPHRD_ETHER);
  EXPECT_EQ(std::vector<uint8_t>(r.ifr_hwaddr.sa_data, r.ifr_hwaddr.sa_data + 6), (std::vector<uint8_t>{2, 0, 0, 0, 0, 1}));
  ASSERT_EQ(io.ifreq_ioctl(SIOCGIFMTU, r), 0);
  EXPECT_EQ(r.ifr_mtu, 1500);
  std::memset(&r.ifr_map, 0xab, sizeof r.ifr_map);
  ASSERT_EQ(io.ifreq_ioctl(SIOCGIFMAP, r), 0);
  EXPECT_EQ(r.ifr_map.base_addr, 0);
  ASSERT_EQ(io.ifreq_ioctl(SIOCGIFINDEX, r), 0);
  EXPECT_EQ(r.ifr_ifindex, int(n.ia));
  ifreq byidx{};
  byidx.ifr_ifindex = int(n.ia);
  ASSERT_EQ(io.ifreq_ioctl(SIOCGIFNAME, byidx), 0);
  EXPECT_STREQ(byidx.ifr_name, "eth0");

  auto lo = named("lo");
  ASSERT_EQ(io.ifreq_ioctl(SIOCGIFFLAGS, lo), 0);
  EXPECT_TRUE(lo.ifr_flags & IFF_LOOPBACK);
  ASSERT_EQ(io.ifreq_ioctl(SIOCGIFHWADDR, lo), 0);
  EXPECT_EQ(lo.ifr_hwaddr.sa_family, ARPHRD_LOOPBACK);
  ASSERT_EQ(io.ifreq_ioctl(SIOCGIFADDR, lo), 0);
  EXPECT_EQ(v4(lo.ifr_addr), "127.0.0.1");
  ASSERT_EQ(io.ifreq_ioctl(SIOCGIFNETMASK, lo), 0);
  EXPECT_EQ(v4(lo.ifr_netmask), "255.0.0.0");
  ASSERT_EQ(io.ifreq_ioctl(SIOCGIFBRDADDR, lo), 0);
  EXPECT_EQ(v4(lo.ifr_broadaddr), "0.0.0.0");
}

TEST(IfIoctl, Errors) {
  Net n(false);
  umnet::IfIoctl io(*n.a);
  auto r = named("eth7");
  EXPECT_EQ(io.ifreq_ioctl(SIOCGIFFLAGS, r), -ENODEV);
  EXPECT_EQ(io.ifreq_ioctl(SIOCGIFINDEX, r), -ENODEV);
  ifreq byidx{};
  byidx.ifr_ifindex = 42;
  EXPECT_EQ(io.ifreq_ioctl(SIOCGIFNAME, byidx), -ENODEV);
  auto eth = named("eth0");
  EXPECT_EQ(io.ifreq_ioctl(SIOCGIFADDR, eth), -EADDRNOTAVAIL);  // no IPv4 address yet
  EXPECT_EQ(io.ifreq_ioctl(0x1234, eth), -ENOTTY);
  // A name filling all 16 bytes without NUL never matches and is never over-read.
  ifreq full;
  std::memset(full.ifr_name, 'e', IFNAMSIZ);
  EXPECT_EQ(io.ifreq_ioctl(SIOCGIFFLAGS, full), -ENODEV);
  // Down: refused; MTU: applied to the Stack.
  ASSERT_EQ(io.ifreq_ioctl(SIOCGIFFLAGS, eth), 0);
  eth.ifr_flags = short(eth.ifr_flags & ~IFF_UP);
  EXPECT_EQ(io.ifreq_ioctl(SIOCSIFFLAGS, eth), -EOPNOTSUPP);
  eth.ifr_mtu = 1280;
  EXPECT_EQ(io.ifreq_ioctl(SIOCSIFMTU, eth), 0);
  EXPECT_EQ(n.a->interfaces()[1].mtu, 1280u);
  EXPECT_EQ(io.ifreq_ioctl(SIOCSIFADDR, eth), -EOPNOTSUPP);
}

TEST(IfIoctl, Ifconf) {
  Net n;
  ASSERT_EQ(n.a->add_address(n.ia, cidr("10.0.1.1/24")), 0);
  umnet::IfIoctl io(*n.a);
  EXPECT_EQ(io.ifconf_needed(), 3 * sizeof(ifreq));
  std::vector<uint8_t> buf(io.ifconf_needed());
  ASSERT_EQ(io.ifconf(buf), buf.size());
  std::vector<std::string> got;
  for (size_t k = 0; k < 3; ++k) {
    ifreq r;
    std::memcpy(&r, buf.data() + k * sizeof r, sizeof r);
    got.push_back(std::string(r.ifr_name) + " " + v4(r.ifr_addr));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"lo 127.0.0.1", "eth0 10.0.0.1", "eth0 10.0.1.1"}));
  // A buffer for 1.5 entries gets one whole entry.
  std::vector<uint8_t> small(sizeof(ifreq) * 3 / 2);
  EXPECT_EQ(io.ifconf(small), sizeof(ifreq));
  EXPECT_EQ(io.ifconf(std::span<uint8_t>{}), 0u);
}

}  // namespace
}  // namespace nltest
