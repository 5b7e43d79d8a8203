// Unit tests of the swap area and swap cache: state transitions, reference counts for pages shared after
// fork, errors on misuse, and a data-integrity stress test: 1e5 swap round trips of patterned pages through
// the swap cache and the swap device's functional core, with sharing, copy-on-write, write-outs in flight
// and exits, every page checked byte for byte whenever it comes back.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

#include "firmware/swap/swap_area.hpp"
#include "models/storage/swap_device_core.hpp"

namespace vmsim::fw {
namespace {

TEST(SwapArea, WriteOutCacheAndEvict) {
  SwapArea a(4);
  const std::optional<SwapSlot> s = a.begin_writeout(Pfn{7});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(*s, 0u);
  EXPECT_EQ(a.ref_count(*s), 1u);  // the cache's
  a.add_ref(*s);                   // the PTE now holds a swap entry
  ASSERT_TRUE(a.lookup(*s).has_value());
  EXPECT_EQ(a.lookup(*s)->state, SwapCacheState::Writing);
  EXPECT_EQ(a.lookup(*s)->frame, Pfn{7});
  EXPECT_FALSE(a.make_exclusive(*s));  // write in flight
  a.writeout_done(*s);
  EXPECT_EQ(a.lookup(*s)->state, SwapCacheState::Clean);
  EXPECT_EQ(a.evict(*s), 1u);  // the frame is freed; the PTE's reference remains
  EXPECT_FALSE(a.lookup(*s).has_value());
  EXPECT_EQ(a.cached(), 0u);
  EXPECT_EQ(a.cache_hits(), 4u);
  EXPECT_EQ(a.cache_misses(), 1u);
  // Swap-in: miss, read into frame 9, PTE's reference dropped, the page leaves swap when written.
  a.begin_read(*s, Pfn{9});
  EXPECT_EQ(a.lookup(*s)->state, SwapCacheState::Reading);
  EXPECT_EQ(a.ref_count(*s), 2u);
  EXPECT_THROW(a.evict(*s), std::logic_error);  // being read in
  EXPECT_THROW(a.begin_read(*s, Pfn{10}), std::logic_error);
  a.read_done(*s);
  EXPECT_EQ(a.drop_ref(*s), 1u);
  EXPECT_THROW(a.drop_ref(*s), std::logic_error);  // only the cache's reference is left
  EXPECT_TRUE(a.make_exclusive(*s));
  EXPECT_FALSE(a.slots().is_allocated(*s));
  EXPECT_EQ(a.slots().used(), 0u);
  EXPECT_EQ(a.writeouts(), 1u);
  EXPECT_EQ(a.reads(), 1u);
}

TEST(SwapArea, ForkSharingKeepsTheSlotUntilTheLastReference) {
  SwapArea a(2);
  SwapSlot s = *a.begin_writeout(Pfn{1});
  a.add_ref(s);  // parent PTE
  a.writeout_done(s);
  a.evict(s);
  a.add_ref(s);  // fork: the child's PTE
  EXPECT_EQ(a.ref_count(s), 2u);
  // The parent faults it in; the child still points at the slot, so a write must copy.
  a.begin_read(s, Pfn{2});
  a.read_done(s);
  EXPECT_EQ(a.drop_ref(s), 2u);
  EXPECT_FALSE(a.make_exclusive(s));
  // The child faults: a swap-cache hit on the same frame, no second read.
  ASSERT_TRUE(a.lookup(s).has_value());
  EXPECT_EQ(a.lookup(s)->frame, Pfn{2});
  EXPECT_EQ(a.drop_ref(s), 1u);
  EXPECT_EQ(a.reads(), 1u);
  EXPECT_TRUE(a.make_exclusive(s));
  EXPECT_EQ(a.slots().used(), 0u);
}

TEST(SwapArea, FullAreaAndMisuse) {
  SwapArea a(2);
  ASSERT_TRUE(a.begin_writeout(Pfn{1}));
  ASSERT_TRUE(a.begin_writeout(Pfn{2}));
  EXPECT_FALSE(a.begin_writeout(Pfn{3}).has_value());
  EXPECT_EQ(a.full(), 1u);
  EXPECT_THROW(a.read_done(0), std::logic_error);      // Writing, not Reading
  EXPECT_THROW(a.begin_read(0, Pfn{4}), std::logic_error);  // already cached
  a.writeout_done(0);
  EXPECT_THROW(a.writeout_done(0), std::logic_error);  // already clean
  EXPECT_EQ(a.evict(0), 0u);                          // no PTE took it: the slot is free again
  EXPECT_THROW(a.evict(0), std::logic_error);
  EXPECT_THROW(a.begin_read(0, Pfn{4}), std::logic_error);  // a free slot
  EXPECT_THROW(a.drop_ref(0), std::logic_error);
  EXPECT_THROW(SwapArea(0), std::invalid_argument);
}

// A miniature pager over SwapArea and the device's functional core, in the way the kernel is to use them.
// Pages are either mapped to a frame (possibly shared by several pages, copy-on-write) or hold a swap entry.
class Pager {
 public:
  Pager(uint64_t frames, uint64_t slots, uint32_t seed)
      : m_area(slots), m_medium(device(slots)), m_frames(frames, std::vector<uint8_t>(kPageSize)),
        m_mapcount(frames, 0), m_rng(seed) {
    for (uint64_t f = 0; f < frames; ++f) m_free.push_back(f);
  }

  // Steps until `round_trips` device reads, or `max_steps`.
  void run(uint64_t round_trips, uint64_t max_steps) {
    for (int i = 0; i < 24; ++i) create();
    for (uint64_t steps = 0; m_round_trips < round_trips && steps < max_steps; ++steps) step();
    // Every page comes back intact at the end, and the books balance.
    for (size_t p = 0; p < m_pages.size(); ++p) {
      if (m_pages[p].alive && !m_pages[p].mapped) fault(p);
    }
    check_books();
  }
  uint64_t round_trips() const { return m_round_trips; }
  uint64_t cache_hits() const { return m_hits; }
  uint64_t cows() const { return m_cows; }
  uint64_t checks() const { return m_checks; }
  uint64_t full() const { return m_area.full(); }
  uint64_t no_frame() const { return m_no_frame; }

 private:
  struct Page {
    bool alive = true;
    bool mapped = false;
    uint64_t frame = 0;
    SwapSlot slot = 0;        // swap entry (not mapped), or the cached slot of a mapped page (slot_valid)
    bool slot_valid = false;  // mapped: the swap cache holds an up-to-date copy in `slot`
    uint64_t content = 0;     // seed of the expected 4 KiB pattern
  };

  static storage::SwapDeviceConfig device(uint64_t slots) {
    storage::SwapDeviceConfig c;
    c.capacity = Bytes{slots * kPageSize};
    return c;
  }
  static void fill(uint8_t* page, uint64_t seed) {
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (uint64_t i = 0; i < kPageSize; i += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      std::memcpy(page + i, &x, 8);
    }
  }
  void check(size_t p) {
    uint8_t want[kPageSize];
    fill(want, m_pages[p].content);
    ASSERT_EQ(std::memcmp(want, m_frames[m_pages[p].frame].data(), kPageSize), 0)
        << "page " << p << " content " << m_pages[p].content << " after " << m_round_trips << " round trips";
    ++m_checks;
  }
  uint64_t pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(m_rng); }
  bool coin(unsigned pct) { return pick(100) < pct; }

  // A free frame, reclaiming a cached unmapped frame or swapping out a mapped page other than `keep` if
  // needed; nullopt when neither frees one (swap full: the operation is dropped, as an OOM would).
  std::optional<uint64_t> alloc_frame(size_t keep = SIZE_MAX) {
    for (int tries = 0; m_free.empty() && tries < 8; ++tries) {
      if (!reclaim_cached()) swap_out_any(keep);
    }
    if (m_free.empty()) {
      ++m_no_frame;
      return std::nullopt;
    }
    const uint64_t f = m_free.back();
    m_free.pop_back();
    return f;
  }
  void free_frame(uint64_t f) { m_free.push_back(f); }

  void create() {
    const std::optional<uint64_t> f = alloc_frame();
    if (!f) return;
    Page pg;
    pg.content = ++m_next_content;
    pg.frame = *f;
    pg.mapped = true;
    fill(m_frames[pg.frame].data(), pg.content);
    ++m_mapcount[pg.frame];
    m_pages.push_back(pg);
  }

  // Frames held only by the swap cache (no page maps them): slot -> frame.
  bool reclaim_cached() {
    for (auto it = m_unmapped.begin(); it != m_unmapped.end(); ++it) {
      const SwapSlot s = it->first;
      if (m_area.lookup(s)->state != SwapCacheState::Clean) continue;
      const uint64_t f = it->second;
      m_unmapped.erase(it);
      m_area.evict(s);
      free_frame(f);
      return true;
    }
    return false;
  }

  void swap_out(size_t p, bool evict_now) {
    Page& pg = m_pages[p];
    const uint64_t f = pg.frame;
    if (!pg.slot_valid) {
      const std::optional<SwapSlot> s = m_area.begin_writeout(Pfn{f});
      if (!s) return;  // swap full: the page stays
      m_medium.write(0, SwapArea::offset_of(*s), m_frames[f].data(), kPageSize);
      m_pending.push_back(*s);
      // Every page mapping this frame now points at the slot.
      for (size_t q = 0; q < m_pages.size(); ++q) {
        if (q != p && m_pages[q].alive && m_pages[q].mapped && m_pages[q].frame == f) {
          m_pages[q].slot = *s;
          m_pages[q].slot_valid = true;
        }
      }
      pg.slot = *s;
    }
    m_area.add_ref(pg.slot);  // the PTE becomes a swap entry
    pg.mapped = false;
    pg.slot_valid = false;
    if (--m_mapcount[f] == 0) {
      m_unmapped[pg.slot] = f;
      if (evict_now) {
        complete_writeout(pg.slot);
        m_unmapped.erase(pg.slot);
        m_area.evict(pg.slot);
        free_frame(f);
      }
    }
  }
  void swap_out_any(size_t keep) {
    std::vector<size_t> mapped;
    for (size_t p = 0; p < m_pages.size(); ++p) {
      if (p != keep && m_pages[p].alive && m_pages[p].mapped) mapped.push_back(p);
    }
    if (!mapped.empty()) swap_out(mapped[pick(mapped.size())], true);
  }
  void complete_writeout(SwapSlot s) {
    auto it = std::find(m_pending.begin(), m_pending.end(), s);
    if (it == m_pending.end()) return;
    m_pending.erase(it);
    m_area.writeout_done(s);
  }

  void fault(size_t p) {
    Page& pg = m_pages[p];
    const SwapSlot s = pg.slot;
    std::optional<SwapCacheEntry> e = m_area.lookup(s);
    uint64_t f;
    if (e) {
      f = e->frame.value();
      ++m_hits;
      m_unmapped.erase(s);
    } else {
      const std::optional<uint64_t> got = alloc_frame();
      if (!got) return;
      f = *got;
      m_area.begin_read(s, Pfn{f});
      std::memset(m_frames[f].data(), 0xA5, kPageSize);  // stale frame contents must be overwritten
      m_medium.read(0, SwapArea::offset_of(s), m_frames[f].data(), kPageSize);
      m_area.read_done(s);
      ++m_round_trips;
    }
    m_area.drop_ref(s);
    pg.mapped = true;
    pg.frame = f;
    pg.slot_valid = true;
    ++m_mapcount[f];
    check(p);
  }

  void write(size_t p) {
    Page& pg = m_pages[p];
    const bool exclusive = m_mapcount[pg.frame] == 1 && (!pg.slot_valid || m_area.make_exclusive(pg.slot));
    if (!exclusive) {  // copy-on-write: the old frame stays with its other users (pages or the swap cache)
      const std::optional<uint64_t> f = alloc_frame(p);
      if (!f) return;
      const uint64_t old = pg.frame;
      if (--m_mapcount[old] == 0) m_unmapped[pg.slot] = old;
      pg.frame = *f;
      ++m_mapcount[*f];
      ++m_cows;
    }
    pg.slot_valid = false;
    pg.content = ++m_next_content;
    fill(m_frames[pg.frame].data(), pg.content);
  }

  void fork(size_t p) {
    Page child = m_pages[p];
    if (child.mapped) {
      ++m_mapcount[child.frame];
    } else {
      m_area.add_ref(child.slot);
    }
    m_pages.push_back(child);
  }

  void exit(size_t p) {
    Page& pg = m_pages[p];
    pg.alive = false;
    if (pg.mapped) {
      if (--m_mapcount[pg.frame] > 0) return;
      if (!pg.slot_valid) {
        free_frame(pg.frame);
        return;
      }
      m_unmapped[pg.slot] = pg.frame;
    } else {
      m_area.drop_ref(pg.slot);
    }
    // The swap cache's reference alone keeps nothing alive: drop the entry once its write is done.
    const SwapSlot s = pg.slot;
    std::optional<SwapCacheEntry> e = m_area.lookup(s);
    if (e && m_area.ref_count(s) == 1 && m_unmapped.count(s) != 0) {
      complete_writeout(s);
      m_unmapped.erase(s);
      m_area.evict(s);
      free_frame(e->frame.value());
    }
  }

  void step() {
    const size_t p = pick(m_pages.size());
    if (!m_pages[p].alive) return;
    const uint64_t op = pick(100);
    if (m_pages[p].mapped) {
      if (op < 45) {
        swap_out(p, coin(60));
      } else if (op < 75) {
        write(p);
      } else if (op < 80 && m_pages.size() < 200) {
        fork(p);
      } else if (op < 82) {
        exit(p);
        create();
      }
    } else {
      if (op < 80) {
        fault(p);
      } else if (op < 85 && m_pages.size() < 200) {
        fork(p);
      } else if (op < 87) {
        exit(p);
        create();
      }
    }
    if (!m_pending.empty() && coin(50)) complete_writeout(m_pending[pick(m_pending.size())]);
    if (m_pages.size() > 150) compact();
  }

  // Forget dead pages so the page table stays small.
  void compact() {
    m_pages.erase(std::remove_if(m_pages.begin(), m_pages.end(), [](const Page& pg) { return !pg.alive; }),
                  m_pages.end());
  }

  void check_books() {
    std::map<SwapSlot, uint32_t> refs;
    std::set<uint64_t> mapped_frames;
    for (const Page& pg : m_pages) {
      if (!pg.alive) continue;
      if (pg.mapped) {
        mapped_frames.insert(pg.frame);
      } else {
        ++refs[pg.slot];
      }
      if (pg.mapped && pg.slot_valid) refs[pg.slot] += 0;
    }
    for (const auto& [s, f] : m_unmapped) refs[s] += 0;
    uint64_t cached_seen = 0;
    for (auto& [s, n] : refs) {
      const bool cached = m_area.lookup(s).has_value();
      cached_seen += cached;
      EXPECT_EQ(m_area.ref_count(s), n + (cached ? 1 : 0)) << "slot " << s;
    }
    EXPECT_EQ(m_area.slots().used(), refs.size());
    EXPECT_EQ(m_area.cached(), cached_seen);
    // Frames: free + mapped + held only by the swap cache = all.
    EXPECT_EQ(m_free.size() + mapped_frames.size() + m_unmapped.size(), m_frames.size());
  }

  SwapArea m_area;
  storage::SwapMedium m_medium;
  std::vector<std::vector<uint8_t>> m_frames;
  std::vector<uint32_t> m_mapcount;
  std::vector<uint64_t> m_free;
  std::vector<Page> m_pages;
  std::map<SwapSlot, uint64_t> m_unmapped;
  std::vector<SwapSlot> m_pending;  // write-outs in flight (Writing)
  std::mt19937_64 m_rng;
  uint64_t m_next_content = 0;
  uint64_t m_round_trips = 0;
  uint64_t m_hits = 0;
  uint64_t m_cows = 0;
  uint64_t m_checks = 0;
  uint64_t m_no_frame = 0;
};

TEST(SwapArea, PatternsSurvive100kRoundTripsByteForByte) {
  Pager pager(/*frames=*/16, /*slots=*/512, /*seed=*/7);
  pager.run(100000, 10000000);
  EXPECT_GE(pager.round_trips(), 100000u);
  // The run exercised the interesting paths, not only plain out-and-in.
  EXPECT_GT(pager.cache_hits(), 200u);
  EXPECT_GT(pager.cows(), 50u);
  EXPECT_GE(pager.checks(), pager.round_trips() + pager.cache_hits());
}

TEST(SwapArea, FullSwapKeepsPagesResidentAndIntact) {
  // 16 slots for up to 200 pages: swap fills up, swap-outs fail, and nothing is lost.
  Pager pager(/*frames=*/64, /*slots=*/16, /*seed=*/3);
  pager.run(300, 20000);
  EXPECT_GT(pager.round_trips(), 100u);  // slots recycle (writes, exits), so swapping goes on while full
  EXPECT_GT(pager.full(), 0u);
  EXPECT_GT(pager.no_frame(), 0u);
}

}  // namespace
}  // namespace vmsim::fw
