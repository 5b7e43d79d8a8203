// Unit tests for the firmware buddy frame allocator: hand-computed splits/coalesces, edges, errors, stress.
#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "firmware/mm/buddy.hpp"

namespace vmsim::fw {
namespace {

constexpr unsigned kOrders = BuddyAllocator::kMaxOrder + 1;
using OrderCounts = std::array<uint64_t, kOrders>;

OrderCounts buddyinfo(const BuddyAllocator& b) {
  OrderCounts counts{};
  for (unsigned k = 0; k < kOrders; ++k) counts[k] = b.free_blocks(k);
  return counts;
}

uint64_t free_frames_from_lists(const BuddyAllocator& b) {
  uint64_t sum = 0;
  for (unsigned k = 0; k < kOrders; ++k) sum += b.free_blocks(k) << k;
  return sum;
}

uint64_t total_free_blocks(const BuddyAllocator& b) {
  uint64_t sum = 0;
  for (unsigned k = 0; k < kOrders; ++k) sum += b.free_blocks(k);
  return sum;
}

// Expects `fn` to throw std::logic_error whose message contains every string in `needles`.
template <class Fn>
void expect_logic_error(Fn fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "expected std::logic_error";
  } catch (const std::invalid_argument& e) {
    ADD_FAILURE() << "expected std::logic_error, got std::invalid_argument: " << e.what();
  } catch (const std::logic_error& e) {
    const std::string msg = e.what();
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "message '" << msg << "' lacks '" << n << "'";
  }
}

TEST(Buddy, SplitsLowestBlock) {
  BuddyAllocator b(Pfn{1024}, 1024);
  EXPECT_EQ(b.free_blocks(10), 1u);
  EXPECT_EQ(b.total_frames(), 1024u);
  EXPECT_EQ(b.base(), Pfn{1024});

  auto p = b.alloc(0);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, Pfn{1024});
  // Splitting 1024..2047 down to order 0 leaves one free upper half per order 0..9.
  for (unsigned k = 0; k <= 9; ++k) EXPECT_EQ(b.free_blocks(k), 1u) << "order " << k;
  EXPECT_EQ(b.free_blocks(10), 0u);
  EXPECT_EQ(b.splits(), 10u);
  EXPECT_EQ(b.merges(), 0u);
  EXPECT_EQ(b.free_frames(), 1023u);
  EXPECT_EQ(b.allocated_frames(), 1u);

  // The free halves are at 1024 + 2^k; the next order-0 allocation takes 1025, the next order-3 takes 1032.
  EXPECT_EQ(b.alloc(0), Pfn{1025});
  EXPECT_EQ(b.alloc(3), Pfn{1032});
  EXPECT_EQ(b.splits(), 10u);  // both came straight from an exact-order free block
  EXPECT_EQ(b.alloc(1), Pfn{1026});  // order-1 block 1026 is still free: taken without a split
  // With no order-1 block left, the lowest order-2 block (1028) is split and its lower half kept.
  EXPECT_EQ(b.alloc(1), Pfn{1028});
  EXPECT_EQ(b.splits(), 11u);
  EXPECT_EQ(b.free_blocks(1), 1u);  // 1030
}

TEST(Buddy, CoalescesBackToOneBlock) {
  BuddyAllocator b(Pfn{1024}, 1024);
  auto p = b.alloc(0);
  ASSERT_TRUE(p.has_value());
  b.free(*p, 0);
  EXPECT_EQ(b.free_blocks(10), 1u);
  for (unsigned k = 0; k <= 9; ++k) EXPECT_EQ(b.free_blocks(k), 0u) << "order " << k;
  EXPECT_EQ(b.merges(), 10u);
  EXPECT_EQ(b.free_frames(), 1024u);
  EXPECT_EQ(b.allocated_frames(), 0u);
  EXPECT_EQ(b.allocated_blocks(), 0u);
}

TEST(Buddy, CoalesceWaitsForAllocatedBuddy) {
  BuddyAllocator b(Pfn{0}, 1024);
  auto a = b.alloc(0);
  auto c = b.alloc(0);
  ASSERT_TRUE(a && c);
  EXPECT_EQ(*a, Pfn{0});
  EXPECT_EQ(*c, Pfn{1});
  b.free(*a, 0);  // buddy 1 still allocated: no merge
  EXPECT_EQ(b.merges(), 0u);
  EXPECT_EQ(b.free_blocks(0), 1u);
  b.free(*c, 0);  // now 0+1 -> order 1, and on up to order 10
  EXPECT_EQ(b.merges(), 10u);
  EXPECT_EQ(b.free_blocks(10), 1u);
  EXPECT_EQ(total_free_blocks(b), 1u);
}

TEST(Buddy, NoMergeAcrossTopOrder) {
  // Two adjacent order-10 blocks are buddies at order 10 but order 11 does not exist: they stay separate.
  BuddyAllocator b(Pfn{0}, 2048);
  EXPECT_EQ(b.free_blocks(10), 2u);
  auto p = b.alloc(10);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, Pfn{0});
  b.free(*p, 10);
  EXPECT_EQ(b.free_blocks(10), 2u);
  EXPECT_EQ(b.merges(), 0u);
}

TEST(Buddy, LowestAddressedBlockOfSmallestOrder) {
  BuddyAllocator b(Pfn{0}, 4096);  // four order-10 blocks
  EXPECT_EQ(b.alloc(10), Pfn{0});
  EXPECT_EQ(b.alloc(10), Pfn{1024});
  EXPECT_EQ(b.alloc(10), Pfn{2048});
  b.free(Pfn{1024}, 10);
  b.free(Pfn{0}, 10);
  EXPECT_EQ(b.alloc(10), Pfn{0});     // lowest free order-10 block
  EXPECT_EQ(b.alloc(2), Pfn{1024});   // splits lowest order-10 block (1024), not 3072
  EXPECT_EQ(b.free_blocks(10), 1u);   // 3072 untouched
  EXPECT_EQ(b.alloc(9), Pfn{1536});   // exact-order block exists: taken without splitting further
}

TEST(Buddy, UnalignedBaseAndSize) {
  // [3, 1003) carves greedily into: 3(o0) 4(o2) 8(o3) 16(o4) 32(o5) 64(o6) 128(o7) 256(o8) 512(o8)
  // 768(o7) 896(o6) 960(o5) 992(o3) 1000(o1) 1002(o0).
  BuddyAllocator b(Pfn{3}, 1000);
  const OrderCounts expected = {2, 1, 1, 2, 1, 2, 2, 2, 2, 0, 0};
  EXPECT_EQ(buddyinfo(b), expected);
  EXPECT_EQ(free_frames_from_lists(b), 1000u);
  EXPECT_EQ(b.free_frames(), 1000u);
  EXPECT_EQ(b.end(), Pfn{1003});

  EXPECT_FALSE(b.alloc(9).has_value());  // no block of order >= 9 exists
  EXPECT_FALSE(b.alloc(10).has_value());
  EXPECT_EQ(b.alloc(8), Pfn{256});
  EXPECT_EQ(b.alloc(8), Pfn{512});
  b.free(Pfn{256}, 8);  // buddy 0..255 is not a free order-8 block: no merge
  b.free(Pfn{512}, 8);  // buddy 768..1023 would cross the end: must not merge
  EXPECT_EQ(b.merges(), 0u);
  EXPECT_EQ(buddyinfo(b), expected);

  // Order-0 block at PFN 3: its buddy PFN 2 is outside the range and must never be merged into.
  EXPECT_EQ(b.alloc(0), Pfn{3});
  b.free(Pfn{3}, 0);
  EXPECT_EQ(b.merges(), 0u);
  EXPECT_EQ(buddyinfo(b), expected);
}

TEST(Buddy, UnalignedAllocationsStayInRange) {
  for (unsigned order = 0; order <= BuddyAllocator::kMaxOrder; ++order) {
    BuddyAllocator b(Pfn{3}, 1000);
    const OrderCounts initial = buddyinfo(b);
    std::vector<uint64_t> got;
    while (auto p = b.alloc(order)) {
      const uint64_t s = p->value();
      EXPECT_EQ(s % (uint64_t{1} << order), 0u) << "misaligned block";
      EXPECT_GE(s, 3u);
      EXPECT_LE(s + (uint64_t{1} << order), 1003u) << "block crosses range end";
      got.push_back(s);
      ASSERT_LE(got.size(), 1000u);
    }
    // Every frame that fits in an order-`order` block was handed out; the rest is smaller free blocks.
    uint64_t expected_blocks = 0;
    for (unsigned k = order; k < kOrders; ++k) expected_blocks += initial[k] << (k - order);
    EXPECT_EQ(got.size(), expected_blocks) << "order " << order;
    EXPECT_EQ(b.free_frames() + b.allocated_frames(), 1000u);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(std::adjacent_find(got.begin(), got.end()), got.end());
    for (uint64_t s : got) b.free(Pfn{s}, order);
    EXPECT_EQ(buddyinfo(b), initial) << "order " << order;
    EXPECT_EQ(b.splits(), b.merges());
  }
}

TEST(Buddy, OrderZeroFillsWholeUnalignedRange) {
  BuddyAllocator b(Pfn{3}, 1000);
  std::vector<uint64_t> got;
  while (auto p = b.alloc(0)) got.push_back(p->value());
  // Smallest sufficient order first: the two order-0 blocks (3, 1002), then the split order-1 block
  // (1000, 1001), then the split order-2 block (4..7), then the lowest order-3 block (8..).
  const std::vector<uint64_t> head = {3, 1002, 1000, 1001, 4, 5, 6, 7, 8};
  ASSERT_GE(got.size(), head.size());
  EXPECT_EQ(std::vector<uint64_t>(got.begin(), got.begin() + head.size()), head);
  EXPECT_EQ(got.size(), 1000u);
  std::sort(got.begin(), got.end());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], 3 + i);  // every frame exactly once
  EXPECT_EQ(b.free_frames(), 0u);
  EXPECT_TRUE(b.is_allocated(Pfn{3}));
  EXPECT_TRUE(b.is_allocated(Pfn{1002}));
  EXPECT_FALSE(b.is_allocated(Pfn{2}));
  EXPECT_FALSE(b.is_allocated(Pfn{1003}));
}

TEST(Buddy, IsAllocated) {
  BuddyAllocator b(Pfn{4096}, 4096);
  auto p = b.alloc(3);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, Pfn{4096});
  for (uint64_t f = 4096; f < 4104; ++f) EXPECT_TRUE(b.is_allocated(Pfn{f})) << f;
  EXPECT_FALSE(b.is_allocated(Pfn{4104}));
  EXPECT_FALSE(b.is_allocated(Pfn{4095}));  // outside range
  EXPECT_FALSE(b.is_allocated(Pfn{0}));
  EXPECT_FALSE(b.is_allocated(Pfn{8192}));
  b.free(*p, 3);
  EXPECT_FALSE(b.is_allocated(Pfn{4096}));
}

TEST(Buddy, ExhaustionReturnsNullopt) {
  BuddyAllocator b(Pfn{0}, 2048);
  EXPECT_EQ(b.alloc(10), Pfn{0});
  EXPECT_EQ(b.alloc(10), Pfn{1024});
  EXPECT_FALSE(b.alloc(10).has_value());
  EXPECT_FALSE(b.alloc(0).has_value());
  EXPECT_EQ(b.free_frames(), 0u);
  EXPECT_EQ(b.allocated_frames(), 2048u);
  b.free(Pfn{1024}, 10);
  EXPECT_EQ(b.alloc(0), Pfn{1024});
  EXPECT_FALSE(b.alloc(10).has_value());  // fragmented: 1023 free frames but no order-10 block
  EXPECT_EQ(b.alloc(9), Pfn{1536});
  EXPECT_FALSE(b.alloc(9).has_value());
}

TEST(Buddy, ConstructorRejectsBadRange) {
  EXPECT_THROW(BuddyAllocator(Pfn{0}, 0), std::invalid_argument);
  EXPECT_THROW(BuddyAllocator(Pfn{~uint64_t{0}}, 2), std::invalid_argument);  // wraps past 2^64
  BuddyAllocator one(Pfn{7}, 1);
  EXPECT_EQ(one.free_blocks(0), 1u);
  EXPECT_EQ(one.alloc(0), Pfn{7});
  EXPECT_FALSE(one.alloc(0).has_value());
}

TEST(Buddy, OrderAboveMaxThrows) {
  BuddyAllocator b(Pfn{0}, 4096);
  EXPECT_THROW(b.alloc(BuddyAllocator::kMaxOrder + 1), std::invalid_argument);
  EXPECT_THROW(b.alloc(64), std::invalid_argument);
  EXPECT_EQ(b.free_frames(), 4096u);
  EXPECT_EQ(b.splits(), 0u);
  EXPECT_EQ(b.free_blocks(BuddyAllocator::kMaxOrder + 1), 0u);
}

TEST(Buddy, DoubleFreeThrows) {
  BuddyAllocator b(Pfn{0}, 1024);
  auto p = b.alloc(2);
  auto q = b.alloc(2);  // keeps p's block from coalescing away completely
  ASSERT_TRUE(p && q);
  b.free(*p, 2);
  const OrderCounts before = buddyinfo(b);
  expect_logic_error([&] { b.free(*p, 2); }, {"0x0", "order 2", "double free"});
  EXPECT_EQ(buddyinfo(b), before);
  EXPECT_EQ(b.free_frames(), 1020u);
  // Never-allocated free frame is reported the same way.
  expect_logic_error([&] { b.free(Pfn{512}, 0); }, {"0x200", "order 0"});
}

TEST(Buddy, WrongOrderFreeThrows) {
  BuddyAllocator b(Pfn{0}, 1024);
  auto p = b.alloc(3);
  ASSERT_TRUE(p.has_value());
  expect_logic_error([&] { b.free(*p, 2); }, {"0x0", "order 2", "allocated with order 3"});
  expect_logic_error([&] { b.free(*p, 4); }, {"order 4"});
  expect_logic_error([&] { b.free(*p, BuddyAllocator::kMaxOrder + 1); }, {"order 11"});
  EXPECT_TRUE(b.is_allocated(*p));
  EXPECT_EQ(b.allocated_frames(), 8u);
  b.free(*p, 3);  // the correct free still works
  EXPECT_EQ(b.free_blocks(10), 1u);
}

TEST(Buddy, MisalignedFreeThrows) {
  BuddyAllocator b(Pfn{0}, 1024);
  auto p = b.alloc(4);
  ASSERT_TRUE(p.has_value());
  expect_logic_error([&] { b.free(Pfn{p->value() + 1}, 0); }, {"0x1", "not the start"});
  expect_logic_error([&] { b.free(Pfn{p->value() + 8}, 3); }, {"0x8", "order 3", "not the start"});
  expect_logic_error([&] { b.free(Pfn{5000}, 0); }, {"0x1388", "outside"});
  EXPECT_EQ(b.allocated_frames(), 16u);
  EXPECT_EQ(b.merges(), 0u);
}

// Random alloc/free of random orders with a per-frame ownership map kept by the test; after every step the
// frame accounting and block-count identity hold; at the end everything is freed and the free lists must
// be exactly the initial carving again.
void run_stress(uint64_t base, uint64_t frames, uint64_t steps, uint64_t seed) {
  BuddyAllocator b(Pfn{base}, frames);
  const OrderCounts initial = buddyinfo(b);
  const uint64_t initial_blocks = total_free_blocks(b);

  std::mt19937_64 rng(seed);
  std::vector<int8_t> owner(frames, 0);
  std::vector<std::pair<uint64_t, unsigned>> live;  // (start PFN, order)
  uint64_t owned = 0;
  uint64_t failed_allocs = 0;

  for (uint64_t step = 0; step < steps; ++step) {
    // Sweep occupancy: alternate fill-biased and drain-biased phases.
    const bool fill_phase = ((step >> 16) & 1) == 0;
    const uint64_t alloc_pct = fill_phase ? 65 : 35;
    const bool do_alloc = live.empty() || rng() % 100 < alloc_pct;
    if (do_alloc) {
      const auto order = static_cast<unsigned>(rng() % kOrders);
      const uint64_t size = uint64_t{1} << order;
      auto p = b.alloc(order);
      if (!p) {
        ++failed_allocs;
        for (unsigned k = order; k < kOrders; ++k) ASSERT_EQ(b.free_blocks(k), 0u) << "nullopt with a free block";
      } else {
        const uint64_t s = p->value();
        ASSERT_EQ(s % size, 0u) << "misaligned";
        ASSERT_GE(s, base);
        ASSERT_LE(s - base + size, frames) << "block crosses range end";
        int8_t* first = owner.data() + (s - base);
        ASSERT_TRUE(std::all_of(first, first + size, [](int8_t o) { return o == 0; }))
            << "frame handed out twice, block 0x" << std::hex << s << " order " << std::dec << order;
        std::fill(first, first + size, int8_t{1});
        owned += size;
        live.emplace_back(s, order);
      }
    } else {
      const size_t i = rng() % live.size();
      const auto [s, order] = live[i];
      live[i] = live.back();
      live.pop_back();
      const uint64_t size = uint64_t{1} << order;
      int8_t* first = owner.data() + (s - base);
      ASSERT_TRUE(std::all_of(first, first + size, [](int8_t o) { return o == 1; }));
      std::fill(first, first + size, int8_t{0});
      owned -= size;
      b.free(Pfn{s}, order);
    }
    ASSERT_EQ(b.free_frames() + b.allocated_frames(), frames);
    ASSERT_EQ(b.allocated_frames(), owned);
    ASSERT_EQ(total_free_blocks(b) + b.allocated_blocks(), initial_blocks + b.splits() - b.merges());
    if ((step & 255) == 0) {
      ASSERT_EQ(free_frames_from_lists(b), b.free_frames());
      const uint64_t f = rng() % (frames + 2);  // includes one PFN past the end
      const bool expect = f < frames && owner[f] == 1;
      ASSERT_EQ(b.is_allocated(Pfn{base + f}), expect) << "pfn 0x" << std::hex << base + f;
    }
  }
  EXPECT_GT(failed_allocs, 0u) << "stress never hit exhaustion";
  EXPECT_GT(b.merges(), 0u);

  for (const auto& [s, order] : live) b.free(Pfn{s}, order);
  EXPECT_EQ(b.free_frames(), frames);
  EXPECT_EQ(b.allocated_blocks(), 0u);
  EXPECT_EQ(buddyinfo(b), initial);
  EXPECT_EQ(b.splits(), b.merges());
}

TEST(Buddy, RandomStressUnalignedRange) {
  // 65536 frames at an odd base: exercises the partial blocks at both edges.
  run_stress(/*base=*/1000003, /*frames=*/65536, /*steps=*/2'000'000, /*seed=*/0x5eed'b0dd'1e5ull);
}

TEST(Buddy, RandomStressAlignedRange) {
  run_stress(/*base=*/0, /*frames=*/65536, /*steps=*/300'000, /*seed=*/42);
}

// Bytes the C library has handed out and not taken back (heap and mmapped chunks).
size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// Issue K item 11: allocating and freeing frames costs bit operations only. The allocator used to keep a
// std::set node per free block and a std::map node per allocated block, so every alloc and free went
// through the heap (a node allocation or release and an O(log n) search); 4096 frames held cost 4096
// map nodes. Now the heap use is the same with 4096 frames held as with none.
TEST(Buddy, AllocAndFreeNeverUseTheHeap) {
  BuddyAllocator b(Pfn{1000003}, uint64_t{1} << 20);
  std::vector<std::pair<uint64_t, unsigned>> held;
  held.reserve(8192);
  const size_t before = heap_in_use();
  for (int i = 0; i < 4096; ++i) held.emplace_back(b.alloc(0)->value(), 0);
  for (int i = 0; i < 512; ++i) held.emplace_back(b.alloc(static_cast<unsigned>(i % 11))->value(), i % 11);
  EXPECT_EQ(heap_in_use(), before) << "alloc() used the heap";
  for (size_t i = 0; i < held.size(); i += 2) b.free(Pfn{held[i].first}, held[i].second);
  EXPECT_TRUE(b.allocated_order(Pfn{held[1].first}).has_value());
  EXPECT_TRUE(b.is_allocated(Pfn{held[1].first}));
  for (size_t i = 1; i < held.size(); i += 2) b.free(Pfn{held[i].first}, held[i].second);
  EXPECT_EQ(heap_in_use(), before) << "free() used the heap";
  EXPECT_EQ(b.free_frames(), b.total_frames());
}

// The bitmaps answer exactly as the address-ordered free lists did: a reference model written as the
// specification (per order an ordered set of free starts; the smallest sufficient order's lowest block,
// split keeping the lower half; eager merges with free buddies inside the range) takes the same random
// steps, and every returned block, free count and error must agree.
TEST(Buddy, SameBlocksAsTheAddressOrderedReference) {
  struct Reference {
    uint64_t base, end;
    std::array<std::set<uint64_t>, kOrders> free;
    std::map<uint64_t, unsigned> allocated;
    Reference(uint64_t b, uint64_t n) : base(b), end(b + n) {
      for (uint64_t pos = b; pos < end;) {
        unsigned k = BuddyAllocator::kMaxOrder;
        while (k > 0 && ((pos & ((uint64_t{1} << k) - 1)) != 0 || (uint64_t{1} << k) > end - pos)) --k;
        free[k].insert(pos);
        pos += uint64_t{1} << k;
      }
    }
    std::optional<uint64_t> alloc(unsigned order) {
      unsigned have = order;
      while (have < kOrders && free[have].empty()) ++have;
      if (have == kOrders) return std::nullopt;
      const uint64_t s = *free[have].begin();
      free[have].erase(free[have].begin());
      while (have > order) {
        --have;
        free[have].insert(s + (uint64_t{1} << have));
      }
      allocated.emplace(s, order);
      return s;
    }
    void release(uint64_t s, unsigned order) {
      allocated.erase(s);
      while (order < BuddyAllocator::kMaxOrder) {
        const uint64_t buddy = s ^ (uint64_t{1} << order);
        if (buddy < base || buddy + (uint64_t{1} << order) > end || free[order].count(buddy) == 0) break;
        free[order].erase(buddy);
        s &= ~(uint64_t{1} << order);
        ++order;
      }
      free[order].insert(s);
    }
  };
  for (const auto& [base, frames, lazy_every] :
       {std::tuple<uint64_t, uint64_t, int>{1000003, 50000, 0}, {0, 1 << 16, 0}, {12345, 30000, 7}}) {
    BuddyAllocator b(Pfn{base}, frames);
    Reference ref(base, frames);
    std::mt19937_64 rng(base + frames);
    std::vector<std::pair<uint64_t, unsigned>> live;
    for (int step = 0; step < 200000; ++step) {
      if (lazy_every != 0 && step % 5000 == 0) b.set_lazy_coalescing((step / 5000) % lazy_every != 0);
      if (live.empty() || rng() % 100 < ((step >> 14) & 1 ? 40 : 60)) {
        const auto order = static_cast<unsigned>(rng() % kOrders);
        if (b.lazy_coalescing()) b.coalesce();  // the reference merges eagerly
        const std::optional<Pfn> got = b.alloc(order);
        const std::optional<uint64_t> want = ref.alloc(order);
        ASSERT_EQ(got.has_value(), want.has_value()) << "step " << step;
        if (!got) continue;
        ASSERT_EQ(got->value(), *want) << "step " << step << " order " << order;
        live.emplace_back(*want, order);
      } else {
        const size_t i = rng() % live.size();
        const auto [s, order] = live[i];
        live[i] = live.back();
        live.pop_back();
        b.free(Pfn{s}, order);
        ref.release(s, order);
      }
      if (step % 997 == 0) {
        if (b.lazy_coalescing()) b.coalesce();
        for (unsigned k = 0; k < kOrders; ++k) ASSERT_EQ(b.free_blocks(k), ref.free[k].size()) << "order " << k;
        const uint64_t probe = base + rng() % frames;
        auto owner = ref.allocated.upper_bound(probe);
        const bool inside = owner != ref.allocated.begin() &&
                            probe - std::prev(owner)->first < (uint64_t{1} << std::prev(owner)->second);
        ASSERT_EQ(b.is_allocated(Pfn{probe}), inside);
        auto exact = ref.allocated.find(probe);
        ASSERT_EQ(b.allocated_order(Pfn{probe}),
                  exact == ref.allocated.end() ? std::nullopt : std::optional<unsigned>(exact->second));
      }
    }
  }
}

// Construction speed of this range is measured by bench/micro_bench (BM_BuddyConstruct1TiB).
TEST(Buddy, LargeRangeConstructs) {
  const uint64_t frames = uint64_t{1} << 28;  // 1 TiB of 4 KiB frames
  BuddyAllocator b(Pfn{0}, frames);

  EXPECT_EQ(b.total_frames(), frames);
  EXPECT_EQ(b.free_blocks(10), frames >> 10);
  EXPECT_EQ(b.alloc(0), Pfn{0});
  EXPECT_EQ(b.alloc(10), Pfn{1024});
  EXPECT_EQ(b.alloc(5), Pfn{32});
  EXPECT_TRUE(b.is_allocated(Pfn{1024 + 1023}));
  EXPECT_FALSE(b.is_allocated(Pfn{frames - 1}));
  EXPECT_EQ(b.free_frames(), frames - 1 - 1024 - 32);
  b.free(Pfn{1024}, 10);
  b.free(Pfn{0}, 0);
  b.free(Pfn{32}, 5);
  EXPECT_EQ(b.free_blocks(10), frames >> 10);
  EXPECT_EQ(b.splits(), b.merges());
}

}  // namespace
}  // namespace vmsim::fw
