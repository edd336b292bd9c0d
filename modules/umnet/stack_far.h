// The far side of a view's virtual sockets: libstack TCP, UDP and ping sockets behind the
// vsock engine's Far interface, with Linux socket semantics (see stack_far.cpp).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <functional>
#include <optional>
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
  // A query to one of the host's name servers that no view server of its family can
  // take (an IPv4-only resolv.conf, an IPv6-only --dns): the view's server of the other
  // family, which the socket reaches through a companion socket of that family.
  std::optional<libstack::IpAddr> other_family(const libstack::Endpoint &dest) const;

 private:
  std::vector<libstack::IpAddr> host_;
  std::function<std::vector<libstack::IpAddr>()> view_;
};

// Connections whose program closed them while data was still unsent: kept (with a hold on
// the supervisor's loop, so the end of the traced tree does not cut them off) until the
// stack has delivered that data or given up.
class Lingering {
 public:
  explicit Lingering(std::function<void(int)> hold) : hold_(std::move(hold)) {}
  ~Lingering();
  // Takes a closing socket (its FIN is queued after the data). Full list: closed at once.
  void add(libstack::TcpSocket s);
  // Drop the sockets that are done (call after polling the stack).
  void reap();
  bool empty() const { return socks_.empty(); }

 private:
  std::function<void(int)> hold_;
  std::vector<libstack::TcpSocket> socks_;
};

class HostSplice;

// A listening TCP socket of a view that also takes connections from outside its stack
// (--publish hands it host connections; see splice.cpp).
class PublishTarget {
 public:
  // Does it take a connection to the view's `port` (v4: an IPv4 one)?
  virtual bool takes(uint16_t port, bool v4) const = 0;
  virtual int domain() const = 0;
  // Queue a connection for the program's accept (readiness is reported as for any).
  virtual void take(std::unique_ptr<tn::vsock::Far> conn) = 0;

 protected:
  ~PublishTarget() = default;
};

class StackProvider final : public tn::vsock::Provider {
 public:
  // `unreachable_hint`: said once when a program of a view without links tries to reach
  // a non-loopback address (e.g. for --net none). `splice`: outgoing TCP that may go to
  // host sockets directly (slirp links), or null.
  StackProvider(libstack::Stack &stack, const DnsRedirect *dns, Lingering *linger = nullptr,
                std::function<void(const std::string &)> unreachable_hint = nullptr,
                HostSplice *splice = nullptr)
      : st_(stack), dns_(dns), linger_(linger), hint_(std::move(unreachable_hint)),
        splice_(splice) {}
  std::unique_ptr<tn::vsock::Far> create(int domain, int type, int protocol, int *err) override;
  void map_dest(sockaddr_storage *ss, socklen_t len) override;
  void map_name(sockaddr_storage *ss, socklen_t len, bool peer, uint32_t tag) override;
  libstack::Stack &stack() { return st_; }
  // Listening TCP sockets announce themselves here while they listen.
  void listening(PublishTarget *t, bool on);
  // The listener a published host connection to `port` goes to, or null.
  PublishTarget *listener_for(uint16_t port, bool v4) const;

 private:
  libstack::Stack &st_;
  const DnsRedirect *dns_;
  Lingering *linger_;
  std::function<void(const std::string &)> hint_;
  HostSplice *splice_;
  std::vector<PublishTarget *> listeners_;
};

}  // namespace umnet
