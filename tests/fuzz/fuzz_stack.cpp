// libFuzzer target: whole frames into a Stack. The input is a sequence of records
// [len_hi len_lo flags frame...]; each frame is injected into an Ethernet interface of a
// fresh stack (10.0.0.2/24, 2001:db8::2/64, forwarding on when flags&1, a UDP socket on
// port 7) and the clock advances by flags>>1 seconds between frames, so timers
// (reassembly, neighbours, DAD) run too. Anything the stack transmits is discarded.
// The first byte also picks link offloads: bit 1 trusted checksums (TCP segments reach
// the engine without a valid checksum), bit 2 TSO + partial checksums; TCP listeners on
// port 80 (v4, v6) accept whatever connects, so the engine's data path runs too.
#include <deque>
#include <vector>

#include "libstack/link.h"
#include "libstack/stack.h"
#include "libstack/tcp.h"
#include "libstack/udp.h"

using namespace libstack;

namespace {

class FuzzLink final : public Link {
 public:
  LinkKind kind() const override { return LinkKind::Ethernet; }
  size_t mtu() const override { return 1500; }
  bool transmit(std::span<const uint8_t>, Instant) override { return true; }
  uint32_t offloads() const override { return offl; }
  bool transmit_offload(std::span<const uint8_t>, const TxOffload&, Instant) override {
    return offl & (link_offload::kTso | link_offload::kTxChecksumPartial);
  }
  uint32_t offl = 0;
  size_t receive(std::span<uint8_t> buf, Instant) override {
    if (rx.empty()) return 0;
    auto f = std::move(rx.front());
    rx.pop_front();
    if (f.size() > buf.size()) return 0;
    std::copy(f.begin(), f.end(), buf.begin());
    return f.size();
  }
  std::deque<std::vector<uint8_t>> rx;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  SplitMix64 rng(size);
  Tuning t;
  t.forward_v4 = t.forward_v6 = size > 0 && (data[0] & 1);
  t.reasm_mem_limit = 64 * 1024;
  auto st = Stack::create({rng, t});
  FuzzLink link;
  if (size > 0 && (data[0] & 2)) link.offl = link_offload::kTrustedChecksum;
  else if (size > 0 && (data[0] & 4)) link.offl = link_offload::kTso | link_offload::kTxChecksumPartial;
  uint32_t ifx = uint32_t(st->add_interface(link, MacAddr{{2, 0, 0, 0, 0, 2}}));
  st->add_address(ifx, *Cidr::parse("10.0.0.2/24"));
  st->add_address(ifx, *Cidr::parse("2001:db8::2/64"));
  st->add_route(*Cidr::parse("0.0.0.0/0"), *IpAddr::parse("10.0.0.1"));
  auto u4 = st->udp_socket(IpAddr::Family::V4);
  u4->bind({*IpAddr::parse("0.0.0.0"), 7});
  auto u6 = st->udp_socket(IpAddr::Family::V6);
  u6->bind({*IpAddr::parse("::"), 7});
  u6->join_group(*IpAddr::parse("ff02::fb"));
  TcpSocket l4 = st->tcp_socket(), l6 = st->tcp_socket();
  l4.bind({*IpAddr::parse("0.0.0.0"), 80});
  l4.listen(8);
  l6.bind({*IpAddr::parse("::"), 80});
  l6.listen(8);
  std::vector<TcpSocket> conns;
  Instant now{std::chrono::seconds(1)};
  st->poll(now);
  size_t pos = 0;
  for (int rec = 0; rec < 64 && pos + 3 <= size; ++rec) {
    size_t len = size_t(data[pos]) << 8 | data[pos + 1];
    uint8_t flags = data[pos + 2];
    pos += 3;
    len = std::min(len, size - pos);
    link.rx.emplace_back(data + pos, data + pos + len);
    pos += len;
    now += std::chrono::seconds(flags >> 1);
    st->poll(now);
    uint8_t buf[2048] = {};
    while (u4->recv(buf) > 0) {
    }
    while (u6->recv(buf) > 0) {
    }
    for (TcpSocket* l : {&l4, &l6}) {
      TcpSocket c;
      while (conns.size() < 16 && l->accept(&c) == 0) {
        c.send(std::span<const uint8_t>(buf, sizeof buf));  // data for the engine to send
        conns.push_back(std::move(c));
      }
    }
    for (auto& c : conns)
      while (c.recv(buf) > 0) {
      }
  }
  now += std::chrono::seconds(120);
  st->poll(now);
  return 0;
}
