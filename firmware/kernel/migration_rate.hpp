// The rate limit of page migrations that NUMA balancing (rate_limit_mbps) and tiering's promotion
// (promote_rate_limit_mbps) share in form: at most limit MB/s, booked in 100 ms windows of simulated time
// aligned to time 0 (as Linux's numabalancing_migrate_next_window; its promotion window is 1 s).
#pragma once

#include <cstdint>

#include "common/types.hpp"

namespace vmsim::fw {

class MigrationRateWindow {
 public:
  static constexpr uint64_t kWindowPs = 100000000000ull;  // 100 ms

  // True if one more 4 KiB page may move at now_ps under limit_mbps (0: no limit), and books it.
  bool allows(uint64_t limit_mbps, uint64_t now_ps) {
    if (limit_mbps == 0) return true;
    const uint64_t window = now_ps / kWindowPs;
    if (window != m_window) {
      m_window = window;
      m_bytes = 0;
    }
    const uint64_t budget = limit_mbps * 100000;  // bytes per 100 ms: MB/s x 10^6 x 0.1
    if (m_bytes + kPageSize > budget) return false;
    m_bytes += kPageSize;
    return true;
  }

 private:
  uint64_t m_window = UINT64_MAX;  // window index (now_ps / 100 ms)
  uint64_t m_bytes = 0;            // bytes booked in it
};

}  // namespace vmsim::fw
