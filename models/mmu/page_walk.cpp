// x86-64 page-walk stepping core.
#include "models/mmu/page_walk.hpp"

namespace vmsim::mmu {

uint32_t access_error_bits(const WalkRequest& req) {
  uint32_t e = 0;
  if (req.kind == AccessKind::Write) e |= pf_err::kWrite;
  if (req.kind == AccessKind::Fetch) e |= pf_err::kFetch;
  if (req.user) e |= pf_err::kUser;
  return e;
}

PageWalk::PageWalk(PhysAddr root, unsigned levels, const WalkRequest& req, bool set_accessed_dirty)
    : PageWalk(root, levels, levels, req, WalkRights{}, set_accessed_dirty) {}

PageWalk::PageWalk(PhysAddr table, unsigned level, unsigned levels, const WalkRequest& req, const WalkRights& rights,
                   bool set_accessed_dirty)
    : m_req(req), m_ad(set_accessed_dirty), m_level(level), m_w(rights.writable), m_u(rights.user),
      m_xd(rights.no_execute) {
  if (!is_canonical(req.va, levels)) {
    m_result.level = levels;
    fail(0);
    return;
  }
  m_pte_addr = PhysAddr{(table.value() & pte_bit::kPfnMask) + 8ull * pt_index(req.va, level)};
}

void PageWalk::fail(uint32_t extra_bits) {
  m_result.fault = true;
  m_result.error_code = access_error_bits(m_req) | extra_bits;
  m_done = true;
}

void PageWalk::feed(Pte pte) {
  ++m_result.pte_reads;
  m_update = 0;
  m_result.level = m_level;
  if (!pte.present()) {
    fail(0);
    return;
  }
  m_w = m_w && pte.writable();
  m_u = m_u && pte.user();
  m_xd = m_xd || pte.no_execute();
  bool leaf = m_level == 1 || (pte.huge() && (m_level == 2 || m_level == 3));
  if (pte.huge() && m_level >= 4) {
    fail(pf_err::kPresent | pf_err::kReserved);  // PS is reserved in PML4E/PML5E
    return;
  }
  if (leaf) {
    finish_leaf(pte);
    return;
  }
  if (m_ad && !pte.accessed()) m_update = pte.raw() | pte_bit::kAccessed;
  --m_level;
  m_pte_addr = PhysAddr{pte.frame_addr().value() + 8ull * pt_index(m_req.va, m_level)};
}

void PageWalk::finish_leaf(Pte pte) {
  uint64_t span_pages = level_span(m_level) >> kPageShift;
  uint64_t base = pte.pfn().value();
  if (base & (span_pages - 1)) {
    fail(pf_err::kPresent | pf_err::kReserved);  // huge leaf with non-aligned frame: reserved bits set
    return;
  }
  m_result.pfn = Pfn{base + (vpn_of(m_req.va).value() & (span_pages - 1))};
  m_result.writable = m_w;
  m_result.user = m_u;
  m_result.no_execute = m_xd;
  m_result.global = pte.global();
  if (access_denied(m_req, m_w, m_u, m_xd)) {
    fail(pf_err::kPresent);
    return;
  }
  m_result.dirty = pte.dirty();
  if (m_ad) {
    uint64_t want = pte.raw() | pte_bit::kAccessed | (m_req.kind == AccessKind::Write ? pte_bit::kDirty : 0);
    if (want != pte.raw()) m_update = want;
    m_result.dirty = (want & pte_bit::kDirty) != 0;
  }
  m_done = true;
}

}  // namespace vmsim::mmu
