// InProcessHub: links that carry frames in memory between stacks of one process.
//
// Theory of operation: a hub owns one receive queue per port. transmit() on a port decides,
// for every destination port (all others in hub mode; the learnt port in switch mode), the
// impairments of that copy: loss (drop), duplication (a second copy), reordering (extra
// reorder_delay), delay + jitter, and the sender's serialisation time under a rate cap.
// Each copy gets a "ready" instant; the receive queue is ordered by (ready, sequence), so
// receive(now) hands out only frames whose ready <= now, and next_rx_time() reports the
// earliest pending one for an event loop driving a manual or real clock. Queues are bounded
// (queue_limit frames) and every drop path has a counter. The rx-notify callback of the
// destination port is called (outside the hub lock) whenever a copy is queued, delayed or
// not; the event loop then consults next_rx_time(). All randomness comes from the injected
// Random, so a seeded generator gives reproducible impairment patterns. The hub is shared
// by its ports (shared_ptr) and protected by a mutex, so ports may live on different
// threads.
#include <algorithm>
#include <cstring>
#include <map>
#include <queue>
#include <stdexcept>

#include "libstack/links.h"

namespace libstack {

namespace {
struct Later {
  bool operator()(const InProcessHub::Frame& a, const InProcessHub::Frame& b) const {
    if (a.ready != b.ready) return a.ready > b.ready;
    return a.seq > b.seq;
  }
};
}  // namespace

struct InProcessHub::PortState {
  bool attached = true;
  std::priority_queue<Frame, std::vector<Frame>, Later> rxq;
  std::function<void()> notify;
  uint64_t dropped = 0;
  Instant tx_free_at{0};  // rate cap: when this port's "wire" is free again
};

namespace {
class InProcessPort final : public Link {
 public:
  InProcessPort(std::shared_ptr<InProcessHub> hub, size_t id) : hub_(std::move(hub)), id_(id) {}
  ~InProcessPort() override { hub_->detach(id_); }
  LinkKind kind() const override { return hub_->options().kind; }
  size_t mtu() const override { return hub_->options().mtu; }
  bool transmit(std::span<const uint8_t> frame, Instant now) override {
    return hub_->transmit_from(id_, frame, now);
  }
  size_t receive(std::span<uint8_t> buf, Instant now) override {
    return hub_->receive_at(id_, buf, now);
  }
  void set_rx_notify(std::function<void()> cb) override { hub_->set_notify(id_, std::move(cb)); }
  Instant next_rx_time() const override { return hub_->next_rx_time(id_); }
  uint64_t dropped() const override { return hub_->dropped_at(id_); }

 private:
  std::shared_ptr<InProcessHub> hub_;
  size_t id_;
};
}  // namespace

InProcessHub::InProcessHub(InProcessOptions opts, std::shared_ptr<Random> rng)
    : opts_(opts), rng_(std::move(rng)) {
  if (opts_.mtu < 1 || opts_.mtu > kMaxLinkMtu)
    throw std::invalid_argument("InProcessHub: mtu must be in [1, 65535]");
  if (opts_.queue_limit == 0) throw std::invalid_argument("InProcessHub: queue_limit 0");
  set_impairments(opts_.impairments);
}

InProcessHub::~InProcessHub() = default;

std::shared_ptr<InProcessHub> InProcessHub::create(InProcessOptions opts,
                                                   std::shared_ptr<Random> rng) {
  return std::make_shared<InProcessHub>(opts, std::move(rng));
}

std::pair<std::unique_ptr<Link>, std::unique_ptr<Link>> InProcessHub::make_pair(
    InProcessOptions opts, std::shared_ptr<Random> rng) {
  auto hub = create(opts, std::move(rng));
  auto a = hub->add_port();
  auto b = hub->add_port();
  return {std::move(a), std::move(b)};
}

void InProcessHub::set_impairments(const Impairments& imp) {
  auto prob_ok = [](double p) { return p >= 0.0 && p <= 1.0; };
  if (!prob_ok(imp.loss) || !prob_ok(imp.duplicate) || !prob_ok(imp.reorder))
    throw std::invalid_argument("InProcessHub: probabilities must be in [0, 1]");
  if (imp.delay.count() < 0 || imp.jitter.count() < 0 || imp.reorder_delay.count() < 0)
    throw std::invalid_argument("InProcessHub: negative delay");
  bool needs_rng = imp.loss > 0 || imp.duplicate > 0 || imp.reorder > 0 || imp.jitter.count() > 0;
  if (needs_rng && !rng_)
    throw std::invalid_argument("InProcessHub: random impairments need an injected Random");
  std::lock_guard lk(mu_);
  opts_.impairments = imp;
}

std::unique_ptr<Link> InProcessHub::add_port() {
  std::lock_guard lk(mu_);
  ports_.push_back(std::make_unique<PortState>());
  return std::make_unique<InProcessPort>(shared_from_this(), ports_.size() - 1);
}

InProcessStats InProcessHub::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

double InProcessHub::uniform() {
  return static_cast<double>(rng_->next_u64() >> 11) * 0x1.0p-53;
}

void InProcessHub::enqueue(size_t dst, std::span<const uint8_t> frame, Instant ready) {
  PortState& p = *ports_[dst];
  if (p.rxq.size() >= opts_.queue_limit) {
    ++p.dropped;
    ++stats_.queue_drops;
    return;
  }
  p.rxq.push(Frame{ready, seq_++, std::vector<uint8_t>(frame.begin(), frame.end())});
}

bool InProcessHub::transmit_from(size_t src, std::span<const uint8_t> frame, Instant now) {
  std::vector<std::function<void()>> to_notify;
  {
    std::lock_guard lk(mu_);
    PortState& sp = *ports_[src];
    const bool eth = opts_.kind == LinkKind::Ethernet;
    const size_t hdr = eth ? kEthernetHeaderLen : 0;
    if (frame.size() <= hdr || frame.size() > opts_.mtu + hdr) {
      ++sp.dropped;
      ++stats_.oversize;
      return false;
    }
    ++stats_.sent;
    const Impairments& imp = opts_.impairments;

    // Serialisation under the rate cap: the frame leaves when the sender's wire is free.
    Instant depart = now;
    if (imp.rate_bps > 0) {
      depart = std::max(now, sp.tx_free_at);
      auto bits = static_cast<unsigned __int128>(frame.size()) * 8u * 1'000'000'000u;
      sp.tx_free_at = depart + Duration(static_cast<int64_t>(bits / imp.rate_bps));
      depart = sp.tx_free_at;
    }

    // Destinations.
    std::vector<size_t> dsts;
    bool flood = true;
    if (eth && opts_.learning_switch) {
      MacAddr dst_mac, src_mac;
      std::memcpy(dst_mac.b.data(), frame.data(), 6);
      std::memcpy(src_mac.b.data(), frame.data() + 6, 6);
      if (!src_mac.is_multicast()) learned_[src_mac] = src;
      if (!dst_mac.is_multicast()) {
        auto it = learned_.find(dst_mac);
        if (it != learned_.end()) {
          flood = false;
          if (it->second != src && ports_[it->second]->attached) dsts.push_back(it->second);
        }
      }
    }
    if (flood)
      for (size_t i = 0; i < ports_.size(); ++i)
        if (i != src && ports_[i]->attached) dsts.push_back(i);

    for (size_t d : dsts) {
      if (imp.loss > 0 && uniform() < imp.loss) {
        ++stats_.lost;
        continue;
      }
      int copies = 1;
      if (imp.duplicate > 0 && uniform() < imp.duplicate) {
        copies = 2;
        ++stats_.duplicated;
      }
      for (int c = 0; c < copies; ++c) {
        Instant ready = depart + imp.delay;
        if (imp.jitter.count() > 0)
          ready += Duration(static_cast<int64_t>(rng_->below(
              static_cast<uint64_t>(imp.jitter.count()))));
        if (imp.reorder > 0 && uniform() < imp.reorder) {
          ready += imp.reorder_delay;
          ++stats_.reordered;
        }
        enqueue(d, frame, ready);
      }
      if (ports_[d]->notify) to_notify.push_back(ports_[d]->notify);
    }
  }
  for (auto& cb : to_notify) cb();
  return true;
}

size_t InProcessHub::receive_at(size_t port, std::span<uint8_t> buf, Instant now) {
  std::lock_guard lk(mu_);
  PortState& p = *ports_[port];
  while (!p.rxq.empty() && p.rxq.top().ready <= now) {
    const Frame& f = p.rxq.top();
    if (f.bytes.size() > buf.size()) {
      ++p.dropped;
      ++stats_.oversize;
      p.rxq.pop();
      continue;
    }
    size_t n = f.bytes.size();
    std::memcpy(buf.data(), f.bytes.data(), n);
    p.rxq.pop();
    ++stats_.delivered;
    return n;
  }
  return 0;
}

Instant InProcessHub::next_rx_time(size_t port) const {
  std::lock_guard lk(mu_);
  const PortState& p = *ports_[port];
  return p.rxq.empty() ? kNever : p.rxq.top().ready;
}

uint64_t InProcessHub::dropped_at(size_t port) const {
  std::lock_guard lk(mu_);
  return ports_[port]->dropped;
}

void InProcessHub::set_notify(size_t port, std::function<void()> cb) {
  std::lock_guard lk(mu_);
  ports_[port]->notify = std::move(cb);
}

void InProcessHub::detach(size_t port) {
  std::lock_guard lk(mu_);
  PortState& p = *ports_[port];
  p.attached = false;
  p.notify = nullptr;
  while (!p.rxq.empty()) p.rxq.pop();
  for (auto it = learned_.begin(); it != learned_.end();)
    it = it->second == port ? learned_.erase(it) : std::next(it);
}

}  // namespace libstack
