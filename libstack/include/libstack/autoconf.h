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

// How SLAAC forms interface ids.
enum class SlaacIid : uint8_t {
  Stable,  // RFC 7217 stable-privacy ids (the default)
  Eui64,   // modified EUI-64 of the MAC (exposes the MAC in every address)
};

struct AutoconfConfig {
  MacAddr mac;
  bool dhcp4 = true;
  bool slaac = true;
  std::string hostname;                    // DHCP option 12 when non-empty
  SlaacIid slaac_iid = SlaacIid::Stable;
  // RFC 7217 secret key: keep it per host so that the same network gives the same address
  // on every run. All zero: a key drawn from the Random (stable only for this Autoconf).
  std::array<uint8_t, 16> slaac_secret{};
  std::string slaac_iface_id;              // RFC 7217 Net_Iface; empty: the interface name
  bool slaac_temporary = false;            // RFC 8981 temporary addresses as well
  uint32_t default_route_metric = 0;       // for the DHCP default route
};

struct AutoconfStats {
  uint64_t dhcp_configured = 0, dhcp_deconfigured = 0;
  uint64_t slaac_added = 0, slaac_removed = 0, ra_received = 0, ra_malformed = 0;
  uint64_t slaac_temporary_added = 0;      // of slaac_added, RFC 8981 temporary addresses
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
