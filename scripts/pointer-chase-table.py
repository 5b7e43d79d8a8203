#!/usr/bin/env python3
"""Prints the pointer-chase study's latency-per-load curve from a sweep folder (results.csv of
`vmsim sweep configs/sweeps/pointer-chase.yaml`): one row per footprint, core cycles per dependent load
with 4 KiB and 2 MiB pages, and where the time went. --csv prints the same as CSV rows for plotting.
Usage: scripts/pointer-chase-table.py SWEEP_DIR [--csv]"""
import csv
import sys


def size_bytes(text):
    units = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
    for unit, factor in units.items():
        if text.endswith(unit):
            return int(text[: -len(unit)]) * factor
    return int(text)


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path = sys.argv[1].rstrip("/") + "/results.csv"
    try:
        rows = list(csv.DictReader(open(path)))
    except OSError as e:
        print(f"pointer-chase-table: {path}: {e.strerror}", file=sys.stderr)
        return 2
    points = {}
    for r in rows:
        if r["status"] != "ok":
            continue
        fp = r["processes.0.workload.footprint"]
        page = "2M" if "huge: true" in r["processes.0.vmas"] else "4K"
        points.setdefault(fp, {})[page] = r
    order = sorted(points, key=size_bytes)
    cols = ["avg_access_latency_core_cycles", "access_latency_breakdown_core_cycles.data_memory",
            "access_latency_breakdown_core_cycles.walk_memory", "access_latency_breakdown_core_cycles.stlb"]
    if "--csv" in sys.argv:
        print("footprint_bytes,pages,cycles_per_load,data_memory,walk_memory,stlb")
        for fp in order:
            for page in ("4K", "2M"):
                r = points[fp].get(page)
                if r:
                    print(",".join([str(size_bytes(fp)), page] + [r.get(c, "") for c in cols]))
        return 0
    print(f"{'footprint':>10}  {'4K: cycles/load':>16} {'walk':>7}  {'2M: cycles/load':>16} {'walk':>7}")
    for fp in order:
        cells = []
        for page in ("4K", "2M"):
            r = points[fp].get(page)
            cells.append(f"{float(r[cols[0]]):16.1f} {float(r[cols[2]]):7.1f}" if r else f"{'-':>16} {'-':>7}")
        print(f"{fp:>10}  {cells[0]}  {cells[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
