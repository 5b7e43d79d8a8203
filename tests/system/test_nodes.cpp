// System tests of per-node memory types: a CXL-attached node's latency is local memory plus its link
// (closed form, caches off), the link saturates at its bandwidth, CPU-less nodes take pages only by
// policy (or when the local node is full), the two presets run in every mode with the golden and data
// checkers, and bad node configurations are refused with one-line errors.
#include "tests/system/system_fixture.hpp"

namespace {

using namespace vmsim_system_test;

using Nodes = System;

// One core, a local node and a CPU-less CXL node, with the fixed memory model (60 ns + bytes / 12.8 GB/s,
// no state), caches off, golden and data checkers on. The link: 100 ns each way, 16 GB/s (62.5 ps a byte,
// so every serialization is exact in femtoseconds). The firmware's accesses are physical
// (kernel_virtual_access false): through the direct map, its TLB misses would depend on which 2 MiB pages
// of it the frames lie in, and the two runs below would differ by more than the link.
const std::string kCxl = R"(
sim: {mode: lt, seed: 1, checker: true, check_data: true}
firmware: {kernel_virtual_access: false}
system:
  cores: 1
  sockets: 1
  caches: none
  interconnect: {latency: 5ns, distance: [[10, 14]]}
  memory:
    model: fixed
    latency: 60ns
    bandwidth_mbps: 12800
    nodes:
      - {size: 64MiB}
      - {size: 64MiB, cpus: false, attach: cxl, cxl: {latency: 100ns, bandwidth_mbps: 16000}}
processes:
  - {name: p, core: 0, numa: {policy: bind, nodes: "1"},
     workload: {kind: random, footprint: 1MiB, accesses: 20000, read_fraction: 0.7}}
)";

TEST_F(Nodes, CxlNodeLatencyIsLocalMemoryPlusTheLink) {
  const std::string cfg = write("cxl.yaml", kCxl);
  // The same run with the data on the local node, then on the CXL node (page tables stay local in both).
  Result local = vmsim("run " + cfg + " -q --set processes.0.numa.nodes=0 --out " + m_dir + "/local");
  ASSERT_EQ(local.code, 0) << local.err;
  Result far = vmsim("run " + cfg + " --out " + m_dir + "/far");
  ASSERT_EQ(far.code, 0) << far.err;
  nlohmann::json l = stats(m_dir + "/local");
  nlohmann::json f = stats(m_dir + "/far");
  EXPECT_EQ(stat(l, "system.cxl1.transfers"), 0u);
  const uint64_t transfers = stat(f, "system.cxl1.transfers");
  const uint64_t bytes = stat(f, "system.cxl1.bytes_to_device") + stat(f, "system.cxl1.bytes_to_host");
  // Every access of the process reaches the CXL node (plus the firmware's zeroing of its frames).
  EXPECT_EQ(transfers, stat(f, "system.node1.reads") + stat(f, "system.node1.writes"));
  EXPECT_GE(transfers, 20000u);
  // Read: a 16-byte header to the device, header + data back; write: header + data, header back.
  EXPECT_EQ(bytes, 2 * 16 * transfers + stat(f, "system.cxl1.data_bytes"));
  // One access at a time: nothing queues, and each transaction gains exactly 2 x 100 ns + its bytes at
  // 62.5 ps each.
  EXPECT_EQ(statd(f, "system.cxl1.queue_wait"), 0.0);
  EXPECT_NEAR(statd(f, "system.cxl1.added_latency"), 200.0 + 0.0625 * double(bytes) / double(transfers), 1e-9);
  // The core sees that and nothing else: the run is longer by exactly the link's time.
  const uint64_t diff = f["summary"]["sim_time_ps"].get<uint64_t>() - l["summary"]["sim_time_ps"].get<uint64_t>();
  EXPECT_EQ(diff * 10, transfers * 2000000 + bytes * 625);
  EXPECT_EQ(f["summary"]["accesses"], l["summary"]["accesses"]);
  // The summary names the nodes.
  ASSERT_TRUE(f["summary"].contains("memory_nodes"));
  EXPECT_EQ(f["summary"]["memory_nodes"][1]["attach"], "cxl");
  EXPECT_EQ(f["summary"]["memory_nodes"][1]["cpus"], false);
  EXPECT_EQ(f["summary"]["memory_nodes"][1]["cxl_transfers"], transfers);
  EXPECT_NE(far.out.find("node 1 (CXL, no CPUs)"), std::string::npos) << far.out;
}

TEST_F(Nodes, CxlLinkSaturatesAtItsBandwidth) {
  // Four cores stream reads to the CXL node; at 250 MB/s the link, not the memory, sets the pace.
  const std::string cfg = write("sat.yaml", with_overrides(kCxl, R"(
sim: {check_data: false}
system:
  cores: 4
  memory: {model: dram, dram: {preset: DDR5-4800B}, nodes: [{size: 64MiB},
           {size: 64MiB, cpus: false, attach: cxl, cxl: {latency: 100ns, bandwidth_mbps: 250}}]}
processes:
  - {name: a, core: 0, numa: {policy: bind, nodes: "1"}, workload: {kind: sequential, footprint: 64KiB, accesses: 4000, read_fraction: 1, access_size: 64, stride: 64}}
  - {name: b, core: 1, numa: {policy: bind, nodes: "1"}, workload: {kind: sequential, footprint: 64KiB, accesses: 4000, read_fraction: 1, access_size: 64, stride: 64}}
  - {name: c, core: 2, numa: {policy: bind, nodes: "1"}, workload: {kind: sequential, footprint: 64KiB, accesses: 4000, read_fraction: 1, access_size: 64, stride: 64}}
  - {name: d, core: 3, numa: {policy: bind, nodes: "1"}, workload: {kind: sequential, footprint: 64KiB, accesses: 4000, read_fraction: 1, access_size: 64, stride: 64}}
)"));
  for (const char* mode : {"lt", "at"}) {
    const std::string slow = m_dir + "/slow_" + mode, fast = m_dir + "/fast_" + mode;
    Result r = vmsim("run " + cfg + " -q --set sim.mode=" + mode + " --out " + slow);
    ASSERT_EQ(r.code, 0) << r.err;
    r = vmsim("run " + cfg + " -q --set sim.mode=" + mode +
              " --set system.memory.nodes.1.cxl.bandwidth_mbps=1000000 --out " + fast);
    ASSERT_EQ(r.code, 0) << r.err;
    nlohmann::json s = stats(slow), q = stats(fast);
    const double end_ps = static_cast<double>(s["summary"]["sim_time_ps"].get<uint64_t>());
    // The device-to-host direction (64-byte reads: 80 bytes each) is busy most of the run (the rest is the
    // page zeroing of the first accesses, which loads the other direction), and requests
    // queue for it.
    EXPECT_GT(static_cast<double>(stat(s, "system.cxl1.busy_to_host")) / end_ps, 0.75) << mode;  // lt 0.80, at 0.83
    EXPECT_GT(statd(s, "system.cxl1.queue_wait"), 100.0) << mode;
    // Bytes over time cannot beat the link's 250 MB/s in that direction.
    EXPECT_LE(static_cast<double>(stat(s, "system.cxl1.bytes_to_host")) / (end_ps * 1e-12), 250e6 * 1.0001) << mode;
    // A fast link: no queueing to speak of, and the run is several times shorter.
    EXPECT_LT(statd(q, "system.cxl1.queue_wait"), 5.0) << mode;
    EXPECT_GT(end_ps, 3.0 * static_cast<double>(q["summary"]["sim_time_ps"].get<uint64_t>())) << mode;
  }
}

TEST_F(Nodes, CpuLessNodeTakesPagesOnlyByPolicyOrWhenLocalIsFull) {
  const std::string preset = VMSIM_SOURCE_DIR "/configs/presets/hbm-flat.yaml";
  Result r = vmsim("run " + preset + " -q --set sim.mode=functional --set sim.check_data=true --out " + m_dir + "/a");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/a");
  // First touch (stream0, rand0): every page on the cores' DDR node, none on the CPU-less HBM node.
  for (const char* p : {"proc0", "proc3"}) {
    EXPECT_GT(stat(j, std::string("system.os.") + p + ".pages_node0"), 0u) << p;
    EXPECT_EQ(stat(j, std::string("system.os.") + p + ".pages_node1"), 0u) << p;
  }
  // Bound to HBM: every page there; interleaved: half and half.
  EXPECT_EQ(stat(j, "system.os.proc1.pages_node0"), 0u);
  EXPECT_GT(stat(j, "system.os.proc1.pages_node1"), 0u);
  EXPECT_EQ(stat(j, "system.os.proc2.pages_node0"), stat(j, "system.os.proc2.pages_node1"));
  // The HBM node has its own controller: 16 pseudo channels of HBM2 beside DDR5's 2 subchannels.
  EXPECT_TRUE(j["stats"].contains("system.node1.dram.ch15.reads"));
  EXPECT_FALSE(j["stats"].contains("system.node0.dram.ch2.reads"));
  EXPECT_EQ(j["summary"]["memory_nodes"][1]["memory"], "HBM2-2000");
  // A local node too small for first touch spills onto the CPU-less node, as Linux's fallback lists do.
  r = vmsim("run " + preset + " -q --set sim.mode=functional --set system.memory.nodes.0.size=32MiB" +
            " --set processes.3.workload.footprint=64MiB --out " + m_dir + "/b");
  ASSERT_EQ(r.code, 0) << r.err;
  j = stats(m_dir + "/b");
  EXPECT_GT(stat(j, "system.os.proc3.pages_node1"), 0u);
  expect_frames_conserved(j);
}

TEST_F(Nodes, PresetsRunInEveryModeDeterministically) {
  for (const char* preset : {"cxl-2socket", "hbm-flat"}) {
    const std::string cfg = std::string(VMSIM_SOURCE_DIR) + "/configs/presets/" + preset + ".yaml";
    for (const char* mode : {"functional", "lt", "at"}) {
      std::string args = "run " + cfg + " -q --set sim.check_data=true --set sim.mode=" + mode;
      for (int p = 0; p < 4; ++p) args += " --set processes." + std::to_string(p) + ".workload.accesses=20000";
      const std::string out = m_dir + "/" + preset + "_" + mode;
      Result r = vmsim(args + " --out " + out);
      ASSERT_EQ(r.code, 0) << preset << " " << mode << ": " << r.err;
      nlohmann::json j = stats(out);
      expect_frames_conserved(j);
      EXPECT_EQ(j["summary"]["page_faults"]["total"], j["summary"]["workload_distinct_pages"]) << preset << mode;
      if (std::string(mode) == "lt") {
        Result again = vmsim(args + " --out " + out + "_again");
        ASSERT_EQ(again.code, 0) << again.err;
        EXPECT_EQ(stats(out + "_again")["stats"], j["stats"]) << preset << ": same config and seed, same statistics";
      }
    }
  }
  nlohmann::json j = stats(m_dir + "/cxl-2socket_at");
  EXPECT_GT(stat(j, "system.cxl2.transfers"), 20000u);
  EXPECT_GT(statd(j, "system.cxl2.added_latency"), 170.0);
  // Socket 1 reaches the expander over the inter-socket link and the CXL link: farther than socket 0.
  EXPECT_GT(statd(j, "system.interconnect.s1_n2.latency.mean"), statd(j, "system.interconnect.s0_n2.latency.mean"));
}

TEST_F(Nodes, BadNodeConfigurationsAreRefused) {
  const std::string cfg = VMSIM_SOURCE_DIR "/configs/presets/cxl-2socket.yaml";
  expect_config_errors(cfg, {
      {{"system.interconnect.distance=[[10, 21, 10], [21, 10, 25]]"},
       "system.interconnect.distance: bad value '10' at [0][2] (node 2 has no CPUs (system.memory.nodes[2].cpus "
       "false), so it cannot be the local node of socket 0's cores"},
      {{"system.memory.nodes.1.cpus=false"}, "node 1 has no CPUs (system.memory.nodes[1].cpus false), so it cannot be "
                                             "the local node of socket 1's cores"},
      {{"system.interconnect.distance=[[10, 21, 14], [21, 12, 25]]"}, "socket 1 has no node at distance 10"},
      {{"system.memory.nodes.2.dram.preset=DDR9-1"}, "system.memory.nodes[2].dram.preset: bad value 'DDR9-1' (unknown DRAM preset"},
      {{"system.memory.nodes.2.cxl.latency=-5ns"}, "system.memory.nodes[2].cxl.latency: bad value '-5ns'"},
      {{"system.memory.nodes.2.attach=optane"}, "system.memory.nodes[2].attach: bad value 'optane'"},
      {{"system.memory.nodes.2.cpus=true"}, "system.memory.nodes[2].cpus: bad value 'true' (a CXL-attached node"},
      {{"system.memory.nodes.2.cxl.bandwidth_mbps=0"}, "system.memory.nodes[2].cxl.bandwidth_mbps: bad value '0'"},
      {{"system.memory.nodes.2.flavour=x"}, "system.memory.nodes[2].flavour"},
  });
}

}  // namespace
