#include "link_state.h"

#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>

namespace umnet::detail {

using namespace libstack;

uint32_t if_flags(const InterfaceInfo& i) {
  // libstack interfaces are always administratively up with carrier (no up/down API).
  uint32_t f = IFF_UP | IFF_RUNNING | IFF_LOWER_UP;
  if (i.loopback) return f | IFF_LOOPBACK;
  if (i.kind == LinkKind::Ethernet) return f | IFF_BROADCAST | IFF_MULTICAST;
  return f | IFF_POINTOPOINT | IFF_NOARP | IFF_MULTICAST;
}

uint16_t arphrd_type(const InterfaceInfo& i) {
  if (i.loopback) return ARPHRD_LOOPBACK;
  return i.kind == LinkKind::Ethernet ? ARPHRD_ETHER : ARPHRD_NONE;
}

uint8_t oper_state(const InterfaceInfo& i) {
  // The kernel reports "unknown" for loopback and tun-like devices without carrier logic.
  return i.loopback || i.kind != LinkKind::Ethernet ? IF_OPER_UNKNOWN : IF_OPER_UP;
}

uint8_t addr_scope(const IpAddr& a) {
  if (a.is_v4()) return a.v4().is_loopback() ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
  if (a.v6().is_loopback()) return RT_SCOPE_HOST;
  if (a.v6().is_link_local()) return RT_SCOPE_LINK;
  return RT_SCOPE_UNIVERSE;
}

Ipv4Addr v4_netmask(uint8_t len) {
  if (len == 0) return {};
  if (len >= 32) return Ipv4Addr::from_u32(0xffffffffu);
  return Ipv4Addr::from_u32(~((1u << (32 - len)) - 1));
}

std::optional<Ipv4Addr> v4_broadcast(const Cidr& c) {
  if (!c.addr.is_v4() || c.prefix_len >= 31) return std::nullopt;
  return Ipv4Addr::from_u32(c.addr.v4().to_u32() | ~v4_netmask(c.prefix_len).to_u32());
}

const InterfaceInfo* find_if(const std::vector<InterfaceInfo>& v, uint32_t id) {
  for (auto& i : v)
    if (i.id == id) return &i;
  return nullptr;
}
const InterfaceInfo* find_if(const std::vector<InterfaceInfo>& v, std::string_view name) {
  for (auto& i : v)
    if (i.name == name) return &i;
  return nullptr;
}

}  // namespace umnet::detail
