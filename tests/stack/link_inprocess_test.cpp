// InProcessHub: delivery, impairment statistics with a seeded Random, manual-clock delay,
// rate cap, bounded queues, notify, hub vs learning switch.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <thread>
#include <vector>

#include "libstack/links.h"

using namespace libstack;
using namespace std::chrono_literals;

namespace {

std::vector<uint8_t> frame(uint32_t seq, size_t len = 64, uint8_t dst_last = 0xff,
                           uint8_t src_last = 0x01) {
  std::vector<uint8_t> f(len, 0);
  for (int i = 0; i < 6; ++i) f[i] = 0xff;
  if (dst_last != 0xff) {
    f[0] = 0x02; f[1] = f[2] = f[3] = f[4] = 0; f[5] = dst_last;
  }
  f[6] = 0x02; f[11] = src_last;
  f[12] = 0x88; f[13] = 0xb5;  // local experimental ethertype
  std::memcpy(&f[14], &seq, 4);
  return f;
}
uint32_t seq_of(std::span<const uint8_t> f) {
  uint32_t s;
  std::memcpy(&s, &f[14], 4);
  return s;
}

// Drains everything receivable at `now`; bounded.
std::vector<uint32_t> drain(Link& l, Instant now, size_t limit = 1'000'000) {
  std::vector<uint32_t> out;
  std::array<uint8_t, 70000> buf;
  for (size_t i = 0; i < limit; ++i) {
    size_t n = l.receive(buf, now);
    if (n == 0) break;
    out.push_back(seq_of(std::span(buf.data(), n)));
  }
  return out;
}

TEST(InProcessLink, PairCarriesFramesBothWaysUnchanged) {
  auto [a, b] = InProcessHub::make_pair();
  EXPECT_EQ(a->kind(), LinkKind::Ethernet);
  EXPECT_EQ(a->mtu(), 1500u);
  auto f = frame(7, 1514);
  ASSERT_TRUE(a->transmit(f, 0ns));
  std::array<uint8_t, 2000> buf;
  ASSERT_EQ(b->receive(buf, 0ns), f.size());
  EXPECT_EQ(0, std::memcmp(buf.data(), f.data(), f.size()));
  EXPECT_EQ(a->receive(buf, 0ns), 0u) << "sender must not hear itself";
  auto g = frame(8, 100);
  ASSERT_TRUE(b->transmit(g, 0ns));
  ASSERT_EQ(a->receive(buf, 0ns), g.size());
  EXPECT_EQ(seq_of(buf), 8u);
}

TEST(InProcessLink, OversizeAndShortBufferAreDroppedAndCounted) {
  InProcessOptions o;
  o.mtu = 9000;
  auto [a, b] = InProcessHub::make_pair(o);
  EXPECT_FALSE(a->transmit(frame(1, 9015), 0ns));
  EXPECT_EQ(a->dropped(), 1u);
  ASSERT_TRUE(a->transmit(frame(2, 9014), 0ns));
  std::array<uint8_t, 1000> small;
  EXPECT_EQ(b->receive(small, 0ns), 0u);
  EXPECT_EQ(b->dropped(), 1u);
}

TEST(InProcessLink, JumboMtuUpTo65535) {
  InProcessOptions o;
  o.mtu = 65535;
  o.kind = LinkKind::Ip;
  auto [a, b] = InProcessHub::make_pair(o);
  std::vector<uint8_t> big(65535, 0xab);
  ASSERT_TRUE(a->transmit(big, 0ns));
  std::vector<uint8_t> buf(65535);
  EXPECT_EQ(b->receive(buf, 0ns), 65535u);
  EXPECT_EQ(buf, big);
}

TEST(InProcessLink, LossRateWithinTolerance) {
  InProcessOptions o;
  o.impairments.loss = 0.1;
  auto hub = InProcessHub::create(o, std::make_shared<SplitMix64>(42));
  auto a = hub->add_port();
  auto b = hub->add_port();
  constexpr int N = 20000;
  size_t got = 0;
  for (int i = 0; i < N; ++i) {
    ASSERT_TRUE(a->transmit(frame(i), Instant(i)));
    got += drain(*b, Instant(i)).size();
  }
  auto st = hub->stats();
  EXPECT_EQ(st.sent, uint64_t(N));
  EXPECT_EQ(st.lost + got, uint64_t(N));
  // Binomial(20000, 0.1): sigma ~ 42; accept +-5 sigma.
  EXPECT_GT(st.lost, 1790u);
  EXPECT_LT(st.lost, 2210u);
}

TEST(InProcessLink, SameSeedSamePattern) {
  auto run = [](uint64_t seed) {
    InProcessOptions o;
    o.impairments.loss = 0.3;
    auto [a, b] = InProcessHub::make_pair(o, std::make_shared<SplitMix64>(seed));
    for (int i = 0; i < 200; ++i) a->transmit(frame(i), 0ns);
    return drain(*b, 0ns);
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(InProcessLink, DelayRespectedOnManualClock) {
  InProcessOptions o;
  o.impairments.delay = 10ms;
  auto [a, b] = InProcessHub::make_pair(o);
  EXPECT_EQ(b->next_rx_time(), kNever);
  Instant t0 = 1s;
  ASSERT_TRUE(a->transmit(frame(1), t0));
  ASSERT_TRUE(a->transmit(frame(2), t0 + 3ms));
  EXPECT_EQ(b->next_rx_time(), t0 + 10ms);
  EXPECT_TRUE(drain(*b, t0 + 10ms - 1ns).empty());
  EXPECT_EQ(drain(*b, t0 + 10ms), std::vector<uint32_t>{1});
  EXPECT_EQ(b->next_rx_time(), t0 + 13ms);
  EXPECT_TRUE(drain(*b, t0 + 12ms).empty());
  EXPECT_EQ(drain(*b, t0 + 13ms), std::vector<uint32_t>{2});
  EXPECT_EQ(b->next_rx_time(), kNever);
}

TEST(InProcessLink, JitterStaysWithinBound) {
  InProcessOptions o;
  o.impairments.delay = 5ms;
  o.impairments.jitter = 2ms;
  auto [a, b] = InProcessHub::make_pair(o, std::make_shared<SplitMix64>(1));
  for (int i = 0; i < 500; ++i) a->transmit(frame(i), 0ns);
  EXPECT_GE(b->next_rx_time(), Instant(5ms));
  EXPECT_TRUE(drain(*b, 5ms - 1ns).empty());
  auto early = drain(*b, 6ms);
  EXPECT_GT(early.size(), 100u);
  EXPECT_LT(early.size(), 400u);
  EXPECT_EQ(early.size() + drain(*b, 7ms).size(), 500u);
}

TEST(InProcessLink, DuplicationRate) {
  InProcessOptions o;
  o.impairments.duplicate = 0.2;
  auto hub = InProcessHub::create(o, std::make_shared<SplitMix64>(9));
  auto a = hub->add_port();
  auto b = hub->add_port();
  constexpr int N = 10000;
  std::vector<int> count(N, 0);
  for (int i = 0; i < N; ++i) {
    a->transmit(frame(i), 0ns);
    for (uint32_t s : drain(*b, 0ns)) count.at(s)++;
  }
  int dups = 0;
  for (int c : count) {
    ASSERT_GE(c, 1);
    ASSERT_LE(c, 2);
    dups += c - 1;
  }
  EXPECT_EQ(uint64_t(dups), hub->stats().duplicated);
  EXPECT_GT(dups, 1800);  // 0.2 * 10000 = 2000, sigma 40
  EXPECT_LT(dups, 2200);
}

TEST(InProcessLink, ReorderingProducesInversions) {
  InProcessOptions o;
  o.impairments.reorder = 0.25;
  o.impairments.reorder_delay = 1ms;
  auto hub = InProcessHub::create(o, std::make_shared<SplitMix64>(3));
  auto a = hub->add_port();
  auto b = hub->add_port();
  constexpr int N = 4000;
  std::vector<uint32_t> got;
  // One frame every 100 us: a held-back frame is overtaken by ~10 later ones.
  for (int i = 0; i < N; ++i) {
    Instant now = Instant(i * 100us);
    a->transmit(frame(i), now);
    auto d = drain(*b, now);
    got.insert(got.end(), d.begin(), d.end());
  }
  auto rest = drain(*b, Instant(N * 100us + 2ms));
  got.insert(got.end(), rest.begin(), rest.end());
  ASSERT_EQ(got.size(), size_t(N)) << "reordering must not lose frames";
  size_t late = 0;
  uint32_t max_seen = 0;
  for (uint32_t s : got) {
    if (s < max_seen) ++late;
    max_seen = std::max(max_seen, s);
  }
  auto st = hub->stats();
  EXPECT_GT(st.reordered, 850u);
  EXPECT_LT(st.reordered, 1150u);
  EXPECT_EQ(late, st.reordered) << "every held-back frame arrives after a later one";
  std::sort(got.begin(), got.end());
  for (int i = 0; i < N; ++i) ASSERT_EQ(got[i], uint32_t(i));
}

TEST(InProcessLink, RateCapSerialisesFrames) {
  InProcessOptions o;
  o.impairments.rate_bps = 12'000'000;  // 1514 bytes -> 1009.33 us
  o.impairments.delay = 1ms;
  auto [a, b] = InProcessHub::make_pair(o);
  for (int i = 0; i < 10; ++i) a->transmit(frame(i, 1500), 0ns);  // 1500*8/12e6 = 1 ms
  EXPECT_EQ(b->next_rx_time(), Instant(2ms));
  EXPECT_EQ(drain(*b, 5ms).size(), 4u);   // ready at 2,3,4,5 ms
  EXPECT_EQ(drain(*b, 11ms).size(), 6u);  // the tenth at 11 ms
}

TEST(InProcessLink, BoundedQueueCountsDrops) {
  InProcessOptions o;
  o.queue_limit = 8;
  auto hub = InProcessHub::create(o);
  auto a = hub->add_port();
  auto b = hub->add_port();
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(a->transmit(frame(i), 0ns));
  EXPECT_EQ(b->dropped(), 12u);
  EXPECT_EQ(hub->stats().queue_drops, 12u);
  auto got = drain(*b, 0ns);
  ASSERT_EQ(got.size(), 8u);
  for (uint32_t i = 0; i < 8; ++i) EXPECT_EQ(got[i], i);
}

TEST(InProcessLink, NotifyCalledOnQueue) {
  auto [a, b] = InProcessHub::make_pair();
  int calls = 0;
  b->set_rx_notify([&] { ++calls; });
  a->transmit(frame(1), 0ns);
  a->transmit(frame(2), 0ns);
  EXPECT_EQ(calls, 2);
  b->transmit(frame(3), 0ns);
  EXPECT_EQ(calls, 2);
}

TEST(InProcessLink, RandomImpairmentWithoutRandomIsRejected) {
  InProcessOptions o;
  o.impairments.loss = 0.5;
  EXPECT_THROW(InProcessHub::create(o), std::invalid_argument);
  o.impairments.loss = 1.5;
  EXPECT_THROW(InProcessHub::create(o, std::make_shared<SplitMix64>(1)), std::invalid_argument);
}

TEST(InProcessLink, HubFloodsAndSwitchLearns) {
  for (bool learning : {false, true}) {
    InProcessOptions o;
    o.learning_switch = learning;
    auto hub = InProcessHub::create(o);
    auto p1 = hub->add_port();
    auto p2 = hub->add_port();
    auto p3 = hub->add_port();
    // p2 announces MAC ..:02 with a broadcast; everyone hears it.
    p2->transmit(frame(100, 64, 0xff, 0x02), 0ns);
    EXPECT_EQ(drain(*p1, 0ns).size(), 1u);
    EXPECT_EQ(drain(*p3, 0ns).size(), 1u);
    // p1 -> unicast to ..:02.
    p1->transmit(frame(101, 64, 0x02, 0x01), 0ns);
    EXPECT_EQ(drain(*p2, 0ns).size(), 1u);
    EXPECT_EQ(drain(*p3, 0ns).size(), learning ? 0u : 1u) << "learning=" << learning;
    // unknown unicast floods in both modes
    p1->transmit(frame(102, 64, 0x09, 0x01), 0ns);
    EXPECT_EQ(drain(*p2, 0ns).size(), 1u);
    EXPECT_EQ(drain(*p3, 0ns).size(), 1u);
  }
}

TEST(InProcessLink, DetachedPortStopsReceiving) {
  auto hub = InProcessHub::create({});
  auto a = hub->add_port();
  auto b = hub->add_port();
  auto c = hub->add_port();
  b.reset();
  a->transmit(frame(1), 0ns);
  EXPECT_EQ(drain(*c, 0ns).size(), 1u);
  EXPECT_EQ(hub->stats().queue_drops, 0u);
}

TEST(InProcessLink, PortsOnTwoThreads) {
  InProcessOptions o;
  o.queue_limit = 100000;
  auto [a, b] = InProcessHub::make_pair(o);
  constexpr int N = 5000;
  auto sender = [](Link* l) {
    for (int i = 0; i < N; ++i) l->transmit(frame(i), 0ns);
  };
  std::thread ta(sender, a.get()), tb(sender, b.get());
  ta.join();
  tb.join();
  EXPECT_EQ(drain(*a, 0ns).size(), size_t(N));
  auto got = drain(*b, 0ns);
  ASSERT_EQ(got.size(), size_t(N));
  for (int i = 0; i < N; ++i) ASSERT_EQ(got[i], uint32_t(i)) << "per-sender order kept";
}

}  // namespace

namespace {

// receive_swap hands big frames over by exchanging buffers (no copy) and copies small ones;
// either way the caller sees exactly the bytes sent, in order, and nothing is lost when
// the caller's buffer is smaller than a frame.
TEST(InProcessHubSwap, BigAndSmallFramesArriveIntactInOrder) {
  InProcessOptions o;
  o.mtu = 9000;
  auto [a, b] = InProcessHub::make_pair(o);
  std::vector<std::vector<uint8_t>> sent;
  for (uint32_t k = 0; k < 40; ++k) {
    auto f = frame(k, k % 3 == 0 ? 60 : 2000 + 150 * k);
    for (size_t j = 18; j < f.size(); ++j) f[j] = uint8_t(j * 7 + k);
    ASSERT_TRUE(a->transmit(f, Instant{0}));
    sent.push_back(std::move(f));
  }
  std::vector<uint8_t> buf(o.mtu + 64);
  const uint8_t* original = buf.data();
  bool swapped = false;
  for (size_t k = 0; k < sent.size(); ++k) {
    size_t n = b->receive_swap(buf, Instant{0});
    ASSERT_EQ(n, sent[k].size()) << k;
    ASSERT_GE(buf.size(), n);
    EXPECT_TRUE(std::equal(sent[k].begin(), sent[k].end(), buf.begin())) << k;
    swapped |= buf.data() != original;
  }
  EXPECT_TRUE(swapped) << "big frames should be handed over, not copied";
  EXPECT_EQ(b->receive_swap(buf, Instant{0}), 0u);
  // The buffers go round: a second batch reuses them and still arrives intact.
  for (uint32_t k = 0; k < 10; ++k) ASSERT_TRUE(a->transmit(frame(100 + k, 5000), Instant{0}));
  std::vector<uint8_t> small(1000);  // too small for these frames: dropped and counted
  EXPECT_EQ(b->receive_swap(small, Instant{0}), 0u);
  EXPECT_EQ(b->dropped(), 10u);
  for (uint32_t k = 0; k < 10; ++k) ASSERT_TRUE(a->transmit(frame(200 + k, 5000), Instant{0}));
  for (uint32_t k = 0; k < 10; ++k) {
    ASSERT_EQ(b->receive_swap(buf, Instant{0}), 5000u);
    EXPECT_EQ(seq_of(buf), 200 + k);
  }
}

}  // namespace
