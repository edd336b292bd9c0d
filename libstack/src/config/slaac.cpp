// SLAAC bookkeeping.
//
// Theory of operation: for each Prefix Information option with the A flag, a /64 that is
// not link-local and whose preferred lifetime does not exceed the valid one (RFC 4862
// 5.5.3), an address = prefix + interface id is formed: modified EUI-64 of the MAC, or the
// RFC 7217 stable id SipHash-2-4(secret; prefix | Net_Iface | DAD counter) (libsodium,
// crypto/prf.h), skipping the reserved ids of RFC 5453. The MAC is not an input: a view's
// MAC is random per run, and the id must stay the same for the same network and secret.
// With `temporary` on, each such prefix also gets RFC 8981 temporary addresses
// (slaac_temporary.cpp). A prefix seen again refreshes the preferred
// lifetime and the valid lifetime under the "two hours" rule (5.5.3 e), so a forged RA can
// not shorten a lease below two hours. Router lifetime, on-link prefixes (L flag), MTU and
// RDNSS/DNSSL (RFC 8106) are kept with their own expiry. Lifetime 0xffffffff is infinite.
// Nothing reads a clock: expiry instants are computed from the `now` passed in and
// applied by expire(now); next_event() tells the caller when to call it.
#include "config/slaac.h"

#include <algorithm>
#include <cstring>

#include "crypto/prf.h"

namespace libstack {

namespace {

constexpr Duration kTwoHours = std::chrono::hours(2);

Instant deadline(Instant now, uint32_t seconds) {
  if (seconds == kNdInfiniteLifetime) return kNever;
  return now + std::chrono::seconds(seconds);
}

}  // namespace

bool reserved_interface_id(const std::array<uint8_t, 8>& id) {
  // RFC 5453: all zeros (subnet-router anycast), fdff:ffff:ffff:ff80..ffff, 0200:5efe::/32.
  static constexpr uint8_t zero[8] = {};
  if (std::memcmp(id.data(), zero, 8) == 0) return true;
  if (id[0] == 0xfd && id[1] == 0xff && id[2] == 0xff && id[3] == 0xff && id[4] == 0xff &&
      id[5] == 0xff && id[6] == 0xff && id[7] >= 0x80)
    return true;
  if (id[0] == 0x02 && id[1] == 0x00 && id[2] == 0x5e && id[3] == 0xfe) return true;
  return false;
}

namespace {

bool same_prefix64(const Ipv6Addr& a, const Ipv6Addr& b) {
  return std::memcmp(a.b.data(), b.b.data(), 8) == 0;
}

Ipv6Addr mask_prefix(const Ipv6Addr& a, uint8_t len) {
  Ipv6Addr r{};
  for (int i = 0; i < 16; ++i) {
    int bits = std::clamp(int(len) - i * 8, 0, 8);
    r.b[i] = static_cast<uint8_t>(a.b[i] & (0xff00 >> bits));
  }
  return r;
}

}  // namespace

std::array<uint8_t, 8> eui64_interface_id(const MacAddr& m) {
  return {static_cast<uint8_t>(m.b[0] ^ 0x02), m.b[1], m.b[2], 0xff, 0xfe, m.b[3], m.b[4], m.b[5]};
}

SlaacState::SlaacState(SlaacConfig cfg) : cfg_(std::move(cfg)) {}

std::array<uint8_t, 8> SlaacState::interface_id(const Ipv6Addr& prefix,
                                                uint8_t dad_counter) const {
  if (cfg_.mode == IidMode::Eui64) return eui64_interface_id(cfg_.mac);
  // Prefix (64 bits) | length of Net_Iface (2 bytes) | Net_Iface | DAD counter [| salt].
  std::vector<uint8_t> in(prefix.b.begin(), prefix.b.begin() + 8);
  size_t n = cfg_.interface_name.size();
  in.push_back(uint8_t(n >> 8));
  in.push_back(uint8_t(n));
  in.insert(in.end(), cfg_.interface_name.begin(), cfg_.interface_name.end());
  in.push_back(dad_counter);
  crypto::SipKey key(cfg_.secret);
  std::array<uint8_t, 8> id{};
  for (uint8_t salt = 0; salt < 16; ++salt) {  // bounded: reserved ids are very rare
    uint64_t h = key.hash(in);
    for (int i = 0; i < 8; ++i) id[i] = static_cast<uint8_t>(h >> (56 - 8 * i));
    if (!reserved_interface_id(id)) break;
    in.push_back(salt);
  }
  return id;
}

Ipv6Addr SlaacState::link_local_address() const {
  Ipv6Addr ll{};
  ll.b[0] = 0xfe;
  ll.b[1] = 0x80;
  auto id = interface_id(ll, 0);
  std::copy(id.begin(), id.end(), ll.b.begin() + 8);
  return ll;
}

SlaacChanges SlaacState::on_router_advert(const RouterAdvert& ra, Instant now) {
  SlaacChanges ch;
  // RFC 4861 6.1.2: RAs come from a link-local source; anything else is ignored.
  if (!ra.source.is_link_local()) return ch;

  if (ra.cur_hop_limit != 0) ch.hop_limit = ra.cur_hop_limit;

  // Default router list.
  auto rit = std::find_if(routers_.begin(), routers_.end(),
                          [&](const SlaacTimed& r) { return r.address == ra.source; });
  if (ra.router_lifetime == 0) {
    if (rit != routers_.end()) {
      routers_.erase(rit);
      ch.routers_changed = true;
    }
  } else {
    Instant exp = now + std::chrono::seconds(ra.router_lifetime);
    if (rit == routers_.end()) {
      routers_.push_back({ra.source, 128, exp});
      ch.routers_changed = true;
    } else if (rit->expires != exp) {
      rit->expires = exp;
      ch.routers_changed = true;
    }
  }

  // MTU (RFC 4861 6.3.4): at least the IPv6 minimum, at most the link's own.
  if (ra.mtu && *ra.mtu >= 1280 && *ra.mtu <= cfg_.link_mtu && mtu_ != ra.mtu) {
    mtu_ = ra.mtu;
    ch.mtu = ra.mtu;
  }

  for (const RaPrefix& p : ra.prefixes) {
    if (p.prefix.is_link_local() || p.prefix.is_multicast() || p.prefix_len > 128) continue;
    Ipv6Addr net = mask_prefix(p.prefix, p.prefix_len);
    // On-link prefixes (RFC 4861 6.3.4).
    if (p.on_link) {
      auto it = std::find_if(prefixes_.begin(), prefixes_.end(), [&](const SlaacTimed& t) {
        return t.address == net && t.prefix_len == p.prefix_len;
      });
      if (p.valid_lifetime == 0) {
        if (it != prefixes_.end()) {
          prefixes_.erase(it);
          ch.prefixes_changed = true;
        }
      } else if (it == prefixes_.end()) {
        prefixes_.push_back({net, p.prefix_len, deadline(now, p.valid_lifetime)});
        ch.prefixes_changed = true;
      } else {
        it->expires = deadline(now, p.valid_lifetime);
      }
    }
    // Autoconfiguration (RFC 4862 5.5.3).
    if (!p.autonomous || p.preferred_lifetime > p.valid_lifetime) continue;
    if (p.prefix_len != 64) continue;  // our interface ids are 64 bits
    auto ait = std::find_if(addrs_.begin(), addrs_.end(), [&](const SlaacAddress& a) {
      return !a.temporary && same_prefix64(a.address, net);
    });
    if (ait == addrs_.end()) {
      if (p.valid_lifetime == 0) continue;
      SlaacAddress a;
      a.address = net;
      auto id = interface_id(net, 0);
      std::copy(id.begin(), id.end(), a.address.b.begin() + 8);
      a.prefix_len = 64;
      a.preferred_until = deadline(now, p.preferred_lifetime);
      a.valid_until = deadline(now, p.valid_lifetime);
      addrs_.push_back(a);
      ch.added.push_back(a);
      if (cfg_.temporary) add_temporary(a, now, 0, &ch);
      continue;
    }
    SlaacAddress before = *ait;
    ait->preferred_until = deadline(now, p.preferred_lifetime);
    Instant received = deadline(now, p.valid_lifetime);
    Duration remaining = ait->valid_until == kNever ? Duration::max() : ait->valid_until - now;
    if (p.valid_lifetime == kNdInfiniteLifetime ||
        std::chrono::seconds(p.valid_lifetime) > kTwoHours || received > ait->valid_until) {
      ait->valid_until = received;
    } else if (remaining <= kTwoHours) {
      // keep: a short lifetime cannot cut a nearly expired address (5.5.3 e 2)
    } else {
      ait->valid_until = now + kTwoHours;
    }
    if (ait->preferred_until > ait->valid_until) ait->preferred_until = ait->valid_until;
    if (ait->preferred_until != before.preferred_until || ait->valid_until != before.valid_until)
      ch.updated.push_back(*ait);
    if (cfg_.temporary) refresh_temporaries(SlaacAddress(*ait), now, &ch);
  }

  // RDNSS / DNSSL (RFC 8106 5.1, 5.2).
  for (const RaRdnss& r : ra.rdnss) {
    for (const Ipv6Addr& s : r.servers) {
      auto it = std::find_if(dns_.begin(), dns_.end(),
                             [&](const SlaacTimed& t) { return t.address == s; });
      if (r.lifetime == 0) {
        if (it != dns_.end()) {
          dns_.erase(it);
          ch.dns_changed = true;
        }
      } else if (it == dns_.end()) {
        dns_.push_back({s, 128, deadline(now, r.lifetime)});
        ch.dns_changed = true;
      } else {
        it->expires = deadline(now, r.lifetime);
      }
    }
  }
  for (const RaDnssl& d : ra.dnssl) {
    if (d.lifetime == 0) {
      if (!domains_.empty()) ch.dns_changed = true;
      domains_.clear();
      domains_expire_ = kNever;
    } else {
      if (domains_ != d.domains) ch.dns_changed = true;
      domains_ = d.domains;
      domains_expire_ = deadline(now, d.lifetime);
    }
  }
  return ch;
}

SlaacChanges SlaacState::expire(Instant now) {
  SlaacChanges ch;
  if (cfg_.temporary) regenerate_temporaries(now, &ch);  // before their deprecation
  for (auto it = addrs_.begin(); it != addrs_.end();) {
    if (it->valid_until <= now) {
      ch.removed.push_back(*it);
      it = addrs_.erase(it);
      continue;
    }
    ++it;
  }
  // Deprecations are reported once: the instant they pass. Callers that poll late still
  // see the address as deprecated via SlaacAddress::deprecated(now).
  for (auto& a : addrs_)
    if (a.preferred_until <= now && a.preferred_until != Instant::min()) {
      ch.deprecated.push_back(a);
      a.preferred_until = Instant::min();  // marks "already reported"
    }
  auto drop = [&](std::vector<SlaacTimed>& v, bool& flag) {
    auto end = std::remove_if(v.begin(), v.end(), [&](const SlaacTimed& t) { return t.expires <= now; });
    if (end != v.end()) flag = true;
    v.erase(end, v.end());
  };
  drop(routers_, ch.routers_changed);
  drop(dns_, ch.dns_changed);
  drop(prefixes_, ch.prefixes_changed);
  if (domains_expire_ <= now) {
    domains_.clear();
    domains_expire_ = kNever;
    ch.dns_changed = true;
  }
  return ch;
}

Instant SlaacState::next_event() const {
  Instant t = kNever;
  for (auto& a : addrs_) {
    t = std::min(t, a.valid_until);
    if (a.preferred_until != Instant::min()) t = std::min(t, a.preferred_until);
  }
  if (cfg_.temporary) t = std::min(t, next_temporary_event());
  for (auto* v : {&routers_, &dns_, &prefixes_})
    for (auto& x : *v) t = std::min(t, x.expires);
  return std::min(t, domains_expire_);
}

SlaacChanges SlaacState::dad_failed(const Ipv6Addr& addr, Instant now) {
  SlaacChanges ch;
  auto it = std::find_if(addrs_.begin(), addrs_.end(),
                         [&](const SlaacAddress& a) { return a.address == addr; });
  if (it == addrs_.end()) return ch;
  SlaacAddress old = *it;
  addrs_.erase(it);
  ch.removed.push_back(old);
  if (old.temporary) {
    // RFC 8981 3.4: a new random id, up to TEMP_IDGEN_RETRIES times.
    const SlaacAddress* pub = public_for(old.address);
    if (pub && old.dad_counter < cfg_.temp_idgen_retries)
      add_temporary(SlaacAddress(*pub), now, uint8_t(old.dad_counter + 1), &ch);
    return ch;
  }
  if (cfg_.mode != IidMode::StableRandom || old.dad_counter >= cfg_.max_dad_retries) return ch;
  SlaacAddress a = old;
  a.dad_counter = static_cast<uint8_t>(old.dad_counter + 1);
  auto id = interface_id(old.address, a.dad_counter);
  std::copy(id.begin(), id.end(), a.address.b.begin() + 8);
  addrs_.push_back(a);
  ch.added.push_back(a);
  return ch;
}

}  // namespace libstack
