// Model test: the golden checker finds a deliberately stale TLB entry (a PTE changed in memory
// without INVLPG), and is silent once the entry is invalidated.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "models/mmu/mmu.hpp"
#include "tests/model/recording_memory.hpp"

namespace vmsim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

struct Bench : sc_core::sc_module {
  test::RecordingMemory mem{"mem", sc_time(50, SC_NS)};
  mmu::Mmu mmu{"mmu", mmu::MmuConfig{}, sc_time(1, SC_NS), true, true};
  std::vector<std::string> outcomes;

  explicit Bench(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {
    mmu.walker().mem.bind(mem.in);
    SC_HAS_PROCESS(Bench);
    SC_THREAD(run);
  }
  // "ok <pa>" or the checker's report.
  std::string attempt(uint64_t va) {
    sc_time d = sc_core::SC_ZERO_TIME;
    try {
      mmu::Translation t = mmu.translate(VirtAddr{va}, AccessKind::Read, true, d);
      return t.fault ? "fault" : "ok " + std::to_string(t.pa.value());
    } catch (const SimulationError& e) {
      return e.what();
    }
  }
  void run() {
    const uint64_t va = 0x40201000;
    const uint64_t pte_addr = 0x4000 + 8 * pt_index(VirtAddr{va}, 1);
    test::map_one_page(mem, va, 0x99, pte_bit::kWritable | pte_bit::kUser);
    mmu.set_root(PhysAddr{0x1000}, 0);
    outcomes.push_back(attempt(va));  // walk, fill
    // Remap the page to another frame without invalidating: the TLB entry is now stale.
    mem.poke64(pte_addr, Pte::make(Pfn{0x55}, pte_bit::kPresent | pte_bit::kWritable | pte_bit::kUser).raw());
    outcomes.push_back(attempt(va));
    mmu.invlpg(VirtAddr{va});
    outcomes.push_back(attempt(va));  // re-walk: consistent again
    // Unmap without invalidating: the TLB still translates an unmapped page.
    mem.poke64(pte_addr, 0);
    outcomes.push_back(attempt(va));
    mmu.invlpg(VirtAddr{va});
    outcomes.push_back(attempt(va));
  }
};

TEST(GoldenChecker, CatchesStaleTlbEntries) {
  Bench b("bench");
  sc_core::sc_start();
  ASSERT_EQ(b.outcomes.size(), 5u);
  EXPECT_EQ(b.outcomes[0], "ok " + std::to_string(0x99000));
  EXPECT_NE(b.outcomes[1].find("the TLB translated it to pfn 0x99 but the page tables say pfn 0x55"), std::string::npos)
      << b.outcomes[1];
  EXPECT_NE(b.outcomes[1].find("bench.mmu"), std::string::npos) << b.outcomes[1];
  EXPECT_EQ(b.outcomes[2], "ok " + std::to_string(0x55000));
  EXPECT_NE(b.outcomes[3].find("stale translation"), std::string::npos) << b.outcomes[3];
  EXPECT_EQ(b.outcomes[4], "fault");
}

}  // namespace
}  // namespace vmsim
