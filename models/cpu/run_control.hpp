// Run-wide coordination shared by the cores: warm-up reset, periodic kernel work, statistics samples,
// what the user sees during a run (progress line or heartbeat), first error.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <systemc>
#include <vector>

namespace vmsim::cpu {

// What a run shows on stderr while it runs.
enum class Progress {
  Off,        // nothing (-q, or a caller that wants silence)
  Line,       // one self-overwriting line (\r), updated a few times a second: stderr is a terminal
  Heartbeat,  // one full line every heartbeat period of host time: stderr is a file or a pipe
};

class RunControl {
 public:
  // warmup_accesses: total accesses (all cores) after which every statistic is reset once (0 = never).
  // expected_accesses: the run's total when known (else 0), for the percentage and the ETA.
  // heartbeat_seconds: host seconds between Heartbeat lines (0 = at every check).
  RunControl(uint64_t warmup_accesses, Progress progress, uint64_t expected_accesses,
             double heartbeat_seconds = 60.0);

  // Called by a core after each completed access. The host clock is read once per kProgressCheck
  // accesses, and only when progress is shown. True if a timer, the sampler or the warm-up reset ran (they
  // may change anything in the system).
  bool count_access() {
    ++m_accesses;
    const bool event = m_accesses == m_next_event;
    if (event) on_event();
    if ((m_accesses & kProgressCheck) == 0 && m_progress != Progress::Off) print_progress(false);
    return event;
  }
  // Calls fn after every `period` accesses (all cores together; 0 = never): the system's timers for
  // periodic kernel work (the A-bit scan, the NUMA-balancing scan, the load balancer). Timers due at the
  // same access fire in the order they were added.
  void add_tick(uint64_t period, std::function<void()> fn);
  // Calls sample after every `period` accesses counted from the warm-up (or from the start without one),
  // and restart right after the warm-up reset: the statistics time series (sim.stats_interval).
  void set_sampler(uint64_t period, std::function<void()> sample, std::function<void()> restart);
  // The run's total accesses when known (else 0), for the percentage and the ETA.
  void set_expected(uint64_t accesses) { m_expected = accesses; }
  // The simulated time the progress line shows (default: SystemC time).
  void set_clock(std::function<sc_core::sc_time()> now) { m_clock = std::move(now); }
  // Records the first error raised inside a SystemC process and stops the simulation.
  void fail(std::exception_ptr e);
  std::exception_ptr error() const { return m_error; }
  bool warmed_up() const { return m_warmup == 0 || m_accesses >= m_warmup; }
  uint64_t accesses() const { return m_accesses; }
  // Ends the progress line (if one was printed).
  void finish();

 private:
  static constexpr uint64_t kProgressCheck = 0x3FFF;  // read the host clock every 16384 accesses
  void on_event();  // warm-up reached, a tick or a sample due
  void schedule_next();
  void print_progress(bool final_line);

  uint64_t m_warmup;
  Progress m_progress;
  uint64_t m_expected;
  double m_heartbeat;
  uint64_t m_accesses = 0;
  uint64_t m_next_event = UINT64_MAX;
  struct Tick {
    uint64_t period;
    uint64_t next;
    std::function<void()> fn;
  };
  std::vector<Tick> m_ticks;
  uint64_t m_next_tick = UINT64_MAX;  // the earliest of m_ticks
  uint64_t m_sample_period = 0;
  uint64_t m_next_sample = UINT64_MAX;
  std::function<void()> m_sample;
  std::function<void()> m_restart;
  std::function<sc_core::sc_time()> m_clock;
  bool m_printed = false;
  std::chrono::steady_clock::time_point m_start;
  std::chrono::steady_clock::time_point m_last;
  std::exception_ptr m_error;
};

}  // namespace vmsim::cpu
