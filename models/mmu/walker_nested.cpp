// Hardware page walker, nested paging: the two-dimensional walk over TLM and its statistics.
#include "models/mmu/walker.hpp"

namespace vmsim::mmu {

// Statistics of guest-mode walks (walker.nested.*): created by enable_nested, so they appear only in runs
// that enter guest mode.
struct Walker::NestedStats {
  explicit NestedStats(stats::Group& parent, uint64_t period_fs) : period(period_fs), group(parent, "nested") {}
  uint64_t period;
  uint64_t fs_guest = 0;  // time of guest-dimension references (steps, memory, A/D writes)
  uint64_t fs_ept = 0;    // time of EPT-dimension references
  stats::Group group;
  stats::Scalar walks{group, "walks", "count", "Two-dimensional walks (guest mode)"};
  stats::Scalar references{group, "references", "count",
                           "Memory references of 2D walks (guest_reads + ept_reads; 24 for 4/4 levels without caches)"};
  stats::Scalar guest_reads{group, "guest_reads", "count", "Guest paging-structure entries read"};
  stats::Scalar ept_reads{group, "ept_reads", "count", "EPT paging-structure entries read"};
  stats::Scalar guest_ad{group, "guest_ad_writes", "count", "Guest entries written back to set Accessed or Dirty"};
  stats::Scalar ept_ad{group, "ept_ad_writes", "count",
                       "EPT entries written back to set Accessed or Dirty (EPTP enables EPT A/D)"};
  stats::Scalar translations{group, "ept_translations", "count",
                             "Guest-physical addresses translated through EPT (guest tables and final addresses)"};
  stats::Scalar ntlb_hits{group, "nested_tlb_hits", "count", "EPT translations answered by the nested TLB"};
  stats::Scalar ept_pwc_hits{group, "ept_pwc_hits", "count",
                             "EPT walks resumed from the EPT page-walk cache (after a nested-TLB miss)"};
  stats::Scalar guest_pwc_hits{group, "guest_pwc_hits", "count",
                               "2D walks resumed from the guest-dimension page-walk cache"};
  stats::Scalar guest_faults{group, "guest_faults", "count", "2D walks that ended in a guest page fault"};
  stats::Scalar violations{group, "ept_violations", "count", "2D walks that ended in an EPT violation"};
  stats::Scalar misconfigs{group, "ept_misconfigs", "count", "2D walks that ended in an EPT misconfiguration"};
  stats::Histogram per_walk{group, "references_per_walk", "references", "Memory references of one 2D walk", 1, 36};
  stats::Formula mean{group, "references_per_walk_mean", "references", "Average memory references per 2D walk", [this] {
    return walks.value() ? static_cast<double>(references.value()) / static_cast<double>(walks.value()) : 0.0;
  }};
  stats::Group time{group, "time"};
  stats::Counter t_guest{time, "guest", "core cycles",
                         "Cycles of guest-dimension references (walker steps, reads and A/D write-backs)",
                         [this] { return fs_guest / period; }};
  stats::Counter t_ept{time, "ept", "core cycles", "Cycles of EPT-dimension references (steps, reads, write-backs)",
                       [this] { return fs_ept / period; }};
};

void Walker::NestedStatsDeleter::operator()(NestedStats* s) const { delete s; }

void Walker::enable_nested(const NestedCacheSizes& sizes) {
  if (m_nested) return;
  m_nested = std::make_unique<NestedCaches>(sizes);
  m_nested_stats.reset(new NestedStats(m_stats, m_period_fs));
}

NestedResult Walker::walk_nested(Slot& slot, const NestedContext& ctx, const WalkRequest& req,
                                 sc_core::sc_time& delay) {
  NestedStats& st = *m_nested_stats;
  // The slot may last have served a supervisor walk (the host kernel's direct map): this walk's time is the
  // workload's (or, for a supervisor access, the kernel's) as in walk().
  slot.supervisor = !req.user;
  if (slot.supervisor) ++m_supervisor_walks;
  ++m_walks;
  ++st.walks;
  const sc_core::sc_time start = sc_core::sc_time_stamp() + delay;
  if (m_timed) {
    delay += m_pwc_time;
    (slot.supervisor ? m_fs_supervisor : m_fs_pwc) += m_pwc_time.value();
  }
  NestedWalk w(ctx, req, m_nested.get());
  while (!w.done()) {
    const NestedRef ref = w.next();
    m_level = ref.level;
    const uint64_t before = m_fs_memory + m_fs_steps;
    const uint64_t value = read_pte(slot, ref.hpa, delay);
    w.feed(value);
    if (w.has_write()) write_pte(slot, w.write_addr(), w.write_value(), delay);
    (ref.dim == NestedDim::Guest ? st.fs_guest : st.fs_ept) += m_fs_memory + m_fs_steps - before;
  }
  const NestedResult& r = w.result();
  st.references += r.references();
  st.guest_reads += r.guest_reads;
  st.ept_reads += r.ept_reads;
  st.guest_ad += r.guest_ad_writes;
  st.ept_ad += r.ept_ad_writes;
  st.translations += r.ept_translations;
  st.ntlb_hits += r.ntlb_hits;
  st.ept_pwc_hits += r.ept_pwc_hits;
  st.guest_pwc_hits += r.guest_pwc_level != 0 ? 1 : 0;
  st.per_walk.sample(r.references());
  switch (r.outcome) {
    case NestedOutcome::Success: break;
    case NestedOutcome::GuestFault:
      ++st.guest_faults;
      ++m_faults;
      break;
    case NestedOutcome::EptViolation: ++st.violations; break;
    case NestedOutcome::EptMisconfig: ++st.misconfigs; break;
  }
  if (m_timed) m_latency.sample(static_cast<uint64_t>((sc_core::sc_time_stamp() + delay - start) / m_core_period));
  return r;
}

}  // namespace vmsim::mmu
