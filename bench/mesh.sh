#!/usr/bin/env bash
# Netsukuku at scale: threadnet-mesh-sim on random graphs of mean degree 4, one row per
# size: convergence (virtual and wall time), rounds, reachability and exactness, stretch,
# floods per round against extreme nodes + 1, map bytes per node against ntkd's 144 KB
# (all IPv4 maps), peak RSS per node. Figures go to docs/performance.md.
#   usage: bench/mesh.sh [BUILD_DIR] [SIZES] [MAX_VIRTUAL_S]
#   e.g.   bench/mesh.sh build "250 1000 10000" 600
set -euo pipefail
BUILD=${1:-build}
SIZES=${2:-"250 1000"}
MAXV=${3:-600}
SIM=$BUILD/tools/threadnet-mesh-sim
[ -x "$SIM" ] || { echo "bench/mesh.sh: $SIM not built (cmake --build $BUILD --target threadnet-mesh-sim)" >&2; exit 2; }
printf '%-7s %-9s %-8s %-7s %-7s %-16s %-16s %-8s %-8s %-14s %-10s %-10s\n' nodes converged virt_s wall_s rounds \
  reachable exact stretch p99 floods/extr+1 map_KB rss_KB/node
for n in $SIZES; do
  line=$("$SIM" --nodes "$n" --topology random --degree 4 --seed 1 --kill 1 --max-virtual "$MAXV" --json | tail -1) || true
  python3 - "$line" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"{r['nodes']:<7} {str(r['converged']).lower():<9} {r['virtual_seconds']:<8.0f} {r['wall_seconds']:<7.1f} "
      f"{r['rounds']:<7} {str(r['reachable_pairs_ok'])+'/'+str(r['reachable_pairs_checked']):<16} "
      f"{str(r['exact_pairs_ok'])+'/'+str(r['exact_pairs_checked']):<16} {r['stretch_mean']:<8.3f} "
      f"{r['stretch_p99']:<8.3f} {str(int(r['floods_per_round']))+'/'+str(r['extreme_nodes']+1):<14} "
      f"{r['map_bytes_per_node_max']/1024:<10.1f} {r['peak_rss_bytes']/1024/r['nodes']:<10.1f}"
      f" gnodes={r['gnodes']} reconverge_rounds={r['reconverge_rounds']}")
PY
done
