// Binary buddy allocator for physical frames: the firmware OS's frame allocator, with split and coalesce.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>

#include "models/common/types.hpp"

namespace vmsim::fw {

// Manages a contiguous PFN range as naturally aligned power-of-two blocks (orders 0..kMaxOrder).
// Host memory is O(number of free + allocated blocks); there is no per-frame state.
class BuddyAllocator {
 public:
  static constexpr unsigned kMaxOrder = 10;  // largest block = 2^10 frames (4 MiB)

  // Manages frames [base, base+frames). base and frames need not be aligned: the range is carved into
  // the largest naturally aligned blocks (a block of order k starts at a PFN multiple of 2^k), capped at
  // kMaxOrder. All frames start free. Throws std::invalid_argument if frames == 0 or base+frames overflows
  // the 64-bit PFN space. Cost: O(B log B) for B initial blocks.
  BuddyAllocator(Pfn base, uint64_t frames);

  // Allocates 2^order contiguous frames, naturally aligned; returns the first PFN, or std::nullopt if no
  // block of that order or larger is free. Deterministic: always takes the lowest-addressed free block of
  // the smallest sufficient order, splits it, and keeps the lower half. Throws std::invalid_argument if
  // order > kMaxOrder. Cost: O(kMaxOrder log B).
  std::optional<Pfn> alloc(unsigned order);

  // Frees a block previously returned by alloc(order) and coalesces it with its buddy repeatedly (only
  // with free buddies of the same order lying inside the range). Throws std::logic_error (message naming
  // the PFN and order) on a double free, a PFN that is not the start of an allocated block, a PFN outside
  // the range, or an order that differs from the one allocated. The allocator is unchanged on a throw.
  // Cost: O(kMaxOrder log B).
  void free(Pfn first, unsigned order);

  // Number of frames managed (the constructor's `frames`).
  uint64_t total_frames() const { return m_total; }
  // Number of frames currently in free blocks.
  uint64_t free_frames() const { return m_free; }
  // Number of frames currently in allocated blocks (total - free).
  uint64_t allocated_frames() const { return m_total - m_free; }
  // True if pfn lies inside an allocated block; false if it is free or outside the range. O(log A).
  bool is_allocated(Pfn pfn) const;
  // Number of free blocks of exactly this order (one /proc/buddyinfo column); 0 if order > kMaxOrder.
  uint64_t free_blocks(unsigned order) const;
  // Number of currently allocated blocks (of any order).
  uint64_t allocated_blocks() const { return m_allocated.size(); }
  // Cumulative number of block splits (one per halving) since construction.
  uint64_t splits() const { return m_splits; }
  // Cumulative number of buddy coalesces (one per merge of two blocks) since construction.
  uint64_t merges() const { return m_merges; }
  // First managed PFN.
  Pfn base() const { return Pfn{m_base}; }
  // One past the last managed PFN (base + total_frames).
  Pfn end() const { return Pfn{m_end}; }

 private:
  static constexpr uint64_t block_size(unsigned order) { return uint64_t{1} << order; }
  // True if the order-`order` block starting at `start` lies entirely inside [m_base, m_end).
  bool block_in_range(uint64_t start, unsigned order) const;

  uint64_t m_base;
  uint64_t m_end;
  uint64_t m_total;
  uint64_t m_free = 0;
  uint64_t m_splits = 0;
  uint64_t m_merges = 0;
  std::array<std::set<uint64_t>, kMaxOrder + 1> m_free_lists;  // per order: free block start PFNs
  std::map<uint64_t, unsigned> m_allocated;                     // allocated block start PFN -> order
};

}  // namespace vmsim::fw
