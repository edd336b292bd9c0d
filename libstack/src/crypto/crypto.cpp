// libstack's cryptographic primitives, all from libsodium (nothing hand-written):
//  * SipKey::hash: SipHash-2-4 (crypto_shorthash), the keyed PRF of prf.h.
//  * CryptoRandom: ChaCha20 (crypto_stream_chacha20) as a fast-key-erasure generator:
//    refill() computes 512 keystream bytes under the current key with the block counter
//    as nonce, keeps the first 32 as the next key and serves the other 480; the old key
//    and served bytes are wiped (sodium_memzero).
//  * derive_key16: keyed BLAKE2b with a 16-byte output (crypto_generichash).
//  * os_random_bytes: getrandom(), libsodium's randombytes_buf if that fails.
// sodium_init() is called before libsodium is used from here (idempotent, thread-safe);
// it only selects the fastest implementations, the outputs are the same either way.
#include "libstack/crypto.h"

#include <sodium.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "crypto/prf.h"

namespace libstack {

namespace {
void ensure_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium: sodium_init failed");
}
}  // namespace

namespace crypto {

static_assert(crypto_shorthash_KEYBYTES == SipKey::kBytes);
static_assert(crypto_shorthash_BYTES == 8);

SipKey SipKey::draw(Random& r) {
  std::array<uint8_t, kBytes> k{};
  for (size_t i = 0; i < kBytes; i += 8) {
    uint64_t v = r.next_u64();
    for (size_t j = 0; j < 8; ++j) k[i + j] = uint8_t(v >> (8 * j));
  }
  return SipKey(k);
}

uint64_t SipKey::hash(std::span<const uint8_t> in) const {
  uint8_t out[crypto_shorthash_BYTES];
  crypto_shorthash(out, in.data(), in.size(), k_.data());
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | out[i];
  return v;
}

}  // namespace crypto

static_assert(crypto_stream_chacha20_KEYBYTES == CryptoRandom::kKeyBytes);
static_assert(crypto_stream_chacha20_NONCEBYTES == 8);

CryptoRandom::CryptoRandom(const std::array<uint8_t, kKeyBytes>& key) : key_(key) {
  ensure_sodium();
}

CryptoRandom::~CryptoRandom() {
  sodium_memzero(key_.data(), key_.size());
  sodium_memzero(buf_.data(), buf_.size());
}

std::unique_ptr<CryptoRandom> CryptoRandom::from_os() {
  std::array<uint8_t, kKeyBytes> k{};
  os_random_bytes(k);
  auto r = std::make_unique<CryptoRandom>(k);
  sodium_memzero(k.data(), k.size());
  return r;
}

void CryptoRandom::refill() {
  uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
  for (size_t i = 0; i < sizeof nonce; ++i) nonce[i] = uint8_t(blocks_ >> (8 * i));
  ++blocks_;
  crypto_stream_chacha20(buf_.data(), buf_.size(), nonce, key_.data());
  std::memcpy(key_.data(), buf_.data(), kKeyBytes);
  sodium_memzero(buf_.data(), kKeyBytes);
  pos_ = kKeyBytes;
  len_ = buf_.size();
}

void CryptoRandom::fill(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    if (pos_ == len_) refill();
    size_t n = std::min(out.size() - done, len_ - pos_);
    std::memcpy(out.data() + done, buf_.data() + pos_, n);
    sodium_memzero(buf_.data() + pos_, n);
    pos_ += n;
    done += n;
  }
}

uint64_t CryptoRandom::next_u64() {
  uint8_t b[8];
  fill(b);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}

void os_random_bytes(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n > 0) {
      done += size_t(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      ensure_sodium();
      randombytes_buf(out.data() + done, out.size() - done);
      return;
    }
  }
}

std::array<uint8_t, 16> derive_key16(std::span<const uint8_t> master, std::string_view purpose) {
  ensure_sodium();
  if (master.size() < crypto_generichash_KEYBYTES_MIN || master.size() > crypto_generichash_KEYBYTES_MAX)
    throw std::invalid_argument("derive_key16: master key of 16..64 bytes");
  std::array<uint8_t, 16> out{};
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const uint8_t*>(purpose.data()),
                     purpose.size(), master.data(), master.size());
  return out;
}

MacAddr random_local_mac(Random& r) {
  MacAddr m;
  uint64_t v = r.next_u64();
  for (size_t i = 0; i < 6; ++i) m.b[i] = uint8_t(v >> (8 * i));
  m.b[0] = uint8_t((m.b[0] & 0xfe) | 0x02);  // unicast, locally administered
  return m;
}

}  // namespace libstack
