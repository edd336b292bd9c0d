// --mesh: a view's stack as a node of the Netsukuku mesh.
//
// Theory of operation
// -------------------
// The routing protocol is not umnet's: it is a plug-in, threadnet-netsukuku.so, behind the
// router ABI (threadnet/router.h), found where the launcher finds modules
// (tn_host.find_module) and loaded once per view (RTLD_LOCAL: its symbols stay its own).
// Its table is checked (ABI version, size, the calls umnet makes) before any use. Each
// mesh stack gets a MeshNode: a tn::RouterHost (the router's UDP socket on every
// interface, its address and multipath routes of origin Mesh on the stack), the router's
// node made with the view's --mesh-* options and started at once (its first radar scan).
//
// Everything runs on the supervisor's single thread, inside the view's poll of that stack
// (view.cpp): after Stack::poll has taken the frames in, MeshNode::poll hands the
// datagrams that arrived to the router, reports interfaces whose administrative state
// changed (`ip link set eth1 down` in the view), then runs the router's timers; the
// deadline it returns, and any wake-up the router asks for, are folded into the stack's one
// timer. Time is the view's CLOCK_MONOTONIC (what the stack is polled with) and randomness
// the stack's own generator, as the ABI wants.
//
// Tear-down, in this order: the router's node destroyed, its address and routes withdrawn
// from the stack, its sockets closed, then (with the last node) the plug-in unloaded.
#include "mesh.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace umnet {

namespace {

constexpr const char *kRouterName = "netsukuku";
constexpr const char *kRouterFile = "threadnet-netsukuku.so";

#ifndef THREADNET_INSTALL_MODULE_DIR
#define THREADNET_INSTALL_MODULE_DIR "/usr/local/lib/threadnet/modules"
#endif

// The directories the launcher searches (hypervisor/module_loader.cpp, module_dirs), for
// the message only: finding is tn_host.find_module's. umnet runs inside the launcher, so
// /proc/self/exe is the launcher.
std::string searched_dirs() {
  std::string out;
  auto add = [&](const std::string &d) { out += (out.empty() ? "" : ":") + d; };
  if (const char *env = getenv("THREADNET_MODULE_PATH")) {
    std::string s(env);
    for (size_t start = 0; start <= s.size();) {
      size_t c = s.find(':', start);
      if (c == std::string::npos) c = s.size();
      if (c > start) add(s.substr(start, c - start));
      start = c + 1;
    }
  }
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string exe = n > 0 ? std::string(buf, size_t(n)) : std::string("./threadnet");
  std::string dir = exe.substr(0, exe.rfind('/'));
  add(dir + "/../modules");
  add(dir + "/modules");
  add(dir + "/../lib/threadnet/modules");
  add(THREADNET_INSTALL_MODULE_DIR);
  return out;
}

bool fail(std::string *err, std::string msg) {
  if (err) *err = std::move(msg);
  return false;
}

// A message of the router or its host, said as an option's error (the launcher prints
// those as they are): one naming an option stays, another is --mesh's ("mesh: bad value
// '5x' for --mesh-radar-interval" -> "--mesh: bad value '5x' for --mesh-radar-interval").
std::string as_option_error(std::string m) {
  if (m.empty()) m = "the mesh router did not start (no reason given)";
  if (m.starts_with("--")) return m;
  if (m.starts_with("mesh: ")) m.erase(0, 6);
  return "--mesh: " + m;
}

// Is `key` (no dashes) in an option table, and does it take a value? 0: not there, 1: a
// flag, 2: valued.
int option_kind(const char *const *table, const std::string &key) {
  for (const char *const *o = table; o && *o; ++o) {
    std::string_view s = *o;
    bool valued = s.ends_with('=');
    if (valued) s.remove_suffix(1);
    if (s == key) return valued ? 2 : 1;
  }
  return 0;
}

}  // namespace

// ---- the plug-in ------------------------------------------------------------------------------
std::shared_ptr<RouterPlugin> RouterPlugin::find(const tn_host *h, std::string *err) {
  if (h->size < offsetof(tn_host, find_module) + sizeof(void *) || !h->find_module) {
    fail(err, "--mesh: this threadnet launcher cannot find module plug-ins (it is older than "
              "umnet); use the launcher built with this umnet");
    return nullptr;
  }
  char path[PATH_MAX] = "";
  size_t n = h->find_module(h->hv, kRouterName, path, sizeof path);
  if (n == 0 || n >= sizeof path) {
    fail(err, std::string("--mesh: the mesh router ") + kRouterFile +
                  " is not installed (looked in " + searched_dirs() +
                  "; build modules/netsukuku or set THREADNET_MODULE_PATH)");
    return nullptr;
  }
  return open(path, err);
}

std::shared_ptr<RouterPlugin> RouterPlugin::open(const std::string &path, std::string *err) {
  std::shared_ptr<RouterPlugin> p(new RouterPlugin());
  p->path_ = path;
  dlerror();
  p->dl_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!p->dl_) {
    const char *e = dlerror();
    fail(err, "--mesh: cannot load the mesh router " + path + ": " + (e ? e : "dlopen failed"));
    return nullptr;
  }
  auto entry = reinterpret_cast<tn_router_entry_fn>(dlsym(p->dl_, TN_ROUTER_SYMBOL));
  if (!entry) {
    fail(err, "--mesh: " + path + " is not a mesh router (no symbol " TN_ROUTER_SYMBOL ")");
    return nullptr;
  }
  p->r_ = entry();
  const tn_router *r = p->r_;
  if (!r) {
    fail(err, "--mesh: " + path + ": " TN_ROUTER_SYMBOL "() returned NULL");
    return nullptr;
  }
  if (r->abi_version != TN_ROUTER_ABI_VERSION) {
    fail(err, "--mesh: the mesh router " + path + " was built for router ABI version " +
                  std::to_string(r->abi_version) + ", this umnet supports version " +
                  std::to_string(TN_ROUTER_ABI_VERSION) + "; rebuild it");
    return nullptr;
  }
  // The calls umnet cannot do without; link_event, hooked and status are optional.
  if (r->size < offsetof(tn_router, poll) + sizeof(r->poll) || !r->create || !r->destroy ||
      !r->receive || !r->poll || r->port == 0) {
    fail(err, "--mesh: the mesh router " + path + " has an incomplete router table (size " +
                  std::to_string(r->size) + ")");
    return nullptr;
  }
  return p;
}

RouterPlugin::~RouterPlugin() {
  if (dl_) dlclose(dl_);
}

// ---- a node -----------------------------------------------------------------------------------
MeshNode::MeshNode(std::shared_ptr<RouterPlugin> plugin, libstack::Stack &stack,
                   tn::RouterHost::Callbacks cb)
    : plugin_(std::move(plugin)), r_(plugin_->table()), stack_(stack),
      rh_(stack, std::move(cb), plugin_->table().port) {}

std::unique_ptr<MeshNode> MeshNode::start(std::shared_ptr<RouterPlugin> plugin,
                                          libstack::Stack &stack, libstack::Random &rng,
                                          const std::vector<MeshOption> &options, Hooks hooks,
                                          std::string *err) {
  const tn_router &r = plugin->table();
  // An option this umnet knows but the installed router does not (an older router): said
  // here, rather than as whatever the router makes of an unknown argument.
  std::vector<std::string> args;
  for (auto &o : options) {
    if (option_kind(r.options, o.key) != option_kind(kMeshOptions, o.key)) {
      fail(err, "--" + o.key + ": the installed mesh router (" + plugin->path() +
                    ") does not take this option");
      return nullptr;
    }
    args.push_back("--" + o.key);
    args.push_back(o.value);
  }
  tn::RouterHost::Callbacks cb;
  cb.now_ns = hooks.now_ns;
  cb.random_u64 = [&rng] { return rng.next_u64(); };
  cb.wakeup = hooks.wake_by;
  cb.readable = hooks.poll_soon;
  cb.log = hooks.log;
  std::unique_ptr<MeshNode> m(new MeshNode(std::move(plugin), stack, std::move(cb)));
  std::string serr;
  if (!m->rh_.open_sockets(&serr)) {
    fail(err, as_option_error(serr));
    return nullptr;
  }
  for (const auto &i : stack.interfaces())
    if (!i.loopback) m->up_[i.id] = i.up;
  std::vector<const char *> av;
  for (auto &a : args) av.push_back(a.c_str());
  av.push_back(nullptr);
  char msg[512] = "";
  m->self_ = r.create(m->rh_.host(), int(args.size()), av.data(), msg, sizeof msg);
  if (!m->self_) {
    msg[sizeof msg - 1] = 0;
    fail(err, as_option_error(msg));
    return nullptr;
  }
  if (r.start) r.start(m->self_);
  return m;
}

MeshNode::~MeshNode() {
  if (self_) r_.destroy(self_);
  self_ = nullptr;
  rh_.withdraw();
}

uint64_t MeshNode::poll(uint64_t now_ns) {
  rh_.deliver(&r_, self_);
  link_events();
  return r_.poll(self_, now_ns);
}

void MeshNode::link_events() {
  if (!plugin_->has(offsetof(tn_router, link_event) + sizeof(r_.link_event)) || !r_.link_event)
    return;
  for (const auto &i : stack_.interfaces()) {
    if (i.loopback) continue;
    auto it = up_.find(i.id);
    if (it != up_.end() && it->second == i.up) continue;
    up_[i.id] = i.up;
    r_.link_event(self_, i.id, i.up ? 1 : 0);
  }
}

bool MeshNode::can_tell_hooked() const {
  return plugin_->has(offsetof(tn_router, hooked) + sizeof(r_.hooked)) && r_.hooked;
}

bool MeshNode::hooked() const { return can_tell_hooked() && r_.hooked(self_) != 0; }

}  // namespace umnet
