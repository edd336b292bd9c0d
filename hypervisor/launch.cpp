// Theory of operation: "if the supervisor dies, the tree dies with it".
//
//   S (supervisor, host pid namespace)
//   └─ C1 (tiny init: pid 1 of a new PID namespace, own mount namespace with a fresh
//      │   /proc; plus a user namespace with a 1:1 uid/gid map when not privileged)
//      └─ P (installs the filter, then execs PROGRAM) └─ ... the whole tree
//
// C1 has PR_SET_PDEATHSIG(SIGKILL): when S dies C1 is killed, and the kernel kills every
// process of a PID namespace when its init dies, so nothing of the tree survives S, not
// even daemons that double-forked. C1 is not filtered: it forks P, P sets no_new_privs,
// installs the filter with SECCOMP_FILTER_FLAG_NEW_LISTENER and writes the listener's fd
// number into a pipe (write is never trapped: a trapped call would block forever, since
// nobody holds the listener yet). C1 takes the listener with pidfd_getfd, hands it to S
// over an AF_UNIX socket (SCM_RIGHTS), and acks; only then P closes its copy and execs,
// so the tracee never holds its own listener. C1 then reaps every orphan, forwards the
// signals S relays (only those sent with kill(), see supervisor.cpp), reports P's wait
// status to S, and exits when it has no children left (daemons keep the run alive).
// Where namespaces are unavailable, S forks P itself and P gets PR_SET_PDEATHSIG only
// (grandchildren can then outlive a killed supervisor; a one-line warning says so).
#include "launch.h"

#include <fcntl.h>
#include <linux/sched.h>
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
                                int fdpipe_w, int ackpipe_r, const Inherit &inh) {
  // The user's signal state, not the supervisor's (dispositions of the forwarded
  // signals were never changed; only their mask and SIGPIPE were).
  signal(SIGPIPE, inh.sigpipe_ignored ? SIG_IGN : SIG_DFL);
  sigprocmask(SIG_SETMASK, &inh.mask, nullptr);
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
  if (v < 0) return v;
  int pidfd = int(syscall(SYS_pidfd_open, p, 0));
  if (pidfd < 0) return -errno;
  int l = int(syscall(SYS_pidfd_getfd, pidfd, v, 0));
  int e = errno;
  close(pidfd);
  return l < 0 ? -e : l;
}

// C1: the namespace's init. Never returns.
[[noreturn]] void init_child(const std::vector<sock_filter> &prog, char *const *argv, int ctl,
                             const Inherit &inh) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  char go = 0;
  if (!read_all(ctl, &go, 1)) _exit(1);  // S died or failed before the maps were written
  prctl(PR_SET_NAME, "threadnet-init");
  // Fresh /proc so that getpid() matches /proc/self. Private propagation first, so the
  // mount does not leak to the host.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0)
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
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
    program_child(prog, argv, pp.fd[1], pp.ack[0], inh);
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

Launched launch_tree(const std::vector<sock_filter> &prog, const std::vector<std::string> &args,
                     bool use_ns, const Inherit &inh) {
  Launched L;
  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);

  if (use_ns) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
      errmsg("socketpair: ", strerror(errno), "");
      L.fail_code = 1;
      return L;
    }
    bool priv = geteuid() == 0;
    uint64_t flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_PIDFD;
    if (!priv) flags |= CLONE_NEWUSER;
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
      init_child(prog, argv.data(), sv[1], inh);
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
          if (n == sizeof m && m.type == 3)
            report_listener_error(m.value);
          else
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
    errmsg("PID/user namespaces unavailable (", strerror(errno),
           "): running without them; processes that outlive a killed supervisor are not "
           "killed");
  }

  // Fallback: S forks P directly.
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
    program_child(prog, argv.data(), pp.fd[1], pp.ack[0], inh);
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
    report_listener_error(-l);
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
