#!/usr/bin/env bash
# Lints the RTL TLB with `verilator --lint-only -Wall` (and the waivers of rtl/lint/vmsim_tlb.vlt) for
# the default parameters and a spread of others: every one must be free of warnings.
set -euo pipefail
rtl="$(cd "$(dirname "$0")/.." && pwd)"
verilator="${VERILATOR:-verilator}"
param_sets=(
  ""                                                  # 64 entries, 4 ways, LRU, 4K/2M/1G, 12-bit PCID
  "-GWays=8 -GReplacement=1"                          # tree-PLRU, 8 ways
  "-GEntries=16 -GWays=16 -GReplacement=2 -GPageSizes=3'b001"  # fully associative FIFO, 4K only
  "-GEntries=16 -GWays=1"                             # direct mapped
  "-GEntries=1 -GWays=1 -GReplacement=1"              # a single entry
  "-GEntries=48 -GWays=6"                             # ways not a power of two
  "-GEntries=64 -GWays=64 -GReplacement=1"            # 64-way PLRU
  "-GPcidWidth=6 -GPageSizes=3'b110"                     # narrow PCID, 2M/1G only
  "-GReplacement=1 -GWays=8 -DVMSIM_TLB_BUG_PLRU"     # bug-injection builds
  "-DVMSIM_TLB_BUG_GLOBAL"
)
for params in "${param_sets[@]}"; do
  echo "verilator --lint-only -Wall ${params:-(defaults)}"
  # shellcheck disable=SC2086
  "$verilator" --lint-only -Wall --assert $params \
    "$rtl/lint/vmsim_tlb.vlt" "$rtl/vmsim_tlb_pkg.sv" "$rtl/vmsim_tlb.sv"
done
echo "lint clean: ${#param_sets[@]} parameter sets"
