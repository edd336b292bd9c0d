// TCP engine — theory of operation
//
// One TcpEngine holds every TCP connection of a Stack. The IP layer calls input() with
// each TCP segment addressed to us; the engine verifies the checksum (pseudo-header
// v4/v6), parses header and options (wire/tcp.h) and dispatches it by 4-tuple to a
// connection block (Tcb), else to a listener (exact local address, then wildcard), else
// answers with a RST (RFC 9293 §3.10.7.1). Segment processing follows the event
// processing of RFC 9293 §3.10.7 step by step (sequence check, RST, SYN, ACK, text, FIN),
// hardened per RFC 5961 (exact-match RST, challenge ACKs, ACK range check) and RFC 7323
// (PAWS). Every state change goes through set_state() and is annotated with its RFC
// section; every dropped segment increments one TcpCounters drop_* counter.
//
// Data: each connection has two byte rings (send and receive) sized from the socket
// buffers. The send ring holds bytes from SND.UNA on; segments are built in one scratch
// buffer (header + a memcpy of the payload), checksummed and handed to TcpHost: no
// per-segment allocation. A host may ask for headroom in front of the segment (it builds
// its frame there, no further copy), take over the checksum (computed only where the link
// needs it) and offer segmentation offload (tso_max: up to ~64 KiB per segment, cut into
// MSS pieces by the host or its link). The receive ring holds in-order bytes; out-of-order data is
// written straight into the ring at its offset beyond the in-order end and tracked as a
// bounded list of disjoint ranges (which also produce our SACK blocks), so filling a hole
// is just a commit. The receive window is the free ring space (never shrunk, with
// receiver SWS avoidance).
//
// Timers are deadlines per Tcb (retransmission/persist, delayed ACK, keepalive,
// TIME_WAIT/FIN_WAIT_2); poll(now) runs what is due and next_deadline() tells the caller
// when to call again. Time only comes in through input()/poll(); socket calls use the
// time of the latest of those.
//
// Loss recovery: RTO per RFC 6298 (Karn's rule, exponential backoff, go-back-N after a
// timeout), fast retransmit on three duplicate ACKs; with SACK the RFC 6675 pipe
// algorithm drives retransmission of lost holes and new data, without SACK NewReno
// partial-ACK handling (RFC 6582). Congestion control is NewReno (RFC 5681) or CUBIC
// (RFC 9438), selected per socket.
//
// Readiness: after each input/poll/socket call the sockets whose state may have changed
// are re-evaluated and their callback is invoked if the event mask changed. Tcbs are
// freed only at the end of such a call (callbacks may re-enter the engine safely).
#include "transport/tcp/tcp_engine.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace libstack {

const char* to_string(TcpState s) {
  switch (s) {
    case TcpState::Closed: return "CLOSED";
    case TcpState::Listen: return "LISTEN";
    case TcpState::SynSent: return "SYN-SENT";
    case TcpState::SynReceived: return "SYN-RECEIVED";
    case TcpState::Established: return "ESTABLISHED";
    case TcpState::FinWait1: return "FIN-WAIT-1";
    case TcpState::FinWait2: return "FIN-WAIT-2";
    case TcpState::CloseWait: return "CLOSE-WAIT";
    case TcpState::Closing: return "CLOSING";
    case TcpState::LastAck: return "LAST-ACK";
    case TcpState::TimeWait: return "TIME-WAIT";
  }
  return "?";
}

namespace tcp {

using namespace std::chrono_literals;
namespace tf = wire::tcpflag;

namespace {
inline bool lt(uint32_t a, uint32_t b) { return int32_t(a - b) < 0; }
inline bool le(uint32_t a, uint32_t b) { return int32_t(a - b) <= 0; }
inline bool gt(uint32_t a, uint32_t b) { return int32_t(a - b) > 0; }
inline bool ge(uint32_t a, uint32_t b) { return int32_t(a - b) >= 0; }
inline uint32_t smax(uint32_t a, uint32_t b) { return gt(a, b) ? a : b; }

struct Range {
  uint32_t left, right;  // [left, right)
};
}  // namespace

// ---------------------------------------------------------------------------- ByteRing

void ByteRing::reset(size_t cap) {
  buf_.reset(cap ? new uint8_t[cap] : nullptr);
  cap_ = cap;
  head_ = len_ = 0;
}

size_t ByteRing::append(const uint8_t* p, size_t n) {
  n = std::min(n, free());
  write_beyond(0, p, n);
  len_ += n;
  return n;
}

void ByteRing::write_beyond(size_t off, const uint8_t* p, size_t n) {
  if (n == 0) return;
  size_t pos = (head_ + len_ + off) % cap_;
  size_t first = std::min(n, cap_ - pos);
  std::memcpy(buf_.get() + pos, p, first);
  if (n > first) std::memcpy(buf_.get(), p + first, n - first);
}

void ByteRing::copy_out(size_t off, uint8_t* p, size_t n) const {
  if (n == 0) return;
  size_t pos = (head_ + off) % cap_;
  size_t first = std::min(n, cap_ - pos);
  std::memcpy(p, buf_.get() + pos, first);
  if (n > first) std::memcpy(p + first, buf_.get(), n - first);
}

void ByteRing::consume(size_t n) {
  n = std::min(n, len_);
  len_ -= n;
  head_ = (head_ + n) % cap_;  // never reset: out-of-order bytes live beyond the end
}

// ---------------------------------------------------------------------------- Tcb

// A connection timer (retransmission/persist, delayed ACK, keepalive, TIME-WAIT): an
// Instant that tells the engine's timer heap when it changes (see TcpEngine::timers_).
class TimerField {
 public:
  explicit TimerField(Tcb* owner) : owner_(owner) {}
  TimerField(const TimerField&) = delete;
  TimerField& operator=(Instant v) {
    if (v != at_) {
      at_ = v;
      moved();
    }
    return *this;
  }
  TimerField& operator=(const TimerField& o) { return *this = o.at_; }
  operator Instant() const { return at_; }
  Instant at() const { return at_; }
  bool operator==(Instant v) const { return at_ == v; }
  auto operator<=>(Instant v) const { return at_ <=> v; }

 private:
  inline void moved();
  Instant at_ = kNever;
  Tcb* owner_;
};

struct Tcb {
  uint64_t id = 0;
  size_t index = 0;  // in TcpEngine::all_
  TcpState state = TcpState::Closed;
  bool dead = false, has_handle = false, hashed = false, bound = false;
  bool reuseaddr = false, reuseport = false, nodelay = false, keepalive = false;
  bool explicit_bind = false;  // bound by bind(), not by connect()
  bool ever_connected = false;
  Endpoint local, remote;

  // listener / child
  Tcb* parent = nullptr;
  std::vector<Tcb*> accept_q;   // established, not yet accepted
  std::vector<Tcb*> half_open;  // SYN_RECEIVED children, oldest first
  size_t backlog = 0;
  bool in_accept_q = false;

  // send side (RFC 9293 §3.3.1)
  uint32_t iss = 0, snd_una = 0, snd_nxt = 0, snd_max = 0;
  uint32_t snd_wnd = 0, snd_wl1 = 0, snd_wl2 = 0, max_snd_wnd = 0;
  uint8_t snd_wscale = 0, rcv_wscale = 0;
  bool ws_ok = false, ts_ok = false, sack_ok = false;
  uint32_t peer_mss = 536, mss = 536, rcv_mss = 536;
  uint32_t tso = 0;  // payload per send with segmentation offload (multiple of mss), 0 = off
  size_t sndbuf_size = 0, rcvbuf_size = 0;
  ByteRing sndbuf, rcvbuf;
  bool fin_queued = false, fin_sent = false, fin_acked = false;
  uint32_t fin_seq = 0;

  // receive side
  uint32_t irs = 0, rcv_nxt = 0, rcv_adv = 0;
  bool fin_received = false, rd_shut = false;
  bool ooo_fin_valid = false;
  uint32_t ooo_fin = 0;
  std::vector<Range> ooo;
  uint32_t ooo_last_left = 0;
  bool ts_recent_valid = false;
  uint32_t ts_recent = 0, last_ack_sent = 0, ts_offset = 0;
  size_t unacked_bytes = 0;
  Instant last_oow_ack = kNever;  // last answer to an unacceptable segment (tcp_ratelimit.h)

  // timers
  TimerField rtx_at{this}, delack_at{this}, keep_at{this}, tw_at{this};
  const TcpEngine* eng = nullptr;
  Instant heap_at = kNever;  // this connection's entry in the engine's timer heap
  bool timer_dirty = false;  // queued to have its heap entry checked
  Instant earliest_timer() const {
    return std::min({rtx_at.at(), delack_at.at(), keep_at.at(), tw_at.at()});
  }
  bool persist = false;
  uint32_t retries = 0, persist_backoff = 0, keep_probes = 0;
  Duration keep_idle{0}, keep_intvl{0};
  uint32_t keep_cnt = 0;
  Instant last_rx{0};

  // RTT (RFC 6298)
  Duration srtt{0}, rttvar{0}, rto{0};
  bool rtt_valid = false, rtt_pending = false;
  uint32_t rtt_end = 0;
  Instant rtt_start{0};

  // congestion control
  CongestionControl cc = CongestionControl::NewReno;
  uint32_t cwnd = 0, ssthresh = 0xffffffffu;
  uint64_t ca_acc = 0;
  double w_max = 0, cubic_k = 0, w_est = 0;
  Instant epoch{0};
  bool epoch_valid = false;

  // loss recovery
  bool in_recovery = false;
  uint32_t recover = 0, dupacks = 0, high_rxt = 0;
  std::vector<Range> scoreboard;  // SACKed ranges above SND.UNA, sorted, disjoint

  int error = 0;
  int soft_error = 0;  // last ICMP error, reported instead of ETIMEDOUT
  std::optional<Duration> linger;
  uint32_t last_events = 0;
  TcpCallback cb;
  TcpInfo st;

  uint32_t data_end() const { return snd_una + uint32_t(sndbuf.size()); }
  bool synchronized() const {
    return state != TcpState::Closed && state != TcpState::Listen &&
           state != TcpState::SynSent;
  }
};

void TimerField::moved() {
  if (owner_->eng) owner_->eng->timer_moved(owner_);
}

// ---------------------------------------------------------------------------- engine

struct TcpEngine::Guard {
  TcpEngine& e;
  Guard(TcpEngine& eng, std::optional<Instant> now) : e(eng) {
    ++e.depth_;
    if (now && *now > e.last_now_) e.last_now_ = *now;
  }
  ~Guard() {
    if (--e.depth_ == 0) {
      e.flush_events();
      e.flush_timers();
      e.reap();
    }
  }
};

size_t TcpEngine::ConnKeyHash::operator()(const ConnKey& k) const {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  };
  size_t n = k.laddr.is_v4() ? 4 : 16;
  mix(k.laddr.b.data(), n);
  mix(k.raddr.b.data(), n);
  uint8_t p[4] = {uint8_t(k.lport), uint8_t(k.lport >> 8), uint8_t(k.rport),
                  uint8_t(k.rport >> 8)};
  mix(p, 4);
  return size_t(h ^ (h >> 29));
}

TcpEngine::TcpEngine(TcpHost& host, TcpTuning tuning)
    : host_(host), tun_(tuning), secrets_(host.random()) {
  if (tun_.ephemeral_low == 0) tun_.ephemeral_low = 1;
  if (tun_.ephemeral_high < tun_.ephemeral_low) tun_.ephemeral_high = tun_.ephemeral_low;
  if (tun_.send_buffer < 1024) tun_.send_buffer = 1024;
  if (tun_.recv_buffer < 1024) tun_.recv_buffer = 1024;
  if (tun_.mss < 64) tun_.mss = 64;
  scratch_.resize(65536 + 128 + host_.headroom());
  ephemeral_next_ = host_.random().next_u32();
}

TcpEngine::~TcpEngine() = default;

Tcb* TcpEngine::new_tcb() {
  auto t = std::make_unique<Tcb>();
  t->id = next_id_++;
  t->index = all_.size();
  t->eng = this;
  live_[t->id] = t.get();
  t->sndbuf_size = tun_.send_buffer;
  t->rcvbuf_size = tun_.recv_buffer;
  t->keepalive = tun_.keepalive;
  t->keep_idle = tun_.keepalive_idle;
  t->keep_intvl = tun_.keepalive_interval;
  t->keep_cnt = tun_.keepalive_count;
  t->cc = tun_.congestion_control;
  t->rto = tun_.initial_rto;
  Tcb* raw = t.get();
  all_.push_back(std::move(t));
  return raw;
}

TcpSocket TcpEngine::socket() {
  Tcb* t = new_tcb();
  t->has_handle = true;
  return TcpSocket(this, t->id);
}

Tcb* TcpEngine::find(uint64_t id) const {
  auto it = live_.find(id);  // a dead block has no handle (destroy clears it)
  return it == live_.end() || !it->second->has_handle ? nullptr : it->second;
}

void TcpEngine::hash(Tcb* t) {
  conns_[ConnKey{t->local.addr, t->remote.addr, t->local.port, t->remote.port}] = t;
  t->hashed = true;
}

void TcpEngine::unhash(Tcb* t) {
  if (!t->hashed) return;
  ConnKey k{t->local.addr, t->remote.addr, t->local.port, t->remote.port};
  auto it = conns_.find(k);
  if (it != conns_.end() && it->second == t) conns_.erase(it);
  t->hashed = false;
}

void TcpEngine::destroy(Tcb* t) {
  if (t->dead) return;
  t->dead = true;
  unhash(t);
  if (t->bound) {
    auto it = ports_.find(t->local.port);
    if (it != ports_.end()) {
      auto& v = it->second;
      v.erase(std::remove(v.begin(), v.end(), t), v.end());
      if (v.empty()) ports_.erase(it);
    }
    t->bound = false;
  }
  if (t->parent) {
    auto& a = t->parent->accept_q;
    a.erase(std::remove(a.begin(), a.end(), t), a.end());
    auto& h = t->parent->half_open;
    h.erase(std::remove(h.begin(), h.end(), t), h.end());
    mark(t->parent);
    t->parent = nullptr;
  }
  for (Tcb* c : t->half_open) { c->parent = nullptr; destroy(c); }
  for (Tcb* c : t->accept_q) { c->parent = nullptr; send_rst(c); destroy(c); }
  t->half_open.clear();
  t->accept_q.clear();
  t->has_handle = false;
  t->rtx_at = t->delack_at = t->keep_at = t->tw_at = kNever;
  dead_.push_back(t);
}

void TcpEngine::reap() {
  for (Tcb* t : dead_) {
    size_t i = t->index;
    if (i >= all_.size() || all_[i].get() != t) continue;
    if (i != all_.size() - 1) {
      std::swap(all_[i], all_.back());
      all_[i]->index = i;
    }
    live_.erase(t->id);
    all_.pop_back();
  }
  dead_.clear();
}

void TcpEngine::mark(Tcb* t) {
  if (t->has_handle && t->cb) dirty_.push_back(t->id);
}

void TcpEngine::flush_events() {
  if (flushing_) return;
  flushing_ = true;
  std::vector<uint64_t>& work = flush_work_;  // reused: no allocation per call
  for (int round = 0; round < 64 && !dirty_.empty(); ++round) {
    work.swap(dirty_);
    dirty_.clear();
    std::sort(work.begin(), work.end());
    work.erase(std::unique(work.begin(), work.end()), work.end());
    for (uint64_t id : work) {
      Tcb* t = find(id);
      if (!t || !t->cb) continue;
      uint32_t ev = op_events(id);
      if (ev == t->last_events) continue;
      t->last_events = ev;
      TcpCallback cb = t->cb;  // the callback may replace itself or close the socket
      ++depth_;
      cb(ev);
      --depth_;
    }
    work.clear();
  }
  dirty_.clear();
  flushing_ = false;
}

size_t TcpEngine::half_open_count(uint64_t listener_id) const {
  Tcb* t = find(listener_id);
  return t ? t->half_open.size() : 0;
}

void TcpEngine::set_state(Tcb* t, TcpState s) {
  t->state = s;
  t->st.state = s;
  mark(t);
}

// RFC 6528: ISN = M + F(4-tuple, secret), M a clock ticking every 4 us, so a new
// incarnation of a 4-tuple starts above the old one's sequence numbers (what lets a peer
// in TIME-WAIT accept it at once, RFC 6191); timestamps likewise start from a per-tuple
// offset plus the clock. F is the keyed PRF of tcp_secrets.cpp.
uint32_t TcpEngine::isn_offset(const Endpoint& local, const Endpoint& remote) const {
  return secrets_.isn_offset(local, remote);
}

uint32_t TcpEngine::initial_seq(const Tcb* t, Instant now) const {
  return uint32_t(uint64_t(now.count()) / 4000u) + secrets_.isn_offset(t->local, t->remote);
}

uint32_t TcpEngine::ts_now(Tcb* t, Instant now) const {
  return uint32_t(uint64_t(now.count()) / 1000000u) + t->ts_offset;
}

// ---------------------------------------------------------------------------- output

uint16_t TcpEngine::window_to_advertise(Tcb* t) {
  uint32_t cur = gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
  size_t free = t->rcvbuf.free();
  if (t->rd_shut && !t->has_handle) free = 0;
  uint64_t wnd = free;
  // Receiver SWS avoidance (RFC 9293 §3.8.6.2.2): move the right edge only by at least
  // min(buffer/2, MSS).
  if (wnd > cur && wnd - cur < std::min<uint64_t>(t->rcvbuf.capacity() / 2, t->rcv_mss))
    wnd = cur;
  if (wnd < cur) wnd = cur;  // never shrink the window (RFC 9293 §3.8.6.2.2)
  uint64_t maxw = uint64_t(65535) << t->rcv_wscale;
  wnd = std::min(wnd, maxw);
  uint64_t field = wnd >> t->rcv_wscale;
  if ((field << t->rcv_wscale) < cur) field = (uint64_t(cur) + (1u << t->rcv_wscale) - 1) >> t->rcv_wscale;
  field = std::min<uint64_t>(field, 65535);
  uint32_t edge = t->rcv_nxt + uint32_t(field << t->rcv_wscale);
  if (gt(edge, t->rcv_adv)) t->rcv_adv = edge;
  return uint16_t(field);
}

bool TcpEngine::emit(const IpAddr& src, const IpAddr& dst, wire::TcpHeader& h, Tcb* t,
                     size_t data_off, size_t data_len) {
  if (t) {
    if (t->ts_ok) {
      h.opt.has_timestamps = true;
      h.opt.ts_val = ts_now(t, last_now_);
      h.opt.ts_ecr = t->ts_recent;
    }
    if (t->sack_ok && !t->ooo.empty() && !(h.flags & (tf::SYN | tf::RST))) {
      // RFC 2018 §4: the first block reports the most recently received segment.
      size_t maxb = t->ts_ok ? 3 : 4;
      uint8_t n = 0;
      for (const Range& r : t->ooo)
        if (r.left == t->ooo_last_left) h.opt.sack[n++] = {r.left, r.right};
      for (const Range& r : t->ooo) {
        if (n >= maxb) break;
        if (r.left != t->ooo_last_left) h.opt.sack[n++] = {r.left, r.right};
      }
      h.opt.sack_count = n;
    }
  }
  // The segment starts `room` bytes into scratch_, so that a host that builds frames in
  // place can put its IP and link headers in front of it (TcpHost::headroom).
  const size_t room = host_.headroom();
  std::span<uint8_t> hdr_area(scratch_.data() + room, scratch_.size() - room);
  size_t hl = wire::emit_tcp_header(h, hdr_area);
  if (hl == 0) return false;
  if (data_len) {
    if (room + hl + data_len > scratch_.size()) scratch_.resize(room + hl + data_len);
    t->sndbuf.copy_out(data_off, scratch_.data() + room + hl, data_len);
  }
  std::span<uint8_t> seg(scratch_.data() + room, hl + data_len);
  if (!(room && host_.host_checksums())) wire::tcp_fill_checksum(src, dst, seg);
  ctr_.segs_out++;
  if (t) {
    t->st.segs_out++;
    if (h.flags & tf::ACK) {
      t->last_ack_sent = h.ack;
      t->delack_at = kNever;
      t->unacked_bytes = 0;
    }
  }
  size_t gso = t && data_len > t->mss ? t->mss : 0;
  bool sent = room ? host_.send_segment_inplace(src, dst, std::span<uint8_t>(scratch_.data(), room + seg.size()),
                                                room, gso)
                   : host_.send_segment(src, dst, seg);
  if (!sent) {
    ctr_.send_failed++;
    return false;
  }
  return true;
}

wire::TcpHeader TcpEngine::ack_header(Tcb* t, uint32_t seq) {
  wire::TcpHeader h;
  h.src_port = t->local.port;
  h.dst_port = t->remote.port;
  h.seq = seq;
  h.ack = t->rcv_nxt;
  h.flags = tf::ACK;
  h.window = window_to_advertise(t);
  return h;
}

void TcpEngine::send_ack(Tcb* t, Instant) {
  wire::TcpHeader h = ack_header(t, t->snd_nxt);
  emit(t->local.addr, t->remote.addr, h, t, 0, 0);
}

void TcpEngine::send_rst(Tcb* t) {
  if (!t->synchronized()) return;
  wire::TcpHeader h;
  h.src_port = t->local.port;
  h.dst_port = t->remote.port;
  h.seq = t->snd_nxt;
  h.ack = t->rcv_nxt;
  h.flags = tf::RST | tf::ACK;
  ctr_.rst_sent++;
  emit(t->local.addr, t->remote.addr, h, nullptr, 0, 0);
}

// RFC 9293 §3.10.7.1: the reset generated for a segment that has no connection.
void TcpEngine::send_reset_for(const IpAddr& src, const IpAddr& dst, const wire::TcpHeader& in,
                               size_t seg_len) {
  wire::TcpHeader h;
  h.src_port = in.dst_port;
  h.dst_port = in.src_port;
  if (in.flags & tf::ACK) {
    h.seq = in.ack;
    h.flags = tf::RST;
  } else {
    h.seq = 0;
    h.ack = in.seq + uint32_t(seg_len);
    h.flags = tf::RST | tf::ACK;
  }
  ctr_.rst_sent++;
  emit(dst, src, h, nullptr, 0, 0);
}

void TcpEngine::send_syn(Tcb* t, Instant now) {
  wire::TcpHeader h;
  h.src_port = t->local.port;
  h.dst_port = t->remote.port;
  h.seq = t->iss;
  bool synack = t->state == TcpState::SynReceived;
  h.flags = tf::SYN;
  if (synack) {
    h.flags |= tf::ACK;
    h.ack = t->rcv_nxt;
  }
  h.window = uint16_t(std::min<size_t>(t->rcvbuf.free(), 65535));
  t->rcv_adv = t->rcv_nxt + h.window;
  h.opt.has_mss = true;
  h.opt.mss = uint16_t(std::min<uint32_t>(t->rcv_mss, 65535));
  bool ws = synack ? t->ws_ok : tun_.window_scaling;
  bool sack = synack ? t->sack_ok : tun_.sack;
  bool ts = synack ? t->ts_ok : tun_.timestamps;
  if (ws) { h.opt.has_wscale = true; h.opt.wscale = t->rcv_wscale; }
  h.opt.sack_permitted = sack;
  if (ts) {
    h.opt.has_timestamps = true;
    h.opt.ts_val = ts_now(t, now);
    h.opt.ts_ecr = synack ? t->ts_recent : 0;
  }
  t->snd_nxt = t->iss + 1;
  t->snd_max = smax(t->snd_max, t->snd_nxt);
  if (t->retries == 0) {
    t->rtt_pending = true;
    t->rtt_end = t->iss + 1;
    t->rtt_start = now;
  } else {
    t->rtt_pending = false;  // Karn
  }
  // Options were set above; emit() must not add TS again with t (SYN carries its own).
  emit(t->local.addr, t->remote.addr, h, nullptr, 0, 0);
  t->st.segs_out++;
  if (h.flags & tf::ACK) t->last_ack_sent = h.ack;
  if (t->rtx_at == kNever) t->rtx_at = now + t->rto;
}

void TcpEngine::arm_rtx(Tcb* t, Instant now) {
  if (t->rtx_at == kNever || t->persist) {
    t->persist = false;
    t->rtx_at = now + t->rto;
  }
}

bool TcpEngine::send_data_segment(Tcb* t, uint32_t seq, size_t len, bool fin, Instant now) {
  wire::TcpHeader h = ack_header(t, seq);
  if (len && seq + uint32_t(len) == t->data_end()) h.flags |= tf::PSH;
  if (fin) h.flags |= tf::FIN;
  bool retransmit = lt(seq, t->snd_max);
  if (retransmit) {
    t->st.retransmits++;
    ctr_.retransmits++;
    if (t->rtt_pending) t->rtt_pending = false;  // Karn's algorithm (RFC 6298 §3)
  } else if (!t->rtt_pending && len) {
    t->rtt_pending = true;
    t->rtt_end = seq + uint32_t(len);
    t->rtt_start = now;
  }
  bool ok = emit(t->local.addr, t->remote.addr, h, t, seq - t->snd_una, len);
  t->st.bytes_sent += len;
  uint32_t end = seq + uint32_t(len) + (fin ? 1 : 0);
  if (fin) t->fin_sent = true;
  t->snd_max = smax(t->snd_max, end);
  arm_rtx(t, now);
  return ok;
}

void TcpEngine::output(Tcb* t, Instant now) {
  switch (t->state) {
    case TcpState::Established:
    case TcpState::CloseWait:
    case TcpState::FinWait1:
    case TcpState::Closing:
    case TcpState::LastAck:
      break;
    default:
      return;
  }
  if (t->fin_acked) return;
  // PMTU-aware MSS: the path MTU may have dropped since the handshake.
  {
    size_t pmtu = host_.path_mtu(t->remote.addr);
    size_t iph = t->remote.addr.is_v4() ? 20 : 40;
    size_t opt = t->ts_ok ? 12 : 0;
    if (pmtu > iph + 20 + opt + 8) {
      uint32_t m = uint32_t(std::min<size_t>(t->peer_mss, pmtu - iph - 20) - opt);
      t->mss = std::max<uint32_t>(m, 8);
    }
    // Segmentation offload: the host cuts larger sends into mss pieces.
    size_t tm = host_.tso_max(t->remote.addr);
    t->tso = tm >= 2 * size_t(t->mss) ? uint32_t(tm / t->mss * t->mss) : 0;
  }
  if (t->in_recovery && t->sack_ok) {
    recovery_send(t, now);
    return;
  }
  bool sws_blocked = false;
  for (int guard = 0; guard < 100000; ++guard) {
    uint32_t data_end = t->data_end();
    uint32_t flight = t->snd_nxt - t->snd_una;
    uint32_t win = std::min(t->snd_wnd, t->cwnd);
    uint32_t usable = win > flight ? win - flight : 0;
    uint32_t avail = gt(data_end, t->snd_nxt) ? data_end - t->snd_nxt : 0;
    uint32_t len = std::min({avail, t->tso ? t->tso : t->mss, usable});
    bool fin = t->fin_queued && t->snd_nxt + len == t->fin_seq && !(t->fin_sent && t->snd_nxt == t->snd_max);
    if (t->fin_queued && len == 0 && t->snd_nxt != t->fin_seq) fin = false;
    if (len == 0 && !fin) break;
    if (len < t->mss && len < avail) {
      // Sender SWS avoidance (RFC 9293 §3.8.6.2.1): window-limited small segment.
      if (len < t->max_snd_wnd / 2) {
        sws_blocked = len > 0 && len == usable && usable < t->snd_wnd + 1;
        break;
      }
    } else if (len < t->mss && len == avail && !fin && flight > 0 && !t->nodelay &&
               !lt(t->snd_nxt, t->snd_max)) {
      break;  // Nagle (RFC 9293 §3.7.4)
    }
    send_data_segment(t, t->snd_nxt, len, fin, now);
    t->snd_nxt += len + (fin ? 1 : 0);
    if (fin) break;
  }
  // Persist timer (RFC 9293 §3.8.6.1): data waiting, zero window, nothing in flight.
  // It doubles as the SWS override timer (RFC 9293 §3.8.6.2.1) when a small usable
  // window is all there is.
  if ((t->snd_wnd == 0 || sws_blocked) && gt(t->data_end(), t->snd_una) && t->snd_nxt == t->snd_una &&
      t->snd_max == t->snd_una && t->rtx_at == kNever) {
    t->persist = true;
    t->persist_backoff = 0;
    t->rtx_at = now + std::clamp(t->rto, tun_.min_rto, tun_.max_rto);
  }
}

// RFC 6675 §5: during SACK loss recovery, send while pipe < cwnd: first lost holes
// (NextSeg rule 1), then new data (rule 2).
void TcpEngine::recovery_send(Tcb* t, Instant now) {
  uint32_t mss = t->mss;
  // Lost boundary: holes below the first SACK block (from the top) that has more than
  // (DupThresh-1)*SMSS bytes SACKed above and including it are lost (RFC 6675 IsLost).
  uint32_t sacked = 0, lost_edge = t->snd_una;
  {
    uint32_t acc = 0;
    for (size_t i = t->scoreboard.size(); i-- > 0;) {
      acc += t->scoreboard[i].right - t->scoreboard[i].left;
      if (acc > 2 * mss && lost_edge == t->snd_una) lost_edge = t->scoreboard[i].left;
    }
    sacked = acc;
  }
  // Holes not yet retransmitted below lost_edge are not in the pipe.
  auto hole_bytes_from = [&](uint32_t from, uint32_t to) {
    uint32_t n = 0, cur = from;
    for (const Range& r : t->scoreboard) {
      if (ge(cur, to)) break;
      if (gt(r.left, cur)) n += (lt(r.left, to) ? r.left : to) - cur;
      if (gt(r.right, cur)) cur = r.right;
    }
    if (lt(cur, to)) n += to - cur;
    return n;
  };
  uint32_t outstanding = t->snd_max - t->snd_una;
  uint32_t lost = lt(t->high_rxt, lost_edge) ? hole_bytes_from(t->high_rxt, lost_edge) : 0;
  uint32_t pipe = outstanding - std::min(outstanding, sacked + lost);
  for (int guard = 0; guard < 10000 && pipe < t->cwnd; ++guard) {
    // Rule 1: next hole at/after high_rxt below lost_edge.
    uint32_t s = t->high_rxt;
    bool found = false;
    uint32_t len = 0;
    for (const Range& r : t->scoreboard) {
      if (!lt(s, lost_edge)) break;
      if (le(r.right, s)) continue;
      if (lt(s, r.left)) {
        len = (lt(r.left, lost_edge) ? r.left : lost_edge) - s;
        found = len > 0;
        break;
      }
      s = r.right;
    }
    if (found) {
      uint32_t data_end = t->data_end();
      len = std::min(len, mss);
      bool fin = false;
      if (ge(s, data_end)) {
        if (!(t->fin_sent && s == t->fin_seq)) break;
        len = 0;
        fin = true;
      } else {
        len = std::min(len, data_end - s);
      }
      send_data_segment(t, s, len, fin, now);
      t->high_rxt = s + len + (fin ? 1 : 0);
      pipe += std::max<uint32_t>(len, 1);
      continue;
    }
    // Rule 2: new data.
    uint32_t data_end = t->data_end();
    uint32_t avail = gt(data_end, t->snd_max) ? data_end - t->snd_max : 0;
    uint32_t wnd_edge = t->snd_una + t->snd_wnd;
    uint32_t wnd_room = gt(wnd_edge, t->snd_max) ? wnd_edge - t->snd_max : 0;
    len = std::min({avail, mss, wnd_room});
    bool fin = t->fin_queued && !t->fin_sent && t->snd_max + len == t->fin_seq;
    if (len == 0 && !fin) break;
    if (lt(t->snd_nxt, t->snd_max)) t->snd_nxt = t->snd_max;
    send_data_segment(t, t->snd_max, len, fin, now);
    t->snd_nxt = t->snd_max;
    pipe += std::max<uint32_t>(len, 1);
    if (fin) break;
  }
}

void TcpEngine::maybe_window_update(Tcb* t, Instant now) {
  if (!t->synchronized() || t->state == TcpState::TimeWait || t->fin_received) return;
  uint32_t cur = gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
  size_t free = t->rcvbuf.free();
  if (free <= cur) return;
  size_t inc = free - cur;
  size_t cap = t->rcvbuf.capacity();
  if (inc >= cap / 2 || (cur < 2 * t->rcv_mss && inc >= 2 * size_t(t->rcv_mss)) ||
      (cur == 0 && inc >= std::min<size_t>(t->rcv_mss, cap / 2))) {
    ctr_.window_updates++;
    send_ack(t, now);
  }
}

// ---------------------------------------------------------------------------- state

void TcpEngine::enter_established(Tcb* t, Instant now) {
  set_state(t, TcpState::Established);
  t->ever_connected = true;
  t->retries = 0;
  t->rtx_at = kNever;
  uint32_t iw = std::max<uint32_t>(1, tun_.initial_cwnd_segments);
  t->cwnd = std::max<uint32_t>(std::min<uint64_t>(uint64_t(iw) * t->mss, 0x7fffffffu), 2 * t->mss);
  t->ssthresh = 0x7fffffffu;
  t->last_rx = now;
  if (t->keepalive) t->keep_at = now + t->keep_idle;
  if (t->fin_queued) t->fin_seq = t->data_end();
  mark(t);
}

void TcpEngine::enter_time_wait(Tcb* t, Instant now) {
  set_state(t, TcpState::TimeWait);
  t->rtx_at = t->keep_at = kNever;
  t->tw_at = now + tun_.time_wait;
  // RFC 9293 §3.10.7.4: TIME-WAIT only acknowledges a retransmitted FIN; our data and FIN
  // are acknowledged, so the send buffer goes, and the receive buffer too once the program
  // has closed the socket (unread bytes stay for it). A busy server keeps tens of
  // thousands of these for the 2 MSL: each would otherwise hold its touched buffer pages.
  t->sndbuf.reset(0);
  if (!t->has_handle) t->rcvbuf.reset(0);
}

void TcpEngine::conn_error(Tcb* t, int err) {
  t->error = err;
  set_state(t, TcpState::Closed);
  t->rtx_at = t->delack_at = t->keep_at = t->tw_at = kNever;
  unhash(t);
  if (t->in_accept_q || (!t->has_handle)) {
    destroy(t);
    return;
  }
  mark(t);
}

void TcpEngine::apply_syn_options(Tcb* t, const wire::TcpHeader& h) {
  const auto& o = h.opt;
  bool v4 = t->remote.addr.is_v4();
  t->peer_mss = o.has_mss ? std::max<uint32_t>(o.mss, 64) : (v4 ? 536 : 1220);  // RFC 9293 §3.7.1
  t->ws_ok = tun_.window_scaling && o.has_wscale;
  if (t->ws_ok) {
    t->snd_wscale = o.wscale;
  } else {
    t->snd_wscale = 0;
    t->rcv_wscale = 0;  // RFC 7323 §2.2: both or neither
  }
  t->sack_ok = tun_.sack && o.sack_permitted;
  t->ts_ok = tun_.timestamps && o.has_timestamps;
  if (t->ts_ok) {
    t->ts_recent = o.ts_val;
    t->ts_recent_valid = true;
  }
  size_t pmtu = host_.path_mtu(t->remote.addr);
  size_t iph = v4 ? 20 : 40;
  size_t opt = t->ts_ok ? 12 : 0;
  size_t m = std::min<size_t>(t->peer_mss, pmtu > iph + 20 ? pmtu - iph - 20 : 536);
  t->mss = uint32_t(std::max<size_t>(m > opt + 8 ? m - opt : 8, 8));
}

// Prepares buffers, MSS and window scale for a connection about to send its SYN.
static void prepare_conn(Tcb* t, TcpHost& host, const TcpTuning& tun) {
  t->sndbuf.reset(t->sndbuf_size);
  t->rcvbuf.reset(t->rcvbuf_size);
  size_t pmtu = host.path_mtu(t->remote.addr);
  size_t iph = t->remote.addr.is_v4() ? 20 : 40;
  size_t m = pmtu > iph + 20 + 64 ? pmtu - iph - 20 : 536;
  t->rcv_mss = uint32_t(std::min<size_t>(m, tun.mss));
  t->mss = t->rcv_mss;
  uint8_t s = 0;
  while (s < 14 && (t->rcvbuf_size >> s) > 65535) ++s;
  t->rcv_wscale = tun.window_scaling ? s : 0;
}

// ---------------------------------------------------------------------------- input

void TcpEngine::input(const IpAddr& src, const IpAddr& dst, std::span<const uint8_t> seg,
                      Instant now, bool checksum_trusted) {
  Guard g(*this, now);
  ctr_.segs_in++;
  if (seg.size() < wire::kTcpMinHeader || src.family != dst.family) {
    ctr_.drop_malformed++;
    return;
  }
  if (!checksum_trusted && wire::tcp_checksum(src, dst, seg) != 0) {
    ctr_.drop_bad_checksum++;
    return;
  }
  wire::TcpHeader h;
  std::span<const uint8_t> payload;
  if (!wire::parse_tcp(seg, h, payload)) {
    ctr_.drop_malformed++;
    return;
  }
  bool bad_src = src.is_unspecified() ||
                 (src.is_v4() ? (src.v4().is_multicast() || src.v4().is_broadcast())
                              : src.v6().is_multicast());
  bool bad_dst = dst.is_v4() ? (dst.v4().is_multicast() || dst.v4().is_broadcast())
                             : dst.v6().is_multicast();
  if (bad_src || bad_dst || h.src_port == 0 || h.dst_port == 0) {
    ctr_.drop_bad_address++;
    return;
  }
  size_t seg_len = payload.size() + ((h.flags & tf::SYN) ? 1 : 0) + ((h.flags & tf::FIN) ? 1 : 0);
  auto it = conns_.find(ConnKey{dst, src, h.dst_port, h.src_port});
  if (it != conns_.end()) {
    Tcb* t = it->second;
    // RFC 9293 §3.10.7.4 / RFC 6191: a new SYN beyond the old sequence space may reuse a
    // connection in TIME-WAIT.
    // RFC 6191: with timestamps, a SYN whose TSval is newer is a new incarnation too.
    if (t->state == TcpState::TimeWait && (h.flags & (tf::SYN | tf::ACK | tf::RST)) == tf::SYN &&
        (gt(h.seq, t->rcv_nxt) ||
         (t->ts_ok && h.opt.has_timestamps && gt(h.opt.ts_val, t->ts_recent)))) {
      ctr_.time_wait_reused++;
      destroy(t);
    } else {
      t->st.segs_in++;
      t->last_rx = now;
      t->keep_probes = 0;
      if (t->keepalive && t->keep_at != kNever) t->keep_at = now + t->keep_idle;
      if (t->state == TcpState::SynSent) input_syn_sent(t, h, payload, now);
      else input_sync(t, h, payload, now);
      return;
    }
  }
  // Listener: exact local address first, then the wildcard of the same family.
  Tcb* l = nullptr;
  if (auto pit = ports_.find(h.dst_port); pit != ports_.end()) {
    for (Tcb* c : pit->second) {
      if (c->state != TcpState::Listen || c->local.addr.family != dst.family) continue;
      if (c->local.addr == dst) { l = c; break; }
      if (c->local.addr.is_unspecified() && !l) l = c;
    }
  }
  if (l) {
    input_listen(l, src, dst, h, payload, seg_len, now);
    return;
  }
  // CLOSED (RFC 9293 §3.10.7.1): a RST is ignored, anything else answered with a RST.
  if (h.flags & tf::RST) {
    ctr_.drop_no_socket_rst++;
    return;
  }
  ctr_.drop_no_socket_rst_sent++;
  send_reset_for(src, dst, h, seg_len);
}

namespace {
// MSS values a SYN cookie can encode (3 bits).
constexpr uint16_t kCookieMss[8] = {536, 1220, 1400, 1440, 1460, 4036, 8948, 65483};
}  // namespace

// SYN cookie (RFC 4987 §3.6): ISS = hash(24 bits) | time slot (5 bits) | MSS index (3).
// With timestamps, the low 6 bits of our TSval carry window scale (4 bits; 15 = none)
// and SACK-permitted (1 bit), so those options survive without state.
void TcpEngine::send_syn_cookie(Tcb* l, const IpAddr& src, const IpAddr& dst,
                                const wire::TcpHeader& in, Instant now) {
  uint16_t peer_mss = in.opt.has_mss ? in.opt.mss : 536;
  uint32_t mi = 0;
  for (uint32_t i = 0; i < 8; ++i)
    if (kCookieMss[i] <= peer_mss) mi = i;
  uint32_t count = uint32_t(uint64_t(now.count()) / 64000000000ull);
  uint32_t iss = (secrets_.cookie(src, dst, in.src_port, in.dst_port, in.seq, count) << 8) |
                 (count & 0x1f) << 3 | mi;
  wire::TcpHeader h;
  h.src_port = in.dst_port;
  h.dst_port = in.src_port;
  h.seq = iss;
  h.ack = in.seq + 1;
  h.flags = tf::SYN | tf::ACK;
  size_t pmtu = host_.path_mtu(src);
  size_t iph = src.is_v4() ? 20 : 40;
  size_t m = pmtu > iph + 20 + 64 ? pmtu - iph - 20 : 536;
  h.opt.has_mss = true;
  h.opt.mss = uint16_t(std::min<size_t>({m, tun_.mss, 65535}));
  uint8_t ws = 0;
  while (ws < 14 && (l->rcvbuf_size >> ws) > 65535) ++ws;
  bool use_ts = tun_.timestamps && in.opt.has_timestamps;
  bool wscale = tun_.window_scaling && in.opt.has_wscale && use_ts;
  bool sack = tun_.sack && in.opt.sack_permitted && use_ts;
  h.window = uint16_t(std::min<size_t>(l->rcvbuf_size, 65535));
  if (use_ts) {
    uint32_t bits = (wscale ? std::min<uint32_t>(in.opt.wscale, 14) : 15) | (sack ? 0x10 : 0);
    h.opt.has_timestamps = true;
    h.opt.ts_val = ((uint32_t(uint64_t(now.count()) / 1000000u) + secrets_.cookie_ts_offset()) & ~0x3fu) | bits;
    h.opt.ts_ecr = in.opt.ts_val;
    h.opt.sack_permitted = sack;
    if (wscale) { h.opt.has_wscale = true; h.opt.wscale = ws; }
  }
  ctr_.syn_cookies_sent++;
  emit(dst, src, h, nullptr, 0, 0);
}

bool TcpEngine::accept_syn_cookie(Tcb* l, const IpAddr& src, const IpAddr& dst,
                                  const wire::TcpHeader& h, std::span<const uint8_t> payload,
                                  Instant now) {
  uint32_t iss = h.ack - 1, peer_isn = h.seq - 1;
  uint32_t count = uint32_t(uint64_t(now.count()) / 64000000000ull);
  bool ok = false;
  for (uint32_t back = 0; back < 2 && !ok; ++back) {  // this slot or the previous one
    uint32_t c = count - back;
    if (((iss >> 3) & 0x1f) != (c & 0x1f)) continue;
    ok = secrets_.cookie(src, dst, h.src_port, h.dst_port, peer_isn, c) == iss >> 8;
  }
  if (!ok) return false;
  if (l->accept_q.size() >= l->backlog) {
    ctr_.drop_accept_queue_full++;
    return true;
  }
  Tcb* c = make_child(l, src, dst, h);
  c->irs = peer_isn;
  c->rcv_nxt = h.seq;
  c->iss = iss;
  c->snd_una = c->snd_nxt = c->snd_max = h.ack;
  c->peer_mss = kCookieMss[iss & 7];
  wire::TcpHeader syn;  // the options the cookie remembers
  syn.opt.has_mss = true;
  syn.opt.mss = uint16_t(c->peer_mss);
  if (tun_.timestamps && h.opt.has_timestamps) {
    uint32_t bits = h.opt.ts_ecr & 0x3f;
    syn.opt.has_timestamps = true;
    syn.opt.ts_val = h.opt.ts_val;
    if ((bits & 0xf) != 15) { syn.opt.has_wscale = true; syn.opt.wscale = uint8_t(bits & 0xf); }
    syn.opt.sack_permitted = (bits & 0x10) != 0;
    // Our cookie TSval was (clock & ~63) | bits < clock + 64: keep later TSvals above it.
    c->ts_offset = secrets_.cookie_ts_offset() + 64;
  } else {
    c->rcv_wscale = 0;
  }
  apply_syn_options(c, syn);
  c->snd_wnd = uint32_t(h.window) << c->snd_wscale;
  c->max_snd_wnd = c->snd_wnd;
  c->snd_wl1 = h.seq;
  c->snd_wl2 = h.ack;
  c->rcv_adv = c->rcv_nxt + std::min<uint32_t>(uint32_t(c->rcvbuf.free()), 65535);
  c->last_ack_sent = c->rcv_nxt;
  hash(c);
  ctr_.passive_opens++;
  ctr_.syn_cookies_accepted++;
  // RFC 9293 §3.10.7.4 (with RFC 4987 §3.6): a valid cookie ACK, LISTEN -> ESTABLISHED.
  enter_established(c, now);
  l->accept_q.push_back(c);
  c->in_accept_q = true;
  mark(l);
  if (!payload.empty() || (h.flags & tf::FIN)) input_sync(c, h, payload, now);
  return true;
}

Tcb* TcpEngine::make_child(Tcb* l, const IpAddr& src, const IpAddr& dst,
                           const wire::TcpHeader& h) {
  Tcb* c = new_tcb();
  c->parent = l;
  c->local = Endpoint{dst, h.dst_port};
  c->remote = Endpoint{src, h.src_port};
  c->nodelay = l->nodelay;
  c->keepalive = l->keepalive;
  c->keep_idle = l->keep_idle;
  c->keep_intvl = l->keep_intvl;
  c->keep_cnt = l->keep_cnt;
  c->sndbuf_size = l->sndbuf_size;
  c->rcvbuf_size = l->rcvbuf_size;
  c->cc = l->cc;
  c->linger = l->linger;
  prepare_conn(c, host_, tun_);
  return c;
}

// RFC 9293 §3.10.7.2: LISTEN.
void TcpEngine::input_listen(Tcb* l, const IpAddr& src, const IpAddr& dst,
                             const wire::TcpHeader& h, std::span<const uint8_t> payload,
                             size_t seg_len, Instant now) {
  if (h.flags & tf::RST) {
    ctr_.drop_listen_rst++;
    return;
  }
  if (h.flags & tf::ACK) {
    if (!(h.flags & tf::SYN) && tun_.syn_cookies && accept_syn_cookie(l, src, dst, h, payload, now))
      return;
    ctr_.drop_listen_ack_rst_sent++;
    send_reset_for(src, dst, h, seg_len);
    return;
  }
  if (!(h.flags & tf::SYN)) {
    ctr_.drop_listen_no_syn++;
    return;
  }
  if (l->accept_q.size() >= l->backlog) {
    ctr_.drop_accept_queue_full++;
    return;
  }
  if (l->half_open.size() >= std::max<size_t>(1, tun_.syn_backlog)) {
    if (tun_.syn_cookies) {
      send_syn_cookie(l, src, dst, h, now);  // stateless answer while the queue is full
      return;
    }
    // Bounded half-open queue: the oldest SYN_RECEIVED entry makes room.
    Tcb* old = l->half_open.front();
    ctr_.syn_evicted++;
    destroy(old);
  }
  Tcb* c = make_child(l, src, dst, h);
  c->irs = h.seq;
  c->rcv_nxt = h.seq + 1;
  c->iss = initial_seq(c, now);
  c->ts_offset = secrets_.ts_offset(c->local, c->remote);
  c->snd_una = c->iss;
  c->snd_nxt = c->iss;
  c->snd_max = c->iss;
  apply_syn_options(c, h);
  c->snd_wnd = h.window;  // never scaled in a SYN (RFC 7323 §2.2)
  c->max_snd_wnd = c->snd_wnd;
  c->snd_wl1 = h.seq;
  c->snd_wl2 = c->iss;
  set_state(c, TcpState::SynReceived);  // RFC 9293 §3.10.7.2: LISTEN -> SYN-RECEIVED
  hash(c);
  l->half_open.push_back(c);
  ctr_.passive_opens++;
  send_syn(c, now);
}

// RFC 9293 §3.10.7.3: SYN-SENT.
void TcpEngine::input_syn_sent(Tcb* t, const wire::TcpHeader& h, std::span<const uint8_t>,
                               Instant now) {
  bool ack_ok = false;
  if (h.flags & tf::ACK) {
    if (le(h.ack, t->iss) || gt(h.ack, t->snd_max)) {
      ctr_.drop_syn_sent_bad_ack++;
      if (!(h.flags & tf::RST)) {
        wire::TcpHeader r;
        r.src_port = t->local.port;
        r.dst_port = t->remote.port;
        r.seq = h.ack;
        r.flags = tf::RST;
        ctr_.rst_sent++;
        emit(t->local.addr, t->remote.addr, r, nullptr, 0, 0);
      }
      return;
    }
    ack_ok = true;
  }
  if (h.flags & tf::RST) {
    if (ack_ok) {
      // RFC 9293 §3.10.7.3: SYN-SENT -> CLOSED, "connection refused".
      ctr_.rst_received++;
      conn_error(t, -ECONNREFUSED);
    } else {
      ctr_.drop_syn_sent_other++;
    }
    return;
  }
  if (!(h.flags & tf::SYN)) {
    ctr_.drop_syn_sent_other++;
    return;
  }
  t->irs = h.seq;
  t->rcv_nxt = h.seq + 1;
  t->rcv_adv = t->rcv_nxt;  // our SYN's window was relative to an unknown RCV.NXT
  apply_syn_options(t, h);
  if (ack_ok) {
    t->snd_una = h.ack;
    if (t->rtt_pending && ge(h.ack, t->rtt_end)) {
      update_rtt(t, now - t->rtt_start);
      t->rtt_pending = false;
    }
    t->snd_wnd = h.window;  // unscaled in SYN
    t->max_snd_wnd = t->snd_wnd;
    t->snd_wl1 = h.seq;
    t->snd_wl2 = h.ack;
    t->rto = t->rtt_valid ? t->rto : tun_.initial_rto;
    // RFC 9293 §3.10.7.3: SYN-SENT -> ESTABLISHED on an acceptable SYN,ACK.
    enter_established(t, now);
    send_ack(t, now);
    output(t, now);
  } else {
    // RFC 9293 §3.10.7.3 / §3.5 Figure 7: simultaneous open, SYN-SENT -> SYN-RECEIVED.
    set_state(t, TcpState::SynReceived);
    t->snd_wnd = h.window;
    t->max_snd_wnd = t->snd_wnd;
    t->snd_wl1 = h.seq;
    t->retries = 0;
    t->rtx_at = kNever;
    send_syn(t, now);
  }
}

void TcpEngine::challenge_ack(Tcb* t, Instant now) {
  // RFC 5961 §7 (tcp_ratelimit.cpp): per connection, then the engine's random budget.
  if (conn_rate_limited(&t->last_oow_ack, now, tun_.invalid_ratelimit)) {
    ctr_.challenge_acks_suppressed++;
    ctr_.challenge_acks_conn_limited++;
    return;
  }
  if (!challenge_budget_.take(now, tun_.challenge_ack_limit, host_.random())) {
    ctr_.challenge_acks_suppressed++;
    return;
  }
  ctr_.challenge_acks_sent++;
  send_ack(t, now);
}

void TcpEngine::oow_ack(Tcb* t, uint8_t flags, size_t seg_len, Instant now) {
  // Segments that occupy sequence space (data, FIN) are always answered; others at most
  // once per invalid_ratelimit per connection (tcp_ratelimit.cpp).
  bool exempt = seg_len > 0 && !(flags & tf::SYN);
  if (!exempt && conn_rate_limited(&t->last_oow_ack, now, tun_.invalid_ratelimit)) {
    ctr_.oow_acks_suppressed++;
    return;
  }
  send_ack(t, now);
}

// RFC 9293 §3.10.7.4: SYN-RECEIVED and all synchronized states.
void TcpEngine::input_sync(Tcb* t, const wire::TcpHeader& h, std::span<const uint8_t> payload,
                           Instant now) {
  uint8_t fl = h.flags;
  size_t seg_len = payload.size() + ((fl & tf::SYN) ? 1 : 0) + ((fl & tf::FIN) ? 1 : 0);

  // A retransmitted SYN in passive SYN-RECEIVED: our SYN,ACK was lost; send it again.
  if (t->state == TcpState::SynReceived && (fl & (tf::SYN | tf::ACK | tf::RST)) == tf::SYN &&
      h.seq == t->irs) {
    send_syn(t, now);
    return;
  }
  // PAWS (RFC 7323 §5.3 R1).
  if (t->ts_ok && h.opt.has_timestamps && t->ts_recent_valid && !(fl & tf::RST) &&
      lt(h.opt.ts_val, t->ts_recent)) {
    ctr_.drop_paws++;
    oow_ack(t, fl, seg_len, now);
    return;
  }
  // First: sequence number acceptability (RFC 9293 §3.10.7.4, table of four cases).
  uint32_t wnd = gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
  bool acceptable;
  if (seg_len == 0) {
    acceptable = wnd == 0 ? h.seq == t->rcv_nxt
                          : (ge(h.seq, t->rcv_nxt) && lt(h.seq, t->rcv_nxt + wnd));
  } else if (wnd == 0) {
    // Zero window: still take ACK/RST/FIN information from a segment at RCV.NXT (its
    // data is trimmed in the text step).
    acceptable = h.seq == t->rcv_nxt;
  } else {
    uint32_t last = h.seq + uint32_t(seg_len) - 1;
    acceptable = (ge(h.seq, t->rcv_nxt) && lt(h.seq, t->rcv_nxt + wnd)) ||
                 (ge(last, t->rcv_nxt) && lt(last, t->rcv_nxt + wnd));
  }
  if (!acceptable) {
    if (fl & tf::RST) {
      ctr_.drop_rst_out_of_window++;  // RFC 5961 §3.2
      return;
    }
    if (t->state == TcpState::TimeWait && (fl & tf::FIN)) {
      t->tw_at = now + tun_.time_wait;  // RFC 9293 §3.10.7.4: restart the 2 MSL timeout
    }
    ctr_.drop_out_of_window++;
    if (seg_len > 0 && payload.size() > 0) t->unacked_bytes = 0;
    oow_ack(t, fl, seg_len, now);
    return;
  }
  // Second: RST (RFC 5961 §3.2: only an exact match resets, else a challenge ACK).
  if (fl & tf::RST) {
    if (h.seq != t->rcv_nxt) {
      ctr_.drop_rst_challenged++;
      challenge_ack(t, now);
      return;
    }
    ctr_.rst_received++;
    switch (t->state) {
      case TcpState::SynReceived:
        if (t->parent) {
          // RFC 9293 §3.10.7.4: passive open, SYN-RECEIVED -> (back to) LISTEN.
          destroy(t);
        } else {
          conn_error(t, -ECONNREFUSED);  // active (simultaneous) open: refused
        }
        return;
      case TcpState::Established:
      case TcpState::FinWait1:
      case TcpState::FinWait2:
      case TcpState::CloseWait:
        // RFC 9293 §3.10.7.4: -> CLOSED, "connection reset".
        ctr_.resets_established++;
        conn_error(t, -ECONNRESET);
        return;
      default:
        // CLOSING, LAST-ACK, TIME-WAIT -> CLOSED (RFC 9293 §3.10.7.4).
        set_state(t, TcpState::Closed);
        if (t->has_handle) conn_error(t, 0);
        else destroy(t);
        return;
    }
  }
  // RFC 7323 §4.3: remember the peer's timestamp if the segment covers Last.ACK.sent.
  if (t->ts_ok && h.opt.has_timestamps && le(h.seq, t->last_ack_sent) &&
      ge(h.opt.ts_val, t->ts_recent)) {
    t->ts_recent = h.opt.ts_val;
    t->ts_recent_valid = true;
  }
  // Fourth: SYN in a synchronized state (RFC 5961 §4.2: challenge ACK).
  if (fl & tf::SYN) {
    ctr_.drop_syn_challenged++;
    challenge_ack(t, now);
    return;
  }
  // TIME-WAIT (RFC 9293 §3.10.7.4): only a retransmitted FIN matters; ACK it and
  // restart the 2 MSL timer. Everything else is dropped.
  if (t->state == TcpState::TimeWait) {
    if (fl & tf::FIN) {
      t->tw_at = now + tun_.time_wait;
      send_ack(t, now);
    } else {
      ctr_.drop_time_wait++;
    }
    return;
  }
  // Fifth: ACK.
  if (!(fl & tf::ACK)) {
    ctr_.drop_no_ack++;
    return;
  }
  if (!process_ack(t, h, payload.size() + ((fl & tf::FIN) ? 1 : 0), now)) return;
  if (t->dead || t->state == TcpState::Closed) return;
  // Seventh: segment text.
  if (!payload.empty()) {
    switch (t->state) {
      case TcpState::Established:
      case TcpState::FinWait1:
      case TcpState::FinWait2:
        if (t->rd_shut && !t->has_handle) {
          // Data for a socket the application closed: RFC 9293 §3.10.4 / RFC 2525.
          ctr_.drop_data_after_close++;
          send_rst(t);
          conn_error(t, -ECONNRESET);  // RFC 9293 §3.10.7.4 seventh + RFC 2525 §2.17: -> CLOSED
          return;
        }
        process_text(t, h, payload, now);
        break;
      default:
        break;  // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: FIN already received; ignore
    }
  }
  // Eighth: FIN.
  if (fl & tf::FIN) {
    uint32_t fin_seq = h.seq + uint32_t(payload.size());
    if (fin_seq == t->rcv_nxt) {
      process_fin(t, fin_seq, now);
    } else if (gt(fin_seq, t->rcv_nxt) && !t->fin_received) {
      t->ooo_fin_valid = true;  // out-of-order FIN: taken when the hole is filled
      t->ooo_fin = fin_seq;
      send_ack(t, now);
    } else if (t->state == TcpState::TimeWait) {
      t->tw_at = now + tun_.time_wait;
      send_ack(t, now);
    }
  }
  if (t->dead) return;
  if (t->delack_at != kNever && tun_.delayed_ack <= Duration(0)) send_ack(t, now);
  output(t, now);
}

void TcpEngine::update_rtt(Tcb* t, Duration r) {
  if (r < Duration(0)) r = Duration(0);
  // RFC 6298 §2.2 / §2.3.
  if (!t->rtt_valid) {
    t->srtt = r;
    t->rttvar = r / 2;
    t->rtt_valid = true;
  } else {
    Duration d = t->srtt > r ? t->srtt - r : r - t->srtt;
    t->rttvar = (3 * t->rttvar + d) / 4;
    t->srtt = (7 * t->srtt + r) / 8;
  }
  Duration rto = t->srtt + std::max<Duration>(1ms, 4 * t->rttvar);
  t->rto = std::clamp(rto, tun_.min_rto, tun_.max_rto);
  t->st.srtt = t->srtt;
  t->st.rttvar = t->rttvar;
}

void TcpEngine::sack_update(Tcb* t, const wire::TcpHeader& h) {
  auto& sb = t->scoreboard;
  // Drop what the cumulative ACK covers.
  while (!sb.empty() && le(sb.front().right, t->snd_una)) sb.erase(sb.begin());
  if (!sb.empty() && lt(sb.front().left, t->snd_una)) sb.front().left = t->snd_una;
  for (size_t k = 0; k < h.opt.sack_count; ++k) {
    uint32_t l = h.opt.sack[k].left, r = h.opt.sack[k].right;
    if (!lt(l, r) || le(r, t->snd_una) || gt(r, t->snd_max)) continue;  // invalid / D-SACK
    if (lt(l, t->snd_una)) l = t->snd_una;
    // Insert and merge (sorted, disjoint).
    size_t i = 0;
    while (i < sb.size() && lt(sb[i].right, l)) ++i;
    size_t j = i;
    while (j < sb.size() && le(sb[j].left, r)) {
      if (lt(sb[j].left, l)) l = sb[j].left;
      if (gt(sb[j].right, r)) r = sb[j].right;
      ++j;
    }
    sb.erase(sb.begin() + long(i), sb.begin() + long(j));
    if (sb.size() < 64) sb.insert(sb.begin() + long(i), Range{l, r});
  }
}

// RFC 5681 / RFC 9438 window growth on an ACK of new data.
void TcpEngine::cc_on_ack(Tcb* t, uint32_t acked, Instant now) {
  uint32_t mss = t->mss;
  if (t->cwnd < t->ssthresh) {
    t->cwnd += std::min(acked, 2 * mss);  // slow start (RFC 5681 §3.1, ABC L=2)
    if (t->cc == CongestionControl::Cubic) t->epoch_valid = false;
    return;
  }
  if (t->cc == CongestionControl::NewReno) {
    t->ca_acc += acked;  // congestion avoidance, byte counting (RFC 5681 §3.1)
    if (t->ca_acc >= t->cwnd) {
      t->ca_acc -= t->cwnd;
      t->cwnd += mss;
    }
    return;
  }
  // CUBIC (RFC 9438 §4): windows in segments, time in seconds.
  constexpr double C = 0.4, beta = 0.7;
  double cw = double(t->cwnd) / mss;
  if (!t->epoch_valid) {
    t->epoch = now;
    t->epoch_valid = true;
    if (t->w_max < cw) {
      t->cubic_k = 0;
      t->w_max = cw;
    } else {
      t->cubic_k = std::cbrt((t->w_max - cw) / C);
    }
    t->w_est = cw;
  }
  double tsec = std::chrono::duration<double>(now - t->epoch).count();
  double rtt = std::chrono::duration<double>(t->srtt).count();
  double target = C * std::pow(tsec + rtt - t->cubic_k, 3) + t->w_max;
  target = std::clamp(target, cw, 1.5 * cw);
  // Reno-friendly region (RFC 9438 §4.3).
  double alpha = 3.0 * (1 - beta) / (1 + beta);
  t->w_est += alpha * (double(acked) / mss) / cw;
  double next;
  if (t->w_est > target) {
    next = cw + (t->w_est - cw) * (double(acked) / mss) / cw;
    next = std::min(next, t->w_est);
  } else {
    next = cw + (target - cw) * (double(acked) / mss) / cw;
  }
  uint64_t nb = uint64_t(next * mss);
  t->cwnd = uint32_t(std::clamp<uint64_t>(nb, t->cwnd, 0x7fffffffu));
}

void TcpEngine::cc_on_congestion(Tcb* t, Instant) {
  uint32_t mss = t->mss;
  uint32_t flight = t->snd_max - t->snd_una;
  if (t->cc == CongestionControl::NewReno) {
    t->ssthresh = std::max(flight / 2, 2 * mss);  // RFC 5681 eq. (4)
  } else {
    constexpr double beta = 0.7;
    double cw = double(t->cwnd) / mss;
    // Fast convergence (RFC 9438 §4.7).
    if (cw < t->w_max) t->w_max = cw * (1 + beta) / 2;
    else t->w_max = cw;
    t->ssthresh = std::max<uint32_t>(uint32_t(double(t->cwnd) * beta), 2 * mss);
    t->epoch_valid = false;
  }
  t->cwnd = t->ssthresh;
  t->ca_acc = 0;
}

// Fifth step of RFC 9293 §3.10.7.4. Returns false if the segment is to be dropped.
bool TcpEngine::process_ack(Tcb* t, const wire::TcpHeader& h, size_t text_len, Instant now) {
  if (t->state == TcpState::SynReceived) {
    if (!(lt(t->snd_una, h.ack) && le(h.ack, t->snd_max))) {
      ctr_.drop_syn_received_bad_ack++;
      wire::TcpHeader r;
      r.src_port = t->local.port;
      r.dst_port = t->remote.port;
      r.seq = h.ack;
      r.flags = tf::RST;
      ctr_.rst_sent++;
      emit(t->local.addr, t->remote.addr, r, nullptr, 0, 0);
      return false;
    }
    if (t->parent && t->parent->accept_q.size() >= t->parent->backlog) {
      ctr_.drop_accept_queue_full++;
      return false;
    }
    if (t->rtt_pending && ge(h.ack, t->rtt_end)) {
      update_rtt(t, now - t->rtt_start);
      t->rtt_pending = false;
    }
    t->snd_una = h.ack;
    t->snd_wnd = uint32_t(h.window) << t->snd_wscale;
    t->max_snd_wnd = std::max(t->max_snd_wnd, t->snd_wnd);
    t->snd_wl1 = h.seq;
    t->snd_wl2 = h.ack;
    // RFC 9293 §3.10.7.4: SYN-RECEIVED -> ESTABLISHED.
    enter_established(t, now);
    if (Tcb* p = t->parent) {
      auto& ho = p->half_open;
      ho.erase(std::remove(ho.begin(), ho.end(), t), ho.end());
      p->accept_q.push_back(t);
      t->in_accept_q = true;
      mark(p);
    }
    // close() during SYN-RECEIVED (RFC 9293 §3.10.4): the FIN follows, -> FIN-WAIT-1.
    if (t->fin_queued) set_state(t, TcpState::FinWait1);
    return true;
  }
  uint32_t ack = h.ack;
  // RFC 5961 §5.2: acceptable range is [SND.UNA - MAX.SND.WND, SND.NXT].
  if (gt(ack, t->snd_max)) {
    ctr_.drop_ack_invalid++;
    send_ack(t, now);
    return false;
  }
  if (lt(ack, t->snd_una - std::max<uint32_t>(t->max_snd_wnd, 1))) {
    ctr_.drop_ack_invalid++;
    challenge_ack(t, now);
    return false;
  }
  uint32_t wnd = uint32_t(h.window) << t->snd_wscale;
  if (t->sack_ok && h.opt.sack_count) sack_update(t, h);
  if (gt(ack, t->snd_una)) {
    uint32_t acked = ack - t->snd_una;
    uint32_t data_bytes = acked;
    if (t->fin_sent && gt(ack, t->fin_seq)) {
      data_bytes -= 1;
      t->fin_acked = true;
    }
    data_bytes = std::min<uint32_t>(data_bytes, uint32_t(t->sndbuf.size()));
    t->sndbuf.consume(data_bytes);
    t->snd_una = ack;
    if (lt(t->snd_nxt, t->snd_una)) t->snd_nxt = t->snd_una;
    if (lt(t->high_rxt, t->snd_una)) t->high_rxt = t->snd_una;
    t->st.bytes_acked += data_bytes;
    if (t->rtt_pending && ge(ack, t->rtt_end)) {
      update_rtt(t, now - t->rtt_start);
      t->rtt_pending = false;
    }
    t->retries = 0;
    if (!t->rtt_valid) t->rto = tun_.initial_rto;
    else t->rto = std::clamp(t->srtt + std::max<Duration>(1ms, 4 * t->rttvar), tun_.min_rto, tun_.max_rto);
    // RFC 6298 §5.2/§5.3: stop or restart the retransmission timer.
    t->persist = false;
    t->rtx_at = t->snd_una == t->snd_max ? kNever : now + t->rto;
    if (t->sack_ok) sack_update(t, wire::TcpHeader{});  // prune below SND.UNA
    if (t->in_recovery) {
      if (ge(ack, t->recover)) {
        // Full ACK: leave recovery (RFC 6582 §3.2 step 3; RFC 6675 §5).
        t->in_recovery = false;
        uint32_t flight = t->snd_max - t->snd_una;
        t->cwnd = std::min(t->ssthresh, std::max(flight, t->mss) + t->mss);
        if (t->cwnd < 2 * t->mss) t->cwnd = 2 * t->mss;
      } else if (!t->sack_ok) {
        // Partial ACK (RFC 6582 §3.2 step 4): retransmit the next hole, deflate.
        uint32_t len = std::min<uint32_t>(t->mss, uint32_t(t->sndbuf.size()));
        if (len) send_data_segment(t, t->snd_una, len, false, now);
        t->cwnd = t->cwnd > acked ? t->cwnd - acked : t->mss;
        if (acked >= t->mss) t->cwnd += t->mss;
      } else if (t->scoreboard.empty() && !lt(t->snd_una, t->high_rxt)) {
        // SACK negotiated but no blocks to go on: behave like NewReno for the next hole.
        uint32_t len = std::min<uint32_t>(t->mss, uint32_t(t->sndbuf.size()));
        if (len) {
          send_data_segment(t, t->snd_una, len, false, now);
          t->high_rxt = t->snd_una + len;
        }
      }
    } else {
      cc_on_ack(t, data_bytes, now);
    }
    t->dupacks = 0;
    mark(t);
    // FIN acknowledged: RFC 9293 §3.10.7.4 FIN-WAIT-1 / CLOSING / LAST-ACK processing.
    if (t->fin_acked) {
      if (t->state == TcpState::FinWait1) {
        set_state(t, TcpState::FinWait2);  // RFC 9293 §3.10.7.4: FIN-WAIT-1 -> FIN-WAIT-2
        if (!t->has_handle) t->tw_at = now + tun_.fin_wait2_timeout;
      } else if (t->state == TcpState::Closing) {
        enter_time_wait(t, now);  // RFC 9293 §3.10.7.4: CLOSING -> TIME-WAIT
        return false;
      } else if (t->state == TcpState::LastAck) {
        // RFC 9293 §3.10.7.4: LAST-ACK -> CLOSED.
        set_state(t, TcpState::Closed);
        if (t->has_handle) {
          unhash(t);
          t->rtx_at = t->delack_at = t->keep_at = kNever;
        } else {
          destroy(t);
        }
        return false;
      }
    }
  } else if (ack == t->snd_una && text_len == 0 && wnd == t->snd_wnd &&
             t->snd_max != t->snd_una && !t->persist) {
    // Duplicate ACK (RFC 5681 §2).
    t->dupacks++;
    t->st.dup_acks++;
    if (!t->in_recovery) {
      bool sack_lost = false;
      if (t->sack_ok) {
        uint32_t acc = 0;
        for (const Range& r : t->scoreboard) acc += r.right - r.left;
        sack_lost = acc > 2 * t->mss;
      }
      if (t->dupacks >= 3 || sack_lost) {
        // Fast retransmit (RFC 5681 §3.2, RFC 6675 §5 / RFC 6582 §3.2).
        t->in_recovery = true;
        t->recover = t->snd_max;
        t->st.fast_retransmits++;
        t->st.recoveries++;
        ctr_.fast_retransmits++;
        cc_on_congestion(t, now);
        uint32_t len = std::min<uint32_t>(t->mss, uint32_t(t->sndbuf.size()));
        if (t->sack_ok && !t->scoreboard.empty())
          len = std::min(len, t->scoreboard.front().left - t->snd_una);
        if (len) send_data_segment(t, t->snd_una, len, false, now);
        else if (t->fin_sent) send_data_segment(t, t->snd_una, 0, true, now);
        t->high_rxt = t->snd_una + std::max<uint32_t>(len, 1);
        t->rtx_at = now + t->rto;
        if (!t->sack_ok) t->cwnd = t->ssthresh + 3 * t->mss;
      } else if (t->dupacks <= 2 && t->snd_nxt == t->snd_max) {
        // Limited transmit (RFC 3042): one new segment per early duplicate ACK, within
        // the receive window but beyond cwnd.
        uint32_t data_end = t->data_end();
        uint32_t wnd_edge = t->snd_una + t->snd_wnd;
        uint32_t room = gt(wnd_edge, t->snd_max) ? wnd_edge - t->snd_max : 0;
        uint32_t avail = gt(data_end, t->snd_max) ? data_end - t->snd_max : 0;
        uint32_t len = std::min({t->mss, avail, room});
        if (len > 0 && (len == t->mss || len == avail)) {
          send_data_segment(t, t->snd_max, len, false, now);
          t->snd_nxt = t->snd_max;
        }
      }
    } else if (!t->sack_ok) {
      t->cwnd += t->mss;  // NewReno inflation (RFC 6582 §3.2 step 3)
    }
  }
  // Window update (RFC 9293 §3.10.7.4, SND.WL1/SND.WL2 rule).
  if (lt(t->snd_wl1, h.seq) || (t->snd_wl1 == h.seq && le(t->snd_wl2, ack))) {
    bool was_zero = t->snd_wnd == 0;
    t->snd_wnd = wnd;
    t->snd_wl1 = h.seq;
    t->snd_wl2 = ack;
    t->max_snd_wnd = std::max(t->max_snd_wnd, wnd);
    if (was_zero && wnd > 0 && t->persist) {
      // The window opened: leave persist mode; the probe byte is sent again normally.
      t->persist = false;
      t->rtx_at = kNever;
      t->snd_nxt = t->snd_una;
    }
    if (was_zero && wnd > 0) mark(t);
  }
  if (t->state == TcpState::TimeWait) return true;
  return true;
}

void TcpEngine::process_text(Tcb* t, const wire::TcpHeader& h, std::span<const uint8_t> data,
                             Instant now) {
  uint32_t seq = h.seq;
  if (lt(seq, t->rcv_nxt)) {
    uint32_t skip = t->rcv_nxt - seq;
    if (skip >= data.size()) {
      send_ack(t, now);  // pure duplicate: ACK at once
      return;
    }
    data = data.subspan(skip);
    seq = t->rcv_nxt;
  }
  size_t off = seq - t->rcv_nxt;
  size_t space = t->rcvbuf.free();
  if (off >= space) {
    ctr_.rcv_trimmed += data.size();
    send_ack(t, now);
    return;
  }
  if (off + data.size() > space) {
    ctr_.rcv_trimmed += off + data.size() - space;
    data = data.first(space - off);
  }
  t->st.bytes_received += data.size();
  uint32_t end = seq + uint32_t(data.size());
  if (off == 0) {
    bool had_ooo = !t->ooo.empty();
    t->rcvbuf.append(data.data(), data.size());
    t->rcv_nxt = end;
    while (!t->ooo.empty() && le(t->ooo.front().left, t->rcv_nxt)) {
      if (gt(t->ooo.front().right, t->rcv_nxt)) {
        uint32_t n = t->ooo.front().right - t->rcv_nxt;
        t->rcvbuf.commit(n);
        t->rcv_nxt = t->ooo.front().right;
      }
      t->ooo.erase(t->ooo.begin());
    }
    if (t->rd_shut) t->rcvbuf.consume(t->rcvbuf.size());  // SHUT_RD: acknowledge, discard
    mark(t);
    if (t->ooo_fin_valid && t->ooo_fin == t->rcv_nxt) {
      t->ooo_fin_valid = false;
      process_fin(t, t->rcv_nxt, now);
      return;
    }
    // Delayed ACK (RFC 9293 §3.8.6.3, RFC 5681 §4.2): at least every second full
    // segment; at once when a hole was filled.
    t->unacked_bytes += data.size();
    size_t full = t->rcv_mss > 12 + 8 && t->ts_ok ? t->rcv_mss - 12 : t->rcv_mss;
    if (had_ooo || tun_.delayed_ack <= Duration(0) || t->unacked_bytes >= 2 * full) {
      send_ack(t, now);
    } else if (t->delack_at == kNever) {
      t->delack_at = now + tun_.delayed_ack;
    }
    return;
  }
  // Out of order: write in place, track the range (bounded), ACK at once with SACK.
  size_t i = 0;
  while (i < t->ooo.size() && lt(t->ooo[i].right, seq)) ++i;
  size_t j = i;
  uint32_t l = seq, r = end;
  while (j < t->ooo.size() && le(t->ooo[j].left, r)) {
    if (lt(t->ooo[j].left, l)) l = t->ooo[j].left;
    if (gt(t->ooo[j].right, r)) r = t->ooo[j].right;
    ++j;
  }
  if (i == j && t->ooo.size() >= std::max<size_t>(1, tun_.ooo_max_ranges)) {
    ctr_.drop_ooo_full++;
    send_ack(t, now);
    return;
  }
  t->rcvbuf.write_beyond(off, data.data(), data.size());
  t->ooo.erase(t->ooo.begin() + long(i), t->ooo.begin() + long(j));
  t->ooo.insert(t->ooo.begin() + long(i), Range{l, r});
  t->ooo_last_left = l;
  t->st.ooo_segments++;
  send_ack(t, now);
}

// Eighth step of RFC 9293 §3.10.7.4.
void TcpEngine::process_fin(Tcb* t, uint32_t fin_seq, Instant now) {
  if (t->fin_received) {
    send_ack(t, now);
    return;
  }
  t->fin_received = true;
  t->rcv_nxt = fin_seq + 1;
  t->ooo.clear();
  switch (t->state) {
    case TcpState::SynReceived:
    case TcpState::Established:
      set_state(t, TcpState::CloseWait);  // RFC 9293 §3.10.7.4: -> CLOSE-WAIT
      break;
    case TcpState::FinWait1:
      if (t->fin_acked) enter_time_wait(t, now);  // RFC 9293 §3.10.7.4: -> TIME-WAIT
      else set_state(t, TcpState::Closing);        // simultaneous close: -> CLOSING
      break;
    case TcpState::FinWait2:
      enter_time_wait(t, now);  // RFC 9293 §3.10.7.4: FIN-WAIT-2 -> TIME-WAIT
      break;
    default:
      break;
  }
  mark(t);
  send_ack(t, now);
}

// ---------------------------------------------------------------------------- timers

void TcpEngine::on_rtx_timeout(Tcb* t, Instant now) {
  t->rtx_at = kNever;
  if (t->state == TcpState::SynSent || t->state == TcpState::SynReceived) {
    if (t->retries >= tun_.syn_retries) {
      ctr_.syn_timeouts++;
      if (t->parent) destroy(t);
      else conn_error(t, t->soft_error ? t->soft_error : -ETIMEDOUT);  // RFC 9293 §3.8.3: R2 for SYN, -> CLOSED
      return;
    }
    t->retries++;
    t->st.rto_expiries++;
    ctr_.rto_expiries++;
    ctr_.retransmits++;
    t->st.retransmits++;
    t->rto = std::min(t->rto * 2, tun_.max_rto);  // RFC 6298 §5.5
    send_syn(t, now);
    return;
  }
  if (t->snd_una == t->snd_max) return;
  if (t->retries >= tun_.data_retries) {
    ctr_.conn_timeouts++;
    send_rst(t);
    conn_error(t, t->soft_error ? t->soft_error : -ETIMEDOUT);  // RFC 9293 §3.8.3: R2 reached
    return;
  }
  t->retries++;
  t->st.rto_expiries++;
  ctr_.rto_expiries++;
  // RFC 5681 §3.1 eq. (4) and loss window; RFC 6298 §5.5 backoff.
  if (t->retries == 1) cc_on_congestion(t, now);
  t->cwnd = t->mss;
  t->in_recovery = false;
  t->dupacks = 0;
  t->scoreboard.clear();  // RFC 6675 §5.1: the receiver may have reneged
  t->rto = std::min(t->rto * 2, tun_.max_rto);
  t->rtt_pending = false;
  // Go-back-N from SND.UNA: retransmit the first segment now, the rest as ACKs come.
  t->snd_nxt = t->snd_una;
  t->high_rxt = t->snd_una;
  uint32_t avail = uint32_t(t->sndbuf.size());
  uint32_t len = std::min(avail, t->mss);
  bool fin = t->fin_sent && t->snd_una + len == t->fin_seq;
  send_data_segment(t, t->snd_una, len, fin, now);
  t->snd_nxt = t->snd_una + len + (fin ? 1 : 0);
  t->rtx_at = now + t->rto;
}

void TcpEngine::on_persist_timeout(Tcb* t, Instant now) {
  t->rtx_at = kNever;
  if (!gt(t->data_end(), t->snd_una) || t->snd_nxt != t->snd_una) {
    t->persist = false;
    output(t, now);
    return;
  }
  if (t->snd_wnd > 0) {
    // SWS override: send what the small window allows.
    t->persist = false;
    uint32_t len = std::min({t->snd_wnd, t->mss, t->data_end() - t->snd_una});
    bool fin = t->fin_queued && t->snd_una + len == t->fin_seq;
    send_data_segment(t, t->snd_una, len, fin, now);
    t->snd_nxt = t->snd_una + len + (fin ? 1 : 0);
    return;
  }
  // Zero-window probe: one byte at SND.UNA beyond the window (RFC 9293 §3.8.6.1).
  t->st.zero_window_probes++;
  ctr_.zero_window_probes++;
  wire::TcpHeader h = ack_header(t, t->snd_una);
  emit(t->local.addr, t->remote.addr, h, t, 0, 1);
  t->snd_max = smax(t->snd_max, t->snd_una + 1);
  t->persist = true;
  t->persist_backoff = std::min<uint32_t>(t->persist_backoff + 1, 16);
  Duration base = std::clamp(t->rto, tun_.min_rto, tun_.max_rto);
  Duration d = base;
  for (uint32_t i = 0; i < t->persist_backoff && d < tun_.max_rto; ++i) d *= 2;
  t->rtx_at = now + std::min(d, tun_.max_rto);
}

void TcpEngine::on_keepalive_timeout(Tcb* t, Instant now) {
  t->keep_at = kNever;
  if (!t->keepalive || (t->state != TcpState::Established && t->state != TcpState::CloseWait))
    return;
  if (now - t->last_rx < t->keep_idle && t->keep_probes == 0) {
    t->keep_at = t->last_rx + t->keep_idle;
    return;
  }
  if (t->keep_probes >= t->keep_cnt) {
    ctr_.keepalive_timeouts++;
    send_rst(t);
    conn_error(t, -ETIMEDOUT);  // RFC 9293 §3.8.4: keep-alive gave up
    return;
  }
  // Probe: SEG.SEQ = SND.NXT - 1, no data (RFC 9293 §3.8.4).
  t->keep_probes++;
  t->st.keepalive_probes++;
  ctr_.keepalive_probes++;
  wire::TcpHeader h = ack_header(t, t->snd_una - 1);
  emit(t->local.addr, t->remote.addr, h, t, 0, 0);
  t->keep_at = now + t->keep_intvl;
}

void TcpEngine::icmp_error(const IpAddr& local, const IpAddr& remote,
                           std::span<const uint8_t> q, int err, Instant now) {
  Guard g(*this, now);
  if (q.size() < 8) return;
  uint16_t sport = uint16_t(q[0] << 8 | q[1]), dport = uint16_t(q[2] << 8 | q[3]);
  uint32_t seq = uint32_t(q[4]) << 24 | uint32_t(q[5]) << 16 | uint32_t(q[6]) << 8 | q[7];
  auto it = conns_.find(ConnKey{local, remote, sport, dport});
  if (it == conns_.end()) return;
  Tcb* t = it->second;
  // RFC 5927 §4.1: the quoted sequence number must be in flight.
  if (lt(seq, t->snd_una) || !lt(seq, smax(t->snd_max, t->snd_una + 1))) return;
  if (err == -EMSGSIZE) {
    if (t->synchronized() && t->snd_una != t->snd_max && !t->persist) {
      output(t, now);  // refreshes the MSS from path_mtu()
      uint32_t len = std::min<uint32_t>(t->mss, uint32_t(t->sndbuf.size()));
      if (len) send_data_segment(t, t->snd_una, len, false, now);
    }
    return;
  }
  // RFC 9293 §3.9.1 / RFC 1122 §4.2.3.9: hard errors abort only an opening connection.
  if (t->state == TcpState::SynSent && !t->parent) {
    conn_error(t, err);  // RFC 1122 §4.2.3.9: hard error while opening, -> CLOSED
    return;
  }
  t->soft_error = err;
}

size_t TcpEngine::buffer_bytes() const {
  size_t n = 0;
  for (const auto& t : all_) n += t->sndbuf.capacity() + t->rcvbuf.capacity();
  return n;
}

void TcpEngine::timer_moved(Tcb* t) const {
  if (t->timer_dirty || t->dead) return;
  t->timer_dirty = true;
  timer_dirty_.push_back(t);
}

void TcpEngine::flush_timers() const {
  for (Tcb* t : timer_dirty_) {
    t->timer_dirty = false;
    if (t->dead) continue;
    Instant m = t->earliest_timer();
    if (m < t->heap_at) {
      t->heap_at = m;
      timers_.push({m, t->id});
    }
  }
  timer_dirty_.clear();
  // Entries left stale by a timer that moved earlier, or by a connection that went away,
  // wait for their own time to be dropped: up to a keepalive's 2 hours. Rebuilding the heap
  // from the live connections once they outnumber those twice keeps it O(connections);
  // the rebuild follows at least as many pushes as it visits entries, so it is amortised.
  if (timers_.size() > 2 * all_.size() + 64) {
    std::vector<TimerEntry> keep;
    keep.reserve(all_.size());
    for (const auto& t : all_)
      if (!t->dead && t->heap_at != kNever) keep.push_back({t->heap_at, t->id});
    timers_ = decltype(timers_)(std::greater<TimerEntry>(), std::move(keep));
  }
}

// The timers of one connection that are due at `now`.
void TcpEngine::fire_timers(Tcb* t, Instant now) {
  if (t->delack_at <= now) {
    ctr_.delayed_acks++;
    send_ack(t, now);
  }
  if (t->rtx_at <= now) {
    if (t->persist) on_persist_timeout(t, now);
    else on_rtx_timeout(t, now);
  }
  if (t->dead) return;
  if (t->keep_at <= now) {
    // Keepalive firing requires the last_rx-based idle time, see above.
    if (t->keep_probes == 0 && now - t->last_rx < t->keep_idle) t->keep_at = t->last_rx + t->keep_idle;
    else on_keepalive_timeout(t, now);
  }
  if (t->dead) return;
  if (t->tw_at <= now) {
    t->tw_at = kNever;
    if (t->state == TcpState::TimeWait) {
      // RFC 9293 §3.10.8: TIME-WAIT timeout -> CLOSED.
      ctr_.time_wait_expired++;
      set_state(t, TcpState::Closed);
      if (t->has_handle) unhash(t);
      else destroy(t);
    } else if (t->state == TcpState::FinWait2 && !t->has_handle) {
      destroy(t);  // orphaned FIN-WAIT-2 timeout (not in the RFC; Linux tcp_fin_timeout)
    }
  }
}

void TcpEngine::poll(Instant now) {
  flush_timers();
  if (timers_.empty() || timers_.top().at > now) {  // nothing due: no work at all
    if (now > last_now_) last_now_ = now;
    return;
  }
  Guard g(*this, now);
  while (!timers_.empty() && timers_.top().at <= now) {
    TimerEntry e = timers_.top();
    timers_.pop();
    auto it = live_.find(e.id);
    if (it == live_.end()) continue;
    Tcb* t = it->second;
    if (t->dead || e.at != t->heap_at) continue;  // stale entry
    t->heap_at = kNever;
    fire_timers(t, now);
    timer_moved(t);  // its next entry is pushed when this call ends (not due again now)
  }
}

Instant TcpEngine::next_deadline() const {
  flush_timers();
  while (!timers_.empty()) {
    const TimerEntry& e = timers_.top();
    auto it = live_.find(e.id);
    if (it != live_.end() && !it->second->dead && e.at == it->second->heap_at) return e.at;
    timers_.pop();  // stale
  }
  return kNever;
}

// ---------------------------------------------------------------------------- ports

bool TcpEngine::port_conflict(const Tcb* self, const Endpoint& ep, bool reuse) const {
  auto it = ports_.find(ep.port);
  if (it == ports_.end()) return false;
  for (const Tcb* o : it->second) {
    if (o == self || o->local.addr.family != ep.addr.family) continue;
    bool overlap = o->local.addr == ep.addr || o->local.addr.is_unspecified() ||
                   ep.addr.is_unspecified();
    if (!overlap) continue;
    if (self && self->reuseport && o->reuseport) continue;  // SO_REUSEPORT group
    if (reuse && o->reuseaddr && o->state != TcpState::Listen) continue;
    if (reuse && o->state == TcpState::TimeWait) continue;
    return true;
  }
  return false;
}

int TcpEngine::pick_ephemeral(Tcb* t, const Endpoint& remote) {
  uint32_t lo = tun_.ephemeral_low, hi = tun_.ephemeral_high;
  uint32_t range = hi - lo + 1;
  // RFC 6056 §3.3.3 (algorithm 3): a keyed per-destination offset plus a counter that
  // moves on at every pick, so a destination sees its ports cycle through the whole range
  // before one comes back (random picks reused ports within seconds, into the server's
  // TIME-WAIT).
  uint32_t start;
  if (remote.port != 0) {
    start = secrets_.port_offset(t->local.addr, remote) + ephemeral_next_++;
  } else {
    start = uint32_t(host_.random().below(range));  // bind(port 0): no destination yet
  }
  start %= range;
  for (uint32_t k = 0; k < range; ++k) {
    uint16_t port = uint16_t(lo + (start + k) % range);
    Endpoint ep{t->local.addr, port};
    if (remote.port != 0) {
      // connect(): a port is shared by connections to different remotes, but never with
      // a socket the application bound (or a listener).
      if (conns_.count(ConnKey{t->local.addr, remote.addr, port, remote.port})) continue;
      bool taken = false;
      if (auto it = ports_.find(port); it != ports_.end())
        for (const Tcb* o : it->second)
          if ((o->explicit_bind || o->state == TcpState::Listen) &&
              (o->local.addr.is_unspecified() || o->local.addr == t->local.addr))
            taken = true;
      if (taken) continue;
    } else if (port_conflict(t, ep, false)) {
      continue;
    }
    return port;
  }
  return -EADDRNOTAVAIL;
}

// ---------------------------------------------------------------------------- socket ops

static bool addr_ok_for_family(const IpAddr& a) { return a.is_v4() || a.is_v6(); }

int TcpEngine::op_bind(uint64_t id, const Endpoint& ep0) {
  Guard g(*this, std::nullopt);
  Tcb* t = find(id);
  if (!t) return -EBADF;
  if (t->bound || t->state != TcpState::Closed) return -EINVAL;
  Endpoint ep = ep0;
  if (!addr_ok_for_family(ep.addr)) return -EAFNOSUPPORT;
  if (ep.addr.is_v6() && ep.addr.v6().is_v4_mapped()) {
    Ipv4Addr v4{{ep.addr.b[12], ep.addr.b[13], ep.addr.b[14], ep.addr.b[15]}};
    ep.addr = IpAddr(v4);
  }
  if (!ep.addr.is_unspecified() && !host_.is_local_address(ep.addr)) return -EADDRNOTAVAIL;
  t->local.addr = ep.addr;
  if (ep.port == 0) {
    int p = pick_ephemeral(t, Endpoint{});
    if (p < 0) return p;
    ep.port = uint16_t(p);
  } else if (port_conflict(t, ep, t->reuseaddr)) {
    return -EADDRINUSE;
  }
  t->local = ep;
  t->bound = true;
  t->explicit_bind = true;
  ports_[ep.port].push_back(t);
  return 0;
}

int TcpEngine::op_listen(uint64_t id, int backlog) {
  Guard g(*this, std::nullopt);
  Tcb* t = find(id);
  if (!t) return -EBADF;
  if (t->state != TcpState::Closed && t->state != TcpState::Listen) return -EINVAL;
  if (!t->bound) {
    t->local.addr = IpAddr(Ipv4Addr{});
    int r = op_bind(id, Endpoint{IpAddr(Ipv4Addr{}), 0});
    if (r < 0) return r;
  }
  if (t->state == TcpState::Closed) {
    // A listener conflicts with any other socket on its port unless ours is new.
    auto it = ports_.find(t->local.port);
    if (it != ports_.end())
      for (Tcb* o : it->second)
        if (o != t && o->state == TcpState::Listen && o->local.addr == t->local.addr &&
            !(o->reuseport && t->reuseport))
          return -EADDRINUSE;
  }
  size_t b = backlog <= 0 ? 1 : size_t(backlog);
  t->backlog = std::min(b, std::max<size_t>(1, tun_.max_accept_backlog));
  set_state(t, TcpState::Listen);  // RFC 9293 §3.10.1: passive OPEN, CLOSED -> LISTEN
  return 0;
}

int TcpEngine::op_accept(uint64_t id, TcpSocket* out, Endpoint* peer) {
  Guard g(*this, std::nullopt);
  Tcb* t = find(id);
  if (!t) return -EBADF;
  if (t->state != TcpState::Listen) return -EINVAL;
  if (t->accept_q.empty()) return -EAGAIN;
  Tcb* c = t->accept_q.front();
  t->accept_q.erase(t->accept_q.begin());
  c->in_accept_q = false;
  c->parent = nullptr;
  c->has_handle = true;
  if (peer) *peer = c->remote;
  mark(t);
  if (out) *out = TcpSocket(this, c->id);
  return 0;
}

int TcpEngine::op_connect(uint64_t id, const Endpoint& ep0) {
  Guard g(*this, std::nullopt);
  Tcb* t = find(id);
  if (!t) return -EBADF;
  switch (t->state) {
    case TcpState::SynSent:
    case TcpState::SynReceived:
      return -EALREADY;
    case TcpState::Closed:
      break;
    case TcpState::Listen:
      return -EINVAL;
    default:
      return -EISCONN;
  }
  if (t->ever_connected || t->error) return -EISCONN;
  Endpoint ep = ep0;
  if (ep.addr.is_v6() && ep.addr.v6().is_v4_mapped()) {
    Ipv4Addr v4{{ep.addr.b[12], ep.addr.b[13], ep.addr.b[14], ep.addr.b[15]}};
    ep.addr = IpAddr(v4);
  }
  if (ep.port == 0) return -ECONNREFUSED;
  bool mc = ep.addr.is_v4() ? (ep.addr.v4().is_multicast() || ep.addr.v4().is_broadcast())
                            : ep.addr.v6().is_multicast();
  if (mc || ep.addr.is_unspecified()) return -ENETUNREACH;
  if (t->bound && !t->local.addr.is_unspecified() && t->local.addr.family != ep.addr.family)
    return -EAFNOSUPPORT;
  IpAddr laddr = t->local.addr;
  if (!t->bound || laddr.is_unspecified() || laddr.family != ep.addr.family) {
    laddr = host_.source_for(ep.addr);
    if (laddr.is_unspecified() || laddr.family != ep.addr.family) return -ENETUNREACH;
  }
  t->local.addr = laddr;
  if (!t->bound) {
    int p = pick_ephemeral(t, ep);
    if (p < 0) return p;
    t->local.port = uint16_t(p);
    t->bound = true;
    ports_[t->local.port].push_back(t);
  }
  if (conns_.count(ConnKey{t->local.addr, ep.addr, t->local.port, ep.port})) return -EADDRINUSE;
  t->remote = ep;
  prepare_conn(t, host_, tun_);
  t->iss = initial_seq(t, last_now_);
  t->ts_offset = secrets_.ts_offset(t->local, t->remote);
  t->snd_una = t->snd_nxt = t->snd_max = t->iss;
  t->rcv_adv = 0;
  t->retries = 0;
  t->rto = tun_.initial_rto;
  set_state(t, TcpState::SynSent);  // RFC 9293 §3.10.1: active OPEN, CLOSED -> SYN-SENT
  hash(t);
  ctr_.active_opens++;
  send_syn(t, last_now_);
  return -EINPROGRESS;
}

int64_t TcpEngine::op_send(uint64_t id, std::span<const uint8_t> data, int) {
  Guard g(*this, std::nullopt);
  Tcb* t = find(id);
  if (!t) return -EBADF;
  if (t->error) {
    int e = t->error;
    t->error = 0;
    mark(t);
    return e;
  }
  switch (t->state) {
    case TcpState::SynSent:
    case TcpState::SynReceived:
      return -EAGAIN;
    case TcpState::Established:
    case TcpState::CloseWait:
      break;
    case TcpState::Closed:
    case TcpState::Listen:
      return t->ever_connected ? -EPIPE : -ENOTCONN;
    default:
      return -EPIPE;
  }
  if (t->fin_queued) return -EPIPE;
  if (data.empty()) return 0;
  size_t n = t->sndbuf.append(data.data(), data.size());
  if (n == 0) return -EAGAIN;
  output(t, last_now_);
  mark(t);
  return int64_t(n);
}

int64_t TcpEngine::op_recv(uint64_t id, std::span<uint8_t> data, int flags) {
  Guard g(*this, std::nullopt);
  Tcb* t = find(id);
  if (!t) return -EBADF;
  if (t->state == TcpState::Listen) return -ENOTCONN;
  size_t avail = t->rcvbuf.allocated() ? t->rcvbuf.size() : 0;
  if (avail > 0 && !t->rd_shut) {
    size_t n = std::min(avail, data.size());
    t->rcvbuf.copy_out(0, data.data(), n);
    if (!(flags & kTcpMsgPeek)) {
      t->rcvbuf.consume(n);
      maybe_window_update(t, last_now_);
      mark(t);
    }
    return int64_t(n);
  }
  if (t->error) {
    int e = t->error;
    t->error = 0;
    mark(t);
    return e;
  }
  if (t->fin_received || t->rd_shut) return 0;
  if (t->state == TcpState::Closed) return t->ever_connected ? 0 : -ENOTCONN;
  return -EAGAIN;
}

int TcpEngine::op_shutdown(uint64_t id, int how) {
  Guard g(*this, std::nullopt);
  Tcb* t = find(id);
  if (!t) return -EBADF;
  if (how < kTcpShutRd || how > kTcpShutRdWr) return -EINVAL;
  if (!t->synchronized() && t->state != TcpState::SynSent) return -ENOTCONN;
  if (how == kTcpShutRd || how == kTcpShutRdWr) {
    t->rd_shut = true;
    if (t->rcvbuf.allocated()) t->rcvbuf.consume(t->rcvbuf.size());
  }
  if (how == kTcpShutWr || how == kTcpShutRdWr) {
    if (t->fin_queued) { mark(t); return 0; }
    t->fin_queued = true;
    switch (t->state) {
      case TcpState::SynSent:
        set_state(t, TcpState::Closed);  // RFC 9293 §3.10.4: CLOSE in SYN-SENT
        unhash(t);
        t->rtx_at = kNever;
        break;
      case TcpState::SynReceived:
        break;  // FIN after the handshake completes (RFC 9293 §3.10.4)
      case TcpState::Established:
        t->fin_seq = t->data_end();
        set_state(t, TcpState::FinWait1);  // RFC 9293 §3.10.4: ESTABLISHED -> FIN-WAIT-1
        break;
      case TcpState::CloseWait:
        t->fin_seq = t->data_end();
        set_state(t, TcpState::LastAck);  // RFC 9293 §3.10.4: CLOSE-WAIT -> LAST-ACK
        break;
      default:
        break;
    }
    output(t, last_now_);
  }
  mark(t);
  return 0;
}

int TcpEngine::op_close(uint64_t id, bool abort) {
  Guard g(*this, std::nullopt);
  Tcb* t = find(id);
  if (!t) return -EBADF;
  t->has_handle = false;
  t->cb = nullptr;
  bool unread = t->rcvbuf.allocated() && t->rcvbuf.size() > 0;
  bool zero_linger = t->linger && *t->linger <= Duration(0);
  switch (t->state) {
    case TcpState::Closed:
    case TcpState::Listen:
    case TcpState::SynSent:
    case TcpState::TimeWait:
      if (t->state == TcpState::TimeWait && !abort) {  // lives on in TIME-WAIT
        t->rcvbuf.reset(0);
        return 0;
      }
      destroy(t);
      return 0;
    default:
      break;
  }
  if (abort || unread || zero_linger) {
    // RFC 9293 §3.10.5 ABORT (and RFC 2525 §2.17: RST when unread data is discarded).
    send_rst(t);
    set_state(t, TcpState::Closed);
    destroy(t);
    return 0;
  }
  t->rd_shut = true;
  if (!t->fin_queued) {
    t->has_handle = true;  // op_shutdown needs the handle lookup
    op_shutdown(id, kTcpShutWr);
    t->has_handle = false;
  }
  if (t->state == TcpState::FinWait2) t->tw_at = last_now_ + tun_.fin_wait2_timeout;
  if (t->state == TcpState::Closed) destroy(t);
  return 0;
}

int TcpEngine::op_set_nodelay(uint64_t id, bool on) {
  Guard g(*this, std::nullopt);
  Tcb* t = find(id);
  if (!t) return -EBADF;
  t->nodelay = on;
  if (on) output(t, last_now_);
  return 0;
}
int TcpEngine::op_set_reuseport(uint64_t id, bool on) {
  Tcb* t = find(id);
  if (!t) return -EBADF;
  t->reuseport = on;
  return 0;
}

int TcpEngine::op_set_reuseaddr(uint64_t id, bool on) {
  Tcb* t = find(id);
  if (!t) return -EBADF;
  t->reuseaddr = on;
  return 0;
}
int TcpEngine::op_set_keepalive(uint64_t id, bool on) {
  Tcb* t = find(id);
  if (!t) return -EBADF;
  t->keepalive = on;
  t->keep_probes = 0;
  if (on && (t->state == TcpState::Established || t->state == TcpState::CloseWait))
    t->keep_at = t->last_rx + t->keep_idle;
  if (!on) t->keep_at = kNever;
  return 0;
}
int TcpEngine::op_set_keepalive_params(uint64_t id, Duration idle, Duration intvl, uint32_t cnt) {
  Tcb* t = find(id);
  if (!t) return -EBADF;
  if (idle <= Duration(0) || intvl <= Duration(0) || cnt == 0) return -EINVAL;
  t->keep_idle = idle;
  t->keep_intvl = intvl;
  t->keep_cnt = cnt;
  if (t->keepalive && t->keep_at != kNever) t->keep_at = t->last_rx + t->keep_idle;
  return 0;
}
int TcpEngine::op_set_linger(uint64_t id, std::optional<Duration> l) {
  Tcb* t = find(id);
  if (!t) return -EBADF;
  t->linger = l;
  return 0;
}
int TcpEngine::op_set_send_buffer(uint64_t id, size_t n) {
  Tcb* t = find(id);
  if (!t) return -EBADF;
  n = std::clamp<size_t>(n, 1024, size_t(1) << 30);
  if (t->sndbuf.allocated()) return -EISCONN;  // fixed once connected
  t->sndbuf_size = n;
  return 0;
}
int TcpEngine::op_set_recv_buffer(uint64_t id, size_t n) {
  Tcb* t = find(id);
  if (!t) return -EBADF;
  n = std::clamp<size_t>(n, 1024, size_t(1) << 30);
  if (t->rcvbuf.allocated()) return -EISCONN;
  t->rcvbuf_size = n;
  return 0;
}
int TcpEngine::op_set_cc(uint64_t id, CongestionControl cc) {
  Tcb* t = find(id);
  if (!t) return -EBADF;
  t->cc = cc;
  t->epoch_valid = false;
  return 0;
}
Endpoint TcpEngine::op_local(uint64_t id) const {
  Tcb* t = find(id);
  return t ? t->local : Endpoint{};
}
Endpoint TcpEngine::op_remote(uint64_t id) const {
  Tcb* t = find(id);
  return t ? t->remote : Endpoint{};
}
TcpState TcpEngine::op_state(uint64_t id) const {
  Tcb* t = find(id);
  return t ? t->state : TcpState::Closed;
}
int TcpEngine::op_error(uint64_t id) {
  Guard g(*this, std::nullopt);
  Tcb* t = find(id);
  if (!t) return -EBADF;
  int e = t->error;
  t->error = 0;
  mark(t);
  return e;
}
TcpInfo TcpEngine::op_info(uint64_t id) const {
  Tcb* t = find(id);
  if (!t) return {};
  TcpInfo i = t->st;
  i.state = t->state;
  i.srtt = t->srtt;
  i.rttvar = t->rttvar;
  i.rto = t->rto;
  i.mss = t->mss;
  i.cwnd = t->cwnd;
  i.ssthresh = t->ssthresh;
  i.snd_wnd = t->snd_wnd;
  i.rcv_wnd = gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
  i.snd_wscale = t->snd_wscale;
  i.rcv_wscale = t->rcv_wscale;
  i.sack = t->sack_ok;
  i.timestamps = t->ts_ok;
  i.wscale = t->ws_ok;
  i.congestion_control = t->cc;
  return i;
}
uint32_t TcpEngine::op_events(uint64_t id) const {
  Tcb* t = find(id);
  if (!t) return kTcpError | kTcpHup;
  uint32_t ev = 0;
  if (t->error) ev |= kTcpError;
  switch (t->state) {
    case TcpState::Listen:
      if (!t->accept_q.empty()) ev |= kTcpReadable;
      return ev;
    case TcpState::SynSent:
    case TcpState::SynReceived:
      return ev;
    case TcpState::Closed:
      // Linux reports POLLOUT|POLLHUP for a closed (or never connected) socket.
      ev |= kTcpHup | kTcpWritable;
      if (t->ever_connected || t->error) ev |= kTcpReadable | kTcpRdHup;
      return ev;
    default:
      break;
  }
  if ((t->rcvbuf.allocated() && t->rcvbuf.size() > 0) || t->fin_received || t->rd_shut)
    ev |= kTcpReadable;
  if (t->fin_received || t->rd_shut) ev |= kTcpRdHup;
  if ((t->state == TcpState::Established || t->state == TcpState::CloseWait) && !t->fin_queued &&
      t->sndbuf.free() > 0)
    ev |= kTcpWritable;
  if (t->fin_received && t->fin_queued) ev |= kTcpHup;
  return ev;
}
size_t TcpEngine::op_readable(uint64_t id) const {
  Tcb* t = find(id);
  return t && t->rcvbuf.allocated() ? t->rcvbuf.size() : 0;
}
size_t TcpEngine::op_send_queue(uint64_t id) const {
  Tcb* t = find(id);
  return t && t->sndbuf.allocated() ? t->sndbuf.size() : 0;
}
void TcpEngine::op_set_callback(uint64_t id, TcpCallback cb) {
  Tcb* t = find(id);
  if (!t) return;
  t->cb = std::move(cb);
  t->last_events = op_events(id);  // reported on the next change, never from here
}

}  // namespace tcp

// ---------------------------------------------------------------------------- TcpSocket

TcpSocket::~TcpSocket() {
  if (engine_) engine_->op_close(id_, false);
}
TcpSocket& TcpSocket::operator=(TcpSocket&& o) noexcept {
  if (this != &o) {
    if (engine_) engine_->op_close(id_, false);
    engine_ = o.engine_;
    id_ = o.id_;
    o.engine_ = nullptr;
    o.id_ = 0;
  }
  return *this;
}
#define TCP_FWD(expr) return engine_ ? engine_->expr : -EBADF
int TcpSocket::bind(const Endpoint& e) { TCP_FWD(op_bind(id_, e)); }
int TcpSocket::listen(int b) { TCP_FWD(op_listen(id_, b)); }
int TcpSocket::accept(TcpSocket* out, Endpoint* peer) { TCP_FWD(op_accept(id_, out, peer)); }
int TcpSocket::connect(const Endpoint& e) { TCP_FWD(op_connect(id_, e)); }
int64_t TcpSocket::send(std::span<const uint8_t> d, int f) { TCP_FWD(op_send(id_, d, f)); }
int64_t TcpSocket::recv(std::span<uint8_t> d, int f) { TCP_FWD(op_recv(id_, d, f)); }
int TcpSocket::shutdown(int how) { TCP_FWD(op_shutdown(id_, how)); }
int TcpSocket::close() {
  if (!engine_) return -EBADF;
  int r = engine_->op_close(id_, false);
  engine_ = nullptr;
  return r;
}
void TcpSocket::abort() {
  if (!engine_) return;
  engine_->op_close(id_, true);
  engine_ = nullptr;
}
int TcpSocket::set_nodelay(bool on) { TCP_FWD(op_set_nodelay(id_, on)); }
int TcpSocket::set_reuseaddr(bool on) { TCP_FWD(op_set_reuseaddr(id_, on)); }
int TcpSocket::set_reuseport(bool on) { TCP_FWD(op_set_reuseport(id_, on)); }
int TcpSocket::set_keepalive(bool on) { TCP_FWD(op_set_keepalive(id_, on)); }
int TcpSocket::set_keepalive_params(Duration i, Duration v, uint32_t c) {
  TCP_FWD(op_set_keepalive_params(id_, i, v, c));
}
int TcpSocket::set_linger(std::optional<Duration> l) { TCP_FWD(op_set_linger(id_, l)); }
int TcpSocket::set_send_buffer(size_t n) { TCP_FWD(op_set_send_buffer(id_, n)); }
int TcpSocket::set_recv_buffer(size_t n) { TCP_FWD(op_set_recv_buffer(id_, n)); }
int TcpSocket::set_congestion_control(CongestionControl cc) { TCP_FWD(op_set_cc(id_, cc)); }
#undef TCP_FWD
Endpoint TcpSocket::local_endpoint() const { return engine_ ? engine_->op_local(id_) : Endpoint{}; }
Endpoint TcpSocket::remote_endpoint() const { return engine_ ? engine_->op_remote(id_) : Endpoint{}; }
TcpState TcpSocket::state() const { return engine_ ? engine_->op_state(id_) : TcpState::Closed; }
int TcpSocket::error() { return engine_ ? engine_->op_error(id_) : -EBADF; }
TcpInfo TcpSocket::info() const { return engine_ ? engine_->op_info(id_) : TcpInfo{}; }
uint32_t TcpSocket::events() const { return engine_ ? engine_->op_events(id_) : kTcpHup | kTcpError; }
size_t TcpSocket::bytes_readable() const { return engine_ ? engine_->op_readable(id_) : 0; }
size_t TcpSocket::send_queue() const { return engine_ ? engine_->op_send_queue(id_) : 0; }
void TcpSocket::set_callback(TcpCallback cb) {
  if (engine_) engine_->op_set_callback(id_, std::move(cb));
}

}  // namespace libstack
