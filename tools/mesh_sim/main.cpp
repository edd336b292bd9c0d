// threadnet-mesh-sim: N Netsukuku nodes in one process on a manual clock (see sim.h and
// docs/mesh.md). Prints a summary, or with --json one JSON object as its last line.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "node.h"
#include "sim.h"

namespace {

void usage(FILE *f) {
  std::fprintf(f,
      "usage: threadnet-mesh-sim [OPTIONS] [--mesh-KEY VALUE ...]\n"
      "Runs N real Netsukuku nodes (the router module's own code) on libstack stacks in one\n"
      "process, joined by in-process links whose delay is half the link's RTT, in virtual\n"
      "time. Checks routes against Dijkstra on the same graph (every pair up to 1,000 nodes,\n"
      "a sample above) by walking the next hops the stacks' routing tables choose.\n\n"
      "  --nodes N              nodes (default 50)\n"
      "  --topology T           ring | grid | random | FILE (lines 'A B RTT_US'); default random\n"
      "  --degree D             mean degree of a random graph (default 4)\n"
      "  --seed S               graph, RTTs (1..20 ms) and every node's randomness (default 1)\n"
      "  --kill K               after convergence kill K random nodes; measure reconvergence\n"
      "  --join-gap MS          nodes start breadth first, MS apart (default 100)\n"
      "  --max-virtual S        give up after S virtual seconds (default 3600)\n"
      "  --sample N             pairs checked above 1,000 nodes (default 10000)\n"
      "  --json                 last line: one JSON object with every figure\n"
      "  --progress             a line on stderr when converged\n"
      "  --mesh-KEY VALUE       a router option, as after threadnet run --mesh:\n");
  for (const char *const *o = ntk::kOptionNames; *o; ++o) std::fprintf(f, "                           --%s\n", *o);
  std::fprintf(f,
      "\nExit status: 0 when the mesh converged with every checked pair reachable and every\n"
      "pair inside one gnode exact; 1 when it did not; 2 on bad options.\n");
}

bool num(const char *s, unsigned long long *v) {
  if (!s || !*s) return false;
  char *end = nullptr;
  errno = 0;
  *v = std::strtoull(s, &end, 10);
  return errno == 0 && *end == 0;
}

}  // namespace

int main(int argc, char **argv) {
  ntksim::Config cfg;
  std::string topology = "random";
  unsigned long long nodes = 50, degree = 4, v = 0;
  bool json = false, progress = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : nullptr;
    auto need = [&](unsigned long long lo, unsigned long long hi, unsigned long long *out) {
      if (!num(val, out) || *out < lo || *out > hi) {
        std::fprintf(stderr, "threadnet-mesh-sim: %s needs a number %llu..%llu\n", argv[i], lo, hi);
        std::exit(2);
      }
      ++i;
    };
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--nodes") need(2, 100000, &nodes);
    else if (a == "--degree") need(1, 1000, &degree);
    else if (a == "--seed") { need(0, ~0ull, &v); cfg.seed = v; }
    else if (a == "--kill") { need(0, 100000, &v); cfg.kill = uint32_t(v); }
    else if (a == "--join-gap") { need(0, 3600000, &v); cfg.join_gap_ns = v * 1'000'000; }
    else if (a == "--max-virtual") { need(1, 1000000, &v); cfg.max_virtual_ns = v * 1'000'000'000; }
    else if (a == "--sample") { need(100, 100000000, &v); cfg.sample_pairs = v; }
    else if (a == "--topology") {
      if (!val) { std::fprintf(stderr, "threadnet-mesh-sim: --topology needs ring, grid, random or a file\n"); return 2; }
      topology = val;
      ++i;
    } else if (a == "--json") json = true;
    else if (a == "--progress") progress = true;
    else if (a.starts_with("--mesh-")) {
      cfg.router_args.push_back(argv[i]);
      cfg.router_args.push_back(val ? val : "");
      if (val) ++i;
    } else {
      std::fprintf(stderr, "threadnet-mesh-sim: unknown option %s (see --help)\n", argv[i]);
      return 2;
    }
  }
  std::string err;
  if (!ntksim::Graph::make(topology, uint32_t(nodes), uint32_t(degree), cfg.seed, &cfg.graph, &err)) {
    std::fprintf(stderr, "threadnet-mesh-sim: %s\n", err.c_str());
    return 2;
  }
  ntksim::Result r;
  if (!ntksim::run(cfg, &r, &err, progress)) {
    std::fprintf(stderr, "threadnet-mesh-sim: %s\n", err.c_str());
    return 2;
  }
  bool ok = r.converged && r.reachable_ok == r.reachable_checked && r.exact_ok == r.exact_checked;
  if (!json) {
    std::printf("%u nodes, %u gnodes, %s after %.1f virtual s (%.2f s wall), %u rounds\n", r.nodes,
                r.gnodes, r.converged ? "converged" : "NOT converged", r.virtual_seconds,
                r.wall_seconds, r.rounds);
    std::printf("reachable %llu/%llu, exact %llu/%llu, stretch mean %.3f p99 %.3f\n",
                (unsigned long long)r.reachable_ok, (unsigned long long)r.reachable_checked,
                (unsigned long long)r.exact_ok, (unsigned long long)r.exact_checked, r.stretch_mean,
                r.stretch_p99);
    std::printf("floods per round %.0f (extreme nodes %u + 1), packets per flood max %llu (bound %llu)\n",
                r.floods_per_round, r.extreme_nodes, (unsigned long long)r.packets_per_flood_max,
                (unsigned long long)r.packets_per_flood_bound);
    std::printf("routes per destination max %zu, map bytes per node max %zu, peak RSS %llu\n",
                r.max_routes_per_destination, r.map_bytes_per_node_max,
                (unsigned long long)r.peak_rss_bytes);
    if (cfg.kill) std::printf("reconverged after killing %u nodes in %d rounds\n", cfg.kill, r.reconverge_rounds);
  } else {
    std::printf("%s\n", r.json().c_str());
  }
  return ok ? 0 : 1;
}
