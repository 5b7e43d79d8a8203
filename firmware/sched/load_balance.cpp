// The load balancer's choice of source and destination core.
#include "firmware/sched/load_balance.hpp"

namespace vmsim::fw {

std::optional<BalanceMove> find_imbalance(const std::vector<size_t>& load, uint64_t threshold) {
  if (load.empty()) return std::nullopt;
  size_t busiest = 0, idlest = 0;
  for (size_t c = 1; c < load.size(); ++c) {
    if (load[c] > load[busiest]) busiest = c;
    if (load[c] < load[idlest]) idlest = c;
  }
  if (load[busiest] - load[idlest] < threshold) return std::nullopt;
  return BalanceMove{static_cast<CoreId>(busiest), static_cast<CoreId>(idlest)};
}

}  // namespace vmsim::fw
