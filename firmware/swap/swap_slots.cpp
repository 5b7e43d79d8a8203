// Swap-slot allocator: next-fit search over a used-slot bitmap, reference counts, double-free detection.
#include "firmware/swap/swap_slots.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace vmsim::fw {

SwapSlots::SwapSlots(uint64_t slots) {
  if (slots == 0) throw std::invalid_argument("SwapSlots: the swap area needs at least one slot");
  m_counts.assign(slots, 0);
  m_bitmap.assign((slots + 63) / 64, 0);
}

void SwapSlots::set_bit(uint64_t i, bool v) {
  uint64_t mask = uint64_t{1} << (i % 64);
  if (v) {
    m_bitmap[i / 64] |= mask;
  } else {
    m_bitmap[i / 64] &= ~mask;
  }
}

std::optional<uint64_t> SwapSlots::find_run(uint64_t begin, uint64_t start_limit, uint64_t n) {
  const uint64_t size = total();
  uint64_t run = 0;
  for (uint64_t i = begin; i < size;) {
    if (run == 0 && i >= start_limit) break;
    if (run == 0 && i % 64 == 0 && m_bitmap[i / 64] == ~uint64_t{0}) {  // 64 used slots at once
      uint64_t skip = std::min<uint64_t>(64, size - i);
      m_scanned += skip;
      i += skip;
      continue;
    }
    ++m_scanned;
    if (used_bit(i)) {
      run = 0;
    } else if (++run == n) {
      return i + 1 - n;
    }
    ++i;
  }
  return std::nullopt;
}

std::optional<SwapSlot> SwapSlots::allocate_run(uint64_t n) {
  if (n == 0) throw std::invalid_argument("SwapSlots::allocate_run: n must be > 0");
  std::optional<uint64_t> start;
  if (n <= available()) {
    start = find_run(m_cursor, total(), n);
    if (!start) start = find_run(0, m_cursor, n);
  }
  if (!start) {
    ++m_failures;
    return std::nullopt;
  }
  for (uint64_t s = *start; s < *start + n; ++s) {
    m_counts[s] = 1;
    set_bit(s, true);
  }
  m_used += n;
  m_allocations += n;
  m_cursor = (*start + n) % total();
  return *start;
}

void SwapSlots::check(SwapSlot s, const char* op) const {
  if (s >= total()) {
    throw std::logic_error(std::string("SwapSlots::") + op + "(slot " + std::to_string(s) +
                           "): outside the swap area of " + std::to_string(total()) + " slots");
  }
}

void SwapSlots::duplicate(SwapSlot s) {
  check(s, "duplicate");
  if (m_counts[s] == 0) {
    throw std::logic_error("SwapSlots::duplicate(slot " + std::to_string(s) + "): slot is free");
  }
  if (m_counts[s] == kMaxRefs) {
    throw std::logic_error("SwapSlots::duplicate(slot " + std::to_string(s) + "): reference count overflow");
  }
  ++m_counts[s];
}

uint32_t SwapSlots::free(SwapSlot s) {
  check(s, "free");
  if (m_counts[s] == 0) {
    throw std::logic_error("SwapSlots::free(slot " + std::to_string(s) + "): double free (slot is already free)");
  }
  if (--m_counts[s] == 0) {
    set_bit(s, false);
    --m_used;
    ++m_frees;
  }
  return m_counts[s];
}

uint32_t SwapSlots::ref_count(SwapSlot s) const {
  check(s, "ref_count");
  return m_counts[s];
}

}  // namespace vmsim::fw
