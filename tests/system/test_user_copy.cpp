// System tests of the kernel's user copies: read and write system calls between the file store's page cache
// and the processes' heaps (golden checker and data checker on, every mode, KPTI), their errors, and the
// SMAP and SMEP faults they make possible (test-only injections: a copy without stac, a kernel fetch from a
// user page), each stopped by the hardware option and only by it.
#include <cstdio>

#include "tests/system/system_fixture.hpp"

namespace vmsim_system_test {
namespace {

// Two cores with caches, SMEP and SMAP on. On core 0, one after another: `writer` fills its 32 KiB heap (each
// word holds its own address) and writes it to out.bin at 8 KiB; `reader` reads that part of the file into
// its own heap at the same addresses (pages nobody touched yet: each a kernel fault on a user address, fixed
// up) and reads every word, which the data checker accepts only if the bytes are the writer's; `mapper` maps
// the same part of the file and reads it, so the page cache holds what write put there. On core 1 meanwhile,
// `logger` writes its heap to data.bin and reads it back while its workload goes on.
const char* kBase = R"(
sim: {checker: true, check_data: true, mode: lt}
system:
  cores: 2
  caches: skylake_sp
  memory: {nodes: [{size: 64MiB}]}
  core: {mmu: {smep: true, smap: true}}
firmware: {files: [{name: data.bin, size: 64KiB, seed: 7}, {name: out.bin, size: 64KiB, seed: 9}]}
processes:
  - name: writer
    core: 0
    workload: {kind: sequential, footprint: 32KiB, base: 0x200000000000, accesses: 4096, read_fraction: 0.0}
    vmas: [{start: 0x10000000, size: 4KiB, prot: r-x}]
    syscalls:
      - {at: 0, call: brk, addr: 0x200000008000}
      - {at: 4096, call: write, file: out.bin, addr: 0x200000000000, length: 32KiB, offset: 8KiB}
  - name: reader
    core: 0
    workload: {kind: sequential, footprint: 32KiB, base: 0x200000000000, accesses: 4096, read_fraction: 1.0}
    vmas: [{start: 0x10000000, size: 4KiB, prot: r-x}]
    syscalls:
      - {at: 0, call: brk, addr: 0x200000008000}
      - {at: 0, call: read, file: out.bin, addr: 0x200000000000, length: 32KiB, offset: 8KiB}
  - name: mapper
    core: 0
    workload: {kind: sequential, footprint: 32KiB, base: 0x200000000000, accesses: 4096, read_fraction: 1.0}
    vmas: [{start: 0x10000000, size: 4KiB, prot: r-x}]
    syscalls:
      - {at: 0, call: mmap, addr: 0x200000000000, length: 32KiB, fixed: true, file: out.bin, offset: 8KiB}
  - name: logger
    core: 1
    workload: {kind: random, footprint: 32KiB, base: 0x200000000000, accesses: 8000, read_fraction: 0.5}
    vmas: [{start: 0x10000000, size: 4KiB, prot: r-x}]
    syscalls:
      - {at: 0, call: brk, addr: 0x200000008000}
      - {at: 3000, call: write, file: data.bin, addr: 0x200000000000, length: 32KiB, offset: 0}
      - {at: 3000, call: read, file: data.bin, addr: 0x200000000000, length: 32KiB, offset: 0}
      - {at: 6000, call: write, file: 0, addr: 0x200000000000, length: 32KiB, offset: 0}
      - {at: 6000, call: read, file: 0, addr: 0x200000000000, length: 32KiB, offset: 0}
)";

TEST_F(System, ReadAndWriteCopyBetweenFilesAndHeapsWithTheCheckersOn) {
  const std::string cfg = write("base.yaml", kBase);
  for (const std::string mode : {"functional", "lt", "at"}) {
    const std::string out = m_dir + "/" + mode;
    Result r = vmsim("run " + cfg + " -q --set sim.mode=" + mode + " --out " + out);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    const nlohmann::json j = stats(out);
    EXPECT_EQ(stat(j, "system.os.syscalls.read"), 3u) << mode;
    EXPECT_EQ(stat(j, "system.os.syscalls.write"), 3u) << mode;
    EXPECT_EQ(stat(j, "system.os.syscalls.bytes_read"), 3u * 32768) << mode;
    EXPECT_EQ(stat(j, "system.os.syscalls.bytes_written"), 3u * 32768) << mode;
    EXPECT_EQ(stat(j, "system.os.user_copy.bytes_to_user"), 3u * 32768) << mode;
    EXPECT_EQ(stat(j, "system.os.user_copy.bytes_from_user"), 3u * 32768) << mode;
    // The reader's eight heap pages were not there yet: eight kernel faults on user addresses, fixed up.
    EXPECT_EQ(stat(j, "system.os.user_copy.fault_fixups"), 8u) << mode;
    EXPECT_EQ(stat(j, "system.os.user_copy.efaults"), 0u) << mode;
    // Eight pages of each file in the page cache; the mapper found out.bin's there.
    EXPECT_EQ(stat(j, "system.os.frames.page_cache"), 16u) << mode;
    EXPECT_EQ(stat(j, "system.os.faults.major"), 0u) << mode;
    EXPECT_EQ(stat(j, "system.os.faults.shared"), 8u) << mode;
    // The copies were supervisor accesses on both cores' MMUs.
    EXPECT_GT(stat(j, "system.core0.mmu.kernel.translations"), 24u) << mode;
    EXPECT_GT(stat(j, "system.core1.mmu.kernel.translations"), 32u) << mode;
    EXPECT_EQ(j["summary"]["processes_killed"], 0) << mode;
    expect_frames_conserved(j);
  }
  // The checker sees what the copies moved: the reader reading another part of the file (the writer's data
  // one page further on) stops the run.
  Result r = vmsim("run " + cfg + " -q --set processes.1.syscalls.1.offset=12KiB --out " + m_dir + "/shifted");
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("system.core0: data check failed: process "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" read 8 bytes at virtual address 0x200000000000 and got 0x200000001000"), std::string::npos)
      << r.err;
}

// A read into a heap shared copy-on-write with the fork parent: each page is present and read-only, so the
// copy's write faults (protection), the kernel breaks the sharing and retries. The checkers agree, with and
// without KPTI (whose kernel-PCID translation of the read-only page must go before the retry).
TEST_F(System, ReadIntoACopyOnWriteHeapBreaksTheSharing) {
  const std::string cfg = write("cow.yaml", with_overrides(kBase, R"(
processes:
  - name: parent
    core: 0
    workload: {kind: sequential, footprint: 32KiB, base: 0x200000000000, accesses: 8192, read_fraction: 0.0}
    vmas: [{start: 0x10000000, size: 4KiB}]
    syscalls:
      - {at: 0, call: brk, addr: 0x200000008000}
      - {at: 4096, call: write, file: out.bin, addr: 0x200000000000, length: 32KiB, offset: 8KiB}
      - {at: 4096, call: fork, child: child}
  - name: child
    core: 1
    parent: parent
    workload: {kind: sequential, footprint: 32KiB, base: 0x200000000000, accesses: 4096, read_fraction: 1.0}
    syscalls:
      - {at: 0, call: read, file: out.bin, addr: 0x200000000000, length: 32KiB, offset: 8KiB}
)"));
  for (const std::string kpti : {"false", "true"}) {
    for (const std::string mode : {"functional", "lt"}) {
      const std::string out = m_dir + "/" + mode + "_" + kpti;
      Result r = vmsim("run " + cfg + " -q --set sim.mode=" + mode + " --set firmware.kpti=" + kpti +
                       " --set system.core.mmu.pcid=true --out " + out);
      ASSERT_EQ(r.code, 0) << mode << " kpti " << kpti << ": " << r.err;
      const nlohmann::json j = stats(out);
      EXPECT_EQ(stat(j, "system.os.syscalls.bytes_read"), 32768u) << mode;
      EXPECT_EQ(stat(j, "system.os.user_copy.fault_fixups"), 8u) << mode;
      EXPECT_GE(stat(j, "system.os.faults.cow_copies") + stat(j, "system.os.faults.cow_reuse"), 8u) << mode;
      EXPECT_EQ(j["summary"]["processes_killed"], 0) << mode;
      expect_frames_conserved(j);
    }
  }
}

// Memory pressure with swap: a 4 MiB heap written to a file and read back into another 4 MiB heap while a
// hog on the other core fills the rest of 16 MiB. The writer's heap pages are swapped out before its write
// call, so its copies fault on swap entries (swapped in, the call waiting); the checkers agree on every word.
TEST_F(System, UserCopiesSwapTheirBuffersIn) {
  const std::string cfg = write("swap.yaml", R"(
sim: {checker: true, check_data: true, mode: lt}
system:
  cores: 2
  memory: {nodes: [{size: 16MiB}]}
  swap: {enabled: true, size: 64MiB}
firmware: {files: [{name: out.bin, size: 4MiB, seed: 9}]}
processes:
  - name: writer
    core: 0
    workload: {kind: sequential, footprint: 4MiB, base: 0x200000000000, accesses: 524288, read_fraction: 0.0}
    vmas: [{start: 0x10000000, size: 4KiB}]
    syscalls:
      - {at: 0, call: brk, addr: 0x200000400000}
      - {at: 524288, call: write, file: out.bin, addr: 0x200000000000, length: 4MiB}
  - name: reader
    core: 0
    workload: {kind: sequential, footprint: 4MiB, base: 0x200000000000, accesses: 524288, read_fraction: 1.0}
    vmas: [{start: 0x10000000, size: 4KiB}]
    syscalls:
      - {at: 0, call: brk, addr: 0x200000400000}
      - {at: 0, call: read, file: out.bin, addr: 0x200000000000, length: 4MiB}
  - name: hog
    core: 1
    workload: {kind: random, footprint: 12MiB, base: 0x300000000000, accesses: 200000, read_fraction: 0.5}
)");
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = stats(m_dir + "/out");
  EXPECT_EQ(stat(j, "system.os.syscalls.bytes_written"), 4u << 20);
  EXPECT_EQ(stat(j, "system.os.syscalls.bytes_read"), 4u << 20);
  // The reader's 1024 untouched pages, and the writer's pages found swapped out.
  EXPECT_GT(stat(j, "system.os.user_copy.fault_fixups"), 1024u);
  EXPECT_GT(stat(j, "system.os.swap.swap_outs"), 1000u);
  EXPECT_EQ(j["summary"]["processes_killed"], 0);
  expect_frames_conserved(j);
}

// KPTI, with and without PCIDs: the copies run under the kernel's root, which maps the user half.
TEST_F(System, UserCopiesWorkUnderKpti) {
  const std::string cfg = write("base.yaml", kBase);
  for (const std::string pcid : {"false", "true"}) {
    const std::string out = m_dir + "/pcid_" + pcid;
    Result r = vmsim("run " + cfg + " -q --set firmware.kpti=true --set system.core.mmu.pcid=" + pcid + " --out " + out);
    ASSERT_EQ(r.code, 0) << pcid << ": " << r.err;
    const nlohmann::json j = stats(out);
    EXPECT_EQ(stat(j, "system.os.syscalls.bytes_read"), 3u * 32768) << pcid;
    EXPECT_EQ(stat(j, "system.os.syscalls.bytes_written"), 3u * 32768) << pcid;
    EXPECT_EQ(stat(j, "system.os.user_copy.fault_fixups"), 8u) << pcid;
    EXPECT_GT(stat(j, "system.os.kpti.entry_switches"), 0u) << pcid;
    expect_frames_conserved(j);
  }
}

// EFAULT (a buffer outside every VMA, or in the kernel's half), EBADF (a descriptor with no file), short
// counts at the end of a file and at the end of a VMA: errno results, nobody killed.
TEST_F(System, ReadAndWriteErrorsAreErrnoResults) {
  const std::string cfg = write("errors.yaml", with_overrides(kBase, R"(
processes:
  - name: caller
    core: 0
    workload: {kind: sequential, footprint: 32KiB, base: 0x200000000000, accesses: 4096, read_fraction: 0.0}
    vmas: [{start: 0x10000000, size: 4KiB}]
    syscalls:
      - {at: 0, call: brk, addr: 0x200000008000}
      - {at: 10, call: read, file: out.bin, addr: 0x300000000000, length: 100}
      - {at: 10, call: write, file: out.bin, addr: 0xffff888000001000, length: 100}
      - {at: 10, call: read, file: 7, addr: 0x200000000000, length: 100}
      - {at: 10, call: read, file: out.bin, addr: 0x200000000000, length: 4KiB, offset: 65530}
      - {at: 10, call: read, file: out.bin, addr: 0x200000007000, length: 8KiB}
      - {at: 10, call: read, file: out.bin, addr: 0x200000000000, length: 4KiB, offset: 64KiB}
)"));
  Result r = vmsim("run " + cfg + " -q --set sim.check_data=false --out " + m_dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = stats(m_dir + "/out");
  EXPECT_EQ(stat(j, "system.os.syscalls.errno_EFAULT"), 2u);
  EXPECT_EQ(stat(j, "system.os.syscalls.errno_EBADF"), 1u);
  // 6 bytes at the file's end, 4 KiB up to the heap's end, nothing from the end on.
  EXPECT_EQ(stat(j, "system.os.syscalls.bytes_read"), 6u + 4096);
  // The copies stopped at a bad address: no VMA at 0x300000000000, the heap's end; the kernel address failed
  // access_ok before any copy.
  EXPECT_EQ(stat(j, "system.os.user_copy.efaults"), 2u);
  EXPECT_EQ(stat(j, "system.os.proc0.syscall_errors"), 3u);
  EXPECT_EQ(j["summary"]["processes_killed"], 0);
  expect_frames_conserved(j);
}

// sim.inject_missing_stac: the copies run with RFLAGS.AC clear. Under SMAP the first one (a write call's, whose
// heap pages are present) is a protection fault the kernel reports as an oops naming the
// address and SMAP; without SMAP nothing catches it and the run ends normally.
TEST_F(System, SmapStopsAUserCopyWithoutStacAndOnlySmap) {
  const std::string cfg = write("base.yaml", kBase);
  for (const std::string mode : {"functional", "lt", "at"}) {
    Result r = vmsim("run " + cfg + " -q --set sim.mode=" + mode + " --set sim.inject_missing_stac=true --out " + m_dir +
                     "/on_" + mode);
    EXPECT_EQ(r.code, 3) << mode << ": " << r.err;
    EXPECT_TRUE(one_line(r)) << r.err;
    // The first copy is a write call's copy_from_user (the writer's or the logger's, whichever comes first).
    EXPECT_NE(r.err.find("kernel page fault (oops) on core "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(": supervisor read of user address 0x200000000000 in copy_from_user (write system call) of "
                         "process "),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("(error code 0x1: protection, read, supervisor): SMAP violation: supervisor access to a user "
                         "page with RFLAGS.AC clear"),
              std::string::npos)
        << r.err;
    r = vmsim("run " + cfg + " -q --set sim.mode=" + mode +
              " --set sim.inject_missing_stac=true --set system.core.mmu.smap=false --out " + m_dir + "/off_" + mode);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    const nlohmann::json j = stats(m_dir + "/off_" + mode);
    EXPECT_EQ(stat(j, "system.os.syscalls.bytes_read"), 3u * 32768) << mode;
    EXPECT_EQ(j["summary"]["processes_killed"], 0) << mode;
  }
}

// sim.inject_user_fetch: at each read or write call the kernel fetches an instruction from the caller's
// executable page at 0x10000000. Under SMEP the first write call is an oops naming the address and SMEP;
// without SMEP the fetches go through (the page is faulted in, executable) and the run ends normally.
TEST_F(System, SmepStopsAKernelFetchFromAUserPageAndOnlySmep) {
  const std::string cfg = write("base.yaml", kBase);
  for (const std::string mode : {"functional", "lt", "at"}) {
    Result r = vmsim("run " + cfg + " -q --set sim.mode=" + mode + " --set sim.inject_user_fetch=0x10000000 --out " +
                     m_dir + "/on_" + mode);
    EXPECT_EQ(r.code, 3) << mode << ": " << r.err;
    EXPECT_TRUE(one_line(r)) << r.err;
    EXPECT_NE(r.err.find(": supervisor fetch of user address 0x10000000 in copy_from_user (write system call) "
                         "(injected: sim.inject_user_fetch) of process "),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("(error code 0x11: protection, read, supervisor, instruction-fetch): SMEP violation"),
              std::string::npos)
        << r.err;
    r = vmsim("run " + cfg + " -q --set sim.mode=" + mode +
              " --set sim.inject_user_fetch=0x10000000 --set system.core.mmu.smep=false --out " + m_dir + "/off_" + mode);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    const nlohmann::json j = stats(m_dir + "/off_" + mode);
    EXPECT_EQ(stat(j, "system.os.user_copy.injected_fetches"), 6u) << mode;
    EXPECT_EQ(stat(j, "system.os.syscalls.bytes_written"), 3u * 32768) << mode;
    EXPECT_EQ(j["summary"]["processes_killed"], 0) << mode;
  }
}

TEST_F(System, BadReadAndWriteScriptEntriesAreConfigErrors) {
  const std::string cfg = write("base.yaml", kBase);
  expect_config_errors(cfg, {
      {{"processes.0.syscalls.1.file="}, "processes[0].syscalls[1].file: bad value '' (read and write need a file"},
      {{"processes.0.syscalls.1.file=nope.bin"}, "processes[0].syscalls[1].file: bad value 'nope.bin' (no such file"},
      {{"processes.1.syscalls.1.fixed=true"}, "processes[1].syscalls[1].fixed: bad value 'true' (only mmap takes it)"},
      {{"processes.1.syscalls.1.call=mbind"}, "processes[1].syscalls[1].file: bad value 'out.bin' (only mmap, read and"},
      {{"sim.inject_missing_stac=maybe"}, "sim.inject_missing_stac"},
  });
}

// docs/STATS.md's user-copy rows (scripts/gen-docs.sh) match the statistics a run with a read call creates; a
// run without read or write calls has none of them (so its outputs are as before).
TEST_F(System, UserCopyStatisticsInDocsAreCurrentAndOnlyInRunsThatCopy) {
  const std::string preset = VMSIM_SOURCE_DIR "/configs/presets/default.yaml";
  Result r = vmsim("doc stats " + preset + " --set 'firmware.files=[{name: f.bin, size: 64KiB}]' --set "
                   "'processes.0.syscalls=[{at: 0, call: read, file: f.bin, addr: 0x10000000, length: 4KiB}]'");
  ASSERT_EQ(r.code, 0) << r.err;
  auto rows_of = [](const std::string& out) {
    std::string rows;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("| `system.os.user_copy.", 0) == 0 || line.rfind("| `system.os.syscalls.read`", 0) == 0 ||
          line.rfind("| `system.os.syscalls.write`", 0) == 0 || line.rfind("| `system.os.syscalls.bytes_", 0) == 0 ||
          line.rfind("| `system.os.syscalls.errno_EBADF`", 0) == 0) {
        rows += line + "\n";
      }
    }
    return rows;
  };
  const std::string rows = rows_of(r.out);
  EXPECT_NE(rows.find("system.os.user_copy.fault_fixups"), std::string::npos) << rows;
  EXPECT_NE(slurp(VMSIM_SOURCE_DIR "/docs/STATS.md").find(rows), std::string::npos)
      << "docs/STATS.md's user copy table is out of date: run scripts/gen-docs.sh";
  r = vmsim("doc stats " + preset);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(rows_of(r.out), "");
}

}  // namespace
}  // namespace vmsim_system_test
