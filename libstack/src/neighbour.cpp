// Neighbour cache shared by ARP (IPv4) and NDP (IPv6).
//
// One state machine for both (RFC 4861 §7.3, which Linux also applies to ARP):
// INCOMPLETE (broadcast/multicast solicitations every neigh_retrans, at most
// neigh_max_solicit, packets queued up to neigh_pending_per_entry) -> REACHABLE on a
// solicited answer -> STALE after neigh_reachable -> DELAY on use -> PROBE (unicast
// solicitations) -> REACHABLE again or deleted. Resolution failure turns the entry FAILED
// for neigh_failed_hold, answers the queued packets with ICMP host unreachable and makes
// further sends fail fast. STALE entries unused for neigh_stale_gc are deleted (expiry).
#include <algorithm>

#include "stack_impl.h"

namespace libstack {

using namespace wire;

Neighbour* StackImpl::neigh_find(uint32_t ifindex, const IpAddr& a) {
  for (auto& n : neigh)
    if (n.ifindex == ifindex && n.addr == a) return &n;
  return nullptr;
}

void StackImpl::neigh_flush_pending(Neighbour& n) {
  Interface* i = iface(n.ifindex);
  auto q = std::move(n.pending);
  n.pending.clear();
  if (!i) return;
  for (auto& p : q) eth_output(*i, n.mac, n.addr.is_v4() ? ethertype::kIpv4 : ethertype::kIpv6, p);
}

void StackImpl::neigh_update(uint32_t ifindex, const IpAddr& a, const MacAddr& mac, bool solicited,
                             bool override_, bool create) {
  if (mac.is_multicast()) return;
  Neighbour* n = neigh_find(ifindex, a);
  if (!n) {
    if (!create) return;
    if (neigh.size() >= tuning.neigh_max_entries) {
      ++ctr.neigh_table_full;
      return;
    }
    Neighbour e;
    e.ifindex = ifindex;
    e.addr = a;
    e.mac = mac;
    e.state = solicited ? State::Reachable : State::Stale;
    e.timer = now + (solicited ? tuning.neigh_reachable : tuning.neigh_stale_gc);
    e.last_used = now;
    neigh.push_back(std::move(e));
    return;
  }
  if (n->state == State::Incomplete || n->state == State::Failed) {
    n->mac = mac;
    n->state = solicited ? State::Reachable : State::Stale;
    n->timer = now + (solicited ? tuning.neigh_reachable : tuning.neigh_stale_gc);
    n->probes = 0;
    neigh_flush_pending(*n);
    return;
  }
  if (n->mac != mac) {
    if (!override_) {
      if (n->state == State::Reachable) {
        n->state = State::Stale;
        n->timer = now + tuning.neigh_stale_gc;
      }
      return;
    }
    n->mac = mac;
    n->state = solicited ? State::Reachable : State::Stale;
    n->timer = now + (solicited ? tuning.neigh_reachable : tuning.neigh_stale_gc);
    return;
  }
  if (solicited) {
    n->state = State::Reachable;
    n->timer = now + tuning.neigh_reachable;
    n->probes = 0;
  }
}

void StackImpl::neigh_solicit(Interface& i, Neighbour& n, bool unicast) {
  ++n.probes;
  n.timer = now + tuning.neigh_retrans;
  if (n.addr.is_v4()) {
    IpAddr src = select_source(n.addr, i.id);
    arp_send(i, ArpRepr::kRequest, src.v4(), unicast ? n.mac : MacAddr{}, n.addr.v4(),
             unicast ? n.mac : MacAddr::broadcast());
  } else {
    IpAddr src = select_source(n.addr, i.id);
    if (src.is_unspecified()) return;  // no usable address yet: retry at the next timer
    Ipv6Addr dst = unicast ? n.addr.v6() : solicited_node(n.addr.v6());
    ndp_send_ns(i, src.v6(), dst, n.addr.v6());
  }
}

void StackImpl::neigh_timers() {
  for (size_t k = 0; k < neigh.size();) {
    Neighbour& n = neigh[k];
    if (n.timer > now) { ++k; continue; }
    Interface* i = iface(n.ifindex);
    bool erase = !i;
    if (!erase) switch (n.state) {
      case State::Incomplete:
        if (n.probes < tuning.neigh_max_solicit) {
          neigh_solicit(*i, n, false);
        } else {
          n.state = State::Failed;
          n.timer = now + tuning.neigh_failed_hold;
          auto q = std::move(n.pending);
          n.pending.clear();
          ctr.neigh_resolve_failed += q.size();
          IpAddr addr = n.addr;
          uint32_t ifindex = n.ifindex;
          // icmp_error may append to neigh (invalidating n); use copies only from here.
          for (auto& p : q) {
            if (addr.is_v4()) icmp_error(false, icmp4::kDestUnreach, icmp4::kHostUnreach, 0, p, ifindex);
            else icmp_error(true, icmp6::kDestUnreach, icmp6::kAddrUnreach, 0, p, ifindex);
          }
        }
        break;
      case State::Failed:
        erase = true;
        break;
      case State::Reachable:
        n.state = State::Stale;
        n.timer = now + tuning.neigh_stale_gc;
        break;
      case State::Stale:
        if (n.last_used + tuning.neigh_stale_gc <= now) erase = true;
        else n.timer = n.last_used + tuning.neigh_stale_gc;
        break;
      case State::Delay:
        n.state = State::Probe;
        n.probes = 0;
        neigh_solicit(*i, n, true);
        break;
      case State::Probe:
        if (n.probes < tuning.neigh_max_probes) neigh_solicit(*i, n, true);
        else erase = true;
        break;
    }
    if (erase) neigh.erase(neigh.begin() + long(k));
    else ++k;
  }
}

}  // namespace libstack
