#include "guarded_copy.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tn::vsock {

namespace {
constexpr size_t kPage = 4096;
}

GuardedBuf::GuardedBuf(size_t size) {
  size_t sz = (size + kPage - 1) & ~(kPage - 1);
  void *p = mmap(nullptr, sz + kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;
  if (mprotect(static_cast<char *>(p) + sz, kPage, PROT_NONE) < 0) {
    munmap(p, sz + kPage);
    return;
  }
  base_ = static_cast<char *>(p);
  size_ = sz;
}

GuardedBuf::~GuardedBuf() {
  if (base_) munmap(base_, size_ + kPage);
}

long copy_prefix(const tn_host *h, const tn_call *c, uint64_t addr, size_t n, char *dst) {
  if (n == 0) return 0;
  int rc = h->read_mem(h->hv, c, addr, dst, n);
  if (rc == 0) return long(n);
  if (rc == -ENOENT) return rc;
  size_t got = 0;
  while (got < n) {
    uint64_t a = addr + got;
    if (a < addr) break;  // wrapped past the top of the address space
    size_t chunk = kPage - size_t(a & (kPage - 1));
    if (chunk > n - got) chunk = n - got;
    rc = h->read_mem(h->hv, c, a, dst + got, chunk);
    if (rc == -ENOENT) return rc;
    if (rc < 0) break;
    got += chunk;
  }
  return long(got);
}

long copy_to_guard(const tn_host *h, const tn_call *c, uint64_t addr, size_t n, GuardedBuf &g,
                   char **at) {
  if (n > g.size()) n = g.size();
  *at = g.end();
  if (n == 0) return 0;
  // Straight to its place when it is all readable (the common case: one read).
  char *dst = g.end() - n;
  int rc = h->read_mem(h->hv, c, addr, dst, n);
  if (rc == 0) {
    *at = dst;
    return long(n);
  }
  if (rc == -ENOENT) return rc;
  long got = copy_prefix(h, c, addr, n, g.begin());
  if (got < 0) return got;
  if (got) memmove(g.end() - got, g.begin(), size_t(got));
  *at = g.end() - got;
  return got;
}

}  // namespace tn::vsock
