// --mesh: the mesh router plug-in (threadnet-netsukuku.so, ABI threadnet/router.h) on a
// stack of a view (see mesh.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <threadnet/module.h>
#include <threadnet/router.h>

#include "config.h"
#include "libstack/stack.h"
#include "router_host.h"

namespace umnet {

// The router plug-in, loaded once per view and shared by its mesh stacks; unloaded when
// the last of them is gone (a router's code must outlive every node it made).
class RouterPlugin {
 public:
  // The plug-in the launcher would load for "netsukuku" (tn_host.find_module, so it is
  // found where the user's modules are). nullptr with a one-line message.
  static std::shared_ptr<RouterPlugin> find(const tn_host *h, std::string *err);
  // The plug-in at `path` (also for tests). nullptr with a one-line message.
  static std::shared_ptr<RouterPlugin> open(const std::string &path, std::string *err);
  ~RouterPlugin();
  RouterPlugin(const RouterPlugin &) = delete;
  RouterPlugin &operator=(const RouterPlugin &) = delete;

  const tn_router &table() const { return *r_; }
  const std::string &path() const { return path_; }
  // Does the table reach this field (an older router's table is shorter)?
  bool has(size_t field_end) const { return r_->size >= field_end; }

 private:
  RouterPlugin() = default;
  void *dl_ = nullptr;
  const tn_router *r_ = nullptr;
  std::string path_;
};

// One router node on one libstack stack: its sockets (tn::RouterHost), its timers on the
// view's clock, its link events, its address and routes (withdrawn when it goes).
class MeshNode {
 public:
  struct Hooks {
    std::function<uint64_t()> now_ns;            // the clock the stack is polled with
    std::function<void(uint64_t at_ns)> wake_by;  // poll the stack (and the router) by then
    std::function<void()> poll_soon;             // a datagram waits for the router
    std::function<void(const char *line)> log;   // empty: the router's lines are dropped
  };
  // Sockets opened, the node created with `options` ("--KEY" "VALUE" pairs) and started.
  // nullptr with a one-line message (an option the router refuses: the router's own).
  static std::unique_ptr<MeshNode> start(std::shared_ptr<RouterPlugin> plugin,
                                         libstack::Stack &stack, libstack::Random &rng,
                                         const std::vector<MeshOption> &options, Hooks hooks,
                                         std::string *err);
  ~MeshNode();
  MeshNode(const MeshNode &) = delete;
  MeshNode &operator=(const MeshNode &) = delete;

  // After the stack's poll: waiting datagrams to the router, interfaces that went up or
  // down, then the router's timers. Returns its next deadline (UINT64_MAX: none).
  uint64_t poll(uint64_t now_ns);
  // Can the router say whether it is hooked (a start gate is possible)?
  bool can_tell_hooked() const;
  bool hooked() const;

 private:
  MeshNode(std::shared_ptr<RouterPlugin> plugin, libstack::Stack &stack,
           tn::RouterHost::Callbacks cb);
  void link_events();

  std::shared_ptr<RouterPlugin> plugin_;  // first: unloaded after everything below
  const tn_router &r_;
  libstack::Stack &stack_;
  tn::RouterHost rh_;
  void *self_ = nullptr;
  std::map<uint32_t, bool> up_;  // last seen link state per interface (loopback aside)
};

}  // namespace umnet
