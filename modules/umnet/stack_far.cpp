// libstack sockets as the far side of the vsock engine.
//
// Theory of operation
// -------------------
// The engine (modules/common/vsock.cpp) owns the program's view of a socket: the AF_UNIX
// pair end, readiness emulation, blocking and cancellation. Here each virtual socket is
// one libstack socket, and every Far call is translated to it with the errno a Linux
// socket would give:
//  * TCP: connect() is the kernel's state machine (EINPROGRESS, then EALREADY, then 0 /
//    EISCONN or the failure once); a failed socket is replaced by a fresh libstack socket
//    with the same options and bound address, as a Linux socket can connect again. An
//    AF_INET6 socket listening on :: without IPV6_V6ONLY also listens on 0.0.0.0 (libstack
//    keeps families apart), so dual-stack servers (python's http.server) take IPv4 too;
//    IPv4 peers are reported as ::ffff:a.b.c.d.
//  * UDP and ping sockets: datagrams with addresses; IP_ADD_MEMBERSHIP & co. map to the
//    socket's group calls.
//  * Options libstack has no knob for (timeouts, priorities, ...) are remembered and
//    reported back, so getsockopt returns what setsockopt set; unknown ones get
//    ENOPROTOOPT like Linux.
// Readiness callbacks from libstack come synchronously from inside stack calls; the
// engine defers them (see vsock.cpp).
#include "stack_far.h"

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <sstream>

#include "libstack/icmp.h"
#include "libstack/udp.h"
#include "splice.h"

namespace umnet {

using libstack::Endpoint;
using libstack::IpAddr;
using libstack::Ipv4Addr;
using libstack::Ipv6Addr;
using tn::vsock::Far;

constexpr socklen_t kSin6LenRfc2133 = 24;  // sockaddr_in6 without sin6_scope_id

int to_endpoint(const sockaddr_storage &ss, socklen_t len, int domain, Endpoint *out) {
  // Linux checks the length the socket's family needs before the address's family (an
  // AF_INET6 socket takes the 24 bytes of RFC 2133, without sin6_scope_id).
  if (domain == AF_INET && len < sizeof(sockaddr_in)) return EINVAL;
  if (domain == AF_INET6 && len < kSin6LenRfc2133) return EINVAL;
  if (ss.ss_family == AF_INET) {
    if (len < sizeof(sockaddr_in)) return EINVAL;
    if (domain != AF_INET) return EAFNOSUPPORT;
    const auto &a = reinterpret_cast<const sockaddr_in &>(ss);
    Ipv4Addr v4;
    std::memcpy(v4.b.data(), &a.sin_addr, 4);
    out->addr = IpAddr(v4);
    out->port = ntohs(a.sin_port);
    return 0;
  }
  if (ss.ss_family == AF_INET6) {
    if (len < kSin6LenRfc2133) return EINVAL;
    if (domain != AF_INET6) return EAFNOSUPPORT;
    const auto &a = reinterpret_cast<const sockaddr_in6 &>(ss);
    Ipv6Addr v6;
    std::memcpy(v6.b.data(), &a.sin6_addr, 16);
    if (v6.is_v4_mapped())
      out->addr = IpAddr(Ipv4Addr{{v6.b[12], v6.b[13], v6.b[14], v6.b[15]}});
    else
      out->addr = IpAddr(v6);
    out->port = ntohs(a.sin6_port);
    return 0;
  }
  return EAFNOSUPPORT;
}

socklen_t from_endpoint(const Endpoint &ep, int domain, sockaddr_storage *out) {
  std::memset(out, 0, sizeof *out);
  if (domain == AF_INET) {
    auto &a = reinterpret_cast<sockaddr_in &>(*out);
    a.sin_family = AF_INET;
    a.sin_port = htons(ep.port);
    if (ep.addr.is_v4()) std::memcpy(&a.sin_addr, ep.addr.b.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto &a = reinterpret_cast<sockaddr_in6 &>(*out);
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(ep.port);
  if (ep.addr.is_v6()) {
    std::memcpy(&a.sin6_addr, ep.addr.b.data(), 16);
  } else if (!ep.addr.is_unspecified()) {
    a.sin6_addr.s6_addr[10] = 0xff;
    a.sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&a.sin6_addr.s6_addr[12], ep.addr.b.data(), 4);
  }
  return sizeof(sockaddr_in6);
}

namespace {
// Linux sends to 0.0.0.0 / :: as to this host (the loopback address).
void unspecified_is_loopback(Endpoint *ep) {
  if (!ep->addr.is_unspecified()) return;
  if (ep->addr.is_v4()) {
    ep->addr = IpAddr(Ipv4Addr{{127, 0, 0, 1}});
  } else {
    Ipv6Addr l{};
    l.b[15] = 1;
    ep->addr = IpAddr(l);
  }
}
}  // namespace

// ---- DNS ---------------------------------------------------------------------------------

std::vector<IpAddr> DnsRedirect::parse_resolv_conf(const std::string &text) {
  std::vector<IpAddr> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    std::string key, val;
    if (!(l >> key >> val) || key != "nameserver") continue;
    auto pct = val.find('%');  // fe80::1%eth0
    if (pct != std::string::npos) val.resize(pct);
    if (auto a = IpAddr::parse(val)) out.push_back(*a);
  }
  return out;
}

namespace {
bool is_port53(const sockaddr_storage &ss, socklen_t len) {
  if (ss.ss_family == AF_INET && len >= sizeof(sockaddr_in))
    return reinterpret_cast<const sockaddr_in &>(ss).sin_port == htons(53);
  if (ss.ss_family == AF_INET6 && len >= sizeof(sockaddr_in6))
    return reinterpret_cast<const sockaddr_in6 &>(ss).sin6_port == htons(53);
  return false;
}
// A server of the family `want` (a libstack socket reaches only its own family; the
// other family goes through DnsRedirect::other_family).
std::optional<IpAddr> pick(const std::vector<IpAddr> &servers, IpAddr::Family want) {
  for (auto &s : servers)
    if (s.family == want) return s;
  return std::nullopt;
}
}  // namespace

void DnsRedirect::map_dest(sockaddr_storage *ss, socklen_t len, int domain) const {
  if (!is_port53(*ss, len)) return;
  Endpoint ep;
  if (to_endpoint(*ss, len, domain, &ep)) return;
  if (std::find(host_.begin(), host_.end(), ep.addr) == host_.end()) return;
  auto views = view_();
  auto v = pick(views, ep.addr.family);
  if (!v || *v == ep.addr) return;
  ep.addr = *v;
  from_endpoint(ep, domain, ss);
}

void DnsRedirect::map_source(sockaddr_storage *ss, socklen_t len, int domain) const {
  if (!is_port53(*ss, len) || host_.empty()) return;
  Endpoint ep;
  if (to_endpoint(*ss, len, domain, &ep)) return;
  auto views = view_();
  if (std::find(views.begin(), views.end(), ep.addr) == views.end()) return;
  if (std::find(host_.begin(), host_.end(), ep.addr) != host_.end()) return;
  // The server asked is (most likely) of the socket's own family: glibc uses an AF_INET6
  // socket only for an IPv6 name server.
  auto h = pick(host_, domain == AF_INET ? IpAddr::Family::V4 : IpAddr::Family::V6);
  if (!h) return;
  ep.addr = *h;
  from_endpoint(ep, domain, ss);
}

std::optional<IpAddr> DnsRedirect::other_family(const Endpoint &dest) const {
  if (dest.port != 53 || std::find(host_.begin(), host_.end(), dest.addr) == host_.end())
    return std::nullopt;
  auto views = view_();
  if (pick(views, dest.addr.family)) return std::nullopt;  // map_dest's case
  return pick(views, dest.addr.is_v4() ? IpAddr::Family::V6 : IpAddr::Family::V4);
}

// ---- options common to every far socket ---------------------------------------------------
namespace {

int get_int(const void *val, socklen_t len, int *out) {
  if (!val || len < sizeof(int)) return EINVAL;
  std::memcpy(out, val, sizeof(int));
  return 0;
}
int put_bytes(void *val, socklen_t *len, const void *src, size_t n) {
  size_t k = std::min<size_t>(*len, n);
  if (k && val) std::memcpy(val, src, k);
  *len = socklen_t(k);
  return 0;
}
int put_int(void *val, socklen_t *len, int v) { return put_bytes(val, len, &v, sizeof v); }

// Remembered options: what setsockopt stored, for getsockopt to report.
class Opts {
 public:
  void set(int level, int name, const void *val, socklen_t len) {
    auto &v = m_[{level, name}];
    v.assign(static_cast<const char *>(val), static_cast<const char *>(val) + len);
  }
  bool get(int level, int name, void *val, socklen_t *len) const {
    auto it = m_.find({level, name});
    if (it == m_.end()) return false;
    put_bytes(val, len, it->second.data(), it->second.size());
    return true;
  }
  template <typename F>
  void for_each(F &&f) const {
    for (auto &kv : m_) f(kv.first.first, kv.first.second, kv.second);
  }
  int get_int_or(int level, int name, int dflt) const {
    auto it = m_.find({level, name});
    if (it == m_.end() || it->second.size() < sizeof(int)) return dflt;
    int v;
    std::memcpy(&v, it->second.data(), sizeof v);
    return v;
  }

 private:
  std::map<std::pair<int, int>, std::vector<char>> m_;
};

// Options every socket accepts and only remembers.
bool remembered(int level, int name) {
  if (level == SOL_SOCKET)
    switch (name) {
      case SO_RCVTIMEO_OLD: case SO_SNDTIMEO_OLD: case SO_RCVTIMEO_NEW: case SO_SNDTIMEO_NEW:
      case SO_RCVLOWAT: case SO_SNDLOWAT: case SO_PRIORITY: case SO_OOBINLINE:
      case SO_DONTROUTE: case SO_TIMESTAMP_OLD: case SO_TIMESTAMPNS_OLD: case SO_MARK:
      case SO_PASSCRED: case SO_BUSY_POLL: case SO_ZEROCOPY: case SO_INCOMING_CPU:
      case SO_REUSEPORT: case SO_BROADCAST:
        return true;
    }
  if (level == IPPROTO_IP)
    switch (name) {
      case IP_TOS: case IP_RECVERR: case IP_PKTINFO: case IP_RECVTTL: case IP_RECVTOS:
      case IP_MTU_DISCOVER: case IP_FREEBIND: case IP_BIND_ADDRESS_NO_PORT:
      case IP_TRANSPARENT:
        return true;
    }
  if (level == IPPROTO_IPV6)
    switch (name) {
      case IPV6_TCLASS: case IPV6_RECVERR: case IPV6_RECVPKTINFO: case IPV6_MTU_DISCOVER:
      case IPV6_RECVHOPLIMIT: case IPV6_RECVTCLASS: case IPV6_FREEBIND:
        return true;
    }
  if (level == IPPROTO_TCP)
    switch (name) {
      case TCP_QUICKACK: case TCP_DEFER_ACCEPT: case TCP_FASTOPEN: case TCP_FASTOPEN_CONNECT:
      case TCP_USER_TIMEOUT: case TCP_NOTSENT_LOWAT: case TCP_CORK: case TCP_SYNCNT:
      case TCP_LINGER2: case TCP_WINDOW_CLAMP: case TCP_THIN_LINEAR_TIMEOUTS:
      case TCP_MAXSEG:
        return true;
    }
  return false;
}

// Common part of every libstack far socket: type, family, remembered options.
class StackFarBase : public Far {
 public:
  StackFarBase(libstack::Stack &st, int domain, int type, int protocol)
      : st_(st), domain_(domain), type_(type), protocol_(protocol) {
    if (protocol_ == 0) protocol_ = type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
  }

 protected:
  // SOL_SOCKET answers common to all types; returns true if handled.
  bool common_get(int level, int name, void *val, socklen_t *len, int *rc) {
    *rc = 0;
    if (level == SOL_SOCKET) {
      switch (name) {
        case SO_TYPE: put_int(val, len, type_); return true;
        case SO_DOMAIN: put_int(val, len, domain_); return true;
        case SO_PROTOCOL: put_int(val, len, protocol_); return true;
      }
    }
    if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY) {
      if (domain_ != AF_INET6) {
        *rc = -ENOPROTOOPT;
        return true;
      }
      put_int(val, len, v6only_ ? 1 : 0);
      return true;
    }
    if ((level == IPPROTO_IP && name == IP_TTL) ||
        (level == IPPROTO_IPV6 && name == IPV6_UNICAST_HOPS)) {
      int d = level == IPPROTO_IP ? st_.tuning().default_ttl : st_.tuning().default_hop_limit;
      put_int(val, len, ttl_ > 0 ? ttl_ : d);
      return true;
    }
    if (level == SOL_SOCKET && name == SO_LOCK_FILTER) {
      put_int(val, len, opts_.get_int_or(SOL_SOCKET, SO_LOCK_FILTER, 0));
      return true;
    }
    if (level == SOL_SOCKET && name == SO_GET_FILTER) {
      *len = 0;  // no socket filter (its length counts instructions)
      return true;
    }
    if (opts_.get(level, name, val, len)) return true;
    if (remembered(level, name)) {
      put_int(val, len, 0);
      return true;
    }
    return false;
  }
  // Options every type handles alike; returns true if handled.
  bool common_set(int level, int name, const void *val, socklen_t len, int *rc) {
    *rc = 0;
    if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY) {
      int v;
      if (domain_ != AF_INET6) *rc = -ENOPROTOOPT;
      else if (get_int(val, len, &v) || bound()) *rc = -EINVAL;  // Linux: not once bound
      else v6only_ = v != 0;
      return true;
    }
    if (level == SOL_SOCKET) {
      switch (name) {
        // libstack runs no BPF: there is never a filter to detach, and attaching one is
        // an operation these sockets do not support (the engine has already checked the
        // program's arguments as Linux does).
        case SO_ATTACH_FILTER: case SO_ATTACH_BPF: case SO_ATTACH_REUSEPORT_CBPF:
        case SO_ATTACH_REUSEPORT_EBPF:
          *rc = -EOPNOTSUPP;
          return true;
        case SO_DETACH_FILTER: case SO_DETACH_REUSEPORT_BPF:
          *rc = opts_.get_int_or(SOL_SOCKET, SO_LOCK_FILTER, 0) ? -EPERM : -ENOENT;
          return true;
        case SO_LOCK_FILTER: {
          int v;
          if (get_int(val, len, &v)) {
            *rc = -EINVAL;
          } else if (!v && opts_.get_int_or(SOL_SOCKET, SO_LOCK_FILTER, 0)) {
            *rc = -EPERM;  // a lock cannot be undone
          } else {
            opts_.set(level, name, val, sizeof v);
          }
          return true;
        }
      }
    }
    if ((level == IPPROTO_IP && name == IP_TTL) ||
        (level == IPPROTO_IPV6 && name == IPV6_UNICAST_HOPS)) {
      int v;
      if (get_int(val, len, &v) || v < -1 || v > 255 || (level == IPPROTO_IP && v == 0)) {
        *rc = -EINVAL;
      } else {
        ttl_ = v;
        apply_ttl(v);
      }
      return true;
    }
    if (remembered(level, name)) {
      opts_.set(level, name, val, len);
      return true;
    }
    return false;
  }
  virtual void apply_ttl(int) {}
  // Has the socket a local port (bound, or given one by connect/listen)?
  virtual bool bound() const { return false; }
  // Linux's answer for an option level this socket's protocol does not have.
  int foreign_level(int level) const {
    if (level == SOL_SOCKET || level == IPPROTO_IP || level == IPPROTO_IPV6 ||
        level == protocol_)
      return 0;
    return domain_ == AF_INET ? -EOPNOTSUPP : -ENOPROTOOPT;
  }

  libstack::Stack &st_;
  int domain_, type_, protocol_;
  bool v6only_ = false;
  int ttl_ = -1;
  Opts opts_;
};

libstack::IpAddr::Family fam(int domain) {
  return domain == AF_INET ? IpAddr::Family::V4 : IpAddr::Family::V6;
}

// ---- TCP -----------------------------------------------------------------------------------
class TcpFar final : public StackFarBase, public PublishTarget {
 public:
  TcpFar(libstack::Stack &st, int domain, int protocol, libstack::TcpSocket s, Lingering *l,
         StackProvider *prov = nullptr, HostSplice *splice = nullptr)
      : StackFarBase(st, domain, SOCK_STREAM, protocol), s_(std::move(s)), lingering_(l),
        prov_(prov), splice_(splice) {}
  ~TcpFar() override {
    if (prov_ && listening_) prov_->listening(this, false);
    if (v4_.valid()) v4_.set_callback(nullptr);
    if (host_) {  // spliced: the libstack socket only held the place
      s_.set_callback(nullptr);
      return;
    }
    if (!s_.valid()) return;
    s_.set_callback(nullptr);
    auto st = s_.state();
    bool sending = st == libstack::TcpState::Established || st == libstack::TcpState::CloseWait;
    bool abortive = linger_.l_onoff && linger_.l_linger == 0;  // SO_LINGER {1, 0}: RST
    if (lingering_ && sending && !abortive && s_.send_queue() > 0 && !s_.bytes_readable()) {
      s_.shutdown(libstack::kTcpShutWr);
      lingering_->add(std::move(s_));
    }
  }

  int start(std::function<void(uint32_t)> cb) override {
    cb_ = std::move(cb);
    if (host_) return host_->start(cb_);
    hook(s_);
    if (v4_.valid()) hook(v4_);
    return 0;
  }
  // PublishTarget
  bool takes(uint16_t port, bool v4) const override {
    if (!listening_ || host_) return false;
    Endpoint l = s_.local_endpoint();
    if (l.port != port) return false;
    if (v4) {
      if (domain_ == AF_INET) return l.addr.is_unspecified() || l.addr.v4().is_loopback();
      return v4_.valid();  // a dual-stack listener's IPv4 side
    }
    if (domain_ != AF_INET6 || !l.addr.is_v6()) return false;
    return l.addr.is_unspecified() || l.addr.v6().is_loopback();
  }
  int domain() const override { return domain_; }
  void take(std::unique_ptr<Far> conn) override {
    if (published_.size() >= 4096) return;  // a listener that never accepts: closed
    published_.push_back(std::move(conn));
    if (cb_) cb_(EPOLLIN);
  }
  int connect(const sockaddr_storage &to, socklen_t len) override {
    if (host_) return host_->connect(splice_to_, splice_len_);
    if (to.ss_family == AF_UNSPEC) {
      // Linux: disconnect (an established connection is reset), the socket is fresh.
      connecting_ = false;
      if (s_.state() != libstack::TcpState::Closed || failed_) {
        s_.set_callback(nullptr);
        s_.abort();
        renew();
      }
      return 0;
    }
    Endpoint ep;
    if (int e = to_endpoint(to, len, domain_, &ep)) return -e;
    if (v6only_ && ep.addr.is_v4()) return -ENETUNREACH;
    unspecified_is_loopback(&ep);
    if (connecting_) {
      auto st = s_.state();
      if (st == libstack::TcpState::SynSent || st == libstack::TcpState::SynReceived)
        return -EALREADY;
      connecting_ = false;
      if (st != libstack::TcpState::Closed) return -EISCONN;  // established (or later)
      int err = std::abs(s_.error());
      renew();
      return -(err ? err : ECONNREFUSED);
    }
    if (failed_) renew();
    if (int rc = try_splice(ep); rc != 1) return rc;
    int rc = s_.connect(ep);
    if (rc == -EINPROGRESS) connecting_ = true;
    return rc;
  }
  int bind(const sockaddr_storage &a, socklen_t len) override {
    if (host_) return host_->bind(a, len);
    Endpoint ep;
    if (int e = to_endpoint(a, len, domain_, &ep)) return -e;
    if (domain_ == AF_INET6 && ep.addr.is_v4() && v6only_) return -EADDRNOTAVAIL;
    if (domain_ == AF_INET6 && ep.addr.is_v4() && ep.addr.is_unspecified())
      ep.addr = IpAddr(Ipv6Addr{});
    int rc = s_.bind(ep);
    if (rc == 0) bound_ = s_.local_endpoint();
    return rc;
  }
  int listen(int backlog) override {
    if (host_) return host_->listen(backlog);
    int rc = s_.listen(backlog);
    if (rc < 0) return rc;
    if (prov_ && !listening_) prov_->listening(this, true);
    listening_ = true;
    Endpoint local = s_.local_endpoint();
    if (domain_ == AF_INET6 && !v6only_ && !v4_.valid() && local.addr.is_v6() &&
        local.addr.is_unspecified()) {
      // Dual stack: the same port on 0.0.0.0 (best effort: a taken port is left alone).
      libstack::TcpSocket v4 = st_.tcp_socket();
      v4.set_reuseaddr(reuseaddr_);
      if (v4.bind(Endpoint{IpAddr(Ipv4Addr{}), local.port}) == 0 && v4.listen(backlog) == 0) {
        v4_ = std::move(v4);
        if (cb_) hook(v4_);
      }
    } else if (v4_.valid()) {
      v4_.listen(backlog);
    }
    return 0;
  }
  std::unique_ptr<Far> accept(sockaddr_storage *peer, socklen_t *plen, int *err) override {
    if (host_) return host_->accept(peer, plen, err);
    libstack::TcpSocket out;
    Endpoint from;
    int rc = s_.accept(&out, &from);
    if (rc == -EAGAIN && v4_.valid()) rc = v4_.accept(&out, &from);
    if (rc == -EAGAIN && !published_.empty()) {
      std::unique_ptr<Far> c = std::move(published_.front());
      published_.pop_front();
      c->name(true, peer, plen);
      return c;
    }
    if (rc < 0) {
      *err = -rc;
      return nullptr;
    }
    sockaddr_storage ss;
    socklen_t sl = from_endpoint(from, domain_, &ss);
    std::memcpy(peer, &ss, std::min<socklen_t>(sl, sizeof ss));
    *plen = sl;
    auto f = std::make_unique<TcpFar>(st_, domain_, protocol_, std::move(out), lingering_, prov_);
    f->nodelay_ = nodelay_;
    if (nodelay_) f->s_.set_nodelay(true);
    return f;
  }
  bool accept_pending() override {
    if (host_) return host_->accept_pending();
    return (s_.events() & libstack::kTcpReadable) ||
           (v4_.valid() && (v4_.events() & libstack::kTcpReadable)) || !published_.empty();
  }
  ssize_t recv(void *buf, size_t n) override {
    if (host_) return host_->recv(buf, n);
    return s_.recv(std::span<uint8_t>(static_cast<uint8_t *>(buf), n));
  }
  ssize_t send(const void *buf, size_t n) override {
    if (host_) return host_->send(buf, n);
    return s_.send(std::span<const uint8_t>(static_cast<const uint8_t *>(buf), n));
  }
  size_t send_room() override {
    if (host_) return host_->send_room();
    if (!(s_.events() & libstack::kTcpWritable)) return 0;
    size_t cap = sndbuf_ ? sndbuf_ : st_.tuning().tcp_sndbuf;
    size_t q = s_.send_queue();
    return q < cap ? cap - q : SIZE_MAX;  // writable but full by our count: unknown
  }
  ssize_t recvfrom(void *buf, size_t n, sockaddr_storage *, socklen_t *flen) override {
    *flen = 0;
    return recv(buf, n);
  }
  ssize_t sendmsg(const void *buf, size_t n, const sockaddr_storage *, socklen_t, const void *,
                  size_t, int) override {
    return send(buf, n);
  }
  int shutdown(int how) override {
    if (host_) return host_->shutdown(how);
    if (how < SHUT_RD || how > SHUT_RDWR) return -EINVAL;
    if (listening_) {
      // Linux: shutdown of a listener stops it (pending accepts fail).
      return 0;
    }
    int rc = s_.shutdown(how);
    return rc == -ENOTCONN && s_.state() == libstack::TcpState::Closed ? -ENOTCONN : rc;
  }
  int name(bool peer, sockaddr_storage *out, socklen_t *len) override {
    if (host_) return spliced_name(peer, out, len);
    if (peer) {
      auto st = s_.state();
      if (st == libstack::TcpState::Closed || st == libstack::TcpState::Listen ||
          st == libstack::TcpState::SynSent)
        return -ENOTCONN;
      *len = from_endpoint(s_.remote_endpoint(), domain_, out);
      return 0;
    }
    Endpoint l = s_.local_endpoint();
    if (!s_.valid()) l = bound_;
    *len = from_endpoint(l, domain_, out);
    return 0;
  }
  bool kernel_socket() const override { return host_ != nullptr; }
  bool bound() const override {
    return bound_.port != 0 || listening_ || connecting_ || s_.state() != libstack::TcpState::Closed;
  }
  int setopt(int level, int name, const void *val, socklen_t len) override {
    if (host_) return host_->setopt(level, name, val, len);
    int rc = set_here(level, name, val, len);
    // What a splice must give the host socket too (the raw setsockopt values).
    if (rc == 0 && splice_ && val) applied_.set(level, name, val, len);
    return rc;
  }
  int set_here(int level, int name, const void *val, socklen_t len) {
    int rc, v = 0;
    if (int e = foreign_level(level)) return e;
    if (level == SOL_SOCKET && name == SO_REUSEPORT) {
      // libstack has one reuse knob: SO_REUSEPORT binds like SO_REUSEADDR.
      if (get_int(val, len, &v)) return -EINVAL;
      opts_.set(level, name, val, len);
      reuseport_ = v != 0;
      return s_.set_reuseport(reuseport_);
    }
    if (common_set(level, name, val, len, &rc)) return rc;
    if (level == SOL_SOCKET) {
      switch (name) {
        case SO_REUSEADDR:
          if (get_int(val, len, &v)) return -EINVAL;
          reuseaddr_ = v != 0;
          if (v4_.valid()) v4_.set_reuseaddr(reuseaddr_);
          return s_.set_reuseaddr(reuseaddr_);
        case SO_KEEPALIVE:
          if (get_int(val, len, &v)) return -EINVAL;
          keepalive_ = v != 0;
          return s_.set_keepalive(keepalive_);
        case SO_SNDBUF:
        case SO_RCVBUF: {
          if (get_int(val, len, &v)) return -EINVAL;
          size_t bytes = size_t(std::clamp(v, 2304, 4 << 20)) * 2;  // Linux doubles it
          (name == SO_SNDBUF ? sndbuf_ : rcvbuf_) = bytes;
          // libstack fixes buffers at the handshake; Linux accepts the call anyway.
          if (name == SO_SNDBUF) s_.set_send_buffer(bytes);
          else s_.set_recv_buffer(bytes);
          return 0;
        }
        case SO_LINGER: {
          if (!val || len < sizeof(linger)) return -EINVAL;
          std::memcpy(&linger_, val, sizeof linger_);
          std::optional<libstack::Duration> d;
          if (linger_.l_onoff) d = std::chrono::seconds(linger_.l_linger);
          return s_.set_linger(d);
        }
      }
    }
    if (level == IPPROTO_TCP) {
      switch (name) {
        case TCP_NODELAY:
          if (get_int(val, len, &v)) return -EINVAL;
          nodelay_ = v != 0;
          return s_.set_nodelay(nodelay_);
        case TCP_KEEPIDLE:
        case TCP_KEEPINTVL:
        case TCP_KEEPCNT:
          if (get_int(val, len, &v) || v < 1 || v > 32767) return -EINVAL;
          (name == TCP_KEEPIDLE ? kidle_ : name == TCP_KEEPINTVL ? kintvl_ : kcnt_) = v;
          return s_.set_keepalive_params(std::chrono::seconds(kidle_),
                                         std::chrono::seconds(kintvl_), uint32_t(kcnt_));
        case TCP_CONGESTION: {
          std::string cc(static_cast<const char *>(val), strnlen(static_cast<const char *>(val), len));
          if (cc == "cubic") cc_ = libstack::CongestionControl::Cubic;
          else if (cc == "reno") cc_ = libstack::CongestionControl::NewReno;
          else return -ENOENT;
          return s_.set_congestion_control(cc_);
        }
      }
    }
    return -ENOPROTOOPT;
  }
  int getopt(int level, int name, void *val, socklen_t *len) override {
    if (host_) return host_->getopt(level, name, val, len);
    int rc;
    if (int e = foreign_level(level)) return e;
    if (level == SOL_SOCKET) {
      switch (name) {
        case SO_ERROR: return put_int(val, len, std::abs(s_.error()));
        case SO_ACCEPTCONN: return put_int(val, len, listening_ ? 1 : 0);
        case SO_REUSEADDR: return put_int(val, len, reuseaddr_);
        case SO_KEEPALIVE: return put_int(val, len, keepalive_);
        case SO_SNDBUF: return put_int(val, len, int(sndbuf_ ? sndbuf_ : st_.tuning().tcp_sndbuf));
        case SO_RCVBUF: return put_int(val, len, int(rcvbuf_ ? rcvbuf_ : st_.tuning().tcp_rcvbuf));
        case SO_LINGER: return put_bytes(val, len, &linger_, sizeof linger_);
      }
    }
    if (level == IPPROTO_TCP) {
      switch (name) {
        case TCP_NODELAY: return put_int(val, len, nodelay_);
        case TCP_KEEPIDLE: return put_int(val, len, kidle_);
        case TCP_KEEPINTVL: return put_int(val, len, kintvl_);
        case TCP_KEEPCNT: return put_int(val, len, kcnt_);
        case TCP_MAXSEG: {
          auto i = s_.info();
          return put_int(val, len, i.mss ? int(i.mss) : 536);
        }
        case TCP_CONGESTION: {
          const char *n = cc_ == libstack::CongestionControl::Cubic ? "cubic" : "reno";
          char buf[16] = {};
          std::strncpy(buf, n, sizeof buf - 1);
          return put_bytes(val, len, buf, sizeof buf);
        }
        case TCP_INFO: return put_info(val, len);
      }
    }
    if (common_get(level, name, val, len, &rc)) return rc;
    return -ENOPROTOOPT;
  }

 private:
  void hook(libstack::TcpSocket &s) {
    auto cb = cb_;
    s.set_callback([cb](uint32_t ev) { cb(ev); });
  }
  // connect() of a fresh socket: a destination the slirp link's NAT would take to a host
  // socket gets that host socket now (splice.cpp). 1: not spliced (the stack connects),
  // else the host connect's result.
  int try_splice(const Endpoint &ep) {
    if (!splice_ || listening_ || bound_.port || s_.state() != libstack::TcpState::Closed)
      return 1;
    auto to = splice_->target(ep);
    if (!to) return 1;
    int err = 0;
    std::unique_ptr<Far> h = splice_->open(domain_, &err);
    if (!h) return 1;  // no host socket to be had: the stack's own path still works
    applied_.for_each([&](int level, int name, const std::vector<char> &v) {
      h->setopt(level, name, v.data(), socklen_t(v.size()));
    });
    if (cb_ && h->start(cb_) < 0) return 1;
    splice_len_ = from_endpoint(*to, domain_, &splice_to_);
    peer_ = ep;
    s_.set_callback(nullptr);
    host_ = std::move(h);
    return host_->connect(splice_to_, splice_len_);
  }
  // Names of a spliced connection as the view has them: the view's source address for the
  // destination (with the host socket's port), and the destination the program named.
  int spliced_name(bool peer, sockaddr_storage *out, socklen_t *len) {
    sockaddr_storage hs;
    socklen_t hl = sizeof hs;
    int rc = host_->name(peer, &hs, &hl);
    if (rc < 0) return rc;
    if (peer) {
      *len = from_endpoint(peer_, domain_, out);
      return 0;
    }
    Endpoint l{st_.source_for(peer_.addr), 0};
    if (hs.ss_family == AF_INET)
      l.port = ntohs(reinterpret_cast<const sockaddr_in &>(hs).sin_port);
    else if (hs.ss_family == AF_INET6)
      l.port = ntohs(reinterpret_cast<const sockaddr_in6 &>(hs).sin6_port);
    *len = from_endpoint(l, domain_, out);
    return 0;
  }
  // A fresh socket after a failed connect, like Linux lets a failed socket connect again.
  void renew() {
    failed_ = false;
    libstack::TcpSocket n = st_.tcp_socket();
    if (reuseaddr_) n.set_reuseaddr(true);
    if (reuseport_) n.set_reuseport(true);
    if (nodelay_) n.set_nodelay(true);
    if (keepalive_) n.set_keepalive(true);
    if (sndbuf_) n.set_send_buffer(sndbuf_);
    if (rcvbuf_) n.set_recv_buffer(rcvbuf_);
    if (bound_.port) n.bind(bound_);
    s_.set_callback(nullptr);
    s_ = std::move(n);
    if (cb_) hook(s_);
  }
  int put_info(void *val, socklen_t *len) {
    auto i = s_.info();
    tcp_info ti{};
    static const uint8_t kState[] = {7 /*CLOSE*/, 10 /*LISTEN*/, 2 /*SYN_SENT*/, 3 /*SYN_RECV*/,
                                     1, 4, 5, 8 /*CLOSE_WAIT*/, 11 /*CLOSING*/, 9 /*LAST_ACK*/,
                                     6 /*TIME_WAIT*/};
    ti.tcpi_state = kState[size_t(i.state) % sizeof kState];
    ti.tcpi_rto = uint32_t(i.rto.count() / 1000);
    ti.tcpi_snd_mss = i.mss;
    ti.tcpi_rcv_mss = i.mss;
    ti.tcpi_rtt = uint32_t(i.srtt.count() / 1000);
    ti.tcpi_rttvar = uint32_t(i.rttvar.count() / 1000);
    ti.tcpi_snd_cwnd = i.cwnd / (i.mss ? i.mss : 1);
    ti.tcpi_snd_ssthresh = i.ssthresh / (i.mss ? i.mss : 1);
    ti.tcpi_total_retrans = uint32_t(i.retransmits);
    ti.tcpi_snd_wscale = i.snd_wscale & 0xf;
    ti.tcpi_rcv_wscale = i.rcv_wscale & 0xf;
    ti.tcpi_options = (i.timestamps ? 1 : 0) | (i.sack ? 2 : 0) | (i.wscale ? 4 : 0);
    ti.tcpi_bytes_acked = i.bytes_acked;
    ti.tcpi_bytes_received = i.bytes_received;
    ti.tcpi_segs_out = uint32_t(i.segs_out);
    ti.tcpi_segs_in = uint32_t(i.segs_in);
    return put_bytes(val, len, &ti, sizeof ti);
  }

  libstack::TcpSocket s_;
  Lingering *lingering_;
  StackProvider *prov_;
  HostSplice *splice_;
  std::unique_ptr<Far> host_;  // spliced: everything is this host socket's
  sockaddr_storage splice_to_{};
  socklen_t splice_len_ = 0;
  Endpoint peer_{};
  Opts applied_;  // options set before a splice, for the host socket
  std::deque<std::unique_ptr<Far>> published_;  // --publish connections to accept
  libstack::TcpSocket v4_;  // dual-stack companion listener
  std::function<void(uint32_t)> cb_;
  Endpoint bound_{};
  bool connecting_ = false, failed_ = false, listening_ = false;
  bool reuseaddr_ = false, reuseport_ = false, nodelay_ = false, keepalive_ = false;
  size_t sndbuf_ = 0, rcvbuf_ = 0;
  linger linger_{};
  int kidle_ = 7200, kintvl_ = 75, kcnt_ = 9;
  libstack::CongestionControl cc_ = st_.tuning().tcp_congestion == "cubic"
                                        ? libstack::CongestionControl::Cubic
                                        : libstack::CongestionControl::NewReno;
};

// ---- datagrams (UDP and ping share everything but options) -------------------------------
template <typename S>
class DgramFar : public StackFarBase {
 public:
  DgramFar(libstack::Stack &st, int domain, int protocol, std::unique_ptr<S> s)
      : StackFarBase(st, domain, SOCK_DGRAM, protocol), s_(std::move(s)) {}
  ~DgramFar() override {
    if (s_) s_->set_callback(nullptr);
  }
  int start(std::function<void(uint32_t)> cb) override {
    s_->set_callback([cb](uint32_t ev) { cb(ev); });
    return 0;
  }
  int connect(const sockaddr_storage &to, socklen_t len) override {
    if constexpr (requires(S &x) { x.disconnect(); }) {
      if (to.ss_family == AF_UNSPEC) return s_->disconnect();
    }
    Endpoint ep;
    if (int e = endpoint_of(to, len, &ep)) return -e;
    unspecified_is_loopback(&ep);
    return s_->connect(ep);
  }
  // A destination: an AF_INET6 socket also takes an AF_INET address (Linux connects and
  // sends it as IPv4, unless IPV6_V6ONLY).
  int endpoint_of(const sockaddr_storage &to, socklen_t len, Endpoint *ep) const {
    if (domain_ == AF_INET6 && to.ss_family == AF_INET) {
      if (v6only_) return EAFNOSUPPORT;
      return to_endpoint(to, len, AF_INET, ep);
    }
    return to_endpoint(to, len, domain_, ep);
  }
  bool bound() const override { return s_->local_endpoint().port != 0; }
  int bind(const sockaddr_storage &a, socklen_t len) override {
    Endpoint ep;
    if (int e = to_endpoint(a, len, domain_, &ep)) return -e;
    return s_->bind(ep);
  }
  int listen(int) override { return -EOPNOTSUPP; }
  std::unique_ptr<Far> accept(sockaddr_storage *, socklen_t *, int *err) override {
    *err = EOPNOTSUPP;
    return nullptr;
  }
  bool accept_pending() override { return false; }
  ssize_t recv(void *buf, size_t n) override {
    return s_->recvfrom(std::span<uint8_t>(static_cast<uint8_t *>(buf), n));
  }
  ssize_t send(const void *buf, size_t n) override {
    return s_->sendto(std::span<const uint8_t>(static_cast<const uint8_t *>(buf), n));
  }
  ssize_t recvfrom(void *buf, size_t n, sockaddr_storage *from, socklen_t *flen) override {
    Endpoint ep;
    ssize_t r = s_->recvfrom(std::span<uint8_t>(static_cast<uint8_t *>(buf), n), &ep);
    if (r >= 0) *flen = from_endpoint(ep, domain_, from);
    return r;
  }
  ssize_t sendmsg(const void *buf, size_t n, const sockaddr_storage *to, socklen_t tolen,
                  const void *, size_t, int flags) override {
    if ((flags & MSG_OOB) && domain_ == AF_INET) return -EOPNOTSUPP;  // (UDPv6 ignores it)
    std::optional<Endpoint> dst;
    if (to) {
      // udp_sendmsg / udpv6_sendmsg: the length for the family first; an AF_INET6 socket
      // sends an AF_INET address as IPv4 (not with IPV6_V6ONLY) and refuses other families.
      Endpoint ep;
      int fam = to->ss_family, e = 0;
      if (domain_ == AF_INET6) {
        if (tolen < sizeof(sa_family_t)) return -EINVAL;
        if (fam == AF_INET && v6only_) return -ENETUNREACH;
        if (fam == AF_INET) e = to_endpoint(*to, tolen, AF_INET, &ep);
        else if (fam == AF_INET6) e = to_endpoint(*to, tolen, AF_INET6, &ep);
        else if (fam != AF_UNSPEC) return -EINVAL;
      } else {
        if (tolen < sizeof(sockaddr_in)) return -EINVAL;
        if (fam != AF_INET && fam != AF_UNSPEC) return -EAFNOSUPPORT;
        if (fam == AF_INET) e = to_endpoint(*to, tolen, AF_INET, &ep);
      }
      if (e) return -e;
      if (fam != AF_UNSPEC) {
        unspecified_is_loopback(&ep);
        dst = ep;
      }
    }
    return s_->sendto(std::span<const uint8_t>(static_cast<const uint8_t *>(buf), n), dst);
  }

 protected:
  void apply_ttl(int v) override { s_->set_ttl(v); }
  std::unique_ptr<S> s_;
};

// ---- UDP -----------------------------------------------------------------------------------
// DNS across families: a query to one of the host's name servers (of the socket's own
// family) that only a view server of the other family can answer is sent from a
// companion socket of that family; its answers are read as if they came from the
// server the program addressed. A connect() to such a server is kept here (the socket
// itself only gets a local port), so send()/recv() on the connected socket work too.
class UdpFar final : public DgramFar<libstack::UdpSocket> {
 public:
  UdpFar(libstack::Stack &st, int domain, int protocol, const DnsRedirect *dns)
      : DgramFar(st, domain, protocol, st.udp_socket(fam(domain))), dns_(dns) {}
  ~UdpFar() override {
    if (x_) x_->set_callback(nullptr);
  }
  int start(std::function<void(uint32_t)> cb) override {
    cb_ = cb;
    return DgramFar::start(std::move(cb));
  }
  int connect(const sockaddr_storage &to, socklen_t len) override {
    Endpoint ep;
    auto srv = cross(to, len, &ep);
    if (!srv) {
      x_connected_ = false;
      return DgramFar::connect(to, len);
    }
    if (!bound()) {
      Endpoint any{domain_ == AF_INET ? IpAddr(Ipv4Addr{}) : IpAddr(Ipv6Addr{}), 0};
      if (int rc = s_->bind(any); rc < 0) return rc;
    }
    x_connected_ = true;
    x_shown_ = ep;
    x_server_ = Endpoint{*srv, 53};
    return companion() ? 0 : -ENOMEM;
  }
  ssize_t send(const void *buf, size_t n) override {
    if (!x_connected_) return DgramFar::send(buf, n);
    return x_->sendto(std::span<const uint8_t>(static_cast<const uint8_t *>(buf), n), x_server_);
  }
  ssize_t sendmsg(const void *buf, size_t n, const sockaddr_storage *to, socklen_t tolen,
                  const void *ctl, size_t ctllen, int flags) override {
    Endpoint ep;
    auto srv = to ? cross(*to, tolen, &ep) : std::nullopt;
    if (!srv && !(x_connected_ && !to)) return DgramFar::sendmsg(buf, n, to, tolen, ctl, ctllen, flags);
    if (srv) {
      x_shown_ = ep;
      x_server_ = Endpoint{*srv, 53};
    }
    if (!companion()) return -ENOMEM;
    return x_->sendto(std::span<const uint8_t>(static_cast<const uint8_t *>(buf), n), x_server_);
  }
  ssize_t recv(void *buf, size_t n) override {
    sockaddr_storage from;
    socklen_t fl;
    return recvfrom(buf, n, &from, &fl);
  }
  ssize_t recvfrom(void *buf, size_t n, sockaddr_storage *from, socklen_t *flen) override {
    ssize_t r = DgramFar::recvfrom(buf, n, from, flen);
    if (r != -EAGAIN || !x_) return r;
    Endpoint ep;
    r = x_->recvfrom(std::span<uint8_t>(static_cast<uint8_t *>(buf), n), &ep);
    if (r < 0) return r;
    if (!(ep == x_server_)) return -EAGAIN;  // not the server's: dropped, as a connected socket would
    *flen = from_endpoint(x_shown_, domain_, from);
    return r;
  }
  int shutdown(int how) override {
    if (how < SHUT_RD || how > SHUT_RDWR) return -EINVAL;
    return s_->peer_endpoint() || x_connected_ ? 0 : -ENOTCONN;
  }
  int name(bool peer, sockaddr_storage *out, socklen_t *len) override {
    if (peer) {
      if (x_connected_) {
        *len = from_endpoint(x_shown_, domain_, out);
        return 0;
      }
      auto p = s_->peer_endpoint();
      if (!p) return -ENOTCONN;
      *len = from_endpoint(*p, domain_, out);
      return 0;
    }
    *len = from_endpoint(s_->local_endpoint(), domain_, out);
    return 0;
  }
  int setopt(int level, int name, const void *val, socklen_t len) override {
    int rc, v = 0;
    if (int e = foreign_level(level)) return e;
    if (level == SOL_SOCKET) {
      switch (name) {
        case SO_REUSEADDR:
        case SO_REUSEPORT:
        case SO_BROADCAST:
          if (get_int(val, len, &v)) return -EINVAL;
          if (name == SO_REUSEADDR) s_->set_reuse_addr(v), reuseaddr_ = v != 0;
          if (name == SO_REUSEPORT) s_->set_reuse_port(v), reuseport_ = v != 0;
          if (name == SO_BROADCAST) s_->set_broadcast(v), broadcast_ = v != 0;
          return 0;
        case SO_RCVBUF:
        case SO_SNDBUF:
          if (get_int(val, len, &v)) return -EINVAL;
          v = std::clamp(v, 1152, 4 << 20) * 2;
          if (name == SO_RCVBUF) s_->set_rcvbuf(size_t(v)), rcvbuf_ = v;
          else sndbuf_ = v;
          return 0;
        case SO_LINGER:  // kept: a datagram socket has nothing to linger for
          opts_.set(level, name, val, std::min<socklen_t>(len, sizeof(linger)));
          return 0;
        case SO_BINDTODEVICE: {
          char ifn[IFNAMSIZ + 1] = {};
          if (val && len) std::memcpy(ifn, val, std::min<size_t>(len, IFNAMSIZ));
          if (!ifn[0]) return s_->bind_to_device(0);
          for (auto &i : st_.interfaces())
            if (i.name == ifn) return s_->bind_to_device(i.id);
          return -ENODEV;
        }
      }
    }
    if (level == IPPROTO_IP || level == IPPROTO_IPV6) {
      if ((level == IPPROTO_IP && name == IP_MULTICAST_TTL) ||
          (level == IPPROTO_IPV6 && name == IPV6_MULTICAST_HOPS)) {
        if (len >= sizeof(int)) std::memcpy(&v, val, sizeof v);
        else if (len == 1) v = *static_cast<const uint8_t *>(val);
        else return -EINVAL;
        s_->set_multicast_ttl(v);
        return 0;
      }
      if ((level == IPPROTO_IP && name == IP_MULTICAST_LOOP) ||
          (level == IPPROTO_IPV6 && name == IPV6_MULTICAST_LOOP)) {
        if (len >= sizeof(int)) std::memcpy(&v, val, sizeof v);
        else if (len == 1) v = *static_cast<const uint8_t *>(val);
        else return -EINVAL;
        s_->set_multicast_loop(v != 0);
        return 0;
      }
      if (level == IPPROTO_IP && (name == IP_ADD_MEMBERSHIP || name == IP_DROP_MEMBERSHIP)) {
        if (len < sizeof(ip_mreq)) return -EINVAL;
        ip_mreqn m{};
        std::memcpy(&m, val, std::min<size_t>(len, sizeof m));
        Ipv4Addr g;
        std::memcpy(g.b.data(), &m.imr_multiaddr, 4);
        uint32_t ifindex = len >= sizeof(ip_mreqn) ? uint32_t(m.imr_ifindex) : 0;
        return name == IP_ADD_MEMBERSHIP ? s_->join_group(IpAddr(g), ifindex)
                                         : s_->leave_group(IpAddr(g), ifindex);
      }
      if (level == IPPROTO_IPV6 && (name == IPV6_JOIN_GROUP || name == IPV6_LEAVE_GROUP)) {
        if (len < sizeof(ipv6_mreq)) return -EINVAL;
        ipv6_mreq m;
        std::memcpy(&m, val, sizeof m);
        Ipv6Addr g;
        std::memcpy(g.b.data(), &m.ipv6mr_multiaddr, 16);
        return name == IPV6_JOIN_GROUP ? s_->join_group(IpAddr(g), m.ipv6mr_interface)
                                       : s_->leave_group(IpAddr(g), m.ipv6mr_interface);
      }
      if ((level == IPPROTO_IP && name == IP_MULTICAST_IF) ||
          (level == IPPROTO_IPV6 && name == IPV6_MULTICAST_IF)) {
        opts_.set(level, name, val, len);
        if (level == IPPROTO_IPV6 && len >= sizeof(int)) {
          std::memcpy(&v, val, sizeof v);
          return s_->set_multicast_interface(uint32_t(v));
        }
        if (level == IPPROTO_IP && len >= sizeof(ip_mreqn)) {
          ip_mreqn m;
          std::memcpy(&m, val, sizeof m);
          return s_->set_multicast_interface(uint32_t(m.imr_ifindex));
        }
        return 0;
      }
    }
    if (common_set(level, name, val, len, &rc)) return rc;
    return -ENOPROTOOPT;
  }
  int getopt(int level, int name, void *val, socklen_t *len) override {
    int rc;
    if (int e = foreign_level(level)) return e;
    if (level == SOL_SOCKET) {
      switch (name) {
        case SO_ERROR: return put_int(val, len, std::abs(s_->take_error()));
        case SO_ACCEPTCONN: return put_int(val, len, 0);
        case SO_REUSEADDR: return put_int(val, len, reuseaddr_);
        case SO_REUSEPORT: return put_int(val, len, reuseport_);
        case SO_BROADCAST: return put_int(val, len, broadcast_);
        case SO_RCVBUF: return put_int(val, len, rcvbuf_ ? rcvbuf_ : int(st_.tuning().udp_rcvbuf));
        case SO_SNDBUF: return put_int(val, len, sndbuf_ ? sndbuf_ : int(st_.tuning().udp_sndbuf));
        case SO_LINGER:
          if (!opts_.get(level, name, val, len)) {
            linger off{};
            put_bytes(val, len, &off, sizeof off);
          }
          return 0;
      }
    }
    if (common_get(level, name, val, len, &rc)) return rc;
    return -ENOPROTOOPT;
  }

 private:
  // The view's server for a query to a host name server that only the other family can
  // answer (and *ep the address the program used), or nothing.
  std::optional<IpAddr> cross(const sockaddr_storage &to, socklen_t len, Endpoint *ep) const {
    if (!dns_ || to.ss_family != domain_ || endpoint_of(to, len, ep)) return std::nullopt;
    return dns_->other_family(*ep);
  }
  bool companion() {
    if (x_) return true;
    x_ = st_.udp_socket(x_server_.addr.is_v4() ? IpAddr::Family::V4 : IpAddr::Family::V6);
    if (!x_) return false;
    if (cb_) x_->set_callback([cb = cb_](uint32_t ev) { cb(ev); });
    return true;
  }
  const DnsRedirect *dns_;
  std::function<void(uint32_t)> cb_;
  std::unique_ptr<libstack::UdpSocket> x_;  // companion of the other family (DNS only)
  Endpoint x_server_{}, x_shown_{};
  bool x_connected_ = false;
  bool reuseaddr_ = false, reuseport_ = false, broadcast_ = false;
  int rcvbuf_ = 0, sndbuf_ = 0;
};

// ---- ping ----------------------------------------------------------------------------------
class PingFar final : public DgramFar<libstack::IcmpSocket> {
 public:
  PingFar(libstack::Stack &st, int domain, int protocol)
      : DgramFar(st, domain, protocol, st.icmp_socket(fam(domain))) {}
  int shutdown(int) override { return -ENOTCONN; }
  int name(bool peer, sockaddr_storage *out, socklen_t *len) override {
    if (peer) return -ENOTCONN;
    *len = from_endpoint(s_->local_endpoint(), domain_, out);
    return 0;
  }
  int setopt(int level, int name, const void *val, socklen_t len) override {
    int rc;
    if (level == SOL_IP && name == IP_RECVERR) return 0;
    if (common_set(level, name, val, len, &rc)) return rc;
    if (level == SOL_SOCKET || level == IPPROTO_ICMP || level == IPPROTO_ICMPV6 ||
        level == SOL_IP || level == SOL_IPV6) {
      opts_.set(level, name, val, len);  // ICMP filters, SO_TIMESTAMP, ...: accepted
      return 0;
    }
    return -ENOPROTOOPT;
  }
  int getopt(int level, int name, void *val, socklen_t *len) override {
    int rc;
    if (level == SOL_SOCKET && name == SO_ERROR) return put_int(val, len, 0);
    if (common_get(level, name, val, len, &rc)) return rc;
    return -ENOPROTOOPT;
  }
};

}  // namespace

std::unique_ptr<Far> StackProvider::create(int domain, int type, int protocol, int *err) {
  if (domain != AF_INET && domain != AF_INET6) {
    *err = EAFNOSUPPORT;
    return nullptr;
  }
  int t = type & 0xf;
  if (type & ~(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC) || protocol < 0 || protocol >= IPPROTO_MAX) {
    *err = EINVAL;
    return nullptr;
  }
  if (t == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP)) {
    libstack::TcpSocket s = st_.tcp_socket();
    if (!s.valid()) {
      *err = EPROTONOSUPPORT;
      return nullptr;
    }
    return std::make_unique<TcpFar>(st_, domain, protocol, std::move(s), linger_, this, splice_);
  }
  if (t == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP))
    return std::make_unique<UdpFar>(st_, domain, protocol, dns_);
  if (t == SOCK_DGRAM && ((domain == AF_INET && protocol == IPPROTO_ICMP) ||
                          (domain == AF_INET6 && protocol == IPPROTO_ICMPV6)))
    return std::make_unique<PingFar>(st_, domain, protocol);
  if (t == SOCK_RAW) {
    *err = EPERM;  // like an unprivileged process: ping falls back to ping sockets
    return nullptr;
  }
  *err = (t == SOCK_STREAM || t == SOCK_DGRAM || t == SOCK_SEQPACKET) ? EPROTONOSUPPORT
                                                                      : ESOCKTNOSUPPORT;
  return nullptr;
}

void StackProvider::map_dest(sockaddr_storage *ss, socklen_t len) {
  if (dns_) dns_->map_dest(ss, len, ss->ss_family);
  if (hint_) {
    Endpoint ep;
    if (to_endpoint(*ss, len, ss->ss_family, &ep) == 0 && !ep.addr.is_unspecified() &&
        !st_.is_local_address(ep.addr) && st_.source_for(ep.addr).is_unspecified()) {
      hint_("no route to " + ep.addr.to_string() +
            " in this view: its network has no link (--net none)");
      hint_ = nullptr;
    }
  }
}

Lingering::~Lingering() {
  if (!socks_.empty()) hold_(-int(socks_.size()));
}

void Lingering::add(libstack::TcpSocket s) {
  if (socks_.size() >= 1024) return;  // s closes here (its data is still sent if polled)
  socks_.push_back(std::move(s));
  hold_(+1);
}

void Lingering::reap() {
  size_t before = socks_.size();
  std::erase_if(socks_, [](libstack::TcpSocket &s) {
    auto st = s.state();
    return s.send_queue() == 0 || st == libstack::TcpState::Closed ||
           st == libstack::TcpState::TimeWait;
  });
  if (socks_.size() != before) hold_(-int(before - socks_.size()));
}

void StackProvider::map_name(sockaddr_storage *ss, socklen_t len, bool peer, uint32_t) {
  if (dns_ && peer) dns_->map_source(ss, len, ss->ss_family);
}

void StackProvider::listening(PublishTarget *t, bool on) {
  std::erase(listeners_, t);
  if (on) listeners_.push_back(t);
}

PublishTarget *StackProvider::listener_for(uint16_t port, bool v4) const {
  for (PublishTarget *t : listeners_)
    if (t->takes(port, v4)) return t;
  return nullptr;
}

}  // namespace umnet
