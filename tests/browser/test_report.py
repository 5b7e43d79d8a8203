#!/usr/bin/env python3
"""Browser test of `vmsim report`: the pages of a small run and a small sweep, opened by headless Chromium.

Usage: test_report.py VMSIM_BIN. Checks that a screenshot of each page is not blank, that the DOM has the
title, one results-table row per run of the sweep, and <img> elements whose data: sources decode to
PNG images. Chromium (Debian's `chromium`, scripts/install-deps.sh) is required: without it the test fails.
"""
import base64
import html.parser
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

BASE = """
sim: {mode: lt, seed: 1}
system:
  cores: 1
  core: {mmu: {tlb: {stlb: [{entries: 1024, ways: 8, hit_latency: 7}]}}}
  memory:
    nodes: [{size: 64MiB}]
processes:
  - name: rnd
    workload: {kind: random, footprint: 8MiB, accesses: 3000, read_fraction: 0.8}
"""
SPEC = """
base: base.yaml
grid:
  system.core.mmu.tlb.stlb.0.entries: [256, 1024]
  system.core.mmu.walker.pwc.pde: [0, 32]
seeds: [1, 2]
metrics: [tlb_misses, avg_access_latency_core_cycles]
"""
SWEEP_RUNS = 8
SWEEP_PLOTS = 4  # 2 swept keys x 2 metrics
RUN_PLOTS = 2    # latency breakdown, DRAM read-latency histogram
CHROMIUM_TIMEOUT = 60


class Failure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


def decode_png(data, what):
    """(width, height, rows of pixel tuples) of an 8-bit PNG (grey, RGB, grey+alpha, RGBA)."""
    check(data[:8] == b"\x89PNG\r\n\x1a\n", what + ": not a PNG (signature)")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    check(ihdr is not None, what + ": PNG without IHDR")
    width, height, depth, colour, _, _, interlace = ihdr
    check(width > 0 and height > 0, what + ": empty image %dx%d" % (width, height))
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    check(depth == 8 and channels and interlace == 0,
          what + ": unsupported PNG (depth %d, colour type %d, interlace %d)" % (depth, colour, interlace))
    raw = zlib.decompress(idat)
    stride = width * channels
    check(len(raw) == height * (stride + 1), what + ": truncated image data")
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def distinct_colours(rows, limit=3):
    seen = set()
    for r in rows[::7]:
        seen.update(r[i:i + 3] for i in range(0, len(r), 3 * 5))
        if len(seen) >= limit:
            break
    return len(seen)


class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.title, self.in_title, self.imgs = "", False, []
        self.table_stack, self.rows = [], {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "title":
            self.in_title = True
        elif tag == "img":
            self.imgs.append(a.get("src", ""))
        elif tag == "table":
            self.table_stack.append(a.get("id", ""))
        elif tag == "tbody":
            self.table_stack.append("tbody:" + self.table_stack[-1] if self.table_stack else "tbody:")
        elif tag == "tr" and self.table_stack and self.table_stack[-1].startswith("tbody:"):
            key = self.table_stack[-1][6:]
            self.rows[key] = self.rows.get(key, 0) + 1

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        elif tag in ("table", "tbody") and self.table_stack:
            self.table_stack.pop()

    def handle_data(self, data):
        if self.in_title:
            self.title += data


def chromium(binary, work, args, what):
    profile = tempfile.mkdtemp(dir=work, prefix="profile-")
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--user-data-dir=" + profile] + args
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=CHROMIUM_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Failure("%s: chromium did not finish in %d s" % (what, CHROMIUM_TIMEOUT))
    check(p.returncode == 0, "%s: chromium exit code %d: %s" % (what, p.returncode, p.stderr.decode()[-2000:]))
    return p.stdout.decode("utf-8", "replace")


def run(cmd, what):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "%s: exit code %d: %s%s" % (what, p.returncode, p.stdout, p.stderr))


def check_page(binary, work, folder, title, img_count, rows=None):
    page = os.path.join(folder, "report.html")
    check(os.path.isfile(page), page + ": not written")
    url = "file://" + os.path.abspath(page)
    shot = os.path.join(work, os.path.basename(folder) + ".png")
    chromium(binary, work, ["--screenshot=" + shot, "--window-size=1200,2000", url], page + " screenshot")
    check(os.path.isfile(shot), shot + ": chromium wrote no screenshot")
    with open(shot, "rb") as f:
        w, h, pixels = decode_png(f.read(), shot)
    check(distinct_colours(pixels) >= 3, "%s: screenshot of %s is blank (one colour)" % (shot, page))
    dom = Dom()
    dom.feed(chromium(binary, work, ["--dump-dom", url], page + " dump-dom"))
    check(dom.title == title, "%s: title %r, expected %r" % (page, dom.title, title))
    data_imgs = [s for s in dom.imgs if s.startswith("data:image/png;base64,")]
    check(len(data_imgs) == img_count and len(dom.imgs) == img_count,
          "%s: %d <img> (%d with data: PNG sources), expected %d" % (page, len(dom.imgs), len(data_imgs), img_count))
    for i, src in enumerate(data_imgs):
        iw, ih, ipx = decode_png(base64.b64decode(src.split(",", 1)[1]), "%s: image %d" % (page, i))
        check(distinct_colours(ipx) >= 3, "%s: image %d (%dx%d) is blank" % (page, i, iw, ih))
    if rows is not None:
        got = dom.rows.get("results", 0)
        check(got == rows, "%s: results table has %d rows, expected %d (one per run)" % (page, got, rows))
    print("ok: %s (%s, screenshot %dx%d, %d images)" % (page, title, w, h, len(data_imgs)))


def main():
    if len(sys.argv) != 2:
        print("usage: test_report.py VMSIM_BIN", file=sys.stderr)
        return 2
    vmsim = sys.argv[1]
    binary = shutil.which("chromium")
    if not binary:
        print("FAIL: chromium is not installed: the browser test needs Debian's chromium "
              "(run scripts/install-deps.sh)", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="vmsim_browser_")
    try:
        with open(os.path.join(work, "base.yaml"), "w") as f:
            f.write(BASE)
        with open(os.path.join(work, "spec.yaml"), "w") as f:
            f.write(SPEC)
        run_dir, sweep_dir = os.path.join(work, "run"), os.path.join(work, "sweep")
        run([vmsim, "run", os.path.join(work, "base.yaml"), "--out", run_dir, "-q"], "vmsim run")
        run([vmsim, "sweep", os.path.join(work, "spec.yaml"), "--out", sweep_dir, "-j", "2"], "vmsim sweep")
        run([vmsim, "report", run_dir], "vmsim report (run)")
        run([vmsim, "report", sweep_dir], "vmsim report (sweep)")
        check_page(binary, work, run_dir, "vmsim report: run", RUN_PLOTS)
        check_page(binary, work, sweep_dir, "vmsim report: sweep", SWEEP_PLOTS, SWEEP_RUNS)
    except Failure as e:
        print("FAIL: " + str(e), file=sys.stderr)
        print("(outputs kept in %s)" % work, file=sys.stderr)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
