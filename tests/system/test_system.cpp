// System tests: the vmsim command line on whole configurations, checked through its output files.
#include "tests/system/system_fixture.hpp"

#include <cstdio>

namespace {

using namespace vmsim_system_test;

const std::string kSmall = R"(
sim:
  checker: true
system:
  cores: 2
  memory:
    dram: {controller: {timing_checker: true}}
    nodes: [{size: 256MiB}]
processes:
  - name: seq
    core: 0
    workload: {kind: sequential, footprint: 2MiB, accesses: 60000}
  - name: rnd
    core: 1
    workload: {kind: random, footprint: 8MiB, accesses: 40000, read_fraction: 0.5}
)";

TEST_F(System, DefaultPresetRunsAndFaultsEqualDistinctPages) {
  Result r = vmsim(std::string("run ") + VMSIM_SOURCE_DIR "/configs/presets/default.yaml --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f : {"stats.json", "stats.csv", "config.resolved.yaml"}) {
    EXPECT_FALSE(slurp(m_dir + "/out/" + f).empty()) << f;
  }
  for (const char* s : {"accesses", "TLB hits", "TLB misses", "page walks", "page faults", "simulated time"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
  }
  nlohmann::json j = stats(m_dir + "/out");
  const auto& s = j["summary"];
  EXPECT_EQ(s["accesses"], 3000000);
  EXPECT_EQ(s["page_faults"]["demand_zero"], s["workload_distinct_pages"]);
  EXPECT_EQ(s["page_faults"]["total"], s["workload_distinct_pages"]);
  EXPECT_EQ(s["tlb_hits"].get<uint64_t>() + s["tlb_misses"].get<uint64_t>(),
            stat(j, "system.core0.mmu.translations") + stat(j, "system.core1.mmu.translations"));
  // Every walk is a miss of all TLB levels or a write through a clean entry (to set Dirty).
  EXPECT_EQ(s["walks"].get<uint64_t>(), s["tlb_misses"].get<uint64_t>() +
                                            stat(j, "system.core0.mmu.tlb.dirty_walks") +
                                            stat(j, "system.core1.mmu.tlb.dirty_walks"));
  EXPECT_EQ(s["processes_exited"], 3);
  EXPECT_EQ(s["processes_killed"], 0);
  EXPECT_GT(s["sim_time_ps"].get<uint64_t>(), 0u);
  EXPECT_GT(stat(j, "system.core0.mmu.checker_checks"), 0u);
  expect_frames_conserved(j);
  std::string csv = slurp(m_dir + "/out/stats.csv");
  EXPECT_EQ(csv.rfind("name,value,unit,description\n", 0), 0u);
  EXPECT_NE(csv.find("system.core0.mmu.tlb.hits,"), std::string::npos);
}

TEST_F(System, ResolvedConfigReproducesTheRun) {
  std::string cfg = write("small.yaml", kSmall);
  ASSERT_EQ(vmsim("run " + cfg + " -q --out " + m_dir + "/a").code, 0);
  Result r = vmsim("run " + m_dir + "/a/config.resolved.yaml -q --out " + m_dir + "/b");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(m_dir + "/a/stats.json"), slurp(m_dir + "/b/stats.json"));
  EXPECT_EQ(slurp(m_dir + "/a/config.resolved.yaml"), slurp(m_dir + "/b/config.resolved.yaml"));
  std::string resolved = slurp(m_dir + "/a/config.resolved.yaml");
  for (const char* key : {"quantum:", "hit_latency:", "step_latency:", "page_descriptor_bytes:", "fault_entry:"}) {
    EXPECT_NE(resolved.find(key), std::string::npos) << key;
  }
}

TEST_F(System, SameSeedIsBitIdenticalOtherSeedDiffers) {
  std::string cfg = write("small.yaml", kSmall);
  ASSERT_EQ(vmsim("run " + cfg + " -q --seed 7 --out " + m_dir + "/a").code, 0);
  ASSERT_EQ(vmsim("run " + cfg + " -q --seed 7 --out " + m_dir + "/b").code, 0);
  ASSERT_EQ(vmsim("run " + cfg + " -q --seed 8 --out " + m_dir + "/c").code, 0);
  EXPECT_EQ(slurp(m_dir + "/a/stats.json"), slurp(m_dir + "/b/stats.json"));
  EXPECT_EQ(slurp(m_dir + "/a/stats.csv"), slurp(m_dir + "/b/stats.csv"));
  EXPECT_NE(slurp(m_dir + "/a/stats.json"), slurp(m_dir + "/c/stats.json"));
}

TEST_F(System, InvalidAccessKillsOnlyThatProcess) {
  // 'bad' touches two pages of its heap, then an address outside every VMA, then would go on.
  std::string trace = write("bad.lackey",
                            "==1== Lackey, an example Valgrind tool\n"
                            " L 10000000,8\n S 10001000,8\n L 20000000,8\n S 10002000,8\n");
  std::string cfg = write("segv.yaml", R"(
sim: {checker: true}
system: {cores: 2, memory: {nodes: [{size: 256MiB}]}}
processes:
  - name: good0
    core: 0
    workload: {kind: sequential, footprint: 1MiB, accesses: 50000}
  - name: bad
    core: 1
    workload: {kind: lackey, trace: bad.lackey}
    vmas:
      - {start: 0x10000000, size: 64KiB, prot: rw-, name: heap}
  - name: good1
    core: 1
    workload: {kind: random, footprint: 1MiB, accesses: 20000}
)");
  Result r = vmsim("run " + cfg + " --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("process 2 'bad' killed by SIGSEGV"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("read at 0x20000000"), std::string::npos) << r.err;
  nlohmann::json j = stats(m_dir + "/out");
  const auto& s = j["summary"];
  EXPECT_EQ(s["processes_killed"], 1);
  EXPECT_EQ(s["processes_exited"], 2);
  EXPECT_EQ(s["page_faults"]["segv_no_vma"], 1);
  ASSERT_EQ(j["kills"].size(), 1u);
  EXPECT_EQ(j["kills"][0]["name"], "bad");
  EXPECT_EQ(j["kills"][0]["address"], "0x20000000");
  EXPECT_EQ(j["kills"][0]["access"], "read");
  EXPECT_EQ(j["kills"][0]["core"], 1);
  EXPECT_NE(j["kills"][0]["reason"].get<std::string>().find("not in any VMA"), std::string::npos);
  // Both good processes ran to completion; 'bad' completed its first two accesses only.
  EXPECT_EQ(s["accesses"], 50000 + 20000 + 2);
  expect_frames_conserved(j);
}

TEST_F(System, WriteToReadOnlyVmaIsAProtectionKill) {
  write("ro.lackey", " L 10000000,8\n S 10000010,8\n");
  std::string cfg = write("ro.yaml", R"(
system: {memory: {nodes: [{size: 64MiB}]}}
processes:
  - name: ro
    workload: {kind: lackey, trace: ro.lackey}
    vmas: [{start: 0x10000000, size: 4KiB, prot: r--}]
)");
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/out");
  EXPECT_EQ(j["summary"]["page_faults"]["segv_protection"], 1);
  EXPECT_EQ(j["summary"]["page_faults"]["demand_zero"], 1);
  EXPECT_EQ(j["kills"][0]["access"], "write");
  EXPECT_EQ(j["kills"][0]["error_code"], 0x7);  // present, write, user
}

// Without the kernel half (firmware.kernel_virtual_access false): with it, the kernel's own translations
// depend on which frames (which 2 MiB or 1 GiB page of the direct map) the cores' interleaving hands out,
// which differs between the modes (System.KernelHalfInEveryAddressSpaceCarriesTheFirmwaresAccesses runs
// all three with it).
TEST_F(System, LtAtAndFunctionalModesComputeTheSameCounts) {
  std::string cfg = write("small.yaml", with_overrides(kSmall, "firmware: {kernel_virtual_access: false}"));
  ASSERT_EQ(vmsim("run " + cfg + " -q --out " + m_dir + "/lt").code, 0);
  ASSERT_EQ(vmsim("run " + cfg + " -q --set sim.mode=functional --out " + m_dir + "/fn").code, 0);
  Result at = vmsim("run " + cfg + " -q --set sim.mode=at --out " + m_dir + "/at");
  ASSERT_EQ(at.code, 0) << at.err;
  nlohmann::json lt = stats(m_dir + "/lt"), fn = stats(m_dir + "/fn"), atj = stats(m_dir + "/at");
  for (const char* k : {"accesses", "tlb_hits", "tlb_misses", "walks", "pte_reads", "page_faults"}) {
    EXPECT_EQ(lt["summary"][k], fn["summary"][k]) << k;
    EXPECT_EQ(lt["summary"][k], atj["summary"][k]) << k;
  }
  EXPECT_GT(lt["summary"]["sim_time_ps"].get<uint64_t>(), 0u);
  EXPECT_GT(atj["summary"]["sim_time_ps"].get<uint64_t>(), 0u);
  EXPECT_EQ(fn["summary"]["sim_time_ps"], 0);
  // Every data access and PTE read reached the DRAM controller (timing checker on, no violation).
  for (const nlohmann::json* j : {&lt, &atj}) {
    EXPECT_GT(stat(*j, "system.node0.dram.ch0.reads"), 0);
    EXPECT_EQ(stat(*j, "system.interconnect.requests"),
              stat(*j, "system.node0.reads") + stat(*j, "system.node0.writes"));
  }
}

// Where the time went: per core, L1 TLB + L2 TLB + page-walk caches + walker steps + walk memory is the
// translation time exactly (each part is floored to whole cycles separately), and the summary's
// per-access breakdown adds up to the average access latency, in both timed modes.
TEST_F(System, LatencyBreakdownAddsUpToTranslationAndAccessTime) {
  std::string cfg = write("small.yaml", kSmall);
  for (const char* mode : {"lt", "at"}) {
    const std::string out = m_dir + "/" + mode;
    Result r = vmsim("run " + cfg + " -q --set sim.mode=" + mode + " --out " + out);
    ASSERT_EQ(r.code, 0) << r.err;
    nlohmann::json j = stats(out);
    for (int c = 0; c < 2; ++c) {
      const std::string p = "system.core" + std::to_string(c) + ".";
      uint64_t parts = stat(j, p + "mmu.time.l1_tlb") + stat(j, p + "mmu.time.stlb") +
                       stat(j, p + "mmu.walker.time.pwc") + stat(j, p + "mmu.walker.time.steps") +
                       stat(j, p + "mmu.walker.time.memory") + stat(j, p + "mmu.time.walk_wait");
      uint64_t total = stat(j, p + "time.translation");
      EXPECT_LE(parts, total) << mode << " core " << c;
      EXPECT_GE(parts + 4, total) << mode << " core " << c;
      EXPECT_GT(stat(j, p + "mmu.walker.time.memory"), stat(j, p + "mmu.walker.time.steps")) << mode;
      // The kernel's translations (one DTLB lookup each) are timed in mmu.kernel.cycles, not here.
      EXPECT_EQ(stat(j, p + "mmu.time.l1_tlb"), stat(j, p + "mmu.dtlb.lookups") + stat(j, p + "mmu.itlb.lookups") -
                                                    stat(j, p + "mmu.kernel.translations"))
          << "1-cycle L1 arrays: one cycle per lookup";
    }
    const nlohmann::json& b = j["summary"]["access_latency_breakdown_core_cycles"];
    double sum = 0;
    for (const char* k : {"l1_tlb", "stlb", "walker", "walk_memory", "walk_wait", "data_memory"}) {
      EXPECT_GE(b[k].get<double>(), 0.0) << k;
      sum += b[k].get<double>();
    }
    EXPECT_NEAR(sum, j["summary"]["avg_access_latency_core_cycles"].get<double>(), 1e-3) << mode;
    EXPECT_GT(b["data_memory"].get<double>(), b["l1_tlb"].get<double>()) << mode;
  }
}

// The hashed page table runs the same workload as radix tables with the golden checker on (with PCID on
// and off, 4 and 5 levels): same accesses and faults, every frame back at the end, and no upper-level
// reads: a walk reads its chain only.
TEST_F(System, HashedPageTableRunsTheSameWorkloadAsRadix) {
  std::string cfg = write("small.yaml", kSmall);
  // The hashed table has no kernel half (firmware.kernel_virtual_access needs radix tables): the radix run
  // without it makes the same TLB accesses.
  ASSERT_EQ(vmsim("run " + cfg + " -q --set firmware.kernel_virtual_access=false --out " + m_dir + "/radix").code, 0);
  nlohmann::json radix = stats(m_dir + "/radix");
  const std::string hashed = " --set system.core.mmu.walker.format=hashed --set system.core.mmu.walker.hash_buckets=";
  struct Case {
    const char* name;
    std::string extra;
  } cases[] = {{"h64", hashed + "64"},
               {"h64k", hashed + "65536"},
               {"nopcid", hashed + "256 --set system.core.mmu.pcid=false"},
               {"la57", hashed + "256 --set system.core.mmu.walker.levels=5 --set firmware.page_table_levels=5"}};
  for (const Case& c : cases) {
    Result r = vmsim("run " + cfg + " -q" + c.extra + " --out " + m_dir + "/" + c.name);
    ASSERT_EQ(r.code, 0) << c.name << ": " << r.err;
    nlohmann::json j = stats(m_dir + "/" + c.name);
    for (const char* k : {"accesses", "page_faults", "tlb_misses"}) {
      EXPECT_EQ(j["summary"][k], radix["summary"][k]) << c.name << " " << k;
    }
    EXPECT_FALSE(j["summary"].contains("kernel_tlb_misses")) << c.name << ": no kernel half with hashed tables";
    expect_frames_conserved(j);
    EXPECT_GT(stat(j, "system.core0.mmu.checker_checks"), 0u);
    EXPECT_EQ(stat(j, "system.os.hashed_table.entries"), 0u) << "every entry removed at exit";
  }
  // 64 anchors for ~2600 pages: long chains, more reads per walk than 65536 anchors.
  nlohmann::json small = stats(m_dir + "/h64"), big = stats(m_dir + "/h64k");
  EXPECT_GT(stat(small, "system.os.hashed_table.longest_chain"), 30u);
  EXPECT_LE(stat(big, "system.os.hashed_table.longest_chain"), 4u);
  EXPECT_GT(statd(small, "system.core1.mmu.walker.pte_reads_per_walk"),
            5 * statd(big, "system.core1.mmu.walker.pte_reads_per_walk"));
  EXPECT_GT(stat(small, "system.os.frames.table_allocated"), 0u) << "overflow entries took frames";
  // A table size that is not a power of two is a config error naming the key.
  Result bad = vmsim("run " + cfg + " -q" + hashed + "1000 --out " + m_dir + "/bad");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("system.core.mmu.walker.hash_buckets"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("1000"), std::string::npos) << bad.err;
}

// A core with several operations in flight (at mode): the same accesses and page faults as the blocking
// core, every frame back, the golden checker on, walks in flight at once and misses merged; the run
// takes less simulated time. More than one in flight outside the at mode is a config error.
TEST_F(System, SeveralOperationsInFlightOverlapWalksAndMemory) {
  std::string cfg = write("mlp.yaml", R"(
sim: {mode: at, checker: true}
system:
  cores: 1
  memory:
    dram: {controller: {timing_checker: true}}
    nodes: [{size: 256MiB}]
processes:
  - name: rnd
    workload: {kind: random, footprint: 8MiB, accesses: 30000, read_fraction: 0.7, gap: 2}
  - name: chase
    workload: {kind: pointer_chase, footprint: 4MiB, accesses: 10000, gap: 2}
)");
  ASSERT_EQ(vmsim("run " + cfg + " -q --out " + m_dir + "/one").code, 0);
  Result r = vmsim("run " + cfg + " -q --set system.core.outstanding=4 --out " + m_dir + "/four");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json one = stats(m_dir + "/one"), four = stats(m_dir + "/four");
  EXPECT_EQ(one["summary"]["accesses"], four["summary"]["accesses"]);
  EXPECT_EQ(one["summary"]["page_faults"]["total"], four["summary"]["page_faults"]["total"]);
  expect_frames_conserved(four);
  EXPECT_EQ(stat(four, "system.core0.peak_outstanding"), 4u);
  EXPECT_EQ(stat(one, "system.core0.mmu.walker.peak_in_flight"), 1u);
  EXPECT_EQ(stat(four, "system.core0.mmu.walker.peak_in_flight"), 2u) << "walker.max_walks defaults to 2";
  EXPECT_GT(stat(four, "system.core0.mmu.walker.busy_waits"), 0u);
  for (const nlohmann::json* j : {&one, &four}) {
    EXPECT_EQ(stat(*j, "system.core0.mmu.walker.walks"),
              stat(*j, "system.core0.mmu.tlb.misses") - stat(*j, "system.core0.mmu.tlb.merged_misses") +
                  stat(*j, "system.core0.mmu.tlb.dirty_walks"));
  }
  EXPECT_GT(stat(four, "system.core0.mmu.checker_checks"), 0u);
  // Waiting for walkers is attributed: the translation time still splits into its parts.
  EXPECT_GT(stat(four, "system.core0.mmu.time.walk_wait"), 0u);
  const uint64_t parts = stat(four, "system.core0.mmu.time.l1_tlb") + stat(four, "system.core0.mmu.time.stlb") +
                         stat(four, "system.core0.mmu.walker.time.pwc") +
                         stat(four, "system.core0.mmu.walker.time.steps") +
                         stat(four, "system.core0.mmu.walker.time.memory") +
                         stat(four, "system.core0.mmu.time.walk_wait");
  EXPECT_LE(parts, stat(four, "system.core0.time.translation"));
  EXPECT_GE(parts + 5, stat(four, "system.core0.time.translation"));
  EXPECT_LT(four["summary"]["sim_time_ps"].get<uint64_t>(), one["summary"]["sim_time_ps"].get<uint64_t>() * 4 / 5);
  // With system calls, forks, shootdowns and the scheduler (os-churn preset), checker on.
  Result churn = vmsim(std::string("run ") + VMSIM_SOURCE_DIR "/configs/presets/os-churn.yaml -q --set sim.mode=at " +
                       "--set system.core.outstanding=4 --out " + m_dir + "/churn");
  ASSERT_EQ(churn.code, 0) << churn.err;
  nlohmann::json cj = stats(m_dir + "/churn");
  expect_frames_conserved(cj);
  EXPECT_GT(stat(cj, "system.os.tlb.shootdowns"), 0u);
  EXPECT_GT(stat(cj, "system.core0.mmu.checker_checks"), 10 * stat(cj, "system.core0.mmu.checker_skipped_faults"));
  Result bad = vmsim("run " + cfg + " -q --set sim.mode=lt --set system.core.outstanding=4 --out " + m_dir + "/bad");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("system.core.outstanding"), std::string::npos) << bad.err;
}

TEST_F(System, TwoSocketPresetRunsRemoteTrafficSlowerThanLocal) {
  for (const char* mode : {"lt", "at"}) {
    const std::string out = m_dir + "/" + mode;
    Result r = vmsim(std::string("run ") + VMSIM_SOURCE_DIR "/configs/presets/numa-2socket.yaml -q --set sim.mode=" +
                     mode + " --set processes.0.workload.accesses=20000 --set processes.1.workload.accesses=20000" +
                     " --set processes.2.workload.accesses=20000 --set processes.3.workload.accesses=20000 --out " +
                     out);
    ASSERT_EQ(r.code, 0) << r.err;
    nlohmann::json j = stats(out);
    // Socket 1's processes are bound to node 0 (their page tables stay local): their data runs remote.
    EXPECT_GT(stat(j, "system.interconnect.s1_n0.requests"), 0) << mode;
    EXPECT_EQ(stat(j, "system.interconnect.remote_requests"), stat(j, "system.interconnect.s1_n0.requests"));
    EXPECT_GT(statd(j, "system.interconnect.s1_n0.latency.mean"),
              statd(j, "system.interconnect.s0_n0.latency.mean") + 40.0)
        << mode << ": remote pays at least the 44 ns of 1.1 hops";
    EXPECT_EQ(j["summary"]["page_faults"]["total"], j["summary"]["workload_distinct_pages"]) << mode;
  }
}

TEST_F(System, DramCommandReplaysBothTraceFormatsAndPrintsJson) {
  std::string trace = write("t.trace",
                            "# timed and untimed lines\n0x0 READ 0\n0x40 READ 200\nLD 0x1000\nST 0x2000\n"
                            "0x100000 WRITE 600\n");
  Result r = vmsim("dram --trace " + trace + " --json --checker");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  for (const char* k : {"requests", "host_seconds", "sim_dram_cycles", "avg_read_latency_dram_cycles", "bandwidth_gbps"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(j["requests"], 5);
  EXPECT_EQ(j["reads"], 3);
  EXPECT_EQ(j["timing_violations"], 0);
  // The first read finds every bank closed: tRCD + CL + BL/2 = 22 + 22 + 4.
  EXPECT_GT(j["sim_dram_cycles"].get<uint64_t>(), 600u);

  // The same DRAM file serves vmsim dram and full runs; an address beyond its nodes names the line.
  std::string ddr5 = std::string(VMSIM_SOURCE_DIR) + "/configs/dram/ddr5-4800b.yaml";
  r = vmsim("dram --trace " + trace + " --config " + ddr5 + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["preset"], "DDR5-4800B");
  std::string far = write("far.trace", "LD 0x0\nLD 0x400000000000\n");
  r = vmsim("dram --trace " + far + " --config " + ddr5);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r)) << r.err;
  EXPECT_NE(r.err.find("far.trace:2: address 0x400000000000 is outside every node"), std::string::npos) << r.err;
  std::string bad = write("bad.trace", "0x0 READ 0\n0x40 FETCH 10\n");
  r = vmsim("dram --trace " + bad);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bad.trace:2: bad operation 'FETCH'"), std::string::npos) << r.err;
}

// vmsim dram's energy for n reads to one row of DDR4-2400R, from the currents configs/dram/ddr4-2400r.yaml
// states (8 devices; VDD 1.2 V: IDD0 48, IDD3N 43, IDD4R 135 mA; VPP 2.5 V: IPP0 = IPP3N = IPP4R = 3 mA)
// and its timing (tCK 0.833 ns, tRAS 39, tBL 4): one ACT at cycle 0, n read bursts, active standby for the
// whole run (the row stays open; no refresh falls due before tREFI = 9360).
TEST_F(System, DramCommandEnergyOfReadsToOneRow) {
  std::string text;
  const unsigned n = 16;
  for (unsigned i = 0; i < n; ++i) {
    char line[32];
    std::snprintf(line, sizeof line, "LD 0x%x\n", i * 256);  // 256-byte stride: same bank group, bank and row
    text += line;
  }
  const std::string trace = write("row.trace", text);
  const std::string cfg = std::string(VMSIM_SOURCE_DIR) + "/configs/dram/ddr4-2400r.yaml";
  Result r = vmsim("dram --trace " + trace + " --config " + cfg + " --json --checker");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["row_misses"], 1);
  ASSERT_EQ(j["row_hits"], n - 1);
  const double cycles = j["sim_dram_cycles"].get<double>();
  ASSERT_LT(cycles, 9360.0);
  const double tck = 0.833;
  const double act = 8 * (1.2 * (48 - 43) + 2.5 * (3 - 3)) * 39 * tck;
  const double rd = 8 * (1.2 * (135 - 43) + 2.5 * (3 - 3)) * 4 * tck;
  const double standby = 8 * (1.2 * 43 + 2.5 * 3) * tck * cycles;
  const nlohmann::json& e = j["energy_breakdown_pj"];
  EXPECT_NEAR(e["act"].get<double>(), act, 1e-6);
  EXPECT_NEAR(e["rd"].get<double>(), rd * n, 1e-6);
  EXPECT_NEAR(e["act_standby"].get<double>(), standby, 1e-6);
  EXPECT_EQ(e["pre"].get<double>(), 0.0);
  EXPECT_EQ(e["ref"].get<double>(), 0.0);
  EXPECT_EQ(e["pre_standby"].get<double>(), 0.0);
  EXPECT_NEAR(j["energy_pj"].get<double>(), act + rd * n + standby, 1e-6);
  EXPECT_NEAR(j["energy_per_request_pj"].get<double>(), (act + rd * n + standby) / n, 1e-9);
  // mW = pJ / (cycles x tCK in ps) x 1000.
  EXPECT_NEAR(j["avg_power_mw"].get<double>(), (act + rd * n + standby) / (cycles * 833.0) * 1000.0, 1e-6);
}

// A full run's summary energy is the sum of the channels' energy, and each channel's that of its ranks.
TEST_F(System, RunSummaryEnergyAddsUpTheChannels) {
  std::string cfg = write("small.yaml", kSmall);
  Result r = vmsim("run " + cfg + " --out " + m_dir + "/o --set system.memory.dram.organisation.ranks=2");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = stats(m_dir + "/o");
  double channels = 0, power = 0;
  {
    const std::string ch = "system.node0.dram.ch0";  // kSmall: one node of one channel
    const double total = statd(j, ch + ".energy_total");
    EXPECT_NEAR(total, statd(j, ch + ".rank0.energy_total") + statd(j, ch + ".rank1.energy_total"), 1e-6 * total);
    EXPECT_NEAR(total, statd(j, ch + ".energy_act") + statd(j, ch + ".energy_pre") + statd(j, ch + ".energy_rd") +
                           statd(j, ch + ".energy_wr") + statd(j, ch + ".energy_ref") +
                           statd(j, ch + ".energy_background"),
                1e-6 * total);
    EXPECT_GT(statd(j, ch + ".energy_act"), 0.0);
    EXPECT_GT(statd(j, ch + ".energy_wr"), 0.0);
    channels += total;
    power += statd(j, ch + ".avg_power");
  }
  const nlohmann::json& s = j["summary"];
  EXPECT_NEAR(s["dram_energy_pj"].get<double>(), channels, 1e-6 * channels);
  EXPECT_NEAR(s["dram_avg_power_mw"].get<double>(), power, 1e-9 * power);
  const double accesses = s["dram_reads"].get<double>() + s["dram_writes"].get<double>();
  EXPECT_NEAR(s["dram_energy_per_access_pj"].get<double>(), channels / accesses, 1e-9 * channels);
  EXPECT_NE(r.out.find("energy (mJ) / per access (nJ)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("average power (mW)"), std::string::npos) << r.out;
}

TEST_F(System, BadNumaAndDramConfigsNameTheKey) {
  std::string cfg = write("small.yaml", kSmall);
  const std::vector<BadSets> cases = {
      {{"system.memory.nodes=[{size: 256MiB}, {base: 0x8000000, size: 256MiB}]"},
       "system.memory.nodes[1].base: bad value '0x8000000' (range [0x8000000, 0x18000000) overlaps node 0"},
      {{"system.memory.nodes=[{size: 256MiB}, {base: 0x20000000, size: 256MiB}]"},
       "system.memory.nodes[1].base: bad value '0x20000000' (nodes must tile physical memory without holes"},
      {{"system.memory.nodes=[{size: 128MiB}, {size: 128MiB}]"},
       "system.interconnect.distance: bad value '[[10]]' (row 0 has 1 entries; expected one per node, 1 x 2)"},
      {{"system.sockets=2", "system.interconnect.distance=[[10]]"},
       "system.interconnect.distance: bad value '[[10]]' (1 rows; expected one per socket, 2 x 1)"},
      {{"system.memory.nodes=[{size: 16GiB}]"}, "system.memory.nodes[0].size: bad value '16GiB' (exceeds the capacity"},
      {{"system.memory.dram.timing.tRCD=0"}, "system.memory.dram.timing.tRCD"},
      {{"system.memory.dram.controller.address_mapping=ro:ba:co:ch"}, "system.memory.dram.controller.address_mapping"},
  };
  expect_config_errors(cfg, cases);
}

TEST_F(System, BadSwapConfigsNameTheKey) {
  std::string cfg = write("small.yaml", kSmall);
  const std::vector<BadSets> cases = {
      {{"system.swap.size=128GiB"},
       "system.swap.size: bad value '128GiB' (the swap area is larger than its device (system.swap.device.capacity "
       "= 64GiB))"},
      {{"system.swap.device.preset=hdd", "system.swap.device.capacity=1GiB", "system.swap.size=2GiB"},
       "system.swap.size: bad value '2GiB' (the swap area is larger than its device"},
      {{"system.swap.device.preset=floppy"}, "system.swap.device.preset: bad value 'floppy' (expected nvme or hdd)"},
      {{"firmware.swap.policy=lruu"}, "firmware.swap.policy: bad value 'lruu' (expected fifo | lru | clock"},
      {{"firmware.swap.tau=0"}, "firmware.swap.tau: bad value '0'"},
      {{"firmware.swap.watermarks.min=64MiB"}, "firmware.swap.watermarks.min: bad value '64MiB'"},
  };
  expect_config_errors(cfg, cases);
}

TEST_F(System, SwapDeviceIsElaboratedAndIdleUntilTheKernelSwaps) {
  std::string cfg = write("small.yaml", kSmall);
  ASSERT_EQ(vmsim("run " + cfg + " -q --set system.swap.enabled=true --set system.swap.device.preset=hdd --out " +
                  m_dir + "/s")
                .code,
            0);
  nlohmann::json j = stats(m_dir + "/s");
  EXPECT_EQ(stat(j, "system.swap.reads"), 0u);
  EXPECT_EQ(stat(j, "system.swap.writes"), 0u);
  EXPECT_EQ(stat(j, "system.core0.swap_blocked"), 0u);
  const std::string resolved = slurp(m_dir + "/s/config.resolved.yaml");
  EXPECT_NE(resolved.find("rpm: 7200"), std::string::npos) << resolved;
  EXPECT_NE(resolved.find("policy: clock"), std::string::npos) << resolved;
  // Without the section the device does not exist.
  ASSERT_EQ(vmsim("run " + cfg + " -q --out " + m_dir + "/n").code, 0);
  EXPECT_FALSE(stats(m_dir + "/n")["stats"].contains("system.swap.reads"));
}

TEST_F(System, FiveLevelPagingRunsWithTheChecker) {
  std::string cfg = write("small.yaml", kSmall);
  Result r = vmsim("run " + cfg + " -q --set system.core.mmu.walker.levels=5 --set firmware.page_table_levels=5" +
                   " --set processes.0.workload.base=0xF0000000000000 --out " + m_dir + "/l5");
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(vmsim("run " + cfg + " -q --out " + m_dir + "/l4").code, 0);
  nlohmann::json l5 = stats(m_dir + "/l5"), l4 = stats(m_dir + "/l4");
  EXPECT_EQ(l5["summary"]["page_faults"]["demand_zero"], l5["summary"]["workload_distinct_pages"]);
  EXPECT_EQ(l5["summary"]["accesses"], l4["summary"]["accesses"]);
  // One more table level: more table frames than with 4 levels.
  EXPECT_GT(stat(l5, "system.os.frames.table_allocated"), stat(l4, "system.os.frames.table_allocated"));
  expect_frames_conserved(l5);
}

TEST_F(System, PcidKeepsTranslationsAcrossProcessSwitches) {
  // Four short processes on one core; with PCID off every switch flushes, with PCID on none does.
  std::string cfg = write("pcid.yaml", R"(
sim: {checker: true}
system: {memory: {nodes: [{size: 256MiB}]}}
processes:
  - {name: a, workload: {kind: sequential, footprint: 64KiB, accesses: 2000}}
  - {name: b, workload: {kind: sequential, footprint: 64KiB, accesses: 2000}}
  - {name: c, workload: {kind: random, footprint: 64KiB, accesses: 2000}}
  - {name: d, workload: {kind: random, footprint: 64KiB, accesses: 2000}}
)");
  ASSERT_EQ(vmsim("run " + cfg + " -q --set system.core.mmu.pcid=false --out " + m_dir + "/off").code, 0);
  ASSERT_EQ(vmsim("run " + cfg + " -q --set system.core.mmu.pcid=true --out " + m_dir + "/on").code, 0);
  nlohmann::json off = stats(m_dir + "/off"), on = stats(m_dir + "/on");
  // Besides the four switches, the kernel loads its own root at its first entry and when each process's
  // address space ends (before its tables are freed): five more root writes, each a flush without PCID.
  EXPECT_EQ(stat(off, "system.os.kernel_half.kernel_root_loads"), 5u);
  EXPECT_EQ(stat(off, "system.core0.mmu.tlb.root_switch_flushes"), 4u + 5u);
  EXPECT_EQ(stat(on, "system.core0.mmu.tlb.root_switch_flushes"), 0u);
  EXPECT_EQ(off["summary"]["page_faults"], on["summary"]["page_faults"]);
  // With PCIDs, each exit's INVPCID removes that process's entries instead.
  EXPECT_GT(stat(on, "system.core0.mmu.dtlb.invalidations"), 0u);
}

TEST_F(System, WarmupResetsStatistics) {
  std::string cfg = write("small.yaml", kSmall);
  ASSERT_EQ(vmsim("run " + cfg + " -q --set sim.warmup_accesses=30000 --out " + m_dir + "/w").code, 0);
  nlohmann::json j = stats(m_dir + "/w");
  EXPECT_EQ(j["summary"]["accesses"], 100000 - 30000);
}

TEST_F(System, MisspeltKeyNamesThePathAndFile) {
  std::string cfg = write("typo.yaml", "system:\n  core:\n    mmu:\n      tlb:\n        dtlb:\n          - entires: 128\n");
  Result r = vmsim("run " + cfg + " --out " + m_dir + "/out");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(cfg + ":6"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown config key 'system.core.mmu.tlb.dtlb[0].entires'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean 'system.core.mmu.tlb.dtlb[0].entries'"), std::string::npos) << r.err;
  r = vmsim("run " + write("t2.yaml", "system: {core: {mmu: {tlb: {dtlb: [{entries: 60, ways: 8}]}}}}\n") + " --out " +
            m_dir + "/out");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("dtlb[0].ways: bad value '8'"), std::string::npos) << r.err;
  r = vmsim("run " + write("t3.yaml", "system: {core: {mmu: {walker: {levels: 5}}}}\n") + " --out " + m_dir + "/out");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("firmware.page_table_levels: bad value '4'"), std::string::npos) << r.err;
}

TEST_F(System, BadInputExitsTwoWithOneLineReason) {
  Result r = vmsim("run " + m_dir + "/missing.yaml");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r)) << r.err;
  EXPECT_NE(r.err.find("missing.yaml: cannot open"), std::string::npos) << r.err;

  r = vmsim("run " + write("broken.yaml", "sim: [1, 2\nsystem: {}\n"));
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r)) << r.err;
  EXPECT_NE(r.err.find("YAML syntax error"), std::string::npos) << r.err;

  std::string cfg = write("small.yaml", kSmall);
  r = vmsim("run " + cfg + " --set system.memory.nodes.0.size=3MiB --out " + m_dir + "/o");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("system.memory.nodes[0].size: bad value '3MiB'"), std::string::npos) << r.err;

  r = vmsim("run " + cfg + " --set processes.1.core=5 --out " + m_dir + "/o");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("processes[1].core: bad value '5'"), std::string::npos) << r.err;

  r = vmsim("run " + cfg + " --set sim.mode=fast --out " + m_dir + "/o");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("sim.mode: bad value 'fast' (expected functional | lt | at)"), std::string::npos) << r.err;

  write("bad.lackey", " L 10000000,8\nI  zz,2\n");
  r = vmsim("run " + write("t.yaml", "processes:\n  - workload: {kind: lackey, trace: bad.lackey}\n") + " --out " +
            m_dir + "/o");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r)) << r.err;
  EXPECT_NE(r.err.find("bad.lackey:2: malformed lackey line"), std::string::npos) << r.err;

  r = vmsim("run " + write("nt.yaml", "processes:\n  - workload: {kind: lackey, trace: nope.lackey}\n"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("nope.lackey: cannot open"), std::string::npos) << r.err;

  r = vmsim("frobnicate");
  EXPECT_EQ(r.code, 2);
  r = vmsim("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("run"), std::string::npos);
}

TEST_F(System, LackeyTraceOfARealProgramReplays) {
  // Trace `sort` on a small input with valgrind's lackey tool, then replay it through the system.
  std::string input = write("input.txt", "pear\napple\nfig\nbanana\ncherry\n");
  std::string trace = m_dir + "/sort.lackey";
  std::string cmd = "valgrind --tool=lackey --trace-mem=yes --log-file=" + trace + " sort " + input + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "valgrind is required (scripts/install-deps.sh installs it)";
  std::string cfg = write("sort.yaml", R"(
sim: {checker: true}
processes:
  - name: sort
    workload: {kind: lackey, trace: sort.lackey}
)");
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/out");
  const auto& s = j["summary"];
  EXPECT_GT(s["accesses"].get<uint64_t>(), 100000u);
  EXPECT_GT(s["fetches"].get<uint64_t>(), 0u);
  EXPECT_EQ(s["page_faults"]["demand_zero"], s["workload_distinct_pages"]);
  EXPECT_EQ(s["page_faults"]["total"], s["workload_distinct_pages"]);
  EXPECT_EQ(s["processes_exited"], 1);
  EXPECT_EQ(s["processes_killed"], 0);
  expect_frames_conserved(j);
}

TEST_F(System, GeneratedReferencesInDocsAreCurrent) {
  Result r = vmsim("doc config");
  ASSERT_EQ(r.code, 0) << r.err;
  std::string config_md = slurp(VMSIM_SOURCE_DIR "/docs/CONFIG.md");
  EXPECT_NE(config_md.find(r.out), std::string::npos)
      << "docs/CONFIG.md is out of date: regenerate its table with `vmsim doc config`";
  r = vmsim(std::string("doc stats ") + VMSIM_SOURCE_DIR "/configs/presets/default.yaml");
  ASSERT_EQ(r.code, 0) << r.err;
  std::string stats_md = slurp(VMSIM_SOURCE_DIR "/docs/STATS.md");
  EXPECT_NE(stats_md.find(r.out), std::string::npos)
      << "docs/STATS.md is out of date: regenerate its table with `vmsim doc stats configs/presets/default.yaml`";
  // The CXL link's rows, from the preset with a CXL node.
  r = vmsim(std::string("doc stats ") + VMSIM_SOURCE_DIR "/configs/presets/cxl-2socket.yaml");
  ASSERT_EQ(r.code, 0) << r.err;
  std::string cxl_rows;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("| `system.cxl", 0) == 0) cxl_rows += line + "\n";
  }
  EXPECT_FALSE(cxl_rows.empty());
  EXPECT_NE(stats_md.find(cxl_rows), std::string::npos)
      << "docs/STATS.md's CXL table is out of date: run scripts/gen-docs.sh";
}

}  // namespace
