// Model test: the walker's PTE reads and A/D write-backs happen at the expected simulated times, the
// page-walk cache saves upper-level reads, and A/D bits land in memory. Core clock 1 GHz (1 ns cycles);
// L1 DTLB hit latency 2 cycles, STLB 3, page-walk-cache probe 1, walker step 1; memory latency 50 ns.
#include <gtest/gtest.h>

#include "models/mmu/mmu.hpp"
#include "tests/model/recording_memory.hpp"

namespace vmsim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

mmu::MmuConfig config(bool ad) {
  mmu::MmuConfig c;
  c.tlb.dtlb[0].hit_latency = 2;
  c.tlb.stlb[0].hit_latency = 3;
  c.walker.step_latency = 1;
  c.walker.pwc.latency = 1;
  c.walker.ad_updates = ad;
  return c;
}

struct Bench : sc_core::sc_module {
  test::RecordingMemory mem{"mem", sc_time(50, SC_NS)};
  mmu::Mmu mmu;
  bool ad;
  std::vector<std::pair<mmu::Translation, sc_time>> results;  // translation and its total delay

  Bench(const sc_core::sc_module_name& n, bool with_ad)
      : sc_core::sc_module(n), mmu("mmu", config(with_ad), sc_time(1, SC_NS), true, true), ad(with_ad) {
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
    mmu.set_root(PhysAddr{0x1000}, 0);
    if (!ad) {
      translate(0x40201ABC, AccessKind::Read);   // miss: full walk at t = 0
      translate(0x40201ABC, AccessKind::Write);  // L1 hit
      translate(0x40202000, AccessKind::Read);   // miss, PDE cache hit, PT entry not present
    } else {
      translate(0x40201000, AccessKind::Read);   // walk sets A in all four entries
      translate(0x40201008, AccessKind::Write);  // hit on a clean entry: walks again to set D
      translate(0x40201010, AccessKind::Write);  // hit on a dirty entry: no walk
    }
  }
};

TEST(WalkerTiming, PteReadsAtExpectedTimesAndPageWalkCacheHits) {
  Bench b("timing", false);
  Bench a("ad", true);
  sc_core::sc_start();

  ASSERT_EQ(b.results.size(), 3u);
  // Walk 1 at 0: L1 miss 2 + STLB miss 3 + PWC probe 1 = 6; each level: step 1, read returns 50 later.
  ASSERT_EQ(b.mem.log.size(), 5u);
  const uint64_t expected_addr[] = {0x1000 + 8 * 0, 0x2000 + 8 * 1, 0x3000 + 8 * 1, 0x4000 + 8 * 1};
  const double expected_ns[] = {7, 58, 109, 160};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(b.mem.log[i].address, expected_addr[i]) << "read " << i;
    EXPECT_EQ(b.mem.log[i].time, sc_time(expected_ns[i], SC_NS)) << "read " << i;
    EXPECT_FALSE(b.mem.log[i].write);
  }
  EXPECT_FALSE(b.results[0].first.fault);
  EXPECT_EQ(b.results[0].first.pa, PhysAddr{0x99ABC});
  EXPECT_EQ(b.results[0].second, sc_time(210, SC_NS));
  // The hit costs the L1 latency only and reads no memory (A/D updates are off here).
  EXPECT_FALSE(b.results[1].first.fault);
  EXPECT_EQ(b.results[1].second, sc_time(2, SC_NS));
  // Walk 3 starts at 212 ns: 5 + 1, then the PDE cache resumes the walk at the PT: one read at 219 ns.
  EXPECT_EQ(b.mem.log[4].address, 0x4000u + 8 * 2);
  EXPECT_EQ(b.mem.log[4].time, sc_time(219, SC_NS));
  EXPECT_TRUE(b.results[2].first.fault);
  EXPECT_EQ(b.results[2].first.error_code, pf_err::kUser);
  EXPECT_EQ(b.results[2].second, sc_time(5 + 1 + 1 + 50, SC_NS));

  // A/D: the first walk reads and writes back each of the four entries (read, then write with A set).
  ASSERT_EQ(a.results.size(), 3u);
  for (const auto& r : a.results) EXPECT_FALSE(r.first.fault);
  ASSERT_EQ(a.mem.log.size(), 8u + 2u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(a.mem.log[2 * i].write);
    EXPECT_TRUE(a.mem.log[2 * i + 1].write);
    EXPECT_EQ(a.mem.log[2 * i].address, a.mem.log[2 * i + 1].address);
    EXPECT_EQ(a.mem.log[2 * i + 1].time, a.mem.log[2 * i].time + sc_time(50, SC_NS));
  }
  // The write through the clean entry walked again from the PDE cache: PT read and write-back with D.
  EXPECT_EQ(a.mem.log[8].address, 0x4000u + 8 * 1);
  EXPECT_TRUE(a.mem.log[9].write);
  VirtAddr va{0x40201000};
  EXPECT_EQ(a.mem.peek64(0x1000 + 8 * pt_index(va, 4)) & (pte_bit::kAccessed | pte_bit::kDirty), pte_bit::kAccessed);
  EXPECT_EQ(a.mem.peek64(0x2000 + 8 * pt_index(va, 3)) & (pte_bit::kAccessed | pte_bit::kDirty), pte_bit::kAccessed);
  EXPECT_EQ(a.mem.peek64(0x3000 + 8 * pt_index(va, 2)) & (pte_bit::kAccessed | pte_bit::kDirty), pte_bit::kAccessed);
  EXPECT_EQ(a.mem.peek64(0x4000 + 8 * pt_index(va, 1)) & (pte_bit::kAccessed | pte_bit::kDirty),
            pte_bit::kAccessed | pte_bit::kDirty);
  EXPECT_EQ(a.results[2].second, sc_time(2, SC_NS));  // dirty entry: a plain L1 hit
}

}  // namespace
}  // namespace vmsim
