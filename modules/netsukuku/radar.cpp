// Radar: neighbour discovery and per-ping RTT (node.h "Radar").
//
// Unlike ntkd, each reply is timed on its own (the echo carries its send time back), and
// a neighbour's RTT is the mean of the replies it actually sent in that scan: no scan-start
// timing, no zeroed slots averaged in.
#include <algorithm>
#include <cstdlib>

#include "node.h"

namespace ntk {

void Node::scan(uint64_t now) {
  ++scan_id_;
  tn_router_if buf[64];
  int n = std::min(h_->interfaces(h_->ctx, buf, 64), 64);
  ifs_.assign(buf, buf + std::max(n, 0));
  for (auto& [k, nb] : nbrs_) {
    nb.scan_addr = nb.addr;
    nb.sum_ns = 0;
    nb.samples = 0;
  }
  for (uint32_t i = 0; i < o_.radar_pings; ++i) {
    Echo e{scan_id_ << 8 | i, now, hooked() ? gtag_ : 0, hooked() ? round_origin_ : uint8_t(0)};
    encode(out_, header(Type::Echo, 0), e);
    for (const tn_router_if& f : ifs_)
      if (f.up) send(f.ifindex, out_);
  }
  scan_done_at_ = now + o_.radar_timeout_ns;
  scan_at_ = now + std::max(o_.radar_interval_ns, o_.radar_timeout_ns + 1);
}

void Node::on_echo(uint32_t ifindex, const Message& m, uint64_t now) {
  Key k{ifindex, m.h.src_nid};
  Nbr* n = find(k);
  if (n ? !allow(*n, now) : !allow_stranger(now)) return;
  Echo r = m.echo;  // its seq and time back, our gnode tag
  r.gtag = hooked() ? gtag_ : 0;
  r.origin = hooked() ? round_origin_ : 0;
  encode(out_, header(Type::EchoReply, m.h.src_nid), r);
  send(ifindex, out_);
}

void Node::on_echo_reply(uint32_t ifindex, const Message& m, uint64_t now) {
  if ((m.echo.seq >> 8) != scan_id_ || m.echo.sent_ns > now ||
      now - m.echo.sent_ns > o_.radar_timeout_ns) {
    ++c_.rx_late_reply;
    return;
  }
  Key k{ifindex, m.h.src_nid};
  Nbr* n = find(k);
  if (!n) {
    if (nbrs_.size() >= kMaxNeighbours) {
      ++c_.neighbours_full;
      return;
    }
    n = &nbrs_[k];
    n->ifindex = ifindex;
    n->nid = m.h.src_nid;
  }
  n->sum_ns += now - m.echo.sent_ns;
  n->last_heard = now;
  ++n->samples;
  if (n->samples == 1) {  // what the neighbour says of itself, once a scan
    n->addr = m.h.src_addr;
    n->gsize = m.h.gnode_size;
    n->gseq = m.h.gseq;
    n->gtag = m.echo.gtag;
    n->gorigin = m.echo.origin;
    n->l1 = m.h.l1_gnodes;
    n->busy = m.h.flags & kHeaderBusy;
  }
}

void Node::scan_done(uint64_t now) {
  scan_done_at_ = UINT64_MAX;
  bool changed = false;
  std::vector<Key> dead;
  for (auto& [k, n] : nbrs_) {
    if (n.samples == 0) {
      if (n.alive) {
        log("neighbour lost");
        ++c_.neighbours_lost;
        drop_via(k);
        // A round begun since we last heard it already runs without it (another
        // neighbour of the dead node saw it first): no second round for the same death.
        if (round_start_ <= n.last_heard) changed = true;
      }
      dead.push_back(k);
      continue;
    }
    uint32_t rtt = uint32_t(std::max<uint64_t>(1, n.sum_ns / n.samples / 1000));
    uint64_t diff = uint64_t(std::abs(int64_t(rtt) - int64_t(n.rtt_us))) * 1000;
    if (!n.alive) {
      ++c_.neighbours_new;
      changed = true;
    } else if (diff > o_.rtt_threshold_ns || n.addr != n.scan_addr) {
      changed = true;  // a new RTT, or it hooked / re-hooked
    }
    n.alive = true;
    n.rtt_us = rtt;
  }
  for (const Key& k : dead) nbrs_.erase(k);
  // Routes through a neighbour that has changed its address (it re-hooked) are stale.
  std::vector<Key> moved;
  for (const auto& [k, n] : nbrs_)
    for (const Dest& d : map_)
      if (std::any_of(d.routes.begin(), d.routes.end(),
                      [&, &k = k, &n = n](const Route& r) { return r.via() == k && r.gw != n.addr; })) {
        moved.push_back(k);
        break;
      }
  for (const Key& k : moved) drop_via(k);
  changed |= !moved.empty();
  if (state_ == State::Scanning) {
    hook_begin(now);
    return;
  }
  if (!hooked()) return;
  check_fusion(now);
  if (!hooked()) return;
  // Two meshes that met with one gnode id are one gnode now: it keeps the larger tag.
  for (Nbr* n : gnode_neighbours()) gtag_ = std::max(gtag_, n->gtag);
  // Direct routes: each gnode neighbour at its measured RTT.
  for (Nbr* n : gnode_neighbours()) {
    if (pos_of(n->addr) == pos_of(addr_)) {
      duplicate_seen(pos_of(addr_), uint32_t(n->nid), now);
      if (!hooked()) return;
      continue;
    }
    learn(pos_of(n->addr), uint32_t(n->nid), *n, n->rtt_us, round_);
  }
  // Level 1: a neighbour in another gnode of our level-1 gnode makes us a border node.
  for (auto& [k, n] : nbrs_)
    if (n.alive && same_level1(n.addr) && !same_gnode(n.addr)) ext_learn(gnode_of(n.addr), n, n.gseq, n.gtag, n.gorigin,
                                                                                 uint8_t(std::min<uint16_t>(n.gsize, 255)), 0, n.rtt_us, now);
  if (ext_refresh_at_ == UINT64_MAX) ext_refresh_at_ = now + 3 * o_.radar_interval_ns;
  if (changed) qspn_request(now);
}

}  // namespace ntk
