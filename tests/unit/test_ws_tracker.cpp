// Unit tests of the per-process working-set tracker: W(t, tau) on a known trace (exact and sampled
// references, by hand), agreement with the reference definition on a random trace, the thinned series.
#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <vector>

#include "firmware/swap/ref_sim.hpp"
#include "firmware/swap/ws_tracker.hpp"

namespace vmsim::fw {
namespace {

const std::vector<PageId> kTrace = {1, 2, 1, 3, 4, 4, 4, 2, 1};

TEST(WorkingSetTracker, ExactReferencesGiveDenningsSizesByHand) {
  // tau = 3 (see Replacement.WorkingSetSizesByHand): W = {1} {1,2} {1,2} {1,2,3} {1,3,4} {3,4} {4} {2,4} {1,2,4}.
  WorkingSetTracker w(3);
  std::vector<uint64_t> sizes;
  for (uint64_t t = 0; t < kTrace.size(); ++t) sizes.push_back(w.sample({kTrace[t]}, t));
  EXPECT_EQ(sizes, (std::vector<uint64_t>{1, 2, 2, 3, 3, 2, 1, 2, 3}));
  EXPECT_EQ(w.peak(), 3u);
  EXPECT_DOUBLE_EQ(w.mean(), 19.0 / 9.0);
  EXPECT_EQ(w.series().size(), 9u);
  EXPECT_EQ(w.series()[4], (std::pair<VirtualTime, uint64_t>{4, 3}));
}

TEST(WorkingSetTracker, SampledReferencesByHand) {
  // Scans after references 2, 5 and 8 report the pages referenced since the previous scan.
  //   t=2: {1,2} used at 2.  t=5: {3,4} at 5.  t=8: {4,2,1} at 8.
  // tau = 3: t=5 drops 1, 2 (5 - 2 = 3 is outside); t=8 drops 3. Sizes 2, 2, 3.
  // tau = 4: at t=5 pages 1, 2 (used at 2) are still in (5 - 2 < 4): size 4; at t=8 page 3 (used at 5) is
  // still in and 1, 2, 4 were used again: size 4. Sizes 2, 4, 4.
  for (auto [tau, want] : {std::pair<uint64_t, std::vector<uint64_t>>{3, {2, 2, 3}}, {4, {2, 4, 4}}}) {
    WorkingSetTracker w(tau);
    std::vector<uint64_t> sizes = {w.sample({1, 2}, 2), w.sample({3, 4}, 5), w.sample({4, 2, 1}, 8)};
    EXPECT_EQ(sizes, want) << "tau " << tau;
  }
  // A fault is a reference too; sizes can be read without recording.
  WorkingSetTracker w(10);
  w.reference(7, 0);
  w.reference(8, 5);
  EXPECT_EQ(w.size(9), 2u);
  EXPECT_EQ(w.size(10), 1u);  // page 7 used at 0: 10 - 0 = tau, outside
  EXPECT_EQ(w.size(15), 0u);
  EXPECT_EQ(w.samples(), 0u);
  EXPECT_TRUE(w.series().empty());
}

TEST(WorkingSetTracker, MatchesTheDefinitionOnARandomTrace) {
  std::mt19937 rng(5);
  std::vector<PageId> trace;
  for (int i = 0; i < 20000; ++i) trace.push_back(rng() % 100 < 80 ? rng() % 16 : rng() % 200);
  for (uint64_t tau : {1, 7, 50, 1000}) {
    const std::vector<uint64_t> want = working_set_sizes(trace, tau);
    WorkingSetTracker w(tau, 1u << 20);
    for (uint64_t t = 0; t < trace.size(); ++t) ASSERT_EQ(w.sample({trace[t]}, t), want[t]) << "tau " << tau << " t " << t;
  }
}

TEST(WorkingSetTracker, SeriesIsThinnedEvenly) {
  WorkingSetTracker w(5, 4);
  for (uint64_t t = 0; t < 10; ++t) w.sample({t}, t);
  // Points 0..3 fill the series; at sample 4 every other point goes and the stride becomes 2 (0, 2, 4, 6);
  // at sample 8 again (stride 4): 0, 4, 8.
  std::vector<VirtualTime> times;
  for (const auto& [t, n] : w.series()) times.push_back(t);
  EXPECT_EQ(times, (std::vector<VirtualTime>{0, 4, 8}));
  EXPECT_EQ(w.series().back().second, 5u);  // pages 4..8 in the window at t = 8
  EXPECT_EQ(w.samples(), 10u);
  EXPECT_EQ(w.peak(), 5u);
}

TEST(WorkingSetTracker, Errors) {
  EXPECT_THROW(WorkingSetTracker(0), std::invalid_argument);
  EXPECT_THROW(WorkingSetTracker(5, 1), std::invalid_argument);
  WorkingSetTracker w(5);
  w.sample({1}, 10);
  EXPECT_THROW(w.sample({1}, 9), std::logic_error);
  EXPECT_THROW(w.size(3), std::logic_error);
}

}  // namespace
}  // namespace vmsim::fw
