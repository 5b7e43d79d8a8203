// System tests of host cost (issue K items 9 and 10): bounds on host memory that do not depend on timing.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tests/system/system_fixture.hpp"

namespace vmsim_system_test {
namespace {

struct Usage {
  int code = -1;
  long max_rss_kib = 0;
};

// Runs `vmsim run CFG --out OUT` with the address space limited to `as_limit` bytes (0: unlimited) and
// returns its exit code and peak resident set. AddressSanitizer reserves terabytes of shadow address
// space, so a sanitizer build measures the resident set only.
Usage run_measured(const std::string& cfg, const std::string& out, const std::string& log, rlim_t as_limit) {
  const pid_t pid = ::fork();
  if (pid == 0) {
#if !defined(__SANITIZE_ADDRESS__)
    if (as_limit != 0) {
      struct rlimit lim = {as_limit, as_limit};
      ::setrlimit(RLIMIT_AS, &lim);
    }
#else
    (void)as_limit;
#endif
    std::FILE* f = std::freopen(log.c_str(), "w", stderr);
    (void)f;
    std::FILE* g = std::freopen((log + ".out").c_str(), "w", stdout);
    (void)g;
    ::execl(VMSIM_BIN, VMSIM_BIN, "run", cfg.c_str(), "--out", out.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  Usage u;
  int status = 0;
  struct rusage ru {};
  if (::wait4(pid, &status, 0, &ru) != pid) return u;
  u.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  u.max_rss_kib = ru.ru_maxrss;
  return u;
}

// Item 9: a random workload over 1 PiB with 3·10^8 accesses and 5-level paging. Counting its distinct
// pages used to replay it before the run into a vector of every access (2.4 GB) or a bitmap of the
// footprint (32 GiB): under a 1 GiB address-space limit that ended in std::bad_alloc (exit 3) before the
// first access. Pages are now counted as the run takes the operations; the process exits after 1000.
TEST_F(System, PetabyteRandomWorkloadNeedsNoFootprintSizedMemory) {
  const std::string cfg = write("pib.yaml", R"(
sim: {mode: functional, checker: false}
system:
  cores: 1
  core: {mmu: {walker: {levels: 5}}}
  memory: {model: fixed, nodes: [{size: 256MiB}]}
firmware: {page_table_levels: 5}
processes:
  - name: big
    workload: {kind: random, footprint: 1024TiB, accesses: 300000000}
    syscalls: [{at: 1000, call: exit}]
)");
  const Usage u = run_measured(cfg, m_dir + "/out", m_dir + "/err.txt", rlim_t{1} << 30);
  ASSERT_EQ(u.code, 0) << slurp(m_dir + "/err.txt");
  EXPECT_LT(u.max_rss_kib, 256 * 1024);
  nlohmann::json j = stats(m_dir + "/out");
  EXPECT_EQ(j["summary"]["accesses"], 1000);
  // The pages of the operations performed: 1000 draws from 2^38 pages (a collision is possible, rare).
  EXPECT_LE(j["summary"]["workload_distinct_pages"].get<uint64_t>(), 1000u);
  EXPECT_GE(j["summary"]["workload_distinct_pages"].get<uint64_t>(), 998u);
  EXPECT_EQ(j["summary"]["workload_distinct_pages"], j["summary"]["page_faults"]["demand_zero"]);
}

// Item 10: every lackey process held a 1 MiB line buffer and a 256 KiB input buffer from set-up on, so
// 500 processes replaying tiny traces needed 625 MiB of host memory. The buffers are now 64 KiB each (the
// line buffer grows to 1 MiB only for a line that long).
TEST_F(System, ManyTraceProcessesKeepSmallBuffers) {
  write("t.lackey", " L 10000000,8\n S 10001000,8\n L 10000040,8\n");
  std::ostringstream cfg;
  cfg << "sim: {mode: functional, checker: false}\n"
         "system: {cores: 1, memory: {model: fixed, nodes: [{size: 1GiB}]}}\n"
         "processes:\n";
  for (int i = 0; i < 500; ++i) cfg << "  - {name: p" << i << ", workload: {kind: lackey, trace: t.lackey}}\n";
  const std::string path = write("many.yaml", cfg.str());
  const Usage u = run_measured(path, m_dir + "/out", m_dir + "/err.txt", 0);
  ASSERT_EQ(u.code, 0) << slurp(m_dir + "/err.txt");
  EXPECT_LT(u.max_rss_kib, 250 * 1024);
  nlohmann::json j = stats(m_dir + "/out");
  EXPECT_EQ(j["summary"]["accesses"], 1500);
  EXPECT_EQ(j["summary"]["processes_exited"], 500);
}

// Item 10: 20,000 explicit areas in one process and 4,000 processes are accepted, laid out and reported
// (the overlap check was pairwise, the statistics object was searched key by key); an overlap among
// thousands of areas is still found and named.
TEST_F(System, ThousandsOfAreasAndProcessesSetUp) {
  std::ostringstream areas;
  areas << "sim: {mode: functional, checker: false}\n"
           "system: {cores: 1, memory: {model: fixed, nodes: [{size: 1GiB}]}}\n"
           "processes:\n"
           "  - name: p\n"
           "    workload: {kind: sequential, footprint: 4KiB, accesses: 10}\n"
           "    vmas:\n";
  for (int i = 19999; i >= 0; --i) {
    areas << "      - {start: 0x" << std::hex << (0x10000000 + i * 0x2000) << std::dec << ", size: 4KiB}\n";
  }
  const std::string ok = write("areas.yaml", areas.str());
  Result r = vmsim("run " + ok + " --out " + m_dir + "/a");
  ASSERT_EQ(r.code, 0) << r.err;
  areas << "      - {start: 0x" << std::hex << (0x10000000 + 7777 * 0x2000 - 0x1000) << std::dec << ", size: 8KiB}\n";
  const std::string bad = write("overlap.yaml", areas.str());
  r = vmsim("run " + bad + " --out " + m_dir + "/b");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r)) << r.err;
  EXPECT_NE(r.err.find("processes[0].vmas[20000].start: bad value '0x13cc1000' (overlaps processes[0].vmas[12222])"),
            std::string::npos)
      << r.err;

  std::ostringstream procs;
  procs << "sim: {mode: functional, checker: false}\n"
           "system: {cores: 2, memory: {model: fixed, nodes: [{size: 1GiB}]}}\n"
           "processes:\n";
  for (int i = 0; i < 4000; ++i) {
    procs << "  - {name: p" << i << ", core: " << i % 2 << ", workload: {kind: sequential, footprint: 4KiB, accesses: 10}}\n";
  }
  const std::string many = write("procs.yaml", procs.str());
  r = vmsim("run " + many + " --out " + m_dir + "/c");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = stats(m_dir + "/c");
  EXPECT_EQ(j["summary"]["processes_exited"], 4000);
  EXPECT_EQ(j["summary"]["accesses"], 40000);
  // Every statistic appears once, in the order of the object tree.
  EXPECT_EQ(stat(j, "system.os.processes.created"), 4000u);
}

}  // namespace
}  // namespace vmsim_system_test
