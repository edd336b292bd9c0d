// A link: where a Stack interface sends and receives whole frames.
//
// Pull model: the stack calls `receive` from Stack::poll() until it returns 0; an event
// loop learns when to poll from `wait_fd()` (readable => frames may be waiting) or, for
// in-memory links, from the stack's next deadline / a notify callback.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "libstack/types.h"

namespace libstack {

enum class LinkKind : uint8_t {
  Ethernet,  // frames carry an Ethernet II header (VDE, tap, in-process Ethernet)
  Ip,        // frames are bare IPv4/IPv6 packets (loopback, tun-like links)
};

// Capabilities a link may advertise through Link::offloads() (bit mask).
namespace link_offload {
// The medium cannot corrupt frames and every receiver on it accepts TCP segments whose
// checksum was not computed (what Linux does on loopback/veth with CHECKSUM_PARTIAL).
// A Stack then neither computes the TCP checksum of segments it sends out of such a link
// nor verifies the checksum of segments it receives from it. A packet forwarded from such
// a link to a link without the flag gets a real checksum on the way out. Only set it when
// every endpoint on the medium is a libstack Stack (or otherwise ignores the checksum).
inline constexpr uint32_t kTrustedChecksum = 1u << 0;
}  // namespace link_offload

class Link {
 public:
  virtual ~Link() = default;
  virtual LinkKind kind() const = 0;
  // Largest payload above the link header (IP MTU). Ethernet frames may be mtu()+14.
  virtual size_t mtu() const = 0;
  // Queue one frame for transmission. Returns false if it was dropped (the caller
  // counts the drop); never blocks.
  virtual bool transmit(std::span<const uint8_t> frame, Instant now) = 0;
  // Copy the next received frame into buf; returns its length, or 0 if none is waiting.
  // A frame longer than buf is dropped and counted by the link (never truncated).
  virtual size_t receive(std::span<uint8_t> buf, Instant now) = 0;
  // A file descriptor that becomes readable when frames may be waiting, or -1.
  virtual int wait_fd() const { return -1; }
  // For links whose frames arrive in memory: called (from transmit of the peer) when a
  // frame becomes receivable, so an event loop can schedule a poll. Optional.
  virtual void set_rx_notify(std::function<void()> cb) { (void)cb; }
  // The earliest time at which receive() may produce a frame that is being delayed
  // (impairment links), or kNever.
  virtual Instant next_rx_time() const { return kNever; }
  // Frames the link itself dropped (queue full, oversize, closed).
  virtual uint64_t dropped() const { return 0; }
  // link_offload::* capabilities; 0 = none (every checksum is computed and verified).
  virtual uint32_t offloads() const { return 0; }
};

}  // namespace libstack
