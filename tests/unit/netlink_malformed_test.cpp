// Malformed netlink requests: truncations of every valid request at every length, broken
// attribute lengths, lying nlmsg_len, and deterministic random bytes. The emulator must
// answer with well-formed replies (or nothing), never read out of bounds (ASan build),
// and never change the Stack for a request it rejected.
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "netlink_harness.h"

namespace nltest {
namespace {

constexpr uint16_t kNew = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;

std::vector<std::vector<uint8_t>> valid_requests(uint32_t ia) {
  return {
      link_req(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 0).u32(IFLA_EXT_MASK, 1).done(),
      link_req(RTM_GETLINK, NLM_F_REQUEST, 0).str(IFLA_IFNAME, "eth0").done(),
      link_req(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, int32_t(ia)).u32(IFLA_MTU, 1400).done(),
      addr_req(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, AF_INET, 0, 0).done(),
      addr_req(RTM_NEWADDR, kNew, AF_INET, 24, ia).addr(IFA_LOCAL, ip("10.0.0.77")).addr(IFA_ADDRESS, ip("10.0.0.77")).done(),
      addr_req(RTM_NEWADDR, kNew, AF_INET6, 64, ia).addr(IFA_ADDRESS, ip("2001:db8:5::1")).done(),
      addr_req(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, AF_INET, 24, ia).addr(IFA_LOCAL, ip("10.0.0.1")).done(),
      route_req(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, AF_INET, 0).u32(RTA_TABLE, 254).done(),
      route_req(RTM_GETROUTE, NLM_F_REQUEST, AF_INET, 32).addr(RTA_DST, ip("10.0.0.9")).done(),
      route_req(RTM_NEWROUTE, kNew, AF_INET, 16).addr(RTA_DST, ip("10.9.0.0")).addr(RTA_GATEWAY, ip("10.0.0.2")).done(),
      route_req(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, AF_INET, 24).addr(RTA_DST, ip("10.0.0.0")).done(),
      Req(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP).zeros(12).done(),
  };
}

// Every reply decodes cleanly; every error ack carries a negative errno.
void check_replies(const std::vector<std::vector<uint8_t>>& d) {
  for (auto& m : decode(d))
    if (m.type == NLMSG_ERROR) { EXPECT_LE(m.error, 0); }
}

std::string state(Stack& s) {
  std::string out;
  for (auto& a : s.addresses()) out += a.cidr.to_string() + "@" + std::to_string(a.ifindex) + ";";
  for (auto& r : s.routes()) out += r.dest.to_string() + ">" + r.gateway.to_string() + ";";
  for (auto& i : s.interfaces()) out += i.name + ":" + std::to_string(i.mtu) + ";";
  return out;
}

TEST(NetlinkMalformed, TruncatedNlmsgLenAtEveryLength) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  for (auto& req : valid_requests(n.ia)) {
    for (size_t len = 0; len < req.size(); ++len) {
      auto r = req;
      uint32_t l32 = uint32_t(len);
      std::memcpy(r.data(), &l32, 4);  // header claims `len`; the buffer keeps its bytes
      std::string before = state(*n.a);
      auto d = nl.handle(r, 1);
      check_replies(d);
      if (len < 16) { EXPECT_TRUE(d.empty()) << "len " << len; }
      auto m = decode(d);
      if (!m.empty() && m[0].type == NLMSG_ERROR && m[0].error != 0) { EXPECT_EQ(state(*n.a), before) << len; }
    }
  }
}

TEST(NetlinkMalformed, TruncatedBufferAtEveryLength) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  for (auto& req : valid_requests(n.ia)) {
    for (size_t len = 0; len < req.size(); ++len) {
      // The buffer is cut but nlmsg_len still claims the full size: nothing is processed.
      std::vector<uint8_t> r(req.begin(), req.begin() + long(len));
      std::string before = state(*n.a);
      auto d = nl.handle(r, 1);
      EXPECT_TRUE(d.empty()) << len;
      EXPECT_EQ(state(*n.a), before);
    }
  }
  EXPECT_GT(nl.counters().dropped_bytes, 0u);
}

TEST(NetlinkMalformed, BrokenAttributes) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  std::string before = state(*n.a);
  auto with_attr_len = [&](uint16_t rta_len) {
    auto r = addr_req(RTM_NEWADDR, kNew, AF_INET, 24, n.ia).addr(IFA_LOCAL, ip("10.0.0.66")).done();
    std::memcpy(&r[24], &rta_len, 2);
    return ack_error(ask(nl, r));
  };
  EXPECT_EQ(with_attr_len(0), -EINVAL);
  EXPECT_EQ(with_attr_len(3), -EINVAL);
  EXPECT_EQ(with_attr_len(9), -EINVAL);    // runs past the message
  EXPECT_EQ(with_attr_len(0xffff), -EINVAL);
  EXPECT_EQ(with_attr_len(6), -EINVAL);    // 2-byte IPv4 address
  // Interface name: not NUL-terminated within IFNAMSIZ, empty.
  uint8_t longname[20];
  std::memset(longname, 'x', sizeof longname);
  EXPECT_EQ(ack_error(ask(nl, link_req(RTM_GETLINK, NLM_F_REQUEST, 0).attr(IFLA_IFNAME, longname, 20).done())), -EINVAL);
  EXPECT_EQ(ack_error(ask(nl, link_req(RTM_GETLINK, NLM_F_REQUEST, 0).attr(IFLA_IFNAME, "", 1).done())), -EINVAL);
  // A 16-byte name without NUL is one too long; 15 without NUL is fine ("eth0" padded no).
  EXPECT_EQ(ack_error(ask(nl, link_req(RTM_GETLINK, NLM_F_REQUEST, 0).attr(IFLA_IFNAME, longname, 16).done())), -EINVAL);
  EXPECT_EQ(ask(nl, link_req(RTM_GETLINK, NLM_F_REQUEST, 0).attr(IFLA_IFNAME, "eth0", 4).done()).at(0).type, RTM_NEWLINK);
  // u32 attributes of the wrong size.
  uint16_t two = 1400;
  EXPECT_EQ(ack_error(ask(nl, link_req(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, int32_t(n.ia)).attr(IFLA_MTU, &two, 2).done())), -EINVAL);
  EXPECT_EQ(ack_error(ask(nl, route_req(RTM_NEWROUTE, kNew, AF_INET, 16).addr(RTA_DST, ip("10.9.0.0"))
                                  .attr(RTA_OIF, &two, 2).done())), -EINVAL);
  // Attribute type with the nested/byte-order bits set is still recognised.
  auto nested = addr_req(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, AF_INET, 24, n.ia).addr(IFA_LOCAL | NLA_F_NESTED, ip("10.0.0.99")).done();
  EXPECT_EQ(ack_error(ask(nl, nested)), -EADDRNOTAVAIL);
  // Prefix length beyond the family, route dst_len beyond the family.
  EXPECT_EQ(ack_error(ask(nl, route_req(RTM_NEWROUTE, kNew, AF_INET, 40).done())), -EINVAL);
  // Fixed header shorter than the message type needs.
  EXPECT_EQ(ack_error(ask(nl, Req(RTM_NEWADDR, kNew).bytes({AF_INET, 24}).done())), -EINVAL);
  EXPECT_EQ(ack_error(ask(nl, Req(RTM_NEWROUTE, kNew).bytes({AF_INET, 24, 0, 0}).done())), -EINVAL);
  EXPECT_EQ(ack_error(ask(nl, Req(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP).done())), -EINVAL);
  EXPECT_EQ(state(*n.a), before);
  EXPECT_GT(nl.counters().malformed, 10u);
}

TEST(NetlinkMalformed, LyingLengthsInMultiMessageDatagrams) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  auto a = Req(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 1).done();
  auto b = Req(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 2).done();
  // Second header claims more than is left: only the first is answered.
  auto bad = b;
  uint32_t big = 1000;
  std::memcpy(bad.data(), &big, 4);
  std::vector<uint8_t> d = a;
  d.insert(d.end(), bad.begin(), bad.end());
  auto r = ask(nl, d);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].seq, 1u);
  // Unaligned nlmsg_len (17): the next message starts at the aligned offset 20.
  auto c = Req(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 1).bytes({0xaa}).done();
  uint32_t seventeen = 17;
  std::memcpy(c.data(), &seventeen, 4);
  d = c;
  d.insert(d.end(), b.begin(), b.end());
  r = ask(nl, d);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].seq, 2u);
  // Last message unaligned at the very end of the datagram.
  std::vector<uint8_t> e = a;
  e.push_back(0xaa);
  uint32_t l = 17;
  std::memcpy(e.data(), &l, 4);
  EXPECT_EQ(ask(nl, e).size(), 1u);
}

TEST(NetlinkMalformed, RandomBytesNeverCrash) {
  Net n;
  umnet::NetlinkRoute nl(*n.a);
  SplitMix64 rng(99);
  auto reqs = valid_requests(n.ia);
  for (int k = 0; k < 3000; ++k) {
    auto r = reqs[rng.below(reqs.size())];
    int flips = 1 + int(rng.below(4));
    for (int f = 0; f < flips; ++f) r[rng.below(r.size())] = uint8_t(rng.next_u32());
    if (rng.below(4) == 0) r.resize(rng.below(r.size() + 1));
    check_replies(nl.handle(r, 5));
  }
  // The stack still works afterwards (whatever the random requests changed).
  EXPECT_EQ(n.a->interfaces().front().name, "lo");
}

}  // namespace
}  // namespace nltest
