// Unit test: the firmware's per-core scheduler decisions (fw::RunQueue) without SystemC or a core.
#include <gtest/gtest.h>

#include "firmware/fixed/fixed_firmware.hpp"
#include "firmware/sched/load_balance.hpp"
#include "firmware/sched/run_queue.hpp"

namespace vmsim {
namespace {

fw::ProcessSpec spec(size_t index, int parent) {
  fw::ProcessSpec s;
  s.name = "p" + std::to_string(index);
  s.index = index;
  s.parent = parent;
  return s;
}

TEST(RunQueue, RoundRobinWithStartTimesBlocksAndForks) {
  // The fixed firmware answers spawn states: a forked process (parent >= 0) is never created (Aborted).
  const fw::FixedFirmware trap(fw::FixedFirmwareConfig{}, {fw::NodeRange{Pfn{0}, 1024}}, {0},
                               {spec(0, -1), spec(1, -1), spec(2, 0), spec(3, -1)});
  fw::RunQueue q({{-1, 0, 0}, {-1, 1, 0}, {0, 2, 0}, {-1, 3, 5000}}, /*time_slice=*/100);
  fw::Scheduler::Pick p = q.pick(0, trap);
  ASSERT_EQ(p.task, 0u);
  q.created(0, 1);
  q.ran(0, false, 0);  // preempted: the cursor moves on
  EXPECT_EQ(q.pick(0, trap).task, 1u);
  q.created(1, 2);
  q.ran(1, false, 900);  // blocked until 900 ps
  // Task 2 is a fork that will never happen (finished), task 3 starts at 5000: back to task 0.
  p = q.pick(100, trap);
  EXPECT_EQ(p.task, 0u);
  EXPECT_EQ(q.next_wake_except(0), 900u);
  q.ran(0, true, 0);  // ended
  p = q.pick(200, trap);
  EXPECT_EQ(p.task, SIZE_MAX);
  EXPECT_EQ(p.earliest_ps, 900u);  // the blocked task wakes before task 3 starts
  EXPECT_FALSE(p.all_done());
  p = q.pick(900, trap);
  ASSERT_EQ(p.task, 1u);
  EXPECT_TRUE(q.take_resume(1));   // it resumes its interrupted operation
  EXPECT_FALSE(q.take_resume(1));
  q.ran(1, true, 0);
  p = q.pick(1000, trap);
  EXPECT_EQ(p.task, SIZE_MAX);
  EXPECT_EQ(p.earliest_ps, 5000u);
  EXPECT_EQ(q.pick(5000, trap).task, 3u);
  q.created(3, 4);
  q.ran(3, true, 0);
  EXPECT_TRUE(q.pick(6000, trap).all_done());
}

TEST(RunQueue, WithoutATimeSliceEachRunsToItsEndInListOrder) {
  const fw::FixedFirmware trap(fw::FixedFirmwareConfig{}, {fw::NodeRange{Pfn{0}, 1024}}, {0},
                               {spec(0, -1), spec(1, -1)});
  fw::RunQueue q({{-1, 0, 0}, {-1, 1, 0}}, 0);
  EXPECT_EQ(q.pick(0, trap).task, 0u);
  q.created(0, 1);
  q.ran(0, false, 0);  // blocked without a wake time or preempted: slice 0 keeps the list order
  EXPECT_EQ(q.pick(0, trap).task, 0u);
  q.ran(0, true, 0);
  EXPECT_EQ(q.pick(0, trap).task, 1u);
}

TEST(RunQueue, MigrationRemovesMovesAndAdoptsTasks) {
  const fw::FixedFirmware trap(fw::FixedFirmwareConfig{}, {fw::NodeRange{Pfn{0}, 1024}}, {0, 0},
                               {spec(0, -1), spec(1, -1), spec(2, -1), spec(3, -1)});
  fw::RunQueue q({{-1, 0, 0}, {-1, 1, 0}, {-1, 2, 0}}, /*time_slice=*/100);
  EXPECT_EQ(q.load(), 3u);
  ASSERT_EQ(q.pick(0, trap).task, 0u);
  q.created(0, 1);
  // Running task 0 is never movable; the last waiting one is (created or not).
  EXPECT_EQ(q.movable(0), 2u);
  q.ran(0, false, 0);
  ASSERT_EQ(q.pick(0, trap).task, 1u);
  q.created(1, 2);
  q.ran(1, false, 700);  // blocked: not movable
  q.remove(2);           // task 2 left for another core
  EXPECT_EQ(q.load(), 2u);
  EXPECT_EQ(q.movable(SIZE_MAX), 0u);
  EXPECT_EQ(q.movable(0), SIZE_MAX);
  // A task arriving created from another core runs without being created again.
  const size_t k = q.adopt({-1, 3, 0}, Pid{9});
  EXPECT_EQ(k, 3u);
  EXPECT_EQ(q.pid(k), std::optional<Pid>(9));
  EXPECT_EQ(q.load(), 3u);
  q.ran(0, true, 0);
  EXPECT_EQ(q.pick(100, trap).task, 3u);  // task 1 sleeps until 700, task 2 is gone
  q.ran(3, true, 0);
  EXPECT_EQ(q.pick(800, trap).task, 1u);
  q.ran(1, true, 0);
  EXPECT_EQ(q.load(), 0u);
  EXPECT_TRUE(q.pick(900, trap).all_done());
}

TEST(LoadBalance, MovesFromTheBusiestToTheIdlestAtTheThreshold) {
  EXPECT_FALSE(fw::find_imbalance({}, 2));
  EXPECT_FALSE(fw::find_imbalance({1, 1, 1}, 2));
  EXPECT_FALSE(fw::find_imbalance({2, 1}, 2));  // one apart: moving would only swap the imbalance
  const auto m = fw::find_imbalance({1, 3, 0, 3, 0}, 2);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->from, 1u);  // the first of the busiest
  EXPECT_EQ(m->to, 2u);    // the first of the idlest
  EXPECT_FALSE(fw::find_imbalance({1, 3, 0}, 4));
  EXPECT_TRUE(fw::find_imbalance({4, 0}, 4));
}

}  // namespace
}  // namespace vmsim
