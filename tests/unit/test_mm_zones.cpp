// Unit tests for the zoned physical memory manager: zone layout, flags and fallback order, per-CPU lists
// (refill/drain by hand), buddyinfo, lazy coalescing, and a random stress of the buddy invariants.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "firmware/mm/zones.hpp"

namespace vmsim::fw {
namespace {

constexpr uint64_t kDmaFrames = (16ull << 20) >> kPageShift;  // 4096

PhysMemConfig no_pcp() {
  PhysMemConfig c;
  c.pcp_high = 0;
  return c;
}

// Two nodes: node 0 = [256, 8192) (DMA [256, 4096), Normal [4096, 8192)), node 1 = [16384, 20480) Normal.
std::vector<NodeRange> two_nodes() { return {{Pfn{256}, 8192 - 256}, {Pfn{16384}, 4096}}; }

TEST(Zones, Layout) {
  PhysicalMemoryManager m(two_nodes(), no_pcp());
  EXPECT_EQ(m.node_count(), 2u);
  EXPECT_EQ(m.total_frames(), 8192u - 256u + 4096u);
  EXPECT_EQ(m.total_frames(0, ZoneKind::Dma), kDmaFrames - 256);
  EXPECT_EQ(m.total_frames(0, ZoneKind::Normal), 4096u);
  EXPECT_EQ(m.total_frames(1, ZoneKind::Dma), 0u);
  EXPECT_EQ(m.total_frames(1, ZoneKind::Normal), 4096u);
  EXPECT_EQ(m.total_frames(1), 4096u);
  EXPECT_EQ(m.total_frames(7), 0u);
  EXPECT_EQ(m.free_frames(), m.total_frames());
  EXPECT_EQ(m.allocated_frames(), 0u);
  ASSERT_NE(m.zone_allocator(0, ZoneKind::Dma), nullptr);
  EXPECT_EQ(m.zone_allocator(0, ZoneKind::Dma)->base(), Pfn{256});
  EXPECT_EQ(m.zone_allocator(0, ZoneKind::Dma)->end(), Pfn{kDmaFrames});
  EXPECT_EQ(m.zone_allocator(1, ZoneKind::Dma), nullptr);
  EXPECT_EQ(m.zone_of(Pfn{300}), std::make_pair(0u, ZoneKind::Dma));
  EXPECT_EQ(m.zone_of(Pfn{4096}), std::make_pair(0u, ZoneKind::Normal));
  EXPECT_EQ(m.zone_of(Pfn{20479}), std::make_pair(1u, ZoneKind::Normal));
  EXPECT_FALSE(m.zone_of(Pfn{100}).has_value());
  EXPECT_FALSE(m.zone_of(Pfn{10000}).has_value());
  EXPECT_FALSE(m.zone_of(Pfn{20480}).has_value());
}

TEST(Zones, UnalignedNodeStraddlingDmaLimit) {
  PhysicalMemoryManager m({{Pfn{4000}, 1000}}, no_pcp());
  EXPECT_EQ(m.total_frames(0, ZoneKind::Dma), 96u);
  EXPECT_EQ(m.total_frames(0, ZoneKind::Normal), 904u);
  // A DMA limit of 0 makes everything Normal.
  PhysMemConfig c = no_pcp();
  c.dma_limit = Bytes{0};
  PhysicalMemoryManager n({{Pfn{0}, 8192}}, c);
  EXPECT_EQ(n.total_frames(0, ZoneKind::Dma), 0u);
  EXPECT_EQ(n.total_frames(0, ZoneKind::Normal), 8192u);
}

TEST(Zones, FallbackFollowsTheDistanceOrderOfThePreferredNode) {
  // Three nodes of 4096 normal frames (above the DMA limit); node 0 full.
  const std::vector<NodeRange> nodes{{Pfn{4096}, 4096}, {Pfn{8192}, 4096}, {Pfn{12288}, 4096}};
  PhysicalMemoryManager ids(nodes, no_pcp());
  PhysicalMemoryManager dist(nodes, no_pcp());
  // Node 0's nearest other node is 2, then 1.
  dist.set_fallback_order({{2, 1}, {0, 2}, {0, 1}});
  for (PhysicalMemoryManager* m : {&ids, &dist}) {
    while (m->free_frames(0) > 0) ASSERT_TRUE(m->alloc(0, Gfp::Atomic, {0}));
  }
  EXPECT_EQ(ids.alloc(0, kGfpKernel, {0})->node, 1u);   // without an order: id order
  EXPECT_EQ(dist.alloc(0, kGfpKernel, {0})->node, 2u);  // by distance
  EXPECT_EQ(dist.alloc(0, kGfpKernel, {1})->node, 1u);  // a preferred node with room serves first
  EXPECT_THROW(dist.set_fallback_order({{1}, {0}}), std::invalid_argument);          // one list per node
  EXPECT_THROW(dist.set_fallback_order({{3}, {0}, {0}}), std::invalid_argument);     // no node 3
}

TEST(Zones, ConstructorRejectsBadInput) {
  EXPECT_THROW(PhysicalMemoryManager({}), std::invalid_argument);
  EXPECT_THROW(PhysicalMemoryManager({{Pfn{0}, 0}}), std::invalid_argument);
  EXPECT_THROW(PhysicalMemoryManager({{Pfn{0}, 100}, {Pfn{99}, 10}}), std::invalid_argument);
  EXPECT_THROW(PhysicalMemoryManager({{Pfn{~uint64_t{0} - 1}, 10}}), std::invalid_argument);
  PhysMemConfig c;
  c.pcp_batch = c.pcp_high + 1;
  EXPECT_THROW(PhysicalMemoryManager({{Pfn{0}, 100}}, c), std::invalid_argument);
  c = PhysMemConfig{};
  c.cpus = 0;
  EXPECT_THROW(PhysicalMemoryManager({{Pfn{0}, 100}}, c), std::invalid_argument);
  c = PhysMemConfig{};
  c.dma_limit = Bytes{1000};
  EXPECT_THROW(PhysicalMemoryManager({{Pfn{0}, 100}}, c), std::invalid_argument);
  // validate() reports the key.
  try {
    c.validate("firmware.pmm");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("firmware.pmm.dma_limit"), std::string::npos) << e.what();
  }
}

TEST(Zones, FlagErrors) {
  PhysicalMemoryManager m(two_nodes(), no_pcp());
  EXPECT_THROW(m.alloc(0, Gfp::None), std::invalid_argument);
  EXPECT_THROW(m.alloc(0, Gfp::MaySleep | Gfp::Atomic), std::invalid_argument);
  EXPECT_THROW(m.alloc(0, Gfp::Zero), std::invalid_argument);
  EXPECT_THROW(m.alloc(11, kGfpKernel), std::invalid_argument);
  EXPECT_THROW(m.alloc(0, kGfpKernel, {2}), std::invalid_argument);
  EXPECT_THROW(m.alloc_page(1, kGfpKernel), std::invalid_argument);  // one CPU
  EXPECT_EQ(m.allocated_frames(), 0u);
  EXPECT_EQ(m.counters().allocations, 0u);
}

TEST(Zones, ZeroFlagOnlyReported) {
  PhysicalMemoryManager m(two_nodes(), no_pcp());
  auto a = m.alloc(0, kGfpKernel | Gfp::Zero);
  auto b = m.alloc(0, kGfpKernel);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->must_zero);
  EXPECT_FALSE(b->must_zero);
}

TEST(Zones, DefaultOrderIsNormalOfLowestNode) {
  PhysicalMemoryManager m(two_nodes(), no_pcp());
  auto a = m.alloc(0, kGfpKernel);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->pfn, Pfn{4096});
  EXPECT_EQ(a->node, 0u);
  EXPECT_EQ(a->zone, ZoneKind::Normal);
  EXPECT_EQ(a->order, 0u);
  auto b = m.alloc(2, kGfpKernel, {1});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->pfn, Pfn{16384});
  EXPECT_EQ(b->node, 1u);
  EXPECT_EQ(m.counters().fallbacks, 0u);
  EXPECT_EQ(m.counters().remote, 0u);
  EXPECT_TRUE(m.is_allocated(Pfn{16387}));
  EXPECT_FALSE(m.is_allocated(Pfn{16388}));
  EXPECT_EQ(m.allocated_frames(1, ZoneKind::Normal), 4u);
  EXPECT_EQ(m.free_frames(1), 4092u);
}

// Preferred node 1: Normal(1), then Normal(0) (remote), then DMA(0) (remote, last resort).
TEST(Zones, MaySleepFallbackOrder) {
  PhysicalMemoryManager m(two_nodes(), no_pcp());
  for (int i = 0; i < 4; ++i) {
    auto a = m.alloc(10, kGfpKernel, {1});
    ASSERT_TRUE(a);
    EXPECT_EQ(a->node, 1u);
  }
  EXPECT_EQ(m.free_frames(1), 0u);
  EXPECT_EQ(m.counters().would_reclaim, 0u);

  auto a = m.alloc(10, kGfpKernel, {1});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->node, 0u);
  EXPECT_EQ(a->zone, ZoneKind::Normal);
  EXPECT_EQ(a->pfn, Pfn{4096});
  EXPECT_EQ(m.counters().fallbacks, 1u);
  EXPECT_EQ(m.counters().remote, 1u);
  EXPECT_EQ(m.counters().would_reclaim, 1u);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(m.alloc(10, kGfpKernel, {1}));
  EXPECT_EQ(m.free_frames(0, ZoneKind::Normal), 0u);

  // Only DMA left: order 10 fits (DMA [256, 4096) has order-10 blocks at 1024, 2048, 3072).
  auto d = m.alloc(10, kGfpKernel, {1});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->zone, ZoneKind::Dma);
  EXPECT_EQ(d->pfn, Pfn{1024});
  EXPECT_EQ(m.counters().dma_fallbacks, 1u);
  EXPECT_EQ(m.counters().would_reclaim, 5u);
  EXPECT_EQ(m.counters().remote, 5u);
}

TEST(Zones, AtomicStaysOnPreferredNodes) {
  PhysicalMemoryManager m(two_nodes(), no_pcp());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(m.alloc(10, kGfpAtomic, {1}));
  EXPECT_FALSE(m.alloc(0, kGfpAtomic, {1}).has_value());
  EXPECT_EQ(m.counters().failures, 1u);
  EXPECT_EQ(m.counters().atomic_failures, 1u);
  EXPECT_EQ(m.counters().would_reclaim, 0u);  // atomic never reclaims
  // Listing node 0 too lets it fall back there, normal zone first.
  auto a = m.alloc(0, kGfpAtomic, {1, 0});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->node, 0u);
  EXPECT_EQ(a->zone, ZoneKind::Normal);
  EXPECT_EQ(m.counters().remote, 0u);  // node 0 was preferred
  EXPECT_EQ(m.counters().fallbacks, 1u);
}

TEST(Zones, AtomicUsesDmaOfPreferredNodeAsLastResort) {
  PhysicalMemoryManager m(two_nodes(), no_pcp());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(m.alloc(10, kGfpAtomic, {0}));
  auto a = m.alloc(0, kGfpAtomic, {0});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->zone, ZoneKind::Dma);
  EXPECT_EQ(m.counters().dma_fallbacks, 1u);
}

TEST(Zones, DmaFlagOnlyDmaZones) {
  PhysicalMemoryManager m(two_nodes(), no_pcp());
  auto a = m.alloc(0, kGfpKernel | Gfp::Dma, {1});  // node 1 has no DMA zone: node 0's DMA zone serves it
  ASSERT_TRUE(a);
  EXPECT_EQ(a->zone, ZoneKind::Dma);
  EXPECT_EQ(a->node, 0u);
  EXPECT_EQ(a->pfn, Pfn{256});
  EXPECT_LT(a->pfn.value(), kDmaFrames);
  EXPECT_EQ(m.counters().dma_fallbacks, 0u);
  EXPECT_EQ(m.counters().remote, 1u);
  // Atomic DMA on node 1 only: no DMA zone there, fails.
  EXPECT_FALSE(m.alloc(0, kGfpAtomic | Gfp::Dma, {1}).has_value());
  // Exhaust DMA: 3840 frames minus the one taken; then a DMA request fails although Normal has room.
  uint64_t n = 1;
  while (m.alloc(0, kGfpKernel | Gfp::Dma)) ++n;
  EXPECT_EQ(n, kDmaFrames - 256);
  EXPECT_EQ(m.free_frames(0, ZoneKind::Dma), 0u);
  EXPECT_GT(m.free_frames(0, ZoneKind::Normal), 0u);
  EXPECT_FALSE(m.alloc(0, kGfpKernel | Gfp::Dma).has_value());
}

TEST(Zones, FreeErrors) {
  PhysicalMemoryManager m(two_nodes(), no_pcp());
  auto a = m.alloc(2, kGfpKernel);
  ASSERT_TRUE(a);
  EXPECT_THROW(m.free(Pfn{100}, 0), std::logic_error);     // in no zone
  EXPECT_THROW(m.free(a->pfn, 1), std::logic_error);       // wrong order
  EXPECT_THROW(m.free(Pfn{a->pfn.value() + 1}, 0), std::logic_error);
  m.free(a->pfn, 2);
  EXPECT_THROW(m.free(a->pfn, 2), std::logic_error);       // double free
  EXPECT_EQ(m.counters().frees, 1u);
  EXPECT_EQ(m.allocated_frames(), 0u);
}

TEST(Zones, BuddyinfoShape) {
  // node 0 = [0, 5000): DMA [0, 4096) = 4 order-10 blocks; Normal [4096, 5000) = 904 frames carved as
  // 512 @4096 + 256 @4608 + 128 @4864 + 8 @4992. node 1 = [8192, 9216): one order-10 block.
  PhysicalMemoryManager m({{Pfn{0}, 5000}, {Pfn{8192}, 1024}}, no_pcp());
  const std::string expected =
      "Node 0, zone      DMA      0      0      0      0      0      0      0      0      0      0      4 \n"
      "Node 0, zone   Normal      0      0      0      1      0      0      0      1      1      1      0 \n"
      "Node 1, zone   Normal      0      0      0      0      0      0      0      0      0      0      1 \n";
  EXPECT_EQ(m.buddyinfo(), expected);
  const auto rows = m.free_area_report();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].node, 0u);
  EXPECT_EQ(rows[1].zone, "Normal");

  // One DMA frame: the lowest order-10 block splits, leaving one free block per order 0..9.
  auto a = m.alloc(0, kGfpKernel | Gfp::Dma);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->pfn, Pfn{0});
  const std::string text = m.buddyinfo();
  EXPECT_EQ(text.substr(0, text.find('\n') + 1),
            "Node 0, zone      DMA      1      1      1      1      1      1      1      1      1      1      3 \n");
  // Node 0 summed over zones, and the indices on it.
  const FreeAreaCounts node0 = m.free_area(0);
  const FreeAreaCounts expect0 = {1, 1, 1, 2, 1, 1, 1, 2, 2, 2, 3};
  EXPECT_EQ(node0, expect0);
  EXPECT_DOUBLE_EQ(extfrag_index(m.free_area(0, ZoneKind::Normal), 10),
                   1.0 - (1.0 + 904.0 / 1024.0) / 4.0);
}

// Per-CPU lists by hand: high 6, batch 4, two CPUs, one Normal zone [0, 1024).
PhysMemConfig small_pcp() {
  PhysMemConfig c;
  c.dma_limit = Bytes{0};
  c.cpus = 2;
  c.pcp_high = 6;
  c.pcp_batch = 4;
  return c;
}

TEST(PerCpu, RefillAndDrainByHand) {
  PhysicalMemoryManager m({{Pfn{0}, 1024}}, small_pcp());
  const BuddyAllocator& buddy = *m.zone_allocator(0, ZoneKind::Normal);

  // Empty list: refill 4 frames (0, 1, 2, 3) from the buddy, hand out the lowest.
  auto a = m.alloc_page(0, kGfpKernel);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->pfn, Pfn{0});
  EXPECT_EQ(m.counters().pcp_refills, 1u);
  EXPECT_EQ(m.counters().pcp_refill_frames, 4u);
  EXPECT_EQ(m.counters().pcp_hits, 0u);
  EXPECT_EQ(m.pcp_frames(0), 3u);
  EXPECT_EQ(m.pcp_frames(1), 0u);
  EXPECT_EQ(buddy.free_frames(), 1020u);
  EXPECT_EQ(m.free_frames(), 1023u);  // frames on the list count as free
  EXPECT_EQ(m.allocated_frames(0, ZoneKind::Normal), 1u);
  EXPECT_TRUE(m.is_allocated(Pfn{0}));
  EXPECT_FALSE(m.is_allocated(Pfn{1}));  // on the list: allocated in the buddy, free for callers
  EXPECT_TRUE(buddy.is_allocated(Pfn{1}));

  for (uint64_t want = 1; want <= 3; ++want) EXPECT_EQ(m.alloc_page(0, kGfpKernel)->pfn, Pfn{want});
  EXPECT_EQ(m.counters().pcp_hits, 3u);
  EXPECT_EQ(m.pcp_frames(0), 0u);

  EXPECT_EQ(m.alloc_page(0, kGfpKernel)->pfn, Pfn{4});  // second refill: 4..7
  EXPECT_EQ(m.counters().pcp_refills, 2u);
  EXPECT_EQ(m.alloc_page(1, kGfpKernel)->pfn, Pfn{8});  // CPU 1's own list: 8..11
  EXPECT_EQ(m.counters().pcp_refills, 3u);
  EXPECT_EQ(m.pcp_frames(0), 3u);  // 5, 6, 7
  EXPECT_EQ(m.pcp_frames(1), 3u);  // 9, 10, 11

  // CPU 0 list (oldest first): 7 6 5. Freeing 0, 1, 2 brings it to 6 = high: no drain yet.
  for (uint64_t f = 0; f < 3; ++f) m.free_page(0, Pfn{f});
  EXPECT_EQ(m.pcp_frames(0), 6u);
  EXPECT_EQ(m.counters().pcp_drains, 0u);
  // The 7th frame exceeds high: the 4 oldest (7, 6, 5, 0) go back to the buddy, leaving 1 2 3.
  m.free_page(0, Pfn{3});
  EXPECT_EQ(m.counters().pcp_drains, 1u);
  EXPECT_EQ(m.counters().pcp_drain_frames, 4u);
  EXPECT_EQ(m.pcp_frames(0), 3u);
  EXPECT_FALSE(buddy.is_allocated(Pfn{7}));
  EXPECT_FALSE(buddy.is_allocated(Pfn{0}));
  EXPECT_TRUE(buddy.is_allocated(Pfn{1}));
  // LIFO: the most recently freed frame comes back first.
  EXPECT_EQ(m.alloc_page(0, kGfpKernel)->pfn, Pfn{3});
  EXPECT_EQ(m.alloc_page(0, kGfpKernel)->pfn, Pfn{2});

  // Frame accounting: allocated = 4 (4, 8, 3, 2); buddy allocated = those + lists (1 on CPU 0, 3 on CPU 1).
  EXPECT_EQ(m.allocated_frames(), 4u);
  EXPECT_EQ(m.pcp_frames(), 4u);
  EXPECT_EQ(buddy.allocated_frames(), 8u);
  EXPECT_EQ(m.free_frames() + m.allocated_frames(), 1024u);

  EXPECT_EQ(m.drain_cpu(1), 3u);
  EXPECT_EQ(m.drain_all(), 1u);
  EXPECT_EQ(m.counters().drain_all, 1u);
  EXPECT_EQ(m.pcp_frames(), 0u);
  EXPECT_EQ(buddy.allocated_frames(), 4u);
}

TEST(PerCpu, DoubleFreeAndMisuseDetected) {
  PhysicalMemoryManager m({{Pfn{0}, 1024}}, small_pcp());
  auto a = m.alloc_page(0, kGfpKernel);
  auto big = m.alloc(1, kGfpKernel);
  ASSERT_TRUE(a && big);
  m.free_page(0, a->pfn);
  EXPECT_THROW(m.free_page(0, a->pfn), std::logic_error);     // already on a list
  EXPECT_THROW(m.free_page(1, a->pfn), std::logic_error);     // ... of another CPU
  EXPECT_THROW(m.free(a->pfn, 0), std::logic_error);          // direct free of a cached frame
  EXPECT_THROW(m.free_page(0, Pfn{1}), std::logic_error);     // on the list since the refill
  EXPECT_THROW(m.free_page(0, Pfn{500}), std::logic_error);   // free in the buddy
  EXPECT_THROW(m.free_page(0, big->pfn), std::logic_error);   // order-1 block
  EXPECT_THROW(m.free_page(0, Pfn{big->pfn.value() + 1}), std::logic_error);
  EXPECT_THROW(m.free_page(0, Pfn{5000}), std::logic_error);  // in no zone
  EXPECT_THROW(m.free_page(2, a->pfn), std::invalid_argument);
  EXPECT_EQ(m.pcp_frames(0), 4u);
  EXPECT_EQ(m.counters().frees, 1u);
}

TEST(PerCpu, MixedPathsInteroperate) {
  PhysicalMemoryManager m({{Pfn{0}, 1024}}, small_pcp());
  auto a = m.alloc_page(0, kGfpKernel);
  auto b = m.alloc(0, kGfpKernel);  // straight from the buddy: the lowest free frame after the refill
  ASSERT_TRUE(a && b);
  EXPECT_EQ(b->pfn, Pfn{4});
  m.free(a->pfn, 0);       // a per-CPU frame freed directly to the buddy
  m.free_page(1, b->pfn);  // a buddy frame freed onto CPU 1's list
  EXPECT_EQ(m.allocated_frames(), 0u);
  EXPECT_EQ(m.pcp_frames(1), 1u);
  EXPECT_EQ(m.alloc_page(1, kGfpKernel)->pfn, Pfn{4});
}

TEST(PerCpu, SleepingAllocationDrainsOtherCpus) {
  // Eight frames; each CPU caches four. An order-1 request can only be met after the lists are drained.
  PhysicalMemoryManager m({{Pfn{0}, 8}}, small_pcp());
  ASSERT_EQ(m.alloc_page(0, kGfpKernel)->pfn, Pfn{0});  // CPU 0 caches 1, 2, 3
  ASSERT_EQ(m.alloc_page(1, kGfpKernel)->pfn, Pfn{4});  // CPU 1 caches 5, 6, 7
  EXPECT_EQ(m.zone_allocator(0, ZoneKind::Normal)->free_frames(), 0u);
  EXPECT_FALSE(m.alloc(1, kGfpAtomic).has_value());     // atomic does not drain
  EXPECT_EQ(m.pcp_frames(), 6u);
  auto b = m.alloc(1, kGfpKernel);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->pfn, Pfn{2});  // 2+3 merged back in the buddy after the drain
  EXPECT_EQ(m.counters().drain_all, 1u);
  EXPECT_EQ(m.counters().would_reclaim, 1u);
  EXPECT_EQ(m.pcp_frames(), 0u);
  // An order-0 request on an empty CPU list refills from what is left: 1, 5, 6, 7.
  EXPECT_EQ(m.alloc_page(0, kGfpKernel)->pfn, Pfn{1});
  EXPECT_EQ(m.pcp_frames(0), 3u);
}

TEST(PerCpu, DisabledGoesStraightToBuddy) {
  PhysMemConfig c = no_pcp();
  c.dma_limit = Bytes{0};
  PhysicalMemoryManager m({{Pfn{0}, 1024}}, c);
  ASSERT_NE(m.zone_allocator(0, ZoneKind::Normal), nullptr);
  auto a = m.alloc_page(0, kGfpKernel);
  ASSERT_TRUE(a);
  EXPECT_EQ(m.pcp_frames(), 0u);
  EXPECT_EQ(m.zone_allocator(0, ZoneKind::Normal)->allocated_frames(), 1u);
  m.free_page(0, a->pfn);
  EXPECT_EQ(m.zone_allocator(0, ZoneKind::Normal)->free_blocks(10), 1u);
}

TEST(ZonesLazy, DeferredMergesCounted) {
  PhysMemConfig c = no_pcp();
  c.lazy_coalescing = true;
  PhysicalMemoryManager m({{Pfn{0}, 8192}}, c);
  auto a = m.alloc(0, kGfpKernel);
  ASSERT_TRUE(a);
  m.free(a->pfn, 0);
  EXPECT_EQ(m.buddy_totals().deferred_frees, 1u);
  EXPECT_EQ(m.buddy_totals().merges, 0u);
  EXPECT_EQ(m.free_area(0, ZoneKind::Normal)[0], 2u);
  EXPECT_EQ(m.coalesce_all(), 10u);
  EXPECT_EQ(m.buddy_totals().deferred_merges, 10u);
  EXPECT_EQ(m.buddy_totals().coalesce_passes, 1u);
  EXPECT_EQ(m.free_area(0, ZoneKind::Normal)[10], 4u);
}

// ---- random stress through the manager ----

struct Live {
  uint64_t pfn;
  unsigned order;
  bool via_pcp;
};

// Random allocate/free of random orders and flags on two nodes (one unaligned) with per-CPU lists. After
// every step: free + allocated == total per zone, and the manager's allocated count per zone equals the
// test's own ownership count. Every frame handed out is checked against a per-frame owner map (no frame
// owned twice; block inside the zone reported; DMA and atomic constraints). At the end everything is
// freed, the lists drained (and with lazy coalescing a pass forced): the free areas equal the initial
// ones exactly, and splits == merges.
void run_zoned_stress(bool lazy, uint64_t steps, uint64_t seed) {
  const std::vector<NodeRange> nodes = {{Pfn{256}, 12288}, {Pfn{20003}, 12000}};
  PhysMemConfig cfg;
  cfg.cpus = 4;
  cfg.pcp_high = 48;
  cfg.pcp_batch = 16;
  cfg.lazy_coalescing = lazy;
  PhysicalMemoryManager m(nodes, cfg);
  const std::vector<FreeAreaRow> initial = m.free_area_report();

  struct ZoneRef {
    NodeId node;
    ZoneKind kind;
  };
  const std::vector<ZoneRef> zones = {{0, ZoneKind::Dma}, {0, ZoneKind::Normal}, {1, ZoneKind::Normal}};
  auto zone_index = [](NodeId n, ZoneKind k) { return n == 0 ? (k == ZoneKind::Dma ? 0 : 1) : 2; };
  ASSERT_EQ(m.free_area_report().size(), zones.size());

  std::vector<std::vector<uint8_t>> owner(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) owner[i].assign(nodes[i].frames, 0);
  uint64_t owned[3] = {0, 0, 0};
  std::vector<Live> live;
  std::mt19937_64 rng(seed);
  uint64_t failures = 0;

  for (uint64_t step = 0; step < steps; ++step) {
    const bool fill = ((step >> 15) & 1) == 0;
    const bool do_alloc = live.empty() || rng() % 100 < (fill ? 62u : 38u);
    if (do_alloc) {
      const uint64_t r = rng();
      const auto kind = r % 10;
      const bool via_pcp = kind < 5;
      const unsigned order = via_pcp ? 0 : kind < 8 ? static_cast<unsigned>((r >> 8) % 4) : static_cast<unsigned>((r >> 8) % 11);
      Gfp flags = (r >> 16) % 8 == 0 ? kGfpAtomic : kGfpKernel;
      if ((r >> 20) % 16 == 0) flags = flags | Gfp::Dma;
      std::vector<NodeId> pref;
      switch ((r >> 24) % 4) {
        case 0: break;
        case 1: pref = {0}; break;
        case 2: pref = {1}; break;
        default: pref = {1, 0}; break;
      }
      const auto cpu = static_cast<CoreId>((r >> 28) % cfg.cpus);
      std::optional<PageAlloc> a = via_pcp ? m.alloc_page(cpu, flags, pref) : m.alloc(order, flags, pref);
      if (!a) {
        ++failures;
        continue;
      }
      ASSERT_EQ(a->order, order);
      const uint64_t size = uint64_t{1} << order;
      const uint64_t s = a->pfn.value();
      ASSERT_EQ(s % size, 0u) << "misaligned";
      const BuddyAllocator* z = m.zone_allocator(a->node, a->zone);
      ASSERT_NE(z, nullptr);
      ASSERT_GE(s, z->base().value());
      ASSERT_LE(s + size, z->end().value()) << "block leaves its zone";
      if (has(flags, Gfp::Dma)) {
        ASSERT_EQ(a->zone, ZoneKind::Dma);
      }
      if (has(flags, Gfp::Atomic) && !pref.empty()) {
        ASSERT_NE(std::find(pref.begin(), pref.end(), a->node), pref.end()) << "atomic left its nodes";
      }
      uint8_t* first = owner[a->node].data() + (s - nodes[a->node].base.value());
      ASSERT_TRUE(std::all_of(first, first + size, [](uint8_t o) { return o == 0; }))
          << "frame handed out twice: 0x" << std::hex << s << " order " << std::dec << order;
      std::fill(first, first + size, uint8_t{1});
      owned[zone_index(a->node, a->zone)] += size;
      live.push_back({s, order, via_pcp});
    } else {
      const size_t i = rng() % live.size();
      const Live l = live[i];
      live[i] = live.back();
      live.pop_back();
      const auto where = m.zone_of(Pfn{l.pfn});
      ASSERT_TRUE(where.has_value());
      const uint64_t size = uint64_t{1} << l.order;
      uint8_t* first = owner[where->first].data() + (l.pfn - nodes[where->first].base.value());
      std::fill(first, first + size, uint8_t{0});
      owned[zone_index(where->first, where->second)] -= size;
      // Order-0 frames go back through a random CPU's list most of the time, whichever path they came from.
      if (l.order == 0 && rng() % 4 != 0) {
        m.free_page(static_cast<CoreId>(rng() % cfg.cpus), Pfn{l.pfn});
      } else {
        m.free(Pfn{l.pfn}, l.order);
      }
    }
    for (size_t zi = 0; zi < zones.size(); ++zi) {
      const ZoneRef& z = zones[zi];
      ASSERT_EQ(m.free_frames(z.node, z.kind) + m.allocated_frames(z.node, z.kind), m.total_frames(z.node, z.kind));
      ASSERT_EQ(m.allocated_frames(z.node, z.kind), owned[zi]) << "zone " << zi << " step " << step;
    }
    if ((step & 1023) == 0) {
      const size_t n = rng() % nodes.size();
      const uint64_t f = rng() % nodes[n].frames;
      ASSERT_EQ(m.is_allocated(Pfn{nodes[n].base.value() + f}), owner[n][f] == 1);
      uint64_t listed = 0;
      for (const FreeAreaRow& row : m.free_area_report()) listed += free_pages(row.free_blocks);
      ASSERT_EQ(listed + m.pcp_frames(), m.free_frames());
    }
  }
  EXPECT_GT(failures, 0u) << "never hit exhaustion";
  EXPECT_GT(m.counters().pcp_drains, 0u);
  EXPECT_GT(m.counters().would_reclaim, 0u);
  EXPECT_GT(m.counters().remote, 0u);
  EXPECT_GT(m.counters().dma_fallbacks, 0u);
  if (lazy) {
    EXPECT_GT(m.buddy_totals().deferred_frees, 0u);
    EXPECT_GT(m.buddy_totals().coalesce_passes, 0u);
  } else {
    EXPECT_EQ(m.buddy_totals().deferred_frees, 0u);
  }

  for (const Live& l : live) m.free(Pfn{l.pfn}, l.order);
  EXPECT_EQ(m.allocated_frames(), 0u);
  m.drain_all();
  if (lazy) m.coalesce_all();
  const std::vector<FreeAreaRow> final_rows = m.free_area_report();
  ASSERT_EQ(final_rows.size(), initial.size());
  for (size_t i = 0; i < initial.size(); ++i) EXPECT_EQ(final_rows[i].free_blocks, initial[i].free_blocks) << "row " << i;
  EXPECT_EQ(m.buddyinfo(), format_buddyinfo(initial));
  const BuddyTotals t = m.buddy_totals();
  EXPECT_EQ(t.splits, t.merges);
  EXPECT_EQ(m.free_frames(), m.total_frames());
}

TEST(ZonesStress, EagerRandomAllocFree) { run_zoned_stress(/*lazy=*/false, 1'000'000, 0xd0e5'0001); }
TEST(ZonesStress, LazyRandomAllocFree) { run_zoned_stress(/*lazy=*/true, 1'000'000, 0xd0e5'0002); }

}  // namespace
}  // namespace vmsim::fw
