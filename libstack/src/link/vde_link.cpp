// VdeLink: a libstack::Link over libvdeplug.
//
// Theory of operation: vde_open() gives a VDECONN whose data fd becomes readable when a
// frame is waiting. receive() polls that fd with a zero timeout before calling vde_recv()
// (without MSG_DONTWAIT), because not every plugin honours MSG_DONTWAIT or tolerates
// O_NONBLOCK on its fd; this keeps receive() non-blocking for every URL scheme. transmit() uses
// MSG_DONTWAIT; when the switch cannot take a frame (EAGAIN/ENOBUFS: an AF_UNIX datagram
// peer accepts only net.unix.max_dgram_qlen = 10 queued frames by default) the frame waits
// in a bounded FIFO (kTxQueueFrames) instead of being lost, which TCP would see as
// congestion. The queue is flushed, in order, before every later transmit and receive, and
// next_rx_time() asks the stack for a poll kTxRetry after the last call while it is not
// empty (the data fd's readability says nothing about room to send). Frames beyond the
// bound, or refused for another reason, are dropped and counted (VDE is lossy, like
// Ethernet). Frames are read
// into a scratch buffer large enough for any frame so a too-small caller buffer drops the
// frame instead of truncating it.
#include <fcntl.h>
extern "C" {
#include <libvdeplug.h>
}
#include <poll.h>
#include <sys/socket.h>

#include <sys/syscall.h>

#include <cerrno>
#include <cstring>

#include "libstack/links.h"

extern "C" void libstack_asan_dlopen_anchor();  // asan_dlopen.cpp: keep it linked

namespace libstack {

std::vector<int> link_runtime_syscalls(std::string_view url) {
  for (std::string_view scheme : {"switch://", "hub://", "ptp://"})
    if (url.starts_with(scheme)) return {SYS_unlink, SYS_unlinkat, SYS_rmdir};
  return {};
}


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
    std::string m = "vde_open(" + u + "): " + (e ? std::strerror(e) : "failed") + " (errno " +
                    std::to_string(e) + ")";
    fail(std::move(m));
    errno = e;  // for make_link's caller
    return nullptr;
  }
  return std::unique_ptr<VdeLink>(new VdeLink(c, std::move(u), mtu));
}

VdeLink::VdeLink(vdeconn* conn, std::string url, size_t mtu)
    : conn_(conn), url_(std::move(url)), mtu_(mtu), data_fd_(vde_datafd(conn)),
      scratch_(kMaxLinkMtu + kEthernetHeaderLen + 64) {}

VdeLink::~VdeLink() { vde_close(conn_); }

bool VdeLink::transmit(std::span<const uint8_t> frame, Instant now) {
  last_ = now;
  if (frame.size() < kEthernetHeaderLen || frame.size() > mtu_ + kEthernetHeaderLen) {
    ++dropped_;
    return false;
  }
  if (!txq_.empty()) flush();
  if (txq_.empty()) {
    progress_ = now;
    ssize_t n = vde_send(conn_, frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(frame.size())) return true;
    // Anything but "full for now" is a lost frame (as on a wire).
    if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)) {
      ++dropped_;
      return false;
    }
  }
  if (txq_.size() >= kTxQueueFrames) {
    ++dropped_;
    return false;
  }
  std::vector<uint8_t> b;
  if (!spare_.empty()) {
    b = std::move(spare_.back());
    spare_.pop_back();
  }
  b.assign(frame.begin(), frame.end());
  txq_.push_back(std::move(b));
  return true;
}

void VdeLink::flush() {
  while (!txq_.empty()) {
    std::vector<uint8_t>& f = txq_.front();
    ssize_t n = vde_send(conn_, f.data(), f.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
      if (last_ - progress_ < kTxStall) return;
      dropped_ += txq_.size();  // stuck: give up on what waits
      while (!txq_.empty()) {
        if (spare_.size() < 64) spare_.push_back(std::move(txq_.front()));
        txq_.pop_front();
      }
      break;
    }
    if (n != static_cast<ssize_t>(f.size())) ++dropped_;
    progress_ = last_;
    if (spare_.size() < 64) spare_.push_back(std::move(f));
    txq_.pop_front();
  }
}

Instant VdeLink::next_rx_time() const { return txq_.empty() ? kNever : last_ + kTxRetry; }

size_t VdeLink::receive(std::span<uint8_t> buf, Instant now) {
  last_ = now;
  if (!txq_.empty()) flush();
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
