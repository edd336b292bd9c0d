// Interim netlink layer until the real one (branch nlsock) lands: declines every netlink
// socket (the kernel answers) and interface ioctls fail with ENOTTY.
#include "nlsock.h"

namespace umnet {
struct NetlinkSockets::Impl {
  const tn_host *h;
};
NetlinkSockets::NetlinkSockets(const tn_host *h, tn::TraceeFds &) : impl_(new Impl{h}) {}
NetlinkSockets::~NetlinkSockets() = default;
void NetlinkSockets::create(const tn_call *c, libstack::Stack &) {
  impl_->h->reply_continue(impl_->h->hv, c);
}
bool NetlinkSockets::owns(uint64_t) const { return false; }
void NetlinkSockets::handle(const tn_call *c, uint64_t) { impl_->h->reply_continue(impl_->h->hv, c); }
void NetlinkSockets::if_ioctl(const tn_call *c, libstack::Stack &) {
  impl_->h->reply(impl_->h->hv, c, 0, ENOTTY);
}
void NetlinkSockets::on_exit(int32_t) {}
}  // namespace umnet
