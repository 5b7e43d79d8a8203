// Automatic NUMA balancing: the hint scan, hint faults with the two-fault filter, rate-limited page
// migration.
#include "firmware/kernel/numa_balancing.hpp"

#include <algorithm>

#include "firmware/kernel/tiering.hpp"
#include "firmware/vm/page_table.hpp"
#include "common/pte.hpp"

namespace vmsim::fw {

NumaBalancer::NumaBalancer(stats::Group& parent, const NumaBalancingContext& ctx, NumaBalancingHost& host)
    : m_ctx(ctx),
      m_host(host),
      m_copy_buf(kPageSize),
      m_group(parent, "numa_balancing"),
      m_migrate_cycles(m_group, "migrate_cycles", "core cycles",
                       "Time the faulting cores spent migrating pages: frame allocation, the 4 KiB copy through the "
                       "HAL, the PTE write and freeing the old frame (0 in the functional mode)",
                       [this] {
                         return static_cast<uint64_t>(static_cast<long double>(m_migrate_ps) *
                                                      static_cast<long double>(m_ctx.cfg.core_hz) / 1e12L);
                       }) {}

void NumaBalancer::scan(Hal& hal) {
  m_scan_pending = false;
  ++m_scans;
  // (A copy: the list does not change during a scan, which neither creates nor ends address spaces.)
  const std::vector<Mm*> mms = m_ctx.live_mms;
  for (Mm* mm : mms) scan_mm(hal, *mm);
}

void NumaBalancer::scan_mm(Hal& hal, Mm& mm) {
  const KernelCosts& costs = m_ctx.cfg.costs;
  uint64_t left = m_ctx.cfg.numa_balancing.scan_size.value;
  uint64_t cur = mm.numa_scan_next;
  // The address space's other cores stop while its entries change (as for any PTE change).
  const std::vector<CoreId> targets = other_cores(hal, mm);
  if (!targets.empty()) hal.shootdown_begin(targets);
  std::vector<VirtAddr> pages;
  bool reached_end = true;
  for (const auto& [start, v] : mm.vmas) {
    if (v.end.value() <= cur) continue;
    if (left == 0) {
      reached_end = false;
      break;
    }
    const uint64_t lo = std::max(cur, v.start.value());
    const uint64_t hi = std::min(v.end.value(), lo + left);
    // Private anonymous memory the process may touch; shared segments and page caches stay where they are.
    if (v.prot != 0 && v.shm == 0) {
      for_each_leaf(hal, mm.root, m_ctx.levels, VirtAddr{lo}, VirtAddr{hi}, [&](VirtAddr va, PhysAddr, Pte e) {
        if (!e.present()) return std::optional<uint64_t>();  // a hint entry already (or PROT_NONE)
        if (m_ctx.tiering != nullptr) {
          // Tiering: slow-tier pages remember when they were hinted (their hint-fault latency counts from
          // here); with NUMA balancing itself off, fast-tier pages are not hinted at all (Linux's tiering mode).
          const auto zone = m_ctx.pmm.zone_of(e.pfn());
          const bool slow = zone && m_ctx.tiering->slow(zone->first);
          if (slow) m_ctx.tiering->note_scan(e.pfn(), hal.now_ps());
          if (!slow && !m_ctx.cfg.numa_balancing.enabled) return std::optional<uint64_t>();
        }
        hal.charge(costs.pte_update);
        ++m_ptes;
        pages.push_back(va);
        return std::optional<uint64_t>((e.raw() & ~pte_bit::kPresent) | kSoftProtNone);
      });
    }
    left -= hi - lo;
    cur = hi;
    if (hi < v.end.value()) {
      reached_end = false;
      break;
    }
  }
  // The next scan goes on from here; past the last area it starts over (Linux resets its scan offset).
  mm.numa_scan_next = reached_end ? 0 : cur;
  const bool flush_all = pages.size() > kFlushCeiling;
  if (flush_all) {
    hal.charge(costs.tlb_invalidate);
    hal.invalidate_space(user_space(mm).root, user_space(mm).pcid);
  } else {
    for (VirtAddr va : pages) {
      hal.charge(costs.tlb_invalidate);
      hal.invalidate_page(user_space(mm).root, user_space(mm).pcid, va);
      ++m_ctx.invlpg;
    }
  }
  if (mm.notifier != nullptr && !pages.empty()) mm.notifier->invalidate(hal, pages);
  if (!targets.empty()) m_host.finish_shootdown(hal, targets, mm, pages, flush_all);
}

bool NumaBalancer::rate_allows(uint64_t now_ps) {
  return m_rate.allows(m_ctx.cfg.numa_balancing.rate_limit_mbps, now_ps);
}

bool NumaBalancer::hint_fault(Hal& hal, Process& p, VirtAddr va, AccessKind kind) {
  Mm& mm = *p.mm;
  const Vma* vma = mm.vmas.find(va);
  if (vma == nullptr || vma->prot == 0 || !vma->allows(kind)) return false;
  const VirtAddr page{va.value() & ~kPageMask};
  const std::optional<PhysAddr> ea = leaf_entry(hal, mm.root, m_ctx.levels, page);
  if (!ea) return false;
  const Pte e{hal.read64(*ea)};
  if (e.present() || !(e.raw() & kSoftProtNone) || e.huge() || e.pfn().value() == 0) return false;
  const KernelCosts& costs = m_ctx.cfg.costs;
  hal.charge(costs.fault_entry + costs.vma_lookup);
  ++m_hint;
  const NodeId here = m_ctx.core_node[hal.core_id()];
  const Pfn pfn = e.pfn();
  const auto zone = m_ctx.pmm.zone_of(pfn);
  const NodeId node = zone ? zone->first : here;
  ++(node == here ? m_hint_local : m_hint_remote);
  // Two-fault filter (Linux's should_numa_migrate_memory): migrate only when the previous hint fault on
  // this page came from the same node as this one, so a page that several nodes share stays put.
  NodeId& last = m_last_node.try_emplace(pfn.value(), kNoNode).first->second;
  const NodeId previous = last;
  last = here;
  // Only pages without a memory policy of their own move (the area's, else the process's, is local), as
  // Linux's mpol_misplaced migrates only under the default policy: pages that bind, preferred or interleave
  // placed stay where the policy put them.
  const NumaPolicyKind policy = vma->policy.kind != NumaPolicyKind::Default ? vma->policy.kind : p.policy.kind;
  const bool may_move = policy == NumaPolicyKind::Default || policy == NumaPolicyKind::Local;
  Tiering* tiering = m_ctx.tiering;
  if (!may_move) {
    // The entry is made present again below.
  } else if (tiering != nullptr && tiering->slow(node) && !tiering->slow(tiering->promotion_node(here))) {
    // Memory tiering: a slow-tier page goes up to the toucher's fast node if it is hot (no two-fault filter,
    // as Linux's tiering mode returns before it).
    if (promote(hal, *vma, *ea, e, tiering->promotion_node(here))) return true;
  } else if (m_ctx.cfg.numa_balancing.enabled && node != here && previous == here) {
    const bool movable = vma->shm == 0 && m_host.frame_refs(pfn) == 1 && m_ctx.swapper.swap_cache().count(pfn.value()) == 0;
    if (!movable) {
      ++m_refused;
    } else if (!rate_allows(hal.now_ps())) {
      ++m_rate_limited;
    } else {
      const uint64_t t0 = hal.now_ps();
      const std::optional<Pfn> to = migrate(hal, *ea, e, here);
      m_migrate_ps += hal.now_ps() - t0;
      ++(to ? m_migrated : m_failed);
      if (to) return true;
    }
  }
  // The page stays: its entry becomes present again (the kernel's work on it, the write timed).
  hal.charge(costs.pte_update);
  hal.write64(*ea, (e.raw() | pte_bit::kPresent) & ~kSoftProtNone);
  return true;
}

bool NumaBalancer::has_room(NodeId node) const {
  return !m_ctx.swapper.enabled() || m_ctx.pmm.free_frames(node) > m_ctx.swapper.high_watermark(node) + 1;
}

bool NumaBalancer::promote(Hal& hal, const Vma& vma, PhysAddr pte, Pte e, NodeId to) {
  Tiering& t = *m_ctx.tiering;
  const Pfn pfn = e.pfn();
  const uint64_t now = hal.now_ps();
  if (!t.hot(pfn, now) || !t.promote_rate_allows(now)) return false;
  if (vma.shm != 0 || m_host.frame_refs(pfn) != 1 || m_ctx.swapper.swap_cache().count(pfn.value()) != 0) {
    t.promote_refused();
    return false;
  }
  if (!has_room(to)) {
    // Linux's numamigrate_isolate_folio in tiering mode: no room above the high watermark wakes the node's
    // kswapd, which demotes until the promotion watermark; this page stays for now.
    t.watermark_refused();
    m_ctx.swapper.wake_kswapd_for_promotion(hal, to);
    return false;
  }
  const std::optional<Pfn> moved = migrate(hal, pte, e, to);
  if (!moved) {
    t.promote_failed();
    return false;
  }
  t.promoted(hal.now_ps() - now);
  return true;
}

std::optional<Pfn> NumaBalancer::migrate(Hal& hal, PhysAddr pte, Pte e, NodeId node) {
  const KernelCosts& costs = m_ctx.cfg.costs;
  hal.charge(costs.frame_alloc);
  // The target node only (Linux's __GFP_THISNODE), without reclaim: a full node is a failed migration.
  std::optional<PageAlloc> a = has_room(node) ? m_ctx.pmm.alloc_page(hal.core_id(), Gfp::Atomic, {node}) : std::nullopt;
  if (!a) return std::nullopt;
  const Pfn from = e.pfn();
  hal.charge(costs.migrate_page);
  hal.read_block(addr_of(from), m_copy_buf.data(), kPageSize);
  hal.write_block(addr_of(a->pfn), m_copy_buf.data(), kPageSize);
  // The hint entry was in no TLB (x86 caches no not-present entry, and the scan shot the old translation
  // down), so the new one needs no invalidation.
  hal.charge(costs.pte_update);
  hal.write64(pte, Pte::make(a->pfn, (e.raw() & ~pte_bit::kPfnMask & ~kSoftProtNone) | pte_bit::kPresent).raw());
  if (m_ctx.swapper.enabled()) m_ctx.swapper.move_page(from.value(), a->pfn, node, hal.memory_ops());
  const NodeId last = m_last_node[from.value()];
  m_host.put_frame(hal, from);  // forgets the old frame's record
  m_last_node[a->pfn.value()] = last;
  return a->pfn;
}

}  // namespace vmsim::fw
