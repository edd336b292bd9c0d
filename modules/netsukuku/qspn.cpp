// Tracer packets and QSPN rounds (node.h "QSPN"; document 5.1, 6).
//
// Round timing: a node that takes a newer round id sets its round start to now minus half
// the summed RTTs of the tracer (one-way delay taken as RTT / 2), so the whole gnode agrees
// on when the round began within the RTT asymmetry; the next round is due QSPN_WAIT_ROUND
// after it (see new_round for who starts it).
#include <algorithm>

#include "node.h"

namespace ntk {

// A change (or the round timer): start a round now if no close went or came within
// QSPN_WAIT, else once that wait is over.
void Node::qspn_request(uint64_t now, bool change) {
  if (!hooked()) return;
  if (pending_qspn_at_ != UINT64_MAX) change = change || pending_change_;
  uint64_t ready = 0;
  if (have_close_rx_) ready = std::max(ready, last_close_rx_ + o_.qspn_wait_ns);
  if (have_close_tx_) ready = std::max(ready, last_close_tx_ + o_.qspn_wait_ns);
  if (now < ready) {
    pending_qspn_at_ = std::min(pending_qspn_at_, ready);
    pending_change_ = change;
    return;
  }
  qspn_start(now, change);
}

void Node::new_round(uint32_t r, uint8_t origin, uint64_t started, uint64_t now, bool change) {
  round_ = r;
  round_change_ = change;
  round_origin_ = origin;
  round_start_ = started;
  round_seen_at_ = now;
  starter_ = false;
  opened_ = false;
  closed_.clear();
  close_seen_.fill(false);
  for (auto& v : open_links_) v.clear();
  // The refresh: the round's starter begins the next one; everyone else only if it has
  // not heard it by QSPN_WAIT later (the starter is gone), spread over another QSPN_WAIT
  // so that one of them, not all, takes over.
  uint64_t jitter = o_.qspn_wait_ns ? h_->random_u64(h_->ctx) % o_.qspn_wait_ns : 0;
  next_round_at_ = started + o_.qspn_wait_round_ns;
  if (origin != pos_of(addr_)) next_round_at_ += o_.qspn_wait_ns + jitter;
  // Routes this round has not confirmed go half a round later: by then its floods and
  // map exchanges are long done even across a wide gnode (a 250-node ring's take ~10 s),
  // and until then they are only a fallback (install() prefers this round's).
  purge_at_ = now + std::max(o_.qspn_wait_ns, o_.qspn_wait_round_ns / 2);
  // Once the floods are done, the whole map once to each gnode neighbour: the exchange
  // sends only costs that fell, and a cost that fell while a neighbour was still in the
  // last round (it refused it) would otherwise not be offered again this round.
  full_map_at_ = now + 2 * o_.qspn_wait_ns;
}

void Node::qspn_start(uint64_t now, bool change) {
  std::vector<Nbr*> to = gnode_neighbours();
  if (to.empty()) {
    // Alone in the gnode: nothing to flood, but the round still counts. Its id is the
    // gnode's sequence number for level 1, and a node elsewhere that lost its feasible
    // routes to us waits for a newer one (ext.cpp); a gnode of one whose seq never moved
    // left them without a route for good (measured at 1,000 nodes: routes to a one-node
    // gnode expired and came back every minute, so the mesh never went quiet).
    new_round(round_ + 1, pos_of(addr_), now, now, change);
    starter_ = true;
    pending_qspn_at_ = UINT64_MAX;
    pending_change_ = false;
    return;
  }
  new_round(round_ + 1, pos_of(addr_), now, now, change);
  starter_ = true;
  pending_qspn_at_ = UINT64_MAX;
  pending_change_ = false;
  last_close_tx_ = now;
  have_close_tx_ = true;
  ++c_.rounds_started;
  log("starts round " + std::to_string(round_));
  close_seen_[pos_of(addr_)] = true;
  Tracer t;
  t.kind = TracerKind::Close;
  t.flags = change ? kTracerChange : 0;
  t.round = round_;
  t.hops.push_back({pos_of(addr_), tag(), 0});
  Header h = header(Type::Tracer, 0);
  for (Nbr* n : to) {
    h.dst_nid = n->nid;
    if (encode(out_, h, t, 65000)) send(n->ifindex, out_);
  }
}

// A newcomer's plain tracer: the gnode learns the route to it before the next round.
void Node::announce(uint64_t now) {
  (void)now;
  std::vector<Nbr*> to = gnode_neighbours();
  Tracer t;
  t.kind = TracerKind::Plain;
  t.round = round_;
  t.pkt_id = ++pkt_id_;
  t.hops.push_back({pos_of(addr_), tag(), 0});
  Header h = header(Type::Tracer, 0);
  for (Nbr* n : to) {
    h.dst_nid = n->nid;
    if (encode(out_, h, t, 65000)) send(n->ifindex, out_);
  }
}

void Node::forward(const Tracer& in, const Nbr& from, const std::vector<Nbr*>& to) {
  if (to.empty()) return;
  Tracer t = in;
  t.hops.push_back({pos_of(addr_), tag(), from.rtt_us});
  Header h = header(Type::Tracer, 0);
  for (Nbr* n : to) {
    h.dst_nid = n->nid;
    size_t mtu = 1500;
    for (const tn_router_if& f : ifs_)
      if (f.ifindex == n->ifindex && f.mtu) mtu = f.mtu;
    if (!encode(out_, h, t, mtu - 28)) {  // IPv4 + UDP headers
      ++c_.tx_too_long;
      continue;
    }
    send(n->ifindex, out_);
  }
}

void Node::on_tracer(uint32_t ifindex, const Message& m, uint64_t now) {
  Nbr* from = find({ifindex, m.h.src_nid});
  if (!from || !from->alive || !from->rtt_us) {
    ++c_.rx_unknown_neighbour;
    return;
  }
  if (!hooked() || !same_gnode(m.h.src_addr) || from->addr != m.h.src_addr) {
    ++c_.rx_other_gnode;
    return;
  }
  if (!allow(*from, now)) return;
  const Tracer& t = m.tracer;
  // Entries: valid positions, none twice, the last one the sender itself.
  std::array<bool, kMaxGroupNode> seen{};
  for (const Hop& x : t.hops) {
    if (x.pos == 0 || x.pos == 255 || seen[x.pos]) {
      ++c_.rx_bad_hops;
      return;
    }
    seen[x.pos] = true;
  }
  if (t.hops.back().pos != pos_of(from->addr)) {
    ++c_.rx_bad_hops;
    return;
  }
  if (seen[pos_of(addr_)]) {
    for (const Hop& x : t.hops)
      if (x.pos == pos_of(addr_) && x.tag != tag()) {
        duplicate_seen(x.pos, x.tag, now);
        return;
      }
    ++c_.rx_loop;  // our own entry: it went round
    return;
  }
  uint8_t origin = t.hops.front().pos;
  if (t.kind == TracerKind::Plain) {
    if (t.pkt_id <= plain_last_[origin] && plain_last_[origin] - t.pkt_id < (1u << 31)) {
      ++c_.rx_duplicate;
      return;
    }
    plain_last_[origin] = t.pkt_id;
    learn_hops(t.hops, *from, round_);
    std::vector<Nbr*> to;
    for (Nbr* n : gnode_neighbours())
      if (n != from) to.push_back(n);
    c_.plain_forwarded += !to.empty();
    forward(t, *from, to);
    return;
  }
  if (t.round < round_) {
    ++c_.rx_old_round;
    return;
  }
  // One starter per round: two nodes that start the same round id at once (contiguous
  // starters, 5.1.2) are resolved by position, the lower one's flood carries the round
  // and the other's stops where it meets it.
  if (t.kind == TracerKind::Close && t.round == round_ && origin > round_origin_) {
    ++c_.rx_losing_starter;
    learn_hops(t.hops, *from, round_);
    return;
  }
  if (t.round > round_ || (t.kind == TracerKind::Close && origin < round_origin_)) {
    uint64_t path_ns = uint64_t(from->rtt_us) * 1000;
    for (const Hop& x : t.hops) path_ns += uint64_t(x.rtt_us) * 1000;
    bool change = t.flags & kTracerChange;
    new_round(t.round, t.kind == TracerKind::Close ? origin : 255, now - std::min(now, path_ns / 2), now,
              change);
    log("takes round " + std::to_string(round_) + " from " + std::to_string(origin));
    // A change round carries our change too; a refresh does not tell the others to drop
    // the last round's routes at once, so a pending change still starts its own.
    if (change || !pending_change_) pending_qspn_at_ = UINT64_MAX, pending_change_ = false;
  }
  learn_hops(t.hops, *from, round_);
  Key fk{from->ifindex, from->nid};
  std::vector<Nbr*> nb = gnode_neighbours();
  if (t.kind == TracerKind::Close) {
    last_close_rx_ = now;
    have_close_rx_ = true;
    if (std::find(closed_.begin(), closed_.end(), fk) == closed_.end()) closed_.push_back(fk);
    // The first copy of each origin's close goes on to the links that have not closed
    // towards us (5.1). With delay proportional to RTT it came the cheapest way.
    if (!close_seen_[origin]) {
      close_seen_[origin] = true;
      std::vector<Nbr*> to;
      for (Nbr* n : nb)
        if (std::find(closed_.begin(), closed_.end(), Key{n->ifindex, n->nid}) == closed_.end())
          to.push_back(n);
      c_.closes_forwarded += !to.empty();
      forward(t, *from, to);
    }
    // Every link closed: an extreme node; it floods the open (5.1).
    bool all = std::all_of(nb.begin(), nb.end(), [&](Nbr* n) {
      return std::find(closed_.begin(), closed_.end(), Key{n->ifindex, n->nid}) != closed_.end();
    });
    if (all && !starter_ && !opened_) {
      opened_ = true;
      ++c_.opens_sent;
      log("extreme node: opens");
      Tracer o;
      o.kind = TracerKind::Open;
      o.flags = round_change_ ? kTracerChange : 0;
      o.round = round_;
      o.sub_id = pos_of(addr_);
      o.hops.push_back({pos_of(addr_), tag(), 0});
      Header h = header(Type::Tracer, 0);
      for (Nbr* n : nb) {
        h.dst_nid = n->nid;
        if (encode(out_, h, o, 65000)) send(n->ifindex, out_);
      }
    }
    return;
  }
  // qspn_open: the first copy of each sub_id, to the links not yet opened for it.
  auto& opened = open_links_[t.sub_id];
  bool first = opened.empty() && t.sub_id != pos_of(addr_);
  if (std::find(opened.begin(), opened.end(), fk) == opened.end()) opened.push_back(fk);
  if (!first) return;
  std::vector<Nbr*> to;
  for (Nbr* n : nb)
    if (std::find(opened.begin(), opened.end(), Key{n->ifindex, n->nid}) == opened.end())
      to.push_back(n);
  c_.opens_forwarded += !to.empty();
  forward(t, *from, to);
}

}  // namespace ntk
