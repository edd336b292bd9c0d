// Theory of operation: --trace-stack shows where in the program a virtualized call was
// made. The tracee thread is blocked in the kernel waiting for our answer, so it cannot
// be ptrace-stopped without aborting the call (PTRACE_INTERRUPT would restart it). It does
// not need to be: /proc/<tid>/syscall gives the user stack pointer and instruction pointer
// of a thread blocked in a system call, and that is all the first frame needs. libunwind's
// remote unwinder (the _UPT_ helpers find the ELF unwind tables through /proc/<tid>/maps)
// then walks the DWARF CFI with our accessors: memory through process_vm_readv, registers
// RIP and RSP from /proc (any other register is "unknown", which ends the walk at the
// first frame that needs one, e.g. an rbp-based CFA in hand-written assembly).
#include "backtrace.h"

#include <sys/syscall.h>

#include <fcntl.h>
#include <libunwind-ptrace.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace tn {

const int kBacktraceSyscalls[] = {SYS_mincore, -1};


namespace {

struct Ctx {
  pid_t tid;
  unw_word_t sp, pc;
  void *upt;
};

// The accessors get `arg` = the UPT info (needed by the _UPT helpers), so our own
// context is found through this single-threaded pointer, set only during one walk.
thread_local Ctx *g_ctx = nullptr;

int acc_mem(unw_addr_space_t, unw_word_t addr, unw_word_t *val, int write, void *) {
  if (write || !g_ctx) return -UNW_EINVAL;
  iovec l{val, sizeof *val}, r{reinterpret_cast<void *>(addr), sizeof *val};
  return process_vm_readv(g_ctx->tid, &l, 1, &r, 1, 0) == sizeof *val ? 0 : -UNW_EINVAL;
}

int acc_reg(unw_addr_space_t, unw_regnum_t reg, unw_word_t *val, int write, void *) {
  if (write || !g_ctx) return -UNW_EBADREG;
  if (reg == UNW_X86_64_RIP) *val = g_ctx->pc;
  else if (reg == UNW_X86_64_RSP) *val = g_ctx->sp;
  else return -UNW_EBADREG;
  return 0;
}

int acc_fpreg(unw_addr_space_t, unw_regnum_t, unw_fpreg_t *, int, void *) { return -UNW_EBADREG; }
int no_resume(unw_addr_space_t, unw_cursor_t *, void *) { return -UNW_EINVAL; }

std::string object_of(pid_t tid, uint64_t ip) {
  std::ifstream f("/proc/" + std::to_string(tid) + "/maps");
  std::string line;
  while (std::getline(f, line)) {
    unsigned long long lo, hi;
    if (sscanf(line.c_str(), "%llx-%llx", &lo, &hi) != 2) continue;
    if (ip < lo || ip >= hi) continue;
    auto slash = line.find('/');
    return slash == std::string::npos ? std::string("?") : line.substr(slash);
  }
  return "?";
}

}  // namespace

std::vector<std::string> tracee_backtrace(pid_t tid, int max_frames) {
  std::vector<std::string> out;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/syscall", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return out;
  buf[n] = 0;
  // "nr a1 a2 a3 a4 a5 a6 sp pc"
  unsigned long long v[9];
  long nr;
  if (sscanf(buf, "%ld %llx %llx %llx %llx %llx %llx %llx %llx", &nr, &v[0], &v[1], &v[2], &v[3],
             &v[4], &v[5], &v[6], &v[7]) != 9)
    return out;
  Ctx ctx{tid, unw_word_t(v[6]), unw_word_t(v[7]), _UPT_create(tid)};
  if (!ctx.upt) return out;
  unw_accessors_t acc = _UPT_accessors;
  acc.access_mem = acc_mem;
  acc.access_reg = acc_reg;
  acc.access_fpreg = acc_fpreg;
  acc.resume = no_resume;
  unw_addr_space_t as = unw_create_addr_space(&acc, 0);
  if (!as) {
    _UPT_destroy(ctx.upt);
    return out;
  }
  g_ctx = &ctx;
  unw_cursor_t cur;
  if (unw_init_remote(&cur, as, ctx.upt) == 0) {
    for (int i = 0; i < max_frames; ++i) {
      unw_word_t ip = 0;
      if (unw_get_reg(&cur, UNW_REG_IP, &ip) < 0 || ip == 0) break;
      char name[256];
      unw_word_t off = 0;
      char line[512];
      if (unw_get_proc_name(&cur, name, sizeof name, &off) == 0)
        snprintf(line, sizeof line, "#%d %s+%#" PRIx64 " (%s)", i, name, uint64_t(off),
                 object_of(tid, ip).c_str());
      else
        snprintf(line, sizeof line, "#%d %#" PRIx64 " (%s)", i, uint64_t(ip),
                 object_of(tid, ip).c_str());
      out.push_back(line);
      if (unw_step(&cur) <= 0) break;
    }
  }
  g_ctx = nullptr;
  unw_destroy_addr_space(as);
  _UPT_destroy(ctx.upt);
  return out;
}

}  // namespace tn
