// SLAAC helper (RFC 4862 stateless autoconfiguration, RFC 7217 stable interface ids,
// RFC 8981 temporary addresses, RFC 8106 RDNSS/DNSSL, RFC 4861 router/MTU/prefix
// bookkeeping). Pure logic: the NDP code
// parses a Router Advertisement into `RouterAdvert` and feeds it here; this computes the
// addresses to configure and every lifetime, as Instants from the `now` passed in.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libstack/types.h"

namespace libstack {

inline constexpr uint32_t kNdInfiniteLifetime = 0xffffffffu;

// One Prefix Information option (RFC 4861 4.6.2). Lifetimes in seconds.
struct RaPrefix {
  Ipv6Addr prefix;
  uint8_t prefix_len = 0;
  bool on_link = false;     // L flag
  bool autonomous = false;  // A flag
  uint32_t valid_lifetime = 0;
  uint32_t preferred_lifetime = 0;
};

// Recursive DNS Server option (RFC 8106 5.1).
struct RaRdnss {
  uint32_t lifetime = 0;  // seconds; 0 = remove these servers
  std::vector<Ipv6Addr> servers;
};

// DNS Search List option (RFC 8106 5.2).
struct RaDnssl {
  uint32_t lifetime = 0;
  std::vector<std::string> domains;
};

// A parsed Router Advertisement: the plain struct the NDP code fills in.
struct RouterAdvert {
  Ipv6Addr source;                   // IPv6 source: the router's link-local address
  uint8_t cur_hop_limit = 0;         // 0 = unspecified
  bool managed = false;              // M flag (addresses via DHCPv6)
  bool other_config = false;         // O flag
  uint16_t router_lifetime = 0;      // seconds; 0 = not a default router
  uint32_t reachable_time_ms = 0;    // 0 = unspecified
  uint32_t retrans_timer_ms = 0;
  std::optional<MacAddr> source_lladdr;
  std::optional<uint32_t> mtu;
  std::vector<RaPrefix> prefixes;
  std::vector<RaRdnss> rdnss;
  std::vector<RaDnssl> dnssl;
};

enum class IidMode : uint8_t {
  Eui64,         // modified EUI-64 from the MAC (RFC 4291 appendix A)
  StableRandom,  // RFC 7217: SipHash-2-4(secret; prefix, Net_Iface, DAD counter)
};

struct SlaacConfig {
  MacAddr mac;
  IidMode mode = IidMode::StableRandom;
  std::array<uint8_t, 16> secret{};  // RFC 7217 secret key (keep per host, not per boot)
  // RFC 7217 Net_Iface: a name that stays the same across restarts (not the MAC, which a
  // view draws anew each run).
  std::string interface_name;
  size_t link_mtu = 1500;            // an RA MTU above this is ignored
  int max_dad_retries = 3;           // RFC 7217 IDGEN_RETRIES

  // RFC 8981 temporary addresses (slaac_temporary.cpp): one per prefix beside the stable
  // one, random ids from `rng` (required when on), regenerated before they deprecate.
  bool temporary = false;
  Random* rng = nullptr;
  Duration temp_valid_lifetime = std::chrono::hours(48);      // TEMP_VALID_LIFETIME
  Duration temp_preferred_lifetime = std::chrono::hours(24);  // TEMP_PREFERRED_LIFETIME
  // REGEN_ADVANCE = 2 + TEMP_IDGEN_RETRIES * DupAddrDetectTransmits * RetransTimer (1 s).
  Duration regen_advance = std::chrono::seconds(5);
  int temp_idgen_retries = 3;        // TEMP_IDGEN_RETRIES
  size_t max_temp_per_prefix = 4;    // temporaries of one prefix alive at once (bound)
};

struct SlaacAddress {
  Ipv6Addr address;
  uint8_t prefix_len = 64;
  Instant preferred_until = kNever;
  Instant valid_until = kNever;
  uint8_t dad_counter = 0;
  // RFC 8981: a temporary address, when it was made, its DESYNC_FACTOR, and whether its
  // successor was made already (REGEN_ADVANCE before it deprecates).
  bool temporary = false;
  Instant created{0};
  Duration desync{0};
  bool regenerated = false;
  bool deprecated(Instant now) const { return now >= preferred_until; }
};

struct SlaacTimed {
  Ipv6Addr address;  // router / DNS server / on-link prefix
  uint8_t prefix_len = 128;
  Instant expires = kNever;
};

// What one RA (or one expire() call) changed; apply it to the interface.
struct SlaacChanges {
  std::vector<SlaacAddress> added;       // new: start DAD, then configure
  std::vector<SlaacAddress> updated;     // lifetimes changed
  std::vector<SlaacAddress> deprecated;  // preferred lifetime ran out (keep, do not prefer)
  std::vector<SlaacAddress> removed;     // valid lifetime ran out / DAD gave up
  bool routers_changed = false;
  bool dns_changed = false;
  bool prefixes_changed = false;         // on-link prefix set changed
  std::optional<uint32_t> mtu;           // new link MTU to apply
  std::optional<uint8_t> hop_limit;
  bool empty() const {
    return added.empty() && updated.empty() && deprecated.empty() && removed.empty() &&
           !routers_changed && !dns_changed && !prefixes_changed && !mtu && !hop_limit;
  }
};

class SlaacState {
 public:
  explicit SlaacState(SlaacConfig cfg);

  SlaacChanges on_router_advert(const RouterAdvert& ra, Instant now);
  // Drops everything whose lifetime ended at or before now; reports deprecations.
  SlaacChanges expire(Instant now);
  // The next instant at which expire() has something to do, or kNever.
  Instant next_event() const;
  // Duplicate Address Detection failed for `addr`: remove it and, in StableRandom mode,
  // return a replacement made with the next DAD counter (up to max_dad_retries); a
  // temporary address is replaced by a new random one (up to temp_idgen_retries).
  SlaacChanges dad_failed(const Ipv6Addr& addr, Instant now);

  // fe80::/64 + interface id (for prefix fe80::, DAD counter 0).
  Ipv6Addr link_local_address() const;
  // The interface id for `prefix` (first 64 bits used) and a DAD counter.
  std::array<uint8_t, 8> interface_id(const Ipv6Addr& prefix, uint8_t dad_counter) const;

  const std::vector<SlaacAddress>& addresses() const { return addrs_; }  // stable + temporary
  // Temporary addresses not made because max_temp_per_prefix were alive, or because the
  // prefix's preferred lifetime was too short (<= REGEN_ADVANCE) for one.
  uint64_t temp_skipped() const { return temp_skipped_; }
  const std::vector<SlaacTimed>& default_routers() const { return routers_; }
  const std::vector<SlaacTimed>& dns_servers() const { return dns_; }
  const std::vector<SlaacTimed>& on_link_prefixes() const { return prefixes_; }
  const std::vector<std::string>& search_domains() const { return domains_; }
  std::optional<uint32_t> mtu() const { return mtu_; }

 private:
  SlaacConfig cfg_;
  std::vector<SlaacAddress> addrs_;
  std::vector<SlaacTimed> routers_, dns_, prefixes_;
  std::vector<std::string> domains_;
  Instant domains_expire_ = kNever;
  std::optional<uint32_t> mtu_;
  uint64_t temp_skipped_ = 0;

  // RFC 8981 (slaac_temporary.cpp).
  void add_temporary(const SlaacAddress& pub, Instant now, uint8_t dad_counter, SlaacChanges* ch);
  void refresh_temporaries(const SlaacAddress& pub, Instant now, SlaacChanges* ch);
  void regenerate_temporaries(Instant now, SlaacChanges* ch);
  Instant next_temporary_event() const;
  const SlaacAddress* public_for(const Ipv6Addr& prefix) const;
};

// Modified EUI-64 interface id of a MAC (universal/local bit inverted, ff:fe inserted).
std::array<uint8_t, 8> eui64_interface_id(const MacAddr& mac);
// RFC 5453 reserved interface ids (never formed).
bool reserved_interface_id(const std::array<uint8_t, 8>& id);

}  // namespace libstack
