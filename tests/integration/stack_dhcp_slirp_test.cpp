// The DHCPv4 client over a VdeLink to libvdeplug's slirp:// plugin: libslirp's built-in
// DHCP server (inside this process) hands out the lease, so no root and no traffic leaves
// the process. Checks the lease against slirp's documented defaults (10.0.2.0/24, gateway
// 10.0.2.2, DNS 10.0.2.3) and a renewal.
#include <gtest/gtest.h>

#include "dhcp_test_framing.h"
#include "libstack/links.h"
#include "links_test_util.h"

using namespace libstack;
using namespace linktest;
using namespace std::chrono_literals;

namespace {

TEST(DhcpSlirp, LeaseFromSlirpBuiltinServer) {
  std::string err;
  auto link = make_link("slirp://", {}, &err);
  if (!link) GTEST_SKIP() << "slirp:// unavailable (package libvdeplug-slirp): " << err;
  DhcpClientConfig cfg;
  cfg.mac = kMac;
  cfg.first_timeout = 1s;
  cfg.max_timeout = 2s;
  cfg.jitter = 100ms;
  cfg.min_renew_retry = 1s;
  DhcpOverLink d(*link, cfg);
  d.client.start(d.now());
  ASSERT_TRUE(d.run_until([&] { return d.client.state() == DhcpState::Bound; }, 15s))
      << "no lease from slirp; state " << to_string(d.client.state()) << ", sent "
      << d.client.stats().sent << ", received " << d.client.stats().received;
  const DhcpLease l = d.configured.at(0);
  EXPECT_EQ(l.address.b[0], 10);
  EXPECT_EQ(l.address.b[1], 0);
  EXPECT_EQ(l.address.b[2], 2);
  EXPECT_GE(l.address.b[3], 15);
  EXPECT_EQ(l.prefix_len, 24);
  EXPECT_EQ(l.router(), (Ipv4Addr{{10, 0, 2, 2}}));
  ASSERT_FALSE(l.dns_servers.empty());
  EXPECT_EQ(l.dns_servers[0], (Ipv4Addr{{10, 0, 2, 3}}));
  EXPECT_GT(l.lease_seconds, 0u);

  d.offset += d.client.lease()->renew_at - d.now();
  d.client.poll(d.now());
  ASSERT_EQ(d.client.state(), DhcpState::Renewing);
  ASSERT_TRUE(d.run_until([&] { return d.configured.size() == 2; }, 10s))
      << "renewal not acknowledged; state " << to_string(d.client.state());
  EXPECT_EQ(d.configured[1].address, l.address);
  EXPECT_TRUE(d.deconfigured.empty());
}

}  // namespace
