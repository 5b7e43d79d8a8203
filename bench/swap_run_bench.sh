#!/usr/bin/env bash
# Host time per major fault in whole runs: configs/bench/swap_thrash.yaml (48 MiB of random accesses in
# 32 MiB of RAM, NVMe swap) against the same run with 128 MiB of RAM (no swapping). The difference in host
# CPU time over the swap-ins is the cost of one major fault together with the reclaim of one page
# (kswapd or direct). Best of three per mode. Prints a Markdown table for docs/PERFORMANCE.md.
# Usage: bench/swap_run_bench.sh [path/to/vmsim] (default build/vmsim).
set -euo pipefail
cd "$(dirname "$0")/.."
vmsim="${1:-build/vmsim}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

best_cpu() {  # best host CPU time of three runs of: vmsim run configs/bench/swap_thrash.yaml "$@"
  local best=""
  for rep in 1 2 3; do
    "$vmsim" run configs/bench/swap_thrash.yaml "$@" --out "$out/r" >"$out/stdout"
    local t
    t=$(awk '/host CPU time \(s\)/ {print $5}' "$out/stdout")
    if [ -z "$best" ] || awk "BEGIN {exit !($t < $best)}"; then best=$t; fi
  done
  echo "$best"
}

echo "| mode | swap-ins | pages reclaimed | written back | CPU s (32 MiB) | CPU s (128 MiB, no swap) | host us / major fault + reclaim |"
echo "|---|---|---|---|---|---|---|"
for mode in functional lt; do
  accesses=1000000
  [ "$mode" = lt ] && accesses=200000
  fit=$(best_cpu --set sim.mode=$mode --set processes.0.workload.accesses=$accesses \
        --set 'system.memory.nodes=[{size: 128MiB}]')
  thrash=$(best_cpu --set sim.mode=$mode --set processes.0.workload.accesses=$accesses)
  read -r ins reclaimed written < <(python3 -c "import json; s=json.load(open('$out/r/stats.json'))['stats']; \
print(s['system.os.swap.swap_ins']['value'], s['system.os.swap.reclaimed']['value'], s['system.os.swap.writebacks']['value'])")
  us=$(awk "BEGIN {printf \"%.2f\", ($thrash - $fit) * 1e6 / $ins}")
  echo "| $mode | $ins | $reclaimed | $written | $thrash | $fit | $us |"
done
