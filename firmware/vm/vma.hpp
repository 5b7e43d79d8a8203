// Virtual memory areas of an address space: non-overlapping, page-aligned [start, end) ranges with
// protections, flags and an optional NUMA policy, kept sorted for O(log n) lookup. Range operations
// (remove, protect, set policy) split the areas that straddle the range ends; merge_around() joins
// neighbours that became identical, as Linux's vma_merge does.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/types.hpp"

namespace vmsim::fw {

namespace prot {
constexpr uint8_t kRead = 1;
constexpr uint8_t kWrite = 2;
constexpr uint8_t kExec = 4;
}  // namespace prot

// NUMA memory policy of a process or an area (Linux's set_mempolicy / mbind).
enum class NumaPolicyKind : uint8_t {
  Default,     // areas: use the process policy; processes: same as Local
  Local,       // first touch: the node of the faulting core's socket, falling back to the others
  Bind,        // only the listed nodes (the first with a free frame); the fault fails if none has one
  Interleave,  // page i of the area on node list[(va >> 12) % n], falling back to the others
  Preferred,   // the first listed node, falling back to the others
};

struct NumaPolicy {
  NumaPolicyKind kind = NumaPolicyKind::Default;
  std::vector<unsigned> nodes;  // Bind / Interleave / Preferred
  bool operator==(const NumaPolicy& o) const { return kind == o.kind && nodes == o.nodes; }
  bool operator!=(const NumaPolicy& o) const { return !(*this == o); }
};

struct Vma {
  Vma() = default;
  Vma(VirtAddr s, VirtAddr e, uint8_t p = prot::kRead | prot::kWrite, std::string n = "")
      : start(s), end(e), prot(p), name(std::move(n)) {}
  VirtAddr start;
  VirtAddr end;  // exclusive
  uint8_t prot = prot::kRead | prot::kWrite;
  std::string name;
  bool shared = false;      // MAP_SHARED: writes are seen by every process mapping the frames (no COW)
  bool locked = false;      // mlock'd: pages populated and never reclaimed
  bool grows_down = false;  // stack: a fault just below extends the area
  bool huge = false;        // eligible for 2 MiB pages
  bool huge_1g = false;     // explicitly huge: 1 GiB pages from the boot-time pool
  bool heap = false;        // the brk heap
  uint64_t shm = 0;         // shared-memory segment id (0: anonymous memory)
  uint64_t shm_offset = 0;  // byte offset of `start` in the segment
  bool shm_readonly = false;  // attached read-only: mprotect may not add write (EACCES)
  NumaPolicy policy;

  // Segment (or file) page index of the page holding va, for an area with shm != 0.
  uint64_t shm_page(VirtAddr va) const { return (shm_offset + (va.value() - start.value())) >> kPageShift; }

  bool allows(AccessKind kind) const {
    switch (kind) {
      case AccessKind::Read: return prot & prot::kRead;
      case AccessKind::Write: return prot & prot::kWrite;
      case AccessKind::Fetch: return prot & prot::kExec;
    }
    return false;
  }
  uint64_t bytes() const { return end.value() - start.value(); }
  // True if `next`, starting where this ends, could be one area with this one.
  bool mergeable_with(const Vma& next) const;
};

// "rwx"-style text of a protection, e.g. "rw-".
std::string prot_string(uint8_t p);

class VmaSet {
 public:
  // Adds a VMA. Throws std::invalid_argument if it is empty, not page aligned, or overlaps another.
  void insert(const Vma& vma);
  // The VMA containing va, or nullptr.
  const Vma* find(VirtAddr va) const;
  // The first VMA starting above va, or nullptr.
  const Vma* next_above(VirtAddr va) const {
    auto it = m_vmas.upper_bound(va.value());
    return it == m_vmas.end() ? nullptr : &it->second;
  }
  // True if [start, end) overlaps some VMA.
  bool overlaps(VirtAddr start, VirtAddr end) const;
  // True if every byte of [start, end) lies in some VMA.
  bool covers(VirtAddr start, VirtAddr end) const;
  // Removes every part of [start, end) from the set, splitting VMAs that straddle its ends. Returns the
  // number of bytes removed.
  uint64_t remove(VirtAddr start, VirtAddr end);
  // Splits the VMAs straddling start and end so that [start, end) is made of whole VMAs, then calls fn on
  // each VMA inside it, then merges equal neighbours (their number in *merged if given). Returns the
  // number of VMAs fn was called on.
  template <class Fn>
  size_t modify(VirtAddr start, VirtAddr end, Fn fn, size_t* merged = nullptr) {
    split_at(start.value());
    split_at(end.value());
    size_t n = 0;
    for (auto it = m_vmas.lower_bound(start.value()); it != m_vmas.end() && it->first < end.value(); ++it) {
      fn(it->second);
      ++n;
    }
    const size_t m = merge_around(start, end);
    if (merged != nullptr) *merged = m;
    return n;
  }
  // Merges mergeable neighbours among the VMAs touching [start, end] (inclusive of the edges). Returns
  // the number of merges.
  size_t merge_around(VirtAddr start, VirtAddr end);
  // Changes the end of the VMA that starts at start (brk); the new range must not overlap others.
  // Returns false (unchanged) if no VMA starts there or the new end would overlap/empty it.
  bool resize(VirtAddr start, VirtAddr new_end);
  // Lowest free gap of `bytes` bytes ending at or below `top` (searching downwards), aligned to `align`.
  // Returns 0 if none above `bottom`.
  uint64_t find_gap_below(uint64_t top, uint64_t bottom, uint64_t bytes, uint64_t align) const;
  size_t size() const { return m_vmas.size(); }
  bool empty() const { return m_vmas.empty(); }
  auto begin() const { return m_vmas.begin(); }
  auto end() const { return m_vmas.end(); }

 private:
  void split_at(uint64_t addr);
  std::map<uint64_t, Vma> m_vmas;  // keyed by start
};

}  // namespace vmsim::fw
