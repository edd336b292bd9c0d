// The seam between the IP layer and the TCP engine (internal to libstack).
//
// The Stack owns one TcpEngine per instance. The IP layer hands it every TCP segment
// addressed to a local address (already checksum-verified? no: the engine verifies the
// TCP checksum itself, with the pseudo-header built from src/dst), and the engine sends
// segments through TcpHost. This keeps TCP testable on its own: two engines wired back to
// back through a fake TcpHost exchange segments with no Ethernet or IP in between.
#pragma once

#include <cstdint>
#include <span>

#include "libstack/types.h"

namespace libstack::tcp {

class TcpHost {
 public:
  virtual ~TcpHost() = default;
  // Send one TCP segment (header + payload, checksum already filled) from src to dst.
  // Returns false if it could not be sent (no route, queue full); TCP treats that as loss.
  virtual bool send_segment(const IpAddr& src, const IpAddr& dst,
                            std::span<const uint8_t> segment) = 0;
  // Path MTU towards dst (IP payload size the link can carry), for MSS.
  virtual size_t path_mtu(const IpAddr& dst) const = 0;
  // Source address the stack would use to reach dst (for connect without bind);
  // unspecified if there is no route (-> ENETUNREACH).
  virtual IpAddr source_for(const IpAddr& dst) const = 0;
  // Is `a` one of the stack's addresses (for bind: EADDRNOTAVAIL otherwise)?
  virtual bool is_local_address(const IpAddr& a) const = 0;
  virtual Random& random() = 0;

  // Optional in-place output (saves a copy per segment). When headroom() > 0 the engine
  // builds each segment `headroom()` bytes into its buffer and calls send_segment_inplace
  // with the whole buffer: the host may write its IP/link headers into the headroom and
  // transmit the frame from there. When host_checksums() is true as well, the engine
  // leaves the TCP checksum field 0 for send_segment_inplace and the host fills it where
  // the path needs it (not on links that trust checksums, see link_offload).
  // gso_size != 0: the payload is longer than one segment (see tso_max); the host must
  // send it as consecutive segments of gso_size payload bytes each (the same header,
  // sequence numbers advanced, FIN/PSH only on the last), by offload or in software.
  virtual size_t headroom() const { return 0; }
  virtual bool host_checksums() const { return false; }
  virtual bool send_segment_inplace(const IpAddr& src, const IpAddr& dst, std::span<uint8_t> buf,
                                    size_t headroom, size_t gso_size) {
    (void)gso_size;
    return send_segment(src, dst, buf.subspan(headroom));
  }
  // Largest TCP payload the host accepts in one send_segment_inplace call towards dst
  // when it can segment (TSO), or 0: one MSS per segment. Consulted before each burst.
  virtual size_t tso_max(const IpAddr& dst) const {
    (void)dst;
    return 0;
  }
};

}  // namespace libstack::tcp
