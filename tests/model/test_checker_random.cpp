// Model test: over a million random translations with random remaps, unmaps and invalidations (INVLPG,
// INVPCID, root switches between two PCIDs, 4 KiB and 2 MiB pages mixed), the golden checker never
// disagrees with the TLB hierarchy; and one skipped invalidation is caught.
#include <gtest/gtest.h>

#include <random>

#include "common/error.hpp"
#include "models/mmu/mmu.hpp"
#include "tests/model/recording_memory.hpp"

namespace vmsim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

constexpr uint64_t kT = pte_bit::kPresent | pte_bit::kWritable | pte_bit::kUser;
constexpr uint64_t kBase = 0x40000000;  // PDPT index 1
constexpr unsigned kSmallPages = 512;   // 4 KiB pages of [kBase, kBase + 2 MiB), through one PT
constexpr uint64_t kHuge = kBase + (2ull << 20);  // a 2 MiB page right after them

mmu::MmuConfig small_tlbs() {
  mmu::MmuConfig c;
  c.pcid = true;
  c.tlb.dtlb[0].entries = 16;
  c.tlb.dtlb[0].ways = 4;
  c.tlb.itlb[0].entries = 8;
  c.tlb.itlb[0].ways = 2;
  c.tlb.stlb[0].entries = 64;
  c.tlb.stlb[0].ways = 4;
  return c;
}

struct Bench : sc_core::sc_module {
  test::RecordingMemory mem{"mem", sc_time(50, SC_NS)};
  mmu::Mmu mmu{"mmu", small_tlbs(), sc_time(1, SC_NS), false, true};
  uint64_t translations = 0;
  uint64_t faults = 0;
  uint64_t invalidations = 0;
  std::string random_phase_error;
  std::string negative_control;

  explicit Bench(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {
    mmu.walker().mem.bind(mem.in);
    SC_HAS_PROCESS(Bench);
    SC_THREAD(run);
  }
  // Two address spaces (roots 0x1000 and 0x11000, PCIDs 1 and 2) with their own tables.
  static uint64_t root_of(int as) { return as == 0 ? 0x1000 : 0x11000; }
  static uint64_t pt_of(int as) { return root_of(as) + 0x3000; }  // PML4, PDPT, PD, PT in consecutive frames
  static uint64_t pd_of(int as) { return root_of(as) + 0x2000; }
  void build(int as) {
    uint64_t r = root_of(as);
    VirtAddr v{kBase};
    mem.poke64(r + 8 * pt_index(v, 4), Pte::make(Pfn{(r >> 12) + 1}, kT).raw());
    mem.poke64(r + 0x1000 + 8 * pt_index(v, 3), Pte::make(Pfn{(r >> 12) + 2}, kT).raw());
    mem.poke64(pd_of(as) + 8 * pt_index(v, 2), Pte::make(Pfn{(r >> 12) + 3}, kT).raw());
    for (unsigned i = 0; i < kSmallPages; ++i) {
      mem.poke64(pt_of(as) + 8 * i, Pte::make(Pfn{0x1000 + 512 * static_cast<uint64_t>(as) + i}, kT).raw());
    }
    mem.poke64(pd_of(as) + 8 * pt_index(VirtAddr{kHuge}, 2), Pte::make(Pfn{0x4000 + 0x200 * static_cast<uint64_t>(as)}, kT | pte_bit::kPageSize).raw());
  }
  void run() {
    std::mt19937_64 rng(12345);
    build(0);
    build(1);
    int as = 0;
    mmu.set_root(PhysAddr{root_of(0)}, 1);
    try {
      for (uint64_t step = 0; step < 1200000; ++step) {
        uint64_t r = rng() % 1000;
        if (r < 960) {  // a translation
          uint64_t va = (rng() % 8 == 0) ? kHuge + (rng() % (2ull << 20)) : kBase + (rng() % (kSmallPages * kPageSize));
          AccessKind kind = static_cast<AccessKind>(rng() % 3);
          sc_time d = sc_core::SC_ZERO_TIME;
          mmu::Translation t = mmu.translate(VirtAddr{va}, kind, true, d);
          ++translations;
          faults += t.fault ? 1 : 0;
        } else if (r < 975) {  // remap or unmap a 4 KiB page, then INVLPG it (as a kernel must)
          unsigned i = static_cast<unsigned>(rng() % kSmallPages);
          uint64_t pte = (rng() % 4 == 0) ? 0 : Pte::make(Pfn{0x2000 + rng() % 0x1000}, kT | (rng() % 2 ? 0 : pte_bit::kNoExecute)).raw();
          mem.poke64(pt_of(as) + 8 * i, pte);
          mmu.invlpg(VirtAddr{kBase + i * kPageSize});
          ++invalidations;
        } else if (r < 980) {  // remap the huge page, INVLPG any address inside it
          uint64_t frame = 0x8000 + 0x200 * (rng() % 16);
          mem.poke64(pd_of(as) + 8 * pt_index(VirtAddr{kHuge}, 2), Pte::make(Pfn{frame}, kT | pte_bit::kPageSize).raw());
          mmu.invlpg(VirtAddr{kHuge + (rng() % (2ull << 20))});
          ++invalidations;
        } else if (r < 990) {  // change a page of the other address space, then INVPCID individual-address
          int other = 1 - as;
          unsigned i = static_cast<unsigned>(rng() % kSmallPages);
          mem.poke64(pt_of(other) + 8 * i, Pte::make(Pfn{0x3000 + rng() % 0x1000}, kT).raw());
          mmu.invpcid(mmu::InvpcidType::IndividualAddress, static_cast<uint16_t>(other + 1), VirtAddr{kBase + i * kPageSize});
          ++invalidations;
        } else if (r < 998) {  // switch address space (PCID kept: no flush)
          as = 1 - as;
          mmu.set_root(PhysAddr{root_of(as)}, static_cast<uint16_t>(as + 1));
        } else {  // INVPCID single context of the current PCID
          mmu.invpcid(mmu::InvpcidType::SingleContext, static_cast<uint16_t>(as + 1), VirtAddr{0});
          ++invalidations;
        }
      }
    } catch (const SimulationError& e) {
      random_phase_error = e.what();
    }
    // Negative control: remap a page the TLB holds without invalidating it.
    sc_time d = sc_core::SC_ZERO_TIME;
    mem.poke64(pt_of(as) + 8 * 7, Pte::make(Pfn{0x777}, kT).raw());
    mmu.invlpg(VirtAddr{kBase + 7 * kPageSize});
    mmu.translate(VirtAddr{kBase + 7 * kPageSize}, AccessKind::Read, true, d);
    mem.poke64(pt_of(as) + 8 * 7, Pte::make(Pfn{0x778}, kT).raw());
    try {
      mmu.translate(VirtAddr{kBase + 7 * kPageSize}, AccessKind::Read, true, d);
    } catch (const SimulationError& e) {
      negative_control = e.what();
    }
  }
};

TEST(GoldenChecker, MillionRandomTranslationsWithInvalidations) {
  Bench b("bench");
  sc_core::sc_start();
  EXPECT_EQ(b.random_phase_error, "");
  EXPECT_GT(b.translations, 1000000u);
  EXPECT_GT(b.faults, 1000u);          // unmapped pages and NX fetches happen
  EXPECT_GT(b.invalidations, 20000u);
  EXPECT_NE(b.negative_control.find("page tables say pfn 0x778"), std::string::npos) << b.negative_control;
}

}  // namespace
}  // namespace vmsim
