// libstack secrets: a cryptographic `Random` and key derivation (libsodium underneath).
//
//   auto rng = libstack::CryptoRandom::from_os();   // ChaCha20 keyed from getrandom()
//   auto st = libstack::Stack::create({*rng});       // per-stack PRF keys are drawn from it
//   libstack::CryptoRandom fixed(key32);             // deterministic, for tests
//
// The stack itself never reads the OS generator: whoever creates a stack passes a Random
// in (a CryptoRandom for anything that faces a network, any generator for tests), and the
// stack draws its keys (TCP ISN / SYN cookie / port offset PRF keys) from it when it is
// created. docs/secrets.md says what is keyed with what.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "libstack/types.h"

namespace libstack {

// A fast-key-erasure ChaCha20 generator (libsodium crypto_stream_chacha20): each refill
// runs ChaCha20 under the current key, replaces the key with the first 32 bytes of the
// output and serves the rest, so a later compromise of the state does not reveal earlier
// outputs. Not thread-safe (one per stack, like every libstack object).
class CryptoRandom final : public Random {
 public:
  static constexpr size_t kKeyBytes = 32;
  // Deterministic: the same key gives the same sequence (tests, reproducible runs).
  explicit CryptoRandom(const std::array<uint8_t, kKeyBytes>& key);
  ~CryptoRandom() override;
  CryptoRandom(const CryptoRandom&) = delete;
  CryptoRandom& operator=(const CryptoRandom&) = delete;

  // Keyed from getrandom() (libsodium's randombytes if getrandom is unavailable).
  static std::unique_ptr<CryptoRandom> from_os();

  uint64_t next_u64() override;
  void fill(std::span<uint8_t> out);

 private:
  void refill();
  std::array<uint8_t, kKeyBytes> key_{};
  std::array<uint8_t, 512> buf_{};
  size_t pos_ = 0, len_ = 0;
  uint64_t blocks_ = 0;
};

// Fills `out` from the operating system's generator (getrandom(); libsodium's
// randombytes as the fallback). For the owners of stacks, never called by the stack.
void os_random_bytes(std::span<uint8_t> out);

// A 16-byte key for one purpose derived from a master key: keyed BLAKE2b-128
// (libsodium crypto_generichash) of `purpose`. Different purposes give unrelated keys.
std::array<uint8_t, 16> derive_key16(std::span<const uint8_t> master, std::string_view purpose);

// A random unicast, locally administered MAC address (6 bytes drawn from `r`).
MacAddr random_local_mac(Random& r);

}  // namespace libstack
