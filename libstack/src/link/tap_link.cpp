// TapLink: a Linux tap/tun device as a libstack::Link.
//
// Theory of operation: open /dev/net/tun non-blocking and close-on-exec, attach it to the
// named interface with TUNSETIFF (IFF_TAP or IFF_TUN, always IFF_NO_PI so each read/write
// is exactly one frame/packet). The kernel creates the interface if it does not exist
// (needs CAP_NET_ADMIN). The interface itself is not brought up here: that is the job of
// whoever owns the host side (ip link set NAME up). Reads that find nothing return 0.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "libstack/links.h"

namespace libstack {

std::unique_ptr<TapLink> TapLink::open(std::string_view name, size_t mtu, std::string* error,
                                       bool tun) {
  const char* what = tun ? "tun" : "tap";
  auto fail = [&](std::string msg) -> std::unique_ptr<TapLink> {
    if (error) *error = std::move(msg);
    return nullptr;
  };
  if (name.empty() || name.size() >= IFNAMSIZ)
    return fail(std::string(what) + ": interface name '" + std::string(name) +
                "' must be 1.." + std::to_string(IFNAMSIZ - 1) + " characters");
  for (char c : name)
    if (c == '/' || c == ' ' || c == ':' || c == '\0')
      return fail(std::string(what) + ": invalid character in interface name '" +
                  std::string(name) + "'");
  if (mtu < 68 || mtu > kMaxLinkMtu)
    return fail(std::string(what) + ": MTU " + std::to_string(mtu) + " out of range");
  int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    std::string msg = std::string(what) + ":" + std::string(name) + ": open(/dev/net/tun): " +
                      std::strerror(e) + " (errno " + std::to_string(e) + ")";
    if (e == EPERM || e == EACCES)
      msg += "; a tap/tun device needs access to /dev/net/tun and CAP_NET_ADMIN";
    if (e == ENOENT) msg += "; the tun driver is missing (modprobe tun)";
    return fail(std::move(msg));
  }
  ifreq ifr{};
  ifr.ifr_flags = static_cast<short>((tun ? IFF_TUN : IFF_TAP) | IFF_NO_PI);
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    ::close(fd);
    std::string msg = std::string(what) + ":" + std::string(name) + ": TUNSETIFF: " +
                      std::strerror(e) + " (errno " + std::to_string(e) + ")";
    if (e == EPERM || e == EACCES)
      msg += "; attaching a tap/tun device needs CAP_NET_ADMIN (or a persistent device "
             "owned by this user: ip tuntap add NAME mode tap user $USER)";
    if (e == EBUSY) msg += "; the device is in use or is of the other type (tap vs tun)";
    return fail(std::move(msg));
  }
  return std::unique_ptr<TapLink>(new TapLink(fd, std::string(name), mtu, tun));
}

TapLink::TapLink(int fd, std::string name, size_t mtu, bool tun)
    : fd_(fd), name_(std::move(name)), mtu_(mtu), tun_(tun),
      scratch_(kMaxLinkMtu + kEthernetHeaderLen + 64) {}

TapLink::~TapLink() { ::close(fd_); }

bool TapLink::transmit(std::span<const uint8_t> frame, Instant) {
  size_t hdr = tun_ ? 0 : kEthernetHeaderLen;
  if (frame.size() <= hdr || frame.size() > mtu_ + hdr) {
    ++dropped_;
    return false;
  }
  ssize_t n = ::write(fd_, frame.data(), frame.size());
  if (n != static_cast<ssize_t>(frame.size())) {
    ++dropped_;
    return false;
  }
  return true;
}

size_t TapLink::receive(std::span<uint8_t> buf, Instant) {
  size_t hdr = tun_ ? 0 : kEthernetHeaderLen;
  for (int attempt = 0; attempt < 8; ++attempt) {
    ssize_t n = ::read(fd_, scratch_.data(), scratch_.size());
    if (n <= 0) return 0;  // EAGAIN (idle) or error
    size_t len = static_cast<size_t>(n);
    if (len < hdr + 1) continue;
    if (len > buf.size() || len > mtu_ + hdr) {
      ++dropped_;
      continue;
    }
    std::memcpy(buf.data(), scratch_.data(), len);
    return len;
  }
  return 0;
}

}  // namespace libstack
