/* Probe for the nlsock integration test: what the C library and the old ioctls say about
 * the network, printed one fact per line so the script can compare with the view.
 *   nlsock_probe ifaddrs          getifaddrs(): "ifa NAME FAMILY ADDR" (inet/inet6/packet)
 *   nlsock_probe index NAME       if_nametoindex + if_indextoname (AF_UNIX ioctl in glibc)
 *   nlsock_probe gai              getaddrinfo(AI_ADDRCONFIG) per family: "gai inet ok|none"
 *   nlsock_probe ioctl NAME HOST  SIOCGIFCONF entries, SIOCGIFADDR/NETMASK/HWADDR/MTU/FLAGS of
 *                                 NAME; SIOCGIFINDEX of the host interface HOST (ENODEV)
 *   nlsock_probe raw              a raw netlink conversation: socket type/bind/getsockname,
 *                                 write() + recv(), MSG_PEEK|MSG_TRUNC, MSG_DONTWAIT, options
 *   nlsock_probe flood N          N dump requests, then read: backlog beyond the pair's buffer
 *   nlsock_probe fork             one socket used by a child, then by its parent
 *   nlsock_probe block            SO_RCVTIMEO, EINTR, write() then MSG_DONTWAIT, errors
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *what) {
  printf("FAIL %s: %s\n", what, strerror(errno));
  return 1;
}

static int do_ifaddrs(void) {
  struct ifaddrs *ifa, *p;
  if (getifaddrs(&ifa) < 0) return fail("getifaddrs");
  for (p = ifa; p; p = p->ifa_next) {
    char buf[INET6_ADDRSTRLEN] = "";
    if (!p->ifa_addr) continue;
    int fam = p->ifa_addr->sa_family;
    if (fam == AF_INET)
      inet_ntop(fam, &((struct sockaddr_in *)p->ifa_addr)->sin_addr, buf, sizeof buf);
    else if (fam == AF_INET6)
      inet_ntop(fam, &((struct sockaddr_in6 *)p->ifa_addr)->sin6_addr, buf, sizeof buf);
    printf("ifa %s %s %s\n", p->ifa_name,
           fam == AF_INET ? "inet" : fam == AF_INET6 ? "inet6" : fam == AF_PACKET ? "packet" : "other",
           buf);
  }
  freeifaddrs(ifa);
  return 0;
}

static int do_index(const char *name) {
  unsigned idx = if_nametoindex(name);
  char back[IF_NAMESIZE] = "";
  if (idx && !if_indextoname(idx, back)) return fail("if_indextoname");
  printf("index %s %u %s\n", name, idx, idx ? back : "-");
  return 0;
}

static int do_gai(void) {
  const char *node[2] = {"127.0.0.1", "::1"};
  int fam[2] = {AF_INET, AF_INET6};
  for (int i = 0; i < 2; ++i) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = fam[i];
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICHOST;
    int rc = getaddrinfo(node[i], "53", &hints, &res);
    printf("gai %s %s\n", i ? "inet6" : "inet", rc == 0 ? "ok" : "none");
    if (res) freeaddrinfo(res);
  }
  return 0;
}

static void put_sa(const char *what, const struct sockaddr *sa) {
  char buf[INET_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, sizeof buf);
  printf("%s %s\n", what, buf);
}

static int do_ioctl(const char *name, const char *host_if) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return fail("socket");
  struct ifconf ifc;
  memset(&ifc, 0, sizeof ifc);
  if (ioctl(fd, SIOCGIFCONF, &ifc) < 0) return fail("SIOCGIFCONF(NULL)");
  printf("ifconf_needed %d\n", ifc.ifc_len);
  struct ifreq reqs[32];
  ifc.ifc_len = sizeof reqs;
  ifc.ifc_req = reqs;
  if (ioctl(fd, SIOCGIFCONF, &ifc) < 0) return fail("SIOCGIFCONF");
  for (int i = 0; i < ifc.ifc_len / (int)sizeof(struct ifreq); ++i) {
    char label[64];
    snprintf(label, sizeof label, "ifconf %.16s", reqs[i].ifr_name);
    put_sa(label, &reqs[i].ifr_addr);
  }
  struct ifreq r;
  memset(&r, 0, sizeof r);
  snprintf(r.ifr_name, sizeof r.ifr_name, "%s", name);
  if (ioctl(fd, SIOCGIFADDR, &r) < 0) return fail("SIOCGIFADDR");
  put_sa("addr", &r.ifr_addr);
  if (ioctl(fd, SIOCGIFNETMASK, &r) < 0) return fail("SIOCGIFNETMASK");
  put_sa("netmask", &r.ifr_netmask);
  if (ioctl(fd, SIOCGIFHWADDR, &r) < 0) return fail("SIOCGIFHWADDR");
  unsigned char *m = (unsigned char *)r.ifr_hwaddr.sa_data;
  printf("hwaddr %02x:%02x:%02x:%02x:%02x:%02x\n", m[0], m[1], m[2], m[3], m[4], m[5]);
  if (ioctl(fd, SIOCGIFMTU, &r) < 0) return fail("SIOCGIFMTU");
  printf("mtu %d\n", r.ifr_mtu);
  if (ioctl(fd, SIOCGIFFLAGS, &r) < 0) return fail("SIOCGIFFLAGS");
  printf("flags %s\n", (r.ifr_flags & IFF_UP) ? "up" : "down");
  snprintf(r.ifr_name, sizeof r.ifr_name, "%s", host_if);
  printf("host_if %s\n", ioctl(fd, SIOCGIFINDEX, &r) < 0 && errno == ENODEV ? "ENODEV" : "visible");
  close(fd);
  return 0;
}

/* One GETLINK dump request written with write() (not trapped: read by the supervisor). */
static int do_raw(void) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return fail("socket");
  int v = 0;
  socklen_t l = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) < 0) return fail("SO_TYPE");
  printf("so_type %s\n", v == SOCK_DGRAM ? "dgram" : "other");
  l = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) < 0) return fail("SO_DOMAIN");
  printf("so_domain %s\n", v == AF_NETLINK ? "netlink" : "other");
  int one = 1;
  if (setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one) < 0) return fail("EXT_ACK");
  if (setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one) < 0) return fail("STRICT");
  l = sizeof v;
  v = 0;
  if (getsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &v, &l) < 0) return fail("get EXT_ACK");
  printf("ext_ack %d\n", v);
  int big = 1 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big) < 0) return fail("SO_RCVBUF");
  struct sockaddr_nl me;
  memset(&me, 0, sizeof me);
  me.nl_family = AF_NETLINK;
  if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0) return fail("bind");
  l = sizeof me;
  if (getsockname(fd, (struct sockaddr *)&me, &l) < 0) return fail("getsockname");
  printf("bound %s len %u\n", me.nl_pid == (unsigned)getpid() ? "pid" : "other", l);
  /* A second socket autobinds to a different, unique port. */
  int fd2 = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  struct sockaddr_nl me2;
  memset(&me2, 0, sizeof me2);
  me2.nl_family = AF_NETLINK;
  if (fd2 < 0 || bind(fd2, (struct sockaddr *)&me2, sizeof me2) < 0) return fail("bind2");
  l = sizeof me2;
  getsockname(fd2, (struct sockaddr *)&me2, &l);
  printf("second %s\n", me2.nl_pid != me.nl_pid && me2.nl_pid != 0 ? "unique" : "clash");
  /* Binding an explicit pid already in use fails. */
  int fd3 = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  struct sockaddr_nl taken = me;
  printf("rebind_taken %s\n",
         bind(fd3, (struct sockaddr *)&taken, sizeof taken) < 0 && errno == EADDRINUSE ? "EADDRINUSE" : "wrong");
  close(fd3);
  close(fd2);
  /* Nothing queued yet: a non-blocking receive says so. */
  char b[8192];
  printf("empty %s\n", recv(fd, b, sizeof b, MSG_DONTWAIT) < 0 && errno == EAGAIN ? "EAGAIN" : "wrong");
  struct {
    struct nlmsghdr nh;
    struct ifinfomsg ifi;
  } req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_GETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = 77;
  if (write(fd, &req, sizeof req) != (ssize_t)sizeof req) return fail("write");
  /* Peek with a zero-length buffer and MSG_TRUNC: the real size of the first datagram. */
  struct pollfd p = {fd, POLLIN, 0};
  if (poll(&p, 1, 10000) != 1) return fail("poll");
  ssize_t need = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
  printf("peek_trunc %s\n", need > (ssize_t)sizeof(struct nlmsghdr) ? "sized" : "wrong");
  /* recvmsg with an address: the kernel (pid 0), full sockaddr_nl length. */
  struct sockaddr_nl from;
  memset(&from, 0xff, sizeof from);
  struct iovec iov = {b, sizeof b};
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_name = &from;
  mh.msg_namelen = sizeof from;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  int links = 0, done = 0;
  for (int rounds = 0; rounds < 100 && !done; ++rounds) {
    mh.msg_namelen = sizeof from;
    ssize_t n = recvmsg(fd, &mh, 0);
    if (n < 0) return fail("recvmsg");
    if (rounds == 0) {
      printf("first_len %s\n", n == need ? "match" : "mismatch");
      printf("from family %s pid %u namelen %u\n", from.nl_family == AF_NETLINK ? "netlink" : "other",
             from.nl_pid, mh.msg_namelen);
    }
    for (struct nlmsghdr *nh = (struct nlmsghdr *)b; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
      if (nh->nlmsg_seq != 77 || nh->nlmsg_pid != me.nl_pid) return fail("seq/pid of reply");
      if (nh->nlmsg_type == NLMSG_DONE) done = 1;
      if (nh->nlmsg_type == RTM_NEWLINK) ++links;
    }
  }
  printf("links %d done %d\n", links, done);
  /* A short buffer: MSG_TRUNC in msg_flags, the datagram is consumed. */
  req.nh.nlmsg_seq = 78;
  struct sockaddr_nl k;
  memset(&k, 0, sizeof k);
  k.nl_family = AF_NETLINK;
  if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&k, sizeof k) != (ssize_t)sizeof req)
    return fail("sendto");
  iov.iov_len = 20;
  mh.msg_namelen = sizeof from;
  ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
  printf("short %s\n", n == 20 && (mh.msg_flags & MSG_TRUNC) ? "truncated" : "wrong");
  close(fd);
  return 0;
}

/* Many requests before any read: replies overflow the pair and wait in the supervisor
 * until the untrapped recv() calls below make room. Every dump must arrive, in order. */
static int do_flood(int n) {
  int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  if (fd < 0) return fail("socket");
  struct sockaddr_nl k;
  memset(&k, 0, sizeof k);
  k.nl_family = AF_NETLINK;
  struct {
    struct nlmsghdr nh;
    struct ifinfomsg ifi;
  } req;
  for (int i = 0; i < n; ++i) {
    memset(&req, 0, sizeof req);
    req.nh.nlmsg_len = sizeof req;
    req.nh.nlmsg_type = RTM_GETLINK;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.nh.nlmsg_seq = (unsigned)i + 1;
    if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&k, sizeof k) < 0) return fail("sendto");
  }
  static char b[65536];
  int dones = 0, in_order = 1;
  unsigned last = 0;
  while (dones < n) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) break;
    ssize_t len = recv(fd, b, sizeof b, 0);
    if (len <= 0) return fail("recv");
    for (struct nlmsghdr *nh = (struct nlmsghdr *)b; NLMSG_OK(nh, (size_t)len); nh = NLMSG_NEXT(nh, len)) {
      if (nh->nlmsg_seq < last) in_order = 0;
      last = nh->nlmsg_seq;
      if (nh->nlmsg_type == NLMSG_DONE) ++dones;
    }
  }
  printf("flood %d of %d %s\n", dones, n, in_order ? "in order" : "out of order");
  close(fd);
  return 0;
}

/* One dump on `fd`, read with recvmsg (address given); returns the NLMSG_DONE count. */
static int one_dump(int fd, unsigned seq) {
  struct {
    struct nlmsghdr nh;
    struct rtgenmsg g;
  } req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_GETADDR;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = seq;
  struct sockaddr_nl k;
  memset(&k, 0, sizeof k);
  k.nl_family = AF_NETLINK;
  if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&k, sizeof k) < 0) return -1;
  static char b[16384];
  int done = 0;
  for (int i = 0; i < 100 && !done; ++i) {
    struct iovec iov = {b, sizeof b};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_name = &k;
    mh.msg_namelen = sizeof k;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    ssize_t n = recvmsg(fd, &mh, 0);
    if (n < 0) return -1;
    for (struct nlmsghdr *nh = (struct nlmsghdr *)b; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n))
      if (nh->nlmsg_type == NLMSG_DONE && nh->nlmsg_seq == seq) done = 1;
  }
  return done;
}

/* A socket shared across fork: the child uses it, then the parent. */
static int do_fork(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  if (fd < 0) return fail("socket");
  pid_t pid = fork();
  if (pid < 0) return fail("fork");
  if (pid == 0) {
    printf("child %d\n", one_dump(fd, 1));
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  printf("parent %d\n", one_dump(fd, 2));
  close(fd);
  return 0;
}

static void on_alarm(int sig) { (void)sig; }

/* Receives that must wait: SO_RCVTIMEO expires (EAGAIN), a signal interrupts (EINTR); a
 * request written with write() is answered before a trapped MSG_DONTWAIT receive. */
static int do_block(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  if (fd < 0) return fail("socket");
  char b[8192];
  struct sockaddr_nl from;
  struct iovec iov = {b, sizeof b};
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_name = &from;
  mh.msg_namelen = sizeof from;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  struct timeval tv = {0, 200000};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) return fail("SO_RCVTIMEO");
  printf("timeout %s\n", recvmsg(fd, &mh, 0) < 0 && errno == EAGAIN ? "EAGAIN" : "wrong");
  memset(&tv, 0, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;  /* no SA_RESTART: the blocked call fails with EINTR */
  sigaction(SIGALRM, &sa, NULL);
  alarm(1);
  printf("signal %s\n", recvmsg(fd, &mh, 0) < 0 && errno == EINTR ? "EINTR" : "wrong");
  struct {
    struct nlmsghdr nh;
    struct rtgenmsg g;
  } req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_GETADDR;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = 9;
  req.g.rtgen_family = AF_UNSPEC;
  if (write(fd, &req, sizeof req) != (ssize_t)sizeof req) return fail("write");
  mh.msg_namelen = sizeof from;
  ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
  printf("write_then_dontwait %s\n", n > 0 ? "answered" : "EAGAIN");
  struct sockaddr_nl user;
  memset(&user, 0, sizeof user);
  user.nl_family = AF_NETLINK;
  user.nl_pid = 424242;
  printf("to_user %s\n", sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&user, sizeof user) < 0 &&
                                 errno == ECONNREFUSED ? "ECONNREFUSED" : "wrong");
  printf("shutdown %s\n", shutdown(fd, SHUT_RDWR) < 0 && errno == EOPNOTSUPP ? "EOPNOTSUPP" : "wrong");
  int v = -1;
  socklen_t l = sizeof v;
  printf("so_protocol %d\n", getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &l) < 0 ? -1 : v);
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 2 && !strcmp(argv[1], "ifaddrs")) return do_ifaddrs();
  if (argc >= 3 && !strcmp(argv[1], "index")) return do_index(argv[2]);
  if (argc >= 2 && !strcmp(argv[1], "gai")) return do_gai();
  if (argc >= 4 && !strcmp(argv[1], "ioctl")) return do_ioctl(argv[2], argv[3]);
  if (argc >= 2 && !strcmp(argv[1], "raw")) return do_raw();
  if (argc >= 2 && !strcmp(argv[1], "block")) return do_block();
  if (argc >= 2 && !strcmp(argv[1], "fork")) return do_fork();
  if (argc >= 3 && !strcmp(argv[1], "flood")) return do_flood(atoi(argv[2]));
  fprintf(stderr, "usage: nlsock_probe ifaddrs|index NAME|gai|ioctl NAME HOST|raw|block|flood N|fork\n");
  return 2;
}
