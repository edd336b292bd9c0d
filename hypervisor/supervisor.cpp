// Theory of operation: `threadnet run` builds the filter from the modules' syscall lists
// (filter.cpp), starts the tree (launch.cpp) and then serves the seccomp listener from a
// single-threaded event loop (loop.cpp).
//
// For each notification: calls of another ABI (i386, x32), io_uring and a tracee's own
// seccomp listener are handled here (refused or explained once on stderr); every other
// call gets a tn_call and is offered to each module's `choose` in load order. No claimant:
// SECCOMP_USER_NOTIF_FLAG_CONTINUE, the kernel runs the call. A claimant's `handle` runs
// at once on a fresh fiber; if it waits, the loop goes on with other notifications and
// events and resumes it later (deferred reply). The tn_host table below is the only thing
// modules see of the supervisor.
//
// Speed: a trapped call costs a round trip through the supervisor (~5 µs). The listener
// is put in SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP mode so the kernel wakes the supervisor on
// the tracee's CPU and the tracee's wake-up after the reply is synchronous too; the
// supervisor is not pinned (a cross-vCPU wake-up costs 40-80 µs on these VMs).
//
// Signals: SIGINT/SIGTERM/SIGHUP/SIGQUIT are blocked and read from a signalfd. One sent
// with kill()/sigqueue() (si_code SI_USER/SI_QUEUE) is relayed to the program (through the
// namespace's init); one from the terminal already reached the whole foreground process
// group, program included, so it is not doubled. The supervisor never dies of them: it
// ends when the tree has ended, with the program's status (128+N for a signal).
#include "supervisor.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "decode.h"
#ifdef THREADNET_HAVE_UNWIND
#include "backtrace.h"
#endif
#include "filter.h"
#include "launch.h"
#include "loop.h"
#include "sandbox.h"
#include "seccomp_defs.h"

#ifndef AUDIT_ARCH_X86_64
#define AUDIT_ARCH_X86_64 0xc000003eu
#endif

namespace tn {

namespace {

struct CallState {
  tn_call call{};
  bool answered = false;
  std::string trace_head;  // "[pid N] name(args)"
  std::vector<std::string> stack;  // --trace-stack frames
  size_t module = 0;
};

struct Mod {
  const tn_module *m;
  void *self = nullptr;
  bool warned_unanswered = false;
};

class Supervisor {
 public:
  explicit Supervisor(RunOptions &o) : opts_(o) {}
  int run();

  // tn_host services
  static Supervisor *S(void *hv) { return static_cast<Supervisor *>(hv); }
  int read_mem(const tn_call *c, uint64_t addr, void *buf, size_t len);
  int write_mem(const tn_call *c, uint64_t addr, const void *buf, size_t len);
  int write_memv(const tn_call *c, const tn_memv *v, unsigned n);
  long read_str(const tn_call *c, uint64_t addr, char *buf, size_t cap);
  int get_fd(const tn_call *c, int tfd);
  int fd_identity(const tn_call *c, int tfd, uint64_t *ino);
  int reply(const tn_call *c, int64_t value, int err);
  int reply_continue(const tn_call *c);
  int inject_fd(const tn_call *c, int local, int target, unsigned flags);
  bool id_valid(uint64_t id) {
    uint64_t v = id;
    bool ok = ioctl(listener_, SECCOMP_IOCTL_NOTIF_ID_VALID, &v) == 0;
    if (ok) {
      checked_id_ = id;
      checked_at_ = loop_.switches();
    }
    return ok;
  }
  // For memory access right after another one in the same uninterrupted stretch of a
  // handler: the check already made then is as good as a new one (the tracee thread is
  // still blocked in the call or was just interrupted; its tid cannot have been reused
  // while we ran without yielding).
  bool id_valid_recent(uint64_t id) {
    if (id == checked_id_ && checked_at_ == loop_.switches()) return true;
    return id_valid(id);
  }
  void warn(const std::string &s) { fprintf(stderr, "threadnet: %s\n", s.c_str()); }
  void trace_line(const tn_call *c, const std::string &line);
  int add_rule(int nr, unsigned arg, uint64_t mask, uint64_t value) {
    if (nr < 0 || arg > 5) return -EINVAL;
    if (filter_built_) return -EBUSY;
    rules_.push_back(FilterRule{nr, arg, mask, value});
    return 0;
  }
  int share_host_procnet() {
    if (filter_built_) return -EBUSY;
    host_procnet_ = true;
    return 0;
  }
  int allow_syscalls(const int *nrs) {
    if (filter_built_) return -EBUSY;
    for (const int *p = nrs; p && *p != -1; ++p) sandbox_.syscalls.insert(*p);
    return 0;
  }
  int allow_ioctls(const unsigned long *reqs) {
    if (filter_built_) return -EBUSY;
    for (const unsigned long *p = reqs; p && *p; ++p) sandbox_.ioctls.insert(uint32_t(*p));
    return 0;
  }
  long start_gate(const char *what) {
    if (filter_built_) return -EBUSY;
    gates_.push_back(Gate{what ? what : "the network", false});
    return long(gates_.size());
  }
  void open_gate(long id) {
    if (id <= 0 || size_t(id) > gates_.size() || gates_[size_t(id - 1)].open) return;
    gates_[size_t(id - 1)].open = true;
    loop_.add_timer(loop_.now(), [] {});  // wake the loop to re-check
  }
  void hold(int delta) {
    holds_ += delta;
    if (holds_ <= 0) loop_.add_timer(loop_.now(), [] {});  // wake the loop to re-check
  }
  Loop loop_;

 private:
  void fill_host();
  bool init_modules();
  bool seal_self();
  bool wait_for_gates();
  void shutdown_modules();
  void on_listener(uint32_t ev);
  void dispatch(const seccomp_notif &n);
  int32_t tgid_of(int32_t tid);
  void track_process(int32_t tgid, int pidfd);
  void on_signal();
  void on_ctl();
  void on_child_exit();
  void finish_trace(CallState *cs, int64_t value, int err, bool cont);
  CallState *state_of(const tn_call *c) {
    auto it = calls_.find(c->id);
    return it == calls_.end() ? nullptr : it->second;
  }
  int pidfd_for(const tn_call *c);
  int send_resp(uint64_t id, int64_t val, int err, uint32_t flags);

  RunOptions &opts_;
  tn_host host_{};
  std::vector<Mod> mods_;
  int listener_ = -1;
  int sigfd_ = -1;
  FILE *trace_ = nullptr;
  Launched tree_;
  bool child_done_ = false;
  bool have_status_ = false;
  int prog_status_ = 0;
  int child_status_ = 0;
  bool warned_abi_ = false, warned_uring_ = false, warned_seccomp_ = false;
  std::unordered_map<uint64_t, CallState *> calls_;
  std::unordered_map<int32_t, int> procs_;  // tgid -> pidfd
  int holds_ = 0;
  std::vector<FilterRule> rules_;
  bool filter_built_ = false;
  bool host_procnet_ = false;
  SandboxSpec sandbox_;
  struct Gate {
    std::string what;
    bool open;
  };
  std::vector<Gate> gates_;
  int early_signal_ = 0;  // a signal that arrived before the program started
  uint64_t hold_deadline_ = 0;
  uint64_t checked_id_ = 0, checked_at_ = ~0ull;
};

// ---- tn_host thunks --------------------------------------------------------------------

int h_read_mem(void *hv, const tn_call *c, uint64_t a, void *b, size_t n) {
  return Supervisor::S(hv)->read_mem(c, a, b, n);
}
int h_write_mem(void *hv, const tn_call *c, uint64_t a, const void *b, size_t n) {
  return Supervisor::S(hv)->write_mem(c, a, b, n);
}
int h_write_memv(void *hv, const tn_call *c, const tn_memv *v, unsigned n) {
  return Supervisor::S(hv)->write_memv(c, v, n);
}
int h_close_watched(void *hv, int fd) { return Supervisor::S(hv)->loop_.unwatch_close(fd); }
long h_read_str(void *hv, const tn_call *c, uint64_t a, char *b, size_t cap) {
  return Supervisor::S(hv)->read_str(c, a, b, cap);
}
int h_get_fd(void *hv, const tn_call *c, int fd) { return Supervisor::S(hv)->get_fd(c, fd); }
int h_fd_identity(void *hv, const tn_call *c, int fd, uint64_t *ino) {
  return Supervisor::S(hv)->fd_identity(c, fd, ino);
}
uint64_t pack_identity(const struct stat &st) {
  return uint64_t(st.st_ino) ^ (uint64_t(st.st_dev) << 40);
}
int h_local_identity(void *, int fd, uint64_t *ino) {
  struct stat st;
  if (fstat(fd, &st) < 0) return -errno;
  *ino = pack_identity(st);
  return 0;
}
int h_reply(void *hv, const tn_call *c, int64_t v, int err) {
  return Supervisor::S(hv)->reply(c, v, err);
}
int h_reply_continue(void *hv, const tn_call *c) { return Supervisor::S(hv)->reply_continue(c); }
int h_inject_fd(void *hv, const tn_call *c, int local, int target, unsigned flags) {
  return Supervisor::S(hv)->inject_fd(c, local, target, flags);
}
int h_call_valid(void *hv, const tn_call *c) { return Supervisor::S(hv)->id_valid(c->id) ? 1 : 0; }
int h_wait_fd(void *hv, const tn_call *, int fd, uint32_t events, uint64_t deadline) {
  return Supervisor::S(hv)->loop_.wait_fd(fd, events, deadline);
}
void *h_park_token(void *) { return new Token; }
void h_free_token(void *, void *t) { delete static_cast<Token *>(t); }
int h_park(void *hv, const tn_call *, void *tok, uint64_t deadline) {
  return Supervisor::S(hv)->loop_.park(static_cast<Token *>(tok), deadline);
}
void h_wake(void *hv, void *tok) { Supervisor::S(hv)->loop_.wake(static_cast<Token *>(tok)); }
int h_watch_fd(void *hv, int fd, uint32_t events, tn_watch_cb cb, void *arg) {
  return Supervisor::S(hv)->loop_.watch(fd, events, [cb, arg, fd](uint32_t ev) { cb(arg, fd, ev); });
}
int h_modify_watch(void *hv, int fd, uint32_t events) {
  return Supervisor::S(hv)->loop_.modify(fd, events);
}
int h_unwatch_fd(void *hv, int fd) { return Supervisor::S(hv)->loop_.unwatch(fd); }
long h_add_timer(void *hv, uint64_t deadline, tn_timer_cb cb, void *arg) {
  return Supervisor::S(hv)->loop_.add_timer(deadline, [cb, arg] { cb(arg); });
}
void h_cancel_timer(void *hv, long id) { Supervisor::S(hv)->loop_.cancel_timer(id); }
uint64_t h_now_ns(void *hv) { return Supervisor::S(hv)->loop_.now(); }
int h_spawn(void *hv, void (*fn)(void *), void *arg) {
  Supervisor::S(hv)->loop_.spawn([fn, arg] { fn(arg); });
  return 0;
}
int h_tracing(void *) { return 0; }
int h_tracing_on(void *) { return 1; }
void h_trace(void *hv, const tn_call *c, const char *line) {
  Supervisor::S(hv)->trace_line(c, line ? line : "");
}
void h_warn(void *hv, const char *line) { Supervisor::S(hv)->warn(line ? line : ""); }
void h_hold(void *hv, int delta) { Supervisor::S(hv)->hold(delta); }
int h_add_rule(void *hv, int nr, unsigned arg, uint64_t mask, uint64_t value) {
  return Supervisor::S(hv)->add_rule(nr, arg, mask, value);
}
int h_share_host_procnet(void *hv) { return Supervisor::S(hv)->share_host_procnet(); }
long h_start_gate(void *hv, const char *what) { return Supervisor::S(hv)->start_gate(what); }
void h_open_gate(void *hv, long id) { Supervisor::S(hv)->open_gate(id); }
size_t h_find_module(void *, const char *name, char *buf, size_t cap) {
  std::string p = name ? find_module(name, nullptr) : std::string();
  if (cap) snprintf(buf, cap, "%s", p.c_str());
  return p.size();
}
int h_allow_syscalls(void *hv, const int *nrs) { return Supervisor::S(hv)->allow_syscalls(nrs); }
int h_allow_ioctls(void *hv, const unsigned long *reqs) {
  return Supervisor::S(hv)->allow_ioctls(reqs);
}

// ---- services --------------------------------------------------------------------------

int Supervisor::read_mem(const tn_call *c, uint64_t addr, void *buf, size_t len) {
  if (len == 0) return 0;
  iovec l{buf, len}, r{reinterpret_cast<void *>(addr), len};
  ssize_t n = process_vm_readv(c->tid, &l, 1, &r, 1, 0);
  if (n < 0) return errno == ESRCH ? -ENOENT : -EFAULT;
  if (size_t(n) != len) return -EFAULT;
  // The tid could have been reused by an unrelated process: re-validate the call.
  if (!id_valid(c->id)) return -ENOENT;
  return 0;
}

int Supervisor::write_mem(const tn_call *c, uint64_t addr, const void *buf, size_t len) {
  if (len == 0) return 0;
  if (!id_valid_recent(c->id)) return -ENOENT;
  iovec l{const_cast<void *>(buf), len}, r{reinterpret_cast<void *>(addr), len};
  ssize_t n = process_vm_writev(c->tid, &l, 1, &r, 1, 0);
  if (n < 0) return errno == ESRCH ? -ENOENT : -EFAULT;
  return size_t(n) == len ? 0 : -EFAULT;
}

int Supervisor::write_memv(const tn_call *c, const tn_memv *v, unsigned n) {
  constexpr unsigned kMax = 16;
  if (n > kMax) return -EINVAL;
  iovec l[kMax], r[kMax];
  size_t total = 0;
  unsigned k = 0;
  for (unsigned i = 0; i < n; ++i) {
    if (!v[i].len) continue;
    l[k] = iovec{const_cast<void *>(v[i].buf), v[i].len};
    r[k] = iovec{reinterpret_cast<void *>(v[i].addr), v[i].len};
    total += v[i].len;
    ++k;
  }
  if (!k) return 0;
  if (!id_valid_recent(c->id)) return -ENOENT;
  ssize_t w = process_vm_writev(c->tid, l, k, r, k, 0);
  if (w < 0) return errno == ESRCH ? -ENOENT : -EFAULT;
  return size_t(w) == total ? 0 : -EFAULT;
}

long Supervisor::read_str(const tn_call *c, uint64_t addr, char *buf, size_t cap) {
  if (cap == 0) return -EINVAL;
  size_t got = 0;
  while (got + 1 < cap) {
    // Never cross a page boundary in one read: the next page may be unmapped.
    uint64_t a = addr + got;
    size_t chunk = 4096 - (a & 4095);
    if (chunk > cap - 1 - got) chunk = cap - 1 - got;
    iovec l{buf + got, chunk}, r{reinterpret_cast<void *>(a), chunk};
    ssize_t n = process_vm_readv(c->tid, &l, 1, &r, 1, 0);
    if (n <= 0) return got ? -EFAULT : (errno == ESRCH ? -ENOENT : -EFAULT);
    void *z = memchr(buf + got, 0, size_t(n));
    if (z) {
      got = size_t(static_cast<char *>(z) - buf);
      buf[got] = 0;
      return id_valid(c->id) ? long(got) : -ENOENT;
    }
    got += size_t(n);
  }
  return -ENAMETOOLONG;
}

int Supervisor::pidfd_for(const tn_call *c) {
  int pfd = int(syscall(SYS_pidfd_open, c->tid, PIDFD_THREAD));
  if (pfd < 0 && errno == EINVAL) pfd = int(syscall(SYS_pidfd_open, c->tgid, 0));
  if (pfd < 0) return errno == ESRCH ? -ENOENT : -errno;
  if (!id_valid(c->id)) {
    close(pfd);
    return -ENOENT;
  }
  return pfd;
}

int Supervisor::get_fd(const tn_call *c, int tfd) {
  // Fast path: the pidfd kept for the process (threads share its fd table). The pidfd
  // pins the process, so its fds are the caller's as long as the call is still valid.
  auto it = procs_.find(c->tgid);
  if (it != procs_.end()) {
    int fd = int(syscall(SYS_pidfd_getfd, it->second, tfd, 0));
    if (fd >= 0) {
      if (id_valid(c->id)) return fd;
      close(fd);
      return -ENOENT;
    }
    if (errno != ESRCH) return -errno;
  }
  int pfd = pidfd_for(c);
  if (pfd < 0) return pfd;
  int fd = int(syscall(SYS_pidfd_getfd, pfd, tfd, 0));
  int e = errno;
  close(pfd);
  return fd < 0 ? -e : fd;
}

int Supervisor::fd_identity(const tn_call *c, int tfd, uint64_t *ino) {
  int fd = get_fd(c, tfd);
  if (fd < 0) return fd;
  struct stat st;
  int r = fstat(fd, &st);
  int e = errno;
  close(fd);
  if (r < 0) return -e;
  *ino = pack_identity(st);
  return 0;
}

int Supervisor::send_resp(uint64_t id, int64_t val, int err, uint32_t flags) {
  seccomp_notif_resp r{};
  r.id = id;
  r.val = val;
  r.error = err ? -err : 0;
  r.flags = flags;
  if (ioctl(listener_, SECCOMP_IOCTL_NOTIF_SEND, &r) < 0) return -errno;
  return 0;
}

int Supervisor::reply(const tn_call *c, int64_t value, int err) {
  CallState *cs = state_of(c);
  if (cs && cs->answered) return -EALREADY;
  int r = send_resp(c->id, err ? 0 : value, err, 0);
  if (cs) {
    cs->answered = true;
    finish_trace(cs, value, err, false);
  }
  return r;
}

int Supervisor::reply_continue(const tn_call *c) {
  CallState *cs = state_of(c);
  if (cs && cs->answered) return -EALREADY;
  int r = send_resp(c->id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
  if (cs) {
    cs->answered = true;
    finish_trace(cs, 0, 0, true);
  }
  return r;
}

int Supervisor::inject_fd(const tn_call *c, int local, int target, unsigned flags) {
  CallState *cs = state_of(c);
  if ((flags & TN_INJECT_SEND) && cs && cs->answered) return -EALREADY;
  if ((flags & TN_INJECT_REPLY) && ((flags & TN_INJECT_SEND) || (cs && cs->answered)))
    return (flags & TN_INJECT_SEND) ? -EINVAL : -EALREADY;
  seccomp_notif_addfd a{};
  a.id = c->id;
  a.srcfd = uint32_t(local);
  a.newfd = (flags & TN_INJECT_AT) ? uint32_t(target) : 0;
  a.newfd_flags = (flags & TN_INJECT_CLOEXEC) ? O_CLOEXEC : 0;
  a.flags = ((flags & TN_INJECT_AT) ? SECCOMP_ADDFD_FLAG_SETFD : 0) |
            ((flags & TN_INJECT_SEND) ? SECCOMP_ADDFD_FLAG_SEND : 0);
  // ADDFD wakes the tracee to install the fd and waits for it. With FLAG_SEND the tracee
  // goes on to user space first (the supervisor then waits for a CPU behind it, ~30 us
  // here); without, the tracee goes back to its wait at once and the reply follows.
  int r = ioctl(listener_, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
  if (r < 0) return -errno;
  if (flags & TN_INJECT_REPLY) {
    int e = send_resp(c->id, r, 0, 0);
    if (e < 0) return e == -ENOENT ? -EOWNERDEAD : e;  // installed, not announced
    if (cs) {
      cs->answered = true;
      finish_trace(cs, r, 0, false);
    }
    return r;
  }
  if ((flags & TN_INJECT_SEND) && cs) {
    cs->answered = true;
    finish_trace(cs, r, 0, false);
  }
  return r;
}

void Supervisor::trace_line(const tn_call *c, const std::string &line) {
  if (!trace_) return;
  if (c)
    fprintf(trace_, "[pid %d] %s\n", c->tid, line.c_str());
  else
    fprintf(trace_, "%s\n", line.c_str());
  fflush(trace_);
}

void Supervisor::finish_trace(CallState *cs, int64_t value, int err, bool cont) {
  if (!trace_) return;
  std::string res = cont ? " = ? <kernel>" : decode_result(value, err);
  fprintf(trace_, "%s%s\n", cs->trace_head.c_str(), res.c_str());
  for (auto &f : cs->stack) fprintf(trace_, "    %s\n", f.c_str());
  fflush(trace_);
}

// ---- dispatch --------------------------------------------------------------------------

void Supervisor::track_process(int32_t tgid, int pidfd) {
  procs_[tgid] = pidfd;
  loop_.watch(pidfd, EPOLLIN, [this, tgid, pidfd](uint32_t) {
    loop_.unwatch(pidfd);
    close(pidfd);
    procs_.erase(tgid);
    for (auto &m : mods_)
      if (m.m->on_exit) m.m->on_exit(m.self, tgid);
  });
}

int32_t Supervisor::tgid_of(int32_t tid) {
  if (procs_.count(tid)) return tid;
  int pfd = int(syscall(SYS_pidfd_open, tid, 0));
  if (pfd >= 0) {  // a thread-group leader
    track_process(tid, pfd);
    return tid;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tid;
  char buf[2048];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return tid;
  buf[n] = 0;
  const char *t = strstr(buf, "\nTgid:");
  int32_t tgid = t ? int32_t(atoi(t + 6)) : tid;
  if (tgid > 0 && !procs_.count(tgid)) {
    int p = int(syscall(SYS_pidfd_open, tgid, 0));
    if (p >= 0) track_process(tgid, p);
  }
  return tgid > 0 ? tgid : tid;
}

void Supervisor::on_listener(uint32_t ev) {
  if (ev & EPOLLIN) {
    seccomp_notif n;
    memset(&n, 0, sizeof n);
    if (ioctl(listener_, SECCOMP_IOCTL_NOTIF_RECV, &n) == 0) {
      dispatch(n);
      return;
    }
    if (errno == EINTR || errno == ENOENT) return;
  }
  if (ev & (EPOLLHUP | EPOLLERR)) {
    // No process is left under the filter.
    loop_.unwatch(listener_);
  }
}

void Supervisor::dispatch(const seccomp_notif &n) {
  auto cs = std::make_unique<CallState>();
  tn_call &c = cs->call;
  c.id = n.id;
  c.tid = int32_t(n.pid);
  c.nr = n.data.nr;
  c.arch = n.data.arch;
  c.ip = n.data.instruction_pointer;
  for (int i = 0; i < 6; ++i) c.args[i] = n.data.args[i];

  bool other_abi = c.arch != AUDIT_ARCH_X86_64 || (c.nr & X32_SYSCALL_BIT);
  if (trace_) {
    MemReader rd = [this, &c](uint64_t a, void *b, size_t l) { return read_mem(&c, a, b, l) == 0; };
    cs->trace_head = "[pid " + std::to_string(c.tid) + "] " + syscall_name(c.nr, c.arch) +
                     decode_args(c, rd);
#ifdef THREADNET_HAVE_UNWIND
    if (opts_.trace_stack) cs->stack = tracee_backtrace(c.tid, 32);
#endif
  }
  if (other_abi) {
    if (!warned_abi_) {
      warned_abi_ = true;
      warn(std::string(c.arch != AUDIT_ARCH_X86_64 ? "32-bit (i386, int 0x80) network"
                                                    : "x32") +
           " system calls are disabled in this view (they would bypass the network "
           "virtualization); they fail with ENOSYS");
    }
    calls_[c.id] = cs.get();
    reply(&c, 0, ENOSYS);
    calls_.erase(c.id);
    return;
  }
  if (c.nr == SYS_io_uring_setup || c.nr == SYS_io_uring_enter ||
      c.nr == SYS_io_uring_register) {
    if (!warned_uring_) {
      warned_uring_ = true;
      warn("io_uring is disabled in this view (it would bypass the network virtualization); "
           "io_uring_setup fails with ENOSYS");
    }
    calls_[c.id] = cs.get();
    reply(&c, 0, ENOSYS);
    calls_.erase(c.id);
    return;
  }
  if (c.nr == SYS_seccomp) {
    if (!warned_seccomp_) {
      warned_seccomp_ = true;
      warn("the program tried to install its own seccomp user-notify listener; the kernel "
           "allows one per process tree, so it gets EBUSY under threadnet");
    }
    calls_[c.id] = cs.get();
    reply_continue(&c);
    calls_.erase(c.id);
    return;
  }
  c.tgid = tgid_of(c.tid);
  for (size_t i = 0; i < mods_.size(); ++i) {
    Mod &m = mods_[i];
    if (m.m->choose(m.self, &c) != TN_CHOICE_MINE) continue;
    cs->module = i;
    CallState *raw = cs.release();
    calls_[raw->call.id] = raw;
    loop_.run_now(
        [this, raw, i] {
          Mod &mm = mods_[i];
          mm.m->handle(mm.self, &raw->call);
          if (!raw->answered && !id_valid(raw->call.id)) {
            if (trace_) {
              fprintf(trace_, "%s = ? <interrupted>\n", raw->trace_head.c_str());
              for (auto &f : raw->stack) fprintf(trace_, "    %s\n", f.c_str());
            }
          } else if (!raw->answered) {
            if (!mm.warned_unanswered) {
              mm.warned_unanswered = true;
              warn(std::string("module ") + mm.m->name + " did not answer a " +
                   syscall_name(raw->call.nr, raw->call.arch) + " call; it fails with ENOSYS");
            }
            reply(&raw->call, 0, ENOSYS);
          }
          calls_.erase(raw->call.id);
          delete raw;
        },
        [this, raw] { return raw->answered || id_valid(raw->call.id); });
    return;
  }
  calls_[c.id] = cs.get();
  reply_continue(&c);
  calls_.erase(c.id);
}

void Supervisor::on_signal() {
  signalfd_siginfo si;
  while (read(sigfd_, &si, sizeof si) == sizeof si) {
    if (tree_.child <= 0) {  // before the launch (--wait-net): stop
      early_signal_ = int(si.ssi_signo);
      continue;
    }
    int code = si.ssi_code;
    // Once the program has ended (only daemons keep the run alive), a terminal signal
    // is relayed too: the daemons are in other sessions and never saw it.
    bool relay = code == SI_USER || code == SI_QUEUE || (have_status_ && tree_.namespaced);
    if (relay && !child_done_ && tree_.child > 0) kill(tree_.child, int(si.ssi_signo));
  }
}

void Supervisor::on_ctl() {
  CtlMsg m;
  for (;;) {
    ssize_t n = recv(tree_.ctl, &m, sizeof m, MSG_DONTWAIT);
    if (n != sizeof m) break;
    if (m.type == 2) {
      have_status_ = true;
      prog_status_ = m.value;
    }
  }
}

void Supervisor::on_child_exit() {
  siginfo_t si{};
  if (waitid(P_PIDFD, id_t(tree_.child_pidfd), &si, WEXITED | WNOHANG) < 0) return;
  if (si.si_pid == 0) return;
  child_done_ = true;
  child_status_ = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0) : si.si_status;
  if (tree_.ctl >= 0) on_ctl();
}

// Once the tree runs: the supervisor's copies of inherited fds closed, capabilities
// dropped (root mode), then its own seccomp allowlist (sandbox.cpp).
// Before the launch: the modules' start gates (a DHCP lease, a usable address), bounded
// by --wait-net. false: a signal asked to stop before the program started.
void Supervisor::shutdown_modules() {
  loop_.shutdown();
  for (auto &m : mods_)
    if (m.m->fini) m.m->fini(m.self);
  mods_.clear();
}

bool Supervisor::wait_for_gates() {
  loop_.watch(sigfd_, EPOLLIN, [this](uint32_t) { on_signal(); });
  auto all_open = [this] {
    for (auto &g : gates_)
      if (!g.open) return false;
    return true;
  };
  if (all_open() || opts_.wait_net_s <= 0) return true;
  uint64_t deadline = loop_.now() + uint64_t(opts_.wait_net_s * 1e9);
  loop_.add_timer(deadline, [] {});
  loop_.run([&] { return all_open() || early_signal_ || loop_.now() >= deadline; });
  if (early_signal_) return false;
  if (!all_open()) {
    std::string missing;
    for (auto &g : gates_)
      if (!g.open) missing += (missing.empty() ? "" : ", no ") + g.what;
    char secs[32];
    snprintf(secs, sizeof secs, "%g", opts_.wait_net_s);
    warn(std::string("no ") + missing + " after " + secs +
         " s (--wait-net); starting the program anyway");
  }
  return true;
}

bool Supervisor::seal_self() {
  close_inherited_fds(opts_.inherited_fds);
  opts_.inherited_fds.clear();
  if (!opts_.keep_caps && has_any_capability()) {
    // Binding a privileged host port for the program (relay, a host stack) is the
    // only privilege the run still uses.
    int e = keep_only_capabilities({CAP_NET_BIND_SERVICE});
    if (e < 0) {
      warn(std::string("cannot drop the supervisor's capabilities: ") + strerror(-e));
      return false;
    }
  }
  add_base_syscalls(&sandbox_);
#ifdef THREADNET_HAVE_UNWIND
  if (opts_.trace_stack)
    for (const int *p = kBacktraceSyscalls; *p != -1; ++p) sandbox_.syscalls.insert(*p);
#endif
  const char *mode = getenv("THREADNET_SANDBOX");
  sandbox_.log_only = mode && !strcmp(mode, "log");
  if (sandbox_.log_only)
    warn("THREADNET_SANDBOX=log: the supervisor's sandbox only logs calls outside its "
         "allowlist (to the kernel's audit log)");
  std::string err;
  if (install_sandbox(sandbox_, &err) < 0) {
    warn("cannot install the supervisor's own seccomp filter: " + err);
    return false;
  }
  return true;
}

void Supervisor::fill_host() {
  host_.abi_version = TN_MODULE_ABI_VERSION;
  host_.size = sizeof(tn_host);
  host_.hv = this;
  host_.read_mem = h_read_mem;
  host_.write_mem = h_write_mem;
  host_.read_str = h_read_str;
  host_.get_fd = h_get_fd;
  host_.fd_identity = h_fd_identity;
  host_.local_identity = h_local_identity;
  host_.reply = h_reply;
  host_.reply_continue = h_reply_continue;
  host_.inject_fd = h_inject_fd;
  host_.call_valid = h_call_valid;
  host_.wait_fd = h_wait_fd;
  host_.park_token = h_park_token;
  host_.park = h_park;
  host_.wake = h_wake;
  host_.watch_fd = h_watch_fd;
  host_.modify_watch = h_modify_watch;
  host_.unwatch_fd = h_unwatch_fd;
  host_.add_timer = h_add_timer;
  host_.cancel_timer = h_cancel_timer;
  host_.now_ns = h_now_ns;
  host_.spawn = h_spawn;
  host_.tracing = trace_ ? h_tracing_on : h_tracing;
  host_.trace = h_trace;
  host_.warn = h_warn;
  host_.free_token = h_free_token;
  host_.hold = h_hold;
  host_.add_rule = h_add_rule;
  host_.write_memv = h_write_memv;
  host_.close_watched = h_close_watched;
  host_.share_host_procnet = h_share_host_procnet;
  host_.allow_syscalls = h_allow_syscalls;
  host_.allow_ioctls = h_allow_ioctls;
  host_.start_gate = h_start_gate;
  host_.open_gate = h_open_gate;
  host_.find_module = h_find_module;
}

bool Supervisor::init_modules() {
  for (auto &u : opts_.modules) {
    std::vector<const char *> av;
    for (auto &a : u.argv) av.push_back(a.c_str());
    av.push_back(nullptr);
    char err[512] = "";
    void *self = u.loaded.mod->init(&host_, int(u.argv.size()), av.data(), err, sizeof err);
    if (!self) {
      // A message about one of the module's options ("--net URL: ...") is the option's
      // error; anything else is said with the module's name.
      if (err[0] == '-' && err[1] == '-')
        warn(err);
      else
        warn(std::string("module ") + u.loaded.mod->name + ": " +
             (err[0] ? err : "initialisation failed"));
      return false;
    }
    mods_.push_back(Mod{u.loaded.mod, self});
  }
  return true;
}

int Supervisor::run() {
  // The signals the loop reads from its signalfd are blocked before any module, link or
  // plugin thread exists: threads inherit the mask, and a thread with them unblocked
  // would take a SIGTERM meant for the program (the slirp plugin's did).
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&set, s);
  Inherit inh;
  sigprocmask(SIG_BLOCK, &set, &inh.mask);
  sigset_t &old = inh.mask;
  sigfd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  inh.sigpipe_ignored = signal(SIGPIPE, SIG_IGN) == SIG_IGN;
  struct Restore {
    sigset_t m;
    ~Restore() { sigprocmask(SIG_SETMASK, &m, nullptr); }
  } restore{old};

  if (opts_.trace) {
    if (opts_.trace_file.empty()) {
      trace_ = stderr;
    } else {
      trace_ = fopen(opts_.trace_file.c_str(), "we");
      if (!trace_) {
        warn("cannot open trace file " + opts_.trace_file + ": " + strerror(errno));
        return 2;
      }
    }
  }
  fill_host();
  if (!init_modules()) return 2;

  FilterSpec spec;
  for (auto &m : mods_) {
    for (const int *p = m.m->syscalls; *p != -1; ++p) spec.syscalls.insert(*p);
  }
  spec.rules = rules_;
  filter_built_ = true;
  if (spec.syscalls.erase(SYS_write))  // the launch handshake needs an untrapped write
    warn("write() cannot be trapped (the launch handshake uses it); ignoring it");
  std::string ferr;
  auto prog = build_filter(spec, &ferr);
  if (prog.empty()) {
    warn("cannot build the seccomp filter: " + ferr);
    return 2;
  }

  if (!wait_for_gates()) {
    shutdown_modules();
    return 128 + early_signal_;
  }

  LaunchSpec ls;
  ls.use_ns = opts_.use_namespaces;
  ls.host_procnet = host_procnet_;
  ls.drop_caps = !opts_.keep_caps && has_any_capability();
  ls.inherit = inh;
  tree_ = launch_tree(prog, opts_.argv, ls);
  if (tree_.fail_code) {
    if (tree_.child_pidfd >= 0) {
      siginfo_t si;
      waitid(P_PIDFD, id_t(tree_.child_pidfd), &si, WEXITED);
    }
    return tree_.fail_code;
  }
  listener_ = tree_.listener;
  if (opts_.sync_wakeup) {
    uint64_t f = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
    ioctl(listener_, SECCOMP_IOCTL_NOTIF_SET_FLAGS, f);  // older kernels: EINVAL, ignore
  }
  loop_.watch(listener_, EPOLLIN, [this](uint32_t ev) { on_listener(ev); }, false);
  if (tree_.ctl >= 0) loop_.watch(tree_.ctl, EPOLLIN, [this](uint32_t) { on_ctl(); });
  loop_.watch(tree_.child_pidfd, EPOLLIN, [this](uint32_t) { on_child_exit(); });
  if (!seal_self()) {
    kill(tree_.child, SIGKILL);
    siginfo_t si;
    waitid(P_PIDFD, id_t(tree_.child_pidfd), &si, WEXITED);
    return 1;
  }

  // After the tree has ended, modules holding the run (flushing) get up to 10 s.
  loop_.run([this] {
    if (!child_done_) return false;
    if (holds_ <= 0) return true;
    if (!hold_deadline_) {
      hold_deadline_ = loop_.now() + 10'000'000'000ull;
      loop_.add_timer(hold_deadline_, [] {});
    }
    return loop_.now() >= hold_deadline_;
  });

  shutdown_modules();
  for (auto &kv : procs_) close(kv.second);
  procs_.clear();
  if (trace_ && trace_ != stderr) fclose(trace_);
  close(listener_);
  if (tree_.ctl >= 0) close(tree_.ctl);
  close(tree_.child_pidfd);
  close(sigfd_);
  return exit_code_of(have_status_ ? prog_status_ : child_status_);
}

}  // namespace

int run_supervised(RunOptions &opts) {
  // The supervisor's buffers come and go at network speed (64 KiB frames, 256 KiB pump
  // chunks): keep freed memory instead of giving the top of the heap back to the kernel
  // and faulting it in again for the next packet (seen as page faults, zeroing and TLB
  // shoot-downs in a profile of bulk traffic), and keep such buffers off mmap.
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  opts.inherited_fds = sandbox_early();
  int bad = -1;
  std::string closed = close_inherited_sockets(&opts.inherited_fds, opts.keep_fds, &bad);
  if (bad >= 0) {
    fprintf(stderr, "threadnet: --keep-fd %d: no such open file descriptor\n", bad);
    return 2;
  }
  if (!closed.empty())
    fprintf(stderr,
            "threadnet: closed inherited host sockets %s: they would reach the host's "
            "network around the view (--keep-fd N keeps one)\n",
            closed.c_str());
  Supervisor s(opts);
  return s.run();
}

}  // namespace tn
