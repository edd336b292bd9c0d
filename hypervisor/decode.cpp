// Theory of operation: --trace prints, for each trapped call, one strace-like line:
//   [pid 1234] connect(3, {AF_INET, 127.0.0.1:80}, 16) = -1 ECONNREFUSED (Connection refused)
// Names of system calls come from libseccomp's table; arguments of the network calls are
// decoded here (families, socket types and message flags symbolically, socket addresses
// read from the tracee through a reader callback, with bounds checks). Other calls show
// raw hexadecimal arguments. Decoding runs only when tracing is on.
#include "decode.h"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "seccomp_defs.h"

namespace tn {

std::string syscall_name(int nr, uint32_t arch) {
  std::string prefix;
  if (arch == SCMP_ARCH_X86_64 && (nr & X32_SYSCALL_BIT)) prefix = "x32:";
  uint32_t a = arch ? arch : SCMP_ARCH_X86_64;
  if (a == SCMP_ARCH_X86) prefix = "i386:";
  int base = nr & ~X32_SYSCALL_BIT;
  char *n = seccomp_syscall_resolve_num_arch(a == SCMP_ARCH_X86 ? a : SCMP_ARCH_X86_64,
                                             a == SCMP_ARCH_X86 ? nr : base);
  std::string s = n ? std::string(n) : "syscall_" + std::to_string(base);
  free(n);
  return prefix + s;
}

int syscall_number(const std::string &name) {
  int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name.c_str());
  return nr == __NR_SCMP_ERROR ? -1 : nr;
}

std::string decode_family(long f) {
  switch (f) {
    case AF_UNSPEC: return "AF_UNSPEC";
    case AF_UNIX: return "AF_UNIX";
    case AF_INET: return "AF_INET";
    case AF_INET6: return "AF_INET6";
    case AF_NETLINK: return "AF_NETLINK";
    case AF_PACKET: return "AF_PACKET";
    default: return std::to_string(f);
  }
}

std::string decode_socket_type(long t) {
  std::string s;
  switch (t & 0xf) {
    case SOCK_STREAM: s = "SOCK_STREAM"; break;
    case SOCK_DGRAM: s = "SOCK_DGRAM"; break;
    case SOCK_RAW: s = "SOCK_RAW"; break;
    case SOCK_SEQPACKET: s = "SOCK_SEQPACKET"; break;
    default: s = std::to_string(t & 0xf);
  }
  if (t & SOCK_NONBLOCK) s += "|SOCK_NONBLOCK";
  if (t & SOCK_CLOEXEC) s += "|SOCK_CLOEXEC";
  long rest = t & ~(0xfL | SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (rest) {
    char b[32];
    snprintf(b, sizeof b, "|%#lx", rest);
    s += b;
  }
  return s;
}

std::string decode_msg_flags(long f) {
  static const struct {
    long v;
    const char *n;
  } names[] = {{MSG_OOB, "MSG_OOB"},         {MSG_PEEK, "MSG_PEEK"},
               {MSG_DONTROUTE, "MSG_DONTROUTE"}, {MSG_TRUNC, "MSG_TRUNC"},
               {MSG_DONTWAIT, "MSG_DONTWAIT"}, {MSG_EOR, "MSG_EOR"},
               {MSG_WAITALL, "MSG_WAITALL"},   {MSG_NOSIGNAL, "MSG_NOSIGNAL"},
               {MSG_MORE, "MSG_MORE"},         {MSG_CMSG_CLOEXEC, "MSG_CMSG_CLOEXEC"}};
  if (!f) return "0";
  std::string s;
  for (auto &n : names)
    if (f & n.v) {
      if (!s.empty()) s += "|";
      s += n.n;
      f &= ~n.v;
    }
  if (f) {
    char b[32];
    snprintf(b, sizeof b, "%s%#lx", s.empty() ? "" : "|", f);
    s += b;
  }
  return s;
}

std::string decode_sockaddr(const void *p, size_t len) {
  if (len < sizeof(sa_family_t)) return "{}";
  sa_family_t fam;
  memcpy(&fam, p, sizeof fam);
  char buf[INET6_ADDRSTRLEN + 64];
  if (fam == AF_INET && len >= sizeof(sockaddr_in)) {
    sockaddr_in a;
    memcpy(&a, p, sizeof a);
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    snprintf(buf, sizeof buf, "{AF_INET, %s:%u}", ip, ntohs(a.sin_port));
    return buf;
  }
  if (fam == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    sockaddr_in6 a;
    memcpy(&a, p, sizeof a);
    char ip[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &a.sin6_addr, ip, sizeof ip);
    snprintf(buf, sizeof buf, "{AF_INET6, [%s]:%u}", ip, ntohs(a.sin6_port));
    return buf;
  }
  if (fam == AF_UNIX) {
    const char *path = static_cast<const char *>(p) + offsetof(sockaddr_un, sun_path);
    size_t plen = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
    if (plen == 0) return "{AF_UNIX}";
    std::string s;
    bool abstract = path[0] == 0;
    for (size_t i = abstract ? 1 : 0; i < plen && i < 108; ++i) {
      if (!abstract && path[i] == 0) break;
      unsigned char ch = path[i];
      if (ch < 32 || ch > 126 || ch == '"' || ch == '\\') {
        char e[8];
        snprintf(e, sizeof e, "\\x%02x", ch);
        s += e;
      } else {
        s += char(ch);
      }
    }
    return std::string("{AF_UNIX, ") + (abstract ? "@" : "") + "\"" + s + "\"}";
  }
  if (fam == AF_NETLINK && len >= sizeof(sockaddr_nl)) {
    sockaddr_nl a;
    memcpy(&a, p, sizeof a);
    snprintf(buf, sizeof buf, "{AF_NETLINK, pid=%u, groups=%#x}", a.nl_pid, a.nl_groups);
    return buf;
  }
  return "{" + decode_family(fam) + ", ...}";
}

std::string errno_name(int err) {
  const char *n = strerrorname_np(err);
  return n ? n : "E" + std::to_string(err);
}

std::string decode_result(int64_t value, int err) {
  if (err) return " = -1 " + errno_name(err) + " (" + strerror(err) + ")";
  return " = " + std::to_string(value);
}

namespace {

std::string hex(uint64_t v) {
  char b[32];
  snprintf(b, sizeof b, "%#llx", static_cast<unsigned long long>(v));
  return b;
}

std::string addr_arg(uint64_t ptr, uint64_t len, const MemReader &rd) {
  if (!ptr) return "NULL";
  if (len > 128) len = 128;
  unsigned char buf[128];
  if (!rd || len == 0 || !rd(ptr, buf, len)) return hex(ptr);
  return decode_sockaddr(buf, len);
}

std::string level_name(long l) {
  switch (l) {
    case SOL_SOCKET: return "SOL_SOCKET";
    case IPPROTO_TCP: return "IPPROTO_TCP";
    case IPPROTO_IP: return "IPPROTO_IP";
    case IPPROTO_IPV6: return "IPPROTO_IPV6";
    case IPPROTO_UDP: return "IPPROTO_UDP";
    default: return std::to_string(l);
  }
}

std::string shut_name(long h) {
  switch (h) {
    case SHUT_RD: return "SHUT_RD";
    case SHUT_WR: return "SHUT_WR";
    case SHUT_RDWR: return "SHUT_RDWR";
    default: return std::to_string(h);
  }
}

}  // namespace

std::string decode_args(const tn_call &c, const MemReader &rd) {
  const uint64_t *a = c.args;
  auto i32 = [](uint64_t v) { return std::to_string(int32_t(v)); };
  if (c.arch != 0 && c.arch != SCMP_ARCH_X86_64) {
    return "(" + hex(a[0]) + ", " + hex(a[1]) + ", " + hex(a[2]) + ", ...)";
  }
  switch (c.nr) {
    case SYS_socket:
      return "(" + decode_family(int32_t(a[0])) + ", " + decode_socket_type(int32_t(a[1])) +
             ", " + i32(a[2]) + ")";
    case SYS_socketpair:
      return "(" + decode_family(int32_t(a[0])) + ", " + decode_socket_type(int32_t(a[1])) +
             ", " + i32(a[2]) + ", " + hex(a[3]) + ")";
    case SYS_connect:
    case SYS_bind:
      return "(" + i32(a[0]) + ", " + addr_arg(a[1], uint32_t(a[2]), rd) + ", " +
             std::to_string(uint32_t(a[2])) + ")";
    case SYS_listen:
      return "(" + i32(a[0]) + ", " + i32(a[1]) + ")";
    case SYS_accept:
    case SYS_getsockname:
    case SYS_getpeername:
      return "(" + i32(a[0]) + ", " + (a[1] ? hex(a[1]) : "NULL") + ", " +
             (a[2] ? hex(a[2]) : "NULL") + ")";
    case SYS_accept4:
      return "(" + i32(a[0]) + ", " + (a[1] ? hex(a[1]) : "NULL") + ", " +
             (a[2] ? hex(a[2]) : "NULL") + ", " + decode_socket_type(int32_t(a[3]) & ~0xf) + ")";
    case SYS_sendto:
      return "(" + i32(a[0]) + ", " + hex(a[1]) + ", " + std::to_string(a[2]) + ", " +
             decode_msg_flags(int32_t(a[3])) + ", " + addr_arg(a[4], uint32_t(a[5]), rd) +
             ", " + std::to_string(uint32_t(a[5])) + ")";
    case SYS_recvfrom:
      return "(" + i32(a[0]) + ", " + hex(a[1]) + ", " + std::to_string(a[2]) + ", " +
             decode_msg_flags(int32_t(a[3])) + ", " + hex(a[4]) + ", " + hex(a[5]) + ")";
    case SYS_sendmsg:
    case SYS_recvmsg:
      return "(" + i32(a[0]) + ", " + hex(a[1]) + ", " + decode_msg_flags(int32_t(a[2])) + ")";
    case SYS_sendmmsg:
    case SYS_recvmmsg:
      return "(" + i32(a[0]) + ", " + hex(a[1]) + ", " + std::to_string(uint32_t(a[2])) +
             ", " + decode_msg_flags(int32_t(a[3])) + ", ...)";
    case SYS_shutdown:
      return "(" + i32(a[0]) + ", " + shut_name(int32_t(a[1])) + ")";
    case SYS_setsockopt:
    case SYS_getsockopt:
      return "(" + i32(a[0]) + ", " + level_name(int32_t(a[1])) + ", " + i32(a[2]) + ", " +
             hex(a[3]) + ", " + hex(a[4]) + ")";
    case SYS_close:
      return "(" + i32(a[0]) + ")";
    case SYS_ioctl:
      return "(" + i32(a[0]) + ", " + hex(a[1]) + ", " + hex(a[2]) + ")";
    default:
      return "(" + hex(a[0]) + ", " + hex(a[1]) + ", " + hex(a[2]) + ", " + hex(a[3]) + ", " +
             hex(a[4]) + ", " + hex(a[5]) + ")";
  }
}

}  // namespace tn
