// Unit tests of the memory-tier map (firmware/kernel/tiering.*): demotion targets and the fallback order by
// node distance, on distance tables of real layouts.
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "firmware/kernel/tiering.hpp"

namespace vmsim::fw {
namespace {

TEST(Tiers, EachFastNodeDemotesToTheNearestSlowNode) {
  // Two sockets with a DDR node each (0, 1) and a CXL expander per socket (2 on socket 0, 3 on socket 1).
  const std::vector<std::vector<uint64_t>> d{{10, 21, 14, 25}, {21, 10, 25, 14}, {10, 21, 14, 25}, {21, 10, 25, 14}};
  const std::vector<bool> slow{false, false, true, true};
  const std::vector<std::optional<NodeId>> t = demotion_targets(slow, d);
  EXPECT_EQ(t[0], std::optional<NodeId>(2));
  EXPECT_EQ(t[1], std::optional<NodeId>(3));
  EXPECT_FALSE(t[2].has_value());  // slow nodes demote nowhere
  EXPECT_FALSE(t[3].has_value());
  // Equal distances: the lower id.
  EXPECT_EQ(demotion_targets({false, true, true}, {{10, 20, 20}, {20, 10, 20}, {20, 20, 10}})[0],
            std::optional<NodeId>(1));
  // No slow node: no target anywhere.
  for (const auto& x : demotion_targets({false, false}, {{10, 21}, {21, 10}})) EXPECT_FALSE(x.has_value());
}

TEST(Tiers, FallbackOrderIsByDistanceThenId) {
  // numa-4node-like: node 0's neighbours at 16 (node 1), 22 (nodes 2 and 3).
  const std::vector<std::vector<uint64_t>> d{{10, 16, 22, 22}, {16, 10, 22, 22}, {22, 22, 10, 16}, {22, 22, 16, 10}};
  EXPECT_EQ(fallback_order(0, d), (std::vector<NodeId>{1, 2, 3}));
  EXPECT_EQ(fallback_order(2, d), (std::vector<NodeId>{3, 0, 1}));
  // A far node with a low id comes after a near one with a higher id.
  EXPECT_EQ(fallback_order(0, {{10, 30, 12}, {30, 10, 30}, {12, 30, 10}}), (std::vector<NodeId>{2, 1}));
}

}  // namespace
}  // namespace vmsim::fw
