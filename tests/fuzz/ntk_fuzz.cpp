// libFuzzer target for the Netsukuku router's parsers: every input is decoded (a decoded
// message must re-encode to the same bytes) and then handed to a hooked node with two
// neighbours, so the radar, hook, map and tracer handlers all see hostile input.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <threadnet/router.h>

#include "node.h"
#include "wire.h"

extern "C" const tn_router *threadnet_router_v1(void);

namespace {

struct Host {
  tn_router_host h{};
  uint64_t now = 1'000'000'000, rnd = 1;
  Host() {
    h.abi_version = TN_ROUTER_ABI_VERSION;
    h.size = sizeof h;
    h.ctx = this;
    h.now_ns = [](void *c) { return static_cast<Host *>(c)->now; };
    h.random_u64 = [](void *c) { return static_cast<Host *>(c)->rnd = static_cast<Host *>(c)->rnd * 6364136223846793005ull + 1; };
    h.wakeup = [](void *, uint64_t) {};
    h.interfaces = [](void *, tn_router_if *o, int max) {
      if (max > 0) o[0] = tn_router_if{2, 1500, {}, 1, "eth0"};
      return 1;
    };
    h.send = [](void *, uint32_t, const tn_router_addr *, uint16_t, const void *, size_t) { return 0; };
    h.add_address = [](void *, uint32_t, const tn_router_addr *, uint8_t) { return 0; };
    h.del_address = [](void *, uint32_t, const tn_router_addr *, uint8_t) { return 0; };
    h.set_route = [](void *, const tn_router_addr *, uint8_t, const tn_router_nexthop *, int) { return 0; };
  }
};

void check(bool ok) {
  if (!ok) std::abort();
}

// Re-encode a decoded message; the bytes must be the input's.
void round_trip(const ntk::Message &m, const uint8_t *d, size_t n) {
  std::vector<uint8_t> out;
  bool ok = false;
  switch (m.h.type) {
    case ntk::Type::Echo:
    case ntk::Type::EchoReply: ok = ntk::encode(out, m.h, m.echo); break;
    case ntk::Type::HookRequest:
    case ntk::Type::MapRequest: ok = ntk::encode(out, m.h); break;
    case ntk::Type::HookReply: ok = ntk::encode(out, m.h, m.hook); break;
    case ntk::Type::MapReply: ok = ntk::encode(out, m.h, m.map_round, m.map, 1 << 20); break;
    case ntk::Type::Tracer: ok = ntk::encode(out, m.h, m.tracer, 1 << 20); break;
    case ntk::Type::ExtMap: ok = ntk::encode(out, m.h, m.ext_level, m.ext, 1 << 20); break;
  }
  check(ok);
  // Reserved bytes (5, 30, 31) are not kept: compare everything else.
  check(out.size() == n);
  for (size_t i = 0; i < n; ++i)
    if (i != 5 && i != 30 && i != 31) check(out[i] == d[i]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  ntk::WireError e;
  if (auto m = ntk::decode({d, n}, &e)) round_trip(*m, d, n);
  static Host host;
  static void *node = [] {
    const tn_router *r = threadnet_router_v1();
    void *s = r->create(&host.h, 0, nullptr, nullptr, 0);
    r->start(s);
    r->poll(s, host.now);
    host.now += 2'000'000'000;  // alone after a scan: it founds a gnode
    r->poll(s, host.now);
    return s;
  }();
  const tn_router *r = threadnet_router_v1();
  r->receive(node, 2, nullptr, ntk::kPort, d, n);
  host.now += 1'000'000;
  r->poll(node, host.now);
  return 0;
}
