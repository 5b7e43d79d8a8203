// Controller-side timing engine: the earliest cycle at which each command may issue, per bank, bank
// group and rank, updated incrementally when a command is recorded, so a query is a few max()es.
#pragma once

#include <cstdint>
#include <vector>

#include "models/dram/dram_config.hpp"
#include "models/dram/dram_types.hpp"

namespace vmsim::dram {

// Banks are flat indices: (rank * bank_groups + bank_group) * banks_per_group + bank. The earliest_*
// queries return the first cycle at which the command satisfies every timing constraint recorded so
// far; they do not check bank state (open/closed) or the one-command-per-cycle bus rule.
class TimingState {
 public:
  TimingState(const TimingParams& t, const Organisation& org);

  Cycle earliest_act(uint32_t bank) const {
    const Group& g = m_groups[group_of(bank)];
    const RankT& r = m_ranks[rank_of(bank)];
    return max4(m_banks[bank].act, g.act, r.act, r.faw[r.faw_pos]);
  }
  Cycle earliest_pre(uint32_t bank) const { return m_banks[bank].pre; }
  Cycle earliest_read(uint32_t bank) const {
    return max3(m_banks[bank].rd, m_groups[group_of(bank)].rd, m_ranks[rank_of(bank)].rd);
  }
  Cycle earliest_write(uint32_t bank) const {
    return max3(m_banks[bank].wr, m_groups[group_of(bank)].wr, m_ranks[rank_of(bank)].wr);
  }
  Cycle earliest_column(uint32_t bank, bool write) const { return write ? earliest_write(bank) : earliest_read(bank); }
  // All-bank refresh of `rank`: every bank precharged for tRP and any earlier refresh finished.
  Cycle earliest_ref(unsigned rank) const;
  // Per-bank refresh of the banks in `mask` (bit = bank index within the rank).
  Cycle earliest_refsb(unsigned rank, uint64_t mask) const;
  // Cycle at which an RDA issued at `cycle` would start precharging: max(cycle + tRTP, ACT + tRAS).
  // RDA is only legal if that is >= earliest_pre(bank) (no write recovery still pending).
  Cycle read_autoprecharge_at(uint32_t bank, Cycle cycle) const;
  // Cycle at which a WRA issued at `cycle` precharges its bank: after write recovery and tRAS.
  Cycle write_autoprecharge_at(uint32_t bank, Cycle cycle) const;

  void record_act(uint32_t bank, Cycle t);
  void record_pre(uint32_t bank, Cycle t);
  void record_read(uint32_t bank, Cycle t, bool auto_precharge);
  void record_write(uint32_t bank, Cycle t, bool auto_precharge);
  void record_ref(unsigned rank, Cycle t);
  void record_refsb(unsigned rank, uint64_t mask, Cycle t);

  // Bank-level part of the constraint on `kind` (0 PRE, 1 ACT, 2 RD, 3 WR) and the bank-group/rank
  // part, kept up to date per bank group: earliest = max(bank_floor, group_floors()[group * 4 + kind]).
  // Lets a scheduler cache the bank part and re-read only the group part after other banks' commands.
  Cycle bank_floor(uint32_t bank, unsigned kind) const {
    const BankT& b = m_banks[bank];
    return kind == 0 ? b.pre : kind == 1 ? b.act : kind == 2 ? b.rd : b.wr;
  }
  const Cycle* group_floors() const { return m_group_floor.data(); }
  unsigned group_shift() const { return m_group_shift; }

  uint32_t rank_of(uint32_t bank) const { return bank >> m_rank_shift; }
  uint32_t group_of(uint32_t bank) const { return bank >> m_group_shift; }

 private:
  struct BankT {
    Cycle act = 0, pre = 0, rd = 0, wr = 0, ref = 0;
    Cycle act_time = 0;
  };
  struct Group {
    Cycle act = 0, rd = 0, wr = 0;
  };
  struct RankT {
    Cycle act = 0, rd = 0, wr = 0, refsb = 0;
    Cycle faw[4] = {0, 0, 0, 0};  // ACT time + tFAW of the last four ACTs, oldest at faw_pos
    unsigned faw_pos = 0;
  };
  static Cycle max3(Cycle a, Cycle b, Cycle c) { return a > b ? (a > c ? a : c) : (b > c ? b : c); }
  static Cycle max4(Cycle a, Cycle b, Cycle c, Cycle d) { return max3(a, b, c > d ? c : d); }
  static void raise(Cycle& field, Cycle value) {
    if (value > field) field = value;
  }
  // t + a - b clamped at t (a negative gap imposes nothing).
  static Cycle after(Cycle t, uint64_t a, uint64_t b) { return a > b ? t + (a - b) : t; }

  void update_act_floors(uint32_t rank);
  void update_column_floors();

  TimingParams m_t;
  uint32_t m_banks_per_group;
  uint32_t m_banks_per_rank;
  unsigned m_group_shift;  // log2(banks_per_group): bank counts are powers of two
  unsigned m_rank_shift;   // log2(banks_per_rank)
  std::vector<BankT> m_banks;
  std::vector<Group> m_groups;
  std::vector<RankT> m_ranks;
  uint32_t m_groups_per_rank;
  std::vector<Cycle> m_group_floor;  // per bank group: {0, ACT, RD, WR}
};

}  // namespace vmsim::dram
