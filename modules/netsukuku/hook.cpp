// Hook: joining the mesh, duplicate positions and gnode fusion (node.h "Hook").
#include <algorithm>
#include <cstdio>

#include "node.h"

namespace ntk {

namespace {
constexpr uint8_t kFirstPos = 1;  // .0 and .255 are never a node; the last is gnode_size
bool is_free(const HookReply& r, unsigned p) { return r.free[p / 8] >> (p % 8) & 1; }
}  // namespace

void Node::hook_begin(uint64_t now) {
  state_ = State::Hooking;
  hook_candidates_.clear();
  std::vector<Nbr*> v;
  hook_busy_ = false;
  for (auto& [k, n] : nbrs_)
    if (n.alive && n.addr && (n.addr >> 8) != avoid_gnode_ &&
        (!fusion_target_ || (n.addr >> fusion_shift_) == fusion_target_)) {
      // A busy neighbour's map is not complete yet: it is not asked, and we look again
      // later rather than found a gnode beside it, unless its gnode is full anyway.
      if (n.busy) hook_busy_ |= n.gsize < o_.gnode_size && !known_full(n.addr >> 8, now);
      else v.push_back(&n);
    }
  fusion_target_ = 0;  // if that gnode refuses, the next hook may go anywhere
  // Nearest first; among a fusion, the bigger gnode first.
  std::sort(v.begin(), v.end(), [](const Nbr* a, const Nbr* b) {
    return a->rtt_us != b->rtt_us ? a->rtt_us < b->rtt_us : a->nid < b->nid;
  });
  for (Nbr* n : v) hook_candidates_.push_back({n->ifindex, n->nid});
  hook_next_ = 0;
  hook_collecting_ = false;
  hook_pending_.clear();
  hook_level1_ = 0;
  std::fill(std::begin(hook_gnodes_), std::end(hook_gnodes_), 0);
  hook_ask_next(now);
}

void Node::hook_ask_next(uint64_t now) {
  if (state_ != State::Hooking) return;
  while (hook_next_ < hook_candidates_.size()) {
    Key k = hook_candidates_[hook_next_++];
    if (!find(k)) continue;
    hook_asked_ = k;
    encode(out_, header(Type::HookRequest, k.second));
    send(k.first, out_);
    hook_deadline_ = now + o_.hook_wait_ns;
    return;
  }
  // A neighbour that has just joined its gnode is busy: look again a random while later
  // (by then it will have its map) rather than found a gnode beside it.
  // Bounded: a neighbour that stays busy (it keeps re-hooking) cannot hold us for ever.
  // A round and a wait is as long as an honest one stays busy (its first round's purge).
  if (hook_busy_ && !hook_busy_since_) hook_busy_since_ = std::max<uint64_t>(now, 1);
  if (hook_busy_ && now - hook_busy_since_ < o_.qspn_wait_round_ns + 2 * o_.qspn_wait_ns) {
    state_ = State::Scanning;
    hook_deadline_ = UINT64_MAX;
    scan_at_ = now + o_.hook_wait_ns + h_->random_u64(h_->ctx) % std::max<uint64_t>(o_.radar_interval_ns, 1);
    return;
  }
  // Every neighbour's gnode is full. Before founding a new one, look once more a random
  // while later: a neighbour may have founded one we can join, so that a crowd at the
  // edge of a full gnode makes one new gnode rather than one each.
  if (hook_level1_ && hook_retries_ == 0) {
    ++hook_retries_;
    state_ = State::Scanning;
    hook_deadline_ = UINT64_MAX;
    scan_at_ = now + h_->random_u64(h_->ctx) % std::max<uint64_t>(o_.radar_interval_ns, 1);
    return;
  }
  found_gnode(now);  // nobody (left) to ask, or every gnode refused us
}

void Node::found_gnode(uint64_t now) {
  uint32_t a = 0, mask = o_.realm_plen ? ~0u << (32 - o_.realm_plen) : 0;
  if (hook_level1_) {
    // Every neighbour's gnode was full: a new gnode of their level-1 gnode, with an id
    // none of them knows taken (5.2, 5.3).
    std::vector<uint32_t> ids;
    for (uint32_t g = 0; g < kMaxGroupNode; ++g)
      if (!(hook_gnodes_[g / 8] >> (g % 8) & 1) && ((hook_level1_ << 16 | g << 8) >> 8) != avoid_gnode_)
        ids.push_back(g);
    if (!ids.empty()) a = hook_level1_ << 16 | ids[h_->random_u64(h_->ctx) % ids.size()] << 8;
  }
  if (!a) {  // nobody to join: a new mesh with random ids
    do {
      a = o_.realm | (uint32_t(h_->random_u64(h_->ctx)) & 0xffff00u & ~mask);
    } while (a >> 8 == avoid_gnode_);
  }
  uint32_t p = kFirstPos + uint32_t(h_->random_u64(h_->ctx) % (o_.gnode_size - kFirstPos + 1));
  ++c_.gnodes_founded;
  gtag_ = uint32_t(h_->random_u64(h_->ctx)) | 1;  // never 0 (not hooked)
  log("founded a new gnode");
  hooked_at(a | p, now);
  map_ready_ = true;  // a gnode of one: its map is complete
  // Its rounds, even alone: the round is the gnode's seq for level 1 (qspn_start).
  if (next_round_at_ == UINT64_MAX) next_round_at_ = now + o_.qspn_wait_round_ns;
}

void Node::hooked_at(uint32_t a, uint64_t now) {
  set_address(a);
  map_ready_ = false;
  joined_at_ = now;
  state_ = State::Hooked;
  hook_deadline_ = UINT64_MAX;
  hook_retries_ = 0;
  hook_busy_since_ = 0;
  hook_collecting_ = false;
  hook_pending_.clear();
  avoid_gnode_ = 0;
  dup_since_ = 0;
  split_since_ = 0;
  ++c_.hooks;
  log("hooked at " + std::to_string(a >> 24) + "." + std::to_string(a >> 16 & 255) + "." +
      std::to_string(a >> 8 & 255) + "." + std::to_string(a & 255));
  // Every gnode neighbour's map (5.2), then a second scan; the neighbours start a QSPN
  // when their scan sees us hooked, and a plain tracer tells the gnode now.
  for (Nbr* n : gnode_neighbours()) {
    encode(out_, header(Type::MapRequest, n->nid));
    send(n->ifindex, out_);
  }
  scan_at_ = now;
  announce(now);
}

void Node::rehook(uint64_t now, const char* why, uint32_t avoid_gnode) {
  log(std::string("re-hooking: ") + why);
  for (uint32_t p = 0; p < kMaxGroupNode; ++p) map_[p].routes.clear(), install(uint8_t(p));
  clear_map();
  ext_clear();
  clear_address();
  avoid_gnode_ = avoid_gnode;
  state_ = State::Scanning;
  next_round_at_ = pending_qspn_at_ = purge_at_ = map_push_at_ = full_map_at_ = UINT64_MAX;
  pending_change_ = round_change_ = false;
  scan_at_ = now;  // the scan's end starts the hook again
}

// Gnodes our level-1 gnode has, the largest any neighbour in it claims (a node that has
// just hooked knows none of the others yet).
uint8_t Node::l1_claim() const {
  size_t l1 = ext_destinations() + 1;
  for (const auto& [k, n] : nbrs_)
    if (n.alive && same_level1(n.addr)) l1 = std::max<size_t>(l1, n.l1);
  return uint8_t(std::min<size_t>(l1, 255));
}

// Two gnodes meet and fit in one: the smaller (ties: lower id) joins the other (5.3.2).
// Two level-1 gnodes that meet (meshes founded apart, each with random ids) become one:
// while both are a single gnode, by that fusion (they fit) or else the lower id moves;
// once one has more gnodes, the one that has fewer (ties: the lower id) moves, node by
// node as each of its nodes sees a neighbour across. Levels above 1 do not exist in this
// version, so one level-1 gnode (254 gnodes of 254 nodes) is the mesh.
void Node::check_fusion(uint64_t now) {
  // Our gnode's size: the largest any of us claims. A node that has just hooked knows few
  // of its gnode yet; by its own count it would fuse straight back out of a big gnode.
  uint16_t mine = gnode_size();
  for (auto& [k, n] : nbrs_)
    if (n.alive && same_gnode(n.addr)) mine = std::max(mine, n.gsize);
  uint8_t l1 = l1_claim_ = l1_claim();
  for (auto& [k, n] : nbrs_) {
    if (!n.alive || !n.addr || n.busy || same_gnode(n.addr)) continue;
    if (!same_level1(n.addr) && (l1 > 1 || n.l1 > 1)) continue;  // level-1 fusion's case
    bool smaller = mine < n.gsize || (mine == n.gsize && (addr_ >> 8) < (n.addr >> 8));
    if (smaller && mine + n.gsize <= o_.gnode_size && !known_full(n.addr >> 8, now)) {
      ++c_.rehooks_fusion;
      rehook(now, "gnode fusion", addr_ >> 8);
      fusion_target_ = n.addr >> 8;
      fusion_shift_ = 8;
      return;
    }
  }
  for (auto& [k, n] : nbrs_) {
    if (!n.alive || !n.addr || n.busy || same_level1(n.addr) || !n.l1) continue;
    if (l1 == 1 && n.l1 == 1 && mine + n.gsize <= o_.gnode_size) continue;  // gnode fusion's case
    if (std::pair(l1, addr_ >> 16) < std::pair(n.l1, n.addr >> 16)) {
      ++c_.rehooks_fusion;
      rehook(now, "level-1 gnode fusion", addr_ >> 8);
      fusion_target_ = n.addr >> 16;
      fusion_shift_ = 16;
      return;
    }
  }
}

void Node::shun(uint32_t g, uint64_t now) {
  std::erase_if(full_gnodes_, [&](const auto& e) { return e.first == g || e.second <= now; });
  if (full_gnodes_.size() >= 16) full_gnodes_.erase(full_gnodes_.begin());  // bounded
  full_gnodes_.push_back({g, now + 2 * o_.qspn_wait_round_ns});
}

bool Node::known_full(uint32_t gnode, uint64_t now) const {
  return std::any_of(full_gnodes_.begin(), full_gnodes_.end(),
                     [&](const auto& e) { return e.first == gnode && e.second > now; });
}

void Node::duplicate_seen(uint8_t pos, uint32_t other_tag, uint64_t now) {
  if (pos != pos_of(addr_) || other_tag == tag()) return;
  // The newer holder moves. A node whose map is not complete yet has just taken the
  // position from an offer that did not know it was held: it moves, whatever the tags.
  // A node settled in its position that sees a larger tag there gives the other a grace
  // (qspn_wait) to see it and move, and tells the gnode that it holds the position (a
  // plain tracer: its entry replaces the newcomer's in the maps that took it). Only a
  // duplicate still seen after the grace is settled by the tags (two settled gnodes that
  // met with one id). At 1,000 nodes, settled nodes that moved for newcomers were a third
  // of all duplicate re-hooks, and each one was a round of route changes in its gnode.
  bool move = !map_ready_;
  if (!move && tag() < other_tag) {
    // One grace for every larger tag seen there: three nodes that took one position
    // would otherwise restart each other's grace for ever.
    if (!dup_since_ || now - dup_last_ > 3 * o_.qspn_wait_round_ns) {
      dup_since_ = dup_last_ = std::max<uint64_t>(now, 1);
      announce(now);
      return;
    }
    dup_last_ = now;
    move = now - dup_since_ >= o_.qspn_wait_ns;
  }
  if (!move) return;
  ++c_.rehooks_duplicate;
  char why[64];
  std::snprintf(why, sizeof why, "duplicate position (tag %u holds it)", unsigned(other_tag));
  rehook(now, why, 0);
}

void Node::on_hook_request(uint32_t ifindex, const Message& m, uint64_t now) {
  Nbr* n = find({ifindex, m.h.src_nid});
  if (n ? !allow(*n, now) : !allow_stranger(now)) return;
  if (!hooked()) return;
  HookReply r;
  Header hd = header(Type::HookReply, m.h.src_nid);
  if (!map_ready_) {  // hd says busy: no position offered
    ++c_.hook_busy_replies;
    encode(out_, hd, r);
    send(ifindex, out_);
    return;
  }
  // Positions whose holder has been gone a while first: one purged a moment ago may be
  // held still by a node whose routes a round missed, or taken again by a node moving.
  for (bool cold : {true, false}) {
    for (unsigned p = kFirstPos; p <= o_.gnode_size; ++p) {
      const Dest& d = map_[p];
      if (d.used || p == pos_of(addr_)) continue;
      if (cold && d.gone_at && now - d.gone_at < o_.qspn_wait_round_ns) continue;
      r.free[p / 8] |= uint8_t(1u << (p % 8));
    }
    if (std::any_of(std::begin(r.free), std::end(r.free), [](uint8_t b) { return b != 0; })) break;
  }
  // Anti-spoofing (9): nobody may take a position a neighbour of ours holds.
  for (auto& [k, x] : nbrs_)
    if (x.alive && same_gnode(x.addr)) r.free[pos_of(x.addr) / 8] &= uint8_t(~(1u << (pos_of(x.addr) % 8)));
  r.gnodes[gnode_of(addr_) / 8] |= uint8_t(1u << (gnode_of(addr_) % 8));
  for (unsigned g = 0; g < kMaxGroupNode; ++g)
    if (!ext_[g].routes.empty()) r.gnodes[g / 8] |= uint8_t(1u << (g % 8));
  r.round = round_;
  r.gtag = gtag_;
  r.qspn_age_ms = uint32_t(std::min<uint64_t>((now - std::min(now, round_start_)) / 1'000'000, UINT32_MAX));
  encode(out_, hd, r);
  send(ifindex, out_);
}

void Node::on_hook_reply(uint32_t ifindex, const Message& m, uint64_t now) {
  if (state_ != State::Hooking || !m.h.src_addr) return;
  Key from{ifindex, m.h.src_nid};
  if (hook_collecting_) {  // another neighbour in the offered gnode narrows the offer
    auto it = std::find(hook_pending_.begin(), hook_pending_.end(), from);
    if (it == hook_pending_.end() || (m.h.src_addr >> 8) != (hook_offer_addr_ >> 8)) return;
    hook_pending_.erase(it);
    if (!(m.h.flags & kHeaderBusy))  // a busy one knows less than the first: no say
      for (size_t i = 0; i < sizeof hook_offer_.free; ++i) hook_offer_.free[i] &= m.hook.free[i];
    if (hook_pending_.empty()) hook_take(now);
    return;
  }
  if (from != hook_asked_) return;
  if (m.h.flags & kHeaderBusy) {  // it joined since our scan: the next, or look again
    hook_busy_ = true;
    hook_deadline_ = UINT64_MAX;
    hook_ask_next(now);
    return;
  }
  HookReply r = m.hook;
  for (auto& [k, x] : nbrs_)  // positions our other neighbours hold in that gnode
    if (x.alive && x.addr && (x.addr >> 8) == (m.h.src_addr >> 8))
      r.free[pos_of(x.addr) / 8] &= uint8_t(~(1u << (pos_of(x.addr) % 8)));
  hook_offer_ = r;
  hook_offer_addr_ = m.h.src_addr;
  bool any = std::any_of(std::begin(r.free), std::end(r.free), [](uint8_t b) { return b != 0; });
  // A position is taken only if every neighbour in that gnode calls it free: one node's
  // map can lack a position that is held (it fused into the gnode a moment ago, a round
  // missed the holder). At 1,000 nodes most duplicate positions came from such offers.
  hook_pending_.clear();
  if (any)
    for (auto& [k, x] : nbrs_)
      if (x.alive && !x.busy && k != from && x.addr && (x.addr >> 8) == (m.h.src_addr >> 8)) {
        encode(out_, header(Type::HookRequest, x.nid));
        send(x.ifindex, out_);
        hook_pending_.push_back(k);
      }
  hook_collecting_ = true;
  hook_deadline_ = now + o_.hook_wait_ns;
  if (hook_pending_.empty()) hook_take(now);
}

// The offer is complete (every neighbour asked answered, or hook_wait is over): a random
// position of it, or, when none is left, a full gnode: the next neighbour is asked.
void Node::hook_take(uint64_t now) {
  hook_collecting_ = false;
  hook_pending_.clear();
  hook_deadline_ = UINT64_MAX;
  const HookReply& r = hook_offer_;
  std::vector<uint8_t> free;
  for (unsigned p = kFirstPos; p <= o_.gnode_size; ++p)
    if (is_free(r, p)) free.push_back(uint8_t(p));
  if (free.empty()) {
    shun(hook_offer_addr_ >> 8, now);
    if (!hook_level1_) hook_level1_ = hook_offer_addr_ >> 16;
    if ((hook_offer_addr_ >> 16) == hook_level1_)
      for (size_t i = 0; i < sizeof hook_gnodes_; ++i) hook_gnodes_[i] |= r.gnodes[i];
    hook_ask_next(now);
    return;
  }
  uint8_t p = free[h_->random_u64(h_->ctx) % free.size()];
  round_ = r.round;
  gtag_ = r.gtag ? r.gtag : 1;
  round_start_ = now - std::min<uint64_t>(now, uint64_t(r.qspn_age_ms) * 1'000'000);
  hooked_at((hook_offer_addr_ & ~0xffu) | p, now);
}

void Node::on_map_request(uint32_t ifindex, const Message& m, uint64_t now) {
  Nbr* n = find({ifindex, m.h.src_nid});
  if (!n || !allow(*n, now) || !hooked()) return;
  send_map(*n, now, false, true);
}

void Node::on_map_reply(uint32_t ifindex, const Message& m, uint64_t now) {
  Nbr* n = find({ifindex, m.h.src_nid});
  if (!n || !n->alive || !hooked() || !same_gnode(m.h.src_addr)) return;
  if (!allow(*n, now)) return;
  // Costs of another round would carry a node that left into this one (and count to
  // infinity between neighbours): only this round's, or anything while our map is empty
  // (just hooked, 5.2).
  if (m.map_round != round_ && destinations() > 0) {
    ++c_.rx_old_round;
    return;
  }
  ++c_.maps_received;
  for (const MapEntry& e : m.map) {
    if (e.pos == pos_of(addr_)) {
      duplicate_seen(e.pos, e.tag, now);
      if (!hooked()) return;
      continue;
    }
    learn(e.pos, e.tag, *n, uint64_t(e.cost_us) + n->rtt_us, round_);
  }
  // The whole map of a neighbour whose own map was complete: ours is complete now.
  if ((m.h.flags & kHeaderWholeMap) && !(m.h.flags & kHeaderBusy)) map_ready_ = true;
}

}  // namespace ntk
