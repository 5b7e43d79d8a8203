// Swap area and swap cache bookkeeping.
#include "firmware/swap/swap_area.hpp"

#include <stdexcept>
#include <string>

namespace vmsim::fw {

namespace {
const char* state_name(SwapCacheState s) {
  switch (s) {
    case SwapCacheState::Reading: return "reading";
    case SwapCacheState::Writing: return "writing";
    case SwapCacheState::Clean: return "clean";
  }
  return "?";
}
}  // namespace

SwapCacheEntry& SwapArea::entry(SwapSlot s, const char* op) {
  auto it = m_cache.find(s);
  if (it == m_cache.end()) {
    throw std::logic_error(std::string("SwapArea::") + op + ": slot " + std::to_string(s) + " is not in the swap cache");
  }
  return it->second;
}

std::optional<SwapSlot> SwapArea::begin_writeout(Pfn frame) {
  const std::optional<SwapSlot> s = m_slots.allocate();
  if (!s) {
    ++m_full;
    return std::nullopt;
  }
  m_cache.emplace(*s, SwapCacheEntry{frame, SwapCacheState::Writing});
  ++m_writeouts;
  return s;
}

void SwapArea::writeout_done(SwapSlot s) {
  SwapCacheEntry& e = entry(s, "writeout_done");
  if (e.state != SwapCacheState::Writing) {
    throw std::logic_error("SwapArea::writeout_done: slot " + std::to_string(s) + " is " + state_name(e.state));
  }
  e.state = SwapCacheState::Clean;
}

uint32_t SwapArea::evict(SwapSlot s) {
  SwapCacheEntry& e = entry(s, "evict");
  if (e.state == SwapCacheState::Reading) {
    throw std::logic_error("SwapArea::evict: slot " + std::to_string(s) + " is being read in");
  }
  m_cache.erase(s);
  return m_slots.free(s);
}

std::optional<SwapCacheEntry> SwapArea::lookup(SwapSlot s) const {
  auto it = m_cache.find(s);
  if (it == m_cache.end()) {
    ++m_misses;
    return std::nullopt;
  }
  ++m_hits;
  return it->second;
}

void SwapArea::begin_read(SwapSlot s, Pfn frame) {
  if (m_cache.count(s) != 0) {
    throw std::logic_error("SwapArea::begin_read: slot " + std::to_string(s) + " is already in the swap cache");
  }
  m_slots.duplicate(s);  // throws std::logic_error for a free slot
  m_cache.emplace(s, SwapCacheEntry{frame, SwapCacheState::Reading});
  ++m_reads;
}

void SwapArea::read_done(SwapSlot s) {
  SwapCacheEntry& e = entry(s, "read_done");
  if (e.state != SwapCacheState::Reading) {
    throw std::logic_error("SwapArea::read_done: slot " + std::to_string(s) + " is " + state_name(e.state));
  }
  e.state = SwapCacheState::Clean;
}

bool SwapArea::make_exclusive(SwapSlot s) {
  SwapCacheEntry& e = entry(s, "make_exclusive");
  if (e.state != SwapCacheState::Clean || m_slots.ref_count(s) != 1) return false;
  m_cache.erase(s);
  m_slots.free(s);
  return true;
}

uint32_t SwapArea::drop_ref(SwapSlot s) {
  if (m_slots.ref_count(s) == 1 && m_cache.count(s) != 0) {
    throw std::logic_error("SwapArea::drop_ref: slot " + std::to_string(s) +
                           " has only the swap cache's reference left (use evict or make_exclusive)");
  }
  return m_slots.free(s);
}

}  // namespace vmsim::fw
