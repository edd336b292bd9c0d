// Level 1: routes to the other gnodes of our level-1 gnode (the ext_map of 5.3), one
// multipath route per gnode covering its /24 range.
//
// A border node (a neighbour in another gnode of the same level-1 gnode) knows that gnode
// at the neighbour's RTT. Every node sends its neighbours in the level-1 gnode its selected
// cost to each gnode, at once when it changes and in full every three radar intervals;
// routes not heard for four refreshes expire. This is a distance vector over gnodes where
// the document floods level-1 tracers between border nodes (docs/mesh.md "Departures"): it
// keeps the routes and ranges of 5.3 with far less machinery, and its costs count the RTT
// to the gnode's border, not to the node inside it.
//
// A plain distance vector counts to infinity when a gnode goes (measured: a gnode that
// fused away was still "reachable" at 3 s and climbing minutes later, rewriting routes at
// every node all the while). So it is loop-free the way Babel is (RFC 8966 3.5): each cost
// carries the destination gnode's sequence number (the low 16 bits of its QSPN round, in
// every header; the gnode's border neighbours read it from the radar), a node keeps the
// best (seq, cost) it has advertised as its feasibility distance, and selects only routes
// that are feasible: a newer seq, or the same seq and a neighbour's own cost below that
// distance. A node left with no feasible route withdraws the gnode and waits for a newer
// seq, which comes with the gnode's next round (a change at its border starts one at once).
#include <algorithm>

#include "node.h"

namespace ntk {

namespace {
constexpr uint32_t kMaxCost = 60'000'000;  // 60 s: beyond it a gnode counts as unreachable
bool newer(uint16_t a, uint16_t b) { return int16_t(uint16_t(a - b)) > 0; }  // RFC 1982
}  // namespace

bool Node::ext_feasible(const ExtDest& d, const ExtRoute& r) const {
  return !d.fd_set || newer(r.seq, d.fd_seq) || (r.seq == d.fd_seq && r.adv_us < d.fd_us);
}

const Node::ExtRoute* Node::ext_best(uint8_t g, const Key* not_via) const {
  const ExtDest& d = ext_[g];
  for (const ExtRoute& r : d.routes)
    if ((!not_via || r.via() != *not_via) && ext_feasible(d, r)) return &r;
  return nullptr;
}

uint32_t Node::ext_best_cost(uint8_t g) const {
  const ExtRoute* b = ext_best(g, nullptr);
  return b ? b->cost_us : UINT32_MAX;
}

size_t Node::ext_destinations() const { return ext_reachable_; }

void Node::ext_learn(uint8_t g, const Nbr& via, uint16_t seq, uint32_t tag, uint8_t origin,
                     uint8_t size, uint32_t adv_us, uint64_t cost_us, uint64_t now) {
  if (!hooked() || g == gnode_of(addr_)) return;
  ExtDest& d = ext_[g];
  if (tag != d.tag) {
    // Two gnodes took this id (founded at once, each out of sight of the other): the one
    // with the larger tag keeps it everywhere, the other re-hooks when it hears of it.
    if (!d.routes.empty() && tag < d.tag) return;
    if (adv_us == kUnreachable) return;
    d.routes.clear();
    d.fd_set = d.prev_set = false;
    d.tag = tag;
  }
  const ExtRoute* b = ext_best(g, nullptr);
  uint32_t before = b ? b->cost_us : UINT32_MAX;
  uint16_t before_seq = b ? b->seq : 0;
  Key k{via.ifindex, via.nid};
  auto it = std::find_if(d.routes.begin(), d.routes.end(), [&](const ExtRoute& r) { return r.via() == k; });
  if (adv_us == kUnreachable || cost_us >= kMaxCost) {
    if (it == d.routes.end()) return;
    d.routes.erase(it);
  } else if (it != d.routes.end()) {
    it->origin = origin;
    it->size = size;
    if (it->cost_us == cost_us && it->seq == seq && it->gw == via.addr) {
      it->heard_at = now;
      return;
    }
    it->cost_us = uint32_t(cost_us);
    it->adv_us = adv_us;
    it->seq = seq;
    it->gw = via.addr;
    it->heard_at = now;
  } else {
    if (d.routes.size() >= o_.maxroutes && cost_us >= d.routes.back().cost_us) return;
    if (d.routes.empty()) d.routes.reserve(o_.maxroutes);
    ExtRoute r{via.nid, via.ifindex, via.addr, uint32_t(cost_us), adv_us, seq, now, origin, size};
    if (d.routes.size() >= o_.maxroutes) d.routes.back() = r;  // the worst goes (no regrowth)
    else d.routes.push_back(r);
  }
  std::stable_sort(d.routes.begin(), d.routes.end(),
                   [](const ExtRoute& a, const ExtRoute& b) { return a.cost_us < b.cost_us; });
  if (d.routes.size() > o_.maxroutes) d.routes.resize(o_.maxroutes);
  b = ext_best(g, nullptr);
  if ((b ? b->cost_us : UINT32_MAX) != before || (b && b->seq != before_seq)) {
    ext_dirty_[g] = true;
    ext_push_at_ = std::min(ext_push_at_, now + std::max<uint64_t>(o_.qspn_wait_ns / 64, 1'000'000));
  }
  ext_install(g);
}

void Node::ext_drop_via(const Key& k) {
  for (unsigned g = 0; g < kMaxGroupNode; ++g) {
    ExtDest& d = ext_[g];
    size_t before = d.routes.size();
    const ExtRoute* b = ext_best(uint8_t(g), nullptr);
    bool was_best = b && b->via() == k;
    std::erase_if(d.routes, [&](const ExtRoute& r) { return r.via() == k; });
    if (d.routes.size() == before) continue;
    if (was_best) {
      ext_dirty_[g] = true;
      ext_push_at_ = std::min(ext_push_at_, now_ + 1'000'000);
    }
    ext_install(uint8_t(g));
  }
}

// The feasible routes, cheapest first, and next to them the routes that were feasible
// by the distance before the last newer seq: while a newer seq spreads, a neighbour that
// has not heard it yet still goes the way it went (judged by the new distance alone its
// route would go and come back, a rewrite at every node for every gnode's every round).
void Node::ext_install(uint8_t g) {
  ExtDest& d = ext_[g];
  std::vector<tn_router_nexthop> hops;
  uint64_t sig = 0;
  const ExtRoute* b = ext_best(g, nullptr);
  if (d.counted != (b != nullptr)) {
    d.counted = b != nullptr;
    ext_reachable_ = d.counted ? ext_reachable_ + 1 : ext_reachable_ - 1;
  }
  if (b) {
    sig = 1469598103934665603ull;
    uint64_t best = std::max<uint32_t>(1, b->cost_us);
    for (const ExtRoute& r : d.routes) {
      if (hops.size() >= TN_ROUTER_MAX_NEXTHOPS) break;
      // A newer seq makes any cost feasible; installed, though, only below the distance
      // (or as the selected route), so that the set does not grow and shrink back as
      // the seq passes.
      bool now_ok = &r == b || (ext_feasible(d, r) && (!d.fd_set || r.adv_us < d.fd_us));
      bool before_ok = d.prev_set && r.seq == d.prev_seq && r.adv_us < d.prev_us;
      if (!now_ok && !before_ok) continue;
      tn_router_nexthop x{};
      x.gateway.family = 4;
      for (int i = 0; i < 4; ++i) x.gateway.b[i] = uint8_t(r.gw >> (24 - 8 * i));
      x.ifindex = r.ifindex;
      x.weight = uint16_t(std::clamp<uint64_t>(256 * best / std::max<uint32_t>(1, r.cost_us), 1, 256));
      hops.push_back(x);
      for (uint64_t v : {uint64_t(x.ifindex), uint64_t(x.weight), uint64_t(r.gw)})
        sig = (sig ^ v) * 1099511628211ull;
    }
  }
  if (sig == d.installed || !addr_) return;
  tn_router_addr dst{};
  dst.family = 4;
  uint32_t a = (addr_ & 0xffff0000u) | uint32_t(g) << 8;
  for (int i = 0; i < 4; ++i) dst.b[i] = uint8_t(a >> (24 - 8 * i));
  ++c_.route_changes;
  if (o_.verbose) {
    std::string l = "gnode route to " + std::to_string(g) + ":";
    for (const ExtRoute& r : d.routes)
      l += " " + std::to_string(r.gw & 255) + "/" + std::to_string(r.cost_us) + "/s" + std::to_string(r.seq);
    log(l);
  }
  if (h_->set_route(h_->ctx, &dst, 24, hops.data(), int(hops.size())) < 0) ++c_.route_errors;
  d.installed = sig;
}

void Node::ext_expire(uint64_t now) {
  uint64_t ttl = 4 * 3 * o_.radar_interval_ns;
  for (unsigned g = 0; g < kMaxGroupNode; ++g) {
    ExtDest& d = ext_[g];
    size_t before = d.routes.size();
    std::erase_if(d.routes, [&](const ExtRoute& r) { return r.heard_at + ttl < now; });
    if (d.routes.size() != before) {
      ext_dirty_[g] = true;
      ext_install(uint8_t(g));
    }
  }
}

void Node::ext_clear() {
  for (unsigned g = 0; g < kMaxGroupNode; ++g) {
    ext_[g].routes.clear();
    ext_install(uint8_t(g));
    ext_[g] = ExtDest{};
  }
  ext_reachable_ = 0;
  ext_dirty_.fill(false);
  ext_push_at_ = ext_refresh_at_ = UINT64_MAX;
}

// Our selected costs to the neighbours of the level-1 gnode: the changed ones, or all
// (refresh). The same entry goes to every neighbour, the selected route's own next hop
// too: there the cost is above its feasibility distance, so it cannot loop back.
void Node::ext_push(uint64_t now, bool full) {
  ext_push_at_ = UINT64_MAX;
  if (full) {
    ext_expire(now);
    ext_refresh_at_ = now + 3 * o_.radar_interval_ns;
  }
  std::vector<ExtEntry> all;
  for (unsigned g = 0; g < kMaxGroupNode; ++g) {
    ExtDest& d = ext_[g];
    const ExtRoute* b = ext_best(uint8_t(g), nullptr);
    if (!(full ? b != nullptr : ext_dirty_[g])) continue;
    if (!b) {
      if (!d.fd_set) continue;  // never told anyone: nothing to withdraw
      all.push_back({uint8_t(g), d.fd_seq, d.tag, kUnreachable});
      continue;
    }
    all.push_back({uint8_t(g), b->seq, d.tag, b->cost_us, b->origin, b->size});
    if (!d.fd_set || newer(b->seq, d.fd_seq)) {
      d.prev_set = d.fd_set;
      d.prev_seq = d.fd_seq;
      d.prev_us = d.fd_us;
      d.fd_set = true;
      d.fd_seq = b->seq;
      d.fd_us = b->cost_us;
      ext_install(uint8_t(g));  // routes behind the new distance are not feasible now
    } else if (b->seq == d.fd_seq) {
      d.fd_us = std::min(d.fd_us, b->cost_us);
    }
  }
  ext_dirty_.fill(false);
  if (all.empty()) return;
  std::vector<ExtEntry> v;
  for (auto& [k, n] : nbrs_) {
    if (!n.alive || !n.rtt_us || !same_level1(n.addr)) continue;
    // Its own gnode too: a route there that is not into its gnode tells it that another
    // gnode has its id. In a full refresh also the cheapest route there that reaches a
    // round or starter other than the one advertised: our best leads to its own part of
    // the gnode, that one may reach the other part of a split gnode, which it then sees.
    v.assign(all.begin(), all.end());
    if (full && !same_gnode(n.addr) && v.size() < kMaxGroupNode) {
      uint8_t theirs = gnode_of(n.addr);
      auto it = std::find_if(v.begin(), v.end(), [&](const ExtEntry& e) { return e.gnode == theirs; });
      const ExtRoute* other = nullptr;
      if (it != v.end())
        for (const ExtRoute& r : ext_[theirs].routes)
          if (r.cost_us < kMaxCost && (r.seq != it->seq || r.origin != it->origin) &&
              (!other || r.cost_us < other->cost_us))
            other = &r;
      if (other) v.push_back({theirs, other->seq, ext_[theirs].tag, other->cost_us, other->origin, other->size});
    }
    size_t mtu = 1500;
    for (const tn_router_if& f : ifs_)
      if (f.ifindex == n.ifindex && f.mtu) mtu = f.mtu;
    if (encode(out_, header(Type::ExtMap, n.nid), 1, v, mtu - 28)) {
      send(n.ifindex, out_);
      ++c_.ext_maps_sent;
    } else {
      ++c_.tx_too_long;
    }
  }
}

void Node::on_ext_map(uint32_t ifindex, const Message& m, uint64_t now) {
  Nbr* n = find({ifindex, m.h.src_nid});
  if (!n || !n->alive || !n->rtt_us || !hooked() || !same_level1(m.h.src_addr) ||
      n->addr != m.h.src_addr) {
    ++c_.rx_unknown_neighbour;
    return;
  }
  if (!allow(*n, now)) return;
  if (m.ext_level != 1) {
    ++c_.rx_bad_body;  // only level 1 exists in this version
    return;
  }
  ++c_.ext_maps_received;
  for (const ExtEntry& e : m.ext) {
    if (e.gnode == gnode_of(addr_)) {
      if (e.cost_us != kUnreachable && e.tag > gtag_) {
        ++c_.rehooks_gnode_id;
        rehook(now, "another gnode has our id", addr_ >> 8);
        return;
      }
      // Our own id and tag, from across another gnode, with a round ours has not had or
      // our round with another starter: the gnode has fallen in two parts (its nodes left
      // one by one) that meet only through other gnodes, each running its own rounds and
      // handing out the other's positions. A part that is behind leaves; of two in step,
      // the smaller (ties: the lower starter), node by node as each hears of the other (a
      // node that has left tells its old neighbours the same way). Only a settled node
      // judges, and only what it still sees a while later: a round that has not reached
      // us yet, or a tie of starters not yet settled at the border, is not a split.
      if (e.cost_us != kUnreachable && e.tag == gtag_ && map_ready_) {
        uint16_t mine = uint16_t(round_);
        bool ahead = newer(e.seq, mine);
        // (255: no round seen since we joined, so no starter of ours to compare)
        bool beside = e.seq == mine && round_origin_ != 255 && e.origin != round_origin_;
        uint8_t size = uint8_t(std::min<uint16_t>(gnode_size(), 255));
        bool leave = ahead || (beside && (e.size > size || (e.size == size && round_origin_ < e.origin)));
        uint64_t wait = ahead ? o_.qspn_wait_ns : 4 * o_.radar_interval_ns;
        if (leave) {
          if (!split_since_ || now - split_since_ > 3 * wait) {
            split_since_ = std::max<uint64_t>(now, 1);
          } else if (now - split_since_ >= wait) {
            ++c_.rehooks_split;
            shun(addr_ >> 8, now);
            rehook(now, "our gnode is split: the other part is ahead or larger", addr_ >> 8);
            return;
          }
        }
      }
      continue;
    }
    uint64_t cost = e.cost_us == kUnreachable ? kMaxCost : uint64_t(e.cost_us) + n->rtt_us;
    ext_learn(e.gnode, *n, e.seq, e.tag, e.origin, e.size, e.cost_us, cost, now);
  }
}

}  // namespace ntk
