// Theory of operation: "if the supervisor dies, the tree dies with it", and "nothing in
// the tree reaches the host's network around the supervisor".
//
//   S (supervisor, host pid and network namespaces)
//   └─ C1 (tiny init: pid 1 of a new PID namespace, own mount namespace with a fresh
//      │   /proc, own empty network namespace; plus a user namespace with a 1:1 uid/gid
//      │   map when not privileged)
//      └─ P (installs the filter, then execs PROGRAM) └─ ... the whole tree
//
// C1 has PR_SET_PDEATHSIG(SIGKILL): when S dies C1 is killed, and the kernel kills every
// process of a PID namespace when its init dies, so nothing of the tree survives S, not
// even daemons that double-forked. The network namespace is new and empty (only a down
// loopback): a socket the kernel makes for the tree, of any family, reaches nothing; the
// modules' sockets are made by S, which stays in the host's namespace. C1 is not
// filtered: it forks P, P (root mode: drops every capability) sets no_new_privs, installs
// the filter with SECCOMP_FILTER_FLAG_NEW_LISTENER and writes the listener's fd number
// into a pipe (write is never trapped: a trapped call would block forever, since nobody
// holds the listener yet). C1 takes the listener with pidfd_getfd, hands it to S over an
// AF_UNIX socket (SCM_RIGHTS), and acks; only then P closes its copy and execs, so the
// tracee never holds its own listener. C1 then reaps every orphan, forwards the signals S
// relays (only those sent with kill(), see supervisor.cpp), reports P's wait status to S,
// and exits when it has no children left (daemons keep the run alive).
// host_procnet (modules that serve the host network on purpose): C1 clones S's
// /proc/S/net (the host's namespace, from the old /proc) before mounting the fresh one,
// mounts it on /proc/1/net (its own entry) and mounts a symlink "/proc/1/net" over the
// /proc/net symlink, so /proc/net/* lists the host's network as natively.
// Where namespaces are unavailable, S forks P itself and P gets PR_SET_PDEATHSIG only
// (grandchildren can then outlive a killed supervisor, the tree shares the host's network
// namespace; a one-line warning says so).
#include "launch.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <linux/securebits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "seccomp_defs.h"

namespace tn {

int exit_code_of(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 1;
}

namespace {

volatile pid_t g_prog_pid = 0;

// Written by P into the fd pipe instead of a listener number: dropping the capabilities
// failed (the errno follows).
constexpr int32_t kCapsFailed = INT32_MIN;

void forward_handler(int sig, siginfo_t *si, void *) {
  // Only signals S sent on purpose; terminal ones already reached the process group.
  if (!si || (si->si_code != SI_USER && si->si_code != SI_QUEUE)) return;
  if (g_prog_pid > 0)
    kill(g_prog_pid, sig);
  else
    kill(-1, sig);  // the program is gone: every process left in the namespace (daemons)
}

void errmsg(const char *a, const char *b, const char *c) {
  char buf[512];
  int n = snprintf(buf, sizeof buf, "threadnet: %s%s%s\n", a, b, c);
  if (n > 0) {
    ssize_t w = write(2, buf, size_t(n) < sizeof buf ? n : sizeof buf - 1);
    (void)w;
  }
}

bool write_all(int fd, const void *p, size_t n) {
  const char *c = static_cast<const char *>(p);
  while (n) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    c += w;
    n -= w;
  }
  return true;
}

bool read_all(int fd, void *p, size_t n) {
  char *c = static_cast<char *>(p);
  while (n) {
    ssize_t r = read(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    c += r;
    n -= r;
  }
  return true;
}

void send_msg(int sock, int type, int value, int fd) {
  CtlMsg m{type, value};
  iovec iov{&m, sizeof m};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  if (fd >= 0) {
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  }
  while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

// P: runs in the child that becomes PROGRAM. Never returns.
[[noreturn]] void program_child(const std::vector<sock_filter> &prog, char *const *argv,
                                int fdpipe_w, int ackpipe_r, const LaunchSpec &spec) {
  // The user's signal state, not the supervisor's (dispositions of the forwarded
  // signals were never changed; only their mask and SIGPIPE were).
  signal(SIGPIPE, spec.inherit.sigpipe_ignored ? SIG_IGN : SIG_DFL);
  sigprocmask(SIG_SETMASK, &spec.inherit.mask, nullptr);
  // Forked from a non-dumpable supervisor (fallback mode): the listener must still be
  // taken from us with pidfd_getfd. exec sets it again for the program anyway.
  prctl(PR_SET_DUMPABLE, 1);
  if (spec.drop_caps) {
    int e = drop_all_capabilities();
    if (e < 0) {
      int32_t v = kCapsFailed;
      write_all(fdpipe_w, &v, sizeof v);
      write_all(fdpipe_w, &e, sizeof e);
      _exit(125);
    }
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    int32_t e = -errno;
    write_all(fdpipe_w, &e, sizeof e);
    _exit(125);
  }
  sock_fprog fp{static_cast<unsigned short>(prog.size()),
                const_cast<sock_filter *>(prog.data())};
  long lfd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp);
  int32_t v = lfd < 0 ? -errno : int32_t(lfd);
  if (!write_all(fdpipe_w, &v, sizeof v) || lfd < 0) _exit(125);
  char ack = 0;
  if (!read_all(ackpipe_r, &ack, 1) || ack != 1) _exit(125);
  close(int(lfd));
  close(fdpipe_w);
  close(ackpipe_r);
  execvp(argv[0], argv);
  int e = errno;
  if (e == ENOENT) {
    errmsg(argv[0], ": command not found", "");
    _exit(127);
  }
  errmsg(argv[0], ": ", strerror(e));
  _exit(126);
}

struct Pipes {
  int fd[2] = {-1, -1};
  int ack[2] = {-1, -1};
  bool open() { return pipe2(fd, O_CLOEXEC) == 0 && pipe2(ack, O_CLOEXEC) == 0; }
};

// Take the listener from P (fd number from the pipe), return it or -errno.
int take_listener(pid_t p, Pipes &pp) {
  int32_t v = 0;
  if (!read_all(pp.fd[0], &v, sizeof v)) return -EPIPE;
  if (v == kCapsFailed) {
    int32_t e = 0;
    read_all(pp.fd[0], &e, sizeof e);
    errmsg("cannot drop the program's capabilities (root mode): ", strerror(-e),
           "; use --keep-caps to run it with them");
    return -ECANCELED;
  }
  if (v < 0) return v;
  int pidfd = int(syscall(SYS_pidfd_open, p, 0));
  if (pidfd < 0) return -errno;
  int l = int(syscall(SYS_pidfd_getfd, pidfd, v, 0));
  int e = errno;
  close(pidfd);
  return l < 0 ? -e : l;
}

// ---- the host's /proc/net in the tree (LaunchSpec::host_procnet) --------------------
// open_tree/move_mount: Debian 12's glibc has no wrappers.
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif

int open_tree_at(const char *path, unsigned flags) {
  return int(syscall(SYS_open_tree, AT_FDCWD, path, flags | OPEN_TREE_CLONE | O_CLOEXEC));
}
bool move_mount_to(int tree, const char *to) {
  return syscall(SYS_move_mount, tree, "", AT_FDCWD, to, MOVE_MOUNT_F_EMPTY_PATH) == 0;
}
void procnet_warn(const char *what) {
  errmsg("cannot show the host's /proc/net in the view: ", what, strerror(errno));
}

// Before the fresh /proc: a detached copy of /proc/S/net of the old (host) procfs, which
// lists S's network namespace whoever reads it. -1 on failure (warned).
int clone_host_procnet(pid_t supervisor) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/net", int(supervisor));
  int t = open_tree_at(path, 0);
  if (t < 0) procnet_warn("open_tree: ");
  return t;
}

// After the fresh /proc: the copy on /proc/1/net (this init's own entry, alive as long
// as the tree), and over the /proc/net symlink a symlink to it, made in a scratch tmpfs
// that is unmounted again (the copied symlink keeps its superblock).
void show_host_procnet(int hostnet) {
  const char *scratch = "/proc/1/net";
  if (mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") < 0)
    return procnet_warn("tmpfs: ");
  int link = -1;
  if (symlink("/proc/1/net", "/proc/1/net/l") == 0)
    link = open_tree_at("/proc/1/net/l", AT_SYMLINK_NOFOLLOW);
  if (link < 0) procnet_warn("symlink: ");
  umount2(scratch, MNT_DETACH);
  if (link < 0) return;
  if (!move_mount_to(hostnet, "/proc/1/net"))
    procnet_warn("mount on /proc/1/net: ");
  else if (!move_mount_to(link, "/proc/net"))
    procnet_warn("mount on /proc/net: ");
  close(link);
}

// C1: the namespace's init. Never returns.
[[noreturn]] void init_child(const std::vector<sock_filter> &prog, char *const *argv, int ctl,
                             const LaunchSpec &spec, pid_t supervisor) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  char go = 0;
  if (!read_all(ctl, &go, 1)) _exit(1);  // S died or failed before the maps were written
  prctl(PR_SET_NAME, "threadnet-init");
  // Fresh /proc so that getpid() matches /proc/self. Private propagation first, so the
  // mount does not leak to the host.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0) {
    int hostnet = spec.host_procnet ? clone_host_procnet(supervisor) : -1;
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0 &&
        hostnet >= 0)
      show_host_procnet(hostnet);
    if (hostnet >= 0) close(hostnet);
  }
  Pipes pp;
  if (!pp.open()) {
    send_msg(ctl, 3, errno, -1);
    _exit(1);
  }
  struct sigaction sa {};
  sa.sa_sigaction = forward_handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  pid_t p = fork();
  if (p < 0) {
    send_msg(ctl, 3, errno, -1);
    _exit(1);
  }
  if (p == 0) {
    close(ctl);
    close(pp.fd[0]);
    close(pp.ack[1]);
    program_child(prog, argv, pp.fd[1], pp.ack[0], spec);
  }
  g_prog_pid = p;
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaction(s, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  close(pp.fd[1]);
  close(pp.ack[0]);
  int l = take_listener(p, pp);
  if (l < 0) {
    send_msg(ctl, 3, -l, -1);
  } else {
    send_msg(ctl, 1, 0, l);
    close(l);
    char ack = 1;
    write_all(pp.ack[1], &ack, 1);
  }
  // From here on the tree runs: it may not ptrace or pidfd_getfd the init, which holds
  // the socket to S (its capabilities already exceed the program's; this is one more
  // lock). Not earlier: P, forked with this flag, could not hand its listener over.
  prctl(PR_SET_DUMPABLE, 0);
  close(pp.fd[0]);
  close(pp.ack[1]);
  // Reap until no child is left; report P's status as soon as it is known.
  int pstatus = 0;
  for (;;) {
    int st = 0;
    pid_t w = waitpid(-1, &st, __WALL);
    if (w < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD
    }
    if (w == p) {
      pstatus = st;
      g_prog_pid = 0;
      send_msg(ctl, 2, st, -1);
    }
  }
  _exit(exit_code_of(pstatus) & 0xff);
}

bool write_file(const char *path, const char *s) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write_all(fd, s, strlen(s));
  close(fd);
  return ok;
}

void report_listener_error(int err) {
  if (err == EBUSY)
    errmsg("cannot install the seccomp filter: a seccomp user-notify listener already "
           "exists in this process tree (nested supervisors are not supported)", "", "");
  else if (err == EINVAL || err == ENOSYS)
    errmsg("this kernel lacks seccomp user-notify (Linux >= 5.9 with "
           "SECCOMP_FILTER_FLAG_NEW_LISTENER and ADDFD is needed): ", strerror(err), "");
  else
    errmsg("cannot install the seccomp filter: ", strerror(err), "");
}

}  // namespace

namespace {
bool effective_caps(uint64_t *mask) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &hdr, data) < 0) return false;
  *mask = uint64_t(data[0].effective) | (uint64_t(data[1].effective) << 32);
  return true;
}
}  // namespace

bool has_capability(int cap) {
  uint64_t m = 0;
  return effective_caps(&m) && cap >= 0 && cap < 64 && (m >> cap) & 1;
}

bool has_any_capability() {
  uint64_t m = 0;
  return effective_caps(&m) && m != 0;
}

int drop_all_capabilities() {
  // Securebits first (needs CAP_SETPCAP, still held): exec as uid 0 must not give the
  // capabilities back, and nothing may re-enable that. The bounding set stays: with
  // no_new_privs (set next) no exec gains a capability anyway, and an emptied bounding
  // set would make exec of "capability-dumb" binaries (file capabilities with the
  // effective bit, e.g. ping) fail with EPERM instead of running without them.
  unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                       SECBIT_NO_SETUID_FIXUP_LOCKED |
                       SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
  if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0) return -errno;
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return -errno;
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capset, &hdr, data) < 0) return -errno;
  return 0;
}

Launched launch_tree(const std::vector<sock_filter> &prog, const std::vector<std::string> &args,
                     const LaunchSpec &spec) {
  Launched L;
  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);

  if (spec.use_ns) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
      errmsg("socketpair: ", strerror(errno), "");
      L.fail_code = 1;
      return L;
    }
    // Without CAP_SYS_ADMIN (a rootless user, or root whose capabilities were dropped,
    // e.g. inside another view) the namespaces are made inside a new user namespace.
    bool priv = has_capability(CAP_SYS_ADMIN);
    uint64_t flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_PIDFD;
    if (!priv) flags |= CLONE_NEWUSER;
    pid_t self = getpid();
    int pidfd = -1;
    clone_args ca{};
    ca.flags = flags;
    ca.pidfd = reinterpret_cast<uint64_t>(&pidfd);
    ca.exit_signal = SIGCHLD;
    uid_t uid = getuid();
    gid_t gid = getgid();
    long c = syscall(SYS_clone3, &ca, sizeof ca);
    if (c == 0) {
      close(sv[0]);
      init_child(prog, argv.data(), sv[1], spec, self);
    }
    if (c > 0) {
      close(sv[1]);
      bool ok = true;
      if (!priv) {
        char path[64], line[64];
        snprintf(line, sizeof line, "%u %u 1\n", uid, uid);
        snprintf(path, sizeof path, "/proc/%ld/uid_map", c);
        ok = write_file(path, line);
        snprintf(path, sizeof path, "/proc/%ld/setgroups", c);
        write_file(path, "deny");
        snprintf(line, sizeof line, "%u %u 1\n", gid, gid);
        snprintf(path, sizeof path, "/proc/%ld/gid_map", c);
        ok = ok && write_file(path, line);
      }
      if (ok) {
        // No process of the tree has run yet: from now on none may ptrace, pidfd_getfd
        // or read the supervisor (same uid in --no-namespaces and rootless modes).
        prctl(PR_SET_DUMPABLE, 0);
        char go = 1;
        write_all(sv[0], &go, 1);
        L.ctl = sv[0];
        L.child = pid_t(c);
        L.child_pidfd = pidfd;
        L.namespaced = true;
        // Receive the listener (or an error); bounded wait.
        pollfd pfd{sv[0], POLLIN, 0};
        if (poll(&pfd, 1, 30000) <= 0) {
          errmsg("the supervised process did not start (timeout)", "", "");
          kill(pid_t(c), SIGKILL);
          L.fail_code = 1;
          return L;
        }
        CtlMsg m{};
        iovec iov{&m, sizeof m};
        msghdr mh{};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
        mh.msg_control = cbuf;
        mh.msg_controllen = sizeof cbuf;
        ssize_t n = recvmsg(sv[0], &mh, MSG_CMSG_CLOEXEC);
        if (n == sizeof m && m.type == 1) {
          cmsghdr *cm = CMSG_FIRSTHDR(&mh);
          if (cm && cm->cmsg_type == SCM_RIGHTS) memcpy(&L.listener, CMSG_DATA(cm), sizeof(int));
        }
        if (L.listener < 0) {
          if (n == sizeof m && m.type == 3) {
            if (m.value != ECANCELED) report_listener_error(m.value);  // else: said by C1
          } else
            errmsg("the supervised process failed to start", "", "");
          kill(pid_t(c), SIGKILL);
          L.fail_code = 1;
        }
        return L;
      }
      kill(pid_t(c), SIGKILL);
      waitpid(pid_t(c), nullptr, __WALL);
      close(pidfd);
      close(sv[0]);
    } else {
      close(sv[0]);
      close(sv[1]);
    }
    errmsg("PID/network/user namespaces unavailable (", strerror(errno),
           "): running without them, which is weaker: kernel sockets the modules do not "
           "serve reach the host's network, and processes that outlive a killed "
           "supervisor are not killed");
  } else {
    errmsg("--no-namespaces is weaker: kernel sockets the modules do not serve reach the "
           "host's network, and processes that outlive a killed supervisor are not killed",
           "", "");
  }

  // Fallback: S forks P directly.
  prctl(PR_SET_DUMPABLE, 0);  // before P can run anything (see above)
  Pipes pp;
  if (!pp.open()) {
    errmsg("pipe: ", strerror(errno), "");
    L.fail_code = 1;
    return L;
  }
  int pidfd = -1;
  clone_args ca{};
  ca.flags = CLONE_PIDFD;
  ca.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  ca.exit_signal = SIGCHLD;
  long p = syscall(SYS_clone3, &ca, sizeof ca);
  if (p == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(pp.fd[0]);
    close(pp.ack[1]);
    program_child(prog, argv.data(), pp.fd[1], pp.ack[0], spec);
  }
  if (p < 0) {
    errmsg("fork: ", strerror(errno), "");
    L.fail_code = 1;
    return L;
  }
  close(pp.fd[1]);
  close(pp.ack[0]);
  int l = take_listener(pid_t(p), pp);
  L.child = pid_t(p);
  L.child_pidfd = pidfd;
  if (l < 0) {
    if (l != -ECANCELED) report_listener_error(-l);
    kill(pid_t(p), SIGKILL);
    L.fail_code = 1;
  } else {
    L.listener = l;
    char ack = 1;
    write_all(pp.ack[1], &ack, 1);
  }
  close(pp.fd[0]);
  close(pp.ack[1]);
  return L;
}

}  // namespace tn
