// The internal map: routes per position of the gnode and their multipath routes
// (node.h "Maps"; document 5.1, 5.3).
#include <algorithm>

#include "node.h"

namespace ntk {

void Node::learn(uint8_t pos, uint32_t tag, const Nbr& via, uint64_t cost_us, uint32_t round) {
  if (pos == 0 || pos == 255 || pos == pos_of(addr_)) return;
  Dest& d = map_[pos];
  if (d.used && d.tag != tag) {  // another node now holds that position: start afresh
    d.routes.clear();
  }
  uint32_t best_before = current_best(d);
  d.used = true;
  d.tag = tag;
  uint32_t cost = uint32_t(std::min<uint64_t>(cost_us, UINT32_MAX - 1));
  Key k{via.ifindex, via.nid};
  auto it = std::find_if(d.routes.begin(), d.routes.end(), [&](const Route& r) { return r.via() == k; });
  if (it != d.routes.end()) {
    // A newer round replaces what an older one said; within a round the cheaper wins.
    if (round == it->round && cost >= it->cost_us && it->gw == via.addr) return;
    if (round < it->round) return;
    it->shown_us = round_change_ || it->gw != via.addr ? cost : std::min(it->shown_us, cost);
    it->cost_us = cost;
    it->round = round;
    it->gw = via.addr;
  } else {
    if (d.routes.size() >= o_.maxroutes && cost >= d.routes.back().cost_us) return;
    if (d.routes.empty()) d.routes.reserve(o_.maxroutes);
    Route r{via.nid, via.ifindex, via.addr, cost, round, cost};
    if (d.routes.size() >= o_.maxroutes) d.routes.back() = r;  // the worst goes (no regrowth)
    else d.routes.push_back(r);
  }
  std::stable_sort(d.routes.begin(), d.routes.end(),
                   [](const Route& a, const Route& b) { return a.cost_us < b.cost_us; });
  if (d.routes.size() > o_.maxroutes) d.routes.resize(o_.maxroutes);
  if (current_best(d) < best_before && hooked()) {
    improved_ = true;  // tell the neighbours, soon and once for many changes
    map_dirty_[pos] = true;
    map_push_at_ = std::min(map_push_at_, now_ + std::max<uint64_t>(o_.qspn_wait_ns / 64, 1'000'000));
  }
  install(pos);
}

// The best cost of the routes this round has confirmed (UINT32_MAX: none yet).
uint32_t Node::current_best(const Dest& d) const {
  for (const Route& r : d.routes)
    if (r.round == round_) return r.cost_us;
  return UINT32_MAX;
}

void Node::learn_hops(const std::vector<Hop>& hops, const Nbr& via, uint32_t round) {
  uint64_t cost = via.rtt_us;  // from us to the last hop (the sender)
  for (size_t i = hops.size(); i-- > 0;) {
    learn(hops[i].pos, hops[i].tag, via, cost, round);
    cost += hops[i].rtt_us;  // and on to the hop before it
  }
}

// One multipath route per position: best first, weight 256 x best cost / cost.
void Node::install(uint8_t pos) {
  Dest& d = map_[pos];
  std::vector<tn_router_nexthop> hops;
  // After a change, the routes the current round confirmed, when it has confirmed any: an
  // older route may go through a node that has died since. A refresh round keeps the
  // last round's routes next to this one's until the purge, so a mesh where nothing
  // changed installs nothing new (the routes would otherwise shrink to the first one
  // confirmed and grow back, every round, at every node).
  bool fresh = round_change_ && current_best(d) != UINT32_MAX;
  size_t n = std::min<size_t>({d.routes.size(), o_.maxroutes, TN_ROUTER_MAX_NEXTHOPS});
  std::array<const Route*, TN_ROUTER_MAX_NEXTHOPS> order{};
  size_t m = 0;
  for (size_t i = 0; i < n; ++i)
    if (!fresh || d.routes[i].round == round_) order[m++] = &d.routes[i];
  std::stable_sort(order.begin(), order.begin() + m,
                   [](const Route* a, const Route* b) { return a->shown_us < b->shown_us; });
  uint32_t best_cost = UINT32_MAX;
  for (size_t i = 0; i < m; ++i) {
    const Route& r = *order[i];
    // An alternative next hop only when it is downstream (RFC 5286 3.6: its own cost to
    // the destination is below ours), so every hop of a flow comes nearer: on a shared
    // link (every view on one vxvde:// network) two nodes would otherwise each route the
    // other's way and a flow hashed onto that pair of hops loops until its TTL is gone.
    if (i > 0 && pos_of(r.gw) != pos) {
      auto nb = nbrs_.find(r.via());
      uint32_t own = nb == nbrs_.end() || r.shown_us < nb->second.rtt_us ? r.shown_us : r.shown_us - nb->second.rtt_us;
      if (own >= best_cost) continue;
    }
    best_cost = std::min(best_cost, r.shown_us);
    tn_router_nexthop x{};
    x.gateway.family = 4;
    for (int b = 0; b < 4; ++b) x.gateway.b[b] = uint8_t(r.gw >> (24 - 8 * b));
    x.ifindex = r.ifindex;
    uint64_t best = std::max<uint32_t>(1, best_cost);
    x.weight = uint16_t(std::clamp<uint64_t>(256 * best / std::max<uint32_t>(1, r.shown_us), 1, 256));
    hops.push_back(x);
  }
  uint64_t sig = hops.empty() ? 0 : 1469598103934665603ull;  // FNV-1a of the next hops
  for (const tn_router_nexthop& x : hops)
    for (uint64_t v : {uint64_t(x.ifindex), uint64_t(x.weight),
                       uint64_t(x.gateway.b[0]) << 24 | x.gateway.b[1] << 16 | x.gateway.b[2] << 8 | x.gateway.b[3]})
      sig = (sig ^ v) * 1099511628211ull;
  if (sig == d.installed || !addr_) return;
  tn_router_addr dst{};
  dst.family = 4;
  uint32_t a = (addr_ & ~0xffu) | pos;
  for (int b = 0; b < 4; ++b) dst.b[b] = uint8_t(a >> (24 - 8 * b));
  ++c_.route_changes;
  if (o_.verbose) {
    std::string l = "route to " + std::to_string(pos) + ":";
    for (const Route& r : d.routes) l += " " + std::to_string(r.gw & 255) + "/" + std::to_string(r.cost_us) + "/r" + std::to_string(r.round);
    log(l);
  }
  if (h_->set_route(h_->ctx, &dst, 32, hops.data(), int(hops.size())) < 0) ++c_.route_errors;
  d.installed = sig;
}

void Node::drop_via(const Key& k) {
  ext_drop_via(k);
  for (unsigned p = 0; p < kMaxGroupNode; ++p) {
    Dest& d = map_[p];
    size_t before = d.routes.size();
    std::erase_if(d.routes, [&](const Route& r) { return r.via() == k; });
    if (d.routes.size() != before) install(uint8_t(p));
    if (d.routes.empty() && before) d.gone_at = std::max<uint64_t>(now_, 1);
    if (d.routes.empty()) d.used = false;
  }
}

// Routes the current round did not refresh are gone (a dead node, a broken path).
void Node::purge(uint64_t now) {
  purge_at_ = UINT64_MAX;
  if (round_seen_at_ > joined_at_) map_ready_ = true;  // a whole round since we joined
  for (unsigned p = 0; p < kMaxGroupNode; ++p) {
    Dest& d = map_[p];
    size_t before = d.routes.size();
    std::erase_if(d.routes, [&](const Route& r) { return r.round < round_; });
    bool shown = false;  // the round is over: its own costs from now on
    for (Route& r : d.routes) shown |= r.shown_us != r.cost_us, r.shown_us = r.cost_us;
    if (shown && d.routes.size() == before) install(uint8_t(p));
    if (d.routes.size() == before) continue;
    c_.routes_purged += before - d.routes.size();
    if (d.routes.empty()) log("position " + std::to_string(p) + " is gone");
    install(uint8_t(p));
    if (d.routes.empty()) d.used = false, d.gone_at = std::max<uint64_t>(now, 1);
  }
}

void Node::clear_map() {
  for (Dest& d : map_) d = Dest{};
  closed_.clear();
  close_seen_.fill(false);
  map_dirty_.fill(false);
  for (auto& v : open_links_) v.clear();
  plain_last_.fill(0);
}

size_t Node::map_bytes() const {
  size_t b = sizeof(map_);
  for (const Dest& d : map_)
    b += d.routes.capacity() * sizeof(Route);
  return b;
}

size_t Node::max_routes_per_destination() const {
  size_t m = 0;
  for (const Dest& d : map_) m = std::max(m, d.routes.size());
  return m;
}

size_t Node::destinations() const {
  size_t n = 0;
  for (const Dest& d : map_) n += d.used && !d.routes.empty();
  return n;
}

uint32_t Node::best_cost(uint8_t pos) const {
  const Dest& d = map_[pos];
  return d.used && !d.routes.empty() ? d.routes.front().cost_us : UINT32_MAX;
}

uint32_t Node::holder_tag(uint8_t pos) const {
  const Dest& d = map_[pos];
  return d.used && !d.routes.empty() ? d.tag : 0;
}

}  // namespace ntk

namespace ntk {

// The map exchange that completes a round (docs/mesh.md "Departures"): QSPN's floods give
// every node the routes along the shortest-path trees of the starter and of the extreme
// nodes, which miss some pairs (on a ring, the nodes beyond where two opens crossed).
// Each node then sends its gnode neighbours its best costs of this round, and again
// whenever one of them fell: the hook's map merge (5.2), applied round by round. It stops
// when no cost falls (Bellman-Ford), and only routes refreshed in this round are sent, so
// a dead node is never carried into the next round.
void Node::push_map(uint64_t now) {
  map_push_at_ = UINT64_MAX;
  improved_ = false;
  for (Nbr* n : gnode_neighbours()) send_map(*n, now, true);
  map_dirty_.fill(false);
}

// Our best costs of this round (only the ones that fell since the last push, when
// `changed_only`) to a gnode neighbour, in MTU-sized parts.
// changed_only: the positions whose best cost fell; else the whole of this round's map.
// whole (the answer to a newcomer's request): every position we know, of any round (its
// map is empty: a position of the last round that has not been confirmed yet is still
// taken), the last datagram flagged kHeaderWholeMap.
void Node::send_map(const Nbr& to, uint64_t now, bool changed_only, bool whole) {
  (void)now;
  std::vector<MapEntry> v;
  for (unsigned p = 0; p < kMaxGroupNode; ++p) {
    const Dest& d = map_[p];
    if (changed_only && !map_dirty_[p]) continue;
    for (const Route& r : d.routes)
      if ((r.round == round_ || whole) && r.via() != Key{to.ifindex, to.nid}) {  // split horizon
        v.push_back({uint8_t(p), d.tag, r.cost_us});
        break;
      }
  }
  if (changed_only && v.empty()) return;
  size_t mtu = 1500;
  for (const tn_router_if& f : ifs_)
    if (f.ifindex == to.ifindex && f.mtu) mtu = f.mtu;
  size_t per = std::max<size_t>(1, (mtu - 28 - kHeaderLen - 6) / kMapEntryLen);
  Header h = header(Type::MapReply, to.nid);
  for (size_t i = 0; i < v.size() || i == 0; i += per) {
    std::span<const MapEntry> part(v.data() + i, std::min(per, v.size() - i));
    if (whole && i + per >= v.size()) h.flags |= kHeaderWholeMap;
    if (encode(out_, h, round_, part, mtu - 28)) {
      send(to.ifindex, out_);
      ++c_.maps_sent;
    }
    if (v.empty()) break;
  }
}

}  // namespace ntk

namespace ntk {
std::string Node::dump_map() const {
  std::string s;
  for (unsigned p = 0; p < kMaxGroupNode; ++p) {
    const Dest& d = map_[p];
    if (!d.used) continue;
    s += "  " + std::to_string(p) + ":";
    for (const Route& r : d.routes)
      s += " via " + std::to_string(r.gw & 255) + " cost " + std::to_string(r.cost_us) + " r" +
           std::to_string(r.round);
    s += "\n";
  }
  return s;
}
}  // namespace ntk
