// TLB functional core (no SystemC): a set-associative array of translations with a deterministic
// replacement policy. The MMU shell charges time and counts statistics around it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/common/config.hpp"
#include "models/common/types.hpp"

namespace vmsim::mmu {

enum class Replacement { Lru, Fifo };

struct TlbConfig {
  uint64_t entries = 64;
  uint64_t ways = 4;
  uint64_t hit_latency = 1;  // core cycles
  Replacement replacement = Replacement::Lru;

  template <class V>
  void visit(V& v) {
    v("entries", entries, "entries", "Number of TLB entries (4 KiB translations)");
    v("ways", ways, "ways", "Associativity: 1 = direct mapped, entries = fully associative");
    v("hit_latency", hit_latency, "core cycles", "Cycles charged for every lookup, hit or miss");
    v("replacement", replacement, "", "Victim choice within a set: lru (true LRU) or fifo");
  }
  void validate(const std::string& path) const;
};

// One cached translation of a 4 KiB virtual page. Permissions are the walk's effective permissions.
struct TlbEntry {
  uint64_t vpn = 0;
  uint64_t pfn = 0;
  bool valid = false;
  bool writable = false;
  bool user = false;
  bool no_execute = false;
  bool global = false;
  uint8_t level = 1;   // level of the leaf PTE (1: 4 KiB page, 2: 2 MiB, 3: 1 GiB), splintered to 4 KiB
  uint64_t stamp = 0;  // replacement bookkeeping (last use for LRU, insertion for FIFO)
};

class Tlb {
 public:
  // Throws std::invalid_argument for geometries validate() rejects.
  explicit Tlb(const TlbConfig& cfg);

  // Returns the entry for vpn or nullptr; a hit updates LRU state.
  const TlbEntry* lookup(Vpn vpn) {
    TlbEntry* set = &m_entries[set_of(vpn) * m_ways];
    for (uint64_t w = 0; w < m_ways; ++w) {
      TlbEntry& e = set[w];
      if (e.valid && e.vpn == vpn.value()) {
        if (m_policy == Replacement::Lru) e.stamp = ++m_clock;
        return &e;
      }
    }
    return nullptr;
  }
  // Inserts a translation (replacing any entry for the same vpn). Returns true and sets *victim if a
  // valid entry of another page was evicted.
  bool fill(const TlbEntry& entry, TlbEntry* victim);
  // Removes the entry for vpn; returns true if there was one.
  bool invalidate(Vpn vpn);
  // Removes every entry (keep_global: all but global ones). Returns the number removed.
  uint64_t flush(bool keep_global);
  uint64_t valid_entries() const;
  uint64_t sets() const { return m_sets; }
  uint64_t ways() const { return m_ways; }
  // Direct view of an entry for tests and checkers.
  const TlbEntry& at(uint64_t set, uint64_t way) const { return m_entries[set * m_ways + way]; }
  uint64_t set_of(Vpn vpn) const { return vpn.value() % m_sets; }

 private:
  uint64_t m_sets;
  uint64_t m_ways;
  Replacement m_policy;
  uint64_t m_clock = 0;
  std::vector<TlbEntry> m_entries;
};

}  // namespace vmsim::mmu

template <>
struct vmsim::config::EnumNames<vmsim::mmu::Replacement> {
  static const std::vector<std::pair<vmsim::mmu::Replacement, const char*>>& table() {
    static const std::vector<std::pair<vmsim::mmu::Replacement, const char*>> t = {
        {vmsim::mmu::Replacement::Lru, "lru"}, {vmsim::mmu::Replacement::Fifo, "fifo"}};
    return t;
  }
};
