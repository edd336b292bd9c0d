// Tiny Ethernet/IPv4/UDP/ARP framing for running the DHCP client over a raw link in tests
// (the client itself only produces and consumes UDP payloads).
#pragma once

#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include <poll.h>

#include <functional>

#include "config/dhcp_client.h"
#include "libstack/link.h"
#include "libstack/types.h"
#include "links_test_util.h"

namespace linktest {
using namespace libstack;

inline const MacAddr kMac{{0x02, 0x4c, 0x53, 0x00, 0x00, 0x07}};

inline std::vector<uint8_t> udp_frame(const MacAddr& dst_mac, Ipv4Addr src, Ipv4Addr dst,
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
inline std::optional<std::span<const uint8_t>> dhcp_payload(std::span<const uint8_t> f, MacAddr* src) {
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
inline bool answer_arp(Link& link, std::span<const uint8_t> f, Ipv4Addr ours) {
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

// A DHCP client on a raw Ethernet link, driven by real time plus a virtual offset (to jump
// to T1/T2 without waiting).
struct DhcpOverLink {
  Link& link;
  SplitMix64 rng;
  Duration offset{0};
  MacAddr server_mac = MacAddr::broadcast();
  std::vector<DhcpLease> configured, deconfigured;
  DhcpClient client;

  DhcpOverLink(Link& l, DhcpClientConfig cfg)
      : link(l), rng(static_cast<uint64_t>(mono_now().count())),
        client(cfg, rng,
               DhcpCallbacks{[this](const DhcpSend& s) {
                               MacAddr dst = s.dst.is_broadcast() ? MacAddr::broadcast()
                                                                  : server_mac;
                               link.transmit(udp_frame(dst, s.src, s.dst, s.payload), mono_now());
                             },
                             [this](const DhcpLease& l) { configured.push_back(l); },
                             [this](const DhcpLease& l) { deconfigured.push_back(l); }}) {}

  Instant now() const { return mono_now() + offset; }

  // Runs the link + client until done() or the time limit; returns done().
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    std::vector<uint8_t> buf(2048);
    for (int i = 0; i < 100000 && !done(); ++i) {
      if (std::chrono::steady_clock::now() > end) return false;
      if (link.wait_fd() >= 0) {
        pollfd p{link.wait_fd(), POLLIN, 0};
        ::poll(&p, 1, 50);
      }
      for (int k = 0; k < 64; ++k) {
        size_t n = link.receive(buf, mono_now());
        if (n == 0) break;
        auto f = std::span<const uint8_t>(buf.data(), n);
        if (client.lease() && answer_arp(link, f, client.lease()->address)) continue;
        MacAddr src;
        if (auto pl = dhcp_payload(f, &src)) {
          client.on_packet(*pl, now());
          if (!client.lease() || server_mac.is_broadcast()) server_mac = src;
        }
      }
      client.poll(now());
    }
    return done();
  }
};

}  // namespace linktest
