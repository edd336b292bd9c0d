// Trace decoding: names, flags, socket addresses (with bounds), arguments, results.
#include <arpa/inet.h>
#include <errno.h>
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include <cstring>

#include "decode.h"

namespace {

constexpr uint32_t kX86_64 = 0xc000003e;

TEST(HvDecode, SyscallNames) {
  EXPECT_EQ(tn::syscall_name(SYS_socket, kX86_64), "socket");
  EXPECT_EQ(tn::syscall_name(SYS_connect, kX86_64), "connect");
  EXPECT_EQ(tn::syscall_name(SYS_getpid | 0x40000000, kX86_64), "x32:getpid");
  EXPECT_EQ(tn::syscall_name(102, 0x40000003u), "i386:socketcall");
  EXPECT_EQ(tn::syscall_number("sendmsg"), SYS_sendmsg);
  EXPECT_EQ(tn::syscall_number("no_such_call"), -1);
}

TEST(HvDecode, Flags) {
  EXPECT_EQ(tn::decode_family(AF_INET6), "AF_INET6");
  EXPECT_EQ(tn::decode_family(77), "77");
  EXPECT_EQ(tn::decode_socket_type(SOCK_STREAM | SOCK_CLOEXEC), "SOCK_STREAM|SOCK_CLOEXEC");
  EXPECT_EQ(tn::decode_socket_type(SOCK_DGRAM | SOCK_NONBLOCK | 0x4000000),
            "SOCK_DGRAM|SOCK_NONBLOCK|0x4000000");
  EXPECT_EQ(tn::decode_msg_flags(0), "0");
  EXPECT_EQ(tn::decode_msg_flags(MSG_DONTWAIT | MSG_NOSIGNAL), "MSG_DONTWAIT|MSG_NOSIGNAL");
  EXPECT_EQ(tn::decode_msg_flags(MSG_PEEK | 0x10000000), "MSG_PEEK|0x10000000");
}

TEST(HvDecode, SockaddrInet) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(8080);
  inet_pton(AF_INET, "10.1.2.3", &a.sin_addr);
  EXPECT_EQ(tn::decode_sockaddr(&a, sizeof a), "{AF_INET, 10.1.2.3:8080}");
  EXPECT_EQ(tn::decode_sockaddr(&a, 4), "{AF_INET, ...}");  // truncated: no overread
  EXPECT_EQ(tn::decode_sockaddr(&a, 1), "{}");
  sockaddr_in6 b{};
  b.sin6_family = AF_INET6;
  b.sin6_port = htons(443);
  inet_pton(AF_INET6, "fe80::1", &b.sin6_addr);
  EXPECT_EQ(tn::decode_sockaddr(&b, sizeof b), "{AF_INET6, [fe80::1]:443}");
}

TEST(HvDecode, SockaddrUnixAndNetlink) {
  sockaddr_un u{};
  u.sun_family = AF_UNIX;
  strcpy(u.sun_path, "/run/x.sock");
  EXPECT_EQ(tn::decode_sockaddr(&u, offsetof(sockaddr_un, sun_path) + 12),
            "{AF_UNIX, \"/run/x.sock\"}");
  sockaddr_un ab{};
  ab.sun_family = AF_UNIX;
  memcpy(ab.sun_path, "\0ab\n", 4);
  EXPECT_EQ(tn::decode_sockaddr(&ab, offsetof(sockaddr_un, sun_path) + 4),
            "{AF_UNIX, @\"ab\\x0a\"}");
  sockaddr_nl n{};
  n.nl_family = AF_NETLINK;
  n.nl_groups = 0x11;
  EXPECT_EQ(tn::decode_sockaddr(&n, sizeof n), "{AF_NETLINK, pid=0, groups=0x11}");
}

TEST(HvDecode, ArgsReadThroughReader) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(80);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  tn_call c{};
  c.arch = kX86_64;
  c.nr = SYS_connect;
  c.args[0] = 3;
  c.args[1] = 0x1000;
  c.args[2] = sizeof a;
  int reads = 0;
  tn::MemReader rd = [&](uint64_t addr, void *buf, size_t len) {
    ++reads;
    if (addr != 0x1000 || len > sizeof a) return false;
    memcpy(buf, &a, len);
    return true;
  };
  EXPECT_EQ(tn::decode_args(c, rd), "(3, {AF_INET, 127.0.0.1:80}, 16)");
  EXPECT_EQ(reads, 1);
  // An unreadable address is shown as a pointer.
  c.args[1] = 0x2000;
  EXPECT_EQ(tn::decode_args(c, rd), "(3, 0x2000, 16)");
  c.nr = SYS_socket;
  c.args[0] = AF_INET;
  c.args[1] = SOCK_DGRAM;
  c.args[2] = 0;
  EXPECT_EQ(tn::decode_args(c, nullptr), "(AF_INET, SOCK_DGRAM, 0)");
  c.nr = SYS_sendto;
  c.args[0] = 5;
  c.args[1] = 0x10;
  c.args[2] = 3;
  c.args[3] = MSG_DONTWAIT;
  c.args[4] = 0;
  c.args[5] = 0;
  EXPECT_EQ(tn::decode_args(c, nullptr), "(5, 0x10, 3, MSG_DONTWAIT, NULL, 0)");
  c.nr = SYS_shutdown;
  c.args[1] = SHUT_WR;
  EXPECT_EQ(tn::decode_args(c, nullptr), "(5, SHUT_WR)");
}

TEST(HvDecode, Results) {
  EXPECT_EQ(tn::decode_result(4, 0), " = 4");
  EXPECT_EQ(tn::decode_result(0, ECONNREFUSED), " = -1 ECONNREFUSED (Connection refused)");
  EXPECT_EQ(tn::errno_name(EAGAIN), "EAGAIN");
}

}  // namespace
