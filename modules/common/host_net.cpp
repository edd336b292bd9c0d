// Theory of operation: a program under the relay module (or on umnet's `host` stack)
// uses the host's network on purpose, but its processes live in an empty network
// namespace so that sockets the modules do not serve reach nothing. What such a program
// reads of the host's network natively is therefore asked of the supervisor:
//  * NETLINK_ROUTE and NETLINK_SOCK_DIAG sockets (ip, ss, getifaddrs, AI_ADDRCONFIG) are
//    made by the supervisor in the host's namespace and installed in the tracee as the
//    result of its socket() call; every later call on them runs natively in the kernel.
//    Writes through them carry the supervisor's credentials: it has no capability in the
//    host's user namespace (rootless) or has dropped them (root mode), so a program
//    cannot change the host's network through them.
//  * interface ioctls on any fd (ifconfig, if_nametoindex on an AF_UNIX socket): the
//    read-only ones run on a datagram socket of the supervisor's and copy the struct ifreq
//    (or the SIOCGIFCONF buffer, bounded) in and out; those about the fd itself
//    (FIOSETOWN..SIOCGSTAMPNS, SIOCOUTQNSD) go to the kernel; ethtool/MII (a pointer
//    inside) fail EOPNOTSUPP; those that would change the host's network fail EPERM.
//  * /proc/net is the launcher's (LaunchSpec::host_procnet, asked with
//    tn_host.share_host_procnet).
#include "host_net.h"

#include <linux/netlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace tn::hostnet {

namespace {
constexpr size_t kMaxIfconf = 64 * 1024;

// struct ifreq in, struct ifreq out, nothing behind a pointer.
bool read_only_ifreq(unsigned long req) {
  switch (req) {
    case SIOCGIFNAME: case SIOCGIFFLAGS: case SIOCGIFADDR: case SIOCGIFDSTADDR:
    case SIOCGIFBRDADDR: case SIOCGIFNETMASK: case SIOCGIFMETRIC: case SIOCGIFMTU:
    case SIOCGIFHWADDR: case SIOCGIFINDEX: case SIOCGIFPFLAGS: case SIOCGIFTXQLEN:
    case SIOCGIFMAP:
      return true;
    default:
      return false;
  }
}
}  // namespace

const unsigned long kIoctls[] = {SIOCGIFNAME,   SIOCGIFFLAGS,   SIOCGIFADDR, SIOCGIFDSTADDR,
                                 SIOCGIFBRDADDR, SIOCGIFNETMASK, SIOCGIFMETRIC, SIOCGIFMTU,
                                 SIOCGIFHWADDR, SIOCGIFINDEX,   SIOCGIFPFLAGS, SIOCGIFTXQLEN,
                                 SIOCGIFMAP,    SIOCGIFCONF,    0};

bool is_host_netlink(const tn_call *c) {
  int proto = int(c->args[2]);
  return int(c->args[0]) == AF_NETLINK && (proto == NETLINK_ROUTE || proto == NETLINK_SOCK_DIAG);
}

void netlink_socket(const tn_host *h, const tn_call *c) {
  int type = int(c->args[1]);
  int fd = socket(AF_NETLINK, (type & ~SOCK_CLOEXEC) | SOCK_CLOEXEC, int(c->args[2]));
  if (fd < 0) return void(h->reply(h->hv, c, 0, errno));
  unsigned flags = TN_INJECT_SEND | ((type & SOCK_CLOEXEC) ? TN_INJECT_CLOEXEC : 0);
  int r = h->inject_fd(h->hv, c, fd, 0, flags);
  if (r < 0 && r != -ENOENT) h->reply(h->hv, c, 0, -r);
  close(fd);
}

IfIoctls::~IfIoctls() {
  if (sock_ >= 0) close(sock_);
}

int IfIoctls::sock() {
  if (sock_ < 0) sock_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock_ < 0) sock_ = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  return sock_;
}

void IfIoctls::handle(const tn_call *c) {
  unsigned long req = (unsigned long)(uint32_t(c->args[1]));
  uint64_t arg = c->args[2];
  auto reply = [&](int err) { h_->reply(h_->hv, c, 0, err); };
  if ((req < 0x8910 && req != SIOCADDRT && req != SIOCDELRT && req != SIOCRTMSG) ||
      req == SIOCOUTQNSD)
    return void(h_->reply_continue(h_->hv, c));  // about the fd itself
  int d = fds_.dup_of(c, int(c->args[0]));
  if (d < 0) {
    if (d != -ENOENT) reply(-d);
    return;
  }
  bool is_sock = fds_.ident_local(d) != 0;
  close(d);
  if (!is_sock) return void(h_->reply_continue(h_->hv, c));  // not an interface request
  int s = sock();
  if (s < 0) return reply(errno);
  if (req == SIOCGIFCONF) {
    struct {
      int32_t len;
      int32_t pad;
      uint64_t buf;
    } ifc{};
    static_assert(sizeof(ifc) == sizeof(ifconf));
    if (h_->read_mem(h_->hv, c, arg, &ifc, sizeof ifc) < 0) return reply(EFAULT);
    ifconf mine{};
    std::vector<char> b;
    if (ifc.buf && ifc.len <= 0) {  // no room: no entry, length 0 (as the kernel answers)
      ifc.len = 0;
      if (h_->write_mem(h_->hv, c, arg, &ifc.len, sizeof ifc.len) < 0) return reply(EFAULT);
      return reply(0);
    }
    if (ifc.buf) {
      b.resize(size_t(std::clamp<int32_t>(ifc.len, 0, int32_t(kMaxIfconf))));
      mine.ifc_len = int(b.size());
      mine.ifc_buf = b.data();
    }
    if (ioctl(s, SIOCGIFCONF, &mine) < 0) return reply(errno);
    if (ifc.buf && mine.ifc_len > 0 &&
        h_->write_mem(h_->hv, c, ifc.buf, b.data(), size_t(mine.ifc_len)) < 0)
      return reply(EFAULT);
    ifc.len = mine.ifc_len;
    if (h_->write_mem(h_->hv, c, arg, &ifc.len, sizeof ifc.len) < 0) return reply(EFAULT);
    return reply(0);
  }
  // ethtool, MII: data behind a pointer, not served (programs fall back on
  // netlink); everything else changes the host's network, which a view never does.
  if (req == SIOCETHTOOL || req == SIOCGMIIPHY || req == SIOCGMIIREG)
    return reply(EOPNOTSUPP);
  if (!read_only_ifreq(req)) return reply(EPERM);
  ifreq r{};
  if (h_->read_mem(h_->hv, c, arg, &r, sizeof r) < 0) return reply(EFAULT);
  if (ioctl(s, req, &r) < 0) return reply(errno);
  if (h_->write_mem(h_->hv, c, arg, &r, sizeof r) < 0) return reply(EFAULT);
  reply(0);
}

}  // namespace tn::hostnet
