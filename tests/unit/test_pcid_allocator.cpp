// The kernel's PCID allocator: next-fit hand-out, never two live holders, roll-over (generation, kept
// running PCIDs, flush on every core, lazy reassignment), and the hashed table's no-roll-over mode.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

#include "firmware/vm/pcid_allocator.hpp"

namespace vmsim::fw {
namespace {

TEST(PcidAllocator, HandsOutPcidsInTurnFromOneAndSkipsHeldOnes) {
  PcidAllocator a(8, 1, true);  // PCIDs 1..7
  std::vector<PcidContext> c(7);
  for (unsigned i = 0; i < 7; ++i) {
    ASSERT_TRUE(a.assign(c[i]));
    EXPECT_EQ(c[i].id, i + 1);  // as the kernel numbered them before: the k-th address space gets k
    EXPECT_EQ(c[i].generation, 1u);
  }
  EXPECT_EQ(a.held(), 7u);
  // Assigning again keeps the PCID.
  EXPECT_TRUE(a.assign(c[3]));
  EXPECT_EQ(c[3].id, 4);
  // 2 and 5 end: the next one goes on from the last handed out (7), wrapping to the first free one.
  a.release(c[1]);
  a.release(c[4]);
  EXPECT_EQ(c[1].id, 0);
  EXPECT_EQ(a.held(), 5u);
  PcidContext d, e;
  ASSERT_TRUE(a.assign(d));
  EXPECT_EQ(d.id, 2);
  ASSERT_TRUE(a.assign(e));
  EXPECT_EQ(e.id, 5);
  EXPECT_EQ(a.rollovers(), 0u);
}

TEST(PcidAllocator, RollOverKeepsRunningPcidsFlushesEveryCoreAndReassignsLazily) {
  PcidAllocator a(4, 2, true);  // PCIDs 1..3, two cores
  PcidContext x, y, z, w;
  EXPECT_FALSE(a.switch_in(x, 0));  // x: 1 on core 0
  EXPECT_FALSE(a.switch_in(y, 1));  // y: 2 on core 1
  ASSERT_TRUE(a.assign(z));         // z: 3, not running
  EXPECT_EQ((std::vector<uint16_t>{x.id, y.id, z.id}), (std::vector<uint16_t>{1, 2, 3}));
  // The space is full: w rolls it over. x and y run, so they keep 1 and 2 in generation 2; z's 3 is free.
  ASSERT_TRUE(a.assign(w));
  EXPECT_EQ(a.rollovers(), 1u);
  EXPECT_EQ(a.generation(), 2u);
  EXPECT_EQ(w.id, 3);
  EXPECT_TRUE(a.current(x));
  EXPECT_TRUE(a.current(y));
  EXPECT_TRUE(a.current(w));
  EXPECT_FALSE(a.current(z));  // still says 3, an old generation's
  EXPECT_EQ(x.id, 1);
  EXPECT_EQ(y.id, 2);
  // Core 0 switches to z: it must flush first (once), and z gets a PCID of this generation. Core 0 left
  // x, whose PCID roll-overs from now on need not keep.
  EXPECT_TRUE(a.switch_in(z, 0));
  EXPECT_TRUE(a.current(z));
  EXPECT_EQ(a.rollovers(), 2u);  // 1, 2, 3 were held (x, y, w): a second roll-over, keeping y (core 1)
  EXPECT_EQ(z.id, 1);
  EXPECT_FALSE(a.current(x));
  EXPECT_FALSE(a.current(w));
  EXPECT_TRUE(a.current(y));
  EXPECT_EQ(a.running(0), &z);
  EXPECT_FALSE(a.switch_in(x, 0)) << "flushed when switching to z; nothing rolled over since";
  EXPECT_EQ(x.id, 3);
  EXPECT_EQ(a.held(), 3u);
  // Core 1 has not flushed since either roll-over: its next switch does, once.
  EXPECT_TRUE(a.switch_in(y, 1));
  EXPECT_FALSE(a.switch_in(y, 1));
  EXPECT_EQ(y.id, 2);
}

TEST(PcidAllocator, ThreadsOfOneAddressSpaceOnTwoCoresKeepOnePcid) {
  PcidAllocator a(4, 2, true);
  PcidContext t, u, v;
  a.switch_in(t, 0);
  a.switch_in(t, 1);
  ASSERT_TRUE(a.assign(u));
  ASSERT_TRUE(a.assign(v));
  PcidContext n;
  ASSERT_TRUE(a.assign(n));  // roll-over: t runs on both cores and keeps its PCID once
  EXPECT_EQ(a.rollovers(), 1u);
  EXPECT_TRUE(a.current(t));
  EXPECT_EQ(a.held(), 2u);  // t and n
}

TEST(PcidAllocator, ReleaseOfAnOldGenerationFreesNothingOfTheNewOne) {
  PcidAllocator a(4, 1, true);
  PcidContext p, q, r, s;
  a.switch_in(p, 0);
  a.assign(q);
  a.assign(r);
  a.assign(s);  // roll-over: p keeps 1, s gets 2; q still says 2 and r 3 from generation 1
  ASSERT_EQ(s.id, 2);
  ASSERT_EQ(q.id, 2);
  a.release(q);  // q's 2 is s's now: it stays held
  EXPECT_EQ(a.held(), 2u);
  PcidContext t;
  a.assign(t);
  EXPECT_EQ(t.id, 3);
  EXPECT_NE(t.id, s.id);
  // The running one ends: the core runs nothing, and a roll-over keeps nothing for it.
  a.release(p);
  EXPECT_EQ(a.running(0), nullptr);
  EXPECT_EQ(a.held(), 2u);
}

TEST(PcidAllocator, WithoutRollOverAFullSpaceRefusesUntilOneEnds) {
  PcidAllocator a(3, 4, false);  // the hashed table: 2 PCIDs, however many cores
  PcidContext p, q, r;
  ASSERT_TRUE(a.assign(p));
  ASSERT_TRUE(a.assign(q));
  EXPECT_FALSE(a.assign(r));
  EXPECT_EQ(r.id, 0);
  EXPECT_THROW(a.switch_in(r, 0), std::logic_error);
  a.release(p);
  ASSERT_TRUE(a.assign(r));
  EXPECT_EQ(r.id, 1);
  EXPECT_EQ(a.rollovers(), 0u);
}

TEST(PcidAllocator, RefusesImpossibleSizes) {
  EXPECT_THROW(PcidAllocator(1, 1, true), std::invalid_argument);
  EXPECT_THROW(PcidAllocator(4097, 1, true), std::invalid_argument);
  EXPECT_THROW(PcidAllocator(8, 0, true), std::invalid_argument);
  EXPECT_THROW(PcidAllocator(4, 3, true), std::invalid_argument);  // 3 PCIDs, 3 cores: a roll-over keeps all
  EXPECT_NO_THROW(PcidAllocator(5, 3, true));
  EXPECT_NO_THROW(PcidAllocator(2, 8, false));
  EXPECT_NO_THROW(PcidAllocator(4096, 64, true));
}

// A random life of address spaces on three cores, checked against what the TLBs could hold: every core
// remembers which address space each PCID's cached translations belong to, the way the kernel drives the
// hardware (flush when switch_in says so, a PCID shot down on every core when its address space ends while
// it is of the current generation; the entries of one that ends holding an older generation's PCID stay
// cached). No core may ever load a PCID under which it caches another address space's translations (live
// or dead), and no two live address spaces hold one PCID in the current generation.
TEST(PcidAllocator, RandomLivesNeverShareAPcidOrUseAnotherAddressSpacesTranslations) {
  struct Space {
    PcidContext ctx;
    uint64_t serial;
  };
  for (unsigned count : {5u, 6u, 9u, 64u}) {
    const size_t cores = 3;
    PcidAllocator a(count, cores, true);
    std::mt19937_64 rng(count);
    std::vector<std::unique_ptr<Space>> live;
    uint64_t next_serial = 1;
    std::vector<std::map<uint16_t, uint64_t>> cached(cores);  // per core: PCID -> serial of the owner
    std::vector<const Space*> loaded(cores, nullptr);
    uint64_t switches = 0, flushes = 0;
    for (int step = 0; step < 20000; ++step) {
      const unsigned what = static_cast<unsigned>(rng() % 10);
      if (what < 3 || live.empty()) {  // more created than ended: the population grows past every count
        live.push_back(std::make_unique<Space>(Space{PcidContext{}, next_serial++}));
        ASSERT_TRUE(a.assign(live.back()->ctx));
      } else if (what < 8) {
        Space& s = *live[rng() % live.size()];
        const CoreId core = static_cast<CoreId>(rng() % cores);
        if (a.switch_in(s.ctx, core)) {
          cached[core].clear();
          ++flushes;
        }
        ASSERT_TRUE(a.current(s.ctx));
        auto it = cached[core].find(s.ctx.id);
        ASSERT_TRUE(it == cached[core].end() || it->second == s.serial)
            << "count " << count << " step " << step << ": core " << core << " loads PCID " << s.ctx.id
            << " while caching translations of address space " << it->second << " under it";
        cached[core][s.ctx.id] = s.serial;  // it runs and fills the TLB
        loaded[core] = &s;
        ++switches;
      } else {
        const size_t k = rng() % live.size();
        Space& s = *live[k];
        if (a.current(s.ctx)) {
          for (auto& m : cached) m.erase(s.ctx.id);  // the teardown's shootdown of its PCID
        }
        a.release(s.ctx);
        for (const Space*& l : loaded) {
          if (l == &s) l = nullptr;
        }
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
      }
      std::set<uint16_t> ids;
      unsigned held = 0;
      for (const auto& s : live) {
        if (!a.current(s->ctx)) continue;
        ++held;
        ASSERT_TRUE(ids.insert(s->ctx.id).second)
            << "count " << count << " step " << step << ": PCID " << s->ctx.id << " held twice";
      }
      ASSERT_EQ(held, a.held());
      for (size_t core = 0; core < cores; ++core) {
        if (loaded[core] != nullptr) {
          ASSERT_TRUE(a.current(loaded[core]->ctx)) << "a running address space lost its PCID";
          ASSERT_EQ(a.running(static_cast<CoreId>(core)), &loaded[core]->ctx);
        }
      }
    }
    EXPECT_GT(a.rollovers(), 0u) << count;
    EXPECT_GT(flushes, 0u) << count;
    EXPECT_GT(switches, 9000u);
  }
}

}  // namespace
}  // namespace vmsim::fw
