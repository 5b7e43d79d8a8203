// Swap-slot allocator: a swap area of N 4 KiB slots with next-fit (clustering) allocation, per-slot
// reference counts (for sharing after fork and a future swap cache) and counters.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace vmsim::fw {

// Index of a 4 KiB slot in the swap area; its byte offset is slot * kPageSize.
using SwapSlot = uint64_t;

class SwapSlots {
 public:
  static constexpr uint32_t kMaxRefs = UINT32_MAX;

  // A swap area of `slots` slots, all free; the next-fit cursor starts at slot 0. Throws
  // std::invalid_argument if slots == 0. Host memory: about 4.1 bytes per slot.
  explicit SwapSlots(uint64_t slots);

  // Allocates one slot with reference count 1: the first free slot at or after the cursor, wrapping to 0
  // (next fit). The cursor moves to the slot after it, so pages swapped out one after another get adjacent
  // slots (clustering: sequential swap I/O). nullopt if every slot is in use (counted in failures()).
  std::optional<SwapSlot> allocate() { return allocate_run(1); }
  // Allocates n contiguous slots (each with count 1) and returns the first: the first run of n free slots
  // starting at or after the cursor and ending inside the area; if none, the first run starting before the
  // cursor. The cursor moves past the run. nullopt if no run exists (counted in failures()). Throws
  // std::invalid_argument if n == 0.
  std::optional<SwapSlot> allocate_run(uint64_t n);
  // Adds a reference to an allocated slot (a PTE of a forked process, the swap cache). Throws
  // std::logic_error if the slot is out of range or free, or if its count would exceed kMaxRefs.
  void duplicate(SwapSlot s);
  // Drops one reference; the slot becomes free when the count reaches 0. Returns the remaining count.
  // Throws std::logic_error (naming the slot) if the slot is out of range or already free (double free).
  uint32_t free(SwapSlot s);

  // 0 for a free slot. Throws std::logic_error if out of range.
  uint32_t ref_count(SwapSlot s) const;
  bool is_allocated(SwapSlot s) const { return ref_count(s) != 0; }

  uint64_t total() const { return m_counts.size(); }
  uint64_t used() const { return m_used; }
  uint64_t available() const { return total() - m_used; }
  // Slot where the next search starts.
  SwapSlot cursor() const { return m_cursor; }

  uint64_t allocations() const { return m_allocations; }  // slots handed out
  uint64_t frees() const { return m_frees; }              // slots that became free
  uint64_t failures() const { return m_failures; }        // allocation requests that found no room
  uint64_t scanned() const { return m_scanned; }          // slot positions the searches passed over

 private:
  bool used_bit(uint64_t i) const { return (m_bitmap[i / 64] >> (i % 64)) & 1u; }
  void set_bit(uint64_t i, bool v);
  // First start in [begin, start_limit) of n free slots ending inside the area, or nullopt.
  std::optional<uint64_t> find_run(uint64_t begin, uint64_t start_limit, uint64_t n);
  void check(SwapSlot s, const char* op) const;

  std::vector<uint32_t> m_counts;
  std::vector<uint64_t> m_bitmap;  // bit set = slot in use; lets searches skip 64 used slots at once
  uint64_t m_used = 0;
  SwapSlot m_cursor = 0;
  uint64_t m_allocations = 0;
  uint64_t m_frees = 0;
  uint64_t m_failures = 0;
  uint64_t m_scanned = 0;
};

}  // namespace vmsim::fw
