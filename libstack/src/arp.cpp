// ARP (RFC 826) on Ethernet interfaces, with RFC 5227 announcements and conflict counting.
//
// Requests for any of our addresses are answered (Linux arp_ignore=0); the sender of a
// request for us is learned. Replies and gratuitous ARP only update entries that exist
// (no cache poisoning by unsolicited replies). Resolution state lives in neighbour.cpp.
#include "stack_impl.h"

namespace libstack {

using namespace wire;

void StackImpl::arp_send(Interface& i, uint16_t op, const Ipv4Addr& spa, const MacAddr& tha,
                         const Ipv4Addr& tpa, const MacAddr& dst) {
  ArpRepr a;
  a.op = op;
  a.sha = i.mac;
  a.spa = spa;
  a.tha = tha;
  a.tpa = tpa;
  uint8_t buf[ArpRepr::kLen];
  a.emit(buf);
  if (eth_output(i, dst, ethertype::kArp, buf)) {
    if (op == ArpRepr::kRequest) ++ctr.arp_requests_tx;
    else ++ctr.arp_replies_tx;
  }
}

void StackImpl::arp_input(Interface& i, std::span<const uint8_t> payload) {
  auto a = ArpRepr::parse(payload);
  if (!a) {
    ++ctr.arp_malformed;
    return;
  }
  if (a->sha.is_multicast()) {
    ++ctr.arp_malformed;
    return;
  }
  ++(a->op == ArpRepr::kRequest ? ctr.arp_requests_rx : ctr.arp_replies_rx);
  IpAddr spa(a->spa), tpa(a->tpa);
  // Someone else claims one of our addresses.
  for (auto& x : i.addrs)
    if (x.cidr.addr == spa && a->sha != i.mac) {
      ++ctr.arp_conflict;
      return;
    }
  uint32_t tif = 0;
  bool for_us = is_local(tpa, &tif) && tif != Stack::kLoopbackIfindex;
  if (!a->spa.is_unspecified())
    neigh_update(i.id, spa, a->sha, a->op == ArpRepr::kReply && for_us, true, for_us);
  if (!for_us) {
    if (a->spa != a->tpa) ++ctr.arp_not_for_us;
    return;
  }
  if (a->op == ArpRepr::kRequest) arp_send(i, ArpRepr::kReply, a->tpa, a->sha, a->spa, a->sha);
}

}  // namespace libstack
