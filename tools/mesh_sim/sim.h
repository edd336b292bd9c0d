// The mesh simulator: N real Netsukuku nodes (ntk::Node, the module's own code) on N
// libstack Stacks in one process, joined by in-process point-to-point links whose one-way
// delay is half the link's RTT, on a manual clock (virtual time, as fast as the CPU runs).
// The checks are computed independently of the routing code: Dijkstra on the graph, and
// walks along the next hops the stacks' routing tables actually choose.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace ntksim {

struct Edge {
  uint32_t a = 0, b = 0;
  uint32_t rtt_us = 1000;
  uint64_t up_at_ns = 0;  // the link comes up then (two meshes that meet)
};

struct Graph {
  uint32_t nodes = 0;
  std::vector<Edge> edges;
  // ring, grid (the nearest square), random (connected, mean degree `degree`), or an edge
  // list file ("A B RTT_US [UP_AT_MS]" per line, # comments; UP_AT_MS: the link comes up
  // that late). Random RTTs in [1, 20] ms from `seed`.
  static bool make(const std::string &topology, uint32_t nodes, uint32_t degree, uint64_t seed,
                   Graph *g, std::string *err);
};

struct Config {
  Graph graph;
  uint64_t seed = 1;
  uint32_t kill = 0;
  uint64_t join_gap_ns = 100'000'000;  // nodes start in BFS order, this far apart
  uint64_t max_virtual_ns = 3600'000'000'000ull;
  std::vector<std::string> router_args;  // "--mesh-KEY" "VALUE" pairs
  size_t sample_pairs = 10000;           // above 1,000 nodes: sampled pairs
};

struct Result {
  uint32_t nodes = 0, levels = 1, rounds = 0;
  bool converged = false;
  uint64_t reachable_checked = 0, reachable_ok = 0, exact_checked = 0, exact_ok = 0;
  double stretch_mean = 0, stretch_p99 = 0;
  size_t max_routes_per_destination = 0;
  double floods_per_round = 0;
  uint32_t extreme_nodes = 0;
  uint64_t packets_per_flood_max = 0, packets_per_flood_bound = 0;
  size_t map_bytes_per_node_max = 0;
  int reconverge_rounds = -1;
  uint32_t gnodes = 0, duplicate_addresses = 0, unhooked = 0;
  double virtual_seconds = 0, wall_seconds = 0;
  uint64_t peak_rss_bytes = 0;
  uint64_t dropped_malformed = 0, rate_limited = 0;
  std::string json() const;
};

// Build, run to convergence, measure, kill and measure reconvergence. false + err on a
// bad configuration (the router refused its options, ...).
bool run(const Config &cfg, Result *out, std::string *err, bool progress = false);

}  // namespace ntksim
