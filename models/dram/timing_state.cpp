// Controller-side timing engine: incremental updates of earliest-issue cycles per command.
#include "models/dram/timing_state.hpp"

#include <algorithm>

namespace vmsim::dram {

TimingState::TimingState(const TimingParams& t, const Organisation& org)
    : m_t(t),
      m_banks_per_group(static_cast<uint32_t>(org.banks_per_group)),
      m_banks_per_rank(static_cast<uint32_t>(org.banks_per_rank())),
      m_group_shift(static_cast<unsigned>(__builtin_ctzll(org.banks_per_group))),
      m_rank_shift(static_cast<unsigned>(__builtin_ctzll(org.banks_per_rank()))),
      m_banks(org.banks_per_channel()),
      m_groups(org.ranks * org.bank_groups),
      m_ranks(org.ranks),
      m_groups_per_rank(static_cast<uint32_t>(org.bank_groups)),
      m_group_floor(org.ranks * org.bank_groups * 4, 0) {}

void TimingState::update_act_floors(uint32_t rank) {
  const RankT& r = m_ranks[rank];
  const Cycle rank_floor = std::max(r.act, r.faw[r.faw_pos]);
  const uint32_t first = rank * m_groups_per_rank;
  for (uint32_t g = first; g < first + m_groups_per_rank; ++g) {
    m_group_floor[g * 4 + 1] = std::max(m_groups[g].act, rank_floor);
  }
}

void TimingState::update_column_floors() {
  uint32_t g = 0;
  for (const RankT& r : m_ranks) {
    for (uint32_t i = 0; i < m_groups_per_rank; ++i, ++g) {
      m_group_floor[g * 4 + 2] = std::max(m_groups[g].rd, r.rd);
      m_group_floor[g * 4 + 3] = std::max(m_groups[g].wr, r.wr);
    }
  }
}

Cycle TimingState::earliest_ref(unsigned rank) const {
  Cycle c = 0;
  const uint32_t first = rank * m_banks_per_rank;
  for (uint32_t b = first; b < first + m_banks_per_rank; ++b) c = std::max(c, m_banks[b].ref);
  return c;
}

Cycle TimingState::earliest_refsb(unsigned rank, uint64_t mask) const {
  Cycle c = m_ranks[rank].refsb;
  const uint32_t first = rank * m_banks_per_rank;
  for (uint32_t i = 0; i < m_banks_per_rank; ++i) {
    if ((mask >> i) & 1) c = std::max(c, m_banks[first + i].ref);
  }
  return c;
}

Cycle TimingState::read_autoprecharge_at(uint32_t bank, Cycle cycle) const {
  return std::max(cycle + m_t.tRTP, m_banks[bank].act_time + m_t.tRAS);
}

Cycle TimingState::write_autoprecharge_at(uint32_t bank, Cycle cycle) const {
  return std::max(cycle + m_t.CWL + m_t.tBL + m_t.tWR, m_banks[bank].act_time + m_t.tRAS);
}

void TimingState::record_act(uint32_t bank, Cycle t) {
  BankT& b = m_banks[bank];
  raise(b.act, t + m_t.tRC);
  raise(b.pre, t + m_t.tRAS);
  raise(b.rd, t + m_t.tRCD);
  raise(b.wr, t + m_t.tRCD);
  b.act_time = t;
  raise(m_groups[group_of(bank)].act, t + m_t.tRRD_L);
  RankT& r = m_ranks[rank_of(bank)];
  raise(r.act, t + m_t.tRRD_S);
  r.faw[r.faw_pos] = t + m_t.tFAW;
  r.faw_pos = (r.faw_pos + 1) & 3;
  update_act_floors(rank_of(bank));
}

void TimingState::record_pre(uint32_t bank, Cycle t) {
  BankT& b = m_banks[bank];
  raise(b.act, t + m_t.tRP);
  raise(b.ref, t + m_t.tRP);
}

void TimingState::record_read(uint32_t bank, Cycle t, bool auto_precharge) {
  BankT& b = m_banks[bank];
  if (auto_precharge) {
    const Cycle p = read_autoprecharge_at(bank, t);
    raise(b.act, p + m_t.tRP);
    raise(b.ref, p + m_t.tRP);
  }
  raise(b.pre, t + m_t.tRTP);
  const Cycle rtw = after(t, m_t.CL + m_t.tBL + m_t.rtw_bubble, m_t.CWL);
  Group& g = m_groups[group_of(bank)];
  raise(g.rd, t + m_t.tCCD_L);
  raise(g.wr, rtw);
  const uint32_t rank = rank_of(bank);
  for (uint32_t ri = 0; ri < m_ranks.size(); ++ri) {
    RankT& r = m_ranks[ri];
    if (ri == rank) {
      raise(r.rd, t + m_t.tCCD_S);
      raise(r.wr, rtw);
    } else {
      raise(r.rd, t + m_t.tBL + m_t.tRTRS);
      raise(r.wr, after(t, m_t.CL + m_t.tBL + std::max(m_t.tRTRS, m_t.rtw_bubble), m_t.CWL));
    }
  }
  update_column_floors();
}

void TimingState::record_write(uint32_t bank, Cycle t, bool auto_precharge) {
  BankT& b = m_banks[bank];
  const Cycle recovery = t + m_t.CWL + m_t.tBL + m_t.tWR;
  if (auto_precharge) {
    const Cycle p = write_autoprecharge_at(bank, t);
    raise(b.act, p + m_t.tRP);
    raise(b.ref, p + m_t.tRP);
  }
  raise(b.pre, recovery);
  const Cycle data_end = t + m_t.CWL + m_t.tBL;
  Group& g = m_groups[group_of(bank)];
  raise(g.wr, t + m_t.tCCD_L_WR);
  raise(g.rd, data_end + m_t.tWTR_L);
  const uint32_t rank = rank_of(bank);
  for (uint32_t ri = 0; ri < m_ranks.size(); ++ri) {
    RankT& r = m_ranks[ri];
    if (ri == rank) {
      raise(r.wr, t + m_t.tCCD_S);
      raise(r.rd, data_end + m_t.tWTR_S);
    } else {
      raise(r.wr, t + m_t.tBL + m_t.tRTRS);
      raise(r.rd, after(t, m_t.CWL + m_t.tBL + m_t.tRTRS, m_t.CL));
    }
  }
  update_column_floors();
}

void TimingState::record_ref(unsigned rank, Cycle t) {
  const uint32_t first = rank * m_banks_per_rank;
  for (uint32_t b = first; b < first + m_banks_per_rank; ++b) {
    raise(m_banks[b].act, t + m_t.tRFC);
    raise(m_banks[b].ref, t + m_t.tRFC);
  }
}

void TimingState::record_refsb(unsigned rank, uint64_t mask, Cycle t) {
  const uint32_t first = rank * m_banks_per_rank;
  for (uint32_t i = 0; i < m_banks_per_rank; ++i) {
    BankT& b = m_banks[first + i];
    if ((mask >> i) & 1) {
      raise(b.act, t + m_t.tRFCsb);
      raise(b.ref, t + m_t.tRFCsb);
    } else {
      raise(b.act, t + m_t.tRREFD);
    }
  }
  raise(m_ranks[rank].refsb, t + m_t.tRREFD);
}

}  // namespace vmsim::dram
