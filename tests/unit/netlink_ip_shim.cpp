// LD_PRELOAD shim for the end-to-end test with the real iproute2 `ip` binary: the
// process's AF_NETLINK sockets are answered in-process by umnet::NetlinkRoute over a
// libstack Stack (lo + eth0 02:00:00:00:00:01, 10.0.0.1/24, 2001:db8::1/64, default route
// via 10.0.0.254), so `ip addr|route|link` print the Stack's view and `ip -batch` can
// change it. Test code only: the shim's process-wide state lives in one lazily built
// object. Intercepts socket/bind/getsockname/setsockopt/sendto/sendmsg/recvfrom/recvmsg/close.
#include <dlfcn.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>

#include "libstack/stack.h"
#include "umnet/netlink_route.h"

namespace {

using namespace libstack;

class NullLink final : public Link {
 public:
  LinkKind kind() const override { return LinkKind::Ethernet; }
  size_t mtu() const override { return 1500; }
  bool transmit(std::span<const uint8_t>, Instant) override { return true; }
  size_t receive(std::span<uint8_t>, Instant) override { return 0; }
};

struct World {
  SplitMix64 rng{1};
  NullLink link;
  std::unique_ptr<Stack> st;
  std::unique_ptr<umnet::NetlinkRoute> nl;
  std::map<int, std::deque<std::vector<uint8_t>>> socks;
  World() {
    Tuning t;
    t.dad_transmits = 0;
    t.ipv6_link_local = false;
    st = Stack::create({rng, t});
    int eth = st->add_interface(link, {{2, 0, 0, 0, 0, 1}});
    st->add_address(uint32_t(eth), *Cidr::parse("10.0.0.1/24"));
    st->add_address(uint32_t(eth), *Cidr::parse("2001:db8::1/64"));
    st->add_route(*Cidr::parse("0.0.0.0/0"), *IpAddr::parse("10.0.0.254"), uint32_t(eth));
    nl = std::make_unique<umnet::NetlinkRoute>(*st);
  }
};

World* g_world = nullptr;  // built on the first netlink socket; never destroyed
World& world() {
  if (!g_world) g_world = new World();
  return *g_world;
}

template <typename F>
F real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

std::deque<std::vector<uint8_t>>* nl_sock(int fd) {
  if (!g_world) return nullptr;
  auto& s = g_world->socks;
  auto it = s.find(fd);
  return it == s.end() ? nullptr : &it->second;
}

ssize_t nl_send(int fd, const struct msghdr* m) {
  std::vector<uint8_t> req;
  for (size_t i = 0; i < m->msg_iovlen; ++i) {
    auto* b = static_cast<const uint8_t*>(m->msg_iov[i].iov_base);
    req.insert(req.end(), b, b + m->msg_iov[i].iov_len);
  }
  for (auto& d : world().nl->handle(req, uint32_t(getpid()))) world().socks[fd].push_back(std::move(d));
  return ssize_t(req.size());
}

ssize_t nl_recv(std::deque<std::vector<uint8_t>>& q, struct msghdr* m, int flags) {
  if (q.empty()) {
    std::fprintf(stderr, "netlink shim: recv with no reply queued (the program would hang)\n");
    std::_Exit(99);
  }
  auto& d = q.front();
  size_t off = 0;
  for (size_t i = 0; i < m->msg_iovlen && off < d.size(); ++i) {
    size_t n = std::min(m->msg_iov[i].iov_len, d.size() - off);
    if (n) std::memcpy(m->msg_iov[i].iov_base, d.data() + off, n);  // iproute2 peeks with a NULL buffer
    off += n;
  }
  m->msg_flags = off < d.size() ? MSG_TRUNC : 0;
  if (m->msg_name && m->msg_namelen >= sizeof(sockaddr_nl)) {
    sockaddr_nl from{};
    from.nl_family = AF_NETLINK;
    std::memcpy(m->msg_name, &from, sizeof from);
    m->msg_namelen = sizeof from;
  }
  m->msg_controllen = 0;
  ssize_t ret = ssize_t((flags & MSG_TRUNC) ? d.size() : off);
  if (!(flags & MSG_PEEK)) q.pop_front();
  return ret;
}

}  // namespace

extern "C" {

int socket(int domain, int type, int protocol) {
  if (domain != AF_NETLINK) return real<int (*)(int, int, int)>("socket")(domain, type, protocol);
  if (protocol != NETLINK_ROUTE) { errno = EPROTONOSUPPORT; return -1; }
  int fd = real<int (*)(int, int, int)>("socket")(AF_UNIX, SOCK_DGRAM | (type & SOCK_CLOEXEC), 0);
  if (fd >= 0) world().socks[fd];
  return fd;
}

int bind(int fd, const struct sockaddr* a, socklen_t l) {
  if (nl_sock(fd)) return 0;
  return real<int (*)(int, const sockaddr*, socklen_t)>("bind")(fd, a, l);
}

int getsockname(int fd, struct sockaddr* a, socklen_t* l) {
  if (!nl_sock(fd)) return real<int (*)(int, sockaddr*, socklen_t*)>("getsockname")(fd, a, l);
  sockaddr_nl me{};
  me.nl_family = AF_NETLINK;
  me.nl_pid = uint32_t(getpid());
  std::memcpy(a, &me, std::min(size_t(*l), sizeof me));
  *l = sizeof me;
  return 0;
}

int setsockopt(int fd, int level, int name, const void* v, socklen_t l) {
  if (nl_sock(fd)) return 0;
  return real<int (*)(int, int, int, const void*, socklen_t)>("setsockopt")(fd, level, name, v, l);
}

ssize_t sendmsg(int fd, const struct msghdr* m, int flags) {
  if (nl_sock(fd)) return nl_send(fd, m);
  return real<ssize_t (*)(int, const msghdr*, int)>("sendmsg")(fd, m, flags);
}

ssize_t sendto(int fd, const void* buf, size_t len, int flags, const struct sockaddr* a, socklen_t l) {
  if (!nl_sock(fd)) return real<ssize_t (*)(int, const void*, size_t, int, const sockaddr*, socklen_t)>("sendto")(fd, buf, len, flags, a, l);
  iovec iov{const_cast<void*>(buf), len};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  return nl_send(fd, &m);
}

ssize_t send(int fd, const void* buf, size_t len, int flags) { return sendto(fd, buf, len, flags, nullptr, 0); }

ssize_t recvmsg(int fd, struct msghdr* m, int flags) {
  if (auto* q = nl_sock(fd)) return nl_recv(*q, m, flags);
  return real<ssize_t (*)(int, msghdr*, int)>("recvmsg")(fd, m, flags);
}

ssize_t recvfrom(int fd, void* buf, size_t len, int flags, struct sockaddr* a, socklen_t* l) {
  auto* q = nl_sock(fd);
  if (!q) return real<ssize_t (*)(int, void*, size_t, int, sockaddr*, socklen_t*)>("recvfrom")(fd, buf, len, flags, a, l);
  iovec iov{buf, len};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_name = a;
  m.msg_namelen = l ? *l : 0;
  ssize_t r = nl_recv(*q, &m, flags);
  if (l) *l = m.msg_namelen;
  return r;
}

ssize_t recv(int fd, void* buf, size_t len, int flags) { return recvfrom(fd, buf, len, flags, nullptr, nullptr); }

int close(int fd) {
  if (g_world) g_world->socks.erase(fd);
  return real<int (*)(int)>("close")(fd);
}

}  // extern "C"
