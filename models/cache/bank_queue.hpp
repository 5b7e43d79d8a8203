// Occupancy of a banked shared structure (the LLC slices or the home directory of a socket): each bank serves
// one request at a time for a fixed time; a request finding its bank busy waits, first come first served.
#pragma once

#include <cstdint>
#include <vector>

namespace vmsim::cache {

// Counters of one BankQueue (all banks together). Times are in the unit the caller passes (the timed shell
// uses femtoseconds).
struct BankQueueStats {
  uint64_t accesses = 0;    // requests served
  uint64_t waits = 0;       // ... that found their bank busy
  uint64_t wait_time = 0;   // sum of the time requests waited for their bank
  uint64_t max_wait = 0;    // the longest wait of one request
  uint64_t busy_time = 0;   // sum over banks of the time they were busy (accesses x occupancy)
  uint64_t max_depth = 0;   // most requests in one bank (waiting or in service) that a request found on arrival
  uint64_t depth_sum = 0;   // sum over requests of the requests they found in their bank (average queue seen)
};

class BankQueue {
 public:
  // banks >= 1 banks (std::invalid_argument otherwise), each busy `occupancy` time units per request. An
  // occupancy of 0 makes every request start at once (nothing is counted as a wait).
  BankQueue(uint64_t banks, uint64_t occupancy);

  // The bank of line (a line number, not a byte address): line modulo banks.
  uint32_t bank_of(uint64_t line) const { return static_cast<uint32_t>(line % m_free_at.size()); }
  // A request for bank `bank` arriving at time `arrive`: returns the time its service starts (>= arrive),
  // after every request made before it to the same bank; the bank is then busy until start + occupancy.
  // Requests are served in call order, so callers call in arrival-time order (the timed shell first advances
  // SystemC time to the arrival). Throws std::out_of_range for a bad bank.
  uint64_t request(uint32_t bank, uint64_t arrive);
  // The time bank is busy until (0 if never used).
  uint64_t free_at(uint32_t bank) const { return m_free_at.at(bank); }
  uint64_t banks() const { return m_free_at.size(); }
  uint64_t occupancy() const { return m_occupancy; }
  const BankQueueStats& stats() const { return m_stats; }
  // Forgets max_wait and max_depth (the warm-up reset; the other counters are read against baselines).
  void restart_peaks() {
    m_stats.max_wait = 0;
    m_stats.max_depth = 0;
  }

 private:
  uint64_t m_occupancy;
  std::vector<uint64_t> m_free_at;
  BankQueueStats m_stats;
};

}  // namespace vmsim::cache
