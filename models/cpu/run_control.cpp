// Run-wide coordination.
#include "models/cpu/run_control.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

#include "common/stats.hpp"

namespace vmsim::cpu {

namespace {

// Host seconds as 1h02m, 3m05s or 12s.
std::string format_duration(double seconds) {
  const auto s = static_cast<unsigned long long>(seconds + 0.5);
  char buf[48];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lluh%02llum", s / 3600, s / 60 % 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%llum%02llus", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%llus", s);
  }
  return buf;
}

// Simulated time with a unit that keeps three to four significant digits.
std::string format_sim_time(double seconds) {
  char buf[48];
  if (seconds >= 1.0) {
    std::snprintf(buf, sizeof buf, "%.3f s", seconds);
  } else if (seconds >= 1e-3) {
    std::snprintf(buf, sizeof buf, "%.3f ms", seconds * 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.3f us", seconds * 1e6);
  }
  return buf;
}

}  // namespace

RunControl::RunControl(uint64_t warmup_accesses, Progress progress, uint64_t expected_accesses,
                       double heartbeat_seconds)
    : m_warmup(warmup_accesses),
      m_progress(progress),
      m_expected(expected_accesses),
      m_heartbeat(heartbeat_seconds),
      m_start(std::chrono::steady_clock::now()),
      m_last(m_start) {
  schedule_next();
}

void RunControl::add_tick(uint64_t period, std::function<void()> fn) {
  if (period == 0) return;
  m_ticks.push_back(Tick{period, m_accesses + period, std::move(fn)});
  m_next_tick = std::min(m_next_tick, m_ticks.back().next);
  schedule_next();
}

void RunControl::set_sampler(uint64_t period, std::function<void()> sample, std::function<void()> restart) {
  m_sample_period = period;
  m_sample = std::move(sample);
  m_restart = std::move(restart);
  m_next_sample = period == 0 ? UINT64_MAX : std::max(m_warmup, m_accesses) + period;
  schedule_next();
}

void RunControl::schedule_next() {
  m_next_event = std::min(m_next_tick, m_next_sample);
  if (m_warmup > m_accesses) m_next_event = std::min(m_next_event, m_warmup);
}

void RunControl::on_event() {
  if (m_accesses == m_warmup) {
    stats::reset_all();
    if (m_restart) m_restart();
  }
  if (m_accesses == m_next_tick) {
    m_next_tick = UINT64_MAX;
    for (size_t i = 0; i < m_ticks.size(); ++i) {  // (a tick may add none: indices stay valid)
      if (m_ticks[i].next == m_accesses) {
        m_ticks[i].next += m_ticks[i].period;
        m_ticks[i].fn();
      }
      m_next_tick = std::min(m_next_tick, m_ticks[i].next);
    }
  }
  if (m_accesses == m_next_sample) {
    m_next_sample += m_sample_period;
    m_sample();
  }
  schedule_next();
}

void RunControl::fail(std::exception_ptr e) {
  // The first failure stops the run; a second one (another core, before the stop takes effect) is dropped,
  // as a second sc_stop would raise W545 and hide the first.
  if (m_error) return;
  m_error = e;
  sc_core::sc_stop();
}

void RunControl::print_progress(bool final_line) {
  const auto now = std::chrono::steady_clock::now();
  const double since_last = std::chrono::duration<double>(now - m_last).count();
  const double period = m_progress == Progress::Line ? 0.25 : m_heartbeat;
  if (!final_line && since_last < period) return;
  m_last = now;
  const double host = std::chrono::duration<double>(now - m_start).count();
  const double speed = host > 0 ? static_cast<double>(m_accesses) / host : 0.0;
  std::string done = std::to_string(m_accesses);
  std::string eta;
  if (m_expected > 0) {
    char pct[64];
    std::snprintf(pct, sizeof pct, " / %llu (%.1f%%)", static_cast<unsigned long long>(m_expected),
                  100.0 * static_cast<double>(m_accesses) / static_cast<double>(m_expected));
    done += pct;
    if (!final_line && speed > 0 && m_accesses < m_expected) {
      eta = ", ETA " + format_duration(static_cast<double>(m_expected - m_accesses) / speed);
    }
  }
  const sc_core::sc_time sim = m_clock ? m_clock() : sc_core::sc_time_stamp();
  char speed_text[48];
  std::snprintf(speed_text, sizeof speed_text, "%.2f M accesses/s", speed / 1e6);
  const std::string text = "[vmsim] " + done + " accesses, simulated " + format_sim_time(sim.to_seconds()) +
                           ", host " + format_duration(host) + ", " + speed_text + eta;
  if (m_progress == Progress::Line) {
    // Pad over the end of a longer previous line.
    std::fprintf(stderr, "\r%-100s", text.c_str());
  } else {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  std::fflush(stderr);
  m_printed = true;
}

void RunControl::finish() {
  if (m_printed && m_progress == Progress::Line) {
    print_progress(true);
    std::fprintf(stderr, "\n");
  }
}

}  // namespace vmsim::cpu
