// System tests of what a run shows and records while it runs: the progress line on a terminal, the
// heartbeat on a file, -q; the statistics time series (sim.stats_interval, timeseries.csv); the event trace
// (sim.event_trace, events.csv); and `vmsim refs --plot`.
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <set>

#include "tests/system/system_fixture.hpp"

namespace vmsim_system_test {
namespace {

// Two cores, a random and a strided process: TLB misses, walks and faults in every interval.
const std::string kBase = R"(
sim: {mode: lt, seed: 3}
system:
  cores: 2
  memory:
    nodes: [{size: 128MiB}]
processes:
  - name: rnd
    core: 0
    workload: {kind: random, footprint: 16MiB, accesses: 30000, read_fraction: 0.7}
  - name: seq
    core: 1
    workload: {kind: strided, footprint: 8MiB, stride: 4KiB, accesses: 20000}
)";

// One core, enough accesses that a run takes a while (progress).
const std::string kLong = R"(
sim: {mode: lt, seed: 1}
system:
  cores: 1
  memory:
    nodes: [{size: 64MiB}]
processes:
  - name: rnd
    workload: {kind: random, footprint: 8MiB, accesses: 400000}
)";

// One core, a random working set larger than memory: major faults (swap-ins).
const std::string kSwap = R"(
sim: {mode: lt, seed: 1}
system:
  cores: 1
  memory:
    nodes: [{size: 32MiB}]
  swap: {enabled: true, size: 256MiB, device: {preset: nvme}}
processes:
  - name: big
    workload: {kind: random, footprint: 48MiB, accesses: 20000, read_fraction: 0.5}
)";

struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  size_t col(const std::string& name) const {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return i;
    }
    ADD_FAILURE() << "no column " << name;
    return 0;
  }
};

std::vector<std::string> split_line(const std::string& line) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

Csv read_csv(const std::string& path) {
  std::istringstream in(slurp(path));
  Csv t;
  std::string line;
  if (std::getline(in, line)) t.header = split_line(line);
  while (std::getline(in, line)) t.rows.push_back(split_line(line));
  return t;
}

// The lines of text, split at '\n'.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// Sets an environment variable for the duration of a scope.
struct Env {
  Env(const char* name, const char* value) : m_name(name) { ::setenv(name, value, 1); }
  ~Env() { ::unsetenv(m_name); }
  const char* m_name;
};

// The printed summary less the lines that measure the host.
std::string model_lines(const std::string& out) {
  std::string s;
  for (const std::string& l : lines_of(out)) {
    if (l.rfind("  host", 0) == 0 || l.rfind("  CPU", 0) == 0 || l.rfind("wrote ", 0) == 0) continue;
    s += l + "\n";
  }
  return s;
}

TEST_F(System, HeartbeatOnAFileAndQuietSilencesIt) {
  const std::string cfg = write("long.yaml", kLong);
  // Default period (60 s): a short run prints nothing on stderr.
  Result plain = vmsim("run " + cfg + " --out " + m_dir + "/plain");
  ASSERT_EQ(plain.code, 0) << plain.err;
  EXPECT_EQ(plain.err, "");
  Result beat;
  {
    Env env("VMSIM_HEARTBEAT_SECONDS", "0");  // a line at every check (every 16384 accesses)
    beat = vmsim("run " + cfg + " --out " + m_dir + "/beat");
    ASSERT_EQ(beat.code, 0) << beat.err;
    // -q silences it.
    Result quiet = vmsim("run " + cfg + " -q --out " + m_dir + "/quiet");
    ASSERT_EQ(quiet.code, 0) << quiet.err;
    EXPECT_EQ(quiet.err, "");
    EXPECT_EQ(quiet.out, "");
    EXPECT_EQ(slurp(m_dir + "/quiet/stats.json"), slurp(m_dir + "/plain/stats.json"));
  }
  // stderr is a file: whole lines, no carriage returns; each names the fields.
  EXPECT_EQ(beat.err.find('\r'), std::string::npos);
  const std::vector<std::string> lines = lines_of(beat.err);
  EXPECT_GE(lines.size(), 20u);  // 400000 / 16384 checks
  uint64_t last = 0;
  for (const std::string& l : lines) {
    ASSERT_EQ(l.rfind("[vmsim] ", 0), 0u) << l;
    EXPECT_NE(l.find(" / 400000 ("), std::string::npos) << l;
    EXPECT_NE(l.find("accesses, simulated "), std::string::npos) << l;
    EXPECT_NE(l.find("M accesses/s"), std::string::npos) << l;
    const uint64_t n = std::stoull(l.substr(8));
    EXPECT_GT(n, last) << l;
    EXPECT_EQ(n % 16384, 0u) << l;
    last = n;
  }
  EXPECT_NE(beat.err.find(", ETA "), std::string::npos);
  // Nothing else changes: the statistics and the printed model numbers are the same.
  EXPECT_EQ(slurp(m_dir + "/beat/stats.json"), slurp(m_dir + "/plain/stats.json"));
  EXPECT_EQ(model_lines(beat.out), model_lines(plain.out));
  EXPECT_NE(model_lines(plain.out).find("accesses"), std::string::npos);
  {
    Env env("VMSIM_HEARTBEAT_SECONDS", "soon");
    Result bad = vmsim("run " + cfg + " --out " + m_dir + "/bad");
    EXPECT_EQ(bad.code, 2);
    EXPECT_TRUE(one_line(bad)) << bad.err;
    EXPECT_NE(bad.err.find("VMSIM_HEARTBEAT_SECONDS: bad value 'soon'"), std::string::npos) << bad.err;
  }
}

TEST_F(System, ProgressLineOnATerminal) {
  // A run of a few seconds with its stdout and stderr on a pseudo-terminal: the line overwrites itself.
  const std::string cfg = write("long.yaml", kLong);
  const std::string out = m_dir + "/tty";
  int master = -1;
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execl(VMSIM_BIN, VMSIM_BIN, "run", cfg.c_str(), "--out", out.c_str(), "--set",
            "processes.0.workload.accesses=1500000", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO once the child closed the terminal
    text.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(master);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text;
  const size_t first = text.find("\r[vmsim] ");
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_NE(text.find("/ 1500000 (", first), std::string::npos) << text;
  // The final line (100 %) ends with a newline before the summary.
  EXPECT_NE(text.find("1500000 / 1500000 (100.0%)"), std::string::npos) << text;
  EXPECT_NE(text.find("accesses", text.rfind("[vmsim]")), std::string::npos);
  EXPECT_NE(text.find("wrote " + out + "/stats.json"), std::string::npos) << text;
}

TEST_F(System, TimeSeriesRowsAddUpToTheFinalStatistics) {
  const std::string cfg = write("base.yaml", kBase);
  const std::string plain = m_dir + "/plain", ts = m_dir + "/ts", again = m_dir + "/again";
  ASSERT_EQ(vmsim("run " + cfg + " -q --out " + plain).code, 0);
  Result r = vmsim("run " + cfg + " --set sim.stats_interval=7000 --out " + ts);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(ts + "/timeseries.csv"), std::string::npos) << r.out;
  // The series changes nothing else.
  EXPECT_EQ(slurp(ts + "/stats.json"), slurp(plain + "/stats.json"));
  EXPECT_FALSE(std::ifstream(plain + "/timeseries.csv").good());

  const Csv t = read_csv(ts + "/timeseries.csv");
  ASSERT_GE(t.header.size(), 50u);
  EXPECT_EQ(t.header[0], "interval");
  EXPECT_EQ(t.header[1], "accesses");
  EXPECT_EQ(t.header[2], "sim_time_ps");
  // 50000 accesses: rows at 7000, 14000, ..., 49000, and the last partial interval.
  ASSERT_EQ(t.rows.size(), 8u);
  for (size_t i = 0; i < t.rows.size(); ++i) {
    ASSERT_EQ(t.rows[i].size(), t.header.size()) << i;
    EXPECT_EQ(t.rows[i][0], std::to_string(i));
    EXPECT_EQ(std::stoull(t.rows[i][1]), i + 1 < t.rows.size() ? 7000 * (i + 1) : 50000) << i;
    if (i > 0) {
      EXPECT_GE(std::stoull(t.rows[i][2]), std::stoull(t.rows[i - 1][2])) << i;
    }
  }
  // Every count column adds up to its final value; value columns hold the final value in the last row.
  const nlohmann::json j = stats(ts);
  size_t counts = 0, values = 0;
  for (size_t c = 3; c < t.header.size(); ++c) {
    const bool value = t.header[c].rfind("value:", 0) == 0;
    const std::string name = value ? t.header[c].substr(6) : t.header[c];
    ASSERT_TRUE(j["stats"].contains(name)) << name;
    const double final_value = j["stats"][name]["value"].get<double>();
    if (value) {
      ++values;
      EXPECT_NEAR(std::stod(t.rows.back()[c]), final_value, 1e-6 * (1 + std::abs(final_value))) << name;
      continue;
    }
    ++counts;
    long long sum = 0;
    for (const auto& row : t.rows) sum += std::stoll(row[c]);
    EXPECT_EQ(static_cast<double>(sum), final_value) << name;
  }
  EXPECT_GT(counts, 40u);
  EXPECT_GT(values, 5u);
  // Misses and accesses happen in every interval; accesses per row sum to the row's access span.
  const size_t acc0 = t.col("system.core0.accesses"), acc1 = t.col("system.core1.accesses");
  for (size_t i = 0; i + 1 < t.rows.size(); ++i) {
    EXPECT_EQ(std::stoull(t.rows[i][acc0]) + std::stoull(t.rows[i][acc1]), 7000u) << i;
    EXPECT_GT(std::stoull(t.rows[i][t.col("system.core0.mmu.tlb.misses")]), 0u) << i;
  }
  // Deterministic.
  ASSERT_EQ(vmsim("run " + cfg + " -q --set sim.stats_interval=7000 --out " + again).code, 0);
  EXPECT_EQ(slurp(again + "/timeseries.csv"), slurp(ts + "/timeseries.csv"));
  // The report page draws it.
  Result rep = vmsim("report " + ts);
  ASSERT_EQ(rep.code, 0) << rep.err;
  EXPECT_NE(slurp(ts + "/report.html").find("<h2>Over time</h2>"), std::string::npos);
  EXPECT_EQ(slurp(ts + "/plots/timeseries.png").rfind("\x89PNG", 0), 0u);
  Result rep_plain = vmsim("report " + plain);
  ASSERT_EQ(rep_plain.code, 0) << rep_plain.err;
  EXPECT_EQ(slurp(plain + "/report.html").find("Over time"), std::string::npos);

  // With a warm-up, the series starts at the reset and still adds up to the (reset) final values.
  const std::string warm = m_dir + "/warm";
  ASSERT_EQ(vmsim("run " + cfg + " -q --set sim.stats_interval=10000 --set sim.warmup_accesses=15000 --out " + warm)
                .code,
            0);
  const Csv w = read_csv(warm + "/timeseries.csv");
  ASSERT_EQ(w.rows.size(), 4u);  // 25000, 35000, 45000, 50000
  EXPECT_EQ(w.rows[0][1], "25000");
  const nlohmann::json jw = stats(warm);
  for (const std::string name : {"system.core0.accesses", "system.core1.mmu.tlb.misses", "system.os.faults.total"}) {
    long long sum = 0;
    for (const auto& row : w.rows) sum += std::stoll(row[w.col(name)]);
    EXPECT_EQ(static_cast<uint64_t>(sum), stat(jw, name)) << name;
  }
}

TEST_F(System, EventTraceOfTheWholeRunMatchesTheStatistics) {
  const std::string cfg = write("base.yaml", kBase);
  const std::string plain = m_dir + "/plain", ev = m_dir + "/ev";
  ASSERT_EQ(vmsim("run " + cfg + " -q --out " + plain).code, 0);
  Result r = vmsim("run " + cfg + " --set sim.event_trace.count=1000000 --out " + ev);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(ev + "/events.csv"), std::string::npos) << r.out;
  // Recording takes the MMU's out-of-line path but changes no count and no time.
  EXPECT_EQ(slurp(ev + "/stats.json"), slurp(plain + "/stats.json"));
  const Csv t = read_csv(ev + "/events.csv");
  ASSERT_EQ(t.header.size(), 17u);
  ASSERT_EQ(t.rows.size(), 50000u);
  const nlohmann::json j = stats(ev);
  std::set<uint64_t> seen;
  std::map<std::string, uint64_t> per_core[2];
  for (const auto& row : t.rows) {
    ASSERT_EQ(row.size(), t.header.size());
    seen.insert(std::stoull(row[t.col("access")]));
    auto& c = per_core[std::stoul(row[t.col("core")])];
    ++c["accesses"];
    ++c[row[t.col("kind")]];
    c["lookups"] += std::stoull(row[t.col("lookups")]);
    c["walks"] += std::stoull(row[t.col("walks")]);
    c["pte_reads"] += std::stoull(row[t.col("pte_reads")]);
    c["faults"] += std::stoull(row[t.col("faults")]);
    c["translation_cycles"] += std::stoull(row[t.col("translation_core_cycles")]);
    const std::string tlb = row[t.col("tlb")];
    ASSERT_TRUE(tlb == "l1" || tlb == "l2" || tlb == "miss") << tlb;
    ++c["tlb_" + tlb];
    const std::string fault = row[t.col("fault")];
    EXPECT_EQ(fault == "none", row[t.col("faults")] == "0") << fault;
    if (fault != "none") {
      EXPECT_EQ(fault, "minor");
    }
    // pte_served: one level:where per PTE read, all from memory (no caches here).
    const std::string served = row[t.col("pte_served")];
    size_t reads = served.empty() ? 0 : 1;
    for (char ch : served) reads += ch == ';' ? 1 : 0;
    EXPECT_EQ(reads, std::stoull(row[t.col("pte_reads")])) << served;
    EXPECT_EQ(served.find("mem_remote"), std::string::npos);
    EXPECT_EQ(std::stoull(row[t.col("core_cycles")]),
              std::stoull(row[t.col("translation_core_cycles")]) + std::stoull(row[t.col("fault_core_cycles")]) +
                  std::stoull(row[t.col("data_core_cycles")]));
    if (fault == "none") {
      EXPECT_NE(row[t.col("pa")], "0x0");
    }
  }
  EXPECT_EQ(seen.size(), 50000u);
  EXPECT_EQ(*seen.begin(), 0u);
  EXPECT_EQ(*seen.rbegin(), 49999u);
  for (unsigned c = 0; c < 2; ++c) {
    const std::string core = "system.core" + std::to_string(c);
    auto& m = per_core[c];
    EXPECT_EQ(m["accesses"], stat(j, core + ".accesses"));
    EXPECT_EQ(m["load"], stat(j, core + ".reads"));
    EXPECT_EQ(m["store"], stat(j, core + ".writes"));
    // The kernel's own translations (its direct map) are not the accesses': the trace leaves them out.
    EXPECT_EQ(m["lookups"], stat(j, core + ".mmu.translations") - stat(j, core + ".mmu.kernel.translations"));
    EXPECT_EQ(m["walks"], stat(j, core + ".mmu.walker.walks") - stat(j, core + ".mmu.kernel.walks"));
    EXPECT_EQ(m["pte_reads"], stat(j, core + ".mmu.walker.pte_reads") - stat(j, core + ".mmu.kernel.pte_reads"));
    EXPECT_EQ(m["faults"], stat(j, core + ".page_faults"));
    EXPECT_GT(m["tlb_miss"], 0u);
    // First lookups only: a retry after a fault is a second lookup.
    EXPECT_EQ(m["tlb_miss"] + m["tlb_l1"] + m["tlb_l2"], m["accesses"]);
    EXPECT_LE(m["tlb_miss"], stat(j, core + ".mmu.tlb.misses"));
    // Each row's cycles are whole cycles of its own time: the sum is within a cycle per row of the total.
    EXPECT_LE(m["translation_cycles"], stat(j, core + ".time.translation"));
    EXPECT_GE(m["translation_cycles"] + m["accesses"], stat(j, core + ".time.translation"));
  }
  EXPECT_GT(per_core[0]["tlb_l1"], 0u);  // the random process revisits pages; the strided one never does

  // The functional mode records the same accesses, without cycles.
  const std::string fn = m_dir + "/fn";
  ASSERT_EQ(vmsim("run " + cfg + " -q --set sim.mode=functional --set sim.event_trace.count=1000000 --out " + fn).code,
            0);
  const Csv f = read_csv(fn + "/events.csv");
  ASSERT_EQ(f.rows.size(), 50000u);
  uint64_t f_faults = 0, f_cycles = 0;
  for (const auto& row : f.rows) {
    f_faults += std::stoull(row[f.col("faults")]);
    f_cycles += std::stoull(row[f.col("core_cycles")]);
  }
  const nlohmann::json jf = stats(fn);
  EXPECT_EQ(f_faults, stat(jf, "system.core0.page_faults") + stat(jf, "system.core1.page_faults"));
  EXPECT_EQ(f_cycles, 0u);
  uint64_t minor = 0;
  for (const auto& row : t.rows) minor += row[t.col("fault")] == "minor" ? 1 : 0;
  EXPECT_GT(minor, 0u);
}

TEST_F(System, EventTraceWindowWithCachesAndSwap) {
  // A window in the middle: exactly its rows, its faults as counted by the time series over the same span.
  const std::string cfg = write("base.yaml", kBase);
  const std::string out = m_dir + "/win";
  Result r = vmsim("run " + cfg + " -q --set sim.event_trace.from=21000 --set sim.event_trace.count=7000"
                   " --set sim.stats_interval=7000 --set system.caches=skylake_sp --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  const Csv t = read_csv(out + "/events.csv");
  ASSERT_EQ(t.rows.size(), 7000u);
  std::set<uint64_t> seen;
  uint64_t faults = 0, walks = 0, misses_l2 = 0;
  std::set<std::string> wheres;
  for (const auto& row : t.rows) {
    seen.insert(std::stoull(row[t.col("access")]));
    faults += std::stoull(row[t.col("faults")]);
    walks += std::stoull(row[t.col("walks")]);
    misses_l2 += row[t.col("tlb")] == "l2" ? 1 : 0;
    std::istringstream in(row[t.col("pte_served")]);
    std::string item;
    while (std::getline(in, item, ';')) wheres.insert(item.substr(item.find(':') + 1));
  }
  EXPECT_EQ(seen.size(), 7000u);
  EXPECT_EQ(*seen.begin(), 21000u);
  EXPECT_EQ(*seen.rbegin(), 27999u);
  // The time series' fourth row covers accesses 21000..27999: the same faults and walks.
  const Csv ts = read_csv(out + "/timeseries.csv");
  ASSERT_GE(ts.rows.size(), 4u);
  EXPECT_EQ(ts.rows[3][1], "28000");
  const uint64_t ts_faults =
      std::stoull(ts.rows[3][ts.col("system.core0.page_faults")]) + std::stoull(ts.rows[3][ts.col("system.core1.page_faults")]);
  // Less the kernel's walks for its own accesses, which the trace leaves out.
  const uint64_t ts_walks = std::stoull(ts.rows[3][ts.col("system.core0.mmu.walker.walks")]) +
                            std::stoull(ts.rows[3][ts.col("system.core1.mmu.walker.walks")]) -
                            std::stoull(ts.rows[3][ts.col("system.core0.mmu.kernel.walks")]) -
                            std::stoull(ts.rows[3][ts.col("system.core1.mmu.kernel.walks")]);
  EXPECT_EQ(faults, ts_faults);
  EXPECT_EQ(walks, ts_walks);
  EXPECT_GT(walks, 0u);
  // With caches, PTE reads are served by the hierarchy's levels.
  for (const std::string& w : wheres) {
    EXPECT_TRUE(w == "l1d" || w == "l2" || w == "llc" || w == "peer_cache" || w == "remote_cache" ||
                w == "mem_local" || w == "mem_remote")
        << w;
  }
  EXPECT_TRUE(wheres.count("l1d") || wheres.count("l2") || wheres.count("llc")) << wheres.size();

  // Swap: major faults appear, as many as the firmware counted in the window.
  const std::string swap_cfg = write("swap.yaml", kSwap);
  const std::string sw = m_dir + "/swap";
  Result s = vmsim("run " + swap_cfg + " -q --set sim.event_trace.count=20000 --out " + sw);
  ASSERT_EQ(s.code, 0) << s.err;
  const Csv e = read_csv(sw + "/events.csv");
  ASSERT_EQ(e.rows.size(), 20000u);
  uint64_t major = 0;
  for (const auto& row : e.rows) major += row[e.col("fault")] == "major" ? 1 : 0;
  const nlohmann::json j = stats(sw);
  EXPECT_GT(major, 100u);
  EXPECT_EQ(major, stat(j, "system.os.faults.major"));
}

TEST_F(System, RuntimeKeyErrors) {
  const std::string cfg = write("base.yaml", kBase);
  expect_config_errors(cfg, {
                                {{"sim.mode=at", "system.core.outstanding=4", "sim.event_trace.count=10"},
                                 "sim.event_trace records one access at a time"},
                                {{"sim.stats_interval=-1"}, "sim.stats_interval"},
                                {{"sim.event_trace.window=3"}, "sim.event_trace.window"},
                            });
}

TEST_F(System, RefsPlotWritesPngAndSvg) {
  const std::string refs = "7,0,1,2,0,3,0,4,2,3,0,3,2,1,2,0,1,7,0,1";
  for (const std::string ext : {"png", "svg"}) {
    const std::string file = m_dir + "/curves." + ext;
    Result r = vmsim("refs " + refs + " --frames 1..6 --policy fifo,lru,opt,clock --plot " + file);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("page faults per policy"), std::string::npos) << r.out;
    const std::string data = slurp(file);
    if (ext == "png") {
      EXPECT_EQ(data.rfind("\x89PNG\r\n\x1a\n", 0), 0u);
      EXPECT_GT(data.size(), 5000u);
    } else {
      EXPECT_EQ(data.rfind("<?xml", 0), 0u);
      EXPECT_NE(data.find("<svg"), std::string::npos);
      EXPECT_NE(data.find("</svg>"), std::string::npos);
      // One line per policy, named in the legend; deterministic.
      for (const char* p : {"fifo", "lru", "opt", "clock"}) EXPECT_NE(data.find(p), std::string::npos) << p;
      ASSERT_EQ(vmsim("refs " + refs + " --frames 1..6 --policy fifo,lru,opt,clock --plot " + file).code, 0);
      EXPECT_EQ(slurp(file), data);
    }
  }
  Result bad = vmsim("refs " + refs + " --plot " + m_dir + "/curves.pdf");
  EXPECT_EQ(bad.code, 2);
  EXPECT_TRUE(one_line(bad)) << bad.err;
  EXPECT_NE(bad.err.find("--plot: bad value"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace vmsim_system_test
