// UDP (RFC 768) input demultiplexing and UdpSocket.
//
// Demux: unicast datagrams go to the single best matching socket (connected 4-tuple >
// bound address > wildcard); broadcast and multicast go to every socket bound to the
// port whose address matches (Linux IP_MULTICAST_ALL=1 behaviour). No match on unicast
// answers ICMP port unreachable. Sending is synchronous (no send queue): the datagram is
// handed to IP output at once, so a UDP socket is always writable.
#include <algorithm>
#include <cerrno>

#include "stack_impl.h"

namespace libstack {

using namespace wire;

uint16_t StackImpl::ephemeral_port(IpAddr::Family f, bool is_udp) {
  uint32_t lo = is_udp ? tuning.ephemeral_lo : 1, hi = is_udp ? tuning.ephemeral_hi : 65535;
  if (hi < lo) return 0;
  uint32_t range = hi - lo + 1;
  uint32_t start = uint32_t(rng.below(range));
  for (uint32_t k = 0; k < range; ++k) {
    uint16_t p = uint16_t(lo + (start + k) % range);
    bool used = false;
    if (is_udp) {
      for (auto* s : udp)
        if (s->bound && s->family == f && s->local.port == p) { used = true; break; }
    } else {
      for (auto* s : icmp_socks)
        if (s->bound && s->family == f && s->local.port == p) { used = true; break; }
    }
    if (!used) return p;
  }
  return 0;
}

bool StackImpl::port_in_use(IpAddr::Family f, const IpAddr& addr, uint16_t port,
                            const UdpSocketState* self, bool) const {
  for (auto* s : udp) {
    if (s == self || !s->bound || s->family != f || s->local.port != port) continue;
    if (!(s->local.addr.is_unspecified() || addr.is_unspecified() || s->local.addr == addr)) continue;
    if ((s->reuse_addr && self->reuse_addr) || (s->reuse_port && self->reuse_port)) continue;
    return true;
  }
  return false;
}

void StackImpl::udp_notify(UdpSocketState& s) {
  if (s.cb && s.owner) s.cb(s.owner->poll_events());
  notify();
}

static void enqueue(StackImpl& st, UdpSocketState& s, const IpMeta& m, const UdpRepr& u) {
  if (s.rx_bytes + u.payload.size() > s.rcvbuf) {
    ++st.ctr.udp_rcvbuf_full;
    return;
  }
  s.rx.push_back({Endpoint{m.src, u.src_port}, m.dst, std::vector<uint8_t>(u.payload.begin(), u.payload.end())});
  s.rx_bytes += u.payload.size();
  st.udp_notify(s);
}

void StackImpl::udp_input(IpMeta& m, std::span<const uint8_t> payload) {
  auto u = UdpRepr::parse(payload, m.src, m.dst);
  if (!u) {
    if (u.error == Error::Truncated) ++ctr.udp_truncated;
    else if (u.error == Error::BadChecksum) ++ctr.udp_bad_checksum;
    else ++ctr.udp_bad_length;
    return;
  }
  ++ctr.udp_rx;
  const bool group = m.dst_broadcast || m.dst_multicast;
  auto matches = [&](const UdpSocketState* s) {
    if (!s->bound || s->family != m.src.family || s->local.port != u->dst_port) return false;
    if (!s->local.addr.is_unspecified() && s->local.addr != m.dst) return false;
    if (s->bound_if && s->bound_if != m.ifindex && m.ifindex != Stack::kLoopbackIfindex) return false;
    if (s->peer && (s->peer->addr != m.src || s->peer->port != u->src_port)) return false;
    return true;
  };
  if (group) {
    bool any = false;
    // Copy: a callback may close sockets.
    std::vector<UdpSocketState*> targets;
    for (auto* s : udp)
      if (matches(s)) targets.push_back(s);
    for (auto* s : targets)
      if (std::find(udp.begin(), udp.end(), s) != udp.end()) {
        enqueue(*this, *s, m, *u);
        any = true;
      }
    if (!any) ++ctr.udp_port_unreachable;
    return;
  }
  UdpSocketState* best = nullptr;
  int best_score = -1;
  for (auto* s : udp) {
    if (!matches(s)) continue;
    int score = (s->peer ? 4 : 0) + (s->local.addr.is_unspecified() ? 0 : 2) + (s->bound_if ? 1 : 0);
    if (score > best_score) { best = s; best_score = score; }
  }
  if (!best) {
    ++ctr.udp_port_unreachable;
    if (m.src.is_v4()) icmp_error(false, icmp4::kDestUnreach, icmp4::kPortUnreach, 0, m.packet, m.ifindex);
    else icmp_error(true, icmp6::kDestUnreach, icmp6::kPortUnreach, 0, m.packet, m.ifindex);
    return;
  }
  enqueue(*this, *best, m, *u);
}

// ---------------- UdpSocket ----------------

UdpSocket::UdpSocket(std::unique_ptr<UdpSocketState> s) : s_(std::move(s)) { s_->owner = this; }

UdpSocket::~UdpSocket() {
  if (StackImpl* st = s_->stack) {
    for (auto& [g, ifx] : s_->groups)
      if (Interface* i = st->iface(ifx)) st->leave(*i, g);
    std::erase(st->udp, s_.get());
  }
}

IpAddr::Family UdpSocket::family() const { return s_->family; }

int UdpSocket::bind(const Endpoint& local) {
  StackImpl* st = s_->stack;
  if (!st) return -EBADF;
  if (s_->bound) return -EINVAL;
  if (local.addr.family != s_->family) return -EAFNOSUPPORT;
  const IpAddr& a = local.addr;
  bool group = a.is_v4() ? (a.v4().is_multicast() || a.v4().is_broadcast()) : a.v6().is_multicast();
  if (!a.is_unspecified() && !group && !st->is_local(a)) return -EADDRNOTAVAIL;
  uint16_t port = local.port;
  if (port == 0) {
    for (int tries = 0; tries < 16 && port == 0; ++tries) {
      uint16_t p = st->ephemeral_port(s_->family, true);
      if (p == 0) break;
      if (!st->port_in_use(s_->family, a, p, s_.get(), false)) port = p;
    }
    if (port == 0) return -EADDRINUSE;
  } else if (st->port_in_use(s_->family, a, port, s_.get(), false)) {
    return -EADDRINUSE;
  }
  s_->local = Endpoint{a, port};
  s_->bound = true;
  return 0;
}

int UdpSocket::connect(const Endpoint& peer) {
  StackImpl* st = s_->stack;
  if (!st) return -EBADF;
  if (peer.addr.family != s_->family) return -EAFNOSUPPORT;
  if (peer.port == 0) return -EINVAL;
  IpAddr src = st->select_source(peer.addr, s_->bound_if);
  if (src.is_unspecified()) return -ENETUNREACH;
  if (!s_->bound) {
    int r = bind(Endpoint{unspecified(s_->family), 0});
    if (r < 0) return r;
  }
  if (s_->local.addr.is_unspecified()) s_->local.addr = src;
  s_->peer = peer;
  s_->error = 0;
  return 0;
}

int UdpSocket::disconnect() {
  if (!s_->stack) return -EBADF;
  s_->peer.reset();
  return 0;
}

ssize_t UdpSocket::sendto(std::span<const uint8_t> data, const std::optional<Endpoint>& dst_in) {
  StackImpl* st = s_->stack;
  if (!st) return -EBADF;
  std::optional<Endpoint> dst = dst_in ? dst_in : s_->peer;
  if (!dst) return -EDESTADDRREQ;
  if (dst->addr.family != s_->family) return -EAFNOSUPPORT;
  if (dst->port == 0) return -EINVAL;
  const bool v4 = s_->family == IpAddr::Family::V4;
  if (data.size() > (v4 ? 65507u : 65527u)) return -EMSGSIZE;
  const IpAddr& d = dst->addr;
  bool mcast = v4 ? d.v4().is_multicast() : d.v6().is_multicast();
  StackImpl::TxOpts o;
  o.oif = s_->bound_if;
  if (mcast) {
    if (s_->mcast_if) o.oif = s_->mcast_if;
    o.ttl = s_->mcast_ttl;
    o.mcast_loop = s_->mcast_loop;
  } else {
    o.ttl = s_->ttl;
  }
  if (v4 && !mcast) {
    bool bcast = d.v4().is_broadcast();
    if (!bcast) {
      if (Hop r = st->lookup(d, o.oif)) {
        const Interface* i = st->iface(r.ifindex);
        bcast = i && st->is_v4_broadcast(d, *i);
      }
    }
    if (bcast && !s_->broadcast) return -EACCES;
  }
  if (!s_->bound) {
    int r = bind(Endpoint{unspecified(s_->family), 0});
    if (r < 0) return r;
  }
  IpAddr src = s_->local.addr;
  bool src_group = !src.is_unspecified() && (v4 ? (src.v4().is_multicast() || src.v4().is_broadcast()) : src.v6().is_multicast());
  if (src.is_unspecified() || src_group) src = st->select_source(d, o.oif);
  // Linux sends to 255.255.255.255 from 0.0.0.0 when the interface has no address (DHCP).
  const bool unspec_ok = v4 && d.v4().is_broadcast() && o.oif != 0;
  if (src.is_unspecified() && !unspec_ok) {
    ++(v4 ? st->ctr.ipv4_no_route : st->ctr.ipv6_no_route);
    return -ENETUNREACH;
  }
  std::vector<uint8_t> seg(UdpRepr::kHeaderLen + data.size());
  UdpRepr u;
  u.src_port = s_->local.port;
  u.dst_port = dst->port;
  u.payload = data;
  u.emit(seg, src, d);
  int r = st->ip_output(src, d, ipproto::kUdp, seg, o);
  if (r < 0) return r;
  ++st->ctr.udp_tx;
  return ssize_t(data.size());
}

ssize_t UdpSocket::recvfrom(std::span<uint8_t> buf, Endpoint* from, bool peek, size_t* full_len) {
  if (!s_->stack) return -EBADF;
  if (s_->error) {
    int e = s_->error;
    s_->error = 0;
    return -e;
  }
  if (s_->rx.empty()) return -EAGAIN;
  auto& d = s_->rx.front();
  size_t n = std::min(buf.size(), d.data.size());
  std::copy_n(d.data.begin(), n, buf.begin());
  if (from) *from = d.from;
  if (full_len) *full_len = d.data.size();
  if (!peek) {
    s_->rx_bytes -= d.data.size();
    s_->rx.pop_front();
  }
  return ssize_t(n);
}

Endpoint UdpSocket::local_endpoint() const { return s_->local; }
std::optional<Endpoint> UdpSocket::peer_endpoint() const { return s_->peer; }

uint32_t UdpSocket::poll_events() const {
  if (!s_->stack) return events::kErr | events::kHup;
  uint32_t e = events::kOut;
  if (!s_->rx.empty()) e |= events::kIn;
  if (s_->error) e |= events::kErr;
  return e;
}

void UdpSocket::set_callback(std::function<void(uint32_t)> cb) { s_->cb = std::move(cb); }
int UdpSocket::take_error() {
  int e = s_->error;
  s_->error = 0;
  return e;
}
size_t UdpSocket::next_datagram_size() const { return s_->rx.empty() ? 0 : s_->rx.front().data.size(); }
void UdpSocket::set_reuse_addr(bool on) { s_->reuse_addr = on; }
void UdpSocket::set_reuse_port(bool on) { s_->reuse_port = on; }
void UdpSocket::set_broadcast(bool on) { s_->broadcast = on; }
int UdpSocket::bind_to_device(uint32_t ifindex) {
  if (!s_->stack) return -EBADF;
  if (ifindex && !s_->stack->iface(ifindex)) return -ENODEV;
  s_->bound_if = ifindex;
  return 0;
}
void UdpSocket::set_ttl(int ttl) { s_->ttl = ttl; }
void UdpSocket::set_multicast_ttl(int ttl) { s_->mcast_ttl = ttl < 0 ? 1 : ttl; }
void UdpSocket::set_multicast_loop(bool on) { s_->mcast_loop = on; }
int UdpSocket::set_multicast_interface(uint32_t ifindex) {
  if (!s_->stack) return -EBADF;
  if (ifindex && !s_->stack->iface(ifindex)) return -ENODEV;
  s_->mcast_if = ifindex;
  return 0;
}
void UdpSocket::set_rcvbuf(size_t bytes) { s_->rcvbuf = std::max<size_t>(bytes, 256); }

static uint32_t group_iface(StackImpl& st, const IpAddr& g, uint32_t ifindex) {
  if (ifindex) return st.iface(ifindex) ? ifindex : 0;
  if (Hop r = st.lookup(g)) return r.ifindex;
  for (auto& i : st.ifs)
    if (!i->loopback) return i->id;
  return Stack::kLoopbackIfindex;
}

int UdpSocket::join_group(const IpAddr& g, uint32_t ifindex) {
  StackImpl* st = s_->stack;
  if (!st) return -EBADF;
  if (g.family != s_->family || !(g.is_v4() ? g.v4().is_multicast() : g.v6().is_multicast())) return -EINVAL;
  uint32_t ifx = group_iface(*st, g, ifindex);
  if (!ifx) return -ENODEV;
  for (auto& [a, i] : s_->groups)
    if (a == g && i == ifx) return -EADDRINUSE;
  if (s_->groups.size() >= StackImpl::kMaxGroupsPerSocket) return -ENOBUFS;
  st->join(*st->iface(ifx), g);
  s_->groups.emplace_back(g, ifx);
  return 0;
}

int UdpSocket::leave_group(const IpAddr& g, uint32_t ifindex) {
  StackImpl* st = s_->stack;
  if (!st) return -EBADF;
  for (size_t k = 0; k < s_->groups.size(); ++k) {
    auto [a, ifx] = s_->groups[k];
    if (a == g && (!ifindex || ifx == ifindex)) {
      if (Interface* i = st->iface(ifx)) st->leave(*i, g);
      s_->groups.erase(s_->groups.begin() + long(k));
      return 0;
    }
  }
  return -EADDRNOTAVAIL;
}

std::unique_ptr<UdpSocket> Stack::udp_socket(IpAddr::Family f) {
  auto st = std::make_unique<UdpSocketState>();
  st->stack = impl_.get();
  st->family = f;
  st->local.addr = unspecified(f);
  st->rcvbuf = impl_->tuning.udp_rcvbuf;
  impl_->udp.push_back(st.get());
  return std::unique_ptr<UdpSocket>(new UdpSocket(std::move(st)));
}

}  // namespace libstack
