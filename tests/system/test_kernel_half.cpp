// System tests of the kernel half (firmware.kernel_virtual_access): the direct map in every address space,
// the firmware's accesses translated through it as supervisor accesses, user accesses to it faulting,
// with the golden checker and the data checker on; and the option off.
#include <cstdio>

#include "tests/system/system_fixture.hpp"

namespace vmsim_system_test {
namespace {

// configs/presets/os-churn.yaml (4 cores, 2 x 1 GiB, fork, threads, shootdowns, checker on) with the data
// checker, SMEP and SMAP on: the kernel touches only its own supervisor pages, so neither ever trips, and
// every translation, supervisor ones included, is checked against the tables.
TEST_F(System, KernelHalfInEveryAddressSpaceCarriesTheFirmwaresAccesses) {
  const std::string preset = VMSIM_SOURCE_DIR "/configs/presets/os-churn.yaml";
  const std::string checks =
      " -q --set sim.check_data=true --set system.core.mmu.smep=true --set system.core.mmu.smap=true";
  uint64_t managed = 0;
  for (const std::string mode : {"functional", "lt", "at"}) {
    const std::string out = m_dir + "/on_" + mode;
    Result r = vmsim("run " + preset + checks + " --set sim.mode=" + mode + " --out " + out);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    const nlohmann::json j = stats(out);
    // 2 GiB of memory: two 1 GiB leaves under one PDPT, and the kernel's root, below reserved_low.
    EXPECT_EQ(stat(j, "system.os.kernel_half.table_frames"), 2u) << mode;
    EXPECT_EQ(stat(j, "system.os.kernel_half.direct_map_1g"), 2u) << mode;
    EXPECT_EQ(stat(j, "system.os.kernel_half.direct_map_2m"), 0u) << mode;
    EXPECT_GE(stat(j, "system.os.kernel_half.kernel_root_loads"), 4u) << mode << ": one per core at least";
    for (int c = 0; c < 4; ++c) {
      const std::string m = "system.core" + std::to_string(c) + ".mmu.";
      // Every core's firmware accesses went through its MMU: zeroing, copies, page-table reads and writes.
      EXPECT_GT(stat(j, m + "kernel.translations"), 100u) << mode << " core " << c;
      EXPECT_GE(stat(j, m + "kernel.tlb_misses"), 1u) << mode << " core " << c;
      EXPECT_EQ(stat(j, m + "kernel.tlb_hits") + stat(j, m + "kernel.tlb_misses"), stat(j, m + "kernel.translations"));
      EXPECT_LE(stat(j, m + "kernel.translations"), stat(j, m + "translations"));
      // A few walks serve thousands of kernel accesses: 1 GiB global entries.
      EXPECT_GT(statd(j, m + "kernel.tlb_hit_rate"), 0.9) << mode << " core " << c;
    }
    EXPECT_GT(stat(j, "system.os.processes.created"), 0u);
    expect_frames_conserved(j);
    if (managed == 0) managed = stat(j, "system.os.frames.managed");
    EXPECT_EQ(stat(j, "system.os.frames.managed"), managed) << "the tables lie outside the frame allocator";
  }
  // Off: no kernel half, no supervisor translations, the same frames for the allocator.
  Result r = vmsim("run " + preset + checks + " --set firmware.kernel_virtual_access=false --out " + m_dir + "/off");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = stats(m_dir + "/off");
  EXPECT_FALSE(j["stats"].contains("system.os.kernel_half.table_frames"));
  EXPECT_FALSE(j["stats"].contains("system.core0.mmu.kernel.translations"));
  EXPECT_EQ(stat(j, "system.os.frames.managed"), managed);
  expect_frames_conserved(j);
}

// A trace touching the direct map (present, supervisor, global pages) takes a protection fault (error code
// P|W|U, the checker agreeing) and is killed with SIGSEGV as any user access to the kernel's half, with 4-
// and 5-level paging.
TEST_F(System, UserAccessToTheDirectMapIsAProtectionFault) {
  struct Paging {
    const char* name;
    unsigned levels;
    const char* va;  // in the direct map: physical 0x1000
  } pagings[] = {{"l4", 4, "ffff888000001000"}, {"l5", 5, "ff11000000001000"}};
  for (const Paging& pg : pagings) {
    write(std::string(pg.name) + ".lackey", std::string("I  00401000,4\n L 10000000,8\nI  00401004,4\n S ") + pg.va +
                                                ",8\nI  00401008,4\n L 10005000,8\n");
    for (const std::string mode : {"functional", "lt"}) {
      const std::string tag = std::string(pg.name) + "_" + mode;
      const std::string cfg =
          write(tag + ".yaml", "sim: {checker: true, check_data: true, mode: " + mode +
                                   "}\nsystem: {core: {mmu: {walker: {levels: " + std::to_string(pg.levels) +
                                   "}}}}\nfirmware: {page_table_levels: " + std::to_string(pg.levels) +
                                   "}\nprocesses:\n  - {name: t, workload: {kind: lackey, trace: " + pg.name +
                                   ".lackey}}\n");
      Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/" + tag);
      ASSERT_EQ(r.code, 0) << tag << ": " << r.err;
      const nlohmann::json j = stats(m_dir + "/" + tag);
      ASSERT_EQ(j["kills"].size(), 1u) << tag;
      EXPECT_EQ(j["kills"][0]["signal"], "SIGSEGV") << tag;
      EXPECT_EQ(j["kills"][0]["address"], std::string("0x") + pg.va) << tag;
      EXPECT_EQ(j["kills"][0]["access"], "write") << tag;
      EXPECT_EQ(j["kills"][0]["reason"], "kernel address from user mode") << tag;
      // The page is present: a protection fault, not a not-present one; raised on a TLB hit, as the kernel's
      // own accesses had already cached the 1 GiB global entry there (U=0 forbids the user access either way).
      EXPECT_EQ(stat(j, "system.core0.mmu.tlb.permission_faults"), 1u) << tag;
      EXPECT_EQ(stat(j, "system.core0.mmu.walker.fault.protection"), 0u) << tag;
      EXPECT_NE(r.err.find("(error code 0x7: protection, write, user): kernel address from user mode"), std::string::npos)
          << tag << ": " << r.err;
      EXPECT_EQ(j["summary"]["page_faults"]["demand_zero"], 2) << tag;
      expect_frames_conserved(j);
    }
  }
}

}  // namespace
}  // namespace vmsim_system_test
