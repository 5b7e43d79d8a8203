// System tests of nested paging (virtualization.enabled): os-churn's processes in one guest and in two,
// with the golden checker (both dimensions) and the data checker on, in every mode; EPT violations against
// the guest pages backed with 4 KiB and 2 MiB EPT pages; the ordering of configs/sweeps/nested.yaml's
// points; host swap of guest memory; determinism; the virtualization keys' errors.
#include <map>

#include "tests/system/system_fixture.hpp"

namespace vmsim_system_test {
namespace {

const std::string kChurn = VMSIM_SOURCE_DIR "/configs/presets/os-churn.yaml";
const std::string kNested = VMSIM_SOURCE_DIR "/configs/presets/nested.yaml";

uint64_t sum_cores(const nlohmann::json& j, const std::string& suffix, int cores) {
  uint64_t n = 0;
  for (int c = 0; c < cores; ++c) {
    const std::string name = "system.core" + std::to_string(c) + suffix;
    if (j["stats"].contains(name)) n += j["stats"][name]["value"].get<uint64_t>();
  }
  return n;
}

TEST_F(System, NestedOsChurnInOneGuestWithBothCheckersInEveryMode) {
  Result native = vmsim("run " + kChurn + " -q --set sim.mode=functional --out " + m_dir + "/native");
  ASSERT_EQ(native.code, 0) << native.err;
  const nlohmann::json n = stats(m_dir + "/native");
  const std::vector<std::pair<std::string, std::string>> runs = {
      {"functional", ""}, {"lt", ""}, {"at", ""}, {"at4", " --set system.core.outstanding=4"}};
  for (const auto& [tag, extra] : runs) {
    const std::string mode = tag == "at4" ? "at" : tag;
    Result r = vmsim("run " + kChurn + " -q --set sim.mode=" + mode + extra +
                     " --set sim.check_data=true --set virtualization.enabled=true --out " + m_dir + "/" + tag);
    ASSERT_EQ(r.code, 0) << tag << ": " << r.err;
    const nlohmann::json j = stats(m_dir + "/" + tag);
    // Every process ran to its end in the guest, as natively.
    EXPECT_EQ(j["summary"]["accesses"], n["summary"]["accesses"]) << tag;
    EXPECT_EQ(j["summary"]["processes_exited"], n["summary"]["processes_exited"]) << tag;
    EXPECT_EQ(j["summary"]["processes_killed"].get<uint64_t>(), 0u) << tag;
    EXPECT_EQ(stat(j, "system.vm0.os.processes.exited"), n["summary"]["processes_exited"].get<uint64_t>()) << tag;
    EXPECT_TRUE(j["kills"].empty()) << tag;
    // The accesses were guest-mode translations, checked in both dimensions.
    EXPECT_GT(sum_cores(j, ".mmu.walker.nested.walks", 4), 0u) << tag;
    EXPECT_GT(sum_cores(j, ".mmu.checker_checks", 4), 0u) << tag;
    ASSERT_TRUE(j["summary"].contains("virtualization")) << tag;
    const nlohmann::json& v = j["summary"]["virtualization"];
    // Guest memory was backed on EPT violations, each charged as a VM exit; those of the processes' own
    // accesses reached the hypervisor through the cores' fault paths.
    EXPECT_GT(v["vm_exits"]["ept_violation"].get<uint64_t>(), 0u) << tag;
    EXPECT_EQ(v["vm_exits"]["total"], v["vm_exits"]["ept_violation"]) << tag;
    EXPECT_EQ(v["vm_exits"]["ept_violation"].get<uint64_t>(),
              v["ept_violations"]["guest_access"].get<uint64_t>() +
                  v["ept_violations"]["guest_kernel_access"].get<uint64_t>())
        << tag;
    EXPECT_EQ(sum_cores(j, ".vm_exits", 4), v["ept_violations"]["guest_access"].get<uint64_t>()) << tag;
    EXPECT_EQ(v["vm_exits"]["from_accesses"].get<uint64_t>(), sum_cores(j, ".vm_exits", 4)) << tag;
  }
}

TEST_F(System, NestedTwoGuests) {
  // The server, its batch job, its thread, a shared-memory peer and its forked worker in one guest (a child
  // runs in its parent's guest), the rest in the other, with half the memory; each guest has its own kernel,
  // VPID and EPT.
  Result r = vmsim("run " + kChurn +
                   " -q --set sim.check_data=true --set virtualization.enabled=true --set "
                   "'virtualization.guests=[{name: web, processes: \"0-4\"}, {name: batch, processes: \"5-7\", "
                   "memory: 1GiB}]' --out " +
                   m_dir + "/two");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = stats(m_dir + "/two");
  EXPECT_EQ(stat(j, "system.web.os.processes.exited"), 5u);
  EXPECT_EQ(stat(j, "system.web.os.processes.forks"), 2u);
  EXPECT_EQ(stat(j, "system.batch.os.processes.exited"), 3u);
  EXPECT_EQ(j["summary"]["processes_exited"].get<uint64_t>(), 8u);
  EXPECT_EQ(j["summary"]["accesses"].get<uint64_t>(), 480000u);
  EXPECT_EQ(j["summary"]["virtualization"]["guests"].get<uint64_t>(), 2u);
  EXPECT_GT(stat(j, "system.hv.web.pages_backed"), 0u);
  EXPECT_GT(stat(j, "system.hv.batch.pages_backed"), 0u);
  EXPECT_EQ(stat(j, "system.hv.web.pages_backed") + stat(j, "system.hv.batch.pages_backed"),
            stat(j, "system.hv.pages_backed"));
  EXPECT_TRUE(j["kills"].empty());
}

TEST_F(System, NestedForkChildIndexedInItsGuest) {
  // The forked worker is process 4 of the run but process 3 of guest web (its shared-memory peer went to
  // the other guest): the hypervisor passes the guest kernel the guest's own index of the child. Each
  // fork's child must be created and run to its end.
  Result r = vmsim("run " + kChurn +
                   " -q --set sim.mode=functional --set sim.check_data=true --set virtualization.enabled=true --set "
                   "'virtualization.guests=[{name: web, processes: \"0-2,4\"}, {name: batch, processes: \"3,5-7\", "
                   "memory: 1GiB}]' --out " +
                   m_dir + "/fork");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = stats(m_dir + "/fork");
  EXPECT_EQ(stat(j, "system.web.os.processes.forks"), 2u);
  EXPECT_EQ(stat(j, "system.web.os.processes.exited"), 4u);
  EXPECT_EQ(stat(j, "system.batch.os.processes.exited"), 4u);
  EXPECT_EQ(j["summary"]["processes_exited"].get<uint64_t>(), 8u);
  EXPECT_EQ(j["summary"]["accesses"].get<uint64_t>(), 480000u);
}

TEST_F(System, NestedGuestsRefuseUserCopies) {
  // A guest kernel's read/write would copy through supervisor accesses that can raise EPT violations inside
  // the kernel, which the cores do not model: a config error naming the call.
  Result r = vmsim("run " + kChurn +
                   " -q --set virtualization.enabled=true --set 'firmware.files=[{name: f.bin, size: 64KiB}]' --set "
                   "'processes.1.syscalls=[{at: 0, call: read, file: f.bin, addr: 0x10000000, length: 4KiB}]'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("processes[1].syscalls[0].call: bad value 'read'"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(System, NestedEptViolationsEqualGuestPagesBackedAndDropWith2MiBPages) {
  const std::string cfg = write("seq.yaml",
                                "system: {cores: 1, memory: {nodes: [{size: 512MiB}]}}\n"
                                "processes:\n  - {name: seq, workload: {kind: strided, footprint: 16MiB, "
                                "accesses: 8192, read_fraction: 0.5, stride: 4KiB}}\n"
                                "virtualization: {enabled: true}\n");
  std::map<std::string, nlohmann::json> runs;
  for (const std::string size : {"4k", "2m"}) {
    Result r = vmsim("run " + cfg + " -q --set sim.check_data=true --set sim.checker=true "
                     "--set virtualization.ept_page_size=" + size + " --out " + m_dir + "/" + size);
    ASSERT_EQ(r.code, 0) << size << ": " << r.err;
    runs[size] = stats(m_dir + "/" + size);
  }
  const nlohmann::json& k4 = runs["4k"];
  const uint64_t violations4 =
      stat(k4, "system.hv.ept_violations.guest_access") + stat(k4, "system.hv.ept_violations.guest_kernel_access");
  // Each violation backed one 4 KiB guest page: the guest's 4096 data pages (two passes over 16 MiB) and its
  // kernel's page tables. The guest kernel zeroes a page before mapping it, so its own access takes the
  // violation (charged as a VM exit), never the process's.
  EXPECT_EQ(violations4, stat(k4, "system.hv.pages_backed"));
  EXPECT_GE(violations4, 16u * 256);
  EXPECT_LE(violations4, 16u * 256 + 16);
  EXPECT_EQ(stat(k4, "system.hv.vm_exits.ept_violation"), violations4);
  EXPECT_EQ(stat(k4, "system.core0.vm_exits"), stat(k4, "system.hv.ept_violations.guest_access"));
  EXPECT_EQ(stat(k4, "system.hv.ept.leaves_4k"), violations4);
  const nlohmann::json& m2 = runs["2m"];
  const uint64_t violations2 =
      stat(m2, "system.hv.ept_violations.guest_access") + stat(m2, "system.hv.ept_violations.guest_kernel_access");
  // A 2 MiB EPT leaf backs 512 guest pages at once.
  EXPECT_GT(violations2, 0u);
  EXPECT_LT(violations2 * 50, violations4);
  EXPECT_GT(stat(m2, "system.hv.ept.leaves_2m"), 0u);
  EXPECT_EQ(stat(k4, "system.hv.ept.leaves_2m"), 0u);
}

TEST_F(System, NestedSweepOrdering) {
  // configs/sweeps/nested.yaml's four points, shortened: simulated time and references per walk.
  struct Point {
    std::string tag, sets;
  };
  const std::string shorter = " --set processes.0.workload.accesses=150000 --set sim.warmup_accesses=50000";
  const std::vector<Point> points = {
      {"native", " --set virtualization.enabled=false"},
      {"4k4k", ""},
      {"4k2m", " --set virtualization.ept_page_size=2m"},
      {"2m2m", " --set virtualization.ept_page_size=2m --set processes.0.vmas.0.huge=true"},
      {"native2m", " --set virtualization.enabled=false --set processes.0.vmas.0.huge=true"}};
  std::map<std::string, nlohmann::json> s;
  for (const Point& p : points) {
    Result r = vmsim("run " + kNested + " -q" + shorter + p.sets + " --out " + m_dir + "/" + p.tag);
    ASSERT_EQ(r.code, 0) << p.tag << ": " << r.err;
    s[p.tag] = stats(m_dir + "/" + p.tag)["summary"];
  }
  auto time = [&](const std::string& t) { return s[t]["sim_time_ns"].get<double>(); };
  auto per_walk = [&](const std::string& t) {
    return static_cast<double>(s[t]["pte_reads"].get<uint64_t>()) / static_cast<double>(s[t]["walks"].get<uint64_t>());
  };
  auto latency = [&](const std::string& t) { return s[t]["avg_access_latency_core_cycles"].get<double>(); };
  // 4K/4K > 4K/2M > native 4 KiB > 2M/2M > native 2 MiB (docs/ARCHITECTURE.md, "Native vs nested paging").
  EXPECT_GT(time("4k4k"), time("4k2m"));
  EXPECT_GT(time("4k2m"), time("native"));
  EXPECT_GT(time("native"), time("2m2m"));
  EXPECT_GT(time("2m2m"), time("native2m"));  // the warm-up's EPT violations
  EXPECT_GT(latency("4k4k"), latency("4k2m"));
  EXPECT_GT(latency("4k2m"), latency("native"));
  // With 2 MiB guest pages the STLB holds the footprint: no walks after the warm-up, as natively.
  EXPECT_EQ(s["2m2m"]["walks"].get<uint64_t>(), 0u);
  EXPECT_NEAR(latency("2m2m"), latency("native2m"), 0.01 * latency("native2m"));
  // A 2D walk reads more entries than a native one, fewer with 2 MiB nested pages, and at most 24.
  EXPECT_GT(per_walk("4k4k"), per_walk("native"));
  EXPECT_GT(per_walk("4k4k"), per_walk("4k2m"));
  EXPECT_LE(s["4k4k"]["virtualization"]["references_per_walk"].get<double>(), 24.0);
  EXPECT_FALSE(s["native"].contains("virtualization"));
}

TEST_F(System, NestedHostSwapsGuestMemoryWithTheDataCheckerSilent) {
  // The host has 48 MiB and a swap device; the guest believes it has 256 MiB and touches 64 MiB of it.
  const std::string cfg = write(
      "swap.yaml",
      "sim: {check_data: true, checker: true}\n"
      "system: {cores: 1, memory: {nodes: [{size: 48MiB}]}, swap: {enabled: true, size: 256MiB}}\n"
      "processes:\n  - {name: big, workload: {kind: random, footprint: 64MiB, accesses: 120000, read_fraction: 0.5}}\n"
      "virtualization: {enabled: true, guests: [{memory: 256MiB, processes: \"0\"}]}\n");
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/swap");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = stats(m_dir + "/swap");
  EXPECT_GT(stat(j, "system.os.swap.swap_outs"), 0u);
  EXPECT_GT(stat(j, "system.os.swap.swap_ins"), 0u);
  EXPECT_GT(stat(j, "system.hv.notifier_invalidations"), 0u);
  // A page the host swapped out is missing from the EPT: the guest process's access is a VM exit.
  EXPECT_GT(stat(j, "system.core0.vm_exits"), 0u);
  EXPECT_EQ(stat(j, "system.core0.vm_exits"), stat(j, "system.hv.ept_violations.guest_access"));
  EXPECT_GT(stat(j, "system.core0.time.vm_exit"), 0u);
  EXPECT_EQ(j["summary"]["processes_exited"].get<uint64_t>(), 1u);
  EXPECT_TRUE(j["kills"].empty());
}

TEST_F(System, NestedRunsAreDeterministic) {
  const std::string args = "run " + kChurn + " -q --set virtualization.enabled=true --set sim.mode=lt --out ";
  ASSERT_EQ(vmsim(args + m_dir + "/a").code, 0);
  ASSERT_EQ(vmsim(args + m_dir + "/b").code, 0);
  EXPECT_EQ(slurp(m_dir + "/a/stats.json"), slurp(m_dir + "/b/stats.json"));
  EXPECT_EQ(slurp(m_dir + "/a/memory.txt"), slurp(m_dir + "/b/memory.txt"));
}

TEST_F(System, NestedConfigErrorsNameTheKey) {
  const std::string cfg = write("two.yaml",
                                "processes:\n  - {name: a, workload: {accesses: 1000}}\n"
                                "  - {name: b, workload: {accesses: 1000, base: 0x40000000}}\n"
                                "virtualization: {enabled: true}\n");
  expect_config_errors(
      cfg, {{{"virtualization.bogus=1"}, "virtualization.bogus"},
            {{"virtualization.ept_levels=3"}, "virtualization.ept_levels: bad value '3'"},
            {{"virtualization.ept_page_size=8k"}, "virtualization.ept_page_size: bad value '8k'"},
            {{"virtualization.placement=far"}, "virtualization.placement: bad value 'far'"},
            {{"virtualization.costs.vm_exit=-1"}, "virtualization.costs.vm_exit"},
            {{"virtualization.caches.nested_tlb=0"}, "virtualization.caches.nested_tlb: bad value '0'"},
            {{"virtualization.caches.bogus=1"}, "virtualization.caches.bogus"},
            {{"virtualization.guests=[{processes: \"0-2\"}]"}, "virtualization.guests[0].processes: bad value '0-2'"},
            {{"virtualization.guests=[{processes: \"x\"}]"}, "virtualization.guests[0].processes: bad value 'x'"},
            {{"virtualization.guests=[{processes: \"0\"}]"}, "is in no guest"},
            {{"virtualization.guests=[{processes: \"0-1\"}, {processes: \"1\"}]"}, "virtualization.guests[1].processes"},
            {{"virtualization.guests=[{processes: \"0-1\", memory: 3MiB}]"}, "virtualization.guests[0].memory: bad value"},
            {{"virtualization.guests=[{processes: \"0-1\", name: core0}]"}, "virtualization.guests[0].name: bad value 'core0'"},
            {{"virtualization.guests=[{processes: \"0\", name: a}, {processes: \"1\", name: a}]"},
             "virtualization.guests[1].name: bad value 'a'"},
            {{"virtualization.guests=[{processes: \"0-1\", mem: 1GiB}]"}, "virtualization.guests[0].mem"},
            {{"system.core.mmu.walker.format=hashed"}, "system.core.mmu.walker.format: bad value 'hashed'"},
            {{"firmware.kind=fixed"}, "firmware.kind: bad value 'fixed'"},
            {{"system.core.mmu.tlb.dtlb=[{entries: 64, ways: 4, impl: rtl}]"}, "system.core.mmu.tlb.dtlb[0].impl: bad value 'rtl'"},
            {{"virtualization.ept_page_size=1g"}, "virtualization.ept_page_size: bad value '1g'"}});
}

}  // namespace
}  // namespace vmsim_system_test
