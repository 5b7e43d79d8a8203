// Stimulus for the TLB co-simulation: a constrained-random generator (conflict-prone page pools per size,
// overlapping large and small pages, a few PCIDs, global pages, splinters, phases of different operation
// mixes, response stalls) and directed sequences, one per operation, with their own expectations.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/mmu/tlb_array.hpp"
#include "testbench/scoreboard.hpp"
#include "testbench/tlb_op.hpp"

namespace vmsim::rtl {

class RandomStimulus {
 public:
  // Operations for model's geometry; model is read (never changed) to aim lookups and invalidations at
  // pages it holds.
  RandomStimulus(const mmu::TlbArray& model, uint64_t seed);
  TlbOp next();

 private:
  // Operation mix of a phase, per mille per OpKind.
  struct Phase {
    const char* name;
    std::array<unsigned, kNumOpKinds> weights;
    bool hot_sets;  // pages concentrate in two sets
  };
  TlbOp make_lookup();
  TlbOp make_fill();
  TlbOp make_address_invalidation(OpKind kind);
  mmu::PageSize random_size();
  mmu::PageSize random_leaf_size(mmu::PageSize s);
  mmu::Pcid random_pcid();
  Vpn random_page(mmu::PageSize s);
  VirtAddr address_in(Vpn base, mmu::PageSize s);
  const mmu::TlbArrayEntry* recent();

  const mmu::TlbArray& m_model;
  Rng m_rng;
  std::vector<mmu::PageSize> m_sizes;
  const Phase* m_phase = nullptr;
  uint64_t m_ops = 0;
  std::array<mmu::TlbArrayEntry, 64> m_recent{};
  uint64_t m_fills = 0;
};

// A directed sequence's own expectation did not hold (the sequence or the model is wrong).
class ExpectationFailed : public std::runtime_error {
 public:
  explicit ExpectationFailed(const std::string& msg) : std::runtime_error(msg) {}
};

// Drives a directed sequence through the scoreboard (every operation is still compared with the RTL).
class Directed {
 public:
  explicit Directed(Scoreboard& sb);

  Answer lookup(VirtAddr va, mmu::Pcid pcid, unsigned stall = 0);
  Answer fill(const mmu::TlbArrayEntry& e, unsigned stall = 0);
  Answer invlpg(VirtAddr va, mmu::Pcid pcid, unsigned stall = 0);
  Answer inv_addr(VirtAddr va, mmu::Pcid pcid, unsigned stall = 0);
  Answer inv_pcid(mmu::Pcid pcid, unsigned stall = 0);
  Answer flush_non_global(unsigned stall = 0);
  Answer flush_all(unsigned stall = 0);
  // Throws ExpectationFailed with what (and the operation count) unless ok.
  void expect(bool ok, const std::string& what) const;

  // Geometry helpers. page(): first 4 KiB page of the page of size s with the given tag in set `set`
  // (tag 0.. gives distinct pages of one set), plus a region offset (a multiple of 2^18 pages).
  Vpn page(mmu::PageSize s, uint32_t set, uint64_t tag, uint64_t region = 0) const;
  // An entry for the page at vpn (aligned to s), with a frame derived from vpn and pcid.
  mmu::TlbArrayEntry entry(Vpn vpn, mmu::PageSize s, mmu::Pcid pcid, bool global = false) const;
  mmu::TlbArrayEntry splinter_entry(Vpn vpn, mmu::PageSize s, mmu::PageSize leaf, mmu::Pcid pcid) const;
  bool holds(mmu::PageSize s) const;
  std::vector<mmu::PageSize> sizes() const;
  uint32_t sets() const;
  uint32_t ways() const;
  mmu::ReplacementPolicy policy() const;

 private:
  Answer run(TlbOp op, unsigned stall);
  Scoreboard& m_sb;
};

using DirectedSequence = std::function<void(Directed&)>;
// name -> sequence: lookup, fill, replacement, invlpg, invpcid-addr, invpcid-context, flush, handshake.
const std::vector<std::pair<std::string, DirectedSequence>>& directed_sequences();

}  // namespace vmsim::rtl
