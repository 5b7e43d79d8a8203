// The periodic load balancer's decision, as Linux's periodic balancing reduced to task counts: the busiest
// core (most unfinished processes) gives one waiting process to the idlest when their counts differ by at
// least a threshold. Plain C++: the platform's timer asks, the cores carry the move out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/types.hpp"

namespace vmsim::fw {

struct BalanceMove {
  CoreId from = 0;
  CoreId to = 0;
};

// load[c]: core c's unfinished processes. The busiest is the first core with the largest load, the idlest
// the first with the smallest; a move when busiest - idlest >= threshold (threshold >= 2), else nullopt.
std::optional<BalanceMove> find_imbalance(const std::vector<size_t>& load, uint64_t threshold);

}  // namespace vmsim::fw
