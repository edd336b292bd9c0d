// libthreadnet-msocket on the real kernel, outside any ThreadNet view (label unit): stack
// requests fail with ENOSYS, a NULL or empty stack is plain socket(), argument errors are
// found before asking.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "msocket.h"

namespace {

int sockopt(int fd, int name) {
  int v = -1;
  socklen_t l = sizeof v;
  EXPECT_EQ(getsockopt(fd, SOL_SOCKET, name, &v, &l), 0);
  return v;
}

TEST(MsocketNative, NamedStackIsENOSYSOutsideAView) {
  errno = 0;
  EXPECT_EQ(msocket("vpn", AF_INET, SOCK_STREAM, 0), -1);
  EXPECT_EQ(errno, ENOSYS);
  errno = 0;
  EXPECT_EQ(msocket("vpn", AF_INET6, SOCK_DGRAM, 0), -1);
  EXPECT_EQ(errno, ENOSYS);
  errno = 0;
  EXPECT_EQ(msocket("vpn", AF_INET, SOCK_DEFAULT, 0), -1);
  EXPECT_EQ(errno, ENOSYS);
  errno = 0;
  EXPECT_EQ(msocket("vpn", 0, SOCK_DEFAULT, 0), -1);
  EXPECT_EQ(errno, ENOSYS);
}

TEST(MsocketNative, NullOrEmptyStackIsSocket) {
  for (const char *stack : {static_cast<const char *>(nullptr), ""}) {
    int fd = msocket(stack, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0) << strerror(errno);
    EXPECT_EQ(sockopt(fd, SO_DOMAIN), AF_INET);
    EXPECT_EQ(sockopt(fd, SO_TYPE), SOCK_DGRAM);
    EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
    fd = msocket(stack, AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0) << strerror(errno);
    EXPECT_EQ(sockopt(fd, SO_DOMAIN), AF_UNIX);
    EXPECT_EQ(sockopt(fd, SO_TYPE), SOCK_STREAM);
    close(fd);
  }
  // socket()'s own errors come through unchanged.
  errno = 0;
  EXPECT_EQ(msocket(nullptr, AF_INET, 0x7777, 0), -1);
  int e = errno;
  errno = 0;
  EXPECT_EQ(socket(AF_INET, 0x7777, 0), -1);
  EXPECT_EQ(e, errno);
}

TEST(MsocketNative, ArgumentErrors) {
  errno = 0;
  EXPECT_EQ(msocket(nullptr, AF_INET, SOCK_DEFAULT, 0), -1);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(msocket("", 0, SOCK_DEFAULT, 0), -1);
  EXPECT_EQ(errno, EINVAL);
  std::string longname(TN_MSOCKET_NAME_MAX, 'x');
  errno = 0;
  EXPECT_EQ(msocket(longname.c_str(), AF_INET, SOCK_STREAM, 0), -1);
  EXPECT_EQ(errno, ENAMETOOLONG);
  errno = 0;
  EXPECT_EQ(msocket("vpn", AF_UNIX, SOCK_STREAM, 0), -1);
  EXPECT_EQ(errno, EAFNOSUPPORT);
  errno = 0;
  EXPECT_EQ(msocket("vpn", AF_UNIX, SOCK_DEFAULT, 0), -1);
  EXPECT_EQ(errno, EAFNOSUPPORT);
  // The longest valid name reaches the kernel (and so ENOSYS here).
  std::string maxname(TN_MSOCKET_NAME_MAX - 1, 'x');
  errno = 0;
  EXPECT_EQ(msocket(maxname.c_str(), AF_INET, SOCK_STREAM, 0), -1);
  EXPECT_EQ(errno, ENOSYS);
}

}  // namespace
