// Set-associative tag store of one cache: line tags, MESI states, a sharer mask (the LLC's core-valid bits)
// and a prefetched flag per way, with replacement through mmu::ReplacementState. No data is stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "models/cache/mesi.hpp"
#include "models/mmu/replacement.hpp"

namespace vmsim::cache {

// What an insert displaced.
struct Victim {
  bool valid = false;        // a valid line was evicted
  uint64_t line = 0;         // its line address
  State state = State::I;    // its state when evicted
  uint64_t sharers = 0;      // its sharer mask
  bool prefetched = false;   // it was brought by a prefetch and never used by a demand access
};

// Lines are line addresses (physical byte address >> log2(line bytes)); set = line & (sets - 1). A line is
// in at most one way. A way is invalid iff its state is I. Invalid ways are filled first, lowest index
// first; a full set evicts the replacement policy's victim. A fill counts as an access of the way for the
// policy (ReplacementState::on_fill); touch() is a hit (on_hit). Invalidation leaves the replacement state.
class CacheArray {
 public:
  static constexpr int kMiss = -1;

  // Requires sets a power of two, 1 <= ways <= 64 and what ReplacementState requires of the policy and
  // seed; throws std::invalid_argument otherwise.
  CacheArray(uint64_t sets, uint32_t ways, mmu::ReplacementPolicy policy, uint64_t seed);

  uint32_t set_of(uint64_t line) const { return static_cast<uint32_t>(line & m_set_mask); }
  // Way holding line in its set, or kMiss.
  int find(uint64_t line) const {
    const uint64_t key = line | kValidBit;
    const uint64_t* keys = m_keys.data() + static_cast<size_t>(set_of(line)) * m_ways;
    for (uint32_t w = 0; w < m_ways; ++w) {
      if (keys[w] == key) return static_cast<int>(w);
    }
    return kMiss;
  }
  // Index of (set, way) in the per-way vectors (for callers that remember a slot).
  size_t slot(uint32_t set, uint32_t way) const { return static_cast<size_t>(set) * m_ways + way; }
  // True if the slot still holds line (validates a remembered slot in one compare).
  bool slot_holds(size_t slot, uint64_t line) const { return m_keys[slot] == (line | kValidBit); }

  // A demand hit on (set, way): updates the replacement state.
  void touch(uint32_t set, uint32_t way) {
    m_repl.on_hit(set, way);
    m_last_used = slot(set, way);
  }
  // The slot of the last touch, or of the last insert where a fill leaves the way as a touch would (Lru,
  // Plru, Fifo, Random; not Srrip/Brrip, which insert at a long RRPV); SIZE_MAX if neither since the last
  // Srrip/Brrip insert (or ever). Touching it again changes no victim choice under any policy: it is
  // already its set's most recently used way (Lru, Plru), at RRPV 0 (Srrip, Brrip), and hits do not matter
  // to Fifo and Random.
  size_t last_used() const { return m_last_used; }

  // Inserts line (not present: requires find(line) == kMiss, checked only in debug builds) with state s
  // (valid) and sharer mask, prefetched flag as given; returns what was displaced.
  Victim insert(uint64_t line, State s, uint64_t sharers = 0, bool prefetched = false);
  // insert for a caller that has just found line absent (find(line) == kMiss): no check.
  Victim insert_absent(uint64_t line, State s, uint64_t sharers = 0, bool prefetched = false);
  // Removes line if present; returns its previous state (I if absent).
  State invalidate(uint64_t line);
  // Removes the line in (set, way); returns what it held (valid = false if the way was invalid).
  Victim invalidate_at(uint32_t set, uint32_t way);

  // State of line (I if absent).
  State state(uint64_t line) const {
    const int w = find(line);
    return w < 0 ? State::I : m_state[slot(set_of(line), static_cast<uint32_t>(w))];
  }
  // Sets the state of a present line to s (valid). Returns false (nothing changed) if absent.
  bool set_state(uint64_t line, State s);

  // Per-slot access (slot = slot(set, way)).
  State state_at(size_t slot) const { return m_state[slot]; }
  void set_state_at(size_t slot, State s) { m_state[slot] = s; }
  uint64_t line_at(size_t slot) const { return m_keys[slot] & ~kValidBit; }
  uint64_t sharers_at(size_t slot) const { return m_sharers[slot]; }
  void set_sharers_at(size_t slot, uint64_t mask) { m_sharers[slot] = mask; }
  bool prefetched_at(size_t slot) const { return m_prefetched[slot] != 0; }
  void set_prefetched_at(size_t slot, bool p) { m_prefetched[slot] = p ? 1 : 0; }

  // Calls f(line, state, sharers) for every valid line, in slot order.
  template <class F>
  void for_each_valid(F&& f) const {
    for (size_t i = 0; i < m_keys.size(); ++i) {
      if (m_keys[i] != 0) f(m_keys[i] & ~kValidBit, m_state[i], m_sharers[i]);
    }
  }

  uint64_t sets() const { return m_set_mask + 1; }
  uint32_t ways() const { return m_ways; }
  uint64_t capacity() const { return m_keys.size(); }
  // Valid lines now (kept as a counter).
  uint64_t valid_lines() const { return m_valid; }
  const mmu::ReplacementState& replacement() const { return m_repl; }

 private:
  // Line addresses are < 2^61 (64-bit physical addresses, lines >= 8 B), so bit 63 marks a valid
  // key and an all-zero key is an invalid way.
  static constexpr uint64_t kValidBit = uint64_t{1} << 63;

  uint64_t m_set_mask;
  uint32_t m_ways;
  uint64_t m_valid = 0;
  size_t m_last_used = SIZE_MAX;
  bool m_fill_is_touch;  // the policy's fill leaves the way as a touch would (see last_used)
  std::vector<uint64_t> m_keys;        // line | kValidBit, or 0 if invalid
  std::vector<State> m_state;
  std::vector<uint64_t> m_sharers;
  std::vector<uint8_t> m_prefetched;
  std::vector<uint8_t> m_set_valid;    // valid ways per set (a full set needs no search for an invalid way)
  mmu::ReplacementState m_repl;
};

}  // namespace vmsim::cache
