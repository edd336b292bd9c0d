// Test harness for frame-level stack tests: an in-memory Ethernet link pair, a manual
// clock and helpers to run stacks until they are idle. No sleeps, every loop bounded.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <vector>

#include "libstack/icmp.h"
#include "libstack/link.h"
#include "libstack/stack.h"
#include "libstack/udp.h"
#include "stack_impl.h"

namespace libstack::test {

using namespace std::chrono_literals;

// One end of an in-memory point-to-point Ethernet cable. Frames transmitted on one end
// are queued on the other; every transmitted frame is also kept in `sent` for asserts.
class MemLink final : public Link {
 public:
  explicit MemLink(size_t mtu = 1500) : mtu_(mtu) {}
  LinkKind kind() const override { return LinkKind::Ethernet; }
  size_t mtu() const override { return mtu_; }
  bool transmit(std::span<const uint8_t> f, Instant) override {
    if (f.size() > mtu_ + 14) return false;
    sent.emplace_back(f.begin(), f.end());
    if (sent.size() > 4096) sent.pop_front();
    if (drop_tx) return true;
    if (peer) peer->inject(f);
    return true;
  }
  size_t receive(std::span<uint8_t> buf, Instant) override {
    if (rx.empty()) return 0;
    auto f = std::move(rx.front());
    rx.pop_front();
    if (f.size() > buf.size()) return 0;
    std::copy(f.begin(), f.end(), buf.begin());
    return f.size();
  }
  void set_rx_notify(std::function<void()> cb) override { notify_ = std::move(cb); }
  uint32_t offloads() const override { return offload; }
  // Does what a kernel does with a virtio_net_hdr: completes partial checksums and cuts
  // super-segments into gso_size pieces, checking the metadata on the way (bad_offload).
  bool transmit_offload(std::span<const uint8_t> f, const TxOffload& o, Instant now) override {
    if (!(offload & (link_offload::kTso | link_offload::kTxChecksumPartial))) return false;
    ++offload_frames;
    if (f.size() < 14 + 40) return ++bad_offload, false;
    bool v4 = f[12] == 0x08 && f[13] == 0x00;
    size_t iphl = v4 ? 20 : 40;
    const uint8_t* ipp = f.data() + 14;
    if ((v4 ? ipp[9] : ipp[6]) != 6 || !o.csum_partial || o.csum_start != 14 + iphl ||
        o.csum_offset != 16)
      return ++bad_offload, false;
    IpAddr src, dst;
    if (v4) {
      Ipv4Addr s, d;
      std::copy_n(ipp + 12, 4, s.b.begin());
      std::copy_n(ipp + 16, 4, d.b.begin());
      src = IpAddr(s), dst = IpAddr(d);
    } else {
      Ipv6Addr s, d;
      std::copy_n(ipp + 8, 16, s.b.begin());
      std::copy_n(ipp + 24, 16, d.b.begin());
      src = IpAddr(s), dst = IpAddr(d);
    }
    std::span<const uint8_t> seg = f.subspan(14 + iphl);
    uint16_t partial = uint16_t(seg[16] << 8 | seg[17]);
    if (partial != uint16_t(~wire::pseudo_header(src, dst, 6, uint32_t(seg.size())).fold()))
      return ++bad_offload, false;
    size_t thl = size_t(seg[12] >> 4) * 4;
    size_t piece = o.gso == TxOffload::kNone ? seg.size() - thl : o.gso_size;
    if (o.gso != TxOffload::kNone) {
      ++gso_frames;
      if (o.gso != (v4 ? TxOffload::kTcpV4 : TxOffload::kTcpV6) || o.hdr_len != 14 + iphl + thl ||
          piece == 0 || 14 + iphl + thl + piece > mtu_ + 14)
        return ++bad_offload, false;
    }
    uint32_t seq = uint32_t(seg[4] << 24 | seg[5] << 16 | seg[6] << 8 | seg[7]);
    size_t payload = seg.size() - thl;
    for (size_t off = 0, k = 0; off < payload || (payload == 0 && k == 0); off += piece, ++k) {
      size_t n = std::min(piece, payload - off);
      bool last = off + n == payload;
      std::vector<uint8_t> p(f.begin(), f.begin() + long(14 + iphl + thl));
      p.insert(p.end(), seg.begin() + long(thl + off), seg.begin() + long(thl + off + n));
      uint8_t* ip2 = p.data() + 14;
      uint8_t* t = ip2 + iphl;
      if (v4) {
        uint16_t tot = uint16_t(iphl + thl + n), id = uint16_t((ip2[4] << 8 | ip2[5]) + k);
        ip2[2] = uint8_t(tot >> 8), ip2[3] = uint8_t(tot);
        ip2[4] = uint8_t(id >> 8), ip2[5] = uint8_t(id);
        ip2[10] = ip2[11] = 0;
        uint16_t c = wire::checksum(std::span<const uint8_t>(ip2, 20));
        ip2[10] = uint8_t(c >> 8), ip2[11] = uint8_t(c);
      } else {
        uint16_t pl = uint16_t(thl + n);
        ip2[4] = uint8_t(pl >> 8), ip2[5] = uint8_t(pl);
      }
      uint32_t s2 = seq + uint32_t(off);
      t[4] = uint8_t(s2 >> 24), t[5] = uint8_t(s2 >> 16), t[6] = uint8_t(s2 >> 8), t[7] = uint8_t(s2);
      if (!last) t[13] = uint8_t(t[13] & ~0x09);
      t[16] = t[17] = 0;
      uint16_t c = wire::transport_checksum(src, dst, 6, std::span<const uint8_t>(t, thl + n));
      t[16] = uint8_t(c >> 8), t[17] = uint8_t(c);
      if (!transmit(p, now)) return false;
    }
    return true;
  }
  void inject(std::span<const uint8_t> f) {
    rx.emplace_back(f.begin(), f.end());
    if (notify_) notify_();
  }
  static void connect(MemLink& a, MemLink& b) { a.peer = &b; b.peer = &a; }

  MemLink* peer = nullptr;
  bool drop_tx = false;  // cable cut: frames are recorded but not delivered
  uint32_t offload = 0;  // link_offload::* advertised by this end
  uint64_t offload_frames = 0, gso_frames = 0, bad_offload = 0;
  std::deque<std::vector<uint8_t>> rx, sent;

 private:
  size_t mtu_;
  std::function<void()> notify_;
};

// TCP segments (with their IP source/destination) inside recorded Ethernet frames.
struct TcpInFrame {
  IpAddr src, dst;
  std::span<const uint8_t> seg;
};
inline std::vector<TcpInFrame> tcp_segments(const std::deque<std::vector<uint8_t>>& frames) {
  std::vector<TcpInFrame> v;
  for (auto& f : frames) {
    if (f.size() < 14 + 40) continue;
    uint16_t et = uint16_t(f[12] << 8 | f[13]);
    const uint8_t* p = f.data() + 14;
    if (et == 0x0800 && p[9] == 6) {
      size_t hl = size_t(p[0] & 15) * 4, tot = size_t(p[2] << 8 | p[3]);
      if (tot > f.size() - 14 || tot < hl + 20) continue;
      Ipv4Addr s, d;
      std::copy_n(p + 12, 4, s.b.begin());
      std::copy_n(p + 16, 4, d.b.begin());
      v.push_back({IpAddr(s), IpAddr(d), std::span<const uint8_t>(p + hl, tot - hl)});
    } else if (et == 0x86dd && p[6] == 6) {
      size_t pl = size_t(p[4] << 8 | p[5]);
      if (pl + 40 > f.size() - 14 || pl < 20) continue;
      Ipv6Addr s, d;
      std::copy_n(p + 8, 16, s.b.begin());
      std::copy_n(p + 24, 16, d.b.begin());
      v.push_back({IpAddr(s), IpAddr(d), std::span<const uint8_t>(p + 40, pl)});
    }
  }
  return v;
}

inline IpAddr ip(const char* s) { return *IpAddr::parse(s); }
inline Cidr cidr(const char* s) { return *Cidr::parse(s); }
inline IpAddr unspecified_of(IpAddr::Family f) {
  return f == IpAddr::Family::V4 ? IpAddr(Ipv4Addr{}) : IpAddr(Ipv6Addr{});
}
inline MacAddr mac(uint8_t last) { return {{0x02, 0, 0, 0, 0, last}}; }
inline std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Two stacks joined by a MemLink pair: A = 10.0.0.1/24, 2001:db8::1/64; B = .2 / ::2.
struct Pair {
  SplitMix64 rng_a{1}, rng_b{2};
  MemLink la, lb;
  std::unique_ptr<Stack> a, b;
  uint32_t ia = 0, ib = 0;
  Instant now{std::chrono::seconds(1000)};

  explicit Pair(Tuning t = {}, bool addrs = true) {
    a = Stack::create({rng_a, t});
    b = Stack::create({rng_b, t});
    MemLink::connect(la, lb);
    ia = uint32_t(a->add_interface(la, mac(1)));
    ib = uint32_t(b->add_interface(lb, mac(2)));
    if (addrs) {
      EXPECT_EQ(a->add_address(ia, cidr("10.0.0.1/24")), 0);
      EXPECT_EQ(b->add_address(ib, cidr("10.0.0.2/24")), 0);
      EXPECT_EQ(a->add_address(ia, cidr("2001:db8::1/64")), 0);
      EXPECT_EQ(b->add_address(ib, cidr("2001:db8::2/64")), 0);
    }
    settle();
  }
  // Poll both stacks at the current time until no frame is in flight (bounded).
  void pump() {
    for (int k = 0; k < 1000; ++k) {
      a->poll(now);
      b->poll(now);
      if (la.rx.empty() && lb.rx.empty() && a->next_deadline() > now && b->next_deadline() > now) return;
    }
    ADD_FAILURE() << "stacks did not become idle";
  }
  // Advance the clock by d, stopping at every timer deadline on the way.
  void advance(Duration d) {
    Instant end = now + d;
    pump();
    for (int k = 0; k < 100000 && now < end; ++k) {
      Instant next = std::min({a->next_deadline(), b->next_deadline(), end});
      now = std::max(now, next);
      pump();
    }
  }
  // Let DAD and router solicitations finish.
  void settle() { advance(5s); }
};

}  // namespace libstack::test
