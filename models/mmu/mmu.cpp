// MMU: TLB hierarchy lookup, walk on miss, fill, permission check, golden checking.
#include "models/mmu/mmu.hpp"

#include "common/error.hpp"

namespace vmsim::mmu {

Mmu::Mmu(const sc_core::sc_module_name& name, const MmuConfig& cfg, sc_core::sc_time core_period, bool timed,
         bool golden_checker, bool waits, const TlbBackendFactory& rtl_factory)
    : sc_core::sc_module(name),
      m_tlb(cfg.tlb, "system.core.mmu.tlb"),
      m_walker("walker", cfg.walker, core_period, timed, waits),
      m_period(core_period),
      m_timed(timed),
      m_waits(waits),
      m_pcid_enabled(cfg.pcid),
      m_pcid_count(cfg.pcid_count),
      m_ad(cfg.walker.ad_updates),
      m_smep(cfg.smep),
      m_smap(cfg.smap),
      m_checks(m_stats, "checker_checks", "count", "Translations verified by the golden checker",
               [this] { return m_checker ? m_checker->checks() : 0; }) {
  if (golden_checker) {
    m_checker = std::make_unique<GoldenChecker>([this](uint64_t pa) { return m_walker.debug_read64(pa); },
                                                static_cast<unsigned>(cfg.walker.levels),
                                                cfg.walker.format == PageTableFormat::Hashed ? cfg.walker.hash_buckets : 0);
    m_checker->set_supervisor_protection(cfg.smep, cfg.smap);
    m_fast = false;
  }
  // impl: rtl arrays of the L1 data TLB answer through the Verilated RTL TLB (a child module).
  for (size_t i = 0; i < cfg.tlb.dtlb.size(); ++i) {
    if (cfg.tlb.dtlb[i].impl != TlbImpl::Rtl) continue;
    const std::string path = "system.core.mmu.tlb.dtlb[" + std::to_string(i) + "]";
    if (!rtl_factory) {
      throw InputError(path + ".impl: bad value 'rtl' (this vmsim was built without the RTL TLB: configure with "
                              "-DVMSIM_RTL=ON)");
    }
    ExternalTlb ext = rtl_factory(cfg.tlb.dtlb[i], path, ("dtlb" + std::to_string(i) + "_rtl").c_str());
    m_rtl_groups.push_back(std::make_unique<stats::Group>(m_dtlb_stats, "rtl" + std::to_string(i)));
    m_level_counters.push_back(std::make_unique<stats::Counter>(
        *m_rtl_groups.back(), "operations", "count",
        "Operations executed by the RTL TLB of array i (those before its first fill are answered without it)",
        std::move(ext.operations)));
    m_level_counters.push_back(std::make_unique<stats::Counter>(*m_rtl_groups.back(), "cycles", "RTL TLB clock cycles",
                                                                "Clock cycles of the RTL TLB of array i",
                                                                std::move(ext.cycles)));
    m_tlb.dtlb().array(i).attach(std::move(ext.backend));
  }
  add_level_stats(m_itlb_stats, &TlbHierarchyCounters::itlb);
  add_level_stats(m_dtlb_stats, &TlbHierarchyCounters::dtlb);
  add_level_stats(m_stlb_stats, &TlbHierarchyCounters::stlb);
}

void Mmu::add_level_stats(stats::Group& g, TlbLevelCounters TlbHierarchyCounters::*level) {
  auto counter = [&](stats::Group& grp, const char* n, const char* desc, std::function<uint64_t()> fn) {
    m_level_counters.push_back(std::make_unique<stats::Counter>(grp, n, "count", desc, std::move(fn)));
  };
  counter(g, "lookups", "Lookups in this level", [this, level] { return (m_tlb.counters().*level).lookups; });
  counter(g, "hits", "Lookups that hit", [this, level] { return (m_tlb.counters().*level).hits; });
  counter(g, "misses", "Lookups that missed", [this, level] { return (m_tlb.counters().*level).misses; });
  counter(g, "fills", "Entries inserted", [this, level] { return (m_tlb.counters().*level).fills; });
  counter(g, "evictions", "Valid entries displaced by fills", [this, level] {
    return (m_tlb.counters().*level).evictions;
  });
  counter(g, "invalidations", "Entries removed by INVLPG, INVPCID and flushes", [this, level] {
    return (m_tlb.counters().*level).invalidations;
  });
  for (unsigned s = 0; s < kNumPageSizes; ++s) {
    std::string n = std::string("size_") + to_string(static_cast<PageSize>(s));
    m_size_groups.push_back(std::make_unique<stats::Group>(g, n));
    stats::Group& sg = *m_size_groups.back();
    counter(sg, "hits", "Hits on entries of this page size", [this, level, s] {
      return (m_tlb.counters().*level).by_size[s].hits;
    });
    counter(sg, "fills", "Entries of this page size inserted", [this, level, s] {
      return (m_tlb.counters().*level).by_size[s].fills;
    });
    counter(sg, "evictions", "Entries of this page size displaced", [this, level, s] {
      return (m_tlb.counters().*level).by_size[s].evictions;
    });
    counter(sg, "invalidations", "Entries of this page size invalidated", [this, level, s] {
      return (m_tlb.counters().*level).by_size[s].invalidations;
    });
  }
}

Translation Mmu::after_lookup(VirtAddr va, AccessKind kind, bool user, sc_core::sc_time& delay,
                              const TlbLookup& l) {
  if (m_trace != nullptr) {
    if (m_trace->lookups++ == 0) m_trace->first = l.level;
    const Translation t = translate_slow(va, kind, user, delay, l);
    m_trace->faults += t.fault ? 1 : 0;
    if (!t.fault) m_trace->pa = t.pa.value();
    return t;
  }
  return translate_slow(va, kind, user, delay, l);
}

Translation Mmu::translate_slow(VirtAddr va, AccessKind kind, bool user, sc_core::sc_time& delay,
                                const TlbLookup& l) {
  Translation t;
  if (l.level != TlbHitLevel::Miss) {
    const TlbArrayEntry& e = *l.entry;
    bool denied = access_denied(request(va, kind, user), e.writable, e.user, e.no_execute);
    // In guest mode the cached rights combine both dimensions: a walk tells a guest page fault from an
    // EPT violation.
    if (denied && !m_guest) {
      ++m_hits;
      ++m_perm_faults;
      ++m_faults;
      t.fault = true;
      t.error_code = access_error_bits(WalkRequest{va, kind, user}) | pf_err::kPresent;
      if (m_checker) verify(va, kind, user, true, 0, "the TLB");
      return t;
    }
    if (!denied && !(m_ad && kind == AccessKind::Write && !e.dirty)) {
      ++m_hits;
      t.pa = l.pa;
      if (m_checker) verify(va, kind, user, false, l.pa.value() >> kPageShift, "the TLB");
      return t;
    }
    // A hit all the same, but x86 walks again to set D in memory before the first write through a clean
    // entry: translations = hits + misses; walks = misses + dirty_walks.
    ++m_hits;
    if (!denied) ++m_dirty_walks;
  } else {
    ++m_misses;
  }
  // The hashed table is looked up with the address-space id whether or not the TLB tags entries with it.
  const uint16_t asid = m_walker.hashed() ? m_pcid : pcid();
  const uint64_t vpn = va.value() >> kPageShift;
  // Waiting in SystemC time keeps the request's absolute time: it resumes at the later of its own
  // time and the end of the wait.
  auto resume_at = [&delay](const sc_core::sc_time& target) {
    const sc_core::sc_time now = sc_core::sc_time_stamp();
    delay = target > now ? target - now : sc_core::SC_ZERO_TIME;
  };
  if (m_waits && l.level == TlbHitLevel::Miss) {
    if (Walker::Slot* busy = m_walker.in_flight(vpn, asid)) {
      // Miss merging: this page is being walked; wait for that walk and take what it filled.
      const sc_core::sc_time target = sc_core::sc_time_stamp() + delay;
      sc_core::wait(busy->done);
      if (sc_core::sc_time_stamp() > target) (user ? m_fs_walk_wait : m_k_fs) += (sc_core::sc_time_stamp() - target).value();
      resume_at(target);
      const TlbArrayEntry* e = m_tlb.probe(va, pcid(), kind);
      if (e != nullptr && !(access_denied(request(va, kind, user), e->writable, e->user, e->no_execute) ||
                            (m_ad && kind == AccessKind::Write && !e->dirty))) {
        ++m_merged;
        t.pa = e->translate(va);
        if (m_checker) verify(va, kind, user, false, t.pa.value() >> kPageShift, "a merged walk");
        return t;
      }
      // The walk faulted, or its entry does not serve this access: walk on our own.
    }
  }
  const sc_core::sc_time before_acquire = sc_core::sc_time_stamp() + delay;
  Walker::Slot& slot = m_walker.acquire(vpn, asid);
  if (m_waits) {
    if (sc_core::sc_time_stamp() > before_acquire) {
      (user ? m_fs_walk_wait : m_k_fs) += (sc_core::sc_time_stamp() - before_acquire).value();
    }
    resume_at(before_acquire);
  }
  // The slot goes back on every path, exceptions included (other requesters may wait for it).
  struct Release {
    Walker& w;
    Walker::Slot* s;
    ~Release() {
      if (s != nullptr) w.release(*s);
    }
  } guard{m_walker, &slot};
  const uint64_t epoch = firmware_write_epoch();
  if (m_trace != nullptr) ++m_trace->walks;
  if (m_guest) {
    guard.s = nullptr;
    return walk_guest(slot, va, kind, user, delay, epoch);
  }
  WalkResult r = m_walker.walk(slot, m_root, asid, request(va, kind, user), delay);
  if (r.fault) {
    guard.s = nullptr;
    m_walker.release(slot);
    ++m_faults;
    t.fault = true;
    t.error_code = r.error_code;
    // A fault by a walk during which the firmware wrote memory (another requester's fault handler
    // mapping the page, at mode) may be stale: the core retries it, so it is not checked.
    if (m_checker && epoch == firmware_write_epoch()) verify(va, kind, user, true, 0, "the walker");
    if (m_checker && epoch != firmware_write_epoch()) ++m_unchecked_faults;
    return t;
  }
  m_tlb.fill(va, kind, walked_entry(va, r.level, r));
  guard.s = nullptr;
  m_walker.release(slot);
  t.pa = PhysAddr{(r.pfn.value() << kPageShift) | page_offset(va)};
  if (m_checker) verify(va, kind, user, false, r.pfn.value(), "the walker");
  return t;
}

void Mmu::verify(VirtAddr va, AccessKind kind, bool user, bool fault, uint64_t pfn, const char* source) {
  if (m_guest) return verify_nested(va, kind, user, fault, pfn, source);
  std::string report = m_checker->check(m_root.value(), va.value(), kind, user, fault, pfn, source, m_pcid, m_ac);
  if (!report.empty()) {
    throw SimulationError(std::string(name()) + " at " + sc_core::sc_time_stamp().to_string() + ": " + report);
  }
}

Translation Mmu::translate_supervisor(VirtAddr va, AccessKind kind, sc_core::sc_time& delay) {
  ++m_translations;
  ++m_k_translations;
  TlbLookup l = m_tlb.lookup(va, pcid(), kind);
  // Counted here, not as differences of the totals: in the at mode other requesters of this MMU translate
  // while this one waits for a walk.
  ++(l.level != TlbHitLevel::Miss ? m_k_hits : m_k_misses);
  if (m_timed) delay += m_period * static_cast<double>(l.latency);  // kept out of mmu.time.*
  // The event trace follows the workload's accesses only.
  TranslationTrace* const trace = m_trace;
  if (trace != nullptr) {
    m_trace = nullptr;
    m_walker.set_read_log(nullptr);
  }
  const Translation t = translate_slow(va, kind, false, delay, l);
  if (trace != nullptr) {
    m_trace = trace;
    m_walker.set_read_log(&trace->reads);
  }
  if (m_timed) m_k_fs += (m_period * static_cast<double>(l.latency)).value();
  return t;
}

void Mmu::add_kernel_stats() {
  if (m_kernel_stats) return;
  m_kernel_stats = std::make_unique<stats::Group>(m_stats, "kernel");
  stats::Group& g = *m_kernel_stats;
  auto counter = [&](const char* n, const char* unit, const char* desc, std::function<uint64_t()> fn) {
    m_kernel_counters.push_back(std::make_unique<stats::Counter>(g, n, unit, desc, std::move(fn)));
  };
  counter("translations", "count",
          "Supervisor translations: the firmware's accesses through the kernel's direct map (included in "
          "mmu.translations)",
          [this] { return m_k_translations; });
  counter("tlb_hits", "count", "Supervisor translations that hit a TLB level (included in mmu.tlb.hits)",
          [this] { return m_k_hits; });
  counter("tlb_misses", "count", "Supervisor translations that missed every TLB level (included in mmu.tlb.misses)",
          [this] { return m_k_misses; });
  counter("walks", "count", "Page walks of supervisor translations (included in mmu.walker.walks)",
          [this] { return m_walker.supervisor_walks(); });
  counter("pte_reads", "count", "PTE reads of those walks (included in mmu.walker.pte_reads)",
          [this] { return m_walker.supervisor_pte_reads(); });
  counter("cycles", "core cycles",
          "Cycles of supervisor translations (TLB lookups, waits for a walker, walks), part of the core's kernel "
          "time; kept out of mmu.time.* and mmu.walker.time.*, which split the workload's translation time",
          [this] { return (m_k_fs + m_walker.time_supervisor()) / static_cast<uint64_t>(m_period.value()); });
  m_kernel_counters.push_back(std::make_unique<stats::Formula>(
      g, "tlb_hit_rate", "ratio", "tlb_hits / (tlb_hits + tlb_misses)", [this] {
        const uint64_t n = m_k_hits + m_k_misses;
        return n ? static_cast<double>(m_k_hits) / static_cast<double>(n) : 0.0;
      }));
}

void Mmu::set_root(PhysAddr root, uint16_t pcid) {
  if (pcid >= m_pcid_count) {
    throw SimulationError(std::string(name()) + ": root-register write with PCID " + std::to_string(pcid) +
                          " (system.core.mmu.pcid_count is " + std::to_string(m_pcid_count) + ")");
  }
  if (m_guest) {
    // A host CR3 write while the core is in guest mode: the root VM exit will restore, and (PCIDs off)
    // the flush of the host's own (VPID 0) non-global entries.
    m_host_root = root;
    m_host_pcid = pcid & kMaxPcid;
    if (!m_pcid_enabled) {
      ++m_flushes;
      m_tlb.invpcid_in(0, InvpcidType::AllContextsExclGlobal, 0, VirtAddr{0});
      m_walker.flush_all();
    }
    return;
  }
  m_root = root;
  m_pcid = pcid & kMaxPcid;
  if (!m_pcid_enabled) {
    ++m_flushes;
    m_tlb.flush_non_global();
    m_walker.flush_all();
  }
}

void Mmu::invlpg(VirtAddr va) {
  m_tlb.invlpg(va, pcid());
  m_walker.flush_pcid(pcid());
  if (m_guest) m_walker.nested_caches().invalidate_pcid(m_guest_ctx.vpid, m_guest_ctx.pcid);
}

uint64_t Mmu::invpcid(InvpcidType type, uint16_t pcid, VirtAddr va) {
  const uint64_t removed = m_tlb.invpcid(type, pcid, va);
  if (type == InvpcidType::IndividualAddress || type == InvpcidType::SingleContext) {
    m_walker.flush_pcid(pcid);
  } else {
    m_walker.flush_all();
  }
  if (m_guest) m_walker.nested_caches().invalidate_vpid(m_guest_ctx.vpid);  // the guest's paging-structure caches
  return removed;
}

void Mmu::flush_all() {
  m_tlb.flush_all();
  m_walker.flush_all();
  if (m_guest) m_walker.nested_caches().invalidate_vpid(m_guest_ctx.vpid);
}

}  // namespace vmsim::mmu
