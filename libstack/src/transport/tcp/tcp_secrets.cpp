// TCP engine secrets — theory of operation
//
// Everything an off-path attacker must not predict about our TCP comes from one keyed PRF,
// SipHash-2-4 (libsodium crypto_shorthash, crypto/prf.h), under a 128-bit key drawn per
// engine from the stack's injected Random when the engine is created (a CryptoRandom in
// the views; tests inject deterministic generators). Each use hashes its own domain byte
// first, so outputs of one use say nothing about another:
//   1 ISN offset F (RFC 6528): ISN = M + F(local, remote), M a 4 µs clock, so a new
//     incarnation of a 4-tuple starts above the old one (RFC 6191 TIME-WAIT reuse) while
//     different tuples, or another engine, start at unrelated points.
//   2 timestamp offset per tuple (RFC 7323 §7.1), the same construction for TSval.
//   3 SYN cookie MAC (RFC 4987 §3.6): 24 bits over the peer's tuple, its ISN, the 64 s slot.
//   4 ephemeral port offset (RFC 6056 §3.3.3): F(local address, remote address and port).
// The key never leaves this object; knowing the stack's MAC address or any other output of
// the Random (when that is a CSPRNG) gives nothing about it.
#include "transport/tcp/tcp_secrets.h"

namespace libstack::tcp {

namespace {
enum Domain : uint8_t { kIsn = 1, kTs = 2, kCookie = 3, kPort = 4 };

uint32_t fold(uint64_t h) { return uint32_t(h ^ (h >> 32)); }
}  // namespace

TcpSecrets::TcpSecrets(Random& r) : key_(crypto::SipKey::draw(r)), cookie_ts_offset_(r.next_u32()) {}

uint32_t TcpSecrets::isn_offset(const Endpoint& local, const Endpoint& remote) const {
  crypto::PrfInput in(kIsn);
  in.addr(local.addr).u16(local.port).addr(remote.addr).u16(remote.port);
  return fold(key_.hash(in.view()));
}

uint32_t TcpSecrets::ts_offset(const Endpoint& local, const Endpoint& remote) const {
  crypto::PrfInput in(kTs);
  in.addr(local.addr).u16(local.port).addr(remote.addr).u16(remote.port);
  return fold(key_.hash(in.view()));
}

uint32_t TcpSecrets::cookie(const IpAddr& peer, const IpAddr& local, uint16_t peer_port,
                            uint16_t local_port, uint32_t peer_isn, uint32_t slot) const {
  crypto::PrfInput in(kCookie);
  in.addr(local).u16(local_port).addr(peer).u16(peer_port).u32(peer_isn).u32(slot);
  return fold(key_.hash(in.view())) & 0xffffffu;
}

uint32_t TcpSecrets::port_offset(const IpAddr& local, const Endpoint& remote) const {
  crypto::PrfInput in(kPort);
  in.addr(local).addr(remote.addr).u16(remote.port);
  return fold(key_.hash(in.view()));
}

}  // namespace libstack::tcp
