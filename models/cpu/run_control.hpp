// Run-wide coordination shared by the cores: warm-up reset, progress line, first error.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>

namespace vmsim::cpu {

class RunControl {
 public:
  // warmup_accesses: total accesses (all cores) after which every statistic is reset once (0 = never).
  // progress: print a progress line on stderr every couple of seconds of host time.
  RunControl(uint64_t warmup_accesses, bool progress, uint64_t expected_accesses);

  // Called by a core after each completed access.
  void count_access() {
    ++m_accesses;
    if (m_accesses == m_next_event) on_event();
    if ((m_accesses & 0xFFFF) == 0 && m_progress) print_progress(false);
  }
  // Calls fn after every `period` accesses (all cores together; 0 = never): the system's timer for
  // periodic kernel work.
  void set_tick(uint64_t period, std::function<void()> fn);
  // Records the first error raised inside a SystemC process and stops the simulation.
  void fail(std::exception_ptr e);
  std::exception_ptr error() const { return m_error; }
  bool warmed_up() const { return m_warmup == 0 || m_accesses >= m_warmup; }
  uint64_t accesses() const { return m_accesses; }
  // Ends the progress line (if one was printed).
  void finish();

 private:
  void on_event();  // warm-up reached or a tick due
  void schedule_next();
  void print_progress(bool final_line);

  uint64_t m_warmup;
  bool m_progress;
  uint64_t m_expected;
  uint64_t m_accesses = 0;
  uint64_t m_next_event = UINT64_MAX;
  uint64_t m_tick_period = 0;
  uint64_t m_next_tick = UINT64_MAX;
  std::function<void()> m_tick;
  bool m_printed = false;
  std::chrono::steady_clock::time_point m_start;
  std::chrono::steady_clock::time_point m_last;
  std::exception_ptr m_error;
};

}  // namespace vmsim::cpu
