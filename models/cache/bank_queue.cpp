// First-come-first-served occupancy of banked shared structures (LLC slices, home directories).
#include "models/cache/bank_queue.hpp"

#include <algorithm>
#include <stdexcept>

namespace vmsim::cache {

BankQueue::BankQueue(uint64_t banks, uint64_t occupancy) : m_occupancy(occupancy) {
  if (banks == 0) throw std::invalid_argument("bank queue: no banks");
  m_free_at.assign(banks, 0);
}

uint64_t BankQueue::request(uint32_t bank, uint64_t arrive) {
  uint64_t& free_at = m_free_at.at(bank);
  ++m_stats.accesses;
  if (m_occupancy == 0) return arrive;
  // Every request holds its bank for the same time, so the work left in the bank is free_at - arrive and
  // the requests in it (the one in service counted) are that divided by the occupancy, rounded up.
  const uint64_t backlog = free_at > arrive ? free_at - arrive : 0;
  const uint64_t depth = (backlog + m_occupancy - 1) / m_occupancy;
  const uint64_t start = std::max(arrive, free_at);
  free_at = start + m_occupancy;
  m_stats.busy_time += m_occupancy;
  m_stats.depth_sum += depth;
  m_stats.max_depth = std::max(m_stats.max_depth, depth);
  if (start > arrive) {
    ++m_stats.waits;
    m_stats.wait_time += start - arrive;
    m_stats.max_wait = std::max(m_stats.max_wait, start - arrive);
  }
  return start;
}

}  // namespace vmsim::cache
