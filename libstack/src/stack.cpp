// Stack: interfaces, addresses, the poll loop and the link layer.
//
// Theory of operation
// -------------------
// A Stack is a plain object graph (StackImpl) with no global state: interfaces own their
// Link (or borrow it), addresses and multicast memberships; the stack owns the routing
// table, one neighbour cache shared by ARP and NDP, the reassembly buffers, the loopback
// queue and registries of sockets (the sockets themselves are owned by the caller).
//
// Nothing runs by itself. poll(now) (1) drains every link up to Tuning::rx_budget frames
// and pushes each frame up synchronously: Ethernet -> ARP | IPv4 | IPv6 -> reassembly ->
// ICMP | UDP | TCP -> socket queues (whose readiness callbacks fire right away); (2)
// drains the loopback queue, where packets to our own addresses are parked so that a
// send never re-enters the receive path of the same call; (3) runs every timer whose time
// has come: neighbour retransmits and expiry, DAD, router solicitations, reassembly
// timeouts, the TCP engine. next_deadline() is the minimum over those timers, so an
// event loop can sleep exactly until then. Output is synchronous: a socket send builds the
// IP packet, looks up the route (longest prefix match), fragments if needed, resolves the
// next hop through the neighbour cache (queueing a few packets while it resolves) and
// hands the frame to Link::transmit.
//
// Every drop path increments one named counter (Counters in stack.h).
#include <algorithm>
#include <cerrno>

#include "stack_impl.h"
#include "tcp_glue.h"

namespace libstack {

using namespace wire;

StackImpl::StackImpl(Random& r, const Tuning& t) : rng(r), tuning(t) {
  ip4_ident = uint16_t(rng.next_u32());
  ip6_ident = rng.next_u32();
  icmp_tokens = tuning.icmp_error_burst;
  auto lo = std::make_unique<Interface>();
  lo->id = Stack::kLoopbackIfindex;
  lo->name = "lo";
  lo->loopback = true;
  lo->mtu = 65536;
  ifs.push_back(std::move(lo));
  add_address(Stack::kLoopbackIfindex, Cidr{IpAddr(Ipv4Addr{{127, 0, 0, 1}}), 8});
  Ipv6Addr one{};
  one.b[15] = 1;
  add_address(Stack::kLoopbackIfindex, Cidr{IpAddr(one), 128});
  tcp = std::make_unique<TcpGlue>(*this);
}

StackImpl::~StackImpl() {
  tcp.reset();
  for (auto* s : udp) s->stack = nullptr;
  for (auto* s : icmp_socks) s->stack = nullptr;
}

Interface* StackImpl::iface(uint32_t id) {
  for (auto& i : ifs)
    if (i->id == id) return i.get();
  return nullptr;
}
const Interface* StackImpl::iface(uint32_t id) const {
  for (auto& i : ifs)
    if (i->id == id) return i.get();
  return nullptr;
}

void StackImpl::join(Interface& i, const IpAddr& g) {
  for (auto& [a, n] : i.groups)
    if (a == g) { ++n; return; }
  i.groups.emplace_back(g, 1);
}
void StackImpl::leave(Interface& i, const IpAddr& g) {
  for (size_t k = 0; k < i.groups.size(); ++k)
    if (i.groups[k].first == g && --i.groups[k].second == 0) {
      i.groups.erase(i.groups.begin() + long(k));
      return;
    }
}
bool StackImpl::joined(const Interface& i, const IpAddr& g) const {
  for (auto& [a, n] : i.groups)
    if (a == g) return true;
  return false;
}

int StackImpl::add_interface(Link* link, std::unique_ptr<Link> owned, MacAddr mac, size_t mtu,
                             std::string name) {
  if (!link) return -EINVAL;
  auto i = std::make_unique<Interface>();
  i->id = next_ifindex++;
  i->name = name.empty() ? "eth" + std::to_string(ifs.size() - 1) : std::move(name);
  i->link = link;
  i->owned = std::move(owned);
  i->mac = mac;
  i->mtu = mtu ? mtu : link->mtu();
  if (i->mtu < 68) return -EINVAL;
  Interface& ref = *i;
  ifs.push_back(std::move(i));
  link->set_rx_notify([this] { notify(); });
  join(ref, IpAddr(all_nodes()));
  if (ref.is_ethernet() && tuning.ipv6_link_local)
    add_address(ref.id, Cidr{IpAddr(link_local_from_mac(mac)), 64});
  notify();
  return int(ref.id);
}

static Cidr network_of(const Cidr& c) {
  Cidr n = c;
  size_t bytes = c.addr.is_v4() ? 4 : 16;
  for (size_t k = 0; k < bytes; ++k) {
    size_t bit = k * 8;
    if (bit >= c.prefix_len) n.addr.b[k] = 0;
    else if (bit + 8 > c.prefix_len) n.addr.b[k] &= uint8_t(0xff << (8 - (c.prefix_len - bit)));
  }
  return n;
}

int StackImpl::add_address(uint32_t ifindex, const Cidr& c) {
  Interface* i = iface(ifindex);
  if (!i) return -ENODEV;
  if (c.prefix_len > (c.addr.is_v4() ? 32 : 128) || c.addr.is_unspecified()) return -EINVAL;
  if (c.addr.is_v4() ? c.addr.v4().is_multicast() : c.addr.v6().is_multicast()) return -EINVAL;
  for (auto& a : i->addrs)
    if (a.cidr.addr == c.addr) return -EEXIST;
  IfAddr a;
  a.cidr = c;
  bool dad = c.addr.is_v6() && i->is_ethernet() && tuning.dad_transmits > 0;
  if (dad) {
    a.tentative = true;
    a.dad_probes_left = tuning.dad_transmits;
    a.dad_next = now;
  }
  i->addrs.push_back(a);
  if (c.addr.is_v6()) join(*i, IpAddr(solicited_node(c.addr.v6())));
  uint8_t host = c.addr.is_v4() ? 32 : 128;
  if (c.prefix_len < host && !i->loopback) {
    RouteInfo r;
    r.dest = network_of(c);
    r.gateway = unspecified(c.addr.family);
    r.ifindex = ifindex;
    r.metric = c.addr.is_v4() ? 0 : 256;
    r.origin = RouteInfo::Origin::Connected;
    add_route(r);
  }
  if (c.addr.is_v4() && i->is_ethernet() && tuning.gratuitous_arp) {
    // Gratuitous ARP request (RFC 5227 §3 announcement): spa = tpa = our address.
    arp_send(*i, ArpRepr::kRequest, c.addr.v4(), MacAddr{}, c.addr.v4(), MacAddr::broadcast());
    ++ctr.arp_gratuitous_tx;
  }
  notify();
  return 0;
}

int StackImpl::set_address_preference(uint32_t ifindex, const IpAddr& a, bool deprecated,
                                      bool temporary) {
  Interface* i = iface(ifindex);
  if (!i) return -ENODEV;
  for (auto& x : i->addrs)
    if (x.cidr.addr == a) {
      x.deprecated = deprecated;
      x.temporary = temporary;
      return 0;
    }
  return -EADDRNOTAVAIL;
}

int StackImpl::remove_address(uint32_t ifindex, const Cidr& c) {
  Interface* i = iface(ifindex);
  if (!i) return -ENODEV;
  auto it = std::find_if(i->addrs.begin(), i->addrs.end(),
                         [&](const IfAddr& a) { return a.cidr.addr == c.addr; });
  if (it == i->addrs.end()) return -EADDRNOTAVAIL;
  Cidr net = network_of(it->cidr);
  i->addrs.erase(it);
  if (c.addr.is_v6()) leave(*i, IpAddr(solicited_node(c.addr.v6())));
  // Drop the connected route unless another address on the interface still covers it.
  bool still = std::any_of(i->addrs.begin(), i->addrs.end(),
                           [&](const IfAddr& a) { return network_of(a.cidr) == net; });
  if (!still)
    std::erase_if(routes, [&](const Route& r) {
      return r.info.origin == RouteInfo::Origin::Connected && r.info.ifindex == ifindex &&
             r.info.dest == net;
    });
  return 0;
}

// ---------------- link layer ----------------

bool StackImpl::eth_output(Interface& i, const MacAddr& dst, uint16_t et, std::span<const uint8_t> payload) {
  if (!i.up) {
    ++ctr.link_tx_dropped;
    return false;
  }
  std::vector<uint8_t> f(std::max<size_t>(60, EthernetRepr::kHeaderLen + payload.size()));
  EthernetRepr e;
  e.dst = dst;
  e.src = i.mac;
  e.ethertype = et;
  e.emit(f);
  std::copy(payload.begin(), payload.end(), f.begin() + EthernetRepr::kHeaderLen);
  if (!i.link->transmit(f, now)) {
    ++ctr.link_tx_dropped;
    return false;
  }
  ++ctr.tx_frames;
  return true;
}

void StackImpl::link_output(Interface& i, const IpAddr& nh, std::vector<uint8_t> pkt) {
  if (i.loopback) {
    if (loopback_q.size() >= kLoopbackQueueMax) {  // sender loops without polling
      ++ctr.link_tx_dropped;
      return;
    }
    loopback_q.push_back(std::move(pkt));
    notify();
    return;
  }
  if (!i.up) {
    ++ctr.link_tx_dropped;
    return;
  }
  uint16_t et = nh.is_v4() ? ethertype::kIpv4 : ethertype::kIpv6;
  if (!i.is_ethernet()) {
    if (i.link->transmit(pkt, now)) ++ctr.tx_frames;
    else ++ctr.link_tx_dropped;
    return;
  }
  if (nh.is_v4() ? (nh.v4().is_multicast()) : nh.v6().is_multicast()) {
    eth_output(i, multicast_mac(nh), et, pkt);
    return;
  }
  if (nh.is_v4() && is_v4_broadcast(nh, i)) {
    eth_output(i, MacAddr::broadcast(), et, pkt);
    return;
  }
  Neighbour* n = neigh_find(i.id, nh);
  if (n) {
    n->last_used = now;
    switch (n->state) {
      case State::Failed:
        ++ctr.neigh_resolve_failed;
        return;
      case State::Incomplete:
        if (n->pending.size() >= tuning.neigh_pending_per_entry) {
          n->pending.pop_front();
          ++ctr.neigh_queue_overflow;
        }
        n->pending.push_back(std::move(pkt));
        return;
      case State::Stale:
        n->state = State::Delay;
        n->timer = now + tuning.neigh_delay;
        [[fallthrough]];
      default:
        eth_output(i, n->mac, et, pkt);
        return;
    }
  }
  if (neigh.size() >= tuning.neigh_max_entries) {
    // Evict the least recently used entry that is not being resolved.
    auto victim = neigh.end();
    for (auto it = neigh.begin(); it != neigh.end(); ++it)
      if (it->state != State::Incomplete && (victim == neigh.end() || it->last_used < victim->last_used))
        victim = it;
    if (victim == neigh.end()) {
      ++ctr.neigh_table_full;
      return;
    }
    neigh.erase(victim);
  }
  Neighbour e;
  e.ifindex = i.id;
  e.addr = nh;
  e.state = State::Incomplete;
  e.last_used = now;
  e.pending.push_back(std::move(pkt));
  neigh.push_back(std::move(e));
  Neighbour& ref = neigh.back();
  neigh_solicit(i, ref, false);
}

void StackImpl::frame_input(Interface& i, std::span<const uint8_t> f) {
  if (!i.is_ethernet()) {
    if (f.empty()) { ++ctr.ipv4_truncated; return; }
    if ((f[0] >> 4) == 4) ipv4_input(i, f);
    else if ((f[0] >> 4) == 6) ipv6_input(i, f);
    else ++ctr.ipv4_bad_version;
    return;
  }
  auto e = EthernetRepr::parse(f);
  if (!e) {
    if (e.error == Error::Truncated) ++ctr.eth_truncated;
    else ++ctr.eth_unknown_ethertype;
    return;
  }
  if (e->src.is_multicast()) { ++ctr.eth_bad_src; return; }
  if (e->dst != i.mac && !e->dst.is_multicast()) { ++ctr.eth_not_for_us; return; }
  switch (e->ethertype) {
    case ethertype::kArp: arp_input(i, e->payload); break;
    case ethertype::kIpv4: ipv4_input(i, e->payload); break;
    case ethertype::kIpv6: ipv6_input(i, e->payload); break;
    default: ++ctr.eth_unknown_ethertype; break;
  }
}

void StackImpl::poll(Instant t) {
  if (t > now) now = t;
  for (size_t k = 0; k < ifs.size(); ++k) {
    Interface* i = ifs[k].get();
    if (!i->link) continue;
    size_t need = i->mtu + 64;
    for (size_t n = 0; n < tuning.rx_budget; ++n) {
      if (rxbuf.size() < need) rxbuf.resize(need);
      // receive_swap: an in-process link hands its frame buffer over instead of copying.
      size_t len = i->link->receive_swap(rxbuf, now);
      if (len == 0) break;
      ++ctr.rx_frames;
      if (len > rxbuf.size()) { ++ctr.rx_frame_too_big; continue; }
      if (!i->up) { ++ctr.eth_not_for_us; continue; }
      frame_input(*i, std::span<const uint8_t>(rxbuf.data(), len));
    }
  }
  // Loopback: bounded so that a ping-pong between two local sockets cannot spin forever.
  for (size_t n = 0, limit = loopback_q.size() + tuning.rx_budget; n < limit && !loopback_q.empty(); ++n) {
    std::vector<uint8_t> p = std::move(loopback_q.front());
    loopback_q.pop_front();
    Interface& lo = *ifs[0];
    if (!p.empty() && (p[0] >> 4) == 4) ipv4_input(lo, p);
    else ipv6_input(lo, p);
    give_buf(std::move(p));
  }
  neigh_timers();
  reasm_timers();
  dad_timers();
  std::erase_if(pmtu, [&](const PmtuEntry& e) { return e.expires <= now; });
  tcp->poll(now);
}

Instant StackImpl::next_deadline() const {
  Instant d = kNever;
  if (!loopback_q.empty()) return now;
  for (auto& n : neigh) d = std::min(d, n.timer);
  for (auto& r : reasm) d = std::min(d, r.deadline);
  for (auto& i : ifs) {
    for (auto& a : i->addrs) d = std::min(d, a.dad_next);
    d = std::min(d, i->rs_next);
    if (i->link) d = std::min(d, i->link->next_rx_time());
  }
  for (auto& p : pmtu) d = std::min(d, p.expires);
  d = std::min(d, tcp->next_deadline());
  return d;
}

size_t StackImpl::memory_usage() const {
  size_t m = sizeof(StackImpl) + rxbuf.capacity() + routes.capacity() * sizeof(Route) +
             neigh.capacity() * sizeof(Neighbour) + reasm_bytes + ifs.capacity() * sizeof(void*) +
             tuning.tcp_congestion.capacity();
  for (auto& i : ifs)
    m += sizeof(Interface) + i->addrs.capacity() * sizeof(IfAddr) +
         i->groups.capacity() * sizeof(i->groups[0]) + i->name.capacity();
  for (auto& r : routes) m += r.info.nexthops.capacity() * sizeof(NextHop);
  for (auto& n : neigh)
    for (auto& p : n.pending) m += p.capacity();
  for (auto& p : loopback_q) m += p.capacity();
  for (auto& p : buf_pool) m += p.capacity();
  m += tcp->memory_usage();
  return m;
}

// ---------------- public facade ----------------

Stack::Stack(std::unique_ptr<StackImpl> impl) : impl_(std::move(impl)) {}
Stack::~Stack() = default;

std::unique_ptr<Stack> Stack::create(StackConfig cfg) {
  return std::unique_ptr<Stack>(new Stack(std::make_unique<StackImpl>(cfg.random, cfg.tuning)));
}

int Stack::add_interface(std::unique_ptr<Link> link, MacAddr mac, size_t mtu, std::string name) {
  Link* l = link.get();
  return impl_->add_interface(l, std::move(link), mac, mtu, std::move(name));
}
int Stack::add_interface(Link& link, MacAddr mac, size_t mtu, std::string name) {
  return impl_->add_interface(&link, nullptr, mac, mtu, std::move(name));
}

int Stack::remove_interface(uint32_t ifindex) {
  auto& s = *impl_;
  if (ifindex == kLoopbackIfindex) return -EINVAL;
  auto it = std::find_if(s.ifs.begin(), s.ifs.end(), [&](auto& i) { return i->id == ifindex; });
  if (it == s.ifs.end()) return -ENODEV;
  s.routes_drop_interface(ifindex);
  std::erase_if(s.neigh, [&](const Neighbour& n) { return n.ifindex == ifindex; });
  (*it)->link->set_rx_notify(nullptr);
  s.ifs.erase(it);
  return 0;
}

int Stack::set_mtu(uint32_t ifindex, size_t mtu) {
  Interface* i = impl_->iface(ifindex);
  if (!i) return -ENODEV;
  if (mtu < 68 || (i->link && mtu > i->link->mtu())) return -EINVAL;
  i->mtu = mtu;
  return 0;
}

int Stack::set_link_up(uint32_t ifindex, bool up) {
  Interface* i = impl_->iface(ifindex);
  if (!i) return -ENODEV;
  if (i->loopback && !up) return -EINVAL;
  i->up = up;
  if (!up) std::erase_if(impl_->neigh, [&](const Neighbour& n) { return n.ifindex == ifindex; });
  return 0;
}

int Stack::add_address(uint32_t ifindex, const Cidr& c) { return impl_->add_address(ifindex, c); }
int Stack::remove_address(uint32_t ifindex, const Cidr& c) { return impl_->remove_address(ifindex, c); }
int Stack::set_address_preference(uint32_t ifindex, const IpAddr& a, bool deprecated,
                                  bool temporary) {
  return impl_->set_address_preference(ifindex, a, deprecated, temporary);
}

int Stack::add_route(const Cidr& dest, const IpAddr& gw, uint32_t ifindex, uint32_t metric) {
  RouteInfo r;
  r.dest = network_of(dest);
  r.gateway = gw;
  r.ifindex = ifindex;
  r.metric = metric;
  return impl_->add_route(r);
}
int Stack::remove_route(const Cidr& dest, const IpAddr& gw, uint32_t ifindex) {
  return impl_->remove_route(network_of(dest), gw, ifindex);
}
int Stack::set_multipath_route(const Cidr& dest, std::span<const NextHop> hops,
                               RouteInfo::Origin origin, uint32_t metric) {
  return impl_->set_multipath_route(network_of(dest), hops, origin, metric);
}
size_t Stack::flush_routes(RouteInfo::Origin origin) {
  return std::erase_if(impl_->routes, [&](const Route& r) { return r.info.origin == origin; });
}
std::optional<RouteChoice> Stack::lookup_route(const IpAddr& dst, uint32_t oif) const {
  Hop h = impl_->lookup(dst, oif);
  if (!h) return std::nullopt;
  return RouteChoice{h.route->info, h.gateway, h.ifindex};
}

std::vector<InterfaceInfo> Stack::interfaces() const {
  std::vector<InterfaceInfo> v;
  for (auto& i : impl_->ifs)
    v.push_back({i->id, i->name, i->link ? i->link->kind() : LinkKind::Ip, i->mac, i->mtu, i->loopback, i->up});
  return v;
}
std::vector<AddressInfo> Stack::addresses() const {
  std::vector<AddressInfo> v;
  for (auto& i : impl_->ifs)
    for (auto& a : i->addrs)
      v.push_back({i->id, a.cidr, a.tentative, a.dad_failed, a.deprecated, a.temporary});
  return v;
}
std::vector<RouteInfo> Stack::routes() const {
  std::vector<RouteInfo> v;
  for (auto& r : impl_->routes) v.push_back(r.info);
  return v;
}
std::vector<NeighbourInfo> Stack::neighbours() const {
  std::vector<NeighbourInfo> v;
  for (auto& n : impl_->neigh) v.push_back({n.ifindex, n.addr, n.mac, n.state});
  return v;
}

void Stack::poll(Instant now) { impl_->poll(now); }
Instant Stack::next_deadline() const { return impl_->next_deadline(); }
void Stack::set_router_advert_hook(
    std::function<void(uint32_t, const Ipv6Addr&, std::span<const uint8_t>)> cb) {
  impl_->ra_hook = std::move(cb);
}
void Stack::set_wakeup(std::function<void()> cb) { impl_->wakeup = std::move(cb); }
const Counters& Stack::counters() const { return impl_->ctr; }
const Tuning& Stack::tuning() const { return impl_->tuning; }
Tuning& Stack::tuning_mut() { return impl_->tuning; }
IpAddr Stack::source_for(const IpAddr& dst) const { return impl_->select_source(dst, 0); }
size_t Stack::path_mtu(const IpAddr& dst) const { return impl_->path_mtu(dst); }
bool Stack::is_local_address(const IpAddr& a) const { return impl_->is_local(a); }
uint32_t Stack::route_interface(const IpAddr& dst) const {
  if (impl_->is_local(dst)) return 0;
  Hop h = impl_->lookup(dst);
  return h ? h.ifindex : 0;
}
size_t Stack::memory_usage() const { return sizeof(Stack) + impl_->memory_usage(); }
tcp::TcpEngine* Stack::tcp() { return impl_->tcp->engine(); }

}  // namespace libstack
