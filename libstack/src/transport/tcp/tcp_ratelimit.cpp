// ACK rate limits — theory of operation
//
// An in-window RST or a SYN on a synchronized connection (RFC 5961 §3, §4) and an ACK of
// data we never sent (§5) are answered with a challenge ACK. RFC 5961 §7 bounds how many go
// out. A budget that is the same fixed number every second is itself a side channel: an
// off-path attacker who exhausts it and counts the challenge ACKs it still gets learns
// whether its guessed 4-tuple / sequence number made the victim spend some
// (CVE-2016-5696). So, as Linux does since that fix, the budget of each second is drawn
// uniformly from [limit/2, limit/2 + limit) (ChallengeBudget); counting no longer tells
// what the victim's connections spent.
//
// Per connection, answers to unacceptable segments (challenge ACKs, and the ACKs for
// out-of-window or PAWS-failed segments that occupy no sequence space) are limited to one
// per `TcpTuning::invalid_ratelimit` (500 ms, Linux tcp_invalid_ratelimit), which also
// keeps two stacks that disagree about a connection from ACKing each other in a loop.
// Segments carrying data or a FIN are always answered (a retransmission after a lost ACK
// needs that ACK). Every suppressed answer is counted (TcpCounters).
#include "transport/tcp/tcp_ratelimit.h"

namespace libstack::tcp {

bool ChallengeBudget::take(Instant now, uint32_t limit, Random& r) {
  if (limit == 0) return false;
  int64_t sec = now.count() / 1000000000;
  if (sec != second_) {
    second_ = sec;
    uint32_t half = (limit + 1) / 2;
    drawn_ = left_ = half + uint32_t(r.below(limit));
  }
  if (left_ == 0) return false;
  --left_;
  return true;
}

bool conn_rate_limited(Instant* last, Instant now, Duration interval) {
  if (interval <= Duration::zero()) return false;
  if (*last != kNever && now >= *last && now - *last < interval) return true;
  *last = now;
  return false;
}

}  // namespace libstack::tcp
