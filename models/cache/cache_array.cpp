// Set-associative tag store with MESI states and sharer masks.
#include "models/cache/cache_array.hpp"

#include <cassert>
#include <stdexcept>
#include <string>

namespace vmsim::cache {

namespace {

uint64_t checked_sets(uint64_t sets, uint32_t ways) {
  if (sets == 0 || (sets & (sets - 1)) != 0 || sets > (uint64_t{1} << 31)) {
    throw std::invalid_argument("cache array: sets must be a power of two <= 2^31, got " + std::to_string(sets));
  }
  if (ways == 0 || ways > 64) {
    throw std::invalid_argument("cache array: ways must be in [1, 64], got " + std::to_string(ways));
  }
  return sets;
}

}  // namespace

CacheArray::CacheArray(uint64_t sets, uint32_t ways, mmu::ReplacementPolicy policy, uint64_t seed)
    : m_set_mask(checked_sets(sets, ways) - 1),
      m_ways(ways),
      m_fill_is_touch(policy != mmu::ReplacementPolicy::Srrip && policy != mmu::ReplacementPolicy::Brrip),
      m_keys(sets * ways, 0),
      m_state(sets * ways, State::I),
      m_sharers(sets * ways, 0),
      m_prefetched(sets * ways, 0),
      m_set_valid(sets, 0),
      m_repl(policy, static_cast<uint32_t>(sets), ways, seed) {}

Victim CacheArray::insert(uint64_t line, State s, uint64_t sharers, bool prefetched) {
  assert(find(line) == kMiss);
  return insert_absent(line, s, sharers, prefetched);
}

Victim CacheArray::insert_absent(uint64_t line, State s, uint64_t sharers, bool prefetched) {
  assert(s != State::I);
  const uint32_t set = set_of(line);
  const size_t base = slot(set, 0);
  uint32_t way = m_ways;
  if (m_set_valid[set] != m_ways) {
    for (uint32_t w = 0; w < m_ways; ++w) {
      if (m_keys[base + w] == 0) {
        way = w;
        break;
      }
    }
  }
  Victim v;
  if (way == m_ways) {
    way = m_repl.choose_victim(set);
    const size_t i = base + way;
    v.valid = true;
    v.line = m_keys[i] & ~kValidBit;
    v.state = m_state[i];
    v.sharers = m_sharers[i];
    v.prefetched = m_prefetched[i] != 0;
  } else {
    ++m_valid;
    ++m_set_valid[set];
  }
  const size_t i = base + way;
  m_keys[i] = line | kValidBit;
  m_state[i] = s;
  m_sharers[i] = sharers;
  m_prefetched[i] = prefetched ? 1 : 0;
  m_repl.on_fill(set, way);
  m_last_used = m_fill_is_touch ? i : SIZE_MAX;
  return v;
}

Victim CacheArray::invalidate_at(uint32_t set, uint32_t way) {
  const size_t i = slot(set, way);
  Victim v;
  if (m_keys[i] == 0) return v;
  v.valid = true;
  v.line = m_keys[i] & ~kValidBit;
  v.state = m_state[i];
  v.sharers = m_sharers[i];
  v.prefetched = m_prefetched[i] != 0;
  m_keys[i] = 0;
  m_state[i] = State::I;
  m_sharers[i] = 0;
  m_prefetched[i] = 0;
  --m_valid;
  --m_set_valid[set];
  return v;
}

State CacheArray::invalidate(uint64_t line) {
  const int w = find(line);
  if (w < 0) return State::I;
  return invalidate_at(set_of(line), static_cast<uint32_t>(w)).state;
}

bool CacheArray::set_state(uint64_t line, State s) {
  const int w = find(line);
  if (w < 0) return false;
  m_state[slot(set_of(line), static_cast<uint32_t>(w))] = s;
  return true;
}

}  // namespace vmsim::cache
