// Theory of operation: the filter is the only thing a tracee pays for when it does no
// networking, so it traps as little as possible. It is the union of the modules'
// `syscalls` lists, refined in BPF where an argument tells that the call cannot matter:
//   socket/socketpair   only for AF_INET, AF_INET6, AF_NETLINK, AF_PACKET (AF_UNIX and the
//                       rest go straight to the kernel);
//   sendto/recvfrom     only with a non-NULL address argument (a connected socket's data
//                       path stays in the kernel).
// Modules may also ask for conditional traps (tn_module.rules: one argument under a
// mask equals a value), OR'ed per call, e.g. ioctl only for a few request numbers.
// Escape routes are closed with user-notify (so the supervisor can say once, on stderr,
// why the call failed): io_uring_{setup,enter,register}, every call of another ABI (i386,
// including int 0x80 socketcall, via the bad-arch action; x32 via libseccomp's x32 check
// on the x86_64 arch) and seccomp(SECCOMP_SET_MODE_FILTER, NEW_LISTENER), which the kernel
// fails with EBUSY (one listener per filter chain) and the supervisor explains.
#include "filter.h"

#include <fcntl.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tn {

bool trapped_family(long family) {
  return family == AF_INET || family == AF_INET6 || family == AF_NETLINK ||
         family == AF_PACKET;
}

namespace {
struct Ctx {
  scmp_filter_ctx c = nullptr;
  ~Ctx() {
    if (c) seccomp_release(c);
  }
};
}  // namespace

std::vector<sock_filter> build_filter(const FilterSpec &spec, std::string *err) {
  std::vector<sock_filter> out;
  Ctx ctx;
  ctx.c = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx.c) {
    *err = "seccomp_init failed";
    return out;
  }
  int rc = 0;
  auto fail = [&](const char *what) {
    *err = std::string(what) + ": " + strerror(-rc);
    out.clear();
    return out;
  };
  if (spec.close_other_abis) {
    rc = seccomp_attr_set(ctx.c, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_NOTIFY);
    if (rc < 0) return fail("seccomp bad-arch action");
  }
  const uint32_t N = SCMP_ACT_NOTIFY;
  for (int nr : spec.syscalls) {
    if (nr < 0) continue;
    if (nr == SYS_socket || nr == SYS_socketpair) {
      for (long fam : {AF_INET, AF_INET6, AF_NETLINK, AF_PACKET}) {
        rc = seccomp_rule_add(ctx.c, N, nr, 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, (scmp_datum_t)fam));
        if (rc < 0) return fail("seccomp rule (socket)");
      }
    } else if (nr == SYS_sendto || nr == SYS_recvfrom) {
      rc = seccomp_rule_add(ctx.c, N, nr, 1, scmp_arg_cmp{4, SCMP_CMP_NE, 0, 0});
      if (rc < 0) return fail("seccomp rule (sendto/recvfrom)");
    } else {
      rc = seccomp_rule_add(ctx.c, N, nr, 0);
      if (rc < 0) return fail("seccomp rule");
    }
  }
  for (const FilterRule &r : spec.rules) {
    if (r.nr < 0 || spec.syscalls.count(r.nr)) continue;
    if (r.arg > 5) {
      *err = "conditional rule on argument " + std::to_string(r.arg) + " (0..5 only)";
      out.clear();
      return out;
    }
    rc = seccomp_rule_add(ctx.c, N, r.nr, 1,
                          scmp_arg_cmp{r.arg, SCMP_CMP_MASKED_EQ, r.mask, r.value});
    if (rc < 0 && rc != -EEXIST) return fail("seccomp conditional rule");
  }
  if (spec.close_io_uring) {
    for (int nr : {SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register}) {
      if (spec.syscalls.count(nr)) continue;
      rc = seccomp_rule_add(ctx.c, N, nr, 0);
      if (rc < 0) return fail("seccomp rule (io_uring)");
    }
  }
  if (spec.watch_own_listener && !spec.syscalls.count(SYS_seccomp)) {
    rc = seccomp_rule_add(ctx.c, N, SYS_seccomp, 2, scmp_arg_cmp{0, SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER, 0},
                          SCMP_A1(SCMP_CMP_MASKED_EQ, SECCOMP_FILTER_FLAG_NEW_LISTENER,
                                  SECCOMP_FILTER_FLAG_NEW_LISTENER));
    if (rc < 0) return fail("seccomp rule (seccomp)");
  }
  // Export through a memfd (libseccomp 2.5 has no in-memory export).
  int mfd = memfd_create("tn-filter", MFD_CLOEXEC);
  if (mfd < 0) {
    rc = -errno;
    return fail("memfd_create");
  }
  rc = seccomp_export_bpf(ctx.c, mfd);
  if (rc < 0) {
    close(mfd);
    return fail("seccomp_export_bpf");
  }
  off_t size = lseek(mfd, 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) {
    close(mfd);
    *err = "seccomp_export_bpf: bad program size";
    return out;
  }
  out.resize(size / sizeof(sock_filter));
  ssize_t n = pread(mfd, out.data(), size, 0);
  close(mfd);
  if (n != size) {
    *err = "reading the exported filter failed";
    out.clear();
  }
  return out;
}

}  // namespace tn
