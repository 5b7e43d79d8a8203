// Replacement state of set-associative arrays: victim choice and observable state per policy.
#include "models/mmu/replacement.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace vmsim::mmu {

ReplacementState::ReplacementState(ReplacementPolicy policy, uint32_t sets, uint32_t ways, uint64_t seed)
    : m_policy(policy), m_ways(ways) {
  if (sets == 0 || ways == 0) throw std::invalid_argument("replacement state: sets and ways must be > 0");
  switch (policy) {
    case ReplacementPolicy::Lru:
    case ReplacementPolicy::Fifo:
      m_stamps.assign(static_cast<size_t>(sets) * ways, 0);
      break;
    case ReplacementPolicy::Plru:
      if ((ways & (ways - 1)) != 0 || ways > 64) {
        throw std::invalid_argument("replacement state: plru needs a power-of-two ways <= 64, got " +
                                    std::to_string(ways));
      }
      while ((1u << m_plru_levels) < ways) ++m_plru_levels;
      m_plru.assign(sets, 0);
      for (uint32_t way = 0; way < ways; ++way) {
        uint64_t path = 0;
        uint64_t away = 0;
        uint32_t node = 0;
        for (unsigned level = m_plru_levels; level-- > 0;) {
          const uint32_t right = (way >> level) & 1u;
          path |= uint64_t{1} << node;
          if (!right) away |= uint64_t{1} << node;  // way on the left: the node points right (1)
          node = 2 * node + 1 + right;
        }
        m_plru_and.push_back(~path);
        m_plru_or.push_back(away);
      }
      break;
    case ReplacementPolicy::Random:
      if (seed == 0) throw std::invalid_argument("replacement state: random needs a nonzero seed");
      m_rng = seed;
      break;
    case ReplacementPolicy::Srrip:
    case ReplacementPolicy::Brrip:
      m_rrpv.assign(static_cast<size_t>(sets) * ways, kRrpvMax);
      break;
  }
}

void ReplacementState::on_fill_other(uint32_t set, uint32_t way) {
  switch (m_policy) {
    case ReplacementPolicy::Lru:
    case ReplacementPolicy::Fifo:
      m_stamps[static_cast<size_t>(set) * m_ways + way] = ++m_clock;
      break;
    case ReplacementPolicy::Plru:
      plru_touch(set, way);
      break;
    case ReplacementPolicy::Random:
      break;
    case ReplacementPolicy::Srrip:
      m_rrpv[static_cast<size_t>(set) * m_ways + way] = kRrpvLong;
      break;
    case ReplacementPolicy::Brrip:
      ++m_fills;
      m_rrpv[static_cast<size_t>(set) * m_ways + way] = (m_fills % kBrripLongEvery == 0) ? kRrpvLong : kRrpvMax;
      break;
  }
}

uint32_t ReplacementState::plru_victim(uint32_t set) const {
  const uint64_t bits = m_plru[set];
  uint32_t node = 0;
  uint32_t way = 0;
  for (unsigned level = 0; level < m_plru_levels; ++level) {
    const uint32_t right = static_cast<uint32_t>((bits >> node) & 1u);
    way = (way << 1) | right;
    node = 2 * node + 1 + right;
  }
  return way;
}

// The first way of largest RRPV: the way the aging loop (all +1 until one reaches 3) stops at.
uint32_t ReplacementState::rrip_victim(uint32_t set) const {
  const uint8_t* rrpv = &m_rrpv[static_cast<size_t>(set) * m_ways];
  uint32_t victim = 0;
  for (uint32_t w = 1; w < m_ways; ++w) {
    if (rrpv[w] > rrpv[victim]) victim = w;
  }
  return victim;
}

uint32_t ReplacementState::choose_victim_other(uint32_t set) {
  if (m_policy == ReplacementPolicy::Random) {
    m_rng = xorshift64(m_rng);
    return static_cast<uint32_t>((m_rng >> 32) % m_ways);
  }
  if (!m_rrpv.empty()) {
    const uint32_t victim = rrip_victim(set);
    uint8_t* rrpv = &m_rrpv[static_cast<size_t>(set) * m_ways];
    const uint8_t age = static_cast<uint8_t>(kRrpvMax - rrpv[victim]);
    if (age != 0) {
      for (uint32_t w = 0; w < m_ways; ++w) rrpv[w] = static_cast<uint8_t>(rrpv[w] + age);
    }
    return victim;
  }
  return peek_victim(set);
}

uint32_t ReplacementState::peek_victim(uint32_t set) const {
  switch (m_policy) {
    case ReplacementPolicy::Lru:
    case ReplacementPolicy::Fifo:
      return stamp_victim(set);
    case ReplacementPolicy::Plru:
      return plru_victim(set);
    case ReplacementPolicy::Random:
      return static_cast<uint32_t>((xorshift64(m_rng) >> 32) % m_ways);
    case ReplacementPolicy::Srrip:
    case ReplacementPolicy::Brrip:
      return rrip_victim(set);
  }
  return 0;
}

std::vector<uint32_t> ReplacementState::order(uint32_t set) const {
  std::vector<uint32_t> ways;
  if (m_stamps.empty()) return ways;
  const uint64_t* stamps = &m_stamps[static_cast<size_t>(set) * m_ways];
  for (uint32_t w = 0; w < m_ways; ++w) ways.push_back(w);
  std::stable_sort(ways.begin(), ways.end(), [stamps](uint32_t a, uint32_t b) { return stamps[a] > stamps[b]; });
  return ways;
}

uint32_t ReplacementState::rank(uint32_t set, uint32_t way) const {
  if (m_stamps.empty()) return 0;
  const uint64_t* stamps = &m_stamps[static_cast<size_t>(set) * m_ways];
  uint32_t r = 0;
  for (uint32_t w = 0; w < m_ways; ++w) {
    if (stamps[w] > stamps[way] || (stamps[w] == stamps[way] && w < way)) ++r;
  }
  return r;
}

}  // namespace vmsim::mmu
