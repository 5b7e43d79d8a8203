// System tests of impl: rtl: whole runs of the vmsim binary with the L1 data TLB answered by the
// Verilated RTL TLB, compared with the same runs on the model's TLB, and the configuration rules.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

class RtlSystem : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    m_dir = testing::TempDir() + "vmsim_rtl_" + info->name() + "_" + std::to_string(::getpid());
    ASSERT_EQ(std::system(("rm -rf " + m_dir + " && mkdir -p " + m_dir).c_str()), 0);
  }
  void TearDown() override {
    if (!HasFailure()) std::system(("rm -rf " + m_dir).c_str());
  }
  Result vmsim(const std::string& args) {
    const std::string out = m_dir + "/stdout.txt", err = m_dir + "/stderr.txt";
    const int status = std::system((std::string(VMSIM_BIN) + " " + args + " >" + out + " 2>" + err).c_str());
    return Result{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  }
  std::string write(const std::string& name, const std::string& text) {
    const std::string p = m_dir + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  nlohmann::json stats(const std::string& dir) { return nlohmann::json::parse(slurp(dir + "/stats.json")); }
  std::string m_dir;
};

// One core, DRAM with its JEDEC checker, PCIDs, the golden checker verifying every translation, and
// workloads that hit, miss, evict and fault in the data TLB.
const std::string kOneCore = R"(
sim:
  mode: lt
  checker: true
system:
  cores: 1
  core:
    mmu:
      pcid: true
      tlb:
        dtlb: [{entries: 64, ways: 4, hit_latency: 1, page_sizes: "4K,2M,1G"}]
        itlb: [{entries: 64, ways: 4, hit_latency: 1, page_sizes: "4K,2M,1G"}]
        stlb: [{entries: 1024, ways: 8, hit_latency: 7, page_sizes: "4K,2M,1G"}]
  memory:
    model: dram
    dram: {controller: {timing_checker: true}}
    nodes: [{size: 512MiB}]
processes:
  - name: stream
    core: 0
    workload: {kind: sequential, footprint: 8MiB, accesses: 200000, read_fraction: 0.7, gap: 3}
  - name: chase
    core: 0
    workload: {kind: pointer_chase, footprint: 4MiB, accesses: 60000, gap: 2}
  - name: hashtable
    core: 0
    workload: {kind: random, footprint: 32MiB, accesses: 100000, read_fraction: 0.9, gap: 6}
)";

constexpr const char* kRtlDtlb = "--set 'system.core.mmu.tlb.dtlb[0].impl=rtl'";

// With one core the RTL's delta cycles reorder nothing: the statistics are identical, byte for byte.
TEST_F(RtlSystem, OneCoreStatisticsEqualTheModelExactly) {
  const std::string cfg = write("one.yaml", kOneCore);
  Result m = vmsim("run " + cfg + " -q --out " + m_dir + "/model");
  ASSERT_EQ(m.code, 0) << m.err;
  Result r = vmsim("run " + cfg + " -q " + kRtlDtlb + " --out " + m_dir + "/rtl");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json jm = stats(m_dir + "/model");
  const nlohmann::json jr = stats(m_dir + "/rtl");
  ASSERT_GT(jm["stats"].size(), 100u);
  for (const auto& [name, value] : jm["stats"].items()) {
    ASSERT_TRUE(jr["stats"].contains(name)) << name;
    EXPECT_EQ(value, jr["stats"][name]) << name;
  }
  EXPECT_EQ(jm["summary"], jr["summary"]);
  // The RTL run has exactly two statistics more, the RTL TLB's own: proof that it answered.
  EXPECT_EQ(jr["stats"].size(), jm["stats"].size() + 2);
  const uint64_t rtl_ops = jr["stats"]["system.core0.mmu.dtlb.rtl0.operations"]["value"].get<uint64_t>();
  const uint64_t dtlb_lookups = jr["stats"]["system.core0.mmu.dtlb.lookups"]["value"].get<uint64_t>();
  EXPECT_GT(rtl_ops, dtlb_lookups);  // every lookup after the first fill, plus fills and invalidations
  EXPECT_GE(jr["stats"]["system.core0.mmu.dtlb.rtl0.cycles"]["value"].get<uint64_t>(), rtl_ops);
  // The run exercised the data TLB: hits, evictions, and every translation checked.
  EXPECT_GT(jr["stats"]["system.core0.mmu.dtlb.hits"]["value"].get<uint64_t>(), 100000u);
  EXPECT_GT(jr["stats"]["system.core0.mmu.dtlb.evictions"]["value"].get<uint64_t>(), 1000u);
  EXPECT_GT(jr["stats"]["system.core0.mmu.checker_checks"]["value"].get<uint64_t>(), 300000u);
  EXPECT_NE(slurp(m_dir + "/rtl/config.resolved.yaml").find("impl: rtl"), std::string::npos);
}

// With two cores every core has its own RTL data TLB. Each RTL operation takes delta cycles in which the
// other core's thread may run first, so what depends on the interleaving of the cores can differ (timing
// through the shared DRAM, the order in which the firmware's buddy allocator serves their faults); every
// count of the MMUs (TLB levels, walks, faults) and the per-process results must not.
TEST_F(RtlSystem, TwoCoresCountsEqualTheModel) {
  std::string two = kOneCore;
  two.replace(two.find("cores: 1"), 8, "cores: 2");
  two.replace(two.find("core: 0\n    workload: {kind: pointer_chase"), 7, "core: 1");
  const std::string cfg = write("two.yaml", two);
  Result m = vmsim("run " + cfg + " -q --out " + m_dir + "/model");
  ASSERT_EQ(m.code, 0) << m.err;
  Result r = vmsim("run " + cfg + " -q " + kRtlDtlb + " --out " + m_dir + "/rtl");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json jm = stats(m_dir + "/model");
  const nlohmann::json jr = stats(m_dir + "/rtl");
  size_t compared = 0;
  for (const auto& [name, value] : jm["stats"].items()) {
    // Counts, not times: latencies and the time attribution (mmu.time, walker.time, the kernel's translation
    // cycles) follow the interleaving.
    const bool counted = name.find(".mmu.") != std::string::npos && name.find("latency") == std::string::npos &&
                         name.find(".time.") == std::string::npos && name.find(".kernel.cycles") == std::string::npos;
    if (!counted) continue;
    ASSERT_TRUE(jr["stats"].contains(name)) << name;
    EXPECT_EQ(value, jr["stats"][name]) << name;
    ++compared;
  }
  EXPECT_GT(compared, 100u);
  for (const char* k : {"accesses", "tlb_hits", "tlb_misses", "walks", "pte_reads", "page_faults",
                        "processes_exited", "workload_distinct_pages"}) {
    EXPECT_EQ(jm["summary"][k], jr["summary"][k]) << k;
  }
  EXPECT_GT(jr["stats"]["system.core1.mmu.dtlb.hits"]["value"].get<uint64_t>(), 1000u);
  for (const char* core : {"core0", "core1"}) {  // each core's data TLB was its own RTL instance
    EXPECT_GT(jr["stats"][std::string("system.") + core + ".mmu.dtlb.rtl0.operations"]["value"].get<uint64_t>(),
              10000u)
        << core;
  }
  EXPECT_GT(jr["stats"]["system.core0.mmu.dtlb.evictions"]["value"].get<uint64_t>(), 1000u);
}

// What the RTL does not implement is rejected before the run, naming the key (exit code 2).
TEST_F(RtlSystem, ConfigRejectsWhatTheRtlDoesNotImplement) {
  const std::string cfg = write("one.yaml", kOneCore);
  struct Case {
    std::string set;
    std::string expect;
  };
  const Case cases[] = {
      {"'system.core.mmu.tlb.itlb[0].impl=rtl'", "system.core.mmu.tlb.itlb[0].impl"},
      {"'system.core.mmu.tlb.stlb[0].impl=rtl'", "system.core.mmu.tlb.stlb[0].impl"},
      {"'system.core.mmu.tlb.dtlb[0].impl=rtl' --set 'system.core.mmu.tlb.dtlb[0].replacement=random'",
       "system.core.mmu.tlb.dtlb[0].replacement"},
      {"'system.core.mmu.tlb.dtlb[0].impl=rtl' --set 'system.core.mmu.tlb.dtlb[0].hit_latency=2'",
       "system.core.mmu.tlb.dtlb[0].hit_latency"},
      {"'system.core.mmu.tlb.dtlb[0].impl=rtl' --set 'system.core.mmu.tlb.dtlb[0].entries=48'",
       "system.core.mmu.tlb.dtlb[0].entries"},
      // A valid geometry that no Verilated variant was built with.
      {"'system.core.mmu.tlb.dtlb[0].impl=rtl' --set 'system.core.mmu.tlb.dtlb[0].entries=128'",
       "no Verilated RTL TLB was built for entries 128"},
      {"'system.core.mmu.tlb.dtlb[0].impl=verilog'", "system.core.mmu.tlb.dtlb[0].impl"},
  };
  for (const Case& c : cases) {
    Result r = vmsim("run " + cfg + " -q --set " + c.set + " --out " + m_dir + "/x");
    EXPECT_EQ(r.code, 2) << c.set << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.set << "\n" << r.err;
  }
}

}  // namespace
