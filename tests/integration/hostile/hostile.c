/* Hostile arguments to every trapped socket call: lengths past the buffer, negative and huge
 * lengths, unmapped memory, msghdrs with huge msg_iovlen/msg_controllen, hostile socket
 * filters and bogus eBPF fds, on TCP and UDP, IPv4 and IPv6 sockets. One line per case with
 * the result (OK, OK and a value, or the errno name); the test runs it natively and under
 * threadnet and compares the lines (hostile.sh).
 *
 * Line prefixes say what must match where:
 *   (none)    every run must answer as the kernel does natively;
 *   filter.   a socket filter that works: the same under relay (a host socket); a view's
 *             libstack sockets have no BPF and refuse valid filters (EOPNOTSUPP);
 *   policy.   options threadnet refuses on purpose (docs/relay.md): natively a root test
 *             run may set them; the script checks threadnet's answer itself;
 *   ifreq.    interface ioctls that name an interface: a view has its own interfaces;
 *   dualstack. an IPv4 destination on an IPv6 UDP socket: Linux sends it as IPv4, a
 *             view's libstack UDP socket keeps to its family (EAFNOSUPPORT).
 * The last lines are a normal TCP echo and UDP echo: the supervisor still serves.
 *
 * "edge" memory is the end of a readable page followed by an unmapped one: a value placed
 * there is readable for exactly its own length, so a length past it faults. Every wait is
 * bounded; alarm() ends a stuck run. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif
#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif

static char *bad;       /* an unmapped page */
static char *edge_end;  /* the first byte after a readable page (the next one is unmapped) */
static char pfx[64];    /* "tcp4" ... for the lines */

static void line(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(const char *what, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  printf("%s%s%s: %s\n", pfx, *pfx ? "." : "", what, buf);
  fflush(stdout);
}
static const char *en(long rc) { return rc < 0 ? strerrorname_np(errno) : "OK"; }
#define R(what, call)                              \
  do {                                             \
    long rc_ = (long)(call);                       \
    if (rc_ < 0)                                   \
      line(what, "%s", strerrorname_np(errno));    \
    else                                           \
      line(what, "OK %ld", rc_);                   \
  } while (0)
/* The same, without the value (fd numbers, byte counts that depend on the run). */
#define E(what, call) line(what, "%s", en((long)(call)))

/* n bytes that end at the unmapped page. */
static void *edge(size_t n) { return edge_end - n; }

static struct sockaddr_storage loop_addr(int fam, int port) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  if (fam == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    a->sin6_addr = in6addr_loopback;
  }
  return ss;
}
static socklen_t alen(int fam) {
  return fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}
static int port_of(int fd) {
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  memset(&ss, 0, sizeof ss);
  getsockname(fd, (struct sockaddr *)&ss, &l);
  return ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                 : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}
static short wait_in(int fd, int ms) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, ms) > 0 ? p.revents : 0;
}
/* A loopback listener (port chosen by the kernel) and a connected pair through it. */
static int listener(int fam, int *port) {
  int l = socket(fam, SOCK_STREAM, 0);
  struct sockaddr_storage a = loop_addr(fam, 0);
  bind(l, (struct sockaddr *)&a, alen(fam));
  listen(l, 16);
  *port = port_of(l);
  return l;
}
static int connect_to(int fam, int port) {
  int c = socket(fam, SOCK_STREAM, 0);
  struct sockaddr_storage a = loop_addr(fam, port);
  connect(c, (struct sockaddr *)&a, alen(fam));
  return c;
}
static int udp_bound(int fam, int *port) {
  int u = socket(fam, SOCK_DGRAM, 0);
  struct sockaddr_storage a = loop_addr(fam, 0);
  bind(u, (struct sockaddr *)&a, alen(fam));
  *port = port_of(u);
  return u;
}
/* Sends one datagram to the loopback port and waits until it can be read at `to`. */
static void dgram(int from, int fam, int port, int to, const char *text) {
  struct sockaddr_storage a = loop_addr(fam, port);
  sendto(from, text, strlen(text), 0, (struct sockaddr *)&a, alen(fam));
  wait_in(to, 3000);
}

/* ---- socket, bind, connect, listen ---------------------------------------------------- */

static void sec_socket(int fam) {
  R("socket.type999", socket(fam, 999, 0));
  R("socket.stream_proto999", socket(fam, SOCK_STREAM, 999));
  R("socket.dgram_tcp", socket(fam, SOCK_DGRAM, IPPROTO_TCP));
  R("socket.flags", socket(fam, SOCK_STREAM | 0x40000000, 0));
}

/* Address arguments of bind or connect (op 0 / 1) on fresh sockets of this kind. */
static void addr_cases(int fam, int type, int op, int port) {
  const char *n = op ? "connect" : "bind";
  char w[64];
  struct sockaddr_storage a = loop_addr(fam, op ? port : 0);
  struct sockaddr_storage other = loop_addr(fam == AF_INET ? AF_INET6 : AF_INET, port);
#define CASE(tag, ptr, len)                                                     \
  do {                                                                          \
    int s_ = socket(fam, type, 0);                                              \
    snprintf(w, sizeof w, "%s.%s", n, tag);                                     \
    if (op)                                                                     \
      E(w, connect(s_, (const struct sockaddr *)(ptr), (socklen_t)(len)));      \
    else                                                                        \
      E(w, bind(s_, (const struct sockaddr *)(ptr), (socklen_t)(len)));         \
    close(s_);                                                                  \
  } while (0)
  CASE("len0", &a, 0);
  CASE("len1", &a, 1);
  CASE("len65535", &a, 65535);
  CASE("lenneg", &a, -1);
  CASE("len_short", &a, alen(fam) - 1);
  memcpy(edge(alen(fam)), &a, alen(fam));
  CASE("len_past_buffer", edge(alen(fam)), 128);
  CASE("exact_at_edge", edge(alen(fam)), alen(fam));
  CASE("unmapped", bad, alen(fam));
  CASE("null", NULL, alen(fam));
  if (fam == AF_INET6 && type == SOCK_DGRAM)
    CASE("dualstack.wrong_family", &other, sizeof(struct sockaddr_in6));
  else
    CASE("wrong_family", &other, sizeof(struct sockaddr_in6));
  if (fam == AF_INET6) CASE("len_rfc2133", &a, 24); /* sin6_scope_id left out */
#undef CASE
}

static void sec_listen(int fam, int type) {
  int s = socket(fam, type, 0);
  struct sockaddr_storage a = loop_addr(fam, 0);
  bind(s, (struct sockaddr *)&a, alen(fam));
  E("listen.neg", listen(s, -1));
  E("listen.intmax", listen(s, 0x7fffffff));
  close(s);
}

/* ---- accept ------------------------------------------------------------------------- */

static void sec_accept(int fam) {
  int port;
  int l = listener(fam, &port);
  fcntl(l, F_SETFL, O_NONBLOCK);
  struct sockaddr_storage peer;
  socklen_t pl = sizeof peer;
  E("accept.nothing_pending_unmapped_len", accept(l, (struct sockaddr *)&peer, (socklen_t *)bad));
  E("accept4.flags_bad", accept4(l, NULL, NULL, -1));
  E("accept4.flags_unknown", accept4(l, NULL, NULL, 0x1234));
  struct {
    const char *tag;
    void *addr;
    void *lenp;
    int len;
  } k[] = {
      {"unmapped_len", &peer, bad, 0},
      {"neg_len", &peer, &pl, -1},
      {"unmapped_addr", bad, &pl, (int)sizeof peer},
      {"len0", &peer, &pl, 0},
      {"len65535_edge16", edge(16), &pl, 65535},
      {"null_addr_unmapped_len", NULL, bad, 0},
  };
  /* Each case takes one pending connection; a failed address write loses it, as in the
   * kernel: the accept after the loop finds the queue empty. */
  int clients[8];
  for (size_t i = 0; i < sizeof k / sizeof k[0]; ++i) {
    clients[i] = connect_to(fam, port);
    wait_in(l, 3000);
    pl = (socklen_t)k[i].len;
    char w[64];
    snprintf(w, sizeof w, "accept.%s", k[i].tag);
    int a = accept(l, (struct sockaddr *)k[i].addr, (socklen_t *)k[i].lenp);
    if (a < 0) {
      line(w, "%s", strerrorname_np(errno));
    } else {
      line(w, "OK len %d", k[i].lenp == &pl ? (int)pl : -1);
      close(a);
    }
  }
  usleep(50000);
  E("accept.after", accept(l, NULL, NULL));
  for (size_t i = 0; i < sizeof k / sizeof k[0]; ++i) close(clients[i]);
  int c = connect_to(fam, port);
  wait_in(l, 3000);
  int a = accept(l, NULL, NULL);
  E("accept.next_connection", a);
  if (a >= 0) close(a);
  close(c);
  /* accept on sockets that do not listen */
  int t = socket(fam, SOCK_STREAM, 0);
  E("accept.not_listening", accept(t, NULL, NULL));
  close(t);
  int u = socket(fam, SOCK_DGRAM, 0);
  E("accept.udp", accept(u, NULL, NULL));
  close(u);
  close(l);
}

/* ---- names ---------------------------------------------------------------------------- */

static void name_cases(int fd, int peer) {
  const char *n = peer ? "getpeername" : "getsockname";
  char w[64];
  struct sockaddr_storage ss;
  socklen_t l;
#define NC(tag, addr, lenp, init)                                                   \
  do {                                                                              \
    l = (socklen_t)(init);                                                          \
    snprintf(w, sizeof w, "%s.%s", n, tag);                                         \
    int rc_ = peer ? getpeername(fd, (struct sockaddr *)(addr), (socklen_t *)(lenp)) \
                   : getsockname(fd, (struct sockaddr *)(addr), (socklen_t *)(lenp)); \
    if (rc_ < 0)                                                                    \
      line(w, "%s", strerrorname_np(errno));                                        \
    else                                                                            \
      line(w, "OK len %d", (void *)(lenp) == (void *)&l ? (int)l : -1);             \
  } while (0)
  NC("unmapped_len", &ss, bad, 0);
  NC("null_len", &ss, NULL, 0);
  NC("neg_len", &ss, &l, -1);
  NC("len0", &ss, &l, 0);
  NC("unmapped_addr", bad, &l, sizeof ss);
  NC("len65535_edge16", edge(16), &l, 65535);
  *(socklen_t *)edge(sizeof(socklen_t)) = sizeof ss;
  NC("len_edge_len", &ss, edge(sizeof(socklen_t)), 0);
#undef NC
}

/* ---- options -------------------------------------------------------------------------- */

static void set_cases(int fd, int fam, int tcp) {
  int one = 1;
  char w[80];
#define SO(tag, lvl, opt, val, len)                                    \
  do {                                                                 \
    snprintf(w, sizeof w, "setsockopt.%s", tag);                       \
    E(w, setsockopt(fd, lvl, opt, (const void *)(val), (socklen_t)(len))); \
  } while (0)
  SO("reuseaddr.unmapped", SOL_SOCKET, SO_REUSEADDR, bad, 4);
  SO("reuseaddr.null", SOL_SOCKET, SO_REUSEADDR, NULL, 4);
  SO("reuseaddr.len0", SOL_SOCKET, SO_REUSEADDR, &one, 0);
  SO("reuseaddr.len2", SOL_SOCKET, SO_REUSEADDR, &one, 2);
  SO("reuseaddr.lenneg", SOL_SOCKET, SO_REUSEADDR, &one, -1);
  memcpy(edge(4), &one, 4);
  SO("reuseaddr.len65535_edge4", SOL_SOCKET, SO_REUSEADDR, edge(4), 65535);
  SO("reuseaddr.len1G_edge4", SOL_SOCKET, SO_REUSEADDR, edge(4), 1 << 30);
  SO("reuseaddr.edge2_len4", SOL_SOCKET, SO_REUSEADDR, edge(2), 4);
  struct linger lg = {0, 0};
  SO("linger.len4", SOL_SOCKET, SO_LINGER, &lg, 4);
  SO("linger.edge4_len8", SOL_SOCKET, SO_LINGER, edge(4), 8);
  memcpy(edge(sizeof lg), &lg, sizeof lg);
  SO("linger.edge8_len100", SOL_SOCKET, SO_LINGER, edge(8), 100);
  SO("linger.unmapped", SOL_SOCKET, SO_LINGER, bad, sizeof lg);
  struct timeval tv = {0, 0};
  SO("rcvtimeo.len8", SOL_SOCKET, SO_RCVTIMEO, &tv, 8);
  SO("rcvtimeo.unmapped", SOL_SOCKET, SO_RCVTIMEO, bad, sizeof tv);
  SO("rcvtimeo.edge8_len16", SOL_SOCKET, SO_RCVTIMEO, edge(8), 16);
  SO("rcvtimeo.zero", SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  SO("bindtodevice.unmapped", SOL_SOCKET, SO_BINDTODEVICE, bad, 4);
  SO("unknown.sol_socket", SOL_SOCKET, 9999, &one, 4);
  SO("unknown.sol_socket_unmapped", SOL_SOCKET, 9999, bad, 4);
  SO("unknown.sol_socket_len2", SOL_SOCKET, 9999, &one, 2);
  SO("unknown.ip_unmapped", IPPROTO_IP, 9999, bad, 4);
  SO("unknown.level999", 999, 1, &one, 4);
  SO("get_only.type", SOL_SOCKET, SO_TYPE, &one, 4);
  if (fam == AF_INET) {
    unsigned char ttl = 64;
    SO("ip_ttl.len1", IPPROTO_IP, IP_TTL, &ttl, 1);
    SO("ip_ttl.len0", IPPROTO_IP, IP_TTL, &one, 0);
    SO("ip_ttl.unmapped", IPPROTO_IP, IP_TTL, bad, 4);
    SO("ip_ttl.edge1_len4", IPPROTO_IP, IP_TTL, edge(1), 4);
    SO("ipv6_level_on_v4", IPPROTO_IPV6, IPV6_V6ONLY, bad, 4);
  } else {
    SO("v6only.unmapped", IPPROTO_IPV6, IPV6_V6ONLY, bad, 4);
    SO("v6only.len2", IPPROTO_IPV6, IPV6_V6ONLY, &one, 2);
    SO("v6only.null", IPPROTO_IPV6, IPV6_V6ONLY, NULL, 4);
    SO("unicast_hops.edge2_len4", IPPROTO_IPV6, IPV6_UNICAST_HOPS, edge(2), 4);
    SO("ip_tos_on_v6", IPPROTO_IP, IP_TOS, &one, 4);
  }
  SO("tcp_nodelay.unmapped", IPPROTO_TCP, TCP_NODELAY, bad, 4);
  SO("tcp_nodelay.len2", IPPROTO_TCP, TCP_NODELAY, &one, 2);
  if (tcp) {
    SO("tcp_congestion.len0", IPPROTO_TCP, TCP_CONGESTION, "cubic", 0);
    SO("tcp_congestion.unmapped", IPPROTO_TCP, TCP_CONGESTION, bad, 5);
    SO("tcp_congestion.unknown", IPPROTO_TCP, TCP_CONGESTION, "nosuchcc", 8);
    memcpy(edge(6), "cubic", 6);
    SO("tcp_congestion.len65535_edge", IPPROTO_TCP, TCP_CONGESTION, edge(6), 65535);
    SO("tcp_maxseg.unmapped", IPPROTO_TCP, TCP_MAXSEG, bad, 4);
  } else {
    SO("udp_cork.unmapped", IPPROTO_UDP, 1 /* UDP_CORK */, bad, 4);
  }

  /* Socket filters: hostile ones must get the kernel's errno. */
  struct sock_filter accept_all[] = {{BPF_RET | BPF_K, 0, 0, 0xffffffff}};
  struct sock_fprog fp;
  SO("attach_filter.len8", SOL_SOCKET, SO_ATTACH_FILTER, &fp, 8);
  SO("attach_filter.len2", SOL_SOCKET, SO_ATTACH_FILTER, &fp, 2);
  SO("attach_filter.fprog_unmapped", SOL_SOCKET, SO_ATTACH_FILTER, bad, sizeof fp);
  fp.len = 1;
  fp.filter = (struct sock_filter *)bad;
  SO("attach_filter.insns_unmapped", SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp);
  fp.len = 3;  /* three instructions claimed, one readable */
  fp.filter = (struct sock_filter *)edge(sizeof accept_all);
  memcpy(edge(sizeof accept_all), accept_all, sizeof accept_all);
  SO("attach_filter.insns_past_buffer", SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp);
  fp.len = BPF_MAXINSNS + 1;
  fp.filter = accept_all;
  SO("attach_filter.too_long", SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp);
  fp.len = 0xffff;
  SO("attach_filter.len65535", SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp);
  fp.len = 0;
  SO("attach_filter.empty", SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp);
  fp.len = 1;
  fp.filter = NULL;
  SO("attach_filter.null_insns", SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp);
  fp.filter = (struct sock_filter *)bad;
  SO("attach_reuseport_cbpf.insns_unmapped", SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fp,
     sizeof fp);
  int bogus = 9999, neg = -1;
  SO("attach_bpf.bogus_fd", SOL_SOCKET, SO_ATTACH_BPF, &bogus, 4);
  SO("attach_bpf.neg_fd", SOL_SOCKET, SO_ATTACH_BPF, &neg, 4);
  SO("attach_bpf.len2", SOL_SOCKET, SO_ATTACH_BPF, &bogus, 2);
  SO("attach_bpf.len8", SOL_SOCKET, SO_ATTACH_BPF, &bogus, 8);
  SO("attach_bpf.unmapped", SOL_SOCKET, SO_ATTACH_BPF, bad, 4);
  SO("attach_reuseport_ebpf.bogus_fd", SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &bogus, 4);
  SO("detach_filter.len2", SOL_SOCKET, SO_DETACH_FILTER, &one, 2);
  SO("detach_filter.unmapped", SOL_SOCKET, SO_DETACH_FILTER, bad, 4);

  /* Valid values: where a view has no such feature (libstack has no BPF) the lines differ. */
  fp.len = 1;
  fp.filter = accept_all;
  SO("filter.attach_valid", SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp);
  struct sock_filter junk[] = {{0xffff, 0, 0, 0}};
  fp.filter = junk;
  SO("filter.attach_invalid_insn", SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp);
  int self = fd;
  SO("filter.attach_bpf_not_bpf", SOL_SOCKET, SO_ATTACH_BPF, &self, 4);
  SO("filter.detach", SOL_SOCKET, SO_DETACH_FILTER, &one, 4);
  SO("filter.detach_again", SOL_SOCKET, SO_DETACH_FILTER, &one, 4);

#undef SO
  /* Refused by threadnet on purpose (see the header comment), on a socket of their own: a
   * root test run natively puts it in repair mode. */
  int p = socket(fam, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
  if (tcp) E("setsockopt.policy.tcp_repair", setsockopt(p, IPPROTO_TCP, TCP_REPAIR, &one, 4));
  if (tcp) E("setsockopt.policy.tcp_ulp", setsockopt(p, IPPROTO_TCP, TCP_ULP, "tls", 3));
  E("setsockopt.policy.ipt_set_replace",
    setsockopt(p, fam == AF_INET ? IPPROTO_IP : IPPROTO_IPV6, 64, edge(64), 64));
  close(p);
}

static void get_cases(int fd, int fam, int tcp) {
  char w[80];
  int v = 0;
  socklen_t l;
#define GO(tag, lvl, opt, val, lenp, init)                                     \
  do {                                                                         \
    l = (socklen_t)(init);                                                     \
    snprintf(w, sizeof w, "getsockopt.%s", tag);                               \
    int rc_ = getsockopt(fd, lvl, opt, (void *)(val), (socklen_t *)(lenp));    \
    if (rc_ < 0)                                                               \
      line(w, "%s", strerrorname_np(errno));                                   \
    else                                                                       \
      line(w, "OK len %d", (void *)(lenp) == (void *)&l ? (int)l : -1);        \
  } while (0)
  GO("type.unmapped_len", SOL_SOCKET, SO_TYPE, &v, bad, 0);
  GO("type.null_len", SOL_SOCKET, SO_TYPE, &v, NULL, 0);
  GO("type.neg_len", SOL_SOCKET, SO_TYPE, &v, &l, -1);
  GO("type.len0", SOL_SOCKET, SO_TYPE, &v, &l, 0);
  GO("type.len2", SOL_SOCKET, SO_TYPE, &v, &l, 2);
  GO("type.unmapped_val", SOL_SOCKET, SO_TYPE, bad, &l, 4);
  GO("type.len65535_edge4", SOL_SOCKET, SO_TYPE, edge(4), &l, 65535);
  *(socklen_t *)edge(sizeof(socklen_t)) = 4;
  GO("type.len_edge_len", SOL_SOCKET, SO_TYPE, &v, edge(sizeof(socklen_t)), 4);
  GO("error.unmapped_val", SOL_SOCKET, SO_ERROR, bad, &l, 4);
  GO("error.neg_len", SOL_SOCKET, SO_ERROR, &v, &l, -1);
  GO("linger.len65535_edge4", SOL_SOCKET, SO_LINGER, edge(4), &l, 65535);
  GO("unknown.sol_socket", SOL_SOCKET, 9999, &v, &l, 4);
  GO("unknown.level999", 999, 1, &v, &l, 4);
  GO("get_filter.none_len0", SOL_SOCKET, SO_GET_FILTER, &v, &l, 0);
  GO("get_filter.none_neg", SOL_SOCKET, SO_GET_FILTER, &v, &l, -1);
  if (fam == AF_INET) {
    unsigned char c = 0;
    GO("ip_ttl.len1", IPPROTO_IP, IP_TTL, &c, &l, 1);
    GO("ip_ttl.neg_len", IPPROTO_IP, IP_TTL, &v, &l, -1);
    GO("ipv6_level_on_v4", IPPROTO_IPV6, IPV6_V6ONLY, &v, &l, 4);
  } else {
    GO("v6only.unmapped_val", IPPROTO_IPV6, IPV6_V6ONLY, bad, &l, 4);
    GO("v6only.neg_len", IPPROTO_IPV6, IPV6_V6ONLY, &v, &l, -1);
  }
  if (tcp) {
    GO("tcp_nodelay.neg_len", IPPROTO_TCP, TCP_NODELAY, &v, &l, -1);
    GO("tcp_nodelay.len1", IPPROTO_TCP, TCP_NODELAY, &v, &l, 1);
    GO("tcp_info.len65535_edge8", IPPROTO_TCP, TCP_INFO, edge(8), &l, 65535);
    GO("tcp_info.unmapped_val", IPPROTO_TCP, TCP_INFO, bad, &l, 104);
  } else {
    GO("tcp_level_on_udp", IPPROTO_TCP, TCP_NODELAY, &v, &l, 4);
  }
#undef GO
}

/* A valid filter on a socket that has one: SO_GET_FILTER's length counts instructions. */
static void get_filter_cases(int fam, int type) {
  int s = socket(fam, type, 0);
  struct sock_filter two[] = {{BPF_LD | BPF_W | BPF_LEN, 0, 0, 0}, {BPF_RET | BPF_K, 0, 0, 0xffffffff}};
  struct sock_fprog fp = {2, two};
  int rc = setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp);
  line("filter.get.attach", "%s", en(rc));
  struct sock_filter got[4];
  socklen_t l = 0;
  rc = getsockopt(s, SOL_SOCKET, SO_GET_FILTER, got, &l);
  line("filter.get.len0", "%s len %d", en(rc), (int)l);
  l = 1;
  rc = getsockopt(s, SOL_SOCKET, SO_GET_FILTER, got, &l);
  line("filter.get.len1", "%s", en(rc));
  l = 4;
  memset(got, 0, sizeof got);
  rc = getsockopt(s, SOL_SOCKET, SO_GET_FILTER, got, &l);
  line("filter.get.len4", "%s len %d same %d", en(rc), (int)l, !memcmp(got, two, sizeof two));
  l = 100;
  rc = getsockopt(s, SOL_SOCKET, SO_GET_FILTER, edge(8), &l);
  line("filter.get.edge8", "%s", en(rc));
  close(s);
}

/* A classic BPF filter that drops everything really applies: datagrams stop arriving. */
static void filter_drop(int fam) {
  int port, rport;
  int r = udp_bound(fam, &rport);
  int s = udp_bound(fam, &port);
  dgram(s, fam, rport, r, "before");
  char buf[64];
  ssize_t n = recv(r, buf, sizeof buf, MSG_DONTWAIT);
  line("filter.drop.before", "%zd", n);
  struct sock_filter drop[] = {{BPF_RET | BPF_K, 0, 0, 0}};
  struct sock_fprog fp = {1, drop};
  line("filter.drop.attach", "%s", en(setsockopt(r, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp)));
  struct sockaddr_storage a = loop_addr(fam, rport);
  for (int i = 0; i < 3; ++i) sendto(s, "dropped", 7, 0, (struct sockaddr *)&a, alen(fam));
  line("filter.drop.arrived", "%s", wait_in(r, 300) ? "yes" : "no");
  line("filter.drop.detach", "%s", en(setsockopt(r, SOL_SOCKET, SO_DETACH_FILTER, &fp, 4)));
  dgram(s, fam, rport, r, "after");
  n = recv(r, buf, sizeof buf, MSG_DONTWAIT);
  line("filter.drop.after", "%zd", n);
  close(r);
  close(s);
}

/* The same with an eBPF socket filter: SO_ATTACH_BPF names the program's own fd, which the
 * supervisor must look up in the program's fd table. (bpf() is not trapped: where the run
 * may not load programs, every run prints the same refusal.) */
static void bpf_drop(int fam) {
  struct bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},  /* r0 = 0: drop */
      {.code = BPF_JMP | BPF_EXIT},
  };
  union bpf_attr at;
  memset(&at, 0, sizeof at);
  at.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  at.insns = (uint64_t)(uintptr_t)insns;
  at.insn_cnt = 2;
  at.license = (uint64_t)(uintptr_t) "GPL";
  int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &at, sizeof at);
  line("filter.drop_bpf.load", "%s", en(prog));
  if (prog < 0) return;
  int port, rport;
  int r = udp_bound(fam, &rport);
  int s = udp_bound(fam, &port);
  line("filter.drop_bpf.attach", "%s", en(setsockopt(r, SOL_SOCKET, SO_ATTACH_BPF, &prog, 4)));
  struct sockaddr_storage a = loop_addr(fam, rport);
  sendto(s, "dropped", 7, 0, (struct sockaddr *)&a, alen(fam));
  line("filter.drop_bpf.arrived", "%s", wait_in(r, 300) ? "yes" : "no");
  close(prog);
  close(r);
  close(s);
}

/* ---- data calls ------------------------------------------------------------------------ */

static struct msghdr mh(void *name, socklen_t namelen, struct iovec *iov, size_t iovlen,
                        void *ctl, size_t ctllen) {
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_name = name;
  m.msg_namelen = namelen;
  m.msg_iov = iov;
  m.msg_iovlen = iovlen;
  m.msg_control = ctl;
  m.msg_controllen = ctllen;
  return m;
}

static void sec_udp_send(int fam) {
  int rport, port;
  int r = udp_bound(fam, &rport);
  int s = udp_bound(fam, &port);
  struct sockaddr_storage a = loop_addr(fam, rport);
  struct sockaddr_storage other = loop_addr(fam == AF_INET ? AF_INET6 : AF_INET, rport);
  socklen_t al = alen(fam);
  char big[128];
  memset(big, 0, sizeof big);
  memcpy(big, &a, al);
  static char huge[70000];
  R("sendto.buf_unmapped", sendto(s, bad, 10, 0, (struct sockaddr *)&a, al));
  R("sendto.len1G_edge4", sendto(s, edge(4), 1 << 30, 0, (struct sockaddr *)&a, al));
  R("sendto.len_over_max", sendto(s, huge, fam == AF_INET ? 65508 : 65528, 0, (struct sockaddr *)&a, al));
  R("sendto.len_past_buffer", sendto(s, edge(4), 100, 0, (struct sockaddr *)&a, al));
  R("sendto.addr_unmapped", sendto(s, "x", 1, 0, (struct sockaddr *)bad, al));
  R("sendto.addrlen0", sendto(s, "x", 1, 0, (struct sockaddr *)&a, 0));
  R("sendto.addrlen65535", sendto(s, "x", 1, 0, (struct sockaddr *)&a, 65535));
  R("sendto.addrlen_neg", sendto(s, "x", 1, 0, (struct sockaddr *)&a, (socklen_t)-1));
  R("sendto.addrlen_short", sendto(s, "x", 1, 0, (struct sockaddr *)&a, al - 1));
  R("sendto.addr_past_buffer", sendto(s, "x", 1, 0, (struct sockaddr *)memcpy(edge(al), &a, al), 128));
  R(fam == AF_INET ? "sendto.wrong_family" : "sendto.dualstack.wrong_family",
    sendto(s, "x", 1, 0, (struct sockaddr *)&other, sizeof(struct sockaddr_in6)));
  R("sendto.oob", sendto(s, "x", 1, MSG_OOB, (struct sockaddr *)&a, al));
  struct iovec iov = {"y", 1};
  struct msghdr m;
  m = mh(&a, al, &iov, 1u << 30, NULL, 0);
  R("sendmsg.iovlen1G", sendmsg(s, &m, 0));
  m = mh(&a, al, &iov, 1025, NULL, 0);
  R("sendmsg.iovlen_uio_maxiov_plus1", sendmsg(s, &m, 0));
  m = mh(&a, al, (struct iovec *)bad, 1, NULL, 0);
  R("sendmsg.iov_unmapped", sendmsg(s, &m, 0));
  struct iovec ib = {bad, 10};
  m = mh(&a, al, &ib, 1, NULL, 0);
  R("sendmsg.iov_base_unmapped", sendmsg(s, &m, 0));
  struct iovec ih = {edge(4), 1u << 30};
  m = mh(&a, al, &ih, 1, NULL, 0);
  R("sendmsg.iov_len1G", sendmsg(s, &m, 0));
  struct iovec in = {big, (size_t)-1};
  m = mh(&a, al, &in, 1, NULL, 0);
  R("sendmsg.iov_len_neg", sendmsg(s, &m, 0));
  m = mh(&a, al, &iov, 1, bad, (size_t)1 << 40);
  R("sendmsg.controllen_huge", sendmsg(s, &m, 0));
  m = mh(&a, al, &iov, 1, bad, 300000);
  R("sendmsg.controllen_300k", sendmsg(s, &m, 0));
  m = mh(&a, al, &iov, 1, bad, 64);
  R("sendmsg.control_unmapped", sendmsg(s, &m, 0));
  char junk[sizeof(struct cmsghdr)];
  memset(junk, 0, sizeof junk);
  m = mh(&a, al, &iov, 1, junk, sizeof junk);
  R("sendmsg.control_cmsg_len0", sendmsg(s, &m, 0));
  m = mh(big, 65535, &iov, 1, NULL, 0);
  R("sendmsg.namelen65535", sendmsg(s, &m, 0));
  m = mh(&a, (socklen_t)-1, &iov, 1, NULL, 0);
  R("sendmsg.namelen_neg", sendmsg(s, &m, 0));
  m = mh(&a, 0, &iov, 1, NULL, 0);
  R("sendmsg.namelen0", sendmsg(s, &m, 0));
  m = mh(bad, al, &iov, 1, NULL, 0);
  R("sendmsg.name_unmapped", sendmsg(s, &m, 0));
  m = mh(memcpy(edge(al), &a, al), 128, &iov, 1, NULL, 0);
  R("sendmsg.name_past_buffer", sendmsg(s, &m, 0));
  R("sendmsg.msghdr_unmapped", sendmsg(s, (struct msghdr *)bad, 0));
  /* sendmmsg: a bad second message after a good first one returns 1. */
  struct mmsghdr mm[2];
  memset(mm, 0, sizeof mm);
  mm[0].msg_hdr = mh(&a, al, &iov, 1, NULL, 0);
  mm[1].msg_hdr = mh(&a, al, (struct iovec *)bad, 1, NULL, 0);
  R("sendmmsg.second_bad", sendmmsg(s, mm, 2, 0));
  mm[0].msg_hdr = mh(&a, al, &iov, 1u << 30, NULL, 0);
  R("sendmmsg.first_iovlen_huge", sendmmsg(s, mm, 1, 0));
  R("sendmmsg.vec_unmapped", sendmmsg(s, (struct mmsghdr *)bad, 1, 0));
  R("sendmmsg.vlen0", sendmmsg(s, mm, 0, 0));
  /* What arrived: the two good datagrams ("y" from sendmsg.namelen65535 and sendmmsg). */
  int got = 0;
  char buf[64];
  while (wait_in(r, 300) && recv(r, buf, sizeof buf, MSG_DONTWAIT) >= 0) ++got;
  line("sendto.arrived", "%d", got);
  close(r);
  close(s);
}

static void sec_udp_recv(int fam) {
  int rport, port;
  int r = udp_bound(fam, &rport);
  int s = udp_bound(fam, &port);
  struct sockaddr_storage from;
  socklen_t fl = sizeof from;
  char buf[64];
  /* Nothing queued: the address arguments are not looked at. */
  R("recvfrom.empty_len_unmapped", recvfrom(r, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, (socklen_t *)bad));
  struct iovec iov = {buf, sizeof buf};
  struct msghdr m = mh(bad, sizeof from, &iov, 1, NULL, 0);
  R("recvmsg.empty_name_unmapped", recvmsg(r, &m, MSG_DONTWAIT));
  m = mh(&from, sizeof from, &iov, 1u << 30, NULL, 0);
  R("recvmsg.iovlen1G", recvmsg(r, &m, MSG_DONTWAIT));
  m = mh(&from, sizeof from, &iov, 1025, NULL, 0);
  R("recvmsg.iovlen_uio_maxiov_plus1", recvmsg(r, &m, MSG_DONTWAIT));
  m = mh(&from, sizeof from, (struct iovec *)bad, 1, NULL, 0);
  R("recvmsg.iov_unmapped", recvmsg(r, &m, MSG_DONTWAIT));
  m = mh(&from, (socklen_t)-1, &iov, 1, NULL, 0);
  R("recvmsg.namelen_neg", recvmsg(r, &m, MSG_DONTWAIT));
  struct iovec in = {buf, (size_t)-1};
  m = mh(&from, sizeof from, &in, 1, NULL, 0);
  R("recvmsg.iov_len_neg", recvmsg(r, &m, MSG_DONTWAIT));
  R("recvmsg.msghdr_unmapped", recvmsg(r, (struct msghdr *)bad, MSG_DONTWAIT));
  struct mmsghdr mm[2];
  memset(mm, 0, sizeof mm);
  mm[0].msg_hdr = mh(&from, sizeof from, &iov, 1, NULL, 0);
  R("recvmmsg.timeout_unmapped", recvmmsg(r, mm, 1, MSG_DONTWAIT, (struct timespec *)bad));
  struct timespec badts = {0, 2000000000L};
  R("recvmmsg.timeout_invalid", recvmmsg(r, mm, 1, MSG_DONTWAIT, &badts));
  R("recvmmsg.vec_unmapped", recvmmsg(r, (struct mmsghdr *)bad, 1, MSG_DONTWAIT, NULL));

  /* One datagram per case: a failed copy consumes it, as in the kernel. */
  struct {
    const char *tag;
    int kind;  /* 0 recvfrom, 1 recvmsg */
    void *buf;
    size_t len;
    void *addr;
    void *lenp;
    int alen;
  } k[] = {
      {"recvfrom.buf_unmapped", 0, bad, 10, &from, &fl, sizeof from},
      {"recvfrom.len_unmapped", 0, buf, sizeof buf, &from, bad, 0},
      {"recvfrom.len_neg", 0, buf, sizeof buf, &from, &fl, -1},
      {"recvfrom.addr_unmapped", 0, buf, sizeof buf, bad, &fl, sizeof from},
      {"recvfrom.len65535_edge16", 0, buf, sizeof buf, edge(16), &fl, 65535},
      {"recvfrom.buflen1G_edge8", 0, edge(8), 1u << 30, &from, &fl, sizeof from},
      {"recvfrom.len0", 0, buf, sizeof buf, &from, &fl, 0},
      {"recvmsg.iov_base_unmapped", 1, bad, 10, &from, NULL, sizeof from},
      {"recvmsg.name_unmapped", 1, buf, sizeof buf, bad, NULL, sizeof from},
      {"recvmsg.namelen65535_edge16", 1, buf, sizeof buf, edge(16), NULL, 65535},
      {"recvmsg.control_huge_unmapped", 1, buf, sizeof buf, &from, (void *)1, sizeof from},
  };
  for (size_t i = 0; i < sizeof k / sizeof k[0]; ++i) {
    char text[16];
    snprintf(text, sizeof text, "d%zu", i);
    dgram(s, fam, rport, r, text);
    long rc;
    if (k[i].kind == 0) {
      fl = (socklen_t)k[i].alen;
      rc = recvfrom(r, k[i].buf, k[i].len, MSG_DONTWAIT, (struct sockaddr *)k[i].addr, (socklen_t *)k[i].lenp);
    } else {
      struct iovec v = {k[i].buf, k[i].len};
      m = mh(k[i].addr, (socklen_t)k[i].alen, &v, 1, NULL, 0);
      if (k[i].lenp == (void *)1) {
        m.msg_control = bad;
        m.msg_controllen = (size_t)1 << 40;
      }
      rc = recvmsg(r, &m, MSG_DONTWAIT);
      fl = m.msg_namelen;
      if (rc >= 0) line(k[i].tag, "OK %ld namelen %d controllen %zu", rc, (int)m.msg_namelen, (size_t)m.msg_controllen);
      else line(k[i].tag, "%s", strerrorname_np(errno));
      continue;
    }
    if (rc >= 0) line(k[i].tag, "OK %ld len %d", rc, k[i].lenp == &fl ? (int)fl : -1);
    else line(k[i].tag, "%s", strerrorname_np(errno));
  }
  /* Nothing left behind: the next datagram is the next one sent. */
  dgram(s, fam, rport, r, "last");
  ssize_t n = recv(r, buf, sizeof buf - 1, MSG_DONTWAIT);
  buf[n > 0 ? n : 0] = 0;
  line("recv.next", "%s", buf);
  /* recvmmsg with two messages and one datagram queued. */
  dgram(s, fam, rport, r, "mm");
  memset(mm, 0, sizeof mm);
  struct iovec v0 = {buf, sizeof buf}, v1 = {buf, sizeof buf};
  struct sockaddr_storage f0, f1;
  mm[0].msg_hdr = mh(&f0, sizeof f0, &v0, 1, NULL, 0);
  mm[1].msg_hdr = mh(&f1, sizeof f1, &v1, 1, NULL, 0);
  R("recvmmsg.one_of_two", recvmmsg(r, mm, 2, MSG_DONTWAIT, NULL));
  close(r);
  close(s);
}

/* sendto/recvfrom with an address on a connected TCP socket. */
static void sec_tcp_data(int fam, int c, int a) {
  struct sockaddr_storage x = loop_addr(fam, 9);
  R("tcp.sendto.buf_unmapped", sendto(c, bad, 10, 0, (struct sockaddr *)&x, alen(fam)));
  R("tcp.sendto.addrlen65535", sendto(c, "x", 1, 0, (struct sockaddr *)&x, 65535));
  R("tcp.sendto.addr_unmapped", sendto(c, "x", 1, 0, (struct sockaddr *)bad, alen(fam)));
  struct iovec iov = {"x", 1};
  struct msghdr m = mh(&x, alen(fam), &iov, 1u << 30, NULL, 0);
  R("tcp.sendmsg.iovlen1G", sendmsg(c, &m, 0));
  m = mh(bad, alen(fam), &iov, 1, NULL, 0);
  R("tcp.sendmsg.name_unmapped", sendmsg(c, &m, 0));
  R("tcp.send.ok", send(c, "z", 1, 0));
  wait_in(a, 3000);
  char b;
  R("tcp.recv.ok", recv(a, &b, 1, MSG_DONTWAIT));
}

static void sec_shutdown(int fam, int c) {
  E("shutdown.how3", shutdown(c, 3));
  E("shutdown.howneg", shutdown(c, -1));
  E("shutdown.how99", shutdown(c, 99));
  int u = socket(fam, SOCK_DGRAM, 0);
  E("shutdown.udp_unconnected", shutdown(u, SHUT_RD));
  E("shutdown.udp_how99", shutdown(u, 99));
  close(u);
}

/* ---- interface ioctls (0x89xx) ----------------------------------------------------------- */

static void sec_ioctl(int fd) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  E("ioctl.gifindex_unmapped", ioctl(fd, SIOCGIFINDEX, bad));
  E("ioctl.gifflags_unmapped", ioctl(fd, SIOCGIFFLAGS, bad));
  E("ioctl.gifaddr_past_buffer", ioctl(fd, SIOCGIFADDR, edge(8)));
  E("ioctl.gifconf_unmapped", ioctl(fd, SIOCGIFCONF, bad));
  struct ifconf ifc;
  ifc.ifc_len = 4096;
  ifc.ifc_buf = bad;
  E("ioctl.gifconf_buf_unmapped", ioctl(fd, SIOCGIFCONF, &ifc));
  ifc.ifc_len = 4096;
  ifc.ifc_buf = edge(8);
  E("ioctl.gifconf_buf_past_buffer", ioctl(fd, SIOCGIFCONF, &ifc));
  ifc.ifc_len = -1;
  ifc.ifc_buf = (char *)&ifr;
  int rc = ioctl(fd, SIOCGIFCONF, &ifc);
  line("ioctl.gifconf_len_neg", "%s len %d", en(rc), ifc.ifc_len);
  strcpy(ifr.ifr_name, "nosuchif0");
  E("ioctl.gifflags_nosuchif", ioctl(fd, SIOCGIFFLAGS, &ifr));
  memset(ifr.ifr_name, 'x', sizeof ifr.ifr_name);  /* not NUL-terminated */
  E("ioctl.gifindex_unterminated", ioctl(fd, SIOCGIFINDEX, &ifr));
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  E("ifreq.gifflags_lo", ioctl(fd, SIOCGIFFLAGS, &ifr));
}

/* ---- the supervisor still serves --------------------------------------------------------- */

static void sec_echo(int fam) {
  int port;
  int l = listener(fam, &port);
  int c = connect_to(fam, port);
  int a = accept(l, NULL, NULL);
  char buf[16] = {0};
  send(c, "ping", 4, 0);
  wait_in(a, 3000);
  ssize_t n = recv(a, buf, sizeof buf - 1, MSG_DONTWAIT);
  if (n > 0) send(a, buf, (size_t)n, 0);
  memset(buf, 0, sizeof buf);
  wait_in(c, 3000);
  n = recv(c, buf, sizeof buf - 1, MSG_DONTWAIT);
  line("echo.tcp", "%s", n > 0 ? buf : "(nothing)");
  close(a);
  close(c);
  close(l);
  int rport, sport;
  int r = udp_bound(fam, &rport);
  int s = udp_bound(fam, &sport);
  dgram(s, fam, rport, r, "pong");
  struct sockaddr_storage from;
  socklen_t fl = sizeof from;
  memset(buf, 0, sizeof buf);
  n = recvfrom(r, buf, sizeof buf - 1, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
  line("echo.udp", "%s from_self %d", n > 0 ? buf : "(nothing)",
       fl == alen(fam) && port_of(s) == (fam == AF_INET ? ntohs(((struct sockaddr_in *)&from)->sin_port)
                                                          : ntohs(((struct sockaddr_in6 *)&from)->sin6_port)));
  close(r);
  close(s);
}

int main(void) {
  alarm(120);
  bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (bad == MAP_FAILED || two == MAP_FAILED) return 1;
  munmap(two + 4096, 4096);
  edge_end = two + 4096;
  int fams[2] = {AF_INET, AF_INET6};
  for (int f = 0; f < 2; ++f) {
    int fam = fams[f];
    const char *v = fam == AF_INET ? "4" : "6";
    snprintf(pfx, sizeof pfx, "v%s", v);
    sec_socket(fam);
    for (int t = 0; t < 2; ++t) {
      int type = t ? SOCK_DGRAM : SOCK_STREAM;
      snprintf(pfx, sizeof pfx, "%s%s", t ? "udp" : "tcp", v);
      int port;
      int l = listener(fam, &port);
      addr_cases(fam, type, 0, port);
      addr_cases(fam, type, 1, port);
      sec_listen(fam, type);
      /* a connected TCP pair, or a connected UDP socket */
      int c, a = -1;
      if (type == SOCK_STREAM) {
        c = connect_to(fam, port);
        a = accept(l, NULL, NULL);
      } else {
        int up;
        int u = udp_bound(fam, &up);
        c = socket(fam, SOCK_DGRAM, 0);
        struct sockaddr_storage ua = loop_addr(fam, up);
        connect(c, (struct sockaddr *)&ua, alen(fam));
        close(u);
      }
      name_cases(c, 0);
      name_cases(c, 1);
      set_cases(c, fam, type == SOCK_STREAM);
      get_cases(c, fam, type == SOCK_STREAM);
      get_filter_cases(fam, type);
      sec_ioctl(c);
      if (type == SOCK_STREAM) {
        sec_accept(fam);
        sec_tcp_data(fam, c, a);
        sec_shutdown(fam, c);
        close(a);
      } else {
        int u = socket(fam, SOCK_DGRAM, 0);
        name_cases(u, 1);  /* unconnected: ENOTCONN before the arguments */
        close(u);
        sec_udp_send(fam);
        sec_udp_recv(fam);
        filter_drop(fam);
        bpf_drop(fam);
      }
      close(c);
      close(l);
    }
  }
  for (int f = 0; f < 2; ++f) {
    snprintf(pfx, sizeof pfx, "v%d", fams[f] == AF_INET ? 4 : 6);
    sec_echo(fams[f]);
  }
  *pfx = 0;
  line("done", "%s", "yes");
  return 0;
}
