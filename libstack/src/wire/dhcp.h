// DHCPv4 message format (RFC 2131 section 2, options RFC 2132, long options RFC 3396):
// a parsed form with parse/emit. Parsing is bounds-checked and never trusts a length.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "libstack/types.h"

namespace libstack::wire {

inline constexpr uint16_t kDhcpServerPort = 67;
inline constexpr uint16_t kDhcpClientPort = 68;
inline constexpr size_t kDhcpFixedLen = 236;     // BOOTP header up to the options
inline constexpr size_t kDhcpMinEmitLen = 300;   // BOOTP minimum; relays may insist on it
inline constexpr uint32_t kDhcpMagicCookie = 0x63825363;
inline constexpr uint16_t kDhcpFlagBroadcast = 0x8000;

enum class DhcpOp : uint8_t { Request = 1, Reply = 2 };

enum class DhcpMessageType : uint8_t {
  Discover = 1, Offer = 2, Request = 3, Decline = 4, Ack = 5, Nak = 6, Release = 7, Inform = 8,
};
const char* to_string(DhcpMessageType t);

namespace dhcp_opt {
inline constexpr uint8_t Pad = 0, SubnetMask = 1, Router = 3, DnsServer = 6, HostName = 12,
                         DomainName = 15, InterfaceMtu = 26, BroadcastAddr = 28,
                         RequestedIp = 50, LeaseTime = 51, Overload = 52, MessageType = 53,
                         ServerId = 54, ParamRequestList = 55, Message = 56, MaxMessageSize = 57,
                         RenewalTime = 58, RebindingTime = 59, ClientId = 61, End = 255;
}

struct DhcpMessage {
  DhcpOp op = DhcpOp::Request;
  uint8_t htype = 1;  // Ethernet
  uint8_t hlen = 6;
  uint8_t hops = 0;
  uint32_t xid = 0;
  uint16_t secs = 0;
  uint16_t flags = 0;
  Ipv4Addr ciaddr, yiaddr, siaddr, giaddr;
  std::array<uint8_t, 16> chaddr{};
  std::string sname;  // empty when the field carries options (overload)
  std::string file;

  // Options understood by libstack. Absent = not present or malformed (ignored).
  std::optional<DhcpMessageType> type;
  std::optional<Ipv4Addr> subnet_mask, requested_ip, server_id, broadcast_addr;
  std::vector<Ipv4Addr> routers, dns_servers;
  std::string domain_name, host_name, message;
  std::optional<uint16_t> interface_mtu, max_message_size;
  std::optional<uint32_t> lease_time, renewal_time, rebinding_time;  // seconds
  std::vector<uint8_t> param_request_list;
  std::vector<uint8_t> client_id;
  // Every other option, value bytes (instances of one code concatenated, RFC 3396).
  std::map<uint8_t, std::vector<uint8_t>> other;

  MacAddr client_mac() const {
    MacAddr m;
    std::copy(chaddr.begin(), chaddr.begin() + 6, m.b.begin());
    return m;
  }
};

// Parses a UDP payload. Returns nullopt (and a reason in *error) for a truncated header,
// wrong cookie, an option whose length runs past its field, or an overload loop.
std::optional<DhcpMessage> parse_dhcp(std::span<const uint8_t> bytes,
                                      std::string* error = nullptr);

// Emits the message: fixed header, cookie, options (message type first), End, padded with
// zeros to kDhcpMinEmitLen. Values longer than 255 bytes are split into several instances.
std::vector<uint8_t> emit_dhcp(const DhcpMessage& m);

}  // namespace libstack::wire
