// VMA set range operations: split on mprotect/mbind/mlock-style changes, merge of equal neighbours,
// removal across several areas, brk resize, and top-down gap search.
#include <gtest/gtest.h>

#include "firmware/vm/vma.hpp"

namespace vmsim {
namespace {

using fw::Vma;
using fw::VmaSet;
constexpr uint8_t kRw = fw::prot::kRead | fw::prot::kWrite;
constexpr uint8_t kR = fw::prot::kRead;

std::vector<std::pair<uint64_t, uint64_t>> ranges(const VmaSet& s) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const auto& [k, v] : s) out.emplace_back(v.start.value(), v.end.value());
  return out;
}

TEST(VmaOps, ProtectMiddleSplitsIntoThreeAndRestoringMergesBack) {
  VmaSet s;
  s.insert(Vma{VirtAddr{0x10000}, VirtAddr{0x20000}, kRw, "a"});
  size_t n = s.modify(VirtAddr{0x14000}, VirtAddr{0x16000}, [](Vma& v) { v.prot = kR; });
  EXPECT_EQ(n, 1u);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(ranges(s), (std::vector<std::pair<uint64_t, uint64_t>>{
                           {0x10000, 0x14000}, {0x14000, 0x16000}, {0x16000, 0x20000}}));
  EXPECT_EQ(s.find(VirtAddr{0x15000})->prot, kR);
  EXPECT_EQ(s.find(VirtAddr{0x13000})->prot, kRw);
  EXPECT_EQ(s.find(VirtAddr{0x16000})->prot, kRw);
  // Back to rw: the three areas are equal again and merge into one.
  s.modify(VirtAddr{0x14000}, VirtAddr{0x16000}, [](Vma& v) { v.prot = kRw; });
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(ranges(s).front(), (std::pair<uint64_t, uint64_t>{0x10000, 0x20000}));
}

TEST(VmaOps, ProtectAtEdgesSplitsIntoTwoAndSpansSeveralAreas) {
  VmaSet s;
  s.insert(Vma{VirtAddr{0x10000}, VirtAddr{0x20000}, kRw, "a"});
  s.insert(Vma{VirtAddr{0x20000}, VirtAddr{0x30000}, kR, "b"});
  // A range covering the end of a and the start of b: both split, the middle pieces become equal (r--)
  // and merge with b's rest.
  size_t n = s.modify(VirtAddr{0x1C000}, VirtAddr{0x24000}, [](Vma& v) { v.prot = kR; });
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(ranges(s), (std::vector<std::pair<uint64_t, uint64_t>>{{0x10000, 0x1C000}, {0x1C000, 0x30000}}));
  // Different flags keep areas apart even with equal protections.
  s.modify(VirtAddr{0x10000}, VirtAddr{0x11000}, [](Vma& v) { v.locked = true; });
  EXPECT_EQ(s.size(), 3u);
  EXPECT_TRUE(s.find(VirtAddr{0x10000})->locked);
  EXPECT_FALSE(s.find(VirtAddr{0x11000})->locked);
}

TEST(VmaOps, PolicyChangeSplitsAndEqualPoliciesMerge) {
  VmaSet s;
  s.insert(Vma{VirtAddr{0x100000}, VirtAddr{0x200000}, kRw, "a"});
  fw::NumaPolicy bind{fw::NumaPolicyKind::Bind, {1}};
  s.modify(VirtAddr{0x100000}, VirtAddr{0x180000}, [&](Vma& v) { v.policy = bind; });
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s.find(VirtAddr{0x100000})->policy, bind);
  EXPECT_EQ(s.find(VirtAddr{0x180000})->policy.kind, fw::NumaPolicyKind::Default);
  s.modify(VirtAddr{0x180000}, VirtAddr{0x200000}, [&](Vma& v) { v.policy = bind; });
  EXPECT_EQ(s.size(), 1u);
}

TEST(VmaOps, SegmentAreasMergeOnlyWhenOffsetsContinue) {
  VmaSet s;
  Vma a{VirtAddr{0x10000}, VirtAddr{0x12000}, kRw, "shm"};
  a.shm = 7;
  a.shared = true;
  Vma b = a;
  b.start = VirtAddr{0x12000};
  b.end = VirtAddr{0x14000};
  b.shm_offset = 0x4000;  // not 0x2000: a different part of the segment
  s.insert(a);
  s.insert(b);
  EXPECT_EQ(s.merge_around(VirtAddr{0x10000}, VirtAddr{0x14000}), 0u);
  // A split keeps offsets consistent: the right half starts further into the segment.
  s.modify(VirtAddr{0x11000}, VirtAddr{0x12000}, [](Vma& v) { v.prot = kR; });
  EXPECT_EQ(s.find(VirtAddr{0x11000})->shm_offset, 0x1000u);
}

TEST(VmaOps, RemoveAcrossAreasCoversAndOverlaps) {
  VmaSet s;
  s.insert(Vma{VirtAddr{0x10000}, VirtAddr{0x20000}, kRw, "a"});
  s.insert(Vma{VirtAddr{0x30000}, VirtAddr{0x40000}, kR, "b"});
  EXPECT_TRUE(s.covers(VirtAddr{0x11000}, VirtAddr{0x20000}));
  EXPECT_FALSE(s.covers(VirtAddr{0x11000}, VirtAddr{0x31000}));
  EXPECT_TRUE(s.overlaps(VirtAddr{0x1F000}, VirtAddr{0x25000}));
  EXPECT_FALSE(s.overlaps(VirtAddr{0x20000}, VirtAddr{0x30000}));
  EXPECT_EQ(s.remove(VirtAddr{0x18000}, VirtAddr{0x38000}), 0x8000u + 0x8000u);
  EXPECT_EQ(ranges(s), (std::vector<std::pair<uint64_t, uint64_t>>{{0x10000, 0x18000}, {0x38000, 0x40000}}));
  EXPECT_EQ(s.remove(VirtAddr{0x50000}, VirtAddr{0x60000}), 0u);
}

TEST(VmaOps, ResizeForBrkAndTopDownGapSearch) {
  VmaSet s;
  s.insert(Vma{VirtAddr{0x10000}, VirtAddr{0x11000}, kRw, "heap"});
  s.insert(Vma{VirtAddr{0x20000}, VirtAddr{0x21000}, kRw, "next"});
  EXPECT_TRUE(s.resize(VirtAddr{0x10000}, VirtAddr{0x20000}));
  EXPECT_FALSE(s.resize(VirtAddr{0x10000}, VirtAddr{0x21000}));  // would overlap "next"
  EXPECT_FALSE(s.resize(VirtAddr{0x12000}, VirtAddr{0x13000}));  // no area starts there
  EXPECT_TRUE(s.resize(VirtAddr{0x10000}, VirtAddr{0x12000}));
  // Below 0x100000: the highest 64 KiB gap is [0xF0000, 0x100000).
  EXPECT_EQ(s.find_gap_below(0x100000, 0x1000, 0x10000, 0x1000), 0xF0000u);
  // A gap that must fit under "next": 0x21000.. is free up to 0x30000, [0x12000, 0x20000) below.
  s.insert(Vma{VirtAddr{0x21000}, VirtAddr{0x100000}, kRw, "big"});
  EXPECT_EQ(s.find_gap_below(0x100000, 0x1000, 0x4000, 0x1000), 0x1C000u);
  // 64 KiB alignment: neither [0x12000, 0x20000) nor [0x1000, 0x10000) holds an aligned 16 KiB block.
  EXPECT_EQ(s.find_gap_below(0x100000, 0x1000, 0x4000, 0x10000), 0u);
  EXPECT_EQ(s.find_gap_below(0x100000, 0x1000, 0x100000, 0x1000), 0u);
}

}  // namespace
}  // namespace vmsim
