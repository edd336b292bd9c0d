// Theory of operation: interface ioctls (SIOCGIF*) of a umnet network view.
//
// Old-style programs (ifconfig, many daemons, glibc's if_nametoindex fallback) ask the
// kernel about interfaces with ioctl on any socket. The umnet socket layer copies the
// tracee's struct ifreq (or SIOCGIFCONF buffer) in, calls IfIoctl, and copies it back.
// The answers come from the same Stack state and the same flag/type mapping
// (link_state.h) as the netlink emulation, so ifconfig and `ip` agree. Addresses are the
// interface's first IPv4 address, as in Linux (its "primary" address); SIOCGIFCONF lists
// IPv4 addresses only, one struct ifreq each, whole entries only.
#include "umnet/if_ioctl.h"

#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "link_state.h"

namespace umnet {

using namespace libstack;
using namespace umnet::detail;

namespace {

void put_v4(sockaddr& sa, const Ipv4Addr& a) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  std::memcpy(&sin.sin_addr, a.b.data(), 4);
  static_assert(sizeof sin <= sizeof sa);
  std::memcpy(&sa, &sin, sizeof sin);
}

void put_name(ifreq& r, const std::string& name) {
  std::memset(r.ifr_name, 0, IFNAMSIZ);
  std::memcpy(r.ifr_name, name.data(), std::min(name.size(), size_t(IFNAMSIZ - 1)));
}

const AddressInfo* primary_v4(const std::vector<AddressInfo>& v, uint32_t ifindex) {
  for (auto& a : v)
    if (a.ifindex == ifindex && a.cidr.addr.is_v4()) return &a;
  return nullptr;
}

}  // namespace

bool IfIoctl::is_interface_ioctl(unsigned long req) {
  switch (req) {
    case SIOCGIFCONF: case SIOCGIFFLAGS: case SIOCGIFADDR: case SIOCGIFNETMASK:
    case SIOCGIFBRDADDR: case SIOCGIFDSTADDR: case SIOCGIFHWADDR: case SIOCGIFMTU:
    case SIOCGIFINDEX: case SIOCGIFNAME: case SIOCGIFTXQLEN: case SIOCGIFMAP: case SIOCSIFMTU:
    case SIOCSIFFLAGS: case SIOCSIFADDR: case SIOCSIFNETMASK: case SIOCSIFBRDADDR:
    case SIOCSIFHWADDR: case SIOCSIFNAME: case SIOCSIFTXQLEN: case SIOCSIFDSTADDR:
      return true;
    default:
      return false;
  }
}

int IfIoctl::ifreq_ioctl(unsigned long req, ifreq& r) {
  if (!is_interface_ioctl(req) || req == SIOCGIFCONF) return -ENOTTY;
  auto ifs = st_.interfaces();
  if (req == SIOCGIFNAME) {  // the only request keyed by index
    const InterfaceInfo* i = r.ifr_ifindex > 0 ? find_if(ifs, uint32_t(r.ifr_ifindex)) : nullptr;
    if (!i) return -ENODEV;
    put_name(r, i->name);
    return 0;
  }
  // The name is a fixed 16-byte field that may lack its NUL (the kernel terminates it).
  size_t n = strnlen(r.ifr_name, IFNAMSIZ);
  if (n == IFNAMSIZ) n = IFNAMSIZ - 1;
  const InterfaceInfo* i = find_if(ifs, std::string_view(r.ifr_name, n));
  if (!i) return -ENODEV;
  switch (req) {
    case SIOCGIFFLAGS:
      r.ifr_flags = short(if_flags(*i) & 0xffff);  // IFF_LOWER_UP etc. do not fit here
      return 0;
    case SIOCGIFINDEX:
      r.ifr_ifindex = int(i->id);
      return 0;
    case SIOCGIFMTU:
      r.ifr_mtu = int(i->mtu);
      return 0;
    case SIOCGIFTXQLEN:
      r.ifr_qlen = int(kTxQueueLen);
      return 0;
    case SIOCGIFMAP:  // ifconfig asks; virtual devices have no I/O map
      std::memset(&r.ifr_map, 0, sizeof r.ifr_map);
      return 0;
    case SIOCGIFHWADDR:
      std::memset(&r.ifr_hwaddr, 0, sizeof r.ifr_hwaddr);
      r.ifr_hwaddr.sa_family = arphrd_type(*i);
      if (i->kind == LinkKind::Ethernet && !i->loopback) std::memcpy(r.ifr_hwaddr.sa_data, i->mac.b.data(), 6);
      return 0;
    case SIOCGIFADDR:
    case SIOCGIFNETMASK:
    case SIOCGIFBRDADDR:
    case SIOCGIFDSTADDR: {
      auto addrs = st_.addresses();
      const AddressInfo* a = primary_v4(addrs, i->id);
      if (!a) return -EADDRNOTAVAIL;
      Ipv4Addr v = a->cidr.addr.v4();
      if (req == SIOCGIFNETMASK) v = v4_netmask(a->cidr.prefix_len);
      if (req == SIOCGIFBRDADDR)
        v = (if_flags(*i) & IFF_BROADCAST) ? v4_broadcast(a->cidr).value_or(Ipv4Addr{}) : Ipv4Addr{};
      if (req == SIOCGIFDSTADDR) v = {};  // no point-to-point peers in libstack
      put_v4(r.ifr_addr, v);
      return 0;
    }
    case SIOCSIFMTU:
      if (r.ifr_mtu <= 0) return -EINVAL;
      return st_.set_mtu(i->id, size_t(r.ifr_mtu));
    case SIOCSIFFLAGS: {
      // Accept only "no change" of the settable flags: libstack interfaces cannot go down.
      constexpr uint32_t kSettable = IFF_UP | IFF_NOARP | IFF_PROMISC | IFF_ALLMULTI | IFF_MULTICAST | IFF_DEBUG;
      uint32_t want = uint16_t(r.ifr_flags);
      return ((want ^ if_flags(*i)) & kSettable) ? -EOPNOTSUPP : 0;
    }
    default:
      return -EOPNOTSUPP;  // other set requests: address changes go through netlink
  }
}

size_t IfIoctl::ifconf_needed() {
  size_t n = 0;
  for (auto& a : st_.addresses())
    if (a.cidr.addr.is_v4()) ++n;
  return n * sizeof(ifreq);
}

size_t IfIoctl::ifconf(std::span<uint8_t> buf) {
  auto ifs = st_.interfaces();
  auto addrs = st_.addresses();
  size_t used = 0;
  for (auto& i : ifs)
    for (auto& a : addrs) {
      if (a.ifindex != i.id || !a.cidr.addr.is_v4()) continue;
      if (buf.size() - used < sizeof(ifreq)) return used;
      ifreq r{};
      put_name(r, i.name);
      put_v4(r.ifr_addr, a.cidr.addr.v4());
      std::memcpy(buf.data() + used, &r, sizeof r);
      used += sizeof r;
    }
  return used;
}

}  // namespace umnet
