// Host splices: where a view's TCP connection meets a host kernel socket anyway, the two
// are joined without the user-mode TCPs in between.
//
// Theory of operation
// -------------------
// Two places in a view end a TCP connection in user space only to open a host socket for
// the same bytes:
//  * slirp:// (the embedded default's NAT): libslirp, in the supervisor's own process,
//    terminates every outgoing connection in its BSD-derived TCP and connects a host
//    socket to the destination (the slirp host address 10.0.2.2 / fd00::2 standing for the
//    host's loopback). HostSplice::target() tells TcpFar (stack_far.cpp), at connect()
//    time, when a destination would take that path; TcpFar then connects a host socket
//    itself and from there on serves the program from it, as the relay module does. The
//    bytes go program -> pair -> supervisor -> host socket, instead of also through the
//    view's TCP, 9000-byte frames, the plugin's thread and libslirp's TCP (measured: 0.14
//    of kernel loopback before, see docs/performance.md). What the program sees is what
//    slirp gives: the server sees a connection from the host's loopback or the host's own
//    address, refused ports are ECONNREFUSED; getsockname reports the view's address.
//    Only connections routed through the slirp interface are spliced, and not those to
//    the slirp network's own addresses (its DNS proxy, DHCP server, other guests): they
//    still go through the stack and libslirp. UDP and ICMP always do.
//  * --publish: the supervisor accepts on the host's loopback; instead of opening a
//    second TCP connection inside the view to the server's listener, it hands the host
//    connection to that listener (published_conn): the program accepts it like any other.
// What no longer exists for a spliced connection: its frames (they are not in --pcap) and
// its state in the view's stack (TCP_INFO is the host socket's).
#include "splice.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cstring>
#include <string_view>

#include "stack_far.h"

namespace umnet {

using libstack::Cidr;
using libstack::Endpoint;
using libstack::IpAddr;
using tn::vsock::Far;

std::optional<SlirpNet> SlirpNet::parse(const std::string &url, std::string *err) {
  SlirpNet n;
  n.net4 = *Cidr::parse("10.0.2.2/24");
  n.net6 = *Cidr::parse("fd00::2/64");
  std::string_view rest(url);
  if (rest.starts_with("slirp://")) rest.remove_prefix(8);
  bool only4 = false, only6 = false;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view opt = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (opt.empty()) continue;
    size_t eq = opt.find('=');
    std::string_view key = opt.substr(0, eq);
    std::string_view val = eq == std::string_view::npos ? std::string_view{} : opt.substr(eq + 1);
    if (key == "v4") {
      only4 = true;
    } else if (key == "v6") {
      only6 = true;
    } else if (key == "disable_host_loopback") {
      n.host_loopback = false;
    } else if (key == "addr" || key == "host" || key == "addr6" || key == "host6") {
      auto c = Cidr::parse(val);
      bool six = key.back() == '6';
      if (!c || c->addr.is_v6() != six) {
        *err = "slirp option " + std::string(opt) + ": not an IPv" + (six ? "6" : "4") +
               " address/prefix";
        return std::nullopt;
      }
      (six ? n.net6 : n.net4) = *c;
    }
  }
  if (only4 != only6) {  // one family named alone; both or neither: both
    n.v4 = only4;
    n.v6 = only6;
  }
  return n;
}

std::optional<Endpoint> HostSplice::target(const Endpoint &dst) const {
  if (dst.port == 0 || st_.route_interface(dst.addr) != ifindex_ || ifindex_ == 0)
    return std::nullopt;
  const bool v4 = dst.addr.is_v4();
  if (v4 ? !net_.v4 : !net_.v6) return std::nullopt;
  const Cidr &net = v4 ? net_.net4 : net_.net6;
  if (dst.addr == net.addr) {  // the slirp host: the host's own loopback
    if (!net_.host_loopback) return std::nullopt;
    Endpoint e = dst;
    if (v4) {
      e.addr = IpAddr(libstack::Ipv4Addr{{127, 0, 0, 1}});
    } else {
      libstack::Ipv6Addr one{};
      one.b[15] = 1;
      e.addr = IpAddr(one);
    }
    return e;
  }
  if (net.contains(dst.addr)) return std::nullopt;  // slirp's own services, other guests
  if (!v4 && dst.addr.v6().is_link_local()) return std::nullopt;
  if (dst.addr.is_unspecified() || (v4 && (dst.addr.v4().is_multicast() || dst.addr.v4().is_broadcast())))
    return std::nullopt;
  if (!v4 && dst.addr.v6().is_multicast()) return std::nullopt;
  return dst;
}

// ---- --publish connections -----------------------------------------------------------------
namespace {

class PublishedFar final : public Far {
 public:
  PublishedFar(std::unique_ptr<Far> host, int domain, Endpoint local, Endpoint peer)
      : h_(std::move(host)), domain_(domain), local_(local), peer_(peer) {}
  int start(std::function<void(uint32_t)> cb) override { return h_->start(std::move(cb)); }
  int connect(const sockaddr_storage &, socklen_t) override { return -EISCONN; }
  int bind(const sockaddr_storage &, socklen_t) override { return -EINVAL; }
  int listen(int) override { return -EINVAL; }
  std::unique_ptr<Far> accept(sockaddr_storage *, socklen_t *, int *err) override {
    *err = EINVAL;
    return nullptr;
  }
  bool accept_pending() override { return false; }
  ssize_t recv(void *buf, size_t n) override { return h_->recv(buf, n); }
  ssize_t send(const void *buf, size_t n) override { return h_->send(buf, n); }
  size_t send_room() override { return h_->send_room(); }
  ssize_t recvfrom(void *buf, size_t n, sockaddr_storage *, socklen_t *flen) override {
    *flen = 0;
    return h_->recv(buf, n);
  }
  ssize_t sendmsg(const void *buf, size_t n, const sockaddr_storage *, socklen_t, const void *,
                  size_t, int) override {
    return h_->send(buf, n);  // TCP ignores a destination
  }
  int shutdown(int how) override { return h_->shutdown(how); }
  int name(bool peer, sockaddr_storage *out, socklen_t *len) override {
    *len = from_endpoint(peer ? peer_ : local_, domain_, out);
    return 0;
  }
  int setopt(int level, int name, const void *val, socklen_t len) override {
    if (mapped_v6(level)) return 0;  // nothing of IPv6 applies to the host's IPv4 socket
    return h_->setopt(level, name, val, len);
  }
  int getopt(int level, int name, void *val, socklen_t *len) override {
    int v = 0;
    if (mapped_v6(level) || (level == SOL_SOCKET && name == SO_DOMAIN)) {
      if (level == SOL_SOCKET) v = domain_;
      if (!val || int(*len) < int(sizeof(int))) return -EINVAL;
      std::memcpy(val, &v, sizeof v);
      *len = sizeof v;
      return 0;
    }
    return h_->getopt(level, name, val, len);
  }
  int poll_fd() const override { return h_->poll_fd(); }
  bool kernel_socket() const override { return h_->kernel_socket(); }

 private:
  // An AF_INET6 socket of the program on an IPv4 host connection (a dual-stack listener
  // took it): the IPv6 level is the program's, answered as for a v4-mapped connection
  // (0: IPV6_V6ONLY off and the defaults), not the host socket's, which has none.
  bool mapped_v6(int level) const {
    return level == IPPROTO_IPV6 && domain_ == AF_INET6 && peer_.addr.is_v4();
  }
  std::unique_ptr<Far> h_;
  int domain_;
  Endpoint local_, peer_;
};

}  // namespace

std::unique_ptr<Far> published_conn(std::unique_ptr<Far> host, int domain, const Endpoint &local,
                                    const Endpoint &peer) {
  return std::make_unique<PublishedFar>(std::move(host), domain, local, peer);
}

}  // namespace umnet
