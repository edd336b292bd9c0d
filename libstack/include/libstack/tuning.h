// Per-stack tuning knobs. One copy lives in each Stack (no global sysctls); the TCP engine
// receives a const reference to it at construction (TcpEngine(TcpHost&, const Tuning&)).
// Times are Durations so tests can shrink them; sizes are bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "libstack/types.h"

namespace libstack {

struct Tuning {
  // --- IP ---
  uint8_t default_ttl = 64;        // IPv4 TTL of locally generated packets
  uint8_t default_hop_limit = 64;  // IPv6 hop limit of locally generated packets
  bool forward_v4 = false;         // act as a router for IPv4 (default: host)
  bool forward_v6 = false;
  Duration reasm_timeout_v4 = std::chrono::seconds(30);
  Duration reasm_timeout_v6 = std::chrono::seconds(60);
  size_t reasm_mem_limit = 256 * 1024;  // bytes held by all partial datagrams together
  size_t reasm_max_datagrams = 64;      // partial datagrams in flight
  size_t reasm_max_fragments = 64;      // fragments per datagram

  // ICMP error rate limit per stack (token bucket, like Linux icmp_msgs_per_sec/burst).
  uint32_t icmp_errors_per_sec = 1000;
  uint32_t icmp_error_burst = 50;

  // --- neighbours (ARP and NDP share one cache) ---
  size_t neigh_max_entries = 256;
  size_t neigh_pending_per_entry = 8;   // packets queued while resolving
  Duration neigh_retrans = std::chrono::seconds(1);
  uint32_t neigh_max_solicit = 3;       // multicast/broadcast solicitations before FAILED
  uint32_t neigh_max_probes = 3;        // unicast probes before an entry is dropped
  Duration neigh_reachable = std::chrono::seconds(30);
  Duration neigh_delay = std::chrono::seconds(5);
  Duration neigh_stale_gc = std::chrono::seconds(60);  // STALE entries unused this long go
  Duration neigh_failed_hold = std::chrono::seconds(3); // FAILED entries answer EHOSTUNREACH
  uint32_t dad_transmits = 1;           // IPv6 duplicate address detection probes (0: off)
  bool ipv6_link_local = true;          // add fe80::/64 from the MAC on Ethernet interfaces
  uint32_t router_solicitations = 3;    // RS sent after the link-local address is valid
  Duration rs_interval = std::chrono::seconds(4);
  bool gratuitous_arp = true;           // announce IPv4 addresses when added

  // --- sockets ---
  size_t udp_rcvbuf = 212992;  // bytes of queued datagrams per UDP socket (Linux default)
  size_t udp_sndbuf = 212992;
  size_t tcp_rcvbuf = 256 * 1024;
  size_t tcp_sndbuf = 256 * 1024;
  uint16_t ephemeral_lo = 32768;  // ephemeral port range (Linux default)
  uint16_t ephemeral_hi = 60999;

  // --- TCP (read by the TCP engine) ---
  uint16_t tcp_mss_default = 536;            // when no path MTU is known
  std::string tcp_congestion = "cubic";      // "cubic" or "newreno" (anything else)
  Duration tcp_rto_min = std::chrono::milliseconds(200);
  Duration tcp_rto_max = std::chrono::seconds(60);
  Duration tcp_rto_initial = std::chrono::seconds(1);
  Duration tcp_time_wait = std::chrono::seconds(60);
  Duration tcp_delack = std::chrono::milliseconds(40);
  uint32_t tcp_syn_retries = 6;
  uint32_t tcp_retries2 = 15;
  bool tcp_sack = true;
  bool tcp_timestamps = true;
  bool tcp_window_scaling = true;
  size_t tcp_max_backlog = 128;

  // --- poll ---
  size_t rx_budget = 4096;  // frames taken from each link per poll()
};

}  // namespace libstack
