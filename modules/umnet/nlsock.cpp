// Netlink sockets of a view (NETLINK_ROUTE) and interface ioctls, answered from a
// libstack::Stack through umnet::NetlinkRoute / umnet::IfIoctl (modules/umnet/netlink/).
//
// Theory of operation
// -------------------
// socket(AF_NETLINK, SOCK_RAW|SOCK_DGRAM, NETLINK_ROUTE) makes an AF_UNIX SOCK_SEQPACKET
// pair: one end ("tracee end") is injected as the socket (SOCK_CLOEXEC / SOCK_NONBLOCK
// applied), the other ("sup") stays here, non-blocking, under an edge-triggered watch.
// SEQPACKET keeps datagram boundaries like netlink, reports the peer's close (HUP) unlike
// a DGRAM pair, and its recv honours MSG_PEEK, MSG_TRUNC (the real length of a longer
// datagram) and MSG_DONTWAIT exactly as netlink does, so untrapped reads need nothing.
// The socket's identity is the sockfs inode of the tracee end (survives dup/fork/exec/
// SCM_RIGHTS); owns() is a hash lookup.
//
// Requests: the kernel answers rtnetlink requests synchronously inside sendmsg, so a
// trapped sendto/sendmsg (with or without an address) is processed right here: bytes are
// copied out of the tracee, handed to NetlinkRoute::handle(bytes, nl_pid) and every reply
// datagram is written into sup before the call returns; a MSG_DONTWAIT recv that follows
// finds them. Untrapped send()/write() (sendto without an address never reaches the
// supervisor) put the request into the pair; the sup watch reads it (EPOLLIN) and answers
// the same way, and every trapped call on the socket first drains such requests, so
// order is kept. Replies that do not fit into the pair wait in a per-socket backlog
// (flushed on EPOLLOUT and after each trapped recv). Like the kernel, which never blocks
// a netlink sender on the receive side, requests are always read; replies beyond
// kMaxBacklog are dropped and the next recv fails with ENOBUFS (a receive queue overrun).
//
// Receiving with an address (recvfrom/recvmsg with msg_name: glibc and iproute2 always
// pass one and check it) is trapped and answered from a transient supervisor duplicate of
// the tracee end: recvmsg on the duplicate with the caller's MSG_PEEK/MSG_TRUNC, data
// scattered into the caller's iovecs, the sender reported as {AF_NETLINK, nl_pid 0,
// groups 0} with msg_namelen = sizeof(sockaddr_nl), msg_flags MSG_TRUNC when cut.
// Blocking receives wait on the duplicate (wait_fd: cancelled by a signal, bounded by the
// tracee end's SO_RCVTIMEO); after a wake-up the call is re-validated before a datagram
// is consumed, because the supervisor notices cancellations only by polling and a stale
// waiter would otherwise steal the reply meant for the restarted or next call. Without
// an address the kernel reads the pair natively.
//
// Addresses: bind with nl_pid 0 autobinds (the caller's tgid if free, then unique
// negative values from -4097 down, as the kernel does); an explicit nl_pid must be free
// among this object's sockets (EADDRINUSE); a bound socket may only re-bind its own pid.
// send and connect autobind an unbound socket. getsockname reports {AF_NETLINK, pid,
// bound groups}; connect(AF_UNSPEC) disconnects; sending to a user pid (nl_pid != 0) is
// ECONNREFUSED (no user-to-user netlink inside a view; an untrapped send() on a socket
// connected to a user pid is dropped, as nobody could receive it).
// Options: SOL_SOCKET setsockopt goes to the tracee end unchanged (buffer sizes,
// timeouts, filters apply to the pair); getsockopt SO_TYPE/SO_DOMAIN/SO_PROTOCOL are
// answered here, other SOL_SOCKET ones by the pair. SOL_NETLINK options are recorded
// (memberships, EXT_ACK, GET_STRICT_CHK, ...) and read back; CAP_ACK trims error echoes
// to the request header, PKTINFO adds its cmsg (group 0) to trapped recvmsg; multicast
// notifications are never sent (no Stack change callback). shutdown/listen/accept are EOPNOTSUPP as on netlink.
// Close: HUP on sup means every copy of the tracee end is gone; it is confirmed with a
// NETLINK_SOCK_DIAG lookup (TraceeFds::alive) and re-checked by a timer if still alive.
//
// Interface ioctls (any fd that is a socket; glibc's if_nametoindex uses an AF_UNIX one):
// struct ifreq / struct ifconf are copied in, answered by IfIoctl, and copied back for
// the SIOCG* requests. Requests that act on the fd itself (FIOSETOWN..SIOCGSTAMPNS
// below 0x8910, SIOCOUTQNSD) run in the kernel; route and ARP ioctls (SIOCADDRT, SIOCDELRT, SIOC*ARP)
// and other device requests are refused (EOPNOTSUPP) so that no host interface state is
// read or changed from inside a view.
#include "nlsock.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <unordered_map>
#include <vector>

#include "umnet/if_ioctl.h"
#include "umnet/netlink_route.h"

namespace umnet {
namespace {

constexpr size_t kMaxRequest = 1u << 20;  // a larger request datagram is EMSGSIZE
constexpr size_t kMaxRecv = 1u << 20;     // bytes copied out per recv at most
constexpr size_t kMaxBacklog = 8u << 20;  // reply bytes kept in user space per socket
constexpr size_t kMaxIov = 1024;          // UIO_MAXIOV
constexpr uint64_t kRecheckNs = 500'000'000ull;
constexpr int kSupSndBuf = 1 << 20;
constexpr uint32_t kWatchIn = EPOLLIN | EPOLLRDHUP;
constexpr unsigned kGroups = RTNLGRP_MAX;  // multicast groups of NETLINK_ROUTE
static_assert(kGroups <= 64, "memberships are kept in 64 bits");

bool is_set_request(unsigned long req) {
  switch (req) {
    case SIOCSIFFLAGS: case SIOCSIFADDR: case SIOCSIFDSTADDR: case SIOCSIFBRDADDR:
    case SIOCSIFNETMASK: case SIOCSIFMTU: case SIOCSIFHWADDR: case SIOCSIFNAME:
    case SIOCSIFTXQLEN: case SIOCSIFMETRIC: case SIOCSIFMAP: case SIOCSIFPFLAGS:
      return true;
    default:
      return false;
  }
}

}  // namespace

struct NetlinkSockets::Impl {
  struct Sock {
    Impl *im = nullptr;
    uint64_t ident = 0;
    int sup = -1;
    int type = SOCK_RAW;
    NetlinkRoute nl;
    bool bound = false;
    uint32_t portid = 0;
    uint64_t groups = 0;      // subscriptions (bind's nl_groups and ADD_MEMBERSHIP)
    uint32_t dst_pid = 0;     // connect()
    uint32_t dst_group = 0;
    uint32_t opts = 0;        // 1 << NETLINK_* boolean option
    int32_t owner_tgid = 0;   // creator: autobind for requests written to the pair
    std::deque<std::vector<uint8_t>> backlog;
    size_t backlog_bytes = 0;
    int pending_err = 0;
    long timer = 0;
    bool dead = false;
    explicit Sock(libstack::Stack &st) : nl(st) {}
  };
  using SPtr = std::shared_ptr<Sock>;

  const tn_host *h;
  void *hv;
  tn::TraceeFds &fds;
  std::unordered_map<uint64_t, SPtr> socks;    // by tracee end inode
  std::unordered_map<uint32_t, Sock *> ports;  // bound nl_pids
  int32_t rover = -4096;

  Impl(const tn_host *host, tn::TraceeFds &f) : h(host), hv(host->hv), fds(f) {}
  ~Impl() {
    for (auto &kv : socks) release(*kv.second);
    socks.clear();
  }

  void reply(const tn_call *c, int64_t v, int err) { h->reply(hv, c, v, err); }
  int rd(const tn_call *c, uint64_t a, void *b, size_t n) {
    return n ? h->read_mem(hv, c, a, b, n) : 0;
  }
  int wr(const tn_call *c, uint64_t a, const void *b, size_t n) {
    return n ? h->write_mem(hv, c, a, b, n) : 0;
  }

  SPtr find(uint64_t ident) {
    auto it = socks.find(ident);
    return it == socks.end() || it->second->dead ? nullptr : it->second;
  }

  // ---- life cycle ---------------------------------------------------------------------
  void release(Sock &s) {
    if (s.dead) return;
    s.dead = true;
    if (s.timer > 0) h->cancel_timer(hv, s.timer);
    s.timer = 0;
    if (s.sup >= 0) {
      h->unwatch_fd(hv, s.sup);
      close(s.sup);
      s.sup = -1;
    }
    if (s.bound) {
      auto it = ports.find(s.portid);
      if (it != ports.end() && it->second == &s) ports.erase(it);
    }
    s.backlog.clear();
    s.backlog_bytes = 0;
  }
  void destroy(Sock &s) {
    uint64_t id = s.ident;
    release(s);
    auto it = socks.find(id);
    if (it != socks.end() && it->second.get() == &s) socks.erase(it);
  }
  static void watch_cb(void *arg, int, uint32_t ev) {
    auto *s = static_cast<Sock *>(arg);
    if (s->dead) return;
    Impl *im = s->im;
    SPtr keep = im->find(s->ident);
    if (!keep) return;
    if (ev & EPOLLOUT) im->flush(*s);
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) im->drain(*s, s->owner_tgid);
    if (ev & (EPOLLHUP | EPOLLERR)) im->closed_check(*s);
  }
  static void timer_cb(void *arg) {
    auto *s = static_cast<Sock *>(arg);
    s->timer = 0;
    if (!s->dead) s->im->closed_check(*s);
  }
  void closed_check(Sock &s) {
    if (s.dead) return;
    if (!fds.alive(s.ident)) {
      destroy(s);
      return;
    }
    if (s.timer <= 0) s.timer = h->add_timer(hv, h->now_ns(hv) + kRecheckNs, &Impl::timer_cb, &s);
  }

  // ---- addresses ----------------------------------------------------------------------
  // The process id as the process itself sees it (the tracee may live in a pid
  // namespace; the kernel autobinds to task_tgid_vnr): the last NSpid field.
  static int32_t own_pid(int32_t tgid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", int(tgid));
    FILE *f = fopen(path, "re");
    if (!f) return tgid;
    int32_t v = tgid;
    while (fgets(line, sizeof line, f)) {
      if (strncmp(line, "NSpid:", 6) != 0) continue;
      char *save = nullptr;
      for (char *t = strtok_r(line + 6, " \t\n", &save); t; t = strtok_r(nullptr, " \t\n", &save))
        v = int32_t(strtol(t, nullptr, 10));
      break;
    }
    fclose(f);
    return v > 0 ? v : tgid;
  }
  void autobind(Sock &s, int32_t tgid) {
    if (s.bound) return;
    if (tgid > 0) tgid = own_pid(tgid);
    uint32_t cand = uint32_t(tgid);
    if (tgid <= 0 || ports.count(cand)) {
      for (int i = 0; i < (1 << 20); ++i) {
        cand = uint32_t(rover);
        rover = rover <= INT32_MIN + 1 ? -4097 : rover - 1;
        if (!ports.count(cand)) break;
      }
    }
    s.portid = cand;
    s.bound = true;
    ports[cand] = &s;
  }

  // ---- replies into the pair ----------------------------------------------------------
  void queue(Sock &s, std::vector<uint8_t> d) {
    if (s.sup < 0) return;
    if (s.backlog.empty()) {
      ssize_t n = send(s.sup, d.data(), d.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0) return;
      if (errno != EAGAIN) return;  // the tracee end is gone
    }
    if (s.backlog_bytes + d.size() > kMaxBacklog) {
      s.pending_err = ENOBUFS;  // like a netlink receive queue overrun
      return;
    }
    if (s.backlog.empty()) set_out_watch(s, true);
    s.backlog_bytes += d.size();
    s.backlog.push_back(std::move(d));
  }
  // EPOLLOUT is watched only while replies wait (else every read of the tracee would
  // wake the supervisor).
  void set_out_watch(Sock &s, bool on) {
    if (s.sup >= 0) h->modify_watch(hv, s.sup, kWatchIn | (on ? uint32_t(EPOLLOUT) : 0u));
  }
  void flush(Sock &s) {
    while (!s.backlog.empty() && s.sup >= 0) {
      auto &d = s.backlog.front();
      ssize_t n = send(s.sup, d.data(), d.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && errno == EAGAIN) return;
      s.backlog_bytes -= d.size();
      s.backlog.pop_front();
      if (s.backlog.empty()) set_out_watch(s, false);
    }
  }
  void process(Sock &s, std::span<const uint8_t> req, int32_t tgid) {
    autobind(s, tgid);
    for (auto &d : s.nl.handle(req, s.portid)) {
      if (s.opts & (1u << NETLINK_CAP_ACK)) cap_errors(d);
      queue(s, std::move(d));
    }
  }
  // NETLINK_CAP_ACK: error messages carry only the request's header (NLM_F_CAPPED), not
  // its payload.
  static void cap_errors(std::vector<uint8_t> &d) {
    constexpr size_t kCapped = NLMSG_LENGTH(sizeof(nlmsgerr));
    std::vector<uint8_t> out;
    size_t off = 0;
    while (off + sizeof(nlmsghdr) <= d.size()) {
      nlmsghdr nh;
      std::memcpy(&nh, d.data() + off, sizeof nh);
      if (nh.nlmsg_len < sizeof nh || nh.nlmsg_len > d.size() - off) break;
      size_t take = nh.nlmsg_len, step = NLMSG_ALIGN(nh.nlmsg_len);
      if (nh.nlmsg_type == NLMSG_ERROR && nh.nlmsg_len > kCapped) {
        take = kCapped;
        nh.nlmsg_len = uint32_t(kCapped);
        nh.nlmsg_flags |= NLM_F_CAPPED;
      }
      size_t at = out.size();
      out.insert(out.end(), d.data() + off, d.data() + off + take);
      std::memcpy(out.data() + at, &nh, sizeof nh);
      out.resize(at + NLMSG_ALIGN(take), 0);
      off += step;
    }
    if (off < d.size()) out.insert(out.end(), d.data() + off, d.data() + d.size());
    d.swap(out);
  }
  // Requests the tracee wrote into the pair (untrapped send/write), answered in order.
  void drain(Sock &s, int32_t tgid) {
    std::vector<uint8_t> buf;
    for (int i = 0; i < 4096 && s.sup >= 0 && !s.dead; ++i) {
      ssize_t len = recv(s.sup, nullptr, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
      if (len < 0) return;
      if (len == 0) {
        // A zero-length datagram, or end of file (the peer is gone or shut down: recv
        // keeps returning 0). Consume one; stop when no more can come.
        char b;
        (void)!recv(s.sup, &b, 0, MSG_DONTWAIT);
        if (peer_gone(s.sup)) return;
        continue;
      }
      buf.resize(std::min(size_t(len), kMaxRequest));
      ssize_t n = recv(s.sup, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0) return;
      if (size_t(len) > kMaxRequest) continue;  // the kernel would refuse it: drop
      if (s.dst_pid) continue;  // connected to a user pid: nobody to deliver to
      process(s, std::span<const uint8_t>(buf.data(), size_t(n)), tgid);
    }
  }
  static bool peer_gone(int fd) {
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
  }

  // ---- socket() -------------------------------------------------------------------------
  void create(const tn_call *c, libstack::Stack &stack) {
    int type = int(c->args[1]);
    int base = type & 0xf;
    if (type & ~(0xf | SOCK_CLOEXEC | SOCK_NONBLOCK)) return reply(c, 0, EINVAL);
    if (base != SOCK_RAW && base != SOCK_DGRAM) return reply(c, 0, ESOCKTNOSUPPORT);
    if (c->args[2] != NETLINK_ROUTE) return reply(c, 0, EPROTONOSUPPORT);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return reply(c, 0, errno);
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    if (type & SOCK_NONBLOCK) fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
    int sb = kSupSndBuf;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);  // best effort (wmem_max)
    uint64_t ident = fds.ident_local(sv[1]);
    if (!ident) {
      close(sv[0]);
      close(sv[1]);
      return reply(c, 0, ENOMEM);
    }
    auto s = std::make_shared<Sock>(stack);
    s->im = this;
    s->ident = ident;
    s->sup = sv[0];
    s->type = base;
    s->owner_tgid = c->tgid;
    if (auto old = find(ident)) destroy(*old);  // an inode number reused after a close
    socks[ident] = s;
    if (h->watch_fd(hv, s->sup, kWatchIn, &Impl::watch_cb, s.get()) < 0) {
      int e = errno ? errno : ENOMEM;
      destroy(*s);
      close(sv[1]);
      return reply(c, 0, e);
    }
    int rc = h->inject_fd(hv, c, sv[1], -1,
                          TN_INJECT_SEND | ((type & SOCK_CLOEXEC) ? TN_INJECT_CLOEXEC : 0));
    close(sv[1]);
    if (rc < 0) {
      destroy(*s);
      if (rc != -ENOENT) reply(c, 0, -rc);
    }
  }

  // ---- bind / connect / names ---------------------------------------------------------
  int read_nl_addr(const tn_call *c, uint64_t addr, uint64_t alen, sockaddr_nl *a) {
    if (alen < sizeof(sockaddr_nl)) return EINVAL;
    if (rd(c, addr, a, sizeof *a) < 0) return EFAULT;
    if (a->nl_family != AF_NETLINK) return EINVAL;
    return 0;
  }
  void do_bind(const tn_call *c, Sock &s) {
    sockaddr_nl a{};
    if (int e = read_nl_addr(c, c->args[1], c->args[2], &a)) return reply(c, 0, e);
    if (s.bound && a.nl_pid != s.portid) return reply(c, 0, EINVAL);
    if (!s.bound) {
      if (a.nl_pid) {
        if (ports.count(a.nl_pid)) return reply(c, 0, EADDRINUSE);
        s.portid = a.nl_pid;
        s.bound = true;
        ports[a.nl_pid] = &s;
      } else {
        autobind(s, c->tgid);
      }
    }
    s.groups = (s.groups & ~0xffffffffull) | a.nl_groups;
    reply(c, 0, 0);
  }
  void do_connect(const tn_call *c, Sock &s) {
    sa_family_t fam = 0;
    if (c->args[2] < sizeof fam) return reply(c, 0, EINVAL);
    if (rd(c, c->args[1], &fam, sizeof fam) < 0) return reply(c, 0, EFAULT);
    if (fam == AF_UNSPEC) {
      s.dst_pid = 0;
      s.dst_group = 0;
      return reply(c, 0, 0);
    }
    sockaddr_nl a{};
    if (int e = read_nl_addr(c, c->args[1], c->args[2], &a)) return reply(c, 0, e);
    autobind(s, c->tgid);
    s.dst_pid = a.nl_pid;
    s.dst_group = uint32_t(ffs(int(a.nl_groups)));
    reply(c, 0, 0);
  }
  void do_name(const tn_call *c, Sock &s, bool peer) {
    sockaddr_nl a{};
    a.nl_family = AF_NETLINK;
    if (peer) {
      a.nl_pid = s.dst_pid;
      a.nl_groups = s.dst_group ? 1u << (s.dst_group - 1) : 0;
    } else {
      a.nl_pid = s.bound ? s.portid : 0;
      a.nl_groups = uint32_t(s.groups);
    }
    int len = 0;
    if (rd(c, c->args[2], &len, sizeof len) < 0) return reply(c, 0, EFAULT);
    if (len < 0) return reply(c, 0, EINVAL);
    int out = sizeof a;
    if (wr(c, c->args[1], &a, std::min<size_t>(size_t(len), sizeof a)) < 0 ||
        wr(c, c->args[2], &out, sizeof out) < 0)
      return reply(c, 0, EFAULT);
    reply(c, 0, 0);
  }

  // ---- data ---------------------------------------------------------------------------
  bool read_iov(const tn_call *c, const msghdr &mh, std::vector<iovec> *iov) {
    iov->resize(mh.msg_iovlen);
    return iov->empty() ||
           rd(c, uint64_t(uintptr_t(mh.msg_iov)), iov->data(), iov->size() * sizeof(iovec)) == 0;
  }
  void do_send(const tn_call *c, Sock &s, bool is_msg) {
    int flags;
    uint64_t name = 0, namelen = 0;
    std::vector<uint8_t> data;
    std::vector<iovec> iov;
    if (is_msg) {
      msghdr mh{};
      if (rd(c, c->args[1], &mh, sizeof mh) < 0) return reply(c, 0, EFAULT);
      flags = int(c->args[2]);
      if (mh.msg_iovlen > kMaxIov) return reply(c, 0, EMSGSIZE);
      if (!read_iov(c, mh, &iov)) return reply(c, 0, EFAULT);
      name = uint64_t(uintptr_t(mh.msg_name));
      namelen = name ? mh.msg_namelen : 0;
    } else {
      flags = int(c->args[3]);
      iov.push_back({reinterpret_cast<void *>(uintptr_t(c->args[1])), size_t(c->args[2])});
      name = c->args[4];
      namelen = name ? c->args[5] : 0;
    }
    if (flags & MSG_OOB) return reply(c, 0, EOPNOTSUPP);
    uint32_t dst = s.dst_pid;
    if (namelen) {
      sockaddr_nl a{};
      if (int e = read_nl_addr(c, name, namelen, &a)) return reply(c, 0, e);
      dst = a.nl_pid;
    }
    size_t total = 0;
    for (auto &x : iov) {
      if (x.iov_len > kMaxRequest || total + x.iov_len > kMaxRequest) return reply(c, 0, EMSGSIZE);
      total += x.iov_len;
    }
    data.resize(total);
    size_t off = 0;
    for (auto &x : iov) {
      if (rd(c, uint64_t(uintptr_t(x.iov_base)), data.data() + off, x.iov_len) < 0)
        return reply(c, 0, EFAULT);
      off += x.iov_len;
    }
    autobind(s, c->tgid);
    drain(s, c->tgid);  // earlier requests written into the pair come first
    if (dst != 0) return reply(c, 0, ECONNREFUSED);
    process(s, data, c->tgid);
    reply(c, int64_t(total), 0);
  }
  uint64_t rcv_deadline(int d) {
    timeval tv{};
    socklen_t l = sizeof tv;
    if (getsockopt(d, SOL_SOCKET, SO_RCVTIMEO, &tv, &l) < 0 || (!tv.tv_sec && !tv.tv_usec))
      return 0;
    return h->now_ns(hv) + uint64_t(tv.tv_sec) * 1'000'000'000ull + uint64_t(tv.tv_usec) * 1000ull;
  }
  void do_recv(const tn_call *c, const SPtr &sp, bool is_msg) {
    Sock &s = *sp;
    int fd = int(c->args[0]);
    msghdr mh{};
    std::vector<iovec> iov;
    int flags;
    uint64_t name = 0;
    int namecap = 0;
    if (is_msg) {
      if (rd(c, c->args[1], &mh, sizeof mh) < 0) return reply(c, 0, EFAULT);
      flags = int(c->args[2]);
      if (mh.msg_iovlen > kMaxIov) return reply(c, 0, EMSGSIZE);
      if (!read_iov(c, mh, &iov)) return reply(c, 0, EFAULT);
      name = uint64_t(uintptr_t(mh.msg_name));
      namecap = int(mh.msg_namelen);
    } else {
      flags = int(c->args[3]);
      iov.push_back({reinterpret_cast<void *>(uintptr_t(c->args[1])), size_t(c->args[2])});
      name = c->args[4];
      if (name) {
        if (!c->args[5]) return reply(c, 0, EFAULT);
        if (rd(c, c->args[5], &namecap, sizeof namecap) < 0) return reply(c, 0, EFAULT);
        if (namecap < 0) return reply(c, 0, EINVAL);
      }
    }
    if (flags & MSG_OOB) return reply(c, 0, EOPNOTSUPP);
    drain(s, c->tgid);
    if (s.pending_err && !(flags & MSG_PEEK)) {
      int e = s.pending_err;
      s.pending_err = 0;
      return reply(c, 0, e);
    }
    size_t want = 0;
    for (auto &x : iov) want = std::min(kMaxRecv, want + std::min(x.iov_len, kMaxRecv));
    int d = fds.dup_of(c, fd);
    if (d < 0) {
      if (d != -ENOENT) reply(c, 0, -d);
      return;
    }
    bool nonblock = (fcntl(d, F_GETFL) & O_NONBLOCK) || (flags & MSG_DONTWAIT);
    uint64_t dl = nonblock ? 0 : rcv_deadline(d);
    std::vector<uint8_t> buf(want);
    ssize_t n;
    int mflags = 0;
    for (;;) {
      iovec one{buf.data(), buf.size()};
      msghdr m{};
      m.msg_iov = &one;
      m.msg_iovlen = 1;
      n = recvmsg(d, &m, (flags & (MSG_PEEK | MSG_TRUNC)) | MSG_DONTWAIT);
      if (n >= 0) {
        mflags = m.msg_flags & MSG_TRUNC;
        break;
      }
      int e = errno;
      if (e != EAGAIN || nonblock) {
        close(d);
        return reply(c, 0, e);
      }
      int rc = h->wait_fd(hv, c, d, EPOLLIN, dl);
      if (rc == -TN_ECANCELED) {
        close(d);
        return;
      }
      if (rc == 0) {
        close(d);
        return reply(c, 0, EAGAIN);
      }
      if (s.dead) {
        close(d);
        return reply(c, 0, EBADF);
      }
      // Cancellation is polled by the supervisor: a call interrupted by a signal may
      // still be woken by the data's arrival. Never consume a datagram for a call that
      // is gone (the tracee would lose it).
      if (!h->call_valid(hv, c)) {
        close(d);
        return;
      }
    }
    close(d);
    // Data, then the kernel's address: nl_pid 0, no group.
    size_t got = std::min(size_t(n), buf.size());
    size_t off = 0;
    for (auto &x : iov) {
      if (off >= got) break;
      size_t k = std::min(x.iov_len, got - off);
      if (wr(c, uint64_t(uintptr_t(x.iov_base)), buf.data() + off, k) < 0) return reply(c, 0, EFAULT);
      off += k;
    }
    sockaddr_nl from{};
    from.nl_family = AF_NETLINK;
    if (name && namecap > 0 &&
        wr(c, name, &from, std::min<size_t>(size_t(namecap), sizeof from)) < 0)
      return reply(c, 0, EFAULT);
    if (is_msg) {
      if (name) mh.msg_namelen = sizeof from;
      size_t ctl = 0;
      if (s.opts & (1u << NETLINK_PKTINFO)) {  // the group a message came to: 0, unicast
        alignas(cmsghdr) uint8_t cm[CMSG_SPACE(sizeof(nl_pktinfo))] = {};
        auto *ch = reinterpret_cast<cmsghdr *>(cm);
        ch->cmsg_len = CMSG_LEN(sizeof(nl_pktinfo));
        ch->cmsg_level = SOL_NETLINK;
        ch->cmsg_type = NETLINK_PKTINFO;
        if (mh.msg_control && mh.msg_controllen >= sizeof cm) {
          if (wr(c, uint64_t(uintptr_t(mh.msg_control)), cm, sizeof cm) < 0)
            return reply(c, 0, EFAULT);
          ctl = sizeof cm;
        } else {
          mflags |= MSG_CTRUNC;
        }
      }
      mh.msg_controllen = ctl;
      mh.msg_flags = mflags;
      if (wr(c, c->args[1], &mh, sizeof mh) < 0) return reply(c, 0, EFAULT);
    } else if (name) {
      int out = sizeof from;
      if (wr(c, c->args[5], &out, sizeof out) < 0) return reply(c, 0, EFAULT);
    }
    if (!(flags & MSG_PEEK)) flush(s);
    reply(c, int64_t(n), 0);
  }

  // ---- options ------------------------------------------------------------------------
  static bool bool_opt(int name) {
    switch (name) {
      case NETLINK_PKTINFO: case NETLINK_BROADCAST_ERROR: case NETLINK_NO_ENOBUFS:
      case NETLINK_LISTEN_ALL_NSID: case NETLINK_CAP_ACK: case NETLINK_EXT_ACK:
      case NETLINK_GET_STRICT_CHK:
        return true;
      default:
        return false;
    }
  }
  void do_setsockopt(const tn_call *c, Sock &s) {
    int level = int(c->args[1]), name = int(c->args[2]);
    uint64_t optval = c->args[3];
    uint32_t optlen = uint32_t(c->args[4]);
    if (level == SOL_SOCKET) {
      h->reply_continue(hv, c);  // buffers, timeouts, filters: the pair's own
      return;
    }
    if (level != SOL_NETLINK) return reply(c, 0, ENOPROTOOPT);
    int val = 0;
    if (optlen >= sizeof(int) && rd(c, optval, &val, sizeof val) < 0) return reply(c, 0, EFAULT);
    if (name == NETLINK_ADD_MEMBERSHIP || name == NETLINK_DROP_MEMBERSHIP) {
      if (val <= 0 || unsigned(val) - 1 >= kGroups) return reply(c, 0, EINVAL);
      uint64_t bit = 1ull << (val - 1);
      if (name == NETLINK_ADD_MEMBERSHIP) s.groups |= bit;
      else s.groups &= ~bit;
      return reply(c, 0, 0);
    }
    if (!bool_opt(name)) return reply(c, 0, ENOPROTOOPT);
    if (val) s.opts |= 1u << name;
    else s.opts &= ~(1u << name);
    reply(c, 0, 0);
  }
  void do_getsockopt(const tn_call *c, Sock &s) {
    int level = int(c->args[1]), name = int(c->args[2]);
    uint64_t optval = c->args[3], optlenp = c->args[4];
    int len = 0;
    auto put_int = [&](int v, bool strict) {
      if (rd(c, optlenp, &len, sizeof len) < 0) return reply(c, 0, EFAULT);
      if (len < 0 || (strict && len < int(sizeof(int)))) return reply(c, 0, EINVAL);
      int n = std::min<int>(len, sizeof v);
      if (wr(c, optval, &v, size_t(n)) < 0 || wr(c, optlenp, &n, sizeof n) < 0)
        return reply(c, 0, EFAULT);
      reply(c, 0, 0);
    };
    if (level == SOL_SOCKET) {
      switch (name) {
        case SO_TYPE: return put_int(s.type, false);
        case SO_DOMAIN: return put_int(AF_NETLINK, false);
        case SO_PROTOCOL: return put_int(NETLINK_ROUTE, false);
        default: h->reply_continue(hv, c); return;
      }
    }
    if (level != SOL_NETLINK) return reply(c, 0, ENOPROTOOPT);
    if (name == NETLINK_LIST_MEMBERSHIPS) {
      if (rd(c, optlenp, &len, sizeof len) < 0) return reply(c, 0, EFAULT);
      if (len < 0) return reply(c, 0, EINVAL);
      int full = int(((kGroups + 31) / 32) * 4);
      for (int pos = 0; pos < full && len - pos >= int(sizeof(uint32_t)); pos += 4) {
        uint32_t w = uint32_t(s.groups >> (pos * 8));
        if (wr(c, optval + uint64_t(pos), &w, sizeof w) < 0) return reply(c, 0, EFAULT);
      }
      if (wr(c, optlenp, &full, sizeof full) < 0) return reply(c, 0, EFAULT);
      return reply(c, 0, 0);
    }
    if (!bool_opt(name)) return reply(c, 0, ENOPROTOOPT);
    put_int((s.opts >> name) & 1, true);
  }

  void handle(const tn_call *c, uint64_t ident) {
    SPtr s = find(ident);
    if (!s) {
      h->reply_continue(hv, c);  // closed meanwhile: whatever the kernel says
      return;
    }
    switch (c->nr) {
      case SYS_bind: do_bind(c, *s); break;
      case SYS_connect: do_connect(c, *s); break;
      case SYS_getsockname: do_name(c, *s, false); break;
      case SYS_getpeername: do_name(c, *s, true); break;
      case SYS_sendto: do_send(c, *s, false); break;
      case SYS_sendmsg: do_send(c, *s, true); break;
      case SYS_recvfrom: do_recv(c, s, false); break;
      case SYS_recvmsg: do_recv(c, s, true); break;
      case SYS_setsockopt: do_setsockopt(c, *s); break;
      case SYS_getsockopt: do_getsockopt(c, *s); break;
      case SYS_shutdown:
      case SYS_listen:
      case SYS_accept:
      case SYS_accept4:
        reply(c, 0, EOPNOTSUPP);
        break;
      default:
        h->reply_continue(hv, c);
        break;
    }
  }

  // ---- interface ioctls ---------------------------------------------------------------
  void if_ioctl(const tn_call *c, libstack::Stack &stack) {
    int fd = int(c->args[0]);
    unsigned long req = (unsigned long)(uint32_t(c->args[1]));
    uint64_t arg = c->args[2];
    if ((req < 0x8910 && req != SIOCADDRT && req != SIOCDELRT && req != SIOCRTMSG) ||
        req == SIOCOUTQNSD) {
      h->reply_continue(hv, c);  // FIOSETOWN .. SIOCGSTAMPNS, SIOCOUTQNSD: about the fd
      return;
    }
    int d = fds.dup_of(c, fd);
    if (d < 0) {
      if (d != -ENOENT) reply(c, 0, -d);
      return;
    }
    bool sock = fds.ident_local(d) != 0;
    close(d);
    if (!sock) {
      h->reply_continue(hv, c);  // a tty, a tun device...: not an interface request
      return;
    }
    IfIoctl io(stack);
    if (req == SIOCGIFCONF) {
      struct {
        int32_t len;
        int32_t pad;
        uint64_t buf;
      } ifc{};
      static_assert(sizeof(ifc) == sizeof(ifconf));
      if (rd(c, arg, &ifc, sizeof ifc) < 0) return reply(c, 0, EFAULT);
      if (!ifc.buf) {
        ifc.len = int32_t(io.ifconf_needed());
      } else {
        std::vector<uint8_t> b(size_t(std::clamp<int32_t>(ifc.len, 0, int32_t(kMaxRecv))));
        size_t n = io.ifconf(b);
        if (wr(c, ifc.buf, b.data(), n) < 0) return reply(c, 0, EFAULT);
        ifc.len = int32_t(n);
      }
      if (wr(c, arg, &ifc.len, sizeof ifc.len) < 0) return reply(c, 0, EFAULT);
      return reply(c, 0, 0);
    }
    ifreq ifr{};
    if (rd(c, arg, &ifr, sizeof ifr) < 0) return reply(c, 0, EFAULT);
    int rc;
    if (IfIoctl::is_interface_ioctl(req)) {
      rc = io.ifreq_ioctl(req, ifr);
    } else if (req == SIOCGIFMETRIC || req == SIOCGIFPFLAGS) {
      ifreq probe = ifr;  // the name must exist in the view
      rc = io.ifreq_ioctl(SIOCGIFINDEX, probe);
      if (rc == 0) {
        if (req == SIOCGIFMETRIC) ifr.ifr_metric = 0;
        else ifr.ifr_flags = 0;
      }
    } else {
      rc = -EOPNOTSUPP;  // routes, ARP, ethtool, MII, bridges...: not from inside a view
    }
    if (rc == 0 && !is_set_request(req) && wr(c, arg, &ifr, sizeof ifr) < 0)
      return reply(c, 0, EFAULT);
    reply(c, 0, rc < 0 ? -rc : 0);
  }
};

NetlinkSockets::NetlinkSockets(const tn_host *h, tn::TraceeFds &fds)
    : impl_(std::make_unique<Impl>(h, fds)) {}
NetlinkSockets::~NetlinkSockets() = default;
void NetlinkSockets::create(const tn_call *c, libstack::Stack &stack) { impl_->create(c, stack); }
bool NetlinkSockets::owns(uint64_t ident) const {
  auto it = impl_->socks.find(ident);
  return it != impl_->socks.end() && !it->second->dead;
}
void NetlinkSockets::handle(const tn_call *c, uint64_t ident) { impl_->handle(c, ident); }
void NetlinkSockets::if_ioctl(const tn_call *c, libstack::Stack &stack) {
  impl_->if_ioctl(c, stack);
}
void NetlinkSockets::on_exit(int32_t tgid) { (void)tgid; }  // no per-process state

}  // namespace umnet
