#!/usr/bin/env python3
"""Plots of a sweep's results.csv and the self-contained report page of a run or sweep folder.

Called by `vmsim plot` and `vmsim report` (apps/vmsim/plot.cpp); usable directly:
  vmsim_plot.py plot DIR [--x KEY] [--y METRIC]... [--group KEY] [--kind line|bar|stacked]
  vmsim_plot.py report DIR
  vmsim_plot.py refs CSV FILE        (the fault curves of `vmsim refs --plot FILE`; CSV as `vmsim refs --csv`)
Errors are one line on stderr naming the file or column, exit code 2. Output is deterministic: the
same table gives byte-identical SVG and PNG files (fixed SVG hash salt, no dates in metadata).
"""
import argparse
import base64
import csv
import html
import json
import math
import os
import re
import sys

EXIT_BAD_INPUT = 2
DEFAULT_METRICS = ["avg_access_latency_core_cycles", "tlb_misses"]
MAX_GROUPS = 12  # a default grouping key with more values than this is not used
# Student's t quantile t(0.975, df) for df = 1..30, then 40, 60, 120, infinity: the table of summary.csv
# (student_t975 in apps/vmsim/study_results.cpp).
T975 = [12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010, 2.1788,
        2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595,
        2.0555, 2.0518, 2.0484, 2.0452, 2.0423]
SIZE_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
              "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}


class InputError(Exception):
    pass


def t975(df):
    if df <= 30:
        return T975[df - 1]
    for below, t in ((40, T975[-1]), (60, 2.0211), (120, 2.0003), (1000, 1.9799)):
        if df < below:
            return t
    return 1.9600


def mean_ci(values):
    """Mean and half-width of the 95 % confidence interval (0 with fewer than two values)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    s = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, t975(n - 1) * s / math.sqrt(n)


def as_number(text):
    """The value of a table cell as a number: plain, or a size with a unit (4KiB); None otherwise."""
    try:
        return float(text)
    except ValueError:
        pass
    m = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]i?B|B)\s*", text)
    if m and m.group(2) in SIZE_UNITS:
        return float(m.group(1)) * SIZE_UNITS[m.group(2)]
    return None


def matplotlib_pyplot():
    try:
        import matplotlib
    except ImportError:
        raise InputError("python3-matplotlib is not installed (run scripts/install-deps.sh)")
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "vmsim"
    matplotlib.rcParams["path.simplify"] = False
    import matplotlib.pyplot as plt
    return plt


def save(fig, path_base):
    fig.savefig(path_base + ".png", dpi=100, metadata={"Software": None})
    fig.savefig(path_base + ".svg", metadata={"Date": None, "Creator": None})


def safe_name(text):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:80]


def short(text, n=32):
    return text if len(text) <= n else text[: n - 1] + "\u2026"


class Table:
    """A sweep folder's results.csv: its columns, rows, swept keys and metrics."""

    def __init__(self, folder):
        self.path = os.path.join(folder, "results.csv")
        if not os.path.isfile(self.path):
            raise InputError(self.path + ": no such file (a sweep folder has results.csv: run vmsim sweep)")
        with open(self.path, newline="") as f:
            reader = csv.reader(f)
            try:
                self.columns = next(reader)
            except StopIteration:
                raise InputError(self.path + ": empty file")
            self.rows = [dict(zip(self.columns, r)) for r in reader]
        if "seed" not in self.columns or "status" not in self.columns:
            raise InputError(self.path + ": not a vmsim sweep table (no 'seed' and 'status' columns)")
        before_seed = self.columns[: self.columns.index("seed")]
        # The swept keys are the runs' params in results.json; the metrics follow them, before `seed`.
        self.params = []
        json_path = os.path.join(folder, "results.json")
        if os.path.isfile(json_path):
            try:
                with open(json_path) as f:
                    runs = json.load(f).get("runs", [])
                if runs:
                    self.params = [k for k in runs[0].get("params", {}) if k in before_seed]
            except (ValueError, OSError) as e:
                raise InputError(json_path + ": " + str(e).splitlines()[0])
        else:
            self.params = before_seed
        self.metrics = [c for c in before_seed if c not in self.params]
        self.ok_rows = [r for r in self.rows if r.get("status") == "ok"]

    def need(self, column, option):
        if column not in self.columns:
            raise InputError("%s: no column '%s' (%s)" % (self.path, column, option))

    def distinct(self, column):
        """The column's values in the order of first appearance, or numeric order when all are numbers."""
        seen = []
        for r in self.ok_rows:
            if r[column] not in seen:
                seen.append(r[column])
        numbers = [as_number(v) for v in seen]
        if seen and all(n is not None for n in numbers):
            seen = [v for _, v in sorted(zip(numbers, seen), key=lambda p: p[0])]
        return seen

    def aggregate(self, x, y, group):
        """{group value: {x value: (mean, ci95, n)}} over the ok rows with a value of y."""
        cells = {}
        for r in self.ok_rows:
            v = as_number(r.get(y, ""))
            if v is None:
                continue
            cells.setdefault(r[group] if group else "", {}).setdefault(r[x], []).append(v)
        return {g: {xv: mean_ci(vs) + (len(vs),) for xv, vs in d.items()} for g, d in cells.items()}


def determines(table, a, b):
    """Whether column a's value determines column b's over the ok rows (as zipped keys do)."""
    seen = {}
    for r in table.ok_rows:
        if seen.setdefault(r[a], r[b]) != r[b]:
            return False
    return True


def default_xs(table, group):
    """The swept keys, less those in one-to-one correspondence with an earlier one (zipped together)."""
    xs = []
    for p in table.params:
        if p != group and not any(determines(table, q, p) and determines(table, p, q) for q in xs):
            xs.append(p)
    return xs


def default_group(table, x):
    """The first other swept key with 2..MAX_GROUPS values, each seen with at least two x values (so that
    every series is a line), or None."""
    for p in table.params:
        if p == x or not 2 <= len(table.distinct(p)) <= MAX_GROUPS:
            continue
        xs_of = {}
        for r in table.ok_rows:
            xs_of.setdefault(r[p], set()).add(r[x])
        if all(len(v) >= 2 for v in xs_of.values()):
            return p
    return None


def x_positions(values):
    """Positions of x values on the axis and whether the axis is numeric (and logarithmic)."""
    numbers = [as_number(v) for v in values]
    if values and all(n is not None for n in numbers) and len(values) > 1:
        log = min(numbers) > 0 and max(numbers) / min(numbers) >= 100
        return numbers, True, log
    return list(range(len(values))), False, False


def draw(plt, table, x, ys, group, kind, out_base):
    xs = table.distinct(x)
    groups = table.distinct(group) if group else [""]
    multi_seed = len(set(r["seed"] for r in table.ok_rows)) > 1
    fig, ax = plt.subplots(figsize=(8, 5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    if kind == "line":
        y = ys[0]
        data = table.aggregate(x, y, group)
        pos, numeric, log = x_positions(xs)
        for gi, g in enumerate(groups):
            pts = [(p, data.get(g, {}).get(xv)) for p, xv in zip(pos, xs)]
            pts = [(p, c) for p, c in pts if c is not None]
            if not pts:
                continue
            label = short("%s = %s" % (group, g), 60) if group else None
            ax.errorbar([p for p, _ in pts], [c[0] for _, c in pts], yerr=[c[1] for _, c in pts] if multi_seed else None,
                        marker="o", capsize=3, label=label, color=colours[gi % len(colours)])
        if log:
            ax.set_xscale("log")
        if len(xs) <= 16:
            ax.set_xticks(pos)
            ax.set_xticklabels([short(v, 20) for v in xs], rotation=30 if numeric and len(xs) > 6 or not numeric else 0,
                               ha="right" if not numeric or len(xs) > 6 else "center")
            ax.minorticks_off()
        ax.set_ylabel(y)
    elif kind == "bar":
        y = ys[0]
        data = table.aggregate(x, y, group)
        width = 0.8 / len(groups)
        for gi, g in enumerate(groups):
            cells = [data.get(g, {}).get(xv) for xv in xs]
            ax.bar([i - 0.4 + width * (gi + 0.5) for i in range(len(xs))], [c[0] if c else 0 for c in cells], width,
                   yerr=[c[1] if c else 0 for c in cells] if multi_seed else None, capsize=3,
                   label=short("%s = %s" % (group, g), 60) if group else None, color=colours[gi % len(colours)])
        ax.set_xticks(range(len(xs)))
        ax.set_xticklabels([short(v, 20) for v in xs], rotation=30, ha="right")
        ax.set_ylabel(y)
    else:  # stacked: one bar per x value (and group), the metrics stacked
        per_metric = [table.aggregate(x, y, group) for y in ys]
        cats = [(xv, g) for xv in xs for g in groups]
        bottom = [0.0] * len(cats)
        for mi, y in enumerate(ys):
            heights = []
            for xv, g in cats:
                c = per_metric[mi].get(g, {}).get(xv)
                heights.append(c[0] if c else 0.0)
            ax.bar(range(len(cats)), heights, 0.8, bottom=bottom, label=short(y, 60), color=colours[mi % len(colours)])
            bottom = [b + h for b, h in zip(bottom, heights)]
        ax.set_xticks(range(len(cats)))
        ax.set_xticklabels([short(xv, 20) + (" / " + short(g, 16) if group else "") for xv, g in cats],
                           rotation=30, ha="right")
        ax.set_ylabel("sum of metrics (mean)" if multi_seed else "sum of metrics")
    ax.set_xlabel(x + (" / " + group if kind == "stacked" and group else ""))
    title = (ys[0] if kind != "stacked" else " + ".join(ys)) + " vs " + x
    ax.set_title(short(title, 90), fontsize=10)
    if multi_seed and kind != "stacked":
        ax.text(1.0, 1.01, "mean, 95 % CI", transform=ax.transAxes, ha="right", va="bottom", fontsize=8)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, out_base)
    plt.close(fig)


def make_plots(folder, xs=None, ys=None, group=None, kind="line", quiet=False):
    """Writes the plots of FOLDER/results.csv into FOLDER/plots; returns the paths of the PNG files."""
    table = Table(folder)
    for x in xs or []:
        table.need(x, "--x")
    for y in ys or []:
        table.need(y, "--y")
    if group:
        table.need(group, "--group")
    if not table.ok_rows:
        raise InputError(table.path + ": no successful run to plot")
    if not xs:
        xs = default_xs(table, group) or ["seed"]
    if not ys:
        ys = table.metrics or [m for m in DEFAULT_METRICS if m in table.columns]
        if not ys:
            raise InputError("%s: no column '%s' (default metric; give --y)" % (table.path, DEFAULT_METRICS[0]))
    plt = matplotlib_pyplot()
    out_dir = os.path.join(folder, "plots")
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for x in xs:
        g = group if group else default_group(table, x)
        if g == x:
            g = None
        if kind == "stacked":
            jobs = [(ys, "stacked_vs_" + safe_name(x))]
        else:
            jobs = [([y], safe_name(y) + ("_bar" if kind == "bar" else "") + "_vs_" + safe_name(x)) for y in ys]
        for metrics, name in jobs:
            base = os.path.join(out_dir, name)
            draw(plt, table, x, metrics, g, kind, base)
            written.append(base + ".png")
            if not quiet:
                print("wrote %s.png, %s.svg" % (base, base))
    return written


# ---- the report page ----

CSS = """
body { font-family: sans-serif; margin: 2em; color: #222; background: #fff; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.5em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #eef; } td.num { text-align: right; font-family: monospace; }
tr.failed td { background: #fdd; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; display: block; }
pre { background: #f6f6f6; padding: 0.5em; font-size: 0.8em; overflow-x: auto; }
.note { color: #666; font-size: 0.85em; }
"""


def esc(text):
    return html.escape(str(text), quote=True)


def fmt(value):
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return "%.6g" % value
    return str(value)


def cell(value):
    text = fmt(value)
    numeric = isinstance(value, (int, float)) or as_number(text) is not None
    return '<td class="num">%s</td>' % esc(text) if numeric else "<td>%s</td>" % esc(text)


def html_table(table_id, header, rows, row_classes=None):
    out = ['<table id="%s">' % esc(table_id), "<thead><tr>" + "".join("<th>%s</th>" % esc(h) for h in header) +
           "</tr></thead>", "<tbody>"]
    for i, r in enumerate(rows):
        cls = (row_classes or {}).get(i)
        out.append(("<tr class=\"%s\">" % cls if cls else "<tr>") + "".join(cell(v) for v in r) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def img_tag(png_path, alt):
    with open(png_path, "rb") as f:
        data = base64.b64encode(f.read()).decode("ascii")
    return '<img alt="%s" src="data:image/png;base64,%s">' % (esc(alt), data)


def flatten(obj, prefix=""):
    out = []
    for k, v in obj.items():
        name = prefix + k
        if isinstance(v, dict):
            out.extend(flatten(v, name + "."))
        else:
            out.append((name, v))
    return out


def breakdown_plot(plt, breakdown, path_base):
    """Stacked bars: the access latency by component, and the memory parts of data and walk accesses."""
    bars = [("access", {k: v for k, v in breakdown.items() if not isinstance(v, dict)})]
    for part, label in (("data_memory_parts", "data memory"), ("walk_memory_parts", "walk memory")):
        if isinstance(breakdown.get(part), dict):
            bars.append((label, breakdown[part]))
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.9 * len(bars)))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    names = []
    for _, comps in bars:
        names.extend(k for k in comps if k not in names)
    for bi, (label, comps) in enumerate(bars):
        left = 0.0
        for k, v in comps.items():
            v = float(v)
            ax.barh(bi, v, left=left, color=colours[names.index(k) % len(colours)],
                    label=k if k not in [t.get_label() for t in ax.patches] and v > 0 else None,
                    hatch="//" if bi > 0 else None, edgecolor="white")
            left += v
    handles, labels = ax.get_legend_handles_labels()
    unique = {}
    for h, l in zip(handles, labels):
        unique.setdefault(l, h)
    if unique:
        ax.legend(unique.values(), unique.keys(), fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_yticks(range(len(bars)))
    ax.set_yticklabels([b[0] for b in bars])
    ax.invert_yaxis()
    ax.set_xlabel("cycles per access")
    ax.set_title("access latency breakdown", fontsize=10)
    fig.tight_layout()
    save(fig, path_base)
    plt.close(fig)


DRAM_BUCKET = re.compile(r"^system\.node(\d+)\.dram\.ch(\d+)\.read_latency\.bucket\.(\d+)-(\d+|inf)$")


def dram_histogram(plt, stats, path_base):
    """The DRAM read-latency histogram, one stacked series per node and channel; False if there is none."""
    series = {}
    buckets = {}
    for name, s in stats.items():
        m = DRAM_BUCKET.match(name)
        if not m:
            continue
        lo = int(m.group(3))
        hi = m.group(4)
        buckets[lo] = "%d-%s" % (lo, hi) if hi != "inf" else "%d+" % lo
        series.setdefault((int(m.group(1)), int(m.group(2))), {})[lo] = s["value"] if isinstance(s, dict) else s
    if not series:
        return False
    los = sorted(buckets)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    bottom = [0.0] * len(los)
    for i, key in enumerate(sorted(series)):
        h = [float(series[key].get(lo, 0)) for lo in los]
        ax.bar(range(len(los)), h, 0.85, bottom=bottom, label="node %d ch %d" % key if len(series) <= 16 else None,
               color=colours[i % len(colours)])
        bottom = [b + v for b, v in zip(bottom, h)]
    ax.set_xticks(range(len(los)))
    ax.set_xticklabels([buckets[lo] for lo in los], rotation=60, ha="right", fontsize=7)
    ax.set_xlabel("read latency (DRAM cycles)")
    ax.set_ylabel("reads")
    ax.set_title("DRAM read latency (empty buckets left out)", fontsize=10)
    if len(series) > 1 and len(series) <= 16:
        ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, path_base)
    plt.close(fig)
    return True


def caches_html(caches):
    levels = [(k, v) for k, v in caches.items() if isinstance(v, dict) and all(not isinstance(x, dict) for x in v.values())
              and "hits" in v]
    cols = []
    for _, v in levels:
        cols.extend(c for c in v if c not in cols)
    parts = []
    if levels:
        parts.append(html_table("caches", ["level"] + cols, [[k] + [v.get(c, "") for c in cols] for k, v in levels]))
    rest = [(k, v) for k, v in flatten(caches) if k.split(".")[0] not in dict(levels)]
    if rest:
        parts.append(html_table("caches_other", ["statistic", "value"], rest))
    return "\n".join(parts)


def page(title, body):
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n"
            "<style>%s</style>\n</head>\n<body>\n<h1>%s</h1>\n%s\n</body>\n</html>\n" % (esc(title), CSS, esc(title), body))


def run_report(folder, plt):
    path = os.path.join(folder, "stats.json")
    try:
        with open(path) as f:
            doc = json.load(f)
        summary = doc["summary"]
        stats = doc.get("stats", {})
    except (ValueError, KeyError, OSError) as e:
        raise InputError(path + ": not a vmsim stats file (" + str(e).splitlines()[0] + ")")
    plots = os.path.join(folder, "plots")
    os.makedirs(plots, exist_ok=True)
    body = ['<p class="note">A vmsim run: %s</p>' % esc(os.path.abspath(folder))]
    scalars = [(k, v) for k, v in flatten({k: v for k, v in summary.items() if k != "caches"})]
    body.append("<h2>Summary</h2>")
    body.append(html_table("summary", ["statistic", "value"], scalars))
    breakdown = summary.get("access_latency_breakdown_core_cycles")
    if isinstance(breakdown, dict):
        body.append("<h2>Access latency breakdown</h2>")
        base = os.path.join(plots, "latency_breakdown")
        breakdown_plot(plt, breakdown, base)
        body.append(img_tag(base + ".png", "access latency breakdown"))
    base = os.path.join(plots, "dram_read_latency")
    if dram_histogram(plt, stats, base):
        body.append("<h2>DRAM read latency</h2>")
        body.append(img_tag(base + ".png", "DRAM read latency histogram"))
    series = os.path.join(folder, "timeseries.csv")
    base = os.path.join(plots, "timeseries")
    if os.path.isfile(series) and timeseries_plot(plt, series, base):
        body.append("<h2>Over time</h2>")
        body.append('<p class="note">Changes per interval of sim.stats_interval accesses (timeseries.csv).</p>')
        body.append(img_tag(base + ".png", "statistics over time"))
    if isinstance(summary.get("caches"), dict):
        body.append("<h2>Caches</h2>")
        body.append(caches_html(summary["caches"]))
    cfg = os.path.join(folder, "config.resolved.yaml")
    if os.path.isfile(cfg):
        with open(cfg) as f:
            body.append("<h2>Resolved configuration</h2>\n<details><summary>config.resolved.yaml</summary><pre>%s</pre>"
                        "</details>" % esc(f.read()))
    return body


def sweep_report(folder, plt):
    table = Table(folder)
    body = ['<p class="note">A vmsim sweep: %s; %d runs, %d ok.</p>' % (esc(os.path.abspath(folder)), len(table.rows),
                                                                       len(table.ok_rows))]
    if table.ok_rows:
        body.append("<h2>Plots</h2>")
        for png in make_plots(folder, quiet=True):
            body.append(img_tag(png, os.path.basename(png)[:-4]))
    last = table.columns.index("error") + 1 if "error" in table.columns else len(table.columns)
    cols = table.columns[:last]
    body.append("<h2>Results</h2>")
    body.append('<p class="note">One row per run; every statistic is in results.csv.</p>')
    failed = {i: "failed" for i, r in enumerate(table.rows) if r.get("status") != "ok"}
    body.append(html_table("results", cols, [[r.get(c, "") for c in cols] for r in table.rows], failed))
    summary_path = os.path.join(folder, "summary.csv")
    if os.path.isfile(summary_path):
        with open(summary_path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            rows = list(reader)
        keep = [i for i, h in enumerate(header) if h in table.params or h in ("runs", "ok") or
                any(h in (m + ".mean", m + ".ci95") for m in table.metrics)]
        body.append("<h2>Summary (mean and 95 % CI per point)</h2>")
        body.append(html_table("summary", [header[i] for i in keep], [[r[i] if i < len(r) else "" for i in keep]
                                                                         for r in rows]))
    return body


def refs_plot(csv_path, out):
    """Faults against frames, one line per policy (rows policy,frames,faults), to out (.png or .svg)."""
    if not out.endswith((".png", ".svg")):
        raise InputError(out + ": the plot file name must end in .png or .svg")
    series = {}
    try:
        with open(csv_path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            if header != ["policy", "frames", "faults"]:
                raise InputError(csv_path + ": expected the columns policy,frames,faults")
            for row in reader:
                series.setdefault(row[0], []).append((int(row[1]), int(row[2])))
    except (OSError, ValueError, IndexError) as e:
        raise InputError(csv_path + ": " + str(e).splitlines()[0])
    if not series:
        raise InputError(csv_path + ": no rows")
    plt = matplotlib_pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    markers = "os^vD<>pxh*+"
    for i, (policy, points) in enumerate(series.items()):
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        ax.plot(xs, ys, marker=markers[i % len(markers)], markersize=4, label=policy)
    frames = sorted({p[0] for pts in series.values() for p in pts})
    if len(frames) <= 16:
        ax.set_xticks(frames)
    ax.set_xlabel("frames")
    ax.set_ylabel("page faults")
    ax.set_title("page faults per replacement policy", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    if out.endswith(".png"):
        fig.savefig(out, dpi=100, metadata={"Software": None})
    else:
        fig.savefig(out, metadata={"Date": None, "Creator": None})
    plt.close(fig)
    print("wrote " + out)


# Headline columns of timeseries.csv drawn in a run's report: (label, patterns of the columns summed), i.e.
# per-core counts summed over the cores.
TIMESERIES_PANELS = [
    ("accesses", [r"^system\.core\d+\.accesses$"]),
    ("TLB misses", [r"^system\.core\d+\.mmu\.tlb\.misses$"]),
    ("page walks", [r"^system\.core\d+\.mmu\.walker\.walks$"]),
    ("page faults", [r"^system\.core\d+\.page_faults$"]),
]


def timeseries_plot(plt, path, path_base):
    """Per-interval changes of a few headline counts from timeseries.csv; False if there is nothing to draw."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        rows = [r for r in reader if len(r) == len(header)]
    if len(rows) < 1 or header[:3] != ["interval", "accesses", "sim_time_ps"]:
        return False
    panels = []
    for label, patterns in TIMESERIES_PANELS:
        cols = sorted({i for i, h in enumerate(header) for p in patterns if re.match(p, h)})
        if cols:
            panels.append((label, [sum(float(r[i]) for i in cols) for r in rows]))
    if not panels:
        return False
    xs = [int(r[1]) for r in rows]
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 1.9 * len(panels)), sharex=True)
    if len(panels) == 1:
        axes = [axes]
    for ax, (label, ys) in zip(axes, panels):
        ax.plot(xs, ys, marker="o", markersize=3)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(True, alpha=0.3)
    axes[0].set_title("per interval (timeseries.csv; x: accesses at the interval's end)", fontsize=10)
    axes[-1].set_xlabel("accesses")
    fig.tight_layout()
    save(fig, path_base)
    plt.close(fig)
    return True


def make_report(folder):
    name = os.path.basename(os.path.abspath(folder))
    is_run = os.path.isfile(os.path.join(folder, "stats.json"))
    is_sweep = os.path.isfile(os.path.join(folder, "results.csv"))
    if not os.path.isdir(folder):
        raise InputError(folder + ": no such folder")
    if not is_run and not is_sweep:
        raise InputError(folder + ": neither stats.json (a run folder) nor results.csv (a sweep folder)")
    plt = matplotlib_pyplot()
    body = run_report(folder, plt) if is_run else sweep_report(folder, plt)
    out = os.path.join(folder, "report.html")
    with open(out, "w") as f:
        f.write(page("vmsim report: " + name, "\n".join(body)))
    print("wrote " + out)


def main(argv):
    ap = argparse.ArgumentParser(prog="vmsim_plot.py", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plot")
    p.add_argument("dir")
    p.add_argument("--x", action="append", default=[])
    p.add_argument("--y", action="append", default=[])
    p.add_argument("--group")
    p.add_argument("--kind", choices=["line", "bar", "stacked"], default="line")
    r = sub.add_parser("report")
    r.add_argument("dir")
    f = sub.add_parser("refs")
    f.add_argument("csv")
    f.add_argument("out")
    a = ap.parse_args(argv)
    try:
        if a.command == "plot":
            make_plots(a.dir, a.x, a.y, a.group, a.kind)
        elif a.command == "refs":
            refs_plot(a.csv, a.out)
        else:
            make_report(a.dir)
    except InputError as e:
        print("vmsim: error: " + str(e), file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
