// The TCP engine's keyed secrets (see tcp_secrets.cpp for the theory of operation).
#pragma once

#include <cstdint>

#include "crypto/prf.h"
#include "libstack/types.h"

namespace libstack::tcp {

class TcpSecrets {
 public:
  // Draws the engine's 128-bit PRF key and the SYN cookie timestamp offset from `r`.
  explicit TcpSecrets(Random& r);

  // RFC 6528 F(local address/port, remote address/port, key): the ISN is M + F.
  uint32_t isn_offset(const Endpoint& local, const Endpoint& remote) const;
  // Per-connection TSval offset (RFC 7323 §7.1: random per connection, stable per tuple).
  uint32_t ts_offset(const Endpoint& local, const Endpoint& remote) const;
  // RFC 4987 §3.6 SYN cookie MAC (24 bits) of the peer's tuple, its ISN and a time slot.
  uint32_t cookie(const IpAddr& peer, const IpAddr& local, uint16_t peer_port,
                  uint16_t local_port, uint32_t peer_isn, uint32_t slot) const;
  // RFC 6056 §3.3.3 (algorithm 3) F(local address, remote address, remote port, key).
  uint32_t port_offset(const IpAddr& local, const Endpoint& remote) const;
  // TSval offset of connections made from SYN cookies (they have no per-tuple state yet).
  uint32_t cookie_ts_offset() const { return cookie_ts_offset_; }

 private:
  crypto::SipKey key_;
  uint32_t cookie_ts_offset_;
};

}  // namespace libstack::tcp
