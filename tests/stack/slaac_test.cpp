// SLAAC helper: interface ids, address formation, lifetimes (two-hour rule), routers,
// MTU, RDNSS/DNSSL, expiry and DAD retries, on a manual clock.
#include <gtest/gtest.h>

#include <sodium.h>

#include "config/slaac.h"
#include "libstack/crypto.h"

using namespace libstack;
using namespace std::chrono_literals;

namespace {

const MacAddr kMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};

Ipv6Addr v6(std::initializer_list<uint8_t> bytes) {
  Ipv6Addr a{};
  std::copy(bytes.begin(), bytes.end(), a.b.begin());
  return a;
}
const Ipv6Addr kRouter = v6({0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
const Ipv6Addr kPrefix = v6({0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0});

RouterAdvert ra(uint32_t valid = 86400, uint32_t preferred = 14400) {
  RouterAdvert r;
  r.source = kRouter;
  r.router_lifetime = 1800;
  r.cur_hop_limit = 64;
  r.mtu = 1400;
  r.prefixes.push_back({kPrefix, 64, true, true, valid, preferred});
  r.rdnss.push_back({600, {v6({0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53})}});
  r.dnssl.push_back({600, {"example.test"}});
  return r;
}

SlaacConfig cfg(IidMode mode) {
  SlaacConfig c;
  c.mac = kMac;
  c.mode = mode;
  for (int i = 0; i < 16; ++i) c.secret[i] = uint8_t(i * 3 + 1);
  c.interface_name = "eth0";
  return c;
}

TEST(Slaac, StableIdIsSipHashOfPrefixIfaceAndCounter) {
  // RFC 7217 F() = SipHash-2-4 (libsodium) over prefix | len(Net_Iface) | Net_Iface | counter;
  // the id is the 64-bit output, most significant byte first.
  SlaacState s(cfg(IidMode::StableRandom));
  std::vector<uint8_t> in(kPrefix.b.begin(), kPrefix.b.begin() + 8);
  in.insert(in.end(), {0, 4, 'e', 't', 'h', '0', 0});
  uint8_t key[16], out[8];
  for (int i = 0; i < 16; ++i) key[i] = uint8_t(i * 3 + 1);
  crypto_shorthash(out, in.data(), in.size(), key);
  std::array<uint8_t, 8> want;
  for (int i = 0; i < 8; ++i) want[size_t(i)] = out[7 - i];
  EXPECT_EQ(s.interface_id(kPrefix, 0), want);
}

TEST(Slaac, StableIdsDependOnTheInterfaceNameNotTheMac) {
  auto c = cfg(IidMode::StableRandom);
  SlaacState a(c);
  c.mac.b[5] ^= 0x55;  // views draw a new MAC every run: the address must not follow it
  EXPECT_EQ(SlaacState(c).interface_id(kPrefix, 0), a.interface_id(kPrefix, 0));
  c.interface_name = "vpn/eth0";
  EXPECT_NE(SlaacState(c).interface_id(kPrefix, 0), a.interface_id(kPrefix, 0));
}

TEST(Slaac, Eui64AddressFromMac) {
  SlaacState s(cfg(IidMode::Eui64));
  auto id = eui64_interface_id(kMac);
  EXPECT_EQ(id, (std::array<uint8_t, 8>{0x50, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x56}));
  auto ch = s.on_router_advert(ra(), 10s);
  ASSERT_EQ(ch.added.size(), 1u);
  EXPECT_EQ(ch.added[0].address, v6({0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0x50, 0x54, 0x00,
                                     0xff, 0xfe, 0x12, 0x34, 0x56}));
  EXPECT_EQ(ch.added[0].prefix_len, 64);
  EXPECT_EQ(ch.added[0].preferred_until, Instant(10s + 14400s));
  EXPECT_EQ(ch.added[0].valid_until, Instant(10s + 86400s));
  EXPECT_EQ(s.link_local_address(), v6({0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x50, 0x54, 0x00, 0xff,
                                        0xfe, 0x12, 0x34, 0x56}));
  EXPECT_TRUE(ch.routers_changed);
  ASSERT_EQ(s.default_routers().size(), 1u);
  EXPECT_EQ(s.default_routers()[0].expires, Instant(10s + 1800s));
  EXPECT_EQ(ch.mtu, 1400u);
  EXPECT_EQ(ch.hop_limit, 64);
  EXPECT_TRUE(ch.dns_changed);
  ASSERT_EQ(s.dns_servers().size(), 1u);
  EXPECT_EQ(s.search_domains(), std::vector<std::string>{"example.test"});
  ASSERT_EQ(s.on_link_prefixes().size(), 1u);
}

TEST(Slaac, StableIdsDependOnPrefixSecretAndCounterButNotTime) {
  SlaacState a(cfg(IidMode::StableRandom)), b(cfg(IidMode::StableRandom));
  auto other = kPrefix;
  other.b[5] = 2;
  EXPECT_EQ(a.interface_id(kPrefix, 0), b.interface_id(kPrefix, 0)) << "stable";
  EXPECT_NE(a.interface_id(kPrefix, 0), a.interface_id(other, 0)) << "per prefix";
  EXPECT_NE(a.interface_id(kPrefix, 0), a.interface_id(kPrefix, 1)) << "per DAD counter";
  auto c2 = cfg(IidMode::StableRandom);
  c2.secret[0] ^= 1;
  EXPECT_NE(SlaacState(c2).interface_id(kPrefix, 0), a.interface_id(kPrefix, 0)) << "per secret";
  EXPECT_NE(a.interface_id(kPrefix, 0), eui64_interface_id(kMac)) << "does not leak the MAC";
  auto ch = a.on_router_advert(ra(), 0s);
  ASSERT_EQ(ch.added.size(), 1u);
  auto id = a.interface_id(kPrefix, 0);
  EXPECT_TRUE(std::equal(id.begin(), id.end(), ch.added[0].address.b.begin() + 8));
}

TEST(Slaac, IgnoredPrefixes) {
  SlaacState s(cfg(IidMode::Eui64));
  RouterAdvert r = ra();
  r.prefixes.clear();
  r.prefixes.push_back({kPrefix, 64, true, false, 100, 50});      // A flag clear
  auto p2 = kPrefix; p2.b[5] = 2;
  r.prefixes.push_back({p2, 64, false, true, 100, 200});          // preferred > valid
  auto p3 = kPrefix; p3.b[5] = 3;
  r.prefixes.push_back({p3, 48, false, true, 100, 50});           // not a /64
  r.prefixes.push_back({kRouter, 64, false, true, 100, 50});      // link-local
  auto ch = s.on_router_advert(r, 0s);
  EXPECT_TRUE(ch.added.empty());
  EXPECT_EQ(s.on_link_prefixes().size(), 1u) << "only the first had L set";
  // An RA from a non-link-local source is ignored entirely.
  RouterAdvert bad = ra();
  bad.source = kPrefix;
  EXPECT_TRUE(s.on_router_advert(bad, 0s).empty());
}

TEST(Slaac, TwoHourRuleProtectsValidLifetime) {
  SlaacState s(cfg(IidMode::Eui64));
  s.on_router_advert(ra(86400, 3600), 0s);
  // A forged RA with valid 60 s must not cut the address below 2 hours.
  auto ch = s.on_router_advert(ra(60, 30), 100s);
  ASSERT_EQ(ch.updated.size(), 1u);
  EXPECT_EQ(s.addresses()[0].valid_until, Instant(100s + 2h));
  EXPECT_EQ(s.addresses()[0].preferred_until, Instant(100s + 30s));
  // Larger than remaining: accepted.
  s.on_router_advert(ra(90000, 3600), 200s);
  EXPECT_EQ(s.addresses()[0].valid_until, Instant(200s + 90000s));
  // Above two hours: accepted even if shorter than remaining.
  s.on_router_advert(ra(8000, 3600), 300s);
  EXPECT_EQ(s.addresses()[0].valid_until, Instant(300s + 8000s));
  // Remaining <= 2 h: a short lifetime is ignored (keep the remaining one).
  Instant late = 300s + 8000s - 3600s;
  s.on_router_advert(ra(60, 30), late);
  EXPECT_EQ(s.addresses()[0].valid_until, Instant(300s + 8000s));
}

TEST(Slaac, ExpiryDeprecatesThenRemoves) {
  SlaacState s(cfg(IidMode::Eui64));
  RouterAdvert r = ra(300, 100);
  r.router_lifetime = 50;
  s.on_router_advert(r, 0s);
  EXPECT_EQ(s.next_event(), Instant(50s));
  auto c1 = s.expire(50s);
  EXPECT_TRUE(c1.routers_changed);
  EXPECT_TRUE(s.default_routers().empty());
  EXPECT_EQ(s.next_event(), Instant(100s));
  auto c2 = s.expire(100s);
  ASSERT_EQ(c2.deprecated.size(), 1u);
  EXPECT_TRUE(s.addresses()[0].deprecated(100s));
  EXPECT_TRUE(s.expire(150s).deprecated.empty()) << "reported once";
  EXPECT_EQ(s.next_event(), Instant(300s));
  auto c3 = s.expire(300s);
  ASSERT_EQ(c3.removed.size(), 1u);
  EXPECT_TRUE(s.addresses().empty());
  EXPECT_TRUE(c3.prefixes_changed);
  EXPECT_EQ(s.next_event(), Instant(600s)) << "RDNSS/DNSSL still pending";
  auto c4 = s.expire(600s);
  EXPECT_TRUE(c4.dns_changed);
  EXPECT_TRUE(s.dns_servers().empty());
  EXPECT_TRUE(s.search_domains().empty());
  EXPECT_EQ(s.next_event(), kNever);
}

TEST(Slaac, ZeroLifetimesWithdraw) {
  SlaacState s(cfg(IidMode::Eui64));
  s.on_router_advert(ra(), 0s);
  RouterAdvert r = ra();
  r.router_lifetime = 0;
  r.rdnss[0].lifetime = 0;
  auto ch = s.on_router_advert(r, 10s);
  EXPECT_TRUE(ch.routers_changed);
  EXPECT_TRUE(s.default_routers().empty());
  EXPECT_TRUE(s.dns_servers().empty());
}

TEST(Slaac, InfiniteLifetimesNeverExpire) {
  SlaacState s(cfg(IidMode::Eui64));
  RouterAdvert r = ra(kNdInfiniteLifetime, kNdInfiniteLifetime);
  r.rdnss[0].lifetime = kNdInfiniteLifetime;
  r.dnssl[0].lifetime = kNdInfiniteLifetime;
  r.router_lifetime = 0;
  s.on_router_advert(r, 0s);
  EXPECT_EQ(s.addresses()[0].valid_until, kNever);
  EXPECT_EQ(s.next_event(), kNever);
}

TEST(Slaac, MtuOutsideBoundsIgnored) {
  SlaacState s(cfg(IidMode::Eui64));
  RouterAdvert r = ra();
  r.mtu = 1000;  // below IPv6 minimum
  EXPECT_FALSE(s.on_router_advert(r, 0s).mtu);
  r.mtu = 9000;  // above the link MTU (1500)
  EXPECT_FALSE(s.on_router_advert(r, 0s).mtu);
  EXPECT_FALSE(s.mtu());
}

TEST(Slaac, DadFailureRegeneratesStableIdUpToLimit) {
  SlaacState s(cfg(IidMode::StableRandom));
  auto ch = s.on_router_advert(ra(), 0s);
  Ipv6Addr addr = ch.added[0].address;
  for (int i = 1; i <= 3; ++i) {
    auto d = s.dad_failed(addr, 0s);
    ASSERT_EQ(d.removed.size(), 1u);
    ASSERT_EQ(d.added.size(), 1u) << i;
    EXPECT_NE(d.added[0].address, addr);
    EXPECT_EQ(d.added[0].dad_counter, i);
    addr = d.added[0].address;
  }
  auto last = s.dad_failed(addr, 0s);
  EXPECT_EQ(last.removed.size(), 1u);
  EXPECT_TRUE(last.added.empty()) << "IDGEN_RETRIES exhausted";
  EXPECT_TRUE(s.addresses().empty());

  SlaacState e(cfg(IidMode::Eui64));
  auto ce = e.on_router_advert(ra(), 0s);
  EXPECT_TRUE(e.dad_failed(ce.added[0].address, 0s).added.empty()) << "EUI-64 cannot retry";
}

// ---------------------------------------------------------------- RFC 8981 temporaries

SlaacConfig temp_cfg(Random& r) {
  SlaacConfig c = cfg(IidMode::StableRandom);
  c.temporary = true;
  c.rng = &r;
  return c;
}

std::vector<SlaacAddress> temporaries(const SlaacState& s) {
  std::vector<SlaacAddress> v;
  for (auto& a : s.addresses())
    if (a.temporary) v.push_back(a);
  return v;
}

CryptoRandom test_rng(uint8_t k) {
  std::array<uint8_t, 32> key{};
  key.fill(k);
  return CryptoRandom(key);
}

TEST(SlaacTemporary, OffByDefault) {
  SlaacState s(cfg(IidMode::StableRandom));
  EXPECT_EQ(s.on_router_advert(ra(), 0s).added.size(), 1u);
  EXPECT_TRUE(temporaries(s).empty());
}

TEST(SlaacTemporary, CreatedBesideTheStableAddressWithRandomIdAndBoundedLifetimes) {
  auto r = test_rng(1);
  SlaacState s(temp_cfg(r));
  auto ch = s.on_router_advert(ra(86400 * 7, 86400 * 3), 10s);  // a week / three days
  ASSERT_EQ(ch.added.size(), 2u);
  auto t = temporaries(s);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_TRUE(std::equal(kPrefix.b.begin(), kPrefix.b.begin() + 8, t[0].address.b.begin()));
  EXPECT_NE(t[0].address, ch.added[0].address);
  EXPECT_EQ(t[0].valid_until, Instant(10s + 48h)) << "TEMP_VALID_LIFETIME";
  EXPECT_LE(t[0].preferred_until, Instant(10s + 24h)) << "TEMP_PREFERRED_LIFETIME";
  EXPECT_GT(t[0].preferred_until, Instant(10s + 24h * 6 / 10)) << "DESYNC_FACTOR <= 0.4 * preferred";
  // Another state with another generator: another id (random, not derived from the prefix).
  auto r2 = test_rng(2);
  SlaacState s2(temp_cfg(r2));
  s2.on_router_advert(ra(86400 * 7, 86400 * 3), 10s);
  EXPECT_NE(temporaries(s2)[0].address, t[0].address);
}

TEST(SlaacTemporary, LifetimesNeverExceedTheRouterAdvertisement) {
  auto r = test_rng(3);
  SlaacState s(temp_cfg(r));
  s.on_router_advert(ra(3600, 1800), 0s);
  auto t = temporaries(s);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].valid_until, Instant(3600s));
  EXPECT_EQ(t[0].preferred_until, Instant(1800s));
  // The RA refreshes later: the temporary follows, never past its own maximum.
  auto ch = s.on_router_advert(ra(86400 * 7, 86400 * 7), 1000s);
  t = temporaries(s);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].valid_until, Instant(48h));
  EXPECT_EQ(t[0].preferred_until, Instant(24h) - t[0].desync);
  EXPECT_FALSE(ch.updated.empty());
  // A prefix preferred for less than REGEN_ADVANCE gets no temporary at all.
  auto r2 = test_rng(4);
  SlaacState s2(temp_cfg(r2));
  s2.on_router_advert(ra(3600, 4), 0s);
  EXPECT_TRUE(temporaries(s2).empty());
  EXPECT_EQ(s2.temp_skipped(), 1u);
}

TEST(SlaacTemporary, RegeneratedBeforeDeprecationOldOneDeprecatedThenRemoved) {
  auto r = test_rng(5);
  SlaacConfig c = temp_cfg(r);
  SlaacState s(c);
  RouterAdvert adv = ra(kNdInfiniteLifetime, kNdInfiniteLifetime);
  adv.router_lifetime = 0;  // only address events below
  adv.rdnss.clear();
  adv.dnssl.clear();
  s.on_router_advert(adv, 0s);
  auto first = temporaries(s).at(0);
  Instant regen = first.preferred_until - c.regen_advance;
  EXPECT_EQ(s.next_event(), regen);
  auto ch = s.expire(regen);
  ASSERT_EQ(ch.added.size(), 1u) << "the successor, REGEN_ADVANCE before deprecation";
  EXPECT_TRUE(ch.added[0].temporary);
  EXPECT_NE(ch.added[0].address, first.address);
  EXPECT_TRUE(ch.deprecated.empty());
  auto c2 = s.expire(first.preferred_until);
  ASSERT_EQ(c2.deprecated.size(), 1u);
  EXPECT_EQ(c2.deprecated[0].address, first.address);
  auto c3 = s.expire(first.valid_until);
  ASSERT_EQ(c3.removed.size(), 1u);
  EXPECT_EQ(c3.removed[0].address, first.address);
  // Over a week the number alive at once stays bounded and the stable address stays.
  for (Instant t = first.valid_until; t < Instant(24h * 7);) {
    Instant nx = s.next_event();
    ASSERT_NE(nx, kNever);
    t = std::max(t, nx);
    s.expire(t);
    EXPECT_LE(temporaries(s).size(), c.max_temp_per_prefix);
    size_t preferred = 0;
    for (auto& a : temporaries(s)) preferred += !a.deprecated(t);
    EXPECT_GE(preferred, 1u) << "a preferred temporary at all times";
  }
  EXPECT_EQ(s.addresses().size() - temporaries(s).size(), 1u);
}

TEST(SlaacTemporary, DadFailureGivesANewRandomIdUpToTheRetryLimit) {
  auto r = test_rng(6);
  SlaacState s(temp_cfg(r));
  s.on_router_advert(ra(), 0s);
  auto t = temporaries(s).at(0);
  for (int i = 1; i <= 3; ++i) {
    auto d = s.dad_failed(t.address, 1s);
    ASSERT_EQ(d.added.size(), 1u) << i;
    EXPECT_TRUE(d.added[0].temporary);
    EXPECT_NE(d.added[0].address, t.address);
    t = d.added[0];
  }
  EXPECT_TRUE(s.dad_failed(t.address, 1s).added.empty()) << "TEMP_IDGEN_RETRIES";
  EXPECT_TRUE(temporaries(s).empty());
  EXPECT_EQ(s.addresses().size(), 1u) << "the stable address is kept";
}

TEST(SlaacTemporary, NoneWithoutARandom) {
  SlaacConfig c = cfg(IidMode::StableRandom);
  c.temporary = true;
  SlaacState s(c);
  EXPECT_EQ(s.on_router_advert(ra(), 0s).added.size(), 1u);
}

}  // namespace
