// RouterHost: see router_host.h.
#include "router_host.h"

#include <cerrno>
#include <cstring>

namespace tn {

static_assert(TN_ROUTER_MAX_NEXTHOPS == libstack::kMaxNextHops,
              "router.h and libstack disagree on the next-hop limit");
static_assert(libstack::kMaxNextHopWeight == 256, "router.h: a next hop's weight is 1..256");

namespace {
libstack::IpAddr to_ip(const tn_router_addr &a) {
  libstack::IpAddr ip;
  if (a.family == 6) {
    ip.family = libstack::IpAddr::Family::V6;
    std::memcpy(ip.b.data(), a.b, 16);
  } else {
    ip.family = libstack::IpAddr::Family::V4;
    std::memcpy(ip.b.data(), a.b, 4);
  }
  return ip;
}
tn_router_addr from_ip(const libstack::IpAddr &ip) {
  tn_router_addr a{};
  a.family = ip.is_v6() ? 6 : 4;
  std::memcpy(a.b, ip.b.data(), ip.is_v6() ? 16 : 4);
  return a;
}
RouterHost *self(void *ctx) { return static_cast<RouterHost *>(ctx); }
}  // namespace

RouterHost::RouterHost(libstack::Stack &stack, Callbacks cb, uint16_t port)
    : stack_(stack), cb_(std::move(cb)), port_(port), buf_(65536) {
  host_.abi_version = TN_ROUTER_ABI_VERSION;
  host_.size = sizeof(host_);
  host_.ctx = this;
  host_.now_ns = c_now;
  host_.random_u64 = c_random;
  host_.wakeup = c_wakeup;
  host_.interfaces = c_interfaces;
  host_.send = c_send;
  host_.add_address = c_add_address;
  host_.del_address = c_del_address;
  host_.set_route = c_set_route;
  host_.log = c_log;
}

RouterHost::~RouterHost() = default;

bool RouterHost::open_sockets(std::string *err) {
  for (const auto &i : stack_.interfaces()) {
    if (i.loopback || socks_.count(i.id)) continue;
    auto s = stack_.udp_socket(libstack::IpAddr::Family::V4);
    s->set_reuse_addr(true);
    s->set_broadcast(true);
    int rc = s->bind_to_device(i.id);
    if (rc == 0) rc = s->bind(libstack::Endpoint{libstack::IpAddr(libstack::Ipv4Addr{}), port_});
    if (rc < 0) {
      if (err)
        *err = "mesh: cannot bind UDP port " + std::to_string(port_) + " on " + i.name + ": " +
               std::strerror(-rc);
      return false;
    }
    s->set_callback([this](uint32_t ev) {
      if ((ev & libstack::events::kIn) && cb_.readable) cb_.readable();
    });
    socks_[i.id] = std::move(s);
  }
  return true;
}

void RouterHost::deliver(const tn_router *r, void *node) {
  for (auto &[ifindex, s] : socks_) {
    // Bounded: at most the socket's receive queue, which is itself bounded.
    for (int n = 0; n < 4096; ++n) {
      libstack::Endpoint from;
      size_t full = 0;
      ssize_t got = s->recvfrom(buf_, &from, false, &full);
      if (got < 0) break;
      if (full > buf_.size()) continue;  // truncated: never a whole message
      tn_router_addr src = from_ip(from.addr);
      r->receive(node, ifindex, &src, from.port, buf_.data(), size_t(got));
    }
  }
}

void RouterHost::withdraw() {
  stack_.flush_routes(libstack::RouteInfo::Origin::Mesh);
  installed_.clear();
  for (auto &[ifindex, c] : addresses_) stack_.remove_address(ifindex, c);
  addresses_.clear();
}

uint64_t RouterHost::c_now(void *ctx) { return self(ctx)->cb_.now_ns(); }
uint64_t RouterHost::c_random(void *ctx) { return self(ctx)->cb_.random_u64(); }
void RouterHost::c_wakeup(void *ctx, uint64_t at) { self(ctx)->cb_.wakeup(at); }

int RouterHost::c_interfaces(void *ctx, tn_router_if *out, int max) {
  int n = 0;
  for (const auto &i : self(ctx)->stack_.interfaces()) {
    if (i.loopback) continue;
    if (n < max && out) {
      tn_router_if &o = out[n];
      o = tn_router_if{};
      o.ifindex = i.id;
      o.mtu = uint32_t(i.mtu);
      std::memcpy(o.mac, i.mac.b.data(), 6);
      o.up = i.up;
      std::snprintf(o.name, sizeof o.name, "%s", i.name.c_str());
    }
    ++n;
  }
  return n;
}

int RouterHost::c_send(void *ctx, uint32_t ifindex, const tn_router_addr *dst, uint16_t port,
                       const void *buf, size_t len) {
  RouterHost *h = self(ctx);
  auto it = h->socks_.find(ifindex);
  if (it == h->socks_.end() || !dst) return -ENODEV;
  ssize_t rc = it->second->sendto({static_cast<const uint8_t *>(buf), len},
                                  libstack::Endpoint{to_ip(*dst), port});
  return rc < 0 ? int(rc) : 0;
}

int RouterHost::c_add_address(void *ctx, uint32_t ifindex, const tn_router_addr *a, uint8_t plen) {
  RouterHost *h = self(ctx);
  libstack::Cidr c{to_ip(*a), plen};
  int rc = h->stack_.add_address(ifindex, c);
  if (rc == 0) h->addresses_.emplace_back(ifindex, c);
  return rc;
}

int RouterHost::c_del_address(void *ctx, uint32_t ifindex, const tn_router_addr *a, uint8_t plen) {
  RouterHost *h = self(ctx);
  libstack::Cidr c{to_ip(*a), plen};
  std::erase(h->addresses_, std::pair<uint32_t, libstack::Cidr>{ifindex, c});
  return h->stack_.remove_address(ifindex, c);
}

int RouterHost::c_set_route(void *ctx, const tn_router_addr *dst, uint8_t plen,
                            const tn_router_nexthop *hops, int n) {
  RouterHost *h = self(ctx);
  if (!dst || n < 0 || n > TN_ROUTER_MAX_NEXTHOPS || (n > 0 && !hops)) return -EINVAL;
  libstack::Cidr c{to_ip(*dst), plen};
  std::vector<libstack::NextHop> v;
  v.reserve(size_t(n));
  for (int i = 0; i < n; ++i)
    v.push_back(libstack::NextHop{to_ip(hops[i].gateway), hops[i].ifindex, hops[i].weight});
  auto it = h->installed_.find(c);
  if (it != h->installed_.end() && it->second == v) return 0;  // unchanged
  if (n == 0) {
    if (it == h->installed_.end()) return 0;
    h->installed_.erase(it);
    int rc = h->stack_.set_multipath_route(c, {}, libstack::RouteInfo::Origin::Mesh);
    return rc == -ESRCH ? 0 : rc;
  }
  int rc = h->stack_.set_multipath_route(c, v, libstack::RouteInfo::Origin::Mesh);
  if (rc == 0) h->installed_[c] = std::move(v);
  return rc;
}

void RouterHost::c_log(void *ctx, const char *line) {
  if (self(ctx)->cb_.log) self(ctx)->cb_.log(line);
}

}  // namespace tn
