// Fuzzes parse_dhcp/emit_dhcp and the DHCP client's reply handling.
#include <cstddef>
#include <cstdint>

#include "config/dhcp_client.h"
#include "wire/dhcp.h"

using namespace libstack;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  if (auto m = wire::parse_dhcp(in)) {
    auto again = wire::parse_dhcp(wire::emit_dhcp(*m));
    if (!again) __builtin_trap();  // what we emit we must parse
  }
  // Feed the input as a reply in every client state reachable without a server.
  SplitMix64 rng(1);
  DhcpClientConfig cfg;
  cfg.mac = MacAddr{{0x02, 0, 0, 0, 0, 1}};
  DhcpClient c(cfg, rng, DhcpCallbacks{});
  c.start(Instant(0));
  c.poll(Instant(0));
  c.on_packet(in, Instant(1));
  c.poll(Instant(std::chrono::hours(1)));
  return 0;
}
