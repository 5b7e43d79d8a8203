// Swap area and swap cache (functional core, no I/O): the slots of the swap area with their reference
// counts (one per swap PTE, one for the swap cache), and the swap cache that maps a slot to the frame
// holding its page while the page is being read in, being written out, or clean in both places.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

#include "firmware/swap/swap_slots.hpp"
#include "common/types.hpp"

namespace vmsim::fw {

// States of a swap-cache entry (slot -> frame):
//   Reading: swap-in in flight; the frame is allocated but its contents are not valid until read_done().
//            A second fault on the same slot finds the entry and waits instead of reading again.
//   Writing: swap-out in flight; the frame holds the data, the slot does not yet. A fault takes the frame
//            back without I/O (a minor fault).
//   Clean:   frame and slot hold the same data. Reclaim may free the frame without writing it; a write to
//            the page makes the slot stale (the kernel calls make_exclusive or marks the page dirty).
enum class SwapCacheState : uint8_t { Reading, Writing, Clean };

struct SwapCacheEntry {
  Pfn frame;
  SwapCacheState state = SwapCacheState::Clean;
};

// Reference counting. A slot's count is the number of swap PTEs pointing at it plus one while the slot is in
// the swap cache. The slot becomes free when the count reaches 0. The kernel:
//   swap-out of a page mapped by k PTEs:  s = begin_writeout(frame) [count 1, Writing]; k x add_ref(s) as it
//       replaces each PTE with a swap entry; writeout_done(s) [Clean]; evict(s) when the frame is freed
//       [count k, the entry is gone].
//   swap-in fault on a swap PTE:  lookup(s): a hit maps the cached frame (minor fault); a miss:
//       begin_read(s, frame) [+1, Reading], device read, read_done(s) [Clean]. Then the PTE is replaced by
//       the frame: drop_ref(s). When only the cache's reference is left the page can leave swap:
//       make_exclusive(s) frees the slot and the entry (needed before writing to the page).
//   fork: add_ref(s) for every swap PTE copied; exit/munmap: drop_ref(s) for every swap PTE.
class SwapArea {
 public:
  // A swap area of `slots` 4 KiB slots (std::invalid_argument if 0).
  explicit SwapArea(uint64_t slots) : m_slots(slots) {}

  // Allocates a slot for `frame`, puts it in the cache as Writing with count 1. nullopt if swap is full.
  std::optional<SwapSlot> begin_writeout(Pfn frame);
  // The device write of s finished: Writing -> Clean. std::logic_error if s is not Writing.
  void writeout_done(SwapSlot s);
  // The frame of cached slot s is freed (reclaim): removes the entry and its reference. Returns the remaining
  // count (the swap PTEs). std::logic_error if s is not cached or is Reading.
  uint32_t evict(SwapSlot s);

  // The cache entry of s, if any.
  std::optional<SwapCacheEntry> lookup(SwapSlot s) const;
  // The same without counting a hit or miss (bookkeeping, not a fault's lookup).
  std::optional<SwapCacheEntry> peek(SwapSlot s) const {
    auto it = m_cache.find(s);
    return it == m_cache.end() ? std::nullopt : std::optional<SwapCacheEntry>(it->second);
  }
  // Swap-in miss: caches s -> frame as Reading and adds the cache's reference. std::logic_error if s is free
  // or already cached.
  void begin_read(SwapSlot s, Pfn frame);
  // The device read of s finished: Reading -> Clean. std::logic_error if s is not Reading.
  void read_done(SwapSlot s);
  // The page written to: if the entry is Clean and the cache's reference is the only one, frees the slot,
  // removes the entry and returns true; else (other PTEs still point at the slot, or the write-out is still in
  // flight) returns false and leaves both: the writer must copy the page (copy-on-write).
  bool make_exclusive(SwapSlot s);

  // Reference counting of swap PTEs (fork, PTE replaced during swap-out / swap-in, exit). drop_ref returns the
  // remaining count; std::logic_error on a free slot.
  void add_ref(SwapSlot s) { m_slots.duplicate(s); }
  uint32_t drop_ref(SwapSlot s);
  uint32_t ref_count(SwapSlot s) const { return m_slots.ref_count(s); }

  static constexpr uint64_t offset_of(SwapSlot s) { return s << kPageShift; }
  const SwapSlots& slots() const { return m_slots; }
  uint64_t cached() const { return m_cache.size(); }

  uint64_t cache_hits() const { return m_hits; }      // lookups that found an entry
  uint64_t cache_misses() const { return m_misses; }  // lookups that found none
  uint64_t writeouts() const { return m_writeouts; }  // begin_writeout successes
  uint64_t reads() const { return m_reads; }          // begin_read calls
  uint64_t full() const { return m_full; }            // begin_writeout failures (swap full)

 private:
  SwapCacheEntry& entry(SwapSlot s, const char* op);

  SwapSlots m_slots;
  std::unordered_map<SwapSlot, SwapCacheEntry> m_cache;
  mutable uint64_t m_hits = 0;
  mutable uint64_t m_misses = 0;
  uint64_t m_writeouts = 0;
  uint64_t m_reads = 0;
  uint64_t m_full = 0;
};

}  // namespace vmsim::fw
