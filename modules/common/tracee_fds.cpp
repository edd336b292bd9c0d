#include "tracee_fds.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace tn {

TraceeFds::TraceeFds(const tn_host *h) : h_(h) {
  diag_ = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
}

TraceeFds::~TraceeFds() {
  for (auto &kv : pidfds_) close(kv.second);
  if (diag_ >= 0) close(diag_);
}

void TraceeFds::drop(int32_t tgid) {
  auto it = pidfds_.find(tgid);
  if (it == pidfds_.end()) return;
  close(it->second);
  pidfds_.erase(it);
}

int TraceeFds::dup_of(const tn_call *c, int fd) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    int p;
    auto it = pidfds_.find(c->tgid);
    if (it != pidfds_.end()) {
      p = it->second;
    } else {
      p = int(syscall(SYS_pidfd_open, c->tgid, 0));
      if (p < 0) return h_->get_fd(h_->hv, c, fd);  // let the hypervisor try (threads)
      // The number could name another process by now: the call must still be pending.
      if (!h_->call_valid(h_->hv, c)) {
        close(p);
        return -ENOENT;
      }
      if (pidfds_.size() > 4096) {
        for (auto &kv : pidfds_) close(kv.second);
        pidfds_.clear();
      }
      pidfds_[c->tgid] = p;
    }
    int d = int(syscall(SYS_pidfd_getfd, p, fd, 0));
    if (d >= 0) return d;
    int e = errno;
    if (e != ESRCH) return -e;
    drop(c->tgid);  // that process is gone (pid reused): open again
  }
  return -ESRCH;
}

uint64_t TraceeFds::ident_local(int fd) {
  struct stat st {};
  if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) return 0;
  if (sock_dev_ == ~0ull) sock_dev_ = st.st_dev;
  return uint64_t(st.st_dev) == sock_dev_ ? uint64_t(st.st_ino) : 0;
}

uint64_t TraceeFds::ident_of(const tn_call *c, int fd) {
  if (fd < 0) return 0;
  int d = dup_of(c, fd);
  if (d < 0) return 0;
  uint64_t id = ident_local(d);
  close(d);
  return id;
}

bool TraceeFds::alive(uint64_t ino) {
  if (diag_ < 0) return true;
  struct {
    nlmsghdr nh;
    unix_diag_req req;
  } q{};
  q.nh.nlmsg_len = sizeof(q);
  q.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  q.nh.nlmsg_flags = NLM_F_REQUEST;
  q.nh.nlmsg_seq = 1;
  q.req.sdiag_family = AF_UNIX;
  q.req.udiag_states = ~0u;
  q.req.udiag_ino = uint32_t(ino);
  q.req.udiag_cookie[0] = INET_DIAG_NOCOOKIE;
  q.req.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
  sockaddr_nl nl{};
  nl.nl_family = AF_NETLINK;
  if (sendto(diag_, &q, sizeof(q), 0, reinterpret_cast<sockaddr *>(&nl), sizeof(nl)) < 0)
    return true;
  alignas(nlmsghdr) char buf[1024];
  for (int i = 0; i < 4; ++i) {
    ssize_t n = recv(diag_, buf, sizeof(buf), 0);
    if (n < ssize_t(sizeof(nlmsghdr))) return true;
    auto *nh = reinterpret_cast<nlmsghdr *>(buf);
    if (nh->nlmsg_seq != 1) continue;
    if (nh->nlmsg_type == NLMSG_ERROR) {
      if (size_t(n) < NLMSG_LENGTH(sizeof(nlmsgerr))) return true;
      auto *e = static_cast<nlmsgerr *>(NLMSG_DATA(nh));
      return e->error != -ENOENT;
    }
    return true;
  }
  return true;
}

}  // namespace tn
