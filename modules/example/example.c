/*
 * example: the smallest useful ThreadNet module (docs/modules.md walks through it).
 *
 * Theory of operation: it traps socket() (the hypervisor's filter already narrows that to
 * AF_INET/AF_INET6/AF_NETLINK/AF_PACKET) and claims AF_INET/AF_INET6 sockets; everything
 * else goes to the kernel. What it does with a claimed call depends on --example-mode:
 *   eacces  (default) answer EACCES: the program has "no network";
 *   pair    inject one end of an AF_UNIX stream pair as the new socket (atomically with
 *           the reply); the module keeps the other end and echoes what it reads, in upper
 *           case, from an event-loop watch;
 *   reply   the same, injected in two steps (TN_INJECT_REPLY: install, then reply);
 *   ident   two-step answer: inject one end of a pair at fd 100 (TN_INJECT_AT, no SEND),
 *           check with fd_identity that the tracee's fd 100 is the very file we hold
 *           (local_identity), then reply 100 (or EIO if the identities differ);
 * --example-fionread N traps ioctl(FIONREAD) only (tn_host.add_rule) and answers N through
 * write_mem: every other ioctl stays in the kernel.
 * --example-linger-ms N holds the run (tn_host.hold) until N ms after the first exit of a
 * process that made a trapped call: the run ends only after the release.
 *   block   never answer until the tracee gives up: the handler parks with a deadline of
 *           --example-timeout-ms (default 10000) and then answers ETIMEDOUT; a signal that
 *           interrupts the tracee cancels the park (-TN_ECANCELED) and the handler returns
 *           without replying.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <threadnet/module.h>
#include <unistd.h>

enum mode { MODE_EACCES, MODE_PAIR, MODE_REPLY, MODE_BLOCK, MODE_IDENT };

struct example {
  const struct tn_host *host;
  enum mode mode;
  uint64_t timeout_ns;
  uint64_t linger_ns; /* hold the run this long after the first process exit */
  int holding;
  int fionread; /* > 0: answer ioctl(FIONREAD) with this value (a conditional trap) */
  unsigned cancelled;
};

static const int example_syscalls[] = {SYS_socket, -1};
static const char *const example_options[] = {"example-mode=", "example-timeout-ms=",
                                              "example-linger-ms=", "example-fionread=",
                                              NULL};

static void *example_init(const struct tn_host *host, int argc, const char *const *argv,
                          char *err, size_t errcap) {
  if (host->abi_version != TN_MODULE_ABI_VERSION) {
    snprintf(err, errcap, "host ABI %u, expected %u", host->abi_version, TN_MODULE_ABI_VERSION);
    return NULL;
  }
  struct example *ex = calloc(1, sizeof *ex);
  if (!ex) {
    snprintf(err, errcap, "out of memory");
    return NULL;
  }
  ex->host = host;
  ex->timeout_ns = 10000ull * 1000000ull;
  for (int i = 0; i < argc; ++i) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--example-mode") && v) {
      ++i;
      if (!strcmp(v, "eacces")) ex->mode = MODE_EACCES;
      else if (!strcmp(v, "pair")) ex->mode = MODE_PAIR;
      else if (!strcmp(v, "reply")) ex->mode = MODE_REPLY;
      else if (!strcmp(v, "block")) ex->mode = MODE_BLOCK;
      else if (!strcmp(v, "ident")) ex->mode = MODE_IDENT;
      else {
        snprintf(err, errcap, "--example-mode must be eacces, pair, reply, ident or block, not '%s'", v);
        free(ex);
        return NULL;
      }
    } else if (!strcmp(argv[i], "--example-fionread") && v) {
      ++i;
      ex->fionread = atoi(v);
    } else if (!strcmp(argv[i], "--example-linger-ms") && v) {
      ++i;
      ex->linger_ns = strtoull(v, NULL, 10) * 1000000ull;
    } else if (!strcmp(argv[i], "--example-timeout-ms") && v) {
      ++i;
      ex->timeout_ns = strtoull(v, NULL, 10) * 1000000ull;
    } else {
      snprintf(err, errcap, "unknown option '%s'", argv[i]);
      free(ex);
      return NULL;
    }
  }
  if (ex->fionread > 0) {
    /* Trap ioctl only for FIONREAD: every other ioctl stays in the kernel. */
    int r = host->size >= offsetof(struct tn_host, add_rule) + sizeof(host->add_rule)
                ? host->add_rule(host->hv, SYS_ioctl, 1, ~0ull, FIONREAD)
                : -ENOSYS;
    if (r < 0) {
      snprintf(err, errcap, "add_rule: %s", strerror(-r));
      free(ex);
      return NULL;
    }
  }
  if (ex->linger_ns && host->size >= offsetof(struct tn_host, hold) + sizeof(host->hold)) {
    host->hold(host->hv, +1); /* released by a timer after the first exit */
    ex->holding = 1;
  }
  return ex;
}

static void example_fini(void *self) {
  struct example *ex = self;
  if (ex->cancelled && ex->host->tracing(ex->host->hv)) {
    char line[64];
    snprintf(line, sizeof line, "example: %u cancelled calls", ex->cancelled);
    ex->host->trace(ex->host->hv, NULL, line);
  }
  free(ex);
}

static int example_choose(void *self, const struct tn_call *c) {
  struct example *ex = self;
  if (c->nr == SYS_ioctl) return ex->fionread > 0 ? TN_CHOICE_MINE : TN_CHOICE_NONE;
  if (c->nr != SYS_socket) return TN_CHOICE_NONE;
  int family = (int)c->args[0];
  return family == AF_INET || family == AF_INET6 ? TN_CHOICE_MINE : TN_CHOICE_NONE;
}

/* The module's end of a pair: echo upper-cased until EOF. */
static void echo_cb(void *arg, int fd, uint32_t events) {
  struct example *ex = arg;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      for (ssize_t i = 0; i < n; ++i) buf[i] = (char)toupper((unsigned char)buf[i]);
      ssize_t w = write(fd, buf, (size_t)n);
      (void)w;
      continue;
    }
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || (events & EPOLLHUP)) {
      ex->host->unwatch_fd(ex->host->hv, fd);
      close(fd);
    }
    return;
  }
}

static void example_handle(void *self, const struct tn_call *c) {
  struct example *ex = self;
  const struct tn_host *h = ex->host;
  if (c->nr == SYS_ioctl) { /* FIONREAD: write the int the caller points to */
    int v = ex->fionread;
    int r = h->write_mem(h->hv, c, c->args[2], &v, sizeof v);
    if (r != -ENOENT) h->reply(h->hv, c, 0, r < 0 ? -r : 0);
    return;
  }
  if (ex->mode == MODE_EACCES) {
    h->reply(h->hv, c, 0, EACCES);
    return;
  }
  if (ex->mode == MODE_BLOCK) {
    int r = h->park(h->hv, c, NULL, h->now_ns(h->hv) + ex->timeout_ns);
    if (r == -TN_ECANCELED) {
      ex->cancelled++;
      if (h->tracing(h->hv)) h->trace(h->hv, c, "example: call cancelled");
      return; /* the kernel already failed (or restarts) the call */
    }
    h->reply(h->hv, c, 0, ETIMEDOUT);
    return;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0) {
    h->reply(h->hv, c, 0, ENOBUFS);
    return;
  }
  if (ex->mode == MODE_IDENT) {
    int r = h->inject_fd(h->hv, c, sv[1], 100, TN_INJECT_AT);
    uint64_t mine = 0, theirs = 1;
    int ok = r == 100 && h->local_identity(h->hv, sv[1], &mine) == 0 &&
             h->fd_identity(h->hv, c, 100, &theirs) == 0 && mine == theirs;
    close(sv[0]);
    close(sv[1]);
    if (r == -ENOENT) return;
    h->reply(h->hv, c, ok ? 100 : 0, ok ? 0 : EIO);
    return;
  }
  int type = (int)c->args[1];
  unsigned how = TN_INJECT_SEND;
  if (ex->mode == MODE_REPLY) {
    if (h->size < offsetof(struct tn_host, close_watched) + sizeof(h->close_watched)) {
      close(sv[0]);
      close(sv[1]);
      h->reply(h->hv, c, 0, ENOSYS); /* a hypervisor without TN_INJECT_REPLY */
      return;
    }
    how = TN_INJECT_REPLY;
  }
  unsigned flags = how | ((type & SOCK_CLOEXEC) ? TN_INJECT_CLOEXEC : 0);
  if (!(type & SOCK_NONBLOCK)) {
    int fl = fcntl(sv[1], F_GETFL);
    fcntl(sv[1], F_SETFL, fl & ~O_NONBLOCK); /* the tracee's end: shared file status */
  }
  int r = h->inject_fd(h->hv, c, sv[1], -1, flags);
  close(sv[1]);
  if (r < 0) {
    close(sv[0]);
    if (r != -ENOENT && r != -EOWNERDEAD) h->reply(h->hv, c, 0, -r);
    return;
  }
  if (h->watch_fd(h->hv, sv[0], EPOLLIN | EPOLLRDHUP, echo_cb, ex) < 0) close(sv[0]);
}

static void release_cb(void *arg) {
  struct example *ex = arg;
  if (ex->host->tracing(ex->host->hv)) ex->host->trace(ex->host->hv, NULL, "example: released");
  ex->host->hold(ex->host->hv, -1);
}

static void example_on_exit(void *self, int32_t tgid) {
  struct example *ex = self;
  if (ex->holding == 1) {
    ex->holding = 2;
    ex->host->add_timer(ex->host->hv, ex->host->now_ns(ex->host->hv) + ex->linger_ns, release_cb, ex);
  }
  if (ex->host->tracing(ex->host->hv)) {
    char line[64];
    snprintf(line, sizeof line, "example: process %d exited", (int)tgid);
    ex->host->trace(ex->host->hv, NULL, line);
  }
}

static const struct tn_module example_module = {
    .abi_version = TN_MODULE_ABI_VERSION,
    .size = sizeof(struct tn_module),
    .name = "example",
    .summary = "tiny demo: AF_INET sockets get EACCES, an echoing socketpair, or block",
    .init = example_init,
    .fini = example_fini,
    .syscalls = example_syscalls,
    .choose = example_choose,
    .handle = example_handle,
    .on_exit = example_on_exit,
    .options = example_options,
};

const struct tn_module *threadnet_module_v1(void) { return &example_module; }
