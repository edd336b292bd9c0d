// Test harness: TcpEngines wired back to back through an in-memory network with a
// manual clock and optional loss / reordering / duplication / delay. No Ethernet/IP.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <vector>

#include "libstack/tcp.h"
#include "transport/tcp/tcp_engine.h"
#include "wire/tcp.h"

namespace tcptest {

using namespace libstack;
using namespace std::chrono_literals;
using libstack::tcp::TcpEngine;

inline IpAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return IpAddr(Ipv4Addr{{a, b, c, d}}); }

struct Packet {
  Instant at{0};
  uint64_t order = 0;
  IpAddr src, dst;
  std::vector<uint8_t> bytes;
  wire::TcpHeader hdr() const {
    wire::TcpHeader h;
    std::span<const uint8_t> p;
    EXPECT_TRUE(wire::parse_tcp(bytes, h, p));
    return h;
  }
  size_t payload_len() const {
    wire::TcpHeader h;
    std::span<const uint8_t> p;
    wire::parse_tcp(bytes, h, p);
    return p.size();
  }
};

class Net;

class TestHost final : public tcp::TcpHost {
 public:
  TestHost(Net& net, IpAddr addr, uint64_t seed) : net_(net), addr_(addr), rng_(seed) {}
  bool send_segment(const IpAddr& src, const IpAddr& dst, std::span<const uint8_t> seg) override;
  size_t path_mtu(const IpAddr&) const override { return mtu; }
  IpAddr source_for(const IpAddr& dst) const override {
    return dst.family == addr_.family ? addr_ : IpAddr{};
  }
  bool is_local_address(const IpAddr& a) const override { return a == addr_; }
  Random& random() override { return rng_override ? *rng_override : rng_; }
  size_t mtu = 1500;
  Random* rng_override = nullptr;  // e.g. to force ISNs near the 2^32 wrap
  bool fail_sends = false;         // send_segment returns false (queue full / no route)

 private:
  Net& net_;
  IpAddr addr_;
  SplitMix64 rng_;
};

struct Impair {
  double loss = 0, dup = 0, reorder = 0;
  Duration delay = 1ms;         // one-way latency
  Duration reorder_extra = 3ms; // extra delay of a reordered packet
};

class Net {
 public:
  explicit Net(uint64_t seed = 1) : rng_(seed) {}

  TcpEngine& add(IpAddr addr, TcpTuning tun = {}) {
    auto h = std::make_unique<TestHost>(*this, addr, rng_.next_u64());
    auto e = std::make_unique<TcpEngine>(*h, tun);
    TcpEngine& ref = *e;
    ref.poll(now);  // socket calls use the time of the latest input()/poll()
    nodes_[addr] = Node{std::move(h), std::move(e)};
    return ref;
  }
  TestHost& host(IpAddr a) { return *nodes_.at(a).host; }

  void transmit(const IpAddr& src, const IpAddr& dst, std::span<const uint8_t> seg) {
    Packet p;
    p.src = src;
    p.dst = dst;
    p.bytes.assign(seg.begin(), seg.end());
    p.at = now + imp.delay;
    sent.push_back(p);
    if (drop && drop(p)) { ++dropped; return; }
    if (imp.loss > 0 && uniform() < imp.loss) { ++dropped; return; }
    if (imp.reorder > 0 && uniform() < imp.reorder) p.at += imp.reorder_extra;
    bool dupe = imp.dup > 0 && uniform() < imp.dup;
    p.order = seq_++;
    if (dupe) {
      Packet q = p;
      q.order = seq_++;
      q.at += 1ms;
      queue_.push(std::move(q));
    }
    queue_.push(std::move(p));
  }

  // Delivers due packets and runs timers at the current time.
  void step() {
    for (int i = 0; i < 100000 && !queue_.empty() && queue_.top().at <= now; ++i) {
      Packet p = queue_.top();
      queue_.pop();
      auto it = nodes_.find(p.dst);
      if (it == nodes_.end()) { ++undeliverable; continue; }
      ++delivered;
      it->second.engine->input(p.src, p.dst, p.bytes, now);
    }
    for (auto& [a, n] : nodes_) n.engine->poll(now);
  }

  Instant next_event() const {
    Instant d = kNever;
    if (!queue_.empty()) d = queue_.top().at;
    for (auto& [a, n] : nodes_) d = std::min(d, n.engine->next_deadline());
    return d;
  }

  // Runs until pred() holds or `limit` of simulated time passes (bounded step count).
  bool run_until(const std::function<bool()>& pred, Duration limit = 60s, int max_steps = 2000000) {
    Instant end = now + limit;
    for (int i = 0; i < max_steps; ++i) {
      step();
      if (pred()) return true;
      Instant nx = next_event();
      if (nx == kNever || nx > end) {
        now = end;
        step();
        return pred();
      }
      if (nx > now) now = nx;
    }
    return pred();
  }
  void run_for(Duration d) { run_until([] { return false; }, d); }

  // Inject a hand-made segment (checksum filled) as if it came from src.
  void inject(const IpAddr& src, const IpAddr& dst, wire::TcpHeader h,
              std::span<const uint8_t> payload = {}) {
    std::vector<uint8_t> b(60 + payload.size());
    size_t hl = wire::emit_tcp_header(h, b);
    ASSERT_GT(hl, 0u);
    std::copy(payload.begin(), payload.end(), b.begin() + long(hl));
    b.resize(hl + payload.size());
    wire::tcp_fill_checksum(src, dst, b);
    nodes_.at(dst).engine->input(src, dst, b, now);
  }

  // Packets sent from `src` since index `from`.
  std::vector<Packet> sent_from(const IpAddr& src, size_t from = 0) const {
    std::vector<Packet> r;
    for (size_t i = from; i < sent.size(); ++i)
      if (sent[i].src == src) r.push_back(sent[i]);
    return r;
  }

  double uniform() { return double(rng_.next_u64() >> 11) / double(1ull << 53); }

  Instant now{std::chrono::seconds(1000)};
  Impair imp;
  std::function<bool(const Packet&)> drop;  // return true to drop
  std::vector<Packet> sent;                 // every transmitted packet (tap)
  uint64_t dropped = 0, delivered = 0, undeliverable = 0;

 private:
  struct Node {
    std::unique_ptr<TestHost> host;
    std::unique_ptr<TcpEngine> engine;
  };
  struct Later {
    bool operator()(const Packet& a, const Packet& b) const {
      return a.at != b.at ? a.at > b.at : a.order > b.order;
    }
  };
  SplitMix64 rng_;
  uint64_t seq_ = 0;
  std::map<IpAddr, Node> nodes_;
  std::priority_queue<Packet, std::vector<Packet>, Later> queue_;
};

inline bool TestHost::send_segment(const IpAddr& src, const IpAddr& dst,
                                   std::span<const uint8_t> seg) {
  if (fail_sends) return false;
  net_.transmit(src, dst, seg);
  return true;
}

// A connected pair: client on engine a, server (accepted) on engine b.
struct Pair {
  TcpSocket listener, client, server;
};

inline const IpAddr kA = v4(10, 0, 0, 1);
inline const IpAddr kB = v4(10, 0, 0, 2);

inline bool connect_pair(Net& net, TcpEngine& a, TcpEngine& b, Pair& p, uint16_t port = 80) {
  p.listener = b.socket();
  if (p.listener.bind(Endpoint{kB, port}) != 0) return false;
  if (p.listener.listen(16) != 0) return false;
  p.client = a.socket();
  if (p.client.connect(Endpoint{kB, port}) != -EINPROGRESS) return false;
  bool ok = net.run_until([&] {
    if (!p.server.valid()) p.listener.accept(&p.server);
    return p.server.valid() && p.client.state() == TcpState::Established;
  }, 10s);
  return ok;
}

inline std::vector<uint8_t> pattern(size_t n, uint32_t seed = 7) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    v[i] = uint8_t(x >> 24);
  }
  return v;
}

// Pumps `data` from `from` to `to` until all bytes are received or the time limit hits.
inline std::vector<uint8_t> transfer(Net& net, TcpSocket& from, TcpSocket& to,
                                     const std::vector<uint8_t>& data, Duration limit = 120s,
                                     bool close_after = false) {
  std::vector<uint8_t> got;
  got.reserve(data.size());
  size_t off = 0;
  std::vector<uint8_t> buf(65536);
  bool closed = false;
  net.run_until([&] {
    while (off < data.size()) {
      int64_t n = from.send(std::span(data).subspan(off));
      if (n <= 0) break;
      off += size_t(n);
    }
    if (close_after && off == data.size() && !closed) {
      from.shutdown(kTcpShutWr);
      closed = true;
    }
    for (;;) {
      int64_t n = to.recv(buf);
      if (n <= 0) break;
      got.insert(got.end(), buf.begin(), buf.begin() + n);
    }
    return got.size() >= data.size();
  }, limit);
  return got;
}

}  // namespace tcptest
