// Decoding of msocket(3) requests on the module side (msocket_ctl.h).
//
// Theory of operation: the request arrives as raw setsockopt arguments from an untrusted
// tracee. Each argument is narrowed the way the kernel narrows it (int / socklen_t: low
// 32 bits), the fixed-size struct is read once into a local copy, and only that copy is
// checked and decoded: length exact, family from the short list, the name terminated
// inside its array. Nothing is acted on here.
#include "msocket_ctl.h"

#include <sys/socket.h>

#include <cstring>

#include "msocket.h"

namespace umnet {

namespace {

int32_t low_int(uint64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }

MsocketParse failure(int e) {
  MsocketParse p;
  p.error = e;
  return p;
}

}  // namespace

bool is_msocket_ctl(uint64_t fd, uint64_t level) {
  return low_int(fd) == -1 && low_int(level) == TN_SOL_MSOCKET;
}

MsocketParse parse_msocket_ctl(uint64_t fd, uint64_t level, uint64_t optname, uint64_t optval,
                               uint64_t optlen, const MsocketReadMem &read_mem) {
  if (!is_msocket_ctl(fd, level)) return failure(EINVAL);
  const int op = low_int(optname);
  if (op != TN_MSOCKET_SELECT && op != TN_MSOCKET_DEFAULT) return failure(EINVAL);
  if (static_cast<uint32_t>(optlen) != sizeof(struct tn_msocket_req)) return failure(EINVAL);
  if (optval == 0 || !read_mem) return failure(EFAULT);
  struct tn_msocket_req req;
  std::memset(&req, 0, sizeof req);
  if (read_mem(optval, &req, sizeof req) != 0) return failure(EFAULT);
  const int32_t domain = req.domain;
  if (domain != 0 && domain != AF_INET && domain != AF_INET6 && domain != AF_NETLINK)
    return failure(EINVAL);
  const void *nul = std::memchr(req.name, '\0', sizeof req.name);
  if (!nul) return failure(EINVAL);
  const size_t len = static_cast<size_t>(static_cast<const char *>(nul) - req.name);
  if (len == 0) return failure(EINVAL);
  MsocketParse p;
  p.req.op = op;
  p.req.domain = domain;
  p.req.name.assign(req.name, len);
  return p;
}

}  // namespace umnet
