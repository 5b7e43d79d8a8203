// System tests of kernel page-table isolation (firmware.kpti): os-churn (4 cores, fork, threads, shared
// memory, shootdowns) with the golden checker, the data checker, SMEP and SMAP on, with and without PCIDs;
// the checker verifies every translation against the tables of the loaded root and that no user access
// runs under a root mapping the kernel's direct map. A user access to the direct map is a not-present fault.
#include <sstream>

#include "tests/system/system_fixture.hpp"

namespace vmsim_system_test {
namespace {

TEST_F(System, KptiRootSwitchesWithTheCheckerOnWithAndWithoutPcid) {
  const std::string preset = VMSIM_SOURCE_DIR "/configs/presets/os-churn.yaml";
  const std::string checks =
      " -q --set sim.check_data=true --set system.core.mmu.smep=true --set system.core.mmu.smap=true";
  for (const std::string pcid : {"false", "true"}) {
    for (const std::string mode : {"lt", "at"}) {
      const std::string tag = "pcid_" + pcid + "_" + mode;
      Result off = vmsim("run " + preset + checks + " --set sim.mode=" + mode + " --set system.core.mmu.pcid=" + pcid +
                         " --out " + m_dir + "/off_" + tag);
      ASSERT_EQ(off.code, 0) << tag << ": " << off.err;
      Result on = vmsim("run " + preset + checks + " --set sim.mode=" + mode + " --set system.core.mmu.pcid=" + pcid +
                        " --set firmware.kpti=true --out " + m_dir + "/on_" + tag);
      ASSERT_EQ(on.code, 0) << tag << ": " << on.err;
      const nlohmann::json j0 = stats(m_dir + "/off_" + tag), j = stats(m_dir + "/on_" + tag);
      EXPECT_FALSE(j0["stats"].contains("system.os.kpti.entry_switches"));
      const uint64_t entries = stat(j, "system.os.kpti.entry_switches"), exits = stat(j, "system.os.kpti.exit_switches");
      // Every fault and system call enters and returns: far more switches than the faults alone.
      EXPECT_GT(entries, stat(j, "system.os.faults.total")) << tag;
      // Each return follows an entry, or a core's first switch_to (which enters from the kernel's root).
      EXPECT_GE(exits, entries) << tag;
      EXPECT_LE(exits, entries + 4 * 8) << tag;
      // The trampoline's tables: three more frames than without KPTI (4-level paging).
      EXPECT_EQ(stat(j, "system.os.kernel_half.table_frames"), stat(j0, "system.os.kernel_half.table_frames") + 3) << tag;
      uint64_t flushes0 = 0, flushes = 0;
      for (int c = 0; c < 4; ++c) {
        flushes0 += stat(j0, "system.core" + std::to_string(c) + ".mmu.tlb.root_switch_flushes");
        flushes += stat(j, "system.core" + std::to_string(c) + ".mmu.tlb.root_switch_flushes");
      }
      if (pcid == "true") {
        EXPECT_EQ(flushes, 0u) << tag << ": with PCIDs the switches flush nothing";
      } else {
        EXPECT_GE(flushes, flushes0 + entries + exits) << tag << ": without PCIDs every switch flushes";
      }
      expect_frames_conserved(j);
      EXPECT_EQ(j["summary"]["accesses"], j0["summary"]["accesses"]) << tag;
    }
  }
}

TEST_F(System, KptiUserAccessToTheDirectMapIsANotPresentFault) {
  write("t.lackey", "I  00401000,4\n L 10000000,8\nI  00401004,4\n S ffff888000001000,8\nI  00401008,4\n L 10005000,8\n");
  const std::string cfg = write("t.yaml",
                                "sim: {checker: true, check_data: true}\nfirmware: {kpti: true}\n"
                                "processes:\n  - {name: t, workload: {kind: lackey, trace: t.lackey}}\n");
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/t");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = stats(m_dir + "/t");
  ASSERT_EQ(j["kills"].size(), 1u);
  EXPECT_EQ(j["kills"][0]["signal"], "SIGSEGV");
  EXPECT_EQ(j["kills"][0]["reason"], "kernel address from user mode");
  // The user copy of the root pair does not map the direct map: not present (without KPTI a protection fault).
  EXPECT_EQ(stat(j, "system.core0.mmu.tlb.permission_faults"), 0u);
  EXPECT_NE(r.err.find("(error code 0x6"), std::string::npos) << r.err;
  expect_frames_conserved(j);
}

TEST_F(System, KptiNeedsTheKernelHalf) {
  Result r = vmsim("run " VMSIM_SOURCE_DIR "/configs/presets/default.yaml -q --set firmware.kpti=true "
                   "--set firmware.kernel_virtual_access=false --out " + m_dir + "/bad");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("firmware.kpti: bad value 'true'"), std::string::npos) << r.err;
}

TEST_F(System, KptiNeedsRadixTablesAndTwiceThePcids) {
  const std::string preset = VMSIM_SOURCE_DIR "/configs/presets/default.yaml";
  Result r = vmsim("run " + preset + " -q --set firmware.kpti=true --set system.core.mmu.walker.format=hashed --out " +
                   m_dir + "/hashed");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("firmware.kpti: bad value 'true'"), std::string::npos) << r.err;
  // Two cores: 2 * (2 + 2) PCIDs at least.
  r = vmsim("run " + preset + " -q --set firmware.kpti=true --set system.core.mmu.pcid_count=7 --out " + m_dir + "/pcids");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("system.core.mmu.pcid_count: bad value '7'"), std::string::npos) << r.err;
  std::string short_run;
  for (int p = 0; p < 3; ++p) short_run += " --set processes." + std::to_string(p) + ".workload.accesses=2000";
  r = vmsim("run " + preset + " -q --set firmware.kpti=true --set system.core.mmu.pcid_count=8" + short_run +
            " --out " + m_dir + "/pcids8");
  EXPECT_EQ(r.code, 0) << r.err;
}

// docs/STATS.md's KPTI rows (scripts/gen-docs.sh) match the statistics a KPTI run creates.
TEST_F(System, KptiStatisticsInDocsAreCurrent) {
  Result r = vmsim("doc stats " VMSIM_SOURCE_DIR "/configs/presets/default.yaml --set firmware.kpti=true");
  ASSERT_EQ(r.code, 0) << r.err;
  std::string rows;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("| `system.os.kpti", 0) == 0) rows += line + "\n";
  }
  EXPECT_FALSE(rows.empty());
  EXPECT_NE(slurp(VMSIM_SOURCE_DIR "/docs/STATS.md").find(rows), std::string::npos)
      << "docs/STATS.md's KPTI table is out of date: run scripts/gen-docs.sh";
}

}  // namespace
}  // namespace vmsim_system_test
