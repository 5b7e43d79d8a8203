// Exact, deterministic replacement state of a set-associative array (true LRU, tree-PLRU, FIFO,
// seeded random, SRRIP, BRRIP), observable way by way so an RTL implementation can be checked against it.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "common/config.hpp"

namespace vmsim::mmu {

// Victim choice within a set once every way is valid (invalid ways are always filled first, lowest
// index first; that rule lives in the array, not here).
//
//  Lru    true LRU. State: the recency order of the set's ways. Kept as one 64-bit stamp per way taken
//         from a per-array counter that advances on every hit and fill, so the order is the stamps sorted
//         descending (order()); the victim is the way with the smallest stamp.
//  Plru   tree pseudo-LRU; ways must be a power of two <= 64. State: ways-1 bits per set in one 64-bit
//         word (plru_bits()). Bit n is node n of a heap-ordered binary tree: node 0 is the root, node n has
//         children 2n+1 (left, lower ways) and 2n+2 (right, higher ways); the leaves, in order, are ways
//         0..ways-1. Bit value 0 means "the victim is on the left", 1 "on the right".
//         Victim: start at the root, follow the bits down to a leaf; equivalently the way's binary digits,
//         most significant first, are the bits read along the path.
//         Access (hit or fill of way w): on every node of w's root-to-leaf path, set the bit to point away
//         from w (1 if w is in the left subtree, 0 if in the right). All bits start at 0 (victim way 0).
//  Fifo   insertion order. State: one stamp per way from the per-array counter, set on fill only (a refill
//         of the same page counts as a new insertion); hits change nothing. Victim: the oldest stamp.
//  Random one xorshift64 generator per array (Marsaglia's shifts 13, 7, 17: x ^= x << 13; x ^= x >> 7;
//         x ^= x << 17), seeded with the configured nonzero seed. Each victim choice (only when the set is
//         full) advances it once and takes way = (x >> 32) % ways (the high half: the low bits of xorshift
//         are weak right after a small seed). Hits and fills change nothing.
//  Srrip  static re-reference interval prediction (Jaleel et al., "High Performance Cache Replacement Using
//         Re-Reference Interval Prediction (RRIP)", ISCA 2010), 2-bit RRPV per way (rrpv()). A fill sets
//         the way's RRPV to 2 ("long"), a hit to 0. Victim: the first way, scanning from way 0, whose RRPV
//         is 3; if there is none, every way's RRPV is incremented and the scan repeated (choose_victim
//         applies that aging; peek_victim does not: it returns the first way of largest RRPV, the same way).
//  Brrip  bimodal RRIP: as Srrip, except that a fill inserts at RRPV 3 ("distant") but every 32nd fill of
//         the array (a per-array fill counter: the 32nd, 64th, ... fills) inserts at 2.
//
// Invalidations never change replacement state.
enum class ReplacementPolicy : uint8_t { Lru, Plru, Fifo, Random, Srrip, Brrip };

class ReplacementState {
 public:
  // Requires sets > 0, ways > 0, a power-of-two ways <= 64 for Plru and seed != 0 for Random
  // (TlbArrayConfig::validate and cache::LevelConfig::validate check these); throws std::invalid_argument
  // otherwise.
  ReplacementState(ReplacementPolicy policy, uint32_t sets, uint32_t ways, uint64_t seed);

  // A lookup hit on (set, way).
  void on_hit(uint32_t set, uint32_t way) {
    if (m_policy == ReplacementPolicy::Lru) {
      m_stamps[static_cast<size_t>(set) * m_ways + way] = ++m_clock;
    } else if (m_policy == ReplacementPolicy::Plru) {
      plru_touch(set, way);
    } else if (!m_rrpv.empty()) {
      m_rrpv[static_cast<size_t>(set) * m_ways + way] = 0;
    }
  }
  // A fill of (set, way), whether it took an invalid way, evicted a victim or refreshed the same page.
  void on_fill(uint32_t set, uint32_t way) {
    if (!m_stamps.empty()) {  // Lru, Fifo (inline: a cache fill's common case)
      m_stamps[static_cast<size_t>(set) * m_ways + way] = ++m_clock;
    } else {
      on_fill_other(set, way);
    }
  }
  // The way to evict from a full set. Advances the random generator (Random only); ages the set's RRPVs
  // until a way has RRPV 3 (Srrip, Brrip).
  uint32_t choose_victim(uint32_t set) { return !m_stamps.empty() ? stamp_victim(set) : choose_victim_other(set); }
  // What choose_victim would return now, without advancing anything.
  uint32_t peek_victim(uint32_t set) const;

  // Lru: ways from most to least recently used. Fifo: ways from newest to oldest insertion. Ties (ways
  // never filled) in increasing way order. Empty for Plru and Random.
  std::vector<uint32_t> order(uint32_t set) const;
  // Position of way in order(set), without building it (0 for Plru and Random).
  uint32_t rank(uint32_t set, uint32_t way) const;
  // Plru: the set's tree bits (bit n = node n). 0 for other policies.
  uint64_t plru_bits(uint32_t set) const { return m_plru.empty() ? 0 : m_plru[set]; }
  // Random: the generator state (the last value drawn, or the seed). 0 for other policies.
  uint64_t rng_state() const { return m_policy == ReplacementPolicy::Random ? m_rng : 0; }
  // Srrip, Brrip: the RRPV (0..3) of (set, way). 0 for other policies.
  uint8_t rrpv(uint32_t set, uint32_t way) const {
    return m_rrpv.empty() ? 0 : m_rrpv[static_cast<size_t>(set) * m_ways + way];
  }
  // Brrip: fills so far (the bimodal insertion counter). 0 for other policies.
  uint64_t fill_count() const { return m_fills; }

  static constexpr uint8_t kRrpvMax = 3;           // 2-bit RRPV
  static constexpr uint8_t kRrpvLong = 2;          // SRRIP insertion
  static constexpr uint64_t kBrripLongEvery = 32;  // BRRIP: one fill in 32 inserts at kRrpvLong

  ReplacementPolicy policy() const { return m_policy; }

  // One step of the xorshift64 generator described above.
  static constexpr uint64_t xorshift64(uint64_t x) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  }

 private:
  // Applies the path update of way: bits on the path are cleared by m_plru_and and set by m_plru_or.
  void plru_touch(uint32_t set, uint32_t way) { m_plru[set] = (m_plru[set] & m_plru_and[way]) | m_plru_or[way]; }
  uint32_t plru_victim(uint32_t set) const;
  // Lru, Fifo: the way with the smallest stamp (the first of equal ones).
  uint32_t stamp_victim(uint32_t set) const {
    const uint64_t* stamps = &m_stamps[static_cast<size_t>(set) * m_ways];
    uint32_t victim = 0;
    uint64_t least = stamps[0];
    for (uint32_t w = 1; w < m_ways; ++w) {  // branch-free: conditional moves
      const uint64_t s = stamps[w];
      const bool less = s < least;
      least = less ? s : least;
      victim = less ? w : victim;
    }
    return victim;
  }
  // on_fill and choose_victim of the policies without stamps.
  void on_fill_other(uint32_t set, uint32_t way);
  uint32_t choose_victim_other(uint32_t set);
  uint32_t rrip_victim(uint32_t set) const;

  ReplacementPolicy m_policy;
  uint32_t m_ways;
  unsigned m_plru_levels = 0;    // log2(ways) for Plru
  uint64_t m_clock = 0;          // Lru/Fifo stamp source
  uint64_t m_rng = 0;            // Random generator state
  std::vector<uint64_t> m_stamps;  // Lru/Fifo: per (set, way)
  std::vector<uint64_t> m_plru;    // Plru: per set
  std::vector<uint64_t> m_plru_and;  // Plru: per way, ~(bits on the way's path)
  std::vector<uint64_t> m_plru_or;   // Plru: per way, the path bits that point away from the way
  std::vector<uint8_t> m_rrpv;       // Srrip/Brrip: per (set, way)
  uint64_t m_fills = 0;              // Brrip: fills so far
};

}  // namespace vmsim::mmu

template <>
struct vmsim::config::EnumNames<vmsim::mmu::ReplacementPolicy> {
  static const std::vector<std::pair<vmsim::mmu::ReplacementPolicy, const char*>>& table() {
    static const std::vector<std::pair<vmsim::mmu::ReplacementPolicy, const char*>> t = {
        {vmsim::mmu::ReplacementPolicy::Lru, "lru"},
        {vmsim::mmu::ReplacementPolicy::Plru, "plru"},
        {vmsim::mmu::ReplacementPolicy::Fifo, "fifo"},
        {vmsim::mmu::ReplacementPolicy::Random, "random"},
        {vmsim::mmu::ReplacementPolicy::Srrip, "srrip"},
        {vmsim::mmu::ReplacementPolicy::Brrip, "brrip"}};
    return t;
  }
};
