// libFuzzer target: feeds arbitrary TCP segments (checksums fixed up so they get past the
// first check) into an engine that has a listener and an established connection, mixed
// with clock advances and socket calls. Looks for crashes, UB and runaway state.
//
// Input: records of [op][len][bytes...]:
//   op%6 == 0  raw segment from the peer address (ports as given)
//   op%6 == 1  segment patched onto the established 4-tuple, seq/ack relative to what the
//              engine last sent (so the fuzzer reaches the in-window paths)
//   op%6 == 2  advance the clock by len*7 ms and run timers
//   op%6 == 3  server socket: send len bytes / recv
//   op%6 == 4  socket calls: shutdown / close / new connect / accept
//   op%6 == 5  let the real peer engine and ours exchange queued segments
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "libstack/tcp.h"
#include "transport/tcp/tcp_engine.h"
#include "wire/tcp.h"

using namespace libstack;

namespace {

struct Seg {
  IpAddr src, dst;
  std::vector<uint8_t> b;
};

class FuzzHost final : public tcp::TcpHost {
 public:
  FuzzHost(IpAddr me, std::deque<Seg>& out, uint64_t seed) : me_(me), out_(out), rng_(seed) {}
  bool send_segment(const IpAddr& s, const IpAddr& d, std::span<const uint8_t> seg) override {
    last.assign(seg.begin(), seg.end());
    if (out_.size() < 4096) out_.push_back(Seg{s, d, last});
    return true;
  }
  size_t path_mtu(const IpAddr&) const override { return 1500; }
  IpAddr source_for(const IpAddr& d) const override { return d.family == me_.family ? me_ : IpAddr{}; }
  bool is_local_address(const IpAddr& a) const override { return a == me_; }
  Random& random() override { return rng_; }
  std::vector<uint8_t> last;

 private:
  IpAddr me_;
  std::deque<Seg>& out_;
  SplitMix64 rng_;
};

uint16_t rd16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t rd32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
void wr16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
void wr32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24); p[1] = uint8_t(v >> 16); p[2] = uint8_t(v >> 8); p[3] = uint8_t(v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const IpAddr A(Ipv4Addr{{10, 0, 0, 1}}), B(Ipv4Addr{{10, 0, 0, 2}});
  std::deque<Seg> to_b, to_a;  // segments sent by A (to B) and by B (to A)
  FuzzHost ha(A, to_b, 1), hb(B, to_a, 2);
  TcpTuning tun;
  tun.syn_backlog = 8;
  tun.ooo_max_ranges = 4;
  tun.send_buffer = tun.recv_buffer = 16384;
  auto ea = std::make_unique<tcp::TcpEngine>(ha, tun);
  auto eb = std::make_unique<tcp::TcpEngine>(hb, tun);
  Instant now = std::chrono::seconds(10);
  ea->poll(now);
  eb->poll(now);
  auto pump = [&](int rounds) {
    for (int r = 0; r < rounds && (!to_a.empty() || !to_b.empty()); ++r) {
      for (size_t n = to_b.size(); n > 0 && !to_b.empty(); --n) {
        Seg s = std::move(to_b.front());
        to_b.pop_front();
        eb->input(s.src, s.dst, s.b, now);
      }
      for (size_t n = to_a.size(); n > 0 && !to_a.empty(); --n) {
        Seg s = std::move(to_a.front());
        to_a.pop_front();
        ea->input(s.src, s.dst, s.b, now);
      }
    }
  };
  {
    TcpSocket l = eb->socket();
    l.bind(Endpoint{B, 80});
    l.listen(4);
    TcpSocket c = ea->socket();
    c.connect(Endpoint{B, 80});
    pump(8);
    TcpSocket s;
    l.accept(&s);
    std::vector<uint8_t> buf(4096);
    size_t i = 0;
    int ops = 0;
    while (i + 2 <= size && ops++ < 256) {
      uint8_t op = data[i];
      size_t len = std::min<size_t>(data[i + 1], size - i - 2);
      const uint8_t* p = data + i + 2;
      i += 2 + len;
      switch (op % 6) {
        case 0:
        case 1: {
          if (len < 20) break;
          std::vector<uint8_t> seg(p, p + len);
          if (op % 6 == 1 && s.valid()) {
            wr16(seg.data(), s.remote_endpoint().port);
            wr16(seg.data() + 2, 80);
            if (hb.last.size() >= 20) {
              // seq relative to B's last ACK, ack relative to B's last seq.
              uint32_t rn = rd32(hb.last.data() + 8), sn = rd32(hb.last.data() + 4);
              wr32(seg.data() + 4, rn + uint32_t(int16_t(rd16(seg.data() + 4))));
              wr32(seg.data() + 8, sn + uint32_t(int16_t(rd16(seg.data() + 8))));
            }
          }
          if (seg.size() >= 18) { seg[16] = 0; seg[17] = 0; }
          wire::tcp_fill_checksum(A, B, seg);
          eb->input(A, B, seg, now);
          break;
        }
        case 2:
          now += std::chrono::milliseconds(7 * (len + 1));
          ea->poll(now);
          eb->poll(now);
          break;
        case 3:
          if (s.valid()) {
            if (len & 1) s.send(std::span(p, len));
            else s.recv(buf, (len & 2) ? kTcpMsgPeek : 0);
          }
          if (c.valid()) c.recv(buf);
          break;
        case 4:
          switch (len % 5) {
            case 0: if (s.valid()) s.shutdown(kTcpShutWr); break;
            case 1: s.close(); break;
            case 2: if (c.valid()) c.abort(); break;
            case 3: { c = ea->socket(); c.connect(Endpoint{B, 80}); break; }
            case 4: { TcpSocket n; if (l.accept(&n) == 0) s = std::move(n); break; }
          }
          break;
        case 5:
          pump(4);
          break;
      }
      to_a.resize(std::min<size_t>(to_a.size(), 256));
      to_b.resize(std::min<size_t>(to_b.size(), 256));
      (void)eb->next_deadline();
    }
  }
  return 0;
}
