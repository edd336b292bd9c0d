/*
 * ThreadNet module ABI, version 1.
 *
 * A module is a shared object that the hypervisor loads at run time (dlopen) and that
 * exports one C symbol:
 *
 *     const struct tn_module *threadnet_module_v1(void);
 *
 * The hypervisor traps a network system call of a tracee, fills a `tn_call`, asks every
 * loaded module's `choose` in load order, and hands the call to the first module that
 * claims it (TN_CHOICE_MINE). With no claimant the kernel runs the call unchanged
 * (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
 *
 * `handle` runs on its own fiber (a cooperative task). It must answer the call exactly
 * once with one of: reply, reply_continue, inject_fd(..., TN_INJECT_SEND). It may block
 * the fiber with `wait_fd`/`park` (park with a NULL token is a plain sleep until the
 * deadline); while blocked other calls are served. The `tn_call` pointer is valid until
 * `handle` returns (copy it to keep it). If `handle` returns without answering, the
 * hypervisor answers ENOSYS (and warns once).
 * If the tracee is interrupted by a signal while a handler waits, the wait returns
 * TN_ECANCELED and the handler must unwind without replying (the kernel already failed
 * the call with EINTR or will restart it as a new notification). Because a restarted call
 * arrives again, handlers must be idempotent: doing the visible effect twice must be safe.
 *
 * The hypervisor knows nothing about any module; modules know nothing about the
 * hypervisor beyond this table. All functions are called on the supervisor's single
 * event-loop thread. `choose` may use read_mem/read_str/fd_identity (they do not block).
 *
 * Fibers started with `spawn` have no call: they pass c == NULL to wait_fd/park (no
 * cancellation then). A module may keep one instance per `init`; the hypervisor calls
 * `fini` once at the end of the run.
 *
 * Compatibility: `abi_version` in both tables is TN_MODULE_ABI_VERSION. New functions are
 * only ever appended to the end of the tables; `size` fields let either side detect an
 * older partner.
 */
#ifndef THREADNET_MODULE_H
#define THREADNET_MODULE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TN_MODULE_ABI_VERSION 1u
#define TN_MODULE_SYMBOL "threadnet_module_v1"

/* errno-style result of a wait that was cancelled because the tracee's call went away. */
#define TN_ECANCELED 125 /* == ECANCELED on Linux */

/* One trapped system call. Arguments are raw register values (x86_64 ABI). */
struct tn_call {
  uint64_t id;      /* seccomp notification id */
  int32_t tid;      /* thread that made the call (host pid namespace) */
  int32_t tgid;     /* its process */
  int32_t nr;       /* system call number */
  uint32_t arch;    /* AUDIT_ARCH_* */
  uint64_t ip;      /* instruction pointer at the call */
  uint64_t args[6];
};

/* Choice results. */
enum { TN_CHOICE_NONE = 0, TN_CHOICE_MINE = 1 };

/* inject_fd flags. */
enum {
  TN_INJECT_CLOEXEC = 1u << 0, /* O_CLOEXEC on the tracee's new fd */
  TN_INJECT_SEND = 1u << 1,    /* also answer the call with the new fd number (atomic) */
  TN_INJECT_AT = 1u << 2,      /* place at `target_fd`, replacing what is there (dup2-like) */
  /* Answer the call with the new fd number in a second step (install, then reply) rather
   * than atomically: the supervisor then does not wait until the tracee has returned to
   * user space (~3x less time blocked per injection on a busy machine). -ENOENT: the call
   * went away before anything was installed. -EOWNERDEAD: the tracee was interrupted
   * between the two steps and keeps an unannounced copy of local_fd: the module must treat
   * the object as not delivered and make that copy harmless (e.g. close its own end of a
   * pair). Not with TN_INJECT_SEND. */
  TN_INJECT_REPLY = 1u << 3,
};

/* One range of tracee memory for write_memv. */
struct tn_memv {
  uint64_t addr;
  const void *buf;
  size_t len;
};

/* fd event flags for wait_fd / watch_fd: EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP
 * values from <sys/epoll.h>. */
typedef void (*tn_watch_cb)(void *arg, int fd, uint32_t events);

typedef void (*tn_timer_cb)(void *arg);

/* Services the hypervisor offers a module. `hv` is passed back as the first argument. */
struct tn_host {
  uint32_t abi_version;
  uint32_t size; /* sizeof(struct tn_host) as built by the hypervisor */
  void *hv;

  /* -- tracee memory (copied once; bounds are the caller's buffer) ------------------- */
  /* 0 or -errno (EFAULT for an unmapped range). Partial reads are failures. */
  int (*read_mem)(void *hv, const struct tn_call *c, uint64_t addr, void *buf, size_t len);
  int (*write_mem)(void *hv, const struct tn_call *c, uint64_t addr, const void *buf, size_t len);
  /* Reads a NUL-terminated string of at most cap-1 bytes; returns its length or -errno. */
  long (*read_str)(void *hv, const struct tn_call *c, uint64_t addr, char *buf, size_t cap);

  /* -- tracee file descriptors ------------------------------------------------------- */
  /* A supervisor-side duplicate of the tracee's fd (pidfd_getfd). Caller closes it.
   * Returns the new fd or -errno (EBADF if the tracee has no such fd). */
  int (*get_fd)(void *hv, const struct tn_call *c, int tracee_fd);
  /* Identity of the open file behind a tracee fd: (device, inode) packed in *ino, which
   * survives dup/fork/SCM_RIGHTS. 0 or -errno. */
  int (*fd_identity)(void *hv, const struct tn_call *c, int tracee_fd, uint64_t *ino);
  /* Identity of a supervisor-side fd, same encoding as fd_identity. */
  int (*local_identity)(void *hv, int fd, uint64_t *ino);

  /* -- answering the call (exactly one of these, once) ------------------------------- */
  /* Success with `value` when err == 0, else failure with errno `err` (> 0). 0 or -errno;
   * -ENOENT means the call is gone (tracee interrupted or killed). */
  int (*reply)(void *hv, const struct tn_call *c, int64_t value, int err);
  /* Let the kernel run the call as the tracee made it. */
  int (*reply_continue)(void *hv, const struct tn_call *c);
  /* Install `local_fd` (a supervisor fd; not consumed) into the tracee. With
   * TN_INJECT_SEND this also answers the call with the new fd number. Returns the tracee's
   * fd number or -errno. */
  int (*inject_fd)(void *hv, const struct tn_call *c, int local_fd, int target_fd,
                   unsigned flags);
  /* Is the call still waiting for an answer? 1 yes, 0 gone. */
  int (*call_valid)(void *hv, const struct tn_call *c);

  /* -- blocking inside a handler (fiber) --------------------------------------------- */
  /* Suspend the handler until `fd` has one of `events` (returns the events seen), the
   * deadline passes (returns 0; deadline_ns == 0 means none, CLOCK_MONOTONIC), or the
   * call is cancelled (returns -TN_ECANCELED). */
  int (*wait_fd)(void *hv, const struct tn_call *c, int fd, uint32_t events,
                 uint64_t deadline_ns);
  /* Suspend until `wake(token)` is called by someone else, the deadline passes (0), or
   * cancellation (-TN_ECANCELED). Returns 1 when woken. `token` is an opaque handle
   * from `park_token`, reusable for many parks, released with `free_token` (appended
   * below). A wake with nobody parked is remembered: the next park returns 1 at once.
   * At most one fiber parks on a token at a time. token == NULL: sleep until deadline. */
  void *(*park_token)(void *hv);
  int (*park)(void *hv, const struct tn_call *c, void *token, uint64_t deadline_ns);
  void (*wake)(void *hv, void *token);

  /* -- event loop (outside handlers: proxies, timers) -------------------------------- */
  /* Edge-triggered watch of a supervisor fd; one watch per fd; cb runs on the loop. */
  int (*watch_fd)(void *hv, int fd, uint32_t events, tn_watch_cb cb, void *arg);
  int (*modify_watch)(void *hv, int fd, uint32_t events);
  int (*unwatch_fd)(void *hv, int fd);
  /* One-shot timer at CLOCK_MONOTONIC deadline; returns an id > 0 or -errno. */
  long (*add_timer)(void *hv, uint64_t deadline_ns, tn_timer_cb cb, void *arg);
  void (*cancel_timer)(void *hv, long id);
  uint64_t (*now_ns)(void *hv);
  /* Run `fn(arg)` as a new fiber soon (for work that needs to wait outside a call). */
  int (*spawn)(void *hv, void (*fn)(void *arg), void *arg);

  /* -- diagnostics ------------------------------------------------------------------- */
  /* 1 when --trace is on. trace() appends one line (no newline needed) to the trace. */
  int (*tracing)(void *hv);
  void (*trace)(void *hv, const struct tn_call *c, const char *line);
  /* A one-line message to the user's stderr, prefixed "threadnet: ". */
  void (*warn)(void *hv, const char *line);

  /* -- appended after v1's first draft (check `size` before use) ------------------- */
  /* Release a token from park_token (no fiber may be parked on it). */
  void (*free_token)(void *hv, void *token);
  /* Keep the event loop running after the traced tree has ended while the sum of holds
   * is > 0 (e.g. to flush buffered data to host sockets); +1 to hold, -1 to release.
   * The supervisor waits at most 10 s for holds, then finishes anyway. */
  void (*hold)(void *hv, int delta);
  /* A conditional trap, callable from init only: trap system call `nr` (x86_64) only when
   * (args[arg] & mask) == value, compared on all 64 bits; e.g. (SYS_ioctl, 1, ~0ull,
   * SIOCOUTQ) traps ioctl only for that request. Several rules for one call are OR'ed; a
   * call also in `syscalls` is trapped unconditionally. Only register arguments can be
   * tested (a msghdr's msg_name is memory, out of reach of BPF). 0, -EINVAL (arg > 5 or
   * nr < 0) or -EBUSY (the filter is already installed). */
  int (*add_rule)(void *hv, int nr, unsigned arg, uint64_t mask, uint64_t value);
  /* Several writes into the tracee's memory with one system call and one validation of
   * the call: 0, -EFAULT (all or nothing is not guaranteed: a range may be written before
   * a later one faults) or -ENOENT. n <= 16. */
  int (*write_memv)(void *hv, const struct tn_call *c, const struct tn_memv *v, unsigned n);
  /* unwatch_fd + close for a watched fd that is the only reference to its open file (no
   * dup, no copy in a fiber's wait): the kernel drops such a file from the epoll set by
   * itself, which saves a system call per closed socket. */
  int (*close_watched)(void *hv, int fd);

  /* -- appended for sealed views (check `size` before use) --------------------------- */
  /* From init only. The tree runs in its own empty network namespace; a module that
   * serves the host network on purpose (relay) asks for /proc/net to list the host's
   * (the supervisor's namespace) as natively. 0, or -EBUSY after init. */
  int (*share_host_procnet)(void *hv);
  /* From init only: the system calls (x86_64 numbers, terminated by -1) that the module,
   * the libraries it calls and the threads they run in the supervisor make after set-up,
   * beyond the supervisor's own list (docs/security.md). Once set-up is done the
   * supervisor allows only the union; any other call stops it (and the tree with it).
   * 0, or -EBUSY after init. */
  int (*allow_syscalls)(void *hv, const int *nrs);
  /* The same for ioctl request numbers (terminated by 0). */
  int (*allow_ioctls)(void *hv, const unsigned long *reqs);

  /* -- a ready network (check `size` before use) ------------------------------------ */
  /* From init only: hold the program's start until the gate is opened, e.g. until a
   * DHCP lease arrived. The supervisor runs its event loop (the module's links, timers
   * and fibers work) until every gate is open or the launcher's --wait-net SECONDS
   * (default 10; 0: no wait) have passed; then it starts the program anyway and one line
   * names what is missing ("threadnet: no WHAT after N s (--wait-net); ..."). `what`
   * says what is awaited ("DHCPv4 lease on stack default"). Returns a gate id > 0, or
   * -EBUSY after init. */
  long (*start_gate)(void *hv, const char *what);
  /* Open a gate (any time, idempotent; an unknown id is ignored). */
  void (*open_gate)(void *hv, long id);

  /* -- plug-ins of modules (check `size` before use) ------------------------------- */
  /* The path of the shared object the launcher would load for NAME (e.g. "netsukuku":
   * threadnet-netsukuku.so in the module directories: $THREADNET_MODULE_PATH, the build
   * tree, the install prefix), so a module finds its plug-ins (umnet's router for --mesh)
   * where the user's modules are. Returns the length (0: not found, *buf = ""). */
  size_t (*find_module)(void *hv, const char *name, char *buf, size_t cap);
};

/* Process events the hypervisor reports to every module (may be NULL). */
struct tn_module {
  uint32_t abi_version; /* TN_MODULE_ABI_VERSION */
  uint32_t size;        /* sizeof(struct tn_module) as built by the module */
  const char *name;     /* short name, e.g. "relay" */
  const char *summary;  /* one line for `threadnet modules` */

  /* Create a module instance. `argv` are the module's options (from the command line,
   * e.g. --publish 80:8080 for relay), argv[0] is the first option (no program name),
   * argv[argc] == NULL. On error return NULL and
   * write a message of at most errcap bytes into err. */
  void *(*init)(const struct tn_host *host, int argc, const char *const *argv, char *err,
                size_t errcap);
  void (*fini)(void *self);

  /* Which system calls the module wants trapped (x86_64 numbers); the hypervisor builds
   * the filter from the union. Terminated by -1. */
  const int *syscalls;

  /* The choice step: claim the call or not. Must not block or reply. */
  int (*choose)(void *self, const struct tn_call *c);
  /* Serve a claimed call on a fiber (see top of file). */
  void (*handle)(void *self, const struct tn_call *c);

  /* Process tree events (optional). fork/exec are not trapped (non-network programs
   * must run at native speed), so the hypervisor of v1 never calls on_fork/on_exec.
   * on_exit(tgid) is called once when a process that made a trapped call has exited. */
  void (*on_fork)(void *self, int32_t parent_tgid, int32_t child_tgid);
  void (*on_exec)(void *self, int32_t tgid);
  void (*on_exit)(void *self, int32_t tgid);

  /* -- appended after v1's first draft (the launcher checks `size` before use) ------- */
  /* Launcher options this module owns, NULL-terminated, e.g. {"publish=", "verbose",
   * NULL}: a trailing '=' means the option takes a value. `threadnet run --publish
   * 80:8080` and `threadnet run -o relay:publish=80:8080` both reach init's argv as the
   * two tokens "--publish" "80:8080"; a flag reaches it as "--verbose". May be NULL. */
  const char *const *options;
  /* Do not append further fields here lightly: C++ modules initialise this table
   * positionally and -Wmissing-field-initializers (-Wextra -Werror) breaks their build.
   * New needs go to tn_host (which only the hypervisor fills). */
};

typedef const struct tn_module *(*tn_module_entry_fn)(void);

#ifdef __cplusplus
}
#endif
#endif /* THREADNET_MODULE_H */
