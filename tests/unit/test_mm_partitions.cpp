// Unit tests for the variable-partition allocator (placement policies by hand, hole merging, compaction,
// metrics, random invariants) and the steady-state fragmentation experiment.
#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "firmware/mm/frag_experiment.hpp"
#include "firmware/mm/partitions.hpp"

namespace vmsim::fw {
namespace {

// Arena [0, 1000): blocks a[0,100) b[100,110) c[110,160) d[160,170) e[170,370) f[370,1000); freeing a, c, e
// leaves holes of 100 @0, 50 @110 and 200 @170. The last placement (f) ends at 1000.
PartitionAllocator three_holes(Placement p) {
  PartitionAllocator m(0, 1000, p);
  for (uint64_t size : {100, 10, 50, 10, 200, 630}) EXPECT_TRUE(m.allocate(size).has_value());
  m.free(0);
  m.free(110);
  m.free(170);
  EXPECT_EQ(m.hole_list(), (std::vector<Extent>{{0, 100}, {110, 50}, {170, 200}}));
  return m;
}

TEST(Partitions, FirstFit) {
  PartitionAllocator m = three_holes(Placement::FirstFit);
  EXPECT_EQ(m.allocate(40), 0u);   // first hole
  EXPECT_EQ(m.allocate(40), 40u);  // the 60 left of it
  EXPECT_EQ(m.allocate(40), 110u); // 20 left at 80: too small; next is the 50
  EXPECT_EQ(m.hole_list(), (std::vector<Extent>{{80, 20}, {150, 10}, {170, 200}}));
}

TEST(Partitions, BestFit) {
  PartitionAllocator m = three_holes(Placement::BestFit);
  EXPECT_EQ(m.allocate(40), 110u);  // the 50
  EXPECT_EQ(m.allocate(60), 0u);    // the 100 (smallest >= 60; the 200 is larger)
  EXPECT_EQ(m.allocate(40), 60u);   // the 40 left of it, exactly
  EXPECT_EQ(m.hole_list(), (std::vector<Extent>{{150, 10}, {170, 200}}));
}

TEST(Partitions, WorstFit) {
  PartitionAllocator m = three_holes(Placement::WorstFit);
  EXPECT_EQ(m.allocate(40), 170u);   // the 200
  EXPECT_EQ(m.allocate(40), 210u);   // 160 left there, still the largest
  EXPECT_EQ(m.allocate(100), 250u);  // 120 left there -> 20
  EXPECT_EQ(m.allocate(30), 0u);     // now the 100 is largest
  // Equal largest holes: the lower address wins.
  PartitionAllocator t(0, 300, Placement::WorstFit);
  for (uint64_t size : {100, 10, 100, 90}) ASSERT_TRUE(t.allocate(size));
  t.free(0);
  t.free(110);
  EXPECT_EQ(t.allocate(5), 0u);
}

TEST(Partitions, NextFit) {
  PartitionAllocator m = three_holes(Placement::NextFit);
  EXPECT_EQ(m.rover(), 1000u);
  // The rover is at the end: the search wraps to the first hole.
  EXPECT_EQ(m.allocate(40), 0u);
  EXPECT_EQ(m.rover(), 40u);
  // 150 fits only the 200 hole; the rover moves to 320, inside what is left of it.
  EXPECT_EQ(m.allocate(150), 170u);
  EXPECT_EQ(m.rover(), 320u);
  // Next fit continues from there (50 left @320), where first fit would take the hole at 40.
  EXPECT_EQ(m.allocate(40), 320u);
  PartitionAllocator ff = three_holes(Placement::FirstFit);
  ff.allocate(40);
  ff.allocate(150);
  EXPECT_EQ(ff.allocate(40), 40u);
  // 10 left @360; a request of 50 wraps around to the start: 60 @40 fits.
  EXPECT_EQ(m.allocate(50), 40u);
  EXPECT_EQ(m.rover(), 90u);
  // Nothing fits: unchanged.
  EXPECT_FALSE(m.allocate(60).has_value());
  EXPECT_EQ(m.rover(), 90u);
}

TEST(Partitions, NextFitRoverInsideMergedHole) {
  PartitionAllocator m(0, 100, Placement::NextFit);
  ASSERT_EQ(m.allocate(10), 0u);
  ASSERT_EQ(m.allocate(10), 10u);
  ASSERT_EQ(m.allocate(10), 20u);  // rover 30
  m.free(10);
  m.free(20);  // hole [10, 100) contains the rover
  EXPECT_EQ(m.allocate(5), 10u);  // search starts at that hole, placement at its start
}

TEST(Partitions, FreeMergesNeighbours) {
  PartitionAllocator m(0, 100);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(m.allocate(25));
  m.free(25);
  m.free(75);
  EXPECT_EQ(m.holes(), 2u);
  m.free(50);  // merges with both neighbours
  EXPECT_EQ(m.hole_list(), (std::vector<Extent>{{25, 75}}));
  m.free(0);
  EXPECT_EQ(m.hole_list(), (std::vector<Extent>{{0, 100}}));
  EXPECT_EQ(m.blocks(), 0u);
  EXPECT_EQ(m.used_bytes(), 0u);
}

TEST(Partitions, MetricsAndErrors) {
  PartitionAllocator m = three_holes(Placement::FirstFit);
  EXPECT_EQ(m.free_bytes(), 350u);
  EXPECT_EQ(m.used_bytes(), 650u);
  EXPECT_EQ(m.largest_hole(), 200u);
  EXPECT_EQ(m.blocks(), 3u);
  EXPECT_EQ(m.holes(), 3u);
  EXPECT_DOUBLE_EQ(m.external_fragmentation(), 1.0 - 200.0 / 350.0);
  EXPECT_EQ(m.free_bytes_in_holes_below(100), 50u);
  EXPECT_EQ(m.free_bytes_in_holes_below(101), 150u);
  EXPECT_EQ(m.block_size(100), 10u);
  EXPECT_FALSE(m.block_size(101).has_value());
  EXPECT_FALSE(m.allocate(201).has_value());  // 350 free, no hole large enough
  EXPECT_EQ(m.free_bytes(), 350u);
  EXPECT_THROW(m.free(0), std::logic_error);    // a hole
  EXPECT_THROW(m.free(105), std::logic_error);  // inside a block
  EXPECT_THROW(m.allocate(0), std::invalid_argument);
  EXPECT_THROW(PartitionAllocator(0, 0), std::invalid_argument);
  EXPECT_THROW(PartitionAllocator(~uint64_t{0}, 2), std::invalid_argument);
  PartitionAllocator full(0, 10);
  ASSERT_TRUE(full.allocate(10));
  EXPECT_DOUBLE_EQ(full.external_fragmentation(), 0.0);
  EXPECT_EQ(full.holes(), 0u);
}

TEST(Partitions, CompactionMergesAllHoles) {
  PartitionAllocator m = three_holes(Placement::FirstFit);
  const CompactionResult r = m.compact();
  // b 100->0 (10), d 160->10 (10), f 370->20 (630).
  EXPECT_EQ(r.moved_blocks, 3u);
  EXPECT_EQ(r.moved_bytes, 650u);
  ASSERT_EQ(r.relocations.size(), 3u);
  EXPECT_EQ(r.relocations[0].from, 100u);
  EXPECT_EQ(r.relocations[0].to, 0u);
  EXPECT_EQ(r.relocations[2].from, 370u);
  EXPECT_EQ(r.relocations[2].to, 20u);
  EXPECT_EQ(r.relocations[2].size, 630u);
  EXPECT_EQ(m.hole_list(), (std::vector<Extent>{{650, 350}}));
  EXPECT_EQ(m.block_list(), (std::vector<Extent>{{0, 10}, {10, 10}, {20, 630}}));
  EXPECT_DOUBLE_EQ(m.external_fragmentation(), 0.0);
  EXPECT_EQ(m.largest_hole(), 350u);
  EXPECT_EQ(m.rover(), 650u);
  EXPECT_EQ(m.allocate(350), 650u);  // the request that failed before now fits
  // Already compact: nothing moves.
  const CompactionResult again = m.compact();
  EXPECT_EQ(again.moved_bytes, 0u);
  EXPECT_TRUE(again.relocations.empty());
  m.free(10);
  EXPECT_EQ(m.compact().moved_bytes, 630u + 350u);
}

// Random alloc/free under every policy: blocks and holes tile the arena exactly, no two holes touch,
// counters agree with the lists, and compaction keeps every block (sizes in order) and leaves <= 1 hole.
TEST(Partitions, RandomInvariants) {
  for (Placement p : {Placement::FirstFit, Placement::BestFit, Placement::WorstFit, Placement::NextFit}) {
    PartitionAllocator m(1000, 50000, p);
    std::mt19937_64 rng(5);
    std::vector<uint64_t> live;
    for (int step = 0; step < 20000; ++step) {
      if (live.empty() || rng() % 100 < 55) {
        if (auto a = m.allocate(1 + rng() % 700)) live.push_back(*a);
      } else {
        const size_t i = rng() % live.size();
        m.free(live[i]);
        live[i] = live.back();
        live.pop_back();
      }
      if (step % 97 == 0 || step == 19999) {
        const auto holes = m.hole_list();
        const auto blocks = m.block_list();
        ASSERT_EQ(blocks.size(), live.size());
        size_t h = 0, b = 0;
        uint64_t pos = m.base(), free_sum = 0, largest = 0;
        bool last_was_hole = false;
        while (h < holes.size() || b < blocks.size()) {
          if (h < holes.size() && holes[h].start == pos) {
            ASSERT_FALSE(last_was_hole) << "adjacent holes";
            pos += holes[h].size;
            free_sum += holes[h].size;
            largest = std::max(largest, holes[h].size);
            ++h;
            last_was_hole = true;
          } else {
            ASSERT_LT(b, blocks.size());
            ASSERT_EQ(blocks[b].start, pos) << "gap or overlap";
            pos += blocks[b].size;
            ++b;
            last_was_hole = false;
          }
        }
        ASSERT_EQ(pos, m.end());
        ASSERT_EQ(free_sum, m.free_bytes());
        ASSERT_EQ(largest, m.largest_hole());
        ASSERT_EQ(m.free_bytes() + m.used_bytes(), m.total_bytes());
      }
    }
    const auto before = m.block_list();
    const CompactionResult r = m.compact();
    const auto after = m.block_list();
    ASSERT_EQ(after.size(), before.size());
    uint64_t moved = 0;
    for (size_t i = 0; i < before.size(); ++i) {
      EXPECT_EQ(after[i].size, before[i].size);
      if (after[i].start != before[i].start) moved += before[i].size;
    }
    EXPECT_EQ(r.moved_bytes, moved);
    EXPECT_LE(m.holes(), 1u);
    EXPECT_GT(m.holes_examined(), 0u);
  }
}

FragExperimentConfig small_experiment() {
  FragExperimentConfig c;
  c.arena = 256 * 1024;
  c.steps = 20000;
  c.min_size = 64;
  c.max_size = 4096;
  c.mean_lifetime = 100;  // load ~ 100 * 2 KiB = 200 KiB of 256 KiB
  c.sample_every = 500;
  return c;
}

TEST(FragExperiment, DeterministicAndSampled) {
  const FragExperimentConfig c = small_experiment();
  const FragExperimentResult a = run_frag_experiment(c);
  const FragExperimentResult b = run_frag_experiment(c);
  ASSERT_EQ(a.samples.size(), 40u);
  ASSERT_EQ(b.samples.size(), a.samples.size());
  for (size_t i = 0; i < a.samples.size(); ++i) {
    EXPECT_EQ(frag_csv_row("x", a.samples[i]), frag_csv_row("x", b.samples[i]));
    EXPECT_EQ(a.samples[i].step, 500u * (i + 1));
    EXPECT_EQ(a.samples[i].used_bytes + a.samples[i].free_bytes, c.arena);
  }
  EXPECT_EQ(a.requests, c.steps);
  EXPECT_EQ(a.allocations + a.failures, a.requests);
  EXPECT_GT(a.failures, 0u);
  EXPECT_GT(a.mean_utilization, 0.5);
  EXPECT_LT(a.mean_utilization, 1.0);
  // Internal waste: rounding to 16 bytes wastes 7.5 bytes per block on average.
  EXPECT_NEAR(a.mean_internal_waste / a.mean_blocks, 7.5, 1.0);
  FragExperimentConfig other = c;
  other.seed = 2;
  EXPECT_NE(run_frag_experiment(other).allocations, a.allocations);
}

TEST(FragExperiment, LastStepAlwaysSampled) {
  FragExperimentConfig c = small_experiment();
  c.steps = 1234;
  const FragExperimentResult r = run_frag_experiment(c);
  ASSERT_EQ(r.samples.size(), 3u);
  EXPECT_EQ(r.samples.back().step, 1234u);
}

TEST(FragExperiment, CompactionOnFailureHelps) {
  FragExperimentConfig c = small_experiment();
  c.mean_lifetime = 130;  // overloaded: ~260 KiB wanted of 256 KiB
  const FragExperimentResult never = run_frag_experiment(c);
  c.compaction = CompactionMode::OnFailure;
  const FragExperimentResult compact = run_frag_experiment(c);
  EXPECT_EQ(never.compactions, 0u);
  EXPECT_GT(compact.compactions, 0u);
  EXPECT_GT(compact.moved_bytes, 0u);
  EXPECT_LT(compact.failures, never.failures);
  EXPECT_GT(compact.mean_utilization, never.mean_utilization);
  EXPECT_EQ(compact.samples.back().compactions, compact.compactions);
}

TEST(FragExperiment, ExponentialSizesAndPolicies) {
  FragExperimentConfig c = small_experiment();
  c.distribution = SizeDistribution::Exponential;
  c.mean_size = 512;
  c.mean_lifetime = 300;
  for (Placement p : {Placement::FirstFit, Placement::BestFit, Placement::WorstFit, Placement::NextFit}) {
    c.policy = p;
    const FragExperimentResult r = run_frag_experiment(c);
    EXPECT_GT(r.mean_blocks, 100.0) << config::enum_name(p);
    // Knuth's fifty-percent rule: holes ~ blocks / 2 in equilibrium for first-fit-like policies; a loose band.
    EXPECT_GT(r.mean_holes / r.mean_blocks, 0.1) << config::enum_name(p);
    EXPECT_LT(r.mean_holes / r.mean_blocks, 0.9) << config::enum_name(p);
    EXPECT_GT(r.holes_examined, 0u);
  }
}

TEST(FragExperiment, RejectsBadConfig) {
  FragExperimentConfig c = small_experiment();
  c.max_size = 10;  // < min_size
  EXPECT_THROW(run_frag_experiment(c), std::invalid_argument);
  c = small_experiment();
  c.distribution = SizeDistribution::Exponential;
  c.mean_size = 5000;
  try {
    c.validate("fragsim");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("fragsim.mean_size: bad value '5000'"), std::string::npos) << e.what();
  }
  c = small_experiment();
  c.sample_every = 0;
  EXPECT_THROW(run_frag_experiment(c), std::invalid_argument);
  c = small_experiment();
  c.max_size = c.arena + 1;
  EXPECT_THROW(run_frag_experiment(c), std::invalid_argument);
}

TEST(FragExperiment, CsvFormat) {
  FragSample s;
  s.step = 10;
  s.blocks = 3;
  s.holes = 2;
  s.used_bytes = 100;
  s.free_bytes = 50;
  s.largest_hole = 40;
  s.external_fragmentation = 0.2;
  s.internal_waste = 7;
  s.unusable_free = 10;
  s.failures = 1;
  s.compactions = 0;
  EXPECT_EQ(frag_csv_header(),
            "policy,step,blocks,holes,used_bytes,free_bytes,largest_hole,external_fragmentation,internal_waste,"
            "unusable_free,failures,compactions\n");
  EXPECT_EQ(frag_csv_row("best-fit", s), "best-fit,10,3,2,100,50,40,0.200000,7,10,1,0\n");
}

}  // namespace
}  // namespace vmsim::fw
