// Host splices: TCP connections of a view that another user-mode TCP in this very process
// would terminate anyway are joined to host kernel sockets directly (see splice.cpp).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <threadnet/module.h>

#include "libstack/stack.h"
#include "vsock.h"

namespace umnet {

// The network a slirp:// link emulates: libvdeplug_slirp's URL options and defaults
// (man libvdeplug_slirp): the slirp host at 10.0.2.2/24 and fd00::2/64, both families
// unless `v4` or `v6` alone is given, the host's loopback behind the slirp host address
// unless `disable_host_loopback`.
struct SlirpNet {
  bool v4 = true, v6 = true;
  libstack::Cidr net4, net6;  // the slirp host's address and prefix
  bool host_loopback = true;
  // nullopt (with *err) for an option value that does not parse.
  static std::optional<SlirpNet> parse(const std::string &url, std::string *err);
};

// Outgoing TCP of a stack on a slirp:// link: libslirp would terminate each connection in
// its own TCP and open a host socket to the same destination (the slirp host address
// meaning the host's loopback); the supervisor opens that host socket itself instead, so
// the bytes skip two user-mode TCPs and the frames between them.
class HostSplice {
 public:
  HostSplice(const tn_host *h, const libstack::Stack &st, uint32_t ifindex, SlirpNet net)
      : host_(h), st_(st), ifindex_(ifindex), net_(net) {}
  // The host address a connection to `dst` is spliced to, or nullopt to leave it to the
  // stack: only destinations routed through the slirp interface, and not the slirp
  // network's own addresses (DNS proxy, DHCP, other guests) but its host address.
  std::optional<libstack::Endpoint> target(const libstack::Endpoint &dst) const;
  // A new non-blocking host TCP socket of `domain` (nullptr with *err).
  std::unique_ptr<tn::vsock::Far> open(int domain, int *err) {
    return host_.create(domain, SOCK_STREAM, 0, err);
  }

 private:
  tn::vsock::HostProvider host_;
  const libstack::Stack &st_;
  uint32_t ifindex_;
  SlirpNet net_;
};

// A connection --publish accepted on the host, handed to a listener of the view as if its
// stack had accepted it: the program's bytes go to the host socket directly. It reports
// `local` (the view's loopback and published port) and `peer`, in `domain`'s form.
std::unique_ptr<tn::vsock::Far> published_conn(std::unique_ptr<tn::vsock::Far> host,
                                               int domain, const libstack::Endpoint &local,
                                               const libstack::Endpoint &peer);

}  // namespace umnet
