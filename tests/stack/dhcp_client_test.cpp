// DHCPv4 client state machine on a manual clock against a scripted server.
#include <gtest/gtest.h>

#include "config/dhcp_client.h"

using namespace libstack;
using namespace libstack::wire;
using namespace std::chrono_literals;

namespace {

const MacAddr kMac{{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}};
const Ipv4Addr kServer{{10, 9, 0, 1}};
const Ipv4Addr kOffered{{10, 9, 0, 77}};
const Ipv4Addr kBcast{{255, 255, 255, 255}};

struct Sent {
  Instant at;
  DhcpSend send;
  DhcpMessage msg;
};

struct Harness {
  SplitMix64 rng;
  std::vector<Sent> sent;
  std::vector<DhcpLease> configured, deconfigured;
  Instant now{0};
  DhcpClient client;

  explicit Harness(uint64_t seed = 1, DhcpClientConfig cfg = base_config())
      : rng(seed),
        client(cfg, rng,
               DhcpCallbacks{[this](const DhcpSend& s) {
                               auto m = parse_dhcp(s.payload);
                               ASSERT_TRUE(m) << "client emitted an unparsable message";
                               sent.push_back({now, s, *m});
                             },
                             [this](const DhcpLease& l) { configured.push_back(l); },
                             [this](const DhcpLease& l) { deconfigured.push_back(l); }}) {}

  static DhcpClientConfig base_config() {
    DhcpClientConfig c;
    c.mac = kMac;
    c.hostname = "node1";
    return c;
  }
  void advance_to(Instant t) {
    now = t;
    client.poll(now);
  }
  // Jumps to the client's next deadline (bounded by `limit`).
  bool step(Instant limit) {
    Instant t = client.poll_at();
    if (t == kNever || t > limit) return false;
    advance_to(std::max(t, now));
    return true;
  }
  const DhcpMessage& last() const { return sent.back().msg; }

  // Server reply to the client's last message.
  DhcpMessage reply(DhcpMessageType type, uint32_t lease = 3600) const {
    const DhcpMessage& req = last();
    DhcpMessage r;
    r.op = DhcpOp::Reply;
    r.xid = req.xid;
    r.chaddr = req.chaddr;
    r.flags = req.flags;
    r.type = type;
    r.server_id = kServer;
    if (type != DhcpMessageType::Nak) {
      r.yiaddr = req.requested_ip.value_or(req.ciaddr.is_unspecified() ? kOffered : req.ciaddr);
      if (type == DhcpMessageType::Offer) r.yiaddr = kOffered;
      r.lease_time = lease;
      r.subnet_mask = Ipv4Addr{{255, 255, 255, 0}};
      r.routers = {kServer};
      r.dns_servers = {Ipv4Addr{{10, 9, 0, 53}}, Ipv4Addr{{10, 9, 0, 54}}};
      r.domain_name = "lan.test";
      r.interface_mtu = 1400;
    }
    return r;
  }
  void deliver(const DhcpMessage& m) { client.on_packet(emit_dhcp(m), now); }

  void bind(uint32_t lease = 3600) {
    client.start(now);
    client.poll(now);
    deliver(reply(DhcpMessageType::Offer, lease));
    deliver(reply(DhcpMessageType::Ack, lease));
    ASSERT_EQ(client.state(), DhcpState::Bound);
  }
};

TEST(DhcpClient, DiscoverOfferRequestAck) {
  Harness h;
  h.now = 100s;
  h.client.start(h.now);
  EXPECT_EQ(h.client.state(), DhcpState::Init);
  EXPECT_EQ(h.client.poll_at(), Instant(100s));
  h.client.poll(h.now);
  ASSERT_EQ(h.sent.size(), 1u);
  EXPECT_EQ(h.client.state(), DhcpState::Selecting);
  const auto d = h.sent[0];
  EXPECT_EQ(d.msg.type, DhcpMessageType::Discover);
  EXPECT_EQ(d.send.src, Ipv4Addr{});
  EXPECT_EQ(d.send.dst, kBcast);
  EXPECT_EQ(d.msg.flags, kDhcpFlagBroadcast);
  EXPECT_EQ(d.msg.client_mac(), kMac);
  EXPECT_EQ(d.msg.host_name, "node1");
  EXPECT_EQ(d.msg.client_id, (std::vector<uint8_t>{1, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55}));

  h.now = 100s + 300ms;
  h.deliver(h.reply(DhcpMessageType::Offer));
  ASSERT_EQ(h.sent.size(), 2u);
  const auto r = h.sent[1].msg;
  EXPECT_EQ(h.client.state(), DhcpState::Requesting);
  EXPECT_EQ(r.type, DhcpMessageType::Request);
  EXPECT_EQ(r.xid, d.msg.xid) << "REQUEST answers the OFFER's xid";
  EXPECT_EQ(r.requested_ip, kOffered);
  EXPECT_EQ(r.server_id, kServer);
  EXPECT_TRUE(r.ciaddr.is_unspecified());
  EXPECT_EQ(h.sent[1].send.dst, kBcast);

  h.now = 100s + 500ms;
  h.deliver(h.reply(DhcpMessageType::Ack));
  EXPECT_EQ(h.client.state(), DhcpState::Bound);
  ASSERT_EQ(h.configured.size(), 1u);
  const DhcpLease& l = h.configured[0];
  EXPECT_EQ(l.address, kOffered);
  EXPECT_EQ(l.prefix_len, 24);
  EXPECT_EQ(l.router(), kServer);
  ASSERT_EQ(l.dns_servers.size(), 2u);
  EXPECT_EQ(l.domain_name, "lan.test");
  EXPECT_EQ(l.mtu, 1400);
  EXPECT_EQ(l.server_id, kServer);
  // Times count from when the REQUEST was sent (100.3 s).
  EXPECT_EQ(l.start, Instant(100s + 300ms));
  EXPECT_EQ(l.renew_at, l.start + 1800s);
  EXPECT_EQ(l.rebind_at, l.start + 3150s);
  EXPECT_EQ(l.expires_at, l.start + 3600s);
  EXPECT_EQ(h.client.poll_at(), l.renew_at);
  EXPECT_TRUE(h.deconfigured.empty());
}

TEST(DhcpClient, DiscoverRetransmitBackoffIsRandomisedExponential) {
  std::vector<std::vector<Duration>> runs;
  for (uint64_t seed : {1, 2}) {
    Harness h(seed);
    h.client.start(0s);
    h.client.poll(0s);
    for (int i = 0; i < 7; ++i) {
      // Nothing is sent before the deadline.
      Instant due = h.client.poll_at();
      size_t before = h.sent.size();
      h.advance_to(due - 1ms);
      EXPECT_EQ(h.sent.size(), before);
      h.advance_to(due);
      EXPECT_EQ(h.sent.size(), before + 1);
    }
    ASSERT_EQ(h.sent.size(), 8u);
    std::vector<Duration> gaps;
    for (size_t i = 1; i < h.sent.size(); ++i) {
      EXPECT_EQ(h.sent[i].msg.type, DhcpMessageType::Discover);
      EXPECT_EQ(h.sent[i].msg.xid, h.sent[0].msg.xid);
      gaps.push_back(h.sent[i].at - h.sent[i - 1].at);
    }
    const int nominal[] = {4, 8, 16, 32, 64, 64, 64};
    for (size_t i = 0; i < gaps.size(); ++i) {
      EXPECT_GE(gaps[i], std::chrono::seconds(nominal[i]) - 1s) << i;
      EXPECT_LE(gaps[i], std::chrono::seconds(nominal[i]) + 1s) << i;
    }
    EXPECT_EQ(h.sent.back().msg.secs, std::chrono::duration_cast<std::chrono::seconds>(
                                          h.sent.back().at).count());
    EXPECT_EQ(h.client.stats().retransmissions, 7u);
    runs.push_back(gaps);
  }
  EXPECT_NE(runs[0], runs[1]) << "jitter must come from the injected Random";
}

TEST(DhcpClient, RequestRetriesThenRestarts) {
  Harness h;
  h.client.start(0s);
  h.client.poll(0s);
  h.deliver(h.reply(DhcpMessageType::Offer));
  uint32_t xid = h.last().xid;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(h.step(1000s));
  EXPECT_EQ(h.sent.size(), 5u);  // DISCOVER + 4 REQUESTs
  for (size_t i = 1; i < 5; ++i) EXPECT_EQ(h.sent[i].msg.type, DhcpMessageType::Request);
  ASSERT_TRUE(h.step(1000s));  // tries exhausted -> INIT -> DISCOVER with a new xid
  EXPECT_EQ(h.client.state(), DhcpState::Selecting);
  EXPECT_EQ(h.last().type, DhcpMessageType::Discover);
  EXPECT_NE(h.last().xid, xid);
}

TEST(DhcpClient, NakRestartsAfterDelay) {
  Harness h;
  h.client.start(0s);
  h.client.poll(0s);
  h.deliver(h.reply(DhcpMessageType::Offer));
  h.now = 1s;
  h.deliver(h.reply(DhcpMessageType::Nak));
  EXPECT_EQ(h.client.state(), DhcpState::Init);
  EXPECT_EQ(h.client.poll_at(), Instant(3s));
  EXPECT_TRUE(h.configured.empty());
  h.advance_to(3s);
  EXPECT_EQ(h.last().type, DhcpMessageType::Discover);
  EXPECT_EQ(h.client.stats().naks, 1u);
}

TEST(DhcpClient, IgnoresForeignAndMalformedReplies) {
  Harness h;
  h.client.start(0s);
  h.client.poll(0s);
  auto offer = h.reply(DhcpMessageType::Offer);
  auto wrong_xid = offer;
  wrong_xid.xid ^= 1;
  h.deliver(wrong_xid);
  auto wrong_mac = offer;
  wrong_mac.chaddr[5] ^= 1;
  h.deliver(wrong_mac);
  auto no_server = offer;
  no_server.server_id.reset();
  h.deliver(no_server);
  auto ack_not_offer = h.reply(DhcpMessageType::Ack);
  h.deliver(ack_not_offer);
  std::vector<uint8_t> junk(100, 0xee);
  h.client.on_packet(junk, h.now);
  EXPECT_EQ(h.client.state(), DhcpState::Selecting);
  EXPECT_EQ(h.client.stats().ignored, 4u);
  EXPECT_EQ(h.client.stats().malformed, 1u);
  h.deliver(offer);
  // An ACK from another server than the one we chose is ignored.
  auto other = h.reply(DhcpMessageType::Ack);
  other.server_id = Ipv4Addr{{10, 9, 0, 2}};
  h.deliver(other);
  EXPECT_EQ(h.client.state(), DhcpState::Requesting);
  h.deliver(h.reply(DhcpMessageType::Ack));
  EXPECT_EQ(h.client.state(), DhcpState::Bound);
}

TEST(DhcpClient, RenewUnicastsToServerAndExtendsLease) {
  Harness h;
  h.bind(100);
  Instant t1 = h.client.lease()->renew_at;
  EXPECT_EQ(t1, Instant(50s));
  h.advance_to(t1);
  EXPECT_EQ(h.client.state(), DhcpState::Renewing);
  const auto s = h.sent.back();
  EXPECT_EQ(s.msg.type, DhcpMessageType::Request);
  EXPECT_EQ(s.msg.ciaddr, kOffered);
  EXPECT_EQ(s.send.src, kOffered);
  EXPECT_EQ(s.send.dst, kServer);
  EXPECT_FALSE(s.msg.server_id) << "RENEWING REQUEST carries no server id";
  EXPECT_FALSE(s.msg.requested_ip);
  h.now = 51s;
  h.deliver(h.reply(DhcpMessageType::Ack, 100));
  EXPECT_EQ(h.client.state(), DhcpState::Bound);
  ASSERT_EQ(h.configured.size(), 2u);
  EXPECT_EQ(h.configured[1].expires_at, Instant(150s));
  EXPECT_TRUE(h.deconfigured.empty());
}

TEST(DhcpClient, RenewRetriesThenRebindsByBroadcast) {
  auto cfg = Harness::base_config();
  cfg.min_renew_retry = 10s;
  Harness h(3, cfg);
  h.bind(1000);  // T1 500, T2 875, expiry 1000
  std::vector<Instant> renew_times;
  for (int i = 0; i < 50 && h.client.state() != DhcpState::Rebinding; ++i) {
    ASSERT_TRUE(h.step(2000s));
    if (h.client.state() == DhcpState::Renewing) renew_times.push_back(h.now);
  }
  ASSERT_EQ(h.client.state(), DhcpState::Rebinding);
  ASSERT_GE(renew_times.size(), 4u);
  EXPECT_EQ(renew_times[0], Instant(500s));
  EXPECT_EQ(renew_times[1], Instant(500s + 187500ms)) << "half of the time left to T2";
  for (size_t i = 1; i < renew_times.size(); ++i) {
    EXPECT_GT(renew_times[i], renew_times[i - 1]);
    EXPECT_GE(renew_times[i] - renew_times[i - 1], Duration(10s) - 1ns);
    EXPECT_LE(renew_times[i], Instant(875s));
  }
  EXPECT_EQ(h.now, Instant(875s));
  const auto s = h.sent.back();
  EXPECT_EQ(s.send.dst, kBcast);
  EXPECT_EQ(s.send.src, kOffered);
  EXPECT_EQ(s.msg.ciaddr, kOffered);
  h.deliver(h.reply(DhcpMessageType::Ack, 1000));
  EXPECT_EQ(h.client.state(), DhcpState::Bound);
  EXPECT_EQ(h.client.lease()->expires_at, Instant(1875s));
}

TEST(DhcpClient, LeaseExpiryDeconfiguresAndRestarts) {
  Harness h;
  h.bind(100);
  for (int i = 0; i < 100 && h.client.state() != DhcpState::Selecting; ++i)
    ASSERT_TRUE(h.step(1000s));
  EXPECT_EQ(h.now, Instant(100s));
  ASSERT_EQ(h.deconfigured.size(), 1u);
  EXPECT_EQ(h.deconfigured[0].address, kOffered);
  EXPECT_FALSE(h.client.lease());
  EXPECT_EQ(h.last().type, DhcpMessageType::Discover);
  EXPECT_EQ(h.client.stats().expiries, 1u);
}

TEST(DhcpClient, NakWhileRenewingDropsLease) {
  Harness h;
  h.bind(100);
  h.advance_to(50s);
  h.deliver(h.reply(DhcpMessageType::Nak));
  EXPECT_EQ(h.deconfigured.size(), 1u);
  EXPECT_EQ(h.client.state(), DhcpState::Selecting);
  EXPECT_EQ(h.last().type, DhcpMessageType::Discover);
}

TEST(DhcpClient, ServerChosenT1T2AreUsedAndBadOnesReplaced) {
  Harness h;
  h.client.start(0s);
  h.client.poll(0s);
  h.deliver(h.reply(DhcpMessageType::Offer));
  auto ack = h.reply(DhcpMessageType::Ack, 1000);
  ack.renewal_time = 100;
  ack.rebinding_time = 200;
  h.deliver(ack);
  EXPECT_EQ(h.client.lease()->renew_at, Instant(100s));
  EXPECT_EQ(h.client.lease()->rebind_at, Instant(200s));

  Harness g;
  g.client.start(0s);
  g.client.poll(0s);
  g.deliver(g.reply(DhcpMessageType::Offer));
  auto bad = g.reply(DhcpMessageType::Ack, 1000);
  bad.renewal_time = 900;
  bad.rebinding_time = 800;  // T1 > T2: ignored
  g.deliver(bad);
  EXPECT_EQ(g.client.lease()->renew_at, Instant(500s));
  EXPECT_EQ(g.client.lease()->rebind_at, Instant(875s));
}

TEST(DhcpClient, InfiniteLeaseHasNoDeadline) {
  Harness h;
  h.bind(0xffffffffu);
  EXPECT_EQ(h.client.poll_at(), kNever);
  h.advance_to(Instant(1000000s));
  EXPECT_EQ(h.client.state(), DhcpState::Bound);
}

TEST(DhcpClient, ReleaseAndDecline) {
  Harness h;
  h.bind();
  h.client.release(h.now);
  EXPECT_EQ(h.last().type, DhcpMessageType::Release);
  EXPECT_EQ(h.sent.back().send.dst, kServer);
  EXPECT_EQ(h.last().ciaddr, kOffered);
  EXPECT_EQ(h.deconfigured.size(), 1u);
  EXPECT_EQ(h.client.state(), DhcpState::Stopped);
  EXPECT_EQ(h.client.poll_at(), kNever);

  Harness g;
  g.bind();
  g.now = 5s;
  g.client.decline(g.now);
  EXPECT_EQ(g.last().type, DhcpMessageType::Decline);
  EXPECT_EQ(g.last().requested_ip, kOffered);
  EXPECT_EQ(g.sent.back().send.dst, kBcast);
  EXPECT_EQ(g.deconfigured.size(), 1u);
  EXPECT_EQ(g.client.poll_at(), Instant(15s));
}

TEST(DhcpClient, MaskAbsentUsesClassfulPrefix) {
  Harness h;
  h.client.start(0s);
  h.client.poll(0s);
  h.deliver(h.reply(DhcpMessageType::Offer));
  auto ack = h.reply(DhcpMessageType::Ack);
  ack.subnet_mask.reset();
  h.deliver(ack);
  EXPECT_EQ(h.client.lease()->prefix_len, 8) << "10.x is class A";
}

}  // namespace
