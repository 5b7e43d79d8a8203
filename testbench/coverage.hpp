// Functional coverage of the TLB co-simulation: named bins in groups (lookup outcome x page size x match
// kind x PCID reuse; fill outcome x size x global; replacement state; invalidation kind x effect;
// handshake stalls), counted from the model's view of each operation and reported at the end.
#pragma once

#include <array>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "models/mmu/tlb_array.hpp"
#include "testbench/tlb_op.hpp"

namespace vmsim::rtl {

class Coverage {
 public:
  // Bins for an array of this geometry (bins for page sizes it does not hold are not created).
  Coverage(uint32_t ways, mmu::PageSizeMask sizes, mmu::ReplacementPolicy policy);

  // Before the model executes op: records what depends on the state before it.
  //  lookup: hit (and the entry's size, global match, the hit way's recency rank / FIFO age, -1 if none)
  //  fill: outcome, the victim way and the set's PLRU bits on eviction
  //  invalidations: removed counts by size
  void lookup(bool hit, mmu::PageSize size, bool global_match, bool pcid_reused, int rank);
  void fill(const mmu::TlbArrayEntry& e, const mmu::TlbFillResult& r, uint64_t plru_bits_before);
  void invalidate(OpKind kind, const mmu::TlbRemoved& removed, bool splinter_removed);
  void stall(unsigned cycles);

  // Table of every group: bins, counts, and the holes.
  void print(std::ostream& os) const;
  size_t bins() const;
  size_t covered() const;
  std::vector<std::string> holes() const;
  void merge(const Coverage& other);

 private:
  struct Group {
    std::string name;
    std::vector<std::string> bins;
    std::vector<uint64_t> counts;
  };
  size_t add_group(const std::string& name);
  void add_bin(size_t group, const std::string& bin);
  void hit(size_t group, size_t bin) { ++m_groups[group].counts[bin]; }

  uint32_t m_ways;
  mmu::PageSizeMask m_sizes;
  mmu::ReplacementPolicy m_policy;
  unsigned m_num_sizes = 0;
  std::array<unsigned, mmu::kNumPageSizes> m_slot{};  // page size -> position among the held sizes
  bool m_plru_states = false;                          // a bin per PLRU tree state (ways <= 8)
  std::vector<Group> m_groups;
  size_t m_lookup = 0;
  size_t m_fill = 0;
  size_t m_fill_dropped = 0;
  size_t m_fill_splinter = 0;
  size_t m_repl = 0;
  size_t m_inval = 0;
  size_t m_inval_size = 0;
  size_t m_inval_splinter = 0;
  size_t m_handshake = 0;
};

}  // namespace vmsim::rtl
