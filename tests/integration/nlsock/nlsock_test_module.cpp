// Test module for umnet::NetlinkSockets (modules/umnet/nlsock.cpp) without the umnet
// module: one libstack::Stack (lo plus one Ethernet interface on an InProcessHub port
// with configurable addresses and default routes) whose netlink sockets and interface
// ioctls are served by NetlinkSockets, dispatched exactly as umnet must:
//   socket(AF_NETLINK, *, NETLINK_ROUTE)            -> create()
//   ioctl with (request & 0xffffff00) == 0x8900      -> if_ioctl()   (add_rule, any fd)
//   bind/connect/getsockname/getpeername/sendto/sendmsg/recvfrom/recvmsg/setsockopt/
//   getsockopt/shutdown/listen/accept/accept4 on an fd whose identity owns() -> handle()
// Options (all optional): --nlt-ifname NAME (tnv0), --nlt-ip CIDR (repeatable; default
// 10.9.0.2/24 and fd00:9::2/64; "none" for no address), --nlt-gw ADDR (repeatable;
// default 10.9.0.1 and fd00:9::1 when the family has an address), --nlt-no-ll (no IPv6
// link-local address), --nlt-state FILE (at the end, the Stack's own addresses and
// routes, one per line, so tests check the Stack and not only netlink's picture of it),
// --nlt-mpath (a second interface tnv1, 02:00:00:09:00:03, 10.8.0.2/24 and fd00:8::2/64,
// and two router (Mesh) multipath routes as the mesh router installs them:
// 10.1.0.0/16 via 10.9.0.1 dev tnv0 weight 3 + via 10.8.0.1 dev tnv1 weight 1, and
// fd00:1::/48 metric 1024 via fd00:9::1 / fd00:8::1 with the same weights).
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <threadnet/module.h>

#include "libstack/links.h"
#include "libstack/stack.h"
#include "libstack/udp.h"
#include "nlsock.h"
#include "tracee_fds.h"

namespace {

using namespace libstack;

struct Mod {
  const tn_host *h = nullptr;
  SplitMix64 rng{7};
  std::shared_ptr<InProcessHub> hub;
  std::unique_ptr<Stack> st;
  std::unique_ptr<tn::TraceeFds> fds;
  std::unique_ptr<umnet::NetlinkSockets> nls;
  std::string state_file;
  FILE *state = nullptr;  // opened at init: the supervisor's sandbox allows no new files later
};

const int kSyscalls[] = {SYS_socket,      SYS_bind,        SYS_connect,    SYS_getsockname,
                         SYS_getpeername, SYS_sendto,      SYS_sendmsg,    SYS_recvfrom,
                         SYS_recvmsg,     SYS_setsockopt,  SYS_getsockopt, SYS_shutdown,
                         SYS_listen,      SYS_accept,      SYS_accept4,    -1};
const char *const kOptions[] = {"nlt-ifname=", "nlt-ip=", "nlt-gw=", "nlt-no-ll", "nlt-state=",
                                "nlt-mpath", nullptr};

// --nlt-mpath: tnv1 and the router's multipath routes (see the top of the file).
bool add_multipath(Stack &st, uint32_t if0, InProcessHub &hub, char *err, size_t errcap) {
  int if1 = st.add_interface(hub.add_port(), MacAddr{{2, 0, 0, 9, 0, 3}}, 0, "tnv1");
  if (if1 < 0 || st.add_address(uint32_t(if1), *Cidr::parse("10.8.0.2/24")) < 0 ||
      st.add_address(uint32_t(if1), *Cidr::parse("fd00:8::2/64")) < 0) {
    snprintf(err, errcap, "--nlt-mpath: tnv1 failed");
    return false;
  }
  NextHop v4[] = {{*IpAddr::parse("10.9.0.1"), if0, 3}, {*IpAddr::parse("10.8.0.1"), uint32_t(if1), 1}};
  NextHop v6[] = {{*IpAddr::parse("fd00:9::1"), if0, 3}, {*IpAddr::parse("fd00:8::1"), uint32_t(if1), 1}};
  if (st.set_multipath_route(*Cidr::parse("10.1.0.0/16"), v4) < 0 ||
      st.set_multipath_route(*Cidr::parse("fd00:1::/48"), v6, RouteInfo::Origin::Mesh, 1024) < 0) {
    snprintf(err, errcap, "--nlt-mpath: set_multipath_route failed");
    return false;
  }
  return true;
}

void *m_init(const tn_host *h, int argc, const char *const *argv, char *err, size_t errcap) {
  std::string ifname = "tnv0";
  std::vector<std::string> ips, gws;
  bool ll = true, no_ip = false, mpath = false;
  auto m = std::make_unique<Mod>();
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--nlt-ifname") ifname = val();
    else if (a == "--nlt-ip") {
      std::string v = val();
      if (v == "none") no_ip = true;
      else ips.push_back(v);
    } else if (a == "--nlt-gw") gws.push_back(val());
    else if (a == "--nlt-no-ll") ll = false;
    else if (a == "--nlt-mpath") mpath = true;
    else if (a == "--nlt-state") m->state_file = val();
    else {
      snprintf(err, errcap, "unknown option %s", a.c_str());
      return nullptr;
    }
  }
  if (ips.empty() && !no_ip) ips = {"10.9.0.2/24", "fd00:9::2/64"};
  bool v4 = false, v6 = false;
  Tuning t;
  t.dad_transmits = 0;
  t.ipv6_link_local = ll;
  t.router_solicitations = 0;
  t.gratuitous_arp = false;
  m->h = h;
  m->st = Stack::create({m->rng, t});
  m->hub = InProcessHub::create({});
  int ifx = m->st->add_interface(m->hub->add_port(), MacAddr{{2, 0, 0, 9, 0, 2}}, 0, ifname);
  if (ifx < 0) {
    snprintf(err, errcap, "add_interface: %d", ifx);
    return nullptr;
  }
  for (auto &s : ips) {
    auto c = Cidr::parse(s);
    if (!c || m->st->add_address(uint32_t(ifx), *c) < 0) {
      snprintf(err, errcap, "bad --nlt-ip %s", s.c_str());
      return nullptr;
    }
    (c->addr.is_v4() ? v4 : v6) = true;
  }
  if (gws.empty()) {
    if (v4) gws.push_back("10.9.0.1");
    if (v6) gws.push_back("fd00:9::1");
  }
  for (auto &g : gws) {
    auto a = IpAddr::parse(g);
    if (!a) {
      snprintf(err, errcap, "bad --nlt-gw %s", g.c_str());
      return nullptr;
    }
    auto dflt = Cidr::parse(a->is_v4() ? "0.0.0.0/0" : "::/0");
    if (m->st->add_route(*dflt, *a, uint32_t(ifx)) < 0) {
      snprintf(err, errcap, "add_route via %s failed", g.c_str());
      return nullptr;
    }
  }
  if (mpath && !add_multipath(*m->st, uint32_t(ifx), *m->hub, err, errcap)) return nullptr;
  if (v4) {
    // One datagram towards the gateway leaves an INCOMPLETE neighbour entry (nobody
    // answers ARP on the hub) for `ip neigh`.
    auto u = m->st->udp_socket(IpAddr::Family::V4);
    uint8_t b = 0;
    if (u) u->sendto({&b, 1}, Endpoint{*IpAddr::parse("10.9.0.1"), 9});
  }
  m->fds = std::make_unique<tn::TraceeFds>(h);
  m->nls = std::make_unique<umnet::NetlinkSockets>(h, *m->fds);
  // Interface ioctls on any fd: the SIOC* socket range 0x89xx (low 32 bits: the kernel
  // takes an unsigned int request).
  if (h->add_rule(h->hv, SYS_ioctl, 1, 0xffffff00ull, 0x8900) < 0) {
    snprintf(err, errcap, "add_rule(ioctl) failed");
    return nullptr;
  }
  if (!m->state_file.empty() && !(m->state = fopen(m->state_file.c_str(), "we"))) {
    snprintf(err, errcap, "cannot open %s", m->state_file.c_str());
    return nullptr;
  }
  return m.release();
}

void m_fini(void *self) {
  auto *m = static_cast<Mod *>(self);
  if (m->state) {
    if (FILE *f = m->state) {
      for (auto &a : m->st->addresses())
        fprintf(f, "addr %u %s\n", a.ifindex, a.cidr.to_string().c_str());
      for (auto &r : m->st->routes()) {
        fprintf(f, "route %s via %s dev %u", r.dest.to_string().c_str(),
                r.gateway.to_string().c_str(), r.ifindex);
        for (auto &n : r.nexthops)
          fprintf(f, " nexthop %s dev %u weight %u", n.gateway.to_string().c_str(), n.ifindex,
                  unsigned(n.weight));
        fprintf(f, "\n");
      }
      for (auto &i : m->st->interfaces())
        fprintf(f, "link %u %s mtu %zu %s\n", i.id, i.name.c_str(), i.mtu, i.up ? "up" : "down");
      fclose(f);
    }
  }
  m->nls.reset();  // before the TraceeFds it refers to
  m->fds.reset();
  delete m;
}

int m_choose(void *self, const tn_call *c) {
  auto *m = static_cast<Mod *>(self);
  switch (c->nr) {
    case SYS_socket:
      return c->args[0] == AF_NETLINK && c->args[2] == NETLINK_ROUTE ? TN_CHOICE_MINE
                                                                     : TN_CHOICE_NONE;
    case SYS_ioctl:
      return (c->args[1] & 0xffffff00ull) == 0x8900 ? TN_CHOICE_MINE : TN_CHOICE_NONE;
    default:
      return m->nls->owns(m->fds->ident_of(c, int(c->args[0]))) ? TN_CHOICE_MINE
                                                                 : TN_CHOICE_NONE;
  }
}

void m_handle(void *self, const tn_call *c) {
  auto *m = static_cast<Mod *>(self);
  if (c->nr == SYS_socket) return m->nls->create(c, *m->st);
  if (c->nr == SYS_ioctl) return m->nls->if_ioctl(c, *m->st);
  m->nls->handle(c, m->fds->ident_of(c, int(c->args[0])));
}

void m_on_exit(void *self, int32_t tgid) {
  auto *m = static_cast<Mod *>(self);
  m->nls->on_exit(tgid);
  m->fds->drop(tgid);
}

const tn_module kModule = {
    TN_MODULE_ABI_VERSION,
    sizeof(tn_module),
    "nlsock-test",
    "test only: NETLINK_ROUTE sockets and interface ioctls served from one in-process Stack",
    m_init,
    m_fini,
    kSyscalls,
    m_choose,
    m_handle,
    nullptr,
    nullptr,
    m_on_exit,
    kOptions,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const tn_module *threadnet_module_v1(void) {
  return &kModule;
}
