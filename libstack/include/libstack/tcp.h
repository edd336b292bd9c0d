// Public TCP API of libstack: tuning, socket handles, readiness, counters.
//
// A TcpSocket is a move-only handle onto a connection block owned by a tcp::TcpEngine
// (one engine per Stack). Destroying a valid handle closes the socket (graceful FIN, or
// RST when unread data is pending or SO_LINGER is 0). The connection itself may outlive
// the handle (FIN_WAIT_*, TIME_WAIT...), owned by the engine.
//
// Every call is non-blocking. Errors are negative Linux errnos (-EAGAIN, -EINPROGRESS,
// -ECONNREFUSED, -ECONNRESET, -ETIMEDOUT, -EPIPE, ...). Readiness is a poll(2)-style
// bitmask (the values are the Linux POLL* bits) reported by events() and, on change, to a
// per-socket callback.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "libstack/types.h"

namespace libstack {

namespace tcp {
class TcpEngine;
}

enum class CongestionControl : uint8_t { NewReno, Cubic };

// RFC 9293 §3.3.2 states.
enum class TcpState : uint8_t {
  Closed,
  Listen,
  SynSent,
  SynReceived,
  Established,
  FinWait1,
  FinWait2,
  CloseWait,
  Closing,
  LastAck,
  TimeWait,
};
const char* to_string(TcpState s);

// Readiness bits (same values as Linux POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP).
inline constexpr uint32_t kTcpReadable = 0x001;
inline constexpr uint32_t kTcpWritable = 0x004;
inline constexpr uint32_t kTcpError = 0x008;
inline constexpr uint32_t kTcpHup = 0x010;
inline constexpr uint32_t kTcpRdHup = 0x2000;

// Flags for send/recv and how for shutdown (Linux values).
inline constexpr int kTcpMsgPeek = 0x02;     // MSG_PEEK
inline constexpr int kTcpShutRd = 0;         // SHUT_RD
inline constexpr int kTcpShutWr = 1;         // SHUT_WR
inline constexpr int kTcpShutRdWr = 2;       // SHUT_RDWR

struct TcpTuning {
  size_t send_buffer = 256 * 1024;  // per-socket default (SO_SNDBUF)
  size_t recv_buffer = 256 * 1024;  // per-socket default (SO_RCVBUF)
  uint16_t mss = 65535;  // upper bound for the MSS we advertise (path MTU decides below)
  Duration initial_rto = std::chrono::seconds(1);   // RFC 6298 §2.1
  Duration min_rto = std::chrono::milliseconds(200);
  Duration max_rto = std::chrono::seconds(60);
  Duration time_wait = std::chrono::seconds(60);    // 2*MSL
  Duration fin_wait2_timeout = std::chrono::seconds(60);  // orphaned FIN_WAIT_2 only
  Duration delayed_ack = std::chrono::milliseconds(40);
  CongestionControl congestion_control = CongestionControl::NewReno;
  uint32_t initial_cwnd_segments = 10;  // RFC 6928
  size_t syn_backlog = 128;             // half-open connections per listener
  bool syn_cookies = true;  // when the half-open queue is full: SYN cookies (RFC 4987 §3.6)
                            // instead of evicting the oldest half-open connection
  size_t max_accept_backlog = 4096;     // upper bound for listen(backlog)
  bool keepalive = false;               // default SO_KEEPALIVE
  Duration keepalive_idle = std::chrono::hours(2);
  Duration keepalive_interval = std::chrono::seconds(75);
  uint32_t keepalive_count = 9;
  uint32_t syn_retries = 6;     // SYN / SYN-ACK retransmissions before giving up
  uint32_t data_retries = 15;   // RTO expiries on data before ETIMEDOUT
  bool sack = true;             // RFC 2018
  bool timestamps = true;       // RFC 7323
  bool window_scaling = true;   // RFC 7323
  size_t ooo_max_ranges = 32;   // out-of-order queue bound (disjoint ranges kept)
  // RFC 5961 §7: challenge ACKs per second per engine; each second's budget is drawn
  // uniformly from [limit/2, limit/2 + limit) (Linux since CVE-2016-5696). 0 = none.
  uint32_t challenge_ack_limit = 1000;
  // Per connection: at most one answer (challenge ACK, ACK to an out-of-window or PAWS-failed
  // segment without data/FIN) per this interval (Linux tcp_invalid_ratelimit). 0 = off.
  Duration invalid_ratelimit = std::chrono::milliseconds(500);
  uint16_t ephemeral_low = 49152;
  uint16_t ephemeral_high = 65535;
};

struct TcpInfo {
  TcpState state = TcpState::Closed;
  Duration srtt{0}, rttvar{0}, rto{0};
  uint32_t mss = 0;             // effective send MSS
  uint32_t cwnd = 0, ssthresh = 0;
  uint32_t snd_wnd = 0, rcv_wnd = 0;
  uint8_t snd_wscale = 0, rcv_wscale = 0;
  bool sack = false, timestamps = false, wscale = false;
  CongestionControl congestion_control = CongestionControl::NewReno;
  uint64_t bytes_sent = 0, bytes_acked = 0, bytes_received = 0;
  uint64_t segs_out = 0, segs_in = 0;
  uint64_t retransmits = 0, fast_retransmits = 0, rto_expiries = 0, recoveries = 0;
  uint64_t zero_window_probes = 0, keepalive_probes = 0, dup_acks = 0;
  uint64_t ooo_segments = 0;
};

// Engine-wide counters. Every dropped segment increments exactly one drop counter.
struct TcpCounters {
  uint64_t segs_in = 0, segs_out = 0;
  // drops (each with why)
  uint64_t drop_malformed = 0;          // too short, bad data offset, bad options length
  uint64_t drop_bad_checksum = 0;
  uint64_t drop_bad_address = 0;        // broadcast/multicast/unspecified endpoint
  uint64_t drop_no_socket_rst_sent = 0; // no connection/listener: RST answered
  uint64_t drop_no_socket_rst = 0;      // no connection, segment was an RST: ignored
  uint64_t drop_listen_rst = 0;         // RST to a listener
  uint64_t drop_listen_ack_rst_sent = 0;  // ACK (no valid SYN cookie) to a listener: RST
  uint64_t drop_listen_no_syn = 0;      // neither SYN nor ACK nor RST to a listener
  uint64_t drop_accept_queue_full = 0;  // SYN or final ACK while accept queue is full
  uint64_t drop_syn_sent_bad_ack = 0;   // SYN_SENT: unacceptable ACK (RST sent unless RST)
  uint64_t drop_syn_sent_other = 0;     // SYN_SENT: no SYN, no RST
  uint64_t drop_out_of_window = 0;      // RFC 9293 §3.10.7.4 first check failed (ACK sent)
  uint64_t drop_paws = 0;               // RFC 7323 §5 PAWS rejected
  uint64_t drop_rst_out_of_window = 0;  // RFC 5961 §3.2
  uint64_t drop_rst_challenged = 0;     // in-window RST not exact: challenge ACK
  uint64_t drop_syn_challenged = 0;     // SYN in synchronized state: challenge ACK
  uint64_t drop_ack_invalid = 0;        // RFC 5961 §5.2 / ack of unsent data
  uint64_t drop_no_ack = 0;             // synchronized state, segment without ACK
  uint64_t drop_syn_received_bad_ack = 0;  // RST sent
  uint64_t drop_ooo_full = 0;           // out-of-order queue at its bound
  uint64_t drop_data_after_close = 0;   // data to a fully closed receiver: RST sent
  uint64_t drop_time_wait = 0;          // anything but a retransmitted FIN in TIME_WAIT
  // other events
  uint64_t rst_sent = 0, rst_received = 0;
  uint64_t challenge_acks_sent = 0;
  uint64_t challenge_acks_suppressed = 0;    // not sent: engine budget or per connection
  uint64_t challenge_acks_conn_limited = 0;  // of those, by the per-connection limit
  uint64_t oow_acks_suppressed = 0;  // out-of-window/PAWS ACK not sent (per-connection limit)
  uint64_t active_opens = 0, passive_opens = 0;
  uint64_t syn_evicted = 0;             // half-open connection evicted by a newer SYN
  uint64_t syn_cookies_sent = 0, syn_cookies_accepted = 0;
  uint64_t syn_timeouts = 0, conn_timeouts = 0, keepalive_timeouts = 0;
  uint64_t retransmits = 0, rto_expiries = 0, fast_retransmits = 0;
  uint64_t delayed_acks = 0, zero_window_probes = 0, keepalive_probes = 0;
  uint64_t window_updates = 0;
  uint64_t time_wait_expired = 0, time_wait_reused = 0;
  uint64_t resets_established = 0;      // connections reset by the peer
  uint64_t rcv_trimmed = 0;             // bytes beyond buffer space discarded
  uint64_t send_failed = 0;             // TcpHost::send_segment returned false
};

using TcpCallback = std::function<void(uint32_t events)>;

class TcpSocket {
 public:
  TcpSocket() = default;
  TcpSocket(tcp::TcpEngine* engine, uint64_t id) : engine_(engine), id_(id) {}
  ~TcpSocket();
  TcpSocket(const TcpSocket&) = delete;
  TcpSocket& operator=(const TcpSocket&) = delete;
  TcpSocket(TcpSocket&& o) noexcept : engine_(o.engine_), id_(o.id_) { o.engine_ = nullptr; o.id_ = 0; }
  TcpSocket& operator=(TcpSocket&& o) noexcept;

  bool valid() const { return engine_ != nullptr; }
  uint64_t id() const { return id_; }

  int bind(const Endpoint& local);
  int listen(int backlog);
  // Returns 0 and fills *out (and *peer) or -EAGAIN / -EINVAL.
  int accept(TcpSocket* out, Endpoint* peer = nullptr);
  int connect(const Endpoint& remote);  // -EINPROGRESS; completion: kTcpWritable + error()
  int64_t send(std::span<const uint8_t> data, int flags = 0);
  int64_t recv(std::span<uint8_t> data, int flags = 0);  // 0 = EOF
  int shutdown(int how);
  int close();   // the handle becomes invalid
  void abort();  // RST now; the handle becomes invalid

  int set_nodelay(bool on);
  int set_reuseaddr(bool on);
  // SO_REUSEPORT: sockets that all set it may bind and listen on the same address and
  // port (a new connection goes to one of the listeners).
  int set_reuseport(bool on);
  int set_keepalive(bool on);
  int set_keepalive_params(Duration idle, Duration interval, uint32_t count);
  int set_linger(std::optional<Duration> linger);  // 0 => RST on close
  int set_send_buffer(size_t bytes);
  int set_recv_buffer(size_t bytes);
  int set_congestion_control(CongestionControl cc);

  Endpoint local_endpoint() const;
  Endpoint remote_endpoint() const;
  TcpState state() const;
  int error();  // SO_ERROR: read and clear
  TcpInfo info() const;
  uint32_t events() const;
  size_t bytes_readable() const;
  size_t send_queue() const;  // bytes queued but not acknowledged
  // Called with the new events() mask whenever it changes (not for the current mask at
  // registration), at the end of the engine call that changed it. It may call any socket
  // function, including close() of this socket.
  void set_callback(TcpCallback cb);

 private:
  tcp::TcpEngine* engine_ = nullptr;
  uint64_t id_ = 0;
};

}  // namespace libstack
