/*
 * msocket(3): sockets on a named stack of a ThreadNet view.
 *
 * Theory of operation: the library is a thin client of the umnet module. A program under
 * `threadnet run` has its network calls trapped; the umnet module also traps setsockopt()
 * at level TN_SOL_MSOCKET, which no kernel socket accepts, made on fd -1, which no
 * process has. The library puts its request there (struct tn_msocket_req: a family and
 * a stack name): TN_MSOCKET_SELECT marks the calling thread's next socket() of that
 * family for the named stack, then the library makes that socket() itself;
 * TN_MSOCKET_DEFAULT changes the process's default stack. Outside a view the kernel
 * answers EBADF for fd -1, which the library reports as ENOSYS. Nothing else is
 * intercepted or cached: the library has no state.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include "msocket.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

static int stack_family(int domain) {
  return domain == AF_INET || domain == AF_INET6 || domain == AF_NETLINK;
}

static int ask(int op, int domain, const char *stack, size_t len) {
  struct tn_msocket_req req;
  memset(&req, 0, sizeof req);
  req.domain = domain;
  memcpy(req.name, stack, len);
  if (setsockopt(-1, TN_SOL_MSOCKET, op, &req, sizeof req) == 0) return 0;
  if (errno == EBADF) errno = ENOSYS; /* the kernel saw it: not in a threadnet view */
  return -1;
}

__attribute__((visibility("default"))) int msocket(const char *stack, int domain, int type,
                                                   int protocol) {
  int set_default = (type & SOCK_DEFAULT) != 0;
  if (!stack || !*stack) {
    if (set_default) {
      errno = EINVAL;
      return -1;
    }
    return socket(domain, type, protocol);
  }
  size_t len = strnlen(stack, TN_MSOCKET_NAME_MAX);
  if (len >= TN_MSOCKET_NAME_MAX) {
    errno = ENAMETOOLONG;
    return -1;
  }
  if (set_default) {
    if (domain != 0 && !stack_family(domain)) {
      errno = EAFNOSUPPORT;
      return -1;
    }
    return ask(TN_MSOCKET_DEFAULT, domain, stack, len);
  }
  if (!stack_family(domain)) {
    errno = EAFNOSUPPORT;
    return -1;
  }
  if (ask(TN_MSOCKET_SELECT, domain, stack, len) < 0) return -1;
  return socket(domain, type, protocol);
}
