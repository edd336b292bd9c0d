// Autoconf: DHCPv4 + SLAAC (with RDNSS) for one interface of a Stack.
//
//   Autoconf ac(*stack, ifindex, {.mac = mac}, rng);
//   ac.start(now);                       // DHCP DISCOVER (if enabled); SLAAC waits for RAs
//   loop: stack->poll(now); ac.poll(now); sleep until min(stack, ac.next_deadline(), fds)
//   ac.dns_servers();                    // from the DHCP lease and RDNSS, IPv4 first
//
// The Autoconf must be destroyed before its Stack (it owns a UDP socket on the stack and
// its router-advert hook). It replaces any router-advert hook set before it.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libstack/dhcp.h"
#include "libstack/stack.h"

namespace libstack {

struct AutoconfConfig {
  MacAddr mac;
  bool dhcp4 = true;
  bool slaac = true;
  std::string hostname;                    // DHCP option 12 when non-empty
  std::array<uint8_t, 16> slaac_secret{};  // RFC 7217 key; all zero = modified EUI-64 ids
  uint32_t default_route_metric = 0;       // for the DHCP default route
};

struct AutoconfStats {
  uint64_t dhcp_configured = 0, dhcp_deconfigured = 0;
  uint64_t slaac_added = 0, slaac_removed = 0, ra_received = 0, ra_malformed = 0;
};

class AutoconfImpl;

class Autoconf {
 public:
  Autoconf(Stack& stack, uint32_t ifindex, AutoconfConfig cfg, Random& rng);
  ~Autoconf();
  Autoconf(const Autoconf&) = delete;
  Autoconf& operator=(const Autoconf&) = delete;

  void start(Instant now);
  void release(Instant now);  // DHCPRELEASE + remove the lease's configuration
  // Reads port 68 and runs the DHCP/SLAAC timers. Call after Stack::poll.
  void poll(Instant now);
  Instant next_deadline() const;

  DhcpState dhcp_state() const;
  const std::optional<DhcpLease>& lease() const;
  std::vector<IpAddr> dns_servers() const;  // DHCP servers first, then RDNSS
  std::vector<Cidr> slaac_addresses() const;
  const AutoconfStats& stats() const;

 private:
  std::unique_ptr<AutoconfImpl> impl_;
};

}  // namespace libstack
