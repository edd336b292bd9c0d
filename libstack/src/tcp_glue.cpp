// TcpHost implementation on the Stack side, and delivery of TCP segments to the engine.
// See tcp_glue.h for the contract.
#include "tcp_glue.h"

#include <cerrno>

#include "stack_impl.h"
#include "wire/tcp.h"
#ifdef LIBSTACK_HAVE_TCP_ENGINE
#include "transport/tcp/tcp_engine.h"
#else
namespace libstack::tcp {
class TcpEngine {};  // placeholder until the TCP engine is merged (never instantiated)
}
#endif

namespace libstack {

using namespace wire;

#ifdef LIBSTACK_HAVE_TCP_ENGINE
// The engine has its own tuning struct; the stack-wide Tuning is the single place users
// set knobs, so translate it here.
static TcpTuning tcp_tuning(const Tuning& t) {
  TcpTuning o;
  o.send_buffer = t.tcp_sndbuf;
  o.recv_buffer = t.tcp_rcvbuf;
  o.initial_rto = t.tcp_rto_initial;
  o.min_rto = t.tcp_rto_min;
  o.max_rto = t.tcp_rto_max;
  o.time_wait = t.tcp_time_wait;
  o.delayed_ack = t.tcp_delack;
  o.congestion_control = t.tcp_congestion == "cubic" ? CongestionControl::Cubic : CongestionControl::NewReno;
  o.syn_retries = t.tcp_syn_retries;
  o.data_retries = t.tcp_retries2;
  o.sack = t.tcp_sack;
  o.timestamps = t.tcp_timestamps;
  o.window_scaling = t.tcp_window_scaling;
  o.syn_backlog = t.tcp_max_backlog;
  o.ephemeral_low = t.ephemeral_lo;
  o.ephemeral_high = t.ephemeral_hi;
  return o;
}
#endif

// The engine is created on first use (a TCP socket), not with the stack: it holds a 64 KiB
// scratch buffer, and most stacks of a 10,000-stack process never use TCP. Until then
// every incoming segment is answered with RST, exactly what an engine without sockets does.
TcpGlue::TcpGlue(StackImpl& s) : s_(s) {}

tcp::TcpEngine* TcpGlue::engine() {
#ifdef LIBSTACK_HAVE_TCP_ENGINE
  if (!engine_) engine_ = std::make_unique<tcp::TcpEngine>(*this, tcp_tuning(s_.tuning));
#endif
  return engine_.get();
}

TcpGlue::~TcpGlue() = default;

void StackImpl::tcp_input(IpMeta& m, std::span<const uint8_t> seg) {
  ++ctr.tcp_rx;
  tcp->input(m.src, m.dst, seg, m.dst_broadcast || m.dst_multicast, m.checksum_trusted);
}

void TcpGlue::input(const IpAddr& src, const IpAddr& dst, std::span<const uint8_t> seg, bool to_group,
                    bool checksum_trusted) {
  if (to_group) return;  // TCP is unicast only
#ifdef LIBSTACK_HAVE_TCP_ENGINE
  if (engine_) {
    engine_->input(src, dst, seg, s_.now, checksum_trusted);
    return;
  }
#endif
  if (seg.size() < 20 || size_t(seg[12] >> 4) * 4 < 20 || size_t(seg[12] >> 4) * 4 > seg.size()) {
    ++s_.ctr.tcp_truncated;
    return;
  }
  if (transport_checksum(src, dst, ipproto::kTcp, seg) != 0) {
    ++s_.ctr.tcp_bad_checksum;
    return;
  }
  send_rst(src, dst, seg);
}

void TcpGlue::send_rst(const IpAddr& src, const IpAddr& dst, std::span<const uint8_t> seg) {
  uint8_t flags = seg[13];
  if (flags & 0x04) return;  // never answer a RST
  size_t hl = size_t(seg[12] >> 4) * 4;
  uint32_t seq = rd32(seg.data() + 4), ack = rd32(seg.data() + 8);
  uint32_t len = uint32_t(seg.size() - hl) + ((flags & 0x02) ? 1 : 0) + ((flags & 0x01) ? 1 : 0);
  uint8_t r[20] = {};
  wr16(r, rd16(seg.data() + 2));
  wr16(r + 2, rd16(seg.data()));
  if (flags & 0x10) {
    wr32(r + 4, ack);
    r[13] = 0x04;
  } else {
    wr32(r + 8, seq + len);
    r[13] = 0x14;
  }
  r[12] = 5 << 4;
  wr16(r + 16, transport_checksum(dst, src, ipproto::kTcp, r));
  ++s_.ctr.tcp_rst_no_engine;
  send_segment(dst, src, r);
}

void TcpGlue::icmp_error(const IpAddr& src, const IpAddr& dst, std::span<const uint8_t> q, int err) {
  // The stack has already learnt the path MTU (read back through TcpHost::path_mtu);
  // the engine validates the quoted sequence number (RFC 5927) and aborts an opening
  // connection on a hard error, or resends at the new MSS on -EMSGSIZE.
#ifdef LIBSTACK_HAVE_TCP_ENGINE
  if (engine_ && err) engine_->icmp_error(src, dst, q, err, s_.now);
#else
  (void)src, (void)dst, (void)q, (void)err;
#endif
}

void TcpGlue::poll(Instant now) {
#ifdef LIBSTACK_HAVE_TCP_ENGINE
  if (engine_) engine_->poll(now);
#else
  (void)now;
#endif
}

Instant TcpGlue::next_deadline() const {
#ifdef LIBSTACK_HAVE_TCP_ENGINE
  if (engine_) return engine_->next_deadline();
#endif
  return kNever;
}

size_t TcpGlue::memory_usage() const {
#ifdef LIBSTACK_HAVE_TCP_ENGINE
  if (engine_)  // + its scratch buffer and the connections' buffers
    return sizeof(*this) + sizeof(tcp::TcpEngine) + 65536 + engine_->buffer_bytes();
#endif
  return sizeof(*this);
}

bool TcpGlue::send_segment(const IpAddr& src, const IpAddr& dst, std::span<const uint8_t> segment) {
  StackImpl::TxOpts o;
  o.dont_frag = true;  // TCP does path MTU discovery
  if (dst.is_v6() && dst.v6().is_link_local()) {
    uint32_t ifx = 0;
    if (s_.is_local(src, &ifx)) o.oif = ifx;
  }
  int r = s_.ip_output(src, dst, ipproto::kTcp, segment, o);
  if (r == 0) ++s_.ctr.tcp_tx;
  return r == 0;
}

bool TcpGlue::send_segment_inplace(const IpAddr& src, const IpAddr& dst, std::span<uint8_t> buf,
                                   size_t headroom, size_t gso_size) {
  uint32_t oif = 0;
  if (dst.is_v6() && dst.v6().is_link_local()) s_.is_local(src, &oif);
  int r = s_.tcp_output_inplace(src, dst, buf, headroom, oif, gso_size);
  if (r > 0) {
    ++s_.ctr.tcp_tx;
    return true;
  }
  std::span<uint8_t> seg = buf.subspan(headroom);
  const size_t hl = size_t(seg[12] >> 4) * 4;
  if (!gso_size || seg.size() <= hl + gso_size) return send_general(src, dst, seg, oif);
  // A super-segment the fast path could not hand to a TSO link (route changed, neighbour
  // unresolved): cut it here, as the link would have. Same header, sequence numbers
  // advanced, FIN and PSH only on the last piece.
  const uint8_t flags = seg[13];
  const uint32_t seq = rd32(seg.data() + 4);
  const size_t payload = seg.size() - hl;
  bool all = true;
  for (size_t off = 0; off < payload; off += gso_size) {
    size_t n = std::min(gso_size, payload - off);
    bool last = off + n == payload;
    gso_buf_.resize(hl + n);
    std::copy_n(seg.data(), hl, gso_buf_.data());
    std::copy_n(seg.data() + hl + off, n, gso_buf_.data() + hl);
    wr32(gso_buf_.data() + 4, seq + uint32_t(off));
    gso_buf_[13] = last ? flags : uint8_t(flags & ~0x09);  // FIN 0x01, PSH 0x08
    gso_buf_[16] = gso_buf_[17] = 0;
    all = send_general(src, dst, gso_buf_, oif) && all;
  }
  return all;
}

// The general path (loopback, unresolved neighbour, ...): checksum unless trusted.
bool TcpGlue::send_general(const IpAddr& src, const IpAddr& dst, std::span<uint8_t> seg, uint32_t oif) {
  if (!s_.egress_trusted(dst, oif)) tcp_fill_checksum(src, dst, seg);
  return send_segment(src, dst, seg);
}

size_t TcpGlue::tso_max(const IpAddr& dst) const { return s_.tcp_tso_max(dst); }

size_t TcpGlue::path_mtu(const IpAddr& dst) const { return s_.path_mtu(dst); }
IpAddr TcpGlue::source_for(const IpAddr& dst) const { return s_.select_source(dst, 0); }
bool TcpGlue::is_local_address(const IpAddr& a) const { return s_.is_local(a); }
Random& TcpGlue::random() { return s_.rng; }

}  // namespace libstack

namespace libstack {

TcpSocket Stack::tcp_socket() {
#ifdef LIBSTACK_HAVE_TCP_ENGINE
  if (tcp::TcpEngine* e = impl_->tcp->engine()) return e->socket();
  return TcpSocket();
#else
  return TcpSocket();
#endif
}

}  // namespace libstack
