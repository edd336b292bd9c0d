// UDP sockets on a libstack Stack (datagram semantics of Linux SOCK_DGRAM/IPPROTO_UDP).
//
// Created by Stack::udp_socket(); must not outlive its Stack (if it does, every call
// returns -EBADF). Receive queue is bounded by Tuning::udp_rcvbuf (drops are counted in
// Counters::udp_rcvbuf_full). IPv6 sockets are IPV6_V6ONLY.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <sys/types.h>

#include "libstack/stack.h"

namespace libstack {

struct UdpSocketState;

class UdpSocket {
 public:
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  IpAddr::Family family() const;
  // port 0 = pick an ephemeral port; unspecified address = any. -EADDRINUSE,
  // -EADDRNOTAVAIL, -EINVAL (already bound / wrong family).
  int bind(const Endpoint& local);
  // Sets the default peer and filters received datagrams; binds implicitly.
  int connect(const Endpoint& peer);
  int disconnect();
  // Returns bytes sent or -errno: -EDESTADDRREQ, -ENETUNREACH, -EACCES (broadcast without
  // set_broadcast), -EMSGSIZE, -EAGAIN, -EISCONN is never returned (Linux allows sendto).
  ssize_t sendto(std::span<const uint8_t> data, const std::optional<Endpoint>& dst = std::nullopt);
  ssize_t send(std::span<const uint8_t> data) { return sendto(data, std::nullopt); }
  // Copies the next datagram (truncating to buf like Linux without MSG_TRUNC); *full_len
  // receives its real length. -EAGAIN if none, or a pending ICMP error (-ECONNREFUSED...).
  ssize_t recvfrom(std::span<uint8_t> buf, Endpoint* from = nullptr, bool peek = false,
                   size_t* full_len = nullptr);
  ssize_t recv(std::span<uint8_t> buf) { return recvfrom(buf); }

  Endpoint local_endpoint() const;
  std::optional<Endpoint> peer_endpoint() const;
  uint32_t poll_events() const;  // events::kIn / kOut / kErr
  // Called with poll_events() whenever readiness may have changed.
  void set_callback(std::function<void(uint32_t events)> cb);
  int take_error();  // SO_ERROR: returns and clears the pending error (0 if none)
  size_t next_datagram_size() const;  // FIONREAD

  void set_reuse_addr(bool on);
  void set_reuse_port(bool on);
  void set_broadcast(bool on);
  int bind_to_device(uint32_t ifindex);  // 0 = any
  void set_ttl(int ttl);                 // -1 = default; unicast TTL / hop limit
  void set_multicast_ttl(int ttl);       // default 1
  void set_multicast_loop(bool on);      // default on
  int set_multicast_interface(uint32_t ifindex);
  int join_group(const IpAddr& group, uint32_t ifindex = 0);   // -EINVAL, -EADDRINUSE, -ENOBUFS (>20)
  int leave_group(const IpAddr& group, uint32_t ifindex = 0);  // -EADDRNOTAVAIL
  void set_rcvbuf(size_t bytes);

 private:
  friend class StackImpl;
  friend class Stack;
  explicit UdpSocket(std::unique_ptr<UdpSocketState> s);
  std::unique_ptr<UdpSocketState> s_;
};

}  // namespace libstack
