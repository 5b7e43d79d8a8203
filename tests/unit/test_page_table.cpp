// Firmware page-table code against a host-memory HAL: mapping, leaf iteration with rewrites, huge
// leaves (map, split, find), PROT_NONE entries and teardown.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>

#include "firmware/hal/hal.hpp"
#include "firmware/vm/page_table.hpp"

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

}  // namespace
}  // namespace vmsim
