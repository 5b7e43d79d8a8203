#!/usr/bin/env bash
# Runs configs/bench/kpti.yaml with firmware.kpti and system.core.mmu.pcid off/on and prints one Markdown
# row per combination: per core (0: fault-heavy, 1: syscall-heavy) its simulated cycles, TLB misses (user
# and kernel) and root-switch flushes, and the KPTI root writes. Usage: scripts/kpti-bench.sh [vmsim] [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
vmsim="${1:-build/vmsim}"
out="${2:-out/kpti-bench}"
mkdir -p "$out"
echo "| kpti | pcid | faults: cycles | user / kernel TLB misses | flushes | syscalls: cycles | user / kernel TLB misses | flushes | KPTI root writes |"
echo "|---|---|---|---|---|---|---|---|---|"
for kpti in false true; do
  for pcid in false true; do
    d="$out/kpti_${kpti}_pcid_${pcid}"
    "$vmsim" run configs/bench/kpti.yaml -q --set firmware.kpti=$kpti --set system.core.mmu.pcid=$pcid --out "$d" >/dev/null
    python3 - "$d/stats.json" "$kpti" "$pcid" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["stats"]
v = lambda k: int(s[k]["value"]) if k in s else 0
row = [sys.argv[2], sys.argv[3]]
for c in (0, 1):
    m = f"system.core{c}.mmu."
    kernel = v(m + "kernel.tlb_misses")
    row += [str(v(f"system.core{c}.cycles")), f"{v(m + 'tlb.misses') - kernel} / {kernel}", str(v(m + "tlb.root_switch_flushes"))]
row.append(str(v("system.os.kpti.entry_switches") + v("system.os.kpti.exit_switches")))
print("| " + " | ".join(row) + " |")
PY
  done
done
