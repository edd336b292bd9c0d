// TapLink: a Linux tap/tun device as a libstack::Link.
//
// Theory of operation: open /dev/net/tun non-blocking and close-on-exec, attach it to the
// named interface with TUNSETIFF (IFF_TAP or IFF_TUN, always IFF_NO_PI so each read/write
// is exactly one frame/packet). The kernel creates the interface if it does not exist
// (needs CAP_NET_ADMIN). The interface itself is not brought up here: that is the job of
// whoever owns the host side (ip link set NAME up). Reads that find nothing return 0.
//
// Offload (tap only, opt-in at open, on by default through make_link): IFF_VNET_HDR puts
// a struct virtio_net_hdr in front of every frame in both directions. Sending, it lets
// the stack hand the kernel TCP segments with only the pseudo-header checksum
// (VIRTIO_NET_HDR_F_NEEDS_CSUM) and 64 KiB TCP super-segments that the kernel delivers
// or cuts into gso_size pieces (GSO_TCPV4/V6), the way a VM's virtio-net does: one write
// per 64 KiB instead of one per 1500-byte frame. Receiving, no TUNSETOFFLOAD features
// are enabled, so the kernel sends ordinary frames; a header asking for a checksum is
// honoured anyway and GSO frames (never expected) are dropped.
#include <fcntl.h>
#include <sys/uio.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "libstack/links.h"

namespace libstack {

namespace {
// struct virtio_net_hdr (linux/virtio_net.h, which C++ cannot include: a field is named
// `class`); legacy layout in host byte order, 10 bytes.
struct virtio_net_hdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
static_assert(sizeof(virtio_net_hdr) == 10);
constexpr uint8_t VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
constexpr uint8_t VIRTIO_NET_HDR_GSO_NONE = 0;
constexpr uint8_t VIRTIO_NET_HDR_GSO_TCPV4 = 1;
constexpr uint8_t VIRTIO_NET_HDR_GSO_TCPV6 = 4;
}  // namespace

std::unique_ptr<TapLink> TapLink::open(std::string_view name, size_t mtu, std::string* error,
                                       bool tun, bool offload) {
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
  bool vnet = offload && !tun;
  ifreq ifr{};
  ifr.ifr_flags = static_cast<short>((tun ? IFF_TUN : IFF_TAP) | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0));
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  int rc = ::ioctl(fd, TUNSETIFF, &ifr);
  if (rc < 0 && vnet && errno == EINVAL) {  // a persistent device made without vnet headers
    vnet = false;
    ifr.ifr_flags = static_cast<short>(IFF_TAP | IFF_NO_PI);
    rc = ::ioctl(fd, TUNSETIFF, &ifr);
  }
  if (vnet) {
    int sz = sizeof(virtio_net_hdr);
    if (::ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) vnet = false;  // then the kernel keeps 10
  }
  if (rc < 0) {
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
  return std::unique_ptr<TapLink>(new TapLink(fd, std::string(name), mtu, tun, vnet));
}

TapLink::TapLink(int fd, std::string name, size_t mtu, bool tun, bool vnet)
    : fd_(fd), name_(std::move(name)), mtu_(mtu), tun_(tun), vnet_(vnet),
      scratch_(kMaxLinkMtu + kEthernetHeaderLen + 64 + sizeof(virtio_net_hdr)) {}

uint32_t TapLink::offloads() const {
  return vnet_ ? link_offload::kTso | link_offload::kTxChecksumPartial : 0;
}

bool TapLink::write_frame(std::span<const uint8_t> frame, const TxOffload* o) {
  ssize_t want = static_cast<ssize_t>(frame.size());
  ssize_t n;
  if (vnet_) {
    virtio_net_hdr h{};
    if (o) {
      if (o->csum_partial) {
        h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        h.csum_start = o->csum_start;  // native order: legacy virtio header of this host
        h.csum_offset = o->csum_offset;
      }
      if (o->gso != TxOffload::kNone) {
        h.gso_type = o->gso == TxOffload::kTcpV4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
        h.gso_size = o->gso_size;
        h.hdr_len = o->hdr_len;
      }
    }
    iovec iov[2] = {{&h, sizeof h}, {const_cast<uint8_t*>(frame.data()), frame.size()}};
    n = ::writev(fd_, iov, 2);
    want += static_cast<ssize_t>(sizeof h);
  } else {
    n = ::write(fd_, frame.data(), frame.size());
  }
  if (n != want) {
    ++dropped_;
    return false;
  }
  return true;
}

bool TapLink::transmit_offload(std::span<const uint8_t> frame, const TxOffload& o, Instant) {
  const size_t hdr = kEthernetHeaderLen;
  const size_t limit = o.gso != TxOffload::kNone ? 65535 + hdr : mtu_ + hdr;
  if (!vnet_ || frame.size() <= hdr || frame.size() > limit ||
      (o.csum_partial && size_t(o.csum_start) + o.csum_offset + 2 > frame.size()) ||
      (o.gso != TxOffload::kNone && (o.gso_size == 0 || o.hdr_len >= frame.size()))) {
    ++dropped_;
    return false;
  }
  return write_frame(frame, &o);
}

TapLink::~TapLink() { ::close(fd_); }

bool TapLink::transmit(std::span<const uint8_t> frame, Instant) {
  size_t hdr = tun_ ? 0 : kEthernetHeaderLen;
  if (frame.size() <= hdr || frame.size() > mtu_ + hdr) {
    ++dropped_;
    return false;
  }
  return write_frame(frame, nullptr);
}

size_t TapLink::receive(std::span<uint8_t> buf, Instant) {
  size_t hdr = tun_ ? 0 : kEthernetHeaderLen;
  for (int attempt = 0; attempt < 8; ++attempt) {
    ssize_t n = ::read(fd_, scratch_.data(), scratch_.size());
    if (n <= 0) return 0;  // EAGAIN (idle) or error
    size_t len = static_cast<size_t>(n);
    const uint8_t* f = scratch_.data();
    if (vnet_) {
      if (len < sizeof(virtio_net_hdr)) continue;
      virtio_net_hdr h;
      std::memcpy(&h, f, sizeof h);
      f += sizeof h;
      len -= sizeof h;
      if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {  // we enabled no receive offloads
        ++dropped_;
        continue;
      }
      if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && len >= 2 &&
          size_t(h.csum_start) + h.csum_offset + 2 <= len && h.csum_start <= len) {
        // Complete the partial checksum: the sum from csum_start to the end, stored at
        // csum_start + csum_offset (which holds the pseudo-header sum).
        uint8_t* m = scratch_.data() + sizeof h;
        uint32_t sum = 0;
        for (size_t k = h.csum_start; k + 1 < len; k += 2) sum += uint32_t(m[k] << 8 | m[k + 1]);
        if ((len - h.csum_start) & 1) sum += uint32_t(m[len - 1] << 8);
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        uint16_t c = uint16_t(~sum);
        m[h.csum_start + h.csum_offset] = uint8_t(c >> 8);
        m[h.csum_start + h.csum_offset + 1] = uint8_t(c);
      }
    }
    if (len < hdr + 1) continue;
    if (len > buf.size() || len > mtu_ + hdr) {
      ++dropped_;
      continue;
    }
    std::memcpy(buf.data(), f, len);
    return len;
  }
  return 0;
}

}  // namespace libstack
