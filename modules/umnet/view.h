// A view: the named stacks a supervised tree's sockets are served from, and what drives
// them on the supervisor's event loop (see view.cpp).
#pragma once

#include <array>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <threadnet/module.h>

#include "config.h"
#include "libstack/autoconf.h"
#include "libstack/links.h"
#include "libstack/stack.h"
#include "mesh.h"
#include "splice.h"
#include "stack_far.h"
#include "vsock.h"

namespace umnet {

class Publisher;

class View;

struct StackNode {
  View *view = nullptr;
  std::string name;
  StackSpec spec;
  std::unique_ptr<libstack::Random> rng;
  std::unique_ptr<libstack::Stack> stack;  // null for the host stack
  std::unique_ptr<libstack::Autoconf> autoconf;
  std::unique_ptr<DnsRedirect> dns;
  std::unique_ptr<Lingering> linger;
  std::unique_ptr<HostSplice> splice;              // slirp links: outgoing TCP to host sockets
  std::unique_ptr<tn::vsock::Provider> provider;  // StackProvider, or HostProvider for host
  uint32_t ifindex = 0;                           // eth0's interface (0: none)
  std::vector<uint32_t> ifindexes;                // eth0, eth1, ...: one per link
  std::vector<int> link_fds;                      // per link: its watched fd, or -1
  long deadline_timer = 0;
  uint64_t timer_at = 0;
  bool poll_scheduled = false;
  long poll_timer = 0;
  long gate_dhcp = 0, gate_slaac = 0;  // the program's start waits for these (--wait-net)
  long gate_mesh = 0;                  // ... and this: the router's own address (hook)
  uint64_t mesh_at = UINT64_MAX;       // the router's next deadline / wake-up (ns)
  bool in_mesh_poll = false;           // inside MeshNode::poll: its deadline is folded after
  // Last: destroyed first, while the stack its sockets, address and routes live on is there.
  std::unique_ptr<MeshNode> mesh;  // --mesh / mesh: the stack's router node
  bool host() const { return spec.kind == StackSpec::Kind::Host; }
  // Name servers of this stack: configured, then learnt (DHCP, RDNSS).
  std::vector<libstack::IpAddr> dns_servers() const;
};

class View {
 public:
  View(const tn_host *h, tn::vsock::Engine &engine);
  ~View();
  View(const View &) = delete;
  View &operator=(const View &) = delete;

  // Creates every stack of `cfg` (links opened, addresses, routes, DHCP/SLAAC started) and
  // the --publish listeners. false with a one-line message on error.
  bool build(const ViewConfig &cfg, std::string *err);
  // Stops timers and watches; stacks are destroyed with the view.
  void shutdown();

  StackNode *find(const std::string &name);
  int index_of(const std::string &name) const;  // -1 if none
  StackNode &node(size_t i) { return *nodes_[i]; }
  size_t size() const { return nodes_.size(); }

  // Drive one stack now (frames in, timers, autoconf) and re-arm its deadline.
  void poll(StackNode &n);

 private:
  static constexpr std::string_view kMemScheme = "mem://";
  // MTU of slirp:// links given without mtu= (the vdeplug slirp plugin's frames).
  static constexpr size_t kSlirpMtu = 9000;
  bool add_stack(const StackSpec &spec, std::string *err);
  bool add_mesh(StackNode &n, std::string *err);
  // The RFC 7217 key of this view's SLAAC stacks, from the user's secret (loaded once).
  const std::array<uint8_t, 16> &slaac_key();
  bool add_link(StackNode &n, const LinkSpec &link, size_t k, std::string *err);
  std::unique_ptr<libstack::Link> mem_link(const std::string &url, std::string *err);
  void schedule_poll(StackNode &n);
  void check_ready(StackNode &n);
  void arm_deadline(StackNode &n);
  uint64_t now() const { return h_->now_ns(h_->hv); }
  static void link_cb(void *arg, int fd, uint32_t ev);
  static void poll_timer_cb(void *arg);
  static void deadline_cb(void *arg);

  const tn_host *h_;
  tn::vsock::Engine &engine_;
  std::vector<libstack::IpAddr> host_dns_;
  std::map<std::string, std::shared_ptr<libstack::InProcessHub>> hubs_;  // mem://NAME
  std::vector<std::unique_ptr<StackNode>> nodes_;
  std::unique_ptr<Publisher> publisher_;
  std::optional<std::array<uint8_t, 16>> slaac_key_;
  std::vector<MeshOption> mesh_options_;    // --mesh-*: for every mesh stack's router
  std::shared_ptr<RouterPlugin> router_;    // loaded with the first mesh stack
};

}  // namespace umnet
