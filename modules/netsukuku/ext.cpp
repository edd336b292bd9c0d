// Level 1: routes to the other gnodes of our level-1 gnode (the ext_map of 5.3), one
// multipath route per gnode covering its /24 range.
//
// A border node (a neighbour in another gnode of the same level-1 gnode) knows that gnode
// at the neighbour's RTT. Every node sends its neighbours in the level-1 gnode its best
// cost to each gnode (not counting routes through the receiver: split horizon), at once
// when one changes (a withdrawn gnode is sent as unreachable) and in full every three radar
// intervals; routes not heard for four refreshes expire. This is a distance vector over
// gnodes where the document floods level-1 tracers between border nodes (docs/mesh.md
// "Departures"): it keeps the routes and ranges of 5.3 with far less machinery, and its
// costs count the RTT to the gnode's border, not to the node inside it, so routes across
// gnodes have a stretch the level-0 routes do not.
#include <algorithm>

#include "node.h"

namespace ntk {

namespace {
constexpr uint32_t kMaxCost = 60'000'000;  // 60 s: beyond it a route counts to infinity
}

uint32_t Node::ext_best_cost(uint8_t g) const {
  return ext_[g].routes.empty() ? UINT32_MAX : ext_[g].routes.front().cost_us;
}

size_t Node::ext_destinations() const {
  size_t n = 0;
  for (const ExtDest& d : ext_) n += !d.routes.empty();
  return n;
}

uint32_t Node::ext_best_not_via(uint8_t g, const Key& k) const {
  for (const ExtRoute& r : ext_[g].routes)
    if (r.via() != k) return r.cost_us;
  return kUnreachable;
}

void Node::ext_learn(uint8_t g, const Nbr& via, uint64_t cost_us, uint64_t now) {
  if (!hooked() || g == gnode_of(addr_)) return;
  ExtDest& d = ext_[g];
  uint32_t before = ext_best_cost(g);
  Key k{via.ifindex, via.nid};
  auto it = std::find_if(d.routes.begin(), d.routes.end(), [&](const ExtRoute& r) { return r.via() == k; });
  if (cost_us >= kMaxCost) {
    if (it == d.routes.end()) return;
    d.routes.erase(it);
  } else if (it != d.routes.end()) {
    it->cost_us = uint32_t(cost_us);
    it->gw = via.addr;
    it->heard_at = now;
  } else {
    if (d.routes.size() >= o_.maxroutes && cost_us >= d.routes.back().cost_us) return;
    if (d.routes.empty()) d.routes.reserve(o_.maxroutes);
    d.routes.push_back({via.nid, via.ifindex, via.addr, uint32_t(cost_us), now});
  }
  std::stable_sort(d.routes.begin(), d.routes.end(),
                   [](const ExtRoute& a, const ExtRoute& b) { return a.cost_us < b.cost_us; });
  if (d.routes.size() > o_.maxroutes) d.routes.resize(o_.maxroutes);
  if (ext_best_cost(g) != before) {
    ext_dirty_[g] = true;
    ext_push_at_ = std::min(ext_push_at_, now + std::max<uint64_t>(o_.qspn_wait_ns / 64, 1'000'000));
  }
  ext_install(g);
}

void Node::ext_drop_via(const Key& k) {
  for (unsigned g = 0; g < kMaxGroupNode; ++g) {
    ExtDest& d = ext_[g];
    size_t before = d.routes.size();
    bool was_best = !d.routes.empty() && d.routes.front().via() == k;
    std::erase_if(d.routes, [&](const ExtRoute& r) { return r.via() == k; });
    if (d.routes.size() == before) continue;
    if (was_best) {
      ext_dirty_[g] = true;
      ext_push_at_ = std::min(ext_push_at_, now_ + 1'000'000);
    }
    ext_install(uint8_t(g));
  }
}

void Node::ext_install(uint8_t g) {
  ExtDest& d = ext_[g];
  std::vector<tn_router_nexthop> hops;
  uint64_t sig = 0;
  if (!d.routes.empty()) {
    sig = 1469598103934665603ull;
    uint64_t best = std::max<uint32_t>(1, d.routes.front().cost_us);
    for (size_t i = 0; i < std::min<size_t>(d.routes.size(), TN_ROUTER_MAX_NEXTHOPS); ++i) {
      const ExtRoute& r = d.routes[i];
      tn_router_nexthop x{};
      x.gateway.family = 4;
      for (int b = 0; b < 4; ++b) x.gateway.b[b] = uint8_t(r.gw >> (24 - 8 * b));
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
  for (int b = 0; b < 4; ++b) dst.b[b] = uint8_t(a >> (24 - 8 * b));
  ++c_.route_changes;
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
  ext_dirty_.fill(false);
  ext_push_at_ = ext_refresh_at_ = UINT64_MAX;
}

// Our costs to the neighbours of the level-1 gnode: the changed ones, or all (refresh).
void Node::ext_push(uint64_t now, bool full) {
  ext_push_at_ = UINT64_MAX;
  if (full) {
    ext_expire(now);
    ext_refresh_at_ = now + 3 * o_.radar_interval_ns;
  }
  std::vector<ExtEntry> v;
  for (auto& [k, n] : nbrs_) {
    if (!n.alive || !n.rtt_us || !same_level1(n.addr)) continue;
    v.clear();
    for (unsigned g = 0; g < kMaxGroupNode; ++g) {
      if (g == gnode_of(n.addr) || !(full ? !ext_[g].routes.empty() : ext_dirty_[g])) continue;
      v.push_back({uint8_t(g), ext_best_not_via(uint8_t(g), k)});
    }
    // A neighbour in another gnode learns ours from its radar; our gnode-mates do not
    // need it. Nothing to say: no message.
    if (v.empty()) continue;
    size_t mtu = 1500;
    for (const tn_router_if& f : ifs_)
      if (f.ifindex == n.ifindex && f.mtu) mtu = f.mtu;
    if (encode(out_, header(Type::ExtMap, n.nid), 1, v, mtu - 28)) {
      send(n.ifindex, out_);
      ++c_.ext_maps_sent;
    }
  }
  ext_dirty_.fill(false);
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
    uint64_t cost = e.cost_us == kUnreachable ? kMaxCost : uint64_t(e.cost_us) + n->rtt_us;
    ext_learn(e.gnode, *n, cost, now);
  }
}

}  // namespace ntk
