// Page-walk cache (paging-structure cache) functional core: remembers upper-level paging entries so a
// walk can resume below them. A cache for level L holds entries of level L (L = 2: PDE, 3: PDPTE,
// 4: PML4E, 5: PML5E), tagged by PCID and the virtual-address bits that select them, with the table
// they point to and the rights accumulated from the root down to them. Fully associative, true LRU.
#pragma once

#include <cstdint>
#include <vector>

#include "common/types.hpp"
#include "models/mmu/page_walk.hpp"

namespace vmsim::mmu {

class PageWalkCache {
 public:
  // entries = 0 disables the cache (lookups miss, inserts are dropped).
  PageWalkCache(unsigned level, uint64_t entries);

  struct Hit {
    PhysAddr table;     // physical address of the level-(L-1) table
    WalkRights rights;  // rights accumulated down to and including the cached entry
  };
  // The cached entry for va's level-L prefix under pcid; updates LRU. nullptr on a miss.
  const Hit* lookup(VirtAddr va, uint16_t pcid);
  // Remembers the level-L entry for va (replacing the LRU entry when full).
  void insert(VirtAddr va, uint16_t pcid, PhysAddr table, const WalkRights& rights);
  // Drops every entry of pcid (INVLPG and single-context INVPCID invalidate all paging-structure-cache
  // entries of the PCID, whatever their address: Intel SDM vol. 3A 4.10.4.1). Returns the number dropped.
  uint64_t flush_pcid(uint16_t pcid);
  uint64_t flush_all();
  unsigned level() const { return m_level; }
  uint64_t capacity() const { return m_slots.size(); }

 private:
  struct Slot {
    uint64_t tag = 0;
    uint16_t pcid = 0;
    bool valid = false;
    uint64_t stamp = 0;
    Hit hit;
  };
  uint64_t tag_of(VirtAddr va) const { return va.value() >> (kPageShift + 9 * (m_level - 1)); }

  unsigned m_level;
  uint64_t m_clock = 0;
  std::vector<Slot> m_slots;
};

}  // namespace vmsim::mmu
