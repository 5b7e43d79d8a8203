// System tests of process migration and automatic NUMA balancing: a process moved to the other socket turns
// its local accesses remote; NUMA balancing migrates its pages after it and the remote accesses fall; the
// load balancer moves a waiting process to an idle core. Golden checker, data checker and the contents check
// at exit are on in every run, so a lost or misplaced page fails the run.
#include "tests/system/system_fixture.hpp"

namespace vmsim_system_test {
namespace {

// Two sockets with one core and one NUMA node each, PCIDs on (a core keeps other address spaces' entries); `mover` reads and writes 4 MiB (1024 pages) at random.
const std::string kBase = R"(
sim: {mode: lt, seed: 1, checker: true, check_data: true}
system:
  cores: 2
  sockets: 2
  core: {mmu: {pcid: true}}
  interconnect: {distance: [[10, 21], [21, 10]]}
  memory:
    nodes: [{base: 0x0, size: 512MiB}, {base: 0x20000000, size: 512MiB}]
firmware:
  check_contents: true
  numa_balancing: {enabled: false, scan_period: 10000, scan_size: 4MiB}
processes:
  - name: mover
    core: 0
    workload: {kind: random, footprint: 4MiB, accesses: 200000, read_fraction: 0.5}
)";

// Moved to core 1 (socket 1) after 50000 of its 200000 operations.
const std::string kMoved = with_overrides(kBase, R"(
processes:
  - name: mover
    core: 0
    workload: {kind: random, footprint: 4MiB, accesses: 200000, read_fraction: 0.5}
    migrations: [{at: 50000, core: 1}]
)");

class Migration : public System {
 protected:
  nlohmann::json run(const std::string& name, const std::string& config, const std::string& sets = "") {
    const std::string cfg = write(name + ".yaml", config);
    const std::string out = m_dir + "/" + name;
    Result r = vmsim("run " + cfg + " -q --out " + out + sets);
    EXPECT_EQ(r.code, 0) << name << ": " << r.err;
    nlohmann::json j = stats(out);
    // The data survived: every word the process left in memory is its own virtual address or zero.
    EXPECT_EQ(stat(j, "system.os.proc0.contents_other"), 0u) << name;
    EXPECT_GT(stat(j, "system.os.proc0.contents_own_va"), 0u) << name;
    expect_frames_conserved(j);
    return j;
  }
};

TEST_F(Migration, MovingToTheOtherSocketTurnsAccessesRemoteAndBalancingBringsThePagesBack) {
  const nlohmann::json stay = run("stay", kBase);
  const nlohmann::json moved = run("moved", kMoved);
  const nlohmann::json balanced = run("balanced", kMoved, " --set firmware.numa_balancing.enabled=true");

  // Without a move every access is local (first touch put every page on node 0, where core 0 is).
  EXPECT_EQ(stat(stay, "system.os.proc0.accesses_remote"), 0u);
  EXPECT_EQ(stat(stay, "system.os.proc0.accesses_local"), 200000u);

  // Moved: the 50000 operations before the move were local, the 150000 after it remote (the 1024 pages were
  // all touched before the move: 50000 random touches leave a page untouched with probability e^-49).
  EXPECT_EQ(stat(moved, "system.os.proc0.accesses_local"), 50000u);
  EXPECT_EQ(stat(moved, "system.os.proc0.accesses_remote"), 150000u);
  EXPECT_EQ(stat(moved, "system.os.proc0.migrations"), 1u);
  EXPECT_EQ(stat(moved, "system.core0.migration.out"), 1u);
  EXPECT_EQ(stat(moved, "system.core1.migration.in"), 1u);
  // The new core started cold: it walked for every page it touched (at least one miss per page, which the
  // old core, whose TLBs had the translations, did not need again).
  EXPECT_GE(stat(moved, "system.core1.mmu.tlb.misses"), 1024u);
  EXPECT_GT(stat(moved, "system.core0.migration.tlb_entries_dropped"), 0u);  // the old core's entries went
  EXPECT_GT(stat(moved, "system.interconnect.s1_n0.requests"), 150000u / 2);

  // Balanced: the scans (every 10000 operations, the whole 4 MiB each time) make every page take a hint
  // fault per interval; after the move a page migrates at its second hint fault from node 1, i.e. in the
  // second interval after the move. So about 15000 of the 150000 operations after it stay remote: we
  // expect at most a quarter of the unbalanced count (a 2.5x margin over the estimate).
  const uint64_t remote = stat(balanced, "system.os.proc0.accesses_remote");
  EXPECT_LT(remote, 150000u / 4);
  EXPECT_GT(remote, 0u);
  EXPECT_EQ(stat(balanced, "system.os.proc0.accesses_local") + remote, 200000u);
  const uint64_t migrated = stat(balanced, "system.os.numa_balancing.pages_migrated");
  EXPECT_GE(migrated, 1000u);  // of 1024 pages: each is touched ~10 times per interval
  EXPECT_LE(migrated, 1024u);  // each page moves once: back home on node 1, its hint faults are local
  EXPECT_EQ(stat(balanced, "system.os.numa_balancing.migrate_failed"), 0u);
  EXPECT_EQ(stat(balanced, "system.os.numa_balancing.rate_limited"), 0u);
  // Before the move the hint faults were local (4 intervals of ~1024); each migration needed two remote ones.
  EXPECT_GE(stat(balanced, "system.os.numa_balancing.hint_faults_local"), 3000u);
  EXPECT_GE(stat(balanced, "system.os.numa_balancing.hint_faults_remote"), 2 * migrated);
  EXPECT_EQ(stat(balanced, "system.os.numa_balancing.hint_faults"),
            stat(balanced, "system.os.numa_balancing.hint_faults_local") +
                stat(balanced, "system.os.numa_balancing.hint_faults_remote"));
  EXPECT_GT(stat(balanced, "system.os.numa_balancing.migrate_cycles"), 0u);
  EXPECT_GT(stat(balanced, "system.os.numa_balancing.scans"), 15u);
}

TEST_F(Migration, PresetMovesTheProcessAndItsPagesInEveryMode) {
  // configs/presets/numa-migrate.yaml: 8 MiB (2048 pages) moved after 150000 of 600000 operations, scans
  // every 50000. Every mode migrates every page; the functional mode has no time, so only the counts of
  // operations place the scans, and lt and at differ from it by a few accesses at most (a scan requested
  // at an access runs at the core's next boundary).
  for (const std::string mode : {"functional", "lt", "at"}) {
    const std::string out = m_dir + "/" + mode;
    Result r = vmsim(std::string("run ") + VMSIM_SOURCE_DIR "/configs/presets/numa-migrate.yaml -q --set sim.mode=" + mode +
                     " --out " + out);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    const nlohmann::json j = stats(out);
    EXPECT_EQ(stat(j, "system.os.numa_balancing.pages_migrated"), 2048u) << mode;
    EXPECT_EQ(stat(j, "system.os.proc0.contents_other"), 0u) << mode;
    EXPECT_EQ(stat(j, "system.os.proc0.migrations"), 1u) << mode;
    // Remote: the operations between the move and the second scan after it (50000), within 1 %.
    const uint64_t remote = stat(j, "system.os.proc0.accesses_remote");
    EXPECT_GE(remote, 49500u) << mode;
    EXPECT_LE(remote, 50500u) << mode;
    expect_frames_conserved(j);
  }
}

TEST_F(Migration, PagesPlacedByAPolicyOfTheirOwnStay) {
  // Bound to node 0 (numactl --membind=0): after the move the hint faults come from node 1, but the policy
  // placed the pages, so they stay (Linux migrates only pages under the default policy); accesses stay remote.
  const nlohmann::json j = run("bound", with_overrides(kMoved, R"(
processes:
  - name: mover
    core: 0
    numa: {policy: bind, nodes: "0"}
    workload: {kind: random, footprint: 4MiB, accesses: 200000, read_fraction: 0.5}
    migrations: [{at: 50000, core: 1}]
)"), " --set firmware.numa_balancing.enabled=true");
  EXPECT_GT(stat(j, "system.os.numa_balancing.hint_faults_remote"), 1000u);
  EXPECT_EQ(stat(j, "system.os.numa_balancing.pages_migrated"), 0u);
  EXPECT_EQ(stat(j, "system.os.proc0.accesses_remote"), 150000u);
}

TEST_F(Migration, RateLimitCapsThePagesMovedPerWindow) {
  // 1 MB/s: 100000 bytes per 100 ms window, i.e. 24 pages of 4 KiB; the run lasts far less than 100 ms.
  const nlohmann::json j =
      run("limited", kMoved,
          " --set firmware.numa_balancing.enabled=true --set firmware.numa_balancing.rate_limit_mbps=1");
  ASSERT_LT(j["summary"]["sim_time_ps"].get<uint64_t>(), 100000000000u);
  EXPECT_EQ(stat(j, "system.os.numa_balancing.pages_migrated"), 24u);
  EXPECT_GT(stat(j, "system.os.numa_balancing.rate_limited"), 900u);
  EXPECT_GT(stat(j, "system.os.proc0.accesses_remote"), 140000u);
}

TEST_F(Migration, RunsAreDeterministic) {
  const std::string cfg = write("det.yaml", kMoved);
  std::string first;
  for (int k = 0; k < 2; ++k) {
    const std::string out = m_dir + "/det" + std::to_string(k);
    Result r = vmsim("run " + cfg + " -q --out " + out + " --set firmware.numa_balancing.enabled=true");
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string text = slurp(out + "/stats.json");
    if (k == 0) {
      first = text;
    } else {
      EXPECT_EQ(text, first);
    }
  }
}

// Core 0 has three processes, core 1 none; each runs to its end (no time slice).
const std::string kCrowded = with_overrides(kBase, R"(
firmware:
  scheduler: {load_balance: {enabled: true, period: 5000, threshold: 2}}
processes:
  - {name: a, core: 0, workload: {kind: random, footprint: 2MiB, accesses: 40000, read_fraction: 0.5}}
  - {name: b, core: 0, workload: {kind: random, footprint: 2MiB, accesses: 40000, read_fraction: 0.5}}
  - {name: c, core: 0, workload: {kind: random, footprint: 2MiB, accesses: 40000, read_fraction: 0.5}}
)");

TEST_F(Migration, LoadBalancerMovesAWaitingProcessToTheIdleCore) {
  const std::string cfg = write("crowded.yaml", kCrowded);
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/lb");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = stats(m_dir + "/lb");
  r = vmsim("run " + cfg + " -q --out " + m_dir + "/nolb --set firmware.scheduler.load_balance.enabled=false");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json off = stats(m_dir + "/nolb");
  // Loads 3 and 0: the last waiting process (c, not created yet) moves; then 2 and 1 are within the threshold.
  EXPECT_EQ(stat(j, "system.core0.migration.out"), 1u);
  EXPECT_EQ(stat(j, "system.core1.migration.in"), 1u);
  EXPECT_EQ(stat(j, "system.os.proc2.migrations"), 1u);
  EXPECT_EQ(stat(j, "system.os.proc0.migrations") + stat(j, "system.os.proc1.migrations"), 0u);
  // c was created on core 1: first touch placed its pages on node 1, its accesses are local.
  EXPECT_EQ(stat(j, "system.os.proc2.accesses_remote"), 0u);
  EXPECT_EQ(stat(j, "system.os.proc2.pages_node1"), 512u);
  EXPECT_EQ(stat(j, "system.core1.accesses"), 40000u);
  // Two cores share the work: a and b in sequence on core 0 while c runs on core 1, so the run takes about
  // 2/3 of the time of all three on core 0 (at most 80 %).
  EXPECT_LT(j["summary"]["sim_time_ps"].get<double>(), 0.8 * off["summary"]["sim_time_ps"].get<double>());

  // With a time slice every process is created at once; the moved one (c again) keeps its pages on node 0,
  // so after the move its accesses are remote.
  r = vmsim("run " + cfg + " -q --out " + m_dir + "/sliced --set firmware.scheduler.time_slice=20000");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json s = stats(m_dir + "/sliced");
  EXPECT_EQ(stat(s, "system.core1.migration.in"), 1u);
  EXPECT_EQ(stat(s, "system.os.proc2.migrations"), 1u);
  EXPECT_GT(stat(s, "system.os.proc2.accesses_remote"), 0u);
  expect_frames_conserved(s);
}

TEST_F(Migration, BadSchedulesAndKeysAreRefused) {
  const std::string cfg = write("bad.yaml", kBase);
  expect_config_errors(cfg, {
      {{"processes[0].migrations=[{at: 10, core: 2}]"}, "processes[0].migrations[0].core: bad value '2' (no such core"},
      {{"processes[0].migrations=[{at: 10, core: 0}]"}, "processes[0].migrations[0].core: bad value '0' (the process is on that core already)"},
      {{"processes[0].migrations=[{at: 10, core: 1}, {at: 10, core: 0}]"}, "processes[0].migrations[1].at: bad value '10' (must be larger"},
      {{"processes[0].migrations=[{at: 10, cpu: 1}]"}, "cpu"},
      {{"firmware.scheduler.load_balance.enabled=true", "firmware.scheduler.load_balance.threshold=1"},
       "firmware.scheduler.load_balance.threshold: bad value '1'"},
      {{"firmware.numa_balancing.enabled=true", "firmware.numa_balancing.scan_size=100"},
       "firmware.numa_balancing.scan_size: bad value"},
      {{"firmware.numa_balancing.enabled=true", "firmware.numa_balancing.scan_period=0"},
       "firmware.numa_balancing.scan_period: bad value '0'"},
      {{"firmware.numa_balancing.enabled=true", "system.core.mmu.walker.format=hashed"},
       "firmware.numa_balancing.enabled: bad value 'true' (NUMA hint entries need"},
      {{"firmware.numa_balancing.scan_perod=5"}, "scan_perod"},
  });
}

}  // namespace
}  // namespace vmsim_system_test
