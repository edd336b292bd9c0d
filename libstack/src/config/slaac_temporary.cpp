// SLAAC temporary addresses (RFC 8981) — theory of operation
//
// With SlaacConfig::temporary on, every prefix that forms a stable (or EUI-64) address also
// gets a temporary address: the same /64 with a random interface id (64 bits from the
// injected Random, not an RFC 5453 reserved id, not an id already used in the prefix).
//  * Lifetimes (3.4): valid = min(the public address's valid lifetime, TEMP_VALID_LIFETIME),
//    preferred = min(the public address's preferred lifetime, TEMP_PREFERRED_LIFETIME -
//    DESYNC_FACTOR), DESYNC_FACTOR drawn per address uniformly in [0, MAX_DESYNC_FACTOR),
//    MAX_DESYNC_FACTOR = 0.4 * TEMP_PREFERRED_LIFETIME (and below TEMP_PREFERRED_LIFETIME -
//    REGEN_ADVANCE). None is made when that preferred lifetime is not above REGEN_ADVANCE.
//    An RA that refreshes the prefix refreshes them by the same rule, from their creation
//    time, so they never outlive what the router advertises nor their own maximum.
//  * Regeneration (3.5): REGEN_ADVANCE before the newest temporary address of a prefix
//    deprecates, a new one is made (if the prefix is still preferred); the old one stays,
//    deprecated, until its valid lifetime ends, so its connections go on while new ones
//    pick the new address (the stack avoids deprecated sources, RFC 6724 rule 3).
//  * At most max_temp_per_prefix live at once; DAD failure gives a new random id, up to
//    TEMP_IDGEN_RETRIES times. Nothing is made without a Random (rng null).
#include <algorithm>
#include <cstring>

#include "config/slaac.h"

namespace libstack {

namespace {
bool same64(const Ipv6Addr& a, const Ipv6Addr& b) { return std::memcmp(a.b.data(), b.b.data(), 8) == 0; }
bool reported(Instant preferred_until) { return preferred_until == Instant::min(); }
}  // namespace

const SlaacAddress* SlaacState::public_for(const Ipv6Addr& prefix) const {
  for (auto& a : addrs_)
    if (!a.temporary && same64(a.address, prefix)) return &a;
  return nullptr;
}

void SlaacState::add_temporary(const SlaacAddress& pub, Instant now, uint8_t dad_counter,
                               SlaacChanges* ch) {
  if (!cfg_.rng || reported(pub.preferred_until) || pub.preferred_until <= now) return;
  size_t alive = 0;
  for (auto& a : addrs_) alive += a.temporary && same64(a.address, pub.address);
  if (alive >= cfg_.max_temp_per_prefix) {
    ++temp_skipped_;
    return;
  }
  Duration max_desync = cfg_.temp_preferred_lifetime * 2 / 5;
  max_desync = std::min(max_desync, cfg_.temp_preferred_lifetime - cfg_.regen_advance);
  Duration desync{0};
  if (max_desync > Duration::zero()) desync = Duration(int64_t(cfg_.rng->below(uint64_t(max_desync.count()))));
  Instant valid = std::min(pub.valid_until, now + cfg_.temp_valid_lifetime);
  Instant preferred = std::min({pub.preferred_until, now + cfg_.temp_preferred_lifetime - desync, valid});
  if (preferred - now <= cfg_.regen_advance) {  // 3.4 step 5: too short to be useful
    ++temp_skipped_;
    return;
  }
  SlaacAddress t;
  t.address = pub.address;
  for (int tries = 0; tries < 16; ++tries) {
    uint64_t v = cfg_.rng->next_u64();
    std::array<uint8_t, 8> id{};
    for (int i = 0; i < 8; ++i) id[size_t(i)] = uint8_t(v >> (8 * i));
    if (reserved_interface_id(id)) continue;
    std::copy(id.begin(), id.end(), t.address.b.begin() + 8);
    bool used = std::any_of(addrs_.begin(), addrs_.end(),
                            [&](const SlaacAddress& a) { return a.address == t.address; });
    if (!used) break;
  }
  t.prefix_len = 64;
  t.preferred_until = preferred;
  t.valid_until = valid;
  t.dad_counter = dad_counter;
  t.temporary = true;
  t.created = now;
  t.desync = desync;
  addrs_.push_back(t);
  ch->added.push_back(t);
}

void SlaacState::refresh_temporaries(const SlaacAddress& pub, Instant now, SlaacChanges* ch) {
  (void)now;
  SlaacAddress* newest = nullptr;
  for (auto& t : addrs_)
    if (t.temporary && same64(t.address, pub.address) && (!newest || t.created > newest->created))
      newest = &t;
  for (auto& t : addrs_) {
    if (!t.temporary || !same64(t.address, pub.address)) continue;
    Instant valid = std::min(pub.valid_until, t.created + cfg_.temp_valid_lifetime);
    Instant preferred = t.preferred_until;
    if (!reported(preferred)) {
      Instant cap = reported(pub.preferred_until) ? Instant::min() : pub.preferred_until;
      preferred = std::min({cap, t.created + cfg_.temp_preferred_lifetime - t.desync, valid});
    }
    if (valid == t.valid_until && preferred == t.preferred_until) continue;
    // A newest address whose preferred lifetime grew again needs a successor again.
    if (&t == newest && !reported(preferred) && preferred > t.preferred_until) t.regenerated = false;
    t.valid_until = valid;
    t.preferred_until = preferred;
    ch->updated.push_back(t);
  }
}

void SlaacState::regenerate_temporaries(Instant now, SlaacChanges* ch) {
  std::vector<SlaacAddress> pubs;
  for (auto& t : addrs_) {
    if (!t.temporary || t.regenerated || reported(t.preferred_until) || t.preferred_until == kNever)
      continue;
    if (now < t.preferred_until - cfg_.regen_advance) continue;
    t.regenerated = true;
    const SlaacAddress* pub = public_for(t.address);
    if (pub && !reported(pub->preferred_until) && pub->preferred_until > now) pubs.push_back(*pub);
  }
  for (auto& p : pubs) add_temporary(p, now, 0, ch);
}

Instant SlaacState::next_temporary_event() const {
  Instant t = kNever;
  for (auto& a : addrs_)
    if (a.temporary && !a.regenerated && !reported(a.preferred_until) && a.preferred_until != kNever)
      t = std::min(t, a.preferred_until - cfg_.regen_advance);
  return t;
}

}  // namespace libstack
