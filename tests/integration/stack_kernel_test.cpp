// libstack against the Linux kernel as the peer: a Stack on a TapLink whose tap lives in a
// namespace the test creates. Ping both ways (IPv4, IPv6), 100 MB TCP both ways with the
// content checked byte for byte, a smaller transfer under netem, option negotiation
// (window scaling, timestamps, SACK seen by both sides), DHCPv4 + SLAAC via Autoconf from
// dnsmasq. Every wait is bounded; the namespace (and the tap in it) is deleted at the end.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "libstack/icmp.h"
#include "libstack/tcp.h"
#include "stack_kernel_util.h"

using namespace libstack;
using namespace kerneltest;
using namespace std::chrono_literals;

namespace {

const std::string kDir = STACK_KERNEL_DIR;  // python helpers

std::string py(const std::string& script) { return "python3 " + kDir + "/" + script; }

struct Pattern {
  std::vector<uint8_t> bytes;
  std::string path;
  explicit Pattern(const std::string& dir) {
    bytes.resize(1000003);  // prime length: never aligned with segments
    SplitMix64 r(42);
    for (auto& b : bytes) b = uint8_t(r.next_u64() >> 56);
    path = dir + "/pattern";
    FILE* f = fopen(path.c_str(), "wb");
    if (f) {
      fwrite(bytes.data(), 1, bytes.size(), f);
      fclose(f);
    }
  }
};

class StackKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    Tuning t;
    t.tcp_rcvbuf = t.tcp_sndbuf = 4 << 20;
    std::string why = k.setup(tag(), t, impaired());
    if (!why.empty()) GTEST_SKIP() << why;
    dir = linktest::make_temp_dir("kernel");
    ASSERT_FALSE(dir.empty());
  }
  void TearDown() override {
    if (!dir.empty()) linktest::sh("rm -rf " + dir);
  }
  virtual std::string tag() { return "t"; }
  virtual bool impaired() { return false; }
  std::string nsx(const std::string& cmd) { return "ip netns exec " + k.nsname + " " + cmd; }

  void static_addresses() {
    ASSERT_EQ(k.ns->exec("ip addr add 10.203.0.1/24 dev " + k.tap), 0);
    ASSERT_EQ(k.ns->exec("ip -6 addr add fd00:203::1/64 dev " + k.tap + " nodad"), 0);
    ASSERT_EQ(k.st->add_address(k.ifx, *Cidr::parse("10.203.0.2/24")), 0);
    ASSERT_EQ(k.st->add_address(k.ifx, *Cidr::parse("fd00:203::2/64")), 0);
    // Wait for our IPv6 DAD to finish.
    ASSERT_TRUE(k.run_until([&] {
      for (auto& a : k.st->addresses())
        if (a.cidr.addr.is_v6() && a.tentative) return false;
      return true;
    }, 10s));
  }

  // Our ping socket to dst: true if `count` replies came back.
  bool stack_ping(const std::string& dst, int count) {
    auto d = *IpAddr::parse(dst);
    auto p = k.st->icmp_socket(d.family);
    int got = 0;
    for (int seq = 0; seq < count; ++seq) {
      std::vector<uint8_t> msg = {uint8_t(d.is_v6() ? 128 : 8), 0, 0, 0, 0, 0, 0, uint8_t(seq)};
      for (char c : std::string("libstack")) msg.push_back(uint8_t(c));
      bool ok = false;
      for (int attempt = 0; attempt < 3 && !ok; ++attempt) {  // first may wait on ARP/NDP
        if (p->sendto(msg, Endpoint{d, 0}) < 0) continue;
        ok = k.run_until([&] {
          std::vector<uint8_t> buf(256);
          ssize_t n = p->recvfrom(buf);
          return n == ssize_t(msg.size()) && buf[7] == seq &&
                 std::memcmp(buf.data() + 8, msg.data() + 8, msg.size() - 8) == 0;
        }, 2s);
      }
      got += ok;
    }
    return got == count;
  }

  // Kernel -> stack: python connects to our listener and sends `total` bytes; we check
  // every byte. Returns the TcpInfo of our side at the end.
  TcpInfo kernel_to_stack(uint64_t total, Duration timeout) {
    Pattern pat(dir);
    TcpSocket l = k.st->tcp_socket();
    EXPECT_TRUE(l.valid());
    EXPECT_EQ(l.bind({*IpAddr::parse("10.203.0.2"), 5002}), 0);
    EXPECT_EQ(l.listen(4), 0);
    std::string res = dir + "/src.res";
    Proc src(nsx(py("source.py") + " 10.203.0.2 5002 " + std::to_string(total) + " " +
                 pat.path + " " + res), dir + "/src.log");
    TcpSocket c;
    uint64_t got = 0, bad = UINT64_MAX;
    bool eof = false;
    TcpInfo info;
    std::vector<uint8_t> buf(1 << 16);
    const size_t L = pat.bytes.size();
    k.step = [&] {
      if (!c.valid()) l.accept(&c);
      if (!c.valid()) return;
      for (int i = 0; i < 4096; ++i) {
        int64_t n = c.recv(buf);
        if (n == 0) eof = true;
        if (n <= 0) break;
        for (int64_t j = 0; j < n; ++j)
          if (buf[j] != pat.bytes[(got + j) % L] && bad == UINT64_MAX) bad = got + j;
        got += n;
      }
      if (c.valid()) info = c.info();
    };
    bool ok = k.run_until([&] { return eof; }, timeout);
    k.step = nullptr;
    EXPECT_TRUE(ok) << "transfer did not finish: got " << got << " of " << total << "; "
                    << linktest::sh("true") << linktest_log(dir + "/src.log");
    c.close();
    k.run_until([&] { return src.finished(); }, 10s);
    EXPECT_EQ(got, total);
    EXPECT_EQ(bad, UINT64_MAX) << "first corrupted byte at " << bad;
    EXPECT_EQ(slurp(res), "SENT " + std::to_string(total)) << linktest_log(dir + "/src.log");
    kernel_opts = slurp(res + ".opts");
    return info;
  }

  // Stack -> kernel: we connect to a python sink that checks every byte.
  TcpInfo stack_to_kernel(uint64_t total, Duration timeout, const char* dst = "10.203.0.1") {
    Pattern pat(dir);
    std::string res = dir + "/sink.res";
    Proc sink(nsx(py("sink.py") + " 5001 " + std::to_string(total) + " " + pat.path + " " + res +
                  " " + dst),
              dir + "/sink.log");
    EXPECT_TRUE(k.run_until([&] { return access((res + ".ready").c_str(), F_OK) == 0; }, 20s));
    TcpSocket c = k.st->tcp_socket();
    EXPECT_EQ(c.connect({*IpAddr::parse(dst), 5001}), -EINPROGRESS);
    uint64_t sent = 0;
    bool closed = false;
    TcpInfo info;
    const size_t L = pat.bytes.size();
    k.step = [&] {
      if (c.valid()) info = c.info();
      if (c.state() != TcpState::Established && c.state() != TcpState::CloseWait) return;
      for (int i = 0; i < 4096 && sent < total; ++i) {
        size_t off = sent % L;
        size_t n = std::min<uint64_t>(L - off, total - sent);
        int64_t w = c.send(std::span<const uint8_t>(pat.bytes.data() + off, n));
        if (w <= 0) break;
        sent += uint64_t(w);
      }
      info = c.info();
      if (sent == total && !closed) closed = c.shutdown(kTcpShutWr) == 0;
    };
    bool ok = k.run_until([&] { return sink.finished(); }, timeout);
    k.step = nullptr;
    EXPECT_TRUE(ok) << "sink did not finish: sent " << sent << " of " << total << " state "
                    << to_string(c.state()) << " acked " << info.bytes_acked << " rtx "
                    << info.retransmits << " rto " << info.rto_expiries << " cwnd " << info.cwnd
                    << " snd_wnd " << info.snd_wnd << linktest_log(dir + "/sink.log");
    EXPECT_EQ(slurp(res), "OK " + std::to_string(total)) << linktest_log(dir + "/sink.log");
    kernel_opts = slurp(res + ".opts");
    return info;
  }

  static std::string linktest_log(const std::string& path) { return "\n--- " + path + ":\n" + slurp(path); }

  // Both sides agree that window scaling, timestamps and SACK are on: ours from TcpInfo,
  // the kernel's from its TCP_INFO tcpi_options (the ss of this iproute2 does not print
  // them for kernel 6.18, so the python peer reads the struct itself).
  void expect_options(const TcpInfo& info) {
    EXPECT_TRUE(info.sack);
    EXPECT_TRUE(info.timestamps);
    EXPECT_TRUE(info.wscale);
    EXPECT_GT(info.snd_wscale, 0);
    EXPECT_EQ(kernel_opts, "7") << "kernel tcpi_options: 1 ts | 2 sack | 4 wscale";
  }

  KernelPeer k;
  std::string kernel_opts;
  std::string dir;
};

TEST_F(StackKernel, PingBothWaysV4V6) {
  static_addresses();
  EXPECT_TRUE(stack_ping("10.203.0.1", 3));
  EXPECT_TRUE(stack_ping("fd00:203::1", 3));
  for (std::string dst : {"10.203.0.2", "fd00:203::2"}) {
    // iputils ping when installed (iputils-ping), else a raw-socket python ping.
    std::string cmd = linktest::have("/usr/bin/ping") ? "ping -c 3 -W 2 -i 0.2 " + dst
                                                      : py("ping.py") + " " + dst + " 3";
    Proc p(nsx(cmd), dir + "/ping.log");
    EXPECT_TRUE(k.run_until([&] { return p.finished(); }, 20s));
    EXPECT_EQ(p.status(), 0) << "kernel ping " << dst << slurp(dir + "/ping.log");
  }
  EXPECT_GE(k.st->counters().icmp_echo_reply_tx, 6u);
}

constexpr uint64_t kBulk = 100ull << 20;

TEST_F(StackKernel, Tcp100MBKernelToStack) {
  static_addresses();
  expect_options(kernel_to_stack(kBulk, 60s));
}

TEST_F(StackKernel, Tcp100MBStackToKernel) {
  static_addresses();
  TcpInfo i = stack_to_kernel(kBulk, 60s);
  expect_options(i);
  // make_link opens the tap with IFF_VNET_HDR: data leaves as TSO super-segments that
  // the kernel accepts (the sink checked every byte), many MSS per write.
  ASSERT_TRUE(k.link->offloads() & link_offload::kTso) << "tap without IFF_VNET_HDR";
  ASSERT_GT(i.segs_out, 0u);
  EXPECT_GT(i.bytes_sent / i.segs_out, 4u * i.mss) << i.segs_out << " segments for " << i.bytes_sent;
}

// IPv6 through the same tap: super-segments go to the kernel as GSO_TCPV6.
TEST_F(StackKernel, Tcp20MBStackToKernelV6) {
  static_addresses();
  TcpInfo i = stack_to_kernel(20u << 20, 60s, "fd00:203::1");
  expect_options(i);
  ASSERT_GT(i.segs_out, 0u);
  EXPECT_GT(i.bytes_sent / i.segs_out, 4u * i.mss) << i.segs_out << " segments for " << i.bytes_sent;
}

// netem on the kernel's tap egress: the kernel's data (kernel -> stack) and its ACKs
// (stack -> kernel) are lost, reordered, duplicated and delayed by 50 ms.
TEST_F(StackKernel, TcpUnderNetem) {
  static_addresses();
  if (k.ns->exec("tc qdisc add dev " + k.tap + " root netem loss 5% reorder 10% duplicate 2% delay 50ms") != 0)
    GTEST_SKIP() << "tc netem not available: kernel without sch_netem (CONFIG_NET_SCH_NETEM); "
                    "StackKernelImpaired covers the same impairments in user space";
  constexpr uint64_t kSize = 1ull << 20;
  TcpInfo a = kernel_to_stack(kSize, 45s);
  EXPECT_GT(a.ooo_segments, 0u) << "netem reordering/loss should leave holes";
  expect_options(a);
  expect_options(stack_to_kernel(kSize, 45s));
}

// The same impairments applied in user space on our side of the tap, in both directions
// (this machine's kernel has no sch_netem): 5% loss, 10% reordering, 2% duplication,
// 50 ms delay each way.
class StackKernelImpaired : public StackKernel {
 protected:
  std::string tag() override { return "i"; }
  bool impaired() override { return true; }
};

TEST_F(StackKernelImpaired, TcpBothWaysLossReorderDuplicateDelay) {
  static_addresses();
  // 1 MiB: at 5% loss and 100 ms RTT TCP gets ~100 KB/s (Mathis et al.), Linux too.
  constexpr uint64_t kSize = 1ull << 20;
  TcpInfo a = kernel_to_stack(kSize, 45s);
  EXPECT_GT(a.ooo_segments, 0u);
  expect_options(a);
  TcpInfo b = stack_to_kernel(kSize, 45s);
  EXPECT_GT(b.retransmits, 0u);
  expect_options(b);
  EXPECT_GT(static_cast<ImpairedLink*>(k.link)->lost(), 0u);
}

TEST_F(StackKernel, DhcpAndSlaacFromDnsmasq) {
  if (!linktest::have("/usr/sbin/dnsmasq")) GTEST_SKIP() << "dnsmasq (dnsmasq-base) not installed";
  ASSERT_EQ(k.ns->exec("ip addr add 10.204.0.1/24 dev " + k.tap), 0);
  ASSERT_EQ(k.ns->exec("ip -6 addr add fd00:204::1/64 dev " + k.tap + " nodad"), 0);
  Proc dnsmasq(nsx("dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface=" + k.tap +
                   " --bind-interfaces --user=root --no-ping --dhcp-authoritative"
                   " --dhcp-range=10.204.0.50,10.204.0.60,255.255.255.0,2m"
                   " --dhcp-option=option:router,10.204.0.1 --dhcp-option=option:dns-server,10.204.0.53"
                   " --enable-ra --dhcp-range=fd00:204::,ra-only,64,10m --ra-param=" + k.tap + ",3,300"
                   " --dhcp-option=option6:dns-server,[fd00:204::53]"
                   " --dhcp-leasefile=" + dir + "/leases --pid-file=" + dir + "/pid"),
               dir + "/dnsmasq.log");
  AutoconfConfig acfg;
  acfg.mac = k.mac;
  k.ac = std::make_unique<Autoconf>(*k.st, uint32_t(k.ifx), acfg, k.rng);
  k.ac->start(k.now());
  bool v4 = k.run_until([&] { return k.ac->dhcp_state() == DhcpState::Bound; }, 30s);
  ASSERT_TRUE(v4) << "no lease: state " << to_string(k.ac->dhcp_state()) << slurp(dir + "/dnsmasq.log");
  auto lease = *k.ac->lease();
  uint32_t a = lease.address.to_u32();
  EXPECT_GE(a, Ipv4Addr::parse("10.204.0.50")->to_u32());
  EXPECT_LE(a, Ipv4Addr::parse("10.204.0.60")->to_u32());
  bool has_addr = false, has_v4_default = false;
  for (auto& x : k.st->addresses()) has_addr |= x.cidr.addr == IpAddr(lease.address) && x.cidr.prefix_len == 24;
  for (auto& r : k.st->routes())
    has_v4_default |= r.dest.addr.is_v4() && r.dest.prefix_len == 0 && r.gateway == *IpAddr::parse("10.204.0.1");
  EXPECT_TRUE(has_addr);
  EXPECT_TRUE(has_v4_default);
  EXPECT_TRUE(stack_ping("10.204.0.1", 2));

  // SLAAC: a global address in fd00:204::/64 (past DAD), a default route via the router's
  // link-local address, RDNSS.
  auto global = [&]() -> std::optional<IpAddr> {
    auto pfx = *Cidr::parse("fd00:204::/64");
    for (auto& x : k.st->addresses())
      if (pfx.contains(x.cidr.addr) && !x.tentative && !x.dad_failed) return x.cidr.addr;
    return std::nullopt;
  };
  auto v6_default = [&] {
    for (auto& r : k.st->routes())
      if (r.dest.addr.is_v6() && r.dest.prefix_len == 0 && r.gateway.v6().is_link_local()) return true;
    return false;
  };
  bool v6 = k.run_until([&] { return global() && v6_default() && k.ac->dns_servers().size() >= 2; }, 40s);
  ASSERT_TRUE(v6) << "SLAAC incomplete: address " << (global() ? global()->to_string() : "none")
                  << " default route " << v6_default() << " dns " << k.ac->dns_servers().size()
                  << " RAs " << k.ac->stats().ra_received << slurp(dir + "/dnsmasq.log");
  auto dns = k.ac->dns_servers();
  EXPECT_EQ(dns[0], *IpAddr::parse("10.204.0.53"));
  EXPECT_NE(std::find(dns.begin(), dns.end(), *IpAddr::parse("fd00:204::53")), dns.end());
  EXPECT_TRUE(stack_ping("fd00:204::1", 2));

  // Release: address and default route go away.
  k.ac->release(k.now());
  k.run_until([] { return false; }, 200ms);
  for (auto& x : k.st->addresses()) EXPECT_NE(x.cidr.addr, IpAddr(lease.address));
  k.ac.reset();
}

}  // namespace
