// How a libstack interface / address looks to Linux userland: the net_device flags, ARPHRD
// type, operstate, address scope and IPv4 broadcast that both the netlink and the ioctl
// emulation report. One place, so `ip link` and SIOCGIFFLAGS always agree.
#pragma once

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "libstack/stack.h"

namespace umnet::detail {

// Administrative link state. libstack gained InterfaceInfo::up and Stack::set_link_up()
// on the stack branch after this code was started; these helpers use them when present
// and otherwise treat every interface as up and refuse "down" with -EOPNOTSUPP, so this
// library builds against either libstack.
template <typename I>
bool iface_up(const I& i) {
  if constexpr (requires { i.up; }) return i.up;
  else return true;
}
template <typename S>
int set_link_up(S& st, uint32_t ifindex, bool up) {
  if constexpr (requires { st.set_link_up(ifindex, up); }) {
    return st.set_link_up(ifindex, up);
  } else {
    (void)st, (void)ifindex;
    return up ? 0 : -EOPNOTSUPP;
  }
}

uint32_t if_flags(const libstack::InterfaceInfo& i);      // IFF_UP | IFF_RUNNING | ...
uint16_t arphrd_type(const libstack::InterfaceInfo& i);   // ARPHRD_ETHER / LOOPBACK / NONE
uint8_t oper_state(const libstack::InterfaceInfo& i);     // IF_OPER_UP / IF_OPER_UNKNOWN
uint8_t addr_scope(const libstack::IpAddr& a);            // RT_SCOPE_*
// Directed broadcast of an IPv4 prefix (none for /31, /32).
std::optional<libstack::Ipv4Addr> v4_broadcast(const libstack::Cidr& c);
libstack::Ipv4Addr v4_netmask(uint8_t prefix_len);
constexpr uint32_t kTxQueueLen = 1000;

const libstack::InterfaceInfo* find_if(const std::vector<libstack::InterfaceInfo>& v, uint32_t id);
const libstack::InterfaceInfo* find_if(const std::vector<libstack::InterfaceInfo>& v,
                                       std::string_view name);

}  // namespace umnet::detail
