#!/usr/bin/env bash
# Co-simulated TLB operations per host second: tlb_cosim (Verilated RTL TLB + model TlbArray in lock
# step, random stimulus, coverage on, waveforms off) for each correct variant, best of five runs of
# 2 M operations. Prints a Markdown table for docs/PERFORMANCE.md.
# Usage: bench/cosim_bench.sh [path/to/tlb_cosim] (default build/testbench/tlb_cosim).
set -euo pipefail
cd "$(dirname "$0")/.."
cosim="${1:-build/testbench/tlb_cosim}"
ops=2000000

echo "| variant | operations | RTL cycles | best host s | M ops/s |"
echo "|---|---|---|---|---|"
for variant in lru_64x4 plru_32x8 fifo_16x16_4k; do
  best=""
  # Best of five runs: the machine is shared, the minimum is the least disturbed.
  for rep in 1 2 3 4 5; do
    line=$("$cosim" --variant "$variant" --ops "$ops" --seed 1 --quiet | head -1)
    host=$(echo "$line" | sed -E 's/.* ([0-9.]+) s, .*/\1/')
    cycles=$(echo "$line" | sed -E 's/.* ([0-9]+) cycles, .*/\1/')
    if [ -z "$best" ] || awk "BEGIN {exit !($host < $best)}"; then best=$host; fi
  done
  echo "| $variant | $ops | $cycles | $best | $(awk "BEGIN {printf \"%.2f\", $ops / $best / 1e6}") |"
done
