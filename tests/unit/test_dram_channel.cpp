// Unit tests for the DRAM channel controller: exact command cycles against JEDEC arithmetic (one cycle
// early / on time), page policies, schedulers, write drain, refresh (all-bank, per-bank, lazy catch-up),
// multi-burst requests, API contracts and statistics. The timing checker is on in every test.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "models/dram/channel.hpp"
#include "models/dram/memory_system.hpp"

namespace vmsim::dram {
namespace {

DramConfig config(const char* preset = "DDR4-3200AA", RefreshMode refresh = RefreshMode::Off) {
  DramConfig c;
  EXPECT_TRUE(c.set_preset(preset));
  c.organisation.channels = 1;
  c.organisation.subchannels = 1;
  c.controller.refresh = refresh;
  c.controller.timing_checker = true;
  return c;
}

// A channel with a command log, completions, and a zero-violation check when it goes out of scope.
class Harness {
 public:
  explicit Harness(DramConfig cfg) {
    cfg.controller.timing_checker = true;
    m_ch = std::make_unique<Channel>(cfg);
    m_ch->set_command_observer([this](const Command& c) { log.push_back(c); });
  }
  ~Harness() {
    m_ch->checker()->finish(m_now);
    EXPECT_EQ(m_ch->checker()->violation_count(), 0u) << m_ch->checker()->report();
  }
  Channel& ch() { return *m_ch; }
  const TimingParams& t() const { return m_ch->config().timing; }

  uint64_t addr(unsigned rank, unsigned bg, unsigned bank, uint32_t row, uint32_t col = 0) const {
    DramAddress a;
    a.rank = Rank{static_cast<uint8_t>(rank)};
    a.bank_group = BankGroup{static_cast<uint8_t>(bg)};
    a.bank = Bank{static_cast<uint8_t>(bank)};
    a.row = row;
    a.column = col;
    return m_ch->mapper().encode(a);
  }
  // The shell pattern: commands before `at` first, then the arrival.
  void submit(uint64_t id, uint64_t address, bool write, Cycle at) {
    if (at > 0) advance(at - 1);
    ASSERT_TRUE(m_ch->can_accept(write));
    m_ch->enqueue(Request{id, address, write, at});
  }
  void advance(Cycle now) {
    m_ch->advance_to(now, done);
    m_now = std::max(m_now, now);
  }
  void run_all() {
    for (Cycle ne = m_ch->next_event(); ne != kNever; ne = m_ch->next_event()) advance(ne);
  }
  Cycle done_at(uint64_t id) const {
    for (const Completion& c : done) {
      if (c.id == id) return c.cycle;
    }
    ADD_FAILURE() << "request " << id << " did not complete";
    return 0;
  }
  std::vector<Command> of(CommandKind k) const {
    std::vector<Command> out;
    for (const Command& c : log) {
      if (c.kind == k) out.push_back(c);
    }
    return out;
  }
  std::vector<Cycle> cycles_of(CommandKind k) const {
    std::vector<Cycle> out;
    for (const Command& c : of(k)) out.push_back(c.cycle);
    return out;
  }

  std::vector<Command> log;
  std::vector<Completion> done;

 private:
  std::unique_ptr<Channel> m_ch;
  Cycle m_now = 0;
};

using K = CommandKind;

TEST(DramChannel, ClosedBankReadIssuesReadExactlyTrcdAfterAct) {
  Harness h(config());
  h.submit(1, h.addr(0, 0, 0, 5), false, 0);
  h.run_all();
  EXPECT_EQ(h.cycles_of(K::Act), (std::vector<Cycle>{0}));
  EXPECT_EQ(h.cycles_of(K::Rd), (std::vector<Cycle>{22}));  // tRCD, not 21
  EXPECT_EQ(h.done_at(1), 22u + 22 + 4);                     // tRCD + CL + BL/2
  EXPECT_EQ(h.ch().stats().row_misses, 1u);
}

TEST(DramChannel, RowHitIsClPlusBurstAndConflictIsTrpTrcdClBurst) {
  Harness h(config());
  h.submit(1, h.addr(0, 1, 2, 5), false, 0);
  h.submit(2, h.addr(0, 1, 2, 5, 8), false, 1000);
  h.submit(3, h.addr(0, 1, 2, 6), false, 2000);
  h.run_all();
  EXPECT_EQ(h.done_at(2) - 1000, 26u);  // CL + BL/2
  EXPECT_EQ(h.done_at(3) - 2000, 70u);  // tRP + tRCD + CL + BL/2
  EXPECT_EQ(h.cycles_of(K::Pre), (std::vector<Cycle>{2000}));
  EXPECT_EQ(h.cycles_of(K::Act), (std::vector<Cycle>{0, 2022}));
  const ChannelStats& s = h.ch().stats();
  EXPECT_EQ(s.row_hits, 1u);
  EXPECT_EQ(s.row_misses, 1u);
  EXPECT_EQ(s.row_conflicts, 1u);
  EXPECT_EQ(s.banks[1 * 4 + 2].row_conflicts, 1u);
}

TEST(DramChannel, PrechargeWaitsForTrasOfAFreshRow) {
  Harness h(config());
  h.submit(1, h.addr(0, 0, 0, 5), false, 0);
  h.submit(2, h.addr(0, 0, 0, 6), false, 30);  // conflict while row 5 is young
  h.run_all();
  EXPECT_EQ(h.cycles_of(K::Pre), (std::vector<Cycle>{52}));  // tRAS after ACT@0
  EXPECT_EQ(h.cycles_of(K::Act), (std::vector<Cycle>{0, 74}));
}

TEST(DramChannel, ActivatesRespectTrrdLAndTrrdS) {
  Harness same(config());
  same.submit(1, same.addr(0, 2, 0, 5), false, 0);
  same.submit(2, same.addr(0, 2, 3, 9), false, 0);
  same.run_all();
  EXPECT_EQ(same.cycles_of(K::Act), (std::vector<Cycle>{0, 8}));  // tRRD_L
  Harness other(config());
  other.submit(1, other.addr(0, 2, 0, 5), false, 0);
  other.submit(2, other.addr(0, 3, 0, 9), false, 0);
  other.run_all();
  EXPECT_EQ(other.cycles_of(K::Act), (std::vector<Cycle>{0, 4}));  // tRRD_S
}

TEST(DramChannel, FifthActivateInTfawWindowWaits) {
  Harness h(config());
  const unsigned banks[5][2] = {{0, 0}, {1, 0}, {2, 0}, {3, 0}, {0, 1}};
  const Cycle arrival[5] = {0, 0, 0, 13, 14};  // keeps the 5th ACT off the cycles of the four RDs
  for (unsigned i = 0; i < 5; ++i) h.submit(i, h.addr(0, banks[i][0], banks[i][1], 100 + i), false, arrival[i]);
  h.run_all();
  EXPECT_EQ(h.cycles_of(K::Act), (std::vector<Cycle>{0, 4, 8, 13, 34}));  // tFAW = 34 after ACT@0, not 17
}

TEST(DramChannel, ColumnCommandsRespectTccdLAndTccdS) {
  Harness same(config());
  for (unsigned i = 0; i < 4; ++i) same.submit(i, same.addr(0, 0, 0, 5, i * 8), false, 0);
  same.run_all();
  EXPECT_EQ(same.cycles_of(K::Rd), (std::vector<Cycle>{22, 30, 38, 46}));
  Harness groups(config());
  for (unsigned g = 0; g < 4; ++g) groups.submit(g, groups.addr(0, g, 0, 5), false, 0);
  groups.submit(9, groups.addr(0, 0, 0, 5, 8), false, 0);
  groups.run_all();
  // ACTs at 0,4,8,12 -> RDs at tRCD after each; the second bg0 read waits tCCD_L after the first.
  EXPECT_EQ(groups.cycles_of(K::Rd), (std::vector<Cycle>{22, 26, 30, 34, 38}));
}

TEST(DramChannel, WriteToReadAndReadToWriteTurnarounds) {
  Harness wtr(config());
  wtr.submit(1, wtr.addr(0, 0, 0, 5), true, 0);
  wtr.submit(2, wtr.addr(0, 0, 0, 5, 8), false, 23);
  wtr.run_all();
  EXPECT_EQ(wtr.cycles_of(K::Wr), (std::vector<Cycle>{22}));
  EXPECT_EQ(wtr.cycles_of(K::Rd), (std::vector<Cycle>{22 + 16 + 4 + 12}));  // CWL + BL/2 + tWTR_L
  EXPECT_EQ(wtr.done_at(1), 22u + 16 + 4);                                   // write: WR + CWL + BL/2
  Harness rtw(config());
  rtw.submit(1, rtw.addr(0, 0, 0, 5), false, 0);
  rtw.submit(2, rtw.addr(0, 0, 0, 5, 8), true, 1);
  rtw.run_all();
  EXPECT_EQ(rtw.cycles_of(K::Rd), (std::vector<Cycle>{22}));
  EXPECT_EQ(rtw.cycles_of(K::Wr), (std::vector<Cycle>{22 + 22 + 4 + 2 - 16}));  // CL + BL/2 + 2 - CWL
}

TEST(DramChannel, ClosedPageAutoPrechargesUnlessAnotherRequestHitsTheRow) {
  DramConfig c = config();
  c.controller.page_policy = PagePolicy::Closed;
  Harness h(c);
  for (unsigned i = 0; i < 3; ++i) h.submit(i, h.addr(0, 0, 0, 5, i * 8), false, 0);
  h.submit(7, h.addr(0, 0, 0, 5, 64), false, 1000);
  h.run_all();
  EXPECT_EQ(h.cycles_of(K::Rd), (std::vector<Cycle>{22, 30}));
  EXPECT_EQ(h.cycles_of(K::RdA), (std::vector<Cycle>{38, 1022}));
  EXPECT_EQ(h.cycles_of(K::Act), (std::vector<Cycle>{0, 1000}));
  EXPECT_EQ(h.done_at(7) - 1000, 48u);  // a miss, not a hit: the row was closed
  EXPECT_EQ(h.ch().stats().command_count(K::Pre), 0u);
  EXPECT_EQ(h.ch().stats().precharges, 2u);
}

TEST(DramChannel, AdaptivePolicyKeepsStreamsOpenAndClosesRandomRows) {
  for (bool stream : {true, false}) {
    SCOPED_TRACE(stream ? "stream" : "random");
    DramConfig c = config();
    c.controller.page_policy = PagePolicy::Adaptive;
    Harness h(c);
    std::mt19937_64 rng(5);
    for (unsigned i = 0; i < 400; ++i) {
      const uint64_t a = stream ? h.addr(0, 0, 0, 5, (i % 128) * 8) : h.addr(0, 0, 0, static_cast<uint32_t>(rng() % 60000));
      h.submit(i, a, false, i * 200);
    }
    h.run_all();
    const ChannelStats& s = h.ch().stats();
    if (stream) {
      EXPECT_EQ(s.row_hits, 399u);
      EXPECT_EQ(s.command_count(K::RdA), 0u);
    } else {
      EXPECT_GT(s.command_count(K::RdA), 390u);  // closes after each access once it has learnt
      EXPECT_LT(s.row_conflicts, 5u);
      EXPECT_LT(s.avg_read_latency(), 49.0);     // misses (48) instead of conflicts (70)
    }
  }
}

TEST(DramChannel, FrFcfsServesRowHitsFirstFcfsKeepsOrder) {
  for (SchedulerKind sched : {SchedulerKind::FrFcfs, SchedulerKind::Fcfs}) {
    DramConfig c = config();
    c.controller.scheduler = sched;
    Harness h(c);
    h.submit(1, h.addr(0, 0, 0, 5), false, 0);
    h.submit(2, h.addr(0, 0, 0, 6), false, 0);
    h.submit(3, h.addr(0, 0, 0, 5, 8), false, 0);
    h.run_all();
    std::vector<uint64_t> order;
    for (const Completion& d : h.done) order.push_back(d.id);
    if (sched == SchedulerKind::FrFcfs) {
      EXPECT_EQ(order, (std::vector<uint64_t>{1, 3, 2}));
    } else {
      EXPECT_EQ(order, (std::vector<uint64_t>{1, 2, 3}));
    }
  }
}

TEST(DramChannel, WritesDrainBetweenHighAndLowWatermarks) {
  DramConfig c = config();
  c.controller.write_queue = 8;
  c.controller.write_high_watermark = 6;
  c.controller.write_low_watermark = 2;
  Harness h(c);
  for (unsigned i = 0; i < 20; ++i) h.submit(i, h.addr(0, 0, 0, 100 + i), false, 0);  // slow conflicts
  for (unsigned i = 0; i < 5; ++i) h.submit(100 + i, h.addr(0, 1, i % 4, 7, i * 8), true, 1);
  h.advance(400);
  EXPECT_TRUE(h.of(K::Wr).empty()) << "writes below the high watermark wait while reads are queued";
  h.submit(105, h.addr(0, 1, 1, 7, 64), true, 401);
  h.run_all();
  // Once the sixth write arrived, exactly four writes drain (6 -> 2) before reads resume.
  size_t first_wr = 0;
  while (first_wr < h.log.size() && h.log[first_wr].kind != K::Wr) ++first_wr;
  ASSERT_LT(first_wr, h.log.size());
  EXPECT_GE(h.log[first_wr].cycle, 401u);
  unsigned writes = 0;
  size_t i = first_wr;
  for (; i < h.log.size() && h.log[i].kind != K::Rd; ++i) writes += h.log[i].kind == K::Wr;
  EXPECT_EQ(writes, 4u);
  EXPECT_EQ(h.ch().stats().writes, 6u);
  EXPECT_EQ(h.ch().stats().reads, 20u);
}

TEST(DramChannel, QueueDepthsAreEnforced) {
  DramConfig c = config();
  c.controller.read_queue = 3;
  c.controller.write_queue = 2;
  c.controller.write_high_watermark = 2;
  c.controller.write_low_watermark = 0;
  Harness h(c);
  for (unsigned i = 0; i < 3; ++i) h.submit(i, h.addr(0, 0, 0, i), false, 0);
  EXPECT_FALSE(h.ch().can_accept(false));
  EXPECT_TRUE(h.ch().can_accept(true));
  EXPECT_THROW(h.ch().enqueue(Request{9, 0, false, 0}), std::logic_error);
  h.submit(10, h.addr(0, 1, 0, 1), true, 0);
  h.submit(11, h.addr(0, 1, 0, 2), true, 0);
  EXPECT_FALSE(h.ch().can_accept(true));
  const Cycle space = h.ch().issue_until_space(false);
  EXPECT_TRUE(h.ch().can_accept(false));
  EXPECT_EQ(space, h.log.back().cycle + 1);
  EXPECT_TRUE(is_column(h.log.back().kind));
  h.run_all();
  EXPECT_EQ(h.done.size(), 5u);
}

TEST(DramChannel, CompletionsAreDeliveredOnceInCycleOrder) {
  Harness h(config("DDR4-3200AA", RefreshMode::AllBank));
  std::mt19937_64 rng(11);
  uint64_t id = 0;
  for (Cycle t = 0; t < 20000; t += 1 + rng() % 40) {
    const bool write = rng() % 4 == 0;
    if (t > 0) h.advance(t - 1);
    if (!h.ch().can_accept(write)) continue;
    h.submit(id++, (rng() % (uint64_t{1} << 33)) & ~uint64_t{63}, write, t);
  }
  h.run_all();
  ASSERT_EQ(h.done.size(), id);
  for (size_t i = 1; i < h.done.size(); ++i) EXPECT_LE(h.done[i - 1].cycle, h.done[i].cycle);
  std::vector<uint64_t> ids;
  for (const Completion& d : h.done) ids.push_back(d.id);
  std::sort(ids.begin(), ids.end());
  for (uint64_t i = 0; i < id; ++i) EXPECT_EQ(ids[i], i);
  EXPECT_TRUE(h.ch().idle());
  EXPECT_EQ(h.ch().next_event(), kNever);
}

TEST(DramChannel, IdleChannelRefreshesOnTheTrefiGrid) {
  Harness h(config("DDR4-3200AA", RefreshMode::AllBank));
  EXPECT_EQ(h.ch().next_event(), kNever);  // idle: the shell need not wake for refresh
  const Cycle trefi = h.t().tREFI;
  h.advance(10 * trefi + 5);
  EXPECT_EQ(h.cycles_of(K::Ref),
            (std::vector<Cycle>{trefi, 2 * trefi, 3 * trefi, 4 * trefi, 5 * trefi, 6 * trefi, 7 * trefi, 8 * trefi,
                                9 * trefi, 10 * trefi}));
  EXPECT_EQ(h.ch().stats().refreshes, 10u);
  EXPECT_EQ(h.ch().stats().banks[5].refreshes, 10u);
}

TEST(DramChannel, RefreshPrechargesOpenRowsFirstAndBlocksTheRank) {
  Harness h(config("DDR4-3200AA", RefreshMode::AllBank));
  const Cycle trefi = h.t().tREFI;
  h.submit(1, h.addr(0, 0, 0, 5), false, 0);
  h.submit(2, h.addr(0, 3, 1, 5), false, 0);
  h.submit(3, h.addr(0, 0, 0, 5, 8), false, trefi - 30);  // a hit arriving just before refresh
  h.submit(4, h.addr(0, 0, 0, 5, 16), false, trefi + 1);  // arrives while the rank is blocked
  h.run_all();
  EXPECT_EQ(h.cycles_of(K::PreA), (std::vector<Cycle>{trefi}));
  EXPECT_EQ(h.cycles_of(K::Ref), (std::vector<Cycle>{trefi + 22}));            // + tRP
  EXPECT_EQ(h.done_at(3), trefi - 30 + 26);                                   // served before the refresh
  EXPECT_EQ(h.done_at(4), trefi + 22 + 560 + 22 + 26);                        // REF + tRFC, ACT, RD
}

TEST(DramChannel, LazyRefreshCatchUpMatchesPerCycleStepping) {
  // The same timed requests, once with the channel woken only at arrivals and events (lazy) and once
  // advanced every single cycle (what a clocked controller would do): identical command streams.
  std::mt19937_64 rng(3);
  struct Arrival {
    Cycle at;
    uint64_t addr;
    bool write;
  };
  std::vector<Arrival> arrivals;
  Cycle t = 0;
  for (unsigned i = 0; i < 150; ++i) {
    t += rng() % 3 == 0 ? 20000 + rng() % 20000 : rng() % 50;
    arrivals.push_back({t, (rng() % (uint64_t{1} << 33)) & ~uint64_t{63}, rng() % 3 == 0});
  }
  const Cycle end = t + 50000;
  Harness lazy(config("DDR4-3200AA", RefreshMode::AllBank));
  Harness eager(config("DDR4-3200AA", RefreshMode::AllBank));
  for (size_t i = 0; i < arrivals.size(); ++i) lazy.submit(i, arrivals[i].addr, arrivals[i].write, arrivals[i].at);
  lazy.advance(end);
  size_t next = 0;
  for (Cycle now = 0; now <= end; ++now) {
    while (next < arrivals.size() && arrivals[next].at == now) {
      eager.ch().enqueue(Request{next, arrivals[next].addr, arrivals[next].write, now});
      ++next;
    }
    eager.advance(now);
  }
  ASSERT_EQ(lazy.log.size(), eager.log.size());
  for (size_t i = 0; i < lazy.log.size(); ++i) {
    EXPECT_EQ(to_string(lazy.log[i]), to_string(eager.log[i])) << "command " << i;
  }
  ASSERT_EQ(lazy.done.size(), eager.done.size());
  for (size_t i = 0; i < lazy.done.size(); ++i) EXPECT_EQ(lazy.done[i].cycle, eager.done[i].cycle);
  EXPECT_GE(lazy.ch().stats().refreshes, end / lazy.t().tREFI);
}

TEST(DramChannel, Ddr5PerBankRefreshRotatesThroughBankIndices) {
  Harness h(config("DDR5-4800B", RefreshMode::PerBank));
  const Cycle interval = h.t().tREFI / 4;  // four banks per group: one REFsb per bank index per tREFI
  h.advance(2 * h.t().tREFI + 1);
  const std::vector<Command> refs = h.of(K::RefSb);
  ASSERT_EQ(refs.size(), 8u);
  for (size_t i = 0; i < refs.size(); ++i) {
    EXPECT_EQ(refs[i].cycle, (i + 1) * interval);
    EXPECT_EQ(index(refs[i].bank), i % 4);
  }
  EXPECT_EQ(h.ch().stats().per_bank_refreshes, 8u);
  EXPECT_EQ(h.ch().stats().banks[3 * 4 + 1].refreshes, 2u);  // bank 1 of group 3: twice
}

TEST(DramChannel, PerBankRefreshLetsOtherBanksWork) {
  Harness h(config("DDR5-4800B", RefreshMode::PerBank));
  const Cycle first = h.t().tREFI / 4;
  // A read to a bank that is not being refreshed, arriving just after the REFsb of bank index 0.
  h.submit(1, h.addr(0, 2, 1, 5), false, first + 1);
  // A read to a bank under refresh waits for tRFCsb.
  h.submit(2, h.addr(0, 3, 0, 5), false, first + 1);
  h.run_all();
  EXPECT_EQ(h.cycles_of(K::RefSb), (std::vector<Cycle>{first}));
  EXPECT_EQ(h.done_at(1), first + h.t().tRREFD + h.t().tRCD + h.t().CL + h.t().tBL);
  EXPECT_EQ(h.done_at(2), first + h.t().tRFCsb + h.t().tRCD + h.t().CL + h.t().tBL);
}

TEST(DramChannel, MultiBurstRequestsIssueOneColumnCommandPerBurst) {
  Harness h(config("LPDDR5-6400"));  // x16, BL16: 32 bytes per burst, two per 64-byte request
  h.submit(1, h.addr(0, 0, 0, 5), false, 0);
  h.run_all();
  EXPECT_EQ(h.cycles_of(K::Rd), (std::vector<Cycle>{15, 19}));  // tRCD, then tCCD_L
  std::vector<uint32_t> cols;
  for (const Command& c : h.of(K::Rd)) cols.push_back(c.column);
  EXPECT_EQ(cols, (std::vector<uint32_t>{0, 16}));
  EXPECT_EQ(h.done_at(1), 19u + 17 + 2);
  EXPECT_EQ(h.ch().stats().bytes_read, 64u);
}

TEST(DramChannel, MultiRankTrafficSwitchesRanksLegally) {
  DramConfig c = config("DDR4-3200AA", RefreshMode::AllBank);
  c.organisation.ranks = 4;
  c.controller.address_mapping = "ro:ba:co:ra:bg:ch";
  Harness h(c);
  std::mt19937_64 rng(8);
  uint64_t id = 0;
  for (Cycle t = 0; t < 60000; t += rng() % 6) {
    const bool write = rng() % 3 == 0;
    if (t > 0) h.advance(t - 1);
    if (!h.ch().can_accept(write)) continue;
    h.submit(id++, (rng() % h.ch().mapper().capacity()) & ~uint64_t{63}, write, t);
  }
  h.run_all();
  EXPECT_EQ(h.done.size(), id);
  unsigned ranks_used = 0;
  for (unsigned r = 0; r < 4; ++r) {
    bool used = false;
    for (const Command& x : h.of(K::Rd)) used |= index(x.rank) == r;
    ranks_used += used;
  }
  EXPECT_EQ(ranks_used, 4u);
  EXPECT_GT(h.ch().stats().refreshes, 4u * (60000 / 12480) - 4);
}

TEST(DramChannel, StatisticsAreConsistent) {
  Harness h(config("DDR4-3200AA", RefreshMode::AllBank));
  std::mt19937_64 rng(2);
  uint64_t id = 0;
  for (Cycle t = 0; t < 40000; t += rng() % 10) {
    const bool write = rng() % 4 == 0;
    if (t > 0) h.advance(t - 1);
    if (!h.ch().can_accept(write)) continue;
    const uint64_t a = rng() % 2 ? (rng() % (uint64_t{1} << 33)) & ~uint64_t{63} : (id * 64) % (1 << 20);
    h.submit(id++, a, write, t);
  }
  h.run_all();
  h.ch().sync_stats(1000000);
  const ChannelStats& s = h.ch().stats();
  EXPECT_EQ(s.reads + s.writes, id);
  EXPECT_EQ(s.row_hits + s.row_misses + s.row_conflicts, id);
  EXPECT_EQ(s.bytes_read, s.reads * 64);
  EXPECT_EQ(s.bytes_written, s.writes * 64);
  BankStats sum;
  for (const BankStats& b : s.banks) {
    sum.reads += b.reads;
    sum.writes += b.writes;
    sum.row_hits += b.row_hits;
    sum.activates += b.activates;
    sum.precharges += b.precharges;
  }
  EXPECT_EQ(sum.reads, s.reads);
  EXPECT_EQ(sum.writes, s.writes);
  EXPECT_EQ(sum.row_hits, s.row_hits);
  EXPECT_EQ(sum.activates, s.activates);
  EXPECT_EQ(sum.precharges, s.precharges);
  for (unsigned k = 0; k < kCommandKinds; ++k) {
    EXPECT_EQ(s.commands[k], h.of(static_cast<CommandKind>(k)).size()) << to_string(static_cast<CommandKind>(k));
  }
  EXPECT_EQ(s.activates, s.command_count(K::Act));
  EXPECT_EQ(s.refreshes, s.command_count(K::Ref));
  uint64_t histogram = 0;
  for (uint64_t n : s.read_latency_histogram) histogram += n;
  EXPECT_EQ(histogram, s.reads);
  EXPECT_GE(s.read_latency_max, 26u);
  EXPECT_GE(s.avg_read_latency(), 26.0);
  EXPECT_EQ(s.cycles, 1000000u);
  EXPECT_GT(s.avg_read_queue_occupancy(), 0.0);
  EXPECT_LE(s.avg_read_queue_occupancy(), 32.0);
  EXPECT_LE(s.avg_write_queue_occupancy(), 32.0);
}

TEST(DramMemorySystem, RoutesBySubchannelAndAggregates) {
  DramConfig c = config("DDR5-4800B", RefreshMode::AllBank);
  c.organisation.subchannels = 2;
  c.controller.address_mapping = "ro:ra:ba:co:bg:ch";
  MemorySystem sys(c);
  ASSERT_EQ(sys.channel_count(), 2u);
  EXPECT_EQ(sys.channel_of(0), 0u);
  EXPECT_EQ(sys.channel_of(64), 1u);
  std::vector<Completion> done;
  for (uint64_t i = 0; i < 8; ++i) sys.enqueue(Request{i, i * 64, false, 0});
  EXPECT_EQ(sys.channel(0).queued(false), 4u);
  EXPECT_EQ(sys.channel(1).queued(false), 4u);
  for (Cycle ne = sys.next_event(); ne != kNever; ne = sys.next_event()) sys.advance_to(ne, done);
  EXPECT_EQ(done.size(), 8u);
  EXPECT_TRUE(sys.idle());
  const ChannelStats total = sys.total_stats(1000);
  EXPECT_EQ(total.reads, 8u);
  EXPECT_EQ(sys.violation_count(), 0u) << sys.violation_report();
}

// Long idle stretches: skipping whole refresh rounds (the default) must give exactly what simulating
// every refresh gives: the same completions at the same cycles and the same statistics, with the
// JEDEC checker (told about the skipped rounds) finding nothing. Every standard, all-bank and per-bank
// refresh, one and two ranks, open and closed pages; bursts of traffic between gaps of up to ~12 ms.
TEST(DramChannel, IdleRefreshSkipIsExact) {
  struct Case {
    const char* preset;
    RefreshMode refresh;
    uint64_t ranks;
    PagePolicy policy;
  };
  const Case cases[] = {
      {"DDR4-3200AA", RefreshMode::AllBank, 1, PagePolicy::Open},
      {"DDR4-3200AA", RefreshMode::AllBank, 2, PagePolicy::Closed},
      {"DDR5-4800B", RefreshMode::AllBank, 1, PagePolicy::Adaptive},
      {"DDR5-4800B", RefreshMode::PerBank, 2, PagePolicy::Open},
      {"LPDDR5-6400", RefreshMode::PerBank, 1, PagePolicy::Closed},
      {"HBM2-2000", RefreshMode::PerBank, 1, PagePolicy::Open},
      {"HBM2-2000", RefreshMode::AllBank, 1, PagePolicy::Open},
  };
  auto stats_text = [](const ChannelStats& s) {
    std::ostringstream o;
    o << s.reads << ' ' << s.writes << ' ' << s.row_hits << ' ' << s.row_misses << ' ' << s.row_conflicts << ' '
      << s.activates << ' ' << s.precharges << ' ' << s.refreshes << ' ' << s.per_bank_refreshes << ' '
      << s.bytes_read << ' ' << s.bytes_written << ' ' << s.read_latency_sum << ' ' << s.read_latency_max << ' '
      << s.write_latency_sum << ' ' << s.read_queue_occupancy_sum << ' ' << s.write_queue_occupancy_sum << ' '
      << s.cycles << " |";
    for (uint64_t c : s.commands) o << ' ' << c;
    o << " |";
    for (uint64_t h : s.read_latency_histogram) o << ' ' << h;
    for (const BankStats& b : s.banks) {
      o << " | " << b.reads << ' ' << b.writes << ' ' << b.row_hits << ' ' << b.row_misses << ' ' << b.row_conflicts
        << ' ' << b.activates << ' ' << b.precharges << ' ' << b.refreshes;
    }
    return o.str();
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(std::string(k.preset) + " ranks " + std::to_string(k.ranks) + " refresh " +
                 std::to_string(static_cast<int>(k.refresh)) + " policy " + std::to_string(static_cast<int>(k.policy)));
    DramConfig c = config(k.preset, k.refresh);
    c.organisation.ranks = k.ranks;
    c.controller.page_policy = k.policy;
    std::mt19937_64 rng(7);
    struct Arrival {
      Cycle at;
      uint64_t addr;
      bool write;
    };
    std::vector<Arrival> arrivals;
    Cycle t = 0;
    const uint64_t capacity = c.organisation.capacity_bytes() / c.organisation.channels / c.organisation.subchannels;
    for (unsigned i = 0; i < 400; ++i) {
      const uint64_t r = rng() % 10;
      t += r == 0 ? 1000000 + rng() % 20000000 : r < 3 ? 5000 + rng() % 50000 : rng() % 40;
      arrivals.push_back({t, (rng() % capacity) & ~uint64_t{63}, rng() % 4 == 0});
    }
    const Cycle end = t + 30000000;
    Channel skip(c);
    Channel step(c);
    step.set_idle_skip(false);
    std::vector<Completion> done_skip, done_step;
    for (size_t i = 0; i < arrivals.size(); ++i) {
      for (Channel* ch : {&skip, &step}) {
        std::vector<Completion>& done = ch == &skip ? done_skip : done_step;
        if (arrivals[i].at > 0) ch->advance_to(arrivals[i].at - 1, done);
        while (!ch->can_accept(arrivals[i].write)) ch->advance_to(ch->issue_until_space(arrivals[i].write), done);
        ch->enqueue(Request{i, arrivals[i].addr, arrivals[i].write, arrivals[i].at});
      }
    }
    skip.advance_to(end, done_skip);
    step.advance_to(end, done_step);
    ASSERT_EQ(done_skip.size(), arrivals.size());
    ASSERT_EQ(done_step.size(), arrivals.size());
    for (size_t i = 0; i < done_skip.size(); ++i) {
      ASSERT_EQ(done_skip[i].id, done_step[i].id) << i;
      ASSERT_EQ(done_skip[i].cycle, done_step[i].cycle) << i;
    }
    skip.sync_stats(end);
    step.sync_stats(end);
    EXPECT_EQ(stats_text(skip.stats()), stats_text(step.stats()));
    EXPECT_GT(skip.skipped_refreshes(), 0u);
    EXPECT_EQ(step.skipped_refreshes(), 0u);
    EXPECT_GT(skip.stats().refreshes + skip.stats().per_bank_refreshes, 1000u);
    for (Channel* ch : {&skip, &step}) {
      ch->checker()->finish(end);
      EXPECT_EQ(ch->checker()->violation_count(), 0u) << ch->checker()->report();
    }
  }
}

// A request after 2^47 idle cycles costs O(1) host time: the refreshes before it are counted, not
// simulated one by one (at one refresh per 7.8 us that would be 2.2 * 10^10 steps).
TEST(DramChannel, RequestAfterHugeIdleGapIsCheap) {
  DramConfig c = config("DDR4-3200AA", RefreshMode::AllBank);
  Channel ch(c);
  std::vector<Completion> done;
  const Cycle at = Cycle{1} << 47;
  ch.advance_to(at - 1, done);
  ch.enqueue(Request{1, 0x1000, false, at});
  ch.advance_to(at + 1000, done);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].cycle - at, ch.stats().read_latency_max);
  EXPECT_GE(ch.stats().refreshes, at / c.timing.tREFI);
  EXPECT_LE(ch.stats().refreshes, (at + 1000) / c.timing.tREFI);
  EXPECT_GT(ch.skipped_refreshes(), ch.stats().refreshes - 10);
  ch.checker()->finish(at + 1000);
  EXPECT_EQ(ch.checker()->violation_count(), 0u) << ch.checker()->report();
}

}  // namespace
}  // namespace vmsim::dram
