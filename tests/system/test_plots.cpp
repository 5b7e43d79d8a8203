// System tests of `vmsim plot` and `vmsim report` on a small sweep: PNG and SVG files, byte-identical
// SVG from the same table, the report page, and the one-line errors (exit 2).
#include <filesystem>

#include "tests/system/system_fixture.hpp"

namespace vmsim_system_test {
namespace {

namespace fs = std::filesystem;

const std::string kBase = R"(
sim: {mode: lt, seed: 1}
system:
  cores: 1
  core: {mmu: {tlb: {stlb: [{entries: 1024, ways: 8, hit_latency: 7}]}}}
  memory:
    nodes: [{size: 64MiB}]
processes:
  - name: rnd
    workload: {kind: random, footprint: 8MiB, accesses: 3000, read_fraction: 0.8}
)";

const std::string kSpec = R"(
base: base.yaml
grid:
  system.core.mmu.tlb.stlb.0.entries: [256, 1024]
  system.core.mmu.walker.pwc.pde: [0, 32]
seeds: [1, 2]
metrics: [tlb_misses, avg_access_latency_core_cycles]
)";

const std::string kEntries = "system.core.mmu.tlb.stlb.0.entries";
const std::string kPde = "system.core.mmu.walker.pwc.pde";

bool is_png(const std::string& path) { return slurp(path).rfind("\x89PNG\r\n\x1a\n", 0) == 0; }
bool is_svg(const std::string& path) {
  const std::string s = slurp(path);
  return s.rfind("<?xml", 0) == 0 && s.find("<svg") != std::string::npos && s.find("</svg>") != std::string::npos;
}

TEST_F(System, PlotAndReportOfASmallSweep) {
  write("base.yaml", kBase);
  const std::string spec = write("spec.yaml", kSpec);
  const std::string out = m_dir + "/sweep";
  Result s = vmsim("sweep " + spec + " --out " + out + " -j 2");
  ASSERT_EQ(s.code, 0) << s.err << s.out;

  // Defaults: each swept key against each metric, grouped by the other key.
  Result p = vmsim("plot " + out);
  ASSERT_EQ(p.code, 0) << p.err << p.out;
  for (const std::string& x : {kEntries, kPde}) {
    for (const char* y : {"tlb_misses", "avg_access_latency_core_cycles"}) {
      const std::string base = out + "/plots/" + std::string(y) + "_vs_" + x;
      EXPECT_TRUE(is_png(base + ".png")) << base;
      EXPECT_TRUE(is_svg(base + ".svg")) << base;
      EXPECT_GT(fs::file_size(base + ".png"), 1000u) << base;
    }
  }
  // Several seeds: mean with error bars; the other swept key in the legend.
  const std::string svg = slurp(out + "/plots/tlb_misses_vs_" + kEntries + ".svg");
  EXPECT_NE(svg.find("95 % CI"), std::string::npos);
  // Deterministic: the same table draws byte-identical SVG.
  ASSERT_EQ(vmsim("plot " + out).code, 0);
  EXPECT_EQ(slurp(out + "/plots/tlb_misses_vs_" + kEntries + ".svg"), svg);

  Result bar = vmsim("plot " + out + " --x " + kPde + " --y walks --kind bar");
  ASSERT_EQ(bar.code, 0) << bar.err;
  EXPECT_TRUE(is_png(out + "/plots/walks_bar_vs_" + kPde + ".png"));
  Result stacked = vmsim("plot " + out + " --x " + kEntries + " --group " + kPde +
                         " --y access_latency_breakdown_core_cycles.walker --y access_latency_breakdown_core_cycles.data_memory"
                         " --kind stacked");
  ASSERT_EQ(stacked.code, 0) << stacked.err;
  EXPECT_TRUE(is_svg(out + "/plots/stacked_vs_" + kEntries + ".svg"));

  Result r = vmsim("report " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string page = slurp(out + "/report.html");
  EXPECT_NE(page.find("<title>vmsim report: sweep</title>"), std::string::npos);
  EXPECT_NE(page.find("data:image/png;base64,"), std::string::npos);
  for (const char* external : {"<script", "<link", "src=\"http", "url("}) {
    EXPECT_EQ(page.find(external), std::string::npos) << external << ": the page must load nothing";
  }

  // Errors: one line naming the file or column, exit code 2.
  Result unknown = vmsim("plot " + out + " --y no_such_metric");
  EXPECT_EQ(unknown.code, 2);
  EXPECT_TRUE(one_line(unknown)) << unknown.err;
  EXPECT_NE(unknown.err.find("results.csv: no column 'no_such_metric' (--y)"), std::string::npos) << unknown.err;
  Result bad_x = vmsim("plot " + out + " --x nope");
  EXPECT_EQ(bad_x.code, 2);
  EXPECT_NE(bad_x.err.find("no column 'nope' (--x)"), std::string::npos) << bad_x.err;
  fs::create_directories(m_dir + "/empty");
  Result missing = vmsim("plot " + m_dir + "/empty");
  EXPECT_EQ(missing.code, 2);
  EXPECT_TRUE(one_line(missing)) << missing.err;
  EXPECT_NE(missing.err.find(m_dir + "/empty/results.csv: no such file"), std::string::npos) << missing.err;
  Result no_report = vmsim("report " + m_dir + "/empty");
  EXPECT_EQ(no_report.code, 2);
  EXPECT_TRUE(one_line(no_report)) << no_report.err;
  EXPECT_NE(no_report.err.find("neither stats.json"), std::string::npos) << no_report.err;
  Result kind = vmsim("plot " + out + " --kind pie");
  EXPECT_EQ(kind.code, 2);
}

}  // namespace
}  // namespace vmsim_system_test
