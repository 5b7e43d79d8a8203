// Unit tests of the MESI transition table: every state x event against a hand-written table.
#include <gtest/gtest.h>

#include <string>

#include "models/cache/mesi.hpp"

namespace vmsim::cache {
namespace {

struct Row {
  State from;
  Event event;
  bool others;
  State next;
  uint8_t actions;
};

TEST(CacheMesi, EveryStateTimesEveryEvent) {
  constexpr uint8_t GetS = kIssueGetS, GetM = kIssueGetM, Upg = kIssueUpgrade, WB = kWriteBack, Sup = kSupplyData,
                    Inv = kInvalidated;
  const Row table[] = {
      // I
      {State::I, Event::Load, false, State::E, GetS},
      {State::I, Event::Load, true, State::S, GetS},
      {State::I, Event::Store, false, State::M, GetM},
      {State::I, Event::Evict, false, State::I, 0},
      {State::I, Event::SnoopRead, false, State::I, 0},
      {State::I, Event::SnoopWrite, false, State::I, 0},
      {State::I, Event::DeviceWrite, false, State::I, 0},
      {State::I, Event::DeviceRead, false, State::I, 0},
      // S
      {State::S, Event::Load, false, State::S, 0},
      {State::S, Event::Store, false, State::M, Upg},
      {State::S, Event::Evict, false, State::I, 0},
      {State::S, Event::SnoopRead, false, State::S, 0},
      {State::S, Event::SnoopWrite, false, State::I, Inv},
      {State::S, Event::DeviceWrite, false, State::I, Inv},
      {State::S, Event::DeviceRead, false, State::S, 0},
      // E
      {State::E, Event::Load, false, State::E, 0},
      {State::E, Event::Store, false, State::M, 0},
      {State::E, Event::Evict, false, State::I, 0},
      {State::E, Event::SnoopRead, false, State::S, Sup},
      {State::E, Event::SnoopWrite, false, State::I, static_cast<uint8_t>(Inv | Sup)},
      {State::E, Event::DeviceWrite, false, State::I, Inv},
      {State::E, Event::DeviceRead, false, State::E, 0},
      // M
      {State::M, Event::Load, false, State::M, 0},
      {State::M, Event::Store, false, State::M, 0},
      {State::M, Event::Evict, false, State::I, WB},
      {State::M, Event::SnoopRead, false, State::S, static_cast<uint8_t>(Sup | WB)},
      {State::M, Event::SnoopWrite, false, State::I, static_cast<uint8_t>(Inv | Sup)},
      {State::M, Event::DeviceWrite, false, State::I, Inv},
      {State::M, Event::DeviceRead, false, State::E, WB},
  };
  unsigned covered[4][static_cast<unsigned>(Event::Count)] = {};
  for (const Row& r : table) {
    SCOPED_TRACE(std::string(to_string(r.from)) + " x " + to_string(r.event) + (r.others ? " (others)" : ""));
    const Transition t = mesi_step(r.from, r.event, r.others);
    EXPECT_EQ(t.next, r.next) << to_string(t.next);
    EXPECT_EQ(t.actions, r.actions);
    ++covered[static_cast<unsigned>(r.from)][static_cast<unsigned>(r.event)];
    // Only a Load in I depends on whether others hold the line.
    if (!(r.from == State::I && r.event == Event::Load)) {
      EXPECT_EQ(mesi_step(r.from, r.event, !r.others), t);
    }
  }
  for (unsigned s = 0; s < 4; ++s) {
    for (unsigned e = 0; e < static_cast<unsigned>(Event::Count); ++e) EXPECT_GE(covered[s][e], 1u) << s << " " << e;
  }
}

TEST(CacheMesi, OrderAndPredicates) {
  EXPECT_TRUE(is_exclusive(State::E));
  EXPECT_TRUE(is_exclusive(State::M));
  EXPECT_FALSE(is_exclusive(State::S));
  EXPECT_FALSE(is_valid(State::I));
  EXPECT_LT(State::S, State::E);
  EXPECT_STREQ(to_string(State::M), "M");
}

}  // namespace
}  // namespace vmsim::cache
