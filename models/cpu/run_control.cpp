// Run-wide coordination.
#include "models/cpu/run_control.hpp"

#include <algorithm>
#include <cstdio>
#include <systemc>

#include "common/stats.hpp"

namespace vmsim::cpu {

RunControl::RunControl(uint64_t warmup_accesses, bool progress, uint64_t expected_accesses)
    : m_warmup(warmup_accesses),
      m_progress(progress),
      m_expected(expected_accesses),
      m_start(std::chrono::steady_clock::now()),
      m_last(m_start) {
  schedule_next();
}

void RunControl::set_tick(uint64_t period, std::function<void()> fn) {
  m_tick_period = period;
  m_tick = std::move(fn);
  m_next_tick = period == 0 ? UINT64_MAX : m_accesses + period;
  schedule_next();
}

void RunControl::schedule_next() {
  m_next_event = m_next_tick;
  if (m_warmup > m_accesses) m_next_event = std::min(m_next_event, m_warmup);
}

void RunControl::on_event() {
  if (m_accesses == m_warmup) stats::reset_all();
  if (m_accesses == m_next_tick) {
    m_next_tick += m_tick_period;
    m_tick();
  }
  schedule_next();
}

void RunControl::fail(std::exception_ptr e) {
  if (!m_error) m_error = e;
  sc_core::sc_stop();
}

void RunControl::print_progress(bool final_line) {
  auto now = std::chrono::steady_clock::now();
  double since_last = std::chrono::duration<double>(now - m_last).count();
  if (!final_line && since_last < 2.0) return;
  m_last = now;
  double host = std::chrono::duration<double>(now - m_start).count();
  char pct[32] = "";
  if (m_expected > 0) {
    std::snprintf(pct, sizeof pct, " (%.0f%%)", 100.0 * static_cast<double>(m_accesses) / static_cast<double>(m_expected));
  }
  std::fprintf(stderr, "\r[vmsim] %llu accesses%s, simulated %.3f ms, host %.1f s, %.2f M accesses/s   ",
               static_cast<unsigned long long>(m_accesses), pct, sc_core::sc_time_stamp().to_seconds() * 1e3, host,
               host > 0 ? static_cast<double>(m_accesses) / host / 1e6 : 0.0);
  std::fflush(stderr);
  m_printed = true;
}

void RunControl::finish() {
  if (m_printed) {
    print_progress(true);
    std::fprintf(stderr, "\n");
  }
}

}  // namespace vmsim::cpu
