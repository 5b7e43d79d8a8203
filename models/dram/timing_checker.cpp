// Independent JEDEC protocol checker: pairwise command gaps, tFAW window, bank state, data-bus
// occupancy and refresh interval, evaluated from the observed command history.
#include "models/dram/timing_checker.hpp"

#include <algorithm>

namespace vmsim::dram {
namespace {

int64_t s64(uint64_t v) { return static_cast<int64_t>(v); }

}  // namespace

TimingChecker::TimingChecker(const TimingParams& t, const Organisation& org, PerBankRefresh per_bank,
                             CheckerOptions opts)
    : m_t(t),
      m_org(org),
      m_per_bank(per_bank),
      m_opts(opts),
      m_banks(org.banks_per_channel()),
      m_groups(org.ranks * org.bank_groups),
      m_ranks(org.ranks) {
  m_refresh_deadline = s64((opts.max_postponed + 1) * t.tREFI);
}

TimingChecker::BankH& TimingChecker::bank(const Command& c, unsigned bank_in_rank) {
  return m_banks[index(c.rank) * m_org.banks_per_rank() + bank_in_rank];
}

void TimingChecker::need(const Command& c, int64_t earliest, const char* constraint, const char* since,
                         int64_t since_cycle) {
  const int64_t t = s64(c.cycle);
  if (t >= earliest) return;
  add(c, constraint, static_cast<Cycle>(earliest),
      "earliest legal cycle " + std::to_string(earliest) + " (" + since + " at " + std::to_string(since_cycle) + ")");
}

void TimingChecker::add(const Command& c, const char* constraint, Cycle earliest, const std::string& detail) {
  ++m_count;
  if (m_violations.size() >= m_opts.max_stored) return;
  Violation v;
  v.command = c;
  v.constraint = constraint;
  v.earliest = earliest;
  v.message = "ch" + std::to_string(m_opts.channel) + " cycle " + std::to_string(c.cycle) + ": " + to_string(c) +
              " violates " + constraint + ": " + detail;
  m_violations.push_back(std::move(v));
}

void TimingChecker::state_error(const Command& c, const std::string& what) { add(c, "bank state", 0, what); }

void TimingChecker::check_precharge(const Command& c, const BankH& b) {
  need(c, b.act + s64(m_t.tRAS), "tRAS", "ACT", b.act);
  need(c, b.rd + s64(m_t.tRTP), "tRTP", "RD", b.rd);
  need(c, b.wr + s64(m_t.CWL + m_t.tBL + m_t.tWR), "tWR", "WR", b.wr);
}

void TimingChecker::check_bus(const Command& c, bool write) {
  const int64_t start = s64(c.cycle) + s64(write ? m_t.CWL : m_t.CL);
  const int64_t end = start + s64(m_t.tBL);
  const unsigned rank = index(c.rank);
  if (m_last_burst.valid) {
    int64_t gap = 0;
    const char* rule = "data bus overlap";
    if (!m_last_burst.write && write) {
      gap = s64(m_t.rtw_bubble);
      rule = "data bus read-to-write turnaround";
    }
    if (rank != m_last_burst.rank && s64(m_t.tRTRS) > gap) {
      gap = s64(m_t.tRTRS);
      rule = "tRTRS (data bus rank switch)";
    }
    // Convert the data-bus rule into the earliest legal command cycle.
    const int64_t earliest_start = m_last_burst.end + gap;
    need(c, earliest_start - (start - s64(c.cycle)), rule, m_last_burst.write ? "write burst ending" : "read burst ending",
         m_last_burst.end);
  }
  if (!m_last_burst.valid || end > m_last_burst.end) m_last_burst = {true, write, rank, start, end};
}

void TimingChecker::shift_refresh_history(int64_t delta) {
  auto shift = [delta](int64_t& t) {
    if (t != kLongAgo) t += delta;
  };
  for (BankH& b : m_banks) {
    shift(b.refsb);
    b.refreshed += delta;
  }
  for (RankH& r : m_ranks) {
    shift(r.ref);
    shift(r.refsb);
  }
  shift(m_last_cmd);  // the last command observed was a refresh of the round
  m_refresh_deadline += delta;
}

void TimingChecker::note_refresh() {
  int64_t oldest = INT64_MAX;
  for (const BankH& b : m_banks) oldest = std::min(oldest, b.refreshed);
  m_refresh_deadline = oldest + s64((m_opts.max_postponed + 1) * m_t.tREFI);
  m_refresh_overdue_reported = false;
}

size_t TimingChecker::observe(const Command& c) {
  const uint64_t before = m_count;
  const int64_t t = s64(c.cycle);
  if (t <= m_last_cmd) need(c, m_last_cmd + 1, "command bus (one command per cycle, in order)", "previous command", m_last_cmd);
  m_last_cmd = std::max(m_last_cmd, t);
  if (index(c.rank) >= m_org.ranks || index(c.bank_group) >= m_org.bank_groups ||
      index(c.bank) >= m_org.banks_per_group) {
    state_error(c, "rank/bank group/bank index out of range");
    return static_cast<size_t>(m_count - before);
  }
  if (m_opts.check_refresh_interval && !m_refresh_overdue_reported && t > m_refresh_deadline) {
    add(c, "refresh interval", 0, "a bank has not been refreshed since cycle " +
        std::to_string(m_refresh_deadline - s64((m_opts.max_postponed + 1) * m_t.tREFI)) + " (more than " +
        std::to_string(m_opts.max_postponed) + " refreshes postponed)");
    m_refresh_overdue_reported = true;
  }

  RankH& rank = m_ranks[index(c.rank)];
  const unsigned bank_in_rank = index(c.bank_group) * static_cast<unsigned>(m_org.banks_per_group) + index(c.bank);
  GroupH& group = m_groups[index(c.rank) * m_org.bank_groups + index(c.bank_group)];
  const int64_t cwl_bl = s64(m_t.CWL + m_t.tBL);

  switch (c.kind) {
    case CommandKind::Act: {
      BankH& b = bank(c, bank_in_rank);
      if (b.open) state_error(c, "ACT to a bank with row " + std::to_string(b.row) + " open");
      need(c, b.act + s64(m_t.tRC), "tRC", "ACT", b.act);
      need(c, b.pre + s64(m_t.tRP), "tRP", "PRE", b.pre);
      need(c, group.act + s64(m_t.tRRD_L), "tRRD_L", "ACT in bank group", group.act);
      need(c, rank.act + s64(m_t.tRRD_S), "tRRD_S", "ACT in rank", rank.act);
      need(c, rank.acts[rank.next] + s64(m_t.tFAW), "tFAW", "fourth-last ACT", rank.acts[rank.next]);
      need(c, rank.ref + s64(m_t.tRFC), "tRFC", "REF", rank.ref);
      need(c, b.refsb + s64(m_t.tRFCsb), "tRFCsb", "REFsb of this bank", b.refsb);
      need(c, rank.refsb + s64(m_t.tRREFD), "tRREFD", "REFsb", rank.refsb);
      b.open = true;
      b.row = c.row;
      b.act = group.act = rank.act = t;
      rank.acts[rank.next] = t;
      rank.next = (rank.next + 1) & 3;
      break;
    }
    case CommandKind::Pre: {
      BankH& b = bank(c, bank_in_rank);
      if (b.open) {
        check_precharge(c, b);
        b.open = false;
        b.pre = t;
      }
      break;
    }
    case CommandKind::PreA: {
      for (unsigned i = 0; i < m_org.banks_per_rank(); ++i) {
        BankH& b = bank(c, i);
        if (!b.open) continue;
        check_precharge(c, b);
        b.open = false;
        b.pre = t;
      }
      break;
    }
    case CommandKind::Rd:
    case CommandKind::RdA:
    case CommandKind::Wr:
    case CommandKind::WrA: {
      const bool write = is_write(c.kind);
      BankH& b = bank(c, bank_in_rank);
      if (!b.open) {
        state_error(c, "column command to a precharged bank");
      } else if (b.row != c.row) {
        state_error(c, "column command to row " + std::to_string(c.row) + " but row " + std::to_string(b.row) +
                           " is open");
      }
      need(c, b.act + s64(m_t.tRCD), "tRCD", "ACT", b.act);
      if (!write) {
        need(c, group.rd + s64(m_t.tCCD_L), "tCCD_L", "RD in bank group", group.rd);
        need(c, rank.rd + s64(m_t.tCCD_S), "tCCD_S", "RD in rank", rank.rd);
        need(c, group.wr + cwl_bl + s64(m_t.tWTR_L), "tWTR_L", "WR in bank group", group.wr);
        need(c, rank.wr + cwl_bl + s64(m_t.tWTR_S), "tWTR_S", "WR in rank", rank.wr);
      } else {
        need(c, group.wr + s64(m_t.tCCD_L_WR), "tCCD_L_WR", "WR in bank group", group.wr);
        need(c, rank.wr + s64(m_t.tCCD_S), "tCCD_S", "WR in rank", rank.wr);
      }
      check_bus(c, write);
      if (c.kind == CommandKind::RdA) {
        const int64_t p = std::max(t + s64(m_t.tRTP), b.act + s64(m_t.tRAS));
        if (p < b.wr + cwl_bl + s64(m_t.tWR)) {
          need(c, b.wr + cwl_bl + s64(m_t.tWR) - s64(m_t.tRTP), "tWR (RDA auto-precharge)", "WR", b.wr);
        }
        b.open = false;
        b.pre = p;
      } else if (c.kind == CommandKind::WrA) {
        b.open = false;
        b.pre = std::max(t + cwl_bl + s64(m_t.tWR), b.act + s64(m_t.tRAS));
      }
      if (write) {
        b.wr = group.wr = rank.wr = t;
      } else {
        b.rd = group.rd = rank.rd = t;
      }
      break;
    }
    case CommandKind::Ref: {
      for (unsigned i = 0; i < m_org.banks_per_rank(); ++i) {
        BankH& b = bank(c, i);
        if (b.open) state_error(c, "REF while bank " + std::to_string(i) + " has row " + std::to_string(b.row) + " open");
        need(c, b.pre + s64(m_t.tRP), "tRP", "PRE", b.pre);
        need(c, b.refsb + s64(m_t.tRFCsb), "tRFCsb", "REFsb", b.refsb);
      }
      need(c, rank.ref + s64(m_t.tRFC), "tRFC", "REF", rank.ref);
      rank.ref = t;
      for (unsigned i = 0; i < m_org.banks_per_rank(); ++i) bank(c, i).refreshed = t;
      note_refresh();
      break;
    }
    case CommandKind::RefSb: {
      if (m_per_bank == PerBankRefresh::None) {
        state_error(c, "per-bank refresh is not supported by this standard");
        break;
      }
      need(c, rank.ref + s64(m_t.tRFC), "tRFC", "REF", rank.ref);
      need(c, rank.refsb + s64(m_t.tRREFD), "tRREFD", "REFsb", rank.refsb);
      for (unsigned g = 0; g < m_org.bank_groups; ++g) {
        if (m_per_bank == PerBankRefresh::SingleBank && g != index(c.bank_group)) continue;
        BankH& b = bank(c, g * static_cast<unsigned>(m_org.banks_per_group) + index(c.bank));
        if (b.open) state_error(c, "REFsb while target bank group " + std::to_string(g) + " has row " +
                                       std::to_string(b.row) + " open");
        need(c, b.pre + s64(m_t.tRP), "tRP", "PRE", b.pre);
        need(c, b.refsb + s64(m_t.tRFCsb), "tRFCsb", "REFsb", b.refsb);
        b.refsb = t;
        b.refreshed = t;
      }
      rank.refsb = t;
      note_refresh();
      break;
    }
  }
  return static_cast<size_t>(m_count - before);
}

void TimingChecker::finish(Cycle cycle) {
  if (m_opts.check_refresh_interval && !m_refresh_overdue_reported && s64(cycle) > m_refresh_deadline) {
    Command c;
    c.kind = CommandKind::Ref;
    c.cycle = cycle;
    add(c, "refresh interval", 0, "end of run: a bank has not been refreshed since cycle " +
        std::to_string(m_refresh_deadline - s64((m_opts.max_postponed + 1) * m_t.tREFI)));
    m_refresh_overdue_reported = true;
  }
}

std::string TimingChecker::report(size_t max_lines) const {
  std::string out;
  for (size_t i = 0; i < m_violations.size() && i < max_lines; ++i) out += m_violations[i].message + "\n";
  if (m_count > std::min<uint64_t>(max_lines, m_violations.size())) {
    out += "... " + std::to_string(m_count) + " violations in total\n";
  }
  return out;
}

}  // namespace vmsim::dram
