// System tests of the cache hierarchy (system.caches): PTE reads served by the caches, coherence between
// cores (cache-to-cache transfers, invalidations, the cost of sharing lines), the coherence checker, swap
// under the data checker, the same counts in every mode on one core, `caches: none` as the default, and the
// pointer-chase latency plateaus against the configured latencies.
#include <cmath>

#include "system_fixture.hpp"

namespace vmsim_system_test {
namespace {

class Caches : public System {};

// One core, a TLB small enough that a random walk over 256 pages misses it most of the time.
const char* kWalks = R"(
sim: {checker: true, check_coherence: true}
system:
  cores: 1
  caches: skylake_sp
  core:
    mmu:
      tlb:
        dtlb: [{entries: 8, ways: 2}]
        stlb: [{entries: 16, ways: 4}]
  memory: {nodes: [{size: 256MiB}]}
processes:
  - name: rnd
    core: 0
    workload: {kind: random, footprint: 1MiB, accesses: 60000, read_fraction: 0.7}
)";

TEST_F(Caches, PteReadsHitInTheCachesAfterTheFirstWalkOfARegion) {
  std::string cfg = write("walks.yaml", kWalks);
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/out");
  const auto& served = j["summary"]["caches"]["pte_reads_served"];
  const uint64_t from_memory = served["memory"];
  const uint64_t from_caches = served["l1"].get<uint64_t>() + served["l2"].get<uint64_t>() + served["llc"].get<uint64_t>();
  const uint64_t pte_reads = j["summary"]["pte_reads"];
  EXPECT_EQ(from_memory + from_caches + served["peer_cache"].get<uint64_t>() + served["remote_cache"].get<uint64_t>(),
            pte_reads);
  // 256 leaf PTEs fill 4 lines of one page table, the upper levels one line each: after the first walks
  // every PTE read hits.
  EXPECT_GT(pte_reads, 20000u);
  EXPECT_LE(from_memory, 16u);
  // And so walk memory costs cache latencies, not DRAM.
  const double walk_memory = j["summary"]["access_latency_breakdown_core_cycles"]["walk_memory"];
  const double walks = j["summary"]["walks"].get<double>() / j["summary"]["accesses"].get<double>();
  EXPECT_LT(walk_memory, walks * 15.0);  // below an L2 hit per walk on average
}

TEST_F(Caches, NoneIsTheDefaultAndChangesNothing) {
  std::string cfg = write("plain.yaml", R"(
system: {cores: 2, memory: {nodes: [{size: 256MiB}]}}
processes:
  - {name: a, core: 0, workload: {kind: random, footprint: 1MiB, accesses: 20000}}
  - {name: b, core: 1, workload: {kind: sequential, footprint: 1MiB, accesses: 20000}}
)");
  ASSERT_EQ(vmsim("run " + cfg + " -q --out " + m_dir + "/a").code, 0);
  Result r = vmsim("run " + cfg + " -q --set system.caches=none --out " + m_dir + "/b");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(m_dir + "/a/stats.json"), slurp(m_dir + "/b/stats.json"));
  EXPECT_EQ(slurp(m_dir + "/a/stats.json").find("system.caches"), std::string::npos);
  // With caches the same workload runs faster in simulated time and reads memory less.
  ASSERT_EQ(vmsim("run " + cfg + " -q --set system.caches=zen3 --out " + m_dir + "/c").code, 0);
  nlohmann::json none = stats(m_dir + "/a"), zen = stats(m_dir + "/c");
  EXPECT_LT(zen["summary"]["sim_time_ps"].get<uint64_t>(), none["summary"]["sim_time_ps"].get<uint64_t>());
  EXPECT_LT(zen["summary"]["dram_reads"].get<uint64_t>(), none["summary"]["dram_reads"].get<uint64_t>());
}

// Two threads of one process on two cores, each doing random 8-byte accesses; `shared_base` decides
// whether the thread works on the parent's lines or on its own page.
std::string threads_config(const char* thread_base, const char* mode) {
  return std::string(R"(
sim: {checker: true, check_coherence: true, mode: )") + mode + R"(}
system: {cores: 2, caches: skylake_sp, memory: {nodes: [{size: 256MiB}]}}
processes:
  - name: parent
    core: 0
    workload: {kind: random, footprint: 4KiB, accesses: 30000, read_fraction: 0.5, gap: 2}
    vmas: [{start: 0x10000000, size: 8KiB}]
    syscalls: [{at: 0, call: fork, child: thread, share_vm: true}]
  - name: thread
    core: 1
    parent: parent
    workload: {kind: random, footprint: 4KiB, base: )" + thread_base + R"(, accesses: 30000, read_fraction: 0.5, gap: 2}
)";
}

TEST_F(Caches, PingPongOnSharedLinesShowsTransfersAndInvalidationsAndCostsTime) {
  for (const char* mode : {"lt", "at"}) {
    // Same page: the two cores write words of the same 64 lines (mostly different words: false sharing).
    std::string shared = write(std::string("shared_") + mode + ".yaml", threads_config("0x10000000", mode));
    std::string apart = write(std::string("apart_") + mode + ".yaml", threads_config("0x10001000", mode));
    Result r = vmsim("run " + shared + " -q --out " + m_dir + "/shared_" + mode);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    r = vmsim("run " + apart + " -q --out " + m_dir + "/apart_" + mode);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    nlohmann::json s = stats(m_dir + "/shared_" + mode), a = stats(m_dir + "/apart_" + mode);
    const uint64_t c2c_shared = s["summary"]["caches"]["c2c_transfers"];
    const uint64_t c2c_apart = a["summary"]["caches"]["c2c_transfers"];
    EXPECT_GT(c2c_shared, 5000u) << mode;
    EXPECT_LT(c2c_apart * 20, c2c_shared) << mode;
    EXPECT_GT(s["summary"]["caches"]["invalidations"].get<uint64_t>(),
              10 * a["summary"]["caches"]["invalidations"].get<uint64_t>()) << mode;
    EXPECT_GT(stat(s, "system.caches.core1.l1d.invalidations"), 3000u) << mode;
    // Sharing lines between cores slows both threads down.
    EXPECT_GT(s["summary"]["avg_access_latency_core_cycles"].get<double>(),
              1.5 * a["summary"]["avg_access_latency_core_cycles"].get<double>()) << mode;
  }
}

TEST_F(Caches, CoherenceCheckerCatchesADroppedInvalidation) {
  std::string cfg = write("shared.yaml", threads_config("0x10000000", "lt"));
  Result r = vmsim("run " + cfg + " -q --set sim.inject_dropped_invalidation=2000 --out " + m_dir + "/out");
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_TRUE(one_line(r)) << r.err;
  EXPECT_NE(r.err.find("coherence check failed"), std::string::npos) << r.err;
  // The same run without the injection passes the checker.
  r = vmsim("run " + cfg + " -q --out " + m_dir + "/ok");
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(Caches, OneCoreCountsAreTheSameInEveryMode) {
  std::string cfg = write("walks.yaml", kWalks);
  std::vector<nlohmann::json> runs;
  for (const char* mode : {"functional", "lt", "at"}) {
    Result r = vmsim("run " + cfg + " -q --set sim.mode=" + mode + " --out " + m_dir + "/" + mode);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    runs.push_back(stats(m_dir + "/" + mode));
  }
  size_t compared = 0;
  for (auto it = runs[0]["stats"].begin(); it != runs[0]["stats"].end(); ++it) {
    // Whether a prefetch was late depends on time (none in the functional mode).
    if (it.key().rfind("system.caches.", 0) != 0 || it.key().find("prefetch_late") != std::string::npos) continue;
    ++compared;
    EXPECT_EQ(it.value()["value"], runs[1]["stats"][it.key()]["value"]) << it.key() << " functional vs lt";
    EXPECT_EQ(it.value()["value"], runs[2]["stats"][it.key()]["value"]) << it.key() << " functional vs at";
  }
  EXPECT_GT(compared, 100u);
}

TEST_F(Caches, SwapInWithCachesKeepsTheDataCheckerSilent) {
  std::string cfg = write("swap.yaml", R"(
sim: {checker: true, check_data: true, check_coherence: true}
system:
  cores: 2
  caches: skylake_sp
  memory: {nodes: [{size: 24MiB}]}
  swap: {enabled: true, size: 256MiB, device: {preset: nvme}}
firmware: {swap: {policy: clock}}
processes:
  - {name: a, core: 0, workload: {kind: random, footprint: 16MiB, accesses: 40000, read_fraction: 0.5}}
  - {name: b, core: 1, workload: {kind: random, footprint: 16MiB, base: 0x40000000, accesses: 40000, read_fraction: 0.5}}
)");
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/out");
  EXPECT_GT(j["summary"]["swap"]["swap_ins"].get<uint64_t>(), 1000u);
  EXPECT_GT(j["summary"]["swap"]["swap_outs"].get<uint64_t>(), 1000u);
  EXPECT_EQ(j["summary"]["processes_killed"], 0);
}

TEST_F(Caches, PresetsAndBadKeys) {
  std::string cfg = write("walks.yaml", kWalks);
  for (const char* preset : {"skylake_sp", "zen3", "custom"}) {
    Result r = vmsim("run " + cfg + " -q --set system.caches.preset=" + preset + " --out " + m_dir + "/" + preset);
    EXPECT_EQ(r.code, 0) << preset << ": " << r.err;
  }
  nlohmann::json zen = stats(m_dir + "/zen3");
  EXPECT_TRUE(zen["stats"].contains("system.caches.socket0.llc.hits"));
  struct Bad {
    const char* set;
    const char* message;
  };
  for (const Bad& b : {Bad{"system.caches.preset=haswell", "system.caches.preset"},
                       Bad{"system.caches.l1d.size=48KiB", "system.caches.l1d.size"},
                       Bad{"system.caches.walk_entry=l3", "system.caches.walk_entry"},
                       Bad{"system.caches.l2.inclusion=exclusive", "system.caches.l2.inclusion"},
                       Bad{"system.caches.l1d.sise=1", "sise"}}) {
    Result r = vmsim("run " + cfg + " -q --set " + b.set + " --out " + m_dir + "/bad");
    EXPECT_EQ(r.code, 2) << b.set;
    EXPECT_TRUE(one_line(r)) << r.err;
    EXPECT_NE(r.err.find(b.message), std::string::npos) << b.set << ": " << r.err;
  }
}

// The pointer-chase study's plateaus: every load depends on the previous one, so its latency is where its
// line lives. Simulated time is deterministic, so the plateaus are checked against the configured
// latencies (skylake_sp: L1D 5, L2 14, LLC 60 core cycles; 1 cycle of L1 TLB on every load).
// One core with independent random accesses over 32 MiB (past the 11 MiB LLC), at mode, every checker on.
const char* kStream = R"(
sim: {mode: at, checker: true, check_data: true, check_coherence: true}
system:
  cores: 1
  caches: skylake_sp
  memory: {nodes: [{size: 256MiB}]}
processes:
  - name: s
    workload: {kind: random, footprint: 32MiB, accesses: 100000, read_fraction: 0.7, access_size: 8}
)";

TEST_F(Caches, NonBlockingMissesOverlapUpToTheMshrs) {
  std::string cfg = write("stream.yaml", kStream);
  auto run = [&](const std::string& name, const std::string& sets) {
    Result r = vmsim("run " + cfg + " -q " + sets + " --out " + m_dir + "/" + name);
    EXPECT_EQ(r.code, 0) << name << ": " << r.err;
    return stats(m_dir + "/" + name);
  };
  const nlohmann::json one = run("one", "");
  const nlohmann::json eight = run("eight", "--set system.core.outstanding=8");
  const nlohmann::json narrow = run("narrow", "--set system.core.outstanding=8 --set system.caches.l1d.mshrs=1");
  // One operation in flight: one demand fill at a time.
  EXPECT_EQ(stat(one, "system.core0.mshr.peak"), 1u);
  // Eight in flight: several misses overlap, bounded by the L1D's 12 MSHRs (skylake_sp)...
  EXPECT_GT(stat(eight, "system.core0.mshr.peak"), 2u);
  EXPECT_LE(stat(eight, "system.core0.mshr.peak"), 12u);
  // ... so the run takes much less simulated time; with one MSHR the misses serialize again.
  const double t1 = one["summary"]["sim_time_ps"], t8 = eight["summary"]["sim_time_ps"],
               tn = narrow["summary"]["sim_time_ps"];
  EXPECT_LT(t8, 0.6 * t1);
  EXPECT_EQ(stat(narrow, "system.core0.mshr.peak"), 1u);
  EXPECT_GT(stat(narrow, "system.core0.mshr.full"), 1000u);
  EXPECT_GT(tn, 1.1 * t8);
  EXPECT_EQ(stat(one, "system.core0.accesses"), stat(eight, "system.core0.accesses"));
}

// Two passes of sequential loads over 16 MiB: the second pass finds nothing cached and reads memory.
const char* kTwoPasses = R"(
processes:
  - name: s
    workload: {kind: sequential, footprint: 16MiB, accesses: 524288, read_fraction: 1.0, access_size: 64}
)";

TEST_F(Caches, AccessesToALineInFlightWaitForItsFill) {
  // 32-byte loads, eight in flight, no prefetcher: the second load of a line waits for the first one's fill.
  std::string cfg = write("seq.yaml", with_overrides(kStream, std::string(kTwoPasses) + R"(
system: {core: {outstanding: 8}, caches: {preset: skylake_sp, l1d: {prefetcher: none}, l2: {prefetcher: none}}}
)"));
  Result r = vmsim("run " + cfg + " -q --set processes.0.workload.access_size=32 --set processes.0.workload.accesses=1048576 --out " +
                   m_dir + "/o");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/o");
  EXPECT_GT(stat(j, "system.core0.mshr.merged"), 100000u);
  EXPECT_GT(stat(j, "system.core0.mshr.wait"), 0u);
  EXPECT_GT(stat(j, "system.core0.mshr.peak"), 1u);
}

TEST_F(Caches, PrefetchesCaughtBeforeTheirFillAreLate) {
  // A next-line prefetcher on the second pass: with no instructions between loads the next line is wanted
  // long before DRAM answers, so most prefetches are late; with 2,000 instructions between loads nearly
  // every fill has arrived. lt and at agree.
  const std::string cfg = write("pf.yaml", with_overrides(kStream, std::string(kTwoPasses) + R"(
system: {caches: {preset: skylake_sp, l1d: {prefetcher: next_line}, l2: {prefetcher: none}}}
)"));
  std::vector<uint64_t> sparse_late;
  for (const std::string mode : {"lt", "at"}) {
    Result r = vmsim("run " + cfg + " -q --set sim.mode=" + mode + " --out " + m_dir + "/dense");
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    nlohmann::json dense = stats(m_dir + "/dense");
    r = vmsim("run " + cfg + " -q --set sim.mode=" + mode + " --set processes.0.workload.gap=2000 --out " + m_dir +
              "/sparse");
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    nlohmann::json sparse = stats(m_dir + "/sparse");
    const uint64_t useful = stat(dense, "system.caches.core0.l1d.prefetch_useful");
    EXPECT_GT(useful, 250000u) << mode;
    EXPECT_GT(stat(dense, "system.caches.core0.l1d.prefetch_late"), useful / 2) << mode;
    EXPECT_LE(stat(dense, "system.caches.core0.l1d.prefetch_late"), useful) << mode;
    EXPECT_LT(stat(sparse, "system.caches.core0.l1d.prefetch_late"), useful / 100) << mode;  // a few: DRAM refresh
    EXPECT_EQ(stat(sparse, "system.caches.core0.l1d.prefetch_useful"), useful) << mode;
    sparse_late.push_back(stat(sparse, "system.caches.core0.l1d.prefetch_late"));
  }
  EXPECT_NEAR(static_cast<double>(sparse_late[0]), static_cast<double>(sparse_late[1]), 10.0);  // lt ~ at
}

TEST_F(Caches, AFullWriteBackBufferStallsTheCore) {
  // Two passes of stores over 16 MiB: the second pass evicts the first one's dirty lines from the LLC;
  // with a one-entry write-back buffer the core waits for room.
  const std::string cfg = write("wb.yaml", with_overrides(kStream, kTwoPasses));
  const std::string sets = " -q --set processes.0.workload.read_fraction=0 --set sim.check_coherence=false";
  Result r = vmsim("run " + cfg + sets + " --set system.caches.writeback_buffer=1 --out " + m_dir + "/small");
  ASSERT_EQ(r.code, 0) << r.err;
  r = vmsim("run " + cfg + sets + " --out " + m_dir + "/big");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json small = stats(m_dir + "/small"), big = stats(m_dir + "/big");
  EXPECT_GT(stat(small, "system.core0.mshr.writeback_buffer_full"), 100000u);
  EXPECT_LT(stat(big, "system.core0.mshr.writeback_buffer_full"),
            stat(small, "system.core0.mshr.writeback_buffer_full") / 2);
  EXPECT_EQ(small["summary"]["dram_writes"], big["summary"]["dram_writes"]);
  EXPECT_GT(small["summary"]["sim_time_ps"].get<double>(), big["summary"]["sim_time_ps"].get<double>());
}

TEST_F(Caches, PointerChasePlateausSitAtTheConfiguredLatencies) {
  const std::string base = std::string(VMSIM_SOURCE_DIR) + "/configs/studies/pointer-chase.yaml";
  auto point = [&](const std::string& size, uint64_t lines, bool huge) {
    const std::string area = huge && lines * 64 < (2u << 20) ? "2MiB" : size;  // whole 2 MiB pages
    const uint64_t warm = std::min<uint64_t>(lines, 100000);
    const std::string out = m_dir + "/" + size + (huge ? "_2m" : "_4k");
    Result r = vmsim("run " + base + " -q --out " + out + " --set processes.0.workload.footprint=" + size +
                     " --set processes.0.workload.accesses=" + std::to_string(warm + 20000) +
                     " --set sim.warmup_accesses=" + std::to_string(warm) +
                     " --set 'processes.0.vmas=[{start: 0x40000000, size: " + area + (huge ? ", huge: true" : "") +
                     "}]' --set 'processes.0.syscalls=[{at: 0, call: mlock, addr: 0x40000000, length: " + area +
                     "}]'");
    EXPECT_EQ(r.code, 0) << size << ": " << r.err;
    return stats(out)["summary"]["access_latency_breakdown_core_cycles"];
  };
  // L1D: 16 KiB fits the 32 KiB L1D.
  nlohmann::json b = point("16KiB", 256, false);
  EXPECT_NEAR(b["data_memory"].get<double>(), 5.0, 0.05);
  // L2: 512 KiB fits the 1 MiB L2; 1 in 16 loads still finds its line in the L1D.
  b = point("512KiB", 8192, false);
  EXPECT_NEAR(b["data_memory"].get<double>(), 14.0, 1.0);
  // LLC: 6 MiB fits the 11 MiB LLC and overflows the L2.
  b = point("6MiB", 98304, true);
  EXPECT_NEAR(b["data_memory"].get<double>(), 60.0, 6.0);
  // DRAM: 256 MiB: nearly every load leaves the LLC: the LLC latency plus the interconnect and DRAM.
  nlohmann::json d4 = point("256MiB", 4194304, false);
  nlohmann::json d2 = point("256MiB", 4194304, true);
  EXPECT_GT(d4["data_memory"].get<double>(), 60.0 + 30.0);
  EXPECT_GT(d4["data_memory_parts"]["dram"].get<double>(), 20.0);
  // Past the L2 TLB's reach (1536 x 4 KiB = 6 MiB) 4 KiB pages walk on most loads; 2 MiB pages do not, so
  // their curve sits below.
  EXPECT_GT(d4["walk_memory"].get<double>(), 5.0);
  EXPECT_LT(d2["walk_memory"].get<double>(), 1.0);
  EXPECT_LT(d2["data_memory"].get<double>() + d2["walk_memory"].get<double>() + d2["stlb"].get<double>(),
            d4["data_memory"].get<double>() + d4["walk_memory"].get<double>() + d4["stlb"].get<double>());
}

// The functional mode's fast loop in the core (Core::run_functional) and the hierarchy's slow-path shortcuts
// change nothing: each run below, with every access through the general paths (sim.general_paths_only), gives
// the same statistics, time series, memory map and working set. The runs cover one core's sequential
// stream with each preset hierarchy and without caches, reads checked; several processes per core with a
// time slice, system calls (fork, threads, mprotect, munmap) and their shootdowns, a warm-up reset and a
// time series; scheduled migrations and load balancing; swapping; and a process killed mid-batch.
TEST_F(Caches, FunctionalFastLoopMatchesTheGeneralPath) {
  const std::string presets = std::string(VMSIM_SOURCE_DIR) + "/configs/";
  const std::string killed = write("killed.yaml", R"(
sim: {mode: functional, check_data: true}
system: {cores: 1, caches: skylake_sp, memory: {nodes: [{size: 64MiB}]}}
processes:
  - name: victim
    workload: {kind: sequential, footprint: 64KiB, accesses: 50000, read_fraction: 0.7}
    syscalls:
      - {at: 0, call: fork, child: sibling, share_vm: true}
      - {at: 20000, call: munmap, addr: 0x10000000, length: 64KiB}
  - name: sibling
    parent: victim
    workload: {kind: sequential, footprint: 64KiB, accesses: 50000}
firmware: {scheduler: {time_slice: 700}}
)");
  const std::vector<std::string> runs = {
      "bench/tlb_hit.yaml --set processes.0.workload.accesses=60000 --set sim.check_data=true --set "
      "system.caches=skylake_sp",
      "bench/tlb_hit.yaml --set processes.0.workload.accesses=60000 --set system.caches=zen3",
      "bench/tlb_hit.yaml --set processes.0.workload.accesses=60000 --set sim.check_data=true",
      "presets/os-churn.yaml --set sim.checker=false --set system.caches=skylake_sp --set sim.stats_interval=7000 "
      "--set sim.warmup_accesses=30000",
      "presets/os-churn.yaml --set sim.checker=false",
      "presets/numa-migrate.yaml --set sim.checker=false --set system.caches=zen3",
      "presets/swap-pressure.yaml --set sim.checker=false --set system.caches=skylake_sp",
      "KILLED"};
  for (const std::string& run : runs) {
    const std::string cfg = run == "KILLED" ? killed : presets + run;
    const std::string base = "run " + cfg + " -q --set sim.mode=functional --out ";
    Result a = vmsim(base + m_dir + "/fast");
    ASSERT_EQ(a.code, 0) << run << ": " << a.err;
    Result b = vmsim(base + m_dir + "/general --set sim.general_paths_only=true");
    ASSERT_EQ(b.code, 0) << run << ": " << b.err;
    for (const char* f : {"stats.json", "timeseries.csv", "memory.txt", "working_set.csv"}) {
      EXPECT_EQ(slurp(m_dir + "/fast/" + f), slurp(m_dir + "/general/" + f)) << run << ": " << f;
    }
    nlohmann::json j = stats(m_dir + "/fast");
    EXPECT_GT(j["summary"]["accesses"].get<uint64_t>(), 1000u) << run;
    if (run == "KILLED") {  // SIGSEGV after the munmap, then the thread group with it
      ASSERT_EQ(j["kills"].size(), 2u);
      EXPECT_EQ(j["kills"][0]["name"], "victim");
      EXPECT_EQ(j["kills"][1]["name"], "sibling");
    }
    ASSERT_EQ(std::system(("rm -rf " + m_dir + "/fast " + m_dir + "/general").c_str()), 0);
  }
}

}  // namespace
}  // namespace vmsim_system_test
