/*
 * msocket: sockets on a named stack of a ThreadNet view (see msocket(3)).
 *
 *   int fd = msocket("vpn", AF_INET, SOCK_STREAM, 0);    // a socket on stack "vpn"
 *   msocket("vpn", AF_INET, SOCK_DEFAULT, 0);            // default stack for AF_INET
 *   msocket(NULL, AF_INET, SOCK_STREAM, 0);              // == socket(): the default stack
 *
 * Protocol with the umnet module (what the library does; stable, part of the module ABI):
 * the library makes a setsockopt() on fd -1 at level TN_SOL_MSOCKET, which the umnet
 * module traps and answers (natively it fails with EBADF, which the library reports as
 * ENOSYS: "not running under threadnet with the umnet module").
 *   TN_MSOCKET_SELECT : the calling thread's next socket() of AF_INET, AF_INET6 or
 *                       AF_NETLINK is created on stack req.name (one shot).
 *   TN_MSOCKET_DEFAULT: the calling process's default stack for family req.domain (0: all
 *                       families) becomes req.name; inherited by children created later
 *                       and kept across exec.
 * optval is a struct tn_msocket_req, optlen its size. Errors: ENOENT no such stack,
 * EINVAL bad request.
 */
#ifndef THREADNET_MSOCKET_H
#define THREADNET_MSOCKET_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TN_SOL_MSOCKET 0x544e /* "TN" */
#define TN_MSOCKET_SELECT 1
#define TN_MSOCKET_DEFAULT 2
#define TN_MSOCKET_NAME_MAX 64

struct tn_msocket_req {
  int32_t domain;                  /* AF_INET, AF_INET6, AF_NETLINK or 0 (all) */
  char name[TN_MSOCKET_NAME_MAX];  /* stack name, NUL-terminated */
};

#ifndef SOCK_DEFAULT
#define SOCK_DEFAULT 0x40000000 /* msocket type: set the default stack (like VUOS) */
#endif

/* A socket on stack `stack` (NULL or "": plain socket(), the calling process's default
 * stack). With the SOCK_DEFAULT bit in type: make `stack` the process's default for
 * `domain` (0: every family) and return 0. -1 with errno on error: ENOENT no such stack,
 * ENOSYS not under threadnet (umnet), ENAMETOOLONG name of 64 bytes or more,
 * EAFNOSUPPORT domain not AF_INET/AF_INET6/AF_NETLINK (or 0 with SOCK_DEFAULT), EINVAL
 * SOCK_DEFAULT without a name; socket()'s own errors. See msocket(3). */
int msocket(const char *stack, int domain, int type, int protocol);

#ifdef __cplusplus
}
#endif
#endif
