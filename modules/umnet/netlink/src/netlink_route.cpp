// Theory of operation: NETLINK_ROUTE emulation for a umnet network view.
//
// A program in a view talks rtnetlink to what it believes is the kernel. The umnet socket
// layer hands every datagram the program sends to NetlinkRoute::handle() and queues the
// returned datagrams for its recvmsg(). Nothing here keeps state between requests: every
// answer is computed from the libstack::Stack at the time of the request (interfaces(),
// addresses(), routes(), neighbours()), and every change goes through the Stack's own API,
// so the view's network and what `ip` shows can never diverge.
//
// Processing follows the kernel's netlink_rcv_skb(): the datagram is a sequence of
// 4-byte-aligned messages; a header with nlmsg_len below 16 or past the end stops
// processing silently (iproute2 really sends zero padding after its dump requests).
// Messages without NLM_F_REQUEST and control types (< NLMSG_MIN_TYPE) are only acked.
// GET requests with NLM_F_DUMP produce NLM_F_MULTI messages packed into datagrams of at
// most max_datagram bytes, then NLMSG_DONE. Every other request produces an NLMSG_ERROR:
// always when it failed (the request copied back, like the kernel without
// NETLINK_CAP_ACK), and with error 0 only when NLM_F_ACK asked for it.
//
// Bounds: every read is checked against the message length; attributes are parsed by
// one function (parse_attrs) that rejects rta_len < 4 or past the end. Requests that
// change state or look one object up are strict (any malformation is -EINVAL); dump
// requests tolerate a short family header (glibc sends only struct rtgenmsg) and ignore
// bad filter attributes, as the non-strict kernel does.
//
// What the Stack cannot represent is refused with -EOPNOTSUPP, never silently ignored:
// rename, MAC change, route tables other than main, route types other than unicast,
// route metrics/prefsrc, neighbour changes (see docs/netlink.md). Multipath routes (a
// router's, origin Mesh, "proto ntk") are dumped and added with RTA_MULTIPATH
// (route_multipath.cpp).
#include "umnet/netlink_route.h"

#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "link_state.h"
#include "route_multipath.h"

namespace umnet {

using namespace libstack;
using namespace umnet::detail;

namespace {

constexpr size_t kHdr = 16;  // sizeof(struct nlmsghdr)
constexpr int kDumped = 1;   // dispatch result: a dump was produced, no ack (kernel: -EINTR)
constexpr size_t align4(size_t n) { return (n + 3) & ~size_t(3); }

uint16_t rd16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
uint32_t rd32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }

struct Hdr {
  uint32_t len;
  uint16_t type, flags;
  uint32_t seq, pid;
};
Hdr read_hdr(const uint8_t* p) {
  return {rd32(p), rd16(p + 4), rd16(p + 6), rd32(p + 8), rd32(p + 12)};
}

// One parsed attribute (points into the request; valid during the call only).
struct Attr {
  const uint8_t* data = nullptr;
  size_t len = 0;
  bool present = false;
};
template <size_t N>
using AttrTable = std::array<Attr, N>;

// Parse the attributes in [p, p+n). Unknown types >= N are skipped; a later duplicate
// wins (as in nla_parse). Returns false on a length that is < 4 or runs past the end.
template <size_t N>
bool parse_attrs(const uint8_t* p, size_t n, AttrTable<N>& t) {
  size_t off = 0;
  while (n - off >= 4) {
    uint16_t len = rd16(p + off), type = rd16(p + off + 2) & NLA_TYPE_MASK;
    if (len < 4 || len > n - off) return false;
    if (type < N) t[type] = {p + off + 4, size_t(len) - 4, true};
    off += align4(len);
    if (off > n) off = n;
  }
  return true;  // fewer than 4 trailing bytes: ignored, like the kernel
}

// A request of fixed part T (ifinfomsg, ifaddrmsg, rtmsg...) followed by attributes, in a
// message of `len` bytes whose netlink header was already checked. False if malformed.
template <typename T, size_t N>
bool parse_request(const uint8_t* msg, size_t len, T& fixed, AttrTable<N>& tb) {
  if (len - kHdr < sizeof(T)) return false;
  std::memcpy(&fixed, msg + kHdr, sizeof fixed);
  size_t a = kHdr + align4(sizeof(T));
  return a <= len && parse_attrs(msg + a, len - a, tb);
}

std::optional<uint32_t> attr_u32(const Attr& a) {
  if (!a.present || a.len != 4) return std::nullopt;
  return rd32(a.data);
}

// An interface name attribute: up to the first NUL, at most IFNAMSIZ-1 characters.
std::optional<std::string> attr_name(const Attr& a) {
  if (!a.present) return std::nullopt;
  size_t n = 0;
  while (n < a.len && a.data[n] != 0) ++n;
  if (n == 0 || n >= IFNAMSIZ) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(a.data), n);
}

std::optional<IpAddr> attr_ip(const Attr& a, int family) {
  if (family == AF_INET && a.len == 4) {
    Ipv4Addr v;
    std::memcpy(v.b.data(), a.data, 4);
    return IpAddr(v);
  }
  if (family == AF_INET6 && a.len == 16) {
    Ipv6Addr v;
    std::memcpy(v.b.data(), a.data, 16);
    return IpAddr(v);
  }
  return std::nullopt;
}

int family_of(const IpAddr& a) { return a.is_v4() ? AF_INET : AF_INET6; }
size_t addr_len(const IpAddr& a) { return a.is_v4() ? 4 : 16; }
uint8_t max_prefix(int family) { return family == AF_INET ? 32 : 128; }
IpAddr unspecified(int family) { return family == AF_INET ? IpAddr(Ipv4Addr{}) : IpAddr(Ipv6Addr{}); }

// The network address of a prefix (host bits cleared).
IpAddr network(const IpAddr& a, uint8_t len) {
  IpAddr r = a;
  size_t bytes = addr_len(a);
  for (size_t i = 0; i < bytes; ++i) {
    int keep = int(len) - int(i * 8);
    if (keep >= 8) continue;
    r.b[i] = keep <= 0 ? 0 : uint8_t(r.b[i] & (0xff << (8 - keep)));
  }
  return r;
}

// Builds one netlink message: header, fixed family header, attributes (4-aligned).
class Msg {
 public:
  Msg(uint16_t type, uint16_t flags, uint32_t seq, uint32_t pid) : b_(kHdr, 0) {
    std::memcpy(&b_[4], &type, 2);
    std::memcpy(&b_[6], &flags, 2);
    std::memcpy(&b_[8], &seq, 4);
    std::memcpy(&b_[12], &pid, 4);
  }
  template <typename T>
  void fixed(const T& t) { raw(&t, sizeof t); }
  void raw(const void* p, size_t n) {
    auto* c = static_cast<const uint8_t*>(p);
    b_.insert(b_.end(), c, c + n);
    b_.resize(align4(b_.size()), 0);
  }
  void attr(uint16_t type, const void* p, size_t n) {
    uint16_t len = uint16_t(4 + n);
    uint8_t h[4];
    std::memcpy(h, &len, 2);
    std::memcpy(h + 2, &type, 2);
    b_.insert(b_.end(), h, h + 4);
    raw(p, n);
  }
  void u32(uint16_t type, uint32_t v) { attr(type, &v, 4); }
  void u8(uint16_t type, uint8_t v) { attr(type, &v, 1); }
  void str(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  void ip(uint16_t type, const IpAddr& a) { attr(type, a.b.data(), addr_len(a)); }
  std::vector<uint8_t> done() {
    uint32_t len = uint32_t(b_.size());
    std::memcpy(&b_[0], &len, 4);
    return std::move(b_);
  }

 private:
  std::vector<uint8_t> b_;
};

}  // namespace

// Collects reply datagrams: dump messages are packed, single replies go alone.
class NetlinkRoute::Out {
 public:
  Out(size_t max, uint32_t pid) : max_(max), pid_(pid) {}
  uint32_t pid() const { return pid_; }
  void multi(std::vector<uint8_t> m) {
    if (!cur_.empty() && cur_.size() + m.size() > max_) flush();
    cur_.insert(cur_.end(), m.begin(), m.end());
  }
  void done(uint32_t seq) {
    Msg m(NLMSG_DONE, NLM_F_MULTI, seq, pid_);
    int32_t zero = 0;
    m.fixed(zero);
    multi(m.done());
    flush();
  }
  void single(std::vector<uint8_t> m) {
    flush();
    d_.push_back(std::move(m));
  }
  void flush() {
    if (!cur_.empty()) d_.push_back(std::move(cur_));
    cur_.clear();
  }
  std::vector<std::vector<uint8_t>> take() {
    flush();
    return std::move(d_);
  }

 private:
  size_t max_;
  uint32_t pid_;
  std::vector<uint8_t> cur_;
  std::vector<std::vector<uint8_t>> d_;
};

namespace {

std::vector<uint8_t> link_msg(const InterfaceInfo& i, uint16_t flags, uint32_t seq, uint32_t pid) {
  Msg m(RTM_NEWLINK, flags, seq, pid);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_type = arphrd_type(i);
  ifi.ifi_index = int(i.id);
  ifi.ifi_flags = if_flags(i);
  ifi.ifi_change = 0;
  m.fixed(ifi);
  m.str(IFLA_IFNAME, i.name);
  m.u32(IFLA_TXQLEN, kTxQueueLen);
  m.u8(IFLA_OPERSTATE, oper_state(i));
  m.u8(IFLA_LINKMODE, 0);
  m.u32(IFLA_MTU, uint32_t(i.mtu));
  m.u32(IFLA_GROUP, 0);
  m.u32(IFLA_PROMISCUITY, 0);
  m.u32(IFLA_NUM_TX_QUEUES, 1);
  m.u32(IFLA_NUM_RX_QUEUES, 1);
  m.u8(IFLA_CARRIER, iface_up(i) ? 1 : 0);  // matches IFF_LOWER_UP
  m.str(IFLA_QDISC, "noqueue");
  if (i.loopback) {
    uint8_t zero[6] = {};
    m.attr(IFLA_ADDRESS, zero, 6);
    m.attr(IFLA_BROADCAST, zero, 6);
  } else if (i.kind == LinkKind::Ethernet) {
    m.attr(IFLA_ADDRESS, i.mac.b.data(), 6);
    auto bc = MacAddr::broadcast();
    m.attr(IFLA_BROADCAST, bc.b.data(), 6);
  }
  return m.done();
}

std::vector<uint8_t> addr_msg(const AddressInfo& a, const InterfaceInfo* i, uint16_t flags,
                              uint32_t seq, uint32_t pid) {
  Msg m(RTM_NEWADDR, flags, seq, pid);
  uint32_t f = IFA_F_PERMANENT;
  if (a.cidr.addr.is_v6()) {
    if (a.tentative) f |= IFA_F_TENTATIVE;
    if (a.dad_failed) f |= IFA_F_DADFAILED | IFA_F_TENTATIVE;
    if (a.deprecated) f |= IFA_F_DEPRECATED;
    if (a.temporary) f |= IFA_F_TEMPORARY;
  }
  ifaddrmsg ifa{};
  ifa.ifa_family = uint8_t(family_of(a.cidr.addr));
  ifa.ifa_prefixlen = a.cidr.prefix_len;
  ifa.ifa_flags = uint8_t(f);
  ifa.ifa_scope = addr_scope(a.cidr.addr);
  ifa.ifa_index = a.ifindex;
  m.fixed(ifa);
  m.ip(IFA_ADDRESS, a.cidr.addr);
  if (a.cidr.addr.is_v4()) {
    m.ip(IFA_LOCAL, a.cidr.addr);
    // Only broadcast-capable links have one (the kernel shows none on lo).
    if (i && (if_flags(*i) & IFF_BROADCAST))
      if (auto bc = v4_broadcast(a.cidr)) m.ip(IFA_BROADCAST, IpAddr(*bc));
    if (i) m.str(IFA_LABEL, i->name);
  }
  m.u32(IFA_FLAGS, f);
  ifa_cacheinfo ci{};
  ci.ifa_prefered = 0xffffffffu;  // INFINITY_LIFE_TIME: libstack addresses do not expire
  ci.ifa_valid = 0xffffffffu;
  m.attr(IFA_CACHEINFO, &ci, sizeof ci);
  return m.done();
}

uint8_t route_protocol(RouteInfo::Origin o) {
  switch (o) {
    case RouteInfo::Origin::Connected: return RTPROT_KERNEL;
    case RouteInfo::Origin::RouterAdvert: return RTPROT_RA;
    case RouteInfo::Origin::Mesh: return RTPROT_NTK;  // "proto ntk" (docs/netlink.md)
    case RouteInfo::Origin::Static: break;
  }
  return RTPROT_BOOT;
}

// The address on ifindex whose prefix is `dest` (the kernel's prefsrc of a connected route).
std::optional<IpAddr> connected_src(const std::vector<AddressInfo>& addrs, const RouteInfo& r) {
  for (auto& a : addrs)
    if (a.ifindex == r.ifindex && a.cidr.prefix_len == r.dest.prefix_len &&
        a.cidr.addr.family == r.dest.addr.family &&
        network(a.cidr.addr, a.cidr.prefix_len) == r.dest.addr)
      return a.cidr.addr;
  return std::nullopt;
}

std::vector<uint8_t> route_msg(const RouteInfo& r, const std::vector<AddressInfo>& addrs,
                               const std::vector<InterfaceInfo>& ifs, uint16_t flags,
                               uint32_t seq, uint32_t pid) {
  Msg m(RTM_NEWROUTE, flags, seq, pid);
  bool v4 = r.dest.addr.is_v4();
  rtmsg rt{};
  rt.rtm_family = uint8_t(family_of(r.dest.addr));
  rt.rtm_dst_len = r.dest.prefix_len;
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = route_protocol(r.origin);
  // Scope link for on-link IPv4 routes; a multipath route is on-link when no hop has a gateway.
  bool onlink = r.gateway.is_unspecified();
  for (auto& x : r.nexthops) onlink = onlink && x.gateway.is_unspecified();
  rt.rtm_scope = (v4 && onlink) ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  rt.rtm_type = RTN_UNICAST;
  m.fixed(rt);
  m.u32(RTA_TABLE, RT_TABLE_MAIN);
  if (r.dest.prefix_len > 0) m.ip(RTA_DST, r.dest.addr);
  if (!v4 || r.metric != 0) m.u32(RTA_PRIORITY, r.metric);
  if (v4 && r.origin == RouteInfo::Origin::Connected)
    if (auto src = connected_src(addrs, r)) m.ip(RTA_PREFSRC, *src);
  if (!v4) m.u8(RTA_PREF, 0);  // ICMPV6_ROUTER_PREF_MEDIUM, as the kernel says for every route
  if (!r.nexthops.empty()) {  // a multipath route: its hops in RTA_MULTIPATH, no RTA_OIF
    auto mp = encode_multipath(r.nexthops, ifs);
    m.attr(RTA_MULTIPATH, mp.data(), mp.size());
    return m.done();
  }
  if (!r.gateway.is_unspecified()) m.ip(RTA_GATEWAY, r.gateway);
  m.u32(RTA_OIF, r.ifindex);
  return m.done();
}

uint16_t nud_state(NeighbourInfo::State s) {
  switch (s) {
    case NeighbourInfo::State::Incomplete: return NUD_INCOMPLETE;
    case NeighbourInfo::State::Reachable: return NUD_REACHABLE;
    case NeighbourInfo::State::Stale: return NUD_STALE;
    case NeighbourInfo::State::Delay: return NUD_DELAY;
    case NeighbourInfo::State::Probe: return NUD_PROBE;
    case NeighbourInfo::State::Failed: return NUD_FAILED;
  }
  return NUD_NONE;
}

bool family_matches(int want, const IpAddr& a) {
  return want == AF_UNSPEC || want == family_of(a);
}

}  // namespace

std::vector<std::vector<uint8_t>> NetlinkRoute::handle(std::span<const uint8_t> req, uint32_t port_id) {
  Out out(max_dgram_, port_id);
  const uint8_t* p = req.data();
  size_t n = req.size(), off = 0;
  while (n - off >= kHdr) {
    Hdr h = read_hdr(p + off);
    if (h.len < kHdr || h.len > n - off) break;
    ++ctr_.messages;
    int err = 0;
    if ((h.flags & NLM_F_REQUEST) && h.type >= NLMSG_MIN_TYPE) err = dispatch(p + off, h.len, out);
    if (err != kDumped && (err != 0 || (h.flags & NLM_F_ACK))) {
      Msg m(NLMSG_ERROR, err ? 0 : NLM_F_CAPPED, h.seq, port_id);
      int32_t e = err;
      m.fixed(e);
      if (err) {
        m.raw(p + off, h.len);  // the whole request, as the kernel does
        ++ctr_.error_acks;
        if (err == -EOPNOTSUPP) ++ctr_.unsupported;
      } else {
        m.raw(p + off, kHdr);
      }
      out.single(m.done());
    }
    off += align4(h.len);
    if (off > n) off = n;
  }
  // Whatever is left was not processed: count it unless it is only zero padding.
  if (off < n && std::any_of(p + off, p + n, [](uint8_t b) { return b != 0; })) {
    ctr_.dropped_bytes += n - off;
    ++ctr_.dropped_datagrams;
  }
  return out.take();
}

int NetlinkRoute::dispatch(const uint8_t* msg, size_t len, Out& out) {
  switch (read_hdr(msg).type) {
    case RTM_GETLINK: return get_link(msg, len, out);
    case RTM_NEWLINK:
    case RTM_SETLINK: return new_link(msg, len);
    case RTM_GETADDR: return get_addr(msg, len, out);
    case RTM_NEWADDR: return change_addr(msg, len, true);
    case RTM_DELADDR: return change_addr(msg, len, false);
    case RTM_GETROUTE: return get_route(msg, len, out);
    case RTM_NEWROUTE: return change_route(msg, len, true);
    case RTM_DELROUTE: return change_route(msg, len, false);
    case RTM_GETNEIGH: return get_neigh(msg, len, out);
    case RTM_GETRULE: return get_rule(msg, len, out);
    default: return -EOPNOTSUPP;  // DELLINK, NEIGH changes, rules, qdiscs, netconf...
  }
}

// ---------------- links ----------------

int NetlinkRoute::get_link(const uint8_t* msg, size_t len, Out& out) {
  Hdr h = read_hdr(msg);
  size_t pl = len - kHdr;
  auto ifs = st_.interfaces();
  if (h.flags & NLM_F_DUMP) {
    if (pl < 1) return ++ctr_.malformed, -EINVAL;  // not even struct rtgenmsg
    ++ctr_.dumps;
    for (auto& i : ifs) out.multi(link_msg(i, NLM_F_MULTI, h.seq, out.pid()));
    out.done(h.seq);
    return kDumped;
  }
  ifinfomsg ifi;
  AttrTable<IFLA_MAX + 1> tb;
  if (!parse_request(msg, len, ifi, tb)) return ++ctr_.malformed, -EINVAL;
  const InterfaceInfo* i = nullptr;
  if (ifi.ifi_index > 0) {
    i = find_if(ifs, uint32_t(ifi.ifi_index));
  } else if (tb[IFLA_IFNAME].present || tb[IFLA_ALT_IFNAME].present) {
    auto name = attr_name(tb[IFLA_IFNAME].present ? tb[IFLA_IFNAME] : tb[IFLA_ALT_IFNAME]);
    if (!name) return ++ctr_.malformed, -EINVAL;
    i = find_if(ifs, *name);
  } else {
    return -EINVAL;
  }
  if (!i) return -ENODEV;
  out.single(link_msg(*i, 0, h.seq, out.pid()));
  return 0;  // acked too if NLM_F_ACK, like a kernel doit handler
}

int NetlinkRoute::new_link(const uint8_t* msg, size_t len) {
  Hdr h = read_hdr(msg);
  ifinfomsg ifi;
  AttrTable<IFLA_MAX + 1> tb;
  if (!parse_request(msg, len, ifi, tb)) return ++ctr_.malformed, -EINVAL;
  auto ifs = st_.interfaces();
  std::optional<std::string> name;
  if (tb[IFLA_IFNAME].present && !(name = attr_name(tb[IFLA_IFNAME]))) return ++ctr_.malformed, -EINVAL;
  const InterfaceInfo* i = nullptr;
  if (ifi.ifi_index > 0) i = find_if(ifs, uint32_t(ifi.ifi_index));
  else if (name) i = find_if(ifs, *name);
  if (!i) return (h.flags & NLM_F_CREATE) ? -EOPNOTSUPP : -ENODEV;  // cannot create links
  if (ifi.ifi_index > 0 && name && *name != i->name) return -EOPNOTSUPP;  // rename
  // Flags: IFF_UP maps to the Stack's administrative state; the others are fixed by the
  // link kind and can only be "set" to what they are.
  uint32_t cur = if_flags(*i);
  uint32_t want = ifi.ifi_change ? ((ifi.ifi_flags & ifi.ifi_change) | (cur & ~ifi.ifi_change))
                                 : (ifi.ifi_flags ? ifi.ifi_flags : cur);
  constexpr uint32_t kFixed = IFF_NOARP | IFF_PROMISC | IFF_ALLMULTI | IFF_MULTICAST | IFF_DEBUG;
  if ((want ^ cur) & kFixed) return -EOPNOTSUPP;
  bool change_up = ((want ^ cur) & IFF_UP) != 0;
  if (change_up && i->loopback) return -EOPNOTSUPP;  // libstack's lo cannot go down
  // Attributes: accept what matches the current state or what the Stack can change (MTU).
  for (size_t t = 0; t < tb.size(); ++t) {
    if (!tb[t].present) continue;
    switch (t) {
      case IFLA_IFNAME: case IFLA_MTU: case IFLA_EXT_MASK: break;
      case IFLA_ADDRESS:
        if (i->kind != LinkKind::Ethernet || i->loopback || tb[t].len != 6 ||
            std::memcmp(tb[t].data, i->mac.b.data(), 6) != 0)
          return -EOPNOTSUPP;
        break;
      case IFLA_TXQLEN:
        if (attr_u32(tb[t]) != kTxQueueLen) return -EOPNOTSUPP;
        break;
      default: return -EOPNOTSUPP;
    }
  }
  std::optional<uint32_t> mtu;
  if (tb[IFLA_MTU].present && !(mtu = attr_u32(tb[IFLA_MTU]))) return ++ctr_.malformed, -EINVAL;
  if (mtu && *mtu != i->mtu)
    if (int r = st_.set_mtu(i->id, *mtu); r < 0) return r;
  if (change_up) return set_link_up(st_, i->id, (want & IFF_UP) != 0);
  return 0;
}

// ---------------- addresses ----------------

int NetlinkRoute::get_addr(const uint8_t* msg, size_t len, Out& out) {
  Hdr h = read_hdr(msg);
  size_t pl = len - kHdr;
  if (!(h.flags & NLM_F_DUMP)) return -EOPNOTSUPP;  // single-address GET: not emulated
  if (pl < 1) return ++ctr_.malformed, -EINVAL;
  int family = msg[kHdr];
  uint32_t index = 0;
  if (pl >= sizeof(ifaddrmsg)) {
    ifaddrmsg ifa;
    std::memcpy(&ifa, msg + kHdr, sizeof ifa);
    index = ifa.ifa_index;  // honoured like the kernel's strict-mode filter
  }
  ++ctr_.dumps;
  auto ifs = st_.interfaces();
  auto addrs = st_.addresses();
  // Kernel order: the IPv4 dump, then the IPv6 dump; each in interface order.
  for (int fam : {AF_INET, AF_INET6}) {
    if (family != AF_UNSPEC && family != fam) continue;
    for (auto& i : ifs) {
      if (index && i.id != index) continue;
      for (auto& a : addrs)
        if (a.ifindex == i.id && family_of(a.cidr.addr) == fam)
          out.multi(addr_msg(a, &i, NLM_F_MULTI, h.seq, out.pid()));
    }
  }
  out.done(h.seq);
  return kDumped;
}

int NetlinkRoute::change_addr(const uint8_t* msg, size_t len, bool add) {
  Hdr h = read_hdr(msg);
  ifaddrmsg ifa;
  AttrTable<IFA_MAX + 1> tb;
  if (!parse_request(msg, len, ifa, tb)) return ++ctr_.malformed, -EINVAL;
  int fam = ifa.ifa_family;
  if (fam != AF_INET && fam != AF_INET6) return -EOPNOTSUPP;
  if (ifa.ifa_prefixlen > max_prefix(fam)) return ++ctr_.malformed, -EINVAL;
  const Attr& la = tb[IFA_LOCAL].present ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
  if (!la.present) return -EINVAL;
  auto local = attr_ip(la, fam);
  if (!local) return ++ctr_.malformed, -EINVAL;
  if (tb[IFA_ADDRESS].present && !attr_ip(tb[IFA_ADDRESS], fam)) return ++ctr_.malformed, -EINVAL;
  auto ifs = st_.interfaces();
  if (!find_if(ifs, ifa.ifa_index)) return -ENODEV;
  Cidr c{*local, ifa.ifa_prefixlen};
  if (add) {
    int r = st_.add_address(ifa.ifa_index, c);
    if (r == -EEXIST && (h.flags & NLM_F_REPLACE) && !(h.flags & NLM_F_EXCL)) {
      // `ip addr replace`: same address, maybe a new prefix length.
      for (auto& x : st_.addresses())
        if (x.ifindex == ifa.ifa_index && x.cidr.addr == c.addr) {
          if (x.cidr.prefix_len == c.prefix_len) return 0;
          st_.remove_address(ifa.ifa_index, x.cidr);
          return st_.add_address(ifa.ifa_index, c);
        }
    }
    return r;
  }
  // Delete: the prefix length must match when the request carries one (IFA_ADDRESS),
  // unless it is the full host length `ip addr del ADDR` sends without "/len".
  bool check_prefix = tb[IFA_ADDRESS].present && ifa.ifa_prefixlen != max_prefix(fam);
  for (auto& x : st_.addresses())
    if (x.ifindex == ifa.ifa_index && x.cidr.addr == c.addr &&
        (!check_prefix || x.cidr.prefix_len == c.prefix_len))
      return st_.remove_address(ifa.ifa_index, x.cidr);
  return -EADDRNOTAVAIL;
}

// ---------------- routes ----------------

int NetlinkRoute::get_route(const uint8_t* msg, size_t len, Out& out) {
  Hdr h = read_hdr(msg);
  size_t pl = len - kHdr;
  if (!(h.flags & NLM_F_DUMP)) return route_lookup(msg, len, out);
  if (pl < 1) return ++ctr_.malformed, -EINVAL;
  int family = msg[kHdr];
  uint32_t table = 0;
  if (pl >= sizeof(rtmsg)) {
    rtmsg rt;
    std::memcpy(&rt, msg + kHdr, sizeof rt);
    table = rt.rtm_table;
    AttrTable<RTA_MAX + 1> tb;
    size_t a = kHdr + align4(sizeof rt);
    if (a <= len && parse_attrs(msg + a, len - a, tb))  // bad filters are ignored
      if (auto t = attr_u32(tb[RTA_TABLE])) table = *t;
  }
  ++ctr_.dumps;
  // libstack has one table: main. Other tables (local, default, numbered) dump empty.
  if (table == RT_TABLE_UNSPEC || table == RT_TABLE_MAIN) {
    auto routes = st_.routes();
    auto addrs = st_.addresses();
    auto ifs = st_.interfaces();
    for (int fam : {AF_INET, AF_INET6}) {
      if (family != AF_UNSPEC && family != fam) continue;
      for (auto& r : routes)
        if (family_of(r.dest.addr) == fam)
          out.multi(route_msg(r, addrs, ifs, NLM_F_MULTI, h.seq, out.pid()));
    }
  }
  out.done(h.seq);
  return kDumped;
}

// `ip route get ADDR`: the Stack's own lookup (Stack::lookup_route: longest prefix, lowest
// metric, routes through down links skipped; a multipath route's hop of highest weight),
// the source from Stack::source_for().
int NetlinkRoute::route_lookup(const uint8_t* msg, size_t len, Out& out) {
  Hdr h = read_hdr(msg);
  rtmsg rt;
  AttrTable<RTA_MAX + 1> tb;
  if (!parse_request(msg, len, rt, tb)) return ++ctr_.malformed, -EINVAL;
  int fam = rt.rtm_family;
  if (fam != AF_INET && fam != AF_INET6) return -EOPNOTSUPP;
  IpAddr dst = unspecified(fam);
  if (tb[RTA_DST].present) {
    auto d = attr_ip(tb[RTA_DST], fam);
    if (!d) return ++ctr_.malformed, -EINVAL;
    dst = *d;
  }
  uint32_t oif = 0;
  if (tb[RTA_OIF].present) {
    auto o = attr_u32(tb[RTA_OIF]);
    if (!o) return ++ctr_.malformed, -EINVAL;
    oif = *o;
    if (oif && !find_if(st_.interfaces(), oif)) return -ENODEV;
  }
  auto addrs = st_.addresses();
  Msg m(RTM_NEWROUTE, 0, h.seq, out.pid());
  rtmsg r{};
  r.rtm_family = uint8_t(fam);
  r.rtm_dst_len = max_prefix(fam);
  if (st_.is_local_address(dst)) {
    r.rtm_table = RT_TABLE_LOCAL;
    r.rtm_scope = RT_SCOPE_HOST;
    r.rtm_type = RTN_LOCAL;
    r.rtm_flags = RTM_F_CLONED;
    m.fixed(r);
    m.u32(RTA_TABLE, RT_TABLE_LOCAL);
    m.ip(RTA_DST, dst);
    m.u32(RTA_OIF, Stack::kLoopbackIfindex);
    m.ip(RTA_PREFSRC, dst);
    out.single(m.done());
    return 0;
  }
  auto best = st_.lookup_route(dst, oif);
  if (!best) return -ENETUNREACH;
  if (rt.rtm_flags & RTM_F_FIB_MATCH) {  // `ip route get fibmatch ADDR`: the route itself
    out.single(route_msg(best->route, addrs, st_.interfaces(), 0, h.seq, out.pid()));
    return 0;
  }
  r.rtm_table = RT_TABLE_MAIN;
  r.rtm_scope = RT_SCOPE_UNIVERSE;
  r.rtm_type = RTN_UNICAST;
  r.rtm_flags = RTM_F_CLONED;
  m.fixed(r);
  m.u32(RTA_TABLE, RT_TABLE_MAIN);
  m.ip(RTA_DST, dst);
  m.u32(RTA_OIF, best->ifindex);
  IpAddr src = st_.source_for(dst);
  if (!src.is_unspecified()) m.ip(RTA_PREFSRC, src);
  if (!best->gateway.is_unspecified()) m.ip(RTA_GATEWAY, best->gateway);
  out.single(m.done());
  return 0;
}

int NetlinkRoute::change_route(const uint8_t* msg, size_t len, bool add) {
  Hdr h = read_hdr(msg);
  rtmsg rt;
  AttrTable<RTA_MAX + 1> tb;
  if (!parse_request(msg, len, rt, tb)) return ++ctr_.malformed, -EINVAL;
  int fam = rt.rtm_family;
  if (fam != AF_INET && fam != AF_INET6) return -EOPNOTSUPP;
  if (rt.rtm_dst_len > max_prefix(fam)) return ++ctr_.malformed, -EINVAL;
  uint32_t table = rt.rtm_table;
  if (tb[RTA_TABLE].present) {
    auto t = attr_u32(tb[RTA_TABLE]);
    if (!t) return ++ctr_.malformed, -EINVAL;
    table = *t;
  }
  if (table != RT_TABLE_UNSPEC && table != RT_TABLE_MAIN) return -EOPNOTSUPP;
  if (add && rt.rtm_type != RTN_UNICAST) return -EOPNOTSUPP;  // blackhole, prohibit, ...
  for (int t : {RTA_VIA, RTA_ENCAP, RTA_NH_ID, RTA_SRC})
    if (tb[size_t(t)].present) return -EOPNOTSUPP;
  // Route metrics and a preferred source cannot be stored; on delete (`ip route flush`
  // echoes every attribute of the dump) they are ignored.
  if (add && (tb[RTA_METRICS].present || tb[RTA_PREFSRC].present)) return -EOPNOTSUPP;
  IpAddr dst = unspecified(fam);
  if (tb[RTA_DST].present) {
    auto d = attr_ip(tb[RTA_DST], fam);
    if (!d) return ++ctr_.malformed, -EINVAL;
    dst = *d;
  }
  if (network(dst, rt.rtm_dst_len) != dst) return -EINVAL;  // host bits set (kernel: same)
  std::optional<IpAddr> gw;
  if (tb[RTA_GATEWAY].present) {
    gw = attr_ip(tb[RTA_GATEWAY], fam);
    if (!gw) return ++ctr_.malformed, -EINVAL;
  }
  std::optional<uint32_t> oif, prio;
  if (tb[RTA_OIF].present && !(oif = attr_u32(tb[RTA_OIF]))) return ++ctr_.malformed, -EINVAL;
  if (tb[RTA_PRIORITY].present && !(prio = attr_u32(tb[RTA_PRIORITY]))) return ++ctr_.malformed, -EINVAL;
  if (oif && *oif && !find_if(st_.interfaces(), *oif)) return -ENODEV;
  Cidr dest{dst, rt.rtm_dst_len};
  auto routes = st_.routes();
  const bool multipath = tb[RTA_MULTIPATH].present;
  if (add && multipath) {
    // `ip route add DEST nexthop via A dev X weight N nexthop ...`: a static multipath
    // route (origin Static: apart from a router's routes of the same prefix).
    if (gw || (oif && *oif)) return -EINVAL;
    std::vector<NextHop> hops;
    int rc = decode_multipath(tb[RTA_MULTIPATH].data, tb[RTA_MULTIPATH].len, fam, &hops);
    if (rc == -EINVAL) ++ctr_.malformed;
    if (rc < 0) return rc;
    for (auto& x : hops)
      if (x.ifindex && !find_if(st_.interfaces(), x.ifindex)) return -ENODEV;
    for (auto& x : routes)
      if (x.dest == dest && x.origin == RouteInfo::Origin::Static && !x.nexthops.empty() &&
          (!(h.flags & NLM_F_REPLACE) || (h.flags & NLM_F_EXCL)))
        return -EEXIST;
    uint32_t metric = prio ? *prio : (fam == AF_INET6 ? 1024 : 0);
    return st_.set_multipath_route(dest, hops, RouteInfo::Origin::Static, metric);
  }
  if (add) {
    uint32_t metric = prio ? *prio : (fam == AF_INET6 ? 1024 : 0);  // kernel defaults
    if (h.flags & NLM_F_REPLACE) {
      for (auto& x : routes)
        if (x.nexthops.empty() && x.dest == dest && x.metric == metric) {
          if (h.flags & NLM_F_EXCL) return -EEXIST;
          st_.remove_route(x.dest, x.gateway, x.ifindex);
          break;
        }
    }
    return st_.add_route(dest, gw ? *gw : unspecified(fam), oif ? *oif : 0, metric);
  }
  // Delete: a multipath route (any origin, as the kernel deletes whatever matches) when
  // the request is one (`ip route flush` echoes RTA_MULTIPATH) or names only the prefix,
  // or a gateway / interface of one of its hops; otherwise single-path routes as before.
  auto hop_matches = [&](const RouteInfo& x) {
    if (multipath || (!gw && (!oif || !*oif))) return true;
    for (auto& n : x.nexthops)
      if ((!gw || n.gateway == *gw) && (!oif || !*oif || n.ifindex == *oif)) return true;
    return false;
  };
  for (auto& x : routes) {
    if (x.dest != dest || (prio && x.metric != *prio)) continue;
    if (!x.nexthops.empty()) {
      if (hop_matches(x)) return st_.set_multipath_route(x.dest, {}, x.origin);
    } else if (!multipath && (!gw || x.gateway == *gw) && (!oif || !*oif || x.ifindex == *oif)) {
      return st_.remove_route(x.dest, x.gateway, x.ifindex);
    }
  }
  return -ESRCH;
}

// ---------------- policy rules ----------------

// libstack has one routing table, so the rule list is the kernel's default one (without
// the rule to table default, which would point at a table that does not exist here):
// IPv4 and IPv6 "0: from all lookup local", "32766: from all lookup main". Read-only.
int NetlinkRoute::get_rule(const uint8_t* msg, size_t len, Out& out) {
  Hdr h = read_hdr(msg);
  if (!(h.flags & NLM_F_DUMP)) return -EOPNOTSUPP;
  if (len - kHdr < 1) return ++ctr_.malformed, -EINVAL;
  int family = msg[kHdr];
  ++ctr_.dumps;
  for (int fam : {AF_INET, AF_INET6}) {
    if (family != AF_UNSPEC && family != fam) continue;
    for (auto [prio, table] : {std::pair<uint32_t, uint32_t>{0, RT_TABLE_LOCAL}, {32766, RT_TABLE_MAIN}}) {
      Msg m(RTM_NEWRULE, NLM_F_MULTI, h.seq, out.pid());
      fib_rule_hdr fr{};
      fr.family = uint8_t(fam);
      fr.table = uint8_t(table);
      fr.action = FR_ACT_TO_TBL;
      m.fixed(fr);
      m.u32(FRA_TABLE, table);
      if (prio) m.u32(FRA_PRIORITY, prio);
      out.multi(m.done());
    }
  }
  out.done(h.seq);
  return kDumped;
}

// ---------------- neighbours ----------------

int NetlinkRoute::get_neigh(const uint8_t* msg, size_t len, Out& out) {
  Hdr h = read_hdr(msg);
  size_t pl = len - kHdr;
  if (!(h.flags & NLM_F_DUMP)) return -EOPNOTSUPP;
  if (pl < 1) return ++ctr_.malformed, -EINVAL;
  int family = msg[kHdr];
  uint32_t index = 0;
  if (pl >= sizeof(ndmsg)) {
    ndmsg nd;
    std::memcpy(&nd, msg + kHdr, sizeof nd);
    index = uint32_t(nd.ndm_ifindex);
  }
  ++ctr_.dumps;
  auto ifs = st_.interfaces();
  for (auto& n : st_.neighbours()) {
    if (!family_matches(family, n.addr) || (index && n.ifindex != index)) continue;
    Msg m(RTM_NEWNEIGH, NLM_F_MULTI, h.seq, out.pid());
    ndmsg nd{};
    nd.ndm_family = uint8_t(family_of(n.addr));
    nd.ndm_ifindex = int(n.ifindex);
    nd.ndm_state = nud_state(n.state);
    nd.ndm_type = RTN_UNICAST;
    m.fixed(nd);
    m.ip(NDA_DST, n.addr);
    bool has_ll = n.state != NeighbourInfo::State::Incomplete && n.state != NeighbourInfo::State::Failed;
    const InterfaceInfo* i = find_if(ifs, n.ifindex);
    if (has_ll && i && i->kind == LinkKind::Ethernet) m.attr(NDA_LLADDR, n.mac.b.data(), 6);
    out.multi(m.done());
  }
  out.done(h.seq);
  return kDumped;
}

}  // namespace umnet
