// How a libstack interface / address looks to Linux userland: the net_device flags, ARPHRD
// type, operstate, address scope and IPv4 broadcast that both the netlink and the ioctl
// emulation report. One place, so `ip link` and SIOCGIFFLAGS always agree.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "libstack/stack.h"

namespace umnet::detail {

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
