// DHCPv4 parse/emit.
//
// Theory of operation: the fixed 236-byte BOOTP header is copied field by field; the
// magic cookie must follow. Options are a TLV sequence (Pad and End have no length). The
// options field is read first; if option 52 (overload) says so, the `file` and then the
// `sname` fields are read as more options (RFC 2131 section 4.1). Every instance of a code
// is appended to that code's value (RFC 3396), then the known codes are interpreted with
// their exact length rules; a malformed value is dropped rather than trusted. A length
// that runs past the end of its field makes the whole message invalid.
#include "wire/dhcp.h"

#include <algorithm>

namespace libstack::wire {

const char* to_string(DhcpMessageType t) {
  switch (t) {
    case DhcpMessageType::Discover: return "DISCOVER";
    case DhcpMessageType::Offer: return "OFFER";
    case DhcpMessageType::Request: return "REQUEST";
    case DhcpMessageType::Decline: return "DECLINE";
    case DhcpMessageType::Ack: return "ACK";
    case DhcpMessageType::Nak: return "NAK";
    case DhcpMessageType::Release: return "RELEASE";
    case DhcpMessageType::Inform: return "INFORM";
  }
  return "?";
}

namespace {

uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
Ipv4Addr ip_at(const uint8_t* p) { return {{p[0], p[1], p[2], p[3]}}; }

std::string cstr_field(const uint8_t* p, size_t n) {
  size_t len = 0;
  while (len < n && p[len] != 0) ++len;
  return std::string(reinterpret_cast<const char*>(p), len);
}

// Appends the options of one field to `out`; false on overflow.
bool scan_options(std::span<const uint8_t> field, std::map<uint8_t, std::vector<uint8_t>>& out,
                  std::string* error) {
  size_t i = 0;
  while (i < field.size()) {
    uint8_t code = field[i];
    if (code == dhcp_opt::Pad) {
      ++i;
      continue;
    }
    if (code == dhcp_opt::End) return true;
    if (i + 1 >= field.size()) {
      if (error) *error = "option " + std::to_string(code) + " has no length byte";
      return false;
    }
    size_t len = field[i + 1];
    if (i + 2 + len > field.size()) {
      if (error)
        *error = "option " + std::to_string(code) + " length " + std::to_string(len) +
                 " runs past the end of its field";
      return false;
    }
    auto& v = out[code];
    v.insert(v.end(), field.begin() + i + 2, field.begin() + i + 2 + len);
    i += 2 + len;
  }
  return true;  // no End: tolerated (common in the wild) when the field ends cleanly
}

std::vector<Ipv4Addr> ip_list(const std::vector<uint8_t>& v) {
  std::vector<Ipv4Addr> out;
  if (v.empty() || v.size() % 4 != 0) return out;
  for (size_t i = 0; i < v.size(); i += 4) out.push_back(ip_at(&v[i]));
  return out;
}

}  // namespace

std::optional<DhcpMessage> parse_dhcp(std::span<const uint8_t> b, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<DhcpMessage> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  if (b.size() < kDhcpFixedLen + 4) return fail("shorter than the BOOTP header and cookie");
  DhcpMessage m;
  if (b[0] != 1 && b[0] != 2) return fail("bad op " + std::to_string(b[0]));
  m.op = static_cast<DhcpOp>(b[0]);
  m.htype = b[1];
  m.hlen = b[2];
  m.hops = b[3];
  if (m.hlen > 16) return fail("hlen > 16");
  m.xid = be32(&b[4]);
  m.secs = be16(&b[8]);
  m.flags = be16(&b[10]);
  m.ciaddr = ip_at(&b[12]);
  m.yiaddr = ip_at(&b[16]);
  m.siaddr = ip_at(&b[20]);
  m.giaddr = ip_at(&b[24]);
  std::copy(b.begin() + 28, b.begin() + 44, m.chaddr.begin());
  if (be32(&b[kDhcpFixedLen]) != kDhcpMagicCookie) return fail("missing DHCP magic cookie");

  std::map<uint8_t, std::vector<uint8_t>> raw;
  if (!scan_options(b.subspan(kDhcpFixedLen + 4), raw, error)) return std::nullopt;
  uint8_t overload = 0;
  if (auto it = raw.find(dhcp_opt::Overload); it != raw.end()) {
    if (it->second.size() != 1 || it->second[0] < 1 || it->second[0] > 3)
      return fail("bad overload option");
    overload = it->second[0];
    raw.erase(it);
  }
  std::span<const uint8_t> sname = b.subspan(44, 64), file = b.subspan(108, 128);
  if (overload & 1) {
    if (!scan_options(file, raw, error)) return std::nullopt;
  } else {
    m.file = cstr_field(file.data(), file.size());
  }
  if (overload & 2) {
    if (!scan_options(sname, raw, error)) return std::nullopt;
  } else {
    m.sname = cstr_field(sname.data(), sname.size());
  }
  raw.erase(dhcp_opt::Overload);  // an overload inside an overloaded field: ignored

  for (auto& [code, v] : raw) {
    switch (code) {
      case dhcp_opt::MessageType:
        if (v.size() == 1 && v[0] >= 1 && v[0] <= 8) m.type = static_cast<DhcpMessageType>(v[0]);
        break;
      case dhcp_opt::SubnetMask:
        if (v.size() == 4) m.subnet_mask = ip_at(v.data());
        break;
      case dhcp_opt::RequestedIp:
        if (v.size() == 4) m.requested_ip = ip_at(v.data());
        break;
      case dhcp_opt::ServerId:
        if (v.size() == 4) m.server_id = ip_at(v.data());
        break;
      case dhcp_opt::BroadcastAddr:
        if (v.size() == 4) m.broadcast_addr = ip_at(v.data());
        break;
      case dhcp_opt::Router: m.routers = ip_list(v); break;
      case dhcp_opt::DnsServer: m.dns_servers = ip_list(v); break;
      case dhcp_opt::DomainName: m.domain_name = cstr_field(v.data(), v.size()); break;
      case dhcp_opt::HostName: m.host_name = cstr_field(v.data(), v.size()); break;
      case dhcp_opt::Message: m.message = cstr_field(v.data(), v.size()); break;
      case dhcp_opt::InterfaceMtu:
        if (v.size() == 2 && be16(v.data()) >= 68) m.interface_mtu = be16(v.data());
        break;
      case dhcp_opt::MaxMessageSize:
        if (v.size() == 2 && be16(v.data()) >= 576) m.max_message_size = be16(v.data());
        break;
      case dhcp_opt::LeaseTime:
        if (v.size() == 4) m.lease_time = be32(v.data());
        break;
      case dhcp_opt::RenewalTime:
        if (v.size() == 4) m.renewal_time = be32(v.data());
        break;
      case dhcp_opt::RebindingTime:
        if (v.size() == 4) m.rebinding_time = be32(v.data());
        break;
      case dhcp_opt::ParamRequestList: m.param_request_list = v; break;
      case dhcp_opt::ClientId: m.client_id = v; break;
      default: m.other[code] = v; break;
    }
  }
  return m;
}

namespace {
void put32(std::vector<uint8_t>& o, uint32_t v) {
  o.push_back(uint8_t(v >> 24));
  o.push_back(uint8_t(v >> 16));
  o.push_back(uint8_t(v >> 8));
  o.push_back(uint8_t(v));
}
void put_ip(std::vector<uint8_t>& o, Ipv4Addr a) { o.insert(o.end(), a.b.begin(), a.b.end()); }
void put_opt(std::vector<uint8_t>& o, uint8_t code, std::span<const uint8_t> v) {
  size_t i = 0;
  do {  // split long values into <=255-byte instances (RFC 3396); empty -> one empty option
    size_t n = std::min<size_t>(255, v.size() - i);
    o.push_back(code);
    o.push_back(uint8_t(n));
    o.insert(o.end(), v.begin() + i, v.begin() + i + n);
    i += n;
  } while (i < v.size());
}
void put_opt_ip(std::vector<uint8_t>& o, uint8_t code, const std::optional<Ipv4Addr>& a) {
  if (a) put_opt(o, code, a->b);
}
void put_opt_ips(std::vector<uint8_t>& o, uint8_t code, const std::vector<Ipv4Addr>& l) {
  if (l.empty()) return;
  std::vector<uint8_t> v;
  for (auto& a : l) put_ip(v, a);
  put_opt(o, code, v);
}
void put_opt_u32(std::vector<uint8_t>& o, uint8_t code, const std::optional<uint32_t>& x) {
  if (!x) return;
  std::vector<uint8_t> v;
  put32(v, *x);
  put_opt(o, code, v);
}
void put_opt_u16(std::vector<uint8_t>& o, uint8_t code, const std::optional<uint16_t>& x) {
  if (!x) return;
  uint8_t v[2] = {uint8_t(*x >> 8), uint8_t(*x)};
  put_opt(o, code, v);
}
void put_opt_str(std::vector<uint8_t>& o, uint8_t code, const std::string& s) {
  if (s.empty()) return;
  put_opt(o, code, std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}
void put_field(std::vector<uint8_t>& o, const std::string& s, size_t n) {
  size_t len = std::min(s.size(), n - 1);
  o.insert(o.end(), s.begin(), s.begin() + len);
  o.insert(o.end(), n - len, 0);
}
}  // namespace

std::vector<uint8_t> emit_dhcp(const DhcpMessage& m) {
  std::vector<uint8_t> o;
  o.reserve(kDhcpMinEmitLen + 64);
  o.push_back(static_cast<uint8_t>(m.op));
  o.push_back(m.htype);
  o.push_back(m.hlen);
  o.push_back(m.hops);
  put32(o, m.xid);
  o.push_back(uint8_t(m.secs >> 8));
  o.push_back(uint8_t(m.secs));
  o.push_back(uint8_t(m.flags >> 8));
  o.push_back(uint8_t(m.flags));
  put_ip(o, m.ciaddr);
  put_ip(o, m.yiaddr);
  put_ip(o, m.siaddr);
  put_ip(o, m.giaddr);
  o.insert(o.end(), m.chaddr.begin(), m.chaddr.end());
  put_field(o, m.sname, 64);
  put_field(o, m.file, 128);
  put32(o, kDhcpMagicCookie);

  if (m.type) {
    uint8_t t = static_cast<uint8_t>(*m.type);
    put_opt(o, dhcp_opt::MessageType, std::span(&t, 1));
  }
  if (!m.client_id.empty()) put_opt(o, dhcp_opt::ClientId, m.client_id);
  put_opt_ip(o, dhcp_opt::RequestedIp, m.requested_ip);
  put_opt_ip(o, dhcp_opt::ServerId, m.server_id);
  put_opt_u32(o, dhcp_opt::LeaseTime, m.lease_time);
  put_opt_u32(o, dhcp_opt::RenewalTime, m.renewal_time);
  put_opt_u32(o, dhcp_opt::RebindingTime, m.rebinding_time);
  put_opt_ip(o, dhcp_opt::SubnetMask, m.subnet_mask);
  put_opt_ips(o, dhcp_opt::Router, m.routers);
  put_opt_ips(o, dhcp_opt::DnsServer, m.dns_servers);
  put_opt_str(o, dhcp_opt::DomainName, m.domain_name);
  put_opt_ip(o, dhcp_opt::BroadcastAddr, m.broadcast_addr);
  put_opt_u16(o, dhcp_opt::InterfaceMtu, m.interface_mtu);
  put_opt_str(o, dhcp_opt::HostName, m.host_name);
  put_opt_u16(o, dhcp_opt::MaxMessageSize, m.max_message_size);
  if (!m.param_request_list.empty())
    put_opt(o, dhcp_opt::ParamRequestList, m.param_request_list);
  put_opt_str(o, dhcp_opt::Message, m.message);
  for (auto& [code, v] : m.other)
    if (code != dhcp_opt::Pad && code != dhcp_opt::End && code != dhcp_opt::Overload)
      put_opt(o, code, v);
  o.push_back(dhcp_opt::End);
  if (o.size() < kDhcpMinEmitLen) o.resize(kDhcpMinEmitLen, 0);
  return o;
}

}  // namespace libstack::wire
