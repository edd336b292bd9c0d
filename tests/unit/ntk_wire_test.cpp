// Netsukuku wire format: golden bytes for every message type, round trips, and every
// refusal reason.
#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include <vector>

#include "wire.h"

using namespace ntk;

namespace {

Header hdr(Type t) {
  Header h;
  h.type = t;
  h.flags = 0;
  h.src_nid = 0x0102030405060708ull;
  h.dst_nid = 0x1112131415161718ull;
  h.src_addr = 0x0a010203;
  h.gnode_size = 0x0105;
  h.gseq = 0x0a0b;
  h.l1_gnodes = 0x21;
  return h;
}

const std::vector<uint8_t> kHeaderGolden = {
    'N', 'K', 2, 0 /*type*/, 0, 0x21, 0, 0 /*len*/, 1, 2, 3, 4, 5, 6, 7, 8,
    0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 10, 1, 2, 3, 0x01, 0x05, 0x0a, 0x0b};

std::vector<uint8_t> golden_header(uint8_t type, uint16_t len) {
  auto g = kHeaderGolden;
  g[3] = type;
  g[6] = uint8_t(len >> 8);
  g[7] = uint8_t(len);
  return g;
}

}  // namespace

TEST(NtkWire, EchoGoldenBytes) {
  std::vector<uint8_t> out;
  ASSERT_TRUE(encode(out, hdr(Type::Echo), Echo{0xa1b2c3d4, 0x0000000102030405ull, 0x0c0d0e0f, 0x42}));
  auto want = golden_header(1, 17);
  for (uint8_t b : {0xa1, 0xb2, 0xc3, 0xd4, 0, 0, 0, 1, 2, 3, 4, 5, 0x0c, 0x0d, 0x0e, 0x0f, 0x42}) want.push_back(b);
  EXPECT_EQ(out, want);
  WireError e;
  auto m = decode(out, &e);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->h.type, Type::Echo);
  EXPECT_EQ(m->h.src_nid, 0x0102030405060708ull);
  EXPECT_EQ(m->h.dst_nid, 0x1112131415161718ull);
  EXPECT_EQ(m->h.src_addr, 0x0a010203u);
  EXPECT_EQ(m->h.gnode_size, 0x0105);
  EXPECT_EQ(m->h.l1_gnodes, 0x21);
  EXPECT_EQ(m->echo.seq, 0xa1b2c3d4u);
  EXPECT_EQ(m->echo.sent_ns, 0x0000000102030405ull);
  EXPECT_EQ(m->echo.gtag, 0x0c0d0e0fu);
}

TEST(NtkWire, TracerGoldenBytes) {
  Tracer t;
  t.kind = TracerKind::Open;
  t.flags = 0;
  t.round = 0x00000102;
  t.sub_id = 9;
  t.pkt_id = 0x0a0b0c0d;
  t.hops = {{7, 0xdeadbeef, 0}, {200, 0x01020304, 0x00001388}};
  std::vector<uint8_t> out;
  ASSERT_TRUE(encode(out, hdr(Type::Tracer), t, 1500));
  auto want = golden_header(7, 12 + 18);
  for (uint8_t b : {2, 0, 0, 0, 1, 2, 9, 0x0a, 0x0b, 0x0c, 0x0d, 2}) want.push_back(b);
  for (uint8_t b : {7, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0}) want.push_back(b);
  for (uint8_t b : {200, 1, 2, 3, 4, 0, 0, 0x13, 0x88}) want.push_back(b);
  EXPECT_EQ(out, want);
  auto m = decode(out, nullptr);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->tracer.kind, TracerKind::Open);
  EXPECT_EQ(m->tracer.round, 0x102u);
  EXPECT_EQ(m->tracer.sub_id, 9);
  ASSERT_EQ(m->tracer.hops.size(), 2u);
  EXPECT_EQ(m->tracer.hops[1].pos, 200);
  EXPECT_EQ(m->tracer.hops[1].tag, 0x01020304u);
  EXPECT_EQ(m->tracer.hops[1].rtt_us, 5000u);
}

TEST(NtkWire, HookAndMapGoldenBytes) {
  HookReply r;
  r.qspn_age_ms = 0x01020304;
  r.round = 5;
  r.free[0] = 0x02;  // position 1
  r.free[31] = 0x40; // position 254
  r.gnodes[1] = 0x01; // gnode id 8
  r.gtag = 0x11223344;
  std::vector<uint8_t> out;
  ASSERT_TRUE(encode(out, hdr(Type::HookReply), r));
  auto want = golden_header(4, 76);
  for (uint8_t b : {1, 2, 3, 4, 0, 0, 0, 5}) want.push_back(b);
  for (int i = 0; i < 32; ++i) want.push_back(i == 0 ? 0x02 : i == 31 ? 0x40 : 0);
  for (int i = 0; i < 32; ++i) want.push_back(i == 1 ? 0x01 : 0);
  for (uint8_t b : {0x11, 0x22, 0x33, 0x44}) want.push_back(b);
  EXPECT_EQ(out, want);
  auto hm = decode(out, nullptr);
  ASSERT_TRUE(hm);
  EXPECT_EQ(hm->hook.gnodes[1], 0x01);
  EXPECT_EQ(hm->hook.gtag, 0x11223344u);

  std::vector<ExtEntry> ext = {{8, 0x0102, 0xa0b0c0d0, 2500, 17, 200}, {9, 0xfffe, 7, kUnreachable}};
  ASSERT_TRUE(encode(out, hdr(Type::ExtMap), 1, ext, 1500));
  want = golden_header(8, 29);
  for (uint8_t b : {1, 0, 2, 8, 1, 2, 0xa0, 0xb0, 0xc0, 0xd0, 0, 0, 0x09, 0xc4, 17, 200}) want.push_back(b);
  for (uint8_t b : {9, 0xff, 0xfe, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0, 0}) want.push_back(b);
  EXPECT_EQ(out, want);
  auto em = decode(out, nullptr);
  ASSERT_TRUE(em);
  EXPECT_EQ(em->h.gseq, 0x0a0b);
  ASSERT_EQ(em->ext.size(), 2u);
  EXPECT_EQ(em->ext[0].seq, 0x0102);
  EXPECT_EQ(em->ext[0].tag, 0xa0b0c0d0u);
  EXPECT_EQ(em->ext[0].origin, 17);
  EXPECT_EQ(em->ext[0].size, 200);
  EXPECT_EQ(em->ext[1].seq, 0xfffe);
  EXPECT_EQ(em->ext[1].cost_us, kUnreachable);
  out[kHeaderLen] = 0;  // level 0 has no ext map
  EXPECT_FALSE(decode(out, nullptr));

  std::vector<MapEntry> m = {{3, 0xaabbccdd, 1000}};
  ASSERT_TRUE(encode(out, hdr(Type::MapReply), 0x01020304, m, 1500));
  want = golden_header(6, 15);
  for (uint8_t b : {1, 2, 3, 4, 0, 1, 3, 0xaa, 0xbb, 0xcc, 0xdd, 0, 0, 0x03, 0xe8}) want.push_back(b);
  EXPECT_EQ(out, want);

  ASSERT_TRUE(encode(out, hdr(Type::HookRequest)));
  EXPECT_EQ(out, golden_header(3, 0));
}

TEST(NtkWire, EncodersRefuseWhatDoesNotFit) {
  std::vector<uint8_t> out;
  Tracer t;
  EXPECT_FALSE(encode(out, hdr(Type::Tracer), t, 1500)) << "a tracer has at least its origin";
  t.hops.assign(200, Hop{1, 1, 1});
  EXPECT_FALSE(encode(out, hdr(Type::Tracer), t, 1472)) << "200 entries exceed an MTU of 1500";
  EXPECT_TRUE(encode(out, hdr(Type::Tracer), t, 65000));
  std::vector<MapEntry> m(257);
  EXPECT_FALSE(encode(out, hdr(Type::MapReply), 1, m, 65000));
}

TEST(NtkWire, EveryRefusalHasItsReason) {
  std::vector<uint8_t> good;
  encode(good, hdr(Type::Echo), Echo{1, 2});
  auto refuse = [](std::vector<uint8_t> d) {
    WireError e = WireError::None;
    EXPECT_FALSE(decode(d, &e));
    return e;
  };
  EXPECT_EQ(refuse({}), WireError::Short);
  EXPECT_EQ(refuse(std::vector<uint8_t>(good.begin(), good.begin() + 31)), WireError::Short);
  auto d = good;
  d[0] = 'X';
  EXPECT_EQ(refuse(d), WireError::BadMagic);
  d = good;
  d[2] = 1;  // version 1: echoes and ext entries without the round's starter
  EXPECT_EQ(refuse(d), WireError::BadVersion);
  d = good;
  d.push_back(0);
  EXPECT_EQ(refuse(d), WireError::BadLength) << "a trailing byte the length does not cover";
  d = good;
  d[7] = 13;
  EXPECT_EQ(refuse(d), WireError::BadLength);
  d = good;
  d[3] = 0;
  EXPECT_EQ(refuse(d), WireError::UnknownType);
  d[3] = 9;
  EXPECT_EQ(refuse(d), WireError::UnknownType);
  d = golden_header(3, 1);  // a hook request has no body
  d.push_back(0);
  EXPECT_EQ(refuse(d), WireError::BadBody);
  // Tracers: zero entries, a count beyond the data, an unknown kind.
  Tracer t;
  t.hops = {{1, 1, 0}};
  encode(d, hdr(Type::Tracer), t, 1500);
  auto z = d;
  z[kHeaderLen + 11] = 0;
  EXPECT_EQ(refuse(z), WireError::BadBody);
  z = d;
  z[kHeaderLen + 11] = 2;
  EXPECT_EQ(refuse(z), WireError::BadBody);
  z = d;
  z[kHeaderLen] = 3;
  EXPECT_EQ(refuse(z), WireError::BadBody);
  // A map whose count disagrees with its entries.
  std::vector<MapEntry> m = {{3, 1, 1}};
  encode(d, hdr(Type::MapReply), 1, m, 1500);
  d[kHeaderLen + 5] = 2;
  EXPECT_EQ(refuse(d), WireError::BadBody);
}

// The fuzz target's seeds are real messages of the current format: a seed the decoder
// refuses would leave the fuzzer starting from nothing valid (make_ntk_corpus.py).
TEST(NtkWire, FuzzSeedsDecode) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(NTK_FUZZ_CORPUS)) {
    std::ifstream f(e.path(), std::ios::binary);
    std::vector<uint8_t> d((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    WireError why = WireError::None;
    EXPECT_TRUE(decode(d, &why)) << e.path() << " refused: " << int(why);
    ++n;
  }
  EXPECT_GE(n, 10u);  // one of each message type at least
}
