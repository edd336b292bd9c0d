// Data transfer: lossy bulk transfers, SACK recovery, congestion control evolution,
// option negotiation, window updates, out-of-order bound, SYN flood, RST/ACK storms.
#include <cstdlib>

#include "tcp_harness.h"

namespace tcptest {
namespace {

namespace tf = wire::tcpflag;

struct LossyCase {
  CongestionControl cc;
  bool sack;
};

class TcpLossy : public ::testing::TestWithParam<LossyCase> {};

TEST_P(TcpLossy, OneMegabyteWithLossReorderDuplication) {
  const char* env = std::getenv("TCP_TEST_SEED");  // for local soak runs
  Net net(env ? std::strtoull(env, nullptr, 10) : 42);
  TcpTuning tun;
  tun.congestion_control = GetParam().cc;
  tun.sack = GetParam().sack;
  auto& a = net.add(kA, tun);
  auto& b = net.add(kB, tun);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  const char* loss = std::getenv("TCP_TEST_LOSS");  // for local soak runs
  net.imp.loss = loss ? std::strtod(loss, nullptr) : 0.05;
  net.imp.reorder = 0.05;
  net.imp.dup = 0.05;
  auto data = pattern(1 << 20);
  auto got = transfer(net, p.client, p.server, data, 600s, true);
  ASSERT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
  ASSERT_TRUE(net.run_until([&] { return p.server.recv(std::span<uint8_t>()) == 0 &&
                                          p.server.state() == TcpState::CloseWait; }, 60s));
  auto ci = p.client.info();
  EXPECT_EQ(ci.sack, GetParam().sack);
  EXPECT_GT(ci.retransmits, 0u);
  EXPECT_GT(a.counters().fast_retransmits, 0u);
  EXPECT_GT(p.server.info().ooo_segments, 0u);
  EXPECT_EQ(a.counters().drop_bad_checksum + b.counters().drop_bad_checksum, 0u);
  EXPECT_EQ(b.counters().rcv_trimmed, 0u);  // never advertised more than the buffer holds
}

INSTANTIATE_TEST_SUITE_P(Cc, TcpLossy,
                         ::testing::Values(LossyCase{CongestionControl::NewReno, true},
                                           LossyCase{CongestionControl::Cubic, true},
                                           LossyCase{CongestionControl::NewReno, false}),
                         [](const auto& i) {
                           return std::string(i.param.cc == CongestionControl::Cubic ? "Cubic" : "NewReno") +
                                  (i.param.sack ? "Sack" : "NoSack");
                         });

// Drops a train of consecutive data segments once; SACK recovery repairs them without a
// retransmission timeout.
// Initial sequence numbers just below 2^32: every comparison must be modular.
// ISNs are M + F(4-tuple) (RFC 6528, M = clock / 4 us): starting the manual clock at the
// right time puts one end's ISN just below 2^32, so its data crosses the wrap.
Instant clock_for_isn(uint32_t want, uint32_t f) {
  uint32_t m = want - f;  // modulo 2^32
  // Plus one whole cycle of M (2^32 ticks), to stay after the harness's starting time.
  return Instant(std::chrono::nanoseconds((uint64_t(m) + (uint64_t(1) << 32)) * 4000u));
}

TEST(TcpTransfer, SequenceNumbersWrapAround) {
  for (int side = 0; side < 2; ++side) {  // 0: the client's ISN wraps, 1: the server's
    SCOPED_TRACE(side ? "server ISN near the wrap" : "client ISN near the wrap");
    Net net(11);
    auto& a = net.add(kA);
    auto& b = net.add(kB);
    Endpoint ca{kA, 40000}, sb{kB, 80};
    uint32_t f = side ? b.isn_offset(sb, ca) : a.isn_offset(ca, sb);
    uint32_t want = side ? 0xffffffffu - 5000 : 0xffffffffu - 100000;
    // Whole 4-us ticks: M is truncated, and both steps of the clock agree on it.
    net.now = clock_for_isn(want, f);
    a.poll(net.now);
    b.poll(net.now);
    Pair p;
    p.listener = b.socket();
    ASSERT_EQ(p.listener.bind(sb), 0);
    ASSERT_EQ(p.listener.listen(16), 0);
    p.client = a.socket();
    ASSERT_EQ(p.client.bind(ca), 0);
    ASSERT_EQ(p.client.connect(sb), -EINPROGRESS);
    ASSERT_TRUE(net.run_until([&] {
      if (!p.server.valid()) p.listener.accept(&p.server);
      return p.server.valid() && p.client.state() == TcpState::Established;
    }, 10s));
    // The wrap really happens: the chosen end's first sequence number is near 2^32.
    uint32_t first = 0;
    for (auto& pk : net.sent_from(side ? kB : kA))
      if (pk.hdr().flags & tf::SYN) first = pk.hdr().seq;
    EXPECT_GT(first, 0xffffffffu - 200000) << "ISN " << first;
    net.imp.loss = 0.03;
    net.imp.reorder = 0.03;
    auto data = pattern(400000);
    EXPECT_TRUE(transfer(net, p.client, p.server, data, 120s) == data);
    auto back = pattern(300000, 9);
    EXPECT_TRUE(transfer(net, p.server, p.client, back, 120s) == back);
  }
}

TEST(TcpTransfer, SackRecoversDroppedTrainWithoutRto) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  auto warm = transfer(net, p.client, p.server, pattern(200000, 1), 30s);
  ASSERT_EQ(warm.size(), 200000u);
  int seen = 0;
  std::set<uint32_t> dropped;
  net.drop = [&](const Packet& pk) {
    if (pk.src != kA || pk.payload_len() == 0) return false;
    uint32_t seq = pk.hdr().seq;
    ++seen;
    if (seen >= 10 && seen < 16 && !dropped.count(seq)) {
      dropped.insert(seq);
      return true;
    }
    return false;
  };
  uint64_t rto0 = a.counters().rto_expiries;
  auto data = pattern(300000, 2);
  auto got = transfer(net, p.client, p.server, data, 30s);
  EXPECT_TRUE(got == data);
  for (size_t i = 0; i < std::min(got.size(), data.size()); ++i)
    if (got[i] != data[i]) { ADD_FAILURE() << "first mismatch at " << i << " of " << got.size(); break; }
  EXPECT_EQ(dropped.size(), 6u);
  EXPECT_EQ(a.counters().rto_expiries, rto0);
  EXPECT_GE(a.counters().fast_retransmits, 1u);
  EXPECT_GE(p.client.info().retransmits, 6u);
  EXPECT_LE(p.client.info().retransmits, 12u);
  EXPECT_GE(p.server.info().ooo_segments, 1u);
}

TEST(TcpTransfer, NewRenoSlowStartAndHalving) {
  Net net;
  TcpTuning tun;
  tun.congestion_control = CongestionControl::NewReno;
  auto& a = net.add(kA, tun);
  auto& b = net.add(kB, tun);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  uint32_t mss = p.client.info().mss;
  EXPECT_EQ(p.client.info().cwnd, 10 * mss);
  transfer(net, p.client, p.server, pattern(100000), 10s);
  uint32_t grown = p.client.info().cwnd;
  EXPECT_GT(grown, 20 * mss);  // slow start grew it
  // One loss: ssthresh becomes about half the flight, cwnd follows (RFC 5681 eq. 4).
  bool once = false;
  net.drop = [&](const Packet& pk) {
    if (!once && pk.src == kA && pk.payload_len() > 0) return once = true;
    return false;
  };
  uint32_t cwnd_before = p.client.info().cwnd;
  p.client.send(pattern(30 * mss));
  ASSERT_TRUE(net.run_until([&] { return p.client.info().recoveries == 1 &&
                                         p.client.send_queue() == 0; }, 10s));
  auto i = p.client.info();
  EXPECT_LE(i.ssthresh, cwnd_before / 2 + mss);
  EXPECT_GE(i.ssthresh, 2 * mss);
  EXPECT_LE(i.cwnd, i.ssthresh + 3 * mss);
}

TEST(TcpTransfer, CubicReducesByBetaAndRegrows) {
  Net net;
  TcpTuning tun;
  tun.congestion_control = CongestionControl::Cubic;
  auto& a = net.add(kA, tun);
  auto& b = net.add(kB, tun);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  EXPECT_EQ(p.client.info().congestion_control, CongestionControl::Cubic);
  transfer(net, p.client, p.server, pattern(300000), 10s);
  bool once = false;
  net.drop = [&](const Packet& pk) {
    if (!once && pk.src == kA && pk.payload_len() > 0) return once = true;
    return false;
  };
  uint32_t before = p.client.info().cwnd;
  p.client.send(pattern(60000));
  ASSERT_TRUE(net.run_until([&] { return p.client.info().recoveries == 1; }, 10s));
  uint32_t ss = p.client.info().ssthresh;
  std::vector<uint8_t> sink(65536);
  ASSERT_TRUE(net.run_until([&] {
    while (p.server.recv(sink) > 0) {
    }
    return p.client.send_queue() == 0 && p.server.bytes_readable() == 0;
  }, 10s));
  EXPECT_NEAR(double(ss), 0.7 * before, 0.05 * before);  // RFC 9438 beta_cubic = 0.7
  // Keep sending without loss: cwnd climbs back towards (and past) W_max.
  uint32_t after_loss = ss;
  std::vector<uint8_t> chunk = pattern(2000000, 3);
  auto got = transfer(net, p.client, p.server, chunk, 60s);
  EXPECT_EQ(got.size(), chunk.size());
  EXPECT_GT(p.client.info().cwnd, after_loss);
}

TEST(TcpTransfer, PerSocketCongestionControl) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  auto l = b.socket();
  l.bind(Endpoint{kB, 80});
  l.listen(4);
  auto c = a.socket();
  ASSERT_EQ(c.set_congestion_control(CongestionControl::Cubic), 0);
  c.connect(Endpoint{kB, 80});
  TcpSocket s;
  ASSERT_TRUE(net.run_until([&] { return l.accept(&s) == 0; }));
  EXPECT_EQ(c.info().congestion_control, CongestionControl::Cubic);
  EXPECT_EQ(s.info().congestion_control, CongestionControl::NewReno);
}

TEST(TcpTransfer, OptionNegotiationOnOff) {
  for (int mode = 0; mode < 4; ++mode) {
    Net net;
    TcpTuning ta, tb;
    ta.recv_buffer = tb.recv_buffer = 1 << 20;
    if (mode == 1) tb.timestamps = false;
    if (mode == 2) ta.window_scaling = false;
    if (mode == 3) tb.sack = false;
    auto& a = net.add(kA, ta);
    auto& b = net.add(kB, tb);
    Pair p;
    ASSERT_TRUE(connect_pair(net, a, b, p));
    auto ci = p.client.info(), si = p.server.info();
    EXPECT_EQ(ci.timestamps, mode != 1) << mode;
    EXPECT_EQ(si.timestamps, mode != 1) << mode;
    EXPECT_EQ(ci.wscale, mode != 2) << mode;
    EXPECT_EQ(si.wscale, mode != 2) << mode;
    EXPECT_EQ(ci.sack, mode != 3) << mode;
    EXPECT_EQ(si.sack, mode != 3) << mode;
    if (mode == 2) {
      EXPECT_EQ(ci.rcv_wscale, 0);
      EXPECT_EQ(si.rcv_wscale, 0);
      EXPECT_LE(si.rcv_wnd, 65535u);
    } else {
      EXPECT_EQ(si.rcv_wscale, 5);  // 1 MiB >> 5 fits in 16 bits
      EXPECT_EQ(ci.snd_wscale, 5);
    }
    auto data = pattern(500000);
    EXPECT_TRUE(transfer(net, p.client, p.server, data, 30s) == data) << mode;
    EXPECT_TRUE(transfer(net, p.server, p.client, data, 30s) == data) << mode;
    EXPECT_EQ(a.counters().rcv_trimmed + b.counters().rcv_trimmed, 0u) << mode;
    if (mode != 2) {
      EXPECT_GT(p.client.info().snd_wnd, 65535u) << mode;
    }
    EXPECT_EQ(p.client.info().mss, 1460u - (mode != 1 ? 12 : 0)) << mode;
  }
}

TEST(TcpTransfer, PawsRejectsOldTimestamp) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  p.client.send(std::vector<uint8_t>{1, 2});
  ASSERT_TRUE(net.run_until([&] { return p.server.bytes_readable() == 2; }));
  // Replay the client's data segment with an old timestamp and new seq.
  Packet last;
  for (auto& pk : net.sent_from(kA))
    if (pk.payload_len() == 2) last = pk;
  auto h = last.hdr();
  h.seq += 2;
  h.opt.ts_val -= 1000;
  std::vector<uint8_t> pl = {3, 4};
  net.inject(kA, kB, h, pl);
  EXPECT_EQ(b.counters().drop_paws, 1u);
  EXPECT_EQ(p.server.bytes_readable(), 2u);
}

TEST(TcpTransfer, MssFollowsPathMtu) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  net.host(kA).mtu = 9000;
  net.host(kB).mtu = 1280;
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  EXPECT_EQ(p.client.info().mss, 1280u - 40 - 12);  // peer's MSS option
  EXPECT_EQ(p.server.info().mss, 1280u - 40 - 12);  // own path MTU
  // The path MTU drops later: new segments use the smaller MSS.
  net.host(kA).mtu = 1000;
  auto data = pattern(20000);
  EXPECT_TRUE(transfer(net, p.client, p.server, data) == data);
  for (auto& pk : net.sent_from(kA)) EXPECT_LE(pk.bytes.size(), 1000u - 20);
}

TEST(TcpTransfer, JumboMtuBulk) {
  Net net;
  TcpTuning tun;
  tun.send_buffer = tun.recv_buffer = 4 << 20;
  auto& a = net.add(kA, tun);
  auto& b = net.add(kB, tun);
  net.host(kA).mtu = net.host(kB).mtu = 65535;
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  EXPECT_EQ(p.client.info().mss, 65535u - 40 - 12);
  auto data = pattern(8 << 20);
  EXPECT_TRUE(transfer(net, p.client, p.server, data, 60s) == data);
}

TEST(TcpTransfer, WindowUpdateAfterReaderDrains) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  p.listener = b.socket();
  p.listener.bind(Endpoint{kB, 80});
  p.listener.set_recv_buffer(16384);
  p.listener.listen(4);
  p.client = a.socket();
  p.client.connect(Endpoint{kB, 80});
  ASSERT_TRUE(net.run_until([&] { return p.listener.accept(&p.server) == 0; }));
  p.client.send(pattern(40000));
  net.run_for(500ms);
  EXPECT_EQ(p.server.bytes_readable(), 16384u);
  EXPECT_EQ(p.client.info().snd_wnd, 0u);
  uint64_t wu = b.counters().window_updates;
  std::vector<uint8_t> buf(16384);
  EXPECT_EQ(p.server.recv(buf), 16384);
  EXPECT_EQ(b.counters().window_updates, wu + 1);  // sent at once, not at the next probe
  net.run_for(10ms);
  EXPECT_GT(p.client.info().snd_wnd, 0u);
  EXPECT_GT(p.server.bytes_readable(), 0u);
}

TEST(TcpTransfer, ReceiverSackBlocksMostRecentFirst) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  net.run_for(100ms);
  Packet last;
  for (auto& pk : net.sent_from(kA)) last = pk;
  auto h = last.hdr();
  uint32_t base = h.seq;
  h.flags = tf::ACK;
  std::vector<uint8_t> ten(10, 0x33);
  size_t before = net.sent.size();
  for (uint32_t off : {100u, 300u, 200u, 110u}) {  // the last one extends [100,110)
    h.seq = base + off;
    net.inject(kA, kB, h, ten);
  }
  auto acks = net.sent_from(kB, before);
  ASSERT_EQ(acks.size(), 4u);  // out-of-order data is ACKed at once
  auto first = acks[0].hdr();
  ASSERT_EQ(first.opt.sack_count, 1);
  EXPECT_EQ(first.opt.sack[0], (wire::TcpSackBlock{base + 100, base + 110}));
  auto third = acks[2].hdr();
  ASSERT_EQ(third.opt.sack_count, 3);
  EXPECT_EQ(third.opt.sack[0], (wire::TcpSackBlock{base + 200, base + 210}));  // most recent
  auto fourth = acks[3].hdr();
  ASSERT_EQ(fourth.opt.sack_count, 3);
  EXPECT_EQ(fourth.opt.sack[0], (wire::TcpSackBlock{base + 100, base + 120}));  // merged
  for (auto& pk : acks) EXPECT_EQ(pk.hdr().ack, base);
}

TEST(TcpTransfer, OutOfOrderQueueIsBounded) {
  Net net;
  TcpTuning tun;
  tun.ooo_max_ranges = 8;
  auto& a = net.add(kA, tun);
  auto& b = net.add(kB, tun);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  net.run_for(100ms);
  Packet last;
  for (auto& pk : net.sent_from(kA)) last = pk;
  auto h = last.hdr();
  uint32_t base = h.seq;
  std::vector<uint8_t> one = {0x55};
  // 50 one-byte segments with gaps between them: only 8 ranges are kept.
  for (int i = 0; i < 50; ++i) {
    h.seq = base + 2 + uint32_t(i) * 2;
    h.flags = tf::ACK;
    net.inject(kA, kB, h, one);
  }
  EXPECT_EQ(b.counters().drop_ooo_full, 42u);
  EXPECT_EQ(p.server.info().ooo_segments, 8u);
  EXPECT_EQ(p.server.bytes_readable(), 0u);
  // Fill the first hole: data up to the first gap becomes readable.
  h.seq = base;
  std::vector<uint8_t> two = {0x11, 0x22};
  net.inject(kA, kB, h, two);
  EXPECT_EQ(p.server.bytes_readable(), 3u);
}

class TcpSynFlood : public ::testing::TestWithParam<bool> {};

// A SYN flood from spoofed sources: the half-open queue stays bounded and a legitimate
// client still connects, with SYN cookies (param true) or oldest-first eviction (false).
TEST_P(TcpSynFlood, BoundedAndLegitimateConnectSucceeds) {
  bool cookies = GetParam();
  Net net(9);
  TcpTuning tun;
  tun.syn_backlog = 64;
  tun.syn_cookies = cookies;
  auto& a = net.add(kA, tun);
  auto& b = net.add(kB, tun);
  auto l = b.socket();
  ASSERT_EQ(l.bind(Endpoint{kB, 80}), 0);
  ASSERT_EQ(l.listen(128), 0);
  SplitMix64 rng(5);
  auto flood = [&](int n) {
    for (int i = 0; i < n; ++i) {
      wire::TcpHeader s;
      s.src_port = uint16_t(1024 + rng.below(60000));
      s.dst_port = 80;
      s.seq = rng.next_u32();
      s.flags = tf::SYN;
      s.window = 1000;
      s.opt.has_mss = true;
      s.opt.mss = 1460;
      IpAddr spoofed = v4(172, 16, uint8_t(rng.below(256)), uint8_t(1 + rng.below(250)));
      net.inject(spoofed, kB, s);
    }
  };
  flood(5000);
  EXPECT_LE(b.half_open_count(l.id()), 64u);
  if (cookies) {
    EXPECT_EQ(b.counters().syn_cookies_sent, 5000u - 64u);
    EXPECT_EQ(b.counters().syn_evicted, 0u);
  } else {
    EXPECT_GE(b.counters().syn_evicted, 5000u - 64u);
  }
  EXPECT_LE(b.tcb_count(), 64u + 2u);
  // A legitimate client connects while the flood continues (heavier with cookies: every
  // half-open slot is taken all the time).
  auto c = a.socket();
  ASSERT_EQ(c.connect(Endpoint{kB, 80}), -EINPROGRESS);
  TcpSocket s;
  ASSERT_TRUE(net.run_until([&] {
    flood(cookies ? 200 : 10);
    return l.accept(&s) == 0;
  }, 10s));
  EXPECT_EQ(c.state(), TcpState::Established);
  EXPECT_EQ(s.remote_endpoint(), c.local_endpoint());
  EXPECT_LE(b.half_open_count(l.id()), 64u);
  if (cookies) {
    EXPECT_EQ(b.counters().syn_cookies_accepted, 1u);
    // Options survived through the timestamp bits.
    EXPECT_TRUE(s.info().sack);
    EXPECT_TRUE(s.info().wscale);
    EXPECT_TRUE(s.info().timestamps);
    EXPECT_EQ(s.info().mss, 1460u - 12);
  }
  auto data = pattern(300000);
  EXPECT_TRUE(transfer(net, c, s, data, 30s) == data);
  auto back = pattern(300000, 4);
  EXPECT_TRUE(transfer(net, s, c, back, 30s) == back);
  // Half-open entries expire: the table drains after the SYN,ACK retries.
  net.run_for(300s);
  EXPECT_EQ(b.half_open_count(l.id()), 0u);
}

INSTANTIATE_TEST_SUITE_P(Mode, TcpSynFlood, ::testing::Values(true, false),
                         [](const auto& i) { return std::string(i.param ? "Cookies" : "Eviction"); });

TEST(TcpTransfer, SynCookieWithoutTimestampsAndForgedAck) {
  Net net(3);
  TcpTuning tun;
  tun.syn_backlog = 1;
  tun.timestamps = false;
  auto& a = net.add(kA, tun);
  auto& b = net.add(kB, tun);
  auto l = b.socket();
  l.bind(Endpoint{kB, 80});
  l.listen(8);
  // Occupy the only half-open slot with a spoofed SYN.
  wire::TcpHeader s;
  s.src_port = 999;
  s.dst_port = 80;
  s.seq = 1;
  s.flags = tf::SYN;
  s.window = 100;
  net.inject(v4(172, 16, 0, 1), kB, s);
  auto c = a.socket();
  c.connect(Endpoint{kB, 80});
  TcpSocket srv;
  ASSERT_TRUE(net.run_until([&] { return l.accept(&srv) == 0; }, 5s));
  EXPECT_EQ(b.counters().syn_cookies_accepted, 1u);
  EXPECT_FALSE(srv.info().sack);    // not encodable without timestamps
  EXPECT_FALSE(srv.info().wscale);
  EXPECT_EQ(srv.info().mss, 1460u);
  auto data = pattern(100000);
  EXPECT_TRUE(transfer(net, c, srv, data, 30s) == data);
  // A forged ACK (wrong cookie) gets a RST and creates nothing.
  uint64_t rst = b.counters().drop_listen_ack_rst_sent;
  wire::TcpHeader f;
  f.src_port = 5555;
  f.dst_port = 80;
  f.seq = 100;
  f.ack = 0x12345678;
  f.flags = tf::ACK;
  f.window = 100;
  net.inject(kA, kB, f);
  EXPECT_EQ(b.counters().drop_listen_ack_rst_sent, rst + 1);
  EXPECT_EQ(b.counters().syn_cookies_accepted, 1u);
}

TEST(TcpTransfer, RstAndAckStormsCountedConnectionSurvives) {
  Net net;
  TcpTuning tun;
  tun.challenge_ack_limit = 10;
  auto& a = net.add(kA, tun);
  auto& b = net.add(kB, tun);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  net.run_for(100ms);
  SplitMix64 rng(3);
  uint16_t cport = p.client.local_endpoint().port;
  uint64_t in_window = 0;
  for (int i = 0; i < 2000; ++i) {
    wire::TcpHeader h;
    h.src_port = cport;
    h.dst_port = 80;
    h.seq = rng.next_u32();
    h.flags = (i % 2) ? tf::RST : uint8_t(tf::RST | tf::ACK);
    h.ack = rng.next_u32();
    net.inject(kA, kB, h);
  }
  in_window = b.counters().drop_rst_challenged;
  EXPECT_EQ(b.counters().drop_rst_out_of_window + in_window, 2000u);
  EXPECT_EQ(p.server.state(), TcpState::Established);
  EXPECT_LE(b.counters().challenge_acks_sent, 10u);
  EXPECT_EQ(b.counters().challenge_acks_sent + b.counters().challenge_acks_suppressed, in_window);
  // An ACK storm against the listener: each answered with a RST and counted.
  for (int i = 0; i < 500; ++i) {
    wire::TcpHeader h;
    h.src_port = uint16_t(2000 + i);
    h.dst_port = 80;
    h.seq = rng.next_u32();
    h.ack = rng.next_u32();
    h.flags = tf::ACK;
    net.inject(kA, kB, h);
  }
  EXPECT_EQ(b.counters().drop_listen_ack_rst_sent, 500u);
  // Data still flows.
  auto data = pattern(10000);
  EXPECT_TRUE(transfer(net, p.client, p.server, data) == data);
}

TEST(TcpTransfer, ReadinessCallbacks) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  auto l = b.socket();
  l.bind(Endpoint{kB, 80});
  l.listen(4);
  std::vector<uint32_t> lev, cev;
  l.set_callback([&](uint32_t e) { lev.push_back(e); });
  auto c = a.socket();
  c.set_callback([&](uint32_t e) { cev.push_back(e); });
  c.connect(Endpoint{kB, 80});
  TcpSocket s;
  ASSERT_TRUE(net.run_until([&] { return !lev.empty() && (lev.back() & kTcpReadable); }));
  ASSERT_EQ(l.accept(&s), 0);
  EXPECT_EQ(lev.back() & kTcpReadable, 0u);
  ASSERT_FALSE(cev.empty());
  EXPECT_TRUE(cev.back() & kTcpWritable);
  std::vector<uint32_t> sev;
  s.set_callback([&](uint32_t e) { sev.push_back(e); });
  c.send(std::vector<uint8_t>{1});
  ASSERT_TRUE(net.run_until([&] { return !sev.empty() && (sev.back() & kTcpReadable); }));
  c.shutdown(kTcpShutWr);
  ASSERT_TRUE(net.run_until([&] { return sev.back() & kTcpRdHup; }));
  // A callback that closes its own socket is safe.
  auto c2 = a.socket();
  c2.connect(Endpoint{kB, 80});
  TcpSocket s2;
  ASSERT_TRUE(net.run_until([&] { return l.accept(&s2) == 0; }));
  int calls = 0;
  s2.set_callback([&](uint32_t) { ++calls; s2.close(); });
  EXPECT_EQ(calls, 0);  // not called at registration
  c2.close();
  net.run_for(1s);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(s2.valid());
}

}  // namespace
}  // namespace tcptest
