// Autoconf on a real Stack without root: the stack's interface is a VdeLink to libvdeplug's
// slirp:// plugin, whose libslirp DHCP server and router advertisements run inside this
// process (nothing leaves it). The stack's clock is the steady clock plus an offset the
// test can advance, to reach T1 (renewal) and lease expiry without waiting.
#include <gtest/gtest.h>

#include "libstack/icmp.h"
#include "libstack/udp.h"
#include "stack_kernel_util.h"

using namespace libstack;
using namespace std::chrono_literals;

namespace {

struct SlirpStack {
  SplitMix64 rng{7};
  std::unique_ptr<Stack> st;
  std::unique_ptr<Autoconf> ac;
  Link* link = nullptr;
  int ifx = -1;
  Duration offset{0};
  MacAddr mac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
  Instant now() const { return linktest::mono_now() + offset; }
  void turn() {
    Instant t = now();
    st->poll(t);
    ac->poll(t);
    Instant dl = std::min(st->next_deadline(), ac->next_deadline());
    Duration w = dl == kNever ? Duration(20ms) : std::clamp<Duration>(dl - now(), 0ns, 20ms);
    pollfd p{link->wait_fd(), POLLIN, 0};
    timespec ts{0, long(w.count())};
    ppoll(&p, link->wait_fd() >= 0 ? 1 : 0, &ts, nullptr);
  }
  bool run_until(const std::function<bool()>& pred, Duration timeout) {
    Instant end = linktest::mono_now() + timeout;
    while (!pred()) {
      if (linktest::mono_now() >= end) return false;
      turn();
    }
    return true;
  }
  bool has_address(const IpAddr& a) const {
    for (auto& x : st->addresses())
      if (x.cidr.addr == a) return true;
    return false;
  }
  bool has_v4_default() const {
    for (auto& r : st->routes())
      if (r.dest.addr.is_v4() && r.dest.prefix_len == 0) return true;
    return false;
  }
};

TEST(AutoconfSlirp, LeaseRenewExpiryOnStack) {
  std::string err;
  auto l = make_link("slirp://", {}, &err);
  if (!l) GTEST_SKIP() << "slirp:// unavailable (package libvdeplug-slirp): " << err;
  SlirpStack s;
  s.link = l.get();
  s.st = Stack::create({s.rng, Tuning{}});
  s.ifx = s.st->add_interface(std::move(l), s.mac, 0, "eth0");
  ASSERT_GT(s.ifx, 0);
  AutoconfConfig cfg;
  cfg.mac = s.mac;
  cfg.slaac = false;
  s.ac = std::make_unique<Autoconf>(*s.st, uint32_t(s.ifx), cfg, s.rng);
  s.ac->start(s.now());
  ASSERT_TRUE(s.run_until([&] { return s.ac->dhcp_state() == DhcpState::Bound; }, 20s))
      << "state " << to_string(s.ac->dhcp_state());
  DhcpLease lease = *s.ac->lease();
  EXPECT_EQ(lease.router(), (Ipv4Addr{{10, 0, 2, 2}}));
  EXPECT_TRUE(s.has_address(IpAddr(lease.address)));
  EXPECT_TRUE(s.has_v4_default());
  auto dns = s.ac->dns_servers();
  ASSERT_FALSE(dns.empty());
  EXPECT_EQ(dns[0], IpAddr(Ipv4Addr{{10, 0, 2, 3}}));
  EXPECT_EQ(s.ac->stats().dhcp_configured, 1u);

  // The configured address works: slirp answers ICMP echo to its gateway address.
  auto p = s.st->icmp_socket(IpAddr::Family::V4);
  std::vector<uint8_t> echo = {8, 0, 0, 0, 0, 0, 0, 1, 'x'};
  ASSERT_EQ(p->sendto(echo, Endpoint{IpAddr(Ipv4Addr{{10, 0, 2, 2}}), 0}), ssize_t(echo.size()));
  EXPECT_TRUE(s.run_until([&] {
    std::vector<uint8_t> b(64);
    return p->recvfrom(b) == ssize_t(echo.size());
  }, 5s)) << "no echo reply from slirp's gateway";

  // T1: the renewal is unicast from the leased address and acknowledged; nothing changes.
  s.offset += lease.renew_at - s.now();
  ASSERT_TRUE(s.run_until([&] {
    return s.ac->dhcp_state() == DhcpState::Bound && s.ac->lease()->start > lease.start;
  }, 15s)) << "state " << to_string(s.ac->dhcp_state());
  EXPECT_TRUE(s.has_address(IpAddr(lease.address)));
  EXPECT_EQ(s.ac->stats().dhcp_deconfigured, 0u);

  // Expiry while the server is unreachable: drop the lease's configuration. We cut the
  // server off by jumping past the expiry in one step (the client sees the deadline).
  DhcpLease renewed = *s.ac->lease();
  s.offset += renewed.expires_at - s.now() + 1s;
  s.st->poll(s.now());
  s.ac->poll(s.now());
  EXPECT_EQ(s.ac->stats().dhcp_deconfigured, 1u);
  EXPECT_FALSE(s.has_address(IpAddr(lease.address)));
  EXPECT_FALSE(s.has_v4_default());
  // ... and it starts over and gets a lease again.
  ASSERT_TRUE(s.run_until([&] { return s.ac->dhcp_state() == DhcpState::Bound; }, 20s));
  EXPECT_TRUE(s.has_address(IpAddr(s.ac->lease()->address)));
  s.ac.reset();
}

}  // namespace

namespace {

// libslirp answers router solicitations with an RA for its IPv6 prefix (without RDNSS;
// RDNSS is covered by StackKernel.DhcpAndSlaacFromDnsmasq).
TEST(AutoconfSlirp, SlaacStableAddressAndRoute) {
  std::string err;
  auto l = make_link("slirp://", {}, &err);
  if (!l) GTEST_SKIP() << "slirp:// unavailable (package libvdeplug-slirp): " << err;
  SlirpStack s;
  s.link = l.get();
  s.st = Stack::create({s.rng, Tuning{}});
  s.ifx = s.st->add_interface(std::move(l), s.mac, 0, "eth0");
  AutoconfConfig cfg;
  cfg.mac = s.mac;
  cfg.dhcp4 = false;
  cfg.slaac_secret = {1, 2, 3};  // RFC 7217 stable ids
  s.ac = std::make_unique<Autoconf>(*s.st, uint32_t(s.ifx), cfg, s.rng);
  s.ac->start(s.now());
  auto global = [&]() -> std::optional<Cidr> {
    for (auto& a : s.st->addresses())
      if (a.cidr.addr.is_v6() && !a.cidr.addr.v6().is_link_local() && !a.cidr.addr.v6().is_loopback() &&
          !a.tentative)
        return a.cidr;
    return std::nullopt;
  };
  ASSERT_TRUE(s.run_until([&] { return global().has_value(); }, 15s))
      << "no SLAAC address; RAs seen " << s.ac->stats().ra_received;
  auto g = *global();
  EXPECT_EQ(g.prefix_len, 64);
  ASSERT_EQ(s.ac->slaac_addresses().size(), 1u);
  EXPECT_EQ(s.ac->slaac_addresses()[0], g);
  // Not EUI-64: the stable id must not embed the MAC (ff:fe in the middle).
  EXPECT_FALSE(g.addr.b[11] == 0xff && g.addr.b[12] == 0xfe);
  bool def = false;
  for (auto& r : s.st->routes())
    def |= r.dest.addr.is_v6() && r.dest.prefix_len == 0 && r.gateway.v6().is_link_local();
  EXPECT_TRUE(def);
  EXPECT_GE(s.ac->stats().ra_received, 1u);
  EXPECT_EQ(s.ac->stats().ra_malformed, 0u);
  s.ac.reset();
}

}  // namespace

namespace {

// The one stack change Autoconf needs: like Linux, a UDP socket bound to a device may send
// to 255.255.255.255 from 0.0.0.0 while the interface has no address; unbound it may not.
TEST(AutoconfUdp, LimitedBroadcastFromUnspecifiedSource) {
  SplitMix64 rng(5);
  auto [la, lb] = InProcessHub::make_pair();
  Link& peer = *lb;
  auto st = Stack::create({rng, Tuning{}});
  int ifx = st->add_interface(std::move(la), MacAddr{{2, 0, 0, 0, 0, 9}});
  ASSERT_GT(ifx, 0);
  st->poll(Instant{0});
  auto u = st->udp_socket(IpAddr::Family::V4);
  u->set_broadcast(true);
  ASSERT_EQ(u->bind({IpAddr(Ipv4Addr{}), 68}), 0);
  std::vector<uint8_t> msg = {1, 2, 3};
  const Endpoint bcast{IpAddr(Ipv4Addr{{255, 255, 255, 255}}), 67};
  EXPECT_EQ(u->sendto(msg, bcast), -ENETUNREACH);  // no address, no device: nowhere
  ASSERT_EQ(u->bind_to_device(uint32_t(ifx)), 0);
  ASSERT_EQ(u->sendto(msg, bcast), 3);
  std::vector<uint8_t> f(2000);
  size_t n = 0;
  for (int i = 0; i < 10 && n == 0; ++i) {
    n = peer.receive(f, Instant{0});
    if (n && !(f[12] == 0x08 && f[13] == 0x00)) n = 0;  // skip anything but IPv4
  }
  ASSERT_GE(n, 14u + 20u + 8u + 3u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(f[i], 0xff);              // broadcast MAC
  for (int i = 26; i < 30; ++i) EXPECT_EQ(f[i], 0) << i;          // source 0.0.0.0
  for (int i = 30; i < 34; ++i) EXPECT_EQ(f[i], 0xff) << i;       // 255.255.255.255
  EXPECT_EQ(f[34] << 8 | f[35], 68);
  EXPECT_EQ(f[36] << 8 | f[37], 67);
  // Another destination from an address-less interface still fails.
  EXPECT_EQ(u->sendto(msg, Endpoint{IpAddr(Ipv4Addr{{10, 0, 0, 1}}), 67}), -ENETUNREACH);
}

}  // namespace
