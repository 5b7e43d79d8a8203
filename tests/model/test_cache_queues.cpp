// Model test: the occupancy of the LLC banks and home directories in sim.mode at (cache::CacheSystem).
// Core clock 1 GHz (1 ns cycles); LLC of 8 banks busy 2 cycles per request; directories of 2 banks busy 4
// cycles. Threads standing for cores issue requests at the same instant: on one bank their service is
// serialized exactly (simulated time is deterministic), spread over banks nobody waits, and requests from two
// sockets to one home directory bank wait for each other. In lt nothing is timed.
#define SC_INCLUDE_DYNAMIC_PROCESSES  // sc_spawn: one thread per request
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "models/cache/cache_system.hpp"
#include "tests/model/tlm_test_util.hpp"

namespace vmsim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

constexpr uint64_t kPeriodFs = 1000000;  // 1 GHz
constexpr uint64_t kLine = 64;
constexpr uint64_t kGiB = uint64_t{1} << 30;

cache::HierarchyConfig queued_config() {
  cache::HierarchyConfig c = cache::HierarchyConfig::named("custom");
  c.llc.banks = 8;
  c.llc.bank_cycles = 2;
  c.directory.banks = 2;
  c.directory.cycles = 4;
  return c;
}

// Cores 0-3 in socket 0, cores 4-7 in socket 1; lines below 1 GiB homed in socket 0, above in socket 1.
std::vector<uint32_t> two_sockets() { return {0, 0, 0, 0, 1, 1, 1, 1}; }
uint32_t home_by_gib(uint64_t pa) { return static_cast<uint32_t>((pa >> 30) & 1); }

// One request per thread: thread i, after `at[i]`, asks for the LLC bank (llc true) or the home
// directory of line line[i] from socket socket[i]; it records when its service ends (start + occupancy).
struct Requests : sc_core::sc_module {
  cache::CacheSystem caches;
  bool llc;
  std::vector<uint32_t> socket;
  std::vector<uint64_t> line;
  std::vector<sc_time> at;
  std::vector<sc_time> done;
  std::vector<uint64_t> waited;
  std::vector<sc_time> delay_left;

  Requests(const sc_core::sc_module_name& n, SimMode mode, bool llc_banks, std::vector<uint32_t> sockets,
           std::vector<uint64_t> lines, std::vector<sc_time> times)
      : sc_core::sc_module(n),
        caches("caches", queued_config(), two_sockets(), home_by_gib, mode, kPeriodFs),
        llc(llc_banks),
        socket(std::move(sockets)),
        line(std::move(lines)),
        at(std::move(times)),
        done(line.size()),
        waited(line.size()),
        delay_left(line.size()) {
    for (size_t i = 0; i < line.size(); ++i) {
      sc_core::sc_spawn([this, i] { run(i); }, ("req" + std::to_string(i)).c_str());
    }
  }
  void run(size_t i) {
    // The arrival is an annotation on top of SystemC time, as a core running ahead has.
    sc_time delay = at[i];
    const uint64_t pa = line[i] * kLine;
    const uint64_t occupancy = (llc ? 2 : 4) * kPeriodFs;
    waited[i] = llc ? caches.wait_llc_bank(socket[i], pa, delay) : caches.wait_directory(home_by_gib(pa), pa, delay);
    delay_left[i] = delay;
    done[i] = sc_core::sc_time_stamp() + delay + sc_time::from_value(occupancy);
  }
};

double stat(const std::string& name) { return model_test::stat_value(name); }

bool has_stat(const std::string& name) {
  for (const stats::Record& r : stats::collect_all()) {
    if (r.name == name) return true;
  }
  return false;
}

TEST(CacheQueues, BanksSerializeSpreadAndDirectoriesWait) {
  // Four cores of socket 0 on one line (one bank) at 10 ns, then probes one cycle before the bank frees
  // (17 ns: the bank is busy until 18 ns) and exactly when it frees (20 ns after the probe's 2 cycles).
  Requests same("same", SimMode::At, true, {0, 0, 0, 0, 0, 0}, {8, 8, 8, 8, 16, 24},
                {sc_time(10, SC_NS), sc_time(10, SC_NS), sc_time(10, SC_NS), sc_time(10, SC_NS), sc_time(17, SC_NS),
                 sc_time(20, SC_NS)});
  // The same four requests on four lines of four banks; and socket 1's bank 0 is not socket 0's.
  Requests spread("spread", SimMode::At, true, {0, 0, 0, 0, 1}, {8, 9, 10, 11, 8},
                  {sc_time(10, SC_NS), sc_time(10, SC_NS), sc_time(10, SC_NS), sc_time(10, SC_NS), sc_time(10, SC_NS)});
  // Directory: a core of socket 0 and one of socket 1 ask home 1 for lines of one directory bank at once;
  // a third asks home 1 for a line of its other bank, a fourth asks home 0.
  Requests dir("dir", SimMode::At, false, {0, 1, 1, 0}, {kGiB / kLine, kGiB / kLine + 2, kGiB / kLine + 1, 4},
               {sc_time(5, SC_NS), sc_time(5, SC_NS), sc_time(5, SC_NS), sc_time(5, SC_NS)});
  // lt: nothing is timed, nothing advances.
  Requests lt("lt", SimMode::Lt, true, {0, 0}, {8, 8}, {sc_time(3, SC_NS), sc_time(3, SC_NS)});
  sc_core::sc_start();

  // Serialized: service ends at 12, 14, 16, 18 ns; waits 0, 2, 4, 6 ns.
  const std::vector<sc_time> same_done = {sc_time(12, SC_NS), sc_time(14, SC_NS), sc_time(16, SC_NS),
                                          sc_time(18, SC_NS), sc_time(20, SC_NS), sc_time(22, SC_NS)};
  const std::vector<uint64_t> same_wait = {0, 2, 4, 6, 1, 0};
  // (Which of the four simultaneous requests goes first is the scheduler's deterministic choice.)
  std::sort(same.done.begin(), same.done.begin() + 4);
  std::sort(same.waited.begin(), same.waited.begin() + 4);
  for (size_t i = 0; i < same_done.size(); ++i) {
    EXPECT_EQ(same.done[i], same_done[i]) << i;
    EXPECT_EQ(same.waited[i], same_wait[i] * kPeriodFs) << i;
    EXPECT_EQ(same.delay_left[i], sc_core::SC_ZERO_TIME) << i;  // SystemC time advanced to the arrival
  }
  EXPECT_EQ(stat("same.caches.socket0.llc_banks.accesses"), 6);
  EXPECT_EQ(stat("same.caches.socket0.llc_banks.waits"), 4);
  EXPECT_EQ(stat("same.caches.socket0.llc_banks.wait_cycles"), 2 + 4 + 6 + 1);
  EXPECT_EQ(stat("same.caches.socket0.llc_banks.max_wait"), 6);
  EXPECT_EQ(stat("same.caches.socket0.llc_banks.busy_cycles"), 12);
  EXPECT_DOUBLE_EQ(stat("same.caches.socket0.llc_banks.avg_wait"), 13.0 / 6);
  EXPECT_EQ(stat("same.caches.socket0.llc_banks.max_depth"), 3);
  EXPECT_DOUBLE_EQ(stat("same.caches.socket0.llc_banks.avg_depth"), (0 + 1 + 2 + 3 + 1 + 0) / 6.0);
  EXPECT_EQ(stat("same.caches.socket1.llc_banks.accesses"), 0);

  for (size_t i = 0; i < spread.done.size(); ++i) {
    EXPECT_EQ(spread.done[i], sc_time(12, SC_NS)) << i;
    EXPECT_EQ(spread.waited[i], 0u) << i;
  }
  EXPECT_EQ(stat("spread.caches.socket0.llc_banks.waits"), 0);
  EXPECT_EQ(stat("spread.caches.socket0.llc_banks.accesses"), 4);
  EXPECT_EQ(stat("spread.caches.socket1.llc_banks.accesses"), 1);

  // Directory bank 0 of home 1 (lines 2^24 and 2^24 + 2): 5-9 ns, then 9-13 ns. Bank 1 and home 0: no wait.
  EXPECT_EQ(std::min(dir.done[0], dir.done[1]), sc_time(9, SC_NS));
  EXPECT_EQ(std::max(dir.done[0], dir.done[1]), sc_time(13, SC_NS));
  EXPECT_EQ(dir.waited[0] + dir.waited[1], 4 * kPeriodFs);
  EXPECT_EQ(dir.done[2], sc_time(9, SC_NS));
  EXPECT_EQ(dir.done[3], sc_time(9, SC_NS));
  EXPECT_EQ(stat("dir.caches.socket1.directory.accesses"), 3);
  EXPECT_EQ(stat("dir.caches.socket1.directory.waits"), 1);
  EXPECT_EQ(stat("dir.caches.socket1.directory.wait_cycles"), 4);
  EXPECT_EQ(stat("dir.caches.socket1.directory.busy_cycles"), 12);
  EXPECT_EQ(stat("dir.caches.socket0.directory.accesses"), 1);
  EXPECT_EQ(stat("dir.caches.socket0.directory.waits"), 0);

  // lt: no wait, the annotation untouched, no queue statistics.
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(lt.waited[i], 0u);
    EXPECT_EQ(lt.delay_left[i], sc_time(3, SC_NS));
  }
  EXPECT_FALSE(lt.caches.llc_banks_timed());
  EXPECT_FALSE(lt.caches.directory_timed());
  EXPECT_FALSE(has_stat("lt.caches.socket0.llc_banks.accesses"));
  EXPECT_TRUE(has_stat("lt.caches.socket0.llc.accesses"));
}

}  // namespace
}  // namespace vmsim
