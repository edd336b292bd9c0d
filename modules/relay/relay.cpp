// relay: the "host network" module. Every AF_INET/AF_INET6 TCP or UDP socket of the
// supervised tree becomes virtual; the supervisor owns the real (host kernel) socket.
//
// Theory of operation
// -------------------
// The virtual-socket engine (modules/common/vsock.cpp) does all the work: socket() makes a
// host socket of the same domain/type/protocol (argument errors are the kernel's own) and
// injects an AF_UNIX pair end in its place; the engine then emulates readiness, connect,
// accept and datagram addresses and moves the bytes. This file adds only what is the
// relay's own:
// The tree runs in an empty network namespace; the host's network information the program
// would read natively comes from the supervisor (host_net.cpp): NETLINK_ROUTE and
// NETLINK_SOCK_DIAG sockets made in the host's namespace, interface ioctls, /proc/net.
// ICMP ping sockets are relayed like UDP; raw and packet sockets stay in the empty
// namespace (they reach nothing).
// --publish VIEWPORT:HOSTPORT: bind(VIEWPORT) binds HOSTPORT on the host's loopback
// (127.0.0.1 for an AF_INET socket, ::1 for AF_INET6; both are checked free at start, so a
// taken port is an error before the program runs); getsockname
// reports VIEWPORT; inside the view a loopback destination VIEWPORT is the published
// HOSTPORT (the server's real port), and such a peer is reported back as VIEWPORT.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <threadnet/module.h>

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "host_net.h"
#include "msocket.h"
#include "relay_util.h"
#include "tracee_fds.h"
#include "vsock.h"

namespace tn::relay {
namespace {

bool loopback(const sockaddr_storage &ss) {
  if (ss.ss_family == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in &>(ss).sin_addr.s_addr) >> 24) == 127;
  if (ss.ss_family == AF_INET6) {
    const in6_addr &a = reinterpret_cast<const sockaddr_in6 &>(ss).sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&a) || (IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127);
  }
  return false;
}

// The host network with published ports.
class PublishingHost final : public vsock::HostProvider {
 public:
  PublishingHost(const tn_host *h, std::vector<Publish> pubs)
      : HostProvider(h), pubs_(std::move(pubs)) {}
  void map_dest(sockaddr_storage *ss, socklen_t len) override {
    if (pubs_.empty() || !loopback(*ss)) return;
    int port = sockaddr_port(*ss, len);
    for (const auto &p : pubs_)
      if (p.view_port == port) set_sockaddr_port(ss, len, p.host_port);
  }
  void map_bind(sockaddr_storage *ss, socklen_t len, uint32_t *tag) override {
    int port = sockaddr_port(*ss, len);
    if (port <= 0) return;
    for (size_t i = 0; i < pubs_.size(); ++i)
      if (pubs_[i].view_port == port) {
        // Published on the host's loopback only, as umnet's --publish: never exposed to
        // the network by a program binding a wildcard address.
        set_sockaddr_port(ss, len, pubs_[i].host_port);
        set_sockaddr_loopback(ss, len);
        *tag = uint32_t(i + 1);
      }
  }
  void map_name(sockaddr_storage *ss, socklen_t len, bool peer, uint32_t tag) override {
    if (!peer) {
      if (tag && tag <= pubs_.size() && sockaddr_port(*ss, len) == pubs_[tag - 1].host_port)
        set_sockaddr_port(ss, len, pubs_[tag - 1].view_port);
      return;
    }
    if (pubs_.empty() || !loopback(*ss)) return;
    int port = sockaddr_port(*ss, len);
    for (const auto &p : pubs_)
      if (p.host_port == port) set_sockaddr_port(ss, len, p.view_port);
  }

 private:
  std::vector<Publish> pubs_;
};

// Can the published port be bound on the host's 127.0.0.1 and ::1 (TCP)? Checked once at
// start so that a taken port stops the run before the program starts; a host without
// IPv6 (no AF_INET6, or ::1 not configured) publishes on 127.0.0.1 only.
bool publishable(const Publish &p, std::string *err) {
  for (int fam : {AF_INET, AF_INET6}) {
    int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      if (fam == AF_INET6 && errno == EAFNOSUPPORT) continue;
      *err = "--publish: " + std::string(strerror(errno));
      return false;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage ss{};
    ss.ss_family = sa_family_t(fam);
    socklen_t sl = fam == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    if (fam == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    set_sockaddr_port(&ss, sl, p.host_port);
    set_sockaddr_loopback(&ss, sl);
    int rc = bind(fd, reinterpret_cast<sockaddr *>(&ss), sl);
    int e = errno;
    close(fd);
    if (rc < 0 && !(fam == AF_INET6 && e == EADDRNOTAVAIL)) {
      *err = "--publish " + std::to_string(p.view_port) + ":" + std::to_string(p.host_port) +
             ": cannot listen on " + (fam == AF_INET ? "127.0.0.1:" : "[::1]:") +
             std::to_string(p.host_port) + ": " + strerror(e);
      return false;
    }
  }
  return true;
}

struct Relay {
  Relay(const tn_host *h, std::vector<Publish> pubs)
      : h(h), fds(h), host(h, std::move(pubs)), engine(h, fds), ifio(h, fds) {}
  const tn_host *h;
  TraceeFds fds;
  PublishingHost host;
  vsock::Engine engine;
  hostnet::IfIoctls ifio;
};

bool ip_socket(const tn_call *c) {
  int domain = int(c->args[0]), type = int(c->args[1]) & 0xf, proto = int(c->args[2]);
  if (domain != AF_INET && domain != AF_INET6) return false;
  if (type == SOCK_STREAM && (proto == 0 || proto == IPPROTO_TCP)) return true;
  if (type != SOCK_DGRAM) return false;
  int icmp = domain == AF_INET ? int(IPPROTO_ICMP) : int(IPPROTO_ICMPV6);
  return proto == 0 || proto == IPPROTO_UDP || proto == icmp;
}

const int kSyscalls[] = {SYS_socket,      SYS_connect,     SYS_bind,       SYS_listen,
                         SYS_accept,      SYS_accept4,     SYS_getsockname, SYS_getpeername,
                         SYS_setsockopt,  SYS_getsockopt,  SYS_shutdown,   SYS_sendto,
                         SYS_recvfrom,    SYS_sendmsg,     SYS_recvmsg,    SYS_recvmmsg,
                         SYS_sendmmsg,    -1};

const char *const kOptions[] = {"publish=", nullptr};

void *m_init(const tn_host *host, int argc, const char *const *argv, char *err,
             size_t errcap) {
  std::vector<Publish> pubs;
  std::string msg;
  if (!parse_args(argc, argv, &pubs, &msg)) {
    snprintf(err, errcap, "%s", msg.c_str());
    return nullptr;
  }
  for (auto &p : pubs)
    if (!publishable(p, &msg)) {
      snprintf(err, errcap, "%s", msg.c_str());
      return nullptr;
    }
  if (host->size < offsetof(tn_host, allow_ioctls) + sizeof(void *)) {
    snprintf(err, errcap, "this threadnet is too old for this relay module");
    return nullptr;
  }
  // Interface ioctls on any fd (glibc's if_nametoindex uses an AF_UNIX socket).
  host->add_rule(host->hv, SYS_ioctl, 1, 0xffffff00ull, 0x8900);
  host->share_host_procnet(host->hv);
  host->allow_ioctls(host->hv, hostnet::kIoctls);
  return new Relay(host, std::move(pubs));
}
void m_fini(void *self) {
  auto *r = static_cast<Relay *>(self);
  r->engine.fini();
  delete r;
}
int m_choose(void *self, const tn_call *c) {
  auto *r = static_cast<Relay *>(self);
  if (c->nr == SYS_socket)
    return ip_socket(c) || hostnet::is_host_netlink(c) ? TN_CHOICE_MINE : TN_CHOICE_NONE;
  if (c->nr == SYS_ioctl) return TN_CHOICE_MINE;  // only 0x89xx requests are trapped
  if (c->nr == SYS_setsockopt && int(c->args[0]) == -1 && int(c->args[1]) == TN_SOL_MSOCKET)
    return TN_CHOICE_MINE;  // msocket(3): this view has no named stacks
  return r->engine.choose(c) ? TN_CHOICE_MINE : TN_CHOICE_NONE;
}
void m_handle(void *self, const tn_call *c) {
  auto *r = static_cast<Relay *>(self);
  if (c->nr == SYS_socket) {
    if (hostnet::is_host_netlink(c)) return hostnet::netlink_socket(r->h, c);
    r->engine.socket(c, r->host);
  } else if (c->nr == SYS_ioctl) {
    r->ifio.handle(c);
  } else if (c->nr == SYS_setsockopt && int(c->args[0]) == -1) {
    r->h->reply(r->h->hv, c, 0, EOPNOTSUPP);
  } else {
    r->engine.handle(c);
  }
}
void m_on_exit(void *self, int32_t tgid) { static_cast<Relay *>(self)->engine.on_exit(tgid); }

const tn_module kModule = {
    TN_MODULE_ABI_VERSION,
    sizeof(tn_module),
    "relay",
    "host network: every AF_INET/AF_INET6 TCP/UDP socket proxied through the supervisor",
    m_init,
    m_fini,
    kSyscalls,
    m_choose,
    m_handle,
    nullptr,
    nullptr,
    m_on_exit,
    kOptions,
};

}  // namespace
}  // namespace tn::relay

extern "C" __attribute__((visibility("default"))) const tn_module *threadnet_module_v1(void) {
  return &tn::relay::kModule;
}
