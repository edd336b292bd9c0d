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
};

}  // namespace libstack::tcp
