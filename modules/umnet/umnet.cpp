// umnet: unmodified programs in their own network view, served by libstack.
//
// Theory of operation
// -------------------
// A view (view.cpp) is a set of named stacks built from the launcher options (config.cpp):
// libstack instances attached to libvdeplug URLs / tap devices / nothing, and optionally
// `host`, the real network (the vsock engine's HostProvider, as in the relay module).
// Every process has a default stack per family (AF_INET, AF_INET6, AF_NETLINK), learnt at
// its first trapped call from its nearest known ancestor (fork is not trapped) or the
// view's first stack; msocket(3) changes it (TN_MSOCKET_DEFAULT, kept across exec since
// the process stays the same) or picks the stack of one thread's next socket()
// (TN_MSOCKET_SELECT), through setsockopt(-1, TN_SOL_MSOCKET, ...) which only this module
// answers.
// Dispatch, per trapped call:
//  * socket(AF_INET/AF_INET6): a virtual socket from the vsock engine on the stack's
//    provider (libstack far side, or a host socket for `host`);
//  * socket(AF_NETLINK, NETLINK_ROUTE) on a libstack stack: a virtual netlink socket
//    answered from that stack (nlsock.cpp); other netlink protocols and the host stack's
//    go to the kernel; AF_PACKET is refused (EPERM) in a libstack view;
//  * interface ioctls (0x89xx, trapped on any fd by a conditional rule): answered from
//    the caller's AF_INET stack, or by the kernel for `host`;
//  * every other socket call: the engine if the fd is one of its virtual sockets, else the
//    netlink layer if it is one of its sockets, else the kernel.
// DNS queries to the host's name servers are redirected to the stack's servers by the
// stack's provider (stack_far.cpp). At the end, the engine drops its sockets before the
// stacks they live on are destroyed.
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <threadnet/module.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>

#include "config.h"
#include "libstack/links.h"
#include "host_net.h"
#include "msocket.h"
#include "msocket_ctl.h"
#include "nlsock.h"
#include "tracee_fds.h"
#include "umnet/if_ioctl.h"
#include "view.h"
#include "vsock.h"

namespace umnet {
namespace {

enum { kFamV4 = 0, kFamV6 = 1, kFamNl = 2, kFams = 3 };

int fam_slot(int domain) {
  switch (domain) {
    case AF_INET: return kFamV4;
    case AF_INET6: return kFamV6;
    case AF_NETLINK: return kFamNl;
  }
  return -1;
}

struct Proc {
  int def[kFams] = {0, 0, 0};  // stack index per family
};

struct Select {
  int stack = 0;
  int domain = 0;
};

// Parent pid of `pid` from /proc (0 if unknown).
int32_t parent_of(int32_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char *p = strrchr(buf, ')');  // comm may contain spaces and parentheses
  if (!p) return 0;
  char state;
  int ppid = 0;
  if (sscanf(p + 1, " %c %d", &state, &ppid) != 2) return 0;
  return ppid;
}

struct Umnet {
  explicit Umnet(const tn_host *host)
      : h(host), fds(host), engine(host, fds), view(host, engine), nl(host, fds),
        host_ifio(host, fds) {}
  const tn_host *h;
  tn::TraceeFds fds;
  tn::vsock::Engine engine;
  View view;
  NetlinkSockets nl;
  tn::hostnet::IfIoctls host_ifio;  // interface ioctls of processes on a `host` stack
  std::unordered_map<int32_t, Proc> procs;
  std::unordered_map<int32_t, Select> selects;  // by thread id, one shot
  bool warned_packet = false;
  bool netlink_made = false;  // a virtual netlink socket was ever created

  Proc &proc(int32_t tgid) {
    auto it = procs.find(tgid);
    if (it != procs.end()) return it->second;
    Proc p;
    int32_t a = tgid;
    for (int depth = 0; depth < 64; ++depth) {
      a = parent_of(a);
      if (a <= 1) break;
      auto pit = procs.find(a);
      if (pit != procs.end()) {
        p = pit->second;
        break;
      }
    }
    if (procs.size() > 65536) procs.clear();
    return procs.emplace(tgid, p).first->second;
  }
  // The stack a socket() of this thread would get (without consuming a selection).
  int stack_for(const tn_call *c, int domain) {
    int slot = fam_slot(domain);
    auto s = selects.find(c->tid);
    if (s != selects.end() && (s->second.domain == 0 || s->second.domain == domain))
      return s->second.stack;
    return slot < 0 ? 0 : proc(c->tgid).def[slot];
  }
  StackNode &node_for(const tn_call *c, int domain) {
    return view.node(size_t(stack_for(c, domain)));
  }

  int choose(const tn_call *c) {
    switch (c->nr) {
      case SYS_socket: {
        int domain = int(c->args[0]);
        if (domain == AF_INET || domain == AF_INET6) return TN_CHOICE_MINE;
        if (domain == AF_NETLINK) {
          if (node_for(c, domain).host())
            return tn::hostnet::is_host_netlink(c) ? TN_CHOICE_MINE : TN_CHOICE_NONE;
          return int(c->args[2]) == NETLINK_ROUTE ? TN_CHOICE_MINE : TN_CHOICE_NONE;
        }
        if (domain == AF_PACKET) return node_for(c, AF_INET).host() ? TN_CHOICE_NONE : TN_CHOICE_MINE;
        return TN_CHOICE_NONE;
      }
      case SYS_ioctl:
        return (c->args[1] & 0xffffff00ull) == 0x8900 ? TN_CHOICE_MINE : TN_CHOICE_NONE;
      case SYS_setsockopt:
        if (is_msocket_ctl(c->args[0], c->args[1])) return TN_CHOICE_MINE;
        break;
      default:
        break;
    }
    if (engine.choose(c)) return TN_CHOICE_MINE;
    if (!netlink_made) return TN_CHOICE_NONE;  // skip the fd lookup while there is none
    switch (c->nr) {
      case SYS_bind: case SYS_connect: case SYS_getsockname: case SYS_getpeername:
      case SYS_sendto: case SYS_recvfrom: case SYS_sendmsg: case SYS_recvmsg:
      case SYS_setsockopt: case SYS_getsockopt: case SYS_shutdown: case SYS_listen:
      case SYS_accept: case SYS_accept4: {
        uint64_t id = fds.ident_of(c, int(c->args[0]));
        return id && nl.owns(id) ? TN_CHOICE_MINE : TN_CHOICE_NONE;
      }
    }
    return TN_CHOICE_NONE;
  }

  void handle(const tn_call *c) {
    switch (c->nr) {
      case SYS_socket: return do_socket(c);
      case SYS_ioctl: {
        StackNode &n = node_for(c, AF_INET);
        if (n.host()) return host_ifio.handle(c);
        if (!n.stack) return void(h->reply_continue(h->hv, c));
        return nl.if_ioctl(c, *n.stack);
      }
      case SYS_setsockopt:
        if (is_msocket_ctl(c->args[0], c->args[1])) return do_msocket(c);
        break;
    }
    if (engine.choose(c)) return engine.handle(c);
    uint64_t id = fds.ident_of(c, int(c->args[0]));
    if (id && nl.owns(id)) return nl.handle(c, id);
    h->reply_continue(h->hv, c);  // closed in between: the kernel answers (EBADF, ...)
  }

  void do_socket(const tn_call *c) {
    int domain = int(c->args[0]);
    int idx = stack_for(c, domain);
    auto s = selects.find(c->tid);
    if (s != selects.end() && (s->second.domain == 0 || s->second.domain == domain))
      selects.erase(s);
    StackNode &n = view.node(size_t(idx));
    if (domain == AF_INET || domain == AF_INET6) return engine.socket(c, *n.provider);
    if (domain == AF_NETLINK) {
      if (n.host()) return tn::hostnet::netlink_socket(h, c);
      if (!n.stack) return void(h->reply_continue(h->hv, c));
      netlink_made = true;
      return nl.create(c, *n.stack);
    }
    if (domain == AF_PACKET) {
      if (n.host()) return void(h->reply_continue(h->hv, c));
      if (!warned_packet) {
        warned_packet = true;
        h->warn(h->hv, "packet sockets are not available inside a network view (EPERM)");
      }
      h->reply(h->hv, c, 0, EPERM);
      return;
    }
    h->reply_continue(h->hv, c);
  }

  void do_msocket(const tn_call *c) {
    MsocketParse p = parse_msocket_ctl(
        c->args[0], c->args[1], c->args[2], c->args[3], c->args[4],
        [this, c](uint64_t addr, void *buf, size_t len) { return h->read_mem(h->hv, c, addr, buf, len); });
    if (p.error) return void(h->reply(h->hv, c, 0, p.error));
    int idx = view.index_of(p.req.name);
    if (idx < 0) return void(h->reply(h->hv, c, 0, ENOENT));
    if (p.req.op == TN_MSOCKET_SELECT) {
      if (selects.size() > 65536) selects.clear();
      selects[c->tid] = Select{idx, p.req.domain};
    } else {
      Proc &pr = proc(c->tgid);
      int slot = fam_slot(p.req.domain);
      if (slot < 0) {
        for (int &d : pr.def) d = idx;
      } else {
        pr.def[slot] = idx;
      }
    }
    h->reply(h->hv, c, 0, 0);
  }

  void on_exit(int32_t tgid) {
    procs.erase(tgid);
    engine.on_exit(tgid);
    nl.on_exit(tgid);
  }
};

const int kSyscalls[] = {SYS_socket,      SYS_connect,     SYS_bind,       SYS_listen,
                         SYS_accept,      SYS_accept4,     SYS_getsockname, SYS_getpeername,
                         SYS_setsockopt,  SYS_getsockopt,  SYS_shutdown,   SYS_sendto,
                         SYS_recvfrom,    SYS_sendmsg,     SYS_recvmsg,    SYS_recvmmsg,
                         SYS_sendmmsg,    -1};

void *m_init(const tn_host *host, int argc, const char *const *argv, char *err,
             size_t errcap) {
  ViewConfig cfg;
  std::string msg;
  if (!parse_view_config(argc, argv, &cfg, &msg)) {
    snprintf(err, errcap, "%s", msg.c_str());
    return nullptr;
  }
  if (host->size < offsetof(tn_host, add_rule) + sizeof(void *) || !host->add_rule) {
    snprintf(err, errcap, "this threadnet is too old for umnet (no conditional traps)");
    return nullptr;
  }
  // Interface ioctls on any fd (glibc's if_nametoindex uses an AF_UNIX socket).
  // (nlsock passes the socket-level ones of that range, e.g. SIOCGSTAMP, to the kernel.)
  host->add_rule(host->hv, SYS_ioctl, 1, 0xffffff00ull, 0x8900);
  if (host->size < offsetof(tn_host, allow_ioctls) + sizeof(void *)) {
    snprintf(err, errcap, "this threadnet is too old for umnet (no sealed views)");
    return nullptr;
  }
  bool any_host = false;
  std::vector<int> link_calls;
  for (auto &s : cfg.stacks) {
    any_host |= s.kind == StackSpec::Kind::Host;
    for (auto &l : s.links)
      for (int nr : libstack::link_runtime_syscalls(l.url)) link_calls.push_back(nr);
  }
  link_calls.push_back(-1);
  host->allow_syscalls(host->hv, link_calls.data());
  if (any_host) host->allow_ioctls(host->hv, tn::hostnet::kIoctls);
  // A view whose default network is the host's shows the host's /proc/net, as natively.
  if (cfg.stacks.front().kind == StackSpec::Kind::Host) host->share_host_procnet(host->hv);
  auto u = std::make_unique<Umnet>(host);
  if (!u->view.build(cfg, &msg)) {
    u->engine.fini();
    snprintf(err, errcap, "%s", msg.c_str());
    return nullptr;
  }
  return u.release();
}

void m_fini(void *self) {
  auto *u = static_cast<Umnet *>(self);
  u->engine.fini();  // far sockets live on the stacks: drop them first
  u->view.shutdown();
  delete u;
}

int m_choose(void *self, const tn_call *c) { return static_cast<Umnet *>(self)->choose(c); }
void m_handle(void *self, const tn_call *c) { static_cast<Umnet *>(self)->handle(c); }
void m_on_exit(void *self, int32_t tgid) { static_cast<Umnet *>(self)->on_exit(tgid); }

const tn_module kModule = {
    TN_MODULE_ABI_VERSION,
    sizeof(tn_module),
    "umnet",
    "network views: the program's sockets on its own libstack stacks (VDE, tap, slirp)",
    m_init,
    m_fini,
    kSyscalls,
    m_choose,
    m_handle,
    nullptr,
    nullptr,
    m_on_exit,
    kViewOptions,
};

}  // namespace
}  // namespace umnet

extern "C" __attribute__((visibility("default"))) const tn_module *threadnet_module_v1(void) {
  return &umnet::kModule;
}
