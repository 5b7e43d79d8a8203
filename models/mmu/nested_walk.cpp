// Two-dimensional page-walk stepping core.
#include "models/mmu/nested_walk.hpp"

namespace vmsim::mmu {
namespace {

uint64_t span_mask(unsigned level) { return level_span(level) - 1; }

}  // namespace

NestedWalk::NestedWalk(const NestedContext& ctx, const WalkRequest& req, NestedCaches* caches)
    : m_ctx(ctx),
      m_req(req),
      m_caches(caches),
      m_ept_levels(ctx.eptp.levels()),
      m_ept_ad(ctx.eptp.ad_enabled()),
      m_guest(PhysAddr{ctx.guest_root.value()}, ctx.guest_levels, req, ctx.guest_ad) {
  if (m_guest.done()) {  // non-canonical linear address
    m_res.outcome = NestedOutcome::GuestFault;
    m_res.error_code = m_guest.result().error_code;
    m_res.guest_level = m_guest.result().level;
    m_done = true;
    return;
  }
  if (m_caches != nullptr) {
    for (unsigned lvl = 2; lvl <= ctx.guest_levels; ++lvl) {
      const GuestPwcKey k{ctx.vpid, ctx.pcid, ctx.ep4ta(), req.va.value() >> (kPageShift + 9 * (lvl - 1))};
      if (const GuestPwcEntry* h = m_caches->guest_lookup(lvl, k)) {
        m_guest = PageWalk(PhysAddr{h->table_gpa.value()}, lvl - 1, ctx.guest_levels, req, h->rights, ctx.guest_ad);
        m_table_known = true;
        m_table_hpa = h->table_hpa;
        m_table_rwx = h->table_rwx;
        m_res.guest_pwc_level = lvl;
        break;
      }
    }
  }
  advance();
}

uint64_t NestedWalk::access_bits() const {
  if (m_final) {
    return m_req.kind == AccessKind::Write ? ept_qual::kWrite
           : m_req.kind == AccessKind::Fetch ? ept_qual::kFetch
                                             : ept_qual::kRead;
  }
  // Guest paging-structure accesses are reads, or writes for EPT when the EPTP enables A/D (both bits).
  return m_ept_ad ? (ept_qual::kRead | ept_qual::kWrite) : ept_qual::kRead;
}

bool NestedWalk::ept_permits(uint8_t rwx) const {
  switch (m_access) {
    case AccessKind::Read: return (rwx & ept_bit::kRead) != 0;
    case AccessKind::Write: return (rwx & ept_bit::kWrite) != 0;
    case AccessKind::Fetch: return (rwx & ept_bit::kExecute) != 0;
  }
  return false;
}

void NestedWalk::ept_violation(uint8_t rwx, uint64_t access) {
  m_res.outcome = NestedOutcome::EptViolation;
  m_res.gpa = m_gpa;
  m_res.final_translation = m_final;
  m_res.qualification = access | (uint64_t{rwx} << 3) | ept_qual::kGlaValid | (m_final ? ept_qual::kGlaTranslation : 0);
  m_done = true;
}

bool NestedWalk::begin_ept(GuestPhysAddr gpa, bool final_gpa) {
  m_gpa = gpa;
  m_final = final_gpa;
  m_access = final_gpa ? m_req.kind : (m_ept_ad ? AccessKind::Write : AccessKind::Read);
  ++m_res.ept_translations;
  // A guest-physical address wider than the EPT walk covers has no entry: a violation.
  if (gpa.value() >> (kPageShift + 9 * m_ept_levels)) {
    m_res.ept_level = m_ept_levels;
    ept_violation(0, access_bits());
    return false;
  }
  if (m_caches != nullptr) {
    unsigned level = 0;
    if (const NestedTlbEntry* e = m_caches->tlb_lookup(m_ctx.ep4ta(), gpa, level)) {
      // A write through a clean entry walks again to set D (EPT A/D on), as the TLB does for guest D.
      if (!(m_ept_ad && m_access == AccessKind::Write && !e->dirty)) {
        ++m_res.ntlb_hits;
        m_res.ept_level = level;
        if (!ept_permits(e->rwx)) {
          ept_violation(e->rwx, access_bits());
          return false;
        }
        ept_translated(PhysAddr{e->page.value() + (gpa.value() & span_mask(level))}, level, e->rwx, e->dirty);
        return false;
      }
    }
  }
  m_ept_level = m_ept_levels;
  m_ept_table = m_ctx.eptp.root();
  m_rwx = static_cast<uint8_t>(ept_bit::kRwx);
  if (m_caches != nullptr) {
    for (unsigned lvl = 2; lvl <= m_ept_levels; ++lvl) {
      const EptPwcKey k{m_ctx.ep4ta(), gpa.value() >> (kPageShift + 9 * (lvl - 1))};
      if (const EptPwcEntry* h = m_caches->ept_lookup(lvl, k)) {
        ++m_res.ept_pwc_hits;
        m_ept_level = lvl - 1;
        m_ept_table = h->table;
        m_rwx = h->rwx;
        break;
      }
    }
  }
  m_ref = NestedRef{PhysAddr{m_ept_table.value() + 8ull * ept_index(gpa, m_ept_level)}, NestedDim::Ept, m_ept_level};
  m_in_ept = true;
  return true;
}

void NestedWalk::feed(uint64_t value) {
  m_write = 0;
  if (m_ref.dim == NestedDim::Ept) {
    ++m_res.ept_reads;
    feed_ept(value);
  } else {
    ++m_res.guest_reads;
    feed_guest(value);
  }
  if (!m_done) advance();
}

void NestedWalk::feed_ept(uint64_t value) {
  m_in_ept = false;  // set again below if the walk goes on to a lower EPT level
  const EptEntry e{value};
  const unsigned level = m_ept_level;
  m_res.ept_level = level;
  if (!e.present()) {
    ept_violation(0, access_bits());
    return;
  }
  if (const char* why = ept_misconfig(e, level)) {
    m_res.outcome = NestedOutcome::EptMisconfig;
    m_res.gpa = m_gpa;
    m_res.final_translation = m_final;
    m_res.misconfig_entry = value;
    m_res.misconfig_reason = why;
    m_done = true;
    return;
  }
  m_rwx = static_cast<uint8_t>(m_rwx & e.rwx());
  if (!e.is_leaf(level)) {
    if (m_ept_ad && !e.accessed()) {
      m_write = value | ept_bit::kAccessed;
      m_write_addr = m_ref.hpa;
      ++m_res.ept_ad_writes;
    }
    if (m_caches != nullptr && level >= 2) {
      m_caches->ept_insert(level, EptPwcKey{m_ctx.ep4ta(), m_gpa.value() >> (kPageShift + 9 * (level - 1))},
                           EptPwcEntry{e.addr(), m_rwx});
    }
    m_ept_table = e.addr();
    --m_ept_level;
    m_ref = NestedRef{PhysAddr{m_ept_table.value() + 8ull * ept_index(m_gpa, m_ept_level)}, NestedDim::Ept,
                      m_ept_level};
    m_in_ept = true;
    return;
  }
  if (!ept_permits(m_rwx)) {
    ept_violation(m_rwx, access_bits());
    return;
  }
  bool dirty = e.dirty();
  if (m_ept_ad) {
    const uint64_t want = value | ept_bit::kAccessed | (m_access == AccessKind::Write ? ept_bit::kDirty : 0);
    if (want != value) {
      m_write = want;
      m_write_addr = m_ref.hpa;
      ++m_res.ept_ad_writes;
    }
    dirty = (want & ept_bit::kDirty) != 0;
  }
  const PhysAddr page{e.addr().value() & ~span_mask(level)};
  if (m_caches != nullptr) m_caches->tlb_insert(m_ctx.ep4ta(), m_gpa, level, NestedTlbEntry{page, m_rwx, dirty});
  ept_translated(PhysAddr{page.value() + (m_gpa.value() & span_mask(level))}, level, m_rwx, dirty);
}

void NestedWalk::ept_translated(PhysAddr hpa, unsigned level, uint8_t rwx, bool dirty) {
  m_res.ept_level = level;
  if (m_final) {
    m_res.pfn = pfn_of(hpa);
    m_res.readable = (rwx & ept_bit::kRead) != 0;
    m_res.writable = m_res.writable && (rwx & ept_bit::kWrite) != 0;
    m_res.no_execute = m_res.no_execute || (rwx & ept_bit::kExecute) == 0;
    m_res.dirty = m_res.dirty && (!m_ept_ad || dirty);
    m_done = true;
    return;
  }
  m_table_known = true;
  m_table_hpa = PhysAddr{hpa.value() & ~kPageMask};
  m_table_rwx = rwx;
  if (m_caches != nullptr && m_pending_pwc != 0) {
    const unsigned lvl = m_pending_pwc;
    m_caches->guest_insert(lvl,
                           GuestPwcKey{m_ctx.vpid, m_ctx.pcid, m_ctx.ep4ta(),
                                       m_req.va.value() >> (kPageShift + 9 * (lvl - 1))},
                           GuestPwcEntry{GuestPhysAddr{m_gpa.value() & ~kPageMask}, m_table_hpa, m_guest.rights(), rwx});
  }
  m_pending_pwc = 0;
}

void NestedWalk::feed_guest(uint64_t value) {
  const unsigned level = m_guest.level();
  const GuestPhysAddr entry_gpa{m_guest.pte_address().value()};
  m_guest.feed(Pte{value});
  if (m_guest.has_ad_update()) {
    // Setting a guest A/D bit writes the guest table: without EPT A/D the table's page must be writable in
    // EPT (with it, the table's translation was already a write).
    if (!m_ept_ad && (m_table_rwx & ept_bit::kWrite) == 0) {
      m_final = false;
      m_gpa = entry_gpa;
      ept_violation(m_table_rwx, ept_qual::kWrite);
      return;
    }
    m_write = m_guest.ad_update();
    m_write_addr = m_ref.hpa;
    ++m_res.guest_ad_writes;
  }
  if (m_guest.done()) {
    const WalkResult& g = m_guest.result();
    m_res.guest_level = g.level;
    if (g.fault) {
      m_res.outcome = NestedOutcome::GuestFault;
      m_res.error_code = g.error_code;
      m_done = true;
      return;
    }
    m_res.writable = g.writable;
    m_res.user = g.user;
    m_res.no_execute = g.no_execute;
    m_res.global = g.global;
    m_res.dirty = g.dirty;
    m_phase = Phase::Final;
    return;
  }
  m_table_known = false;
  m_pending_pwc = level;
  m_phase = Phase::GuestTable;
}

void NestedWalk::advance() {
  if (m_in_ept) return;  // the next EPT read is already in m_ref
  switch (m_phase) {
    case Phase::GuestTable: {
      const GuestPhysAddr gpa{m_guest.pte_address().value()};
      if (!m_table_known && (begin_ept(gpa, false) || m_done)) return;
      m_ref = NestedRef{PhysAddr{m_table_hpa.value() + (gpa.value() & kPageMask)}, NestedDim::Guest, m_guest.level()};
      m_phase = Phase::GuestRead;
      return;
    }
    case Phase::GuestRead:
      return;  // waiting for feed()
    case Phase::Final: {
      const WalkResult& g = m_guest.result();
      m_res.gpa = GuestPhysAddr{(g.pfn.value() << kPageShift) | page_offset(m_req.va)};
      begin_ept(m_res.gpa, true);
      return;
    }
  }
}

}  // namespace vmsim::mmu
