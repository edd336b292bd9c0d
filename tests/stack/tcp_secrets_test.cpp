// The TCP engine's secrets (tcp_secrets.cpp) and ACK rate limits (tcp_ratelimit.cpp):
// RFC 6528 ISNs keyed per engine, SYN cookies / ports / timestamps from the same PRF, the
// RFC 5961 §7 challenge-ACK budget drawn per second, and the per-connection limit.
#include <sodium.h>

#include <set>

#include "crypto/prf.h"
#include "libstack/crypto.h"
#include "tcp_harness.h"
#include "transport/tcp/tcp_ratelimit.h"
#include "transport/tcp/tcp_secrets.h"

namespace tcptest {
namespace {

using libstack::tcp::ChallengeBudget;
using libstack::tcp::TcpSecrets;
namespace tf = wire::tcpflag;

std::array<uint8_t, 32> key32(uint8_t v) {
  std::array<uint8_t, 32> k{};
  k.fill(v);
  return k;
}

// A Random that returns fixed values: lets a test know an engine's key.
class ListRandom final : public Random {
 public:
  explicit ListRandom(std::vector<uint64_t> v) : v_(std::move(v)) {}
  uint64_t next_u64() override { return v_[i_++ % v_.size()]; }

 private:
  std::vector<uint64_t> v_;
  size_t i_ = 0;
};

Endpoint ep(uint8_t host, uint16_t port) { return Endpoint{v4(10, 0, 0, host), port}; }

TEST(TcpSecrets, DifferentKeysGiveUnrelatedIsnOffsetsForTheSameTuple) {
  CryptoRandom ra(key32(1)), rb(key32(2));
  TcpSecrets a(ra), b(rb);
  int equal = 0, bits = 0;
  constexpr int kTuples = 256;
  for (int i = 0; i < kTuples; ++i) {
    Endpoint l = ep(1, uint16_t(40000 + i)), r = ep(2, 80);
    uint32_t x = a.isn_offset(l, r), y = b.isn_offset(l, r);
    equal += x == y;
    bits += __builtin_popcount(x ^ y);
  }
  EXPECT_LE(equal, 1);
  double mean = double(bits) / kTuples;  // 16 for unrelated 32-bit values
  EXPECT_GT(mean, 14.0);
  EXPECT_LT(mean, 18.0);
  // One key: the same tuple always maps to the same offset, another tuple elsewhere.
  EXPECT_EQ(a.isn_offset(ep(1, 1), ep(2, 2)), a.isn_offset(ep(1, 1), ep(2, 2)));
  EXPECT_NE(a.isn_offset(ep(1, 1), ep(2, 2)), a.isn_offset(ep(1, 2), ep(2, 2)));
  EXPECT_NE(a.isn_offset(ep(1, 1), ep(2, 2)), a.ts_offset(ep(1, 1), ep(2, 2)));
}

TEST(TcpSecrets, IsnOffsetIsSipHashOfTheTupleUnderTheEngineKey) {
  // The engine key is the first two draws (little-endian bytes), as SipKey::draw makes it.
  ListRandom r({0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull, 0x1234567800000000ull});
  TcpSecrets s(r);
  uint8_t key[16];
  for (int i = 0; i < 16; ++i) key[i] = uint8_t(i);
  // Domain 1, family 4, 10.0.0.1, port 40000, family 4, 10.0.0.2, port 80 (network order).
  const uint8_t in[] = {1, 4, 10, 0, 0, 1, 0x9c, 0x40, 4, 10, 0, 0, 2, 0, 80};
  uint8_t out[8];
  crypto_shorthash(out, in, sizeof in, key);
  uint64_t h = 0;
  for (int i = 7; i >= 0; --i) h = (h << 8) | out[i];
  EXPECT_EQ(s.isn_offset(ep(1, 40000), ep(2, 80)), uint32_t(h ^ (h >> 32)));
  EXPECT_EQ(s.cookie_ts_offset(), 0x12345678u);  // next_u32 = the high half
}

// The old design: a view drew its MAC and the engine's secret from one SplitMix64. An
// observer of the MAC inverts SplitMix64's output function for the 2^18 outputs the MAC
// leaves open, runs each candidate generator forward to the engine key, and keeps the one
// that reproduces one observed ISN offset; it then predicts the ISN of any other tuple.
uint64_t unxorshift(uint64_t y, int k) {
  uint64_t x = y;
  for (int i = 0; i < 64 / k + 1; ++i) x = y ^ (x >> k);
  return x;
}
uint64_t inverse(uint64_t c) {  // modular inverse of an odd constant (Newton)
  uint64_t x = c;
  for (int i = 0; i < 6; ++i) x *= 2 - c * x;
  return x;
}
uint64_t splitmix_unmix(uint64_t z) {
  z = unxorshift(z, 31);
  z *= inverse(0x94d049bb133111ebull);
  z = unxorshift(z, 27);
  z *= inverse(0xbf58476d1ce4e5b9ull);
  return unxorshift(z, 30);
}

std::optional<uint32_t> attack(const MacAddr& mac, const Endpoint& la, const Endpoint& ra,
                               uint32_t seen, const Endpoint& lb, const Endpoint& rb) {
  uint64_t known = 0;
  for (size_t i = 0; i < 6; ++i) known |= uint64_t(mac.b[i]) << (8 * i);
  known &= ~uint64_t(3);  // the two low bits were overwritten (unicast, local)
  std::optional<uint32_t> guess;
  for (uint64_t hi = 0; hi < 65536; ++hi)
    for (uint64_t lo = 0; lo < 4; ++lo) {
      SplitMix64 cand(splitmix_unmix(hi << 48 | known | lo));  // the state after the MAC draw
      TcpSecrets s(cand);
      if (s.isn_offset(la, ra) == seen) guess = s.isn_offset(lb, rb);
    }
  return guess;
}

TEST(TcpSecrets, MacObserverCannotPredictIsnsOfACryptoRandomStack) {
  Endpoint la = ep(1, 50000), ra = ep(2, 443), lb = ep(1, 50001), rb = ep(3, 22);
  {
    // Sanity: against a SplitMix64-driven stack the attack works.
    SplitMix64 rng(0x1234abcd5678ef01ull);
    MacAddr mac = random_local_mac(rng);
    TcpSecrets victim(rng);
    auto g = attack(mac, la, ra, victim.isn_offset(la, ra), lb, rb);
    ASSERT_TRUE(g.has_value());
    EXPECT_EQ(*g, victim.isn_offset(lb, rb));
  }
  {
    // The views' generator: the MAC tells nothing about the key.
    CryptoRandom rng(key32(0x5a));
    MacAddr mac = random_local_mac(rng);
    TcpSecrets victim(rng);
    auto g = attack(mac, la, ra, victim.isn_offset(la, ra), lb, rb);
    EXPECT_TRUE(!g || *g != victim.isn_offset(lb, rb));
  }
}

TEST(TcpSecrets, IsnsOfOneTupleFollowTheClockAcrossIncarnations) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  auto l = b.socket();
  ASSERT_EQ(l.bind(Endpoint{kB, 80}), 0);
  ASSERT_EQ(l.listen(16), 0);
  Endpoint cl{kA, 42000};
  std::vector<std::pair<Instant, uint32_t>> syns;
  for (int round = 0; round < 3; ++round) {
    size_t before = net.sent.size();
    auto c = a.socket();
    c.set_reuseaddr(true);
    ASSERT_EQ(c.bind(cl), 0);
    Instant t = net.now;
    ASSERT_EQ(c.connect(Endpoint{kB, 80}), -EINPROGRESS);
    auto out = net.sent_from(kA, before);
    ASSERT_FALSE(out.empty());
    ASSERT_EQ(out[0].hdr().flags, tf::SYN);
    syns.push_back({t, out[0].hdr().seq});
    c.abort();
    net.run_for(7s + std::chrono::milliseconds(13 * round));
  }
  uint32_t f = a.isn_offset(cl, Endpoint{kB, 80});
  for (auto& [t, seq] : syns) EXPECT_EQ(seq, uint32_t(uint64_t(t.count()) / 4000u) + f);
  for (size_t i = 1; i < syns.size(); ++i)
    EXPECT_EQ(syns[i].second - syns[i - 1].second,
              uint32_t((syns[i].first - syns[i - 1].first).count() / 4000));
}

TEST(TcpSecrets, EphemeralPortsDependOnTheEngineKey) {
  // RFC 6056 algorithm 3: engines keyed differently pick different port sequences.
  auto ports = [](uint8_t key) {
    Net net;
    auto& a = net.add(kA);
    CryptoRandom r(key32(key));
    net.host(kA).rng_override = &r;
    TcpEngine e(net.host(kA));
    std::vector<uint16_t> v;
    for (int i = 0; i < 8; ++i) {
      auto s = e.socket();
      EXPECT_EQ(s.connect(Endpoint{kB, 80}), -EINPROGRESS);
      v.push_back(s.local_endpoint().port);
      s.abort();
    }
    (void)a;
    return v;
  };
  auto x = ports(1), y = ports(2);
  EXPECT_EQ(x, ports(1));
  EXPECT_NE(x, y);
  // Consecutive picks towards one destination step through the range (the counter).
  for (size_t i = 1; i < x.size(); ++i) EXPECT_NE(x[i], x[i - 1]);
}

TEST(TcpChallengeAck, BudgetIsRedrawnEverySecondWithinHalfToOneAndAHalfLimit) {
  CryptoRandom r(key32(9));
  ChallengeBudget b;
  constexpr uint32_t kLimit = 100;
  std::set<uint32_t> budgets;
  for (int sec = 0; sec < 60; ++sec) {
    Instant t = std::chrono::seconds(5000 + sec);
    uint32_t n = 0;
    while (b.take(t + std::chrono::milliseconds(n % 1000), kLimit, r)) ++n;
    EXPECT_GE(n, kLimit / 2);
    EXPECT_LT(n, kLimit / 2 + kLimit);
    EXPECT_EQ(n, b.drawn());
    budgets.insert(n);
  }
  EXPECT_GE(budgets.size(), 20u) << "the budget must change from second to second";
  EXPECT_FALSE(b.take(std::chrono::seconds(9), 0, r));  // limit 0: none
}

TEST(TcpChallengeAck, EngineBudgetVariesBetweenSecondsAndIsCounted) {
  // 40 connections, each hit by one in-window RST per second (the per-connection limit
  // lets each through); the engine answers between limit/2 and 3*limit/2 per second.
  Net net;
  TcpTuning tun;
  tun.challenge_ack_limit = 10;
  auto& a = net.add(kA, tun);
  auto& b = net.add(kB, tun);
  std::vector<Pair> pairs(40);
  for (size_t i = 0; i < pairs.size(); ++i) ASSERT_TRUE(connect_pair(net, a, b, pairs[i], uint16_t(1000 + i)));
  net.run_for(1s);
  std::set<uint64_t> per_second;
  for (int sec = 0; sec < 15; ++sec) {
    net.now = std::chrono::seconds(net.now.count() / 1000000000 + 1) + 100ms;
    uint64_t sent = b.counters().challenge_acks_sent, supp = b.counters().challenge_acks_suppressed;
    for (auto& p : pairs) {
      wire::TcpHeader h;
      h.src_port = p.client.local_endpoint().port;
      h.dst_port = p.server.local_endpoint().port;
      h.flags = tf::RST;
      // In window but not RCV.NXT (the client's SND.NXT, from its last segment).
      for (auto it = net.sent.rbegin(); it != net.sent.rend(); ++it)
        if (it->src == kA && it->hdr().src_port == h.src_port) {
          h.seq = it->hdr().seq + 10;
          break;
        }
      net.inject(kA, kB, h);
    }
    uint64_t d = b.counters().challenge_acks_sent - sent;
    EXPECT_GE(d, 5u) << sec;
    EXPECT_LT(d, 15u) << sec;
    EXPECT_EQ(d + b.counters().challenge_acks_suppressed - supp, pairs.size());
    per_second.insert(d);
    net.run_for(200ms);
  }
  EXPECT_GE(per_second.size(), 2u) << "a fixed per-second count is the CVE-2016-5696 channel";
  EXPECT_EQ(b.counters().drop_rst_challenged, 15u * pairs.size());
  for (auto& p : pairs) EXPECT_EQ(p.server.state(), TcpState::Established);
}

TEST(TcpChallengeAck, PerConnectionLimitAnswersOncePer500ms) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  net.run_for(1s);
  auto last = net.sent_from(kA).back().hdr();
  uint32_t rcv_nxt = last.seq;  // the client's SND.NXT
  auto rst = [&] {
    wire::TcpHeader h;
    h.src_port = p.client.local_endpoint().port;
    h.dst_port = 80;
    h.seq = rcv_nxt + 100;
    h.flags = tf::RST;
    net.inject(kA, kB, h);
  };
  // 100 ms apart for 2 s: answers at 0, 500, 1000, 1500 ms.
  for (int i = 0; i < 20; ++i) {
    rst();
    net.now += 100ms;
  }
  EXPECT_EQ(b.counters().challenge_acks_sent, 4u);
  EXPECT_EQ(b.counters().challenge_acks_conn_limited, 16u);
  EXPECT_EQ(b.counters().challenge_acks_suppressed, 16u);
  EXPECT_EQ(b.counters().drop_rst_challenged, 20u);
  EXPECT_EQ(p.server.state(), TcpState::Established);
}

TEST(TcpChallengeAck, OutOfWindowAcksLimitedUnlessTheSegmentCarriesData) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  net.run_for(1s);
  uint32_t rcv_nxt = net.sent_from(kA).back().hdr().seq;
  uint32_t snd_nxt = net.sent_from(kB).back().hdr().seq;
  auto seg = [&](uint32_t seq, size_t len) {
    wire::TcpHeader h;
    h.src_port = p.client.local_endpoint().port;
    h.dst_port = 80;
    h.seq = seq;
    h.ack = snd_nxt;
    h.flags = tf::ACK;
    h.window = 1000;
    std::vector<uint8_t> d(len, 0x55);
    net.inject(kA, kB, h, d);
  };
  size_t before = net.sent_from(kB).size();
  for (int i = 0; i < 10; ++i) seg(rcv_nxt - 100000, 0);  // pure ACKs, out of window
  EXPECT_EQ(net.sent_from(kB).size() - before, 1u);
  EXPECT_EQ(b.counters().oow_acks_suppressed, 9u);
  EXPECT_EQ(b.counters().drop_out_of_window, 10u);
  before = net.sent_from(kB).size();
  for (int i = 0; i < 5; ++i) seg(rcv_nxt - 1000, 10);  // old data (a retransmission)
  EXPECT_EQ(net.sent_from(kB).size() - before, 5u) << "data is always acknowledged";
  net.now += 500ms;
  before = net.sent_from(kB).size();
  seg(rcv_nxt - 100000, 0);
  EXPECT_EQ(net.sent_from(kB).size() - before, 1u) << "the next interval answers again";
  EXPECT_EQ(b.counters().oow_acks_suppressed, 9u);
}

}  // namespace
}  // namespace tcptest
