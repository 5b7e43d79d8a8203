// One DRAM channel: queues, scheduling decisions, page policy, refresh, completions and statistics.
#include "models/dram/channel.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace vmsim::dram {
namespace {

bool better(Cycle cycle, uint8_t prio, uint64_t seq, Cycle best_cycle, uint8_t best_prio, uint64_t best_seq) {
  if (cycle != best_cycle) return cycle < best_cycle;
  if (prio != best_prio) return prio < best_prio;
  return seq < best_seq;
}

unsigned ctz64(uint64_t v) { return static_cast<unsigned>(__builtin_ctzll(v)); }

}  // namespace

Channel::Channel(const DramConfig& cfg, uint32_t channel_index)
    : m_cfg((cfg.validate("dram"), cfg)),
      m_t(cfg.timing),
      m_mapper(cfg.organisation, cfg.controller.request_bytes, cfg.controller.address_mapping,
               cfg.controller.xor_bank_hash, "dram.controller.address_mapping"),
      m_ts(cfg.timing, cfg.organisation),
      m_index(channel_index) {
  const Organisation& o = cfg.organisation;
  const ControllerConfig& c = cfg.controller;
  m_ranks = static_cast<uint32_t>(o.ranks);
  m_groups = static_cast<uint32_t>(o.bank_groups);
  m_banks_per_group = static_cast<uint32_t>(o.banks_per_group);
  m_banks_per_rank = static_cast<uint32_t>(o.banks_per_rank());
  m_nbanks = static_cast<uint32_t>(o.banks_per_channel());
  m_bursts = static_cast<uint32_t>(cfg.bursts_per_request());
  m_policy = c.page_policy;
  m_fcfs = c.scheduler == SchedulerKind::Fcfs;

  m_bank.resize(m_nbanks);
  m_cand_raw.assign(m_nbanks, 0);
  m_cand_key.assign(m_nbanks, 0);
  m_cand_slot.assign(m_nbanks, kNil);
  m_cand_cls.assign(m_nbanks, kInvalid);
  m_bank_rank.resize(m_nbanks);
  for (uint32_t b = 0; b < m_nbanks; ++b) m_bank_rank[b] = static_cast<uint8_t>(b / m_banks_per_rank);
  const size_t words = (m_nbanks + 63) / 64;
  m_pending[0].assign(words, 0);
  m_pending[1].assign(words, 0);
  m_close.assign(words, 0);
  m_open_mask.assign(m_ranks, 0);
  m_activity.assign(m_ranks, RankActivity{});

  m_capacity[0] = c.read_queue;
  m_capacity[1] = c.write_queue;
  const size_t slots = c.read_queue + c.write_queue;
  m_slots.resize(slots);
  m_free.reserve(slots);
  for (size_t i = slots; i-- > 0;) m_free.push_back(static_cast<uint16_t>(i));

  m_refresh_on = c.refresh != RefreshMode::Off;
  m_per_bank_refresh = c.refresh == RefreshMode::PerBank;
  const uint64_t all_banks = m_banks_per_rank == 64 ? ~uint64_t{0} : (uint64_t{1} << m_banks_per_rank) - 1;
  if (m_per_bank_refresh) {
    m_ref_sets = cfg.per_bank_refresh == PerBankRefresh::SameBankAllGroups ? m_banks_per_group : m_banks_per_rank;
  }
  m_ref_interval = std::max<Cycle>(1, m_t.tREFI / m_ref_sets);
  m_ref_due.resize(m_ranks);
  m_ref_mask.resize(m_ranks);
  m_ref_set.assign(m_ranks, 0);
  for (uint32_t r = 0; r < m_ranks; ++r) {
    m_ref_due[r] = m_refresh_on ? m_ref_interval + r * m_ref_interval / m_ranks : kNever;
    m_ref_mask[r] = m_per_bank_refresh ? refresh_set_mask(0) : all_banks;
  }

  if (c.timing_checker) {
    CheckerOptions opts;
    opts.channel = channel_index;
    opts.check_refresh_interval = m_refresh_on;
    m_checker = std::make_unique<TimingChecker>(cfg.timing, o, cfg.per_bank_refresh, opts);
  }

  m_stats.banks.resize(m_nbanks);
  m_stats.ranks.resize(m_ranks);
  m_stats.latency_bin = c.latency_bin;
  m_stats.read_latency_histogram.assign(c.latency_bins, 0);
  recompute();
}

void Channel::enqueue(const Request& r) { enqueue(r, m_mapper.decode(r.address)); }

void Channel::enqueue(const Request& r, const DramAddress& a) {
  const unsigned m = r.is_write ? 1 : 0;
  if (m_count[m] >= m_capacity[m]) {
    throw std::logic_error("dram channel " + std::to_string(m_index) + ": enqueue into a full " +
                           (m ? "write" : "read") + " queue (check can_accept first)");
  }
  if (index(a.rank) >= m_ranks || index(a.bank_group) >= m_groups || index(a.bank) >= m_banks_per_group) {
    throw std::out_of_range("dram channel " + std::to_string(m_index) + ": decoded address out of range");
  }
  if (r.arrival > 0) run_until(r.arrival - 1);
  if (m_floor < r.arrival) m_floor = r.arrival;
  account_occupancy(r.arrival);
  m_ref_streak = 0;

  const uint16_t s = m_free.back();
  m_free.pop_back();
  const uint32_t bank = (index(a.rank) * m_groups + index(a.bank_group)) * m_banks_per_group + index(a.bank);
  Slot& q = m_slots[s];
  q.id = r.id;
  q.arrival = r.arrival;
  q.seq = m_seq++;
  q.row = a.row;
  q.column = a.column;
  q.bank = static_cast<uint16_t>(bank);
  q.next = kNil;
  q.bursts_left = static_cast<uint8_t>(m_bursts);
  q.cls = 0;
  q.is_write = r.is_write;

  BankState& b = m_bank[bank];
  m_cand_cls[bank] = kInvalid;
  if (b.tail[m] == kNil) {
    b.head[m] = s;
  } else {
    m_slots[b.tail[m]].next = s;
  }
  b.tail[m] = s;
  if (b.count[m]++ == 0) set_bit(m_pending[m], bank);
  if (b.open && b.row == a.row) ++b.hits[m];
  ++m_count[m];
  const unsigned old_mode = m_mode;
  update_mode();
  if (m_fcfs || m_mode != old_mode || (m_dec.bank == bank && m_dec.prio != 0 && m_dec.cycle != kNever)) {
    recompute();
    return;
  }
  // Only this bank's candidate changed (and only if its kind is being served): compare it with the
  // standing decision instead of searching every bank again.
  // Valid because every rank not blocked has its refresh due after the standing decision, and ranks
  // blocked only because of that decision's cycle are handled by a full search.
  if (m_mode != m) {  // the bank may now need preparing for the kind not being served
    recompute();
    return;
  }
  for (uint32_t blocked = m_blocked; blocked; blocked &= blocked - 1) {
    if (m_ref_due[ctz64(blocked)] > m_floor) {
      recompute();
      return;
    }
  }
  if (m_blocked && bank_blocked(bank, m_blocked)) return;
  bank_candidate(bank, m_floor, m_mode, m_dec);
}

void Channel::advance_to(Cycle now, std::vector<Completion>& done) {
  run_until(now);
  if (m_floor <= now) m_floor = now + 1;
  CompletionFifo& rd = m_done[0];
  CompletionFifo& wr = m_done[1];
  for (;;) {
    const bool r_ok = !rd.empty() && rd.front().cycle <= now;
    const bool w_ok = !wr.empty() && wr.front().cycle <= now;
    if (!r_ok && !w_ok) break;
    if (r_ok && (!w_ok || rd.front().cycle <= wr.front().cycle)) {
      done.push_back(rd.front());
      rd.pop();
    } else {
      done.push_back(wr.front());
      wr.pop();
    }
  }
}

Cycle Channel::issue_until_space(bool is_write) {
  while (m_count[is_write] >= m_capacity[is_write]) issue();
  return m_floor;
}

Cycle Channel::next_event() const {
  Cycle e = (m_count[0] + m_count[1]) ? m_dec.cycle : kNever;
  for (unsigned k = 0; k < 2; ++k) {
    if (!m_done[k].empty()) e = std::min(e, m_done[k].front().cycle);
  }
  return e;
}

void Channel::run_until(Cycle t) {
  while (m_dec.cycle <= t) {
    if (m_dec.prio == 0 && m_ref_streak >= uint64_t{m_ranks} * m_ref_sets) skip_idle_rounds(t);
    issue();
  }
}

// A round is m_ref_sets refreshes of every rank: every bank refreshed once, each rank's due cycle
// advanced by P = m_ref_sets * m_ref_interval, the per-bank set index back where it was. After one whole
// round issued on time with nothing queued and no other command (so every bank is closed), each later
// round has the same commands P cycles later: the constraints a round leaves reach no further than the
// round after it, which the previous round already satisfied. Skipping k rounds therefore only advances
// the due cycles and counts k rounds of refreshes; the timing state is then set exactly by the rounds
// simulated normally before t (at least one whole round is left for that: the timing floors each
// refresh raises are dominated by the same floors raised a round later).
void Channel::skip_idle_rounds(Cycle t) {
  if (!m_idle_skip || m_observer || m_count[0] + m_count[1] != 0) return;
  const Cycle period = m_ref_interval * m_ref_sets;
  Cycle last_due = 0;
  for (uint32_t r = 0; r < m_ranks; ++r) last_due = std::max(last_due, m_ref_due[r]);
  // Keep the last two rounds before t to simulate: rank r's m_ref_sets-th refresh after the skip is due
  // at due_r + k * P + (m_ref_sets - 1) * m_ref_interval, which must stay <= t.
  if (t <= last_due || t - last_due < 2 * period) return;
  const uint64_t rounds = (t - last_due) / period - 1;
  const Cycle shift = rounds * period;
  for (uint32_t r = 0; r < m_ranks; ++r) m_ref_due[r] += shift;
  const uint64_t refreshes = rounds * m_ranks * m_ref_sets;
  if (m_per_bank_refresh) {
    m_stats.per_bank_refreshes += refreshes;
    m_stats.commands[static_cast<unsigned>(CommandKind::RefSb)] += refreshes;
  } else {
    m_stats.refreshes += refreshes;
    m_stats.commands[static_cast<unsigned>(CommandKind::Ref)] += refreshes;
  }
  // The sets of a rank partition its banks: every bank is refreshed once per round.
  for (BankStats& b : m_stats.banks) b.refreshes += rounds;
  if (m_checker) m_checker->shift_refresh_history(static_cast<int64_t>(shift));
  m_skipped_refreshes += refreshes;
  m_ref_streak = 0;
  recompute();
}

void Channel::update_mode() {
  const ControllerConfig& c = m_cfg.controller;
  if (m_draining) {
    if (m_count[1] <= c.write_low_watermark) m_draining = false;
  } else if (m_count[1] >= c.write_high_watermark) {
    m_draining = true;
  }
  const unsigned mode = ((m_draining || m_count[0] == 0) && m_count[1] > 0) ? 1 : 0;
  if (mode != m_mode) {
    m_mode = mode;
    std::fill(m_cand_cls.begin(), m_cand_cls.end(), kInvalid);
  }
}

void Channel::sync_stats(Cycle now) {
  account_occupancy(now);
  for (uint32_t r = 0; r < m_ranks; ++r) m_stats.ranks[r] = rank_counters(r);
}

RankEnergyCounters Channel::rank_counters(uint32_t rank) const {
  RankEnergyCounters rc;
  const uint32_t first = rank * m_banks_per_rank;
  for (uint32_t b = first; b < first + m_banks_per_rank; ++b) {
    const BankStats& bs = m_stats.banks[b];
    rc.activates += bs.activates;
    rc.precharges += bs.precharges;
    rc.read_bursts += bs.reads * m_bursts;
    rc.write_bursts += bs.writes * m_bursts;
    if (m_per_bank_refresh) rc.refreshed_banks += bs.refreshes;
  }
  if (!m_per_bank_refresh) rc.refreshes = m_stats.banks[first].refreshes;  // every REF covers every bank
  const Cycle end = m_stats.cycles;
  const RankActivity& a = m_activity[rank];
  rc.active_cycles = a.closed;
  if (a.active) {
    const Cycle stop = m_open_mask[rank] ? end : std::min(a.until, end);
    if (stop > a.since) rc.active_cycles += stop - a.since;
  }
  rc.cycles = end;
  return rc;
}

void Channel::account_occupancy(Cycle t) {
  if (t <= m_occ_last) return;
  const Cycle dt = t - m_occ_last;
  m_stats.read_queue_occupancy_sum += m_count[0] * dt;
  m_stats.write_queue_occupancy_sum += m_count[1] * dt;
  m_occ_last = t;
  m_stats.cycles = t;
}

// The decision is exactly what a per-cycle controller would issue next: the command with the lowest
// legal cycle, ties broken by priority (refresh, row hit, ACT/PRE, idle close) and then age. A rank
// whose refresh falls due at or before that cycle stops serving requests (its target banks) from the
// due cycle on, so the search repeats with it blocked.
void Channel::recompute() {
  const Cycle floor = m_floor;
  const bool any_close = m_policy != PagePolicy::Open;
  if (!m_refresh_on) {
    Decision best;
    request_candidate(floor, 0, best);
    prepare_candidates(floor, 0, best);
    if (any_close) close_candidates(floor, 0, best);
    m_dec = best;
    m_blocked = 0;
    return;
  }
  uint32_t blocked = 0;
  for (uint32_t r = 0; r < m_ranks; ++r) {
    if (m_ref_due[r] <= floor) blocked |= 1u << r;
  }
  Decision best;
  for (;;) {
    best = Decision{};
    request_candidate(floor, blocked, best);
    prepare_candidates(floor, blocked, best);
    if (any_close) close_candidates(floor, blocked, best);
    uint32_t newly = 0;
    for (uint32_t r = 0; r < m_ranks; ++r) {
      if (!((blocked >> r) & 1) && m_ref_due[r] <= best.cycle) newly |= 1u << r;
    }
    if (!newly) break;
    blocked |= newly;
  }
  for (uint32_t r = 0; r < m_ranks; ++r) {
    if ((blocked >> r) & 1) refresh_candidate(r, floor, best);
  }
  m_dec = best;
  m_blocked = blocked;
}

void Channel::request_candidate(Cycle floor, uint32_t blocked, Decision& best) {
  const unsigned mode = m_mode;
  if (m_count[mode] == 0) return;
  const std::vector<uint64_t>& pending = m_pending[mode];
  if (m_fcfs) {
    uint64_t oldest = UINT64_MAX;
    uint32_t oldest_bank = 0;
    for (size_t w = 0; w < pending.size(); ++w) {
      for (uint64_t bits = pending[w]; bits; bits &= bits - 1) {
        const uint32_t bank = static_cast<uint32_t>(w * 64 + ctz64(bits));
        if (blocked && bank_blocked(bank, blocked)) continue;
        const uint64_t seq = m_slots[m_bank[bank].head[mode]].seq;
        if (seq < oldest) {
          oldest = seq;
          oldest_bank = bank;
        }
      }
    }
    if (oldest == UINT64_MAX) return;
    const BankState& s = m_bank[oldest_bank];
    const uint16_t h = s.head[mode];
    Decision c;
    c.bank = oldest_bank;
    c.rank = m_bank_rank[oldest_bank];
    c.slot = h;
    c.seq = oldest;
    if (s.open && s.row == m_slots[h].row) {
      c.kind = mode ? CommandKind::Wr : CommandKind::Rd;
      c.prio = 1;
      c.cycle = std::max(floor, m_ts.earliest_column(oldest_bank, mode != 0));
    } else if (s.open) {
      c.kind = CommandKind::Pre;
      c.prio = 2;
      c.cycle = std::max(floor, m_ts.earliest_pre(oldest_bank));
    } else {
      c.kind = CommandKind::Act;
      c.prio = 2;
      c.cycle = std::max(floor, m_ts.earliest_act(oldest_bank));
    }
    if (better(c.cycle, c.prio, c.seq, best.cycle, best.prio, best.seq)) best = c;
    return;
  }
  // The hot loop of the model: cached candidates, refilled only when invalidated, compared as one
  // 128-bit (cycle, prio, seq) key.
  __extension__ typedef unsigned __int128 Key;
  const Cycle* const raw = m_cand_raw.data();
  const uint64_t* const keys = m_cand_key.data();
  const uint8_t* const cls = m_cand_cls.data();
  const Cycle* const group_floors = m_ts.group_floors();
  const unsigned group_shift = m_ts.group_shift();
  Key best_key = best.cycle == kNever ? ~Key{0} : (Key{best.cycle} << 64 | (uint64_t{best.prio} << 56 | best.seq));
  uint32_t best_bank = UINT32_MAX;
  for (size_t w = 0; w < pending.size(); ++w) {
    uint64_t bits = pending[w];
    if (blocked) {
      for (uint64_t b = bits; b; b &= b - 1) {
        const uint32_t bank = static_cast<uint32_t>(w * 64 + ctz64(b));
        if (bank_blocked(bank, blocked)) bits &= ~(uint64_t{1} << (bank & 63));
      }
    }
    for (uint64_t b = bits; b; b &= b - 1) {
      const uint32_t bank = static_cast<uint32_t>(w * 64 + ctz64(b));
      if (cls[bank] == kInvalid) fill_candidate(bank, mode);
    }
    for (; bits; bits &= bits - 1) {
      const uint32_t bank = static_cast<uint32_t>(w * 64 + ctz64(bits));
      Cycle cycle = raw[bank];
      const Cycle group = group_floors[((bank >> group_shift) << 2) + cls[bank]];
      cycle = group > cycle ? group : cycle;
      cycle = floor > cycle ? floor : cycle;
      const Key key = Key{cycle} << 64 | keys[bank];
      if (key < best_key) {
        best_key = key;
        best_bank = bank;
      }
    }
  }
  if (best_bank != UINT32_MAX) take_candidate(best_bank, static_cast<Cycle>(best_key >> 64), best);
}

void Channel::fill_candidate(uint32_t bank, unsigned mode) {
  const BankState& s = m_bank[bank];
  uint64_t prio;
  uint8_t cls;
  uint16_t slot = s.head[mode];
  if (s.open && s.hits[mode]) {
    cls = static_cast<uint8_t>(2 + mode);
    prio = 1;
    while (m_slots[slot].row != s.row) slot = m_slots[slot].next;
  } else {
    cls = s.open ? 0 : 1;
    prio = 2;
  }
  m_cand_cls[bank] = cls;
  m_cand_slot[bank] = slot;
  m_cand_raw[bank] = m_ts.bank_floor(bank, cls);
  m_cand_key[bank] = prio << 56 | m_slots[slot].seq;
}

void Channel::invalidate_rank_candidates(uint32_t rank) {
  std::fill_n(m_cand_cls.begin() + rank * m_banks_per_rank, m_banks_per_rank, kInvalid);
}

void Channel::take_candidate(uint32_t bank, Cycle cycle, Decision& best) const {
  static constexpr CommandKind kKinds[4] = {CommandKind::Pre, CommandKind::Act, CommandKind::Rd, CommandKind::Wr};
  const uint64_t key = m_cand_key[bank];
  best.cycle = cycle;
  best.prio = static_cast<uint8_t>(key >> 56);
  best.seq = key & ((uint64_t{1} << 56) - 1);
  best.kind = kKinds[m_cand_cls[bank]];
  best.slot = m_cand_slot[bank];
  best.bank = bank;
  best.rank = m_bank_rank[bank];
}

void Channel::bank_candidate(uint32_t bank, Cycle floor, unsigned mode, Decision& best) {
  if (m_cand_cls[bank] == kInvalid) fill_candidate(bank, mode);
  const Cycle group = m_ts.group_floors()[((bank >> m_ts.group_shift()) << 2) + m_cand_cls[bank]];
  const Cycle cycle = std::max(floor, std::max(m_cand_raw[bank], group));
  const uint64_t best_key = best.cycle == kNever ? UINT64_MAX : (uint64_t{best.prio} << 56 | best.seq);
  if (cycle < best.cycle || (cycle == best.cycle && m_cand_key[bank] < best_key)) take_candidate(bank, cycle, best);
}

void Channel::close_candidates(Cycle floor, uint32_t blocked, Decision& best) const {
  for (size_t w = 0; w < m_close.size(); ++w) {
    for (uint64_t bits = m_close[w]; bits; bits &= bits - 1) {
      const uint32_t bank = static_cast<uint32_t>(w * 64 + ctz64(bits));
      const BankState& s = m_bank[bank];
      if (!s.open || s.hits[0] + s.hits[1] > 0) continue;
      if (blocked && bank_blocked(bank, blocked)) continue;
      const Cycle cycle = std::max(floor, m_ts.earliest_pre(bank));
      if (!better(cycle, 3, UINT64_MAX, best.cycle, best.prio, best.seq)) continue;
      best = Decision{};
      best.cycle = cycle;
      best.kind = CommandKind::Pre;
      best.prio = 3;
      best.bank = bank;
      best.rank = m_bank_rank[bank];
    }
  }
}

void Channel::prepare_candidates(Cycle floor, uint32_t blocked, Decision& best) const {
  const unsigned other = 1 - m_mode;
  if (m_fcfs || m_count[other] == 0) return;
  const std::vector<uint64_t>& served = m_pending[m_mode];
  const std::vector<uint64_t>& waiting = m_pending[other];
  for (size_t w = 0; w < waiting.size(); ++w) {
    for (uint64_t bits = waiting[w] & ~served[w]; bits; bits &= bits - 1) {
      const uint32_t bank = static_cast<uint32_t>(w * 64 + ctz64(bits));
      const BankState& s = m_bank[bank];
      if (s.open && s.hits[other] > 0) continue;  // ready: its column command waits for the turnaround
      if (blocked && bank_blocked(bank, blocked)) continue;
      const uint16_t h = s.head[other];
      Decision c;
      c.bank = bank;
      c.rank = m_bank_rank[bank];
      c.slot = h;
      c.seq = m_slots[h].seq;
      c.prio = 3;  // after the served kind's commands of the same cycle
      if (s.open) {
        c.kind = CommandKind::Pre;
        c.cycle = std::max(floor, m_ts.earliest_pre(bank));
      } else {
        c.kind = CommandKind::Act;
        c.cycle = std::max(floor, m_ts.earliest_act(bank));
      }
      if (better(c.cycle, c.prio, c.seq, best.cycle, best.prio, best.seq)) best = c;
    }
  }
}

void Channel::refresh_candidate(uint32_t r, Cycle floor, Decision& best) const {
  const uint32_t first = r * m_banks_per_rank;
  const uint64_t open = m_open_mask[r] & m_ref_mask[r];
  const Cycle base = std::max(floor, m_ref_due[r]);
  Decision c;
  c.rank = r;
  c.prio = 0;
  c.seq = 0;
  if (open) {
    if (!m_per_bank_refresh && (open & (open - 1))) {
      Cycle cycle = base;
      for (uint64_t bits = open; bits; bits &= bits - 1) cycle = std::max(cycle, m_ts.earliest_pre(first + ctz64(bits)));
      c.kind = CommandKind::PreA;
      c.bank = first;
      c.cycle = cycle;
    } else {
      c.kind = CommandKind::Pre;
      for (uint64_t bits = open; bits; bits &= bits - 1) {
        const uint32_t bank = first + ctz64(bits);
        const Cycle cycle = std::max(base, m_ts.earliest_pre(bank));
        if (cycle < c.cycle) {
          c.cycle = cycle;
          c.bank = bank;
        }
      }
    }
  } else if (!m_per_bank_refresh) {
    c.kind = CommandKind::Ref;
    c.bank = first;
    c.cycle = std::max(base, m_ts.earliest_ref(r));
  } else {
    c.kind = CommandKind::RefSb;
    c.bank = first + ctz64(m_ref_mask[r]);
    c.cycle = std::max(base, m_ts.earliest_refsb(r, m_ref_mask[r]));
  }
  if (better(c.cycle, c.prio, c.seq, best.cycle, best.prio, best.seq)) best = c;
}

uint64_t Channel::refresh_set_mask(uint32_t set) const {
  if (m_cfg.per_bank_refresh != PerBankRefresh::SameBankAllGroups) return uint64_t{1} << set;
  uint64_t mask = 0;
  for (uint32_t g = 0; g < m_groups; ++g) mask |= uint64_t{1} << (g * m_banks_per_group + set);
  return mask;
}

void Channel::open_bank(uint32_t bank, uint32_t row, Cycle t) {
  BankState& s = m_bank[bank];
  m_cand_cls[bank] = kInvalid;
  s.open = true;
  s.row = row;
  for (unsigned m = 0; m < 2; ++m) {
    uint16_t hits = 0;
    for (uint16_t i = s.head[m]; i != kNil; i = m_slots[i].next) hits += m_slots[i].row == row;
    s.hits[m] = hits;
  }
  const uint32_t r = m_bank_rank[bank];
  if (m_open_mask[r] == 0) {
    RankActivity& a = m_activity[r];
    if (!a.active) {
      a.active = true;
      a.since = t;
    } else if (t >= a.until) {  // the previous interval ended at `until`; a new one starts
      a.closed += a.until - a.since;
      a.since = t;
    }                             // else: an earlier bank is still precharging, the interval goes on
  }
  m_open_mask[r] |= uint64_t{1} << (bank - r * m_banks_per_rank);
}

void Channel::close_bank(uint32_t bank, Cycle t) {
  BankState& s = m_bank[bank];
  m_cand_cls[bank] = kInvalid;
  s.open = false;
  s.hits[0] = s.hits[1] = 0;
  const uint32_t r = m_bank_rank[bank];
  m_open_mask[r] &= ~(uint64_t{1} << (bank - r * m_banks_per_rank));
  RankActivity& a = m_activity[r];
  if (t > a.until) a.until = t;
  clear_bit(m_close, bank);
}

void Channel::emit(CommandKind kind, uint32_t bank, uint32_t row, uint32_t column, Cycle t) {
  ++m_stats.commands[static_cast<unsigned>(kind)];
  if (!m_checker && !m_observer) return;
  const uint32_t within = bank % m_banks_per_rank;
  Command c;
  c.kind = kind;
  c.rank = Rank{static_cast<uint8_t>(bank / m_banks_per_rank)};
  c.bank_group = BankGroup{static_cast<uint8_t>(within / m_banks_per_group)};
  c.bank = Bank{static_cast<uint8_t>(within % m_banks_per_group)};
  c.row = row;
  c.column = column;
  c.cycle = t;
  if (m_checker) m_checker->observe(c);
  if (m_observer) m_observer(c);
}

void Channel::issue() {
  const Decision d = m_dec;
  const Cycle t = d.cycle;
  if (d.kind != CommandKind::Ref && d.kind != CommandKind::RefSb) m_ref_streak = 0;
  switch (d.kind) {
    case CommandKind::Act: {
      Slot& q = m_slots[d.slot];
      BankState& s = m_bank[d.bank];
      if (s.closed_row_valid) {
        if (q.row == s.closed_row) {
          if (s.predictor < 3) ++s.predictor;
        } else if (s.predictor > 0) {
          --s.predictor;
        }
        s.closed_row_valid = false;
      }
      open_bank(d.bank, q.row, t);
      m_ts.record_act(d.bank, t);
      q.cls |= kCausedAct;
      ++m_stats.activates;
      ++m_stats.banks[d.bank].activates;
      emit(CommandKind::Act, d.bank, q.row, 0, t);
      break;
    }
    case CommandKind::Pre: {
      BankState& s = m_bank[d.bank];
      if (d.slot != kNil) {
        m_slots[d.slot].cls |= kCausedPre;
        if (s.predictor > 0) --s.predictor;
        s.closed_row_valid = false;
      } else if (d.prio == 3) {
        s.closed_row = s.row;
        s.closed_row_valid = true;
      } else {
        s.closed_row_valid = false;
      }
      m_ts.record_pre(d.bank, t);
      close_bank(d.bank, t);
      ++m_stats.precharges;
      ++m_stats.banks[d.bank].precharges;
      emit(CommandKind::Pre, d.bank, 0, 0, t);
      break;
    }
    case CommandKind::PreA: {
      const uint32_t first = d.rank * m_banks_per_rank;
      for (uint64_t bits = m_open_mask[d.rank]; bits; bits &= bits - 1) {
        const uint32_t bank = first + ctz64(bits);
        m_ts.record_pre(bank, t);
        m_bank[bank].closed_row_valid = false;
        ++m_stats.precharges;
        ++m_stats.banks[bank].precharges;
      }
      for (uint32_t b = first; b < first + m_banks_per_rank; ++b) {
        if (m_bank[b].open) close_bank(b, t);
      }
      emit(CommandKind::PreA, first, 0, 0, t);
      break;
    }
    case CommandKind::Rd:
    case CommandKind::Wr:
    case CommandKind::RdA:
    case CommandKind::WrA:
      issue_column(d);
      break;
    case CommandKind::Ref: {
      const uint32_t first = d.rank * m_banks_per_rank;
      m_ref_streak = t == m_ref_due[d.rank] && m_count[0] + m_count[1] == 0 ? m_ref_streak + 1 : 0;
      m_ts.record_ref(d.rank, t);
      invalidate_rank_candidates(d.rank);
      m_ref_due[d.rank] += m_ref_interval;
      ++m_stats.refreshes;
      for (uint32_t b = first; b < first + m_banks_per_rank; ++b) ++m_stats.banks[b].refreshes;
      emit(CommandKind::Ref, first, 0, 0, t);
      break;
    }
    case CommandKind::RefSb: {
      const uint32_t first = d.rank * m_banks_per_rank;
      const uint64_t mask = m_ref_mask[d.rank];
      m_ref_streak = t == m_ref_due[d.rank] && m_count[0] + m_count[1] == 0 ? m_ref_streak + 1 : 0;
      m_ts.record_refsb(d.rank, mask, t);
      invalidate_rank_candidates(d.rank);
      for (uint64_t bits = mask; bits; bits &= bits - 1) ++m_stats.banks[first + ctz64(bits)].refreshes;
      ++m_stats.per_bank_refreshes;
      emit(CommandKind::RefSb, d.bank, 0, 0, t);
      uint32_t& set = m_ref_set[d.rank];
      set = (set + 1) % m_ref_sets;
      m_ref_mask[d.rank] = refresh_set_mask(set);
      m_ref_due[d.rank] += m_ref_interval;
      break;
    }
  }
  m_floor = t + 1;
  update_mode();
  recompute();
}

void Channel::issue_column(const Decision& d) {
  const uint16_t si = d.slot;
  Slot& q = m_slots[si];
  const uint32_t bank = d.bank;
  BankState& s = m_bank[bank];
  const bool write = q.is_write;
  const unsigned m = write ? 1 : 0;
  const Cycle t = d.cycle;
  const uint32_t row = s.row;
  const uint32_t column = q.column + (m_bursts - q.bursts_left) * static_cast<uint32_t>(m_cfg.organisation.burst_length);
  m_cand_cls[bank] = kInvalid;
  --q.bursts_left;
  bool autopre = false;
  if (q.bursts_left == 0) {
    uint16_t prev = kNil;
    for (uint16_t i = s.head[m]; i != si; i = m_slots[i].next) prev = i;
    if (prev == kNil) {
      s.head[m] = q.next;
    } else {
      m_slots[prev].next = q.next;
    }
    if (s.tail[m] == si) s.tail[m] = prev;
    --s.hits[m];
    account_occupancy(t);
    if (--s.count[m] == 0) clear_bit(m_pending[m], bank);
    --m_count[m];
    if (m_policy != PagePolicy::Open && s.hits[0] + s.hits[1] == 0) {
      autopre = m_policy == PagePolicy::Closed || s.predictor < 2;
      if (autopre && !write && m_ts.read_autoprecharge_at(bank, t) < m_ts.earliest_pre(bank)) {
        autopre = false;  // write recovery still pending: RDA would precharge too early
        set_bit(m_close, bank);
      }
    }

    BankStats& bs = m_stats.banks[bank];
    if (q.cls & kCausedPre) {
      ++m_stats.row_conflicts;
      ++bs.row_conflicts;
    } else if (q.cls & kCausedAct) {
      ++m_stats.row_misses;
      ++bs.row_misses;
    } else {
      ++m_stats.row_hits;
      ++bs.row_hits;
      if (s.predictor < 3) ++s.predictor;
    }
    const Cycle done = t + (write ? m_t.CWL : m_t.CL) + m_t.tBL;
    const uint64_t latency = done - q.arrival;
    const uint64_t bytes = m_cfg.controller.request_bytes;
    if (write) {
      ++m_stats.writes;
      ++bs.writes;
      m_stats.bytes_written += bytes;
      m_stats.write_latency_sum += latency;
    } else {
      ++m_stats.reads;
      ++bs.reads;
      m_stats.bytes_read += bytes;
      m_stats.read_latency_sum += latency;
      if (latency > m_stats.read_latency_max) m_stats.read_latency_max = latency;
      const uint64_t nbins = m_stats.read_latency_histogram.size();
      const uint64_t bin = latency / m_stats.latency_bin;
      ++m_stats.read_latency_histogram[bin < nbins ? bin : nbins - 1];
    }
    m_done[m].push(Completion{q.id, done, write});
    m_free.push_back(si);
  }
  CommandKind kind;
  Cycle pre_at = t;
  if (write) {
    kind = autopre ? CommandKind::WrA : CommandKind::Wr;
    if (autopre) pre_at = m_ts.write_autoprecharge_at(bank, t);
    m_ts.record_write(bank, t, autopre);
  } else {
    kind = autopre ? CommandKind::RdA : CommandKind::Rd;
    if (autopre) pre_at = m_ts.read_autoprecharge_at(bank, t);
    m_ts.record_read(bank, t, autopre);
  }
  emit(kind, bank, row, column, t);
  if (autopre) {
    s.closed_row = row;
    s.closed_row_valid = true;
    close_bank(bank, pre_at);
    ++m_stats.precharges;
    ++m_stats.banks[bank].precharges;
  }
}

}  // namespace vmsim::dram
