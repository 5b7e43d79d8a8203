// The statistics time series (sim.stats_interval).
#include "platform/timeseries.hpp"

#include <cmath>
#include <iomanip>
#include <sstream>

#include "common/error.hpp"

namespace vmsim::platform {

namespace {

bool is_bucket(const std::string& name) { return name.find(".bucket.") != std::string::npos; }

std::string format_value(double v, bool integral) {
  std::ostringstream os;
  if (integral) {
    os << std::llround(v);
  } else {
    os << std::setprecision(10) << v;
  }
  return os.str();
}

}  // namespace

StatsTimeSeries::StatsTimeSeries(const std::string& path) : m_path(path), m_out(path, std::ios::trunc) {
  if (!m_out) throw InputError(path + ": cannot write");
}

std::vector<double> StatsTimeSeries::snapshot() const {
  const std::vector<stats::Record> records = stats::collect_all();
  std::vector<double> v(m_names.size(), 0.0);
  // The statistics rarely change while a run goes on: match by position, by name where that fails.
  size_t col = 0;
  for (const stats::Record& r : records) {
    if (is_bucket(r.name)) continue;
    if (col < m_names.size() && m_names[col] == r.name) {
      v[col++] = r.value;
      continue;
    }
    auto it = m_index.find(r.name);
    if (it != m_index.end()) {
      v[it->second] = r.value;
      col = it->second + 1;
    }
  }
  return v;
}

void StatsTimeSeries::start() {
  for (const stats::Record& r : stats::collect_all()) {
    if (is_bucket(r.name)) continue;
    m_index.emplace(r.name, m_names.size());
    m_names.push_back(r.name);
    m_count.push_back(r.count);
    m_integral.push_back(r.integral);
  }
  m_out << "interval,accesses,sim_time_ps";
  for (size_t i = 0; i < m_names.size(); ++i) m_out << "," << (m_count[i] ? "" : "value:") << m_names[i];
  m_out << "\n";
  m_out.flush();
  // From zero, not from the statistics now: the first row holds what the boot counted too, so the rows
  // add up to the final values.
  m_base.assign(m_names.size(), 0.0);
}

void StatsTimeSeries::restart() { m_base.assign(m_names.size(), 0.0); }

void StatsTimeSeries::row(uint64_t accesses, uint64_t time_ps) {
  const std::vector<double> now = snapshot();
  m_out << m_rows << "," << accesses << "," << time_ps;
  for (size_t i = 0; i < m_names.size(); ++i) {
    m_out << "," << (m_count[i] ? format_value(now[i] - m_base[i], true) : format_value(now[i], m_integral[i]));
  }
  m_out << "\n";
  m_out.flush();
  if (!m_out) throw InputError(m_path + ": cannot write");
  m_base = now;
  ++m_rows;
}

}  // namespace vmsim::platform
