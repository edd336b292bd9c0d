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

long copy_to_guard(const tn_host *h, const tn_call *c, uint64_t addr, size_t n, GuardedBuf &g,
                   char **at) {
  if (n > g.size()) n = g.size();
  *at = g.end();
  if (n == 0) return 0;
  char *dst = g.end() - n;
  int rc = h->read_mem(h->hv, c, addr, dst, n);
  if (rc == 0) {
    *at = dst;
    return long(n);
  }
  if (rc == -ENOENT) return rc;
  // Some page is unreadable: copy page by page up to the first that is not, into the start
  // of the buffer, then move the prefix against the guard.
  size_t got = 0;
  while (got < n) {
    uint64_t a = addr + got;
    if (a < addr) break;  // wrapped past the top of the address space
    size_t chunk = kPage - size_t(a & (kPage - 1));
    if (chunk > n - got) chunk = n - got;
    rc = h->read_mem(h->hv, c, a, g.begin() + got, chunk);
    if (rc == -ENOENT) return rc;
    if (rc < 0) break;
    got += chunk;
  }
  if (got) memmove(g.end() - got, g.begin(), got);
  *at = g.end() - got;
  return long(got);
}

}  // namespace tn::vsock
