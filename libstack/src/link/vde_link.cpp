// VdeLink: a libstack::Link over libvdeplug.
//
// Theory of operation: vde_open() gives a VDECONN whose data fd becomes readable when a
// frame is waiting. receive() polls that fd with a zero timeout before calling vde_recv()
// (without MSG_DONTWAIT), because not every plugin honours MSG_DONTWAIT or tolerates
// O_NONBLOCK on its fd; this keeps receive() non-blocking for every URL scheme. transmit() uses MSG_DONTWAIT and
// counts EAGAIN/ENOBUFS as a drop (VDE itself is lossy, like Ethernet). Frames are read
// into a scratch buffer large enough for any frame so a too-small caller buffer drops the
// frame instead of truncating it.
#include <fcntl.h>
extern "C" {
#include <libvdeplug.h>
}
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "libstack/links.h"

extern "C" void libstack_asan_dlopen_anchor();  // asan_dlopen.cpp: keep it linked

namespace libstack {

std::unique_ptr<VdeLink> VdeLink::open(std::string_view url, size_t mtu, std::string* error,
                                       std::string_view descr) {
  libstack_asan_dlopen_anchor();
  auto fail = [&](std::string msg) -> std::unique_ptr<VdeLink> {
    if (error) *error = std::move(msg);
    return nullptr;
  };
  if (url.empty()) return fail("vde: empty URL");
  if (mtu < 68 || mtu > kMaxLinkMtu)
    return fail("vde: MTU " + std::to_string(mtu) + " out of range [68, 65535]");
  std::string u(url);
  std::string d(descr);
  errno = 0;
  VDECONN* c = vde_open(u.data(), d.data(), nullptr);
  if (c == nullptr) {
    int e = errno;
    return fail("vde_open(" + u + "): " + (e ? std::strerror(e) : "failed") + " (errno " +
                std::to_string(e) + ")");
  }
  return std::unique_ptr<VdeLink>(new VdeLink(c, std::move(u), mtu));
}

VdeLink::VdeLink(vdeconn* conn, std::string url, size_t mtu)
    : conn_(conn), url_(std::move(url)), mtu_(mtu), data_fd_(vde_datafd(conn)),
      scratch_(kMaxLinkMtu + kEthernetHeaderLen + 64) {}

VdeLink::~VdeLink() { vde_close(conn_); }

bool VdeLink::transmit(std::span<const uint8_t> frame, Instant) {
  if (frame.size() < kEthernetHeaderLen || frame.size() > mtu_ + kEthernetHeaderLen) {
    ++dropped_;
    return false;
  }
  ssize_t n = vde_send(conn_, frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n != static_cast<ssize_t>(frame.size())) {
    ++dropped_;
    return false;
  }
  return true;
}

size_t VdeLink::receive(std::span<uint8_t> buf, Instant) {
  // Bounded: skip at most a few non-frames (keepalives of 1 byte) per call.
  for (int attempt = 0; attempt < 8; ++attempt) {
    pollfd p{data_fd_, POLLIN, 0};
    int r = ::poll(&p, 1, 0);
    if (r <= 0 || !(p.revents & (POLLIN | POLLERR | POLLHUP))) return 0;
    // Flags 0: the fd is readable, and stream-framed plugins (cmd://) must not be cut
    // in the middle of a frame by MSG_DONTWAIT.
    ssize_t n = vde_recv(conn_, scratch_.data(), scratch_.size(), 0);
    if (n <= 0) return 0;
    size_t len = static_cast<size_t>(n);
    if (len < kEthernetHeaderLen) continue;  // not a frame (keepalive/control)
    if (len > buf.size() || len > mtu_ + kEthernetHeaderLen) {
      ++dropped_;
      continue;
    }
    std::memcpy(buf.data(), scratch_.data(), len);
    return len;
  }
  return 0;
}

}  // namespace libstack
