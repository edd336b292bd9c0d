// Rate limits on the ACKs the engine sends in answer to unacceptable segments
// (RFC 5961 §7 challenge ACKs, RFC 9293 §3.10.7.4 out-of-window ACKs); see
// tcp_ratelimit.cpp for the theory of operation.
#pragma once

#include <cstdint>

#include "libstack/types.h"

namespace libstack::tcp {

// The engine-wide challenge-ACK budget: re-drawn at random for every second.
class ChallengeBudget {
 public:
  // May one more challenge ACK go out at `now`? `limit` is TcpTuning::challenge_ack_limit
  // (0 = none at all); `r` draws the budget of each new second.
  bool take(Instant now, uint32_t limit, Random& r);
  // The budget drawn for the current second (tests).
  uint32_t drawn() const { return drawn_; }

 private:
  int64_t second_ = -1;
  uint32_t left_ = 0, drawn_ = 0;
};

// Per connection: at most one answer to unacceptable segments per `interval`
// (Linux tcp_invalid_ratelimit). `last` is the connection's last answer (kNever: none yet).
// Returns true when this answer must be suppressed; otherwise records `now` in *last.
bool conn_rate_limited(Instant* last, Instant now, Duration interval);

}  // namespace libstack::tcp
