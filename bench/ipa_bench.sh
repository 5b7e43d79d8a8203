#!/usr/bin/env bash
# Host instructions per access (callgrind slope between two run lengths, so start-up and teardown cancel)
# of a config in a mode. Usage: bench/ipa_bench.sh VMSIM CONFIG MODE N1 N2 [--set k=v ...]
# Example: bench/ipa_bench.sh build/vmsim configs/bench/tlb_hit.yaml functional 2000000 4000000
set -euo pipefail
vmsim="$1"; cfg="$2"; mode="$3"; n1="$4"; n2="$5"; shift 5
export SC_COPYRIGHT_MESSAGE=DISABLE
total() {
  local n="$1" out
  shift
  out="$(mktemp -d)"
  valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$vmsim" run "$cfg" -q --out "$out/run" \
    --set "sim.mode=$mode" --set "processes.0.workload.accesses=$n" "$@" >/dev/null 2>"$out/log"
  grep -m1 -E '^(summary|totals):' "$out/cg" | awk '{print $2}'
  rm -rf "$out"
}
a="$(total "$n1" "$@")"
b="$(total "$n2" "$@")"
awk -v a="$a" -v b="$b" -v n1="$n1" -v n2="$n2" -v cfg="$cfg" -v mode="$mode" \
  'BEGIN { printf "%s %s: %.1f instructions per access\n", cfg, mode, (b - a) / (n2 - n1) }'
