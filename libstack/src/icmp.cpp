// ICMPv4 (RFC 792, RFC 1122 §3.2.2) and ICMPv6 (RFC 4443): echo, errors, ping sockets.
//
// Echo requests to us are answered (IPv4 broadcast/multicast echo is ignored, like
// Linux icmp_echo_ignore_broadcasts=1). Errors are generated for port/protocol/host
// unreachable, time exceeded (forwarding, reassembly) and frag-needed / packet-too-big,
// never about an ICMP error, a non-first fragment, or a packet from/to a broadcast or
// multicast address (RFC 1122 §3.2.2, RFC 4443 §2.4(e)). Received errors feed the path
// MTU cache and the pending error of connected UDP sockets (ECONNREFUSED...). Echo
// replies go to the ping socket whose identifier matches (Linux ping socket semantics).
#include <algorithm>
#include <cerrno>

#include "stack_impl.h"
#include "tcp_glue.h"

namespace libstack {

using namespace wire;

void StackImpl::icmpv4_input(IpMeta& m, std::span<const uint8_t> payload) {
  auto ic = Icmpv4Repr::parse(payload);
  if (!ic) {
    ++(ic.error == Error::BadChecksum ? ctr.icmp_bad_checksum : ctr.icmp_truncated);
    return;
  }
  switch (ic->type) {
    case icmp4::kEchoRequest: {
      ++ctr.icmp_echo_rx;
      if (m.dst_broadcast || m.dst_multicast) {
        ++ctr.icmp_broadcast_ignored;
        return;
      }
      std::vector<uint8_t> out(ic->len());
      Icmpv4Repr r = *ic;
      r.type = icmp4::kEchoReply;
      r.code = 0;
      r.emit(out);
      if (ip_output(m.dst, m.src, ipproto::kIcmp, out, {}) == 0) ++ctr.icmp_echo_reply_tx;
      return;
    }
    case icmp4::kEchoReply:
      return ping_input(m, payload, ic->echo_id());
    case icmp4::kDestUnreach:
    case icmp4::kTimeExceeded:
    case icmp4::kParamProblem:
      ++ctr.icmp_errors_rx;
      return icmp_error_received(false, ic->type, ic->code, ic->rest, ic->data);
    default:
      ++ctr.icmp_unknown_type;
      return;
  }
}

void StackImpl::icmpv6_input(IpMeta& m, std::span<const uint8_t> payload) {
  auto ic = Icmpv6Repr::parse(payload, m.src.v6(), m.dst.v6());
  if (!ic) {
    ++(ic.error == Error::BadChecksum ? ctr.icmp_bad_checksum : ctr.icmp_truncated);
    return;
  }
  switch (ic->type) {
    case icmp6::kEchoRequest: {
      ++ctr.icmp_echo_rx;
      if (m.src.is_unspecified()) return;
      IpAddr src = m.dst_multicast ? select_source(m.src, m.ifindex) : m.dst;
      if (src.is_unspecified()) return;
      std::vector<uint8_t> out(ic->len());
      Icmpv6Repr r = *ic;
      r.type = icmp6::kEchoReply;
      r.emit(out, src.v6(), m.src.v6());
      TxOpts o;
      if (m.src.v6().is_link_local()) o.oif = m.ifindex;
      if (ip_output(src, m.src, ipproto::kIcmpv6, out, o) == 0) ++ctr.icmp_echo_reply_tx;
      return;
    }
    case icmp6::kEchoReply:
      return ping_input(m, payload, uint16_t(ic->rest >> 16));
    case icmp6::kDestUnreach:
    case icmp6::kPacketTooBig:
    case icmp6::kTimeExceeded:
    case icmp6::kParamProblem:
      ++ctr.icmp_errors_rx;
      return icmp_error_received(true, ic->type, ic->code, ic->rest, ic->data);
    case icmp6::kRouterSolicit:
    case icmp6::kRouterAdvert:
    case icmp6::kNeighborSolicit:
    case icmp6::kNeighborAdvert:
    case icmp6::kRedirect:
      if (Interface* i = iface(m.ifindex)) ndp_input(*i, m, *ic);
      return;
    default:
      ++ctr.icmp_unknown_type;
      return;
  }
}

bool StackImpl::icmp_rate_ok() {
  double elapsed = std::chrono::duration<double>(now - icmp_last).count();
  icmp_last = now;
  icmp_tokens = std::min<double>(tuning.icmp_error_burst, icmp_tokens + elapsed * tuning.icmp_errors_per_sec);
  if (icmp_tokens < 1) {
    ++ctr.icmp_ratelimited;
    return false;
  }
  icmp_tokens -= 1;
  return true;
}

void StackImpl::icmp_error(bool v6, uint8_t type, uint8_t code, uint32_t rest,
                           std::span<const uint8_t> off, uint32_t in_ifindex) {
  IpAddr osrc, odst;
  if (!v6) {
    if (off.size() < 20 || (off[0] >> 4) != 4) return;
    size_t ihl = size_t(off[0] & 15) * 4;
    if (ihl < 20 || off.size() < ihl) return;
    osrc = IpAddr(Ipv4Addr{{off[12], off[13], off[14], off[15]}});
    odst = IpAddr(Ipv4Addr{{off[16], off[17], off[18], off[19]}});
    uint16_t frag = uint16_t((rd16(off.data() + 6) & 0x1fff));
    bool is_err = off[9] == ipproto::kIcmp &&
                  (off.size() <= ihl || (off[ihl] != icmp4::kEchoRequest && off[ihl] != icmp4::kEchoReply));
    const Interface* in = iface(in_ifindex);
    if (frag != 0 || is_err || osrc.is_unspecified() || osrc.v4().is_multicast() || osrc.v4().is_broadcast() ||
        odst.v4().is_multicast() || odst.v4().is_broadcast() || (in && is_v4_broadcast(odst, *in))) {
      ++ctr.icmp_error_suppressed;
      return;
    }
    if (!icmp_rate_ok()) return;
    size_t q = std::min<size_t>(off.size(), 576 - 28);
    std::vector<uint8_t> msg(8 + q);
    Icmpv4Repr r;
    r.type = type;
    r.code = code;
    r.rest = rest;
    r.data = off.first(q);
    r.emit(msg);
    IpAddr src = is_local(odst) ? odst : select_source(osrc, 0);
    if (ip_output(src, osrc, ipproto::kIcmp, msg, {}) == 0) ++ctr.icmp_errors_tx;
    return;
  }
  if (off.size() < 40 || (off[0] >> 4) != 6) return;
  Ipv6Addr s, d;
  std::copy_n(off.data() + 8, 16, s.b.data());
  std::copy_n(off.data() + 24, 16, d.b.data());
  osrc = IpAddr(s);
  odst = IpAddr(d);
  bool is_err = off[6] == ipproto::kIcmpv6 && off.size() > 40 && off[40] < 128;
  bool mcast_ok = type == icmp6::kPacketTooBig || (type == icmp6::kParamProblem && code == 2);
  if (is_err || s.is_unspecified() || s.is_multicast() || (d.is_multicast() && !mcast_ok)) {
    ++ctr.icmp_error_suppressed;
    return;
  }
  if (!icmp_rate_ok()) return;
  size_t q = std::min<size_t>(off.size(), 1280 - 48);
  IpAddr src = is_local(odst) ? odst : select_source(osrc, s.is_link_local() ? in_ifindex : 0);
  if (src.is_unspecified()) return;
  std::vector<uint8_t> msg(8 + q);
  Icmpv6Repr r;
  r.type = type;
  r.code = code;
  r.rest = rest;
  r.data = off.first(q);
  r.emit(msg, src.v6(), s);
  TxOpts o;
  if (s.is_link_local()) o.oif = in_ifindex;
  if (ip_output(src, osrc, ipproto::kIcmpv6, msg, o) == 0) ++ctr.icmp_errors_tx;
}

void StackImpl::icmp_error_received(bool v6, uint8_t type, uint8_t code, uint32_t rest,
                                    std::span<const uint8_t> q) {
  // Lenient parse of the quoted header: the quote is usually truncated.
  IpAddr qsrc, qdst;
  uint8_t proto;
  std::span<const uint8_t> l4;
  if (!v6) {
    if (q.size() < 20 || (q[0] >> 4) != 4) return;
    size_t ihl = size_t(q[0] & 15) * 4;
    if (ihl < 20 || q.size() < ihl) return;
    qsrc = IpAddr(Ipv4Addr{{q[12], q[13], q[14], q[15]}});
    qdst = IpAddr(Ipv4Addr{{q[16], q[17], q[18], q[19]}});
    proto = q[9];
    l4 = q.subspan(ihl);
  } else {
    if (q.size() < 40 || (q[0] >> 4) != 6) return;
    Ipv6Addr s, d;
    std::copy_n(q.data() + 8, 16, s.b.data());
    std::copy_n(q.data() + 24, 16, d.b.data());
    qsrc = IpAddr(s);
    qdst = IpAddr(d);
    proto = q[6];
    l4 = q.subspan(40);
  }
  if (!is_local(qsrc)) return;  // not about a packet we sent
  int err = 0;
  if (!v6) {
    if (type == icmp4::kDestUnreach) {
      if (code == icmp4::kFragNeeded) {
        learn_pmtu(qdst, rest & 0xffff);
        err = -EMSGSIZE;
      } else if (code == icmp4::kPortUnreach || code == icmp4::kProtoUnreach) {
        err = -ECONNREFUSED;
      } else if (code == icmp4::kNetUnreach) {
        err = -ENETUNREACH;
      } else {
        err = -EHOSTUNREACH;
      }
    }
  } else {
    if (type == icmp6::kPacketTooBig) {
      learn_pmtu(qdst, rest);
      err = -EMSGSIZE;
    } else if (type == icmp6::kDestUnreach) {
      err = code == icmp6::kPortUnreach ? -ECONNREFUSED : code == icmp6::kNoRoute ? -ENETUNREACH : -EHOSTUNREACH;
    }
  }
  if (l4.size() < 4) return;
  uint16_t sport = rd16(l4.data()), dport = rd16(l4.data() + 2);
  if (proto == ipproto::kUdp && err && err != -EMSGSIZE) {
    for (auto* s : udp) {
      if (s->local.port != sport || !s->peer || s->peer->addr != qdst || s->peer->port != dport) continue;
      if (!s->local.addr.is_unspecified() && s->local.addr != qsrc) continue;
      s->error = -err;
      udp_notify(*s);
    }
  } else if (proto == ipproto::kTcp) {
    tcp->icmp_error(qsrc, qdst, l4, err);
  }
}

void StackImpl::ping_input(IpMeta& m, std::span<const uint8_t> msg, uint16_t id) {
  for (auto* s : icmp_socks) {
    if (s->family != m.src.family || !s->bound || s->local.port != id) continue;
    if (!s->local.addr.is_unspecified() && s->local.addr != m.dst) continue;
    if (s->peer && s->peer->addr != m.src) continue;
    if (s->rx_bytes + msg.size() > tuning.udp_rcvbuf) {
      ++ctr.udp_rcvbuf_full;
      return;
    }
    ++ctr.ping_rx;
    s->rx.push_back({Endpoint{m.src, 0}, m.dst, std::vector<uint8_t>(msg.begin(), msg.end())});
    s->rx_bytes += msg.size();
    if (s->cb) s->cb(events::kIn | events::kOut);
    notify();
    return;
  }
  ++ctr.ping_unmatched;
}

// ---------------- ping sockets ----------------

IcmpSocket::IcmpSocket(std::unique_ptr<IcmpSocketState> s) : s_(std::move(s)) {}
IcmpSocket::~IcmpSocket() {
  if (s_->stack) std::erase(s_->stack->icmp_socks, s_.get());
}
IpAddr::Family IcmpSocket::family() const { return s_->family; }

int IcmpSocket::bind(const Endpoint& local) {
  StackImpl* st = s_->stack;
  if (!st) return -EBADF;
  if (s_->bound) return -EINVAL;
  if (local.addr.family != s_->family) return -EAFNOSUPPORT;
  if (!local.addr.is_unspecified() && !st->is_local(local.addr)) return -EADDRNOTAVAIL;
  uint16_t id = local.port;
  if (id == 0) id = st->ephemeral_port(s_->family, false);
  if (id == 0) return -EAGAIN;
  for (auto* o : st->icmp_socks)
    if (o != s_.get() && o->bound && o->family == s_->family && o->local.port == id) return -EADDRINUSE;
  s_->local = Endpoint{local.addr, id};
  s_->bound = true;
  return 0;
}

int IcmpSocket::connect(const Endpoint& peer) {
  if (!s_->stack) return -EBADF;
  if (peer.addr.family != s_->family) return -EAFNOSUPPORT;
  if (!s_->bound) {
    int r = bind(Endpoint{unspecified(s_->family), 0});
    if (r < 0) return r;
  }
  s_->peer = peer;
  return 0;
}

ssize_t IcmpSocket::sendto(std::span<const uint8_t> msg, const std::optional<Endpoint>& dst_in) {
  StackImpl* st = s_->stack;
  if (!st) return -EBADF;
  std::optional<Endpoint> dst = dst_in ? dst_in : s_->peer;
  if (!dst) return -EDESTADDRREQ;
  if (dst->addr.family != s_->family) return -EAFNOSUPPORT;
  bool v6 = s_->family == IpAddr::Family::V6;
  if (msg.size() < 8 || msg[0] != (v6 ? icmp6::kEchoRequest : icmp4::kEchoRequest) || msg[1] != 0)
    return -EINVAL;
  if (msg.size() > 65535 - 48) return -EMSGSIZE;
  if (!s_->bound) {
    int r = bind(Endpoint{unspecified(s_->family), 0});
    if (r < 0) return r;
  }
  IpAddr src = s_->local.addr;
  if (src.is_unspecified()) src = st->select_source(dst->addr, 0);
  if (src.is_unspecified()) return -ENETUNREACH;
  if (!v6 && (dst->addr.v4().is_broadcast())) return -EACCES;
  std::vector<uint8_t> out(msg.begin(), msg.end());
  wr16(out.data() + 4, s_->local.port);
  wr16(out.data() + 2, 0);
  uint16_t ck = v6 ? transport_checksum(src, dst->addr, ipproto::kIcmpv6, out) : checksum(out);
  wr16(out.data() + 2, ck);
  StackImpl::TxOpts o;
  o.ttl = s_->ttl;
  int r = st->ip_output(src, dst->addr, v6 ? ipproto::kIcmpv6 : ipproto::kIcmp, out, o);
  return r < 0 ? r : ssize_t(msg.size());
}

ssize_t IcmpSocket::recvfrom(std::span<uint8_t> buf, Endpoint* from) {
  if (!s_->stack) return -EBADF;
  if (s_->rx.empty()) return -EAGAIN;
  auto d = std::move(s_->rx.front());
  s_->rx.pop_front();
  s_->rx_bytes -= d.data.size();
  size_t n = std::min(buf.size(), d.data.size());
  std::copy_n(d.data.begin(), n, buf.begin());
  if (from) *from = d.from;
  return ssize_t(n);
}

Endpoint IcmpSocket::local_endpoint() const { return s_->local; }
uint32_t IcmpSocket::poll_events() const {
  if (!s_->stack) return events::kErr | events::kHup;
  return events::kOut | (s_->rx.empty() ? 0 : events::kIn);
}
void IcmpSocket::set_callback(std::function<void(uint32_t)> cb) { s_->cb = std::move(cb); }
void IcmpSocket::set_ttl(int ttl) { s_->ttl = ttl; }

std::unique_ptr<IcmpSocket> Stack::icmp_socket(IpAddr::Family f) {
  auto st = std::make_unique<IcmpSocketState>();
  st->stack = impl_.get();
  st->family = f;
  st->local.addr = unspecified(f);
  impl_->icmp_socks.push_back(st.get());
  return std::unique_ptr<IcmpSocket>(new IcmpSocket(std::move(st)));
}

}  // namespace libstack
