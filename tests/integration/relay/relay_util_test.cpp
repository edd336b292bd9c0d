// Unit tests of the relay module's pure helpers: --publish parsing and port rewriting.
#include "relay_util.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

using namespace tn::relay;

TEST(RelayUtil, ParsePublish) {
  Publish p;
  std::string err;
  ASSERT_TRUE(parse_publish("80:8080", &p, &err));
  EXPECT_EQ(p.view_port, 80);
  EXPECT_EQ(p.host_port, 8080);
  for (const char *bad : {"", "80", ":80", "80:", "0:80", "80:0", "70000:1", "a:b", "80:80:80",
                          "-1:5", "123456:1"}) {
    EXPECT_FALSE(parse_publish(bad, &p, &err)) << bad;
    EXPECT_NE(err.find("VIEWPORT:HOSTPORT"), std::string::npos);
  }
}

TEST(RelayUtil, ParseArgs) {
  std::vector<Publish> v;
  std::string err;
  const char *a[] = {"--publish", "80:8080", "--publish=443:8443", nullptr};
  ASSERT_TRUE(parse_args(3, a, &v, &err)) << err;
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1].view_port, 443);
  v.clear();
  const char *dup[] = {"--publish", "80:1", "--publish", "80:2", nullptr};
  EXPECT_FALSE(parse_args(4, dup, &v, &err));
  v.clear();
  const char *missing[] = {"--publish", nullptr};
  EXPECT_FALSE(parse_args(1, missing, &v, &err));
  const char *unknown[] = {"--frobnicate", nullptr};
  EXPECT_FALSE(parse_args(1, unknown, &v, &err));
  EXPECT_TRUE(parse_args(0, unknown + 1, &v, &err));
}

TEST(RelayUtil, Ports) {
  sockaddr_storage ss{};
  auto *a = reinterpret_cast<sockaddr_in *>(&ss);
  a->sin_family = AF_INET;
  a->sin_port = htons(80);
  EXPECT_EQ(sockaddr_port(ss, sizeof(sockaddr_in)), 80);
  EXPECT_EQ(sockaddr_port(ss, 4), -1);  // too short to hold a port we trust
  EXPECT_TRUE(set_sockaddr_port(&ss, sizeof(sockaddr_in), 8080));
  EXPECT_EQ(ntohs(a->sin_port), 8080);
  EXPECT_FALSE(set_sockaddr_port(&ss, 8, 1));
  sockaddr_storage s6{};
  auto *b = reinterpret_cast<sockaddr_in6 *>(&s6);
  b->sin6_family = AF_INET6;
  b->sin6_port = htons(443);
  EXPECT_EQ(sockaddr_port(s6, sizeof(sockaddr_in6)), 443);
  EXPECT_EQ(sockaddr_port(s6, sizeof(sockaddr_in)), -1);
  EXPECT_TRUE(set_sockaddr_port(&s6, sizeof(sockaddr_in6), 1));
  EXPECT_EQ(ntohs(b->sin6_port), 1);
  sockaddr_storage un{};
  un.ss_family = AF_UNIX;
  EXPECT_EQ(sockaddr_port(un, sizeof un), -1);
  EXPECT_FALSE(set_sockaddr_port(&un, sizeof un, 1));
}
