// Unit tests of the swap-slot allocator: next-fit clustering, contiguous runs, reference counts, errors,
// counters, and a randomized cross-check against a brute-force model.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <stdexcept>
#include <vector>

#include "firmware/swap/swap_slots.hpp"

namespace vmsim::fw {
namespace {

TEST(SwapSlots, NextFitClustersAndWraps) {
  SwapSlots s(8);
  for (SwapSlot want = 0; want < 4; ++want) EXPECT_EQ(s.allocate(), want);
  EXPECT_EQ(s.free(1), 0u);
  // Next fit continues after the last allocation instead of reusing the hole at 1.
  EXPECT_EQ(s.allocate(), SwapSlot{4});
  EXPECT_EQ(s.allocate(), SwapSlot{5});
  EXPECT_EQ(s.allocate(), SwapSlot{6});
  EXPECT_EQ(s.allocate(), SwapSlot{7});
  EXPECT_EQ(s.cursor(), 0u);             // wrapped
  EXPECT_EQ(s.allocate(), SwapSlot{1});  // the only hole
  EXPECT_EQ(s.used(), 8u);
  EXPECT_EQ(s.allocate(), std::nullopt);
  EXPECT_EQ(s.failures(), 1u);
  EXPECT_EQ(s.allocations(), 8u + 1u);
  EXPECT_EQ(s.frees(), 1u);
}

TEST(SwapSlots, ContiguousRunsSkipSmallHoles) {
  SwapSlots s(16);
  ASSERT_EQ(s.allocate_run(16), SwapSlot{0});
  for (SwapSlot f : {2, 5, 6, 9, 10, 11, 13, 14}) s.free(f);
  // Cursor is 0 (wrapped). Holes: [2], [5,6], [9,11], [13,14].
  EXPECT_EQ(s.allocate_run(3), SwapSlot{9});
  EXPECT_EQ(s.cursor(), 12u);
  EXPECT_EQ(s.allocate_run(2), SwapSlot{13});  // next fit: after the cursor first
  EXPECT_EQ(s.allocate_run(2), SwapSlot{5});   // wrapped: the first run before the cursor
  EXPECT_EQ(s.allocate_run(2), std::nullopt);  // only slot 2 is left
  EXPECT_EQ(s.allocate_run(1), SwapSlot{2});
  EXPECT_THROW(s.allocate_run(0), std::invalid_argument);
  // A run never wraps around the end of the area.
  SwapSlots t(4);
  t.allocate_run(3);
  t.free(0);
  EXPECT_EQ(t.allocate_run(2), std::nullopt);  // slots 3 and 0 are free but not contiguous
}

TEST(SwapSlots, ReferenceCountsAndErrors) {
  SwapSlots s(4);
  SwapSlot a = *s.allocate();
  s.duplicate(a);  // fork shares the swapped-out page
  s.duplicate(a);  // the swap cache holds it
  EXPECT_EQ(s.ref_count(a), 3u);
  EXPECT_EQ(s.free(a), 2u);
  EXPECT_EQ(s.free(a), 1u);
  EXPECT_TRUE(s.is_allocated(a));
  EXPECT_EQ(s.free(a), 0u);
  EXPECT_FALSE(s.is_allocated(a));
  EXPECT_EQ(s.frees(), 1u);
  EXPECT_EQ(s.used(), 0u);
  try {
    s.free(a);
    FAIL() << "double free accepted";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("slot 0): double free"), std::string::npos) << e.what();
  }
  EXPECT_THROW(s.duplicate(a), std::logic_error);
  EXPECT_THROW(s.free(4), std::logic_error);
  EXPECT_THROW(s.ref_count(99), std::logic_error);
  EXPECT_THROW(SwapSlots(0), std::invalid_argument);
}

TEST(SwapSlots, SearchSkipsFullBitmapWords) {
  SwapSlots s(200);
  ASSERT_EQ(s.allocate_run(200), SwapSlot{0});  // passes 200 slots
  EXPECT_EQ(s.scanned(), 200u);
  s.free(150);
  // From the cursor (0, wrapped): words 0 and 1 are full and skipped whole (128 positions), then slots
  // 128..150 one by one (23).
  EXPECT_EQ(s.allocate(), SwapSlot{150});
  EXPECT_EQ(s.scanned(), 200u + 128u + 23u);
}

TEST(SwapSlots, MatchesBruteForceModel) {
  const uint64_t n = 300;  // spans several bitmap words, not a multiple of 64
  SwapSlots s(n);
  std::vector<uint32_t> counts(n, 0);
  uint64_t cursor = 0;
  auto model_run = [&](uint64_t len) -> std::optional<uint64_t> {
    auto free_run = [&](uint64_t st) {
      if (st + len > n) return false;
      for (uint64_t i = st; i < st + len; ++i) {
        if (counts[i] != 0) return false;
      }
      return true;
    };
    for (uint64_t st = cursor; st < n; ++st) {
      if (free_run(st)) return st;
    }
    for (uint64_t st = 0; st < cursor; ++st) {
      if (free_run(st)) return st;
    }
    return std::nullopt;
  };
  std::mt19937 rng(17);
  std::vector<SwapSlot> held;
  for (int step = 0; step < 20000; ++step) {
    uint32_t op = rng() % 10;
    if (op < 5 || held.empty()) {
      uint64_t len = rng() % 4 == 0 ? 1 + rng() % 8 : 1;
      std::optional<uint64_t> want = model_run(len);
      std::optional<SwapSlot> got = s.allocate_run(len);
      ASSERT_EQ(got, want) << "step " << step;
      if (want) {
        for (uint64_t i = *want; i < *want + len; ++i) {
          counts[i] = 1;
          held.push_back(i);
        }
        cursor = (*want + len) % n;
      }
    } else if (op < 7) {
      SwapSlot x = held[rng() % held.size()];
      s.duplicate(x);
      ++counts[x];
      held.push_back(x);
    } else {
      size_t k = rng() % held.size();
      SwapSlot x = held[k];
      held[k] = held.back();
      held.pop_back();
      ASSERT_EQ(s.free(x), --counts[x]);
    }
    ASSERT_EQ(s.cursor(), cursor);
  }
  uint64_t used = 0;
  for (uint64_t i = 0; i < n; ++i) {
    EXPECT_EQ(s.ref_count(i), counts[i]);
    used += counts[i] != 0;
  }
  EXPECT_EQ(s.used(), used);
}

}  // namespace
}  // namespace vmsim::fw
