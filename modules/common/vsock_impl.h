// Private to the vsock engine (not for modules): the virtual socket and the engine's
// state, shared by the files that implement it. The theory of operation is at the top of
// vsock.cpp; each file holds one concern:
//   vsock.cpp          lifetime and creation, events, dispatch, the Engine API
//   vsock_pump.cpp     the TCP byte pump (backpressure, EOF, resets)
//   vsock_connect.cpp  connect (filler, completion, a fresh pair after a failure)
//   vsock_accept.cpp   listening sockets and accept
//   vsock_udp.cpp      datagrams in and out, and every message from the program
//   vsock_options.cpp  names and socket options
//   host_far.cpp       the host kernel as far side
#pragma once

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

inline constexpr size_t kScratch = 256 * 1024;
inline constexpr size_t kPumpBudget = 8u << 20;  // bytes per direction per event before yielding
inline constexpr size_t kMaxDgram = 65536;
inline constexpr uint64_t kSweepNs = 500'000'000ull;
inline constexpr size_t kMaxCtl = 256 * 1024;
inline constexpr size_t kMaxIov = 1024;                 // UIO_MAXIOV
inline constexpr size_t kMaxRw = 0x7ffff000;            // MAX_RW_COUNT: bytes per call at most
inline constexpr uint64_t kUserTop = 0x7ffffffff000ull;  // x86_64 user space ends (4 levels)

// net.core.optmem_max: sendmsg control data beyond it is ENOBUFS (vsock_udp.cpp).
size_t read_optmem_max();

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
  void close_sup(VSock &v);
  void destroy(VSock &v);
  void make_zombie(VSock &v);
  void arm_sweep();
  static void sweep_cb(void *arg);
  // The sup end saw HUP: every copy of the tracee end closed, or both directions shut.
  void closed_check(VSock &v);

  // ---- creation -----------------------------------------------------------------------
  // New pair: returns the tracee end (caller closes it after injecting) or -errno.
  int new_pair(VSock &v, bool tracee_nonblock);
  VPtr new_vsock(int domain, int type, int protocol, std::unique_ptr<Far> far, Provider *prov);

  // ---- events -------------------------------------------------------------------------
  static void sup_cb(void *arg, int, uint32_t ev);
  // Pumps cut short by their budget resume from one zero-delay timer (no allocation per
  // kick, nothing left behind at fini).
  std::vector<std::weak_ptr<VSock>> kicks;
  long kick_timer = 0;
  void schedule_kick(VSock &v);
  static void kick_cb(void *arg);
  void on_far(VSock &v, uint32_t ev);
  void on_sup(VSock &v, uint32_t ev);

  // ---- TCP byte pump ------------------------------------------------------------------
  // Byte moves between the sup end and the far socket; -errno on failure.
  ssize_t to_dst(VSock &v, bool up, const void *p, size_t n);
  ssize_t from_src(VSock &v, bool up, void *p, size_t n);
  // up == true: sup -> far; else far -> sup. Runs until a side would block.
  void pump(VSock &v, bool up);
  // The source of one direction reached its end (all of it handed to the destination).
  void src_ended(VSock &v, bool up, Stash &s);
  // A duplicate of the tracee end outside a handler: through the last process and fd
  // number seen using this socket, checked by identity. -1 if that is gone.
  int tracee_dup(VSock &v);
  // The host connection was reset: the tracee's reads must end with ECONNRESET (after the
  // bytes already delivered), not EOF. The kernel does exactly that to a pair end whose
  // peer closes with unread data, so one byte is put into our end's queue from a transient
  // duplicate of the tracee end, and our end is closed.
  bool reset_tracee(VSock &v);
  void dst_broken(VSock &v, bool up);
  // fresh_pair: the program got its end only now (accept), so nothing can wait on ours yet;
  // the edge-triggered watch reports its first write.
  void start_connected(VSock &v, bool fresh_pair = false);

  // ---- listening ----------------------------------------------------------------------
  void set_marker(VSock &v);
  bool far_pending(VSock &v);
  int far_connect(VSock &v, const sockaddr_storage &ss, socklen_t len);

  // ---- connect ------------------------------------------------------------------------
  // Write filler into the tracee end's send buffer so it does not poll writable.
  void fill(VSock &v, int tracee_dup);
  // Reads the filler back, all of it or all but `keep` bytes.
  void discard_filler(VSock &v, size_t keep = 0);
  // The host connect may have finished: ask it with a second connect().
  void finish_connect(VSock &v);
  // Replace the tracee's broken pair end by a fresh one at the same fd number.
  int swap_pair(VSock &v, const tn_call *c, int fd);
  void do_connect(const tn_call *c, VPtr vp);

  // ---- accept -------------------------------------------------------------------------
  void do_accept(const tn_call *c, VPtr vp, int flags);
  // Takes the next pending far connection into the backlog; false if there is none.
  bool refill(VSock &v);
  void push_back_pending(VSock &lv, std::unique_ptr<Far> f, const sockaddr_storage &peer,
                         socklen_t plen);
  void deliver_accepted(const tn_call *c, VSock &lv, std::unique_ptr<Far> nfd,
                        const sockaddr_storage &peer,
                        socklen_t plen, int flags);

  // ---- UDP ----------------------------------------------------------------------------
  void udp_push(VSock &v);
  ssize_t far_send(VSock &v, const void *p, size_t n);
  void udp_pull(VSock &v);
  // One datagram for the tracee: data scattered into `iov` (tracee addresses). Returns the
  // recv result (>= 0) or -errno; -TN_ECANCELED when the call went away. *from / *from_len
  // / *mflags describe it. A datagram whose copy faults is consumed, as in the kernel.
  long recv_one(const tn_call *c, VSock &v, int d, const std::vector<iovec> &iov, int flags,
                bool nonblock, uint64_t dl, sockaddr_storage *from, socklen_t *from_len,
                int *mflags);
  // The kernel's import of a msghdr's iovec array: EMSGSIZE past UIO_MAXIOV, EFAULT for an
  // unreadable array or a range outside user space, EINVAL for a negative length; lengths
  // are cut to MAX_RW_COUNT in all. 0 or errno.
  int read_iov(const tn_call *c, const msghdr &mh, std::vector<iovec> *iov);
  // The kernel's move_addr_to_user for an address and its length argument: the length read
  // (EFAULT), cut to the address's, negative: EINVAL; then the address and its real length.
  int put_addr(const tn_call *c, uint64_t addr, uint64_t lenp, const sockaddr_storage &ss,
               socklen_t klen);
  // After a datagram: msg_namelen, msg_flags and msg_controllen (no ancillary data) of the
  // program's msghdr at `at`, the address first.
  int put_msg(const tn_call *c, uint64_t at, const msghdr &mh, const sockaddr_storage &from,
              socklen_t from_len, int mflags);
  // recvmmsg's timeout: read (EFAULT) and checked (EINVAL) like the kernel, then not used.
  int check_timeout(const tn_call *c, uint64_t at);
  // recvfrom/recvmsg/recvmmsg with an address on a virtual UDP socket.
  void do_udp_recv(const tn_call *c, VPtr vp, int kind /* 0 from, 1 msg, 2 mmsg */);

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
  int read_name(const tn_call *c, uint64_t addr, int len, std::vector<char> *out);
  // The data of `iov` for a datagram: readable prefix against the guard of dgrambuf.
  int gather_dgram(const tn_call *c, const std::vector<iovec> &iov, OutMsg *m);
  int gather_stream(const tn_call *c, const std::vector<iovec> &iov, OutMsg *m);
  // Control data: more than INT_MAX is ENOBUFS; a kernel far side gets the readable
  // prefix against ctlbuf's guard, others all of it or EFAULT (ENOBUFS past optmem_max).
  int gather_ctl(const tn_call *c, const msghdr &mh, bool kernel, OutMsg *m);
  // The framing of control data as the kernel walks it (for far sides that do not parse
  // it themselves): every header must fit and have a length between its own and the end.
  static bool cmsgs_ok(const OutMsg &m);
  // sendmsg's msghdr (already read) or sendto's arguments into *m: 0 or errno.
  int prepare(const tn_call *c, VSock &v, const msghdr *mh, OutMsg *m);
  // Moves a prepared datagram's bytes out of the shared buffers (before the handler waits).
  void own(OutMsg &m);
  // sendmmsg with addresses on a virtual UDP socket: each message from the host socket.
  void do_udp_sendmmsg(const tn_call *c, VSock &v);
  // One datagram from the far socket, to its name (mapped by the provider) if it has one.
  ssize_t far_sendmsg(VSock &v, const OutMsg &m, int flags);
  // sendto/sendmsg with an address (UDP), or on TCP (the address is ignored there).
  void do_send(const tn_call *c, VPtr vp, bool is_msg);

  // ---- names and options --------------------------------------------------------------
  void put_name(const tn_call *c, const sockaddr_storage &ss, socklen_t sl);
  void do_name(const tn_call *c, VSock &v, bool peer);
  void do_bind(const tn_call *c, VSock &v);
  static uint64_t tv_ns(const char *val, size_t n, int optname);
  // Is `level` one this socket's protocols answer (else Linux answers without looking)?
  static bool own_level(const VSock &v, int level);
  // Is [addr, addr + n) of the tracee readable? (-ENOENT: the call went away.)
  int readable(const tn_call *c, uint64_t addr, size_t n);
  // Linux's int read before the option itself at SOL_SOCKET/TCP/UDP (and IPv6 for a
  // non-NULL value of 4 bytes or more): 0, or the errno it gives. `got` is how much of the
  // value is known to be readable (-1: not known yet, asked here).
  int int_first(const tn_call *c, int level, int name, uint64_t uval, int len, long got = -1);
  int far_setopt(VSock &v, int level, int name, const void *val, socklen_t len);
  int far_getopt(VSock &v, int level, int name, void *val, socklen_t *len);
  bool filter_locked(VSock &v);
  // SO_ATTACH_FILTER / SO_ATTACH_REUSEPORT_CBPF: the program's struct sock_fprog points
  // at instructions in the tracee; the far side gets a copy in the supervisor.
  int set_filter(const tn_call *c, VSock &v, int level, int name, uint64_t uval, int len);
  // SO_ATTACH_BPF / SO_ATTACH_REUSEPORT_EBPF: the value is an fd of the tracee's; the far
  // side gets the supervisor's duplicate of it.
  int set_bpf_fd(const tn_call *c, VSock &v, int level, int name, uint64_t uval, int len);
  void do_setsockopt(const tn_call *c, VSock &v);
  void do_getsockopt(const tn_call *c, VSock &v);
  // ---- dispatch -----------------------------------------------------------------------
  void do_socket(const tn_call *c, Provider &p);
  void handle(const tn_call *c);
  void serve(const tn_call *c, const VPtr &v);
  // choose()'s fd lookup: the socket behind args[0] and a duplicate of that fd (kept for
  // the handler), or nullptr.
  VPtr choose_lookup(const tn_call *c, int *dup);
  int choose(const tn_call *c);
};

}  // namespace tn::vsock
