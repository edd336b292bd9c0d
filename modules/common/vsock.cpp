// vsock: the virtual-socket engine shared by the relay and umnet modules.
//
// Theory of operation
// -------------------
// socket() is trapped: the module's Provider creates the far socket (a host kernel socket,
// a libstack socket, ...; argument errors are the far side's own) and the engine makes an
// AF_UNIX pair and injects one end into the tracee (SOCK_STREAM for TCP, SOCK_SEQPACKET for
// datagrams: it keeps boundaries and still reports the peer's close). read/write/poll/
// epoll/close/dup/fork/exec/SCM_RIGHTS then run in the kernel on that end at native speed;
// the supervisor moves bytes between its end ("sup") and the far socket with backpressure:
// it stops reading one side while the other is full (at most one partial chunk is kept in
// user space per direction, allocated only while a destination is full).
//
// Far sides report readiness through a callback (edge style). A callback that arrives
// while the engine itself is inside a far call (libstack calls back synchronously) is
// posted and run when the outermost far call returns, so the engine is never re-entered.
//
// Identity: a virtual socket is the sockfs inode of the injected end (TraceeFds), which
// survives dup/fork/exec/SCM_RIGHTS. `choose` claims a call when its fd's identity is in
// the table and declines everything else cheaply. A virtual socket ends when the sup end
// reports HUP (every copy closed); because HUP also appears when both directions were shut
// down, the end is confirmed with a NETLINK_SOCK_DIAG lookup of the tracee end's inode;
// survivors become "zombies" re-checked by a slow sweep. The supervisor never keeps a
// duplicate of a tracee end beyond one handler (it would hide the close).
//
// Readiness is emulated on the injected end:
//  * listening socket: when the far listener has a pending connection one marker byte is
//    written into the pair, so the tracee's end polls readable; accept() is trapped, takes a
//    connection from the far side, injects a new connected pair end (accept4 flags applied)
//    and drains the marker once nothing more is pending. Blocking accept parks the handler.
//  * non-blocking connect: the tracee end must not be writable before the handshake ends,
//    so the supervisor fills the tracee end's send buffer with filler from a transient
//    duplicate; on success it discards exactly that filler (EPOLLOUT appears); on failure
//    it closes its end with the filler unread, so the kernel gives the tracee end
//    ECONNRESET + HUP (POLLOUT|POLLERR|POLLHUP like a refused TCP connect) and SO_ERROR is
//    answered from the recorded real error. A later connect swaps a fresh pair in
//    (TN_INJECT_AT, then a separate reply).
//  * the far socket's own connect() state machine decides EINPROGRESS/EALREADY/EISCONN:
//    every connect is forwarded to it, and its completion is read with a second connect().
//  * datagrams: at most one is in flight inside the seqpacket pair, so the source address
//    of the datagram the tracee reads is always known (sup's SIOCOUTQ == 0 means it was
//    consumed; the EPOLLOUT wake-up of the consumption pulls the next). recvfrom/recvmsg
//    with an address are trapped and answered from a transient duplicate of the tracee end;
//    sendto/sendmsg with an address are sent from the far socket.
// Socket options are applied to the far socket and answered from it (SO_ERROR from the
// recorded connect result; receive/send timeouts also on the tracee end), through the table
// of sockopt_table.h: values copied once, pointer and fd values translated from the
// tracee, options that would act with the supervisor's privilege refused. A value (and a
// datagram, and control data) for a kernel far side is placed against a PROT_NONE page
// with the program's own length (guarded_copy.h), so the host kernel's length checks and
// faults are the program's; other far sides get only readable values, checked here in the
// kernel's order. The Provider may rewrite destinations, bound addresses and reported
// names (published ports, DNS).
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <threadnet/module.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "guarded_copy.h"
#include "sockopt_table.h"
#include "vsock.h"

namespace tn::vsock {
namespace {

constexpr size_t kScratch = 256 * 1024;
constexpr size_t kPumpBudget = 8u << 20;  // bytes per direction per event before yielding
constexpr size_t kMaxDgram = 65536;
constexpr uint64_t kSweepNs = 500'000'000ull;
constexpr size_t kMaxCtl = 256 * 1024;

// net.core.optmem_max: sendmsg control data beyond it is ENOBUFS.
size_t read_optmem_max() {
  size_t v = 20480;  // Linux's default before 6.9
  if (FILE *f = fopen("/proc/sys/net/core/optmem_max", "re")) {
    unsigned long x = 0;
    if (fscanf(f, "%lu", &x) == 1 && x > 0) v = x;
    fclose(f);
  }
  return v;
}
constexpr size_t kMaxIov = 1024;                   // UIO_MAXIOV
constexpr size_t kMaxRw = 0x7ffff000;              // MAX_RW_COUNT: bytes per call at most
constexpr uint64_t kUserTop = 0x7ffffffff000ull;    // x86_64 user space ends here (4 levels)

enum class St { Fresh, Connecting, Connected, Listening, Failed };

// A connection taken from the far listener before the program's accept asked for it.
struct Pending {
  std::unique_ptr<Far> far;
  sockaddr_storage peer{};
  socklen_t plen = 0;
};

struct Stash {
  std::vector<char> data;  // bytes read from src that dst did not take yet
  size_t off = 0;
  bool src_eof = false;
  bool dst_dead = false;
};

}  // namespace

struct VSock {
  Engine::Impl *r = nullptr;
  std::weak_ptr<VSock> self;
  uint64_t ident = 0;
  uint64_t tracee_ino = 0;
  int domain = 0, type = 0, protocol = 0;
  bool udp = false;  // a datagram socket (UDP, ping)
  std::unique_ptr<Far> far;
  Provider *prov = nullptr;
  uint32_t tag = 0;  // Provider::map_bind's tag
  int sup = -1;
  St st = St::Fresh;
  int pending_err = 0;         // SO_ERROR to report
  bool err_consumed = false;   // failed connect whose error was read by SO_ERROR
  bool unreported = false;     // async connect succeeded; the next connect returns 0
  int wait_result = 0;         // result for blocking connect waiters
  size_t filler = 0;           // filler bytes in the pair (connect in progress)
  bool marker = false;         // listener: marker byte is in the pair
  bool prefetch = false;       // listener: accept may take the next connection ahead
  std::deque<Pending> backlog;  // accepted far sockets not delivered yet
  Stash up, down;              // up: tracee -> far, down: far -> tracee
  // A direction stopped because its destination could not take more: only then does the
  // destination's EPOLLOUT edge resume it (otherwise that edge would cost a read that
  // finds nothing, once per request on a keep-alive connection).
  bool up_wait_dst = false, down_wait_dst = false;
  bool sup_hup = false;
  bool shut = false;  // a shutdown touched the pair: HUP alone no longer proves the close
  bool up_fin = false, down_fin = false;  // HUP/RDHUP/ERR seen on the sup / far side
  bool kick = false;           // a pump was cut short and a timer will resume it
  uint32_t posted = 0;         // far events deferred (see Impl::far_event)
  bool queued = false;
  // datagrams
  bool inflight = false;
  sockaddr_storage in_addr{};
  socklen_t in_len = 0;
  std::vector<char> out_dgram;  // a datagram from the tracee waiting for the far side
  bool out_has = false;
  // connect target (TCP)
  sockaddr_storage conn_addr{};
  socklen_t conn_len = 0;
  int32_t last_tgid = 0;  // a process and fd number that held the tracee end lately
  int last_fd = -1;
  std::vector<void *> waiters;  // park tokens of blocked handlers
  uint64_t rcvtimeo_ns = 0, sndtimeo_ns = 0;
  bool dead = false;
  bool zombie = false;
};

using VPtr = std::shared_ptr<VSock>;

struct Engine::Impl {
  const tn_host *h = nullptr;
  void *hv = nullptr;
  TraceeFds &fds;
  std::unordered_map<uint64_t, VPtr> table;
  std::vector<VPtr> zombies;
  long sweep_timer = 0;
  std::vector<char> scratch;
  // choose() already looked the fd up: handle() takes the answer from here (by call id),
  // with the duplicate of the tracee's fd that the lookup made (-1 if none), so that a
  // claimed call costs one pidfd_getfd.
  struct Chosen {
    VPtr v;
    int dup = -1;
  };
  std::unordered_map<uint64_t, Chosen> chosen;
  // The duplicate of args[0] a running handler may still take, by call id.
  std::unordered_map<uint64_t, int> predup;
  bool fast_host = false;  // tn_host has write_memv, close_watched and TN_INJECT_REPLY
  // Socket option values on their way to a far socket (see guarded_copy.h).
  GuardedBuf optbuf{sockopt::kMaxValue};
  GuardedBuf dgrambuf{kMaxDgram};  // datagram payloads
  GuardedBuf ctlbuf{kMaxCtl};      // control data of sendmsg
  size_t optmem_max = read_optmem_max();  // Linux's limit on control data (ENOBUFS past it)

  Impl(const tn_host *host, TraceeFds &f) : h(host), hv(host->hv), fds(f) {
    scratch.resize(kScratch);
    fast_host = h->size >= offsetof(tn_host, close_watched) + sizeof(void *) &&
                h->write_memv && h->close_watched;
  }

  // A duplicate of the tracee's fd: the one choose() made for this call if it is still
  // there (taken once), else a new one.
  int dup_of(const tn_call *c, int fd) {
    if (fd == int(c->args[0])) {
      auto it = predup.find(c->id);
      if (it != predup.end()) {
        int d = it->second;
        predup.erase(it);
        if (d >= 0) return d;
      }
    }
    return fds.dup_of(c, fd);
  }
  // Writes two ranges of tracee memory (an address and its length, typically).
  int write2(const tn_call *c, uint64_t a1, const void *b1, size_t l1, uint64_t a2,
             const void *b2, size_t l2) {
    if (fast_host) {
      tn_memv v[2] = {{a1, b1, l1}, {a2, b2, l2}};
      return h->write_memv(hv, c, v, 2);
    }
    int rc = l1 ? h->write_mem(hv, c, a1, b1, l1) : 0;
    return rc < 0 ? rc : h->write_mem(hv, c, a2, b2, l2);
  }
  // Unwatch and close a supervisor fd that nothing else references.
  void close_only_ref(int fd) {
    if (fast_host) {
      h->close_watched(hv, fd);
    } else {
      h->unwatch_fd(hv, fd);
      close(fd);
    }
  }
  // Inject flags that answer the call with the new fd (the fast two-step form if the
  // hypervisor has it; the caller treats -ENOENT as "not delivered" either way).
  unsigned send_flags() const { return fast_host ? TN_INJECT_REPLY : TN_INJECT_SEND; }
  uint64_t ident_local(int fd) { return fds.ident_local(fd); }
  uint64_t ident_of(const tn_call *c, int fd) { return fds.ident_of(c, fd); }
  bool alive(uint64_t ino) { return fds.alive(ino); }

  // ---- far calls and their callbacks ------------------------------------------------
  // Callbacks that arrive while a far call runs are posted and run when the outermost
  // far call returns.
  int far_depth = 0;
  bool draining = false;
  std::deque<std::weak_ptr<VSock>> posted;
  struct FarCall {
    Impl *r;
    explicit FarCall(Impl *x) : r(x) { ++r->far_depth; }
    ~FarCall() {
      if (--r->far_depth == 0 && !r->draining && !r->posted.empty()) r->drain();
    }
    FarCall(const FarCall &) = delete;
    FarCall &operator=(const FarCall &) = delete;
  };
  void far_event(VSock &v, uint32_t ev) {
    if (v.dead) return;
    if (far_depth > 0 || draining) {
      v.posted |= ev;
      if (!v.queued) {
        v.queued = true;
        posted.push_back(v.self);
      }
      return;
    }
    VPtr keep = v.self.lock();
    if (keep) on_far(v, ev);
  }
  void drain() {
    draining = true;
    for (int i = 0; i < 100000 && !posted.empty(); ++i) {
      VPtr v = posted.front().lock();
      posted.pop_front();
      if (!v) continue;
      v->queued = false;
      uint32_t ev = v->posted;
      v->posted = 0;
      if (!v->dead && ev) on_far(*v, ev);
    }
    draining = false;
  }
  int start_far(VSock &v) {
    std::weak_ptr<VSock> w = v.self;
    FarCall fc(this);
    return v.far->start([this, w](uint32_t ev) {
      if (VPtr p = w.lock()) far_event(*p, ev);
    });
  }

  // ---- small helpers ----------------------------------------------------------------
  int reply(const tn_call *c, int64_t v, int err) { return h->reply(hv, c, v, err); }
  VPtr lookup(const tn_call *c, int fd) {
    uint64_t id = ident_of(c, fd);
    if (!id) return nullptr;
    auto it = table.find(id);
    if (it == table.end() || it->second->dead) return nullptr;
    return it->second;
  }
  bool has_free_token() const {
    return h->size >= offsetof(tn_host, free_token) + sizeof(void *) && h->free_token;
  }
  void wake_all(VSock &v) {
    for (void *t : v.waiters) h->wake(hv, t);
  }
  // Park the handler until a wake on v, the deadline, or cancellation.
  int park_on(VSock &v, const tn_call *c, uint64_t deadline) {
    void *tok = h->park_token(hv);
    if (!tok) return -ENOMEM;
    v.waiters.push_back(tok);
    int rc = h->park(hv, c, tok, deadline);
    auto it = std::find(v.waiters.begin(), v.waiters.end(), tok);
    if (it != v.waiters.end()) v.waiters.erase(it);
    if (has_free_token()) h->free_token(hv, tok);
    return rc;
  }
  uint64_t deadline(uint64_t timeo) { return timeo ? h->now_ns(hv) + timeo : 0; }

  // ---- lifetime -----------------------------------------------------------------------
  void close_sup(VSock &v) {
    if (v.sup >= 0) {
      close_only_ref(v.sup);  // the supervisor never duplicates its end
      v.sup = -1;
    }
  }
  void destroy(VSock &v) {
    if (v.dead) return;
    v.dead = true;
    close_sup(v);
    {
      FarCall fc(this);
      v.far.reset();
      v.backlog.clear();
    }
    v.up = {};
    v.down = {};
    v.out_dgram = {};
    wake_all(v);
    auto it = table.find(v.ident);
    if (it != table.end() && it->second.get() == &v) table.erase(it);
  }
  void make_zombie(VSock &v) {
    close_sup(v);
    if (v.zombie) return;
    v.zombie = true;
    zombies.push_back(v.self.lock());
    arm_sweep();
  }
  void arm_sweep() {
    if (sweep_timer > 0 || zombies.empty()) return;
    sweep_timer = h->add_timer(hv, h->now_ns(hv) + kSweepNs, &Impl::sweep_cb, this);
  }
  static void sweep_cb(void *arg) {
    auto *r = static_cast<Impl *>(arg);
    r->sweep_timer = 0;
    std::vector<VPtr> keep;
    for (auto &z : r->zombies) {
      if (z->dead || !z->zombie) continue;
      if (!r->alive(z->tracee_ino))
        r->destroy(*z);
      else
        keep.push_back(z);
    }
    r->zombies.swap(keep);
    r->arm_sweep();
  }
  // The sup end saw HUP: every copy of the tracee end closed, or both directions shut.
  void closed_check(VSock &v) {
    if (v.dead) return;
    if (!v.up.data.empty() && !v.up.dst_dead) return;  // flush to the host first
    // Without any shutdown, HUP on our end means the last copy of the tracee end is gone.
    if (!v.shut || !alive(v.tracee_ino)) {
      destroy(v);
    } else {
      // Both directions shut but still open: the tracee's SHUT_WR reaches the host now.
      if (!v.udp && v.st == St::Connected && v.up.src_eof && v.far) {
        FarCall fc(this);
        v.far->shutdown(SHUT_WR);
      }
      make_zombie(v);
    }
  }

  // ---- creation -----------------------------------------------------------------------
  // New pair: returns the tracee end (caller closes it after injecting) or -errno.
  int new_pair(VSock &v, bool tracee_nonblock) {
    int sv[2];
    // Both ends non-blocking from the start (one syscall fewer per socket; accept4 and
    // socket() of event-driven servers ask for it anyway).
    if (socketpair(AF_UNIX, (v.udp ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK,
                   0, sv) < 0)
      return -errno;
    if (!tracee_nonblock) fcntl(sv[1], F_SETFL, 0);
    uint64_t id = ident_local(sv[1]);  // the sockfs inode
    if (!id) {
      close(sv[0]);
      close(sv[1]);
      return -EBADF;
    }
    v.sup = sv[0];
    v.ident = id;
    v.tracee_ino = id;
    v.sup_hup = false;
    v.shut = false;
    v.up_fin = v.down_fin = false;
    v.up = {};
    v.down = {};
    v.marker = false;
    v.filler = 0;
    v.inflight = false;
    int w = h->watch_fd(hv, v.sup, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &Impl::sup_cb, &v);
    if (w < 0) {
      close(sv[0]);
      close(sv[1]);
      v.sup = -1;
      return w;
    }
    return sv[1];
  }
  VPtr new_vsock(int domain, int type, int protocol, std::unique_ptr<Far> far, Provider *prov) {
    auto v = std::make_shared<VSock>();
    v->self = v;
    v->r = this;
    v->domain = domain;
    v->type = type;
    v->protocol = protocol;
    v->udp = type != SOCK_STREAM;
    v->far = std::move(far);
    v->prov = prov;
    if (start_far(*v) < 0) {
      FarCall fc(this);
      v->far.reset();
      return nullptr;
    }
    return v;
  }

  // ---- events -------------------------------------------------------------------------
  static void sup_cb(void *arg, int, uint32_t ev) {
    auto *v = static_cast<VSock *>(arg);
    VPtr keep = v->self.lock();
    if (keep && !keep->dead) v->r->on_sup(*v, ev);
  }
  // Pumps cut short by their budget resume from one zero-delay timer (no allocation per
  // kick, nothing left behind at fini).
  std::vector<std::weak_ptr<VSock>> kicks;
  long kick_timer = 0;
  void schedule_kick(VSock &v) {
    if (v.kick) return;
    v.kick = true;
    kicks.push_back(v.self);
    if (kick_timer <= 0) kick_timer = h->add_timer(hv, h->now_ns(hv), &Impl::kick_cb, this);
  }
  static void kick_cb(void *arg) {
    auto *r = static_cast<Impl *>(arg);
    r->kick_timer = 0;
    std::vector<std::weak_ptr<VSock>> now;
    now.swap(r->kicks);
    for (auto &w : now) {
      VPtr v = w.lock();
      if (!v || v->dead) continue;
      v->kick = false;
      r->pump(*v, true);
      if (!v->dead) r->pump(*v, false);
    }
  }
  void on_far(VSock &v, uint32_t ev) {
    if (ev & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) v.down_fin = true;
    if (v.udp) {
      if (ev & EPOLLIN) udp_push(v);
      if (ev & EPOLLOUT) {
        udp_pull(v);
        wake_all(v);  // a sendto waiting for room
      }
      return;
    }
    switch (v.st) {
      case St::Connecting:
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) finish_connect(v);
        break;
      case St::Listening:
        if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
          // The edge may be for one already taken: ask, unless the marker is there anyway.
          if (!v.marker && far_pending(v)) set_marker(v);
          wake_all(v);
        }
        break;
      case St::Connected:
        if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) pump(v, false);
        if (!v.dead && (ev & EPOLLOUT) && v.up_wait_dst) pump(v, true);
        break;
      default:
        break;
    }
  }
  void on_sup(VSock &v, uint32_t ev) {
    if (ev & EPOLLHUP) v.sup_hup = true;
    if (ev & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) v.up_fin = true;
    if (v.udp) {
      if (ev & (EPOLLIN | EPOLLHUP)) udp_pull(v);
      if (!v.dead) udp_push(v);
      if (!v.dead && v.sup_hup) {
        v.out_dgram = {};
        v.out_has = false;
        closed_check(v);
      }
      return;
    }
    if (v.st == St::Connected) {
      if (ev & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR)) pump(v, true);
      if (!v.dead && (ev & EPOLLOUT) && v.down_wait_dst) pump(v, false);
      if (!v.dead && v.sup_hup && v.up.src_eof) closed_check(v);
      return;
    }
    if (v.sup_hup) closed_check(v);
  }

  // ---- TCP byte pump ------------------------------------------------------------------
  // Byte moves between the sup end and the far socket; -errno on failure.
  ssize_t to_dst(VSock &v, bool up, const void *p, size_t n) {
    if (up) {
      FarCall fc(this);
      return v.far->send(p, n);
    }
    ssize_t w = ::send(v.sup, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    return w < 0 ? -errno : w;
  }
  ssize_t from_src(VSock &v, bool up, void *p, size_t n) {
    if (!up) {
      FarCall fc(this);
      return v.far->recv(p, n);
    }
    ssize_t r = ::recv(v.sup, p, n, MSG_DONTWAIT);
    return r < 0 ? -errno : r;
  }
  // up == true: sup -> far; else far -> sup. Runs until a side would block.
  void pump(VSock &v, bool up) {
    if (v.dead || v.sup < 0 || v.st != St::Connected || !v.far) return;
    Stash &s = up ? v.up : v.down;
    bool &wait_dst = up ? v.up_wait_dst : v.down_wait_dst;
    wait_dst = false;
    size_t moved = 0;
    for (;;) {
      if (s.off < s.data.size()) {
        if (s.dst_dead) {
          s.data = {};
          s.off = 0;
        } else {
          ssize_t w = to_dst(v, up, s.data.data() + s.off, s.data.size() - s.off);
          if (w < 0) {
            if (w == -EAGAIN || w == -EINTR) {
              wait_dst = true;
              return;
            }
            dst_broken(v, up);
            continue;
          }
          s.off += size_t(w);
          if (s.off < s.data.size()) {
            wait_dst = true;
            return;
          }
          s.data = {};
          s.off = 0;
        }
      }
      if (s.src_eof) break;
      if (moved >= kPumpBudget) {
        schedule_kick(v);
        return;
      }
      size_t want = scratch.size();
      if (up && !s.dst_dead) {
        size_t room;
        {
          FarCall fc(this);
          room = v.far->send_room();
        }
        if (room == 0) {  // the far side's EPOLLOUT edge resumes this direction
          wait_dst = true;
          return;
        }
        want = std::min(want, room);
      }
      ssize_t n = from_src(v, up, scratch.data(), want);
      if (n < 0) {
        if (n == -EAGAIN || n == -EINTR) return;
        if (!up && reset_tracee(v)) return;  // host connection reset: mirror it
        n = 0;  // otherwise: treat as the end of this direction
      }
      if (n == 0) {
        s.src_eof = true;
        src_ended(v, up, s);
        break;
      }
      moved += size_t(n);
      // A short read emptied the source queue; new data raises a new edge.
      // (Not after a HUP/RDHUP edge: the end-of-file must still be read -- except on our
      // own AF_UNIX end, which after the program's close or shutdown can get no more bytes
      // nor an error worth reporting, so a short read there is the end.)
      bool fin = up ? v.up_fin : v.down_fin;
      bool drained = size_t(n) < want && !fin;
      bool last = up && fin && size_t(n) < want;
      if (s.dst_dead) {  // discard: the reader is gone
        if (drained) return;
        continue;
      }
      ssize_t w = to_dst(v, up, scratch.data(), size_t(n));
      if (w < 0) {
        if (w != -EAGAIN && w != -EINTR) {
          dst_broken(v, up);
          continue;
        }
        w = 0;
      }
      if (w < n) {
        s.data.assign(scratch.data() + w, scratch.data() + n);
        s.off = 0;
        wait_dst = true;
        return;
      }
      if (drained) return;
      if (last) {
        s.src_eof = true;
        src_ended(v, up, s);
        break;
      }
    }
    if (up && s.src_eof && v.sup_hup) closed_check(v);
  }
  // The source of one direction reached its end (all of it handed to the destination).
  void src_ended(VSock &v, bool up, Stash &s) {
    if (up && !v.sup_hup) {
      pollfd p{v.sup, POLLIN, 0};
      if (poll(&p, 1, 0) > 0 && (p.revents & POLLHUP)) v.sup_hup = true;
    }
    // The tracee's close is the host socket's close (FIN, or RST with SO_LINGER 0),
    // done by closed_check; only a real shutdown(SHUT_WR) is forwarded as such.
    if (!s.dst_dead && !(up && v.sup_hup)) {
      if (up) {
        FarCall fc(this);
        v.far->shutdown(SHUT_WR);
      } else {
        ::shutdown(v.sup, SHUT_WR);
      }
    }
    if (!up) v.shut = true;
  }
  // A duplicate of the tracee end outside a handler: through the last process and fd
  // number seen using this socket, checked by identity. -1 if that is gone.
  int tracee_dup(VSock &v) {
    if (v.last_tgid <= 0 || v.last_fd < 0) return -1;
    int pfd = int(syscall(SYS_pidfd_open, v.last_tgid, 0));
    if (pfd < 0) return -1;
    int d = int(syscall(SYS_pidfd_getfd, pfd, v.last_fd, 0));
    close(pfd);
    if (d < 0) return -1;
    if (ident_local(d) != v.ident) {
      close(d);
      return -1;
    }
    return d;
  }
  // The host connection was reset: the tracee's reads must end with ECONNRESET (after the
  // bytes already delivered), not EOF. The kernel does exactly that to a pair end whose
  // peer closes with unread data, so one byte is put into our end's queue from a transient
  // duplicate of the tracee end, and our end is closed.
  bool reset_tracee(VSock &v) {
    int d = tracee_dup(v);
    if (d < 0) return false;
    // Bytes read from the host before the reset go first (best effort, non-blocking).
    if (v.down.off < v.down.data.size())
      send(v.sup, v.down.data.data() + v.down.off, v.down.data.size() - v.down.off,
           MSG_DONTWAIT | MSG_NOSIGNAL);
    char z = 0;
    bool ok = send(d, &z, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1;
    close(d);
    if (!ok) return false;
    v.down = {};
    v.up = {};
    v.shut = true;
    make_zombie(v);  // closes our end: ECONNRESET on the tracee's
    return true;
  }
  void dst_broken(VSock &v, bool up) {
    Stash &s = up ? v.up : v.down;
    s.dst_dead = true;
    s.data = {};
    s.off = 0;
    if (up) {
      // The host connection cannot take more: make the tracee's writes fail (EPIPE).
      if (v.sup >= 0) shutdown(v.sup, SHUT_RD);
      v.shut = true;
    } else {
      // The tracee shut its reading side: stop reading from the far side.
      FarCall fc(this);
      if (v.far) v.far->shutdown(SHUT_RD);
    }
  }
  // fresh_pair: the program got its end only now (accept), so nothing can wait on ours yet;
  // the edge-triggered watch reports its first write.
  void start_connected(VSock &v, bool fresh_pair = false) {
    v.st = St::Connected;
    pump(v, false);
    if (!v.dead && !fresh_pair) pump(v, true);
  }

  // ---- listening ----------------------------------------------------------------------
  void set_marker(VSock &v) {
    if (v.marker || v.sup < 0) return;
    char m = 'L';
    if (send(v.sup, &m, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1) v.marker = true;
  }
  bool far_pending(VSock &v) {
    if (!v.backlog.empty()) return true;
    FarCall fc(this);
    return v.far && v.far->accept_pending();
  }
  int far_connect(VSock &v, const sockaddr_storage &ss, socklen_t len) {
    FarCall fc(this);
    return v.far->connect(ss, len);
  }

  // ---- connect ------------------------------------------------------------------------
  // Write filler into the tracee end's send buffer so it does not poll writable.
  void fill(VSock &v, int tracee_dup) {
    if (v.filler) return;
    size_t total = 0;
    for (int i = 0; i < 64; ++i) {
      ssize_t n = send(tracee_dup, scratch.data(), 64 * 1024, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n <= 0) break;
      total += size_t(n);
    }
    v.filler = total;
  }
  // Reads the filler back, all of it or all but `keep` bytes.
  void discard_filler(VSock &v, size_t keep = 0) {
    while (v.filler > keep && v.sup >= 0) {
      ssize_t n = recv(v.sup, scratch.data(), std::min(v.filler - keep, scratch.size()),
                       MSG_DONTWAIT);
      if (n <= 0) break;
      v.filler -= size_t(n);
    }
    v.filler = 0;
  }
  // The host connect may have finished: ask it with a second connect().
  void finish_connect(VSock &v) {
    if (v.st != St::Connecting) return;
    int rc = far_connect(v, v.conn_addr, v.conn_len);
    int e = rc < 0 ? -rc : 0;
    if (rc == 0 || e == EISCONN) {
      discard_filler(v);
      v.unreported = v.waiters.empty();
      v.wait_result = 0;
      start_connected(v);
      wake_all(v);
      return;
    }
    if (e == EALREADY || e == EINPROGRESS || e == EINTR) return;
    if (!v.waiters.empty() || !v.filler) {
      // A blocking connect waits for this result: the pair stays usable.
      discard_filler(v);
      v.wait_result = e;
      v.pending_err = v.waiters.empty() ? e : 0;
      v.st = St::Fresh;
      wake_all(v);
      return;
    }
    // Non-blocking: close our end with the filler unread (tracee end: ECONNRESET, HUP).
    // (The kernel wakes the tracee at our close before it frees the filler, so a poll may
    // see POLLERR|POLLHUP a moment before POLLOUT joins them; docs/relay.md.)
    v.pending_err = e;
    v.err_consumed = false;
    v.st = St::Failed;
    v.filler = 0;
    make_zombie(v);
    v.zombie = true;
  }
  // Replace the tracee's broken pair end by a fresh one at the same fd number.
  int swap_pair(VSock &v, const tn_call *c, int fd) {
    bool nonblock = false, cloexec = false;
    int d = dup_of(c, fd);
    if (d >= 0) {
      nonblock = fcntl(d, F_GETFL) & O_NONBLOCK;
      close(d);
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", c->tid, fd);
    if (FILE *f = fopen(path, "re")) {
      char line[128];
      while (fgets(line, sizeof line, f))
        if (!strncmp(line, "flags:", 6)) cloexec = strtoul(line + 6, nullptr, 8) & O_CLOEXEC;
      fclose(f);
    }
    close_sup(v);
    uint64_t old = v.ident;
    int te = new_pair(v, nonblock);
    if (te < 0) return te;
    int rc = h->inject_fd(hv, c, te, fd, TN_INJECT_AT | (cloexec ? TN_INJECT_CLOEXEC : 0));
    close(te);
    auto it = table.find(old);
    VPtr keep = v.self.lock();
    if (it != table.end() && it->second.get() == &v) table.erase(it);
    table[v.ident] = keep;
    v.zombie = false;
    return rc < 0 ? rc : 0;
  }
  void do_connect(const tn_call *c, VPtr vp) {
    VSock &v = *vp;
    int fd = int(c->args[0]);
    socklen_t len = socklen_t(c->args[2]);
    sockaddr_storage ss{};
    if (len > sizeof(ss)) {
      reply(c, 0, EINVAL);
      return;
    }
    if (len && h->read_mem(hv, c, c->args[1], &ss, len) < 0) {
      reply(c, 0, EFAULT);
      return;
    }
    if (len < sizeof(sa_family_t)) {  // inet_stream_connect/inet_dgram_connect, first thing
      reply(c, 0, EINVAL);
      return;
    }
    v.prov->map_dest(&ss, len);
    if (v.udp) {
      int rc = far_connect(v, ss, len);
      reply(c, 0, rc < 0 ? -rc : 0);
      return;
    }
    if (v.st == St::Connecting) finish_connect(v);
    if (v.st == St::Failed) {
      // The failed attempt's verdict, like a second connect on a failed socket.
      int e = v.err_consumed ? ECONNABORTED : v.pending_err;
      v.pending_err = 0;
      v.st = St::Fresh;  // the pair is still broken: swapped at the next attempt
      reply(c, 0, e ? e : ECONNABORTED);
      return;
    }
    if (v.st == St::Connected) {
      if (v.unreported) {
        v.unreported = false;
        reply(c, 0, 0);
      } else {
        reply(c, 0, EISCONN);
      }
      return;
    }
    int d = dup_of(c, fd);
    if (d < 0) {
      reply(c, 0, -d);
      return;
    }
    bool nonblock = fcntl(d, F_GETFL) & O_NONBLOCK;
    if (v.st == St::Fresh) {
      int rc = far_connect(v, ss, len);
      int e = rc < 0 ? -rc : 0;
      if (rc == 0) {
        close(d);
        if (v.sup < 0 && swap_pair(v, c, fd) < 0) {
          reply(c, 0, ENOBUFS);
          return;
        }
        start_connected(v);
        reply(c, 0, 0);
        return;
      }
      if (e != EINPROGRESS) {
        close(d);
        reply(c, 0, e);
        return;
      }
      v.conn_addr = ss;
      v.conn_len = len;
      v.pending_err = 0;
      v.err_consumed = false;
      v.unreported = false;
      if (v.sup < 0) {
        close(d);
        d = -1;
        int s = swap_pair(v, c, fd);
        if (s < 0) {
          if (s != -ENOENT) reply(c, 0, -s);
          return;
        }
        d = dup_of(c, fd);
      }
      v.st = St::Connecting;
      if (nonblock) {
        if (d >= 0) fill(v, d);
        if (d >= 0) close(d);
        finish_connect(v);  // loopback may already be done
        if (v.st == St::Connected) v.unreported = true;
        reply(c, 0, EINPROGRESS);
        return;
      }
    } else if (v.st == St::Connecting) {
      if (nonblock) {
        close(d);
        reply(c, 0, EALREADY);
        return;
      }
    } else {  // Listening
      close(d);
      int rc = far_connect(v, ss, len);
      reply(c, 0, rc < 0 ? -rc : 0);
      return;
    }
    // Blocking connect: wait for the host's verdict.
    uint64_t dl = deadline(v.sndtimeo_ns);
    while (v.st == St::Connecting && !v.dead) {
      finish_connect(v);
      if (v.st != St::Connecting) break;
      // Fill now, not on cancellation: a signal may end this call (and the tracee poll the
      // socket) before the supervisor notices the cancellation.
      if (d >= 0) fill(v, d);
      int rc = park_on(v, c, dl);
      if (rc == -TN_ECANCELED) {  // the connect goes on in the background, as in the kernel
        if (d >= 0) close(d);
        return;
      }
      if (rc == 0 && v.st == St::Connecting) {  // SO_SNDTIMEO expired
        if (d >= 0) close(d);
        reply(c, 0, EINPROGRESS);
        return;
      }
    }
    if (d >= 0) close(d);
    if (v.dead) {
      reply(c, 0, EBADF);
    } else if (v.st == St::Connected) {
      v.unreported = false;
      reply(c, 0, 0);
    } else if (v.st == St::Failed) {
      v.pending_err = 0;
      v.st = St::Fresh;
      reply(c, 0, ECONNREFUSED);
    } else {
      int e = v.wait_result ? v.wait_result : ECONNABORTED;
      v.pending_err = 0;
      reply(c, 0, e);
    }
  }

  // ---- accept -------------------------------------------------------------------------
  void do_accept(const tn_call *c, VPtr vp, int flags) {
    VSock &v = *vp;
    int fd = int(c->args[0]);
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
      reply(c, 0, EINVAL);
      return;
    }
    if (v.udp) {
      reply(c, 0, EOPNOTSUPP);
      return;
    }
    int d = dup_of(c, fd);
    if (d < 0) {
      reply(c, 0, -d);
      return;
    }
    int nonblock = -1;  // asked of the file only when nothing is pending
    uint64_t dl = deadline(v.rcvtimeo_ns);
    for (;;) {
      if (v.dead) {
        close(d);
        reply(c, 0, EBADF);
        return;
      }
      sockaddr_storage peer{};
      socklen_t plen = sizeof(peer);
      std::unique_ptr<Far> nfd;
      int e = 0;
      {
        FarCall fc(this);
        if (!v.backlog.empty()) {
          Pending &p = v.backlog.front();
          nfd = std::move(p.far);
          peer = p.peer;
          plen = p.plen;
          v.backlog.pop_front();
        } else if (v.far) {
          nfd = v.far->accept(&peer, &plen, &e);
        } else {
          e = EBADF;
        }
      }
      if (nfd) {
        // Is another connection pending (the marker stays) or not (it goes)? Asked by
        // taking the next one right away where the queue is long (see SYS_listen): when
        // one is there, that is the far accept the next call would make anyway.
        if (v.marker && !(v.prefetch ? refill(v) : far_pending(v))) {
          char m;
          if (recv(d, &m, 1, MSG_DONTWAIT) == 1) v.marker = false;
        }
        close(d);
        deliver_accepted(c, v, std::move(nfd), peer, plen, flags);
        return;
      }
      if (e != EAGAIN) {
        close(d);
        reply(c, 0, e);
        return;
      }
      if (v.marker) {  // stale marker: nothing is pending any more
        char m;
        if (recv(d, &m, 1, MSG_DONTWAIT) == 1) v.marker = false;
      }
      if (nonblock < 0) nonblock = (fcntl(d, F_GETFL) & O_NONBLOCK) ? 1 : 0;
      if (nonblock) {
        close(d);
        reply(c, 0, EAGAIN);
        return;
      }
      int rc = park_on(v, c, dl);
      if (rc == -TN_ECANCELED) {
        close(d);
        return;
      }
      if (rc == 0) {
        close(d);
        reply(c, 0, EAGAIN);
        return;
      }
    }
  }
  // Takes the next pending far connection into the backlog; false if there is none.
  bool refill(VSock &v) {
    if (!v.backlog.empty()) return true;
    if (!v.far) return false;
    Pending p;
    p.plen = sizeof p.peer;
    int e = 0;
    {
      FarCall fc(this);
      p.far = v.far->accept(&p.peer, &p.plen, &e);
    }
    if (!p.far) return false;
    v.backlog.push_back(std::move(p));
    return true;
  }
  void push_back_pending(VSock &lv, std::unique_ptr<Far> f, const sockaddr_storage &peer,
                         socklen_t plen) {
    Pending p;
    p.far = std::move(f);
    p.peer = peer;
    p.plen = plen;
    lv.backlog.push_front(std::move(p));
  }
  void deliver_accepted(const tn_call *c, VSock &lv, std::unique_ptr<Far> nfd,
                        const sockaddr_storage &peer,
                        socklen_t plen, int flags) {
    // Peer address first: the injection below answers the call. (`peer` stays as the far
    // side gave it, for the backlog if the delivery fails.)
    if (c->args[1]) {
      sockaddr_storage shown = peer;
      lv.prov->map_name(&shown, plen, true, lv.tag);
      // The program's own bad address arguments lose the connection, as in the kernel
      // (it is accepted, then dropped when the address cannot be written).
      int e = put_addr(c, c->args[1], c->args[2], shown, plen);
      if (e) {
        if (e == TN_ECANCELED) {  // the call went away: keep it for the next accept
          push_back_pending(lv, std::move(nfd), peer, plen);
          set_marker(lv);
          return;
        }
        {
          FarCall fc(this);
          nfd.reset();
        }
        reply(c, 0, e);
        return;
      }
    }
    VPtr nv = new_vsock(lv.domain, SOCK_STREAM, lv.protocol, std::move(nfd), lv.prov);
    if (!nv) {
      reply(c, 0, ENOMEM);
      return;
    }
    nv->tag = lv.tag;
    int te = new_pair(*nv, flags & SOCK_NONBLOCK);
    if (te < 0) {
      destroy(*nv);
      reply(c, 0, -te);
      return;
    }
    table[nv->ident] = nv;
    nv->st = St::Connected;
    int rc = h->inject_fd(hv, c, te, -1,
                          send_flags() | ((flags & SOCK_CLOEXEC) ? TN_INJECT_CLOEXEC : 0));
    close(te);
    if (rc < 0) {
      // The call vanished (signal): keep the connection for the next accept. (A copy of
      // the pair end the tracee may hold unannounced sees our end close: EOF.)
      std::unique_ptr<Far> f = std::move(nv->far);
      destroy(*nv);
      push_back_pending(lv, std::move(f), peer, plen);
      set_marker(lv);
      if (rc != -ENOENT && rc != -EOWNERDEAD) reply(c, 0, -rc);
      return;
    }
    nv->last_tgid = c->tgid;
    nv->last_fd = rc;
    start_connected(*nv, true);
  }

  // ---- UDP ----------------------------------------------------------------------------
  void udp_push(VSock &v) {
    if (v.sup < 0) return;
    if (v.inflight) {
      int q = 0;
      if (ioctl(v.sup, SIOCOUTQ, &q) < 0 || q > 0) return;
      v.inflight = false;
    }
    for (int i = 0; i < 16 && !v.inflight; ++i) {
      sockaddr_storage ss{};
      socklen_t sl = sizeof ss;
      ssize_t n;
      {
        FarCall fc(this);
        n = v.far ? v.far->recvfrom(scratch.data(), kMaxDgram, &ss, &sl) : -EBADF;
      }
      if (n < 0) {
        if (n == -EAGAIN || n == -EINTR || n == -EBADF) return;
        v.pending_err = int(-n);  // ICMP error on a connected socket
        continue;
      }
      v.prov->map_name(&ss, sl, true, v.tag);
      if (send(v.sup, scratch.data(), size_t(n), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) continue;
      v.inflight = true;
      v.in_addr = ss;
      v.in_len = sl;
    }
  }
  ssize_t far_send(VSock &v, const void *p, size_t n) {
    FarCall fc(this);
    return v.far ? v.far->send(p, n) : -EBADF;
  }
  void udp_pull(VSock &v) {
    for (int i = 0; i < 64 && v.sup >= 0; ++i) {
      if (v.out_has) {
        ssize_t w = far_send(v, v.out_dgram.data(), v.out_dgram.size());
        if (w == -EAGAIN) return;
        v.out_has = false;
        v.out_dgram.clear();
      }
      ssize_t n = recv(v.sup, scratch.data(), kMaxDgram, MSG_DONTWAIT);
      if (n < 0) return;
      if (n == 0) {  // an empty datagram, or the end: the end shows as HUP
        pollfd p{v.sup, POLLIN, 0};
        if (v.sup_hup || (poll(&p, 1, 0) > 0 && (p.revents & POLLHUP))) {
          v.sup_hup = true;
          return;
        }
      }
      ssize_t w = far_send(v, scratch.data(), size_t(n));
      if (w == -EAGAIN) {
        v.out_dgram.assign(scratch.data(), scratch.data() + n);
        v.out_has = true;
        return;
      }
    }
  }
  // One datagram for the tracee: data scattered into `iov` (tracee addresses). Returns the
  // recv result (>= 0) or -errno; -TN_ECANCELED when the call went away. *from / *from_len
  // / *mflags describe it. A datagram whose copy faults is consumed, as in the kernel.
  long recv_one(const tn_call *c, VSock &v, int d, const std::vector<iovec> &iov, int flags,
                bool nonblock, uint64_t dl, sockaddr_storage *from, socklen_t *from_len,
                int *mflags) {
    size_t want = 0;
    for (auto &x : iov) want += x.iov_len;
    std::vector<char> buf(std::min(want, kMaxDgram));
    ssize_t n;
    for (;;) {
      if (v.pending_err && !(flags & MSG_PEEK)) {
        int e = v.pending_err;
        v.pending_err = 0;
        return -e;
      }
      iovec one{buf.data(), buf.size()};
      msghdr m{};
      m.msg_iov = &one;
      m.msg_iovlen = 1;
      n = recvmsg(d, &m, (flags & (MSG_PEEK | MSG_TRUNC)) | MSG_DONTWAIT);
      *mflags = m.msg_flags & (MSG_TRUNC | MSG_CTRUNC);
      if (n >= 0) break;
      int e = errno;
      if (e != EAGAIN || nonblock) return -e;
      int rc = h->wait_fd(hv, c, d, EPOLLIN, dl);
      if (rc == -TN_ECANCELED) return rc;
      if (rc == 0) return -EAGAIN;
      // The supervisor notices a signal's cancellation only by polling: a call that went
      // away must not take the datagram meant for the next one.
      if (!h->call_valid(hv, c)) return -TN_ECANCELED;
    }
    *from = v.in_addr;
    *from_len = v.inflight ? v.in_len : 0;
    bool consumed = !(flags & MSG_PEEK);
    if (consumed) v.inflight = false;
    size_t got = std::min(size_t(n), buf.size());
    size_t off = 0;
    long rc = long(n);
    for (auto &x : iov) {
      if (off >= got) break;
      size_t k = std::min(x.iov_len, got - off);
      if (k && h->write_mem(hv, c, uint64_t(uintptr_t(x.iov_base)), buf.data() + off, k) < 0) {
        rc = -EFAULT;
        break;
      }
      off += k;
    }
    if (consumed) udp_push(v);  // the next datagram (and its address) in
    return rc;
  }
  // The kernel's import of a msghdr's iovec array: EMSGSIZE past UIO_MAXIOV, EFAULT for an
  // unreadable array or a range outside user space, EINVAL for a negative length; lengths
  // are cut to MAX_RW_COUNT in all. 0 or errno.
  int read_iov(const tn_call *c, const msghdr &mh, std::vector<iovec> *iov) {
    if (mh.msg_iovlen > kMaxIov) return EMSGSIZE;
    iov->resize(mh.msg_iovlen);
    if (!iov->empty()) {
      int rc = h->read_mem(hv, c, uint64_t(uintptr_t(mh.msg_iov)), iov->data(),
                           iov->size() * sizeof(iovec));
      if (rc < 0) return rc == -ENOENT ? TN_ECANCELED : EFAULT;
    }
    for (auto &x : *iov)
      if (ssize_t(x.iov_len) < 0) return EINVAL;
    size_t total = 0;
    for (auto &x : *iov) {
      uint64_t base = uint64_t(uintptr_t(x.iov_base));
      if (x.iov_len > kUserTop || base > kUserTop - x.iov_len) return EFAULT;
      if (x.iov_len > kMaxRw - total) x.iov_len = kMaxRw - total;
      total += x.iov_len;
    }
    return 0;
  }
  // The kernel's move_addr_to_user for an address and its length argument: the length read
  // (EFAULT), cut to the address's, negative: EINVAL; then the address and its real length.
  int put_addr(const tn_call *c, uint64_t addr, uint64_t lenp, const sockaddr_storage &ss,
               socklen_t klen) {
    int ulen = 0;
    if (int rc = h->read_mem(hv, c, lenp, &ulen, sizeof ulen); rc < 0)
      return rc == -ENOENT ? TN_ECANCELED : EFAULT;
    if (ulen > int(klen)) ulen = int(klen);
    if (ulen < 0) return EINVAL;
    int outlen = int(klen);
    return write2(c, addr, &ss, size_t(ulen), lenp, &outlen, sizeof outlen) < 0 ? EFAULT : 0;
  }
  // After a datagram: msg_namelen, msg_flags and msg_controllen (no ancillary data) of the
  // program's msghdr at `at`, the address first.
  int put_msg(const tn_call *c, uint64_t at, const msghdr &mh, const sockaddr_storage &from,
              socklen_t from_len, int mflags) {
    socklen_t k = mh.msg_name ? std::min<socklen_t>(mh.msg_namelen, from_len) : 0;
    if (k && h->write_mem(hv, c, uint64_t(uintptr_t(mh.msg_name)), &from, k) < 0) return EFAULT;
    socklen_t nl = mh.msg_name ? from_len : 0;
    size_t cl = 0;
    int fl = mflags;
    tn_memv w[3] = {{at + offsetof(msghdr, msg_namelen), &nl, sizeof nl},
                    {at + offsetof(msghdr, msg_controllen), &cl, sizeof cl},
                    {at + offsetof(msghdr, msg_flags), &fl, sizeof fl}};
    if (fast_host) return h->write_memv(hv, c, w, 3) < 0 ? EFAULT : 0;
    for (auto &x : w)
      if (h->write_mem(hv, c, x.addr, x.buf, x.len) < 0) return EFAULT;
    return 0;
  }
  // recvmmsg's timeout: read (EFAULT) and checked (EINVAL) like the kernel, then not used.
  int check_timeout(const tn_call *c, uint64_t at) {
    if (!at) return 0;
    timespec ts{};
    if (int rc = h->read_mem(hv, c, at, &ts, sizeof ts); rc < 0)
      return rc == -ENOENT ? TN_ECANCELED : EFAULT;
    return ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1'000'000'000L ? EINVAL : 0;
  }
  // recvfrom/recvmsg/recvmmsg with an address on a virtual UDP socket.
  void do_udp_recv(const tn_call *c, VPtr vp, int kind /* 0 from, 1 msg, 2 mmsg */) {
    VSock &v = *vp;
    int fd = int(c->args[0]);
    int flags = int(kind == 0 ? c->args[3] : c->args[kind == 1 ? 2 : 3]);
    if (kind == 2) {
      if (int e = check_timeout(c, c->args[4])) {
        if (e != TN_ECANCELED) reply(c, 0, e);
        return;
      }
    }
    int d = dup_of(c, fd);
    if (d < 0) {
      reply(c, 0, -d);
      return;
    }
    bool nonblock = (fcntl(d, F_GETFL) & O_NONBLOCK) || (flags & MSG_DONTWAIT);
    uint64_t dl = deadline(v.rcvtimeo_ns);
    auto finish = [&](int64_t val, int err) {
      close(d);
      if (err != TN_ECANCELED) reply(c, val, err);
    };
    sockaddr_storage from{};
    socklen_t from_len = 0;
    int mflags = 0;
    if (kind == 0) {
      std::vector<iovec> iov{{reinterpret_cast<void *>(uintptr_t(c->args[1])),
                              std::min<size_t>(size_t(c->args[2]), kMaxRw)}};
      long n = recv_one(c, v, d, iov, flags, nonblock, dl, &from, &from_len, &mflags);
      if (n < 0) return finish(0, int(-n));
      if (int e = put_addr(c, c->args[4], c->args[5], from, from_len)) return finish(0, e);
      return finish(n, 0);
    }
    if (kind == 1) {
      msghdr mh{};
      std::vector<iovec> iov;
      if (h->read_mem(hv, c, c->args[1], &mh, sizeof mh) < 0) return finish(0, EFAULT);
      if (mh.msg_name && int(mh.msg_namelen) < 0) return finish(0, EINVAL);
      if (int e = read_iov(c, mh, &iov)) return finish(0, e);
      long n = recv_one(c, v, d, iov, flags, nonblock, dl, &from, &from_len, &mflags);
      if (n < 0) return finish(0, int(-n));
      if (int e = put_msg(c, c->args[1], mh, from, from_len, mflags)) return finish(0, e);
      return finish(n, 0);
    }
    // recvmmsg: like the kernel, block for every message unless MSG_WAITFORONE (then only
    // for the first); an error after some messages returns the count. (The timeout is not
    // honoured.)
    size_t vlen = std::min<size_t>(size_t(c->args[2]), kMaxIov);
    std::vector<mmsghdr> mm(vlen);
    if (vlen && h->read_mem(hv, c, c->args[1], mm.data(), vlen * sizeof(mmsghdr)) < 0)
      return finish(0, EFAULT);
    size_t done = 0;
    for (; done < vlen; ++done) {
      msghdr &mh = mm[done].msg_hdr;
      std::vector<iovec> iov;
      int e = mh.msg_name && int(mh.msg_namelen) < 0 ? EINVAL : read_iov(c, mh, &iov);
      if (e) {
        if (done || e == TN_ECANCELED) break;
        return finish(0, e);
      }
      bool nb = nonblock || (done > 0 && (flags & MSG_WAITFORONE));
      long n = recv_one(c, v, d, iov, flags & ~MSG_WAITFORONE, nb, dl, &from, &from_len,
                        &mflags);
      if (n == -TN_ECANCELED) return finish(0, TN_ECANCELED);
      if (n < 0) {
        if (done) break;
        return finish(0, int(-n));
      }
      uint64_t at = c->args[1] + done * sizeof(mmsghdr);
      if ((e = put_msg(c, at, mh, from, from_len, mflags))) return finish(0, e);
      unsigned ml = unsigned(n);
      if (h->write_mem(hv, c, at + offsetof(mmsghdr, msg_len), &ml, sizeof ml) < 0)
        return finish(0, EFAULT);
    }
    finish(int64_t(done), 0);
  }

  // ---- a message from the program on its way out ---------------------------------------
  // The kernel's order: the address (EINVAL, EFAULT), the iovec array, the control data
  // (ENOBUFS, EFAULT), then the protocol's checks (EMSGSIZE, ...) and the data (EFAULT).
  // A datagram for a kernel far side keeps the program's lengths with its readable bytes
  // against a guard page (guarded_copy.h), so the host kernel checks and faults as the
  // program's own would; other far sides get only fully readable messages.
  struct OutMsg {
    std::vector<char> name;
    bool named = false;  // an address was given (sendto: even of length 0)
    char *data = nullptr;
    size_t len = 0, avail = 0;  // the program's length, readable bytes at `data`
    char *ctl = nullptr;
    size_t ctllen = 0, ctlavail = 0;
    std::vector<char> stream;  // TCP: the bytes themselves
    std::unique_ptr<GuardedBuf> own_data, own_ctl;  // private copies while a send waits
  };
  // Address argument like move_addr_to_kernel: 0 or errno.
  int read_name(const tn_call *c, uint64_t addr, int len, std::vector<char> *out) {
    if (len < 0 || size_t(len) > sizeof(sockaddr_storage)) return EINVAL;
    out->resize(size_t(len));
    if (len) {
      int rc = h->read_mem(hv, c, addr, out->data(), out->size());
      if (rc < 0) return rc == -ENOENT ? TN_ECANCELED : EFAULT;
    }
    return 0;
  }
  // The data of `iov` for a datagram: readable prefix against the guard of dgrambuf.
  int gather_dgram(const tn_call *c, const std::vector<iovec> &iov, OutMsg *m) {
    size_t total = 0;
    for (auto &x : iov) total += x.iov_len;
    size_t cap = std::min(total, dgrambuf.size());
    size_t off = 0;
    for (auto &x : iov) {
      if (off >= cap) break;
      size_t k = std::min(x.iov_len, cap - off);
      long got = copy_prefix(h, c, uint64_t(uintptr_t(x.iov_base)), k, dgrambuf.begin() + off);
      if (got < 0) return TN_ECANCELED;
      off += size_t(got);
      if (size_t(got) < k) break;
    }
    if (off) memmove(dgrambuf.end() - off, dgrambuf.begin(), off);
    m->data = dgrambuf.end() - off;
    m->len = total;
    m->avail = off;
    return 0;
  }
  int gather_stream(const tn_call *c, const std::vector<iovec> &iov, OutMsg *m) {
    size_t total = 0;
    for (auto &x : iov) total += x.iov_len;
    total = std::min(total, kScratch);
    m->stream.resize(total);
    size_t off = 0;
    for (auto &x : iov) {
      size_t k = std::min(x.iov_len, total - off);
      if (k && h->read_mem(hv, c, uint64_t(uintptr_t(x.iov_base)), m->stream.data() + off, k) < 0)
        return EFAULT;
      off += k;
    }
    m->data = m->stream.data();
    m->len = m->avail = total;
    return 0;
  }
  // Control data: more than INT_MAX is ENOBUFS; a kernel far side gets the readable
  // prefix against ctlbuf's guard, others all of it or EFAULT (ENOBUFS past optmem_max).
  int gather_ctl(const tn_call *c, const msghdr &mh, bool kernel, OutMsg *m) {
    m->ctllen = mh.msg_controllen;
    if (!m->ctllen) return 0;
    if (m->ctllen > size_t(INT32_MAX)) return ENOBUFS;
    if (!kernel && m->ctllen > optmem_max) return ENOBUFS;
    long got = copy_to_guard(h, c, uint64_t(uintptr_t(mh.msg_control)),
                             std::min(m->ctllen, ctlbuf.size()), ctlbuf, &m->ctl);
    if (got < 0) return TN_ECANCELED;
    m->ctlavail = size_t(got);
    if (!kernel && m->ctlavail < m->ctllen) return EFAULT;
    return 0;
  }
  // The framing of control data as the kernel walks it (for far sides that do not parse
  // it themselves): every header must fit and have a length between its own and the end.
  static bool cmsgs_ok(const OutMsg &m) {
    size_t off = 0;
    while (m.ctllen - off >= sizeof(cmsghdr)) {
      cmsghdr h;
      memcpy(&h, m.ctl + off, sizeof h);
      if (h.cmsg_len < sizeof(cmsghdr) || h.cmsg_len > m.ctllen - off) return false;
      off += CMSG_ALIGN(h.cmsg_len);
      if (off >= m.ctllen) break;
    }
    return true;
  }
  // sendmsg's msghdr (already read) or sendto's arguments into *m: 0 or errno.
  int prepare(const tn_call *c, VSock &v, const msghdr *mh, OutMsg *m) {
    bool kernel = v.far && v.far->kernel_socket();
    std::vector<iovec> iov;
    if (mh) {
      int nl = mh->msg_name ? int(mh->msg_namelen) : 0;
      if (nl < 0) return EINVAL;
      nl = std::min<int>(nl, sizeof(sockaddr_storage));
      if (nl) {
        if (int e = read_name(c, uint64_t(uintptr_t(mh->msg_name)), nl, &m->name)) return e;
        m->named = true;
      }
      if (int e = read_iov(c, *mh, &iov)) return e;
      if (int e = gather_ctl(c, *mh, kernel, m)) return e;
      if (!kernel && !cmsgs_ok(*m)) return EINVAL;
    } else {
      if (int e = read_name(c, c->args[4], int(c->args[5]), &m->name)) return e;
      m->named = true;
      iov.push_back({reinterpret_cast<void *>(uintptr_t(c->args[1])),
                     std::min<size_t>(size_t(c->args[2]), kMaxRw)});
    }
    if (!v.udp) return gather_stream(c, iov, m);
    if (int e = gather_dgram(c, iov, m)) return e;
    if (!kernel && m->avail < m->len) {
      // The protocol refuses an oversized datagram before it copies anything.
      size_t max = v.domain == AF_INET ? 65535 - 20 - 8 : 65535 - 8;
      return m->len > max ? EMSGSIZE : EFAULT;
    }
    return 0;
  }
  // Moves a prepared datagram's bytes out of the shared buffers (before the handler waits).
  void own(OutMsg &m) {
    auto keep = [](const char *p, size_t avail, std::unique_ptr<GuardedBuf> *g) -> char * {
      *g = std::make_unique<GuardedBuf>(avail);
      if (!(*g)->ok()) return nullptr;
      char *at = (*g)->end() - avail;
      memcpy(at, p, avail);
      return at;
    };
    if (m.data && m.data != m.stream.data()) m.data = keep(m.data, m.avail, &m.own_data);
    if (m.ctl) m.ctl = keep(m.ctl, m.ctlavail, &m.own_ctl);
  }
  // sendmmsg with addresses on a virtual UDP socket: each message from the host socket.
  void do_udp_sendmmsg(const tn_call *c, VSock &v) {
    size_t vlen = std::min<size_t>(size_t(c->args[2]), kMaxIov);
    int flags = int(c->args[3]);
    std::vector<mmsghdr> mm(vlen);
    if (vlen && h->read_mem(hv, c, c->args[1], mm.data(), vlen * sizeof(mmsghdr)) < 0) {
      reply(c, 0, EFAULT);
      return;
    }
    size_t done = 0;
    int err = 0;
    for (; done < vlen; ++done) {
      OutMsg m;
      err = prepare(c, v, &mm[done].msg_hdr, &m);
      if (err) break;
      ssize_t n = far_sendmsg(v, m, flags);
      if (n < 0) {
        err = int(-n);
        break;
      }
      mm[done].msg_len = unsigned(n);
      if (h->write_mem(hv, c, c->args[1] + done * sizeof(mmsghdr) + offsetof(mmsghdr, msg_len),
                       &mm[done].msg_len, sizeof(unsigned)) < 0) {
        err = EFAULT;
        break;
      }
    }
    if (err == TN_ECANCELED) return;
    if (done) reply(c, int64_t(done), 0);
    else reply(c, 0, err ? err : 0);
  }
  // One datagram from the far socket, to its name (mapped by the provider) if it has one.
  ssize_t far_sendmsg(VSock &v, const OutMsg &m, int flags) {
    sockaddr_storage to{};
    socklen_t tolen = 0;
    if (m.named) {
      tolen = socklen_t(std::min(m.name.size(), sizeof to));
      memcpy(&to, m.name.data(), tolen);
      v.prov->map_dest(&to, tolen);
    }
    FarCall fc(this);
    if (!v.far) return -EBADF;
    if (!m.data && m.avail) return -ENOMEM;
    return v.far->sendmsg(m.data, m.len, m.named ? &to : nullptr, tolen,
                          m.ctllen ? m.ctl : nullptr, m.ctllen,
                          flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL));
  }
  // sendto/sendmsg with an address (UDP), or on TCP (the address is ignored there).
  void do_send(const tn_call *c, VPtr vp, bool is_msg) {
    VSock &v = *vp;
    int fd = int(c->args[0]);
    OutMsg m;
    int flags;
    if (!dgrambuf.ok() || !ctlbuf.ok()) {
      reply(c, 0, ENOMEM);
      return;
    }
    int e;
    if (is_msg) {
      msghdr mh{};
      if (h->read_mem(hv, c, c->args[1], &mh, sizeof mh) < 0) {
        reply(c, 0, EFAULT);
        return;
      }
      flags = int(c->args[2]);
      e = prepare(c, v, &mh, &m);
    } else {
      flags = int(c->args[3]);
      e = prepare(c, v, nullptr, &m);
    }
    if (e) {
      if (e != TN_ECANCELED) reply(c, 0, e);
      return;
    }
    int d = dup_of(c, fd);
    if (d < 0) {
      reply(c, 0, -d);
      return;
    }
    bool nonblock = (fcntl(d, F_GETFL) & O_NONBLOCK) || (flags & MSG_DONTWAIT);
    if (!v.udp && v.st != St::Connected) {
      close(d);
      reply(c, 0, v.st == St::Connecting ? EAGAIN : EPIPE);
      return;
    }
    uint64_t dl = deadline(v.sndtimeo_ns);
    for (;;) {
      ssize_t n;
      if (v.udp) {
        n = far_sendmsg(v, m, flags);
      } else {
        n = ::send(d, m.data, m.len, (flags & ~MSG_FASTOPEN) | MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) n = -errno;
      }
      if (n >= 0) {
        close(d);
        reply(c, n, 0);
        return;
      }
      e = int(-n);
      if (e != EAGAIN || nonblock) {
        close(d);
        reply(c, 0, e);
        return;
      }
      if (v.udp) own(m);  // other handlers use the shared buffers while this one waits
      int rc = v.udp ? park_on(v, c, dl) : h->wait_fd(hv, c, d, EPOLLOUT, dl);
      if (rc == -TN_ECANCELED) {
        close(d);
        return;
      }
      if (rc == 0) {
        close(d);
        reply(c, 0, EAGAIN);
        return;
      }
    }
  }

  // ---- names and options --------------------------------------------------------------
  void put_name(const tn_call *c, const sockaddr_storage &ss, socklen_t sl) {
    int ulen = 0;
    if (h->read_mem(hv, c, c->args[2], &ulen, sizeof ulen) < 0) {
      reply(c, 0, EFAULT);
      return;
    }
    if (ulen < 0) {
      reply(c, 0, EINVAL);
      return;
    }
    size_t n = std::min<size_t>(size_t(ulen), sl);
    int outlen = int(sl);
    if (write2(c, c->args[1], &ss, n, c->args[2], &outlen, sizeof outlen) < 0) {
      reply(c, 0, EFAULT);
      return;
    }
    reply(c, 0, 0);
  }
  void do_name(const tn_call *c, VSock &v, bool peer) {
    sockaddr_storage ss{};
    socklen_t sl = sizeof ss;
    int rc;
    {
      FarCall fc(this);
      rc = v.far ? v.far->name(peer, &ss, &sl) : -EBADF;
    }
    if (rc < 0) {
      reply(c, 0, -rc);
      return;
    }
    v.prov->map_name(&ss, sl, peer, v.tag);
    put_name(c, ss, sl);
  }
  void do_bind(const tn_call *c, VSock &v) {
    socklen_t len = socklen_t(c->args[2]);
    sockaddr_storage ss{};
    if (len > sizeof ss) {
      reply(c, 0, EINVAL);
      return;
    }
    if (len && h->read_mem(hv, c, c->args[1], &ss, len) < 0) {
      reply(c, 0, EFAULT);
      return;
    }
    uint32_t tag = 0;
    if (ss.ss_family == v.domain) v.prov->map_bind(&ss, len, &tag);
    int rc;
    {
      FarCall fc(this);
      rc = v.far ? v.far->bind(ss, len) : -EBADF;
    }
    if (rc == 0) v.tag = tag;
    reply(c, 0, rc < 0 ? -rc : 0);
  }
  static uint64_t tv_ns(const char *val, size_t n, int optname) {
    if (optname == SO_RCVTIMEO_NEW || optname == SO_SNDTIMEO_NEW) {
      if (n < 16) return 0;
      int64_t s, us;
      memcpy(&s, val, 8);
      memcpy(&us, val + 8, 8);
      return s < 0 ? 0 : uint64_t(s) * 1'000'000'000ull + uint64_t(us) * 1000ull;
    }
    if (n < sizeof(timeval)) return 0;
    timeval tv;
    memcpy(&tv, val, sizeof tv);
    if (tv.tv_sec < 0) return 0;
    return uint64_t(tv.tv_sec) * 1'000'000'000ull + uint64_t(tv.tv_usec) * 1000ull;
  }
  // Is `level` one this socket's protocols answer (else Linux answers without looking)?
  static bool own_level(const VSock &v, int level) {
    switch (level) {
      case SOL_SOCKET: return true;
      case IPPROTO_IP: return v.domain == AF_INET || v.domain == AF_INET6;
      case IPPROTO_IPV6: return v.domain == AF_INET6;
      case IPPROTO_TCP: return v.type == SOCK_STREAM;
      case IPPROTO_UDP:
        return v.type == SOCK_DGRAM && (v.protocol == 0 || v.protocol == IPPROTO_UDP);
      case IPPROTO_ICMPV6:
        return v.domain == AF_INET6 && v.type != SOCK_STREAM && v.protocol == IPPROTO_ICMPV6;
      case 255 /* SOL_RAW */: return v.type == SOCK_RAW;
      default: return false;
    }
  }
  // Is [addr, addr + n) of the tracee readable? (-ENOENT: the call went away.)
  int readable(const tn_call *c, uint64_t addr, size_t n) {
    char tmp[16];
    return h->read_mem(hv, c, addr, tmp, std::min(n, sizeof tmp));
  }
  // Linux's int read before the option itself at SOL_SOCKET/TCP/UDP (and IPv6 for a
  // non-NULL value of 4 bytes or more): 0, or the errno it gives. `got` is how much of the
  // value is known to be readable (-1: not known yet, asked here).
  int int_first(const tn_call *c, int level, int name, uint64_t uval, int len, long got = -1) {
    bool generic = sockopt::reads_int_first(level) &&
                   !(level == SOL_SOCKET && name == SO_BINDTODEVICE) &&
                   !(level == IPPROTO_TCP &&
                     (name == TCP_CONGESTION || name == TCP_ULP || name == TCP_FASTOPEN_KEY));
    bool v6 = level == IPPROTO_IPV6 && uval && len >= int(sizeof(int));
    if (generic && len < int(sizeof(int))) return EINVAL;
    if (!generic && !v6) return 0;
    if (got >= 0) return got >= long(sizeof(int)) ? 0 : EFAULT;
    int rc = readable(c, uval, sizeof(int));
    return rc == -ENOENT ? TN_ECANCELED : rc < 0 ? EFAULT : 0;
  }
  int far_setopt(VSock &v, int level, int name, const void *val, socklen_t len) {
    FarCall fc(this);
    return v.far ? v.far->setopt(level, name, val, len) : -EBADF;
  }
  int far_getopt(VSock &v, int level, int name, void *val, socklen_t *len) {
    FarCall fc(this);
    return v.far ? v.far->getopt(level, name, val, len) : -EBADF;
  }
  bool filter_locked(VSock &v) {
    int on = 0;
    socklen_t l = sizeof on;
    return far_getopt(v, SOL_SOCKET, SO_LOCK_FILTER, &on, &l) == 0 && on;
  }
  // SO_ATTACH_FILTER / SO_ATTACH_REUSEPORT_CBPF: the program's struct sock_fprog points
  // at instructions in the tracee; the far side gets a copy in the supervisor.
  int set_filter(const tn_call *c, VSock &v, int level, int name, uint64_t uval, int len) {
    if (len != int(sizeof(sock_fprog))) return EINVAL;
    struct {
      uint16_t len;
      uint16_t pad[3];
      uint64_t filter;
    } uf{};
    static_assert(sizeof uf == sizeof(sock_fprog));
    int rc = h->read_mem(hv, c, uval, &uf, sizeof uf);
    if (rc < 0) return rc == -ENOENT ? TN_ECANCELED : EFAULT;
    if (filter_locked(v)) return EPERM;
    if (!uf.filter || uf.len == 0 || uf.len > BPF_MAXINSNS) return EINVAL;
    std::vector<sock_filter> insns(uf.len);
    rc = h->read_mem(hv, c, uf.filter, insns.data(), insns.size() * sizeof(sock_filter));
    if (rc < 0) return rc == -ENOENT ? TN_ECANCELED : EFAULT;
    sock_fprog local{uf.len, insns.data()};
    rc = far_setopt(v, level, name, &local, sizeof local);
    return rc < 0 ? -rc : 0;
  }
  // SO_ATTACH_BPF / SO_ATTACH_REUSEPORT_EBPF: the value is an fd of the tracee's; the far
  // side gets the supervisor's duplicate of it.
  int set_bpf_fd(const tn_call *c, VSock &v, int level, int name, uint64_t uval, int len) {
    if (len != int(sizeof(uint32_t))) return EINVAL;
    uint32_t ufd = 0;
    int rc = h->read_mem(hv, c, uval, &ufd, sizeof ufd);
    if (rc < 0) return rc == -ENOENT ? TN_ECANCELED : EFAULT;
    if (name == SO_ATTACH_BPF && filter_locked(v)) return EPERM;
    int d = h->get_fd(hv, c, int(ufd));
    if (d == -ENOENT) return TN_ECANCELED;
    if (d < 0) return EBADF;
    uint32_t local = uint32_t(d);
    rc = far_setopt(v, level, name, &local, sizeof local);
    close(d);
    return rc < 0 ? -rc : 0;
  }
  void do_setsockopt(const tn_call *c, VSock &v) {
    int level = int(c->args[1]), name = int(c->args[2]);
    uint64_t uval = c->args[3];
    int len = int(c->args[4]);
    auto answer = [&](int e) {
      if (e != TN_ECANCELED) reply(c, 0, e);
    };
    if (len < 0) return answer(EINVAL);
    if (!optbuf.ok()) return answer(ENOMEM);
    if (!own_level(v, level)) return answer(ENOPROTOOPT);
    const sockopt::Spec *sp = sockopt::find(level, name);
    sockopt::Set kind = sp ? sp->set : sockopt::Set::No;
    if (kind != sockopt::Set::Value) {
      if (int e = int_first(c, level, name, uval, len)) return answer(e);
      switch (kind) {
        case sockopt::Set::Filter: return answer(set_filter(c, v, level, name, uval, len));
        case sockopt::Set::BpfFd: return answer(set_bpf_fd(c, v, level, name, uval, len));
        case sockopt::Set::Refuse: return answer(sp->set_err);
        default: return answer(ENOPROTOOPT);
      }
    }
    size_t want = std::min<size_t>(size_t(len), sp->cap);
    char *at = nullptr;
    long got = uval ? copy_to_guard(h, c, uval, want, optbuf, &at) : 0;
    if (got < 0) return;  // the call went away
    bool kernel = v.far && v.far->kernel_socket();
    int rc;
    if (kernel) {
      // The program's length, its readable bytes, then the guard: the host kernel checks
      // and faults exactly as the program's own kernel would.
      rc = far_setopt(v, level, name, uval ? at : nullptr, socklen_t(len));
    } else {
      // A far side that is not a kernel socket gets only readable values: the kernel's
      // length checks and faults are decided here, in the kernel's order.
      if (int e = int_first(c, level, name, uval, len, got)) return answer(e);
      if (uint32_t(len) < sp->min) return answer(EINVAL);
      int small = 0;
      if (!uval && level == IPPROTO_IPV6 && sp->cap == sizeof(int)) {
        at = reinterpret_cast<char *>(&small);  // Linux takes a NULL IPv6 int as 0
        got = long(want);
      } else if (level == IPPROTO_IP && sp->cap == sizeof(int) && sp->min == 0 &&
                 len < int(sizeof(int))) {
        // IP options take 0, 1 or 4 bytes: a shorter value is its first byte (or 0).
        if (len >= 1 && got < 1) return answer(EFAULT);
        small = len >= 1 ? static_cast<unsigned char>(*at) : 0;
        at = reinterpret_cast<char *>(&small);
        want = sizeof small;
        got = long(want);
      } else if (size_t(got) < want && level == IPPROTO_TCP && name == TCP_CONGESTION &&
                 memchr(at, 0, size_t(got))) {
        want = size_t(got);  // a name: Linux stops at its NUL
      }
      if (size_t(got) < want) return answer(EFAULT);
      rc = far_setopt(v, level, name, want ? at : nullptr, socklen_t(want));
    }
    int e = rc < 0 ? -rc : 0;
    if (rc == 0 && level == SOL_SOCKET &&
        (name == SO_RCVTIMEO_OLD || name == SO_SNDTIMEO_OLD || name == SO_RCVTIMEO_NEW ||
         name == SO_SNDTIMEO_NEW || name == SO_RCVLOWAT) &&
        size_t(got) == want) {
      // These govern the tracee's own reads/writes on its end too.
      int d = dup_of(c, int(c->args[0]));
      if (d >= 0) {
        setsockopt(d, level, name, at, socklen_t(want));
        close(d);
      }
      if (name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW)
        v.rcvtimeo_ns = tv_ns(at, want, name);
      if (name == SO_SNDTIMEO_OLD || name == SO_SNDTIMEO_NEW)
        v.sndtimeo_ns = tv_ns(at, want, name);
    }
    answer(e);
  }
  void do_getsockopt(const tn_call *c, VSock &v) {
    int level = int(c->args[1]), name = int(c->args[2]);
    uint64_t uval = c->args[3], ulenp = c->args[4];
    auto answer = [&](int e) {
      if (e != TN_ECANCELED) reply(c, 0, e);
    };
    if (!optbuf.ok()) return answer(ENOMEM);
    if (!own_level(v, level)) return answer(v.domain == AF_INET ? EOPNOTSUPP : ENOPROTOOPT);
    int ulen = 0;
    if (int rc = h->read_mem(hv, c, ulenp, &ulen, sizeof ulen); rc < 0)
      return answer(rc == -ENOENT ? TN_ECANCELED : EFAULT);
    const sockopt::Spec *sp = sockopt::find(level, name);
    sockopt::Get kind = sp ? sp->get : sockopt::Get::No;
    bool kernel = v.far && v.far->kernel_socket();
    // A kernel far side checks the length itself (as the program's kernel would); for
    // others: negative is EINVAL, except at the IPv6 level, which takes it as unsigned.
    if (ulen < 0 && !kernel && level != IPPROTO_IPV6) return answer(EINVAL);
    if (kind == sockopt::Get::No) return answer(ulen < 0 ? EINVAL : ENOPROTOOPT);
    if (kind == sockopt::Get::Refuse) return answer(ulen < 0 ? EINVAL : sp->get_err);
    char *buf = optbuf.begin();
    socklen_t sl = kernel ? socklen_t(ulen) : socklen_t(std::min<uint32_t>(uint32_t(ulen), optbuf.size()));
    size_t out_bytes = 0;  // bytes of the answer to copy to optval
    int rc;
    if (kind == sockopt::Get::Filter) {  // SO_GET_FILTER: the length counts instructions
      if (ulen < 0) return answer(EINVAL);
      sl = socklen_t(std::min(ulen, BPF_MAXINSNS));
      rc = far_getopt(v, level, name, buf, &sl);
      if (rc == 0) out_bytes = ulen > 0 ? size_t(sl) * sizeof(sock_filter) : 0;
    } else if (level == SOL_SOCKET && name == SO_ERROR) {
      if (ulen < 0) return answer(EINVAL);
      if (v.st == St::Connecting) finish_connect(v);
      int e = 0;
      socklen_t el = sizeof e;
      far_getopt(v, SOL_SOCKET, SO_ERROR, &e, &el);
      if (v.pending_err) {
        e = v.pending_err;
        v.pending_err = 0;
        v.err_consumed = true;
        // Clear the ECONNRESET the kernel put on the tracee end when we closed ours.
        int d = dup_of(c, int(c->args[0]));
        if (d >= 0) {
          int x;
          socklen_t xl = sizeof x;
          getsockopt(d, SOL_SOCKET, SO_ERROR, &x, &xl);
          close(d);
        }
      }
      rc = 0;
      sl = std::min<socklen_t>(socklen_t(ulen), sizeof e);
      memcpy(buf, &e, sl);
      out_bytes = sl;
    } else {
      if (kind == sockopt::Get::InOut && ulen > 0) {
        // The socket reads the request the program put in the buffer.
        size_t want = std::min<size_t>(size_t(ulen), sp->in);
        char *at = nullptr;
        long got = copy_to_guard(h, c, uval, want, optbuf, &at);
        if (got < 0) return;
        if (size_t(got) < want) {
          if (!kernel) return answer(EFAULT);
          buf = at;  // the host kernel faults where the program's would
        } else {
          memmove(buf, at, want);
        }
      }
      socklen_t before = sl;
      rc = far_getopt(v, level, name, buf, &sl);
      if (rc < 0 && sl != before) {
        // Some options report the length they need along with the error (ERANGE).
        int need = int(sl);
        if (h->write_mem(hv, c, ulenp, &need, sizeof need) < 0) return answer(EFAULT);
      }
      if (rc == 0) out_bytes = std::min<size_t>(sl, optbuf.size());
    }
    if (rc < 0) return answer(-rc);
    int outlen = int(sl);
    if ((out_bytes && h->write_mem(hv, c, uval, buf, out_bytes) < 0) ||
        h->write_mem(hv, c, ulenp, &outlen, sizeof outlen) < 0)
      return answer(EFAULT);
    reply(c, 0, 0);
  }
  // ---- dispatch -----------------------------------------------------------------------
  void do_socket(const tn_call *c, Provider &p) {
    int domain = int(c->args[0]), type = int(c->args[1]), proto = int(c->args[2]);
    int err = 0;
    std::unique_ptr<Far> far;
    {
      FarCall fc(this);
      far = p.create(domain, type, proto, &err);
    }
    if (!far) {
      reply(c, 0, err ? err : ENOMEM);
      return;
    }
    VPtr v = new_vsock(domain, type & 0xf, proto, std::move(far), &p);
    if (!v) {
      reply(c, 0, ENOMEM);
      return;
    }
    int te = new_pair(*v, type & SOCK_NONBLOCK);
    if (te < 0) {
      destroy(*v);
      reply(c, 0, -te);
      return;
    }
    table[v->ident] = v;
    int rc = h->inject_fd(hv, c, te, -1,
                          send_flags() | ((type & SOCK_CLOEXEC) ? TN_INJECT_CLOEXEC : 0));
    close(te);
    if (rc < 0) {
      destroy(*v);  // (a copy the tracee may hold unannounced sees our end close)
      if (rc != -ENOENT && rc != -EOWNERDEAD) reply(c, 0, -rc);
      return;
    }
    v->last_tgid = c->tgid;
    v->last_fd = rc;
  }
  void handle(const tn_call *c) {
    VPtr v;
    if (auto it = chosen.find(c->id); it != chosen.end()) {
      v = std::move(it->second.v);
      if (it->second.dup >= 0) predup[c->id] = it->second.dup;
      chosen.erase(it);
    }
    if (!v || v->dead) v = lookup(c, int(c->args[0]));
    if (v) serve(c, v);
    else h->reply_continue(hv, c);  // closed between choose and handle
    // The duplicate choose() made and the handler did not take.
    if (auto it = predup.find(c->id); it != predup.end()) {
      if (it->second >= 0) close(it->second);
      predup.erase(it);
    }
  }
  void serve(const tn_call *c, const VPtr &v) {
    v->last_tgid = c->tgid;
    v->last_fd = int(c->args[0]);
    switch (c->nr) {
      case SYS_connect: do_connect(c, v); break;
      case SYS_bind: do_bind(c, *v); break;
      case SYS_listen: {
        // A long queue lets accept take the next connection ahead (refill), and the far
        // listener's queue is one shorter so that as many peers connect as natively; a
        // short one, whose limit programs and tests may probe, is served exactly.
        int backlog = int(c->args[1]);
        bool prefetch = backlog >= 8;
        int rc;
        {
          FarCall fc(this);
          rc = v->far ? v->far->listen(prefetch ? backlog - 1 : backlog) : -EBADF;
        }
        if (rc == 0) v->prefetch = prefetch;
        if (rc == 0 && !v->udp && v->st != St::Listening) {
          v->st = St::Listening;
          // A listening socket never polls writable: fill the tracee end's send buffer.
          int d = dup_of(c, int(c->args[0]));
          if (d >= 0) {
            fill(*v, d);
            close(d);
          }
          if (far_pending(*v)) set_marker(*v);
        }
        reply(c, 0, rc < 0 ? -rc : 0);
        break;
      }
      case SYS_accept: do_accept(c, v, 0); break;
      case SYS_accept4: do_accept(c, v, int(c->args[3])); break;
      case SYS_getsockname: do_name(c, *v, false); break;
      case SYS_getpeername: do_name(c, *v, true); break;
      case SYS_setsockopt: do_setsockopt(c, *v); break;
      case SYS_getsockopt: do_getsockopt(c, *v); break;
      case SYS_shutdown:
        if (int(c->args[1]) < SHUT_RD || int(c->args[1]) > SHUT_RDWR) {
          reply(c, 0, EINVAL);  // before anything else, as inet_shutdown does
          break;
        }
        v->shut = true;
        if (!v->udp && v->st == St::Connected) {
          h->reply_continue(hv, c);  // the pair carries it (queued data first, then FIN)
        } else {
          int rc;
          {
            FarCall fc(this);
            rc = v->far ? v->far->shutdown(int(c->args[1])) : -EBADF;
          }
          if (rc == 0) wake_all(*v);
          reply(c, 0, rc < 0 ? -rc : 0);
        }
        break;
      case SYS_sendto: do_send(c, v, false); break;
      case SYS_sendmsg: do_send(c, v, true); break;
      case SYS_recvfrom: do_udp_recv(c, v, 0); break;
      case SYS_recvmsg: do_udp_recv(c, v, 1); break;
      case SYS_recvmmsg: do_udp_recv(c, v, 2); break;
      case SYS_sendmmsg: do_udp_sendmmsg(c, *v); break;
      default: h->reply_continue(hv, c); break;
    }
  }
  // choose()'s fd lookup: the socket behind args[0] and a duplicate of that fd (kept for
  // the handler), or nullptr.
  VPtr choose_lookup(const tn_call *c, int *dup) {
    *dup = -1;
    int fd = int(c->args[0]);
    if (fd < 0) return nullptr;
    int d = fds.dup_of(c, fd);
    if (d < 0) return nullptr;
    uint64_t id = ident_local(d);
    auto it = id ? table.find(id) : table.end();
    if (it == table.end() || it->second->dead) {
      close(d);
      return nullptr;
    }
    *dup = d;
    return it->second;
  }
  int choose(const tn_call *c) {
    // Asked again for a call it already claimed (a module's handle re-checking).
    if (auto it = chosen.find(c->id); it != chosen.end() && !it->second.v->dead)
      return TN_CHOICE_MINE;
    switch (c->nr) {
      case SYS_socket:
        return TN_CHOICE_NONE;  // the module decides (Engine::socket)
      case SYS_sendto:
      case SYS_recvfrom:
        if (!c->args[4]) return TN_CHOICE_NONE;  // no address: the pair handles it
        break;
      case SYS_recvmmsg:
      case SYS_sendmmsg: {
        size_t n = std::min<size_t>(size_t(c->args[2]), 64);
        mmsghdr mm[64];
        if (!n || h->read_mem(hv, c, c->args[1], mm, n * sizeof(mmsghdr)) < 0)
          return TN_CHOICE_NONE;
        bool named = false;
        for (size_t i = 0; i < n; ++i) named |= mm[i].msg_hdr.msg_name != nullptr;
        if (!named) return TN_CHOICE_NONE;
        break;
      }
      case SYS_sendmsg:
      case SYS_recvmsg: {
        // Every program's sendmsg/recvmsg is trapped (AF_UNIX too): the cheap test first.
        msghdr mh{};
        if (h->read_mem(hv, c, c->args[1], &mh, sizeof mh) < 0 || !mh.msg_name)
          return TN_CHOICE_NONE;
        break;
      }
      default:
        break;
    }
    int dup = -1;
    VPtr found = choose_lookup(c, &dup);
    if (!found) return TN_CHOICE_NONE;
    const VSock &v = *found;
    bool mine = true;
    switch (c->nr) {
      case SYS_recvfrom:
        // A stream end reports an empty address exactly like TCP: only UDP needs us.
      case SYS_recvmsg:
        // (a stream end reports no address, like TCP)
      case SYS_recvmmsg:
      case SYS_sendmmsg:
        // Only UDP with at least one address needs us (the pair carries the rest).
        mine = v.udp;
        break;
      default:
        break;
    }
    if (!mine) {
      close(dup);
      return TN_CHOICE_NONE;
    }
    if (chosen.size() > 4096) {  // calls that vanished before handle()
      for (auto &kv : chosen)
        if (kv.second.dup >= 0) close(kv.second.dup);
      chosen.clear();
    }
    chosen[c->id] = Chosen{found, dup};
    return TN_CHOICE_MINE;
  }
};


// At the end of the run the tracees are gone but bytes they wrote may still sit in the
// pairs or in a stash (the kernel would have sent them after the process exited): move
// them to the far sockets, whose close then sends them. Bounded by kFlushNs in total.
constexpr uint64_t kFlushNs = 5'000'000'000ull;
static void flush_all(Engine::Impl *r) {
  uint64_t end = r->h->now_ns(r->hv) + kFlushNs;
  std::vector<VPtr> all;
  for (auto &kv : r->table)
    if (!kv.second->udp && kv.second->st == St::Connected) all.push_back(kv.second);
  for (auto &v : all) {
    while (!v->dead && v->sup >= 0 && r->h->now_ns(r->hv) < end) {
      r->pump(*v, true);
      if (v->dead || v->up.dst_dead) break;
      bool pending = v->up.off < v->up.data.size();
      int pfd = pending ? (v->far ? v->far->poll_fd() : -1) : v->sup;
      if (pfd < 0) break;
      pollfd p{pfd, short(pending ? POLLOUT : POLLIN), 0};
      if (!pending) {
        if (v->up.src_eof || poll(&p, 1, 0) <= 0) break;
        continue;
      }
      poll(&p, 1, 100);
    }
  }
}

Engine::Engine(const tn_host *h, TraceeFds &fds) : impl_(std::make_unique<Impl>(h, fds)) {}
Engine::~Engine() { fini(); }
bool Engine::choose(const tn_call *c) { return impl_ && impl_->choose(c) == TN_CHOICE_MINE; }
void Engine::handle(const tn_call *c) { impl_->handle(c); }
void Engine::socket(const tn_call *c, Provider &p) { impl_->do_socket(c, p); }
void Engine::run_posted() {
  if (impl_ && impl_->far_depth == 0 && !impl_->draining && !impl_->posted.empty())
    impl_->drain();
}
void Engine::on_exit(int32_t tgid) { impl_->fds.drop(tgid); }
void Engine::fini() {
  if (!impl_) return;
  Impl *r = impl_.get();
  flush_all(r);
  if (r->sweep_timer > 0) r->h->cancel_timer(r->hv, r->sweep_timer);
  if (r->kick_timer > 0) r->h->cancel_timer(r->hv, r->kick_timer);
  r->sweep_timer = r->kick_timer = 0;
  r->kicks.clear();
  std::vector<VPtr> all;
  for (auto &kv : r->table) all.push_back(kv.second);
  for (auto &z : r->zombies) all.push_back(z);
  for (auto &v : all) r->destroy(*v);
  r->table.clear();
  r->zombies.clear();
  r->posted.clear();
  impl_.reset();
}

// ---- the host kernel as far side --------------------------------------------------------
namespace {

class HostFar final : public Far {
 public:
  HostFar(const tn_host *h, int fd) : h_(h), fd_(fd) {}
  ~HostFar() override {
    // The far socket is never duplicated: closing it drops it from the epoll set.
    bool quick = h_->size >= offsetof(tn_host, close_watched) + sizeof(void *) && h_->close_watched;
    if (watching_ && quick) {
      h_->close_watched(h_->hv, fd_);
      return;
    }
    if (watching_) h_->unwatch_fd(h_->hv, fd_);
    close(fd_);
  }
  int start(std::function<void(uint32_t)> cb) override {
    cb_ = std::move(cb);
    if (watching_) return 0;
    int rc = h_->watch_fd(h_->hv, fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &HostFar::event, this);
    if (rc == 0) watching_ = true;
    return rc;
  }
  int connect(const sockaddr_storage &to, socklen_t len) override {
    return ret(::connect(fd_, reinterpret_cast<const sockaddr *>(&to), len));
  }
  int bind(const sockaddr_storage &a, socklen_t len) override {
    return ret(::bind(fd_, reinterpret_cast<const sockaddr *>(&a), len));
  }
  int listen(int backlog) override { return ret(::listen(fd_, backlog)); }
  std::unique_ptr<Far> accept(sockaddr_storage *peer, socklen_t *plen, int *err) override {
    int n = accept4(fd_, reinterpret_cast<sockaddr *>(peer), plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (n < 0) {
      *err = errno;
      return nullptr;
    }
    return std::make_unique<HostFar>(h_, n);
  }
  bool accept_pending() override {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
  }
  ssize_t recv(void *buf, size_t n) override {
    return sret(::recv(fd_, buf, n, MSG_DONTWAIT));
  }
  ssize_t send(const void *buf, size_t n) override {
    return sret(::send(fd_, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL));
  }
  ssize_t recvfrom(void *buf, size_t n, sockaddr_storage *from, socklen_t *flen) override {
    return sret(::recvfrom(fd_, buf, n, MSG_DONTWAIT, reinterpret_cast<sockaddr *>(from), flen));
  }
  ssize_t sendmsg(const void *buf, size_t n, const sockaddr_storage *to, socklen_t tolen,
                  const void *ctl, size_t ctllen, int flags) override {
    if (to && tolen == 0 && !ctl)  // sendto with an address of length 0 (EINVAL for UDP)
      return sret(::sendto(fd_, buf, n, flags | MSG_DONTWAIT | MSG_NOSIGNAL,
                           reinterpret_cast<const sockaddr *>(to), 0));
    iovec one{const_cast<void *>(buf), n};
    msghdr m{};
    m.msg_iov = &one;
    m.msg_iovlen = 1;
    if (to) {
      m.msg_name = const_cast<sockaddr_storage *>(to);
      m.msg_namelen = tolen;
    }
    if (ctl) {
      m.msg_control = const_cast<void *>(ctl);
      m.msg_controllen = ctllen;
    }
    return sret(::sendmsg(fd_, &m, flags | MSG_DONTWAIT | MSG_NOSIGNAL));
  }
  int shutdown(int how) override { return ret(::shutdown(fd_, how)); }
  int name(bool peer, sockaddr_storage *out, socklen_t *len) override {
    auto *sa = reinterpret_cast<sockaddr *>(out);
    return ret(peer ? getpeername(fd_, sa, len) : getsockname(fd_, sa, len));
  }
  int setopt(int level, int name, const void *val, socklen_t len) override {
    return ret(setsockopt(fd_, level, name, val, len));
  }
  int getopt(int level, int name, void *val, socklen_t *len) override {
    return ret(getsockopt(fd_, level, name, val, len));
  }
  int poll_fd() const override { return fd_; }
  bool kernel_socket() const override { return true; }

 private:
  static int ret(int rc) { return rc < 0 ? -errno : rc; }
  static ssize_t sret(ssize_t rc) { return rc < 0 ? -errno : rc; }
  static void event(void *arg, int, uint32_t ev) {
    auto *self = static_cast<HostFar *>(arg);
    if (self->cb_) self->cb_(ev);
  }
  const tn_host *h_;
  int fd_;
  bool watching_ = false;
  std::function<void(uint32_t)> cb_;
};

}  // namespace

std::unique_ptr<Far> host_far(const tn_host *h, int fd) { return std::make_unique<HostFar>(h, fd); }

std::unique_ptr<Far> HostProvider::create(int domain, int type, int protocol, int *err) {
  int fd = ::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) {
    *err = errno;
    return nullptr;
  }
  return std::make_unique<HostFar>(h_, fd);
}

}  // namespace tn::vsock
