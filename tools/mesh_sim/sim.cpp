// The mesh simulator: see sim.h. Theory of operation:
//  * Every node is a libstack Stack with one interface per incident edge (an InProcessHub
//    pair delaying each frame by RTT / 2) and a tn::RouterHost running the router through
//    its C ABI (threadnet_router_v1), exactly as umnet runs it for --mesh.
//  * One manual clock. A heap holds each node's next deadline (its stack's timers and
//    in-flight frames, the router's poll time); the loop pops the earliest, advances the
//    clock to it and polls that node only. Frames a node sends wake their receivers
//    through the stack's wake-up callback, which re-schedules them.
//  * The router's send() is observed on the way out (decoded with the wire parser) to
//    count floods and packets per flood; everything else is measured from outside:
//    Dijkstra on the graph, and walks along the next hops of the stacks' routing tables.
#include "sim.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <map>
#include <queue>
#include <set>
#include <sstream>

#include "libstack/links.h"
#include "libstack/stack.h"
#include "node.h"
#include "router_host.h"
#include "wire.h"

extern "C" const tn_router *threadnet_router_v1(void);

namespace ntksim {
namespace {

using libstack::Instant;

using SplitMix = libstack::SplitMix64;  // the project's deterministic generator

class Sim;
struct SimNode {
  Sim *sim = nullptr;
  uint32_t id = 0;
  std::unique_ptr<SplitMix> rng;
  std::unique_ptr<libstack::Stack> stack;
  std::unique_ptr<tn::RouterHost> rh;
  tn_router_host host{};     // the RouterHost's table with send() observed
  const tn_router_host *inner = nullptr;
  void *self = nullptr;
  uint64_t start_at = 0;
  bool started = false, alive = true, rx_pending = false;
  uint64_t router_at = UINT64_MAX, sched = UINT64_MAX;
  std::map<uint32_t, std::pair<uint32_t, uint32_t>> peer;  // ifindex -> (node, edge)
  ntk::Node *node() const { return static_cast<ntk::Node *>(self); }
  uint32_t address() const { return self ? node()->address() : 0; }
};

struct FloodKey {
  uint32_t round;
  uint8_t kind;
  uint32_t gnode;
  uint8_t origin;
  auto operator<=>(const FloodKey &) const = default;
};

class Sim {
 public:
  explicit Sim(const Config &c) : cfg_(c), g_(c.graph) {}
  ~Sim() {
    for (auto &s : n_)
      if (s->self) r_->destroy(s->self), s->self = nullptr;
  }
  bool build(std::string *err);
  void run_until(uint64_t t);
  bool converge(uint64_t limit);
  void check(Result *r, bool full);
  void measure_floods(Result *r);
  void kill(uint32_t k, Result *r);
  uint64_t now() const { return now_; }
  uint32_t max_round() const;

 private:
  struct Stats {
    uint64_t changes = 0;
    uint64_t routes = 0, hooks = 0, nbrs = 0, starts = 0;  // parts of changes (debug)
    uint64_t founded = 0, fusion = 0, dup = 0, gid = 0;   // why nodes (re-)hooked (debug)
    uint32_t unhooked = 0;
  };
  Stats stats() const;
  void debug_duplicate(uint32_t id, const char *line);
  std::vector<uint64_t> dbg_hooked_at_;
  std::vector<std::string> dbg_why_;
  void resched(uint32_t i);
  void poll_node(uint32_t i);
  static int sim_send(void *ctx, uint32_t ifindex, const tn_router_addr *dst, uint16_t port,
                      const void *buf, size_t len);
  // within_gnode: only through nodes of src's level-0 gnode (where level-0 routes go).
  std::vector<uint64_t> dijkstra(uint32_t src, std::vector<int64_t> *parent = nullptr,
                                 bool within_gnode = false) const;
  int next_node(uint32_t cur, uint32_t dst, uint32_t *edge);

  Config cfg_;
  Graph g_;
  const tn_router *r_ = nullptr;
  std::vector<std::unique_ptr<SimNode>> n_;
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> adj_;  // node -> (peer, edge)
  using Item = std::pair<uint64_t, uint32_t>;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> heap_;
  std::vector<uint32_t> dirty_;
  uint64_t now_ = 0;
  std::map<FloodKey, uint64_t> floods_;  // packets per flood
  bool tally_ = false;
  std::map<uint32_t, uint32_t> owner_;  // mesh address -> node
  struct PendingUp {
    uint32_t edge, ia, ib;
  };
  std::vector<PendingUp> pending_up_;   // links that come up later
  void links_up();
  std::vector<std::vector<int>> nh_;    // next-hop cache of one check
  std::vector<std::vector<uint32_t>> ne_;  // and the edge it takes
};

bool Sim::build(std::string *err) {
  r_ = threadnet_router_v1();
  adj_.assign(g_.nodes, {});
  for (uint32_t e = 0; e < g_.edges.size(); ++e) {
    adj_[g_.edges[e].a].push_back({g_.edges[e].b, e});
    adj_[g_.edges[e].b].push_back({g_.edges[e].a, e});
  }
  std::vector<const char *> argv;
  for (const std::string &s : cfg_.router_args) argv.push_back(s.c_str());
  for (uint32_t i = 0; i < g_.nodes; ++i) {
    auto sn = std::make_unique<SimNode>();
    sn->id = i;
    sn->sim = this;
    sn->rng = std::make_unique<SplitMix>(cfg_.seed * 1000003 + i);
    libstack::Tuning t;
    t.forward_v4 = true;
    t.ipv6_link_local = false;
    t.router_solicitations = 0;
    t.gratuitous_arp = false;
    t.neigh_max_entries = 64;
    sn->stack = libstack::Stack::create(libstack::StackConfig{*sn->rng, t});
    SimNode *p = sn.get();
    sn->stack->set_wakeup([this, i] { dirty_.push_back(i); });
    n_.push_back(std::move(sn));
    (void)p;
  }
  for (uint32_t e = 0; e < g_.edges.size(); ++e) {
    libstack::InProcessOptions o;
    o.trusted_checksum = true;
    o.queue_limit = 4096;
    o.impairments.delay = std::chrono::nanoseconds(uint64_t(g_.edges[e].rtt_us) * 500);
    auto [la, lb] = libstack::InProcessHub::make_pair(o);
    auto mac = [&](uint32_t node) {
      libstack::MacAddr m;
      m.b = {0x02, uint8_t(node >> 16), uint8_t(node >> 8), uint8_t(node), uint8_t(e >> 8), uint8_t(e)};
      m.b[1] ^= uint8_t(e >> 16) << 4;
      return m;
    };
    uint32_t a = g_.edges[e].a, b = g_.edges[e].b;
    int ia = n_[a]->stack->add_interface(std::move(la), mac(a));
    int ib = n_[b]->stack->add_interface(std::move(lb), mac(b));
    if (ia < 0 || ib < 0) {
      *err = "cannot add interfaces for edge " + std::to_string(e);
      return false;
    }
    n_[a]->peer[uint32_t(ia)] = {b, e};
    n_[b]->peer[uint32_t(ib)] = {a, e};
    if (g_.edges[e].up_at_ns) {
      n_[a]->stack->set_link_up(uint32_t(ia), false);
      n_[b]->stack->set_link_up(uint32_t(ib), false);
      pending_up_.push_back({e, uint32_t(ia), uint32_t(ib)});
    }
  }
  // Join order: breadth first from node 0, join_gap apart.
  std::vector<bool> seen(g_.nodes);
  std::vector<uint32_t> order;
  for (uint32_t root = 0; root < g_.nodes; ++root) {
    if (seen[root]) continue;
    std::queue<uint32_t> q;
    q.push(root);
    seen[root] = true;
    while (!q.empty()) {
      uint32_t x = q.front();
      q.pop();
      order.push_back(x);
      for (auto [y, e] : adj_[x])
        if (!seen[y]) seen[y] = true, q.push(y);
    }
  }
  for (size_t k = 0; k < order.size(); ++k) {
    SimNode &s = *n_[order[k]];
    s.start_at = k * cfg_.join_gap_ns;
    uint32_t i = s.id;
    tn::RouterHost::Callbacks cb;
    cb.now_ns = [this] { return now_; };
    cb.random_u64 = [p = &s] { return p->rng->next_u64(); };
    cb.wakeup = [this, p = &s, i](uint64_t at) {
      p->router_at = std::min(p->router_at, at);
      dirty_.push_back(i);
    };
    cb.readable = [this, p = &s, i] {
      p->rx_pending = true;
      dirty_.push_back(i);
    };
    s.rh = std::make_unique<tn::RouterHost>(*s.stack, cb, r_->port);
    if (!s.rh->open_sockets(err)) return false;
    s.inner = s.rh->host();
    s.host = *s.inner;
    s.host.ctx = &s;
    s.host.now_ns = [](void *c) { auto *p = static_cast<SimNode *>(c); return p->inner->now_ns(p->inner->ctx); };
    s.host.random_u64 = [](void *c) { auto *p = static_cast<SimNode *>(c); return p->inner->random_u64(p->inner->ctx); };
    s.host.wakeup = [](void *c, uint64_t at) { auto *p = static_cast<SimNode *>(c); p->inner->wakeup(p->inner->ctx, at); };
    s.host.interfaces = [](void *c, tn_router_if *o, int m) { auto *p = static_cast<SimNode *>(c); return p->inner->interfaces(p->inner->ctx, o, m); };
    s.host.add_address = [](void *c, uint32_t f, const tn_router_addr *a, uint8_t l) { auto *p = static_cast<SimNode *>(c); return p->inner->add_address(p->inner->ctx, f, a, l); };
    s.host.del_address = [](void *c, uint32_t f, const tn_router_addr *a, uint8_t l) { auto *p = static_cast<SimNode *>(c); return p->inner->del_address(p->inner->ctx, f, a, l); };
    s.host.set_route = [](void *c, const tn_router_addr *d, uint8_t l, const tn_router_nexthop *h, int n) { auto *p = static_cast<SimNode *>(c); return p->inner->set_route(p->inner->ctx, d, l, h, n); };
    s.host.log = nullptr;
    if (std::getenv("NTK_SIM_DEBUG"))
      s.host.log = [](void *c, const char *line) {
        auto *p = static_cast<SimNode *>(c);
        if (std::strcmp(std::getenv("NTK_SIM_DEBUG"), "dup") == 0) {
          p->sim->debug_duplicate(p->id, line);
          return;
        }
        // NTK_SIM_DEBUG_FROM=S: only the lines from virtual second S on (a long run's end)
        if (const char *from = std::getenv("NTK_SIM_DEBUG_FROM"); from && double(p->sim->now_) / 1e9 < std::atof(from))
          return;
        std::fprintf(stderr, "%10.3f n%u %s\n", double(p->sim->now_) / 1e9, p->id, line);
      };
    s.host.send = sim_send;
    char e[256] = "";
    s.self = r_->create(&s.host, int(argv.size()), argv.data(), e, sizeof e);
    if (!s.self) {
      *err = e;
      return false;
    }
    s.sched = s.start_at;
    heap_.push({s.start_at, i});
  }
  return true;
}

int Sim::sim_send(void *ctx, uint32_t ifindex, const tn_router_addr *dst, uint16_t port,
                  const void *buf, size_t len) {
  auto *p = static_cast<SimNode *>(ctx);
  Sim &sim = *p->sim;
  if (sim.tally_) {
    auto m = ntk::decode({static_cast<const uint8_t *>(buf), len}, nullptr);
    if (m && m->h.type == ntk::Type::Tracer && m->tracer.kind != ntk::TracerKind::Plain) {
      bool close = m->tracer.kind == ntk::TracerKind::Close;
      FloodKey k{m->tracer.round, uint8_t(m->tracer.kind), m->h.src_addr >> 8,
                 close ? m->tracer.hops.front().pos : m->tracer.sub_id};
      ++sim.floods_[k];
    }
  }
  return p->inner->send(p->inner->ctx, ifindex, dst, port, buf, len);
}

void Sim::resched(uint32_t i) {
  SimNode &s = *n_[i];
  if (!s.alive) return;
  uint64_t d;
  if (!s.started) {
    d = s.start_at;
  } else {
    Instant sd = s.stack->next_deadline();
    d = sd == libstack::kNever ? UINT64_MAX : uint64_t(std::max<int64_t>(0, sd.count()));
    d = std::min(d, s.router_at);
    if (s.rx_pending) d = now_;
    d = std::max(d, now_);
  }
  if (d == s.sched) return;
  s.sched = d;
  if (d != UINT64_MAX) heap_.push({d, i});
}

void Sim::poll_node(uint32_t i) {
  SimNode &s = *n_[i];
  if (!s.started) {
    if (now_ < s.start_at) return;
    s.started = true;
    r_->start(s.self);
  }
  for (int k = 0; k < 16; ++k) {
    s.stack->poll(Instant(now_));
    s.rx_pending = false;
    s.rh->deliver(r_, s.self);
    if (s.router_at <= now_) {
      s.router_at = UINT64_MAX;
      uint64_t nd = r_->poll(s.self, now_);
      s.router_at = std::min(s.router_at, nd);
    }
    Instant sd = s.stack->next_deadline();
    uint64_t d = sd == libstack::kNever ? UINT64_MAX : uint64_t(std::max<int64_t>(0, sd.count()));
    if (std::min(d, s.router_at) > now_ && !s.rx_pending) break;
  }
}

void Sim::run_until(uint64_t t) {
  while (!heap_.empty()) {
    auto [at, i] = heap_.top();
    if (at > t) break;
    heap_.pop();
    SimNode &s = *n_[i];
    if (!s.alive || at != s.sched) continue;
    s.sched = UINT64_MAX;
    now_ = std::max(now_, at);
    poll_node(i);
    resched(i);
    while (!dirty_.empty()) {
      std::vector<uint32_t> d;
      d.swap(dirty_);
      std::sort(d.begin(), d.end());
      d.erase(std::unique(d.begin(), d.end()), d.end());
      for (uint32_t j : d) resched(j);
    }
  }
  now_ = std::max(now_, t);
}

void Sim::links_up() {
  std::erase_if(pending_up_, [&](const PendingUp &p) {
    const Edge &e = g_.edges[p.edge];
    if (e.up_at_ns > now_) return false;
    n_[e.a]->stack->set_link_up(p.ia, true);
    n_[e.b]->stack->set_link_up(p.ib, true);
    r_->link_event(n_[e.a]->self, p.ia, 1);
    r_->link_event(n_[e.b]->self, p.ib, 1);
    dirty_.push_back(e.a);
    dirty_.push_back(e.b);
    return true;
  });
}

// NTK_SIM_DEBUG=dup: each re-hook for a duplicate position, classified by what the
// simulator sees: the other tag's node at our address (real), elsewhere (stale), or gone.
void Sim::debug_duplicate(uint32_t id, const char *line) {
  if (dbg_hooked_at_.size() < n_.size()) dbg_hooked_at_.resize(n_.size()), dbg_why_.resize(n_.size(), "first");
  if (std::strstr(line, "hooked at")) {
    dbg_hooked_at_[id] = now_;
    return;
  }
  if (const char *r = std::strstr(line, "re-hooking: ")) {
    dbg_why_[id] = std::string(r + 12, std::min<size_t>(std::strlen(r + 12), 18));
    for (char &ch : dbg_why_[id]) if (ch == ' ') ch = '_';
  }
  unsigned tag = 0;
  const char *t = std::strstr(line, "(tag ");
  if (!t || std::sscanf(t, "(tag %u", &tag) != 1) return;
  uint32_t mine = n_[id]->node()->address();
  const char *what = "gone";
  uint32_t other = 0;
  for (const auto &s : n_) {
    if (!s->alive || uint32_t(s->node()->nid()) != tag) continue;
    uint32_t a = s->node()->address();
    other = s->id;
    what = a == mine ? "real" : (a >> 8) == (mine >> 8) ? "stale-same-gnode" : a ? "stale-other-gnode" : "stale-unhooked";
  }
  // Is the other connected, inside the gnode and not through us, to our gnode neighbours?
  const char *split = "-";
  if (other != id && n_[other]->node()->address() == mine) {
    std::vector<char> seen(n_.size(), 0);
    std::vector<uint32_t> q{other};
    seen[other] = 1, seen[id] = 1;
    while (!q.empty()) {
      uint32_t x = q.back();
      q.pop_back();
      for (auto [y, e] : adj_[x])
        if (!seen[y] && n_[y]->alive && n_[y]->node()->gnode() == (mine >> 8)) seen[y] = 1, q.push_back(y);
    }
    split = "split";
    for (auto [y, e] : adj_[id])
      if (y != other && seen[y] && n_[y]->node()->gnode() == (mine >> 8)) split = "joined";
  }
  std::fprintf(stderr, "%10.3f dup n%u %s %s mine-age %.1f (%s) other-age %.1f (%s)\n", double(now_) / 1e9, id, what, split,
               double(now_ - dbg_hooked_at_[id]) / 1e9, dbg_why_[id].c_str(),
               double(now_ - dbg_hooked_at_[other]) / 1e9, dbg_why_[other].c_str());
}

Sim::Stats Sim::stats() const {
  Stats st;
  for (const auto &s : n_) {
    if (!s->alive) continue;
    const ntk::Counters &c = s->node()->counters();
    st.changes += c.route_changes + c.hooks + c.neighbours_new + c.neighbours_lost;
    st.routes += c.route_changes, st.hooks += c.hooks, st.starts += c.rounds_started;
    st.nbrs += c.neighbours_new + c.neighbours_lost;
    st.founded += c.gnodes_founded, st.fusion += c.rehooks_fusion, st.dup += c.rehooks_duplicate;
    st.gid += c.rehooks_gnode_id;
    st.unhooked += !s->node()->hooked();
  }
  return st;
}

uint32_t Sim::max_round() const {
  uint32_t r = 0;
  for (const auto &s : n_)
    if (s->alive) r = std::max(r, s->node()->round());
  return r;
}

// Converged: every node hooked and nothing changed for a quiet window.
bool Sim::converge(uint64_t limit) {
  const ntk::Node &any = *n_[0]->node();
  (void)any;
  ntk::Options o;
  std::string e;
  std::vector<const char *> argv;
  for (const std::string &s : cfg_.router_args) argv.push_back(s.c_str());
  ntk::parse_options(int(argv.size()), argv.data(), &o, &e);
  uint64_t step = o.radar_interval_ns;
  uint64_t quiet_needed = o.qspn_wait_ns + 3 * o.radar_interval_ns;
  uint64_t last_start = 0;
  for (const auto &s : n_) last_start = std::max(last_start, s->start_at);
  Stats prev = stats();
  uint64_t quiet = 0;
  uint64_t last_up = 0;
  for (const PendingUp &p : pending_up_) last_start = std::max(last_start, g_.edges[p.edge].up_at_ns);
  (void)last_up;
  while (now_ < limit) {
    run_until(now_ + step);
    links_up();
    Stats st = stats();
    if (const char *dbg = std::getenv("NTK_SIM_DEBUG"); dbg && std::strcmp(dbg, "3") == 0)
      std::fprintf(stderr, "t=%.0f changes +%llu (routes +%llu hooks +%llu neighbours +%llu) rounds started +%llu unhooked %u round %u founded +%llu fusion +%llu dup +%llu gnode-id +%llu\n",
                   double(now_) / 1e9, (unsigned long long)(st.changes - prev.changes),
                   (unsigned long long)(st.routes - prev.routes), (unsigned long long)(st.hooks - prev.hooks),
                   (unsigned long long)(st.nbrs - prev.nbrs), (unsigned long long)(st.starts - prev.starts),
                   st.unhooked, max_round(), (unsigned long long)(st.founded - prev.founded),
                   (unsigned long long)(st.fusion - prev.fusion), (unsigned long long)(st.dup - prev.dup),
                   (unsigned long long)(st.gid - prev.gid));
    if (now_ > last_start && st.unhooked == 0 && st.changes == prev.changes) quiet += step;
    else quiet = 0;
    prev = st;
    if (quiet >= quiet_needed) return true;
  }
  return false;
}

std::vector<uint64_t> Sim::dijkstra(uint32_t src, std::vector<int64_t> *parent,
                                   bool within_gnode) const {
  uint32_t g = within_gnode ? n_[src]->node()->gnode() : 0;
  std::vector<uint64_t> d(g_.nodes, UINT64_MAX);
  if (parent) parent->assign(g_.nodes, -1);
  using Q = std::pair<uint64_t, uint32_t>;
  std::priority_queue<Q, std::vector<Q>, std::greater<>> q;
  d[src] = 0;
  q.push({0, src});
  while (!q.empty()) {
    auto [c, x] = q.top();
    q.pop();
    if (c != d[x]) continue;
    for (auto [y, e] : adj_[x]) {
      if (!n_[y]->alive || (within_gnode && n_[y]->node()->gnode() != g)) continue;
      uint64_t nc = c + g_.edges[e].rtt_us;
      if (nc < d[y]) {
        d[y] = nc;
        if (parent) (*parent)[y] = x;
        q.push({nc, y});
      }
    }
  }
  return d;
}

// The next node a packet from `cur` to `dst` takes, by cur's stack (-1: none).
int Sim::next_node(uint32_t cur, uint32_t dst, uint32_t *edge) {
  int &c = nh_[cur][dst];
  if (c != -2) {
    *edge = ne_[cur][dst];
    return c;
  }
  c = -1;
  uint32_t a = n_[dst]->address();
  auto rc = n_[cur]->stack->lookup_route(libstack::IpAddr(libstack::Ipv4Addr::from_u32(a)));
  if (!rc || rc->route.origin != libstack::RouteInfo::Origin::Mesh) return c;
  auto it = n_[cur]->peer.find(rc->ifindex);
  if (it == n_[cur]->peer.end()) return c;
  uint32_t peer = it->second.first;
  if (!n_[peer]->alive || n_[peer]->address() != rc->gateway.v4().to_u32()) return c;
  *edge = ne_[cur][dst] = it->second.second;
  return c = int(peer);
}

void Sim::check(Result *r, bool full) {
  std::vector<uint32_t> live;
  for (const auto &s : n_)
    if (s->alive) live.push_back(s->id);
  nh_.assign(g_.nodes, std::vector<int>(g_.nodes, -2));
  ne_.assign(g_.nodes, std::vector<uint32_t>(g_.nodes, 0));
  std::map<uint32_t, uint32_t> count;
  std::set<uint32_t> gnodes;
  r->unhooked = 0;
  for (uint32_t i : live) {
    ++count[n_[i]->node()->address()];
    gnodes.insert(n_[i]->node()->gnode());
    r->unhooked += !n_[i]->node()->hooked();
  }
  r->duplicate_addresses = 0;
  for (auto [a, c] : count) r->duplicate_addresses += c > 1 ? c - 1 : 0;
  r->gnodes = uint32_t(gnodes.size());
  r->levels = r->gnodes > 1 ? 2 : 1;
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  SplitMix pick(cfg_.seed ^ 0x5eed);
  if (full || uint64_t(live.size()) * live.size() <= cfg_.sample_pairs) {
    for (uint32_t s : live)
      for (uint32_t d : live)
        if (s != d) pairs.push_back({s, d});
  } else {
    for (size_t k = 0; k < cfg_.sample_pairs; ++k) {
      uint32_t s = live[pick.below(live.size())], d = live[pick.below(live.size())];
      if (s != d) pairs.push_back({s, d});
    }
  }
  std::sort(pairs.begin(), pairs.end());
  if (const char *dbg = std::getenv("NTK_SIM_DEBUG"); dbg && std::strcmp(dbg, "2") == 0)
    for (uint32_t i : live)
      std::fprintf(stderr, "node %u %08x round %u dests %zu\n", i, n_[i]->address(),
                   n_[i]->node()->round(), n_[i]->node()->destinations()),
      std::fprintf(stderr, "%s%s\n", n_[i]->node()->dump_map().c_str(), n_[i]->node()->status_json().c_str());
  r->reachable_checked = r->reachable_ok = r->exact_checked = r->exact_ok = 0;
  std::vector<double> stretch;
  uint32_t last_src = UINT32_MAX;
  std::vector<uint64_t> dist, inner;
  for (auto [s, d] : pairs) {
    if (s != last_src) dist = dijkstra(s), inner = dijkstra(s, nullptr, true), last_src = s;
    if (dist[d] == UINT64_MAX) continue;  // the graph itself is cut: no pair to check
    // Exact pairs: inside one gnode, against the shortest path through that gnode's nodes
    // (level-0 routes never leave it); the same as the whole graph's when it is one gnode.
    bool same = n_[s]->node()->gnode() == n_[d]->node()->gnode() && inner[d] != UINT64_MAX;
    ++r->reachable_checked;
    if (same) ++r->exact_checked;
    uint64_t cost = 0;
    uint32_t cur = s;
    bool ok = false;
    for (uint32_t hop = 0; hop <= g_.nodes && n_[s]->node()->hooked(); ++hop) {
      if (cur == d) {
        ok = true;
        break;
      }
      uint32_t edge = 0;
      int nx = next_node(cur, d, &edge);
      if (nx < 0) break;
      cost += g_.edges[edge].rtt_us;
      cur = uint32_t(nx);
    }
    if (!ok) {
      static int shown = 0;
      if (std::getenv("NTK_SIM_DEBUG") && shown++ < 5) {
        auto *nd = n_[cur]->node();
        std::fprintf(stderr, "unreachable %u -> %u (%08x), stuck at %u (%08x): %s\n", s, d,
                     n_[d]->address(), cur, n_[cur]->address(), nd->status_json().c_str());
      }
      continue;
    }
    ++r->reachable_ok;
    if (same && cost == inner[d]) ++r->exact_ok;
    else if (same && std::getenv("NTK_SIM_DEBUG")) {
      static int shown2 = 0;
      if (shown2++ < 8)
        std::fprintf(stderr, "inexact %u -> %u: walked %llu, dijkstra %llu, router's best %u\n", s, d,
                     (unsigned long long)cost, (unsigned long long)inner[d],
                     n_[s]->node()->best_cost(uint8_t(n_[d]->address())));
    }
    stretch.push_back(dist[d] ? double(cost) / double(dist[d]) : 1.0);
  }
  std::sort(stretch.begin(), stretch.end());
  r->stretch_mean = 0;
  for (double x : stretch) r->stretch_mean += x;
  if (!stretch.empty()) {
    r->stretch_mean /= double(stretch.size());
    r->stretch_p99 = stretch[std::min(stretch.size() - 1, size_t(double(stretch.size()) * 0.99))];
  }
  // NTK_SIM_DEBUG=split: gnodes whose nodes are not one connected part inside the gnode.
  if (const char *dbg = std::getenv("NTK_SIM_DEBUG"); dbg && std::strcmp(dbg, "split") == 0) {
    std::map<uint32_t, std::vector<uint32_t>> by;
    for (uint32_t i : live) by[n_[i]->node()->gnode()].push_back(i);
    for (auto &[g, v] : by) {
      std::vector<char> seen(n_.size(), 0);
      int parts = 0;
      std::string sizes;
      for (uint32_t a : v) {
        if (seen[a]) continue;
        ++parts;
        size_t k = 0;
        std::vector<uint32_t> q{a};
        seen[a] = 1;
        while (!q.empty()) {
          uint32_t x = q.back();
          q.pop_back();
          ++k;
          for (auto [y, e] : adj_[x])
            if (!seen[y] && n_[y]->alive && n_[y]->node()->gnode() == g) seen[y] = 1, q.push_back(y);
        }
        sizes += " " + std::to_string(k);
      }
      if (parts > 1) std::fprintf(stderr, "split gnode %x: %d parts of%s\n", g, parts, sizes.c_str());
    }
  }
  if (const char *dbg = std::getenv("NTK_SIM_DEBUG"); dbg && std::strcmp(dbg, "unhooked") == 0)
    for (uint32_t i : live)
      if (!n_[i]->node()->hooked())
        std::fprintf(stderr, "unhooked n%u: %s\n", i, n_[i]->node()->status_json().c_str());
  if (std::getenv("NTK_SIM_DEBUG")) {
    uint64_t founded = 0, fusion = 0, dup = 0, hooks = 0;
    for (uint32_t i : live) {
      const ntk::Counters &c = n_[i]->node()->counters();
      founded += c.gnodes_founded, fusion += c.rehooks_fusion, dup += c.rehooks_duplicate, hooks += c.hooks;
    }
    std::map<uint32_t, int> sizes;
    for (uint32_t i : live) ++sizes[n_[i]->node()->gnode()];
    std::fprintf(stderr, "hooks %llu founded %llu fusion %llu duplicate %llu; gnode sizes:",
                 (unsigned long long)hooks, (unsigned long long)founded, (unsigned long long)fusion,
                 (unsigned long long)dup);
    for (auto [g, n] : sizes) std::fprintf(stderr, " %x:%d", g, n);
    std::fprintf(stderr, "\n");
  }
  r->max_routes_per_destination = 0;
  r->map_bytes_per_node_max = 0;
  r->dropped_malformed = r->rate_limited = 0;
  for (uint32_t i : live) {
    const ntk::Node &nd = *n_[i]->node();
    r->max_routes_per_destination = std::max(r->max_routes_per_destination, nd.max_routes_per_destination());
    r->map_bytes_per_node_max = std::max(r->map_bytes_per_node_max, nd.map_bytes());
    const ntk::Counters &c = nd.counters();
    r->dropped_malformed += c.rx_short + c.rx_bad_magic + c.rx_bad_version + c.rx_bad_length +
                            c.rx_unknown_type + c.rx_bad_body + c.rx_bad_hops;
    r->rate_limited += c.rx_rate_limited;
  }
}


// One refresh round after convergence: floods (closes by starters, opens by extreme
// nodes) and packets per flood, against the extreme nodes of the shortest-path tree
// computed here from the starters.
void Sim::measure_floods(Result *r) {
  ntk::Options o;
  std::string e;
  std::vector<const char *> argv;
  for (const std::string &s : cfg_.router_args) argv.push_back(s.c_str());
  ntk::parse_options(int(argv.size()), argv.data(), &o, &e);
  floods_.clear();
  tally_ = true;
  uint32_t r0 = max_round();
  run_until(now_ + o.qspn_wait_round_ns + 2 * o.qspn_wait_ns);
  tally_ = false;
  uint32_t R = r0 + 1;
  std::set<uint32_t> starters;
  uint64_t floods = 0;
  r->packets_per_flood_max = 0;
  for (auto &[k, packets] : floods_) {
    if (k.round != R) continue;
    ++floods;
    r->packets_per_flood_max = std::max(r->packets_per_flood_max, packets);
    if (k.kind == uint8_t(ntk::TracerKind::Close))
      for (const auto &s : n_)
        if (s->alive && s->address() == ((k.gnode << 8) | k.origin)) starters.insert(s->id);
  }
  r->floods_per_round = double(floods);
  // Extreme nodes: the leaves of the multi-source shortest-path tree from the starters.
  std::vector<uint64_t> d(g_.nodes, UINT64_MAX);
  std::vector<int64_t> parent(g_.nodes, -1);
  using Q = std::pair<uint64_t, uint32_t>;
  std::priority_queue<Q, std::vector<Q>, std::greater<>> q;
  for (uint32_t s : starters) d[s] = 0, q.push({0, s});
  while (!q.empty()) {
    auto [c, x] = q.top();
    q.pop();
    if (c != d[x]) continue;
    for (auto [y, ed] : adj_[x]) {
      if (!n_[y]->alive) continue;
      uint64_t nc = c + g_.edges[ed].rtt_us;
      if (nc < d[y]) d[y] = nc, parent[y] = x, q.push({nc, y});
    }
  }
  std::vector<bool> has_child(g_.nodes);
  for (uint32_t i = 0; i < g_.nodes; ++i)
    if (parent[i] >= 0) has_child[size_t(parent[i])] = true;
  r->extreme_nodes = 0;
  uint64_t bound = 1;
  for (const auto &s : n_) {
    if (!s->alive) continue;
    if (!starters.count(s->id) && d[s->id] != UINT64_MAX && !has_child[s->id]) ++r->extreme_nodes;
    size_t deg = 0;
    for (auto [y, ed] : adj_[s->id]) deg += n_[y]->alive;
    bound += deg ? deg - 1 : 0;
  }
  r->packets_per_flood_bound = bound;
}

void Sim::kill(uint32_t k, Result *r) {
  ntk::Options o;
  std::string e;
  std::vector<const char *> argv;
  for (const std::string &s : cfg_.router_args) argv.push_back(s.c_str());
  ntk::parse_options(int(argv.size()), argv.data(), &o, &e);
  SplitMix pick(cfg_.seed ^ 0xdead);
  std::vector<std::pair<uint32_t, uint32_t>> dead;  // (address, tag)
  for (uint32_t n = 0; n < k && n + 2 < g_.nodes; ++n) {
    uint32_t i;
    do i = uint32_t(pick.below(g_.nodes)); while (!n_[i]->alive);
    SimNode &s = *n_[i];
    dead.push_back({s.address(), uint32_t(s.node()->nid())});
    s.alive = false;
    r_->destroy(s.self);
    s.self = nullptr;
    s.rh.reset();
    s.stack.reset();  // its links go with it: neighbours hear nothing more
  }
  uint32_t r0 = max_round();
  uint64_t limit = now_ + 10 * o.qspn_wait_round_ns;
  while (now_ < limit) {
    run_until(now_ + o.radar_interval_ns);
    Result t;
    Config keep = cfg_;
    cfg_.sample_pairs = 2000;
    check(&t, false);
    cfg_ = keep;
    bool gone = true;
    for (const auto &s : n_)
      if (s->alive)
        for (auto [a, tag] : dead)  // routes to the dead node itself (its position may be taken again)
          if (s->node()->gnode() == (a >> 8) && s->node()->holder_tag(uint8_t(a)) == tag) gone = false;
    if (const char *dbg = std::getenv("NTK_SIM_DEBUG"); dbg && std::strcmp(dbg, "kill") == 0)
      std::fprintf(stderr, "t=%.0f after the kill: gone %d reachable %llu/%llu exact %llu/%llu\n",
                   double(now_) / 1e9, int(gone), (unsigned long long)t.reachable_ok,
                   (unsigned long long)t.reachable_checked, (unsigned long long)t.exact_ok,
                   (unsigned long long)t.exact_checked);
    if (gone && t.reachable_ok == t.reachable_checked && t.exact_ok == t.exact_checked) {
      r->reconverge_rounds = int(max_round() - r0);
      return;
    }
  }
  r->reconverge_rounds = -1;  // not within ten rounds
}

}  // namespace

bool Graph::make(const std::string &topology, uint32_t nodes, uint32_t degree, uint64_t seed,
                 Graph *g, std::string *err) {
  SplitMix rng(seed);
  auto rtt = [&] { return uint32_t(1000 + rng.below(19001)); };
  g->edges.clear();
  g->nodes = nodes;
  if (topology == "ring") {
    if (nodes < 3) return *err = "a ring needs at least 3 nodes", false;
    for (uint32_t i = 0; i < nodes; ++i) g->edges.push_back({i, (i + 1) % nodes, rtt()});
  } else if (topology == "grid") {
    if (nodes < 4) return *err = "a grid needs at least 4 nodes", false;
    uint32_t side = uint32_t(std::ceil(std::sqrt(double(nodes))));
    for (uint32_t i = 0; i < nodes; ++i) {
      if ((i % side) + 1 < side && i + 1 < nodes) g->edges.push_back({i, i + 1, rtt()});
      if (i + side < nodes) g->edges.push_back({i, i + side, rtt()});
    }
  } else if (topology == "random") {
    if (nodes < 2) return *err = "a random graph needs at least 2 nodes", false;
    if (degree < 1 || degree >= nodes) return *err = "--degree must be 1..nodes-1", false;
    std::set<std::pair<uint32_t, uint32_t>> have;
    for (uint32_t i = 1; i < nodes; ++i) {  // a random spanning tree keeps it connected
      uint32_t j = uint32_t(rng.below(i));
      have.insert({j, i});
      g->edges.push_back({j, i, rtt()});
    }
    uint64_t want = uint64_t(nodes) * degree / 2;
    for (uint64_t tries = 0; g->edges.size() < want && tries < want * 20; ++tries) {
      uint32_t a = uint32_t(rng.below(nodes)), b = uint32_t(rng.below(nodes));
      if (a == b) continue;
      if (a > b) std::swap(a, b);
      if (!have.insert({a, b}).second) continue;
      g->edges.push_back({a, b, rtt()});
    }
  } else {
    std::ifstream f(topology);
    if (!f) return *err = "cannot read topology file " + topology + " (or: ring, grid, random)", false;
    std::string line;
    uint32_t maxn = 0, lineno = 0;
    while (std::getline(f, line)) {
      ++lineno;
      if (line.empty() || line[0] == '#') continue;
      std::istringstream ls(line);
      long a = -1, b = -1, r = -1, up = 0;
      if (!(ls >> a >> b >> r) || (!(ls >> up) && !ls.eof()) || up < 0 || up > 86'400'000 || a < 0 || b < 0 || a == b || r < 1 || r > 10'000'000 ||
          a > 1'000'000 || b > 1'000'000)
        return *err = topology + ":" + std::to_string(lineno) + ": expected 'A B RTT_US [UP_AT_MS]'", false;
      g->edges.push_back({uint32_t(a), uint32_t(b), uint32_t(r), uint64_t(up) * 1'000'000});
      maxn = std::max(maxn, uint32_t(std::max(a, b)) + 1);
    }
    if (g->edges.empty()) return *err = topology + ": no edges", false;
    g->nodes = maxn;
  }
  return true;
}

std::string Result::json() const {
  char b[2048];
  std::snprintf(b, sizeof b,
      "{\"nodes\":%u,\"levels\":%u,\"converged\":%s,\"rounds\":%u,\"gnodes\":%u,"
      "\"duplicate_addresses\":%u,\"unhooked\":%u,"
      "\"reachable_pairs_checked\":%llu,\"reachable_pairs_ok\":%llu,"
      "\"exact_pairs_checked\":%llu,\"exact_pairs_ok\":%llu,\"stretch_mean\":%.4f,"
      "\"stretch_p99\":%.4f,\"max_routes_per_destination\":%zu,\"floods_per_round\":%.1f,"
      "\"extreme_nodes\":%u,\"packets_per_flood_max\":%llu,\"packets_per_flood_bound\":%llu,"
      "\"map_bytes_per_node_max\":%zu,\"reconverge_rounds\":%d,\"virtual_seconds\":%.1f,"
      "\"wall_seconds\":%.2f,\"peak_rss_bytes\":%llu,\"dropped_malformed\":%llu,"
      "\"rate_limited\":%llu}",
      nodes, levels, converged ? "true" : "false", rounds, gnodes, duplicate_addresses, unhooked,
      (unsigned long long)reachable_checked, (unsigned long long)reachable_ok,
      (unsigned long long)exact_checked, (unsigned long long)exact_ok, stretch_mean, stretch_p99,
      max_routes_per_destination, floods_per_round, extreme_nodes,
      (unsigned long long)packets_per_flood_max, (unsigned long long)packets_per_flood_bound,
      map_bytes_per_node_max, reconverge_rounds, virtual_seconds, wall_seconds,
      (unsigned long long)peak_rss_bytes, (unsigned long long)dropped_malformed,
      (unsigned long long)rate_limited);
  return b;
}

bool run(const Config &cfg, Result *out, std::string *err, bool progress) {
  auto t0 = std::chrono::steady_clock::now();
  Sim sim(cfg);
  if (!sim.build(err)) return false;
  Result &r = *out;
  r.nodes = cfg.graph.nodes;
  r.converged = sim.converge(cfg.max_virtual_ns);
  if (progress) std::fprintf(stderr, "mesh-sim: %s at %.1f virtual s\n", r.converged ? "converged" : "NOT converged", double(sim.now()) / 1e9);
  r.rounds = sim.max_round();
  sim.check(&r, cfg.graph.nodes <= 1000);
  if (r.converged) sim.measure_floods(&r);
  if (cfg.kill) sim.kill(cfg.kill, &r);
  r.virtual_seconds = double(sim.now()) / 1e9;
  r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  r.peak_rss_bytes = uint64_t(ru.ru_maxrss) * 1024;
  return true;
}

}  // namespace ntksim
