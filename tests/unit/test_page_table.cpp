// Firmware page-table code against a host-memory HAL: mapping, leaf iteration with rewrites, huge
// leaves (map, split, find), PROT_NONE entries and teardown; the kernel half's direct map.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>

#include "firmware/hal/hal.hpp"
#include "common/error.hpp"
#include "firmware/vm/kernel_half.hpp"
#include "firmware/vm/page_table.hpp"
#include "models/mmu/page_walk.hpp"

namespace vmsim {
namespace {

// Physical memory as a map of 4 KiB frames; counts operations.
class HostHal : public fw::Hal {
 public:
  uint64_t read64(PhysAddr pa) override {
    uint64_t v = 0;
    std::memcpy(&v, page(pa) + (pa.value() & kPageMask), 8);
    ++reads;
    return v;
  }
  void write64(PhysAddr pa, uint64_t value) override {
    std::memcpy(page(pa) + (pa.value() & kPageMask), &value, 8);
    ++writes;
  }
  void read_block(PhysAddr pa, uint8_t* data, uint64_t len) override {
    std::memcpy(data, page(pa) + (pa.value() & kPageMask), len);
    ++reads;
  }
  void write_block(PhysAddr pa, const uint8_t* data, uint64_t len) override {
    std::memcpy(page(pa) + (pa.value() & kPageMask), data, len);
    ++writes;
  }
  void zero_frame(Pfn pfn) override { std::memset(page(addr_of(pfn)), 0, kPageSize); }
  void set_direct_map(uint64_t, uint64_t) override {}  // no MMU: accesses stay physical
  void dma_read(PhysAddr pa, uint8_t* data, uint64_t len) override { read_block(pa, data, len); }
  void dma_write(PhysAddr pa, const uint8_t* data, uint64_t len) override { write_block(pa, data, len); }
  void invlpg(VirtAddr) override {}
  void set_root(PhysAddr, uint16_t) override {}
  void invalidate_pcid(uint16_t) override {}
  void invalidate_all_pcids() override {}
  void invalidate_space(PhysAddr, uint16_t) override {}
  void kernel_enter() override {}
  void kernel_exit() override {}
  void shootdown_begin(const std::vector<CoreId>&) override {}
  void shootdown_end(const std::vector<CoreId>&, PhysAddr, uint16_t, const std::vector<VirtAddr>&, uint64_t) override {}
  void shootdown_resume(const std::vector<CoreId>&) override {}
  void charge(uint64_t) override {}
  CoreId core_id() const override { return 0; }
  uint64_t now_ps() const override { return 0; }
  void swap_read(uint64_t, uint8_t*) override { ADD_FAILURE() << "no swap I/O expected"; }
  void swap_write(uint64_t, const uint8_t*) override { ADD_FAILURE() << "no swap I/O expected"; }
  uint64_t swap_submit(bool, uint64_t, uint8_t*) override {
    ADD_FAILURE() << "no swap I/O expected";
    return 0;
  }
  void invalidate_page(PhysAddr, uint16_t, VirtAddr) override {}
  bool wake_background(CoreId) override { return false; }
  uint64_t memory_ops() const override { return 0; }
  void wait_until(uint64_t) override {}

  uint8_t* page(PhysAddr pa) {
    auto& p = frames[pa.value() >> kPageShift];
    if (p.empty()) p.assign(kPageSize, 0);
    return p.data();
  }
  std::map<uint64_t, std::vector<uint8_t>> frames;
  uint64_t reads = 0, writes = 0;
};

class PageTable : public testing::Test {
 protected:
  fw::TableAllocator tables() {
    return [this]() -> std::optional<Pfn> {
      if (m_budget == 0) return std::nullopt;
      --m_budget;
      Pfn f{m_next++};
      hal.zero_frame(f);
      m_tables.insert(f.value());
      return f;
    };
  }
  HostHal hal;
  PhysAddr root{0x1000};
  uint64_t m_next = 2;
  uint64_t m_budget = 1000;
  std::set<uint64_t> m_tables;
  static constexpr uint64_t kFlags = pte_bit::kUser | pte_bit::kWritable;

 public:
  static constexpr uint64_t kUserRw = kFlags;
};

TEST_F(PageTable, ForEachLeafVisitsRangeInOrderAndRewrites) {
  hal.zero_frame(pfn_of(root));
  for (uint64_t i = 0; i < 8; ++i) {
    ASSERT_TRUE(fw::map_page(hal, root, 4, VirtAddr{0x400000 + i * 0x1000}, Pfn{0x1000 + i}, kFlags, tables()));
  }
  // A page in another PD entry's table.
  ASSERT_TRUE(fw::map_page(hal, root, 4, VirtAddr{0x800000}, Pfn{0x2000}, kFlags, tables()));
  std::vector<uint64_t> seen;
  uint64_t n = fw::for_each_leaf(hal, root, 4, VirtAddr{0x402000}, VirtAddr{0x801000},
                                 [&](VirtAddr va, PhysAddr, Pte e) -> std::optional<uint64_t> {
                                   seen.push_back(va.value());
                                   return e.raw() & ~pte_bit::kWritable;  // write-protect
                                 });
  EXPECT_EQ(n, 7u);
  EXPECT_EQ(seen, (std::vector<uint64_t>{0x402000, 0x403000, 0x404000, 0x405000, 0x406000, 0x407000, 0x800000}));
  EXPECT_TRUE(fw::lookup_page(hal, root, 4, VirtAddr{0x401000}).writable());
  EXPECT_FALSE(fw::lookup_page(hal, root, 4, VirtAddr{0x402000}).writable());
  EXPECT_EQ(fw::lookup_page(hal, root, 4, VirtAddr{0x800000}).pfn(), Pfn{0x2000});
  // A PROT_NONE entry (P clear, frame kept) is visited too and freed at teardown.
  auto ea = fw::leaf_entry(hal, root, 4, VirtAddr{0x400000});
  ASSERT_TRUE(ea);
  hal.write64(*ea, Pte::make(Pfn{0x1000}, pte_bit::kUser | fw::kSoftProtNone).raw());
  EXPECT_EQ(fw::for_each_leaf(hal, root, 4, VirtAddr{0x400000}, VirtAddr{0x401000},
                              [](VirtAddr, PhysAddr, Pte) { return std::optional<uint64_t>(); }),
            1u);
  std::multiset<uint64_t> data;
  fw::TeardownCounts c = fw::destroy_tables(
      hal, root, 4, [&](Pfn f) { data.insert(f.value()); }, [](Pfn) {});
  EXPECT_EQ(c.data_frames, 9u);
  EXPECT_EQ(data.count(0x1000), 1u);
  EXPECT_EQ(c.table_frames, 1u + m_tables.size());
}

TEST_F(PageTable, HugeLeafMapsSplitsAndIsSkippedByLeafIteration) {
  hal.zero_frame(pfn_of(root));
  const VirtAddr va{0x40000000};
  ASSERT_TRUE(fw::map_huge(hal, root, 4, va, 2, Pfn{0x200}, kFlags, tables()));
  // A second huge map or a 4 KiB table under it is refused.
  EXPECT_FALSE(fw::map_huge(hal, root, 4, va, 2, Pfn{0x400}, kFlags, tables()));
  auto ea = fw::leaf_entry(hal, root, 4, VirtAddr{va.value() + 0x12345});
  ASSERT_TRUE(ea);
  Pte leaf{hal.read64(*ea)};
  EXPECT_TRUE(leaf.huge());
  EXPECT_EQ(leaf.pfn(), Pfn{0x200});
  EXPECT_EQ(fw::huge_leaves(hal, root, 4, VirtAddr{0}, VirtAddr{1ull << 40}), std::vector<VirtAddr>{va});
  EXPECT_EQ(fw::for_each_leaf(hal, root, 4, VirtAddr{0}, VirtAddr{1ull << 40},
                              [](VirtAddr, PhysAddr, Pte) { return std::optional<uint64_t>(); }),
            0u);
  // Split: 512 4 KiB entries over the same frames with the same flags.
  std::optional<Pfn> t = fw::split_huge(hal, root, 4, VirtAddr{va.value() + 0x5000}, tables());
  ASSERT_TRUE(t);
  EXPECT_TRUE(fw::huge_leaves(hal, root, 4, VirtAddr{0}, VirtAddr{1ull << 40}).empty());
  for (uint64_t i : {0ull, 1ull, 511ull}) {
    Pte e = fw::lookup_page(hal, root, 4, VirtAddr{va.value() + i * kPageSize});
    EXPECT_TRUE(e.present() && e.writable() && e.user() && !e.huge()) << i;
    EXPECT_EQ(e.pfn(), Pfn{0x200 + i}) << i;
  }
  EXPECT_EQ(fw::for_each_leaf(hal, root, 4, va, VirtAddr{va.value() + (2u << 20)},
                              [](VirtAddr, PhysAddr, Pte) { return std::optional<uint64_t>(); }),
            512u);
  EXPECT_FALSE(fw::split_huge(hal, root, 4, va, tables()));  // no longer huge
  // Teardown: an unsplit huge leaf goes to free_huge once.
  const VirtAddr va2{0x40200000};
  ASSERT_TRUE(fw::map_huge(hal, root, 4, va2, 2, Pfn{0x600}, kFlags, tables()));
  std::vector<std::pair<uint64_t, unsigned>> huge;
  uint64_t small = 0;
  fw::TeardownCounts c = fw::destroy_tables(
      hal, root, 4, [&](Pfn) { ++small; }, [](Pfn) {},
      [&](Pfn f, unsigned level) { huge.emplace_back(f.value(), level); });
  EXPECT_EQ(small, 512u);
  ASSERT_EQ(huge.size(), 1u);
  EXPECT_EQ(huge[0], (std::pair<uint64_t, unsigned>{0x600, 2}));
  EXPECT_EQ(c.data_frames, 1024u);
}

TEST_F(PageTable, MapFailsCleanlyWithoutTableFrames) {
  hal.zero_frame(pfn_of(root));
  m_budget = 1;
  EXPECT_FALSE(fw::map_page(hal, root, 4, VirtAddr{0x1000}, Pfn{9}, kFlags, tables()));
  EXPECT_EQ(fw::lookup_page(hal, root, 4, VirtAddr{0x1000}).raw(), 0u);
  EXPECT_FALSE(fw::leaf_entry(hal, root, 4, VirtAddr{0x1000 + (1ull << 39)}));
}


// Walks va under root with the stepping core (the walker's), reading the host HAL's memory.
mmu::WalkResult walk(HostHal& hal, PhysAddr root, unsigned levels, uint64_t va, bool user) {
  mmu::PageWalk w(root, levels, mmu::WalkRequest{VirtAddr{va}, AccessKind::Read, user});
  while (!w.done()) w.feed(Pte{hal.read64(w.pte_address())});
  return w.result();
}

TEST(KernelHalf, DirectMapUsesTheLargestPagesAndIsSharedByEveryRoot) {
  // 3 GiB + 6 MiB + 8 KiB of memory: three 1 GiB leaves, three 2 MiB leaves, two 4 KiB leaves.
  const uint64_t bytes = (3ull << 30) + (6ull << 20) + 8192;
  for (unsigned levels : {4u, 5u}) {
    HostHal hal;
    fw::KernelHalf k(levels, bytes, true, Pfn{1}, Pfn{256});
    EXPECT_EQ(k.leaves(3), 3u);
    EXPECT_EQ(k.leaves(2), 3u);
    EXPECT_EQ(k.leaves(1), 2u);
    // Root, (PML4 with 5 levels,) PDPT, one PD, one PT, in the reserved frames from 1 up.
    EXPECT_EQ(k.table_frames(), levels == 5 ? 5u : 4u);
    EXPECT_EQ(k.kernel_root(), PhysAddr{0x1000});
    k.build(hal);
    EXPECT_EQ(hal.writes, k.table_frames());
    // Two address spaces get the same upper-half entries (one 2 KiB write each).
    const PhysAddr a{0x100000}, b{0x200000};
    hal.zero_frame(pfn_of(a));
    hal.zero_frame(pfn_of(b));
    k.install(hal, a);
    k.install(hal, b);
    const uint64_t base = fw::direct_map_base(levels);
    const unsigned top = pt_index(VirtAddr{base}, levels);
    EXPECT_EQ(top, 273u);  // Linux's direct-map slot in the PML4 (PML5 with LA57)
    EXPECT_NE(hal.read64(PhysAddr{a.value() + 8 * top}), 0u);
    EXPECT_EQ(hal.read64(PhysAddr{a.value() + 8 * top}), hal.read64(PhysAddr{b.value() + 8 * top}));
    EXPECT_EQ(hal.read64(PhysAddr{a.value() + 8 * 255}), 0u);  // the user half stays empty
    for (uint64_t pa : {0ull, 0x12345000ull, (2ull << 30) + 0x1000, (3ull << 30) + (4ull << 20) + 0x3000,
                        (3ull << 30) + (6ull << 20) + 0x1000}) {
      for (PhysAddr root : {a, b, k.kernel_root()}) {
        const mmu::WalkResult r = walk(hal, root, levels, base + pa, false);
        ASSERT_FALSE(r.fault) << std::hex << pa;
        EXPECT_EQ(r.pfn, pfn_of(PhysAddr{pa}));
        EXPECT_TRUE(r.global);
        EXPECT_FALSE(r.user);
        EXPECT_TRUE(r.no_execute);
        // A user access to the kernel half is a protection fault.
        const mmu::WalkResult u = walk(hal, root, levels, base + pa, true);
        EXPECT_TRUE(u.fault);
        EXPECT_EQ(u.error_code, pf_err::kPresent | pf_err::kUser);
      }
    }
    EXPECT_EQ(walk(hal, a, levels, base, false).level, 3u);
    EXPECT_EQ(walk(hal, a, levels, base + (3ull << 30), false).level, 2u);
    EXPECT_EQ(walk(hal, a, levels, base + (3ull << 30) + (6ull << 20), false).level, 1u);
    // Past the end of memory: not mapped.
    EXPECT_TRUE(walk(hal, a, levels, base + bytes, false).fault);
    // Tearing an address space down frees its user half only: the shared tables stay.
    uint64_t tables_freed = 0;
    fw::destroy_tables(hal, a, levels, [](Pfn) { ADD_FAILURE() << "no data frames"; },
                       [&](Pfn f) {
                         ++tables_freed;
                         EXPECT_EQ(f, pfn_of(a));
                       });
    EXPECT_EQ(tables_freed, 1u);
    EXPECT_FALSE(walk(hal, b, levels, base + 0x12345000, false).fault);
  }
}

TEST(KernelHalf, WithoutGigabytePagesAndWhenTheTablesDoNotFit) {
  fw::KernelHalf k(4, 4ull << 30, false, Pfn{1}, Pfn{256});
  EXPECT_EQ(k.leaves(3), 0u);
  EXPECT_EQ(k.leaves(2), 2048u);
  EXPECT_EQ(k.table_frames(), 2u + 4u);  // root, PDPT, four PDs
  try {
    fw::KernelHalf tight(4, 4ull << 30, false, Pfn{1}, Pfn{4});
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("firmware.reserved_low: bad value '16KiB'"), std::string::npos) << e.what();
  }
}

TEST(Kpti, RootPairMirrorsUserTopLevelEntriesAndTheUserCopyMapsOnlyTheTrampoline) {
  // 1 GiB + 8 KiB of memory, a process's root pair: kernel copy K, user copy U.
  const uint64_t bytes = (1ull << 30) + 8192;
  for (unsigned levels : {4u, 5u}) {
    HostHal hal;
    fw::KernelHalf k(levels, bytes, true, Pfn{1}, Pfn{256}, true);
    ASSERT_TRUE(k.kpti());
    // The trampoline page follows the tables: the direct map's plus its own (one per level below the root).
    EXPECT_EQ(k.trampoline(), Pfn{1 + k.table_frames()});
    k.build(hal);
    const PhysAddr kr{0x100000}, ur{0x101000};
    hal.zero_frame(pfn_of(kr));
    hal.zero_frame(pfn_of(ur));
    k.install(hal, kr);
    const uint64_t w0 = hal.writes;
    k.install_user(hal, ur);
    EXPECT_EQ(hal.writes, w0 + 1);  // one 8-byte entry
    uint64_t next = 0x200;
    fw::TableAllocator alloc = [&]() -> std::optional<Pfn> {
      Pfn f{next++};
      hal.zero_frame(f);
      return f;
    };
    // A page in an empty top-level slot: the new top-level entry is written to both copies (one more
    // write than without KPTI: levels - 1 tables, the leaf, and the mirror).
    const uint64_t w1 = hal.writes;
    ASSERT_TRUE(fw::map_page(hal, kr, levels, VirtAddr{0x400000}, Pfn{0x5000}, PageTable::kUserRw, alloc, nullptr, ur));
    EXPECT_EQ(hal.writes - w1, (levels - 1) + 1 + 1);
    // A second page under the same top-level entry: nothing to mirror.
    const uint64_t w2 = hal.writes;
    ASSERT_TRUE(fw::map_page(hal, kr, levels, VirtAddr{0x401000}, Pfn{0x5001}, PageTable::kUserRw, alloc, nullptr, ur));
    EXPECT_EQ(hal.writes - w2, 1u);
    // A 2 MiB leaf and a swap entry in two more top-level slots.
    const uint64_t huge_va = 0x7f0000000000ull;
    ASSERT_TRUE(fw::map_huge(hal, kr, levels, VirtAddr{huge_va}, 2, Pfn{0x8000}, PageTable::kUserRw, alloc, ur));
    const uint64_t swap_va = 0x10000000000ull;
    ASSERT_TRUE(fw::set_leaf(hal, kr, levels, VirtAddr{swap_va}, fw::swap_entry(7), alloc, ur));
    // The user copy's user half equals the kernel copy's; its upper half holds the trampoline entry only.
    const unsigned tramp = pt_index(VirtAddr{fw::kTrampolineVa}, levels);
    unsigned user_entries = 0;
    for (unsigned i = 0; i < 512; ++i) {
      const uint64_t ke = hal.read64(PhysAddr{kr.value() + 8 * i});
      const uint64_t ue = hal.read64(PhysAddr{ur.value() + 8 * i});
      if (i < 256) {
        EXPECT_EQ(ue, ke) << i;
        user_entries += ue != 0;
      } else if (i == tramp) {
        EXPECT_EQ(ue, ke);
        EXPECT_NE(ue, 0u);
      } else {
        EXPECT_EQ(ue, 0u) << i;
      }
    }
    EXPECT_EQ(user_entries, levels == 5 ? 1u : 3u);  // with 5 levels all three share PML5 entry 0
    // Both copies translate the user pages alike (the lower tables are shared).
    for (PhysAddr root : {kr, ur}) {
      mmu::WalkResult r = walk(hal, root, levels, 0x401000, true);
      ASSERT_FALSE(r.fault);
      EXPECT_EQ(r.pfn, Pfn{0x5001});
      r = walk(hal, root, levels, huge_va + 0x3000, true);
      ASSERT_FALSE(r.fault);
      EXPECT_EQ(r.pfn, Pfn{0x8003});
      EXPECT_TRUE(walk(hal, root, levels, swap_va, true).fault);
    }
    // Under KPTI the direct map is not global, and the user copy does not map it at all: a supervisor
    // access there through U is a not-present fault, through K it translates.
    const uint64_t base = fw::direct_map_base(levels);
    for (uint64_t pa : {0ull, 0x12345000ull, (1ull << 30) + 0x1000}) {
      const mmu::WalkResult kk = walk(hal, kr, levels, base + pa, false);
      ASSERT_FALSE(kk.fault);
      EXPECT_EQ(kk.pfn, pfn_of(PhysAddr{pa}));
      EXPECT_FALSE(kk.global);
      const mmu::WalkResult uu = walk(hal, ur, levels, base + pa, false);
      EXPECT_TRUE(uu.fault);
      EXPECT_EQ(uu.error_code & pf_err::kPresent, 0u);
    }
    // The trampoline: in both copies, global, supervisor, executable, read-only; a user access faults.
    for (PhysAddr root : {kr, ur, k.kernel_root()}) {
      const mmu::WalkResult t = walk(hal, root, levels, fw::kTrampolineVa, false);
      ASSERT_FALSE(t.fault);
      EXPECT_EQ(t.pfn, k.trampoline());
      EXPECT_TRUE(t.global);
      EXPECT_FALSE(t.user);
      EXPECT_FALSE(t.no_execute);
      EXPECT_FALSE(t.writable);
      EXPECT_TRUE(walk(hal, root, levels, fw::kTrampolineVa, true).fault);
    }
    // Without a user copy nothing is mirrored: the same mapping into another root writes one entry less.
    const PhysAddr other{0x102000};
    hal.zero_frame(pfn_of(other));
    const uint64_t w3 = hal.writes;
    ASSERT_TRUE(fw::map_page(hal, other, levels, VirtAddr{0x400000}, Pfn{0x6000}, PageTable::kUserRw, alloc));
    EXPECT_EQ(hal.writes - w3, (levels - 1) + 1);
    // Tearing the kernel copy down frees the shared lower tables (the user copy is one more frame, the
    // caller's to free); the user copy's root frame is never reached.
    std::set<uint64_t> freed;
    fw::destroy_tables(hal, kr, levels, [](Pfn) {}, [&](Pfn f) { freed.insert(f.value()); },
                       [](Pfn, unsigned) {});
    EXPECT_TRUE(freed.count(pfn_of(kr).value()));
    EXPECT_FALSE(freed.count(pfn_of(ur).value()));
  }
}

TEST(Kpti, WithoutKptiNoTrampolineAndATrampolineThatDoesNotFit) {
  HostHal hal;
  fw::KernelHalf plain(4, 1ull << 30, true, Pfn{1}, Pfn{256});
  EXPECT_FALSE(plain.kpti());
  EXPECT_EQ(plain.trampoline(), Pfn{0});
  plain.build(hal);
  EXPECT_TRUE(walk(hal, plain.kernel_root(), 4, fw::kTrampolineVa, false).fault);
  EXPECT_TRUE(walk(hal, plain.kernel_root(), 4, fw::direct_map_base(4), false).global);
  // 4 GiB in 2 MiB pages: root, PDPT, four PDs; the trampoline's PDPT, PD, PT: frames 1..9, the page at 10.
  fw::KernelHalf fits(4, 4ull << 30, false, Pfn{1}, Pfn{11}, true);
  EXPECT_EQ(fits.table_frames(), 9u);
  EXPECT_EQ(fits.trampoline(), Pfn{10});
  try {
    fw::KernelHalf tight(4, 4ull << 30, false, Pfn{1}, Pfn{10}, true);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("firmware.reserved_low: bad value '40KiB' (the kernel half's tables and the KPTI entry trampoline"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace vmsim
