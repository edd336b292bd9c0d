// Adapter between the Stack and the TCP engine (src/transport/tcp/, written separately).
//
// The glue implements tcp::TcpHost on top of StackImpl and forwards segments, timers and
// ICMP errors to the engine. When the engine header is not present in the tree (the TCP
// branch is not merged yet), the glue behaves like a host with no TCP listeners: every
// segment is answered with a RST (RFC 9293 §3.10.7.1), so connects fail fast with
// ECONNREFUSED instead of timing out. With the engine, it is created on first use.
//
// Engine interface this glue expects (libstack/src/transport/tcp/tcp_engine.h):
//   namespace libstack::tcp { class TcpEngine {
//     TcpEngine(TcpHost& host, TcpTuning tuning);  // built from Tuning::tcp_*
//     void input(const IpAddr& src, const IpAddr& dst, std::span<const uint8_t> seg, Instant now);
//     void poll(Instant now);
//     Instant next_deadline() const;
//     TcpSocket socket(); }; }
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "libstack/tuning.h"
#include "libstack/types.h"
#include "transport/tcp/tcp_host.h"

#if __has_include("transport/tcp/tcp_engine.h")
#define LIBSTACK_HAVE_TCP_ENGINE 1
#endif

namespace libstack {

namespace tcp {
class TcpEngine;
}
class StackImpl;

class TcpGlue final : public tcp::TcpHost {
 public:
  explicit TcpGlue(StackImpl& s);
  ~TcpGlue() override;
  void input(const IpAddr& src, const IpAddr& dst, std::span<const uint8_t> seg, bool to_group,
             bool checksum_trusted = false);
  void icmp_error(const IpAddr& src, const IpAddr& dst, std::span<const uint8_t> quoted, int err);
  void poll(Instant now);
  Instant next_deadline() const;
  size_t memory_usage() const;
  tcp::TcpEngine* engine();  // creates the engine on first use

  bool send_segment(const IpAddr& src, const IpAddr& dst, std::span<const uint8_t> segment) override;
  size_t path_mtu(const IpAddr& dst) const override;
  IpAddr source_for(const IpAddr& dst) const override;
  bool is_local_address(const IpAddr& a) const override;
  Random& random() override;
  // In-place output: room for an Ethernet + IPv6 header in front of each segment.
  size_t headroom() const override { return 64; }
  bool host_checksums() const override { return true; }
  bool send_segment_inplace(const IpAddr& src, const IpAddr& dst, std::span<uint8_t> buf,
                            size_t headroom, size_t gso_size) override;
  size_t tso_max(const IpAddr& dst) const override;

 private:
  void send_rst(const IpAddr& src, const IpAddr& dst, std::span<const uint8_t> seg);
  bool send_general(const IpAddr& src, const IpAddr& dst, std::span<uint8_t> seg, uint32_t oif);
  std::vector<uint8_t> gso_buf_;  // software segmentation of a super-segment (rare)
  StackImpl& s_;
  std::unique_ptr<tcp::TcpEngine> engine_;
};

}  // namespace libstack
