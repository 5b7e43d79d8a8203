#!/usr/bin/env python3
"""Writes a ChampSim input_instr trace (64-byte records, docs/TRACES.md) from a valgrind lackey trace, for
measuring replay speed per trace format (docs/PERFORMANCE.md). Each lackey instruction becomes one record;
its loads fill source_memory (up to 4) and its stores destination_memory (up to 2), a modify both; accesses
beyond those slots and data before the first instruction are dropped.

Usage: bench/lackey_to_champsim.py IN.lackey OUT.champsim [MAX_INSTRUCTIONS]"""
import struct
import sys


def main() -> int:
    if len(sys.argv) not in (3, 4):
        print(__doc__.splitlines()[-1], file=sys.stderr)
        return 2
    limit = int(sys.argv[3]) if len(sys.argv) == 4 else None
    rec = struct.Struct("<QBB2B4B2Q4Q")
    count = 0
    with open(sys.argv[1], "r", encoding="ascii", errors="replace") as src, open(sys.argv[2], "wb") as out:
        ip, srcs, dsts = None, [], []

        def flush():
            s = (srcs + [0, 0, 0, 0])[:4]
            d = (dsts + [0, 0])[:2]
            out.write(rec.pack(ip, 0, 0, 0, 0, 0, 0, 0, 0, *d, *s))

        for line in src:
            if not line or line[0] == "=":
                continue
            kind = line[:2]
            try:
                addr = int(line[3:].split(",")[0], 16)
            except ValueError:
                continue
            if kind == "I ":
                if ip is not None:
                    flush()
                    count += 1
                    if limit is not None and count >= limit:
                        ip = None
                        break
                ip, srcs, dsts = addr, [], []
            elif ip is not None and kind == " L":
                srcs.append(addr)
            elif ip is not None and kind == " S":
                dsts.append(addr)
            elif ip is not None and kind == " M":
                srcs.append(addr)
                dsts.append(addr)
        if ip is not None:
            flush()
            count += 1
    print(f"{count} records", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
