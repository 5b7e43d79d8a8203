// The firmware's side of the hashed page table (walker.format: hashed; format in
// common/hashed_pt.hpp): inserting, finding and removing translations in the one global table,
// through the HAL with timed transactions. The anchor array sits at a fixed physical range the kernel
// reserves at boot; overflow entries live in frames taken from the frame allocator (128 per frame) and
// go back to it when their last entry is removed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>

#include "firmware/hal/hal.hpp"
#include "firmware/vm/page_table.hpp"
#include "common/pte.hpp"

namespace vmsim::fw {

class HashedTable {
 public:
  HashedTable(PhysAddr base, uint64_t buckets);

  // Maps (asid, va's 4 KiB page) to pfn with leaf flags (P is added); replaces the PTE of an existing
  // entry. A new overflow frame comes from alloc (zeroed); false if it could not be allocated.
  bool map(Hal& hal, uint16_t asid, VirtAddr va, Pfn pfn, uint64_t leaf_flags, const TableAllocator& alloc);
  // The PTE of (asid, va), Pte{0} if there is no entry.
  Pte lookup(Hal& hal, uint16_t asid, VirtAddr va);
  // Removes (asid, va)'s entry and returns its PTE (Pte{0} if none). An overflow frame left empty goes
  // to free_frame.
  Pte unmap(Hal& hal, uint16_t asid, VirtAddr va, const std::function<void(Pfn)>& free_frame);

  PhysAddr base() const { return m_base; }
  uint64_t buckets() const { return m_buckets; }
  uint64_t bytes() const;
  uint64_t entries() const { return m_entries; }             // translations held
  uint64_t overflow_frames() const { return m_pool.size(); }  // frames holding overflow entries
  uint64_t longest_chain() const { return m_longest; }        // entries, over the run

 private:
  struct Entry {
    uint64_t tag = 0, pte = 0, next = 0, reserved = 0;
  };
  Entry read(Hal& hal, uint64_t pa);
  void write(Hal& hal, uint64_t pa, const Entry& e);
  PhysAddr anchor(uint16_t asid, uint64_t vpn) const;
  std::optional<uint64_t> take_slot(const TableAllocator& alloc);
  void release_slot(uint64_t pa, const std::function<void(Pfn)>& free_frame);

  PhysAddr m_base;
  uint64_t m_buckets;
  uint64_t m_entries = 0;
  uint64_t m_longest = 0;
  std::map<uint64_t, uint32_t> m_pool;  // overflow frame -> live entries in it
  std::set<uint64_t> m_free_slots;       // free overflow entry addresses (lowest used first)
};

}  // namespace vmsim::fw
