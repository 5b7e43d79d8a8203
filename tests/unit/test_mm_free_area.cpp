// Unit tests for the buddyinfo formatter and the fragmentation indices, computed by hand.
#include <gtest/gtest.h>

#include <stdexcept>

#include "firmware/mm/free_area.hpp"

namespace vmsim::fw {
namespace {

TEST(FreeArea, Sums) {
  const FreeAreaCounts c = {4, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(free_pages(c), 4u + 4u + 1024u);
  EXPECT_EQ(free_blocks_total(c), 7u);
  EXPECT_EQ(free_blocks_suitable(c, 0), 4u + 4u + 1024u);
  EXPECT_EQ(free_blocks_suitable(c, 1), 2u + 512u);
  EXPECT_EQ(free_blocks_suitable(c, 2), 256u);
  EXPECT_EQ(free_blocks_suitable(c, 10), 1u);
  EXPECT_THROW(free_blocks_suitable(c, 11), std::invalid_argument);
}

TEST(FreeArea, BuddyinfoFormat) {
  std::vector<FreeAreaRow> rows;
  rows.push_back({0, "DMA", {1, 1, 1, 0, 2, 1, 1, 0, 1, 1, 3}});
  rows.push_back({1, "Normal", {223, 116, 35, 9, 0, 0, 0, 0, 0, 0, 712}});
  // Linux: "Node %d, zone %8s " then "%6lu " per order, then a newline.
  const std::string expected =
      "Node 0, zone      DMA      1      1      1      0      2      1      1      0      1      1      3 \n"
      "Node 1, zone   Normal    223    116     35      9      0      0      0      0      0      0    712 \n";
  EXPECT_EQ(format_buddyinfo(rows), expected);
  EXPECT_EQ(format_buddyinfo({}), "");
  const FreeAreaCounts sum = sum_free_area(rows);
  EXPECT_EQ(sum[0], 224u);
  EXPECT_EQ(sum[10], 715u);
}

// counts: four order-0 blocks and two order-1 blocks -> 8 free pages in 6 blocks.
TEST(FreeArea, ExtfragIndexByHand) {
  const FreeAreaCounts c = {4, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_DOUBLE_EQ(extfrag_index(c, 0), -1.0);  // a suitable block exists
  EXPECT_DOUBLE_EQ(extfrag_index(c, 1), -1.0);
  // order 2: requested 4, 1 - (1 + 8/4) / 6 = 1 - 3/6 = 0.5
  EXPECT_DOUBLE_EQ(extfrag_index(c, 2), 0.5);
  // order 3: requested 8, 1 - (1 + 1) / 6 = 2/3
  EXPECT_DOUBLE_EQ(extfrag_index(c, 3), 2.0 / 3.0);
  // order 10: requested 1024, 1 - (1 + 8/1024) / 6 = 0.83203125
  EXPECT_DOUBLE_EQ(extfrag_index(c, 10), 1.0 - (1.0 + 8.0 / 1024.0) / 6.0);
  // Linux integer form: 1000 - (1000 + 8000/4)/6 = 1000 - 500 = 500; order 3: 1000 - 2000/6 = 1000 - 333.
  EXPECT_EQ(extfrag_index_milli(c, 1), -1000);
  EXPECT_EQ(extfrag_index_milli(c, 2), 500);
  EXPECT_EQ(extfrag_index_milli(c, 3), 667);
  // order 10: 1000 - (1000 + 8000/1024)/6 = 1000 - 1007/6 = 1000 - 167 = 833
  EXPECT_EQ(extfrag_index_milli(c, 10), 833);
}

TEST(FreeArea, ExtfragIndexEdges) {
  const FreeAreaCounts none{};
  EXPECT_DOUBLE_EQ(extfrag_index(none, 4), 0.0);  // no free blocks: failure is lack of memory
  EXPECT_EQ(extfrag_index_milli(none, 4), 0);
  // Many scattered single frames: close to 1 (failure due to fragmentation).
  const FreeAreaCounts scattered = {1000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_DOUBLE_EQ(extfrag_index(scattered, 10), 1.0 - (1.0 + 1000.0 / 1024.0) / 1000.0);
  EXPECT_GT(extfrag_index(scattered, 10), 0.99);
  // A single block half the request: the formula dips below 0 (as in Linux): 1 - (1 + 2/4)/1 = -0.5.
  const FreeAreaCounts one = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_DOUBLE_EQ(extfrag_index(one, 2), -0.5);
  EXPECT_EQ(extfrag_index_milli(one, 2), -500);
  EXPECT_THROW(extfrag_index(one, 11), std::invalid_argument);
  // {2, 1, 1}: 8 pages in 4 blocks; order 3: 1 - (1 + 8/8)/4 = 0.5.
  const FreeAreaCounts mixed = {2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_DOUBLE_EQ(extfrag_index(mixed, 2), -1.0);
  EXPECT_DOUBLE_EQ(extfrag_index(mixed, 3), 0.5);
  EXPECT_EQ(extfrag_index_milli(mixed, 3), 500);
}

TEST(FreeArea, UnusableFreeIndexByHand) {
  const FreeAreaCounts c = {4, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_DOUBLE_EQ(unusable_free_index(c, 0), 0.0);  // every free page serves an order-0 request
  EXPECT_DOUBLE_EQ(unusable_free_index(c, 1), 0.5);  // (8 - 2*2) / 8
  EXPECT_DOUBLE_EQ(unusable_free_index(c, 2), 1.0);  // nothing of order >= 2
  const FreeAreaCounts mixed = {2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};  // 8 pages
  EXPECT_DOUBLE_EQ(unusable_free_index(mixed, 1), 0.25);  // suitable 1 + 2 = 3 order-1 blocks -> 6 pages
  EXPECT_DOUBLE_EQ(unusable_free_index(mixed, 2), 0.5);   // one order-2 block -> 4 pages
  EXPECT_DOUBLE_EQ(unusable_free_index(FreeAreaCounts{}, 3), 1.0);  // nothing free: all "unusable" (Linux)
  EXPECT_THROW(unusable_free_index(c, 11), std::invalid_argument);
}

TEST(FreeArea, IndexTablesLikeDebugfs) {
  std::vector<FreeAreaRow> rows;
  rows.push_back({0, "Normal", {4, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0}});
  rows.push_back({1, "DMA", {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}});
  // extfrag: orders 0-1 have suitable blocks (-1.000); order k >= 2: 1000 - (1000 + 8000/2^k)/6 truncated.
  // order 2: 500, 3: 667, 4: 1000 - 1500/6 = 750, 5: 1000 - 1250/6 = 792, 6: 1000 - 1125/6 = 813,
  // 7: 1000 - 1062/6 = 823, 8: 1000 - 1031/6 = 829, 9: 1000 - 1015/6 = 831, 10: 1000 - 1007/6 = 833.
  // Row 2: order 0-1 -1.000; order 2: 1000 - 1500/1 = -500; order k >= 3: 1000 - (1000 + 2000/2^k).
  const std::string extfrag =
      "Node 0, zone   Normal -1.000 -1.000  0.500  0.667  0.750  0.792  0.813  0.823  0.829  0.831  0.833 \n"
      "Node 1, zone      DMA -1.000 -1.000 -0.500 -0.250 -0.125 -0.062 -0.031 -0.015 -0.007 -0.003 -0.001 \n";
  EXPECT_EQ(format_extfrag_index(rows), extfrag);
  // unusable: row 1 = (8 - suitable(k) * 2^k) / 8 -> 0, 0.5, 1, ...; row 2 = 2 pages in one order-1 block.
  const std::string unusable =
      "Node 0, zone   Normal 0.000 0.500 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 \n"
      "Node 1, zone      DMA 0.000 0.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 \n";
  EXPECT_EQ(format_unusable_index(rows), unusable);
  EXPECT_EQ(unusable_free_index_milli(FreeAreaCounts{}, 0), 1000);
}

}  // namespace
}  // namespace vmsim::fw
