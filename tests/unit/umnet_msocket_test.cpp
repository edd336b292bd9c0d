// msocket(3) protocol (label unit): the module-side decoder parse_msocket_ctl() on raw
// setsockopt arguments, and libthreadnet-msocket against that decoder: this binary
// interposes setsockopt()/socket() (its definitions win over libc's for the shared
// library), hands what the library sends to the decoder as the module would see it, and
// answers as the module would.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "msocket.h"
#include "msocket_ctl.h"

namespace {

// What the interposed calls saw and how they answer (only while `active`).
struct Fake {
  bool active = false;
  int setsockopt_calls = 0, socket_calls = 0;
  int fd = 0, level = 0, optname = 0;
  socklen_t optlen = 0;
  std::vector<unsigned char> bytes;
  umnet::MsocketParse parsed;
  int answer_errno = 0;  // 0: success
};
Fake g_fake;

class FakeScope {
 public:
  explicit FakeScope(int answer_errno = 0) {
    g_fake = Fake{};
    g_fake.active = true;
    g_fake.answer_errno = answer_errno;
  }
  ~FakeScope() { g_fake.active = false; }
};

}  // namespace

extern "C" int setsockopt(int fd, int level, int optname, const void *optval,
                          socklen_t optlen) noexcept {
  if (!g_fake.active) return int(syscall(SYS_setsockopt, fd, level, optname, optval, optlen));
  ++g_fake.setsockopt_calls;
  g_fake.fd = fd;
  g_fake.level = level;
  g_fake.optname = optname;
  g_fake.optlen = optlen;
  g_fake.bytes.assign(static_cast<const unsigned char *>(optval),
                      static_cast<const unsigned char *>(optval) + optlen);
  // The module's view: raw 64-bit arguments, memory through read_mem.
  g_fake.parsed = umnet::parse_msocket_ctl(
      uint64_t(int64_t(fd)), uint64_t(int64_t(level)), uint64_t(int64_t(optname)),
      reinterpret_cast<uintptr_t>(optval), optlen, [](uint64_t addr, void *buf, size_t len) {
        std::memcpy(buf, reinterpret_cast<const void *>(uintptr_t(addr)), len);
        return 0;
      });
  int e = g_fake.answer_errno ? g_fake.answer_errno : g_fake.parsed.error;
  if (e) {
    errno = e;
    return -1;
  }
  return 0;
}

extern "C" int socket(int domain, int type, int protocol) noexcept {
  if (g_fake.active) ++g_fake.socket_calls;
  return int(syscall(SYS_socket, domain, type, protocol));
}

namespace {

constexpr uint64_t kAddr = 0x7f0000001000;
constexpr uint64_t kLen = sizeof(struct tn_msocket_req);

tn_msocket_req make_req(int32_t domain, const char *name) {
  tn_msocket_req r;
  std::memset(&r, 0, sizeof r);
  r.domain = domain;
  std::strncpy(r.name, name, sizeof r.name - 1);
  return r;
}

// Decodes `req` as if the tracee had it at kAddr; counts the reads.
umnet::MsocketParse decode(const tn_msocket_req &req, uint64_t optname = TN_MSOCKET_SELECT,
                           uint64_t optlen = kLen, uint64_t fd = uint64_t(-1),
                           uint64_t level = TN_SOL_MSOCKET, int *reads = nullptr) {
  return umnet::parse_msocket_ctl(fd, level, optname, kAddr, optlen,
                                  [&](uint64_t addr, void *buf, size_t len) {
                                    if (reads) ++*reads;
                                    if (addr != kAddr || len > sizeof req) return -EFAULT;
                                    std::memcpy(buf, &req, len);
                                    return 0;
                                  });
}

TEST(MsocketCtl, DecodesSelectAndDefault) {
  int reads = 0;
  auto p = decode(make_req(AF_INET, "vpn"), TN_MSOCKET_SELECT, kLen, uint64_t(-1),
                  TN_SOL_MSOCKET, &reads);
  EXPECT_EQ(p.error, 0);
  EXPECT_EQ(p.req.op, TN_MSOCKET_SELECT);
  EXPECT_EQ(p.req.domain, AF_INET);
  EXPECT_EQ(p.req.name, "vpn");
  EXPECT_EQ(reads, 1);  // read once
  for (int d : {0, AF_INET, AF_INET6, AF_NETLINK}) {
    p = decode(make_req(d, "lan"), TN_MSOCKET_DEFAULT);
    EXPECT_EQ(p.error, 0) << d;
    EXPECT_EQ(p.req.op, TN_MSOCKET_DEFAULT);
    EXPECT_EQ(p.req.domain, d);
    EXPECT_EQ(p.req.name, "lan");
  }
}

TEST(MsocketCtl, IntArgumentsUseLow32Bits) {
  EXPECT_TRUE(umnet::is_msocket_ctl(0xffffffffull, TN_SOL_MSOCKET));
  EXPECT_TRUE(umnet::is_msocket_ctl(0x12345678ffffffffull, 0xabcd000000000000ull | TN_SOL_MSOCKET));
  EXPECT_FALSE(umnet::is_msocket_ctl(3, TN_SOL_MSOCKET));
  EXPECT_FALSE(umnet::is_msocket_ctl(0xffffffff00000000ull, TN_SOL_MSOCKET));
  EXPECT_FALSE(umnet::is_msocket_ctl(uint64_t(-1), SOL_SOCKET));
  auto p = decode(make_req(AF_INET6, "x"), 0xdead000000000000ull | TN_MSOCKET_SELECT,
                  0x100000000ull | kLen, 0x00000000ffffffffull);
  EXPECT_EQ(p.error, 0);
  EXPECT_EQ(p.req.domain, AF_INET6);
}

TEST(MsocketCtl, NotARequestOrUnknownOp) {
  auto r = make_req(AF_INET, "vpn");
  EXPECT_EQ(decode(r, TN_MSOCKET_SELECT, kLen, 3).error, EINVAL);
  EXPECT_EQ(decode(r, TN_MSOCKET_SELECT, kLen, uint64_t(-1), SOL_SOCKET).error, EINVAL);
  for (uint64_t op : {0ull, 3ull, 0xffffffffull, 0x100000000ull})
    EXPECT_EQ(decode(r, op).error, EINVAL) << op;
}

TEST(MsocketCtl, LengthMustBeExact) {
  auto r = make_req(AF_INET, "vpn");
  int reads = 0;
  for (uint64_t len : {uint64_t(0), kLen - 1, kLen + 1, uint64_t(4), uint64_t(0xffffffff)}) {
    EXPECT_EQ(decode(r, TN_MSOCKET_SELECT, len, uint64_t(-1), TN_SOL_MSOCKET, &reads).error,
              EINVAL)
        << len;
  }
  EXPECT_EQ(reads, 0);  // nothing read for a bad length
}

TEST(MsocketCtl, UnreadableMemoryIsEFAULT) {
  EXPECT_EQ(umnet::parse_msocket_ctl(uint64_t(-1), TN_SOL_MSOCKET, TN_MSOCKET_SELECT, 0, kLen,
                                     [](uint64_t, void *, size_t) { return 0; })
                .error,
            EFAULT);
  for (int e : {-EFAULT, -ENOENT, -ESRCH})
    EXPECT_EQ(umnet::parse_msocket_ctl(uint64_t(-1), TN_SOL_MSOCKET, TN_MSOCKET_DEFAULT, kAddr,
                                       kLen, [e](uint64_t, void *, size_t) { return e; })
                  .error,
              EFAULT);
  EXPECT_EQ(umnet::parse_msocket_ctl(uint64_t(-1), TN_SOL_MSOCKET, TN_MSOCKET_DEFAULT, kAddr,
                                     kLen, umnet::MsocketReadMem())
                .error,
            EFAULT);
}

TEST(MsocketCtl, BadDomain) {
  for (int d : {AF_UNIX, AF_PACKET, -1, 0x7fffffff, AF_INET6 + 100})
    EXPECT_EQ(decode(make_req(d, "vpn")).error, EINVAL) << d;
}

TEST(MsocketCtl, NameBounds) {
  auto r = make_req(AF_INET, "");
  EXPECT_EQ(decode(r).error, EINVAL);  // empty
  std::memset(r.name, 'a', sizeof r.name);
  EXPECT_EQ(decode(r).error, EINVAL);  // no NUL inside the array
  r.name[sizeof r.name - 1] = '\0';
  auto p = decode(r);
  EXPECT_EQ(p.error, 0);
  EXPECT_EQ(p.req.name, std::string(sizeof r.name - 1, 'a'));
  std::memcpy(r.name, "ab\0garbage", 10);
  p = decode(r);
  EXPECT_EQ(p.error, 0);
  EXPECT_EQ(p.req.name, "ab");
}

// The library, talking to the decoder through the interposed setsockopt.
TEST(MsocketProtocol, SelectThenSocket) {
  FakeScope f;
  int fd = msocket("vpn", AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0) << strerror(errno);
  close(fd);
  EXPECT_EQ(g_fake.setsockopt_calls, 1);
  EXPECT_EQ(g_fake.socket_calls, 1);
  EXPECT_EQ(g_fake.fd, -1);
  EXPECT_EQ(g_fake.level, TN_SOL_MSOCKET);
  EXPECT_EQ(g_fake.optname, TN_MSOCKET_SELECT);
  EXPECT_EQ(g_fake.optlen, kLen);
  ASSERT_EQ(g_fake.parsed.error, 0);
  EXPECT_EQ(g_fake.parsed.req.op, TN_MSOCKET_SELECT);
  EXPECT_EQ(g_fake.parsed.req.domain, AF_INET);
  EXPECT_EQ(g_fake.parsed.req.name, "vpn");
  // No stray bytes after the name (nothing of the caller's stack leaks into the request).
  ASSERT_EQ(g_fake.bytes.size(), kLen);
  for (size_t i = offsetof(tn_msocket_req, name) + 3; i < kLen; ++i)
    EXPECT_EQ(g_fake.bytes[i], 0) << i;
}

TEST(MsocketProtocol, SetDefault) {
  FakeScope f;
  EXPECT_EQ(msocket("lan", 0, SOCK_DEFAULT, 0), 0);
  EXPECT_EQ(g_fake.socket_calls, 0);
  ASSERT_EQ(g_fake.parsed.error, 0);
  EXPECT_EQ(g_fake.parsed.req.op, TN_MSOCKET_DEFAULT);
  EXPECT_EQ(g_fake.parsed.req.domain, 0);
  EXPECT_EQ(g_fake.parsed.req.name, "lan");
  std::string longest(TN_MSOCKET_NAME_MAX - 1, 'n');
  EXPECT_EQ(msocket(longest.c_str(), AF_NETLINK, SOCK_DEFAULT, 0), 0);
  EXPECT_EQ(g_fake.parsed.req.domain, AF_NETLINK);
  EXPECT_EQ(g_fake.parsed.req.name, longest);
}

TEST(MsocketProtocol, ModuleErrorsReachTheCaller) {
  {
    FakeScope f(ENOENT);  // no such stack: no socket is made
    errno = 0;
    EXPECT_EQ(msocket("nope", AF_INET, SOCK_STREAM, 0), -1);
    EXPECT_EQ(errno, ENOENT);
    EXPECT_EQ(g_fake.socket_calls, 0);
  }
  {
    FakeScope f(EBADF);  // the kernel's answer: not in a view
    errno = 0;
    EXPECT_EQ(msocket("vpn", AF_INET, SOCK_DEFAULT, 0), -1);
    EXPECT_EQ(errno, ENOSYS);
  }
  {
    FakeScope f(EPERM);
    errno = 0;
    EXPECT_EQ(msocket("vpn", AF_INET6, SOCK_STREAM, 0), -1);
    EXPECT_EQ(errno, EPERM);
  }
}

TEST(MsocketProtocol, PlainSocketAsksNothing) {
  FakeScope f;
  int fd = msocket(nullptr, AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  close(fd);
  EXPECT_EQ(g_fake.setsockopt_calls, 0);
  EXPECT_EQ(g_fake.socket_calls, 1);
}

}  // namespace
