// vsock: the host kernel as far side (relay, umnet's host stack, spliced connections).
#include "vsock_impl.h"

namespace tn::vsock {

// ---- the host kernel as far side --------------------------------------------------------
namespace {

class HostFar final : public Far {
 public:
  HostFar(const tn_host *h, int fd) : h_(h), fd_(fd) {}
  ~HostFar() override {
    // The far socket is never duplicated: closing it drops it from the epoll set.
    bool quick = h_->size >= offsetof(tn_host, close_watched) + sizeof(void *) && h_->close_watched;
    if (watching_ && quick) {
      h_->close_watched(h_->hv, fd_);
      return;
    }
    if (watching_) h_->unwatch_fd(h_->hv, fd_);
    close(fd_);
  }
  int start(std::function<void(uint32_t)> cb) override {
    cb_ = std::move(cb);
    if (watching_) return 0;
    int rc = h_->watch_fd(h_->hv, fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &HostFar::event, this);
    if (rc == 0) watching_ = true;
    return rc;
  }
  int connect(const sockaddr_storage &to, socklen_t len) override {
    return ret(::connect(fd_, reinterpret_cast<const sockaddr *>(&to), len));
  }
  int bind(const sockaddr_storage &a, socklen_t len) override {
    return ret(::bind(fd_, reinterpret_cast<const sockaddr *>(&a), len));
  }
  int listen(int backlog) override { return ret(::listen(fd_, backlog)); }
  std::unique_ptr<Far> accept(sockaddr_storage *peer, socklen_t *plen, int *err) override {
    int n = accept4(fd_, reinterpret_cast<sockaddr *>(peer), plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (n < 0) {
      *err = errno;
      return nullptr;
    }
    return std::make_unique<HostFar>(h_, n);
  }
  bool accept_pending() override {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
  }
  ssize_t recv(void *buf, size_t n) override {
    return sret(::recv(fd_, buf, n, MSG_DONTWAIT));
  }
  ssize_t send(const void *buf, size_t n) override {
    return sret(::send(fd_, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL));
  }
  ssize_t recvfrom(void *buf, size_t n, sockaddr_storage *from, socklen_t *flen) override {
    return sret(::recvfrom(fd_, buf, n, MSG_DONTWAIT, reinterpret_cast<sockaddr *>(from), flen));
  }
  ssize_t sendmsg(const void *buf, size_t n, const sockaddr_storage *to, socklen_t tolen,
                  const void *ctl, size_t ctllen, int flags) override {
    if (to && tolen == 0 && !ctl)  // sendto with an address of length 0 (EINVAL for UDP)
      return sret(::sendto(fd_, buf, n, flags | MSG_DONTWAIT | MSG_NOSIGNAL,
                           reinterpret_cast<const sockaddr *>(to), 0));
    iovec one{const_cast<void *>(buf), n};
    msghdr m{};
    m.msg_iov = &one;
    m.msg_iovlen = 1;
    if (to) {
      m.msg_name = const_cast<sockaddr_storage *>(to);
      m.msg_namelen = tolen;
    }
    if (ctl) {
      m.msg_control = const_cast<void *>(ctl);
      m.msg_controllen = ctllen;
    }
    return sret(::sendmsg(fd_, &m, flags | MSG_DONTWAIT | MSG_NOSIGNAL));
  }
  int shutdown(int how) override { return ret(::shutdown(fd_, how)); }
  int name(bool peer, sockaddr_storage *out, socklen_t *len) override {
    auto *sa = reinterpret_cast<sockaddr *>(out);
    return ret(peer ? getpeername(fd_, sa, len) : getsockname(fd_, sa, len));
  }
  int setopt(int level, int name, const void *val, socklen_t len) override {
    return ret(setsockopt(fd_, level, name, val, len));
  }
  int getopt(int level, int name, void *val, socklen_t *len) override {
    return ret(getsockopt(fd_, level, name, val, len));
  }
  int poll_fd() const override { return fd_; }
  bool kernel_socket() const override { return true; }

 private:
  static int ret(int rc) { return rc < 0 ? -errno : rc; }
  static ssize_t sret(ssize_t rc) { return rc < 0 ? -errno : rc; }
  static void event(void *arg, int, uint32_t ev) {
    auto *self = static_cast<HostFar *>(arg);
    if (self->cb_) self->cb_(ev);
  }
  const tn_host *h_;
  int fd_;
  bool watching_ = false;
  std::function<void(uint32_t)> cb_;
};

}  // namespace

std::unique_ptr<Far> host_far(const tn_host *h, int fd) { return std::make_unique<HostFar>(h, fd); }

std::unique_ptr<Far> HostProvider::create(int domain, int type, int protocol, int *err) {
  int fd = ::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) {
    *err = errno;
    return nullptr;
  }
  return std::make_unique<HostFar>(h_, fd);
}

}  // namespace tn::vsock
