// Hashed-page-table lookup stepping core.
#include "models/mmu/hashed_walk.hpp"

#include <string>

#include "common/error.hpp"
#include "common/units.hpp"

namespace vmsim::mmu {

HashedWalk::HashedWalk(PhysAddr base, uint64_t buckets, uint16_t asid, unsigned levels, const WalkRequest& req,
                       bool set_accessed_dirty)
    : m_req(req), m_ad(set_accessed_dirty), m_tag(hpt::make_tag(asid, req.va.value() >> kPageShift)) {
  m_result.level = 1;
  if (!is_canonical(req.va, levels)) {
    fail(0);
    return;
  }
  m_entry = PhysAddr{base.value() + hpt::kEntryBytes * hpt::bucket_of(asid, req.va.value() >> kPageShift, buckets)};
}

void HashedWalk::fail(uint32_t extra_bits) {
  m_result.fault = true;
  m_result.error_code = access_error_bits(m_req) | extra_bits;
  m_done = true;
}

void HashedWalk::feed(const std::array<uint64_t, 4>& words) {
  ++m_result.pte_reads;
  m_update = 0;
  if (words[0] != m_tag) {
    if (words[2] == 0) {  // end of the chain: no translation
      fail(0);
      return;
    }
    if (m_result.pte_reads >= hpt::kMaxChain) {
      throw SimulationError("hashed page table: chain longer than " + std::to_string(hpt::kMaxChain) +
                            " entries at " + format_hex(m_entry.value()) + " (a cycle in the table?)");
    }
    m_entry = PhysAddr{words[2]};
    return;
  }
  const Pte pte{words[1]};
  if (!pte.present()) {
    fail(0);
    return;
  }
  if (pte.huge()) {  // only 4 KiB pages live in the hashed table: PS is reserved
    fail(pf_err::kPresent | pf_err::kReserved);
    return;
  }
  m_result.pfn = pte.pfn();
  m_result.writable = pte.writable();
  m_result.user = pte.user();
  m_result.no_execute = pte.no_execute();
  m_result.global = false;  // entries are tagged with their address space: nothing is global
  if (access_denied(m_req, pte.writable(), pte.user(), pte.no_execute())) {
    fail(pf_err::kPresent);
    return;
  }
  m_result.dirty = pte.dirty();
  if (m_ad) {
    const uint64_t want = pte.raw() | pte_bit::kAccessed | (m_req.kind == AccessKind::Write ? pte_bit::kDirty : 0);
    if (want != pte.raw()) m_update = want;
    m_result.dirty = (want & pte_bit::kDirty) != 0;
  }
  m_done = true;
}

}  // namespace vmsim::mmu
