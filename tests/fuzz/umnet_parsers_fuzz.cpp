// libFuzzer target for the umnet module's parsers of untrusted input: the launcher options
// (parse_view_config), the msocket request read from tracee memory (parse_msocket_ctl)
// and the host's /etc/resolv.conf (DnsRedirect::parse_resolv_conf). The first byte picks
// the parser; the rest is its input. A parsed view config is checked for the invariants
// the view builds on (per-link indices inside the stack's links).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "config.h"
#include "msocket.h"
#include "msocket_ctl.h"
#include "stack_far.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t which = data[0] % 3;
  const char *p = reinterpret_cast<const char *>(data + 1);
  size_t n = size - 1;
  if (which == 0) {
    // NUL-separated argv tokens.
    std::vector<std::string> toks;
    std::string cur;
    for (size_t i = 0; i < n; ++i) {
      if (p[i] == 0) {
        toks.push_back(cur);
        cur.clear();
      } else {
        cur.push_back(p[i]);
      }
    }
    toks.push_back(cur);
    std::vector<const char *> argv;
    for (auto &t : toks) argv.push_back(t.c_str());
    argv.push_back(nullptr);
    umnet::ViewConfig cfg;
    std::string err;
    if (umnet::parse_view_config(int(toks.size()), argv.data(), &cfg, &err)) {
      // What the view relies on: every per-link index names a link, every link stack has
      // links, links[0] is the stack's url.
      for (auto &s : cfg.stacks) {
        bool link = s.kind == umnet::StackSpec::Kind::Link;
        if (link != !s.links.empty() || (link && s.links[0].url != s.url)) __builtin_trap();
        if (s.addr_link.size() != s.addrs.size() || s.gw_link.size() != s.gateways.size())
          __builtin_trap();
        for (size_t k : s.addr_link)
          if (k >= s.links.size()) __builtin_trap();
        for (size_t k : s.gw_link)
          if (k >= s.links.size()) __builtin_trap();
      }
    }
  } else if (which == 1) {
    // Raw setsockopt arguments from the first 24 bytes, tracee memory after them.
    uint64_t a[3] = {};
    std::memcpy(a, p, std::min<size_t>(n, sizeof a));
    const uint8_t *mem = data + 1 + std::min<size_t>(n, sizeof a);
    size_t memlen = n > sizeof a ? n - sizeof a : 0;
    auto read_mem = [&](uint64_t addr, void *buf, size_t len) -> int {
      if (addr > memlen || len > memlen - addr) return -14;  // EFAULT
      std::memcpy(buf, mem + addr, len);
      return 0;
    };
    umnet::parse_msocket_ctl(uint64_t(-1), TN_SOL_MSOCKET, a[0] & 7, a[1] & 0xffff, a[2] & 0xff,
                             read_mem);
  } else {
    umnet::DnsRedirect::parse_resolv_conf(std::string(p, n));
  }
  return 0;
}
