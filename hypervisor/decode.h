// Symbolic decoding of trapped network calls for --trace (see decode.cpp).
#pragma once
#include <threadnet/module.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace tn {

// x86_64 system call name ("syscall_N" if unknown). x32 numbers are marked.
std::string syscall_name(int nr, uint32_t arch);
int syscall_number(const std::string &name);  // -1 if unknown

using MemReader = std::function<bool(uint64_t addr, void *buf, size_t len)>;

std::string decode_family(long family);
std::string decode_socket_type(long type);     // SOCK_STREAM|SOCK_CLOEXEC...
std::string decode_msg_flags(long flags);      // MSG_DONTWAIT|... or 0
std::string decode_sockaddr(const void *p, size_t len);
// "(arg, arg, ...)" for the call, reading pointed-to memory through rd (may be empty).
std::string decode_args(const tn_call &c, const MemReader &rd);
// " = 3" / " = -1 ECONNREFUSED (Connection refused)"
std::string decode_result(int64_t value, int err);
std::string errno_name(int err);

}  // namespace tn
