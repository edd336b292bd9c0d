// Ping sockets: ICMP echo for IPv4 and IPv6, like Linux SOCK_DGRAM + IPPROTO_ICMP(V6).
//
// sendto() takes an ICMP message starting with the 8-byte header (type must be echo
// request, code 0); the stack overwrites the identifier with the socket's bound "port"
// and computes the checksum. recvfrom() returns echo replies whose identifier matches,
// header included (identifier = the socket's id), like Linux.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <sys/types.h>

#include "libstack/stack.h"

namespace libstack {

struct IcmpSocketState;

class IcmpSocket {
 public:
  ~IcmpSocket();
  IcmpSocket(const IcmpSocket&) = delete;
  IcmpSocket& operator=(const IcmpSocket&) = delete;

  IpAddr::Family family() const;
  int bind(const Endpoint& local);  // port = echo identifier; 0 = pick one
  int connect(const Endpoint& peer);
  ssize_t sendto(std::span<const uint8_t> msg, const std::optional<Endpoint>& dst = std::nullopt);
  ssize_t recvfrom(std::span<uint8_t> buf, Endpoint* from = nullptr);
  Endpoint local_endpoint() const;
  uint32_t poll_events() const;
  void set_callback(std::function<void(uint32_t events)> cb);
  void set_ttl(int ttl);

 private:
  friend class StackImpl;
  friend class Stack;
  explicit IcmpSocket(std::unique_ptr<IcmpSocketState> s);
  std::unique_ptr<IcmpSocketState> s_;
};

}  // namespace libstack
