// Theory of operation: the supervisor runs untrusted programs and parses what they hand
// it (tracee memory, packets), so it protects the host from itself the way passt does:
//
//  1. Before any process of the tree runs (launch.cpp) it makes itself not dumpable:
//     processes of the same user (the tree, in --no-namespaces and rootless modes) can
//     then not ptrace it, pidfd_getfd its listener or host sockets, or read its memory
//     (the kernel's ptrace access check refuses a non-dumpable target without
//     CAP_SYS_PTRACE). Not earlier: writing the new user namespace's uid_map goes through
//     the init's /proc files, which a non-dumpable parent would make root's.
//  2. Inherited sockets of any family but AF_UNIX are closed before the tree is forked
//     (they would reach a network around the view); `--keep-fd N` keeps one on purpose.
//     After the launch the supervisor closes its copies of every inherited fd.
//  3. Root mode: capabilities are dropped to what the run still needs (none, or
//     CAP_NET_BIND_SERVICE when a module binds host ports for the program).
//  4. Once set-up is done (links open, plugin threads started, tree launched), a seccomp
//     allowlist: the supervisor's own calls (this file and the code next to them, e.g.
//     loop.cpp), plus each module's declared list (tn_host.allow_syscalls). Arguments are
//     narrowed where the needs are narrow: socket() only for AF_UNIX/INET/INET6/NETLINK,
//     open only read-only, kill/tgkill only towards the supervisor's own processes, ioctl
//     only for listed requests (no TIOCSTI on the terminal); no execve, no new processes,
//     no ptrace, mount, bpf... A call outside the list traps: the SIGSYS handler names it
//     on stderr and the supervisor exits, and its tree dies with it (see launch.cpp).
//     Sanitizer builds add what their run-time needs for leak checks and reports (clone,
//     ptrace of its own threads, exec of the symbolizer): test builds only.
//     THREADNET_SANDBOX=log makes the filter log to the kernel's audit log instead of
//     stopping the supervisor (to find a missing call; said once on stderr).
#include "sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__)
#define TN_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define TN_SANITIZER_BUILD 1
#endif
#endif

namespace tn {

namespace {

const char *family_name(int f) {
  switch (f) {
    case AF_INET: return "AF_INET";
    case AF_INET6: return "AF_INET6";
    case AF_NETLINK: return "AF_NETLINK";
    case AF_PACKET: return "AF_PACKET";
    case AF_VSOCK: return "AF_VSOCK";
    default: return nullptr;
  }
}

// The C library, libstdc++ and the supervisor's own loop and services (supervisor.cpp,
// loop.cpp, launch.cpp after the launch): memory, time, fds, events, sockets, tracee
// access, process lifetime.
const int kBase[] = {
    // memory and threads' housekeeping
    SYS_brk, SYS_mmap, SYS_munmap, SYS_mremap, SYS_mprotect, SYS_madvise, SYS_futex,
    SYS_set_robust_list, SYS_rseq, SYS_sched_yield, SYS_sched_getaffinity, SYS_getrandom,
    SYS_membarrier,
    // time
    SYS_clock_gettime, SYS_clock_getres, SYS_gettimeofday, SYS_nanosleep, SYS_clock_nanosleep,
    // fds and files (open: read-only, narrowed below)
    SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_pread64, SYS_pwrite64, SYS_lseek,
    SYS_open, SYS_openat, SYS_close, SYS_close_range, SYS_dup, SYS_dup2, SYS_dup3, SYS_fcntl, SYS_fstat,
    SYS_newfstatat, SYS_statx, SYS_pipe2, SYS_splice, SYS_readlink, SYS_readlinkat,
    SYS_getdents64, SYS_faccessat, SYS_faccessat2, SYS_access, SYS_sendfile,
    // events (loop.cpp)
    SYS_epoll_create1, SYS_epoll_ctl, SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_pwait2,
    SYS_poll, SYS_ppoll, SYS_select, SYS_pselect6, SYS_eventfd2, SYS_timerfd_create,
    SYS_timerfd_settime, SYS_timerfd_gettime,
    // signals (supervisor.cpp: signalfd, relay to the tree)
    SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_sigaltstack, SYS_signalfd4,
    SYS_rt_sigtimedwait, SYS_kill, SYS_tgkill,
    // sockets (families narrowed below)
    SYS_socket, SYS_socketpair, SYS_connect, SYS_bind, SYS_listen, SYS_accept, SYS_accept4,
    SYS_getsockname, SYS_getpeername, SYS_setsockopt, SYS_getsockopt, SYS_shutdown,
    SYS_sendto, SYS_recvfrom, SYS_sendmsg, SYS_recvmsg, SYS_sendmmsg, SYS_recvmmsg,
    // the tracees (supervisor.cpp: memory, fds, lifetime)
    SYS_process_vm_readv, SYS_process_vm_writev, SYS_pidfd_open, SYS_pidfd_getfd,
    SYS_waitid, SYS_wait4, SYS_kcmp,
    // identity and exit
    SYS_getpid, SYS_gettid, SYS_getppid, SYS_getuid, SYS_geteuid, SYS_getgid, SYS_getegid,
    SYS_uname, SYS_sysinfo, SYS_prlimit64, SYS_getrlimit, SYS_exit, SYS_exit_group,
    SYS_restart_syscall, SYS_prctl,
};

// ioctl requests of the supervisor and its modules' common code.
const uint32_t kBaseIoctls[] = {
    uint32_t(SECCOMP_IOCTL_NOTIF_RECV), uint32_t(SECCOMP_IOCTL_NOTIF_SEND),
    uint32_t(SECCOMP_IOCTL_NOTIF_ID_VALID), uint32_t(SECCOMP_IOCTL_NOTIF_ADDFD),
    0x40082104u /* SECCOMP_IOCTL_NOTIF_SET_FLAGS */,
    FIONREAD, TIOCOUTQ, FIONBIO, FIOCLEX, FIONCLEX, TCGETS, TIOCGWINSZ,
};

#ifdef TN_SANITIZER_BUILD
// LeakSanitizer's StopTheWorld at exit (a clone that ptraces the threads, with
// PR_SET_DUMPABLE raised for it), symbolizer processes for reports.
const int kSanitizer[] = {SYS_clone, SYS_clone3, SYS_ptrace, SYS_prctl, SYS_execve, SYS_getdents,
                          SYS_vfork, SYS_fork, SYS_kill, SYS_tgkill, SYS_getpgid,
                          SYS_getrusage, SYS_mincore, SYS_setitimer, SYS_pipe,
                          SYS_open, SYS_openat, SYS_unlink, SYS_mkdir, SYS_times,
                          SYS_sched_getparam, SYS_sched_getscheduler, SYS_getcwd};
#endif

void on_sigsys(int, siginfo_t *si, void *) {
  char buf[200];
  const char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, si->si_syscall);
  int n = snprintf(buf, sizeof buf,
                   "threadnet: the supervisor's sandbox stopped system call %s (%d); the "
                   "supervisor and its tree end (see docs/security.md)\n",
                   name ? name : "?", si->si_syscall);
  if (n > 0) {
    ssize_t w = write(2, buf, size_t(n) < sizeof buf ? size_t(n) : sizeof buf - 1);
    (void)w;
  }
  syscall(SYS_exit_group, 159);
}

}  // namespace

std::vector<int> sandbox_early() {
  std::vector<int> fds;
  DIR *d = opendir("/proc/self/fd");
  if (!d) return fds;
  int dfd = dirfd(d);
  while (dirent *e = readdir(d)) {
    char *end = nullptr;
    long fd = strtol(e->d_name, &end, 10);
    if (!end || *end || end == e->d_name || fd < 3 || fd == dfd) continue;
    fds.push_back(int(fd));
  }
  closedir(d);
  return fds;
}

std::string close_inherited_sockets(std::vector<int> *inherited, const std::set<int> &keep,
                                    int *bad_keep) {
  *bad_keep = -1;
  for (int k : keep)
    if (fcntl(k, F_GETFD) < 0) {
      *bad_keep = k;
      return {};
    }
  std::string out;
  std::vector<int> left;
  for (int fd : *inherited) {
    struct stat st;
    int dom = 0;
    socklen_t dl = sizeof dom;
    if (keep.count(fd) || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
        getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &dl) < 0 || dom == AF_UNIX) {
      left.push_back(fd);
      continue;
    }
    close(fd);
    const char *fam = family_name(dom);
    out += (out.empty() ? "" : ", ") + std::to_string(fd) + " (" +
           (fam ? fam : "family " + std::to_string(dom)) + ")";
  }
  *inherited = std::move(left);
  return out;
}

void close_inherited_fds(const std::vector<int> &inherited) {
  for (int fd : inherited) close(fd);
}

int keep_only_capabilities(const std::vector<int> &keep) {
  uint64_t mask = 0;
  for (int c : keep)
    if (c >= 0 && c < 64) mask |= 1ull << c;
  for (int cap = 0; cap < 64; ++cap) {
    if (mask & (1ull << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) break;
      return -errno;
    }
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  for (int i = 0; i < 2; ++i) {
    data[i].permitted = data[i].effective = uint32_t(mask >> (32 * i));
  }
  if (syscall(SYS_capset, &hdr, data) < 0) return -errno;
  return 0;
}

void add_base_syscalls(SandboxSpec *spec) {
  spec->syscalls.insert(std::begin(kBase), std::end(kBase));
  spec->ioctls.insert(std::begin(kBaseIoctls), std::end(kBaseIoctls));
#ifdef TN_SANITIZER_BUILD
  spec->syscalls.insert(std::begin(kSanitizer), std::end(kSanitizer));
#endif
}

int install_sandbox(const SandboxSpec &spec, std::string *err) {
  uint32_t deflt = spec.log_only ? SCMP_ACT_LOG : SCMP_ACT_TRAP;
  scmp_filter_ctx ctx = seccomp_init(deflt);
  if (!ctx) {
    *err = "seccomp_init failed";
    return -ENOMEM;
  }
  int rc = 0;
  auto fail = [&](const char *what, int r) {
    *err = std::string(what) + ": " + strerror(-r);
    seccomp_release(ctx);
    return r;
  };
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
  seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  [[maybe_unused]] const pid_t self = getpid();
  for (int nr : spec.syscalls) {
    switch (nr) {
      case SYS_socket:
        for (int fam : {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK})
          if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                     SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, uint64_t(fam)))))
            return fail("socket rule", rc);
        continue;
      case SYS_socketpair:
        if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                   SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, uint64_t(AF_UNIX)))))
          return fail("socketpair rule", rc);
        continue;
#ifndef TN_SANITIZER_BUILD
      case SYS_openat:
      case SYS_open: {
        // Read-only: no write access, no creation, no truncation, no O_TMPFILE.
        uint64_t m = O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | 020000000 /* __O_TMPFILE */;
        unsigned arg = nr == SYS_openat ? 2 : 1;
        if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                   scmp_arg_cmp{arg, SCMP_CMP_MASKED_EQ, m, 0})))
          return fail("open rule", rc);
        continue;
      }
      case SYS_kill:
        // Never a process group or every process (pid <= 0): single processes only.
        if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                   SCMP_A0(SCMP_CMP_MASKED_EQ, 0x80000000u, 0))))
          return fail("kill rule", rc);
        continue;
      case SYS_tgkill:
        if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                   SCMP_A0(SCMP_CMP_EQ, uint64_t(self)))))
          return fail("tgkill rule", rc);
        continue;
      case SYS_prctl:
        for (int op : {PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE, PR_SET_PDEATHSIG})
          if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                     SCMP_A0(SCMP_CMP_EQ, uint64_t(op)))))
            return fail("prctl rule", rc);
        continue;
#endif
      case SYS_ioctl:
        continue;  // by request, below
      default:
        break;
    }
    if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0))) {
      if (rc == -EFAULT || rc == -EDOM) continue;  // not a call of this architecture
      return fail("rule", rc);
    }
  }
  for (uint32_t req : spec.ioctls)
    if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                               SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, uint64_t(req)))))
      return fail("ioctl rule", rc);
  if (!spec.log_only) {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSYS, &sa, nullptr);
  }
  rc = seccomp_load(ctx);
  if (rc) return fail("seccomp_load", rc);
  seccomp_release(ctx);
  return 0;
}

}  // namespace tn
