// Unit tests of the prefetchers: next-line, IP-stride and stream against hand-worked sequences.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "models/cache/prefetcher.hpp"

namespace vmsim::cache {
namespace {

using Lines = std::vector<uint64_t>;

Lines step(Prefetcher& p, uint64_t line, uint64_t ip = 0) {
  Lines out;
  p.on_access(line, ip, false, out);
  return out;
}

TEST(CachePrefetch, NextLine) {
  auto p = make_prefetcher(Prefetch::NextLine, 2);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(step(*p, 100), (Lines{101, 102}));
  EXPECT_EQ(step(*p, 100), (Lines{101, 102}));
  Lines out = {7};
  p->on_access(5, 0, true, out);
  EXPECT_EQ(out, (Lines{7, 6, 7}));  // appends, never clears
  EXPECT_EQ(make_prefetcher(Prefetch::None, 1), nullptr);
}

TEST(CachePrefetch, IpStrideHandWorked) {
  auto p = make_prefetcher(Prefetch::IpStride, 2);
  const uint64_t ip = 0x400;
  EXPECT_EQ(step(*p, 10, ip), Lines{});   // allocate
  EXPECT_EQ(step(*p, 12, ip), Lines{});   // stride 2, confidence 0
  EXPECT_EQ(step(*p, 14, ip), Lines{});   // confidence 1
  EXPECT_EQ(step(*p, 16, ip), (Lines{18, 20}));  // confidence 2
  EXPECT_EQ(step(*p, 16, ip), Lines{});   // same line: nothing
  EXPECT_EQ(step(*p, 18, ip), (Lines{20, 22}));  // confidence 3
  EXPECT_EQ(step(*p, 17, ip), (Lines{19, 21}));  // mismatch: confidence 2, stride kept
  EXPECT_EQ(step(*p, 15, ip), Lines{});   // mismatch: confidence 1
  EXPECT_EQ(step(*p, 17, ip), (Lines{19, 21}));  // +2 matches the stride: confidence 2
  // Another ip with the same index (0x440 % 64 == 0x400 % 64) replaces the entry.
  EXPECT_EQ(step(*p, 50, 0x440), Lines{});
  EXPECT_EQ(step(*p, 15, ip), Lines{});   // re-allocated
  // Negative strides, and nothing below line 0.
  const uint64_t ip2 = 0x7;
  for (uint64_t l : {100u, 97u, 94u}) EXPECT_EQ(step(*p, l, ip2), Lines{});
  EXPECT_EQ(step(*p, 91, ip2), (Lines{88, 85}));
  const uint64_t ip3 = 0x9;
  for (uint64_t l : {7u, 5u, 3u}) EXPECT_EQ(step(*p, l, ip3), Lines{});
  EXPECT_EQ(step(*p, 1, ip3), Lines{});
}

TEST(CachePrefetch, StreamHandWorkedWithinThePage) {
  auto p = make_prefetcher(Prefetch::Stream, 3, 64);  // 64 lines per 4 KiB page
  EXPECT_EQ(step(*p, 64), Lines{});                   // page 1: allocate
  EXPECT_EQ(step(*p, 65), Lines{});                   // ascending, confidence 1
  EXPECT_EQ(step(*p, 67), (Lines{68, 69, 70}));       // confidence 2
  EXPECT_EQ(step(*p, 126), (Lines{127}));             // stops at the page end
  EXPECT_EQ(step(*p, 120), Lines{});                  // turns: descending, confidence 1
  EXPECT_EQ(step(*p, 119), (Lines{118, 117, 116}));
  for (uint64_t l : {130u, 129u}) EXPECT_EQ(step(*p, l), Lines{});
  EXPECT_EQ(step(*p, 128), Lines{});                  // trained, but 127 is in the previous page

  // 128-byte lines: 32 lines per page.
  auto q = make_prefetcher(Prefetch::Stream, 4, 128);
  for (uint64_t l : {28u, 29u}) EXPECT_EQ(step(*q, l), Lines{});
  EXPECT_EQ(step(*q, 30), (Lines{31}));
}

TEST(CachePrefetch, StreamTableIsLru) {
  auto p = make_prefetcher(Prefetch::Stream, 1, 64);
  step(*p, 0);
  step(*p, 1);                                     // page 0 stream: confidence 1
  for (uint64_t page = 1; page <= 16; ++page) step(*p, page * 64);  // 16 new pages evict page 0's
  EXPECT_EQ(step(*p, 2), Lines{});                 // page 0 re-allocated, not trained
  auto q = make_prefetcher(Prefetch::Stream, 1, 64);
  step(*q, 0);
  step(*q, 1);
  for (uint64_t page = 1; page <= 15; ++page) step(*q, page * 64);  // 15: still room
  EXPECT_EQ(step(*q, 2), (Lines{3}));
}

}  // namespace
}  // namespace vmsim::cache
