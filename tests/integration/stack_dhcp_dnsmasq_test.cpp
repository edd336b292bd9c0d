// The DHCPv4 client against a real dnsmasq: a namespace + tap made by the test, dnsmasq
// serving a range on the tap inside the namespace, our client on a TapLink with a tiny
// in-test Ethernet/IPv4/UDP/ARP framing (the client itself only speaks UDP payloads).
// Checks the lease (range, router, DNS, domain, lease time), a unicast RENEW answered by
// dnsmasq, and that RELEASE removes the lease from dnsmasq's lease file.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/dhcp_client.h"
#include "libstack/links.h"
#include "links_test_util.h"
#include "dhcp_test_framing.h"

using namespace libstack;
using namespace linktest;
using namespace std::chrono_literals;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(DhcpDnsmasq, LeaseRenewRelease) {
  if (auto why = netns_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  if (!have("/usr/sbin/dnsmasq")) GTEST_SKIP() << "dnsmasq (package dnsmasq-base) not installed";
  std::string id = std::to_string(getpid());
  std::string tap = "lsdhcp" + id;
  std::string dir = make_temp_dir("dhcp");
  ASSERT_FALSE(dir.empty());
  struct DirGuard {
    std::string d;
    ~DirGuard() { sh("rm -rf '" + d + "'"); }
  } dir_guard{dir};
  NetnsGuard ns("lsdhcpns" + id);
  ASSERT_TRUE(ns.ok());

  std::string err;
  auto link = TapLink::open(tap, 1500, &err);
  ASSERT_TRUE(link) << err;
  ASSERT_EQ(sh("ip link set " + tap + " netns " + ns.name()), 0);
  ASSERT_EQ(ns.exec("ip addr add 10.202.0.1/24 dev " + tap), 0);
  ASSERT_EQ(ns.exec("ip link set " + tap + " up"), 0);
  ASSERT_EQ(ns.exec("ip link set lo up"), 0);

  std::string leases = dir + "/leases";
  Child dnsmasq({"ip", "netns", "exec", ns.name(), "dnsmasq", "--no-daemon", "--conf-file=/dev/null",
                 "--port=0", "--interface=" + tap, "--bind-interfaces", "--user=root",
                 "--dhcp-range=10.202.0.50,10.202.0.150,255.255.255.0,2m",
                 "--dhcp-option=option:router,10.202.0.1",
                 "--dhcp-option=option:dns-server,10.202.0.53",
                 "--dhcp-option=option:domain-name,lstest.example",
                 "--dhcp-leasefile=" + leases, "--pid-file=" + dir + "/pid", "--no-ping",
                 "--dhcp-authoritative"});
  ASSERT_GT(dnsmasq.pid(), 0);

  DhcpClientConfig cfg;
  cfg.mac = kMac;
  cfg.hostname = "lsnode";
  cfg.first_timeout = 1s;  // keep the test short if dnsmasq is still starting
  cfg.max_timeout = 2s;
  cfg.jitter = 100ms;
  cfg.min_renew_retry = 1s;
  DhcpOverLink d(*link, cfg);
  DhcpClient& client = d.client;
  auto& configured = d.configured;
  auto& deconfigured = d.deconfigured;
  auto now = [&] { return d.now(); };
  auto run_until = [&](const std::function<bool()>& done, std::chrono::milliseconds limit) {
    return d.run_until(done, limit);
  };

  client.start(now());
  ASSERT_TRUE(run_until([&] { return client.state() == DhcpState::Bound; }, 20s))
      << "no lease from dnsmasq; client state " << to_string(client.state())
      << ", sent " << client.stats().sent << ", received " << client.stats().received;
  ASSERT_EQ(configured.size(), 1u);
  const DhcpLease l = configured[0];  // a copy: configured grows below
  uint32_t a = l.address.to_u32();
  EXPECT_GE(a, Ipv4Addr({{10, 202, 0, 50}}).to_u32());
  EXPECT_LE(a, Ipv4Addr({{10, 202, 0, 150}}).to_u32());
  EXPECT_EQ(l.prefix_len, 24);
  EXPECT_EQ(l.router(), (Ipv4Addr{{10, 202, 0, 1}}));
  ASSERT_EQ(l.dns_servers.size(), 1u);
  EXPECT_EQ(l.dns_servers[0], (Ipv4Addr{{10, 202, 0, 53}}));
  EXPECT_EQ(l.domain_name, "lstest.example");
  EXPECT_EQ(l.lease_seconds, 120u);
  EXPECT_EQ(l.server_id, (Ipv4Addr{{10, 202, 0, 1}}));
  EXPECT_TRUE(wait_until([&] { return slurp(leases).find("02:4c:53:00:00:07") != std::string::npos; }, 5s))
      << "dnsmasq lease file: " << slurp(leases);

  // Jump the virtual clock to T1: the client unicasts a REQUEST, dnsmasq ACKs it.
  d.offset += client.lease()->renew_at - now();
  client.poll(now());
  EXPECT_EQ(client.state(), DhcpState::Renewing);
  ASSERT_TRUE(run_until([&] { return configured.size() == 2; }, 10s))
      << "renewal not acknowledged; state " << to_string(client.state());
  EXPECT_EQ(client.state(), DhcpState::Bound);
  EXPECT_EQ(configured[1].address, l.address);
  EXPECT_GT(configured[1].expires_at, l.expires_at);
  EXPECT_TRUE(deconfigured.empty());

  client.release(now());
  EXPECT_EQ(deconfigured.size(), 1u);
  EXPECT_TRUE(wait_until([&] { return slurp(leases).find("02:4c:53:00:00:07") == std::string::npos; }, 5s))
      << "dnsmasq kept the lease after RELEASE: " << slurp(leases);
  dnsmasq.stop();
}

}  // namespace
