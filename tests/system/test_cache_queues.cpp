// System tests of the LLC bank and home directory queues (sim.mode at): one bank is slower than sixteen for
// the same traffic, cross-socket directory requests wait for a busy directory, the waits show in the
// latency breakdown (which still adds up), lt ignores the occupancy, and bad values fail with exit 2.
#include <cmath>
#include <sstream>

#include "system_fixture.hpp"

namespace vmsim_system_test {
namespace {

class CacheQueues : public System {};

// Two cores, eight operations in flight each, random loads over 4 MiB each: most miss the 1 MiB L2 and
// hit the 11 MiB LLC, so the two cores keep the LLC banks busy.
const char* kTwoCores = R"(
sim: {mode: at, checker: true, check_coherence: true}
system:
  cores: 2
  core: {outstanding: 8}
  caches: {preset: skylake_sp, llc: {bank_cycles: 8}}
  memory: {nodes: [{size: 256MiB}]}
processes:
  - {name: a, core: 0, workload: {kind: random, footprint: 4MiB, accesses: 60000, read_fraction: 0.8}}
  - {name: b, core: 1, workload: {kind: random, footprint: 4MiB, accesses: 60000, read_fraction: 0.8}}
)";

TEST_F(CacheQueues, OneLlcBankIsSlowerThanSixteenForTheSameTraffic) {
  const std::string cfg = write("two.yaml", kTwoCores);
  auto run = [&](const std::string& name, const std::string& sets) {
    Result r = vmsim("run " + cfg + " -q " + sets + " --out " + m_dir + "/" + name);
    EXPECT_EQ(r.code, 0) << name << ": " << r.err;
    return stats(m_dir + "/" + name);
  };
  const nlohmann::json one = run("one", "--set system.caches.llc.banks=1");
  const nlohmann::json many = run("many", "--set system.caches.llc.banks=16");
  const std::string q = "system.caches.socket0.llc_banks.";
  // The same traffic reaches the LLC...
  EXPECT_EQ(stat(one, "system.core0.accesses"), stat(many, "system.core0.accesses"));
  const double acc_one = static_cast<double>(stat(one, q + "accesses")),
               acc_many = static_cast<double>(stat(many, q + "accesses"));
  EXPECT_GT(acc_one, 50000);
  EXPECT_NEAR(acc_one, acc_many, 0.02 * acc_one);
  EXPECT_EQ(stat(one, q + "busy_cycles"), 8 * stat(one, q + "accesses"));
  // ... one bank makes it wait much more, and the run takes longer.
  EXPECT_GT(stat(one, q + "waits"), 4 * stat(many, q + "waits"));
  EXPECT_GT(stat(one, q + "wait_cycles"), 4 * stat(many, q + "wait_cycles"));
  EXPECT_GE(stat(one, q + "max_wait"), stat(many, q + "max_wait"));
  EXPECT_GT(one["stats"][q + "avg_wait"]["value"].get<double>(), many["stats"][q + "avg_wait"]["value"].get<double>());
  EXPECT_GT(one["summary"]["sim_time_ps"].get<double>(), many["summary"]["sim_time_ps"].get<double>());
  // The waits are the LLC's part of the breakdown, which still adds up to the data access time.
  const auto& b1 = one["summary"]["access_latency_breakdown_core_cycles"];
  const auto& b16 = many["summary"]["access_latency_breakdown_core_cycles"];
  EXPECT_GT(b1["data_memory_parts"]["llc"].get<double>(), b16["data_memory_parts"]["llc"].get<double>());
  for (const nlohmann::json* b : {&b1, &b16}) {
    double sum = 0;
    for (const auto& part : (*b)["data_memory_parts"]) sum += part.get<double>();
    EXPECT_NEAR(sum, (*b)["data_memory"].get<double>(), 1e-6 * sum);
  }
}

TEST_F(CacheQueues, LtIgnoresTheOccupancy) {
  const std::string cfg = write("two.yaml", kTwoCores);
  Result r = vmsim("run " + cfg + " -q --set sim.mode=lt --set system.core.outstanding=1 --out " + m_dir + "/a");
  ASSERT_EQ(r.code, 0) << r.err;
  r = vmsim("run " + cfg + " -q --set sim.mode=lt --set system.core.outstanding=1 --set system.caches.llc.bank_cycles=0 "
            "--set system.caches.llc.banks=1 --out " + m_dir + "/b");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(m_dir + "/a/stats.json"), slurp(m_dir + "/b/stats.json"));
  EXPECT_EQ(slurp(m_dir + "/a/stats.json").find("llc_banks"), std::string::npos);
}

// Two sockets; all four cores write random lines of one 256 KiB region on node 0 (homed at socket 0), so
// lines move between the sockets and every such move consults socket 0's directory.
const char* kTwoSockets = R"(
sim: {mode: at, checker: true, check_coherence: true}
system:
  cores: 4
  sockets: 2
  core: {outstanding: 4}
  caches: {preset: skylake_sp, directory: {banks: 1, cycles: 40}}
  interconnect: {latency: 5ns, hop_latency: 40ns, link_bandwidth_mbps: 25600, distance: [[10, 21], [21, 10]]}
  memory:
    nodes:
      - {base: 0x0, size: 256MiB}
      - {base: 0x10000000, size: 256MiB}
processes:
  - name: parent
    core: 0
    numa: {policy: bind, nodes: "0"}
    workload: {kind: random, footprint: 256KiB, accesses: 20000, read_fraction: 0.5}
    vmas: [{start: 0x10000000, size: 256KiB}]
    syscalls: [{at: 0, call: fork, child: t1, share_vm: true}, {at: 0, call: fork, child: t2, share_vm: true},
               {at: 0, call: fork, child: t3, share_vm: true}]
  - {name: t1, core: 1, parent: parent, numa: {policy: bind, nodes: "0"}, workload: {kind: random, footprint: 256KiB, accesses: 20000, read_fraction: 0.5}}
  - {name: t2, core: 2, parent: parent, numa: {policy: bind, nodes: "0"}, workload: {kind: random, footprint: 256KiB, accesses: 20000, read_fraction: 0.5}}
  - {name: t3, core: 3, parent: parent, numa: {policy: bind, nodes: "0"}, workload: {kind: random, footprint: 256KiB, accesses: 20000, read_fraction: 0.5}}
)";

TEST_F(CacheQueues, CrossSocketRequestsWaitForABusyHomeDirectory) {
  const std::string cfg = write("sockets.yaml", kTwoSockets);
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/slow");
  ASSERT_EQ(r.code, 0) << r.err;
  r = vmsim("run " + cfg + " -q --set system.caches.directory.cycles=1 --set system.caches.directory.banks=8 --out " +
            m_dir + "/fast");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json slow = stats(m_dir + "/slow"), fast = stats(m_dir + "/fast");
  const std::string d0 = "system.caches.socket0.directory.";
  EXPECT_GT(stat(slow, d0 + "accesses"), 5000u);
  EXPECT_GT(stat(slow, d0 + "waits"), 1000u);
  EXPECT_EQ(stat(slow, d0 + "busy_cycles"), 40 * stat(slow, d0 + "accesses"));
  EXPECT_LT(stat(fast, d0 + "waits"), stat(slow, d0 + "waits") / 10);
  EXPECT_GT(stat(slow, d0 + "max_depth"), 1u);
  EXPECT_GT(slow["summary"]["sim_time_ps"].get<double>(), fast["summary"]["sim_time_ps"].get<double>());
  // Socket 1's cores waited at a remote home: their remote-interconnect part grows.
  EXPECT_GT(stat(slow, "system.core2.data_time.interconnect_remote"),
            stat(fast, "system.core2.data_time.interconnect_remote"));
}

TEST_F(CacheQueues, BadValuesAreRejected) {
  const std::string cfg = write("two.yaml", kTwoCores);
  for (const char* set : {"system.caches.llc.banks=0", "system.caches.llc.banks=2000", "system.caches.llc.bank_cycles=1001",
                          "system.caches.l2.banks=4", "system.caches.l1d.bank_cycles=1", "system.caches.directory.banks=0",
                          "system.caches.directory.cycles=5000", "system.caches.directory.cylces=5"}) {
    Result r = vmsim("run " + cfg + " -q --set " + set + " --out " + m_dir + "/bad");
    EXPECT_EQ(r.code, 2) << set;
    EXPECT_TRUE(one_line(r)) << r.err;
    const std::string key = std::string(set).substr(0, std::string(set).find('='));
    const std::string leaf = key.substr(key.rfind('.') + 1);
    EXPECT_NE(r.err.find(leaf), std::string::npos) << set << ": " << r.err;
  }
}

TEST_F(CacheQueues, QueueStatisticsAreDocumented) {
  Result r = vmsim(std::string("doc stats ") + VMSIM_SOURCE_DIR +
                   "/configs/presets/numa-2socket.yaml --set sim.mode=at --set system.caches=skylake_sp");
  ASSERT_EQ(r.code, 0) << r.err;
  std::string rows;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("| `system.caches.socket0.llc_banks.", 0) == 0 || line.rfind("| `system.caches.socket0.directory.", 0) == 0) {
      rows += line + "\n";
    }
  }
  EXPECT_NE(rows.find("llc_banks.wait_cycles"), std::string::npos) << r.out;
  EXPECT_NE(rows.find("directory.max_wait"), std::string::npos) << r.out;
  EXPECT_NE(slurp(std::string(VMSIM_SOURCE_DIR) + "/docs/STATS.md").find(rows), std::string::npos)
      << "docs/STATS.md's cache queue table is out of date: run scripts/gen-docs.sh";
  // lt elaborates no queues.
  r = vmsim(std::string("doc stats ") + VMSIM_SOURCE_DIR + "/configs/presets/numa-2socket.yaml --set system.caches=skylake_sp");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("llc_banks"), std::string::npos);
}

}  // namespace
}  // namespace vmsim_system_test
