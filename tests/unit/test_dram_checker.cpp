// Unit tests for the independent JEDEC timing checker and the controller's timing engine: every rule
// probed one cycle early (violation naming the constraint) and exactly on time (clean), and illegal
// command sequences fed directly to the checker.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "models/dram/dram_config.hpp"
#include "models/dram/timing_checker.hpp"
#include "models/dram/timing_state.hpp"

namespace vmsim::dram {
namespace {

Command cmd(CommandKind kind, unsigned rank, unsigned bg, unsigned bank, uint32_t row, Cycle cycle) {
  Command c;
  c.kind = kind;
  c.rank = Rank{static_cast<uint8_t>(rank)};
  c.bank_group = BankGroup{static_cast<uint8_t>(bg)};
  c.bank = Bank{static_cast<uint8_t>(bank)};
  c.row = row;
  c.cycle = cycle;
  return c;
}

DramConfig preset(const char* name, uint64_t ranks = 1) {
  DramConfig c;
  EXPECT_TRUE(c.set_preset(name));
  c.organisation.ranks = ranks;
  return c;
}

TimingChecker make_checker(const DramConfig& c, bool refresh_interval = false) {
  CheckerOptions opts;
  opts.check_refresh_interval = refresh_interval;
  return TimingChecker(c.timing, c.organisation, c.per_bank_refresh, opts);
}

// Flat bank index as TimingState uses it.
uint32_t flat(const DramConfig& c, const Command& x) {
  return static_cast<uint32_t>((index(x.rank) * c.organisation.bank_groups + index(x.bank_group)) *
                                   c.organisation.banks_per_group +
                               index(x.bank));
}

// Replays `prefix` into the controller's TimingState and returns its earliest cycle for `probe`.
Cycle engine_earliest(const DramConfig& c, const std::vector<Command>& prefix, const Command& probe) {
  TimingState ts(c.timing, c.organisation);
  const uint64_t banks_per_rank = c.organisation.banks_per_rank();
  for (const Command& x : prefix) {
    const uint32_t b = flat(c, x);
    switch (x.kind) {
      case CommandKind::Act: ts.record_act(b, x.cycle); break;
      case CommandKind::Pre: ts.record_pre(b, x.cycle); break;
      case CommandKind::Rd: ts.record_read(b, x.cycle, false); break;
      case CommandKind::RdA: ts.record_read(b, x.cycle, true); break;
      case CommandKind::Wr: ts.record_write(b, x.cycle, false); break;
      case CommandKind::WrA: ts.record_write(b, x.cycle, true); break;
      case CommandKind::Ref: ts.record_ref(index(x.rank), x.cycle); break;
      case CommandKind::RefSb: {
        uint64_t mask = 0;
        for (unsigned g = 0; g < c.organisation.bank_groups; ++g) mask |= uint64_t{1} << (g * c.organisation.banks_per_group + index(x.bank));
        ts.record_refsb(index(x.rank), mask, x.cycle);
        break;
      }
      case CommandKind::PreA:
        for (uint32_t i = 0; i < banks_per_rank; ++i) ts.record_pre(static_cast<uint32_t>(index(x.rank) * banks_per_rank + i), x.cycle);
        break;
    }
  }
  const uint32_t b = flat(c, probe);
  switch (probe.kind) {
    case CommandKind::Act: return ts.earliest_act(b);
    case CommandKind::Pre: return ts.earliest_pre(b);
    case CommandKind::Rd:
    case CommandKind::RdA: return ts.earliest_read(b);
    case CommandKind::Wr:
    case CommandKind::WrA: return ts.earliest_write(b);
    case CommandKind::Ref: return ts.earliest_ref(index(probe.rank));
    default: return 0;
  }
}

struct BoundaryCase {
  const char* name;
  const char* preset;
  uint64_t ranks;
  std::vector<Command> prefix;
  Command probe;  // probe.cycle is the exact legal boundary
  const char* constraint;
  bool engine;  // also check the controller engine's earliest cycle
};

std::vector<BoundaryCase> boundary_cases() {
  using K = CommandKind;
  // DDR4-3200AA: CL 22, CWL 16, tRCD 22, tRP 22, tRAS 52, tRC 74, tBL 4, tCCD_S 4, tCCD_L 8,
  // tRRD_S 4, tRRD_L 8, tFAW 34, tWR 24, tWTR_S 4, tWTR_L 12, tRTP 12, tRFC 560, tRTRS 2.
  return {
      {"tRCD", "DDR4-3200AA", 1, {cmd(K::Act, 0, 0, 0, 5, 100)}, cmd(K::Rd, 0, 0, 0, 5, 122), "tRCD", true},
      {"tRCD_write", "DDR4-3200AA", 1, {cmd(K::Act, 0, 0, 0, 5, 100)}, cmd(K::Wr, 0, 0, 0, 5, 122), "tRCD", true},
      {"tRRD_L", "DDR4-3200AA", 1, {cmd(K::Act, 0, 1, 0, 5, 100)}, cmd(K::Act, 0, 1, 3, 9, 108), "tRRD_L", true},
      {"tRRD_S", "DDR4-3200AA", 1, {cmd(K::Act, 0, 1, 0, 5, 100)}, cmd(K::Act, 0, 2, 0, 9, 104), "tRRD_S", true},
      {"tFAW",
       "DDR4-3200AA",
       1,
       {cmd(K::Act, 0, 0, 0, 1, 100), cmd(K::Act, 0, 1, 0, 1, 104), cmd(K::Act, 0, 2, 0, 1, 108),
        cmd(K::Act, 0, 3, 0, 1, 112)},
       cmd(K::Act, 0, 0, 1, 1, 134),
       "tFAW",
       true},
      {"tRAS", "DDR4-3200AA", 1, {cmd(K::Act, 0, 0, 0, 5, 100)}, cmd(K::Pre, 0, 0, 0, 0, 152), "tRAS", true},
      {"tRP",
       "DDR4-3200AA",
       1,
       {cmd(K::Act, 0, 0, 0, 5, 100), cmd(K::Pre, 0, 0, 0, 0, 160)},
       cmd(K::Act, 0, 0, 0, 6, 182),
       "tRP",
       true},
      {"tRC",
       "DDR4-3200AA",
       1,
       {cmd(K::Act, 0, 0, 0, 5, 100), cmd(K::Pre, 0, 0, 0, 0, 152)},
       cmd(K::Act, 0, 0, 0, 6, 174),
       "tRC",
       true},
      {"tRTP",
       "DDR4-3200AA",
       1,
       {cmd(K::Act, 0, 0, 0, 5, 100), cmd(K::Rd, 0, 0, 0, 5, 150)},
       cmd(K::Pre, 0, 0, 0, 0, 162),
       "tRTP",
       true},
      {"tWR",
       "DDR4-3200AA",
       1,
       {cmd(K::Act, 0, 0, 0, 5, 100), cmd(K::Wr, 0, 0, 0, 5, 122)},
       cmd(K::Pre, 0, 0, 0, 0, 122 + 16 + 4 + 24),
       "tWR",
       true},
      {"tCCD_L",
       "DDR4-3200AA",
       1,
       {cmd(K::Act, 0, 0, 0, 5, 100), cmd(K::Rd, 0, 0, 0, 5, 122)},
       cmd(K::Rd, 0, 0, 0, 5, 130),
       "tCCD_L",
       true},
      {"tCCD_S",
       "DDR4-3200AA",
       1,
       {cmd(K::Act, 0, 0, 0, 5, 100), cmd(K::Act, 0, 1, 0, 5, 104), cmd(K::Rd, 0, 0, 0, 5, 126)},
       cmd(K::Rd, 0, 1, 0, 5, 130),
       "tCCD_S",
       true},
      {"tWTR_L",
       "DDR4-3200AA",
       1,
       {cmd(K::Act, 0, 0, 0, 5, 100), cmd(K::Wr, 0, 0, 0, 5, 122)},
       cmd(K::Rd, 0, 0, 0, 5, 122 + 16 + 4 + 12),
       "tWTR_L",
       true},
      {"tWTR_S",
       "DDR4-3200AA",
       1,
       {cmd(K::Act, 0, 0, 0, 5, 100), cmd(K::Act, 0, 1, 0, 5, 104), cmd(K::Wr, 0, 0, 0, 5, 126)},
       cmd(K::Rd, 0, 1, 0, 5, 126 + 16 + 4 + 4),
       "tWTR_S",
       true},
      {"read_to_write",
       "DDR4-3200AA",
       1,
       {cmd(K::Act, 0, 0, 0, 5, 100), cmd(K::Rd, 0, 0, 0, 5, 122)},
       cmd(K::Wr, 0, 0, 0, 5, 122 + 22 + 4 + 2 - 16),
       "data bus read-to-write turnaround",
       true},
      {"tRTRS",
       "DDR4-3200AA",
       2,
       {cmd(K::Act, 0, 0, 0, 5, 100), cmd(K::Act, 1, 0, 0, 5, 101), cmd(K::Rd, 0, 0, 0, 5, 124)},
       cmd(K::Rd, 1, 0, 0, 5, 124 + 4 + 2),
       "tRTRS (data bus rank switch)",
       true},
      {"tRFC", "DDR4-3200AA", 1, {cmd(K::Ref, 0, 0, 0, 0, 100)}, cmd(K::Act, 0, 2, 1, 5, 660), "tRFC", true},
      {"REF_after_PRE",
       "DDR4-3200AA",
       1,
       {cmd(K::Act, 0, 0, 0, 5, 100), cmd(K::Pre, 0, 0, 0, 0, 152)},
       cmd(K::Ref, 0, 0, 0, 0, 174),
       "tRP",
       true},
      {"RDA_then_ACT",
       "DDR4-3200AA",
       1,
       {cmd(K::Act, 0, 0, 0, 5, 100), cmd(K::RdA, 0, 0, 0, 5, 122)},
       cmd(K::Act, 0, 0, 0, 6, 100 + 52 + 22),  // precharge starts at ACT + tRAS (lockout), then tRP
       "tRP",
       true},
      {"WRA_then_ACT",
       "DDR4-3200AA",
       1,
       {cmd(K::Act, 0, 0, 0, 5, 100), cmd(K::WrA, 0, 0, 0, 5, 122)},
       cmd(K::Act, 0, 0, 0, 6, 122 + 16 + 4 + 24 + 22),
       "tRP",
       true},
      // DDR5-4800B: CL 40, CWL 38, tRCD 39, tCCD_L_WR 24, tRFCsb 312, tRREFD 72.
      {"DDR5_tCCD_L_WR",
       "DDR5-4800B",
       1,
       {cmd(K::Act, 0, 2, 1, 5, 100), cmd(K::Wr, 0, 2, 1, 5, 139)},
       cmd(K::Wr, 0, 2, 1, 5, 163),
       "tCCD_L_WR",
       true},
      {"DDR5_tRFCsb", "DDR5-4800B", 1, {cmd(K::RefSb, 0, 0, 2, 0, 100)}, cmd(K::Act, 0, 5, 2, 5, 412), "tRFCsb", true},
      {"DDR5_tRREFD", "DDR5-4800B", 1, {cmd(K::RefSb, 0, 0, 2, 0, 100)}, cmd(K::Act, 0, 5, 1, 5, 172), "tRREFD", true},
      {"DDR5_REFsb_to_REFsb",
       "DDR5-4800B",
       1,
       {cmd(K::RefSb, 0, 0, 2, 0, 100)},
       cmd(K::RefSb, 0, 0, 3, 0, 172),
       "tRREFD",
       false},
  };
}

TEST(DramChecker, EveryRuleOneCycleEarlyAndOnTime) {
  for (const BoundaryCase& tc : boundary_cases()) {
    SCOPED_TRACE(tc.name);
    const DramConfig c = preset(tc.preset, tc.ranks);
    {
      TimingChecker chk = make_checker(c);
      for (const Command& x : tc.prefix) ASSERT_EQ(chk.observe(x), 0u) << chk.report();
      Command early = tc.probe;
      early.cycle -= 1;
      EXPECT_GE(chk.observe(early), 1u);
      ASSERT_FALSE(chk.violations().empty());
      bool named = false;
      for (const Violation& v : chk.violations()) {
        if (v.constraint == tc.constraint) {
          named = true;
          EXPECT_EQ(v.earliest, tc.probe.cycle);
          EXPECT_NE(v.message.find(to_string(early.kind)), std::string::npos) << v.message;
          EXPECT_NE(v.message.find("cycle " + std::to_string(early.cycle)), std::string::npos) << v.message;
          EXPECT_NE(v.message.find(tc.constraint), std::string::npos) << v.message;
        }
      }
      EXPECT_TRUE(named) << "expected a " << tc.constraint << " violation, got:\n" << chk.report();
    }
    {
      TimingChecker chk = make_checker(c);
      for (const Command& x : tc.prefix) chk.observe(x);
      EXPECT_EQ(chk.observe(tc.probe), 0u) << chk.report();
    }
    if (tc.engine) {
      EXPECT_EQ(engine_earliest(c, tc.prefix, tc.probe), tc.probe.cycle);
    }
  }
}

TEST(DramChecker, MessageNamesCommandBankCycleAndConstraint) {
  const DramConfig c = preset("DDR4-3200AA");
  TimingChecker chk = make_checker(c);
  chk.observe(cmd(CommandKind::Act, 0, 1, 2, 7, 100));
  Command rd = cmd(CommandKind::Rd, 0, 1, 2, 7, 121);
  rd.column = 64;
  EXPECT_EQ(chk.observe(rd), 1u);
  ASSERT_EQ(chk.violations().size(), 1u);
  EXPECT_EQ(chk.violations()[0].message,
            "ch0 cycle 121: RD r0 bg1 b2 row 7 col 64 @121 violates tRCD: earliest legal cycle 122 (ACT at 100)");
  EXPECT_EQ(chk.violation_count(), 1u);
}

TEST(DramChecker, CatchesIllegalBankStateSequences) {
  using K = CommandKind;
  const DramConfig c = preset("DDR4-3200AA");
  struct Case {
    const char* name;
    std::vector<Command> seq;
    const char* needle;
  };
  const std::vector<Case> cases = {
      {"read closed bank", {cmd(K::Rd, 0, 0, 0, 5, 100)}, "precharged bank"},
      {"wrong row", {cmd(K::Act, 0, 0, 0, 5, 100), cmd(K::Rd, 0, 0, 0, 6, 200)}, "row 5 is open"},
      {"act open bank", {cmd(K::Act, 0, 0, 0, 5, 100), cmd(K::Act, 0, 0, 0, 6, 300)}, "open"},
      {"ref open bank", {cmd(K::Act, 0, 0, 0, 5, 100), cmd(K::Ref, 0, 0, 0, 0, 300)}, "REF while bank 0"},
      {"refsb on ddr4", {cmd(K::RefSb, 0, 0, 0, 0, 100)}, "not supported"},
      {"write after precharge", {cmd(K::Act, 0, 0, 0, 5, 100), cmd(K::Pre, 0, 0, 0, 0, 200), cmd(K::Wr, 0, 0, 0, 5, 300)},
       "precharged bank"},
      {"column after RDA", {cmd(K::Act, 0, 0, 0, 5, 100), cmd(K::RdA, 0, 0, 0, 5, 122), cmd(K::Rd, 0, 0, 0, 5, 300)},
       "precharged bank"},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.name);
    TimingChecker chk = make_checker(c);
    for (const Command& x : tc.seq) chk.observe(x);
    ASSERT_GE(chk.violation_count(), 1u);
    EXPECT_EQ(chk.violations().back().constraint, "bank state");
    EXPECT_NE(chk.report().find(tc.needle), std::string::npos) << chk.report();
  }
}

TEST(DramChecker, CatchesCommandBusAndDataBusCollisions) {
  using K = CommandKind;
  const DramConfig c = preset("DDR4-3200AA");
  TimingChecker chk = make_checker(c);
  chk.observe(cmd(K::Act, 0, 0, 0, 5, 100));
  EXPECT_EQ(chk.observe(cmd(K::Act, 0, 1, 0, 5, 100)), 2u);  // same cycle, and tRRD_S
  EXPECT_NE(chk.report().find("command bus"), std::string::npos);
  // A write whose data would land inside a read burst.
  TimingChecker bus = make_checker(c);
  bus.observe(cmd(K::Act, 0, 0, 0, 5, 100));
  bus.observe(cmd(K::Act, 0, 1, 0, 5, 104));
  bus.observe(cmd(K::Rd, 0, 0, 0, 5, 126));
  EXPECT_GE(bus.observe(cmd(K::Wr, 0, 1, 0, 5, 132)), 1u);
  EXPECT_NE(bus.report().find("read-to-write"), std::string::npos) << bus.report();
}

TEST(DramChecker, CatchesReadAutoPrechargeBeforeWriteRecovery) {
  using K = CommandKind;
  DramConfig c = preset("DDR4-3200AA");
  c.timing.tWR = 30;
  TimingChecker chk = make_checker(c);
  chk.observe(cmd(K::Act, 0, 0, 0, 5, 100));
  chk.observe(cmd(K::Wr, 0, 0, 0, 5, 122));
  // RDA legal for tWTR_L (122+16+4+12 = 154) but its precharge at 154+12 precedes WR recovery 172.
  EXPECT_EQ(chk.observe(cmd(K::RdA, 0, 0, 0, 5, 154)), 1u);
  EXPECT_EQ(chk.violations()[0].constraint, "tWR (RDA auto-precharge)");
  EXPECT_EQ(chk.violations()[0].earliest, 160u);
  TimingChecker ok = make_checker(c);
  ok.observe(cmd(K::Act, 0, 0, 0, 5, 100));
  ok.observe(cmd(K::Wr, 0, 0, 0, 5, 122));
  EXPECT_EQ(ok.observe(cmd(K::RdA, 0, 0, 0, 5, 160)), 0u) << ok.report();
}

TEST(DramChecker, CatchesOverdueRefresh) {
  const DramConfig c = preset("DDR4-3200AA");
  TimingChecker chk = make_checker(c, true);
  const Cycle limit = 9 * c.timing.tREFI;
  chk.observe(cmd(CommandKind::Ref, 0, 0, 0, 0, limit - 1000));  // one refresh keeps it alive
  chk.observe(cmd(CommandKind::Act, 0, 0, 0, 5, limit + 10));
  EXPECT_EQ(chk.violation_count(), 0u) << chk.report();
  TimingChecker late = make_checker(c, true);
  late.observe(cmd(CommandKind::Act, 0, 0, 0, 5, limit + 1));
  EXPECT_EQ(late.violation_count(), 1u);
  EXPECT_EQ(late.violations()[0].constraint, "refresh interval");
  TimingChecker end = make_checker(c, true);
  end.finish(limit + 1);
  EXPECT_EQ(end.violation_count(), 1u);
}

TEST(DramChecker, CountsBeyondStoredViolations) {
  const DramConfig c = preset("DDR4-3200AA");
  CheckerOptions opts;
  opts.check_refresh_interval = false;
  opts.max_stored = 3;
  TimingChecker chk(c.timing, c.organisation, c.per_bank_refresh, opts);
  for (Cycle t = 0; t < 10; ++t) chk.observe(cmd(CommandKind::Rd, 0, 0, 0, 1, 100 + t));
  EXPECT_EQ(chk.violations().size(), 3u);
  EXPECT_GE(chk.violation_count(), 10u);
  EXPECT_NE(chk.report(2).find("violations in total"), std::string::npos);
}

}  // namespace
}  // namespace vmsim::dram
