// Model test: the HAL's swap block I/O through a core's `io` socket. A one-core system with the NVMe swap
// device runs a small process; afterwards a test thread uses core 0's HAL: each call blocks the caller for
// exactly the device latency, the data comes back byte for byte, the core counts the I/O and the cycles
// blocked, and a misaligned offset is an error. Built three times: lt (default), at (VMSIM_SWAP_AT: the
// same latencies, the core synchronizes in SystemC time) and functional (VMSIM_SWAP_FUNCTIONAL: debug
// transport, no time).
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <vector>

#include "models/common/error.hpp"
#include "models/common/stats.hpp"
#include "models/platform/system.hpp"

namespace vmsim {
namespace {

platform::PlatformConfig config() {
  platform::PlatformConfig cfg;
#if defined(VMSIM_SWAP_FUNCTIONAL)
  cfg.sim.mode = SimMode::Functional;
#elif defined(VMSIM_SWAP_AT)
  cfg.sim.mode = SimMode::At;
#else
  cfg.sim.mode = SimMode::Lt;
#endif
  cfg.sim.checker = true;
  cfg.system.cores = 1;
  cfg.system.swap.enabled = true;
  cfg.system.swap.size = Bytes{1ull << 30};
  platform::ProcessConfig p;
  p.name = "small";
  p.workload.footprint = Bytes{64 << 10};
  p.workload.accesses = 1000;
  cfg.processes.push_back(p);
  cfg.validate();
  return cfg;
}

struct Tester : sc_core::sc_module {
  SC_HAS_PROCESS(Tester);
  platform::System& system;
  bool done = false;
  uint64_t write_ps = 0;
  uint64_t read_ps = 0;
  bool data_ok = false;
  std::string misaligned_error;

  Tester(const sc_core::sc_module_name& n, platform::System& s) : sc_core::sc_module(n), system(s) {
    SC_THREAD(run);
  }
  void run() {
    wait(sc_core::sc_time(10, sc_core::SC_MS));  // the process has finished; the core is idle
    fw::Hal& hal = system.core(0);
    std::vector<uint8_t> page(4096), back(4096, 0);
    for (size_t i = 0; i < page.size(); ++i) page[i] = static_cast<uint8_t>(i * 31 + 7);
    uint64_t t0 = hal.now_ps();
    hal.swap_write(5 * 4096, page.data());
    uint64_t t1 = hal.now_ps();
    hal.swap_read(5 * 4096, back.data());
    uint64_t t2 = hal.now_ps();
    write_ps = t1 - t0;
    read_ps = t2 - t1;
    data_ok = back == page;
    try {
      hal.swap_read(100, back.data());
    } catch (const SimulationError& e) {
      misaligned_error = e.what();
    }
    done = true;
  }
};

TEST(SwapCore, HalBlockIoBlocksForTheDeviceLatency) {
  platform::System system("system", config(), false);
  ASSERT_NE(system.swap_device(), nullptr);
  Tester tester("tester", system);
  system.run();
  ASSERT_TRUE(tester.done);
#ifdef VMSIM_SWAP_FUNCTIONAL
  const bool timed = false;
  EXPECT_EQ(tester.write_ps, 0u);
  EXPECT_EQ(tester.read_ps, 0u);
#else
  const bool timed = true;
  // nvme preset: write = 1.28 us transfer + 18 us program; read = 77 us + 1.28 us.
  EXPECT_EQ(tester.write_ps, 19280000u);
  EXPECT_EQ(tester.read_ps, 78280000u);
#endif
  EXPECT_TRUE(tester.data_ok);
  EXPECT_NE(tester.misaligned_error.find("system.core0: swap read at device offset 0x64 is not 4 KiB aligned"),
            std::string::npos)
      << tester.misaligned_error;
  std::map<std::string, double> s;
  for (const stats::Record& r : stats::collect_all()) s[r.name] = r.value;
  EXPECT_EQ(s.at("system.core0.swap_reads"), 1);
  EXPECT_EQ(s.at("system.core0.swap_writes"), 1);
  // (19.28 + 78.28) us at 3 GHz = 292,680 cycles.
  EXPECT_EQ(s.at("system.core0.swap_blocked"), timed ? 292680 : 0);
  EXPECT_EQ(s.at("system.swap.reads"), timed ? 1 : 0);
  EXPECT_EQ(s.at("system.swap.writes"), timed ? 1 : 0);
  EXPECT_EQ(s.at("system.swap.debug_accesses"), timed ? 0 : 2);
  EXPECT_EQ(s.at("system.swap.busy_time"), timed ? 19280 + 78280 : 0);
}

}  // namespace
}  // namespace vmsim
