// A view's stacks on the supervisor's event loop.
//
// Theory of operation
// -------------------
// Each StackNode is one libstack::Stack (or the host network, served by the vsock engine's
// HostProvider). The supervisor is single-threaded: a stack runs only inside poll(), which
// is called when its link's fd is readable (edge-triggered watch; Stack::poll drains it),
// when the stack asks for it (set_wakeup: loopback traffic, timers re-armed by socket
// calls; coalesced into one zero-delay timer) and at its next deadline (one timer per
// stack, re-armed after every poll). After a poll the engine runs the socket callbacks the
// stack produced (Engine::run_posted). Time is CLOCK_MONOTONIC from the hypervisor, passed
// in as libstack::Instant. Randomness is a libstack::CryptoRandom per stack (ChaCha20 keyed
// from getrandom()): the stack draws its TCP secrets from it, the view its random MAC, so a
// MAC seen on the wire tells nothing about ISNs, cookies or ports (docs/secrets.md). SLAAC
// uses RFC 7217 stable-privacy ids keyed from the user's secret (stable_secret.cpp) with
// Net_Iface = "STACK/eth0", so the same network gives the same address on every run;
// EUI-64 ids only with iid=eui64, RFC 8981 temporary addresses with tempaddr.
//
// --publish VIEWPORT:HOSTPORT (Publisher; TCP): the supervisor listens on the host's
// 127.0.0.1:HOSTPORT and [::1]:HOSTPORT (both, or an error before the program starts);
// each connection it accepts goes to the default
// stack's listener on VIEWPORT (wildcard or loopback address) as an accepted connection
// whose far side is the host socket itself (splice.cpp). Without such a listener the
// connection is joined to one the stack opens to its own 127.0.0.1:VIEWPORT, as a client
// in the view would reach it (refused, when nothing listens).
//
// Stacks on slirp:// links splice outgoing TCP to host sockets (HostSplice, splice.cpp;
// for a slirp eth0 only).
//
// A stack has one interface per link of its spec (eth0, eth1, ...; config.h), each link's
// fd watched on its own and every watch polling the whole stack: a frame on any link is
// handled by the one Stack::poll that drains them all. --forward turns on the stack's
// forwarding, so a view on two switches routes between them.
//
// --mesh (mesh.cpp): the stack forwards and a router node runs on it, polled right after
// the stack in the same poll(); its deadline is part of the stack's one timer, and with
// --wait-net the program starts once the router has its address (the hook).
#include "view.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <sstream>

#include "libstack/crypto.h"
#include "libstack/links.h"
#include "stable_secret.h"

namespace umnet {

using libstack::Cidr;
using libstack::Instant;
using libstack::IpAddr;

namespace {

// How a stack's options are named in messages: the default group's own option, or the
// --stack key ("--net vde:///sw" / "--stack vpn=vde:///sw", "--pcap F" / "--stack vpn:
// pcap=F").
std::string where_url(const StackSpec &s, const std::string &url) {
  if (s.name == "default") return "--net " + url;
  return url == s.url ? "--stack " + s.name + "=" + url : "--stack " + s.name + ": net=" + url;
}
std::string where_url(const StackSpec &s) { return where_url(s, s.url); }
std::string where_key(const StackSpec &s, const std::string &key, const std::string &val) {
  return s.name == "default" ? "--" + key + " " + val : "--stack " + s.name + ": " + key + "=" + val;
}

// The vde_switch control directory a URL names (vde:///PATH, vde://PATH, /PATH), or "".
std::string switch_dir(const std::string &url) {
  if (url.starts_with("/")) return url;
  if (url.starts_with("vde://")) return url.substr(6);
  return {};
}

// A failed link open, said with what to do about it.
std::string link_error(const StackSpec &s, const std::string &url, int e, const std::string &detail) {
  std::string w = where_url(s, url);
  std::string dir = switch_dir(url);
  if ((e == ENOENT || e == ECONNREFUSED) && (url.starts_with("/") || url.starts_with("vde://"))) {
    if (dir.empty())
      return w + ": no VDE switch at the default path (start one with: vde_switch -d, or give "
                 "vde:///PATH of a running one)";
    return w + ": no VDE switch at " + dir + " (start one with: vde_switch -s " + dir + " -d)";
  }
  if (url.starts_with("slirp://") && e == ENOENT)
    return w + ": cannot open the slirp link (the libvdeplug slirp plugin, package "
               "libvdeplug-slirp, may be missing): " + detail;
  if (e) return w + ": cannot open the link: " + std::string(strerror(e)) + " (" + detail + ")";
  return w + ": cannot open the link: " + detail;
}

// Unix time minus CLOCK_MONOTONIC, which the stacks run on: what dates a capture.
libstack::Duration wall_offset() {
  timespec r{}, m{};
  clock_gettime(CLOCK_REALTIME, &r);
  clock_gettime(CLOCK_MONOTONIC, &m);
  return libstack::Duration((int64_t(r.tv_sec) - int64_t(m.tv_sec)) * 1'000'000'000 +
                            (int64_t(r.tv_nsec) - int64_t(m.tv_nsec)));
}

std::string read_file(const char *path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

std::vector<IpAddr> StackNode::dns_servers() const {
  std::vector<IpAddr> out = spec.dns;
  if (autoconf)
    for (auto &a : autoconf->dns_servers())
      if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  return out;
}

// ---- --publish ------------------------------------------------------------------------------
class Publisher {
 public:
  Publisher(const tn_host *h, StackNode &node) : h_(h), node_(node) {}
  ~Publisher() {
    for (auto &l : listeners_) {
      h_->unwatch_fd(h_->hv, l.fd);
      close(l.fd);
    }
    for (auto &c : conns_) drop(*c);
    if (timer_ > 0) h_->cancel_timer(h_->hv, timer_);
  }
  // Listens on the host's 127.0.0.1:HOSTPORT and [::1]:HOSTPORT: both or neither (a
  // host without IPv6, no AF_INET6 or no ::1, publishes on 127.0.0.1 only).
  bool add(const PublishSpec &p, std::string *err) {
    std::vector<int> fds;
    for (int fam : {AF_INET, AF_INET6}) {
      int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0 && fam == AF_INET6 && errno == EAFNOSUPPORT) continue;
      int one = 1;
      sockaddr_storage ss{};
      socklen_t sl;
      if (fam == AF_INET) {
        auto &a = reinterpret_cast<sockaddr_in &>(ss);
        a.sin_family = AF_INET;
        a.sin_port = htons(p.host_port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof a;
      } else {
        auto &a = reinterpret_cast<sockaddr_in6 &>(ss);
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(p.host_port);
        a.sin6_addr = in6addr_loopback;
        sl = sizeof a;
      }
      int e = fd < 0 ? errno : 0;
      if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (fam == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (bind(fd, reinterpret_cast<sockaddr *>(&ss), sl) < 0 || listen(fd, 128) < 0) e = errno;
      }
      if (e) {
        if (fd >= 0) close(fd);
        if (fam == AF_INET6 && e == EADDRNOTAVAIL) continue;  // no ::1 on this host
        for (int f : fds) close(f);
        *err = "--publish " + std::to_string(p.view_port) + ":" + std::to_string(p.host_port) +
               ": cannot listen on " + (fam == AF_INET ? "127.0.0.1:" : "[::1]:") +
               std::to_string(p.host_port) + ": " + strerror(e);
        return false;
      }
      fds.push_back(fd);
    }
    for (int fd : fds) listeners_.push_back({this, fd, p.view_port});
    return true;
  }
  void start() {
    for (auto &l : listeners_) h_->watch_fd(h_->hv, l.fd, EPOLLIN, &Publisher::on_listen, &l);
  }

 private:
  struct Listener {
    Publisher *p;
    int fd;
    uint16_t view_port;
  };
  struct Conn {
    Publisher *p;
    int fd = -1;
    libstack::TcpSocket s;
    std::vector<uint8_t> up, down;  // host -> view, view -> host (unsent bytes)
    bool host_eof = false, view_eof = false, connected = false, dead = false;
  };
  static void on_listen(void *arg, int, uint32_t) {
    auto *l = static_cast<Listener *>(arg);
    l->p->accept_all(*l);
  }
  void accept_all(Listener &l) {
    for (int i = 0; i < 64; ++i) {
      sockaddr_storage peer{};
      socklen_t plen = sizeof peer;
      int fd = accept4(l.fd, reinterpret_cast<sockaddr *>(&peer), &plen,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      if (hand_over(l, fd, peer, plen)) continue;
      auto c = std::make_unique<Conn>();
      c->p = this;
      c->fd = fd;
      c->s = node_.stack->tcp_socket();
      Conn *raw = c.get();
      c->s.set_callback([this](uint32_t) { kick(); });
      int rc = c->s.connect(libstack::Endpoint{IpAddr(libstack::Ipv4Addr{{127, 0, 0, 1}}), l.view_port});
      if (rc < 0 && rc != -EINPROGRESS) {
        close(fd);
        continue;
      }
      h_->watch_fd(h_->hv, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &Publisher::on_host, raw);
      conns_.push_back(std::move(c));
    }
  }
  // The view's listener takes the host connection as it is (false: nobody listens there).
  bool hand_over(Listener &l, int fd, const sockaddr_storage &peer, socklen_t plen) {
    auto *sp = dynamic_cast<StackProvider *>(node_.provider.get());
    bool v4 = peer.ss_family == AF_INET;
    PublishTarget *t = sp ? sp->listener_for(l.view_port, v4) : nullptr;
    libstack::Endpoint from;
    if (!t || to_endpoint(peer, plen, peer.ss_family, &from) != 0) return false;
    libstack::Endpoint local{IpAddr(libstack::Ipv4Addr{{127, 0, 0, 1}}), l.view_port};
    if (!v4) {
      libstack::Ipv6Addr one{};
      one.b[15] = 1;
      local.addr = IpAddr(one);
    }
    t->take(published_conn(tn::vsock::host_far(h_, fd), t->domain(), local, from));
    return true;
  }
  static void on_host(void *arg, int, uint32_t) {
    auto *c = static_cast<Conn *>(arg);
    c->p->kick();
  }
  // libstack calls back from inside its own calls: work is done from a zero-delay timer.
  void kick() {
    if (timer_ > 0) return;
    timer_ = h_->add_timer(h_->hv, h_->now_ns(h_->hv), &Publisher::on_timer, this);
  }
  static void on_timer(void *arg) {
    auto *p = static_cast<Publisher *>(arg);
    p->timer_ = 0;
    p->run();
  }
  void run() {
    for (auto &c : conns_) pump(*c);
    std::erase_if(conns_, [](const std::unique_ptr<Conn> &c) { return c->dead; });
  }
  void pump(Conn &c) {
    if (c.dead) return;
    auto st = c.s.state();
    if (!c.connected) {
      if (st == libstack::TcpState::SynSent || st == libstack::TcpState::SynReceived) return;
      if (st == libstack::TcpState::Closed) return drop(c);  // refused: close the host side
      c.connected = true;
    }
    uint8_t buf[65536];
    // host -> view
    for (int i = 0; i < 64; ++i) {
      if (!c.up.empty()) {
        int64_t w = c.s.send(c.up);
        if (w < 0 && w != -EAGAIN) return drop(c);
        if (w > 0) c.up.erase(c.up.begin(), c.up.begin() + w);
        if (!c.up.empty()) break;
      }
      if (c.host_eof) break;
      ssize_t n = read(c.fd, buf, sizeof buf);
      if (n == 0) {
        c.host_eof = true;
        c.s.shutdown(libstack::kTcpShutWr);
        break;
      }
      if (n < 0) {
        if (errno == EAGAIN) break;
        return drop(c);
      }
      // Straight from the read buffer; only what the stack does not take is kept.
      int64_t w = c.s.send(std::span<const uint8_t>(buf, size_t(n)));
      if (w < 0 && w != -EAGAIN) return drop(c);
      if (w < 0) w = 0;
      if (w < n) {
        c.up.assign(buf + w, buf + n);
        break;
      }
    }
    // view -> host
    for (int i = 0; i < 64; ++i) {
      if (!c.down.empty()) {
        ssize_t w = send(c.fd, c.down.data(), c.down.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno != EAGAIN) return drop(c);
        if (w > 0) c.down.erase(c.down.begin(), c.down.begin() + w);
        if (!c.down.empty()) break;
      }
      if (c.view_eof) break;
      int64_t n = c.s.recv(std::span<uint8_t>(buf, sizeof buf));
      if (n == 0) {
        c.view_eof = true;
        ::shutdown(c.fd, SHUT_WR);
        break;
      }
      if (n < 0) {
        if (n == -EAGAIN) break;
        return drop(c);
      }
      ssize_t w = send(c.fd, buf, size_t(n), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0 && errno != EAGAIN) return drop(c);
      if (w < 0) w = 0;
      if (w < n) {
        c.down.assign(buf + w, buf + n);
        break;
      }
    }
    if (c.host_eof && c.view_eof && c.up.empty() && c.down.empty()) drop(c);
  }
  void drop(Conn &c) {
    if (c.dead) return;
    c.dead = true;
    if (c.fd >= 0) {
      h_->unwatch_fd(h_->hv, c.fd);
      close(c.fd);
      c.fd = -1;
    }
    if (c.s.valid()) {
      c.s.set_callback(nullptr);
      c.s.close();
    }
  }

  const tn_host *h_;
  StackNode &node_;
  std::deque<Listener> listeners_;  // stable addresses for watch callbacks
  std::vector<std::unique_ptr<Conn>> conns_;
  long timer_ = 0;
};

// ---- the view -------------------------------------------------------------------------------
View::View(const tn_host *h, tn::vsock::Engine &engine) : h_(h), engine_(engine) {
  host_dns_ = DnsRedirect::parse_resolv_conf(read_file("/etc/resolv.conf"));
  if (host_dns_.empty()) {  // the C library's default name server
    libstack::Ipv6Addr one{};
    one.b[15] = 1;
    host_dns_ = {IpAddr(libstack::Ipv4Addr{{127, 0, 0, 1}}), IpAddr(one)};
  }
}

View::~View() { shutdown(); }

const std::array<uint8_t, 16> &View::slaac_key() {
  if (!slaac_key_) {
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    StableSecret s = load_stable_secret(stable_secret_path(xdg, home));
    if (!s.persistent)
      h_->warn(h_->hv, ("SLAAC stable addresses: " + s.problem +
                        "; using a random secret for this run (the addresses change next run)")
                           .c_str());
    slaac_key_ = libstack::derive_key16(s.key, "threadnet view slaac rfc7217");
  }
  return *slaac_key_;
}

void View::shutdown() {
  publisher_.reset();
  for (auto &n : nodes_) {
    // The router first: its withdrawal may still ask for a poll, cancelled just below.
    n->mesh.reset();
    n->gate_mesh = 0;
    for (int &fd : n->link_fds) {
      if (fd >= 0) h_->unwatch_fd(h_->hv, fd);
      fd = -1;
    }
    if (n->deadline_timer > 0) h_->cancel_timer(h_->hv, n->deadline_timer);
    if (n->poll_timer > 0) h_->cancel_timer(h_->hv, n->poll_timer);
    n->deadline_timer = n->poll_timer = 0;
    if (n->stack) n->stack->set_wakeup(nullptr);
  }
}

StackNode *View::find(const std::string &name) {
  int i = index_of(name);
  return i < 0 ? nullptr : nodes_[size_t(i)].get();
}

int View::index_of(const std::string &name) const {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i]->name == name) return int(i);
  return -1;
}

bool View::build(const ViewConfig &cfg, std::string *err) {
  mesh_options_ = cfg.mesh_options;
  for (auto &s : cfg.stacks)
    if (!add_stack(s, err)) return false;
  if (!cfg.publish.empty()) {
    StackNode &def = *nodes_.front();
    if (!def.stack) {
      *err = "--publish needs a libstack default stack (not host)";
      return false;
    }
    publisher_ = std::make_unique<Publisher>(h_, def);
    for (auto &p : cfg.publish)
      if (!publisher_->add(p, err)) return false;
    publisher_->start();
  }
  return true;
}

bool View::add_stack(const StackSpec &spec, std::string *err) {
  auto n = std::make_unique<StackNode>();
  n->view = this;
  n->name = spec.name;
  n->spec = spec;
  if (spec.kind == StackSpec::Kind::Host) {
    n->provider = std::make_unique<tn::vsock::HostProvider>(h_);
    nodes_.push_back(std::move(n));
    return true;
  }
  n->rng = libstack::CryptoRandom::from_os();
  n->stack = libstack::Stack::create({*n->rng});
  StackNode *raw = n.get();
  Instant t0{int64_t(now())};
  if (spec.kind == StackSpec::Kind::Link) {
    for (size_t k = 0; k < spec.links.size(); ++k)
      if (!add_link(*n, spec.links[k], k, err)) return false;
    n->ifindex = n->ifindexes.front();
    // --forward: a router between the stack's links; a mesh node routes for its
    // neighbours too.
    n->stack->tuning_mut().forward_v4 = n->stack->tuning_mut().forward_v6 =
        spec.forward || spec.mesh;
    n->stack->poll(t0);
    // Static addresses are usable at once, like `ip addr add ... nodad`: the program starts
    // right away and binds them (SLAAC addresses still go through DAD).
    uint32_t dad = n->stack->tuning().dad_transmits;
    n->stack->tuning_mut().dad_transmits = 0;
    for (size_t i = 0; i < spec.addrs.size(); ++i) {
      const Cidr &a = spec.addrs[i];
      int rc = n->stack->add_address(n->ifindexes.at(spec.addr_link.at(i)), a);
      if (rc < 0) {
        *err = where_key(spec, "ip", a.to_string()) + ": " + strerror(-rc);
        return false;
      }
    }
    n->stack->tuning_mut().dad_transmits = dad;
    for (size_t i = 0; i < spec.gateways.size(); ++i) {
      const IpAddr &g = spec.gateways[i];
      Cidr any{g.is_v4() ? IpAddr(libstack::Ipv4Addr{}) : IpAddr(libstack::Ipv6Addr{}), 0};
      uint32_t via = i < spec.gw_link.size() ? n->ifindexes.at(spec.gw_link[i]) : n->ifindex;
      int rc = n->stack->add_route(any, g, via);
      if (rc < 0) {
        *err = where_key(spec, "gw", g.to_string()) + ": " + strerror(-rc);
        return false;
      }
    }
    if (spec.dhcp || spec.slaac) {
      libstack::AutoconfConfig ac;
      for (auto &i : n->stack->interfaces())
        if (i.id == n->ifindex) ac.mac = i.mac;  // DHCP and SLAAC run on eth0
      ac.dhcp4 = spec.dhcp;
      ac.slaac = spec.slaac;
      if (spec.slaac) {
        ac.slaac_iid = spec.iid == StackSpec::Iid::Eui64 ? libstack::SlaacIid::Eui64
                                                         : libstack::SlaacIid::Stable;
        if (ac.slaac_iid == libstack::SlaacIid::Stable) ac.slaac_secret = slaac_key();
        ac.slaac_iface_id = spec.name + "/eth0";
        ac.slaac_temporary = spec.tempaddr;
      }
      n->autoconf = std::make_unique<libstack::Autoconf>(*n->stack, n->ifindex, ac, *n->rng);
      n->autoconf->start(t0);
      // The program starts once the view has its lease / a usable global address.
      if (h_->size >= offsetof(tn_host, open_gate) + sizeof(void *) && !spec.slirp_plan) {
        if (spec.dhcp)
          n->gate_dhcp = h_->start_gate(h_->hv, ("DHCPv4 lease on stack " + spec.name).c_str());
        if (spec.slaac)
          n->gate_slaac = h_->start_gate(
              h_->hv, ("global IPv6 address (SLAAC) on stack " + spec.name).c_str());
      }
    }
  }
  n->dns = std::make_unique<DnsRedirect>(host_dns_, [raw] { return raw->dns_servers(); });
  const tn_host *h = h_;
  n->linger = std::make_unique<Lingering>([h](int d) {
    if (h->size >= offsetof(tn_host, hold) + sizeof(void *) && h->hold) h->hold(h->hv, d);
  });
  std::function<void(const std::string &)> hint;
  if (spec.kind == StackSpec::Kind::None)
    hint = [h](const std::string &m) { h->warn(h->hv, m.c_str()); };
  if (spec.kind == StackSpec::Kind::Link && spec.url.starts_with("slirp://") && n->ifindex) {
    std::string serr;
    auto net = SlirpNet::parse(spec.url, &serr);
    if (!net) {
      *err = where_url(spec) + ": " + serr;
      return false;
    }
    n->splice = std::make_unique<HostSplice>(h_, *n->stack, n->ifindex, *net);
  }
  n->provider = std::make_unique<StackProvider>(*n->stack, n->dns.get(), n->linger.get(),
                                                std::move(hint), n->splice.get());
  n->stack->set_wakeup([this, raw] { schedule_poll(*raw); });
  for (size_t k = 0; k < n->link_fds.size(); ++k) {
    int &fd = n->link_fds[k];
    if (fd < 0) continue;
    int rc = h_->watch_fd(h_->hv, fd, EPOLLIN, &View::link_cb, raw);
    if (rc < 0) {
      *err = where_url(spec, spec.links[k].url) + ": cannot watch its link: " + strerror(-rc);
      for (size_t j = 0; j < k; ++j)  // the node goes: no watch may point at it
        if (n->link_fds[j] >= 0) h_->unwatch_fd(h_->hv, n->link_fds[j]);
      return false;
    }
  }
  nodes_.push_back(std::move(n));
  arm_deadline(*raw);
  // The router comes last: the node is in nodes_, so whatever its start arms (timers
  // pointing at the node) is undone by shutdown() if a later stack fails.
  if (spec.mesh && !add_mesh(*raw, err)) return false;
  return true;
}

bool View::add_mesh(StackNode &n, std::string *err) {
  if (!router_ && !(router_ = RouterPlugin::find(h_, err))) return false;
  bool verbose = false;
  for (auto &o : mesh_options_) verbose |= o.key == "mesh-verbose";
  MeshNode::Hooks hooks;
  hooks.now_ns = [this] { return now(); };
  StackNode *raw = &n;
  hooks.wake_by = [this, raw](uint64_t at) {
    raw->mesh_at = std::min(raw->mesh_at, at);
    if (!raw->in_mesh_poll) arm_deadline(*raw);  // else poll() re-arms once it is done
  };
  hooks.poll_soon = [this, raw] { schedule_poll(*raw); };
  if (verbose) {
    const tn_host *h = h_;
    std::string tag = "mesh (stack " + n.name + "): ";
    hooks.log = [h, tag](const char *line) {
      std::string_view l = line ? line : "";
      if (l.starts_with("mesh: ")) l.remove_prefix(6);  // the tag says it already
      h->warn(h->hv, (tag + std::string(l)).c_str());
    };
  }
  n.mesh = MeshNode::start(router_, *n.stack, *n.rng, mesh_options_, std::move(hooks), err);
  if (!n.mesh) return false;
  // With --wait-net the program starts once the node is hooked (it has its address).
  if (h_->size >= offsetof(tn_host, open_gate) + sizeof(void *) && n.mesh->can_tell_hooked() &&
      !n.mesh->hooked())
    n.gate_mesh = h_->start_gate(h_->hv, ("mesh address (hook) on stack " + n.name).c_str());
  arm_deadline(n);
  return true;
}

// Opens link k of a stack (URL, capture, MTU, MAC) as interface ethK, watched later.
bool View::add_link(StackNode &n, const LinkSpec &ls, size_t k, std::string *err) {
  const StackSpec &spec = n.spec;
  libstack::LinkOptions lo;
  if (ls.mtu) lo.mtu = ls.mtu;
  lo.descr = "threadnet:" + spec.name + (k ? ":eth" + std::to_string(k) : "");
  std::string url = ls.url;
  size_t ifmtu = ls.mtu;
  if (url.starts_with("slirp://") && url.find("mtu=") == std::string::npos && ls.mtu <= kSlirpMtu) {
    // libslirp's own TCP ends here: jumbo frames (the plugin carries up to ~9 KiB) cut
    // the per-frame work of both sides ~6x for bulk transfers to the host.
    size_t m = ls.mtu ? ls.mtu : kSlirpMtu;
    url += "/mtu=" + std::to_string(m) + "/mru=" + std::to_string(m);
    lo.mtu = ifmtu = m;
  }
  std::string lerr;
  std::unique_ptr<libstack::Link> link;
  int lerrno = 0;
  if (url.starts_with(kMemScheme)) {
    link = mem_link(url, &lerr);
    if (!link) {
      *err = where_url(spec, ls.url) + ": " + lerr;
      return false;
    }
  } else {
    link = libstack::make_link(url, lo, &lerr, &lerrno);
    if (!link) {
      *err = link_error(spec, ls.url, lerrno, lerr);
      return false;
    }
  }
  if (!ls.pcap.empty()) {
    link = libstack::PcapLink::open(std::move(link), ls.pcap, &lerr, wall_offset());
    if (!link) {
      *err = where_key(spec, "pcap", ls.pcap) + ": cannot create the file: " + strerror(errno);
      return false;
    }
  }
  if (ls.mtu > 1500 && (ls.url.rfind("vde://", 0) == 0 || ls.url.rfind("/", 0) == 0))
    h_->warn(h_->hv, ("stack " + spec.name + ": vde_switch (vde2) forwards frames of at most "
                      "1514 bytes; with --mtu " + std::to_string(ls.mtu) +
                      " bigger ones are lost (switch:// carries large frames)").c_str());
  int fd = link->wait_fd();
  libstack::MacAddr mac = ls.mac ? *ls.mac : libstack::random_local_mac(*n.rng);
  std::string ifname = "eth" + std::to_string(k);
  int ifx = n.stack->add_interface(std::move(link), mac, ifmtu, ifname);
  if (ifx < 0) {
    *err = where_url(spec, ls.url) + ": cannot add its interface " + ifname + ": " + strerror(-ifx);
    return false;
  }
  n.ifindexes.push_back(uint32_t(ifx));
  n.link_fds.push_back(fd);
  return true;
}

// mem://NAME: one in-memory learning switch per NAME and view (MTU 65535; each stack's
// interface MTU is its own mtu= or 65535). Frames are handed over without a syscall; the
// receiving stack is woken through its rx-notify (-> set_wakeup -> schedule_poll).
std::unique_ptr<libstack::Link> View::mem_link(const std::string &url, std::string *err) {
  std::string name = url.substr(kMemScheme.size());
  if (name.empty() || name.find('/') != std::string::npos) {
    *err = "mem://NAME needs a name without '/'";
    return nullptr;
  }
  auto &hub = hubs_[name];
  if (!hub) {
    libstack::InProcessOptions o;
    o.mtu = libstack::kMaxLinkMtu;
    o.learning_switch = true;
    o.queue_limit = 4096;
    hub = libstack::InProcessHub::create(o);
  }
  return hub->add_port();
}

void View::poll(StackNode &n) {
  if (!n.stack) return;
  Instant t{int64_t(now())};
  n.stack->poll(t);
  if (n.autoconf) n.autoconf->poll(t);
  if (n.mesh) {
    // Its answer covers all its timers: wake-ups asked for before this poll are void.
    n.mesh_at = UINT64_MAX;
    n.in_mesh_poll = true;
    uint64_t next = n.mesh->poll(uint64_t(t.count()));
    n.in_mesh_poll = false;
    n.mesh_at = std::min(n.mesh_at, next);
  }
  if (n.gate_dhcp > 0 || n.gate_slaac > 0 || n.gate_mesh > 0) check_ready(n);
  engine_.run_posted();
  if (n.linger && !n.linger->empty()) n.linger->reap();
  arm_deadline(n);
}

void View::check_ready(StackNode &n) {
  if (n.gate_mesh > 0 && n.mesh && n.mesh->hooked()) {
    h_->open_gate(h_->hv, n.gate_mesh);
    n.gate_mesh = 0;
  }
  if (n.gate_dhcp > 0 && n.autoconf->stats().dhcp_configured > 0) {
    h_->open_gate(h_->hv, n.gate_dhcp);
    n.gate_dhcp = 0;
  }
  if (n.gate_slaac > 0) {
    for (auto &a : n.stack->addresses())
      if (a.ifindex == n.ifindex && a.cidr.addr.is_v6() && !a.tentative && !a.dad_failed &&
          !a.cidr.addr.v6().is_link_local()) {
        h_->open_gate(h_->hv, n.gate_slaac);
        n.gate_slaac = 0;
        break;
      }
  }
}

void View::schedule_poll(StackNode &n) {
  if (n.poll_scheduled) return;
  n.poll_scheduled = true;
  n.poll_timer = h_->add_timer(h_->hv, now(), &View::poll_timer_cb, &n);
}

void View::arm_deadline(StackNode &n) {
  if (!n.stack) return;
  Instant d = n.stack->next_deadline();
  if (n.autoconf) d = std::min(d, n.autoconf->next_deadline());
  if (n.mesh && n.mesh_at != UINT64_MAX)
    d = std::min(d, Instant(int64_t(std::min<uint64_t>(n.mesh_at, uint64_t(INT64_MAX)))));
  if (d == libstack::kNever) {
    if (n.deadline_timer > 0) h_->cancel_timer(h_->hv, n.deadline_timer);
    n.deadline_timer = 0;
    return;
  }
  uint64_t at = uint64_t(std::max<int64_t>(d.count(), 0));
  if (n.deadline_timer > 0 && n.timer_at == at) return;
  if (n.deadline_timer > 0) h_->cancel_timer(h_->hv, n.deadline_timer);
  n.timer_at = at;
  n.deadline_timer = h_->add_timer(h_->hv, at, &View::deadline_cb, &n);
}

void View::link_cb(void *arg, int, uint32_t) {
  auto *n = static_cast<StackNode *>(arg);
  n->view->poll(*n);
}

void View::poll_timer_cb(void *arg) {
  auto *n = static_cast<StackNode *>(arg);
  n->poll_scheduled = false;
  n->poll_timer = 0;
  n->view->poll(*n);
}

void View::deadline_cb(void *arg) {
  auto *n = static_cast<StackNode *>(arg);
  n->deadline_timer = 0;
  n->timer_at = 0;
  n->view->poll(*n);
}

}  // namespace umnet
