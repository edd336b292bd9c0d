/* Test only (LD_PRELOAD): pretends to be the umnet module for msocket(3) requests, so
 * that `threadnet stack` can be tested outside a view. setsockopt(-1, TN_SOL_MSOCKET, ...)
 * succeeds when the request's name is in $TN_FAKE_VIEW_STACKS (comma-separated), fails
 * with ENOENT otherwise, and appends "OP DOMAIN NAME" to $TN_FAKE_VIEW_LOG. Every other
 * setsockopt goes to the kernel. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "msocket.h"

static int listed(const char *name) {
  const char *list = getenv("TN_FAKE_VIEW_STACKS");
  size_t n = strlen(name);
  while (list && *list) {
    const char *end = strchr(list, ',');
    size_t len = end ? (size_t)(end - list) : strlen(list);
    if (len == n && !strncmp(list, name, n)) return 1;
    list = end ? end + 1 : NULL;
  }
  return 0;
}

int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen) {
  if (fd != -1 || level != TN_SOL_MSOCKET)
    return (int)syscall(SYS_setsockopt, fd, level, optname, optval, optlen);
  struct tn_msocket_req req;
  if (optlen != sizeof req || !optval) {
    errno = EINVAL;
    return -1;
  }
  memcpy(&req, optval, sizeof req);
  req.name[sizeof req.name - 1] = '\0';
  const char *log = getenv("TN_FAKE_VIEW_LOG");
  FILE *f = log ? fopen(log, "a") : NULL;
  if (f) {
    fprintf(f, "%d %d %s\n", optname, (int)req.domain, req.name);
    fclose(f);
  }
  if (!listed(req.name)) {
    errno = ENOENT;
    return -1;
  }
  return 0;
}
