// libFuzzer targets for the wire parsers. One binary per parser, selected at compile time
// by LIBSTACK_FUZZ_TARGET. Each target parses arbitrary bytes and, when parsing
// succeeds, re-emits the header and parses it again to check the round trip.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "wire/wire.h"

using namespace libstack;
using namespace libstack::wire;

namespace fz {

void check(bool ok) {
  if (!ok) std::abort();
}

IpAddr v6addr(const uint8_t* p) {
  Ipv6Addr a;
  for (int k = 0; k < 16; ++k) a.b[size_t(k)] = p[k];
  return IpAddr(a);
}

void fuzz_ethernet(Bytes in) {
  auto e = EthernetRepr::parse(in);
  if (!e) return;
  std::vector<uint8_t> out(14);
  e->emit(out);
  check(std::equal(out.begin(), out.end(), in.begin()));
}

void fuzz_arp(Bytes in) {
  auto a = ArpRepr::parse(in);
  if (!a) return;
  std::vector<uint8_t> out(ArpRepr::kLen);
  a->emit(out);
  check(std::equal(out.begin(), out.end(), in.begin()));
}

void fuzz_ipv4(Bytes in) {
  auto ip = Ipv4Repr::parse(in, false);
  if (!ip) return;
  check(ip->payload.data() >= in.data() && ip->payload.data() + ip->payload.size() <= in.data() + in.size());
  std::vector<uint8_t> out(20 + ip->payload.size());
  ip->emit(out, ip->payload.size());
  auto again = Ipv4Repr::parse(out, true);
  check(bool(again));
  check(again->src == ip->src && again->dst == ip->dst && again->frag_offset == ip->frag_offset);
}

void fuzz_ipv6(Bytes in) {
  auto ip = Ipv6Repr::parse(in);
  if (ip) {
    std::vector<uint8_t> out(40);
    ip->emit(out, ip->payload.size());
    check(std::equal(out.begin(), out.end(), in.begin()));
    auto c = Ipv6Chain::parse(ip->next_header, ip->payload);
    if (c) check(c->upper_offset <= ip->payload.size());
  }
  if (!in.empty()) {
    auto c = Ipv6Chain::parse(in[0], in.subspan(1));
    if (c) check(c->upper_offset <= in.size() - 1);
  }
  if (auto f = Ipv6FragRepr::parse(in)) {
    std::vector<uint8_t> out(8);
    f->emit(out);
    check(Ipv6FragRepr::parse(out)->ident == f->ident);
  }
}

void fuzz_icmpv4(Bytes in) {
  auto ic = Icmpv4Repr::parse(in, false);
  if (!ic) return;
  std::vector<uint8_t> out(ic->len());
  ic->emit(out);
  check(bool(Icmpv4Repr::parse(out, true)));
}

void fuzz_icmpv6(Bytes in) {
  if (in.size() < 32) return;
  IpAddr s = v6addr(in.data()), d = v6addr(in.data() + 16);
  Bytes msg = in.subspan(32);
  auto ic = Icmpv6Repr::parse(msg, s.v6(), d.v6(), false);
  if (!ic) return;
  std::vector<uint8_t> out(ic->len());
  ic->emit(out, s.v6(), d.v6());
  check(bool(Icmpv6Repr::parse(out, s.v6(), d.v6(), true)));
  (void)NdpNeighborRepr::parse(ic->rest, ic->data);
  (void)NdpRouterAdvertRepr::parse(ic->rest, ic->data);
  (void)NdpOptions::parse(ic->data);
}

void fuzz_udp(Bytes in) {
  if (in.size() < 1) return;
  bool v6 = in[0] & 1;
  IpAddr s, d;
  if (v6) {
    if (in.size() < 33) return;
    s = v6addr(in.data() + 1);
    d = v6addr(in.data() + 17);
    in = in.subspan(33);
  } else {
    if (in.size() < 9) return;
    s = IpAddr(Ipv4Addr{{in[1], in[2], in[3], in[4]}});
    d = IpAddr(Ipv4Addr{{in[5], in[6], in[7], in[8]}});
    in = in.subspan(9);
  }
  auto u = UdpRepr::parse(in, s, d, false);
  if (!u) return;
  std::vector<uint8_t> out(8 + u->payload.size());
  u->emit(out, s, d);
  check(bool(UdpRepr::parse(out, s, d, true)));
}

}  // namespace fz

using namespace fz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  LIBSTACK_FUZZ_TARGET(in);
  return 0;
}
