// The TCP engine: every TCP connection of one Stack (see tcp_engine.cpp for the theory
// of operation).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <queue>
#include <vector>

#include "libstack/tcp.h"
#include "transport/tcp/tcp_host.h"
#include "transport/tcp/tcp_ratelimit.h"
#include "transport/tcp/tcp_secrets.h"
#include "wire/tcp.h"

namespace libstack::tcp {

struct Tcb;
class TimerField;

// Byte ring used for send and receive buffers: no per-byte work, memcpy in two pieces.
class ByteRing {
 public:
  void reset(size_t cap);
  size_t capacity() const { return cap_; }
  size_t size() const { return len_; }
  size_t free() const { return cap_ - len_; }
  bool allocated() const { return buf_ != nullptr; }
  // Append up to free() bytes; returns bytes appended.
  size_t append(const uint8_t* p, size_t n);
  // Write n bytes at offset off past the current end (off + n <= free()); does not grow.
  void write_beyond(size_t off, const uint8_t* p, size_t n);
  void commit(size_t n) { len_ += n; }
  // Copy n bytes starting at offset off from the head (off + n <= size()).
  void copy_out(size_t off, uint8_t* p, size_t n) const;
  void consume(size_t n);

 private:
  std::unique_ptr<uint8_t[]> buf_;
  size_t cap_ = 0, head_ = 0, len_ = 0;
};

class TcpEngine {
 public:
  TcpEngine(TcpHost& host, TcpTuning tuning = {});
  ~TcpEngine();
  TcpEngine(const TcpEngine&) = delete;
  TcpEngine& operator=(const TcpEngine&) = delete;

  // A new socket in CLOSED state.
  // F(4-tuple) of the RFC 6528 initial sequence number M + F (M = now / 4 us) of a
  // connection from `local` to `remote`: for tests that need an ISN at a chosen value.
  uint32_t isn_offset(const Endpoint& local, const Endpoint& remote) const;
  TcpSocket socket();

  // One TCP segment (header + payload) from src to dst (dst: one of our addresses).
  void input(const IpAddr& src, const IpAddr& dst, std::span<const uint8_t> segment,
             Instant now) {
    input(src, dst, segment, now, false);
  }
  // Same; checksum_trusted: the segment came over a link that cannot corrupt it (loopback,
  // link_offload::kTrustedChecksum), so its checksum is not verified.
  void input(const IpAddr& src, const IpAddr& dst, std::span<const uint8_t> segment,
             Instant now, bool checksum_trusted);
  // An ICMP/ICMPv6 error about a segment we sent from `local` to `remote`; `quoted` is
  // the start of the quoted TCP header (at least 8 bytes: ports + sequence number).
  // err: -ECONNREFUSED / -EHOSTUNREACH / -ENETUNREACH (hard during SYN-SENT, otherwise
  // remembered as a soft error reported instead of -ETIMEDOUT), or -EMSGSIZE (the path
  // MTU dropped: the host's path_mtu() already tells the new value; the first
  // unacknowledged segment is resent at the new size, RFC 1191 / RFC 8201).
  void icmp_error(const IpAddr& local, const IpAddr& remote, std::span<const uint8_t> quoted,
                  int err, Instant now);
  // Runs every timer that is due. Socket calls (connect, send...) use the time of the
  // latest input()/poll(): call poll(now) before them after a long idle period.
  void poll(Instant now);
  // Earliest timer deadline, or kNever.
  Instant next_deadline() const;

  const TcpCounters& counters() const { return ctr_; }
  const TcpTuning& tuning() const { return tun_; }
  size_t connection_count() const { return conns_.size(); }
  size_t tcb_count() const { return all_.size(); }
  // Bytes of send and receive buffers allocated over all connections.
  size_t buffer_bytes() const;
  // Entries in the timer heap, stale ones included (at most 2 per connection + 64).
  size_t timer_entries() const { return timers_.size(); }
  // Half-open (SYN_RECEIVED) connections queued on the listener behind a socket.
  size_t half_open_count(uint64_t listener_id) const;

  // Socket operations (used by TcpSocket; ids are TcpSocket::id()).
  int op_bind(uint64_t id, const Endpoint& ep);
  int op_listen(uint64_t id, int backlog);
  int op_accept(uint64_t id, TcpSocket* out, Endpoint* peer);
  int op_connect(uint64_t id, const Endpoint& ep);
  int64_t op_send(uint64_t id, std::span<const uint8_t> data, int flags);
  int64_t op_recv(uint64_t id, std::span<uint8_t> data, int flags);
  int op_shutdown(uint64_t id, int how);
  int op_close(uint64_t id, bool abort);
  int op_set_nodelay(uint64_t id, bool on);
  int op_set_reuseaddr(uint64_t id, bool on);
  int op_set_reuseport(uint64_t id, bool on);
  int op_set_keepalive(uint64_t id, bool on);
  int op_set_keepalive_params(uint64_t id, Duration idle, Duration intvl, uint32_t cnt);
  int op_set_linger(uint64_t id, std::optional<Duration> l);
  int op_set_send_buffer(uint64_t id, size_t n);
  int op_set_recv_buffer(uint64_t id, size_t n);
  int op_set_cc(uint64_t id, CongestionControl cc);
  Endpoint op_local(uint64_t id) const;
  Endpoint op_remote(uint64_t id) const;
  TcpState op_state(uint64_t id) const;
  int op_error(uint64_t id);
  TcpInfo op_info(uint64_t id) const;
  uint32_t op_events(uint64_t id) const;
  size_t op_readable(uint64_t id) const;
  size_t op_send_queue(uint64_t id) const;
  void op_set_callback(uint64_t id, TcpCallback cb);

  struct ConnKey {
    IpAddr laddr, raddr;
    uint16_t lport = 0, rport = 0;
    bool operator==(const ConnKey&) const = default;
  };
  struct ConnKeyHash {
    size_t operator()(const ConnKey& k) const;
  };

 private:
  friend struct Tcb;
  Tcb* find(uint64_t id) const;
  Tcb* new_tcb();
  void destroy(Tcb* t);  // deferred free
  void reap();
  void flush_events();
  void mark(Tcb* t);
  struct Guard;

  // input path
  void input_listen(Tcb* l, const IpAddr& src, const IpAddr& dst, const wire::TcpHeader& h,
                    std::span<const uint8_t> payload, size_t seg_len, Instant now);
  void input_syn_sent(Tcb* t, const wire::TcpHeader& h, std::span<const uint8_t> payload,
                      Instant now);
  void input_sync(Tcb* t, const wire::TcpHeader& h, std::span<const uint8_t> payload,
                  Instant now);
  bool process_ack(Tcb* t, const wire::TcpHeader& h, size_t seg_len, Instant now);
  void process_text(Tcb* t, const wire::TcpHeader& h, std::span<const uint8_t> payload,
                    Instant now);
  void process_fin(Tcb* t, uint32_t fin_seq, Instant now);
  void apply_syn_options(Tcb* t, const wire::TcpHeader& h);
  void send_reset_for(const IpAddr& src, const IpAddr& dst, const wire::TcpHeader& h,
                      size_t seg_len);
  void challenge_ack(Tcb* t, Instant now);
  void oow_ack(Tcb* t, uint8_t flags, size_t seg_len, Instant now);  // out-of-window / PAWS
  Tcb* make_child(Tcb* l, const IpAddr& src, const IpAddr& dst, const wire::TcpHeader& h);
  void send_syn_cookie(Tcb* l, const IpAddr& src, const IpAddr& dst, const wire::TcpHeader& h,
                       Instant now);
  bool accept_syn_cookie(Tcb* l, const IpAddr& src, const IpAddr& dst, const wire::TcpHeader& h,
                         std::span<const uint8_t> payload, Instant now);
  uint32_t initial_seq(const Tcb* t, Instant now) const;
  void update_rtt(Tcb* t, Duration r);

  // output path
  void output(Tcb* t, Instant now);
  bool send_data_segment(Tcb* t, uint32_t seq, size_t len, bool fin, Instant now);
  void send_syn(Tcb* t, Instant now);
  void send_ack(Tcb* t, Instant now);
  void send_rst(Tcb* t);
  bool emit(const IpAddr& src, const IpAddr& dst, wire::TcpHeader& h, Tcb* t,
            size_t data_off, size_t data_len);
  uint16_t window_to_advertise(Tcb* t);
  // An ACK for t at sequence number `seq` (ports, RCV.NXT, advertised window filled).
  wire::TcpHeader ack_header(Tcb* t, uint32_t seq);
  void maybe_window_update(Tcb* t, Instant now);
  void arm_rtx(Tcb* t, Instant now);
  uint32_t ts_now(Tcb* t, Instant now) const;

  // state changes
  void set_state(Tcb* t, TcpState s);
  void enter_established(Tcb* t, Instant now);
  void enter_time_wait(Tcb* t, Instant now);
  void conn_error(Tcb* t, int err);  // reset / timeout: to CLOSED with error
  void unhash(Tcb* t);
  void hash(Tcb* t);

  // timers
  void on_rtx_timeout(Tcb* t, Instant now);
  void on_persist_timeout(Tcb* t, Instant now);
  void on_keepalive_timeout(Tcb* t, Instant now);

  // loss recovery / congestion control
  void cc_on_ack(Tcb* t, uint32_t acked, Instant now);
  void cc_on_congestion(Tcb* t, Instant now);
  void sack_update(Tcb* t, const wire::TcpHeader& h);
  void recovery_send(Tcb* t, Instant now);

  // ports
  bool port_conflict(const Tcb* self, const Endpoint& ep, bool reuse) const;
  int pick_ephemeral(Tcb* t, const Endpoint& remote);

  TcpHost& host_;
  TcpTuning tun_;
  TcpSecrets secrets_;  // ISN / timestamp / SYN cookie / port PRF (tcp_secrets.cpp)
  TcpCounters ctr_;
  std::vector<std::unique_ptr<Tcb>> all_;
  std::vector<Tcb*> dead_;
  std::vector<uint64_t> dirty_;
  std::vector<uint64_t> flush_work_;
  std::unordered_map<ConnKey, Tcb*, ConnKeyHash> conns_;
  std::unordered_map<uint16_t, std::vector<Tcb*>> ports_;  // bound sockets by port
  std::vector<uint8_t> scratch_;
  uint64_t next_id_ = 1;
  int depth_ = 0;          // API / input nesting (callbacks are flushed at depth 0)
  bool flushing_ = false;
  Instant last_now_{0};
  ChallengeBudget challenge_budget_;  // RFC 5961 §7, re-drawn every second
  uint32_t ephemeral_next_ = 0;  // RFC 6056 algorithm 3 counter

  // Timers: a min-heap of (deadline, connection id). Every connection with a timer set has
  // one entry at Tcb::heap_at <= its earliest timer; entries whose time no longer matches
  // are stale and skipped. A timer that moves earlier queues its connection (timer_dirty_)
  // and the earlier entry is pushed when the engine call ends; one that moves later leaves
  // the early entry, which then finds nothing due and is pushed again at the new time.
  // poll() and next_deadline() cost O(log n) per timer event, not O(connections).
  friend class TimerField;
  struct TimerEntry {
    Instant at;
    uint64_t id;
    bool operator>(const TimerEntry& o) const { return at > o.at; }
  };
  void timer_moved(Tcb* t) const;
  void flush_timers() const;
  void fire_timers(Tcb* t, Instant now);
  mutable std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<TimerEntry>> timers_;
  mutable std::vector<Tcb*> timer_dirty_;
  std::unordered_map<uint64_t, Tcb*> live_;  // every connection block by id (find(): with a handle)
};

}  // namespace libstack::tcp
