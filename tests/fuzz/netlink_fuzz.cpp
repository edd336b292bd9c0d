// libFuzzer target for the umnet NETLINK_ROUTE emulation and the SIOCGIF* helper.
//
// Each input is one request datagram, handled by a NetlinkRoute over a fresh Stack (lo +
// eth0 with IPv4/IPv6 addresses and a default route), so inputs are independent. The
// replies are checked structurally (every datagram is a sequence of whole, aligned
// messages, every dump ends in NLMSG_DONE) and a violation aborts. Inputs of at least
// sizeof(struct ifreq) bytes are also fed to every interface ioctl.
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <net/if.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <span>

#include "libstack/stack.h"
#include "umnet/if_ioctl.h"
#include "umnet/netlink_route.h"

namespace {

using namespace libstack;

class NullLink final : public Link {
 public:
  LinkKind kind() const override { return LinkKind::Ethernet; }
  size_t mtu() const override { return 1500; }
  bool transmit(std::span<const uint8_t>, Instant) override { return true; }
  size_t receive(std::span<uint8_t>, Instant) override { return 0; }
};

void check(bool ok) {
  if (!ok) std::abort();
}

void check_replies(const std::vector<std::vector<uint8_t>>& d) {
  for (auto& g : d) {
    check(g.size() % 4 == 0 && !g.empty());
    size_t off = 0;
    while (off < g.size()) {
      check(g.size() - off >= 16);
      uint32_t len;
      std::memcpy(&len, &g[off], 4);
      check(len >= 16 && len <= g.size() - off);
      off += (len + 3) & ~3u;
    }
    check(off == g.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  SplitMix64 rng(7);
  auto st = Stack::create({rng});
  NullLink link;
  int eth = st->add_interface(link, {{2, 0, 0, 0, 0, 1}});
  st->add_address(uint32_t(eth), *Cidr::parse("10.0.0.1/24"));
  st->add_address(uint32_t(eth), *Cidr::parse("2001:db8::1/64"));
  st->add_route(*Cidr::parse("0.0.0.0/0"), *IpAddr::parse("10.0.0.254"), uint32_t(eth));

  umnet::NetlinkRoute nl(*st);
  nl.set_max_datagram(1024 + (size % 4096));
  check_replies(nl.handle({data, size}, 99));
  // The stack must still answer a plain dump after whatever the input did.
  uint8_t dump[20] = {20, 0, 0, 0, 18, 0, 1, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  check_replies(nl.handle(dump, 99));

  if (size >= sizeof(ifreq)) {
    umnet::IfIoctl io(*st);
    for (unsigned long req : {SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFDSTADDR,
                              SIOCGIFHWADDR, SIOCGIFMTU, SIOCGIFINDEX, SIOCGIFNAME, SIOCGIFTXQLEN,
                              SIOCSIFFLAGS, SIOCSIFMTU}) {
      ifreq r;
      std::memcpy(&r, data, sizeof r);
      io.ifreq_ioctl(req, r);
    }
    std::vector<uint8_t> buf(size % 200);
    check(io.ifconf(buf) <= buf.size());
  }
  return 0;
}
