// Working-set size over time of one process (Denning's W(t, tau)), from the references the kernel observes:
// faults and the pages whose Accessed bit a periodic scan finds set. Independent of the replacement policy,
// so it can feed the per-process statistic whatever policy runs.
#pragma once

#include <cstdint>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "firmware/swap/replacement.hpp"

namespace vmsim::fw {

class WorkingSetTracker {
 public:
  // `tau`: window in VirtualTime units (> 0, std::invalid_argument otherwise). `max_points`: the series
  // keeps at most this many points (>= 2); when full, every other point is dropped and only every second
  // later sample is recorded (the stride doubles), so a long run keeps an evenly thinned history.
  explicit WorkingSetTracker(uint64_t tau, uint64_t max_points = 4096);

  // A reference to page p at `now` (a fault, or an exact reference in a replay). `now` must not decrease.
  void reference(PageId p, VirtualTime now);
  // A periodic A-bit scan at `now`: every page in `referenced` was referenced since the previous scan (its
  // last use becomes `now`). Records and returns |W(now, tau)|: the pages whose last use is in (now - tau, now].
  uint64_t sample(const std::vector<PageId>& referenced, VirtualTime now);
  // |W(now, tau)| without recording it. Pages leave W by age only; eviction does not remove a page from W.
  uint64_t size(VirtualTime now);

  // Recorded (time, size) points in time order.
  const std::vector<std::pair<VirtualTime, uint64_t>>& series() const { return m_series; }
  uint64_t samples() const { return m_samples; }  // sample() calls
  uint64_t peak() const { return m_peak; }        // largest size recorded
  // Mean over all sample() calls (not only the points kept).
  double mean() const { return m_samples ? static_cast<double>(m_sum) / static_cast<double>(m_samples) : 0.0; }

 private:
  void touch(PageId p, VirtualTime now);
  void expire(VirtualTime now);

  uint64_t m_tau;
  uint64_t m_max_points;
  std::unordered_map<PageId, VirtualTime> m_last;
  std::set<std::pair<VirtualTime, PageId>> m_by_age;
  std::vector<std::pair<VirtualTime, uint64_t>> m_series;
  uint64_t m_stride = 1;
  uint64_t m_samples = 0;
  uint64_t m_sum = 0;
  uint64_t m_peak = 0;
  VirtualTime m_now = 0;
};

}  // namespace vmsim::fw
