// One DRAM (sub)channel: request queues, FCFS/FR-FCFS scheduler, page policy, refresh and bank state,
// simulated event by event (it jumps to the next cycle at which a command can legally issue).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "models/dram/address_mapper.hpp"
#include "models/dram/dram_config.hpp"
#include "models/dram/dram_stats.hpp"
#include "models/dram/dram_types.hpp"
#include "models/dram/timing_checker.hpp"
#include "models/dram/timing_state.hpp"

namespace vmsim::dram {

// Use from a SystemC shell (an SC_METHOD woken by new requests and by next_trigger):
//   at DRAM cycle `now`: advance_to(now - 1, done); enqueue(...) every request arriving at `now`
//   (check can_accept first); advance_to(now, done); respond to `done`; next_trigger(next_event() - now)
//   unless next_event() == kNever.
// The result is identical to a controller that evaluates every cycle: a command issues at the first
// cycle at which it is legal and chosen. Refresh is issued on time even if nobody calls in between:
// when the channel has nothing queued, next_event() is kNever and pending refreshes are replayed with
// their exact cycles by the next enqueue/advance_to.
class Channel {
 public:
  // Throws InputError if cfg does not validate. `channel_index` names the channel in checker reports.
  explicit Channel(const DramConfig& cfg, uint32_t channel_index = 0);
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // True if the read (write) queue has a free entry, given the commands issued so far.
  bool can_accept(bool is_write) const { return m_count[is_write] < m_capacity[is_write]; }
  // Queues a request arriving at r.arrival (its address is decoded with the channel's mapper, the
  // channel field ignored). First issues every command due before r.arrival (their completions are
  // returned by the next advance_to). If commands up to r.arrival were already issued, the request
  // takes part from the next free command cycle. Throws std::logic_error if the queue is full.
  void enqueue(const Request& r);
  void enqueue(const Request& r, const DramAddress& decoded);
  // For drivers that stall on a full queue: issues commands in order until the read (write) queue has
  // a free entry and returns the first cycle at which a new request may arrive (the cycle after the
  // command that freed it; the current floor if there is space already). Completions of the issued
  // commands are returned by later advance_to calls.
  Cycle issue_until_space(bool is_write);
  // Issues every command that can issue at or before `now`, in order, and appends to `done` every
  // request whose data burst finished at or before `now` (in completion-cycle order).
  void advance_to(Cycle now, std::vector<Completion>& done);
  // Earliest future cycle at which a command issues or a completion becomes due; kNever if nothing is
  // queued or in flight (refresh of an idle channel is caught up lazily, see the class comment).
  Cycle next_event() const;
  // Nothing queued and no undelivered completions.
  bool idle() const { return m_count[0] + m_count[1] == 0 && m_done[0].empty() && m_done[1].empty(); }
  size_t queued(bool is_write) const { return m_count[is_write]; }
  // First cycle at which a new command may issue: the channel has been simulated up to here. A request
  // arriving earlier is served as if it arrived now (see MemoryNode's LT path).
  Cycle floor() const { return m_floor; }

  // Counters; queue-occupancy sums and the ranks' state-time integrals cover cycles [0, last event].
  // sync_stats(now) extends them to now.
  const ChannelStats& stats() const { return m_stats; }
  void sync_stats(Cycle now);
  // The energy model's counters of `rank` up to the last event (stats().cycles), derived from the bank
  // counters (bursts of completed requests) and the rank's active interval; sync_stats stores them in
  // stats().ranks. Cheap enough for statistics dumps, not for per-command use.
  RankEnergyCounters rank_counters(uint32_t rank) const;
  // The independent checker, or nullptr if controller.timing_checker is off.
  const TimingChecker* checker() const { return m_checker.get(); }
  TimingChecker* checker() { return m_checker.get(); }
  // Called for every issued command, in issue order (tests, command traces). With an observer the channel
  // never skips idle refreshes (see set_idle_skip): the observer sees every command.
  void set_command_observer(std::function<void(const Command&)> observer) { m_observer = std::move(observer); }
  // Long idle stretches cost O(1) host time (on by default): once a whole round of refreshes (every set
  // of every rank) has issued exactly on its due cycles with nothing else happening, later rounds repeat
  // it shifted in time, so the channel jumps over whole rounds arithmetically (counting their refreshes)
  // and simulates the last round before the target cycle command by command, which leaves the timing
  // state exactly as a step-by-step run would. Off: every refresh is simulated (tests compare the two).
  void set_idle_skip(bool on) { m_idle_skip = on; }
  // Refreshes accounted without being simulated one by one (0 if nothing was skipped).
  uint64_t skipped_refreshes() const { return m_skipped_refreshes; }
  const DramConfig& config() const { return m_cfg; }
  const AddressMapper& mapper() const { return m_mapper; }

 private:
  static constexpr uint16_t kNil = 0xFFFF;
  static constexpr uint8_t kCausedAct = 1;
  static constexpr uint8_t kCausedPre = 2;

  struct Slot {
    uint64_t id;
    Cycle arrival;
    uint64_t seq;
    uint32_t row;
    uint32_t column;
    uint16_t bank;
    uint16_t next;
    uint8_t bursts_left;
    uint8_t cls;
    bool is_write;
  };
  struct BankState {
    uint32_t row = 0;
    uint32_t closed_row = 0;       // row closed by auto/idle precharge (adaptive predictor)
    bool open = false;
    bool closed_row_valid = false;
    uint8_t predictor = 2;         // adaptive: >= 2 keeps rows open
    uint16_t head[2] = {kNil, kNil};
    uint16_t tail[2] = {kNil, kNil};
    uint16_t count[2] = {0, 0};
    uint16_t hits[2] = {0, 0};     // queued requests of each kind to the open row
  };
  // Each bank's cached FR-FCFS candidate for the served request kind: class (0 PRE, 1 ACT, 2 RD,
  // 3 WR, kInvalid), the bank-level part of its earliest cycle, its request slot and its tie-break key
  // (prio << 56 | seq). Its cycle is max(command floor, bank part, TimingState group floor), so other
  // banks' commands never invalidate it; the bank's own state/queue changes, a change of the served
  // kind and refreshes do.
  static constexpr uint8_t kInvalid = 0xFF;
  void fill_candidate(uint32_t bank, unsigned mode);
  void invalidate_rank_candidates(uint32_t rank);
  // The next command to issue. prio: 0 refresh, 1 row hit, 2 ACT/PRE for a request, 3 idle close.
  struct Decision {
    Cycle cycle = kNever;
    CommandKind kind = CommandKind::Act;
    uint8_t prio = 255;
    uint16_t slot = kNil;
    uint32_t bank = 0;
    uint32_t rank = 0;
    uint64_t seq = UINT64_MAX;
  };

  void run_until(Cycle t);
  // Jumps over whole idle refresh rounds that fall due before t (see set_idle_skip).
  void skip_idle_rounds(Cycle t);
  void recompute();
  void request_candidate(Cycle floor, uint32_t blocked, Decision& best);
  void bank_candidate(uint32_t bank, Cycle floor, unsigned mode, Decision& best);
  void take_candidate(uint32_t bank, Cycle cycle, Decision& best) const;
  void refresh_candidate(uint32_t rank, Cycle floor, Decision& best) const;
  void close_candidates(Cycle floor, uint32_t blocked, Decision& best) const;
  // Row commands (PRE, ACT) for requests of the kind not being served, in banks with none of the served
  // kind queued: the bank is prepared while the data bus serves the other direction (FR-FCFS only).
  void prepare_candidates(Cycle floor, uint32_t blocked, Decision& best) const;
  bool bank_blocked(uint32_t bank, uint32_t blocked) const {
    const uint32_t r = m_bank_rank[bank];
    return ((blocked >> r) & 1) && ((m_ref_mask[r] >> (bank - r * m_banks_per_rank)) & 1);
  }
  void issue();
  void issue_column(const Decision& d);
  // Banks (bit = bank within rank) covered by per-bank refresh number `set`.
  uint64_t refresh_set_mask(uint32_t set) const;
  // `t`: the ACT cycle; the cycle the bank precharges (PRE issue, or the auto-precharge cycle).
  void open_bank(uint32_t bank, uint32_t row, Cycle t);
  void close_bank(uint32_t bank, Cycle t);
  void update_mode();
  void account_occupancy(Cycle t);
  void emit(CommandKind kind, uint32_t bank, uint32_t row, uint32_t column, Cycle t);
  void set_bit(std::vector<uint64_t>& m, uint32_t b) { m[b >> 6] |= uint64_t{1} << (b & 63); }
  void clear_bit(std::vector<uint64_t>& m, uint32_t b) { m[b >> 6] &= ~(uint64_t{1} << (b & 63)); }

  DramConfig m_cfg;
  TimingParams m_t;
  AddressMapper m_mapper;
  TimingState m_ts;
  std::unique_ptr<TimingChecker> m_checker;
  std::function<void(const Command&)> m_observer;
  uint32_t m_index;

  uint32_t m_ranks;
  uint32_t m_groups;
  uint32_t m_banks_per_group;
  uint32_t m_banks_per_rank;
  uint32_t m_nbanks;
  uint32_t m_bursts;  // column commands per request
  PagePolicy m_policy;
  bool m_fcfs;

  std::vector<BankState> m_bank;
  std::vector<Cycle> m_cand_raw;
  std::vector<uint64_t> m_cand_key;
  std::vector<uint16_t> m_cand_slot;
  std::vector<uint8_t> m_cand_cls;
  std::vector<uint8_t> m_bank_rank;
  std::vector<uint64_t> m_pending[2];  // banks with queued reads / writes
  std::vector<uint64_t> m_close;       // open banks to close when idle (closed/adaptive policy)
  std::vector<uint64_t> m_open_mask;   // per rank: open banks (bit = bank within rank)
  // Per rank, for the energy model's background split: the rank is active from an ACT that finds no bank
  // open until the last of its banks precharges (an auto-precharge may close it after its command).
  struct RankActivity {
    Cycle since = 0;       // start of the current active interval
    Cycle until = 0;       // latest precharge cycle of a bank closed in this interval
    Cycle closed = 0;      // cycles of the finished intervals
    bool active = false;   // an interval exists (a bank open, or its end `until` not yet folded in)
  };
  std::vector<RankActivity> m_activity;

  std::vector<Slot> m_slots;
  std::vector<uint16_t> m_free;
  uint64_t m_seq = 0;
  size_t m_count[2] = {0, 0};
  size_t m_capacity[2] = {0, 0};
  bool m_draining = false;
  unsigned m_mode = 0;  // 0 serve reads, 1 serve writes

  bool m_refresh_on = false;
  bool m_per_bank_refresh = false;
  Cycle m_ref_interval = 0;
  uint32_t m_ref_sets = 1;
  std::vector<Cycle> m_ref_due;
  std::vector<uint64_t> m_ref_mask;
  std::vector<uint32_t> m_ref_set;
  bool m_idle_skip = true;
  uint64_t m_ref_streak = 0;  // refreshes issued on their due cycle since the last other event
  uint64_t m_skipped_refreshes = 0;

  Decision m_dec;
  uint32_t m_blocked = 0;  // ranks whose refresh blocks their target banks at m_dec (see recompute)
  Cycle m_floor = 0;  // no command may issue before this cycle

  // In-flight completions of one kind, in cycle order: a ring buffer that grows to the largest number
  // ever in flight and then stops allocating.
  class CompletionFifo {
   public:
    bool empty() const { return m_size == 0; }
    const Completion& front() const { return m_buf[m_head]; }
    void pop() {
      m_head = (m_head + 1) & (m_buf.size() - 1);
      --m_size;
    }
    void push(const Completion& c) {
      if (m_size == m_buf.size()) grow();
      m_buf[(m_head + m_size) & (m_buf.size() - 1)] = c;
      ++m_size;
    }

   private:
    void grow() {
      std::vector<Completion> bigger(m_buf.empty() ? 64 : m_buf.size() * 2);
      for (size_t i = 0; i < m_size; ++i) bigger[i] = m_buf[(m_head + i) & (m_buf.size() - 1)];
      m_buf.swap(bigger);
      m_head = 0;
    }
    std::vector<Completion> m_buf;
    size_t m_head = 0;
    size_t m_size = 0;
  };
  CompletionFifo m_done[2];

  ChannelStats m_stats;
  Cycle m_occ_last = 0;
};

}  // namespace vmsim::dram
