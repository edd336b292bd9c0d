// The router's options (`--mesh-KEY VALUE` after `--mesh`), with ntkd's defaults where the
// spec takes them (docs/mesh.md "Options"). Durations are nanoseconds internally.
#pragma once

#include <cstdint>
#include <string>

namespace ntk {

struct Options {
  uint64_t radar_interval_ns = 5'000'000'000;   // a scan every 5 s (ntkd)
  uint32_t radar_pings = 16;                    // echoes per scan (ntkd MAX_RADAR_SCANS)
  uint64_t radar_timeout_ns = 1'000'000'000;    // replies later than this are lost
  uint64_t rtt_threshold_ns = 1'000'000'000;    // an RTT change above this starts a QSPN
  uint64_t qspn_wait_round_ns = 60'000'000'000; // rounds spaced by QSPN_WAIT_ROUND (5.1.4)
  uint64_t qspn_wait_ns = 5'000'000'000;        // QSPN_WAIT: no close sooner after another
  uint32_t maxroutes = 10;                      // MAXROUTES (document 5.1)
  uint32_t realm = 0x0a000000;                  // 10.0.0.0/8, as ntkd
  uint8_t realm_plen = 8;
  uint64_t hook_wait_ns = 1'000'000'000;        // a hook/map reply later than this: next
  uint32_t flood_rate = 500;                    // tracer+hook packets/s per neighbour
  // Positions of a level-0 gnode (1..gnode_size): 254, its /24, as ntkd. Fewer make many
  // gnodes of few nodes, a small model of a big mesh for tests and the simulator.
  uint32_t gnode_size = 254;
  bool verbose = false;
};

// The option names, NULL-terminated, "KEY=" takes a value (router.h `options`).
extern const char* const kOptionNames[];

// Parse "--KEY" "VALUE" pairs into *o. false with a one-line message.
bool parse_options(int argc, const char* const* argv, Options* o, std::string* err);

}  // namespace ntk
