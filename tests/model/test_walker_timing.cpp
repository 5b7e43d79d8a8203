// Model test: the walker's PTE reads happen at the expected simulated times, and a TLB hit costs only
// the hit latency. Core clock 1 GHz (1 ns cycles), TLB hit latency 2 cycles, walker step 1 cycle,
// memory latency 50 ns.
#include <gtest/gtest.h>

#include "models/mmu/mmu.hpp"
#include "tests/model/recording_memory.hpp"

namespace vmsim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

struct Bench : sc_core::sc_module {
  test::RecordingMemory mem{"mem", sc_time(50, SC_NS)};
  mmu::Mmu mmu;
  std::vector<std::pair<mmu::Translation, sc_time>> results;  // translation and its total delay

  static mmu::MmuConfig config() {
    mmu::MmuConfig c;
    c.tlb.hit_latency = 2;
    c.walker.step_latency = 1;
    return c;
  }
  explicit Bench(const sc_core::sc_module_name& n) : sc_core::sc_module(n), mmu("mmu", config(), sc_time(1, SC_NS), true, true) {
    mmu.walker().mem.bind(mem.in);
    SC_HAS_PROCESS(Bench);
    SC_THREAD(run);
  }
  void translate(uint64_t va, AccessKind k) {
    sc_time d = sc_core::SC_ZERO_TIME;
    mmu::Translation t = mmu.translate(VirtAddr{va}, k, true, d);
    results.emplace_back(t, d);
    wait(d);  // synchronize so the next translation starts at a known time
  }
  void run() {
    test::map_one_page(mem, 0x40201000, 0x99, pte_bit::kWritable | pte_bit::kUser);
    mmu.set_root(PhysAddr{0x1000});
    translate(0x40201ABC, AccessKind::Read);   // miss: walk at t = 0
    translate(0x40201ABC, AccessKind::Write);  // hit
    translate(0x40202000, AccessKind::Read);   // miss, not present at the PT level
  }
};

TEST(WalkerTiming, PteReadsAtExpectedTimes) {
  Bench b("bench");
  sc_core::sc_start();
  ASSERT_EQ(b.results.size(), 3u);
  // Walk 1 starts at 0: TLB lookup 2 ns; each level: 1 ns step, then the read, which returns 50 ns later.
  ASSERT_GE(b.mem.log.size(), 8u);
  const uint64_t expected_addr[] = {0x1000 + 8 * 0, 0x2000 + 8 * 1, 0x3000 + 8 * 1, 0x4000 + 8 * 1};
  const double expected_ns[] = {3, 54, 105, 156};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(b.mem.log[i].address, expected_addr[i]) << "read " << i;
    EXPECT_EQ(b.mem.log[i].time, sc_time(expected_ns[i], SC_NS)) << "read " << i;
    EXPECT_FALSE(b.mem.log[i].write);
  }
  EXPECT_FALSE(b.results[0].first.fault);
  EXPECT_EQ(b.results[0].first.pa, PhysAddr{0x99ABC});
  EXPECT_EQ(b.results[0].second, sc_time(206, SC_NS));
  // The hit costs the hit latency only and reads no memory.
  EXPECT_FALSE(b.results[1].first.fault);
  EXPECT_EQ(b.results[1].second, sc_time(2, SC_NS));
  // Walk 3 starts at 208 ns and faults after reading the (empty) PT entry.
  EXPECT_EQ(b.mem.log.size(), 8u);
  EXPECT_EQ(b.mem.log[4].time, sc_time(211, SC_NS));
  EXPECT_EQ(b.mem.log[7].time, sc_time(364, SC_NS));
  EXPECT_TRUE(b.results[2].first.fault);
  EXPECT_EQ(b.results[2].first.error_code, pf_err::kUser);
  EXPECT_EQ(b.results[2].second, sc_time(2 + 4 * 51, SC_NS));
}

}  // namespace
}  // namespace vmsim
