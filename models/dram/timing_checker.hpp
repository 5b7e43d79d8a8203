// Independent JEDEC protocol checker: observes the command stream of one channel and reports every
// command that violates a timing constraint or the bank state machine. It shares no timing logic with
// the controller (it keeps the command history and tests pairwise gaps and data-bus occupancy).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/dram/dram_config.hpp"
#include "models/dram/dram_types.hpp"

namespace vmsim::dram {

// One violated rule. `constraint` is the JEDEC parameter (tRCD, tFAW, ...) or a rule name
// ("bank state", "command bus", "data bus", "refresh interval"); `earliest` is the first legal cycle
// for timing rules (0 for state rules).
struct Violation {
  Command command;
  std::string constraint;
  Cycle earliest = 0;
  std::string message;  // "ch0 cycle 121: RD r0 bg1 b2 row 5 col 16 violates tRCD: earliest legal cycle 122 (ACT at 100)"
};

struct CheckerOptions {
  uint32_t channel = 0;               // named in messages
  bool check_refresh_interval = true;  // every bank refreshed within (max_postponed + 1) * tREFI
  uint64_t max_postponed = 8;         // JEDEC: up to 8 REF commands may be postponed
  size_t max_stored = 64;             // violations kept in full; all are counted
};

class TimingChecker {
 public:
  TimingChecker(const TimingParams& t, const Organisation& org, PerBankRefresh per_bank, CheckerOptions opts = {});

  // Checks `c` against everything observed before, then records it. Commands must be observed in
  // issue order. Returns the number of violations `c` caused.
  size_t observe(const Command& c);
  // The controller skipped whole idle refresh rounds (Channel::set_idle_skip): the refresh history moves
  // `delta` cycles later, as if the skipped rounds, each a copy of the last observed one, had been
  // observed. The history of other commands stays.
  void shift_refresh_history(int64_t delta);
  // End-of-run checks at `cycle` (refresh overdue).
  void finish(Cycle cycle);

  uint64_t violation_count() const { return m_count; }
  const std::vector<Violation>& violations() const { return m_violations; }
  // The first `max_lines` violation messages, one per line; "" if none.
  std::string report(size_t max_lines = 10) const;

 private:
  static constexpr int64_t kLongAgo = INT64_MIN / 4;
  struct BankH {
    bool open = false;
    uint32_t row = 0;
    int64_t act = kLongAgo, pre = kLongAgo, rd = kLongAgo, wr = kLongAgo, refsb = kLongAgo;
    int64_t refreshed = 0;
  };
  struct GroupH {
    int64_t act = kLongAgo, rd = kLongAgo, wr = kLongAgo;
  };
  struct RankH {
    int64_t act = kLongAgo, rd = kLongAgo, wr = kLongAgo, ref = kLongAgo, refsb = kLongAgo;
    int64_t acts[4] = {kLongAgo, kLongAgo, kLongAgo, kLongAgo};  // last four ACTs, oldest at next
    unsigned next = 0;
  };
  struct Burst {
    bool valid = false;
    bool write = false;
    unsigned rank = 0;
    int64_t start = 0, end = 0;
  };

  void need(const Command& c, int64_t earliest, const char* constraint, const char* since, int64_t since_cycle);
  void add(const Command& c, const char* constraint, Cycle earliest, const std::string& detail);
  void state_error(const Command& c, const std::string& what);
  void check_precharge(const Command& c, const BankH& b);
  void check_bus(const Command& c, bool write);
  void note_refresh();
  BankH& bank(const Command& c, unsigned bank_in_rank);

  TimingParams m_t;
  Organisation m_org;
  PerBankRefresh m_per_bank;
  CheckerOptions m_opts;
  std::vector<BankH> m_banks;
  std::vector<GroupH> m_groups;
  std::vector<RankH> m_ranks;
  Burst m_last_burst;
  int64_t m_last_cmd = kLongAgo;
  int64_t m_refresh_deadline = 0;
  bool m_refresh_overdue_reported = false;
  uint64_t m_count = 0;
  std::vector<Violation> m_violations;
};

}  // namespace vmsim::dram
