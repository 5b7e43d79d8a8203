// Model test: the HAL's swap block I/O through the cores' `io` sockets. A two-core system with the NVMe
// swap device runs a small process on core 0; afterwards one test thread per core uses that core's HAL at
// the same instant: each call blocks its caller until the device completes (the two writes share the
// device's link, so one waits 1.28 us longer), the data comes back byte for byte, each core counts its I/O
// and cycles blocked, and a misaligned offset is an error. Built three times: lt (default), at (VMSIM_SWAP_AT: the
// same latencies, the core synchronizes in SystemC time) and functional (VMSIM_SWAP_FUNCTIONAL: debug
// transport, no time).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include "common/error.hpp"
#include "common/stats.hpp"
#include "platform/system.hpp"

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
  cfg.system.cores = 2;
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

// Uses core `core`'s HAL at 10 ms: writes a patterned page to slot `slot`, and (if `read_back`) reads it back
// and tries a misaligned read.
struct Tester : sc_core::sc_module {
  SC_HAS_PROCESS(Tester);
  platform::System& system;
  size_t core;
  uint64_t slot;
  bool read_back;
  bool done = false;
  uint64_t write_ps = 0;
  uint64_t read_ps = 0;
  bool data_ok = false;
  std::string misaligned_error;

  Tester(const sc_core::sc_module_name& n, platform::System& s, size_t c, uint64_t sl, bool rb)
      : sc_core::sc_module(n), system(s), core(c), slot(sl), read_back(rb) {
    SC_THREAD(run);
  }
  void run() {
    wait(sc_core::sc_time(10, sc_core::SC_MS));  // the process has finished; the cores are idle
    fw::Hal& hal = system.core(core);
    std::vector<uint8_t> page(4096), back(4096, 0);
    for (size_t i = 0; i < page.size(); ++i) page[i] = static_cast<uint8_t>(i * 31 + 7 + slot);
    const uint64_t t0 = hal.now_ps();
    hal.swap_write(slot * 4096, page.data());
    const uint64_t t1 = hal.now_ps();
    write_ps = t1 - t0;
    if (read_back) {
      hal.swap_read(slot * 4096, back.data());
      read_ps = hal.now_ps() - t1;
      data_ok = back == page;
      try {
        hal.swap_read(100, back.data());
      } catch (const SimulationError& e) {
        misaligned_error = e.what();
      }
    }
    done = true;
  }
};

TEST(SwapCore, HalBlockIoBlocksForTheDeviceLatency) {
  platform::System system("system", config());
  ASSERT_NE(system.swap_device(), nullptr);
  Tester a("tester0", system, 0, 5, true);
  Tester b("tester1", system, 1, 6, false);
  system.run();
  ASSERT_TRUE(a.done);
  ASSERT_TRUE(b.done);
#ifdef VMSIM_SWAP_FUNCTIONAL
  const bool timed = false;
  EXPECT_EQ(a.write_ps, 0u);
  EXPECT_EQ(b.write_ps, 0u);
  EXPECT_EQ(a.read_ps, 0u);
#else
  const bool timed = true;
  // nvme preset: write = 1.28 us transfer + 18 us program; the second write's transfer follows the first's
  // on the shared link (whichever thread SystemC runs first). The read finds the link free: 77 + 1.28 us.
  EXPECT_EQ(std::min(a.write_ps, b.write_ps), 19280000u);
  EXPECT_EQ(std::max(a.write_ps, b.write_ps), 20560000u);
  EXPECT_EQ(a.read_ps, 78280000u);
#endif
  EXPECT_TRUE(a.data_ok);
  EXPECT_NE(a.misaligned_error.find("system.core0: swap read at device offset 0x64 is not 4 KiB aligned"),
            std::string::npos)
      << a.misaligned_error;
  std::map<std::string, double> s;
  for (const stats::Record& r : stats::collect_all()) s[r.name] = r.value;
  EXPECT_EQ(s.at("system.core0.swap_reads"), 1);
  EXPECT_EQ(s.at("system.core0.swap_writes"), 1);
  EXPECT_EQ(s.at("system.core1.swap_reads"), 0);
  EXPECT_EQ(s.at("system.core1.swap_writes"), 1);
  // Cycles at 3 GHz (333,333 fs each), floored: each core counts only its own blocking.
  auto cycles = [](uint64_t ps) { return static_cast<double>(ps * 1000 / 333333); };
  EXPECT_EQ(s.at("system.core0.swap_blocked"), cycles(a.write_ps + a.read_ps));
  EXPECT_EQ(s.at("system.core1.swap_blocked"), cycles(b.write_ps));
  EXPECT_EQ(s.at("system.swap.reads"), timed ? 1 : 0);
  EXPECT_EQ(s.at("system.swap.writes"), timed ? 2 : 0);
  EXPECT_EQ(s.at("system.swap.debug_accesses"), timed ? 0 : 3);
  // The device is busy from the first write's arrival to the read's completion without a gap.
  EXPECT_EQ(s.at("system.swap.busy_time"), static_cast<double>((a.write_ps + a.read_ps) / 1000));
  EXPECT_EQ(s.at("system.swap.stored_pages"), 2);
}

}  // namespace
}  // namespace vmsim
