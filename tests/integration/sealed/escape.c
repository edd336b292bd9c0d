/* escape: tries every known way for a program in a threadnet view to reach the host's
 * network, or the supervisor, around the view. Run it in a view:
 *
 *   escape HOSTPORT SUPERVISOR_PID [INHERITED_FD|-1] [ABSTRACT_NAME] [UNIX_PATH]
 *
 * HOSTPORT: a TCP/UDP server of the host on 127.0.0.1 and ::1 (the test counts what it
 * receives: nothing may arrive). SUPERVISOR_PID: the supervisor's pid in the host's pid
 * namespace. INHERITED_FD: a socket to that server opened before the launch.
 * ABSTRACT_NAME: an abstract AF_UNIX listener of the host; UNIX_PATH: a path one (which
 * must stay reachable: X11/D-Bus/Wayland clients need them).
 *
 * One line per route: "ROUTE: sealed (why)" or "ROUTE: OPEN (what happened)". Exit 0 when
 * every route is sealed and the path socket works, 1 otherwise. Every call is bounded
 * (non-blocking sockets, short timeouts).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/inet_diag.h>
#include <linux/io_uring.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AF_SMC
#define AF_SMC 43
#endif
#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef AF_KCM
#define AF_KCM 41
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static int open_routes = 0;
static unsigned short port;

static void sealed(const char *route, const char *why) { printf("%s: sealed (%s)\n", route, why); }
static void opened(const char *route, const char *what) {
  printf("%s: OPEN (%s)\n", route, what);
  open_routes++;
}
static const char *err(void) { return strerror(errno); }

static struct sockaddr_in lo4(void) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/* Connect with a 1 s bound; returns 0 when connected. */
static int connect_bounded(int fd, const struct sockaddr *sa, socklen_t len) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (connect(fd, sa, len) == 0) return 0;
  if (errno != EINPROGRESS) return -1;
  struct pollfd p = {fd, POLLOUT, 0};
  if (poll(&p, 1, 1000) <= 0) {
    errno = ETIMEDOUT;
    return -1;
  }
  int e = 0;
  socklen_t el = sizeof e;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
  errno = e;
  return e ? -1 : 0;
}

/* An inherited socket to the host server. */
static void inherited(int fd) {
  if (fd < 0) return;
  const char msg[] = "escaped through an inherited socket\n";
  ssize_t n = send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n > 0) opened("inherited host socket", "data sent to the host server");
  else sealed("inherited host socket", err());
}

/* socket() of a family that the modules do not serve: created by the kernel in the
 * view's namespace, where nothing leads anywhere. */
static void family(const char *name, int domain, int type, int proto) {
  char route[96];
  snprintf(route, sizeof route, "socket(%s)", name);
  int fd = socket(domain, type | SOCK_CLOEXEC, proto);
  if (fd < 0) return sealed(route, err());
  int reached = 0;
  if (domain == AF_VSOCK) {
    struct sockaddr_vm v = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = port};
    reached = connect_bounded(fd, (struct sockaddr *)&v, sizeof v) == 0;
  } else if (domain == AF_SMC) {  /* SMC falls back to TCP */
    struct sockaddr_in a = lo4();
    reached = connect_bounded(fd, (struct sockaddr *)&a, sizeof a) == 0;
  }
  close(fd);
  if (reached) opened(route, "connected to the host");
  else sealed(route, "created in the view's empty namespace, reaches nothing");
}

/* Raw IP and packet sockets: whatever they send must not reach the host server. */
static void raw_and_packet(void) {
  int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) {
    sealed("raw socket", err());
  } else {
    unsigned char udp[8 + 5] = {0x30, 0x39, (unsigned char)(port >> 8), (unsigned char)port, 0, 13, 0, 0,
                                'r', 'a', 'w', '!', '\n'};
    struct sockaddr_in a = lo4();
    ssize_t n = sendto(fd, udp, sizeof udp, MSG_DONTWAIT, (struct sockaddr *)&a, sizeof a);
    close(fd);
    /* Sent or not, the test's server is what tells: nothing may arrive. */
    sealed("raw socket", n < 0 ? err() : "sent inside the view only");
  }
  fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) return sealed("packet socket", err());
  unsigned char buf[2048];
  ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  close(fd);
  if (n > 0) opened("packet socket", "read a frame of a host interface");
  else sealed("packet socket", "no host interface in the view's namespace");
}

/* Netlink families other than the view's emulated ROUTE: must see no host state. */
static int dump_has_port(int proto, int family, int sockproto) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
  if (fd < 0) return -1;
  struct {
    struct nlmsghdr h;
    struct inet_diag_req_v2 r;
  } q = {.h = {.nlmsg_len = sizeof q, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
               .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
         .r = {.sdiag_family = (unsigned char)family, .sdiag_protocol = (unsigned char)sockproto,
               .idiag_states = ~0u}};
  struct timeval tv = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (send(fd, &q, sizeof q, 0) < 0) {
    close(fd);
    return -1;
  }
  int found = 0;
  char buf[16384];
  for (int rounds = 0; rounds < 1000; ++rounds) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    int done = 0;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
        done = 1;
        break;
      }
      struct inet_diag_msg *m = NLMSG_DATA(h);
      if (ntohs(m->id.idiag_sport) == port) found = 1;
    }
    if (done) break;
  }
  close(fd);
  return found;
}

static void sock_diag(void) {
  int found = 0, any = 0;
  for (int fam = 0; fam < 2; ++fam)
    for (int pr = 0; pr < 2; ++pr) {
      int r = dump_has_port(NETLINK_SOCK_DIAG, fam ? AF_INET6 : AF_INET, pr ? IPPROTO_UDP : IPPROTO_TCP);
      if (r >= 0) any = 1;
      if (r > 0) found = 1;
    }
  if (found) opened("NETLINK_SOCK_DIAG", "lists the host's server socket");
  else sealed("NETLINK_SOCK_DIAG", any ? "lists no host socket" : err());
  static const struct { int proto; const char *name; } others[] = {
      {NETLINK_GENERIC, "NETLINK_GENERIC"}, {NETLINK_AUDIT, "NETLINK_AUDIT"},
      {NETLINK_KOBJECT_UEVENT, "NETLINK_KOBJECT_UEVENT"}, {NETLINK_NETFILTER, "NETLINK_NETFILTER"},
      {NETLINK_XFRM, "NETLINK_XFRM"}, {NETLINK_FIB_LOOKUP, "NETLINK_FIB_LOOKUP"}};
  for (size_t i = 0; i < sizeof others / sizeof others[0]; ++i) {
    char route[64];
    snprintf(route, sizeof route, "socket(AF_NETLINK, %s)", others[i].name);
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, others[i].proto);
    if (fd < 0) {
      sealed(route, err());
      continue;
    }
    close(fd);
    sealed(route, "created in the view's empty namespace");
  }
}

/* /proc/net tables: the host's server port must not be listed. */
static void proc_net(void) {
  char own[64];
  snprintf(own, sizeof own, "/proc/%d/net", (int)getpid());
  const char *dirs[] = {"/proc/net", "/proc/self/net", "/proc/thread-self/net", own};
  const char *files[] = {"tcp", "tcp6", "udp", "udp6"};
  char hex[8];
  snprintf(hex, sizeof hex, ":%04X ", port);
  for (size_t d = 0; d < 4; ++d) {
    int found = 0, read_any = 0;
    for (size_t f = 0; f < 4; ++f) {
      char path[128], line[512];
      snprintf(path, sizeof path, "%s/%s", dirs[d], files[f]);
      FILE *fp = fopen(path, "re");
      if (!fp) continue;
      read_any = 1;
      while (fgets(line, sizeof line, fp))
        if (strstr(line, hex)) found = 1;
      fclose(fp);
    }
    char route[96];
    snprintf(route, sizeof route, "%s/tcp*,udp*", d == 3 ? "/proc/PID/net" : dirs[d]);
    if (found) opened(route, "lists the host's server socket");
    else sealed(route, read_any ? "lists no host socket" : "not readable");
  }
}

static void io_uring(void) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  long fd = syscall(SYS_io_uring_setup, 4, &p);
  if (fd >= 0) {
    close((int)fd);
    opened("io_uring", "io_uring_setup worked (socket operations would bypass the filter)");
  } else {
    sealed("io_uring", err());
  }
}

/* x32: socket() with the x32 bit. (i386 int 0x80 is tested by the hypervisor suite,
 * where the kernel allows it.) */
static void x32(void) {
  long r = syscall(0x40000000 | SYS_socket, AF_INET, SOCK_STREAM, 0);
  if (r >= 0) {
    struct sockaddr_in a = lo4();
    int ok = connect_bounded((int)r, (struct sockaddr *)&a, sizeof a) == 0;
    close((int)r);
    if (ok) return opened("x32 socket()", "connected to the host server");
  }
  sealed("x32 socket()", r < 0 ? err() : "a socket that reaches nothing");
}

/* The supervisor: its listener and host sockets must be out of reach. */
static void supervisor(pid_t s) {
  if (s <= 0) return;
  long pfd = syscall(SYS_pidfd_open, s, 0);
  if (pfd < 0) {
    sealed("pidfd_open(supervisor)", err());
  } else {
    int got = 0;
    for (int fd = 0; fd < 64; ++fd) {
      long d = syscall(SYS_pidfd_getfd, (int)pfd, fd, 0);
      if (d >= 0) {
        got = 1;
        close((int)d);
      }
    }
    if (got) opened("pidfd_getfd(supervisor)", "took one of its fds");
    else sealed("pidfd_getfd(supervisor)", err());
    close((int)pfd);
  }
  if (ptrace(PTRACE_SEIZE, s, 0, 0) == 0) {
    opened("ptrace(supervisor)", "PTRACE_SEIZE worked");
    ptrace(PTRACE_DETACH, s, 0, 0);
  } else {
    sealed("ptrace(supervisor)", err());
  }
  char b[8];
  struct iovec l = {b, sizeof b}, r = {(void *)0x400000, sizeof b};
  if (process_vm_readv(s, &l, 1, &r, 1, 0) >= 0 || errno == EFAULT)
    opened("process_vm_readv(supervisor)", "its memory is readable");
  else
    sealed("process_vm_readv(supervisor)", err());
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mem", (int)s);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    opened("/proc/PID/mem of the supervisor", "opened");
  } else {
    sealed("/proc/PID/mem of the supervisor", err());
  }
}

/* SO_ATTACH_FILTER with a pointer the supervisor would read in its own memory. */
static void attach_filter(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return sealed("SO_ATTACH_FILTER hostile pointer", err());
  struct sock_fprog p = {.len = 4, .filter = (struct sock_filter *)0x1000};
  int r = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &p, sizeof p);
  int e = errno;
  /* The supervisor must still serve afterwards. */
  int fd2 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  close(fd);
  if (fd2 < 0) return opened("SO_ATTACH_FILTER hostile pointer", "the supervisor stopped serving");
  close(fd2);
  if (r == 0) opened("SO_ATTACH_FILTER hostile pointer", "accepted");
  else if (e == EFAULT) sealed("SO_ATTACH_FILTER hostile pointer", "EFAULT, as the kernel gives");
  else sealed("SO_ATTACH_FILTER hostile pointer", strerror(e));
}

/* AF_UNIX: abstract names are per network namespace; paths are the filesystem's. */
static void unix_sockets(const char *abstract, const char *path) {
  if (abstract && *abstract) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t n = strlen(abstract);
    if (n > sizeof a.sun_path - 2) n = sizeof a.sun_path - 2;
    memcpy(a.sun_path + 1, abstract, n);
    int ok = connect_bounded(fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) == 0;
    close(fd);
    if (ok) opened("abstract AF_UNIX of the host", "connected");
    else sealed("abstract AF_UNIX of the host", err());
  }
  if (path && *path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int ok = connect_bounded(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (ok) {
      fcntl(fd, F_SETFL, 0);
      ok = write(fd, "path\n", 5) == 5;
    }
    close(fd);
    if (ok) {
      printf("path AF_UNIX of the host: works\n");
    } else {
      printf("path AF_UNIX of the host: BROKEN (%s)\n", err());
      open_routes++;  /* a sealed view must keep these */
    }
  }
}

/* SUPERVISOR_PID may be @FILE: the test writes the pid there right after the launch. */
static pid_t supervisor_pid(const char *arg) {
  if (arg[0] != '@') return (pid_t)atoi(arg);
  for (int i = 0; i < 100; ++i) {  /* at most 5 s */
    FILE *f = fopen(arg + 1, "re");
    int pid = 0;
    if (f) {
      int n = fscanf(f, "%d", &pid);
      fclose(f);
      if (n == 1 && pid > 0) return (pid_t)pid;
    }
    usleep(50000);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: escape HOSTPORT SUPERVISOR_PID [FD|-1] [ABSTRACT] [PATH]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  port = (unsigned short)atoi(argv[1]);
  inherited(argc > 3 ? atoi(argv[3]) : -1);
  family("AF_VSOCK", AF_VSOCK, SOCK_STREAM, 0);
  family("AF_SMC", AF_SMC, SOCK_STREAM, 0);
  family("AF_TIPC", 30 /* AF_TIPC */, SOCK_RDM, 0);
  family("AF_RDS", 21 /* AF_RDS */, SOCK_SEQPACKET, 0);
  family("AF_KCM", AF_KCM, SOCK_DGRAM, 0);
  family("AF_XDP", AF_XDP, SOCK_RAW, 0);
  family("AF_PACKET dgram", AF_PACKET, SOCK_DGRAM, 0);
  raw_and_packet();
  sock_diag();
  proc_net();
  io_uring();
  x32();
  pid_t s = supervisor_pid(argv[2]);
  if (s <= 0) opened("supervisor pid", "not known: the test could not check it");
  supervisor(s);
  attach_filter();
  unix_sockets(argc > 4 ? argv[4] : NULL, argc > 5 ? argv[5] : NULL);
  printf("open routes: %d\n", open_routes);
  return open_routes ? 1 : 0;
}
