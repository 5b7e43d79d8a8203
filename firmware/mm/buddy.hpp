// Binary buddy allocator for physical frames: the firmware OS's frame allocator, with split and coalesce
// (eager by default, optionally lazy: merges deferred to a coalescing pass).
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "common/types.hpp"
#include "firmware/mm/bit_tree.hpp"

namespace vmsim::fw {

// Manages a contiguous PFN range as naturally aligned power-of-two blocks (orders 0..kMaxOrder).
// State: per order, a bitmap of free block starts with summary levels (the lowest free block in
// O(levels), at most 6) and a bitmap of allocated block starts, as Linux 2.4 kept per-order buddy bitmaps:
// about 4 bits per managed frame of address space, zero-filled lazily (a page of the bitmaps that is never
// written holds no host memory), so free, alloc and the order lookup cost O(kMaxOrder) bit operations and
// never allocate.
class BuddyAllocator {
 public:
  static constexpr unsigned kMaxOrder = 10;  // largest block = 2^10 frames (4 MiB)

  // Manages frames [base, base+frames). base and frames need not be aligned: the range is carved into
  // the largest naturally aligned blocks (a block of order k starts at a PFN multiple of 2^k), capped at
  // kMaxOrder. All frames start free. Throws std::invalid_argument if frames == 0 or base+frames overflows
  // the 64-bit PFN space. Cost: O(B) for B initial blocks.
  BuddyAllocator(Pfn base, uint64_t frames);

  // Allocates 2^order contiguous frames, naturally aligned; returns the first PFN, or std::nullopt if no
  // block of that order or larger is free. Deterministic: always takes the lowest-addressed free block of
  // the smallest sufficient order, splits it, and keeps the lower half. Throws std::invalid_argument if
  // order > kMaxOrder. Cost: O(kMaxOrder) bit operations.
  // With lazy coalescing on, a request that finds no sufficient block while deferred frees are pending
  // first runs coalesce() and then retries once (cost of the pass: O(B) for B free blocks).
  std::optional<Pfn> alloc(unsigned order);

  // Frees a block previously returned by alloc(order) and coalesces it with its buddy repeatedly (only
  // with free buddies of the same order lying inside the range). Throws std::logic_error (message naming
  // the PFN and order) on a double free, a PFN that is not the start of an allocated block, a PFN outside
  // the range, or an order that differs from the one allocated. The allocator is unchanged on a throw.
  // Cost: O(kMaxOrder) bit operations.
  // With lazy coalescing on, the block is put on the free list of its own order without any merge (O(1))
  // and counted in deferred_frees(); the merges happen in the next coalesce() pass.
  void free(Pfn first, unsigned order);

  // Lazy coalescing (off by default). Turning it off runs coalesce() first, so the eager invariant (no two
  // free buddies of the same order) holds again before the next eager free.
  void set_lazy_coalescing(bool on);
  bool lazy_coalescing() const { return m_lazy; }
  // Coalescing pass: merges every pair of free buddies, order 0 upward, so that afterwards no two free
  // blocks of the same order are buddies (the state eager freeing would have produced; it is unique for a
  // given set of free frames). Merges count in merges() and deferred_merges(). Returns the number of
  // merges. Usable in either mode (a no-op in eager mode). Cost: O(B) for B free blocks.
  uint64_t coalesce();
  // Cumulative frees that skipped coalescing because lazy coalescing was on.
  uint64_t deferred_frees() const { return m_deferred_frees; }
  // Cumulative merges done by coalesce() passes (the merges that were deferred).
  uint64_t deferred_merges() const { return m_deferred_merges; }
  // Cumulative coalesce() passes that had deferred frees to process (explicit or triggered by alloc()).
  uint64_t coalesce_passes() const { return m_passes; }
  // Deferred frees since the last coalescing pass (0 in eager mode).
  uint64_t pending_deferred() const { return m_pending; }

  // Number of frames managed (the constructor's `frames`).
  uint64_t total_frames() const { return m_total; }
  // Number of frames currently in free blocks.
  uint64_t free_frames() const { return m_free; }
  // Number of frames currently in allocated blocks (total - free).
  uint64_t allocated_frames() const { return m_total - m_free; }
  // True if pfn lies inside an allocated block; false if it is free or outside the range. O(kMaxOrder).
  bool is_allocated(Pfn pfn) const;
  // Number of free blocks of exactly this order (one /proc/buddyinfo column); 0 if order > kMaxOrder.
  uint64_t free_blocks(unsigned order) const;
  // free_blocks(k) for every order k = 0..kMaxOrder (one /proc/buddyinfo row).
  std::array<uint64_t, kMaxOrder + 1> free_area() const;
  // The order of the allocated block that starts exactly at pfn, or std::nullopt if no allocated block
  // starts there (free, inside a block, or outside the range). O(kMaxOrder).
  std::optional<unsigned> allocated_order(Pfn pfn) const;
  // Number of currently allocated blocks (of any order).
  uint64_t allocated_blocks() const { return m_allocated_blocks; }
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
  // Bit of the order-`order` block starting at `start` (a multiple of 2^order) in that order's bitmaps.
  uint64_t bit(uint64_t start, unsigned order) const { return (start - m_origin) >> order; }
  uint64_t block_start(uint64_t bit, unsigned order) const { return m_origin + (bit << order); }
  void add_free(uint64_t start, unsigned order) {
    m_free_map[order].set(bit(start, order));
    ++m_free_count[order];
  }
  void remove_free(uint64_t start, unsigned order) {
    m_free_map[order].clear(bit(start, order));
    --m_free_count[order];
  }
  bool is_free_block(uint64_t start, unsigned order) const { return m_free_map[order].test(bit(start, order)); }
  bool is_allocated_block(uint64_t start, unsigned order) const {
    return (start & (block_size(order) - 1)) == 0 && m_allocated[order].test(bit(start, order));
  }
  // The allocated block containing pfn (in range): its start and order, or false.
  bool owner(uint64_t pfn, uint64_t& start, unsigned& order) const;

  uint64_t m_base;
  uint64_t m_end;
  uint64_t m_total;
  uint64_t m_free = 0;
  uint64_t m_splits = 0;
  uint64_t m_merges = 0;
  bool m_lazy = false;
  uint64_t m_deferred_frees = 0;
  uint64_t m_deferred_merges = 0;
  uint64_t m_passes = 0;
  uint64_t m_pending = 0;
  uint64_t m_origin;  // m_base rounded down to 2^(kMaxOrder+1): bit i of order k is the block at origin + i*2^k
  uint64_t m_allocated_blocks = 0;
  std::array<BitTree, kMaxOrder + 1> m_free_map;      // per order: free block starts
  std::array<uint64_t, kMaxOrder + 1> m_free_count{};  // per order: free blocks
  std::array<FlatBitmap, kMaxOrder + 1> m_allocated;   // per order: allocated block starts
};

}  // namespace vmsim::fw
