/* Test helper for `threadnet stack` in a view: on which stack does a plain socket() of
 * this process land? Listens on 127.0.0.1 (ephemeral port) with plain socket(), then for
 * each NAME given tries to connect to it with a socket made by msocket(NAME, ...); prints
 * the NAMEs that reached the listener (one loopback per stack: exactly the stack the
 * listener is on). Exit 0, or 3 on a setup error. Every wait is bounded (5 s). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "msocket.h"

static int reaches(const char *name, const struct sockaddr_in *to) {
  int s = msocket(name, AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) {
    fprintf(stderr, "stack_probe: msocket(%s): %s\n", name, strerror(errno));
    return -1;
  }
  int ok = 0;
  if (connect(s, (const struct sockaddr *)to, sizeof *to) == 0) {
    ok = 1;
  } else if (errno == EINPROGRESS) {
    struct pollfd p = {.fd = s, .events = POLLOUT};
    if (poll(&p, 1, 5000) == 1) {
      int err = -1;
      socklen_t l = sizeof err;
      ok = getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &l) == 0 && err == 0;
    }
  }
  close(s);
  return ok;
}

int main(int argc, char **argv) {
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 8) != 0 ||
      getsockname(l, (struct sockaddr *)&a, &al) != 0) {
    fprintf(stderr, "stack_probe: listener: %s\n", strerror(errno));
    return 3;
  }
  const char *sep = "";
  for (int i = 1; i < argc; ++i) {
    int r = reaches(argv[i], &a);
    if (r < 0) return 3;
    if (r) {
      printf("%s%s", sep, argv[i]);
      sep = " ";
    }
  }
  printf("\n");
  close(l);
  return 0;
}
