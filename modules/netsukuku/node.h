// One Netsukuku node (Npv7_HT, level 0): radar, hook, tracer packets and QSPN rounds, the
// internal map and its multipath routes. The node reaches its stack only through the
// router ABI's tn_router_host (threadnet/router.h): datagrams per interface, a wake-up,
// addresses and routes. No thread, no global state, no clock or randomness of its own.
//
// Theory of operation (docs/mesh.md has the long form):
//  * Radar (radar.cpp): every radar_interval the node broadcasts radar_pings echoes on each
//    link; each reply's RTT is measured on its own (now - the send time it echoes) and a
//    neighbour's RTT is the mean of its replies in that scan. A new neighbour, a lost one
//    (no reply in a scan), an address change or an RTT change above rtt_threshold is a
//    change: the node asks for a QSPN round.
//  * Hook (hook.cpp): a new node scans; with no hooked neighbour it founds a gnode with a
//    random id and position. Else it asks the nearest neighbour for its gnode's free
//    positions (then the next one if that gnode is full; it founds a new gnode only when
//    every neighbour refuses), takes a random free one, fetches every gnode neighbour's
//    map (each route gets that neighbour prepended), scans again and announces itself
//    with a plain tracer. Duplicate positions (a hook storm, two meshes meeting with the
//    same gnode id) are seen in tracer entries and maps by their tag (the low bits of the
//    node id): the node with the smaller tag re-hooks. Two different gnodes that meet
//    fuse when they fit in one: the smaller (ties: the lower id) re-hooks into the other.
//  * QSPN (qspn.cpp): a starter floods qspn_close; each node forwards the first close of
//    each origin to the links that have not closed towards it, appending its entry; a
//    node whose every link has closed is an extreme node and floods a qspn_open with its
//    position as sub_id; an open is forwarded once per (round, sub_id) to links not yet
//    opened for it. With link delay proportional to RTT the first copy of a flood to
//    arrive travelled the cheapest path, so every route learnt from it is a shortest path.
//    Round ids order rounds; older ones are dropped; routes not refreshed by the current
//    round are purged qspn_wait after it began.
//  * Maps (maps.cpp): per position up to maxroutes routes, one per neighbour, ranked by
//    summed RTT, installed as one multipath route (best weighted highest).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <threadnet/router.h>

#include "options.h"
#include "wire.h"

namespace ntk {

#define NTK_COUNTERS(X)                                                                     \
  X(rx_datagrams) X(rx_losing_starter) X(rx_short) X(rx_bad_magic) X(rx_bad_version) X(rx_bad_length)            \
  X(rx_unknown_type) X(rx_bad_body) X(rx_not_for_us) X(rx_from_self) X(rx_unknown_neighbour) \
  X(rx_other_gnode) X(rx_rate_limited) X(rx_old_round) X(rx_duplicate) X(rx_loop)           \
  X(rx_bad_hops) X(rx_late_reply) X(hook_busy_replies) X(ext_maps_sent) X(ext_maps_received) X(neighbours_full) X(tx_datagrams) X(tx_errors)            \
  X(tx_too_long) X(rounds_started) X(closes_forwarded) X(opens_sent) X(opens_forwarded)      \
  X(plain_forwarded) X(maps_sent) X(maps_received) X(hooks) X(gnodes_founded) X(rehooks_duplicate) X(rehooks_fusion) X(rehooks_gnode_id) X(rehooks_split)       \
  X(neighbours_new) X(neighbours_lost) X(routes_purged) X(route_changes) X(route_errors)

struct Counters {
#define NTK_DECL(n) uint64_t n = 0;
  NTK_COUNTERS(NTK_DECL)
#undef NTK_DECL
};

class Node {
 public:
  Node(const tn_router_host* host, const Options& o);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  void start();
  void receive(uint32_t ifindex, std::span<const uint8_t> d);
  uint64_t poll(uint64_t now);  // next deadline
  void link_event(uint32_t ifindex, bool up);
  bool hooked() const { return state_ == State::Hooked; }
  std::string status_json() const;

  // For the simulator and tests.
  uint32_t address() const { return addr_; }
  uint32_t gnode() const { return addr_ >> 8; }  // realm and gnode bytes
  uint64_t nid() const { return nid_; }
  uint32_t round() const { return round_; }
  const Counters& counters() const { return c_; }
  size_t map_bytes() const;
  size_t max_routes_per_destination() const;
  size_t destinations() const;
  // Best known cost to a position of the gnode (UINT32_MAX: none).
  uint32_t best_cost(uint8_t pos) const;
  uint32_t holder_tag(uint8_t pos) const;  // the tag routes to pos lead to (0: none)
  size_t alive_neighbours() const;
  uint32_t ext_best_cost(uint8_t gnode) const;  // level 1 (UINT32_MAX: none)
  size_t ext_destinations() const;
  std::string dump_map() const;  // one line per destination, for debugging

 private:
  enum class State { Idle, Scanning, Hooking, Hooked };
  using Key = std::pair<uint32_t, uint64_t>;  // (ifindex, node id)
  struct Nbr {
    uint32_t ifindex = 0;
    uint64_t nid = 0;
    uint32_t addr = 0;
    uint32_t scan_addr = 0;  // its address at the previous scan
    uint16_t gsize = 0;
    uint16_t gseq = 0;  // its gnode's sequence number (level 1)
    uint32_t gtag = 0;  // its gnode's tag
    uint8_t gorigin = 0;  // the starter of its gnode's current round
    uint8_t l1 = 0;     // gnodes it knows in its level-1 gnode
    bool busy = false;  // it has just joined: its map is not complete (kHeaderBusy)
    uint32_t rtt_us = 0;
    uint64_t last_heard = 0;  // its last radar reply
    bool alive = false;
    uint64_t sum_ns = 0;  // this scan
    uint32_t samples = 0;
    double tokens = 0;
    uint64_t tokens_at = 0;
  };
  struct Route {  // 32 bytes: up to maxroutes of them per position
    uint64_t nid = 0;       // the neighbour it goes through ...
    uint32_t ifindex = 0;   // ... on this interface
    uint32_t gw = 0;        // its address (the next hop)
    uint32_t cost_us = 0;
    uint32_t round = 0;     // the round that last confirmed it
    // The cost the installed route was weighted by. In a refresh round the costs rise
    // and fall again as the floods and maps arrive; until the purge the stack keeps the
    // lower of this round's and the last round's, so a mesh where nothing changed
    // rewrites no route.
    uint32_t shown_us = 0;
    Key via() const { return {ifindex, nid}; }
  };
  struct ExtRoute {  // a route to another gnode of our level-1 gnode
    uint64_t nid = 0;
    uint32_t ifindex = 0;
    uint32_t gw = 0;
    uint32_t cost_us = 0;   // adv_us + the RTT to the neighbour
    uint32_t adv_us = 0;    // the neighbour's own cost (feasibility)
    uint16_t seq = 0;       // the gnode's sequence number it is for
    uint64_t heard_at = 0;
    uint8_t origin = 0;     // that round's starter, and the gnode's size (split gnodes)
    uint8_t size = 0;
    Key via() const { return {ifindex, nid}; }
  };
  struct ExtDest {
    std::vector<ExtRoute> routes;  // cheapest first (feasible or not)
    uint64_t installed = 0;
    uint32_t tag = 0;  // the gnode's tag: of two that took this id, the larger keeps it
    // Feasibility distance (RFC 8966 3.5.1): the best (seq, cost) we have advertised.
    bool fd_set = false;
    uint16_t fd_seq = 0;
    uint32_t fd_us = 0;
    uint16_t prev_seq = 0;  // the distance before the last newer seq (install only)
    uint32_t prev_us = 0;
    bool prev_set = false;
    bool counted = false;  // in ext_reachable_ (it has a feasible route)
  };
  struct Dest {
    bool used = false;
    uint32_t tag = 0;
    std::vector<Route> routes;  // best first, at most maxroutes
    uint64_t installed = 0;  // hash of the next hops given to the stack (0: none)
    uint64_t gone_at = 0;    // when its last route was purged (0: never)
  };

  // node.cpp: dispatch and helpers
  void send(uint32_t ifindex, const std::vector<uint8_t>& d);
  Header header(Type t, uint64_t dst) const;
  bool allow(Nbr& n, uint64_t now);
  bool allow_stranger(uint64_t now);
  void log(const std::string& line);
  void set_address(uint32_t a);
  void clear_address();
  uint16_t gnode_size() const;
  bool same_gnode(uint32_t a) const { return a && addr_ && (a >> 8) == (addr_ >> 8); }
  static uint8_t pos_of(uint32_t a) { return uint8_t(a); }
  uint32_t tag() const { return uint32_t(nid_); }
  Nbr* find(const Key& k);
  std::vector<Nbr*> gnode_neighbours();

  // radar.cpp
  void scan(uint64_t now);
  void scan_done(uint64_t now);
  void on_echo(uint32_t ifindex, const Message& m, uint64_t now);
  void on_echo_reply(uint32_t ifindex, const Message& m, uint64_t now);

  // hook.cpp
  void hook_begin(uint64_t now);
  void hook_ask_next(uint64_t now);
  void found_gnode(uint64_t now);
  void hook_take(uint64_t now);
  void hooked_at(uint32_t a, uint64_t now);
  void rehook(uint64_t now, const char* why, uint32_t avoid_gnode);
  void check_fusion(uint64_t now);
  uint8_t l1_claim() const;
  void on_hook_request(uint32_t ifindex, const Message& m, uint64_t now);
  void on_hook_reply(uint32_t ifindex, const Message& m, uint64_t now);
  void on_map_request(uint32_t ifindex, const Message& m, uint64_t now);
  void on_map_reply(uint32_t ifindex, const Message& m, uint64_t now);
  void duplicate_seen(uint8_t pos, uint32_t other_tag, uint64_t now);

  // qspn.cpp
  void qspn_request(uint64_t now, bool change = true);
  void qspn_start(uint64_t now, bool change);
  void new_round(uint32_t r, uint8_t origin, uint64_t started, uint64_t now, bool change);
  void on_tracer(uint32_t ifindex, const Message& m, uint64_t now);
  void forward(const Tracer& t, const Nbr& from, const std::vector<Nbr*>& to);
  void announce(uint64_t now);

  // ext.cpp: level 1
  bool same_level1(uint32_t a) const { return a && addr_ && (a >> 16) == (addr_ >> 16); }
  static uint8_t gnode_of(uint32_t a) { return uint8_t(a >> 8); }
  void ext_learn(uint8_t g, const Nbr& via, uint16_t seq, uint32_t tag, uint8_t origin, uint8_t size,
                 uint32_t adv_us, uint64_t cost_us, uint64_t now);
  bool ext_feasible(const ExtDest& d, const ExtRoute& r) const;
  const ExtRoute* ext_best(uint8_t g, const Key* not_via) const;
  void ext_drop_via(const Key& k);
  void ext_install(uint8_t g);
  void ext_expire(uint64_t now);
  void ext_clear();
  void ext_push(uint64_t now, bool full);
  void on_ext_map(uint32_t ifindex, const Message& m, uint64_t now);

  // maps.cpp
  void learn(uint8_t pos, uint32_t tag, const Nbr& via, uint64_t cost_us, uint32_t round);
  void learn_hops(const std::vector<Hop>& hops, const Nbr& via, uint32_t round);
  void install(uint8_t pos);
  uint32_t current_best(const Dest& d) const;
  void drop_via(const Key& k);
  void purge(uint64_t now);
  void clear_map();
  void push_map(uint64_t now);
  void send_map(const Nbr& to, uint64_t now, bool changed_only, bool whole = false);

  const tn_router_host* h_;
  Options o_;
  Counters c_;
  State state_ = State::Idle;
  uint64_t nid_ = 0;
  uint32_t addr_ = 0;
  uint32_t gtag_ = 0;  // our gnode's tag: random when founded, the hook reply's when joined
  std::vector<tn_router_if> ifs_;
  std::map<Key, Nbr> nbrs_;
  std::array<Dest, kMaxGroupNode> map_{};
  std::vector<uint8_t> out_;
  double stranger_tokens_ = 0;
  uint64_t stranger_at_ = 0;
  uint64_t now_ = 0;

  // radar
  uint32_t scan_id_ = 0;
  uint64_t scan_at_ = 0, scan_done_at_ = UINT64_MAX;

  // hook
  std::vector<Key> hook_candidates_;
  size_t hook_next_ = 0;
  Key hook_asked_{};
  uint64_t hook_deadline_ = UINT64_MAX;
  uint32_t avoid_gnode_ = 0;    // fusion: not back into the gnode being left
  uint32_t fusion_target_ = 0;  // fusion: only into this gnode (addr >> fusion_shift_) ...
  int fusion_shift_ = 8;        // ... or this level-1 gnode (shift 16)

  // level 1
  std::array<ExtDest, kMaxGroupNode> ext_{};
  std::array<bool, kMaxGroupNode> ext_dirty_{};
  size_t ext_reachable_ = 0;  // gnodes with a feasible route (kept by ext_install)
  uint8_t l1_claim_ = 0;      // l1_claim() as of the last scan: every header carries it
  uint64_t ext_push_at_ = UINT64_MAX, ext_refresh_at_ = UINT64_MAX;
  uint32_t hook_retries_ = 0;  // full gnodes seen: one more look before founding
  bool hook_busy_ = false;     // a neighbour's gnode answered busy: look again, found nothing
  uint64_t hook_busy_since_ = 0;  // first look that found only busy neighbours (bounded)
  // The first offer of free positions, narrowed by every other neighbour in that gnode.
  bool hook_collecting_ = false;
  HookReply hook_offer_{};
  uint32_t hook_offer_addr_ = 0;   // the first replier's address (the gnode offered)
  std::vector<Key> hook_pending_;  // neighbours asked to narrow it that have not answered
  // Gnodes not to fuse into, and until when: they refused us as full (a neighbour's size
  // claim lags, and a gnode of one that fused into a full gnode founded again and tried
  // again, every scan, for ever), or we left them as the smaller part of a split (nodes
  // that left fused straight back into the other part, and out again).
  std::vector<std::pair<uint32_t, uint64_t>> full_gnodes_;
  bool known_full(uint32_t gnode, uint64_t now) const;
  void shun(uint32_t gnode, uint64_t now);
  // A duplicate of our position seen while settled in it: the grace the newer holder has.
  uint64_t dup_since_ = 0, dup_last_ = 0;
  uint64_t split_since_ = 0;  // our id and tag seen with a newer round (ext.cpp)
  // Our map is complete enough to hand out positions: we founded the gnode, a neighbour
  // whose map was complete sent us its map, or a QSPN round that began after we joined
  // it is over (purged). A node that has just joined
  // knows only the maps of its first neighbours; at 1,000 nodes, with gnodes fusing, such
  // nodes offered positions that were taken (measured: 5,000 duplicate re-hooks in 200 s).
  bool map_ready_ = false;
  uint64_t joined_at_ = 0;
  uint64_t round_seen_at_ = 0;  // when the current round reached us
  uint32_t hook_level1_ = 0;                        // refusers' level-1 gnode (addr >> 16)
  uint8_t hook_gnodes_[kMaxGroupNode / 8]{};        // gnode ids they said are taken

  // qspn
  uint32_t round_ = 0;
  uint64_t round_start_ = 0;
  uint64_t next_round_at_ = UINT64_MAX;
  uint64_t pending_qspn_at_ = UINT64_MAX;
  uint64_t last_close_rx_ = 0, last_close_tx_ = 0;
  bool have_close_rx_ = false, have_close_tx_ = false;
  uint64_t purge_at_ = UINT64_MAX;
  uint64_t map_push_at_ = UINT64_MAX;  // send our map to the gnode neighbours
  uint64_t full_map_at_ = UINT64_MAX;  // once a round, the whole of it
  bool improved_ = false;              // a best cost fell since the last push
  uint8_t round_origin_ = 255;    // the current round's starter (the lowest of a tie)
  bool starter_ = false;          // started the current round
  bool round_change_ = false;     // the current round was started by a change
  bool pending_change_ = false;   // the pending request is for a change
  bool opened_ = false;           // sent our qspn_open this round
  std::vector<Key> closed_;       // links that sent us a close this round
  std::array<bool, kMaxGroupNode> close_seen_{};  // origins whose close we forwarded
  std::array<bool, kMaxGroupNode> map_dirty_{};   // positions whose best cost fell
  std::array<std::vector<Key>, kMaxGroupNode> open_links_{};  // per sub_id: opened links
  std::array<uint32_t, kMaxGroupNode> plain_last_{};  // per origin: last plain pkt_id
  uint32_t pkt_id_ = 0;
};

}  // namespace ntk
