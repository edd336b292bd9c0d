// libstack's cryptographic primitives (src/crypto/crypto.cpp): known answers from the
// published test vectors, so a wrong wiring of libsodium (key/nonce order, byte order,
// key erasure) fails here.
#include <gtest/gtest.h>
#include <sodium.h>

#include <set>

#include "crypto/prf.h"
#include "libstack/crypto.h"

namespace libstack {
namespace {

std::array<uint8_t, 32> seq_key(uint8_t start) {
  std::array<uint8_t, 32> k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = uint8_t(start + i);
  return k;
}

TEST(Crypto, SipHashReferenceVector) {
  // The SipHash paper's vector: key 00..0f, message 00..0e -> a129ca6149be45e5.
  std::array<uint8_t, 16> key{};
  for (int i = 0; i < 16; ++i) key[size_t(i)] = uint8_t(i);
  std::vector<uint8_t> msg(15);
  for (int i = 0; i < 15; ++i) msg[size_t(i)] = uint8_t(i);
  crypto::SipKey k(key);
  EXPECT_EQ(k.hash(msg), 0xa129ca6149be45e5ull);
  EXPECT_EQ(k.hash({}), 0x726fdb47dd0e0e31ull);
}

TEST(Crypto, PrfInputSeparatesDomainsAndFamilies) {
  crypto::SipKey k(std::array<uint8_t, 16>{1, 2, 3});
  IpAddr v4(Ipv4Addr{{10, 0, 0, 1}});
  Ipv6Addr a6{};
  std::copy_n(v4.b.begin(), 4, a6.b.begin());  // same leading bytes, other family
  crypto::PrfInput a(1), b(2), c(1);
  a.addr(v4);
  b.addr(v4);
  c.addr(IpAddr(a6));
  EXPECT_NE(k.hash(a.view()), k.hash(b.view()));
  EXPECT_NE(k.hash(a.view()), k.hash(c.view()));
  EXPECT_EQ(a.view().size(), 1u + 1u + 4u);
}

TEST(Crypto, CryptoRandomKnownOutputZeroKey) {
  // ChaCha20, zero key, zero nonce: keystream 76b8e0ad...8b770dc7 | da41597c5157488d
  // 7724e03fb8d84a37 ... The first 32 bytes become the next key; output starts at byte 32.
  CryptoRandom r(std::array<uint8_t, 32>{});
  EXPECT_EQ(r.next_u64(), 0x8d4857517c5941daull);
  EXPECT_EQ(r.next_u64(), 0x374ad8b83fe02477ull);
}

TEST(Crypto, CryptoRandomFollowsItsKeyErasureSchedule) {
  // Block n runs under the key taken from block n-1, with nonce n.
  auto key = seq_key(7);
  CryptoRandom r(key);
  std::vector<uint8_t> got(480 * 2 + 16);
  r.fill(got);
  std::array<uint8_t, 512> blk{};
  std::vector<uint8_t> want;
  for (uint64_t n = 0; n < 3; ++n) {
    uint8_t nonce[8] = {uint8_t(n)};
    crypto_stream_chacha20(blk.data(), blk.size(), nonce, key.data());
    std::copy_n(blk.begin(), 32, key.begin());
    want.insert(want.end(), blk.begin() + 32, blk.end());
  }
  want.resize(got.size());
  EXPECT_EQ(got, want);
}

TEST(Crypto, CryptoRandomKeysGiveDifferentStreamsSameKeySameStream) {
  CryptoRandom a(seq_key(0)), b(seq_key(0)), c(seq_key(1));
  std::set<uint64_t> seen;
  for (int i = 0; i < 200; ++i) {
    uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    EXPECT_NE(x, c.next_u64());
    seen.insert(x);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(Crypto, CryptoRandomFromOsDiffersPerInstance) {
  auto a = CryptoRandom::from_os(), b = CryptoRandom::from_os();
  EXPECT_NE(a->next_u64(), b->next_u64());
}

TEST(Crypto, DeriveKeyIsKeyedBlake2b128) {
  auto master = seq_key(0);
  // hashlib.blake2b(b'threadnet test', key=bytes(range(32)), digest_size=16)
  std::array<uint8_t, 16> want = {0x23, 0xb3, 0x43, 0xd9, 0xaa, 0xe7, 0xed, 0x8f,
                                  0x6b, 0x6f, 0x16, 0x41, 0x82, 0x4d, 0x63, 0x82};
  EXPECT_EQ(derive_key16(master, "threadnet test"), want);
  EXPECT_NE(derive_key16(master, "other purpose"), want);
  EXPECT_THROW(derive_key16(std::span<const uint8_t>(master.data(), 8), "x"), std::invalid_argument);
}

TEST(Crypto, RandomLocalMacIsUnicastLocallyAdministered) {
  CryptoRandom r(seq_key(3));
  for (int i = 0; i < 100; ++i) {
    MacAddr m = random_local_mac(r);
    EXPECT_FALSE(m.is_multicast());
    EXPECT_EQ(m.b[0] & 0x02, 0x02);
  }
}

}  // namespace
}  // namespace libstack
