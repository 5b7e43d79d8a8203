// Unit tests of the hashed (inverted) page table: the firmware's inserts and removals with collision
// chains, the walker's stepping core, and the golden checker's independent lookup, all over one tiny
// physical memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "firmware/vm/hashed_table.hpp"
#include "common/error.hpp"
#include "common/hashed_pt.hpp"
#include "models/memory/sparse_store.hpp"
#include "models/mmu/golden_checker.hpp"
#include "models/mmu/hashed_walk.hpp"

namespace vmsim {
namespace {

// A HAL over a sparse store, counting reads and writes.
class FakeHal : public fw::Hal {
 public:
  mem::SparseStore store;
  uint64_t reads = 0, writes = 0;
  uint64_t read64(PhysAddr pa) override {
    uint64_t v = 0;
    read_block(pa, reinterpret_cast<uint8_t*>(&v), 8);
    return v;
  }
  void write64(PhysAddr pa, uint64_t v) override { write_block(pa, reinterpret_cast<const uint8_t*>(&v), 8); }
  void read_block(PhysAddr pa, uint8_t* d, uint64_t n) override {
    ++reads;
    store.read(pa, d, n);
  }
  void write_block(PhysAddr pa, const uint8_t* d, uint64_t n) override {
    ++writes;
    store.write(pa, d, n);
  }
  void zero_frame(Pfn) override {}
  void kernel_enter() override {}
  void kernel_exit() override {}
  void shootdown_begin(const std::vector<CoreId>&) override {}
  void shootdown_end(const std::vector<CoreId>&, PhysAddr, uint16_t, const std::vector<VirtAddr>&, uint64_t) override {}
  void shootdown_resume(const std::vector<CoreId>&) override {}
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
  void set_direct_map(uint64_t, uint64_t) override {}  // no MMU: accesses stay physical
  void dma_read(PhysAddr pa, uint8_t* data, uint64_t len) override { read_block(pa, data, len); }
  void dma_write(PhysAddr pa, const uint8_t* data, uint64_t len) override { write_block(pa, data, len); }
  void invlpg(VirtAddr) override {}
  void set_root(PhysAddr, uint16_t) override {}
  void invalidate_pcid(uint16_t) override {}
  void invalidate_all_pcids() override {}
  void invalidate_space(PhysAddr, uint16_t) override {}
  void charge(uint64_t) override {}
  CoreId core_id() const override { return 0; }
  uint64_t now_ps() const override { return 0; }
};

constexpr uint64_t kBase = 0x100000;

// Runs the walker's stepping core against the memory; returns the result and the entries read.
mmu::WalkResult hw_walk(FakeHal& hal, uint64_t buckets, uint16_t asid, uint64_t va, AccessKind kind, bool ad = false) {
  mmu::HashedWalk w(PhysAddr{kBase}, buckets, asid, 4, mmu::WalkRequest{VirtAddr{va}, kind, true}, ad);
  while (!w.done()) {
    std::array<uint64_t, 4> e{};
    hal.store.read(w.entry_address(), reinterpret_cast<uint8_t*>(e.data()), 32);
    w.feed(e);
    if (w.has_ad_update()) {
      uint64_t v = w.ad_update();
      hal.store.write(PhysAddr{w.entry_address().value() + 8}, reinterpret_cast<uint8_t*>(&v), 8);
    }
  }
  return w.result();
}

TEST(HashedPageTable, BucketIsAPowerOfTwoRangeAndSpreadsNeighbours) {
  std::set<uint64_t> seen;
  for (uint64_t vpn = 0; vpn < 64; ++vpn) {
    uint64_t b = hpt::bucket_of(1, vpn, 64);
    EXPECT_LT(b, 64u);
    seen.insert(b);
  }
  EXPECT_GT(seen.size(), 40u) << "consecutive pages should land in different buckets";
  EXPECT_NE(hpt::bucket_of(1, 7, 1024), hpt::bucket_of(2, 7, 1024)) << "the address space is part of the key";
  EXPECT_EQ(hpt::make_tag(0xABC, 0x12345), hpt::kValid | (0xABCull << 51) | 0x12345);
}

// Two anchors, 3 address spaces x 40 pages: long chains. Every insertion, lookup and removal is checked
// against a host map by the firmware's lookup, the walker's stepping core and the golden checker.
TEST(HashedPageTable, ChainsInsertFindAndRemoveAgreeWithWalkerAndChecker) {
  FakeHal hal;
  const uint64_t buckets = 2;
  fw::HashedTable t(PhysAddr{kBase}, buckets);
  uint64_t next_frame = 0x200, frames_out = 0;
  std::set<uint64_t> freed;
  auto alloc = [&]() -> std::optional<Pfn> {
    ++frames_out;
    return Pfn{next_frame++};
  };
  auto free_frame = [&](Pfn f) {
    EXPECT_TRUE(freed.insert(f.value()).second) << "frame freed twice";
    --frames_out;
  };
  mmu::GoldenChecker golden([&](uint64_t pa) { return hal.read64(PhysAddr{pa}); }, 4, buckets);
  std::map<std::pair<uint16_t, uint64_t>, uint64_t> want;  // (asid, vpn) -> pfn
  auto check_all = [&](const char* when) {
    for (uint16_t asid = 1; asid <= 3; ++asid) {
      for (uint64_t vpn = 0x400; vpn < 0x400 + 40; ++vpn) {
        const uint64_t va = (vpn << 12) | 0x10;
        auto it = want.find({asid, vpn});
        Pte p = t.lookup(hal, asid, VirtAddr{va});
        mmu::WalkResult r = hw_walk(hal, buckets, asid, va, AccessKind::Read);
        auto g = golden.translate(kBase, va, nullptr, asid);
        if (it == want.end()) {
          EXPECT_FALSE(p.present()) << when;
          EXPECT_TRUE(r.fault) << when;
          EXPECT_EQ(r.error_code, pf_err::kUser) << when;
          EXPECT_FALSE(g.has_value()) << when;
        } else {
          EXPECT_EQ(p.pfn().value(), it->second) << when;
          ASSERT_FALSE(r.fault) << when << " asid " << asid << " vpn " << vpn;
          EXPECT_EQ(r.pfn.value(), it->second) << when;
          ASSERT_TRUE(g.has_value()) << when;
          EXPECT_EQ(g->pfn, it->second) << when;
        }
      }
    }
  };
  for (uint16_t asid = 1; asid <= 3; ++asid) {
    for (uint64_t vpn = 0x400; vpn < 0x400 + 40; ++vpn) {
      const uint64_t pfn = 0x9000 + asid * 0x100 + vpn;
      ASSERT_TRUE(t.map(hal, asid, VirtAddr{vpn << 12}, Pfn{pfn}, pte_bit::kUser | pte_bit::kWritable, alloc));
      want[{asid, vpn}] = pfn;
    }
  }
  EXPECT_EQ(t.entries(), 120u);
  EXPECT_GE(t.longest_chain(), 50u) << "120 entries over 2 anchors";
  EXPECT_EQ(t.overflow_frames(), 1u) << "118 overflow entries fit in one frame (128 per frame)";
  check_all("after inserts");
  // The walker reads the chain up to the entry: the anchor's entry takes one read, the deepest many.
  unsigned shallowest = ~0u, deepest = 0;
  for (const auto& kv : want) {
    mmu::WalkResult r = hw_walk(hal, buckets, kv.first.first, kv.first.second << 12, AccessKind::Read);
    shallowest = std::min(shallowest, r.pte_reads);
    deepest = std::max(deepest, r.pte_reads);
  }
  EXPECT_EQ(shallowest, 1u);
  EXPECT_EQ(deepest, t.longest_chain());
  // Remapping replaces the PTE in place.
  ASSERT_TRUE(t.map(hal, 2, VirtAddr{0x410ull << 12}, Pfn{0x7777}, pte_bit::kUser, alloc));
  want[{2, 0x410}] = 0x7777;
  EXPECT_EQ(t.entries(), 120u);
  // Random removals (anchors, middles and ends of chains) until everything is gone.
  std::mt19937_64 rng(5);
  std::vector<std::pair<uint16_t, uint64_t>> keys;
  for (const auto& kv : want) keys.push_back(kv.first);
  std::shuffle(keys.begin(), keys.end(), rng);
  for (size_t i = 0; i < keys.size(); ++i) {
    Pte old = t.unmap(hal, keys[i].first, VirtAddr{keys[i].second << 12}, free_frame);
    EXPECT_EQ(old.pfn().value(), want[keys[i]]);
    want.erase(keys[i]);
    if (i % 17 == 0) check_all("during removals");
  }
  check_all("after removing everything");
  EXPECT_EQ(t.entries(), 0u);
  EXPECT_EQ(t.overflow_frames(), 0u);
  EXPECT_EQ(frames_out, 0u) << "the overflow frame went back when its last entry left";
  EXPECT_FALSE(t.unmap(hal, 1, VirtAddr{0x400ull << 12}, free_frame).present()) << "removing twice finds nothing";
}

TEST(HashedPageTable, WalkerPermissionFaultsReservedBitAndAccessedDirty) {
  FakeHal hal;
  fw::HashedTable t(PhysAddr{kBase}, 8);
  auto alloc = []() -> std::optional<Pfn> { return Pfn{0x300}; };
  ASSERT_TRUE(t.map(hal, 4, VirtAddr{0x5000}, Pfn{0x55}, pte_bit::kUser | pte_bit::kNoExecute, alloc));  // r--
  ASSERT_TRUE(t.map(hal, 4, VirtAddr{0x6000}, Pfn{0x66}, pte_bit::kWritable, alloc));  // supervisor rw
  ASSERT_TRUE(t.map(hal, 4, VirtAddr{0x7000}, Pfn{0x77}, pte_bit::kUser | pte_bit::kWritable, alloc));
  EXPECT_EQ(hw_walk(hal, 8, 4, 0x5000, AccessKind::Write).error_code,
            pf_err::kPresent | pf_err::kWrite | pf_err::kUser);
  EXPECT_EQ(hw_walk(hal, 8, 4, 0x5000, AccessKind::Fetch).error_code,
            pf_err::kPresent | pf_err::kFetch | pf_err::kUser);
  EXPECT_EQ(hw_walk(hal, 8, 4, 0x6000, AccessKind::Read).error_code, pf_err::kPresent | pf_err::kUser);
  EXPECT_EQ(hw_walk(hal, 8, 5, 0x7000, AccessKind::Read).error_code, pf_err::kUser) << "other address space";
  mmu::WalkResult nc = hw_walk(hal, 8, 4, 0x0000800000000000ull, AccessKind::Read);
  EXPECT_TRUE(nc.fault);
  EXPECT_EQ(nc.pte_reads, 0u) << "non-canonical: no reads";
  // A write sets A and D in the entry's PTE word; a read sets A only.
  mmu::WalkResult w = hw_walk(hal, 8, 4, 0x7008, AccessKind::Write, true);
  EXPECT_FALSE(w.fault);
  EXPECT_TRUE(w.dirty);
  Pte p = t.lookup(hal, 4, VirtAddr{0x7000});
  EXPECT_TRUE(p.accessed());
  EXPECT_TRUE(p.dirty());
  hw_walk(hal, 8, 4, 0x5000, AccessKind::Read, true);
  EXPECT_TRUE(t.lookup(hal, 4, VirtAddr{0x5000}).accessed());
  EXPECT_FALSE(t.lookup(hal, 4, VirtAddr{0x5000}).dirty());
  // PS is reserved in the hashed table (4 KiB pages only).
  ASSERT_TRUE(t.map(hal, 4, VirtAddr{0x8000}, Pfn{0x88}, pte_bit::kUser | pte_bit::kPageSize, alloc));
  EXPECT_EQ(hw_walk(hal, 8, 4, 0x8000, AccessKind::Read).error_code,
            pf_err::kPresent | pf_err::kReserved | pf_err::kUser);
  mmu::GoldenChecker golden([&](uint64_t pa) { return hal.read64(PhysAddr{pa}); }, 4, 8);
  EXPECT_FALSE(golden.translate(kBase, 0x8000, nullptr, 4).has_value());
  EXPECT_NE(golden.check(kBase, 0x7000, AccessKind::Read, true, false, 0x78, "test", 4), "")
      << "a wrong frame is reported";
  EXPECT_EQ(golden.check(kBase, 0x7000, AccessKind::Read, true, false, 0x77, "test", 4), "");
}

TEST(HashedPageTable, CorruptCycleStopsTheWalker) {
  FakeHal hal;
  const uint64_t anchor = kBase + 32 * hpt::bucket_of(1, 0x10, 2);
  uint64_t e[4] = {hpt::make_tag(1, 0x99), 0, anchor, 0};  // points at itself
  hal.store.write(PhysAddr{anchor}, reinterpret_cast<uint8_t*>(e), 32);
  EXPECT_THROW(hw_walk(hal, 2, 1, 0x10000, AccessKind::Read), SimulationError);
}

}  // namespace
}  // namespace vmsim
