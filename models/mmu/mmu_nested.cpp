// MMU, nested paging: VM entry and exit, guest CR3 writes, INVEPT/INVVPID, the guest-mode walk and its
// golden check.
#include "models/mmu/mmu.hpp"

#include "common/error.hpp"
#include "common/units.hpp"

namespace vmsim::mmu {

void Mmu::enter_guest(const GuestMode& g) {
  if (const char* why = g.eptp.invalid()) {
    throw SimulationError(std::string(name()) + ": VM entry with EPTP " + format_hex(g.eptp.raw()) + ": " + why);
  }
  if (g.vpid == 0) throw SimulationError(std::string(name()) + ": VM entry with VPID 0 (the host's)");
  if (g.levels != 4 && g.levels != 5) {
    throw SimulationError(std::string(name()) + ": VM entry with " + std::to_string(g.levels) + " guest paging levels");
  }
  if (m_walker.hashed()) {
    throw InputError("system.core.mmu.walker.format: bad value 'hashed' (nested paging walks radix tables only)");
  }
  for (size_t i = 0; i < m_tlb.dtlb().num_arrays(); ++i) {
    if (m_tlb.dtlb().array(i).has_backend()) {
      throw InputError("system.core.mmu.tlb.dtlb[" + std::to_string(i) +
                       "].impl: bad value 'rtl' (the RTL TLB has no VPID tags, which guest mode needs)");
    }
  }
  m_walker.enable_nested(g.caches);
  if (m_checker && !m_nested_checker) {
    m_nested_checker = std::make_unique<GoldenNestedChecker>([this](uint64_t pa) { return m_walker.debug_read64(pa); });
  }
  if (!m_guest) {
    m_host_root = m_root;
    m_host_pcid = m_pcid;
  }
  m_guest = true;
  const auto [loaded, first] = m_vpid_roots.try_emplace(g.vpid, VpidRoot{g.root.value(), false});
  if (!first && loaded->second.root != g.root.value()) loaded->second.mixed = true;
  loaded->second.root = g.root.value();
  m_pcid = g.pcid & kMaxPcid;
  m_guest_ctx.eptp = g.eptp;
  m_guest_ctx.guest_root = g.root;
  m_guest_ctx.guest_levels = g.levels;
  m_guest_ctx.guest_ad = m_ad;
  m_guest_ctx.vpid = g.vpid;
  m_guest_ctx.pcid = pcid();
  m_tlb.set_vpid(g.vpid);
}

void Mmu::exit_guest() {
  if (!m_guest) return;
  m_guest = false;
  m_root = m_host_root;
  m_pcid = m_host_pcid;
  m_tlb.set_vpid(0);
}

void Mmu::set_guest_root(GuestPhysAddr root, Pcid pcid) {
  if (!m_guest) throw SimulationError(std::string(name()) + ": guest CR3 write outside guest mode");
  m_pcid = pcid & kMaxPcid;
  m_guest_ctx.guest_root = root;
  m_guest_ctx.pcid = this->pcid();
  VpidRoot& loaded = m_vpid_roots[m_guest_ctx.vpid];
  if (!m_pcid_enabled) {
    ++m_flushes;
    m_tlb.flush_non_global();  // the current VPID's entries only
    m_walker.nested_caches().invalidate_vpid(m_guest_ctx.vpid);
    loaded.mixed = false;
  } else if (loaded.root != root.value()) {
    loaded.mixed = true;
  }
  loaded.root = root.value();
}

bool Mmu::guest_space_cached(Vpid vpid, GuestPhysAddr root) const {
  const auto it = m_vpid_roots.find(vpid);
  return it != m_vpid_roots.end() && (it->second.mixed || it->second.root == root.value());
}

uint64_t Mmu::invalidate_vpid_page(Vpid vpid, Pcid pcid, VirtAddr va) {
  const Pcid p = m_pcid_enabled ? static_cast<Pcid>(pcid & kMaxPcid) : 0;
  const uint64_t removed = m_pcid_enabled ? m_tlb.invpcid_in(vpid, InvpcidType::IndividualAddress, p, va)
                                          : m_tlb.invvpid(InvvpidType::IndividualAddress, vpid, va);
  if (vpid == 0) {
    m_walker.flush_pcid(p);
  } else if (m_walker.nested_enabled()) {
    m_walker.nested_caches().invalidate_pcid(vpid, p);
  }
  return removed;
}

uint64_t Mmu::invalidate_vpid_space(Vpid vpid, Pcid pcid) {
  uint64_t removed = 0;
  if (m_pcid_enabled) {
    const Pcid p = static_cast<Pcid>(pcid & kMaxPcid);
    removed = m_tlb.invpcid_in(vpid, InvpcidType::SingleContext, p, VirtAddr{0});
    if (vpid == 0) {
      m_walker.flush_pcid(p);
    } else if (m_walker.nested_enabled()) {
      m_walker.nested_caches().invalidate_pcid(vpid, p);
    }
    return removed;
  }
  removed = m_tlb.invpcid_in(vpid, InvpcidType::AllContextsExclGlobal, 0, VirtAddr{0});
  if (vpid == 0) {
    ++m_flushes;
    m_walker.flush_all();
  } else {
    if (m_walker.nested_enabled()) m_walker.nested_caches().invalidate_vpid(vpid);
    const auto it = m_vpid_roots.find(vpid);
    if (it != m_vpid_roots.end()) it->second.mixed = false;
  }
  return removed;
}

uint64_t Mmu::invept(InveptType type, Eptp eptp) {
  uint64_t n = m_tlb.invept();
  if (!m_walker.nested_enabled()) return n;
  n += type == InveptType::SingleContext ? m_walker.nested_caches().invalidate_ep4ta(eptp.root().value())
                                         : m_walker.nested_caches().invalidate_all();
  return n;
}

uint64_t Mmu::invvpid(InvvpidType type, Vpid vpid, VirtAddr va) {
  if (vpid == 0 && type != InvvpidType::AllContexts) {
    throw SimulationError(std::string(name()) + ": INVVPID with VPID 0");
  }
  uint64_t n = m_tlb.invvpid(type, vpid, va);
  if (!m_walker.nested_enabled()) return n;
  n += type == InvvpidType::AllContexts ? m_walker.nested_caches().invalidate_all_vpids()
                                        : m_walker.nested_caches().invalidate_vpid(vpid);
  return n;
}

Translation Mmu::walk_guest(Walker::Slot& slot, VirtAddr va, AccessKind kind, bool user, sc_core::sc_time& delay,
                            uint64_t epoch) {
  struct Release {
    Walker& w;
    Walker::Slot* s;
    ~Release() {
      if (s != nullptr) w.release(*s);
    }
  } guard{m_walker, &slot};
  m_last_nested = m_walker.walk_nested(slot, m_guest_ctx, request(va, kind, user), delay);
  const NestedResult& r = m_last_nested;
  Translation t;
  if (r.outcome != NestedOutcome::Success) {
    guard.s = nullptr;
    m_walker.release(slot);
    t.fault = true;
    if (r.outcome == NestedOutcome::GuestFault) {
      ++m_faults;
      t.error_code = r.error_code;
    }
    if (m_nested_checker && epoch == firmware_write_epoch()) verify_nested(va, kind, user, true, 0, "the walker");
    if (m_nested_checker && epoch != firmware_write_epoch()) ++m_unchecked_faults;
    return t;
  }
  // An execute-only page (EPT X without R) is not cached: a later read must fault, and TLB entries carry
  // no read permission.
  if (r.readable) {
    TlbArrayEntry e = walked_entry(va, r.effective_level(), r);
    e.vpid = m_guest_ctx.vpid;
    m_tlb.fill(va, kind, e);
  }
  guard.s = nullptr;
  m_walker.release(slot);
  t.pa = PhysAddr{(r.pfn.value() << kPageShift) | page_offset(va)};
  if (m_nested_checker) verify_nested(va, kind, user, false, r.pfn.value(), "the walker");
  return t;
}

void Mmu::verify_nested(VirtAddr va, AccessKind kind, bool user, bool fault, uint64_t pfn, const char* source) {
  if (!m_nested_checker) return;
  const std::string report = m_nested_checker->check(m_guest_ctx.eptp.raw(), m_guest_ctx.guest_root.value(),
                                                     m_guest_ctx.guest_levels, va.value(), kind, user, fault, pfn,
                                                     source);
  if (!report.empty()) {
    throw SimulationError(std::string(name()) + " at " + sc_core::sc_time_stamp().to_string() + ": " + report);
  }
}

}  // namespace vmsim::mmu
