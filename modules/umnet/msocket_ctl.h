// The module side of msocket(3): recognising and decoding the request that libthreadnet-
// msocket makes as setsockopt(-1, TN_SOL_MSOCKET, op, &req, sizeof req) (msocket/msocket.h).
//
// The umnet module traps setsockopt only for that level (e.g. add_rule(SYS_setsockopt, 1,
// 0xffffffff, TN_SOL_MSOCKET)), checks the call with is_msocket_ctl(), decodes it with
// parse_msocket_ctl() and acts on the result: ENOENT if no stack has that name, else
// remember a one-shot selection (SELECT) or change the process default (DEFAULT), then
// reply 0. A pure function: the tracee's memory comes through the callback, read once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace umnet {

struct MsocketRequest {
  int op = 0;      // TN_MSOCKET_SELECT or TN_MSOCKET_DEFAULT
  int domain = 0;  // 0 (every family; DEFAULT and SELECT alike), AF_INET, AF_INET6, AF_NETLINK
  std::string name;  // non-empty, at most TN_MSOCKET_NAME_MAX - 1 bytes, no NUL
};

struct MsocketParse {
  int error = 0;  // 0, or the errno (> 0) to answer the setsockopt with
  MsocketRequest req;
};

// Copies len bytes of the tracee's memory at addr into buf: 0 or -errno (tn_host read_mem).
using MsocketReadMem = std::function<int(uint64_t addr, void *buf, size_t len)>;

// Is setsockopt(fd, level, ...) (raw trapped arguments) a msocket request: fd -1 and
// level TN_SOL_MSOCKET? Int arguments are compared on their low 32 bits, as the kernel does.
bool is_msocket_ctl(uint64_t fd, uint64_t level);

// Decodes a setsockopt(fd, level, optname, optval, optlen) msocket request. Errors:
// EINVAL not a msocket request, unknown op, optlen != sizeof(struct tn_msocket_req),
// domain not in {0, AF_INET, AF_INET6, AF_NETLINK}, name not NUL-terminated within the
// array or empty; EFAULT optval NULL or unreadable.
MsocketParse parse_msocket_ctl(uint64_t fd, uint64_t level, uint64_t optname, uint64_t optval,
                               uint64_t optlen, const MsocketReadMem &read_mem);

}  // namespace umnet
