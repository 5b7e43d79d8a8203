// Hashed-page-table lookup as a stepping core (no SystemC), the counterpart of PageWalk for
// walker.format: hashed. The shell reads the entry at entry_address() (32 bytes) and feeds it back until
// done(). Faults carry the same x86 error-code bits as a radix walk.
#pragma once

#include <array>
#include <cstdint>

#include "common/hashed_pt.hpp"
#include "models/mmu/page_walk.hpp"

namespace vmsim::mmu {

class HashedWalk {
 public:
  // Looks va up for address space asid in the table of `buckets` anchors at `base`; `levels` (4 or 5)
  // gives the canonical-address width.
  HashedWalk(PhysAddr base, uint64_t buckets, uint16_t asid, unsigned levels, const WalkRequest& req,
             bool set_accessed_dirty);
  bool done() const { return m_done; }
  PhysAddr entry_address() const { return m_entry; }
  // Supplies the 4 words read at entry_address(). Throws SimulationError on a chain longer than
  // hpt::kMaxChain (a corrupt table).
  void feed(const std::array<uint64_t, 4>& words);
  // With A/D updates on: the PTE word to write back at entry_address() + hpt::kPteOffset.
  bool has_ad_update() const { return m_update != 0; }
  uint64_t ad_update() const { return m_update; }
  const WalkResult& result() const { return m_result; }

 private:
  void fail(uint32_t extra_bits);

  WalkRequest m_req;
  bool m_ad;
  uint64_t m_tag;
  PhysAddr m_entry{0};
  bool m_done = false;
  uint64_t m_update = 0;
  WalkResult m_result;
};

}  // namespace vmsim::mmu
