// MMU: TLB lookup, walk on miss, fill, permission check, golden checking.
#include "models/mmu/mmu.hpp"

#include "models/common/error.hpp"

namespace vmsim::mmu {

Mmu::Mmu(const sc_core::sc_module_name& name, const MmuConfig& cfg, sc_core::sc_time core_period, bool timed,
         bool golden_checker)
    : sc_core::sc_module(name),
      m_tlb(cfg.tlb),
      m_walker("walker", cfg.walker, core_period, timed),
      m_timed(timed),
      m_checks(m_stats, "checker_checks", "count", "Translations verified by the golden checker",
               [this] { return m_checker ? m_checker->checks() : 0; }) {
  m_hit_time = core_period * static_cast<double>(cfg.tlb.hit_latency);
  if (golden_checker) {
    m_checker = std::make_unique<GoldenChecker>([this](uint64_t pa) { return m_walker.debug_read64(pa); },
                                                static_cast<unsigned>(cfg.walker.levels));
  }
}

Translation Mmu::translate_slow(VirtAddr va, AccessKind kind, bool user, sc_core::sc_time& delay) {
  ++m_translations;
  if (m_timed) delay += m_hit_time;
  Vpn vpn = vpn_of(va);
  Translation t;
  if (const TlbEntry* e = m_tlb.lookup(vpn)) {
    ++m_hits;
    bool denied = (user && !e->user) || (kind == AccessKind::Write && !e->writable) ||
                  (kind == AccessKind::Fetch && e->no_execute);
    if (denied) {
      ++m_perm_faults;
      ++m_faults;
      WalkRequest req{va, kind, user};
      t.fault = true;
      t.error_code = access_error_bits(req) | pf_err::kPresent;
      if (m_checker) verify(va, kind, user, true, 0, "the TLB");
      return t;
    }
    t.pa = PhysAddr{(e->pfn << kPageShift) | page_offset(va)};
    if (m_checker) verify(va, kind, user, false, e->pfn, "the TLB");
    return t;
  }
  ++m_misses;
  WalkResult r = m_walker.walk(m_root, WalkRequest{va, kind, user}, delay);
  if (r.fault) {
    ++m_faults;
    t.fault = true;
    t.error_code = r.error_code;
    if (m_checker) verify(va, kind, user, true, 0, "the walker");
    return t;
  }
  TlbEntry e;
  e.vpn = vpn.value();
  e.pfn = r.pfn.value();
  e.writable = r.writable;
  e.user = r.user;
  e.no_execute = r.no_execute;
  e.global = r.global;
  e.level = static_cast<uint8_t>(r.level);
  TlbEntry victim;
  ++m_fills;
  if (m_tlb.fill(e, &victim)) ++m_evictions;
  t.pa = PhysAddr{(r.pfn.value() << kPageShift) | page_offset(va)};
  if (m_checker) verify(va, kind, user, false, r.pfn.value(), "the walker");
  return t;
}

void Mmu::verify(VirtAddr va, AccessKind kind, bool user, bool fault, uint64_t pfn, const char* source) {
  std::string report = m_checker->check(m_root.value(), va.value(), kind, user, fault, pfn, source);
  if (!report.empty()) {
    throw SimulationError(std::string(name()) + " at " + sc_core::sc_time_stamp().to_string() + ": " + report);
  }
}

void Mmu::set_root(PhysAddr root) {
  m_root = root;
  m_flushed += m_tlb.flush(true);
}

void Mmu::invlpg(VirtAddr va) {
  if (m_tlb.invalidate(vpn_of(va))) ++m_invalidations;
}

void Mmu::flush_all() { m_flushed += m_tlb.flush(false); }

}  // namespace vmsim::mmu
