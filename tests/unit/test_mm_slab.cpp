// Unit tests for the slab allocator: slot reuse order, slab list transitions, constructors, cache
// lifecycle, kmalloc size classes and accounting, page-source accounting, and a random stress.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "firmware/mm/slab.hpp"

namespace vmsim::fw {
namespace {

constexpr uint64_t kBase = 0x1000;  // first PFN of the test buddy

struct Fixture {
  BuddyAllocator buddy{Pfn{kBase}, 4096};
  BuddyPageSource pages{buddy};
  SlabAllocator slab{pages};
};

uint64_t addr(uint64_t pfn, uint64_t offset) { return (pfn << kPageShift) + offset; }

TEST(Slab, CacheGeometry) {
  Fixture f;
  SlabCache& a = f.slab.create_cache("obj64", 64);
  EXPECT_EQ(a.stride(), 64u);
  EXPECT_EQ(a.slab_order(), 0u);
  EXPECT_EQ(a.objects_per_slab(), 64u);
  SlabCache& b = f.slab.create_cache("odd", 100, 64);  // stride 128, 32 per page
  EXPECT_EQ(b.stride(), 128u);
  EXPECT_EQ(b.objects_per_slab(), 32u);
  EXPECT_EQ(b.slab_order(), 0u);
  // 3000 bytes: order 0 wastes 1096/4096, order 1 2192/8192, order 2 1384/16384 <= 1/8 -> order 2, 5 objects.
  SlabCache& c = f.slab.create_cache("big", 3000);
  EXPECT_EQ(c.slab_order(), 2u);
  EXPECT_EQ(c.objects_per_slab(), 5u);
  // 20000 bytes never fits 1/8: order 3 (one object, 12768 bytes of tail) is the only order that fits it.
  SlabCache& d = f.slab.create_cache("huge", 20000);
  EXPECT_EQ(d.slab_order(), 3u);
  EXPECT_EQ(d.objects_per_slab(), 1u);
  EXPECT_EQ(f.slab.cache_count(), SlabAllocator::kKmallocClasses + 4);
}

TEST(Slab, CreateRejectsBadArguments) {
  Fixture f;
  f.slab.create_cache("x", 8);
  EXPECT_THROW(f.slab.create_cache("x", 8), std::invalid_argument);
  EXPECT_THROW(f.slab.create_cache("kmalloc-64", 8), std::invalid_argument);
  EXPECT_THROW(f.slab.create_cache("", 8), std::invalid_argument);
  EXPECT_THROW(f.slab.create_cache("y", 0), std::invalid_argument);
  EXPECT_THROW(f.slab.create_cache("y", SlabAllocator::kMaxObjectSize + 1), std::invalid_argument);
  EXPECT_THROW(f.slab.create_cache("y", 8, 3), std::invalid_argument);
  EXPECT_THROW(f.slab.create_cache("y", 8, 8192), std::invalid_argument);
  EXPECT_EQ(f.slab.find_cache("y"), nullptr);
}

TEST(Slab, AddressesAndLifoReuse) {
  Fixture f;
  SlabCache& c = f.slab.create_cache("obj64", 64);
  const auto a = c.alloc(), b = c.alloc(), d = c.alloc();
  ASSERT_TRUE(a && b && d);
  EXPECT_EQ(a->value(), addr(kBase, 0));  // the buddy's first frame, slot 0
  EXPECT_EQ(b->value(), addr(kBase, 64));
  EXPECT_EQ(d->value(), addr(kBase, 128));
  c.free(*b);
  c.free(*a);
  EXPECT_EQ(c.alloc(), a);  // most recently freed first
  EXPECT_EQ(c.alloc(), b);
  EXPECT_EQ(c.alloc()->value(), addr(kBase, 192));  // then never-used slots in order
  EXPECT_TRUE(c.owns(*a));
  EXPECT_FALSE(c.owns(PhysAddr{addr(kBase + 1, 0)}));
}

TEST(Slab, FreedSlotReusedAcrossSlabs) {
  Fixture f;
  SlabCache& c = f.slab.create_cache("q", 1024);  // 4 per slab
  std::vector<PhysAddr> objs;
  for (int i = 0; i < 6; ++i) objs.push_back(*c.alloc());  // slab A full (4), slab B partial (2)
  EXPECT_EQ(c.stats().slabs_full, 1u);
  EXPECT_EQ(c.stats().slabs_partial, 1u);
  c.free(objs[1]);  // A: full -> partial, moved to the front of the partial list
  EXPECT_EQ(c.alloc(), objs[1]);
  c.free(objs[5]);  // B stays partial but moves to the front
  c.free(objs[2]);  // A -> partial, front
  EXPECT_EQ(c.alloc(), objs[2]);
  EXPECT_EQ(c.alloc(), objs[5]);  // A full again: B is the only partial slab, its freed slot is on top
}

TEST(Slab, FullPartialEmptyTransitions) {
  Fixture f;
  SlabCache& c = f.slab.create_cache("q", 1024);  // 4 per slab, order 0
  auto counts = [&] {
    const SlabCacheStats s = c.stats();
    return std::vector<uint64_t>{s.slabs_full, s.slabs_partial, s.slabs_empty};
  };
  EXPECT_EQ(counts(), (std::vector<uint64_t>{0, 0, 0}));
  std::vector<PhysAddr> objs;
  objs.push_back(*c.alloc());
  EXPECT_EQ(counts(), (std::vector<uint64_t>{0, 1, 0}));
  for (int i = 0; i < 3; ++i) objs.push_back(*c.alloc());
  EXPECT_EQ(counts(), (std::vector<uint64_t>{1, 0, 0}));
  objs.push_back(*c.alloc());  // second slab
  EXPECT_EQ(counts(), (std::vector<uint64_t>{1, 1, 0}));
  c.free(objs[4]);
  EXPECT_EQ(counts(), (std::vector<uint64_t>{1, 0, 1}));
  c.free(objs[0]);
  EXPECT_EQ(counts(), (std::vector<uint64_t>{0, 1, 1}));
  // Partial slabs are preferred over empty ones: the next object goes into the first slab's freed slot.
  EXPECT_EQ(c.alloc(), objs[0]);
  EXPECT_EQ(counts(), (std::vector<uint64_t>{1, 0, 1}));
  const SlabCacheStats s = c.stats();
  EXPECT_EQ(s.active_objects, 4u);
  EXPECT_EQ(s.total_objects, 8u);
  EXPECT_EQ(s.frames, 2u);
  EXPECT_EQ(s.allocations, 6u);
  EXPECT_EQ(s.frees, 2u);
  EXPECT_EQ(s.slabs_created, 2u);
  // shrink releases the empty slab's frame to the buddy.
  EXPECT_EQ(f.buddy.allocated_frames(), 2u);
  EXPECT_EQ(c.shrink(), 1u);
  EXPECT_EQ(counts(), (std::vector<uint64_t>{1, 0, 0}));
  EXPECT_EQ(f.buddy.allocated_frames(), 1u);
  EXPECT_EQ(f.pages.frames_in_use(), 1u);
  EXPECT_EQ(f.slab.frames_held(), 1u);
  EXPECT_EQ(c.stats().slabs_released, 1u);
  EXPECT_EQ(c.shrink(), 0u);
}

TEST(Slab, ConstructorOncePerSlot) {
  Fixture f;
  std::map<uint64_t, int> calls;
  SlabCache& c = f.slab.create_cache("ctor", 512, 8, [&](PhysAddr a) { ++calls[a.value()]; });  // 8 per slab
  std::vector<PhysAddr> objs;
  for (int i = 0; i < 5; ++i) objs.push_back(*c.alloc());
  EXPECT_EQ(calls.size(), 5u);
  for (PhysAddr a : objs) c.free(a);
  for (int round = 0; round < 3; ++round) {
    std::vector<PhysAddr> again;
    for (int i = 0; i < 5; ++i) again.push_back(*c.alloc());
    for (PhysAddr a : again) c.free(a);
  }
  EXPECT_EQ(calls.size(), 5u);  // the same five slots, initialised once each
  for (const auto& [a, n] : calls) EXPECT_EQ(n, 1) << std::hex << a;
  EXPECT_EQ(c.stats().constructor_calls, 5u);
  for (int i = 0; i < 8; ++i) c.alloc();  // three more slots get their first use
  EXPECT_EQ(c.stats().constructor_calls, 8u);
  EXPECT_EQ(calls.size(), 8u);
}

TEST(Slab, ConstructorRunsAgainForAReleasedSlab) {
  Fixture f;
  int calls = 0;
  SlabCache& c = f.slab.create_cache("ctor", 2048, 8, [&](PhysAddr) { ++calls; });
  auto a = c.alloc();
  c.free(*a);
  c.shrink();  // the slab and its initialised slots are gone
  c.alloc();
  EXPECT_EQ(calls, 2);
}

TEST(Slab, ThrowingConstructorLeavesCacheConsistent) {
  Fixture f;
  bool fail = true;
  SlabCache& c = f.slab.create_cache("t", 64, 8, [&](PhysAddr) {
    if (fail) throw std::runtime_error("ctor failed");
  });
  EXPECT_THROW(c.alloc(), std::runtime_error);
  EXPECT_EQ(c.stats().active_objects, 0u);
  fail = false;
  EXPECT_EQ(c.alloc()->value(), addr(kBase, 0));  // slot 0 is still unused
  EXPECT_EQ(c.stats().active_objects, 1u);
}

TEST(Slab, DestroyFailsWithLiveObjects) {
  Fixture f;
  SlabCache& c = f.slab.create_cache("d", 256);
  auto a = c.alloc();
  auto b = c.alloc();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(f.slab.destroy_cache(c));
  EXPECT_EQ(f.slab.find_cache("d"), &c);
  c.free(*a);
  EXPECT_FALSE(f.slab.destroy_cache(c));
  c.free(*b);
  EXPECT_TRUE(f.slab.destroy_cache(c));
  EXPECT_EQ(f.slab.find_cache("d"), nullptr);
  EXPECT_EQ(f.buddy.allocated_frames(), 0u);
  EXPECT_EQ(f.slab.frames_held(), 0u);
  EXPECT_THROW(f.slab.destroy_cache(const_cast<SlabCache&>(f.slab.kmalloc_cache(0))), std::invalid_argument);
  // The name is free again.
  f.slab.create_cache("d", 8);
}

TEST(Slab, BadFreesThrowAndChangeNothing) {
  Fixture f;
  SlabCache& c = f.slab.create_cache("b", 96);  // stride 96
  SlabCache& other = f.slab.create_cache("o", 96);
  auto a = c.alloc();
  auto o = other.alloc();
  ASSERT_TRUE(a && o);
  const SlabCacheStats before = c.stats();
  EXPECT_THROW(c.free(PhysAddr{a->value() + 8}), std::logic_error);    // middle of a slot
  EXPECT_THROW(c.free(PhysAddr{a->value() + 96}), std::logic_error);   // never-allocated slot
  EXPECT_THROW(c.free(*o), std::logic_error);                          // another cache's object
  EXPECT_THROW(c.free(PhysAddr{0}), std::logic_error);
  EXPECT_THROW(c.free(PhysAddr{addr(kBase, 42 * 96)}), std::logic_error);  // the tail: 42 slots per page
  EXPECT_EQ(c.stats().active_objects, before.active_objects);
  EXPECT_EQ(c.stats().frees, 0u);
  c.free(*a);
  EXPECT_THROW(c.free(*a), std::logic_error);  // double free
  EXPECT_EQ(c.stats().frees, 1u);
}

TEST(Slab, WastedBytes) {
  Fixture f;
  SlabCache& c = f.slab.create_cache("w", 100, 64);  // stride 128, 32 per page, tail 0
  auto a = c.alloc();
  ASSERT_TRUE(a);
  EXPECT_EQ(c.stats().wasted_bytes, 28u);
  c.alloc();
  EXPECT_EQ(c.stats().wasted_bytes, 56u);
  SlabCache& big = f.slab.create_cache("big", 3000);  // order 2, 5 per slab, tail 1384
  big.alloc();
  EXPECT_EQ(big.stats().wasted_bytes, 1384u);
  c.free(*a);
  EXPECT_EQ(c.stats().wasted_bytes, 28u);
}

TEST(Slab, OutOfFrames) {
  BuddyAllocator buddy(Pfn{0}, 3);
  BuddyPageSource pages(buddy);
  SlabAllocator slab(pages);
  SlabCache& c = slab.create_cache("page", 4096);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.alloc());
  EXPECT_FALSE(c.alloc().has_value());
  EXPECT_EQ(c.stats().failed_allocations, 1u);
  EXPECT_EQ(c.stats().active_objects, 3u);
  EXPECT_FALSE(slab.kmalloc(8).has_value());
  EXPECT_EQ(slab.kmalloc_stats().failures, 1u);
}

TEST(Kmalloc, SizeClasses) {
  EXPECT_EQ(SlabAllocator::kmalloc_size_class(0), 0u);
  EXPECT_EQ(SlabAllocator::kmalloc_size_class(1), 8u);
  EXPECT_EQ(SlabAllocator::kmalloc_size_class(8), 8u);
  EXPECT_EQ(SlabAllocator::kmalloc_size_class(9), 16u);
  EXPECT_EQ(SlabAllocator::kmalloc_size_class(100), 128u);
  EXPECT_EQ(SlabAllocator::kmalloc_size_class(2048), 2048u);
  EXPECT_EQ(SlabAllocator::kmalloc_size_class(2049), 4096u);
  EXPECT_EQ(SlabAllocator::kmalloc_size_class(4096), 4096u);
  EXPECT_EQ(SlabAllocator::kmalloc_size_class(4097), 0u);
  Fixture f;
  for (unsigned i = 0; i < SlabAllocator::kKmallocClasses; ++i) {
    EXPECT_EQ(f.slab.kmalloc_cache(i).name(), "kmalloc-" + std::to_string(8u << i));
    EXPECT_EQ(f.slab.kmalloc_cache(i).object_size(), 8u << i);
    EXPECT_TRUE(f.slab.kmalloc_cache(i).is_kmalloc());
  }
  EXPECT_THROW(f.slab.kmalloc_cache(10), std::out_of_range);
}

TEST(Kmalloc, ServesFromTheRightCacheAndAccounts) {
  Fixture f;
  auto a = f.slab.kmalloc(100);   // kmalloc-128
  auto b = f.slab.kmalloc(1);     // kmalloc-8
  auto c = f.slab.kmalloc(4096);  // kmalloc-4096
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(f.slab.kmalloc_cache(4).stats().active_objects, 1u);  // 128
  EXPECT_EQ(f.slab.kmalloc_cache(0).stats().active_objects, 1u);  // 8
  EXPECT_EQ(f.slab.kmalloc_cache(9).stats().active_objects, 1u);  // 4096
  EXPECT_TRUE(f.slab.kmalloc_cache(4).owns(*a));
  EXPECT_EQ(f.slab.kmalloc_cache(4).stats().wasted_bytes, 28u);
  EXPECT_EQ(f.slab.kmalloc_cache(0).stats().wasted_bytes, 7u);
  const KmallocStats& k = f.slab.kmalloc_stats();
  EXPECT_EQ(k.live_objects, 3u);
  EXPECT_EQ(k.live_requested_bytes, 100u + 1u + 4096u);
  EXPECT_EQ(k.live_allocated_bytes, 128u + 8u + 4096u);
  EXPECT_EQ(f.slab.frames_held(), 3u);  // one order-0 slab per class used

  // Large: 5000 bytes -> 2 frames (order 1); 9000 -> 3 frames -> order 2.
  auto l1 = f.slab.kmalloc(5000);
  auto l2 = f.slab.kmalloc(9000);
  ASSERT_TRUE(l1 && l2);
  EXPECT_EQ(l1->value() & kPageMask, 0u);
  EXPECT_EQ(l2->value() % (4 * kPageSize), 0u);
  EXPECT_EQ(k.large_live, 2u);
  EXPECT_EQ(k.large_frames, 6u);
  EXPECT_EQ(k.live_allocated_bytes, 128u + 8u + 4096u + 2 * 4096u + 4 * 4096u);
  EXPECT_EQ(f.slab.frames_held(), 9u);
  EXPECT_EQ(f.buddy.allocated_frames(), 9u);
  EXPECT_FALSE(f.slab.kmalloc(5000ull * kPageSize).has_value());  // above 2^10 frames
  EXPECT_EQ(k.failures, 1u);
  EXPECT_THROW(f.slab.kmalloc(0), std::invalid_argument);

  for (auto p : {a, b, c, l1, l2}) f.slab.kfree(*p);
  EXPECT_EQ(k.live_objects, 0u);
  EXPECT_EQ(k.live_requested_bytes, 0u);
  EXPECT_EQ(k.live_allocated_bytes, 0u);
  EXPECT_EQ(k.large_frames, 0u);
  EXPECT_EQ(k.allocations, 5u);
  EXPECT_EQ(k.frees, 5u);
  EXPECT_EQ(f.slab.frames_held(), 3u);  // empty slabs kept until shrink
  EXPECT_EQ(f.slab.shrink_all(), 3u);
  EXPECT_EQ(f.buddy.allocated_frames(), 0u);
}

TEST(Kmalloc, BadKfree) {
  Fixture f;
  SlabCache& own = f.slab.create_cache("own", 64);
  auto o = own.alloc();
  auto a = f.slab.kmalloc(64);
  auto l = f.slab.kmalloc(10000);
  ASSERT_TRUE(o && a && l);
  EXPECT_THROW(f.slab.kfree(*o), std::logic_error);                       // not a kmalloc object
  EXPECT_THROW(f.slab.kfree(PhysAddr{a->value() + 4}), std::logic_error); // inside an object
  EXPECT_THROW(f.slab.kfree(PhysAddr{l->value() + kPageSize}), std::logic_error);  // inside a large block
  EXPECT_THROW(f.slab.kfree(PhysAddr{0x10}), std::logic_error);
  f.slab.kfree(*a);
  EXPECT_THROW(f.slab.kfree(*a), std::logic_error);
  f.slab.kfree(*l);
  EXPECT_THROW(f.slab.kfree(*l), std::logic_error);
  EXPECT_EQ(f.slab.kmalloc_stats().frees, 2u);
}

TEST(Slab, BackedByZonedManager) {
  PhysMemConfig cfg;
  cfg.pcp_high = 0;
  PhysicalMemoryManager pmm({{Pfn{256}, 8192}}, cfg);
  PmmPageSource pages(pmm, kGfpKernel);
  {
    SlabAllocator slab(pages);
    SlabCache& c = slab.create_cache("task", 1800);  // 2 per order-0 slab (tail 496 <= 512)
    EXPECT_EQ(c.slab_order(), 0u);
    std::vector<PhysAddr> objs;
    for (int i = 0; i < 50; ++i) objs.push_back(*c.alloc());
    EXPECT_EQ(pmm.allocated_frames(), slab.frames_held());
    EXPECT_EQ(pages.frames_in_use(), slab.frames_held());
    EXPECT_EQ(*pmm.zone_of(Pfn{objs[0].value() >> kPageShift}), std::make_pair(0u, ZoneKind::Normal));
    for (int i = 0; i < 25; ++i) c.free(objs[i]);
  }
  // The destructor returns every frame, live objects included.
  EXPECT_EQ(pmm.allocated_frames(), 0u);
  EXPECT_EQ(pages.frames_in_use(), 0u);
}

TEST(Slab, Slabinfo) {
  Fixture f;
  SlabCache& c = f.slab.create_cache("dentry", 192);
  c.alloc();
  const std::string text = f.slab.slabinfo();
  EXPECT_EQ(text.rfind("# name", 0), 0u);
  const size_t line = text.find("\ndentry ");
  ASSERT_NE(line, std::string::npos) << text;
  // active 1, total 21 (4096 / 192), objsize 192, 21 per slab, 1 page per slab, slabs 0 full 1 partial 0 empty.
  const std::string row = text.substr(line + 1, text.find('\n', line + 1) - line - 1);
  std::istringstream is(row);
  std::string name, colon, slabdata, colon2, waste;
  uint64_t active, total, size, per, pages, full, partial, empty, wasted;
  is >> name >> active >> total >> size >> per >> pages >> colon >> slabdata >> full >> partial >> empty >> colon2 >>
      waste >> wasted;
  EXPECT_EQ(name, "dentry");
  EXPECT_EQ(active, 1u);
  EXPECT_EQ(total, 21u);
  EXPECT_EQ(size, 192u);
  EXPECT_EQ(per, 21u);
  EXPECT_EQ(pages, 1u);
  EXPECT_EQ(full, 0u);
  EXPECT_EQ(partial, 1u);
  EXPECT_EQ(empty, 0u);
  EXPECT_EQ(wasted, 4096u - 21u * 192u);
}

// Random alloc/free over named caches and kmalloc: live objects never overlap, per-cache counts match,
// frames held match the buddy, and after freeing everything and shrinking all frames are back.
TEST(Slab, RandomStress) {
  BuddyAllocator buddy(Pfn{kBase}, 1 << 14);
  BuddyPageSource pages(buddy);
  SlabAllocator slab(pages);
  std::vector<SlabCache*> caches = {&slab.create_cache("a", 24), &slab.create_cache("b", 200, 32),
                                    &slab.create_cache("c", 3000), &slab.create_cache("d", 640)};
  struct Obj {
    uint64_t addr;
    uint64_t size;
    int cache;  // -1: kmalloc
  };
  std::vector<Obj> live;
  std::set<std::pair<uint64_t, uint64_t>> extents;  // (start, end)
  std::map<int, uint64_t> per_cache;
  std::mt19937_64 rng(99);
  for (int step = 0; step < 200000; ++step) {
    const bool fill = ((step >> 13) & 1) == 0;
    if (live.empty() || rng() % 100 < (fill ? 60u : 40u)) {
      const int which = static_cast<int>(rng() % 6) - 2;  // -2, -1: kmalloc
      Obj o{};
      std::optional<PhysAddr> p;
      if (which < 0) {
        const uint64_t size = 1 + rng() % (rng() % 8 == 0 ? 20000 : 2000);
        p = slab.kmalloc(size);
        o = {0, size, -1};
      } else {
        p = caches[static_cast<size_t>(which)]->alloc();
        o = {0, caches[static_cast<size_t>(which)]->object_size(), which};
      }
      if (!p) continue;
      o.addr = p->value();
      auto next = extents.lower_bound({o.addr, 0});
      ASSERT_TRUE(next == extents.end() || next->first >= o.addr + o.size) << "overlap";
      if (next != extents.begin()) {
        ASSERT_LE(std::prev(next)->second, o.addr) << "overlap";
      }
      extents.insert({o.addr, o.addr + o.size});
      ++per_cache[o.cache];
      live.push_back(o);
    } else {
      const size_t i = rng() % live.size();
      const Obj o = live[i];
      live[i] = live.back();
      live.pop_back();
      extents.erase({o.addr, o.addr + o.size});
      --per_cache[o.cache];
      if (o.cache < 0) {
        slab.kfree(PhysAddr{o.addr});
      } else {
        caches[static_cast<size_t>(o.cache)]->free(PhysAddr{o.addr});
      }
      if (rng() % 1000 == 0) slab.shrink_all();
    }
    if (step % 512 == 0) {
      for (int c = 0; c < 4; ++c) ASSERT_EQ(caches[static_cast<size_t>(c)]->stats().active_objects, per_cache[c]);
      ASSERT_EQ(slab.kmalloc_stats().live_objects, per_cache[-1]);
      ASSERT_EQ(slab.frames_held(), buddy.allocated_frames());
      uint64_t cache_frames = 0;
      for (const SlabCache* c : slab.caches()) cache_frames += c->stats().frames;
      ASSERT_EQ(cache_frames + slab.kmalloc_stats().large_frames, slab.frames_held());
    }
  }
  for (const Obj& o : live) {
    if (o.cache < 0) {
      slab.kfree(PhysAddr{o.addr});
    } else {
      caches[static_cast<size_t>(o.cache)]->free(PhysAddr{o.addr});
    }
  }
  slab.shrink_all();
  EXPECT_EQ(buddy.allocated_frames(), 0u);
  EXPECT_EQ(slab.frames_held(), 0u);
  EXPECT_EQ(buddy.free_blocks(10), 16u);
  for (SlabCache* c : caches) EXPECT_TRUE(slab.destroy_cache(*c));
}

}  // namespace
}  // namespace vmsim::fw
