// DNS redirection of a view and the sockaddr <-> Endpoint conversion it relies on.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>

#include "stack_far.h"

namespace {

using libstack::IpAddr;

sockaddr_storage v4(const char *a, uint16_t port, socklen_t *len) {
  sockaddr_storage ss{};
  auto &s = reinterpret_cast<sockaddr_in &>(ss);
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  inet_pton(AF_INET, a, &s.sin_addr);
  *len = sizeof s;
  return ss;
}

sockaddr_storage v6(const char *a, uint16_t port, socklen_t *len) {
  sockaddr_storage ss{};
  auto &s = reinterpret_cast<sockaddr_in6 &>(ss);
  s.sin6_family = AF_INET6;
  s.sin6_port = htons(port);
  inet_pton(AF_INET6, a, &s.sin6_addr);
  *len = sizeof s;
  return ss;
}

std::string str(const sockaddr_storage &ss) {
  char buf[64];
  if (ss.ss_family == AF_INET) {
    auto &s = reinterpret_cast<const sockaddr_in &>(ss);
    inet_ntop(AF_INET, &s.sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(s.sin_port));
  }
  auto &s = reinterpret_cast<const sockaddr_in6 &>(ss);
  inet_ntop(AF_INET6, &s.sin6_addr, buf, sizeof buf);
  return "[" + std::string(buf) + "]:" + std::to_string(ntohs(s.sin6_port));
}

TEST(ResolvConf, NameserversInOrderScopeStrippedJunkIgnored) {
  auto v = umnet::DnsRedirect::parse_resolv_conf(
      "# comment\nsearch example.org\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\n"
      "nameserver not-an-address\nnameserver\noptions edns0\n  nameserver 2001:db8::53\n");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].to_string(), "192.0.2.53");
  EXPECT_EQ(v[1].to_string(), "fe80::1");
  EXPECT_EQ(v[2].to_string(), "2001:db8::53");
  EXPECT_TRUE(umnet::DnsRedirect::parse_resolv_conf("").empty());
}

class Redirect : public ::testing::Test {
 protected:
  umnet::DnsRedirect dns{{*IpAddr::parse("192.0.2.53"), *IpAddr::parse("2001:db8::53")},
                         [this] { return view; }};
  std::vector<IpAddr> view{*IpAddr::parse("10.0.2.3")};
};

TEST_F(Redirect, QueryToHostServerGoesToViewServerAndAnswerLooksLikeHost) {
  socklen_t l;
  auto d = v4("192.0.2.53", 53, &l);
  dns.map_dest(&d, l, AF_INET);
  EXPECT_EQ(str(d), "10.0.2.3:53");
  auto src = v4("10.0.2.3", 53, &l);
  dns.map_source(&src, l, AF_INET);
  EXPECT_EQ(str(src), "192.0.2.53:53");
}

TEST_F(Redirect, OtherPortsAndOtherServersAreLeftAlone) {
  socklen_t l;
  auto d = v4("192.0.2.53", 80, &l);
  dns.map_dest(&d, l, AF_INET);
  EXPECT_EQ(str(d), "192.0.2.53:80");
  auto o = v4("198.51.100.1", 53, &l);
  dns.map_dest(&o, l, AF_INET);
  EXPECT_EQ(str(o), "198.51.100.1:53");
  auto src = v4("198.51.100.1", 53, &l);
  dns.map_source(&src, l, AF_INET);
  EXPECT_EQ(str(src), "198.51.100.1:53");
}

// A view server of the other family only: map_dest leaves the address (a libstack socket
// reaches only its own family), other_family names the server the query goes to through a
// companion socket (stack_far.cpp's UdpFar), both ways.
TEST_F(Redirect, OtherFamilyServerThroughACompanionSocket) {
  socklen_t l;
  auto d = v6("2001:db8::53", 53, &l);
  dns.map_dest(&d, l, AF_INET6);
  EXPECT_EQ(str(d), "[2001:db8::53]:53");
  libstack::Endpoint to{*IpAddr::parse("2001:db8::53"), 53};
  auto srv = dns.other_family(to);
  ASSERT_TRUE(srv);
  EXPECT_EQ(srv->to_string(), "10.0.2.3");
  // Not for other ports, other addresses, or when the family has a view server.
  EXPECT_FALSE(dns.other_family({*IpAddr::parse("2001:db8::53"), 5353}));
  EXPECT_FALSE(dns.other_family({*IpAddr::parse("2001:db8::99"), 53}));
  EXPECT_FALSE(dns.other_family({*IpAddr::parse("192.0.2.53"), 53}));
  view = {*IpAddr::parse("fd00::53")};
  srv = dns.other_family({*IpAddr::parse("192.0.2.53"), 53});
  ASSERT_TRUE(srv);
  EXPECT_EQ(srv->to_string(), "fd00::53");
}

TEST_F(Redirect, NoViewServerMeansNoRedirect) {
  view.clear();
  socklen_t l;
  auto d = v4("192.0.2.53", 53, &l);
  dns.map_dest(&d, l, AF_INET);
  EXPECT_EQ(str(d), "192.0.2.53:53");
}

TEST(Endpoint, FamiliesAndMappedAddresses) {
  socklen_t l;
  libstack::Endpoint ep;
  auto a = v4("10.1.2.3", 99, &l);
  EXPECT_EQ(umnet::to_endpoint(a, l, AF_INET, &ep), 0);
  EXPECT_EQ(ep.to_string(), "10.1.2.3:99");
  // An AF_INET6 socket checks its own family's length first (Linux: EINVAL below the 24
  // bytes of RFC 2133), then the address's family.
  EXPECT_EQ(umnet::to_endpoint(a, l, AF_INET6, &ep), EINVAL);
  EXPECT_EQ(umnet::to_endpoint(a, sizeof(sockaddr_in6), AF_INET6, &ep), EAFNOSUPPORT);
  EXPECT_EQ(umnet::to_endpoint(a, 0, AF_INET, &ep), EINVAL);
  EXPECT_EQ(umnet::to_endpoint(a, 8, AF_INET, &ep), EINVAL);
  auto m = v6("::ffff:10.1.2.3", 7, &l);
  ASSERT_EQ(umnet::to_endpoint(m, l, AF_INET6, &ep), 0);
  EXPECT_TRUE(ep.addr.is_v4());
  sockaddr_storage back{};
  EXPECT_EQ(umnet::from_endpoint(ep, AF_INET6, &back), sizeof(sockaddr_in6));
  EXPECT_EQ(str(back), "[::ffff:10.1.2.3]:7");
  libstack::Endpoint any{IpAddr(libstack::Ipv4Addr{}), 0};
  umnet::from_endpoint(any, AF_INET6, &back);
  EXPECT_EQ(str(back), "[::]:0");
}

}  // namespace
