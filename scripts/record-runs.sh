#!/usr/bin/env bash
# Records the outputs a restructuring must keep byte-identical: stats.json, memory.txt and working_set.csv
# of every preset in configs/presets and configs/bench, in the functional, lt and at modes, with a fixed
# seed. Usage: scripts/record-runs.sh VMSIM_BINARY OUT_DIR [extra --set arguments...]
# Compare two recordings with scripts/compare-runs.sh OLD_DIR NEW_DIR.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 VMSIM_BINARY OUT_DIR [--set key=value ...]" >&2
  exit 2
fi
bin="$(realpath "$1")"
out="$2"
shift 2
cd "$(dirname "$0")/.."
mkdir -p "$out"
# lackey-example.yaml replays a trace of a real program; make it once (valgrind) if it is missing.
if [ ! -s out/traces/program.lackey ]; then
  scripts/trace-program.sh out/traces/program.lackey -- sort /etc/services >/dev/null 2>&1
fi
# The bench configs run tens of millions of accesses; a shorter run exercises the same paths.
declare -A shorten=(
  [tlb_hit]="processes.0.workload.accesses=200000"
  [tlb_miss]="processes.0.workload.accesses=200000"
  [swap_thrash]="processes.0.workload.accesses=100000"
)
status=0
for cfg in configs/presets/*.yaml configs/bench/*.yaml; do
  name="$(basename "$cfg" .yaml)"
  for mode in functional lt at; do
    dir="$out/$(basename "$(dirname "$cfg")")-$name-$mode"
    args=(run "$cfg" --out "$dir" --seed 11 --set "sim.mode=$mode")
    if [ -n "${shorten[$name]:-}" ]; then args+=(--set "${shorten[$name]}"); fi
    if ! "$bin" "${args[@]}" "$@" >"$dir.stdout" 2>"$dir.stderr"; then
      echo "record-runs: $cfg ($mode) failed: $(head -1 "$dir.stderr")" >&2
      status=1
    fi
  done
done
exit $status
