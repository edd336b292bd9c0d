// Node: dispatch of datagrams and timers to radar, hook and QSPN; see node.h.
#include "node.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace ntk {

namespace {

constexpr uint32_t kBroadcast = 0xffffffffu;

std::string ip(uint32_t a) {
  char b[20];
  std::snprintf(b, sizeof b, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
  return b;
}
}  // namespace

Node::Node(const tn_router_host* host, const Options& o) : h_(host), o_(o) {}

Node::~Node() { clear_address(); }

void Node::start() {
  now_ = h_->now_ns(h_->ctx);
  nid_ = h_->random_u64(h_->ctx) | 1;  // never 0: 0 addresses every node of a link
  state_ = State::Scanning;
  scan_at_ = now_;
  h_->wakeup(h_->ctx, now_);
}

void Node::log(const std::string& line) {
  if (o_.verbose && h_->log) h_->log(h_->ctx, ("mesh: " + line).c_str());
}

Header Node::header(Type t, uint64_t dst) const {
  Header h;
  h.type = t;
  h.src_nid = nid_;
  h.dst_nid = dst;
  h.src_addr = hooked() ? addr_ : 0;
  h.gnode_size = gnode_size();
  h.gseq = uint16_t(round_);
  h.l1_gnodes = hooked() ? l1_claim_ : 0;
  if (hooked() && !map_ready_) h.flags |= kHeaderBusy;
  return h;
}

void Node::send(uint32_t ifindex, const std::vector<uint8_t>& d) {
  tn_router_addr dst{};
  dst.family = 4;
  for (int i = 0; i < 4; ++i) dst.b[i] = uint8_t(kBroadcast >> (24 - 8 * i));
  int rc = h_->send(h_->ctx, ifindex, &dst, kPort, d.data(), d.size());
  if (rc < 0) ++c_.tx_errors;
  else ++c_.tx_datagrams;
}

// Token bucket per neighbour: flood_rate packets a second, a second's worth of burst.
bool Node::allow(Nbr& n, uint64_t now) {
  double cap = o_.flood_rate;
  if (n.tokens_at == 0) n.tokens = cap;
  n.tokens = std::min(cap, n.tokens + double(now - std::min(now, n.tokens_at)) * 1e-9 * cap);
  n.tokens_at = now;
  if (n.tokens < 1) {
    ++c_.rx_rate_limited;
    return false;
  }
  n.tokens -= 1;
  return true;
}

bool Node::allow_stranger(uint64_t now) {
  double cap = o_.flood_rate;
  if (stranger_at_ == 0) stranger_tokens_ = cap;
  stranger_tokens_ =
      std::min(cap, stranger_tokens_ + double(now - std::min(now, stranger_at_)) * 1e-9 * cap);
  stranger_at_ = now;
  if (stranger_tokens_ < 1) {
    ++c_.rx_rate_limited;
    return false;
  }
  stranger_tokens_ -= 1;
  return true;
}

Node::Nbr* Node::find(const Key& k) {
  auto it = nbrs_.find(k);
  return it == nbrs_.end() ? nullptr : &it->second;
}

std::vector<Node::Nbr*> Node::gnode_neighbours() {
  std::vector<Nbr*> v;
  for (auto& [k, n] : nbrs_)
    if (n.alive && n.rtt_us && same_gnode(n.addr)) v.push_back(&n);
  return v;
}

size_t Node::alive_neighbours() const {
  size_t n = 0;
  for (const auto& [k, x] : nbrs_) n += x.alive;
  return n;
}

uint16_t Node::gnode_size() const {
  if (!hooked()) return 0;
  uint16_t n = 1;
  for (const Dest& d : map_) n += d.used && !d.routes.empty();
  return n;
}

void Node::receive(uint32_t ifindex, std::span<const uint8_t> d) {
  now_ = h_->now_ns(h_->ctx);
  ++c_.rx_datagrams;
  WireError e = WireError::None;
  auto m = decode(d, &e);
  if (!m) {
    switch (e) {
      case WireError::Short: ++c_.rx_short; break;
      case WireError::BadMagic: ++c_.rx_bad_magic; break;
      case WireError::BadVersion: ++c_.rx_bad_version; break;
      case WireError::BadLength: ++c_.rx_bad_length; break;
      case WireError::UnknownType: ++c_.rx_unknown_type; break;
      default: ++c_.rx_bad_body; break;
    }
    return;
  }
  if (m->h.src_nid == nid_) {
    ++c_.rx_from_self;  // our own broadcast, looped back by a hub
    return;
  }
  if (m->h.dst_nid != 0 && m->h.dst_nid != nid_) {
    ++c_.rx_not_for_us;
    return;
  }
  if (state_ == State::Idle) return;
  switch (m->h.type) {
    case Type::Echo: on_echo(ifindex, *m, now_); break;
    case Type::EchoReply: on_echo_reply(ifindex, *m, now_); break;
    case Type::HookRequest: on_hook_request(ifindex, *m, now_); break;
    case Type::HookReply: on_hook_reply(ifindex, *m, now_); break;
    case Type::MapRequest: on_map_request(ifindex, *m, now_); break;
    case Type::MapReply: on_map_reply(ifindex, *m, now_); break;
    case Type::Tracer: on_tracer(ifindex, *m, now_); break;
    case Type::ExtMap: on_ext_map(ifindex, *m, now_); break;
  }
  h_->wakeup(h_->ctx, now_);  // timers may have moved earlier
}

uint64_t Node::poll(uint64_t now) {
  now_ = now;
  if (state_ == State::Idle) return UINT64_MAX;
  if (now >= scan_at_) scan(now);
  if (now >= scan_done_at_) scan_done(now);
  if (now >= hook_deadline_) {
    hook_deadline_ = UINT64_MAX;
    if (hook_collecting_) hook_take(now);  // the neighbours that did not answer have no say
    else hook_ask_next(now);
  }
  if (now >= pending_qspn_at_) {
    pending_qspn_at_ = UINT64_MAX;
    qspn_request(now, pending_change_);
  }
  if (now >= next_round_at_) {
    next_round_at_ = UINT64_MAX;
    qspn_request(now, false);  // the refresh, not a change
  }
  if (now >= purge_at_) purge(now);
  if (now >= map_push_at_) push_map(now);
  if (now >= full_map_at_) {
    full_map_at_ = UINT64_MAX;
    for (Nbr* n : gnode_neighbours()) send_map(*n, now, false);
  }
  if (now >= ext_refresh_at_) ext_push(now, true);
  if (now >= ext_push_at_) ext_push(now, false);
  return std::min({scan_at_, scan_done_at_, hook_deadline_, pending_qspn_at_, next_round_at_,
                   purge_at_, map_push_at_, full_map_at_, ext_push_at_, ext_refresh_at_});
}

void Node::link_event(uint32_t ifindex, bool up) {
  if (up) return;  // the next scan finds what is on it
  std::vector<Key> gone;
  for (auto& [k, n] : nbrs_)
    if (k.first == ifindex) gone.push_back(k);
  for (const Key& k : gone) {
    drop_via(k);
    nbrs_.erase(k);
    ++c_.neighbours_lost;
  }
  if (!gone.empty() && hooked()) qspn_request(now_);
}

void Node::set_address(uint32_t a) {
  clear_address();
  tn_router_if buf[64];
  int n = std::min(h_->interfaces(h_->ctx, buf, 64), 64);
  ifs_.assign(buf, buf + std::max(n, 0));
  tn_router_addr ta{};
  ta.family = 4;
  for (int i = 0; i < 4; ++i) ta.b[i] = uint8_t(a >> (24 - 8 * i));
  for (const tn_router_if& i : ifs_) h_->add_address(h_->ctx, i.ifindex, &ta, o_.realm_plen);
  addr_ = a;
}

void Node::clear_address() {
  if (!addr_) return;
  tn_router_addr ta{};
  ta.family = 4;
  for (int i = 0; i < 4; ++i) ta.b[i] = uint8_t(addr_ >> (24 - 8 * i));
  for (const tn_router_if& i : ifs_) h_->del_address(h_->ctx, i.ifindex, &ta, o_.realm_plen);
  addr_ = 0;
}

std::string Node::status_json() const {
  std::string s = "{\"hooked\":";
  s += hooked() ? "true" : "false";
  static const char* const kState[] = {"idle", "scanning", "hooking", "hooked"};
  s += ",\"state\":\"" + std::string(kState[int(state_)]) + "\",\"busy\":";
  s += map_ready_ ? "false" : "true";
  s += ",\"address\":\"" + ip(addr_) + "\",\"gnode\":\"" + ip(addr_ & ~0xffu) + "/24\"";
  s += ",\"node_id\":\"" + std::to_string(nid_) + "\",\"round\":" + std::to_string(round_);
  s += ",\"gnode_size\":" + std::to_string(gnode_size());
  s += ",\"destinations\":" + std::to_string(destinations());
  s += ",\"neighbours\":[";
  bool first = true;
  for (const auto& [k, n] : nbrs_) {
    if (!n.alive) continue;
    if (!first) s += ",";
    first = false;
    s += "{\"ifindex\":" + std::to_string(n.ifindex) + ",\"address\":\"" + ip(n.addr) +
         "\",\"rtt_us\":" + std::to_string(n.rtt_us) + ",\"gnode_size\":" + std::to_string(n.gsize) +
         ",\"busy\":" + (n.busy ? "true" : "false") + "}";
  }
  s += "],\"counters\":{";
  first = true;
#define NTK_JSON(n)                                   \
  s += std::string(first ? "" : ",") + "\"" #n "\":" + std::to_string(c_.n); \
  first = false;
  NTK_COUNTERS(NTK_JSON)
#undef NTK_JSON
  s += "}}";
  return s;
}

}  // namespace ntk
