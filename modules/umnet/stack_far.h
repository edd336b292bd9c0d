// The far side of a view's virtual sockets: libstack TCP, UDP and ping sockets behind the
// vsock engine's Far interface, with Linux socket semantics (see stack_far.cpp).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <functional>
#include <memory>
#include <vector>

#include "libstack/stack.h"
#include "vsock.h"

namespace umnet {

// sockaddr <-> libstack::Endpoint for a socket of `domain`. An AF_INET6 socket sees IPv4
// peers as v4-mapped addresses (::ffff:a.b.c.d) and may name them that way.
// 0 or an errno (EAFNOSUPPORT, EINVAL).
int to_endpoint(const sockaddr_storage &ss, socklen_t len, int domain, libstack::Endpoint *out);
socklen_t from_endpoint(const libstack::Endpoint &ep, int domain, sockaddr_storage *out);

// Redirects the DNS queries a program sends to the host's name servers (from the host's
// /etc/resolv.conf) to the view's own servers, and makes the answers look like they came
// from the server the program asked (resolvers check that).
class DnsRedirect {
 public:
  DnsRedirect(std::vector<libstack::IpAddr> host_servers,
              std::function<std::vector<libstack::IpAddr>()> view_servers)
      : host_(std::move(host_servers)), view_(std::move(view_servers)) {}
  // Name servers listed in a resolv.conf text.
  static std::vector<libstack::IpAddr> parse_resolv_conf(const std::string &text);
  void map_dest(sockaddr_storage *ss, socklen_t len, int domain) const;
  void map_source(sockaddr_storage *ss, socklen_t len, int domain) const;

 private:
  std::vector<libstack::IpAddr> host_;
  std::function<std::vector<libstack::IpAddr>()> view_;
};

class StackProvider final : public tn::vsock::Provider {
 public:
  StackProvider(libstack::Stack &stack, const DnsRedirect *dns) : st_(stack), dns_(dns) {}
  std::unique_ptr<tn::vsock::Far> create(int domain, int type, int protocol, int *err) override;
  void map_dest(sockaddr_storage *ss, socklen_t len) override;
  void map_name(sockaddr_storage *ss, socklen_t len, bool peer, uint32_t tag) override;
  libstack::Stack &stack() { return st_; }

 private:
  libstack::Stack &st_;
  const DnsRedirect *dns_;
};

}  // namespace umnet
