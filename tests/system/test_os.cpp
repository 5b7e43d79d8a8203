// System tests of the firmware OS: NUMA placement per policy, system-call scripts (VMA split/merge,
// errno cases), fork with copy-on-write, shared segments, TLB shootdowns with the golden checker on.
#include <algorithm>

#include "tests/system/system_fixture.hpp"

namespace {

using namespace vmsim_system_test;

using Os = System;

// One core and one 64 MiB node, with the golden checker on.
const std::string kOneNode = R"(
sim: {checker: true}
system: {memory: {nodes: [{size: 64MiB}]}}
)";

// Two sockets, one node each, one core per socket.
const std::string kTwoNodes = R"(
sim: {checker: true}
system:
  cores: 2
  sockets: 2
  interconnect: {distance: [[10, 21], [21, 10]]}
  memory: {nodes: [{size: 128MiB}, {size: 128MiB}]}
)";

TEST_F(Os, NumaPlacementFollowsEachPolicy) {
  std::string cfg = write("numa.yaml", kTwoNodes + R"(
processes:
  - {name: local, core: 1, workload: {kind: sequential, footprint: 256KiB, accesses: 40000}}
  - {name: bind, core: 1, numa: {policy: bind, nodes: "0"},
     workload: {kind: sequential, footprint: 256KiB, accesses: 40000}}
  - {name: inter, core: 0, numa: {policy: interleave, nodes: "0-1"},
     workload: {kind: sequential, footprint: 256KiB, accesses: 40000}}
  - {name: pref, core: 0, numa: {policy: preferred, nodes: "1"},
     workload: {kind: sequential, footprint: 256KiB, accesses: 40000}}
  - name: mixed
    core: 0
    workload: {kind: sequential, footprint: 256KiB, accesses: 40000}
    vmas:
      - {start: 0x10000000, size: 128KiB, numa: bind, nodes: "1"}
      - {start: 0x10020000, size: 128KiB}
)");
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/out");
  const uint64_t pages = 64;  // 256 KiB
  // First touch on core 1 (socket 1): node 1.
  EXPECT_EQ(stat(j, "system.os.proc0.pages_node1"), pages);
  EXPECT_EQ(stat(j, "system.os.proc0.pages_node0"), 0u);
  EXPECT_EQ(stat(j, "system.os.proc0.pages_local"), pages);
  // Bound to node 0 from socket 1: every page remote.
  EXPECT_EQ(stat(j, "system.os.proc1.pages_node0"), pages);
  EXPECT_EQ(stat(j, "system.os.proc1.pages_remote"), pages);
  // Interleaved page by page: exactly half on each node.
  EXPECT_EQ(stat(j, "system.os.proc2.pages_node0"), pages / 2);
  EXPECT_EQ(stat(j, "system.os.proc2.pages_node1"), pages / 2);
  // Preferred node 1 from core 0.
  EXPECT_EQ(stat(j, "system.os.proc3.pages_node1"), pages);
  // A VMA-level bind overrides the process's local policy for its half only.
  EXPECT_EQ(stat(j, "system.os.proc4.pages_node1"), pages / 2);
  EXPECT_EQ(stat(j, "system.os.proc4.pages_node0"), pages / 2);
  expect_frames_conserved(j);
}

TEST_F(Os, BindFallsNowherePreferredFallsBack) {
  // Node 1 is small: a process bound to it runs out and is killed; one preferring it spills to node 0.
  std::string cfg = write("spill.yaml", with_overrides(kTwoNodes, R"(
system: {memory: {nodes: [{size: 128MiB}, {size: 16MiB}]}}
processes:
  - {name: pref, core: 0, numa: {policy: preferred, nodes: "1"},
     workload: {kind: strided, stride: 4KiB, footprint: 20MiB, accesses: 5120}}
  - {name: bind, core: 0, numa: {policy: bind, nodes: "1"},
     workload: {kind: strided, stride: 4KiB, footprint: 20MiB, accesses: 5120}}
)"));
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/out");
  EXPECT_GT(stat(j, "system.os.proc0.pages_node1"), 3500u);
  EXPECT_GT(stat(j, "system.os.proc0.pages_node0"), 0u);
  EXPECT_EQ(stat(j, "system.os.proc0.pages_node0") + stat(j, "system.os.proc0.pages_node1"), 5120u);
  EXPECT_EQ(stat(j, "system.os.proc1.pages_node0"), 0u);
  EXPECT_EQ(j["summary"]["processes_killed"], 1);
  EXPECT_EQ(j["summary"]["page_faults"]["oom"], 1);
  expect_frames_conserved(j);
}

TEST_F(Os, PolicyNamingAMissingNodeIsAnError) {
  std::string cfg = write("bad.yaml", kTwoNodes + R"(
processes:
  - {name: p, numa: {policy: bind, nodes: "0,2"}, workload: {kind: sequential, footprint: 64KiB, accesses: 10}}
)");
  Result r = vmsim("run " + cfg + " --out " + m_dir + "/o");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r)) << r.err;
  EXPECT_NE(r.err.find("processes[0].numa.nodes: bad value '0,2' (no node 2"), std::string::npos) << r.err;
  cfg = write("bad2.yaml", kTwoNodes + R"(
processes:
  - name: p
    workload: {kind: sequential, footprint: 64KiB, accesses: 10}
    syscalls: [{at: 0, call: mbind, addr: 0x10000000, length: 4KiB, policy: interleave, nodes: "5"}]
)");
  r = vmsim("run " + cfg + " --out " + m_dir + "/o");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("processes[0].syscalls[0].nodes: bad value '5'"), std::string::npos) << r.err;
  cfg = write("bad3.yaml", kTwoNodes + R"(
processes:
  - {name: p, numa: {policy: interleave}, workload: {kind: sequential, footprint: 64KiB, accesses: 10}}
)");
  r = vmsim("run " + cfg + " --out " + m_dir + "/o");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("processes[0].numa.nodes: bad value '' (policy interleave needs at least one node"),
            std::string::npos)
      << r.err;
  cfg = write("bad4.yaml", kTwoNodes + R"(
processes:
  - name: p
    workload: {kind: sequential, footprint: 64KiB, accesses: 10}
    syscalls: [{at: 0, call: frob}]
)");
  r = vmsim("run " + cfg + " --out " + m_dir + "/o");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("processes[0].syscalls[0].call: bad value 'frob'"), std::string::npos) << r.err;
}

TEST_F(Os, SyscallErrorsGiveErrnoNeverACrash) {
  std::string cfg = write("errno.yaml", kOneNode + R"(
firmware: {mlock_limit: 0}
processes:
  - name: p
    workload: {kind: sequential, footprint: 64KiB, accesses: 2000}
    syscalls:
      - {at: 0, call: mmap, length: 0}                                   # EINVAL: empty
      - {at: 0, call: mmap, addr: 0x20000010, length: 4KiB, fixed: true} # EINVAL: unaligned MAP_FIXED
      - {at: 0, call: mmap, length: 1TiB}                                # ENOMEM: heuristic overcommit
      - {at: 1, call: munmap, addr: 0x10000800, length: 4KiB}            # EINVAL: unaligned
      - {at: 1, call: mprotect, addr: 0x30000000, length: 4KiB, prot: r--} # ENOMEM: not mapped
      - {at: 2, call: mlock, addr: 0x10000000, length: 4KiB}             # EPERM: RLIMIT_MEMLOCK 0
      - {at: 2, call: mbind, addr: 0x30000000, length: 4KiB, policy: local} # EFAULT: not mapped
      - {at: 3, call: brk, addr: 0x1000}                                 # ENOMEM: below the heap
      - {at: 3, call: shm_attach, key: ro, addr: 0x40000000, length: 8KiB, prot: r--}
      - {at: 4, call: mprotect, addr: 0x40000000, length: 8KiB, prot: rw-} # EACCES: read-only attach
      - {at: 5, call: mprotect, addr: 0x40000000, length: 8KiB, prot: r--} # fine
)");
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/out");
  EXPECT_EQ(stat(j, "system.os.syscalls.total"), 11u);
  EXPECT_EQ(stat(j, "system.os.syscalls.errno_EINVAL"), 2u + 1u);
  EXPECT_EQ(stat(j, "system.os.syscalls.errno_ENOMEM"), 3u);
  EXPECT_EQ(stat(j, "system.os.syscalls.errno_EPERM"), 1u);
  EXPECT_EQ(stat(j, "system.os.syscalls.errno_EFAULT"), 1u);
  EXPECT_EQ(stat(j, "system.os.syscalls.errno_EACCES"), 1u);
  EXPECT_EQ(stat(j, "system.os.proc0.syscall_errors"), 9u);
  EXPECT_EQ(j["summary"]["processes_exited"], 1);
  EXPECT_EQ(j["summary"]["accesses"], 2000);
  expect_frames_conserved(j);
}

TEST_F(Os, MprotectAndMunmapSplitMergeAndFreeFrames) {
  // Reads only, so the read-only window never kills; mlock populates an mmap'd area that munmap frees.
  std::string cfg = write("vm.yaml", kOneNode + R"(
processes:
  - name: p
    workload: {kind: sequential, footprint: 1MiB, accesses: 262144, read_fraction: 1.0}
    syscalls:
      - {at: 1000, call: mprotect, addr: 0x10040000, length: 64KiB, prot: r--}
      - {at: 140000, call: mprotect, addr: 0x10040000, length: 64KiB, prot: rw-}
      - {at: 150000, call: mmap, addr: 0x50000000, length: 64KiB, fixed: true}
      - {at: 150000, call: mlock, addr: 0x50000000, length: 64KiB}
      - {at: 150001, call: mprotect, addr: 0x50004000, length: 8KiB, prot: r--}
      - {at: 150002, call: munmap, addr: 0x50000000, length: 64KiB}
      - {at: 150003, call: brk, addr: 0x200000003000}
      - {at: 150004, call: mlock, addr: 0x200000000000, length: 12KiB}
      - {at: 150005, call: brk, addr: 0x200000001000}
)");
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/out");
  EXPECT_EQ(stat(j, "system.os.syscalls.total"), 9u);
  EXPECT_EQ(stat(j, "system.os.proc0.syscall_errors"), 0u);
  // 1 MiB region split into three by the first mprotect, merged back by the second.
  EXPECT_GE(stat(j, "system.os.vm.vma_merges"), 2u);
  // Pages of the window that were mapped got their PTEs rewritten (the first call saw 1 page mapped,
  // the second 16), the mmap'd area 2 pages.
  EXPECT_EQ(stat(j, "system.os.vm.pages_reprotected"), 0u + 16u + 2u);
  // mlock populated the 16 pages of the mapping and the 3 of the heap; munmap and brk shrink freed them.
  EXPECT_EQ(stat(j, "system.os.vm.pages_unmapped"), 16u + 2u);
  EXPECT_EQ(stat(j, "system.os.vm.locked_peak"), 16u);
  EXPECT_EQ(stat(j, "system.os.frames.data_allocated"), 256u + 16u + 3u);
  EXPECT_EQ(j["summary"]["page_faults"]["demand_zero"], 256u + 16u + 3u);
  EXPECT_EQ(j["summary"]["processes_killed"], 0);
  expect_frames_conserved(j);
}

TEST_F(Os, WriteToAnMprotectedWindowKillsAfterInvalidation) {
  // The process writes its whole region, then makes a window read-only and writes again: the stale
  // writable TLB entries must be gone (INVLPG), so the write faults and the VMA check kills.
  std::string cfg = write("ro.yaml", kOneNode + R"(
processes:
  - name: p
    workload: {kind: sequential, footprint: 64KiB, accesses: 20000, read_fraction: 0.0}
    syscalls: [{at: 9000, call: mprotect, addr: 0x10008000, length: 4KiB, prot: r--}]
)");
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/out");
  EXPECT_EQ(j["summary"]["processes_killed"], 1);
  EXPECT_EQ(j["summary"]["page_faults"]["segv_protection"], 1);
  EXPECT_EQ(j["kills"][0]["address"], "0x10008000");
  EXPECT_EQ(j["kills"][0]["access"], "write");
  EXPECT_GE(stat(j, "system.os.tlb.invlpg"), 1u);
  expect_frames_conserved(j);
}

const std::string kForkThreads = R"(
sim: {checker: true}
system: {cores: 3, memory: {nodes: [{size: 128MiB}]}}
processes:
  - name: parent
    core: 0
    workload: {kind: random, footprint: 512KiB, accesses: 60000, read_fraction: 0.5}
    syscalls:
      - {at: 0, call: fork, child: thread, share_vm: true}
      - {at: 20000, call: fork, child: child}
  - name: thread
    core: 1
    parent: parent
    workload: {kind: random, footprint: 512KiB, accesses: 60000, read_fraction: 0.5}
  - name: child
    core: 2
    parent: parent
    workload: {kind: random, footprint: 512KiB, accesses: 30000, read_fraction: 0.5}
)";

TEST_F(Os, ForkSharesCopyOnWriteAndShootsDownThreadTlbs) {
  std::string cfg = write("fork.yaml", kForkThreads);
  for (const char* mode : {"lt", "at", "functional"}) {
    const std::string out = m_dir + "/" + mode;
    // The functional mode's slices count operations: 300 of them, as 3000 cycles are in the others.
    const std::string slice = std::string(mode) == "functional" ? " --set firmware.scheduler.time_slice=300" : "";
    Result r = vmsim("run " + cfg + " -q --set sim.mode=" + mode + slice + " --out " + out);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    nlohmann::json j = stats(out);
    EXPECT_EQ(j["summary"]["processes_created"], 3) << mode;
    EXPECT_EQ(j["summary"]["processes_exited"], 3) << mode;
    EXPECT_EQ(j["summary"]["processes_killed"], 0) << mode;
    EXPECT_EQ(stat(j, "system.os.processes.forks"), 2u) << mode;
    // fork write-protected the parent's pages, which the thread on core 1 may cache: IPIs. (The
    // functional mode has no time, so the parent runs to its end before the thread starts.)
    if (std::string(mode) != "functional") {
      EXPECT_GT(stat(j, "system.os.tlb.shootdowns"), 0u) << mode;
      EXPECT_GT(stat(j, "system.core1.ipis_received"), 0u) << mode;
    }
    EXPECT_GT(stat(j, "system.os.vm.cow_shared_pages"), 0u) << mode;
    // Writes on both sides broke sharing: copies while shared, in-place reuse once the other side left.
    EXPECT_GT(stat(j, "system.os.faults.cow_copies"), 0u) << mode;
    EXPECT_EQ(stat(j, "system.os.faults.cow_copies"),
              stat(j, "system.os.proc0.cow_copies") + stat(j, "system.os.proc1.cow_copies") +
                  stat(j, "system.os.proc2.cow_copies"))
        << mode;
    // Every copy took a frame: data frames = demand-zero + copies.
    EXPECT_EQ(stat(j, "system.os.frames.data_allocated"),
              stat(j, "system.os.faults.demand_zero") + stat(j, "system.os.faults.cow_copies"))
        << mode;
    expect_frames_conserved(j);
  }
}

TEST_F(Os, SharedSegmentMapsTheSameFramesInEveryProcess) {
  std::string cfg = write("shm.yaml", R"(
sim: {checker: true}
system: {cores: 2, memory: {nodes: [{size: 64MiB}]}}
processes:
  - name: a
    core: 0
    workload: {kind: random, footprint: 64KiB, base: 0x60000000, accesses: 20000, read_fraction: 0.5}
    vmas: [{start: 0x10000000, size: 4KiB}]
    syscalls: [{at: 0, call: shm_attach, key: seg, addr: 0x60000000, length: 64KiB, prot: rw-}]
  - name: b
    core: 1
    workload: {kind: random, footprint: 64KiB, base: 0x60000000, accesses: 20000, read_fraction: 0.5}
    vmas: [{start: 0x10000000, size: 4KiB}]
    syscalls: [{at: 0, call: shm_attach, key: seg, addr: 0x60000000, length: 64KiB, prot: rw-}]
)");
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/out");
  EXPECT_EQ(stat(j, "system.os.vm.shm_segments"), 1u);
  // Each process faults each of the 16 pages once; the frames are allocated once.
  EXPECT_EQ(stat(j, "system.os.faults.shared"), 32u);
  EXPECT_EQ(stat(j, "system.os.frames.data_allocated"), 16u);
  EXPECT_EQ(stat(j, "system.os.faults.cow_copies"), 0u);
  EXPECT_GE(stat(j, "system.os.frames.shared_peak"), 1u);
  expect_frames_conserved(j);
}

}  // namespace

namespace {

const std::string kThreeOnOneCore = kOneNode + R"(
firmware: {scheduler: {time_slice: 20000}}
processes:
  - {name: a, workload: {kind: random, footprint: 256KiB, accesses: 20000}}
  - {name: b, workload: {kind: sequential, footprint: 256KiB, accesses: 20000}}
  - {name: c, workload: {kind: random, footprint: 128KiB, accesses: 10000}}
  - {name: late, start: 2ms, workload: {kind: sequential, footprint: 64KiB, accesses: 1000}}
)";

TEST_F(Os, RoundRobinSlicesSwitchWithPcidAndHonourStartTimes) {
  std::string cfg = write("rr.yaml", kThreeOnOneCore);
  ASSERT_EQ(vmsim("run " + cfg + " -q --set system.core.mmu.pcid=false --out " + m_dir + "/off").code, 0);
  Result r = vmsim("run " + cfg + " -q --set system.core.mmu.pcid=true --out " + m_dir + "/on");
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(vmsim("run " + cfg + " -q --set firmware.scheduler.time_slice=0 --out " + m_dir + "/fifo").code, 0);
  nlohmann::json off = stats(m_dir + "/off"), on = stats(m_dir + "/on"), fifo = stats(m_dir + "/fifo");
  // Slices of 20000 cycles over ~50000 operations of a, b, c: many more switches than processes.
  const uint64_t switches = stat(on, "system.os.processes.context_switches");
  EXPECT_GT(switches, 10u);
  EXPECT_EQ(stat(fifo, "system.os.processes.context_switches"), 4u);
  // Without PCIDs every switch flushes the TLB; with them none does.
  // (and so does each load of the kernel's own root: its first entry, each ended address space)
  EXPECT_EQ(stat(off, "system.core0.mmu.tlb.root_switch_flushes"),
            stat(off, "system.os.processes.context_switches") + stat(off, "system.os.kernel_half.kernel_root_loads"));
  EXPECT_EQ(stat(on, "system.core0.mmu.tlb.root_switch_flushes"), 0u);
  EXPECT_GT(stat(off, "system.core0.mmu.tlb.misses"), stat(on, "system.core0.mmu.tlb.misses"));
  for (const nlohmann::json* j : {&off, &on, &fifo}) {
    EXPECT_EQ((*j)["summary"]["accesses"], 51000);
    EXPECT_EQ((*j)["summary"]["processes_exited"], 4);
    // 'late' starts at 2 ms, after the others are done.
    EXPECT_GE((*j)["summary"]["sim_time_ps"].get<uint64_t>(), 2000000000u);
    expect_frames_conserved(*j);
  }
}

}  // namespace

namespace {

TEST_F(Os, TransparentHugePagesFallBackAndSplit) {
  std::string cfg = write("thp.yaml", R"(
sim: {checker: true}
system: {cores: 2, memory: {nodes: [{size: 256MiB}]}}
processes:
  - name: thp
    workload: {kind: strided, stride: 4KiB, footprint: 5MiB, base: 0x40000000, accesses: 1280}
    vmas: [{start: 0x40000000, size: 5MiB, huge: true}]
    syscalls: [{at: 1280, call: munmap, addr: 0x40100000, length: 4KiB}]
  - name: forker
    core: 0
    workload: {kind: strided, stride: 4KiB, footprint: 4MiB, base: 0x80000000, accesses: 1024, read_fraction: 0}
    vmas: [{start: 0x80000000, size: 4MiB, huge: true}]
    syscalls: [{at: 600, call: fork, child: kid}]
  - name: kid
    core: 1
    parent: forker
    workload: {kind: strided, stride: 4KiB, footprint: 4MiB, base: 0x80000000, accesses: 1024, read_fraction: 0}
)");
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/out");
  // 'thp': two 2 MiB pages, then the last 1 MiB (no whole aligned 2 MiB left) page by page.
  EXPECT_EQ(stat(j, "system.os.proc0.faults"), 2u + 256u);
  EXPECT_EQ(stat(j, "system.os.proc0.pages_node0"), 1280u);
  EXPECT_EQ(stat(j, "system.os.faults.thp_fallbacks"), 256u);
  // 'forker': two 2 MiB pages before the fork.
  EXPECT_EQ(stat(j, "system.os.faults.thp"), 2u + 2u);
  // munmap of one page splits its 2 MiB page; fork splits the forker's two.
  EXPECT_EQ(stat(j, "system.os.faults.thp_splits"), 1u + 2u);
  // The kid writes every page of both ranges: once the last of a range is its own again (a copy or, after
  // the forker's exit, a reuse), the range collapses back into a 2 MiB page.
  EXPECT_EQ(stat(j, "system.os.faults.thp_collapses"), 2u);
  EXPECT_EQ(stat(j, "system.os.vm.pages_unmapped"), 1u);
  EXPECT_GT(stat(j, "system.os.faults.cow_copies"), 0u);
  EXPECT_EQ(j["summary"]["processes_killed"], 0);
  EXPECT_EQ(j["summary"]["processes_exited"], 3);
  expect_frames_conserved(j);
}

}  // namespace

namespace {

TEST_F(Os, ChurnPresetRunsWithTheCheckerInLtAndAt) {
  for (const char* mode : {"lt", "at"}) {
    const std::string out = m_dir + "/" + mode;
    Result r = vmsim(std::string("run ") + VMSIM_SOURCE_DIR "/configs/presets/os-churn.yaml -q --set sim.mode=" + mode +
                     " --out " + out);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    nlohmann::json j = stats(out);
    EXPECT_EQ(j["summary"]["processes_created"], 8) << mode;
    EXPECT_EQ(j["summary"]["processes_exited"], 8) << mode;
    EXPECT_EQ(j["summary"]["processes_killed"], 0) << mode;
    EXPECT_EQ(stat(j, "system.os.syscalls.total"), 11u) << mode;
    EXPECT_EQ(stat(j, "system.os.proc0.syscall_errors"), 0u) << mode;
    EXPECT_GT(stat(j, "system.os.tlb.shootdowns"), 0u) << mode;
    EXPECT_GT(stat(j, "system.os.faults.cow_copies"), 0u) << mode;
    EXPECT_EQ(stat(j, "system.os.faults.thp"), 2u) << mode;
    EXPECT_GT(stat(j, "system.os.processes.context_switches"), 16u) << mode;
    // bind to node 0 from socket 1: all remote; interleave: both nodes.
    EXPECT_EQ(stat(j, "system.os.proc5.pages_node1"), 0u) << mode;
    EXPECT_EQ(stat(j, "system.os.proc5.pages_local"), 0u) << mode;
    EXPECT_GT(stat(j, "system.os.proc1.pages_node0"), 0u) << mode;
    EXPECT_GT(stat(j, "system.os.proc1.pages_node1"), 0u) << mode;
    expect_frames_conserved(j);
  }
}

TEST_F(Os, OvercommitNeverRefusesAndStacksGrowDown) {
  std::string cfg = write("oc.yaml", kOneNode + R"(
firmware: {overcommit: never, overcommit_ratio: 50, stack_limit: 64KiB}
processes:
  - name: p
    workload: {kind: strided, stride: 4KiB, footprint: 48KiB, base: 0x7000000000, accesses: 12}
    vmas: [{start: 0x7000008000, size: 16KiB, grows_down: true, name: stack}]
    syscalls:
      - {at: 0, call: mmap, length: 24MiB}   # within 50% of 64 MiB
      - {at: 0, call: mmap, length: 24MiB}   # over the commit limit: ENOMEM
      - {at: 0, call: mmap, length: 24MiB, shared: true}  # shared memory is not committed
      - {at: 0, call: brk, addr: 0x200000800000}  # 8 MiB more: over the limit too
)");
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/out");
  EXPECT_EQ(stat(j, "system.os.syscalls.errno_ENOMEM"), 2u);
  // The workload touches 0x7000000000.. upwards; the stack area starts 32 KiB above: the first fault
  // grows it down to that page (within the 64 KiB limit), which covers the 7 pages after it too.
  EXPECT_EQ(stat(j, "system.os.faults.stack_growth"), 1u);
  EXPECT_EQ(j["summary"]["processes_killed"], 0);
  EXPECT_EQ(stat(j, "system.os.faults.demand_zero"), 12u);
  expect_frames_conserved(j);
}

}  // namespace

namespace {

TEST_F(Os, GigabytePagesFromTheBootPool) {
  std::string cfg = write("giga.yaml", R"(
sim: {checker: true}
system: {memory: {nodes: [{size: 3GiB}]}}
firmware: {hugepages_1g: 1}
processes:
  - name: big
    workload: {kind: strided, stride: 4KiB, footprint: 8MiB, base: 0x40000000, accesses: 4096, read_fraction: 0}
    vmas: [{start: 0x40000000, size: 1GiB, huge_1g: true}]
    syscalls:
      - {at: 2048, call: munmap, addr: 0x40000000, length: 2MiB}            # EINVAL: cuts the 1 GiB page
      - {at: 2048, call: mprotect, addr: 0x40000000, length: 1GiB, prot: r--}
      - {at: 2048, call: mprotect, addr: 0x40000000, length: 1GiB, prot: rw-}
      - {at: 4096, call: mprotect, addr: 0x40000000, length: 1GiB, prot: "---"}  # still returned at exit
  - name: second
    workload: {kind: strided, stride: 4KiB, footprint: 8MiB, base: 0x40000000, accesses: 2048}
    vmas: [{start: 0x40000000, size: 1GiB, huge_1g: true}]
)");
  Result r = vmsim("run " + cfg + " -q --set sim.mode=functional --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/out");
  // One fault maps the whole gigabyte; the second process gets the page back after the first exits.
  EXPECT_EQ(stat(j, "system.os.faults.huge_1g"), 2u);
  EXPECT_EQ(stat(j, "system.os.proc0.faults"), 1u);
  EXPECT_EQ(stat(j, "system.os.proc0.pages_node0"), 262144u);
  EXPECT_EQ(stat(j, "system.os.syscalls.errno_EINVAL"), 1u);
  EXPECT_EQ(stat(j, "system.os.vm.pages_reprotected"), 3u);
  EXPECT_EQ(stat(j, "system.os.frames.hugepages_1g_free"), 1u);
  EXPECT_EQ(j["summary"]["processes_killed"], 0);
  expect_frames_conserved(j);
  // A pool that does not fit is a config error naming the key.
  r = vmsim("run " + cfg + " --set firmware.hugepages_1g=3 --out " + m_dir + "/o");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("firmware.hugepages_1g: bad value '3'"), std::string::npos) << r.err;
}

}  // namespace

namespace {

TEST_F(Os, CompactionMovesPagesForAHugePage) {
  // a and b fault in turns (short slices), so their frames interleave over the whole zone; b exits and
  // leaves holes everywhere; c's 2 MiB fault finds no free block and compaction moves a's pages out of
  // one region. a keeps writing its pages afterwards with the checker on: its PTEs were rewritten.
  std::string cfg = write("compact.yaml", R"(
sim: {checker: true}
system: {memory: {nodes: [{size: 32MiB}]}}
firmware: {physmem: {pcp_high: 0, dma_limit: 0}, scheduler: {time_slice: 3000}}
processes:
  - name: a
    workload: {kind: strided, stride: 4KiB, footprint: 15MiB, base: 0x10000000, accesses: 300000, read_fraction: 0}
  - name: b
    workload: {kind: strided, stride: 4KiB, footprint: 15MiB, base: 0x10000000, accesses: 3840, read_fraction: 0}
  - name: c
    start: 12ms
    workload: {kind: sequential, footprint: 2MiB, base: 0x40000000, accesses: 2000}
    vmas: [{start: 0x40000000, size: 2MiB, huge: true}]
)");
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/on");
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(vmsim("run " + cfg + " -q --set firmware.compaction=false --out " + m_dir + "/off").code, 0);
  nlohmann::json on = stats(m_dir + "/on"), off = stats(m_dir + "/off");
  EXPECT_EQ(stat(on, "system.os.faults.compactions"), 1u);
  EXPECT_EQ(stat(on, "system.os.faults.compaction_success"), 1u);
  EXPECT_GT(stat(on, "system.os.faults.pages_migrated"), 0u);
  EXPECT_LT(stat(on, "system.os.faults.pages_migrated"), 512u);
  EXPECT_EQ(stat(on, "system.os.faults.thp"), 1u);
  // Without compaction the fault falls back to 4 KiB pages.
  EXPECT_EQ(stat(off, "system.os.faults.thp"), 0u);
  EXPECT_EQ(stat(off, "system.os.faults.thp_fallbacks"), 4u);  // the 4 pages c touches
  for (const nlohmann::json* j : {&on, &off}) {
    EXPECT_EQ((*j)["summary"]["processes_killed"], 0);
    expect_frames_conserved(*j);
  }
}

}  // namespace

namespace {

TEST_F(Os, FileMappingsMajorFaultsPageCacheAndPrivateCopies) {
  std::string cfg = write("file.yaml", R"(
sim: {checker: true}
system: {cores: 2, memory: {nodes: [{size: 64MiB}]}}
firmware: {files: [{name: data.bin, size: 128KiB, seed: 7}]}
processes:
  - name: writer
    core: 0
    workload: {kind: random, footprint: 64KiB, base: 0x50000000, accesses: 20000, read_fraction: 0.5}
    vmas: [{start: 0x10000000, size: 4KiB}]
    syscalls: [{at: 0, call: mmap, addr: 0x50000000, length: 64KiB, fixed: true, file: data.bin, offset: 64KiB}]
  - name: reader
    core: 1
    workload: {kind: random, footprint: 64KiB, base: 0x60000000, accesses: 20000, read_fraction: 1.0}
    vmas: [{start: 0x10000000, size: 4KiB}]
    syscalls:
      - {at: 0, call: mmap, addr: 0x60000000, length: 64KiB, fixed: true, shared: true, prot: r--, file: data.bin,
         offset: 64KiB}
      - {at: 1, call: mmap, length: 8KiB, file: data.bin, offset: 124KiB}   # EINVAL: past the end
)");
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/out");
  // The 16 pages are read from the store once, into the page cache both processes map.
  EXPECT_EQ(stat(j, "system.os.faults.major"), 16u);
  EXPECT_EQ(stat(j, "system.os.faults.shared"), 16u);
  // The writer's private mapping copies each page it writes (all 16 with 10000 random writes).
  EXPECT_EQ(stat(j, "system.os.faults.cow_copies"), 16u);
  EXPECT_EQ(stat(j, "system.os.frames.data_allocated"), 16u + 16u);
  EXPECT_EQ(stat(j, "system.os.syscalls.errno_EINVAL"), 1u);
  EXPECT_EQ(j["summary"]["processes_killed"], 0);
  expect_frames_conserved(j);
  r = vmsim("run " + cfg + " --set processes.0.syscalls.0.file=nope.bin --out " + m_dir + "/o");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("processes[0].syscalls[0].file: bad value 'nope.bin' (no such file"), std::string::npos)
      << r.err;
}

}  // namespace

namespace {

TEST_F(Os, AccessesCountedLocalAndRemotePerProcess) {
  // 65536 sequential 8-byte accesses over 256 KiB: every one of the 64 pages gets exactly 1024.
  std::string cfg = write("acc.yaml", kTwoNodes + R"(
processes:
  - {name: local, core: 1, workload: {kind: sequential, footprint: 256KiB, accesses: 65536}}
  - {name: bound, core: 1, numa: {policy: bind, nodes: "0"},
     workload: {kind: sequential, footprint: 256KiB, accesses: 65536}}
  - {name: inter, core: 0, numa: {policy: interleave, nodes: "0-1"},
     workload: {kind: sequential, footprint: 256KiB, accesses: 65536}}
)");
  struct Run {
    const char* name;
    std::string sets;
  };
  for (const Run& run : {Run{"functional", "--set sim.mode=functional"}, Run{"lt", "--set sim.mode=lt"},
                         Run{"at", "--set sim.mode=at"},
                         Run{"at4", "--set sim.mode=at --set system.core.outstanding=4"}}) {
    const std::string out = m_dir + "/" + run.name;
    Result r = vmsim("run " + cfg + " -q " + run.sets + " --out " + out);
    ASSERT_EQ(r.code, 0) << run.name << ": " << r.err;
    nlohmann::json j = stats(out);
    // Core 1, first touch: every page on node 1, every access local.
    EXPECT_EQ(stat(j, "system.os.proc0.accesses_local"), 65536u) << run.name;
    EXPECT_EQ(stat(j, "system.os.proc0.accesses_remote"), 0u) << run.name;
    // Core 1 bound to node 0: every access remote.
    EXPECT_EQ(stat(j, "system.os.proc1.accesses_local"), 0u) << run.name;
    EXPECT_EQ(stat(j, "system.os.proc1.accesses_remote"), 65536u) << run.name;
    // Core 0, pages interleaved: the 32 pages on node 0 are local, the 32 on node 1 remote.
    EXPECT_EQ(stat(j, "system.os.proc2.accesses_local"), 32768u) << run.name;
    EXPECT_EQ(stat(j, "system.os.proc2.accesses_remote"), 32768u) << run.name;
    uint64_t classified = 0;
    for (int p = 0; p < 3; ++p) {
      classified += stat(j, "system.os.proc" + std::to_string(p) + ".accesses_local") +
                    stat(j, "system.os.proc" + std::to_string(p) + ".accesses_remote");
    }
    EXPECT_EQ(classified, stat(j, "system.core0.accesses") + stat(j, "system.core1.accesses")) << run.name;
    expect_frames_conserved(j);
  }
}

}  // namespace

namespace {

TEST_F(Os, FatalSignalKillsTheWholeThreadGroup) {
  // 'parent' starts two threads and a copy-on-write child. 'writer' (a thread) makes the shared region
  // read-only and writes again: SIGSEGV. Its whole group (parent, writer, reader) dies; the forked child
  // (its own address space) and an unrelated process run to their end.
  std::string cfg = write("group.yaml", R"(
sim: {checker: true}
system: {cores: 4, memory: {nodes: [{size: 128MiB}]}}
processes:
  - name: parent
    core: 0
    workload: {kind: random, footprint: 256KiB, accesses: 400000, read_fraction: 1.0}
    syscalls:
      - {at: 0, call: fork, child: writer, share_vm: true}
      - {at: 0, call: fork, child: reader, share_vm: true}
      - {at: 0, call: fork, child: child}
  - name: writer
    core: 1
    parent: parent
    workload: {kind: sequential, footprint: 256KiB, accesses: 100000, read_fraction: 0.0}
    syscalls: [{at: 3000, call: mprotect, addr: 0x10000000, length: 256KiB, prot: r--}]
  - name: reader
    core: 2
    parent: parent
    workload: {kind: random, footprint: 256KiB, accesses: 400000, read_fraction: 1.0}
  - name: child
    core: 3
    parent: parent
    workload: {kind: random, footprint: 256KiB, accesses: 20000, read_fraction: 0.5}
  - name: other
    core: 3
    workload: {kind: random, footprint: 256KiB, base: 0x20000000, accesses: 20000, read_fraction: 0.5}
)");
  for (const char* mode : {"lt", "at", "at4"}) {
    const std::string out = m_dir + "/" + mode;
    const std::string sets = std::string(mode) == "at4" ? "--set sim.mode=at --set system.core.outstanding=4"
                                                        : std::string("--set sim.mode=") + mode;
    Result r = vmsim("run " + cfg + " -q " + sets + " --out " + out);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    nlohmann::json j = stats(out);
    EXPECT_EQ(j["summary"]["processes_created"], 5) << mode;
    EXPECT_EQ(j["summary"]["processes_killed"], 3) << mode;
    EXPECT_EQ(j["summary"]["processes_exited"], 2) << mode;
    EXPECT_EQ(stat(j, "system.os.processes.group_kills"), 2u) << mode;
    EXPECT_EQ(j["summary"]["page_faults"]["segv_protection"], 1) << mode;
    // One report per thread: the faulting one first, then the others naming it.
    ASSERT_EQ(j["kills"].size(), 3u) << mode;
    EXPECT_EQ(j["kills"][0]["name"], "writer") << mode;
    EXPECT_EQ(j["kills"][0]["signal"], "SIGSEGV") << mode;
    EXPECT_EQ(j["kills"][0]["access"], "write") << mode;
    EXPECT_EQ(j["kills"][1]["name"], "parent") << mode;
    EXPECT_EQ(j["kills"][2]["name"], "reader") << mode;
    const std::string pid = std::to_string(j["kills"][0]["pid"].get<int>());
    for (int k = 1; k < 3; ++k) {
      EXPECT_EQ(j["kills"][k]["signal"], "SIGSEGV") << mode;
      EXPECT_EQ(j["kills"][k]["reason"].get<std::string>().rfind("thread group: process " + pid + " 'writer' killed by SIGSEGV", 0), 0u)
          << j["kills"][k]["reason"];
      EXPECT_EQ(j["kills"][k]["core"], k == 1 ? 0 : 2) << mode;
    }
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 3) << r.err;
    // The group's threads stopped early; the child and the other process ran every access.
    EXPECT_LT(stat(j, "system.core0.accesses"), 400000u) << mode;
    EXPECT_LT(stat(j, "system.core2.accesses"), 400000u) << mode;
    EXPECT_EQ(stat(j, "system.core3.accesses"), 40000u) << mode;
    expect_frames_conserved(j);
  }
}

}  // namespace

namespace {

TEST_F(Os, ForkSharesGigabytePagesCopyOnWrite) {
  // The parent writes the first 4 MiB of its 1 GiB page, forks, re-applies rw- (the shared page must
  // stay read-only) and writes the next 4 MiB; the child writes 4 MiB further up. With the contents
  // check every word is classified when each address space ends.
  std::string cfg = write("gfork.yaml", R"(
sim: {checker: true}
system: {cores: 2, memory: {model: fixed, nodes: [{size: 3GiB}]}}
firmware: {hugepages_1g: 2, check_contents: true}
processes:
  - name: parent
    core: 0
    workload: {kind: sequential, footprint: 8MiB, base: 0x40000000, accesses: 1048576, read_fraction: 0, gap: 0}
    vmas: [{start: 0x40000000, size: 1GiB, huge_1g: true}]
    syscalls:
      - {at: 524288, call: fork, child: child}
      - {at: 524288, call: mprotect, addr: 0x40000000, length: 1GiB, prot: rw-}
  - name: child
    core: 1
    parent: parent
    workload: {kind: sequential, footprint: 4MiB, base: 0x40800000, accesses: 524288, read_fraction: 0, gap: 0}
)");
  const uint64_t words = (1ull << 30) / 8, mib4 = (4ull << 20) / 8;
  for (const char* mode : {"functional", "lt"}) {
    const std::string out = m_dir + "/" + mode;
    // The functional mode's slices count operations: 300 of them, as 3000 cycles are in the others.
    const std::string slice = std::string(mode) == "functional" ? " --set firmware.scheduler.time_slice=300" : "";
    Result r = vmsim("run " + cfg + " -q --set sim.mode=" + mode + slice + " --out " + out);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    nlohmann::json j = stats(out);
    EXPECT_EQ(stat(j, "system.os.faults.huge_1g"), 1u) << mode;
    EXPECT_EQ(stat(j, "system.os.vm.cow_shared_1g_pages"), 1u) << mode;
    // The first writer after the fork copies the gigabyte into the second pool page; the other then
    // finds the page no longer shared and takes it over.
    EXPECT_EQ(stat(j, "system.os.faults.huge_1g_cow_copies"), 1u) << mode;
    EXPECT_EQ(stat(j, "system.os.faults.huge_1g_cow_reuse"), 1u) << mode;
    EXPECT_EQ(stat(j, "system.os.proc0.cow_copies") + stat(j, "system.os.proc1.cow_copies"), 1u) << mode;
    // The parent sees its 8 MiB and nothing of the child's writes; the child the 4 MiB written before
    // the fork and its own 4 MiB, nothing the parent wrote after.
    EXPECT_EQ(stat(j, "system.os.proc0.contents_own_va"), 2 * mib4) << mode;
    EXPECT_EQ(stat(j, "system.os.proc0.contents_zero"), words - 2 * mib4) << mode;
    EXPECT_EQ(stat(j, "system.os.proc1.contents_own_va"), 2 * mib4) << mode;
    EXPECT_EQ(stat(j, "system.os.proc1.contents_zero"), words - 2 * mib4) << mode;
    EXPECT_EQ(stat(j, "system.os.proc0.contents_other") + stat(j, "system.os.proc1.contents_other"), 0u) << mode;
    EXPECT_EQ(stat(j, "system.os.frames.hugepages_1g_free"), 2u) << mode;
    EXPECT_EQ(j["summary"]["processes_killed"], 0) << mode;
    expect_frames_conserved(j);
  }
  // With a pool of one page the first write after the fork has nowhere to copy to: SIGBUS (functional:
  // the parent runs first). The child then owns the page alone and takes it over; the page returns.
  Result r = vmsim("run " + cfg + " -q --set sim.mode=functional --set firmware.hugepages_1g=1 --out " + m_dir + "/one");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/one");
  EXPECT_EQ(stat(j, "system.os.faults.huge_1g_sigbus"), 1u);
  EXPECT_EQ(stat(j, "system.os.faults.huge_1g_cow_copies"), 0u);
  EXPECT_EQ(stat(j, "system.os.faults.huge_1g_cow_reuse"), 1u);
  ASSERT_EQ(j["kills"].size(), 1u);
  EXPECT_EQ(j["kills"][0]["name"], "parent");
  EXPECT_EQ(j["kills"][0]["signal"], "SIGBUS");
  EXPECT_EQ(j["kills"][0]["address"], "0x40400000");
  EXPECT_EQ(stat(j, "system.os.proc1.contents_own_va"), 2 * mib4);
  EXPECT_EQ(stat(j, "system.os.frames.hugepages_1g_free"), 1u);
  expect_frames_conserved(j);
}

}  // namespace

namespace {

TEST_F(Os, SplitHugePagesCollapseBackWithDataIntact) {
  // Two 2 MiB pages, written whole once. mprotect of one 4 KiB page splits the first and the mprotect
  // back collapses it over its own block; mmap(FIXED) over one page of the second splits it and replaces
  // that page, and once a thread reads the page (a 4 KiB demand-zero fault) the full range is copied into
  // a fresh 2 MiB block. The thread on core 1 reads the area throughout, so its 4 KiB translations must
  // be shot down (the golden checker is on). Nothing writes after the collapses: the contents check finds
  // every word written before them, except the 512 of the replaced page, which read as zero.
  std::string cfg = write("collapse.yaml", R"(
sim: {checker: true}
system: {cores: 2, memory: {nodes: [{size: 256MiB}]}}
firmware: {check_contents: true}
processes:
  - name: p
    core: 0
    workload: {kind: sequential, footprint: 4MiB, base: 0x40000000, accesses: 524288, read_fraction: 0, gap: 0}
    vmas: [{start: 0x40000000, size: 4MiB, huge: true}]
    syscalls:
      - {at: 0, call: fork, child: reader, share_vm: true}
      - {at: 524288, call: mprotect, addr: 0x40001000, length: 4KiB, prot: r--}
      - {at: 524288, call: mprotect, addr: 0x40001000, length: 4KiB, prot: rw-}
      - {at: 524288, call: mmap, addr: 0x40201000, length: 4KiB, fixed: true, huge: true}
  - name: reader
    core: 1
    parent: p
    workload: {kind: random, footprint: 4MiB, base: 0x40000000, accesses: 1000000, read_fraction: 1.0}
)");
  for (const char* mode : {"lt", "at", "functional"}) {
    const std::string out = m_dir + "/" + mode;
    // The functional mode's slices count operations: 300 of them, as 3000 cycles are in the others.
    const std::string slice = std::string(mode) == "functional" ? " --set firmware.scheduler.time_slice=300" : "";
    Result r = vmsim("run " + cfg + " -q --set sim.mode=" + mode + slice + " --out " + out);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    nlohmann::json j = stats(out);
    EXPECT_EQ(stat(j, "system.os.faults.thp"), 2u) << mode;
    EXPECT_EQ(stat(j, "system.os.faults.thp_splits"), 2u) << mode;
    EXPECT_EQ(stat(j, "system.os.faults.thp_collapses"), 2u) << mode;
    EXPECT_EQ(stat(j, "system.os.faults.thp_collapses_in_place"), 1u) << mode;
    EXPECT_EQ(stat(j, "system.os.faults.thp_collapse_no_block"), 0u) << mode;
    EXPECT_EQ(stat(j, "system.os.vm.pages_unmapped"), 1u) << mode;
    // Two 2 MiB blocks; at the refault a block taken and given back (the range still has a table), the
    // 4 KiB page, and the block the second range was copied into.
    EXPECT_EQ(stat(j, "system.os.frames.data_allocated"), 512u + 512u + 512u + 1u + 512u) << mode;
    // Every word written kept through split, collapse and copy; the replaced page reads as zero.
    EXPECT_EQ(stat(j, "system.os.proc1.contents_own_va") + stat(j, "system.os.proc0.contents_own_va"), 524288u - 512u)
        << mode;
    EXPECT_EQ(stat(j, "system.os.proc0.contents_zero") + stat(j, "system.os.proc1.contents_zero"), 512u) << mode;
    EXPECT_EQ(stat(j, "system.os.proc0.contents_other") + stat(j, "system.os.proc1.contents_other"), 0u) << mode;
    EXPECT_EQ(j["summary"]["processes_killed"], 0) << mode;
    if (std::string(mode) != "functional") {
      EXPECT_GT(stat(j, "system.core1.ipis_received"), 0u) << mode;
    }
    expect_frames_conserved(j);
  }
  expect_config_errors(cfg, {{{"firmware.check_contents=maybe"}, "firmware.check_contents: bad value 'maybe'"},
                             {{"firmware.costs.thp_collapse=lots"}, "firmware.costs.thp_collapse: bad value 'lots'"}});
}

}  // namespace

namespace {

TEST_F(Os, OomKillTakesTheWholeThreadGroup) {
  // A thread group outgrows memory (no swap): the OOM killer picks it (the largest) and kills it once;
  // the other thread goes with its group. The small process on its own core runs to its end.
  std::string cfg = write("oomgroup.yaml", R"(
sim: {checker: true}
system: {cores: 3, memory: {nodes: [{size: 32MiB}]}}
processes:
  - name: hog
    core: 0
    workload: {kind: strided, stride: 4KiB, footprint: 40MiB, base: 0x40000000, accesses: 10240, read_fraction: 0}
    syscalls: [{at: 0, call: fork, child: hogt, share_vm: true}]
  - name: hogt
    core: 1
    parent: hog
    workload: {kind: random, footprint: 40MiB, base: 0x40000000, accesses: 100000, read_fraction: 0.0}
  - name: small
    core: 2
    workload: {kind: random, footprint: 1MiB, base: 0x80000000, accesses: 100000, read_fraction: 0.5}
)");
  for (const char* mode : {"lt", "at"}) {
    const std::string out = m_dir + "/" + mode;
    // The functional mode's slices count operations: 300 of them, as 3000 cycles are in the others.
    const std::string slice = std::string(mode) == "functional" ? " --set firmware.scheduler.time_slice=300" : "";
    Result r = vmsim("run " + cfg + " -q --set sim.mode=" + mode + slice + " --out " + out);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    nlohmann::json j = stats(out);
    EXPECT_EQ(j["summary"]["processes_killed"], 2) << mode;
    EXPECT_EQ(j["summary"]["processes_exited"], 1) << mode;
    EXPECT_EQ(stat(j, "system.os.swap.oom_kills"), 2u) << mode;
    EXPECT_EQ(stat(j, "system.os.processes.group_kills"), 1u) << mode;
    ASSERT_EQ(j["kills"].size(), 2u) << mode;
    // The thread that faulted is reported first with the OOM reason, the other names it.
    const std::string first = j["kills"][0]["name"], second = j["kills"][1]["name"];
    EXPECT_TRUE((first == "hog" && second == "hogt") || (first == "hogt" && second == "hog")) << mode;
    EXPECT_EQ(j["kills"][0]["signal"], "SIGKILL") << mode;
    EXPECT_EQ(j["kills"][1]["signal"], "SIGKILL") << mode;
    EXPECT_EQ(j["kills"][0]["reason"].get<std::string>().rfind("out of memory: killed process 1 (hog)", 0), 0u) << mode;
    EXPECT_EQ(j["kills"][1]["reason"].get<std::string>().rfind(
                  "thread group: process " + std::to_string(j["kills"][0]["pid"].get<int>()) + " '" + first +
                      "' killed by SIGKILL (out of memory",
                  0),
              0u)
        << j["kills"][1]["reason"];
    EXPECT_EQ(stat(j, "system.core2.accesses"), 100000u) << mode;
    expect_frames_conserved(j);
  }
}

TEST_F(Os, PageCacheOutlivesTheLastUnmapAndIsDroppedWhenMemoryRunsOut) {
  // Three processes map the same 64 KiB file one after another and read it whole. Only the first reads it
  // from the store: the page cache stays after each process's mapping goes, as Linux keeps clean
  // page-cache pages until reclaim takes them.
  const std::string reader = R"(
  - name: reader
    workload: {kind: sequential, footprint: 64KiB, base: 0x70000000, accesses: 8192, read_fraction: 1.0}
    syscalls: [{at: 0, call: mmap, addr: 0x70000000, length: 64KiB, fixed: true, prot: r--, file: data.bin}]
)";
  const std::string head = R"(
sim: {checker: true}
system:
  cores: 1
  memory: {nodes: [{size: 32MiB}]}
firmware: {files: [{name: data.bin, size: 64KiB, seed: 7}]}
processes:)";
  Result r = vmsim("run " + write("three.yaml", head + reader + reader + reader) + " -q --out " + m_dir + "/three");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/three");
  EXPECT_EQ(stat(j, "system.os.faults.major"), 16u);
  EXPECT_EQ(stat(j, "system.os.faults.shared"), 32u);
  EXPECT_EQ(stat(j, "system.os.frames.page_cache"), 16u);
  EXPECT_EQ(stat(j, "system.os.frames.page_cache_dropped"), 0u);
  expect_frames_conserved(j);

  // Without swap, the cache of a file nobody maps is what the kernel gives up before the OOM killer: a
  // 20 MiB file read whole, then a process that needs most of memory for anonymous pages.
  const std::string squeeze = R"(
sim: {checker: true}
system:
  cores: 1
  memory: {nodes: [{size: 32MiB}]}
firmware: {files: [{name: big.bin, size: 20MiB, seed: 7}]}
processes:
  - name: reader
    workload: {kind: strided, stride: 4096, footprint: 20MiB, base: 0x70000000, accesses: 5120,
               read_fraction: 1.0}
    syscalls: [{at: 0, call: mmap, addr: 0x70000000, length: 20MiB, fixed: true, prot: r--, file: big.bin}]
  - name: anon
    workload: {kind: strided, stride: 4096, footprint: 20MiB, accesses: 5120, read_fraction: 0.0}
)";
  r = vmsim("run " + write("squeeze.yaml", squeeze) + " -q --out " + m_dir + "/squeeze");
  ASSERT_EQ(r.code, 0) << r.err;
  j = stats(m_dir + "/squeeze");
  EXPECT_EQ(j["summary"]["processes_killed"], 0);
  EXPECT_EQ(stat(j, "system.os.faults.oom"), 0u);
  EXPECT_GT(stat(j, "system.os.frames.page_cache_dropped"), 1000u);
  EXPECT_EQ(stat(j, "system.os.frames.page_cache") + stat(j, "system.os.frames.page_cache_dropped"), 5120u);
  expect_frames_conserved(j);
}

TEST_F(Os, SharedFileWritesReachTheFileStore) {
  // The first process writes every word of a shared file mapping and ends; the second maps the same file
  // later and reads every word. The data checker accepts only the first process's writes (each word holds
  // its own virtual address): without the write-back it would read the file's original contents.
  const std::string procs = R"(
processes:
  - name: writer
    workload: {kind: sequential, footprint: 64KiB, base: 0x70000000, accesses: 8192, read_fraction: 0.0}
    syscalls: [{at: 0, call: mmap, addr: 0x70000000, length: 64KiB, fixed: true, shared: true, file: data.bin}]
  - name: reader
    workload: {kind: sequential, footprint: 64KiB, base: 0x70000000, accesses: 8192, read_fraction: 1.0}
    syscalls: [{at: 0, call: mmap, addr: 0x70000000, length: 64KiB, fixed: true, shared: true, file: data.bin}]
)";
  const std::string head = R"(
sim: {checker: true, check_data: true}
system:
  cores: 1
  memory: {nodes: [{size: 64MiB}]}
firmware: {files: [{name: data.bin, size: 64KiB, seed: 7}]}
)";
  Result r = vmsim("run " + write("file.yaml", head + procs) + " -q --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/out");
  EXPECT_EQ(stat(j, "system.os.vm.file_writebacks"), 16u);
  // The writer reads the 16 pages from the store; the reader finds them in the page cache, which outlived
  // the writer's mapping (clean after the write-back).
  EXPECT_EQ(stat(j, "system.os.faults.major"), 16u);
  EXPECT_EQ(stat(j, "system.os.frames.page_cache"), 16u);
  expect_frames_conserved(j);
  // A private mapping's writes stay private (copy-on-write): the reader then sees the original contents,
  // which the data checker rejects.
  std::string priv = procs;
  priv.replace(priv.find("shared: true"), 12, "shared: false");
  r = vmsim("run " + write("private.yaml", head + priv) + " -q --out " + m_dir + "/priv");
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("data check failed: process 2 read 8 bytes at virtual address 0x70000000"), std::string::npos)
      << r.err;
}

}  // namespace

namespace {

TEST_F(Os, MlockOfAHugeAreaFaultsEachHugePageOnce) {
  // mlock populates page by page; once a 2 MiB page maps a range, its other 511 pages are not faulted
  // again (before: each of them zeroed a 2 MiB block it could not map, then mapped a 4 KiB page).
  std::string cfg = write("mlock_huge.yaml", R"(
sim: {checker: true}
firmware: {mlock_limit: 64MiB}
system: {cores: 1, memory: {nodes: [{size: 256MiB}]}}
processes:
  - name: p
    core: 0
    workload: {kind: random, footprint: 4MiB, base: 0x40000000, accesses: 20000}
    vmas: [{start: 0x40000000, size: 4MiB, huge: true}]
    syscalls: [{at: 0, call: mlock, addr: 0x40000000, length: 4MiB}]
)");
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/out");
  EXPECT_EQ(stat(j, "system.os.faults.thp"), 2u);
  EXPECT_EQ(stat(j, "system.os.faults.thp_fallbacks"), 0u);
  EXPECT_EQ(stat(j, "system.os.faults.demand_zero"), 0u);
  // Two 2 MiB zeroings (65536 bursts of 64 B), the tables, and the kernel half's (two frames written at boot,
  // 2 KiB copied into the root).
  EXPECT_LT(j["summary"]["dram_writes"].get<uint64_t>(), 70200u);
  expect_frames_conserved(j);
}

}  // namespace

namespace {

// More live address spaces than PCIDs: ten processes on two cores, round robin, all at the same virtual
// addresses, with PCID tagging and the golden checker on. A PCID shared by two live address spaces makes
// one of them hit the other's translations (the checker stops the run, exit 3); the kernel must roll the
// PCID generation over instead.
const std::string kPcidChurn = R"(
sim: {checker: true}
system:
  cores: 2
  core: {mmu: {pcid: true, pcid_count: 4}}
  memory: {nodes: [{size: 128MiB}]}
firmware: {scheduler: {time_slice: 3000}}
processes:
  - {name: a0, core: 0, workload: {kind: random, footprint: 64KiB, accesses: 3000, read_fraction: 0.5}}
  - {name: a1, core: 0, workload: {kind: sequential, footprint: 64KiB, accesses: 3000}}
  - {name: a2, core: 0, workload: {kind: random, footprint: 64KiB, accesses: 3000}}
  - {name: a3, core: 0, workload: {kind: random, footprint: 32KiB, accesses: 3000}}
  - {name: a4, core: 0, workload: {kind: sequential, footprint: 32KiB, accesses: 3000}}
  - {name: b0, core: 1, workload: {kind: random, footprint: 64KiB, accesses: 3000}}
  - {name: b1, core: 1, workload: {kind: random, footprint: 64KiB, accesses: 3000, read_fraction: 0.5}}
  - {name: b2, core: 1, workload: {kind: sequential, footprint: 64KiB, accesses: 3000}}
  - {name: b3, core: 1, workload: {kind: random, footprint: 16KiB, accesses: 3000}}
  - {name: b4, core: 1, workload: {kind: sequential, footprint: 16KiB, accesses: 3000}}
)";

TEST_F(Os, MoreLiveAddressSpacesThanPcidsRollTheGenerationOver) {
  std::string cfg = write("pcids.yaml", kPcidChurn);
  for (const char* mode : {"functional", "lt", "at"}) {
    const std::string out = m_dir + "/" + mode;
    // The functional mode's slices count operations: 300 of them, as 3000 cycles are in the others.
    const std::string slice = std::string(mode) == "functional" ? " --set firmware.scheduler.time_slice=300" : "";
    Result r = vmsim("run " + cfg + " -q --set sim.mode=" + mode + slice + " --out " + out);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    nlohmann::json j = stats(out);
    EXPECT_EQ(j["summary"]["accesses"], 30000) << mode;
    EXPECT_EQ(j["summary"]["processes_exited"], 10) << mode;
    EXPECT_GT(stat(j, "system.core0.mmu.checker_checks") + stat(j, "system.core1.mmu.checker_checks"), 30000u);
    // Three PCIDs for ten address spaces, five live on each core: many roll-overs, each followed by a
    // flush on every core at its next switch.
    const uint64_t rollovers = stat(j, "system.os.processes.pcid_rollovers");
    EXPECT_GT(rollovers, 10u) << mode;
    EXPECT_GE(stat(j, "system.os.processes.pcid_flushes"), rollovers) << mode;
    EXPECT_LE(stat(j, "system.os.processes.pcid_flushes"), 2 * rollovers) << mode;
    expect_frames_conserved(j);
  }
  // With 4096 PCIDs the same run never rolls over, and the PCIDs keep translations across switches.
  Result r = vmsim("run " + cfg + " -q --set system.core.mmu.pcid_count=4096 --out " + m_dir + "/wide");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json wide = stats(m_dir + "/wide"), narrow = stats(m_dir + "/lt");
  EXPECT_EQ(stat(wide, "system.os.processes.pcid_rollovers"), 0u);
  EXPECT_EQ(stat(wide, "system.os.processes.pcid_flushes"), 0u);
  EXPECT_LT(stat(wide, "system.core0.mmu.tlb.misses"), stat(narrow, "system.core0.mmu.tlb.misses"));
  // A roll-over keeps one PCID per core and needs one more: fewer than cores + 2 is a config error.
  expect_config_errors(cfg, {{{"system.core.mmu.pcid_count=3"}, "system.core.mmu.pcid_count: bad value '3'"},
                             {{"system.core.mmu.pcid_count=1"}, "system.core.mmu.pcid_count: bad value '1'"},
                             {{"system.core.mmu.pcid_count=4097"}, "system.core.mmu.pcid_count: bad value '4097'"}});
}

// The hole as it was found, with the hardware's 4096 PCIDs: 4100 processes alive at once on one core
// (round robin, eight operations a slice), all at the same addresses. The 4096th address space used to get
// PCID 1 again while the first still ran, and hit its translations (the golden checker stopped the run).
TEST_F(Os, The4096thLiveAddressSpaceDoesNotShareTheFirstOnesPcid) {
  std::string text = R"(
sim: {checker: true, mode: functional}
system:
  core: {mmu: {pcid: true}}
  memory: {nodes: [{size: 512MiB}]}
firmware: {scheduler: {time_slice: 8}}
processes:
)";
  for (int i = 0; i < 4100; ++i) {
    text += "  - {name: p" + std::to_string(i) + ", workload: {kind: random, footprint: 16KiB, accesses: 24}}\n";
  }
  std::string cfg = write("many.yaml", text);
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/out");
  EXPECT_EQ(j["summary"]["accesses"], 4100 * 24);
  EXPECT_EQ(j["summary"]["processes_exited"], 4100);
  EXPECT_GT(stat(j, "system.core0.mmu.checker_checks"), 4100u * 24);
  // 4095 PCIDs for 4100 live address spaces: the generation rolled over.
  EXPECT_GE(stat(j, "system.os.processes.pcid_rollovers"), 1u);
  EXPECT_EQ(stat(j, "system.os.processes.context_switches"), 3 * 4100u);
  expect_frames_conserved(j);
}

// The hashed page table tags its entries with the PCID for an address space's life, so it cannot roll
// over: more address spaces alive at once than PCIDs stop the run with a clear error, and a PCID is free
// again as soon as its address space ends. Core 0's long process holds PCID 1 while core 1 runs four
// short ones in turn: they must get 2, 3, 2, 3, never 1.
TEST_F(Os, HashedPageTableNeverSharesAPcidAndRefusesTooManyLiveAddressSpaces) {
  std::string cfg = write("hashed.yaml", R"(
sim: {checker: true}
system:
  cores: 2
  core: {mmu: {pcid: true, pcid_count: 4, walker: {format: hashed, hash_buckets: 256}}}
  memory: {nodes: [{size: 128MiB}]}
processes:
  - {name: long, core: 0, workload: {kind: random, footprint: 64KiB, accesses: 40000}}
  - {name: s0, core: 1, workload: {kind: random, footprint: 64KiB, accesses: 2000}}
  - {name: s1, core: 1, workload: {kind: random, footprint: 64KiB, accesses: 2000}}
  - {name: s2, core: 1, workload: {kind: random, footprint: 64KiB, accesses: 2000}}
  - {name: s3, core: 1, workload: {kind: random, footprint: 64KiB, accesses: 2000}}
)");
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/ok");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/ok");
  EXPECT_EQ(j["summary"]["accesses"], 48000);
  EXPECT_EQ(stat(j, "system.os.processes.pcid_rollovers"), 0u);
  EXPECT_EQ(stat(j, "system.os.hashed_table.entries"), 0u);
  expect_frames_conserved(j);
  // Round robin on core 1: four address spaces alive at once besides core 0's, for three PCIDs.
  r = vmsim("run " + cfg + " -q --set firmware.scheduler.time_slice=2000 --out " + m_dir + "/full");
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("hashed page table: more than 3 address spaces alive at once"), std::string::npos) << r.err;
}

}  // namespace
