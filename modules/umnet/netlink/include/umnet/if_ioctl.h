// The interface ioctls of a network view (SIOCGIF*, SIOCGIFCONF, SIOCSIFMTU) answered
// from a libstack::Stack, on the caller's copy of the tracee's struct ifreq / buffer.
// Encoding is the Linux x86-64 one (struct ifreq is 40 bytes, IFNAMSIZ 16).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "libstack/stack.h"

struct ifreq;

namespace umnet {

class IfIoctl {
 public:
  explicit IfIoctl(libstack::Stack& stack) : st_(stack) {}

  // One of SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFDSTADDR,
  // SIOCGIFHWADDR, SIOCGIFMTU, SIOCGIFINDEX, SIOCGIFNAME, SIOCGIFTXQLEN, SIOCGIFMAP,
  // SIOCSIFMTU, SIOCSIFFLAGS on `ifr` (read and written in place). Returns 0 or -errno: -ENODEV for an unknown name
  // or index, -EADDRNOTAVAIL when the interface has no IPv4 address, -EOPNOTSUPP for a
  // set request the Stack cannot do, -ENOTTY for a request that is not an interface ioctl.
  int ifreq_ioctl(unsigned long request, struct ifreq& ifr);

  // SIOCGIFCONF: writes one struct ifreq (name + AF_INET address) per IPv4 address into
  // `buf`, whole entries only, and returns the bytes written (the new ifc_len).
  size_t ifconf(std::span<uint8_t> buf);
  // SIOCGIFCONF with ifc_buf == NULL: the ifc_len needed for every entry.
  size_t ifconf_needed();

  static bool is_interface_ioctl(unsigned long request);

 private:
  libstack::Stack& st_;
};

}  // namespace umnet
