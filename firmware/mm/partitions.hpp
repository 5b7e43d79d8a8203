// Contiguous variable-partition allocator for fragmentation studies: first/best/worst/next-fit placement,
// hole merging, compaction, and external-fragmentation metrics.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "common/config.hpp"

namespace vmsim::fw {

// Which hole a request is carved from (always from the hole's low end).
//   FirstFit  lowest-addressed hole that is large enough
//   BestFit   smallest large-enough hole (ties: lowest address)
//   WorstFit  largest hole (ties: lowest address)
//   NextFit   like first fit, but the search starts at the hole containing or following the end of the
//             previous placement (the "rover") and wraps around once
enum class Placement : uint8_t { FirstFit, BestFit, WorstFit, NextFit };

// An address range [start, start + size).
struct Extent {
  uint64_t start = 0;
  uint64_t size = 0;
  bool operator==(const Extent& o) const { return start == o.start && size == o.size; }
};

// A block moved by compaction.
struct Relocation {
  uint64_t from = 0;
  uint64_t to = 0;
  uint64_t size = 0;
};

struct CompactionResult {
  uint64_t moved_bytes = 0;   // sum of the sizes of the blocks that moved
  uint64_t moved_blocks = 0;
  std::vector<Relocation> relocations;  // in address order
};

// Allocator over the byte range [base, base + size). Units are abstract (bytes); no alignment is imposed.
// Cost: H holes, A blocks; first/next fit O(H) worst case, best/worst fit O(log H); free O(log A + log H).
class PartitionAllocator {
 public:
  // Throws std::invalid_argument if size == 0 or base + size overflows.
  PartitionAllocator(uint64_t base, uint64_t size, Placement policy = Placement::FirstFit);

  // Carves `size` bytes from the hole the policy selects; returns the block start, or nullopt if no hole
  // is large enough (the allocator is unchanged). Throws std::invalid_argument if size == 0.
  std::optional<uint64_t> allocate(uint64_t size);
  // Frees the block starting at `start`, merging the new hole with adjacent holes. Throws std::logic_error
  // (allocator unchanged) if no block starts there.
  void free(uint64_t start);
  // Slides every block down, in address order, so that blocks are contiguous from base and the free
  // space is one hole at the top. The next-fit rover moves to the start of that hole. O(A + H).
  CompactionResult compact();

  Placement policy() const { return m_policy; }
  void set_policy(Placement p) { m_policy = p; }

  uint64_t base() const { return m_base; }
  uint64_t end() const { return m_end; }
  uint64_t total_bytes() const { return m_end - m_base; }
  uint64_t used_bytes() const { return m_used; }
  uint64_t free_bytes() const { return total_bytes() - m_used; }
  uint64_t holes() const { return m_holes.size(); }
  uint64_t blocks() const { return m_blocks.size(); }
  uint64_t largest_hole() const { return m_by_size.empty() ? 0 : m_by_size.rbegin()->first; }
  // 1 - largest_hole / free_bytes; 0 when nothing is free.
  double external_fragmentation() const;
  // Free bytes in holes smaller than `size` (memory no request of that size can use).
  uint64_t free_bytes_in_holes_below(uint64_t size) const;
  // Size of the block starting at start, or nullopt.
  std::optional<uint64_t> block_size(uint64_t start) const;
  std::vector<Extent> hole_list() const;   // address order
  std::vector<Extent> block_list() const;  // address order
  // The next-fit rover: end of the last placement (base initially).
  uint64_t rover() const { return m_rover; }
  // Cumulative holes inspected by placement searches (search cost of the policy).
  uint64_t holes_examined() const { return m_examined; }

 private:
  using HoleMap = std::map<uint64_t, uint64_t>;  // start -> size
  HoleMap::iterator select(uint64_t size);
  void add_hole(uint64_t start, uint64_t size);
  void remove_hole(HoleMap::iterator it);

  uint64_t m_base;
  uint64_t m_end;
  Placement m_policy;
  uint64_t m_used = 0;
  uint64_t m_rover;
  uint64_t m_examined = 0;
  HoleMap m_holes;
  std::set<std::pair<uint64_t, uint64_t>> m_by_size;  // (size, start)
  std::map<uint64_t, uint64_t> m_blocks;              // start -> size
};

}  // namespace vmsim::fw

template <>
struct vmsim::config::EnumNames<vmsim::fw::Placement> {
  static const std::vector<std::pair<vmsim::fw::Placement, const char*>>& table() {
    static const std::vector<std::pair<vmsim::fw::Placement, const char*>> t = {
        {vmsim::fw::Placement::FirstFit, "first-fit"},
        {vmsim::fw::Placement::BestFit, "best-fit"},
        {vmsim::fw::Placement::WorstFit, "worst-fit"},
        {vmsim::fw::Placement::NextFit, "next-fit"}};
    return t;
  }
};
