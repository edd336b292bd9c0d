// Router options: see options.h.
#include "options.h"

#include <charconv>
#include <cstring>
#include <string_view>

namespace ntk {

const char* const kOptionNames[] = {
    "mesh-radar-interval=", "mesh-radar-pings=", "mesh-radar-timeout=", "mesh-rtt-threshold=",
    "mesh-qspn-wait-round=", "mesh-qspn-wait=", "mesh-maxroutes=", "mesh-realm=",
    "mesh-hook-wait=", "mesh-flood-rate=", "mesh-gnode-size=", "mesh-verbose", nullptr};

namespace {

bool parse_u64(std::string_view s, uint64_t* v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}

// "500ms", "5s", or a bare number of milliseconds; 1 ms .. 1 day.
bool parse_duration(std::string_view s, uint64_t* ns) {
  uint64_t mul = 1'000'000;
  if (s.ends_with("ms")) {
    s.remove_suffix(2);
  } else if (s.ends_with("s")) {
    s.remove_suffix(1);
    mul = 1'000'000'000;
  }
  uint64_t v = 0;
  if (!parse_u64(s, &v) || v == 0 || v > 86'400'000'000'000ull / mul) return false;
  *ns = v * mul;
  return *ns >= 1'000'000 && *ns <= 86'400'000'000'000ull;
}

bool parse_realm(std::string_view s, Options* o) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return false;
  uint64_t plen = 0;
  if (!parse_u64(s.substr(slash + 1), &plen) || plen > 8) return false;  // 3 bytes for the node
  std::string_view a = s.substr(0, slash);
  uint32_t addr = 0;
  for (int i = 0; i < 4; ++i) {
    size_t dot = a.find('.');
    std::string_view part = i < 3 ? a.substr(0, dot) : a;
    uint64_t b = 0;
    if ((i < 3 && dot == std::string_view::npos) || !parse_u64(part, &b) || b > 255) return false;
    addr = addr << 8 | uint32_t(b);
    if (i < 3) a.remove_prefix(dot + 1);
  }
  uint32_t mask = plen ? ~0u << (32 - plen) : 0;
  if (addr & ~mask) return false;
  o->realm = addr;
  o->realm_plen = uint8_t(plen);
  return true;
}

}  // namespace

bool parse_options(int argc, const char* const* argv, Options* o, std::string* err) {
  for (int i = 0; i < argc; i += 2) {
    std::string_view k = argv[i] ? argv[i] : "";
    if (!k.starts_with("--")) {
      *err = "mesh: expected --KEY VALUE, got '" + std::string(k) + "'";
      return false;
    }
    k.remove_prefix(2);
    if (i + 1 >= argc || !argv[i + 1]) {
      *err = "mesh: --" + std::string(k) + " needs a value";
      return false;
    }
    std::string_view v = argv[i + 1];
    bool ok = true;
    uint64_t n = 0;
    if (k == "mesh-radar-interval") ok = parse_duration(v, &o->radar_interval_ns);
    else if (k == "mesh-radar-timeout") ok = parse_duration(v, &o->radar_timeout_ns);
    else if (k == "mesh-rtt-threshold") ok = parse_duration(v, &o->rtt_threshold_ns);
    else if (k == "mesh-qspn-wait-round") ok = parse_duration(v, &o->qspn_wait_round_ns);
    else if (k == "mesh-qspn-wait") ok = parse_duration(v, &o->qspn_wait_ns);
    else if (k == "mesh-hook-wait") ok = parse_duration(v, &o->hook_wait_ns);
    else if (k == "mesh-radar-pings") ok = parse_u64(v, &n) && n >= 1 && n <= 64 && (o->radar_pings = uint32_t(n));
    else if (k == "mesh-maxroutes") ok = parse_u64(v, &n) && n >= 1 && n <= 24 && (o->maxroutes = uint32_t(n));
    else if (k == "mesh-flood-rate") ok = parse_u64(v, &n) && n >= 1 && n <= 1'000'000 && (o->flood_rate = uint32_t(n));
    else if (k == "mesh-gnode-size") ok = parse_u64(v, &n) && n >= 2 && n <= 254 && (o->gnode_size = uint32_t(n));
    else if (k == "mesh-realm") ok = parse_realm(v, o);
    else if (k == "mesh-verbose") ok = (v == "1" || v == "0") && ((o->verbose = v == "1"), true);
    else {
      *err = "mesh: unknown option --" + std::string(k);
      return false;
    }
    if (!ok) {
      *err = "mesh: bad value '" + std::string(v) + "' for --" + std::string(k);
      if (k == "mesh-maxroutes") *err += " (1..24)";
      else if (k == "mesh-radar-pings") *err += " (1..64)";
      else if (k == "mesh-gnode-size") *err += " (2..254)";
      else if (k == "mesh-realm") *err += " (an IPv4 prefix of length 0..8, e.g. 10.0.0.0/8)";
      else if (k != "mesh-flood-rate" && k != "mesh-verbose" && k != "mesh-gnode-size") *err += " (e.g. 500ms or 5s)";
      return false;
    }
  }
  if (o->qspn_wait_ns > o->qspn_wait_round_ns) {
    *err = "mesh: --mesh-qspn-wait must not exceed --mesh-qspn-wait-round";
    return false;
  }
  return true;
}

}  // namespace ntk
