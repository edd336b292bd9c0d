// RFC 9293 state machine: opens, closes, TIME-WAIT, RST handling, RFC 5961 challenge ACKs.
#include "tcp_harness.h"

namespace tcptest {
namespace {

namespace tf = wire::tcpflag;

TEST(TcpState, ActiveAndPassiveOpen) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  p.listener = b.socket();
  ASSERT_EQ(p.listener.bind(Endpoint{kB, 80}), 0);
  ASSERT_EQ(p.listener.listen(8), 0);
  EXPECT_EQ(p.listener.state(), TcpState::Listen);
  p.client = a.socket();
  ASSERT_EQ(p.client.connect(Endpoint{kB, 80}), -EINPROGRESS);
  EXPECT_EQ(p.client.state(), TcpState::SynSent);
  EXPECT_EQ(p.client.connect(Endpoint{kB, 80}), -EALREADY);
  EXPECT_EQ(p.client.events() & kTcpWritable, 0u);
  // SYN is on the wire: the server has a SYN-RECEIVED child.
  net.now += 1ms;
  net.step();
  EXPECT_EQ(b.half_open_count(p.listener.id()), 1u);
  EXPECT_EQ(p.listener.accept(&p.server), -EAGAIN);
  ASSERT_TRUE(net.run_until([&] { return p.listener.events() & kTcpReadable; }));
  Endpoint peer;
  ASSERT_EQ(p.listener.accept(&p.server, &peer), 0);
  EXPECT_EQ(peer, p.client.local_endpoint());
  EXPECT_EQ(p.server.state(), TcpState::Established);
  EXPECT_EQ(p.client.state(), TcpState::Established);
  EXPECT_EQ(p.client.error(), 0);
  EXPECT_TRUE(p.client.events() & kTcpWritable);
  EXPECT_EQ(p.client.connect(Endpoint{kB, 80}), -EISCONN);
  EXPECT_EQ(p.server.remote_endpoint(), p.client.local_endpoint());
  EXPECT_GE(p.client.local_endpoint().port, 49152);
  EXPECT_EQ(a.counters().active_opens, 1u);
  EXPECT_EQ(b.counters().passive_opens, 1u);
  auto ci = p.client.info();
  EXPECT_TRUE(ci.sack && ci.timestamps && ci.wscale);
  EXPECT_EQ(ci.mss, 1500u - 40 - 12);
}

TEST(TcpState, ConnectRefusedByRst) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  auto c = a.socket();
  uint32_t seen = 0;
  c.set_callback([&](uint32_t ev) { seen |= ev; });
  ASSERT_EQ(c.connect(Endpoint{kB, 81}), -EINPROGRESS);
  ASSERT_TRUE(net.run_until([&] { return c.state() == TcpState::Closed; }));
  EXPECT_EQ(b.counters().drop_no_socket_rst_sent, 1u);
  EXPECT_TRUE(seen & kTcpError);
  EXPECT_TRUE(c.events() & kTcpError);
  EXPECT_EQ(c.error(), -ECONNREFUSED);
  EXPECT_EQ(c.error(), 0);  // read-and-clear
  EXPECT_EQ(a.counters().rst_received, 1u);
}

TEST(TcpState, SimultaneousOpen) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  auto x = a.socket();
  auto y = b.socket();
  ASSERT_EQ(x.bind(Endpoint{kA, 5000}), 0);
  ASSERT_EQ(y.bind(Endpoint{kB, 6000}), 0);
  ASSERT_EQ(x.connect(Endpoint{kB, 6000}), -EINPROGRESS);
  ASSERT_EQ(y.connect(Endpoint{kA, 5000}), -EINPROGRESS);
  // Both SYNs cross: each side goes SYN-SENT -> SYN-RECEIVED -> ESTABLISHED.
  net.now += 1ms;
  net.step();
  EXPECT_EQ(x.state(), TcpState::SynReceived);
  EXPECT_EQ(y.state(), TcpState::SynReceived);
  ASSERT_TRUE(net.run_until([&] {
    return x.state() == TcpState::Established && y.state() == TcpState::Established;
  }, 5s));
  std::vector<uint8_t> msg = {1, 2, 3};
  EXPECT_EQ(x.send(msg), 3);
  uint8_t buf[8];
  ASSERT_TRUE(net.run_until([&] { return y.bytes_readable() == 3; }, 5s));
  EXPECT_EQ(y.recv(buf), 3);
}

TEST(TcpState, ActiveCloseThroughTimeWait) {
  Net net;
  TcpTuning tun;
  tun.time_wait = 10s;
  auto& a = net.add(kA, tun);
  auto& b = net.add(kB, tun);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  ASSERT_EQ(p.client.shutdown(kTcpShutWr), 0);
  EXPECT_EQ(p.client.state(), TcpState::FinWait1);
  EXPECT_EQ(p.client.send(std::vector<uint8_t>{1}), -EPIPE);
  ASSERT_TRUE(net.run_until([&] { return p.client.state() == TcpState::FinWait2; }));
  EXPECT_EQ(p.server.state(), TcpState::CloseWait);
  uint8_t buf[4];
  EXPECT_EQ(p.server.recv(buf), 0);  // EOF
  EXPECT_TRUE(p.server.events() & kTcpRdHup);
  ASSERT_EQ(p.server.close(), 0);  // CLOSE-WAIT -> LAST-ACK
  ASSERT_TRUE(net.run_until([&] { return p.client.state() == TcpState::TimeWait; }));
  Instant tw_start = net.now;
  // The server's LAST-ACK connection is gone once our ACK arrived.
  ASSERT_TRUE(net.run_until([&] { return b.connection_count() == 0; }, 1s));
  ASSERT_TRUE(net.run_until([&] { return p.client.state() == TcpState::Closed; }, 30s));
  EXPECT_GE(net.now - tw_start, 10s - 5ms);
  EXPECT_LE(net.now - tw_start, 10s + 5ms);
  EXPECT_EQ(a.counters().time_wait_expired, 1u);
}

TEST(TcpState, PassiveCloseFromServer) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  ASSERT_EQ(p.server.shutdown(kTcpShutWr), 0);
  ASSERT_TRUE(net.run_until([&] { return p.client.state() == TcpState::CloseWait; }));
  ASSERT_EQ(p.client.shutdown(kTcpShutWr), 0);
  EXPECT_EQ(p.client.state(), TcpState::LastAck);
  ASSERT_TRUE(net.run_until([&] { return p.client.state() == TcpState::Closed; }));
  EXPECT_EQ(p.server.state(), TcpState::TimeWait);
  EXPECT_TRUE(p.client.events() & kTcpHup);
}

TEST(TcpState, SimultaneousClose) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  ASSERT_EQ(p.client.shutdown(kTcpShutWr), 0);
  ASSERT_EQ(p.server.shutdown(kTcpShutWr), 0);
  // FINs cross: FIN-WAIT-1 -> CLOSING -> TIME-WAIT on both sides.
  net.now += 1ms;
  net.step();
  EXPECT_EQ(p.client.state(), TcpState::Closing);
  EXPECT_EQ(p.server.state(), TcpState::Closing);
  ASSERT_TRUE(net.run_until([&] {
    return p.client.state() == TcpState::TimeWait && p.server.state() == TcpState::TimeWait;
  }, 5s));
}

TEST(TcpState, TimeWaitAcksRetransmittedFin) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  p.client.shutdown(kTcpShutWr);
  ASSERT_TRUE(net.run_until([&] { return p.server.state() == TcpState::CloseWait; }));
  // Lose the client's final ACK once: the server retransmits its FIN.
  int dropped_acks = 0;
  net.drop = [&](const Packet& pk) {
    if (pk.src == kA && dropped_acks == 0 && !(pk.hdr().flags & tf::FIN)) return ++dropped_acks, true;
    return false;
  };
  p.server.shutdown(kTcpShutWr);
  ASSERT_TRUE(net.run_until([&] { return p.server.state() == TcpState::Closed; }, 10s));
  EXPECT_EQ(dropped_acks, 1);
  EXPECT_EQ(p.client.state(), TcpState::TimeWait);
  EXPECT_GE(b.counters().retransmits, 1u);
}

TEST(TcpState, ResetInEstablished) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  p.server.abort();
  ASSERT_TRUE(net.run_until([&] { return p.client.state() == TcpState::Closed; }));
  EXPECT_EQ(p.client.error(), -ECONNRESET);
  EXPECT_EQ(a.counters().resets_established, 1u);
  uint8_t buf[4];
  EXPECT_EQ(p.client.recv(buf), 0);
  EXPECT_EQ(p.client.send(std::vector<uint8_t>{1}), -EPIPE);
}

TEST(TcpState, CloseWithUnreadDataSendsRst) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  p.client.send(std::vector<uint8_t>(100, 1));
  ASSERT_TRUE(net.run_until([&] { return p.server.bytes_readable() == 100; }));
  p.server.close();
  ASSERT_TRUE(net.run_until([&] { return p.client.state() == TcpState::Closed; }));
  EXPECT_EQ(p.client.error(), -ECONNRESET);
}

TEST(TcpState, LingerZeroSendsRst) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  p.client.set_linger(Duration(0));
  p.client.close();
  ASSERT_TRUE(net.run_until([&] { return p.server.state() == TcpState::Closed; }));
  EXPECT_EQ(p.server.error(), -ECONNRESET);
  EXPECT_EQ(a.connection_count(), 0u);
}

// Builds a segment from the client's side of connection p with given seq/ack/flags.
wire::TcpHeader from_client(const Pair& p, uint32_t seq, uint32_t ack, uint8_t flags) {
  wire::TcpHeader h;
  h.src_port = p.client.local_endpoint().port;
  h.dst_port = p.server.local_endpoint().port;
  h.seq = seq;
  h.ack = ack;
  h.flags = flags;
  h.window = 1000;
  return h;
}

// The server's view: its next expected seq (= last ACK it sent) and its SND.NXT.
std::pair<uint32_t, uint32_t> server_seqs(Net& net) {
  auto pk = net.sent_from(kB);
  auto h = pk.back().hdr();
  uint32_t len = uint32_t(pk.back().payload_len()) + ((h.flags & tf::SYN) ? 1 : 0) +
                 ((h.flags & tf::FIN) ? 1 : 0);
  return {h.ack, h.seq + len};
}

TEST(TcpState, Rfc5961RstInWindowGetsChallengeAck) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  p.server.send(std::vector<uint8_t>{1});
  ASSERT_TRUE(net.run_until([&] { return p.client.bytes_readable() == 1; }));
  net.run_for(100ms);
  auto [rcv_nxt, snd_nxt] = server_seqs(net);
  size_t before = net.sent.size();
  // In window but not exact: challenge ACK, connection survives.
  net.inject(kA, kB, from_client(p, rcv_nxt + 100, 0, tf::RST));
  EXPECT_EQ(b.counters().drop_rst_challenged, 1u);
  EXPECT_EQ(b.counters().challenge_acks_sent, 1u);
  auto out = net.sent_from(kB, before);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].hdr().flags, tf::ACK);
  EXPECT_EQ(out[0].hdr().ack, rcv_nxt);
  EXPECT_EQ(p.server.state(), TcpState::Established);
  // Out of window: silently dropped.
  net.inject(kA, kB, from_client(p, rcv_nxt + 10000000, 0, tf::RST));
  EXPECT_EQ(b.counters().drop_rst_out_of_window, 1u);
  EXPECT_EQ(net.sent.size(), before + 1);
  // Exact: reset.
  net.inject(kA, kB, from_client(p, rcv_nxt, 0, tf::RST));
  EXPECT_EQ(p.server.state(), TcpState::Closed);
  EXPECT_EQ(p.server.error(), -ECONNRESET);
  (void)snd_nxt;
}

TEST(TcpState, Rfc5961SynInSynchronizedStateGetsChallengeAck) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  net.run_for(100ms);
  auto [rcv_nxt, snd_nxt] = server_seqs(net);
  size_t before = net.sent.size();
  net.inject(kA, kB, from_client(p, rcv_nxt + 5, 0, tf::SYN));
  EXPECT_EQ(b.counters().drop_syn_challenged, 1u);
  auto out = net.sent_from(kB, before);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].hdr().flags, tf::ACK);
  EXPECT_EQ(out[0].hdr().seq, snd_nxt);
  EXPECT_EQ(p.server.state(), TcpState::Established);
  // The client receives the challenge ACK and is unaffected.
  net.run_for(100ms);
  EXPECT_EQ(p.client.state(), TcpState::Established);
}

TEST(TcpState, Rfc5961AckOfUnsentDataDropped) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  net.run_for(100ms);
  auto [rcv_nxt, snd_nxt] = server_seqs(net);
  net.inject(kA, kB, from_client(p, rcv_nxt, snd_nxt + 100000, tf::ACK));
  EXPECT_EQ(b.counters().drop_ack_invalid, 1u);
  net.inject(kA, kB, from_client(p, rcv_nxt, snd_nxt - 0x40000000u, tf::ACK));
  EXPECT_EQ(b.counters().drop_ack_invalid, 2u);
  EXPECT_EQ(p.server.state(), TcpState::Established);
}

TEST(TcpState, RstInSynSentNeedsAcceptableAck) {
  Net net;
  auto& a = net.add(kA);
  net.add(kB);
  net.drop = [](const Packet&) { return true; };  // black hole: we inject replies
  auto c = a.socket();
  ASSERT_EQ(c.connect(Endpoint{kB, 80}), -EINPROGRESS);
  auto syn = net.sent.back().hdr();
  wire::TcpHeader r;
  r.src_port = 80;
  r.dst_port = syn.src_port;
  r.flags = tf::RST | tf::ACK;
  r.ack = syn.seq + 7;  // unacceptable
  net.inject(kB, kA, r);
  EXPECT_EQ(c.state(), TcpState::SynSent);
  EXPECT_EQ(a.counters().drop_syn_sent_bad_ack, 1u);
  r.flags = tf::RST;  // no ACK: ignored
  net.inject(kB, kA, r);
  EXPECT_EQ(c.state(), TcpState::SynSent);
  r.flags = tf::RST | tf::ACK;
  r.ack = syn.seq + 1;
  net.inject(kB, kA, r);
  EXPECT_EQ(c.state(), TcpState::Closed);
  EXPECT_EQ(c.error(), -ECONNREFUSED);
}

TEST(TcpState, RstInSynReceivedReturnsToListen) {
  Net net;
  net.add(kA);
  auto& b = net.add(kB);
  net.drop = [](const Packet&) { return true; };
  auto l = b.socket();
  l.bind(Endpoint{kB, 80});
  l.listen(4);
  wire::TcpHeader s;
  s.src_port = 4444;
  s.dst_port = 80;
  s.seq = 1000;
  s.flags = tf::SYN;
  s.window = 100;
  net.inject(kA, kB, s);
  EXPECT_EQ(b.half_open_count(l.id()), 1u);
  wire::TcpHeader r = s;
  r.flags = tf::RST;
  r.seq = 1001;
  net.inject(kA, kB, r);
  EXPECT_EQ(b.half_open_count(l.id()), 0u);
  EXPECT_EQ(l.state(), TcpState::Listen);
}

TEST(TcpState, RstInClosingStatesCloses) {
  for (int which = 0; which < 3; ++which) {
    Net net;
    auto& a = net.add(kA);
    auto& b = net.add(kB);
    Pair p;
    ASSERT_TRUE(connect_pair(net, a, b, p));
    if (which == 0) {  // FIN-WAIT-2
      p.server.shutdown(kTcpShutWr);
      ASSERT_TRUE(net.run_until([&] { return p.server.state() == TcpState::FinWait2; }));
    } else if (which == 1) {  // CLOSE-WAIT
      p.client.shutdown(kTcpShutWr);
      ASSERT_TRUE(net.run_until([&] { return p.server.state() == TcpState::CloseWait; }));
    } else {  // LAST-ACK: block the client's ACK of our FIN
      p.client.shutdown(kTcpShutWr);
      ASSERT_TRUE(net.run_until([&] { return p.server.state() == TcpState::CloseWait; }));
      net.drop = [](const Packet& pk) { return pk.src == kA; };
      p.server.shutdown(kTcpShutWr);
      net.run_for(10ms);
      ASSERT_EQ(p.server.state(), TcpState::LastAck);
    }
    auto [rcv_nxt, snd_nxt] = server_seqs(net);
    (void)snd_nxt;
    net.inject(kA, kB, from_client(p, rcv_nxt, 0, tf::RST));
    EXPECT_EQ(p.server.state(), TcpState::Closed) << which;
  }
}

TEST(TcpState, RstInFinWait1ClosingAndTimeWait) {
  for (int which = 0; which < 3; ++which) {
    Net net;
    auto& a = net.add(kA);
    auto& b = net.add(kB);
    Pair p;
    ASSERT_TRUE(connect_pair(net, a, b, p));
    TcpState want;
    if (which == 0) {  // FIN-WAIT-1: the client never sees our FIN
      net.drop = [](const Packet& pk) { return pk.src == kB; };
      p.server.shutdown(kTcpShutWr);
      want = TcpState::FinWait1;
    } else if (which == 1) {  // CLOSING: FINs cross, the client's ACK of our FIN is lost
      net.drop = [](const Packet& pk) { return pk.src == kA && !(pk.hdr().flags & tf::FIN); };
      p.server.shutdown(kTcpShutWr);
      p.client.shutdown(kTcpShutWr);
      want = TcpState::Closing;
    } else {  // TIME-WAIT
      p.server.shutdown(kTcpShutWr);
      ASSERT_TRUE(net.run_until([&] { return p.client.state() == TcpState::CloseWait; }));
      p.client.shutdown(kTcpShutWr);
      want = TcpState::TimeWait;
    }
    net.run_for(50ms);
    ASSERT_EQ(p.server.state(), want) << which;
    uint32_t rcv_nxt = 0;
    for (auto& pk : net.sent_from(kB)) rcv_nxt = pk.hdr().ack;
    net.inject(kA, kB, from_client(p, rcv_nxt, 0, tf::RST));
    EXPECT_EQ(p.server.state(), TcpState::Closed) << which;
    EXPECT_EQ(b.connection_count(), 0u) << which;
  }
}

TEST(TcpState, TimeWaitDropsStrayAndIsReusedByNewSyn) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  Endpoint cl = p.client.local_endpoint();
  p.server.shutdown(kTcpShutWr);  // the server closes first and ends in TIME-WAIT
  ASSERT_TRUE(net.run_until([&] { return p.client.state() == TcpState::CloseWait; }));
  p.client.close();
  ASSERT_TRUE(net.run_until([&] { return p.server.state() == TcpState::TimeWait; }));
  net.run_for(50ms);  // the client's LAST-ACK ends
  EXPECT_EQ(a.connection_count(), 0u);
  uint32_t rcv_nxt = 0;
  for (auto& pk : net.sent_from(kB)) rcv_nxt = pk.hdr().ack;
  wire::TcpHeader ack;
  ack.src_port = cl.port;
  ack.dst_port = 80;
  ack.seq = rcv_nxt;
  ack.flags = tf::ACK;
  ack.window = 1000;
  net.inject(kA, kB, ack);
  EXPECT_EQ(b.counters().drop_time_wait, 1u);
  // A new SYN from the same client port with a higher sequence number reuses the pair.
  auto c2 = a.socket();
  c2.set_reuseaddr(true);
  ASSERT_EQ(c2.bind(cl), 0);
  wire::TcpHeader syn = ack;
  syn.seq = rcv_nxt + 100000;
  syn.flags = tf::SYN;
  net.inject(kA, kB, syn);
  EXPECT_EQ(b.counters().time_wait_reused, 1u);
  EXPECT_EQ(b.half_open_count(p.listener.id()), 1u);
}

// wrk -H 'Connection: close' against a view: the server closes first (TIME-WAIT) and the
// client soon reuses its port. Clock-driven ISNs (RFC 6528) and timestamps (RFC 6191) make
// the new SYN acceptable to TIME-WAIT at once, instead of a challenge ACK, an RST and a
// one-second SYN retransmission.
TEST(TcpState, ReusedPortAfterServerCloseConnectsAtOnce) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  auto l = b.socket();
  ASSERT_EQ(l.bind(Endpoint{kB, 80}), 0);
  ASSERT_EQ(l.listen(16), 0);
  Endpoint cl{kA, 41000};
  constexpr int kRounds = 20;  // a random ISN passes one round by chance, not twenty
  for (int round = 0; round < kRounds; ++round) {
    auto c = a.socket();
    c.set_reuseaddr(true);
    ASSERT_EQ(c.bind(cl), 0) << round;
    ASSERT_EQ(c.connect(Endpoint{kB, 80}), -EINPROGRESS);
    TcpSocket s;
    Instant t0 = net.now;
    ASSERT_TRUE(net.run_until([&] {
      if (!s.valid()) l.accept(&s);
      return s.valid() && c.state() == TcpState::Established;
    }, 5s)) << round;
    EXPECT_LT(net.now - t0, 100ms) << "round " << round << " needed a retransmitted SYN";
    s.close();  // the server closes first: TIME-WAIT on its side
    ASSERT_TRUE(net.run_until([&] { return c.state() == TcpState::CloseWait; }));
    c.close();
    ASSERT_TRUE(net.run_until([&] { return a.connection_count() == 0; }));
  }
  EXPECT_EQ(b.counters().time_wait_reused, uint64_t(kRounds - 1));
  EXPECT_EQ(b.counters().challenge_acks_sent, 0u);
}

TEST(TcpState, Ipv6Connection) {
  Net net;
  Ipv6Addr x{}, y{};
  x.b[0] = 0xfd; x.b[15] = 1;
  y.b[0] = 0xfd; y.b[15] = 2;
  auto& a = net.add(IpAddr(x));
  auto& b = net.add(IpAddr(y));
  auto l = b.socket();
  ASSERT_EQ(l.bind(Endpoint{IpAddr(Ipv6Addr{}), 443}), 0);
  ASSERT_EQ(l.listen(4), 0);
  auto c = a.socket();
  ASSERT_EQ(c.connect(Endpoint{IpAddr(y), 443}), -EINPROGRESS);
  TcpSocket s;
  ASSERT_TRUE(net.run_until([&] { return l.accept(&s) == 0; }));
  EXPECT_EQ(c.info().mss, 1500u - 60 - 12);
  auto data = pattern(100000);
  EXPECT_TRUE(transfer(net, c, s, data) == data);
  EXPECT_EQ(s.local_endpoint().addr, IpAddr(y));
  // A v4 connect from a v6-only node has no route.
  auto c4 = a.socket();
  EXPECT_EQ(c4.connect(Endpoint{kB, 80}), -ENETUNREACH);
}

TEST(TcpState, IcmpErrors) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  net.drop = [](const Packet& pk) { return pk.src == kA; };
  auto c = a.socket();
  ASSERT_EQ(c.connect(Endpoint{kB, 80}), -EINPROGRESS);
  auto syn = net.sent.back().bytes;
  // A quoted sequence number outside the flight is ignored (RFC 5927).
  auto bad = syn;
  bad[7] ^= 0x55;
  a.icmp_error(kA, kB, std::span(bad).first(8), -EHOSTUNREACH, net.now);
  EXPECT_EQ(c.state(), TcpState::SynSent);
  a.icmp_error(kA, kB, std::span(syn).first(8), -EHOSTUNREACH, net.now);
  EXPECT_EQ(c.state(), TcpState::Closed);
  EXPECT_EQ(c.error(), -EHOSTUNREACH);
  // PMTU drop on an established connection: the outstanding data is resent smaller.
  net.drop = nullptr;
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  net.drop = [](const Packet& pk) { return pk.src == kA && pk.bytes.size() > 1000; };
  auto data = pattern(20000);
  ASSERT_EQ(p.client.send(data), 20000);
  Packet big;
  for (auto& pk : net.sent_from(kA))
    if (pk.bytes.size() > 1000) { big = pk; break; }
  ASSERT_FALSE(big.bytes.empty());
  net.host(kA).mtu = 1000;
  size_t before = net.sent.size();
  a.icmp_error(kA, kB, std::span(big.bytes).first(8), -EMSGSIZE, net.now);
  auto out = net.sent_from(kA, before);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].hdr().seq, big.hdr().seq);
  EXPECT_LE(out[0].bytes.size(), 1000u - 20);
  std::vector<uint8_t> got;
  std::vector<uint8_t> buf(65536);
  ASSERT_TRUE(net.run_until([&] {
    for (int64_t n; (n = p.server.recv(buf)) > 0;) got.insert(got.end(), buf.begin(), buf.begin() + n);
    return got.size() == data.size();
  }, 30s));
  EXPECT_TRUE(got == data);
}

TEST(TcpState, EphemeralPortsSharedAcrossRemotes) {
  Net net;
  TcpTuning tun;
  tun.ephemeral_low = 50000;
  tun.ephemeral_high = 50019;  // 20 ports
  auto& a = net.add(kA, tun);
  auto& b = net.add(kB, tun);
  std::vector<TcpSocket> ls;
  for (uint16_t port : {80, 81}) {
    ls.push_back(b.socket());
    ASSERT_EQ(ls.back().bind(Endpoint{kB, port}), 0);
    ASSERT_EQ(ls.back().listen(64), 0);
  }
  std::set<uint16_t> used;
  for (uint16_t port : {80, 81}) {
    for (int i = 0; i < 20; ++i) {
      auto c = a.socket();
      ASSERT_EQ(c.connect(Endpoint{kB, port}), -EINPROGRESS) << port << " " << i;
      ASSERT_TRUE(net.run_until([&] { return c.state() == TcpState::Established; }, 5s));
      used.insert(c.local_endpoint().port);
      c.close();  // active close: the pair stays in TIME-WAIT on our side
      net.run_for(50ms);
      TcpSocket s;
      while (ls[port - 80].accept(&s) == 0) s.close();
      net.run_for(50ms);
    }
  }
  EXPECT_EQ(used.size(), 20u);  // the same 20 ports served both remotes
  EXPECT_EQ(a.connection_count(), 40u);  // all in TIME-WAIT
  auto c = a.socket();
  EXPECT_EQ(c.connect(Endpoint{kB, 80}), -EADDRNOTAVAIL);
  // A bound socket on one of those ports conflicts for bind() but not for connect().
  auto d = a.socket();
  EXPECT_EQ(d.bind(Endpoint{kA, 50000}), -EADDRINUSE);
  d.set_reuseaddr(true);
  EXPECT_EQ(d.bind(Endpoint{kA, 50000}), 0);
}

TEST(TcpState, NoSocketAndListenerResets) {
  Net net;
  net.add(kA);
  auto& b = net.add(kB);
  auto l = b.socket();
  l.bind(Endpoint{kB, 80});
  l.listen(4);
  size_t before = net.sent.size();
  wire::TcpHeader h;
  h.src_port = 4000;
  h.dst_port = 81;
  h.seq = 5;
  h.flags = tf::ACK;
  h.ack = 77;
  net.inject(kA, kB, h);  // no socket, ACK: RST seq=ack
  auto out = net.sent_from(kB, before);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].hdr().flags, tf::RST);
  EXPECT_EQ(out[0].hdr().seq, 77u);
  h.flags = tf::SYN;  // no socket, SYN: RST|ACK ack=seq+1
  net.inject(kA, kB, h);
  out = net.sent_from(kB, before);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].hdr().flags, tf::RST | tf::ACK);
  EXPECT_EQ(out[1].hdr().ack, 6u);
  h.flags = tf::RST;  // RST to nothing: ignored
  net.inject(kA, kB, h);
  EXPECT_EQ(net.sent_from(kB, before).size(), 2u);
  EXPECT_EQ(b.counters().drop_no_socket_rst_sent, 2u);
  EXPECT_EQ(b.counters().drop_no_socket_rst, 1u);
  h.dst_port = 80;
  h.flags = tf::ACK;  // ACK to a listener: RST
  net.inject(kA, kB, h);
  EXPECT_EQ(b.counters().drop_listen_ack_rst_sent, 1u);
  h.flags = tf::RST;
  net.inject(kA, kB, h);
  EXPECT_EQ(b.counters().drop_listen_rst, 1u);
  // Bad checksum and malformed segments are counted.
  std::vector<uint8_t> junk(10, 0);
  b.input(kA, kB, junk, net.now);
  EXPECT_EQ(b.counters().drop_malformed, 1u);
  std::vector<uint8_t> bad(20, 0);
  bad[12] = 0x50;
  bad[16] = 0x12;
  b.input(kA, kB, bad, net.now);
  EXPECT_EQ(b.counters().drop_bad_checksum, 1u);
}

TEST(TcpState, BindRules) {
  Net net;
  auto& a = net.add(kA);
  auto s1 = a.socket();
  auto s2 = a.socket();
  ASSERT_EQ(s1.bind(Endpoint{kA, 7000}), 0);
  EXPECT_EQ(s2.bind(Endpoint{kA, 7000}), -EADDRINUSE);
  EXPECT_EQ(s2.bind(Endpoint{IpAddr(Ipv4Addr{}), 7000}), -EADDRINUSE);
  EXPECT_EQ(s2.bind(Endpoint{kB, 7001}), -EADDRNOTAVAIL);
  s1.set_reuseaddr(true);
  s2.set_reuseaddr(true);
  EXPECT_EQ(s2.bind(Endpoint{kA, 7000}), 0);
  auto s3 = a.socket();
  ASSERT_EQ(s3.bind(Endpoint{kA, 0}), 0);
  EXPECT_GE(s3.local_endpoint().port, 49152);
  EXPECT_EQ(s3.bind(Endpoint{kA, 0}), -EINVAL);
  auto s4 = a.socket();
  EXPECT_EQ(s4.recv(std::span<uint8_t>()), -ENOTCONN);
  EXPECT_EQ(s4.send(std::vector<uint8_t>{1}), -ENOTCONN);
  EXPECT_EQ(s4.events(), kTcpHup | kTcpWritable);
}

TEST(TcpState, ListenerCloseResetsPendingChildren) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  auto c2 = a.socket();
  c2.connect(Endpoint{kB, 80});
  ASSERT_TRUE(net.run_until([&] { return c2.state() == TcpState::Established; }));
  p.listener.close();  // c2's server side was never accepted: RST
  ASSERT_TRUE(net.run_until([&] { return c2.state() == TcpState::Closed; }));
  EXPECT_EQ(c2.error(), -ECONNRESET);
  EXPECT_EQ(p.client.state(), TcpState::Established);  // accepted one unaffected
}

TEST(TcpState, MsgPeekAndShutdownRead) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  Pair p;
  ASSERT_TRUE(connect_pair(net, a, b, p));
  p.client.send(std::vector<uint8_t>{9, 8, 7});
  ASSERT_TRUE(net.run_until([&] { return p.server.bytes_readable() == 3; }));
  uint8_t buf[8] = {};
  EXPECT_EQ(p.server.recv(buf, kTcpMsgPeek), 3);
  EXPECT_EQ(p.server.bytes_readable(), 3u);
  EXPECT_EQ(p.server.recv(std::span(buf, 2)), 2);
  EXPECT_EQ(buf[0], 9);
  EXPECT_EQ(buf[1], 8);
  EXPECT_EQ(p.server.shutdown(kTcpShutRd), 0);
  EXPECT_EQ(p.server.recv(buf), 0);
  EXPECT_TRUE(p.server.events() & kTcpRdHup);
  // Data after SHUT_RD is acknowledged and discarded: the sender never stalls.
  auto more = pattern(600000);
  size_t off = 0;
  ASSERT_TRUE(net.run_until([&] {
    while (off < more.size()) {
      int64_t n = p.client.send(std::span(more).subspan(off));
      if (n <= 0) break;
      off += size_t(n);
    }
    return off == more.size() && p.client.send_queue() == 0;
  }, 30s));
  EXPECT_EQ(p.server.bytes_readable(), 0u);
}

TEST(TcpState, SocketsOnManyEnginesAreIndependent) {
  Net net;
  auto& a = net.add(kA);
  auto& b = net.add(kB);
  auto& c = net.add(v4(10, 0, 0, 3));
  Pair p1, p2;
  ASSERT_TRUE(connect_pair(net, a, b, p1, 80));
  p2.listener = b.socket();
  ASSERT_EQ(p2.listener.bind(Endpoint{kB, 81}), 0);
  ASSERT_EQ(p2.listener.listen(4), 0);
  p2.client = c.socket();
  ASSERT_EQ(p2.client.connect(Endpoint{kB, 81}), -EINPROGRESS);
  ASSERT_TRUE(net.run_until([&] { return p2.client.state() == TcpState::Established; }));
  EXPECT_EQ(a.connection_count(), 1u);
  EXPECT_EQ(c.connection_count(), 1u);
  EXPECT_EQ(b.connection_count(), 2u);
}

}  // namespace
}  // namespace tcptest
