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
#include <vector>

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
// transmit_offload() accepts frames whose TCP checksum is partial (the pseudo-header sum
// only): whoever receives them completes or ignores it (a tap with IFF_VNET_HDR).
inline constexpr uint32_t kTxChecksumPartial = 1u << 1;
// transmit_offload() accepts TCP "super-segments" of up to 64 KiB that the receiver
// cuts into gso_size pieces (TSO through IFF_VNET_HDR); implies kTxChecksumPartial.
inline constexpr uint32_t kTso = 1u << 2;
}  // namespace link_offload

// What transmit_offload() must do besides sending the frame (mirrors virtio_net_hdr).
struct TxOffload {
  enum Gso : uint8_t { kNone = 0, kTcpV4 = 1, kTcpV6 = 4 };
  bool csum_partial = false;  // complete the checksum at csum_start + csum_offset
  uint16_t csum_start = 0;    // from the start of the frame
  uint16_t csum_offset = 0;
  Gso gso = kNone;
  uint16_t gso_size = 0;      // payload bytes per segment
  uint16_t hdr_len = 0;       // link + IP + TCP header bytes
};

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
  // Like receive(), but a link that keeps frames in vectors may hand one over by swapping
  // storage with `buf` instead of copying (buf's size may change; it is never smaller
  // than the returned length). Default: receive(buf).
  virtual size_t receive_swap(std::vector<uint8_t>& buf, Instant now) { return receive(buf, now); }
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
  // Transmit with offload work left to the receiver (only what offloads() announces;
  // a GSO frame may exceed mtu() up to 64 KiB of IP packet). Default: not supported.
  virtual bool transmit_offload(std::span<const uint8_t> frame, const TxOffload& o, Instant now) {
    (void)frame, (void)o, (void)now;
    return false;
  }
};

}  // namespace libstack
