// Unit tests for the buddy allocator's additions: lazy coalescing, the coalescing pass, allocated_order,
// free_area.
#include <gtest/gtest.h>

#include <random>
#include <utility>
#include <vector>

#include "firmware/mm/buddy.hpp"

namespace vmsim::fw {
namespace {

using Counts = std::array<uint64_t, BuddyAllocator::kMaxOrder + 1>;

TEST(BuddyLazy, OffByDefault) {
  BuddyAllocator b(Pfn{0}, 1024);
  EXPECT_FALSE(b.lazy_coalescing());
  auto p = b.alloc(0);
  ASSERT_TRUE(p);
  b.free(*p, 0);
  EXPECT_EQ(b.merges(), 10u);
  EXPECT_EQ(b.deferred_frees(), 0u);
  EXPECT_EQ(b.pending_deferred(), 0u);
  EXPECT_EQ(b.coalesce(), 0u);  // nothing deferred: no-op, not counted as a pass
  EXPECT_EQ(b.coalesce_passes(), 0u);
}

TEST(BuddyLazy, FreeDefersMergesUntilLargerAllocationFails) {
  BuddyAllocator b(Pfn{0}, 1024);
  b.set_lazy_coalescing(true);
  ASSERT_EQ(b.alloc(0), Pfn{0});  // splits 1024 -> one free block per order 0..9 at 1, 2, 4, ..., 512
  EXPECT_EQ(b.splits(), 10u);
  b.free(Pfn{0}, 0);
  // Not merged: order 0 now holds PFN 0 and PFN 1.
  EXPECT_EQ(b.free_blocks(0), 2u);
  for (unsigned k = 1; k <= 9; ++k) EXPECT_EQ(b.free_blocks(k), 1u) << k;
  EXPECT_EQ(b.free_blocks(10), 0u);
  EXPECT_EQ(b.merges(), 0u);
  EXPECT_EQ(b.deferred_frees(), 1u);
  EXPECT_EQ(b.pending_deferred(), 1u);
  EXPECT_EQ(b.free_frames(), 1024u);
  EXPECT_FALSE(b.is_allocated(Pfn{0}));

  // An order-0 request is served from the unmerged block without a split and without a pass.
  EXPECT_EQ(b.alloc(0), Pfn{0});
  EXPECT_EQ(b.splits(), 10u);
  EXPECT_EQ(b.coalesce_passes(), 0u);
  b.free(Pfn{0}, 0);

  // Order 10: no block is large enough until the pass merges 0+1 -> ... -> 0..1023 (10 merges).
  EXPECT_EQ(b.alloc(10), Pfn{0});
  EXPECT_EQ(b.coalesce_passes(), 1u);
  EXPECT_EQ(b.deferred_merges(), 10u);
  EXPECT_EQ(b.merges(), 10u);
  EXPECT_EQ(b.pending_deferred(), 0u);
  EXPECT_EQ(b.free_frames(), 0u);
  b.free(Pfn{0}, 10);
  EXPECT_EQ(b.free_blocks(10), 1u);
  EXPECT_EQ(b.splits(), b.merges());
}

TEST(BuddyLazy, FailingAllocationWithNothingDeferredRunsNoPass) {
  BuddyAllocator b(Pfn{0}, 2048);
  b.set_lazy_coalescing(true);
  ASSERT_TRUE(b.alloc(10));
  ASSERT_TRUE(b.alloc(10));
  EXPECT_FALSE(b.alloc(0).has_value());
  EXPECT_EQ(b.coalesce_passes(), 0u);
}

TEST(BuddyLazy, PassMergesAcrossOrdersAndRespectsRangeEdges) {
  // [3, 1003): the carving has no mergeable pairs; free order-0 pieces of the order-2 block at 4 and check
  // the pass rebuilds exactly the initial carving (including never merging PFN 3 with the outside PFN 2).
  BuddyAllocator b(Pfn{3}, 1000);
  const Counts initial = b.free_area();
  b.set_lazy_coalescing(true);
  std::vector<uint64_t> got;
  while (auto p = b.alloc(0)) got.push_back(p->value());
  ASSERT_EQ(got.size(), 1000u);
  for (uint64_t s : got) b.free(Pfn{s}, 0);
  EXPECT_EQ(b.free_blocks(0), 1000u);
  EXPECT_EQ(b.deferred_frees(), 1000u);
  const uint64_t merged = b.coalesce();
  EXPECT_EQ(merged, b.splits());
  EXPECT_EQ(b.free_area(), initial);
  EXPECT_EQ(b.coalesce(), 0u);  // idempotent
}

TEST(BuddyLazy, TurningLazyOffCoalesces) {
  BuddyAllocator b(Pfn{0}, 1024);
  b.set_lazy_coalescing(true);
  auto p = b.alloc(3);
  ASSERT_TRUE(p);
  b.free(*p, 3);
  EXPECT_EQ(b.free_blocks(10), 0u);
  b.set_lazy_coalescing(false);
  EXPECT_FALSE(b.lazy_coalescing());
  EXPECT_EQ(b.free_blocks(10), 1u);
  EXPECT_EQ(b.deferred_merges(), 7u);
  // Eager again: the next free merges immediately.
  auto q = b.alloc(0);
  ASSERT_TRUE(q);
  b.free(*q, 0);
  EXPECT_EQ(b.free_blocks(10), 1u);
  EXPECT_EQ(b.deferred_merges(), 7u);
  EXPECT_EQ(b.merges(), 17u);
}

TEST(BuddyLazy, ErrorsStillDetected) {
  BuddyAllocator b(Pfn{0}, 1024);
  b.set_lazy_coalescing(true);
  auto p = b.alloc(2);
  ASSERT_TRUE(p);
  EXPECT_THROW(b.free(*p, 1), std::logic_error);
  b.free(*p, 2);
  EXPECT_THROW(b.free(*p, 2), std::logic_error);  // double free of an unmerged block
  EXPECT_EQ(b.deferred_frees(), 1u);
}

// Lazy and eager allocators driven by the same random sequence of (order, victim) choices: each keeps its
// own live list. After everything is freed and the lazy one coalesces, both equal the initial carving.
TEST(BuddyLazy, RandomSequenceReturnsToInitialCarving) {
  const uint64_t base = 777, frames = 20000;
  BuddyAllocator eager(Pfn{base}, frames);
  BuddyAllocator lazy(Pfn{base}, frames);
  lazy.set_lazy_coalescing(true);
  const Counts initial = eager.free_area();
  std::mt19937_64 rng(7);
  std::vector<std::pair<uint64_t, unsigned>> live_e, live_l;
  for (int step = 0; step < 200000; ++step) {
    const bool alloc = live_l.empty() || rng() % 100 < ((step >> 14) % 2 ? 40u : 60u);
    if (alloc) {
      const auto order = static_cast<unsigned>(rng() % 6);
      if (auto p = eager.alloc(order)) live_e.emplace_back(p->value(), order);
      if (auto p = lazy.alloc(order)) live_l.emplace_back(p->value(), order);
    } else {
      const uint64_t r = rng();
      if (!live_e.empty()) {
        const size_t i = r % live_e.size();
        eager.free(Pfn{live_e[i].first}, live_e[i].second);
        live_e[i] = live_e.back();
        live_e.pop_back();
      }
      const size_t i = r % live_l.size();
      lazy.free(Pfn{live_l[i].first}, live_l[i].second);
      live_l[i] = live_l.back();
      live_l.pop_back();
    }
    ASSERT_EQ(lazy.free_frames() + lazy.allocated_frames(), frames);
  }
  EXPECT_GT(lazy.coalesce_passes(), 0u);
  EXPECT_GT(lazy.deferred_frees(), 0u);
  for (auto [s, o] : live_e) eager.free(Pfn{s}, o);
  for (auto [s, o] : live_l) lazy.free(Pfn{s}, o);
  lazy.coalesce();
  EXPECT_EQ(eager.free_area(), initial);
  EXPECT_EQ(lazy.free_area(), initial);
  EXPECT_EQ(lazy.splits(), lazy.merges());
}

TEST(BuddyExt, AllocatedOrderAndFreeArea) {
  BuddyAllocator b(Pfn{0}, 1024);
  auto p = b.alloc(3);
  ASSERT_EQ(p, Pfn{0});
  EXPECT_EQ(b.allocated_order(Pfn{0}), 3u);
  EXPECT_FALSE(b.allocated_order(Pfn{1}).has_value());  // inside the block
  EXPECT_FALSE(b.allocated_order(Pfn{8}).has_value());  // free
  EXPECT_FALSE(b.allocated_order(Pfn{5000}).has_value());
  const Counts expected = {0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0};
  EXPECT_EQ(b.free_area(), expected);
}

}  // namespace
}  // namespace vmsim::fw
