// Working-set size over time of one process.
#include "firmware/swap/ws_tracker.hpp"

#include <algorithm>
#include <stdexcept>

namespace vmsim::fw {

WorkingSetTracker::WorkingSetTracker(uint64_t tau, uint64_t max_points) : m_tau(tau), m_max_points(max_points) {
  if (tau == 0) throw std::invalid_argument("WorkingSetTracker: tau must be > 0");
  if (max_points < 2) throw std::invalid_argument("WorkingSetTracker: max_points must be >= 2");
}

void WorkingSetTracker::touch(PageId p, VirtualTime now) {
  if (now < m_now) throw std::logic_error("WorkingSetTracker: time went backwards");
  m_now = now;
  auto [it, inserted] = m_last.try_emplace(p, now);
  if (!inserted) {
    m_by_age.erase({it->second, p});
    it->second = now;
  }
  m_by_age.insert({now, p});
}

void WorkingSetTracker::expire(VirtualTime now) {
  // In W iff now - last < tau, i.e. last > now - tau.
  while (!m_by_age.empty() && now - m_by_age.begin()->first >= m_tau) {
    m_last.erase(m_by_age.begin()->second);
    m_by_age.erase(m_by_age.begin());
  }
}

void WorkingSetTracker::reference(PageId p, VirtualTime now) { touch(p, now); }

uint64_t WorkingSetTracker::size(VirtualTime now) {
  if (now < m_now) throw std::logic_error("WorkingSetTracker: time went backwards");
  m_now = now;
  expire(now);
  return m_last.size();
}

uint64_t WorkingSetTracker::sample(const std::vector<PageId>& referenced, VirtualTime now) {
  for (PageId p : referenced) touch(p, now);
  const uint64_t n = size(now);
  if (m_samples % m_stride == 0) {
    if (m_series.size() == m_max_points) {
      size_t k = 0;
      for (size_t i = 0; i < m_series.size(); i += 2) m_series[k++] = m_series[i];
      m_series.resize(k);
      m_stride *= 2;
    }
    if (m_samples % m_stride == 0) m_series.emplace_back(now, n);
  }
  ++m_samples;
  m_sum += n;
  m_peak = std::max(m_peak, n);
  return n;
}

}  // namespace vmsim::fw
