// System tests of memory tiering (firmware.tiering): reclaim on the fast node demotes cold pages to the slow
// (CXL) node instead of swapping them, with and without a swap device; hot pages on the slow node come back
// on their hint faults, within the rate limit; bad keys are refused; runs are deterministic. Golden checker,
// data checker and the contents check at exit are on in every run, so a lost or misplaced page fails it.
#include "tests/system/system_fixture.hpp"

namespace vmsim_system_test {
namespace {

// One socket: node 0 is 32 MiB of DDR (fast, no DMA zone, so all of it counts against its watermarks), node
// 1 a 128 MiB CXL expander (slow by `tier: auto`). `cold` walks 40 MiB one page per access, twice; `hot`
// reads and writes 4 MiB at random. Together they need more than node 0 holds.
const std::string kBase = R"(
sim: {mode: lt, seed: 1, checker: true, check_data: true}
system:
  cores: 2
  sockets: 1
  interconnect: {distance: [[10, 14]]}
  memory:
    nodes:
      - {size: 32MiB}
      - {size: 128MiB, cpus: false, attach: cxl}
  swap: {enabled: true, size: 64MiB, device: {preset: nvme}}
firmware:
  check_contents: true
  physmem: {dma_limit: 0}
  swap: {scan_period: 20000}
  numa_balancing: {scan_period: 20000, scan_size: 64MiB}
  tiering: {enabled: true, hot_threshold: 1ms}
processes:
  - {name: hot, core: 0, workload: {kind: random, footprint: 4MiB, accesses: 100000, read_fraction: 0.5}}
  - {name: cold, core: 1, workload: {kind: strided, stride: 4KiB, footprint: 40MiB, accesses: 20480, read_fraction: 0.5}}
)";

// One core, 64 MiB on each node; `hot` is bound to the slow node until it has touched all of its 4 MiB
// (1024 pages; 20000 random touches miss one with probability e^-19.5), then mbind makes the area's policy
// local: from then on its pages are misplaced (a policy of their own keeps pages where it put them).
const std::string kMisplaced = R"(
sim: {mode: lt, seed: 1, checker: true, check_data: true}
system:
  cores: 1
  interconnect: {distance: [[10, 14]]}
  memory:
    nodes:
      - {size: 64MiB}
      - {size: 64MiB, cpus: false, attach: cxl}
firmware:
  check_contents: true
  physmem: {dma_limit: 0}
  numa_balancing: {scan_period: 20000, scan_size: 64MiB}
  tiering: {enabled: true, hot_threshold: 1ms}
processes:
  - name: hot
    core: 0
    numa: {policy: bind, nodes: "1"}
    workload: {kind: random, footprint: 4MiB, accesses: 200000, read_fraction: 0.5}
    syscalls: [{at: 20000, call: mbind, addr: 0x10000000, length: 4MiB, policy: local}]
)";

class Tiering : public System {
 protected:
  nlohmann::json run(const std::string& name, const std::string& config, const std::string& sets = "") {
    const std::string cfg = write(name + ".yaml", config);
    const std::string out = m_dir + "/" + name;
    Result r = vmsim("run " + cfg + " -q --out " + out + sets);
    EXPECT_EQ(r.code, 0) << name << ": " << r.err;
    nlohmann::json j = stats(out);
    for (const char* p : {"proc0", "proc1"}) {
      if (!j["stats"].contains(std::string("system.os.") + p + ".contents_other")) continue;
      // The data survived: every word a process left in memory is its own virtual address or zero.
      EXPECT_EQ(stat(j, std::string("system.os.") + p + ".contents_other"), 0u) << name << " " << p;
      EXPECT_GT(stat(j, std::string("system.os.") + p + ".contents_own_va"), 0u) << name << " " << p;
    }
    expect_frames_conserved(j);
    return j;
  }
};

TEST_F(Tiering, DemotionMovesColdPagesToTheSlowNodeInsteadOfSwapping) {
  const nlohmann::json swapping = run("swapping", kBase, " --set firmware.tiering.enabled=false");
  const nlohmann::json tiered = run("tiered", kBase);
  const nlohmann::json noswap = run("noswap", kBase, " --set system.swap.enabled=false");

  // Without tiering, pressure on node 0 swaps (reclaim runs there; node 1 has room but reclaim does not use it).
  EXPECT_GT(stat(swapping, "system.os.swap.swap_outs"), 1000u);
  EXPECT_FALSE(swapping["stats"].contains("system.os.tiering.pages_demoted"));

  // With it, the same victims go to node 1: no swap-out at all, since node 1 always had room.
  EXPECT_EQ(stat(tiered, "system.os.swap.swap_outs"), 0u);
  EXPECT_EQ(stat(tiered, "system.os.swap.reclaimed"), 0u);
  EXPECT_GT(stat(tiered, "system.os.tiering.pages_demoted"), 1000u);
  EXPECT_EQ(stat(tiered, "system.os.tiering.demote_failed"), 0u);
  EXPECT_GT(stat(tiered, "system.os.tiering.demote_cycles"), 0u);
  // The demoted pages were `cold`'s: its second pass finds many of its 10240 pages on node 1 (remote).
  EXPECT_GT(stat(tiered, "system.os.proc1.accesses_remote"), 2000u);
  EXPECT_GT(stat(tiered, "system.node1.reads"), 2000u);
  // Every page was first placed on node 0 (reclaim made room there); only demotion put pages on node 1.
  EXPECT_EQ(stat(tiered, "system.os.proc1.pages_node1"), 0u);

  // Without a swap device demotion works the same, and nothing is killed.
  EXPECT_GT(stat(noswap, "system.os.tiering.pages_demoted"), 1000u);
  EXPECT_EQ(stat(noswap, "system.os.swap.oom_kills"), 0u);
  EXPECT_GT(stat(noswap, "system.os.proc1.accesses_remote"), 2000u);
}

TEST_F(Tiering, ShortTargetFallsBackToSwap) {
  // The slow node is only 16 MiB: once it is at its min watermark, demotion fails and reclaim swaps.
  const nlohmann::json j = run("short", kBase, " --set system.memory.nodes.1.size=16MiB");
  EXPECT_GT(stat(j, "system.os.tiering.pages_demoted"), 0u);
  EXPECT_GT(stat(j, "system.os.tiering.demote_failed"), 0u);
  EXPECT_GT(stat(j, "system.os.swap.swap_outs"), 0u);
}

TEST_F(Tiering, PromotionBringsTheHotSetToTheFastNode) {
  const nlohmann::json off = run("nopromo", kMisplaced, " --set firmware.tiering.promotion=false");
  const nlohmann::json on = run("promo", kMisplaced);
  // Without promotion every page stays on the slow node: every access is remote.
  EXPECT_EQ(stat(off, "system.os.proc0.pages_node1"), 1024u);
  EXPECT_EQ(stat(off, "system.os.proc0.accesses_remote"), 200000u);
  EXPECT_FALSE(off["stats"].contains("system.os.numa_balancing.scans"));  // no scan without promotion
  // With it, every page is hot (touched within 1 ms of its scan: 4 MiB at random, ~1 us per access) and
  // moves once the mbind has made it misplaced; the remote accesses fall to those before it and shortly after.
  EXPECT_EQ(stat(on, "system.os.tiering.pages_promoted"), 1024u);
  EXPECT_EQ(stat(on, "system.os.tiering.promote_watermark_refused"), 0u);
  EXPECT_LT(stat(on, "system.os.proc0.accesses_remote"), 40000u);
  EXPECT_GT(stat(on, "system.os.proc0.accesses_local"), 160000u);
  EXPECT_GT(stat(on, "system.os.tiering.promote_cycles"), 0u);
  // Only slow-tier pages were hinted (NUMA balancing itself is off): no hint fault on node 0.
  EXPECT_EQ(stat(on, "system.os.numa_balancing.hint_faults_local"), 0u);
  EXPECT_EQ(stat(on, "system.os.numa_balancing.pages_migrated"), 0u);
  EXPECT_LT(on["summary"]["sim_time_ps"].get<double>(), 0.5 * off["summary"]["sim_time_ps"].get<double>());

  // A hot threshold far below the re-touch interval makes no page hot: nothing moves.
  const nlohmann::json cold = run("cold", kMisplaced, " --set firmware.tiering.hot_threshold=100ns");
  EXPECT_EQ(stat(cold, "system.os.tiering.pages_promoted"), 0u);
  EXPECT_EQ(stat(cold, "system.os.tiering.promote_not_hot"), stat(cold, "system.os.tiering.promote_candidates"));
  EXPECT_GT(stat(cold, "system.os.tiering.promote_candidates"), 1024u);
  EXPECT_EQ(stat(cold, "system.os.proc0.accesses_remote"), 200000u);
}

TEST_F(Tiering, RateLimitCapsThePagesPromotedPerWindow) {
  // 1 MB/s: 100000 bytes per 100 ms window, i.e. 24 pages; the run lasts less than 100 ms.
  const nlohmann::json j = run("limited", kMisplaced, " --set firmware.tiering.promote_rate_limit_mbps=1");
  ASSERT_LT(j["summary"]["sim_time_ps"].get<uint64_t>(), 100000000000u);
  EXPECT_EQ(stat(j, "system.os.tiering.pages_promoted"), 24u);
  EXPECT_GT(stat(j, "system.os.tiering.promote_rate_limited"), 1000u);
  EXPECT_GT(stat(j, "system.os.proc0.accesses_remote"), 180000u);
}

TEST_F(Tiering, PresetRunsInEveryModeWithItsDataIntact) {
  // configs/presets/tiering.yaml (the study's base): demotion happens in every mode, promotion with time.
  for (const std::string mode : {"functional", "lt", "at"}) {
    const std::string out = m_dir + "/" + mode;
    Result r = vmsim(std::string("run ") + VMSIM_SOURCE_DIR "/configs/presets/tiering.yaml -q --set sim.mode=" + mode +
                     " --out " + out);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    const nlohmann::json j = stats(out);
    EXPECT_GT(stat(j, "system.os.tiering.pages_demoted"), 1000u) << mode;
    // The functional mode runs `stream` to its end before `hot` starts (no time passes), so no hot page
    // waits on the slow node there; lt and at run them side by side and promote.
    if (mode != "functional") {
      EXPECT_GT(stat(j, "system.os.tiering.pages_promoted"), 0u) << mode;
    }
    EXPECT_EQ(stat(j, "system.os.proc0.contents_other"), 0u) << mode;
    EXPECT_EQ(stat(j, "system.os.proc1.contents_other"), 0u) << mode;
    expect_frames_conserved(j);
  }
}

TEST_F(Tiering, RunsAreDeterministic) {
  const std::string cfg = write("det.yaml", kBase);
  std::string first;
  for (int k = 0; k < 2; ++k) {
    const std::string out = m_dir + "/det" + std::to_string(k);
    Result r = vmsim("run " + cfg + " -q --out " + out);
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string text = slurp(out + "/stats.json");
    if (k == 0) {
      first = text;
    } else {
      EXPECT_EQ(text, first);
    }
  }
}

TEST_F(Tiering, BadKeysAreRefused) {
  const std::string cfg = write("bad.yaml", kBase);
  expect_config_errors(cfg, {
      {{"system.memory.nodes.1.tier=fast"}, "firmware.tiering.enabled: bad value 'true' (tiering needs a fast and a slow node, and every node is fast"},
      {{"system.memory.nodes.0.tier=slow", "system.memory.nodes.1.tier=slow"}, "every node is slow"},
      {{"system.memory.nodes.1.tier=slower"}, "system.memory.nodes[1].tier: bad value 'slower'"},
      {{"firmware.tiering.hot_treshold=1ms"}, "hot_treshold"},
      {{"firmware.tiering.hot_threshold=fast"}, "firmware.tiering.hot_threshold: bad value 'fast'"},
      {{"firmware.tiering.promote_rate_limit_mbps=-1"}, "firmware.tiering.promote_rate_limit_mbps: bad value '-1'"},
      {{"firmware.numa_balancing.scan_period=0"}, "firmware.numa_balancing.scan_period: bad value '0'"},
      {{"system.core.mmu.walker.format=hashed", "system.swap.enabled=false"},
       "firmware.tiering.enabled: bad value 'true' (tiering needs system.core.mmu.walker.format radix"},
  });
}

}  // namespace
}  // namespace vmsim_system_test
