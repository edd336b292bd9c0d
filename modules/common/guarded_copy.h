// Copies of tracee memory that fault where the tracee's memory faults.
//
// A value the program passes to a trapped call (a socket option, a datagram, control data)
// is copied into the supervisor before a far socket sees it. When the supervisor hands the
// copy to its own host kernel socket with the program's own length, the kernel must find
// exactly the bytes the program could have given it: the readable prefix of the program's
// buffer, placed so that it ends where an inaccessible page begins. The host kernel then
// answers as the program's kernel would have (EFAULT at the same byte, or an earlier length
// check), and can never read supervisor memory past the copy.
#pragma once

#include <cstddef>
#include <cstdint>

#include <threadnet/module.h>

namespace tn::vsock {

// `size` usable bytes (rounded up to pages) followed by a PROT_NONE page.
class GuardedBuf {
 public:
  explicit GuardedBuf(size_t size);
  ~GuardedBuf();
  GuardedBuf(const GuardedBuf &) = delete;
  GuardedBuf &operator=(const GuardedBuf &) = delete;
  bool ok() const { return base_ != nullptr; }
  char *begin() const { return base_; }
  char *end() const { return base_ + size_; }  // the first byte of the guard page
  size_t size() const { return size_; }

 private:
  char *base_ = nullptr;
  size_t size_ = 0;
};

// Copies [addr, addr + n) of the tracee to dst, or its readable prefix (page by page once a
// page is not readable): the bytes copied, or -ENOENT when the call went away.
long copy_prefix(const tn_host *h, const tn_call *c, uint64_t addr, size_t n, char *dst);

// Copies [addr, addr + n) of the tracee (n <= g.size()), or its readable prefix when some
// page of it is not readable, so that the copy ends at g.end(); *at is where it starts.
// Returns the bytes copied (n, or fewer: the next byte faulted in the tracee), or -ENOENT
// when the call went away. Each byte of tracee memory is read once.
long copy_to_guard(const tn_host *h, const tn_call *c, uint64_t addr, size_t n, GuardedBuf &g,
                   char **at);

}  // namespace tn::vsock
