// Timers: RTO with backoff, delayed ACK, persist (zero-window probes), keepalive,
// SYN retries -> ETIMEDOUT, orphaned FIN-WAIT-2.
#include "tcp_harness.h"

namespace tcptest {
namespace {

namespace tf = wire::tcpflag;

TEST(TcpTimer, RtoBacksOffAndGivesUp) {
  Net net;
  TcpTuning tun;
  tun.data_retries = 4;
  auto& a = net.add(kA, tun);
  auto& b = net.add(kB, tun);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  net.run_for(1s);
  net.drop = [](const Packet& pk) { return pk.src == kA; };  // everything from A is lost
  size_t before = net.sent.size();
  ASSERT_EQ(p.client.send(std::vector<uint8_t>(100, 1)), 100);
  ASSERT_TRUE(net.run_until([&] { return p.client.state() == TcpState::Closed; }, 120s));
  EXPECT_EQ(p.client.error(), -ETIMEDOUT);
  std::vector<Instant> times;
  for (auto& pk : net.sent_from(kA, before))
    if (pk.payload_len() == 100) times.push_back(pk.at);
  ASSERT_EQ(times.size(), 5u);  // original + 4 retransmissions
  Duration first = times[1] - times[0];
  EXPECT_GE(first, tun.min_rto);
  EXPECT_LE(first, 1s);
  for (size_t i = 2; i < times.size(); ++i) {
    Duration gap = times[i] - times[i - 1];
    Duration prev = times[i - 1] - times[i - 2];
    EXPECT_EQ(gap, 2 * prev) << i;  // RFC 6298 §5.5 exponential backoff
  }
  EXPECT_EQ(a.counters().rto_expiries, 4u);
  EXPECT_EQ(a.counters().conn_timeouts, 1u);
}

TEST(TcpTimer, KarnNoRttSampleFromRetransmission) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  Duration srtt0 = p.client.info().srtt;
  EXPECT_GT(srtt0, Duration(0));
  EXPECT_LE(srtt0, 5ms);
  bool once = false;
  net.drop = [&](const Packet& pk) {
    if (!once && pk.src == kA && pk.payload_len() > 0) return once = true;
    return false;
  };
  p.client.send(std::vector<uint8_t>(100, 1));
  ASSERT_TRUE(net.run_until([&] { return p.client.send_queue() == 0; }, 10s));
  EXPECT_EQ(p.client.info().rto_expiries, 1u);
  EXPECT_LE(p.client.info().srtt, 5ms);  // the ~200 ms ambiguous sample was not taken
}

TEST(TcpTimer, RtoRecoversAfterLossBurst) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  int lost = 0;
  net.drop = [&](const Packet& pk) { return pk.src == kA && pk.payload_len() > 0 && lost++ < 3; };
  auto data = pattern(3000);
  auto got = transfer(net, p.client, p.server, data, 30s);
  EXPECT_EQ(got, data);
  EXPECT_GE(a.counters().rto_expiries, 1u);
  auto info = p.client.info();
  EXPECT_GE(info.rto, TcpTuning{}.min_rto);
}

TEST(TcpTimer, HostSendFailureIsLossAndRecovers) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  net.host(kA).fail_sends = true;
  auto data = pattern(50000);
  ASSERT_EQ(p.client.send(data), 50000);
  EXPECT_GT(a.counters().send_failed, 0u);
  net.run_for(100ms);
  EXPECT_EQ(p.server.bytes_readable(), 0u);
  net.host(kA).fail_sends = false;
  std::vector<uint8_t> got, buf(65536);
  ASSERT_TRUE(net.run_until([&] {
    for (int64_t n; (n = p.server.recv(buf)) > 0;) got.insert(got.end(), buf.begin(), buf.begin() + n);
    return got.size() == data.size();
  }, 30s));
  EXPECT_TRUE(got == data);
  EXPECT_GE(a.counters().rto_expiries, 1u);
}

TEST(TcpTimer, BufferSizesFixedOnceConnected) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  EXPECT_EQ(p.client.set_send_buffer(1 << 20), -EISCONN);
  EXPECT_EQ(p.client.set_recv_buffer(1 << 20), -EISCONN);
  auto s = a.socket();
  EXPECT_EQ(s.set_send_buffer(4096), 0);
  EXPECT_EQ(s.set_recv_buffer(4096), 0);
  ASSERT_EQ(s.connect(Endpoint{kB, 80}), -EINPROGRESS);
  TcpSocket srv;
  ASSERT_TRUE(net.run_until([&] { return p.listener.accept(&srv) == 0; }));
  EXPECT_EQ(s.send(pattern(10000)), 4096);  // the send ring holds exactly 4096 bytes
  EXPECT_EQ(s.info().rcv_wscale, 0);        // 4 KiB needs no window scaling
  EXPECT_EQ(srv.info().snd_wnd, 4096u);
}

TEST(TcpTimer, DelayedAckWaitsThenAcks) {
  Net net;
  TcpTuning tun;
  tun.delayed_ack = 40ms;
  auto& a = net.add(kA, tun);
  auto& b = net.add(kB, tun);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  net.run_for(1s);
  size_t before = net.sent.size();
  Instant t0 = net.now;
  p.client.send(std::vector<uint8_t>(10, 1));
  ASSERT_TRUE(net.run_until([&] { return !net.sent_from(kB, before).empty(); }, 1s));
  auto acks = net.sent_from(kB, before);
  EXPECT_EQ(acks[0].at - t0 - net.imp.delay, 40ms + net.imp.delay);  // sent 40ms after arrival
  EXPECT_EQ(b.counters().delayed_acks, 1u);
  // Two full segments: ACKed at once.
  before = net.sent.size();
  p.client.set_nodelay(true);
  t0 = net.now;
  p.client.send(std::vector<uint8_t>(2 * p.client.info().mss, 1));
  ASSERT_TRUE(net.run_until([&] { return !net.sent_from(kB, before).empty(); }, 1s));
  acks = net.sent_from(kB, before);
  EXPECT_EQ(acks[0].at - t0, 2 * net.imp.delay);
  EXPECT_EQ(b.counters().delayed_acks, 1u);
}

TEST(TcpTimer, DelayedAckDisabled) {
  Net net;
  TcpTuning tun;
  tun.delayed_ack = Duration(0);
  auto& a = net.add(kA, tun);
  auto& b = net.add(kB, tun);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  size_t before = net.sent.size();
  Instant t0 = net.now;
  p.client.send(std::vector<uint8_t>(10, 1));
  ASSERT_TRUE(net.run_until([&] { return !net.sent_from(kB, before).empty(); }, 1s));
  EXPECT_EQ(net.sent_from(kB, before)[0].at - t0, 2 * net.imp.delay);
}

TEST(TcpTimer, NagleHoldsSmallSegmentsUnlessNodelay) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  net.run_for(1s);
  size_t before = net.sent.size();
  p.client.send(std::vector<uint8_t>(10, 1));
  p.client.send(std::vector<uint8_t>(10, 2));  // held: data in flight
  p.client.send(std::vector<uint8_t>(10, 3));
  EXPECT_EQ(net.sent_from(kA, before).size(), 1u);
  ASSERT_TRUE(net.run_until([&] { return p.server.bytes_readable() == 30; }, 1s));
  EXPECT_EQ(net.sent_from(kA, before).size(), 2u);  // the two held writes coalesced
  p.client.set_nodelay(true);
  before = net.sent.size();
  p.client.send(std::vector<uint8_t>(10, 1));
  p.client.send(std::vector<uint8_t>(10, 2));
  EXPECT_EQ(net.sent_from(kA, before).size(), 2u);
}

TEST(TcpTimer, PersistProbesZeroWindowThenResumes) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  p.listener = b.socket();
  p.listener.bind(Endpoint{kB, 80});
  p.listener.set_recv_buffer(8192);
  p.listener.listen(4);
  p.client = a.socket();
  p.client.connect(Endpoint{kB, 80});
  ASSERT_TRUE(net.run_until([&] { return p.listener.accept(&p.server) == 0; }));
  auto data = pattern(50000);
  size_t off = 0;
  for (int i = 0; i < 3; ++i) {
    int64_t n = p.client.send(std::span(data).subspan(off));
    if (n > 0) off += size_t(n);
  }
  // The receiver does not read: its window closes and the sender probes.
  net.run_for(30s);
  EXPECT_EQ(p.server.bytes_readable(), 8192u);
  EXPECT_GE(a.counters().zero_window_probes, 3u);
  EXPECT_EQ(p.client.state(), TcpState::Established);
  EXPECT_EQ(p.client.info().snd_wnd, 0u);
  uint64_t probes = a.counters().zero_window_probes;
  net.run_for(30s);
  uint64_t more = a.counters().zero_window_probes - probes;
  EXPECT_GE(more, 1u);
  EXPECT_LT(more, 10u);  // backed off
  // Now read everything: window updates reopen the flow.
  std::vector<uint8_t> got;
  std::vector<uint8_t> buf(4096);
  ASSERT_TRUE(net.run_until([&] {
    while (off < data.size()) {
      int64_t n = p.client.send(std::span(data).subspan(off));
      if (n <= 0) break;
      off += size_t(n);
    }
    for (;;) {
      int64_t n = p.server.recv(buf);
      if (n <= 0) break;
      got.insert(got.end(), buf.begin(), buf.begin() + n);
    }
    return got.size() == data.size();
  }, 60s));
  EXPECT_EQ(got, data);
  EXPECT_GE(b.counters().window_updates, 1u);
}

TEST(TcpTimer, KeepaliveProbesAndTimesOut) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  ASSERT_EQ(p.client.set_keepalive_params(10s, 2s, 3), 0);
  ASSERT_EQ(p.client.set_keepalive(true), 0);
  Instant t0 = net.now;
  net.run_for(35s);
  // Peer alive: probes answered, connection stays.
  EXPECT_GE(a.counters().keepalive_probes, 3u);
  EXPECT_EQ(p.client.state(), TcpState::Established);
  (void)t0;
  // Peer gone: probes unanswered -> ETIMEDOUT after idle + cnt*intvl.
  net.drop = [](const Packet& pk) { return pk.src == kB; };
  Instant t1 = net.now;
  ASSERT_TRUE(net.run_until([&] { return p.client.state() == TcpState::Closed; }, 60s));
  EXPECT_EQ(p.client.error(), -ETIMEDOUT);
  EXPECT_EQ(a.counters().keepalive_timeouts, 1u);
  EXPECT_LE(net.now - t1, 10s + 3 * 2s + 1s);
}

TEST(TcpTimer, SynRetriesThenEtimedout) {
  Net net;
  TcpTuning tun;
  tun.syn_retries = 3;
  tun.initial_rto = 1s;
  auto& a = net.add(kA, tun);
  net.add(kB, tun);
  net.drop = [](const Packet&) { return true; };
  auto c = a.socket();
  Instant t0 = net.now;
  ASSERT_EQ(c.connect(Endpoint{kB, 80}), -EINPROGRESS);
  ASSERT_TRUE(net.run_until([&] { return c.state() == TcpState::Closed; }, 60s));
  EXPECT_EQ(c.error(), -ETIMEDOUT);
  EXPECT_EQ(net.now - t0, 1s + 2s + 4s + 8s);
  EXPECT_EQ(net.sent_from(kA).size(), 4u);
  EXPECT_EQ(a.counters().syn_timeouts, 1u);
}

TEST(TcpTimer, SynAckRetransmittedAndHalfOpenExpires) {
  Net net;
  TcpTuning tun;
  tun.syn_retries = 2;
  net.add(kA, tun);
  auto& b = net.add(kB, tun);
  net.drop = [](const Packet&) { return true; };
  auto l = b.socket();
  l.bind(Endpoint{kB, 80});
  l.listen(4);
  wire::TcpHeader s;
  s.src_port = 4444;
  s.dst_port = 80;
  s.seq = 1;
  s.flags = tf::SYN;
  s.window = 1000;
  net.inject(kA, kB, s);
  EXPECT_EQ(b.half_open_count(l.id()), 1u);
  ASSERT_TRUE(net.run_until([&] { return b.half_open_count(l.id()) == 0; }, 60s));
  EXPECT_EQ(net.sent_from(kB).size(), 3u);  // SYN,ACK + 2 retransmissions
}

TEST(TcpTimer, OrphanedFinWait2TimesOut) {
  Net net;
  TcpTuning tun;
  tun.fin_wait2_timeout = 5s;
  auto& a = net.add(kA, tun);
  auto& b = net.add(kB, tun);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  p.client.close();
  ASSERT_TRUE(net.run_until([&] { return p.server.state() == TcpState::CloseWait; }));
  net.run_for(1s);
  EXPECT_EQ(a.connection_count(), 1u);
  net.run_for(6s);
  EXPECT_EQ(a.connection_count(), 0u);
}

// Short connections leave their active closer in TIME-WAIT for 2 MSL: those hold no
// buffers (a busy server has tens of thousands of them), and they expire from the timer
// heap in order, each on time, without a poll having to visit the others.
TEST(TcpTimer, ManyTimeWaitsHoldNoBuffersAndExpireInOrder) {
  Net net;
  TcpTuning tun;
  tun.time_wait = 10s;
  auto& a = net.add(kA, tun);
  auto& b = net.add(kB, tun);
  constexpr int kN = 200;
  std::vector<Pair> pairs(kN);
  std::vector<Instant> closed_at;
  for (int i = 0; i < kN; ++i) {
    Pair& p = pairs[size_t(i)];
    ASSERT_TRUE(connect_pair(net, a, b, p, uint16_t(1000 + i)));
    ASSERT_EQ(p.client.send(std::vector<uint8_t>(3000, 1)), 3000);
    ASSERT_TRUE(net.run_until([&] { return p.server.bytes_readable() == 3000; }));
    ASSERT_EQ(p.client.close(), 0);  // active close, then the server's
    ASSERT_TRUE(net.run_until([&] { return p.server.state() == TcpState::CloseWait; }));
    uint8_t buf[4096];
    while (p.server.recv(buf) > 0) {
    }
    ASSERT_EQ(p.server.close(), 0);
    p.listener.close();
    net.run_for(100ms);  // spread the closes over 20 s of simulated time
    closed_at.push_back(net.now);
  }
  ASSERT_TRUE(net.run_until([&] { return b.connection_count() == 0; }, 1s));
  size_t in_tw = a.connection_count();
  EXPECT_GT(in_tw, 0u);  // the later ones are still in TIME-WAIT (kept 10 s)
  EXPECT_EQ(a.buffer_bytes(), 0u) << "TIME-WAIT connections keep their buffers";
  // The next deadline is the oldest remaining TIME-WAIT's expiry, within the 100 ms the
  // closes are apart.
  size_t first_left = kN - in_tw;
  Instant want = closed_at[first_left] + 10s;
  EXPECT_LE(a.next_deadline(), want);
  EXPECT_GE(a.next_deadline(), want - 200ms);
  uint64_t expired0 = a.counters().time_wait_expired;
  size_t prev = in_tw;
  for (int step = 0; step < 200 && a.connection_count() > 0; ++step) {
    net.run_for(100ms);
    EXPECT_LE(a.connection_count(), prev);  // never comes back
    prev = a.connection_count();
  }
  EXPECT_EQ(a.connection_count(), 0u);
  EXPECT_EQ(a.counters().time_wait_expired - expired0, in_tw);
  EXPECT_EQ(a.next_deadline(), kNever);
}

// A connection whose earliest timer was its 2-hour keepalive, then an earlier one (the
// FIN's retransmission), leaves a stale heap entry for 2 hours, and so does one that goes
// away: under short keepalive connections the heap must still stay O(connections), and a
// long-lived connection's timers must survive the heap being rebuilt.
TEST(TcpTimer, StaleTimerEntriesDoNotAccumulate) {
  Net net;
  TcpTuning tun;
  tun.time_wait = 1s;
  auto& a = net.add(kA, tun);
  auto& b = net.add(kB, tun);
  Pair lived;
  ASSERT_TRUE(connect_pair(net, a, b, lived, 999));
  ASSERT_EQ(lived.client.set_keepalive_params(60s, 2s, 3), 0);
  ASSERT_EQ(lived.client.set_keepalive(true), 0);
  constexpr int kN = 400;
  long worst = 0;  // timer entries beyond two per connection block
  for (int i = 0; i < kN; ++i) {
    Pair p;
    ASSERT_TRUE(connect_pair(net, a, b, p, uint16_t(1000 + i)));
    ASSERT_EQ(p.client.set_keepalive(true), 0);
    net.run_for(1500ms);  // settled: the keepalive is the client's only timer
    ASSERT_EQ(p.client.close(), 0);
    ASSERT_TRUE(net.run_until([&] { return p.server.state() == TcpState::CloseWait; }));
    ASSERT_EQ(p.server.close(), 0);
    p.listener.close();
    // The server's LAST-ACK is answered: the client holds TIME-WAIT, the server nothing.
    ASSERT_TRUE(net.run_until([&] { return b.connection_count() == 1; }));
    worst = std::max(worst, long(a.timer_entries()) - 2 * long(a.tcb_count()));
  }
  net.run_for(2s);  // the last TIME-WAITs expire
  EXPECT_EQ(a.connection_count(), 1u);
  EXPECT_LE(worst, 64) << "stale timer entries pile up";
  EXPECT_LE(a.timer_entries(), 2 * a.tcb_count() + 64);
  // The long-lived connection went idle at the start: its keepalive probes still come.
  uint64_t probes0 = a.counters().keepalive_probes;
  ASSERT_TRUE(net.run_until([&] { return a.counters().keepalive_probes > probes0; }, 120s));
  EXPECT_EQ(lived.client.state(), TcpState::Established);
}

}  // namespace
}  // namespace tcptest
