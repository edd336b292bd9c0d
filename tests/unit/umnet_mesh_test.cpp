// umnet's --mesh glue (modules/umnet/mesh.cpp) with a stand-in router plug-in
// (fake_router.c): loading and checking the plug-in, options in and errors out, two nodes on
// an in-memory link driven as the view drives them, link events, and the withdrawal of the
// router's address and routes (label unit).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "libstack/links.h"
#include "libstack/stack.h"
#include "mesh.h"

namespace {

using libstack::Instant;
using umnet::MeshNode;
using umnet::MeshOption;
using umnet::RouterPlugin;

std::shared_ptr<RouterPlugin> load(const char *path, std::string *err) {
  return RouterPlugin::open(path, err);
}

TEST(MeshPlugin, LoadErrorsAreOneLineEach) {
  std::string err;
  EXPECT_FALSE(load("/nonexistent/threadnet-netsukuku.so", &err));
  EXPECT_EQ(err.rfind("--mesh: cannot load the mesh router /nonexistent/threadnet-netsukuku.so: ", 0), 0u) << err;
  EXPECT_FALSE(load(NOSYM_MODULE, &err));
  EXPECT_EQ(err, std::string("--mesh: ") + NOSYM_MODULE +
                     " is not a mesh router (no symbol threadnet_router_v1)");
  EXPECT_FALSE(load(BADABI_ROUTER, &err));
  EXPECT_EQ(err, std::string("--mesh: the mesh router ") + BADABI_ROUTER +
                     " was built for router ABI version 99, this umnet supports version 1; rebuild it");
  EXPECT_FALSE(load(SHORT_ROUTER, &err));
  EXPECT_EQ(err.rfind(std::string("--mesh: the mesh router ") + SHORT_ROUTER +
                          " has an incomplete router table (size ", 0), 0u) << err;
  auto p = load(FAKE_ROUTER, &err);
  ASSERT_TRUE(p) << err;
  EXPECT_STREQ(p->table().name, "fake");
  EXPECT_EQ(p->path(), FAKE_ROUTER);
}

// Two stacks on one in-memory switch, each with a MeshNode, polled the way View::poll does
// (stack, then the node) on a manual clock.
struct Net {
  struct Side {
    std::unique_ptr<libstack::SplitMix64> rng;
    std::unique_ptr<libstack::Stack> stack;
    uint32_t ifx = 0;
    std::unique_ptr<MeshNode> mesh;
    std::vector<std::string> log;
    std::vector<uint64_t> wakes;
    int poll_soon = 0;
    uint64_t next = 0;
  };
  std::shared_ptr<libstack::InProcessHub> hub = libstack::InProcessHub::create({});
  Side s[2];
  uint64_t now = 1'000'000'000;

  Net() {
    for (int i = 0; i < 2; ++i) {
      s[i].rng = std::make_unique<libstack::SplitMix64>(uint64_t(i) + 7);
      s[i].stack = libstack::Stack::create({*s[i].rng});
      libstack::MacAddr mac{{0x02, 0, 0, 0, 0, uint8_t(i + 1)}};
      s[i].ifx = uint32_t(s[i].stack->add_interface(hub->add_port(), mac, 0, "eth0"));
    }
  }
  MeshNode::Hooks hooks(int i) {
    MeshNode::Hooks h;
    h.now_ns = [this] { return now; };
    h.wake_by = [this, i](uint64_t at) { s[i].wakes.push_back(at); };
    h.poll_soon = [this, i] { ++s[i].poll_soon; };
    h.log = [this, i](const char *l) { s[i].log.push_back(l); };
    return h;
  }
  bool start(const std::shared_ptr<RouterPlugin> &p, const std::vector<MeshOption> &o,
             std::string *err) {
    for (int i = 0; i < 2; ++i) {
      s[i].mesh = MeshNode::start(p, *s[i].stack, *s[i].rng, o, hooks(i), err);
      if (!s[i].mesh) return false;
    }
    return true;
  }
  void step() {
    now += 1'000'000;
    for (auto &x : s) {
      x.stack->poll(Instant(int64_t(now)));
      if (x.mesh) x.next = x.mesh->poll(now);
    }
  }
  static bool has(const std::vector<std::string> &v, const std::string &line) {
    return std::find(v.begin(), v.end(), line) != v.end();
  }
  static size_t mesh_routes(const libstack::Stack &st) {
    size_t n = 0;
    for (auto &r : st.routes()) n += r.origin == libstack::RouteInfo::Origin::Mesh;
    return n;
  }
  static bool has_address(const libstack::Stack &st, const char *cidr) {
    for (auto &a : st.addresses())
      if (a.cidr == *libstack::Cidr::parse(cidr)) return true;
    return false;
  }
};

TEST(MeshNode, TwoNodesHookAndRouteThroughTheGlue) {
  std::string err;
  auto p = load(FAKE_ROUTER, &err);
  ASSERT_TRUE(p) << err;
  Net net;
  ASSERT_TRUE(net.start(p, {{"mesh-radar-interval", "200ms"}, {"mesh-verbose", "1"}}, &err)) << err;
  for (auto &x : net.s) {
    // The options reached create() as "--KEY" "VALUE" pairs, in order.
    ASSERT_GE(x.log.size(), 2u);
    EXPECT_EQ(x.log[0], "opt mesh-radar-interval=200ms");
    EXPECT_EQ(x.log[1], "opt mesh-verbose=1");
    // start() ran: its wake-up request came through, on the owner's clock.
    ASSERT_EQ(x.wakes.size(), 1u);
    EXPECT_EQ(x.wakes[0], net.now + 1'000'000);
    EXPECT_FALSE(x.mesh->hooked());
    EXPECT_TRUE(x.mesh->can_tell_hooked());
  }
  EXPECT_TRUE(Net::has_address(*net.s[0].stack, "10.0.0.1/8"));
  EXPECT_TRUE(Net::has_address(*net.s[1].stack, "10.0.0.2/8"));
  for (int i = 0; i < 20 && !(net.s[0].mesh->hooked() && net.s[1].mesh->hooked()); ++i) net.step();
  for (int i = 0; i < 2; ++i) {
    auto &x = net.s[i];
    EXPECT_TRUE(x.mesh->hooked()) << i;
    EXPECT_TRUE(Net::has(x.log, "hooked via " + std::to_string(2 - i))) << i;
    EXPECT_GT(x.poll_soon, 0) << "the datagram's arrival asked for a poll";
    EXPECT_EQ(x.next, net.now + 10'000'000) << "poll() returns the router's deadline";
    EXPECT_EQ(Net::mesh_routes(*x.stack), 1u);
  }
  // The route the router set is a Mesh route through the neighbour.
  auto c = net.s[0].stack->lookup_route(*libstack::IpAddr::parse("10.99.2.7"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->route.origin, libstack::RouteInfo::Origin::Mesh);
  EXPECT_EQ(c->gateway, *libstack::IpAddr::parse("10.0.0.2"));

  // An interface set down (`ip link set eth0 down` in the view) reaches the router once.
  net.s[0].stack->set_link_up(net.s[0].ifx, false);
  net.step();
  net.step();
  std::string down = "link " + std::to_string(net.s[0].ifx) + " down";
  EXPECT_EQ(std::count(net.s[0].log.begin(), net.s[0].log.end(), down), 1);
  EXPECT_EQ(Net::mesh_routes(*net.s[0].stack), 0u);  // the fake drops its routes then
  net.s[0].stack->set_link_up(net.s[0].ifx, true);
  net.step();
  EXPECT_TRUE(Net::has(net.s[0].log, "link " + std::to_string(net.s[0].ifx) + " up"));

  // The node goes: its address and routes leave the stack with it.
  net.s[1].mesh.reset();
  EXPECT_FALSE(Net::has_address(*net.s[1].stack, "10.0.0.2/8"));
  EXPECT_EQ(Net::mesh_routes(*net.s[1].stack), 0u);
  EXPECT_TRUE(Net::has_address(*net.s[0].stack, "10.0.0.1/8"));
}

TEST(MeshNode, TheRoutersMessageIsTheError) {
  std::string err;
  auto p = load(FAKE_ROUTER, &err);
  ASSERT_TRUE(p) << err;
  {
    Net net;
    EXPECT_FALSE(net.start(p, {{"mesh-radar-interval", "bad"}}, &err));
    EXPECT_EQ(err, "--mesh-radar-interval bad: not a duration (500ms, 5s or milliseconds)");
  }
  {
    Net net;
    EXPECT_FALSE(net.start(p, {{"mesh-realm", "bad"}}, &err));
    EXPECT_EQ(err, "--mesh: realm bad is not a prefix");
  }
  auto few = load(FEWOPTS_ROUTER, &err);
  ASSERT_TRUE(few) << err;
  Net net;
  EXPECT_FALSE(net.start(few, {{"mesh-flood-rate", "100"}}, &err));
  EXPECT_EQ(err, std::string("--mesh-flood-rate: the installed mesh router (") + FEWOPTS_ROUTER +
                     ") does not take this option");
  EXPECT_TRUE(net.start(few, {{"mesh-radar-pings", "4"}}, &err)) << err;
}

}  // namespace
