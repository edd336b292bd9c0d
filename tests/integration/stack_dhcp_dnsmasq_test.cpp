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

using namespace libstack;
using namespace linktest;
using namespace std::chrono_literals;

namespace {

const MacAddr kMac{{0x02, 0x4c, 0x53, 0x00, 0x00, 0x07}};

std::vector<uint8_t> udp_frame(const MacAddr& dst_mac, Ipv4Addr src, Ipv4Addr dst,
                               std::span<const uint8_t> payload) {
  std::vector<uint8_t> f(dst_mac.b.begin(), dst_mac.b.end());
  f.insert(f.end(), kMac.b.begin(), kMac.b.end());
  f.push_back(0x08);
  f.push_back(0x00);
  size_t ip_len = 20 + 8 + payload.size();
  uint8_t ip[20] = {0x45, 0, uint8_t(ip_len >> 8), uint8_t(ip_len), 0, 0, 0x40, 0, 64, 17, 0, 0};
  std::memcpy(ip + 12, src.b.data(), 4);
  std::memcpy(ip + 16, dst.b.data(), 4);
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += uint32_t(ip[i]) << 8 | ip[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = uint8_t(~sum >> 8);
  ip[11] = uint8_t(~sum);
  f.insert(f.end(), ip, ip + 20);
  size_t udp_len = 8 + payload.size();
  uint8_t udp[8] = {0, 68, 0, 67, uint8_t(udp_len >> 8), uint8_t(udp_len), 0, 0};  // csum 0
  f.insert(f.end(), udp, udp + 8);
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

// Returns the UDP payload of an IPv4/UDP frame to port 68 (and the sender's MAC).
std::optional<std::span<const uint8_t>> dhcp_payload(std::span<const uint8_t> f, MacAddr* src) {
  if (f.size() < 14 + 20 + 8 || f[12] != 0x08 || f[13] != 0x00) return std::nullopt;
  auto ip = f.subspan(14);
  size_t ihl = (ip[0] & 0x0f) * 4u;
  size_t total = size_t(ip[2]) << 8 | ip[3];
  if ((ip[0] >> 4) != 4 || ihl < 20 || total > ip.size() || total < ihl + 8 || ip[9] != 17)
    return std::nullopt;
  auto udp = ip.subspan(ihl, total - ihl);
  if ((size_t(udp[2]) << 8 | udp[3]) != 68) return std::nullopt;
  size_t ulen = size_t(udp[4]) << 8 | udp[5];
  if (ulen < 8 || ulen > udp.size()) return std::nullopt;
  std::memcpy(src->b.data(), &f[6], 6);
  return udp.subspan(8, ulen - 8);
}

// Answers an ARP request for `ours` (needed when dnsmasq unicasts to the leased address).
bool answer_arp(Link& link, std::span<const uint8_t> f, Ipv4Addr ours) {
  if (f.size() < 42 || f[12] != 0x08 || f[13] != 0x06 || f[20] != 0 || f[21] != 1) return false;
  if (std::memcmp(&f[38], ours.b.data(), 4) != 0) return false;
  std::vector<uint8_t> r(f.begin() + 6, f.begin() + 12);  // to the asker
  r.insert(r.end(), kMac.b.begin(), kMac.b.end());
  r.insert(r.end(), {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2});
  r.insert(r.end(), kMac.b.begin(), kMac.b.end());
  r.insert(r.end(), ours.b.begin(), ours.b.end());
  r.insert(r.end(), f.begin() + 22, f.begin() + 32);  // asker's MAC + IP
  r.resize(60, 0);
  link.transmit(r, mono_now());
  return true;
}

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

  SplitMix64 rng(static_cast<uint64_t>(mono_now().count()));
  Duration offset{0};  // virtual time jump to reach T1 without waiting a minute
  auto now = [&] { return mono_now() + offset; };
  MacAddr server_mac = MacAddr::broadcast();
  std::vector<DhcpLease> configured, deconfigured;
  DhcpClientConfig cfg;
  cfg.mac = kMac;
  cfg.hostname = "lsnode";
  cfg.first_timeout = 1s;  // keep the test short if dnsmasq is still starting
  cfg.max_timeout = 2s;
  cfg.jitter = 100ms;
  cfg.min_renew_retry = 1s;
  DhcpClient client(cfg, rng,
                    DhcpCallbacks{[&](const DhcpSend& s) {
                                    MacAddr dst = s.dst.is_broadcast() ? MacAddr::broadcast()
                                                                       : server_mac;
                                    link->transmit(udp_frame(dst, s.src, s.dst, s.payload),
                                                   mono_now());
                                  },
                                  [&](const DhcpLease& l) { configured.push_back(l); },
                                  [&](const DhcpLease& l) { deconfigured.push_back(l); }});

  auto run_until = [&](const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    std::array<uint8_t, 2048> buf;
    for (int i = 0; i < 100000 && !done(); ++i) {
      if (std::chrono::steady_clock::now() > end) return false;
      pollfd p{link->wait_fd(), POLLIN, 0};
      ::poll(&p, 1, 50);
      for (int k = 0; k < 64; ++k) {
        size_t n = link->receive(buf, mono_now());
        if (n == 0) break;
        auto f = std::span<const uint8_t>(buf.data(), n);
        if (client.lease() && answer_arp(*link, f, client.lease()->address)) continue;
        MacAddr src;
        if (auto pl = dhcp_payload(f, &src)) {
          client.on_packet(*pl, now());
          if (!client.lease() || server_mac.is_broadcast()) server_mac = src;
        }
      }
      client.poll(now());
    }
    return done();
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
  offset += client.lease()->renew_at - now();
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
