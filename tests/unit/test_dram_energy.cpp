// Unit tests for the DRAM energy model: energies of simple traces against closed-form arithmetic written
// here from each preset's own IDD currents, voltages and timing (n reads to one open row, n row conflicts,
// an auto-precharged read, idle background with all-bank and per-bank refresh), the preset files against
// the built-in tables, validation, determinism and the idle-skip path.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/error.hpp"
#include "models/dram/channel.hpp"
#include "models/dram/energy.hpp"
#include "models/dram/trace_replay.hpp"

namespace vmsim::dram {
namespace {

const char* const kPresets[] = {"DDR4-2400R", "DDR4-3200AA", "DDR5-4800B", "LPDDR5-6400", "HBM2-2000"};

DramConfig config(const std::string& preset, RefreshMode refresh = RefreshMode::Off,
                  PagePolicy policy = PagePolicy::Open) {
  DramConfig c;
  EXPECT_TRUE(c.set_preset(preset));
  c.organisation.channels = 1;
  c.organisation.subchannels = 1;
  c.controller.refresh = refresh;
  c.controller.page_policy = policy;
  c.controller.timing_checker = true;
  return c;
}

// Sum over both rails of devices * V * f(rail) * tCK, where f(rail) is in mA x clocks: pJ.
double expected_pj(const DramConfig& c, const std::function<double(const PowerRail&)>& ma_clocks) {
  const double tck_ns = double(c.timing.tCK_ps) / 1000.0;
  double pj = 0;
  for (const PowerRail* r : {&c.power.rail1, &c.power.rail2}) {
    pj += c.power.devices * r->voltage_V * ma_clocks(*r) * tck_ns;
  }
  return pj;
}

// The first column of request i of a row (requests wrap around within the row).
uint32_t column(const DramConfig& c, unsigned i) {
  const uint64_t per_request = c.organisation.burst_length * c.bursts_per_request();
  return static_cast<uint32_t>((i * per_request) % c.organisation.columns);
}

void expect_close(double actual, double expected, const char* what) {
  EXPECT_NEAR(actual, expected, 1e-9 * std::max(1.0, std::fabs(expected))) << what;
}

// One channel with a command log; commands and completions are run to the end.
struct ChannelRun {
  explicit ChannelRun(const DramConfig& cfg) : ch(std::make_unique<Channel>(cfg)) {
    ch->set_command_observer([this](const Command& c) { log.push_back(c); });
  }
  uint64_t addr(unsigned bank, uint32_t row, uint32_t col) const {
    DramAddress a;
    a.bank = Bank{static_cast<uint8_t>(bank)};
    a.row = row;
    a.column = col;
    return ch->mapper().encode(a);
  }
  void finish(Cycle end) {
    std::vector<Completion> done;
    for (Cycle ne = ch->next_event(); ne != kNever; ne = ch->next_event()) ch->advance_to(ne, done);
    ch->advance_to(end, done);
    ch->sync_stats(end);
    ch->checker()->finish(end);
    EXPECT_EQ(ch->checker()->violation_count(), 0u) << ch->checker()->report();
  }
  std::vector<Cycle> cycles_of(CommandKind k) const {
    std::vector<Cycle> out;
    for (const Command& c : log) {
      if (c.kind == k) out.push_back(c.cycle);
    }
    return out;
  }
  EnergyBreakdown energy() const { return channel_energy(command_energy(ch->config()), ch->stats()); }

  std::unique_ptr<Channel> ch;
  std::vector<Command> log;
};

class DramEnergy : public ::testing::TestWithParam<const char*> {};

// n reads to one row: one ACT at cycle 0, n * bursts read bursts, no precharge; the bank stays open from
// the ACT to the end, so the whole run is active standby.
TEST_P(DramEnergy, ReadsToOneOpenRow) {
  const DramConfig c = config(GetParam());
  ChannelRun run(c);
  const unsigned n = 24;
  for (unsigned i = 0; i < n; ++i) run.ch->enqueue(Request{i, run.addr(0, 7, column(c, i)), false, 0});
  const Cycle end = 20000;
  run.finish(end);
  ASSERT_EQ(run.cycles_of(CommandKind::Act), std::vector<Cycle>{0});
  const double bursts = double(n * c.bursts_per_request());
  const TimingParams& t = c.timing;
  const EnergyBreakdown e = run.energy();
  expect_close(e.act, expected_pj(c, [&](const PowerRail& r) { return (r.IDD0_mA - r.IDD3N_mA) * t.tRAS; }), "act");
  expect_close(e.pre, 0.0, "pre");
  expect_close(e.rd, expected_pj(c, [&](const PowerRail& r) { return (r.IDD4R_mA - r.IDD3N_mA) * t.tBL * bursts; }),
               "rd");
  expect_close(e.wr, 0.0, "wr");
  expect_close(e.ref, 0.0, "ref");
  expect_close(e.active_standby, expected_pj(c, [&](const PowerRail& r) { return r.IDD3N_mA * double(end); }),
               "active standby");
  expect_close(e.precharged_standby, 0.0, "precharged standby");
  const double total = expected_pj(c, [&](const PowerRail& r) {
    return (r.IDD0_mA - r.IDD3N_mA) * t.tRAS + (r.IDD4R_mA - r.IDD3N_mA) * t.tBL * bursts + r.IDD3N_mA * double(end);
  });
  expect_close(e.total(), total, "total");
  EXPECT_EQ(run.ch->stats().ranks.at(0).active_cycles, end);
}

// n reads to n rows of one bank: n ACTs, n - 1 PREs, each PRE followed by its ACT exactly tRP later
// (tRC = tRAS + tRP in every preset), so the rank is precharged for (n - 1) tRP and active otherwise.
TEST_P(DramEnergy, RowConflicts) {
  const DramConfig c = config(GetParam());
  const TimingParams& t = c.timing;
  ASSERT_EQ(t.tRC, t.tRAS + t.tRP);
  ChannelRun run(c);
  const unsigned n = 12;
  for (unsigned i = 0; i < n; ++i) run.ch->enqueue(Request{i, run.addr(2, 100 + i, 0), false, 0});
  const Cycle end = 40000;
  run.finish(end);
  const std::vector<Cycle> acts = run.cycles_of(CommandKind::Act);
  const std::vector<Cycle> pres = run.cycles_of(CommandKind::Pre);
  ASSERT_EQ(acts.size(), n);
  ASSERT_EQ(pres.size(), n - 1);
  EXPECT_EQ(acts.front(), 0u);
  for (unsigned i = 0; i + 1 < n; ++i) EXPECT_EQ(acts[i + 1], pres[i] + t.tRP);
  const double bursts = double(n * c.bursts_per_request());
  const double pre_time = double((n - 1) * t.tRP);
  const EnergyBreakdown e = run.energy();
  expect_close(e.act, expected_pj(c, [&](const PowerRail& r) { return (r.IDD0_mA - r.IDD3N_mA) * t.tRAS * n; }), "act");
  expect_close(e.pre, expected_pj(c, [&](const PowerRail& r) { return (r.IDD0_mA - r.IDD2N_mA) * t.tRP * (n - 1); }),
               "pre");
  expect_close(e.rd, expected_pj(c, [&](const PowerRail& r) { return (r.IDD4R_mA - r.IDD3N_mA) * t.tBL * bursts; }),
               "rd");
  expect_close(e.active_standby,
               expected_pj(c, [&](const PowerRail& r) { return r.IDD3N_mA * (double(end) - pre_time); }),
               "active standby");
  expect_close(e.precharged_standby, expected_pj(c, [&](const PowerRail& r) { return r.IDD2N_mA * pre_time; }),
               "precharged standby");
  // Each ACT-to-PRE cycle of tRC costs IDD0 over tRC, as the IDD0 loop defines it.
  const double act_pre_cycle = expected_pj(c, [&](const PowerRail& r) {
    return (r.IDD0_mA - r.IDD3N_mA) * t.tRAS + r.IDD3N_mA * t.tRAS + (r.IDD0_mA - r.IDD2N_mA) * t.tRP +
           r.IDD2N_mA * t.tRP;
  });
  expect_close(act_pre_cycle, expected_pj(c, [&](const PowerRail& r) { return r.IDD0_mA * t.tRC; }), "IDD0 loop");
}

// Writes: n writes to one row cost (IDD4W - IDD3N) tBL per burst.
TEST_P(DramEnergy, WritesToOneOpenRow) {
  const DramConfig c = config(GetParam());
  ChannelRun run(c);
  const unsigned n = 10;
  for (unsigned i = 0; i < n; ++i) run.ch->enqueue(Request{i, run.addr(1, 3, column(c, i)), true, 0});
  run.finish(30000);
  const double bursts = double(n * c.bursts_per_request());
  const EnergyBreakdown e = run.energy();
  expect_close(e.wr,
               expected_pj(c, [&](const PowerRail& r) { return (r.IDD4W_mA - r.IDD3N_mA) * c.timing.tBL * bursts; }),
               "wr");
  expect_close(e.rd, 0.0, "rd");
}

// Closed page: one read at cycle 0 is ACT, RDA at tRCD, and the bank precharges at max(tRCD + tRTP, tRAS):
// the rank is active exactly until then, precharged afterwards.
TEST_P(DramEnergy, AutoPrechargeEndsTheActiveInterval) {
  const DramConfig c = config(GetParam(), RefreshMode::Off, PagePolicy::Closed);
  const TimingParams& t = c.timing;
  ChannelRun run(c);
  run.ch->enqueue(Request{1, run.addr(0, 9, 0), false, 0});
  const Cycle end = 5000;
  run.finish(end);
  const uint64_t b = c.bursts_per_request();
  // The last burst carries the auto-precharge; earlier bursts of the request are tCCD_L apart.
  const Cycle last_rd = t.tRCD + (b - 1) * t.tCCD_L;
  ASSERT_EQ(run.cycles_of(CommandKind::RdA), std::vector<Cycle>{last_rd});
  const Cycle active = std::max(last_rd + t.tRTP, t.tRAS);
  EXPECT_EQ(run.ch->stats().ranks.at(0).active_cycles, active);
  const EnergyBreakdown e = run.energy();
  expect_close(e.pre, expected_pj(c, [&](const PowerRail& r) { return (r.IDD0_mA - r.IDD2N_mA) * t.tRP; }), "pre");
  expect_close(e.background(), expected_pj(c, [&](const PowerRail& r) {
                 return r.IDD3N_mA * double(active) + r.IDD2N_mA * double(end - active);
               }),
               "background");
}

// An idle channel with all-bank refresh: REF every tREFI from tREFI on, all banks closed throughout.
// Long enough that whole refresh rounds are skipped arithmetically (idle skip on, the default).
TEST_P(DramEnergy, IdleBackgroundAndAllBankRefresh) {
  const DramConfig c = config(GetParam(), RefreshMode::AllBank);
  const TimingParams& t = c.timing;
  ChannelRun run(c);
  run.ch->set_command_observer(nullptr);  // an observer would disable the idle skip
  const uint64_t refs = 1000;
  const Cycle end = refs * t.tREFI + t.tREFI / 2;
  run.finish(end);
  EXPECT_GT(run.ch->skipped_refreshes(), 0u);
  const EnergyBreakdown e = run.energy();
  expect_close(e.ref, expected_pj(c, [&](const PowerRail& r) { return (r.IDD5B_mA - r.IDD2N_mA) * t.tRFC * refs; }),
               "ref");
  expect_close(e.precharged_standby, expected_pj(c, [&](const PowerRail& r) { return r.IDD2N_mA * double(end); }),
               "precharged standby");
  expect_close(e.active_standby + e.act + e.pre + e.rd + e.wr, 0.0, "no activity");
  // Average power: background plus refresh's share.
  const double mw = e.total() / (double(end) * double(t.tCK_ps)) * 1000.0;
  const double expect_mw = expected_pj(c, [&](const PowerRail& r) {
                             return r.IDD2N_mA + (r.IDD5B_mA - r.IDD2N_mA) * double(t.tRFC * refs) / double(end);
                           }) /
                           (double(t.tCK_ps) / 1000.0) / 1.0;  // pJ per ns = mW
  expect_close(mw, expect_mw, "average power");
}

// Per-bank refresh: one command every tREFI / sets, each covering banks_per_rank / sets banks and
// costing that share of an all-bank refresh. (DDR4 has none: the configuration is rejected.)
TEST_P(DramEnergy, IdlePerBankRefresh) {
  DramConfig c = config(GetParam(), RefreshMode::PerBank);
  if (c.per_bank_refresh == PerBankRefresh::None) {
    EXPECT_THROW(c.validate("dram"), InputError);
    return;
  }
  const TimingParams& t = c.timing;
  const uint64_t banks = c.organisation.banks_per_rank();
  const uint64_t sets = c.per_bank_refresh == PerBankRefresh::SameBankAllGroups ? c.organisation.banks_per_group : banks;
  const Cycle interval = t.tREFI / sets;
  ChannelRun run(c);
  const uint64_t cmds = 50 * sets + 3;
  const Cycle end = cmds * interval + interval / 2;
  run.finish(end);
  EXPECT_EQ(run.cycles_of(CommandKind::RefSb).size(), cmds);
  const EnergyBreakdown e = run.energy();
  expect_close(e.ref, expected_pj(c, [&](const PowerRail& r) {
                 return (r.IDD5B_mA - r.IDD2N_mA) * t.tRFC * double(cmds) * double(banks / sets) / double(banks);
               }),
               "per-bank ref");
  expect_close(e.precharged_standby, expected_pj(c, [&](const PowerRail& r) { return r.IDD2N_mA * double(end); }),
               "precharged standby");
}

// Skipping idle refresh rounds counts exactly what simulating them does.
TEST_P(DramEnergy, IdleSkipGivesTheSameEnergy) {
  for (RefreshMode mode : {RefreshMode::AllBank, RefreshMode::PerBank}) {
    DramConfig c = config(GetParam(), mode);
    if (mode == RefreshMode::PerBank && c.per_bank_refresh == PerBankRefresh::None) continue;
    ChannelRun skip(c), step(c);
    skip.ch->set_command_observer(nullptr);
    step.ch->set_idle_skip(false);
    const Cycle end = 300 * c.timing.tREFI + 17;
    for (ChannelRun* r : {&skip, &step}) {
      r->ch->enqueue(Request{1, r->addr(0, 1, 0), false, 100});
      r->finish(end);
    }
    const EnergyBreakdown a = skip.energy(), b = step.energy();
    EXPECT_EQ(a.total(), b.total());
    EXPECT_EQ(a.ref, b.ref);
    EXPECT_EQ(skip.ch->stats().ranks[0].active_cycles, step.ch->stats().ranks[0].active_cycles);
  }
}

// Same configuration and trace: bit-identical energy; and the energy adds up over ranks.
TEST_P(DramEnergy, DeterministicAndPerRankSumsToTotal) {
  DramConfig c;
  ASSERT_TRUE(c.set_preset(GetParam()));
  c.organisation.ranks = 2;
  c.controller.refresh = RefreshMode::AllBank;
  auto once = [&] {
    MemorySystem sys(c);
    SyntheticTraceConfig tc;
    tc.count = 20000;
    tc.seed = 7;
    tc.write_fraction = 0.3;
    tc.interval = 2;
    tc.capacity = c.organisation.capacity_bytes();
    SyntheticTrace src(tc);
    return replay(sys, src);
  };
  const ReplayResult a = once(), b = once();
  EXPECT_EQ(a.energy.total(), b.energy.total());
  EXPECT_EQ(a.avg_power_mw, b.avg_power_mw);
  ASSERT_EQ(a.stats.ranks.size(), 2u);
  const CommandEnergy ce = command_energy(c);
  const double by_rank = rank_energy(ce, a.stats.ranks[0]).total() + rank_energy(ce, a.stats.ranks[1]).total();
  expect_close(a.energy.total(), by_rank, "ranks");
  EXPECT_GT(a.energy.act, 0.0);
  EXPECT_GT(a.energy.wr, 0.0);
  EXPECT_GT(a.energy.ref, 0.0);
  expect_close(a.energy_per_access_pj, a.energy.total() / double(a.requests), "per access");
}

// The preset files state the currents the built-in tables hold.
TEST_P(DramEnergy, PresetFileMatchesTheBuiltInTable) {
  std::string file = GetParam();
  for (char& ch : file) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const std::string path = std::string(VMSIM_SOURCE_DIR) + "/configs/dram/" + file + ".yaml";
  const YAML::Node root = config::load_yaml_file(path);
  DramConfig loaded;
  config::Loader loader(root["system"]["memory"]["dram"], "system.memory.dram", path);
  loaded.visit(loader);
  loader.finish();
  DramConfig builtin;
  ASSERT_TRUE(builtin.set_preset(GetParam()));
  EXPECT_EQ(loaded.power.devices, builtin.power.devices);
  for (auto [a, b] : {std::make_pair(&loaded.power.rail1, &builtin.power.rail1),
                      std::make_pair(&loaded.power.rail2, &builtin.power.rail2)}) {
    EXPECT_EQ(a->name, b->name);
    EXPECT_EQ(a->voltage_V, b->voltage_V);
    EXPECT_EQ(a->IDD0_mA, b->IDD0_mA);
    EXPECT_EQ(a->IDD2N_mA, b->IDD2N_mA);
    EXPECT_EQ(a->IDD3N_mA, b->IDD3N_mA);
    EXPECT_EQ(a->IDD4R_mA, b->IDD4R_mA);
    EXPECT_EQ(a->IDD4W_mA, b->IDD4W_mA);
    EXPECT_EQ(a->IDD5B_mA, b->IDD5B_mA);
  }
  EXPECT_GT(builtin.power.rail1.voltage_V, 0.0);
  EXPECT_GT(builtin.power.rail1.IDD0_mA, builtin.power.rail1.IDD3N_mA);
}

INSTANTIATE_TEST_SUITE_P(Presets, DramEnergy, ::testing::ValuesIn(kPresets), [](const auto& param_info) {
  std::string s = param_info.param;
  for (char& ch : s) {
    if (ch == '-') ch = '_';
  }
  return s;
});

TEST(DramEnergyConfig, CurrentsBelowTheirBackgroundAreRejectedNamingTheKey) {
  DramConfig c;
  c.power.rail1.IDD0_mA = c.power.rail1.IDD3N_mA - 1;
  try {
    c.validate("dram");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("dram.power.rail1.IDD0_mA"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("IDD3N_mA"), std::string::npos) << e.what();
  }
  DramConfig d;
  d.power.devices = 0;
  EXPECT_THROW(d.validate("dram"), InputError);
  DramConfig v;
  v.power.rail2.IDD5B_mA = -1;
  EXPECT_THROW(v.validate("dram"), InputError);
}

// A worked example in numbers: DDR4-2400R's ACT costs 8 devices x (1.2 V x (48 - 43) mA + 2.5 V x (3 - 3) mA)
// x 39 clocks x 0.833 ns = 1559.4 pJ; a read burst 8 x 1.2 x (135 - 43) x 4 x 0.833 = 2942.9 pJ.
TEST(DramEnergyConfig, Ddr4WorkedExample) {
  DramConfig c;
  ASSERT_TRUE(c.set_preset("DDR4-2400R"));
  const CommandEnergy e = command_energy(c);
  EXPECT_NEAR(e.act, 8 * 1.2 * 5 * 39 * 0.833, 1e-6);
  EXPECT_NEAR(e.rd, 8 * 1.2 * 92 * 4 * 0.833, 1e-6);
  EXPECT_NEAR(e.ref, 8 * (1.2 * (250 - 34) + 2.5 * (28 - 3)) * 420 * 0.833, 1e-6);
  EXPECT_NEAR(e.precharged_standby, 8 * (1.2 * 34 + 2.5 * 3) * 0.833, 1e-9);
}

}  // namespace
}  // namespace vmsim::dram
