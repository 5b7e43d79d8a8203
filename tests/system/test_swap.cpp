// System tests of swapping: whole runs under memory pressure with the golden checker (no
// stale translation survives an eviction) and the data checker (every page survives its round trips
// through swap byte for byte) on.
#include <cstdio>
#include <map>
#include <set>

#include "tests/system/system_fixture.hpp"

namespace vmsim_system_test {
namespace {

// The base of every configuration here: lt mode with the golden and data checkers, one core, 32 MiB of RAM
// and a 256 MiB swap area on NVMe. Tests override what they change (with_overrides).
const std::string kSwapBase = R"(
sim: {mode: lt, seed: 1, checker: true, check_data: true}
system:
  cores: 1
  memory:
    nodes: [{size: 32MiB}]
  swap: {enabled: true, size: 256MiB, device: {preset: nvme}}
)";

// A 48 MiB random working set: about half the pages live in swap at a time.
const std::string kThrash = kSwapBase + R"(
processes:
  - name: big
    workload: {kind: random, footprint: 48MiB, accesses: 60000, read_fraction: 0.5}
)";

class Swap : public System {
 protected:
  // Checks that hold after any run with swap: frames and slots all returned, counts consistent.
  void expect_consistent(const nlohmann::json& j) {
    expect_frames_conserved(j);
    EXPECT_EQ(stat(j, "system.os.swap.slots_used"), 0u);
    EXPECT_EQ(stat(j, "system.os.swap.tracked_pages"), 0u);
    EXPECT_EQ(stat(j, "system.os.faults.major"), stat(j, "system.os.swap.swap_ins"));  // no files here
    // Every swap-in read and every swap-out write reached the device (debug transport in the functional mode).
    uint64_t reads = 0, writes = 0;
    for (unsigned c = 0; j["stats"].contains("system.core" + std::to_string(c) + ".swap_reads"); ++c) {
      reads += stat(j, "system.core" + std::to_string(c) + ".swap_reads");
      writes += stat(j, "system.core" + std::to_string(c) + ".swap_writes");
    }
    EXPECT_EQ(reads, stat(j, "system.os.swap.swap_ins"));
    EXPECT_EQ(writes, stat(j, "system.os.swap.swap_outs"));
    EXPECT_EQ(stat(j, "system.swap.reads") + stat(j, "system.swap.writes") + stat(j, "system.swap.debug_accesses"),
              reads + writes);
    EXPECT_EQ(stat(j, "system.os.swap.reclaimed"),
              stat(j, "system.os.swap.dropped_clean") + stat(j, "system.os.swap.writebacks"));
    EXPECT_LE(stat(j, "system.os.swap.slots_peak"), stat(j, "system.os.swap.swap_outs"));
  }
};

TEST_F(Swap, ThrashingKeepsEveryPageIntactInEveryMode) {
  const std::string cfg = write("thrash.yaml", kThrash);
  std::map<std::string, uint64_t> swap_ins;
  for (const std::string mode : {"functional", "lt", "at"}) {
    const std::string out = m_dir + "/" + mode;
    Result r = vmsim("run " + cfg + " -q --set sim.mode=" + mode + " --out " + out);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    nlohmann::json j = stats(out);
    expect_consistent(j);
    swap_ins[mode] = stat(j, "system.os.swap.swap_ins");
    EXPECT_GT(swap_ins[mode], 15000u) << mode;
    EXPECT_GT(stat(j, "system.os.swap.writebacks"), 10000u) << mode;
    EXPECT_EQ(stat(j, "system.os.proc0.major_faults"), swap_ins[mode]) << mode;
    EXPECT_EQ(stat(j, "system.os.faults.oom"), 0u) << mode;
    EXPECT_EQ(stat(j, "system.core0.mmu.checker_skipped_faults"), 0u) << mode;
    if (mode == "functional") {
      EXPECT_EQ(stat(j, "system.os.swap.blocked_time"), 0u);
    } else {
      // Every swap-in slept for at least an idle NVMe read (78.28 us).
      EXPECT_GE(stat(j, "system.os.swap.blocked_time"), swap_ins[mode] * 78280) << mode;
      EXPECT_EQ(stat(j, "system.os.proc0.swap_wait"), stat(j, "system.os.swap.blocked_time")) << mode;
    }
  }
  // The replacement decisions do not depend on timing except through kswapd's interleaving with the
  // process, so the modes land close to each other.
  EXPECT_NEAR(static_cast<double>(swap_ins["lt"]), static_cast<double>(swap_ins["functional"]),
              0.1 * static_cast<double>(swap_ins["functional"]));
}

TEST_F(Swap, AMillionRoundTripsThroughTheWholeSystem) {
  // The data checker verifies every read: each of over a million pages read back from swap holds what
  // its process last wrote there, through eviction, write-back, the device and the swap cache.
  const std::string cfg = write("thrash.yaml", kThrash);
  Result r = vmsim("run " + cfg + " -q --set sim.mode=functional --set processes.0.workload.accesses=2200000 --out " +
                   m_dir + "/o");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/o");
  EXPECT_GT(stat(j, "system.os.swap.swap_ins"), 1000000u);
  EXPECT_GT(stat(j, "system.os.swap.writebacks"), 700000u);
  expect_consistent(j);
}

TEST_F(Swap, SwapPressurePresetRunsInEveryMode) {
  for (const std::string mode : {"lt", "at", "functional"}) {
    Result r = vmsim(std::string("run ") + VMSIM_SOURCE_DIR "/configs/presets/swap-pressure.yaml -q --set sim.mode=" +
                     mode + " --out " + m_dir + "/" + mode);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    nlohmann::json j = stats(m_dir + "/" + mode);
    EXPECT_EQ(j["summary"]["processes_exited"], 8) << mode;
    EXPECT_GT(stat(j, "system.os.swap.swap_ins"), 1000u) << mode;
    EXPECT_GT(stat(j, "system.os.proc0.working_set_peak"), 0u) << mode;
    expect_consistent(j);
  }
}

TEST_F(Swap, PageCachePagesAreEvictedAndWrittenBackToTheFileStore) {
  // A 32 MiB file mapped shared in 24 MiB of RAM. The writer's dirty page-cache pages go to the file
  // store as they are evicted (and the rest when its mapping goes); the reader's faults read them back
  // from the store, and the data checker accepts only the writer's words (the file's original contents
  // are random).
  const std::string cfg = write("file.yaml", with_overrides(kSwapBase, R"(
system: {memory: {nodes: [{size: 24MiB}]}, swap: {size: 64MiB}}
firmware:
  files: [{name: big.bin, size: 32MiB, seed: 3}]
processes:
  - name: writer
    workload: {kind: sequential, footprint: 32MiB, base: 0x70000000, access_size: 64, accesses: 524288,
               read_fraction: 0.0}
    syscalls: [{at: 0, call: mmap, addr: 0x70000000, length: 32MiB, fixed: true, shared: true, file: big.bin}]
  - name: reader
    workload: {kind: sequential, footprint: 32MiB, base: 0x70000000, access_size: 64, accesses: 524288,
               read_fraction: 1.0}
    syscalls: [{at: 0, call: mmap, addr: 0x70000000, length: 32MiB, fixed: true, shared: true, file: big.bin}]
)"));
  for (const std::string mode : {"lt", "functional"}) {
    Result r = vmsim("run " + cfg + " -q --set sim.mode=" + mode + " --out " + m_dir + "/" + mode);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    nlohmann::json j = stats(m_dir + "/" + mode);
    const uint64_t evicted_dirty = stat(j, "system.os.swap.file_pages_written");
    EXPECT_GT(evicted_dirty, 1000u) << mode;
    // Every page written once reaches the store once: at eviction, or when the writer's mapping went.
    EXPECT_EQ(stat(j, "system.os.vm.file_writebacks"), 8192u) << mode;
    // The writer reads every page; the reader reads again what reclaim took from the page cache (the cache
    // outlives the writer's mapping): all of it here, since 32 MiB do not fit in 24 and a sequential pass
    // evicts each cached page before it reaches it.
    const uint64_t major = stat(j, "system.os.faults.major");
    EXPECT_GT(major, 8192u + 4096u) << mode;
    EXPECT_LE(major, 2u * 8192u) << mode;
    EXPECT_EQ(stat(j, "system.os.faults.shared"), 2u * 8192u - major) << mode;  // the rest hit the page cache
    EXPECT_EQ(stat(j, "system.os.swap.swap_ins"), 0u) << mode;
    EXPECT_GT(stat(j, "system.os.swap.dropped_clean"), 1000u) << mode;  // the reader's clean pages
    expect_frames_conserved(j);
  }
}

TEST_F(Swap, OptRunsOnTracesAndBeatsTheOtherPolicies) {
  // Belady's opt needs the future, which a trace has: a lackey trace writes 40 MiB of pages in a loop three
  // times over 32 MiB of RAM, the pattern on which fifo, clock and LRU fault on every page and opt keeps most
  // of memory across passes. Its data stays intact (data checker) and it faults least.
  std::string trace;
  for (int pass = 0; pass < 3; ++pass) {
    for (uint64_t page = 0; page < 10240; ++page) {
      char line[64];
      std::snprintf(line, sizeof line, " S %llx,8\n", static_cast<unsigned long long>(0x10000000ull + page * 4096));
      trace += line;
    }
  }
  write("loop.lackey", trace);
  const std::string cfg = write("loop.yaml", kSwapBase + R"(
processes:
  - {name: loop, workload: {kind: lackey, trace: loop.lackey}}
)");
  std::map<std::string, uint64_t> major;
  for (const char* policy : {"fifo", "clock", "lru", "opt"}) {
    const std::string out = m_dir + "/" + policy;
    Result r = vmsim("run " + cfg + " -q --set firmware.swap.policy=" + policy + " --out " + out);
    ASSERT_EQ(r.code, 0) << policy << ": " << r.err;
    nlohmann::json j = stats(out);
    major[policy] = stat(j, "system.os.faults.major");
    expect_consistent(j);
  }
  for (const char* other : {"fifo", "clock", "lru"}) {
    EXPECT_LT(major["opt"] * 2, major[other]) << other << " " << major[other] << " vs opt " << major["opt"];
  }
  // A generator's future is not known ahead of the run: refused, naming the process.
  Result r = vmsim("run " + write("thrash.yaml", kThrash) + " -q --set firmware.swap.policy=opt --out " + m_dir + "/g");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r)) << r.err;
  EXPECT_NE(r.err.find("firmware.swap.policy: bad value 'opt' (Belady's opt needs every process's future references"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("processes[0] 'big' runs a generator"), std::string::npos) << r.err;
}

TEST_F(Swap, SwappinessBalancesAnonymousAndPageCacheReclaim) {
  // A reader loops over a 16 MiB file (clean page cache) while a writer loops over 16 MiB of anonymous
  // memory, in 24 MiB of RAM. At swappiness 0 reclaim drops page-cache pages and swaps nothing; at 200 it
  // swaps anonymous pages and leaves the page cache; at the default 60 both go, about 60 : 140.
  // (The data checker is off: the file's contents are its seed's, not the pattern the checker knows. Each
  // process has its own core so that both stay resident together; file reads are cheap so that the reader
  // keeps pace with the writer.)
  const std::string cfg = write("mix.yaml", with_overrides(kSwapBase, R"(
sim: {check_data: false}
system: {cores: 2, memory: {nodes: [{size: 24MiB}]}}
firmware:
  costs: {file_read: 300}
  files: [{name: data.bin, size: 16MiB, seed: 5}]
processes:
  - name: reader
    workload: {kind: strided, stride: 4096, footprint: 16MiB, base: 0x70000000, accesses: 32768, read_fraction: 1.0}
    syscalls: [{at: 0, call: mmap, addr: 0x70000000, length: 16MiB, fixed: true, prot: r--, file: data.bin}]
  - name: writer
    core: 1
    workload: {kind: strided, stride: 4096, footprint: 16MiB, base: 0x30000000, accesses: 32768, read_fraction: 0.0}
)"));
  std::map<uint64_t, nlohmann::json> runs;
  for (uint64_t s : {0, 60, 200}) {
    const std::string out = m_dir + "/s" + std::to_string(s);
    Result r = vmsim("run " + cfg + " -q --set firmware.swap.swappiness=" + std::to_string(s) + " --out " + out);
    ASSERT_EQ(r.code, 0) << s << ": " << r.err;
    runs[s] = stats(out);
    expect_frames_conserved(runs[s]);
  }
  auto anon = [&](uint64_t s) { return stat(runs[s], "system.os.swap.reclaimed_anon"); };
  auto file = [&](uint64_t s) { return stat(runs[s], "system.os.swap.reclaimed_file"); };
  EXPECT_EQ(anon(0), 0u);
  EXPECT_EQ(stat(runs[0], "system.os.swap.swap_outs"), 0u);
  EXPECT_GT(file(0), 1000u);
  EXPECT_EQ(file(200), 0u);
  EXPECT_GT(anon(200), 4096u);
  EXPECT_GT(stat(runs[200], "system.os.swap.swap_outs"), 4096u);
  EXPECT_LT(stat(runs[0], "system.os.faults.major"), stat(runs[200], "system.os.faults.major"));
  // The default keeps the ratio while both kinds are resident (within one batch of pages).
  EXPECT_GT(anon(60), 0u);
  EXPECT_GT(file(60), anon(60));
  const double share = static_cast<double>(anon(60)) / static_cast<double>(anon(60) + file(60));
  EXPECT_NEAR(share, 0.3, 0.05) << anon(60) << " anonymous, " << file(60) << " file";
  // Out of range is refused.
  Result r = vmsim("run " + cfg + " -q --set firmware.swap.swappiness=201 --out " + m_dir + "/bad");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("firmware.swap.swappiness: bad value '201' (out of range (max 200))"), std::string::npos) << r.err;
}

TEST_F(Swap, SameSeedGivesTheSameStats) {
  const std::string cfg = write("thrash.yaml", kThrash);
  ASSERT_EQ(vmsim("run " + cfg + " -q --out " + m_dir + "/a").code, 0);
  ASSERT_EQ(vmsim("run " + cfg + " -q --out " + m_dir + "/b").code, 0);
  EXPECT_EQ(stats(m_dir + "/a")["stats"], stats(m_dir + "/b")["stats"]);
  EXPECT_EQ(slurp(m_dir + "/a/working_set.csv"), slurp(m_dir + "/b/working_set.csv"));
}

TEST_F(Swap, OtherProcessesRunWhileOneWaitsForTheDevice) {
  // A thrashing process and a compute-bound one that fits in memory share one core. The core runs the
  // second while the first sleeps on swap-ins, so the pair finishes well before the sum of their runs.
  const std::string base = with_overrides(kSwapBase, "firmware: {scheduler: {time_slice: 100000}}") + "processes:\n";
  const std::string thrash =
      "  - {name: thrash, workload: {kind: random, footprint: 48MiB, accesses: 20000, read_fraction: 0.5}}\n";
  const std::string compute =
      "  - {name: compute, workload: {kind: sequential, footprint: 1MiB, base: 0x40000000, accesses: 1500000, "
      "gap: 200}}\n";
  auto sim_ns = [&](const std::string& name, const std::string& procs) {
    const std::string out = m_dir + "/" + name;
    Result r = vmsim("run " + write(name + ".yaml", base + procs) + " -q --out " + out);
    EXPECT_EQ(r.code, 0) << r.err;
    return stats(out)["summary"]["sim_time_ns"].get<double>();
  };
  const double t_thrash = sim_ns("thrash", thrash);
  const double t_compute = sim_ns("compute", compute);
  const double t_both = sim_ns("both", thrash + compute);
  EXPECT_GT(t_compute, 0.5 * t_thrash);  // the overlap below is worth measuring
  EXPECT_GT(t_both, std::max(t_thrash, t_compute));
  EXPECT_LT(t_both, 0.75 * (t_thrash + t_compute)) << t_thrash << " " << t_compute << " " << t_both;
  nlohmann::json j = stats(m_dir + "/both");
  EXPECT_GT(stat(j, "system.os.proc0.swap_wait"), 0u);
  expect_consistent(j);
}

TEST_F(Swap, MlockedPagesAreNeverEvicted) {
  const std::string cfg = write("mlock.yaml", with_overrides(kSwapBase, R"(
firmware:
  scheduler: {time_slice: 20000}
processes:
  - name: locked
    workload: {kind: random, footprint: 4MiB, base: 0x30000000, accesses: 60000, read_fraction: 0.5}
    syscalls: [{at: 0, call: mlock, addr: 0x30000000, length: 4MiB}]
  - name: thrash
    workload: {kind: random, footprint: 40MiB, accesses: 60000, read_fraction: 0.5}
)"));
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/o");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/o");
  EXPECT_EQ(stat(j, "system.os.proc0.major_faults"), 0u);
  EXPECT_GT(stat(j, "system.os.proc1.major_faults"), 5000u);
  EXPECT_GT(stat(j, "system.os.swap.skipped_locked"), 0u);
  EXPECT_LE(stat(j, "system.os.swap.skipped_locked"), 1024u);  // each locked page is proposed at most once
  // mlock made the 1024 pages present through the fault handler: they are faults of the process, so no
  // kind of fault can outnumber the total.
  EXPECT_EQ(stat(j, "system.os.faults.populated"), 1024u);
  EXPECT_GE(stat(j, "system.os.proc0.faults"), 1024u);
  EXPECT_LE(stat(j, "system.os.faults.demand_zero"), stat(j, "system.os.faults.total"));
  EXPECT_EQ(stat(j, "system.os.faults.demand_zero") + stat(j, "system.os.faults.major") +
                stat(j, "system.os.faults.shared") + stat(j, "system.os.faults.cow_copies") +
                stat(j, "system.os.faults.cow_reuse") + stat(j, "system.os.faults.spurious"),
            stat(j, "system.os.faults.total"));
  expect_consistent(j);
}

TEST_F(Swap, OomKillerTakesTheLargestProcessAndTheRunGoesOn) {
  // 24 MiB of RAM and 1 MiB of swap for 4 + 40 MiB of written pages: somebody must go.
  const std::string cfg = write("oom.yaml", with_overrides(kSwapBase, R"(
system: {memory: {nodes: [{size: 24MiB}]}, swap: {size: 1MiB}}
firmware:
  scheduler: {time_slice: 20000}
processes:
  - name: small
    workload: {kind: random, footprint: 4MiB, accesses: 100000, read_fraction: 0.0}
  - name: big
    workload: {kind: random, footprint: 40MiB, accesses: 100000, read_fraction: 0.0}
)"));
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/o");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/o");
  ASSERT_EQ(j["kills"].size(), 1u) << j["kills"].dump();
  EXPECT_EQ(j["kills"][0]["name"], "big");
  EXPECT_EQ(j["kills"][0]["signal"], "SIGKILL");
  const std::string reason = j["kills"][0]["reason"];
  EXPECT_NE(reason.find("out of memory and swap: killed process 2 (big)"), std::string::npos) << reason;
  EXPECT_NE(r.err.find("killed by SIGKILL"), std::string::npos) << r.err;
  EXPECT_EQ(stat(j, "system.os.swap.oom_kills"), 1u);
  EXPECT_EQ(stat(j, "system.os.processes.exited"), 1u);  // small ran to its end
  EXPECT_EQ(stat(j, "system.os.swap.slots_peak"), 256u);  // swap was full
  EXPECT_GT(stat(j, "system.os.swap.swap_full"), 0u);
  expect_consistent(j);
}

TEST_F(Swap, ForkedProcessesShareSwapSlotsAndCopyOnWrite) {
  // The parent fills 16 MiB, forks, and both keep reading and writing under pressure: swap entries
  // are shared by both address spaces, a page read back for one is found in the swap cache by the other,
  // and writes break the sharing.
  const std::string cfg = write("fork.yaml", with_overrides(kSwapBase, R"(
system: {cores: 2}
processes:
  - name: parent
    core: 0
    workload: {kind: random, footprint: 16MiB, accesses: 80000, read_fraction: 0.5}
    syscalls: [{at: 40000, call: fork, child: child}]
  - name: child
    core: 1
    parent: parent
    workload: {kind: random, footprint: 16MiB, accesses: 60000, read_fraction: 0.8}
)"));
  for (const std::string mode : {"lt", "at", "functional"}) {
    Result r = vmsim("run " + cfg + " -q --set sim.mode=" + mode + " --out " + m_dir + "/" + mode);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    nlohmann::json j = stats(m_dir + "/" + mode);
    EXPECT_GT(stat(j, "system.os.swap.swap_ins"), 1000u) << mode;
    // In the functional mode the parent runs to its end before the child's core gets to run (no time
    // passes), so only the timed modes have both sides faulting on a shared slot.
    if (mode != "functional") {
      EXPECT_GT(stat(j, "system.os.swap.cache_hits"), 0u) << mode;
    }
    EXPECT_GT(stat(j, "system.os.faults.cow_copies") + stat(j, "system.os.faults.cow_reuse"), 0u) << mode;
    expect_consistent(j);
  }
}

TEST_F(Swap, NoStaleTranslationSurvivesAnEviction) {
  // FIFO evicts pages whatever their Accessed bits, so victims are often cached in a TLB, here on two
  // cores (two threads of one address space). The golden checker stops the run on any translation that
  // disagrees with the page tables, e.g. one left in a TLB after its page went to swap.
  const std::string cfg = write("threads.yaml", with_overrides(kSwapBase, R"(
system: {cores: 2}
firmware:
  swap: {policy: fifo}
processes:
  - name: main
    core: 0
    workload: {kind: random, footprint: 48MiB, accesses: 30000, read_fraction: 0.5}
    syscalls: [{at: 0, call: fork, child: thread, share_vm: true}]
  - name: thread
    core: 1
    parent: main
    workload: {kind: random, footprint: 48MiB, accesses: 30000, read_fraction: 0.5}
)"));
  for (const std::string mode : {"lt", "at"}) {
    Result r = vmsim("run " + cfg + " -q --set sim.mode=" + mode + " --out " + m_dir + "/" + mode);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    nlohmann::json j = stats(m_dir + "/" + mode);
    EXPECT_GT(stat(j, "system.os.swap.swap_outs"), 5000u) << mode;
    EXPECT_GT(stat(j, "system.os.tlb.shootdowns"), 50u) << mode;  // one per reclaim pass, batched
    EXPECT_GT(stat(j, "system.core1.ipis_received"), 50u) << mode;
    expect_consistent(j);
  }
}

TEST_F(Swap, EveryPolicyRunsAndTheyDiffer) {
  const std::string cfg = write("thrash.yaml", kThrash);
  // Small enough for the scanning policies (enhanced clock examines every page per victim when most are
  // dirty): 16 MiB of RAM, 24 MiB touched.
  std::set<uint64_t> distinct;
  for (const std::string policy :
       {"fifo", "lru", "clock", "eclock", "lfu", "ws", "wsclock", "active_inactive", "random"}) {
    const std::string out = m_dir + "/" + policy;
    Result r = vmsim("run " + cfg + " -q --set sim.mode=functional --set firmware.swap.policy=" + policy +
                     " --set firmware.swap.scan_period=5000 --set 'system.memory.nodes=[{size: 16MiB}]'" +
                     " --set processes.0.workload.footprint=24MiB --set processes.0.workload.accesses=20000 --out " +
                     out);
    ASSERT_EQ(r.code, 0) << policy << ": " << r.err;
    nlohmann::json j = stats(out);
    expect_consistent(j);
    EXPECT_GT(stat(j, "system.os.swap.swap_ins"), 3000u) << policy;
    distinct.insert(stat(j, "system.os.swap.swap_ins"));
  }
  EXPECT_GE(distinct.size(), 5u);
}

TEST_F(Swap, HardDiskSwapIsSlowerThanNvme) {
  const std::string cfg = write("thrash.yaml", kThrash);
  ASSERT_EQ(vmsim("run " + cfg + " -q --set processes.0.workload.accesses=10000 --out " + m_dir + "/n").code, 0);
  ASSERT_EQ(vmsim("run " + cfg + " -q --set processes.0.workload.accesses=10000 --set system.swap.device.preset=hdd" +
                  " --set system.swap.device.capacity=64GiB --out " + m_dir + "/h")
                .code,
            0);
  const nlohmann::json n = stats(m_dir + "/n"), h = stats(m_dir + "/h");
  EXPECT_EQ(stat(n, "system.os.swap.swap_ins"), stat(h, "system.os.swap.swap_ins"));
  EXPECT_GT(stat(h, "system.os.swap.blocked_time"), 20 * stat(n, "system.os.swap.blocked_time"));
  EXPECT_GT(stat(h, "system.swap.seeks"), 0u);
}

TEST_F(Swap, WorkingSetOfAStridedLoopIsItsPageCount) {
  // 256 pages touched in turn, one access each: every sample window of 10,000 operations sees them all.
  const std::string cfg = write("ws.yaml", with_overrides(kSwapBase, R"(
sim: {mode: functional}
system: {memory: {nodes: [{size: 64MiB}]}, swap: {size: 64MiB}}
firmware:
  swap: {scan_period: 10000, tau: 10000}
processes:
  - name: loop
    workload: {kind: strided, stride: 4KiB, footprint: 1MiB, accesses: 100000}
)"));
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/o");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/o");
  EXPECT_EQ(stat(j, "system.os.proc0.working_set_peak"), 256u);
  EXPECT_DOUBLE_EQ(statd(j, "system.os.proc0.working_set_mean"), 256.0);
  EXPECT_EQ(stat(j, "system.os.swap.ab_scans"), 10u);  // the timer fires every 10,000 operations
  const std::string csv = slurp(m_dir + "/o/working_set.csv");
  EXPECT_EQ(csv.rfind("memory_ops,process,name,pages\n", 0), 0u) << csv;
  EXPECT_NE(csv.find(",0,loop,256\n"), std::string::npos) << csv;
}

TEST_F(Swap, SwapNeedsRadixTablesAndOneOperationInFlight) {
  const std::string cfg = write("thrash.yaml", kThrash);
  const std::vector<BadSets> cases = {
      {{"system.core.mmu.walker.format=hashed"},
       "system.swap.enabled: bad value 'true' (swapping needs system.core.mmu.walker.format radix"},
      {{"sim.mode=at", "system.core.outstanding=4"},
       "system.core.outstanding: bad value '4' (with system.swap.enabled the core must have one operation in flight)"},
      {{"firmware.swap.policy=opt"}, "firmware.swap.policy: bad value 'opt'"},
      {{"firmware.swap.batch=0"}, "firmware.swap.batch: bad value '0'"},
  };
  expect_config_errors(cfg, cases);
}

}  // namespace
}  // namespace vmsim_system_test
