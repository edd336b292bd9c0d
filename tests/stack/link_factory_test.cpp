// make_link URL parsing and open errors (no privileges or external programs needed).
#include <gtest/gtest.h>

#include "libstack/links.h"

using namespace libstack;

namespace {

std::string error_of(std::string_view url, LinkOptions o = {}) {
  std::string err;
  auto l = make_link(url, o, &err);
  EXPECT_FALSE(l) << url;
  EXPECT_FALSE(err.empty()) << url;
  return err;
}

TEST(LinkFactory, ParseErrorsAreExplicit) {
  EXPECT_NE(error_of("").find("empty"), std::string::npos);
  EXPECT_NE(error_of("tap:").find("missing interface name"), std::string::npos);
  EXPECT_NE(error_of("bogus:thing").find("unknown scheme 'bogus:'"), std::string::npos);
  EXPECT_NE(error_of("://x").find("missing scheme"), std::string::npos);
  EXPECT_NE(error_of("justaword").find("not understood"), std::string::npos);
  EXPECT_NE(error_of("tap:waytoolonginterfacename").find("must be 1..15"), std::string::npos);
  EXPECT_NE(error_of("tap:a/b").find("invalid character"), std::string::npos);
  LinkOptions o;
  o.mtu = 70000;
  EXPECT_NE(error_of("vde:///tmp/x", o).find("out of range"), std::string::npos);
}

TEST(LinkFactory, VdeOpenFailureNamesUrlAndErrno) {
  std::string url = "vde:///nonexistent-libstack-test-dir/sw";
  std::string err = error_of(url);
  EXPECT_NE(err.find(url), std::string::npos) << err;
  EXPECT_NE(err.find("errno"), std::string::npos) << err;
}

TEST(LinkFactory, NullPluginOpensAndStaysSilent) {
  // libvdeplug's null:// plugin discards everything; it needs no switch.
  std::string err;
  auto l = make_link("null://", {}, &err);
  if (!l) GTEST_SKIP() << "libvdeplug null:// plugin unavailable: " << err;
  EXPECT_EQ(l->kind(), LinkKind::Ethernet);
  std::array<uint8_t, 1600> buf{};
  EXPECT_EQ(l->receive(buf, Instant(0)), 0u);
}

}  // namespace
