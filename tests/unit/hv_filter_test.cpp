// The filter's behaviour, checked by the kernel itself: a child installs the built filter
// with a listener and closes the listener at once, so every call the filter traps fails
// with ENOSYS while every call it lets through works.
#include <errno.h>
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "filter.h"

namespace {

// Runs fn in a child under the filter; returns the child's exit code.
int under_filter(const std::vector<sock_filter> &prog, int (*fn)()) {
  pid_t p = fork();
  if (p == 0) {
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    sock_fprog fp{static_cast<unsigned short>(prog.size()),
                  const_cast<sock_filter *>(prog.data())};
    long l = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp);
    if (l < 0) _exit(100);
    close(int(l));
    _exit(fn());
  }
  int st = 0;
  waitpid(p, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 200;
}

bool trapped(long r) { return r < 0 && errno == ENOSYS; }

tn::FilterSpec net_spec() {
  tn::FilterSpec s;
  s.syscalls = {SYS_socket, SYS_connect, SYS_sendto, SYS_recvfrom};
  return s;
}

TEST(HvFilter, BuildsAProgram) {
  std::string err;
  auto prog = tn::build_filter(net_spec(), &err);
  ASSERT_FALSE(prog.empty()) << err;
  EXPECT_LT(prog.size(), 200u);
  tn::FilterSpec none;
  auto p2 = tn::build_filter(none, &err);
  EXPECT_FALSE(p2.empty()) << err;
}

TEST(HvFilter, SocketTrappedOnlyForNetworkFamilies) {
  std::string err;
  auto prog = tn::build_filter(net_spec(), &err);
  ASSERT_FALSE(prog.empty());
  EXPECT_EQ(under_filter(prog, [] { return trapped(socket(AF_INET, SOCK_STREAM, 0)) ? 0 : 1; }), 0);
  EXPECT_EQ(under_filter(prog, [] { return trapped(socket(AF_INET6, SOCK_DGRAM, 0)) ? 0 : 1; }), 0);
  EXPECT_EQ(under_filter(prog, [] {
              return trapped(socket(AF_NETLINK, SOCK_RAW, 0)) ? 0 : 1;
            }), 0);
  EXPECT_EQ(under_filter(prog, [] { return socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 0 : 1; }), 0);
  // Garbage in the upper 32 bits of the family must not let AF_INET through.
  EXPECT_EQ(under_filter(prog, [] {
              return trapped(syscall(SYS_socket, 0x100000000L | AF_INET, SOCK_STREAM, 0)) ? 0 : 1;
            }), 0);
}

TEST(HvFilter, SendtoRecvfromTrappedOnlyWithAddress) {
  std::string err;
  auto prog = tn::build_filter(net_spec(), &err);
  ASSERT_FALSE(prog.empty());
  EXPECT_EQ(under_filter(prog, [] {
              int sv[2];
              if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0) return 2;
              if (sendto(sv[0], "x", 1, 0, nullptr, 0) != 1) return 3;
              char b;
              if (recvfrom(sv[1], &b, 1, 0, nullptr, nullptr) != 1) return 4;
              sockaddr_storage ss{};
              socklen_t sl = sizeof ss;
              if (!trapped(sendto(sv[0], "x", 1, 0, reinterpret_cast<sockaddr *>(&ss), sl))) return 5;
              if (!trapped(recvfrom(sv[1], &b, 1, MSG_DONTWAIT, reinterpret_cast<sockaddr *>(&ss), &sl)))
                return 6;
              return 0;
            }), 0);
}

TEST(HvFilter, UnlistedCallsRunNatively) {
  std::string err;
  auto prog = tn::build_filter(net_spec(), &err);
  ASSERT_FALSE(prog.empty());
  EXPECT_EQ(under_filter(prog, [] {
              if (getpid() <= 0) return 1;
              int sv[2];
              if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return 2;  // not listed
              if (!trapped(connect(sv[0], nullptr, 0))) return 3;         // listed
              return 0;
            }), 0);
}

TEST(HvFilter, EscapeRoutesTrapped) {
  std::string err;
  auto prog = tn::build_filter(tn::FilterSpec{}, &err);
  ASSERT_FALSE(prog.empty());
  EXPECT_EQ(under_filter(prog, [] {
              char params[120] = {};
              return trapped(syscall(SYS_io_uring_setup, 1, params)) ? 0 : 1;
            }), 0);
  EXPECT_EQ(under_filter(prog, [] {
              long ret;
              __asm__ volatile("syscall" : "=a"(ret) : "a"(39L | 0x40000000L) : "rcx", "r11", "memory");
              return ret == -ENOSYS ? 0 : 1;
            }), 0);
  EXPECT_EQ(under_filter(prog, [] {
              sock_filter f[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
              sock_fprog fp{1, f};
              return trapped(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                     SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp)) ? 0 : 1;
            }), 0);
}

long int80(long nr, long a, long b) {
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b) : "memory");
  return ret;
}

// A 32-bit program that does no networking must still run: only the i386 network and
// io_uring calls are trapped, the rest (here getpid, nr 20) goes to the kernel.
// Whether int 0x80 works here at all: some kernels (and paravirtualised guests) have IA32
// emulation built but kill a process that uses it, so ask a child.
bool int80_works() {
  pid_t p = fork();
  if (p == 0) _exit(int80(20, 0, 0) == getpid() ? 0 : 1);
  int st = 0;
  return p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

TEST(HvFilter, I386OnlyNetworkCallsTrapped) {
  if (!int80_works())
    GTEST_SKIP() << "int 0x80 (IA32 emulation) does not work on this kernel natively";
  std::string err;
  auto prog = tn::build_filter(net_spec(), &err);
  ASSERT_FALSE(prog.empty()) << err;
  EXPECT_EQ(under_filter(prog, [] { return int80(20, 0, 0) == getpid() ? 0 : 1; }), 0);
  EXPECT_EQ(under_filter(prog, [] { return int80(102, 1, 0) == -ENOSYS ? 0 : 1; }), 0);  // socketcall
  EXPECT_EQ(under_filter(prog, [] { return int80(359, AF_UNIX, SOCK_STREAM) == -ENOSYS ? 0 : 1; }), 0);
  EXPECT_EQ(under_filter(prog, [] { return int80(425, 1, 0) == -ENOSYS ? 0 : 1; }), 0);  // io_uring_setup
}

TEST(HvFilter, ConditionalRules) {
  tn::FilterSpec s;
  s.rules.push_back({SYS_ioctl, 1, ~0ull, FIONREAD});
  s.rules.push_back({SYS_ioctl, 1, ~0ull, SIOCATMARK});
  std::string err;
  auto prog = tn::build_filter(s, &err);
  ASSERT_FALSE(prog.empty()) << err;
  EXPECT_EQ(under_filter(prog, [] {
              int sv[2];
              if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return 2;
              int n = 0;
              if (!trapped(ioctl(sv[0], FIONREAD, &n))) return 3;
              if (!trapped(ioctl(sv[0], SIOCATMARK, &n))) return 4;
              int on = 1;
              if (ioctl(sv[0], FIONBIO, &on) != 0) return 5;  // not listed: native
              return 0;
            }), 0);
  // An unconditional entry wins over rules for the same call.
  s.syscalls.insert(SYS_ioctl);
  prog = tn::build_filter(s, &err);
  ASSERT_FALSE(prog.empty()) << err;
  EXPECT_EQ(under_filter(prog, [] {
              int on = 1;
              return trapped(ioctl(0, FIONBIO, &on)) ? 0 : 1;
            }), 0);
  tn::FilterSpec bad;
  bad.rules.push_back({SYS_ioctl, 6, 1, 1});
  EXPECT_TRUE(tn::build_filter(bad, &err).empty());
  EXPECT_NE(err.find("argument 6"), std::string::npos);
}

TEST(HvFilter, TrappedFamilies) {
  EXPECT_TRUE(tn::trapped_family(AF_INET));
  EXPECT_TRUE(tn::trapped_family(AF_INET6));
  EXPECT_TRUE(tn::trapped_family(AF_NETLINK));
  EXPECT_FALSE(tn::trapped_family(AF_UNIX));
}

}  // namespace
