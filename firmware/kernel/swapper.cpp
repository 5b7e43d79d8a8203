// The kernel's swapper (fw::Swapper): swapping and page reclaim. The reverse map of evictable pages (private anonymous
// 4 KiB frames), swap entries and the swap cache, swap-in faults that put the faulting process to sleep
// while the device reads, direct and background (kswapd) reclaim through fw::Reclaimer, the periodic
// Accessed-bit scan behind the working-set statistics, and the OOM killer.
//
// Consistency: a reclaim pass stops the other cores of every address space it touches (the first time
// it reads or changes one of its PTEs) and shoots the changed translations down when it ends, so no core
// writes a page between the check of its Dirty bits and its eviction, and no stale translation survives
// the pass. A frame is freed inside the pass only while every core that could still use it is stopped.
#include "firmware/kernel/swapper.hpp"

#include "firmware/kernel/tiering.hpp"
#include "firmware/swap/policies.hpp"

#include <algorithm>
#include <stdexcept>

namespace vmsim::fw {

// The swapper as the Reclaimer's host and the policies' window on the A/D bits, in the context (HAL)
// reclaiming now.
class Swapper::Bridge final : public ReclaimHost, public PageBits {
 public:
  explicit Bridge(Swapper& s) : m_s(s) {}
  Hal* hal = nullptr;
  uint64_t free_pages(uint32_t zone) override { return m_s.m_pmm.free_frames(static_cast<NodeId>(zone)); }
  PageKind kind_of(PageId p) override { return m_s.m_pages.at(p).kind; }
  uint64_t resident_pages(uint32_t zone, PageKind kind) override {
    return m_s.m_kind_pages.at(zone)[kind == PageKind::File];
  }
  ReclaimPageInfo page_info(PageId p) override { return m_s.page_info(*hal, p); }
  bool reserve_swap(PageId p) override { return m_s.reserve_swap(p); }
  void unmap(PageId p) override { m_s.evict_unmap(*hal, p); }
  bool dirtied_by_unmap(PageId p) override { return m_s.m_reported_dirty.erase(p) != 0; }
  void write_back(PageId p, PageKind kind) override {
    if (kind == PageKind::File) {
      m_s.file_write_back(*hal, p);
    } else {
      m_s.evict_write(*hal, p);
    }
  }
  void free_frame(PageId p) override { m_s.evict_free(*hal, p); }
  Demotion demote(uint32_t zone, PageId p) override { return m_s.demote(*hal, zone, p); }
  bool accessed(PageId p) override { return m_s.page_accessed(*hal, p, false); }
  bool test_and_clear_accessed(PageId p) override { return m_s.page_accessed(*hal, p, true); }
  bool dirty(PageId p) override { return m_s.page_dirty(*hal, p); }
  void start_writeback(PageId p) override { m_s.clean_page(*hal, p); }

 private:
  Swapper& m_s;
};

Swapper::Swapper(stats::Group& parent, const SwapperContext& ctx, SwapperHost& host)
    : m_cfg(ctx.cfg),
      m_levels(ctx.levels),
      m_user_top(ctx.user_top),
      m_core_node(ctx.core_node),
      m_pmm(ctx.pmm),
      m_procs(ctx.procs),
      m_live_mms(ctx.live_mms),
      m_pstats(ctx.pstats),
      m_segments(ctx.segments),
      m_extra_refs(ctx.extra_refs),
      m_freed(ctx.frames_freed),
      m_major(ctx.major_faults),
      m_invlpg(ctx.invlpg),
      m_file_writebacks(ctx.file_writebacks),
      m_host(host),
      m_copy_buf(kPageSize),
      m_group(parent, "swap") {
  m_kswapd_pending.assign(ctx.nodes, false);
  m_kswapd_failed.assign(ctx.nodes, false);
  m_kind_pages.assign(ctx.nodes, {0, 0});
  if (m_cfg.swap_slots > 0 || m_cfg.tiering.enabled) {
    // One replacement policy per node (its zone for reclaim), fed by faults, unmaps and A-bit reads. Memory
    // tiering reclaims (demotes) without a swap area too.
    if (m_cfg.swap_slots > 0) m_swap = std::make_unique<SwapArea>(m_cfg.swap_slots);
    std::vector<ReclaimZone> zones;
    for (NodeId n = 0; n < ctx.nodes; ++n) {
      if (m_cfg.swap.replacement.policy == ReplacementKind::Opt) {
        m_policies.push_back(make_opt_run_policy([this](PageId pfn) { return next_use(pfn); }));
      } else {
        m_policies.push_back(make_policy(m_cfg.swap.replacement));
      }
      zones.push_back(ReclaimZone{m_pmm.total_frames(n), m_policies.back().get()});
    }
    m_bridge = std::make_unique<Bridge>(*this);
    m_reclaim = std::make_unique<Reclaimer>(m_cfg.swap, zones, *m_bridge, *m_bridge);
  }
}

Swapper::~Swapper() = default;

// --- Reverse map --------------------------------------------------------------------------------------

void Swapper::rmap_add(Pfn pfn, Mm& mm, VirtAddr page, PhysAddr pte, NodeId node, uint64_t now) {
  auto [it, fresh] = m_pages.try_emplace(pfn.value());
  if (fresh) {
    it->second.node = node;
    ++m_kind_pages[node][0];
    m_policies[node]->on_map(pfn.value(), now);
  }
  it->second.maps.push_back(PageDesc::Mapping{&mm, page.value(), pte});
}

void Swapper::rmap_remove(Pfn pfn, const Mm& mm, VirtAddr page, bool dirty) {
  auto it = m_pages.find(pfn.value());
  if (it == m_pages.end()) return;
  auto& maps = it->second.maps;
  for (size_t i = 0; i < maps.size(); ++i) {
    if (maps[i].mm == &mm && maps[i].va == page.value()) {
      maps[i] = maps.back();
      maps.pop_back();
      it->second.dirty = it->second.dirty || dirty;
      return;
    }
  }
}

void Swapper::rmap_remove_mm(Pfn pfn, const Mm& mm) {
  auto it = m_pages.find(pfn.value());
  if (it == m_pages.end()) return;
  auto& maps = it->second.maps;
  for (size_t i = 0; i < maps.size(); ++i) {
    if (maps[i].mm == &mm) {
      maps[i] = maps.back();
      maps.pop_back();
      // The removed PTE's Dirty bit is not known here: a page with a swap copy is written again.
      if (m_frame_slot.count(pfn.value()) != 0) it->second.dirty = true;
      return;
    }
  }
}

uint64_t Swapper::next_use(uint64_t pfn) const {
  const PageDesc& d = m_pages.at(pfn);
  uint64_t soonest = FutureReferences::kNever;
  for (const PageDesc::Mapping& m : d.maps) {
    for (const auto& q : m_procs) {
      if (!q->alive || q->mm.get() != m.mm || q->index >= m_futures.size() || !m_futures[q->index]) continue;
      const uint64_t* done = m_pstats[q->index]->access_counts;
      const uint64_t now = done[0] + done[1];
      const uint64_t next = m_futures[q->index]->next_use(m.va >> kPageShift, now);
      if (next != FutureReferences::kNever) soonest = std::min(soonest, next - now);
    }
  }
  return soonest;
}

void Swapper::set_file_page(Pfn pfn, uint64_t seg, uint64_t index) {
  PageDesc& d = m_pages.at(pfn.value());
  if (d.kind != PageKind::File) {
    --m_kind_pages[d.node][0];
    ++m_kind_pages[d.node][1];
  }
  d.kind = PageKind::File;
  d.seg = seg;
  d.index = index;
}

std::optional<NodeId> Swapper::tracked_node(Pfn pfn) const {
  auto d = m_pages.find(pfn.value());
  if (d == m_pages.end()) return std::nullopt;
  return d->second.node;
}

void Swapper::forget(Pfn pfn) {
  m_reported_dirty.erase(pfn.value());
  auto d = m_pages.find(pfn.value());
  if (d != m_pages.end()) {
    m_policies[d->second.node]->on_unmap(pfn.value());
    --m_kind_pages[d->second.node][d->second.kind == PageKind::File];
    m_pages.erase(d);
  }
  auto fs = m_frame_slot.find(pfn.value());
  if (fs != m_frame_slot.end()) {
    m_swap->evict(fs->second);
    m_frame_slot.erase(fs);
  }
}

bool Swapper::make_exclusive(Pfn pfn) {
  auto cached = m_frame_slot.find(pfn.value());
  const bool slot_free = cached == m_frame_slot.end() || m_swap->make_exclusive(cached->second);
  if (cached != m_frame_slot.end() && slot_free) m_frame_slot.erase(cached);
  return slot_free;
}

void Swapper::move_page(uint64_t from, Pfn to, NodeId node, uint64_t now) {
  auto d = m_pages.find(from);
  if (d == m_pages.end()) return;
  PageDesc moved = std::move(d->second);
  m_pages.erase(d);
  m_policies[moved.node]->on_unmap(from);
  --m_kind_pages[moved.node][moved.kind == PageKind::File];
  ++m_kind_pages[node][moved.kind == PageKind::File];
  moved.node = node;
  m_policies[node]->on_map(to.value(), now);
  m_pages.emplace(to.value(), std::move(moved));
}

void Swapper::drop_if_unmapped(uint64_t pfn) {
  auto d = m_pages.find(pfn);
  if (d != m_pages.end() && d->second.maps.empty()) {
    m_policies[d->second.node]->on_unmap(pfn);
    --m_kind_pages[d->second.node][d->second.kind == PageKind::File];
    m_pages.erase(d);
  }
}

void Swapper::unlock_page(Pfn pfn) {
  auto d = m_pages.find(pfn.value());
  if (d != m_pages.end() && m_policies[d->second.node]->is_locked(d->first)) {
    m_policies[d->second.node]->set_locked(d->first, false);
  }
}

const std::vector<uint8_t>* Swapper::written_file_page(int file, uint64_t index) const {
  auto it = m_file_pages.find({file, index});
  return it == m_file_pages.end() ? nullptr : &it->second;
}

// --- Swap entries and swap-in -------------------------------------------------------------------------

void Swapper::release_swap_entry(Hal& hal, Mm& mm, uint64_t slot) {
  --mm.swap_pages;
  const std::optional<SwapCacheEntry> ce = m_swap->peek(slot);
  if (ce && ce->state == SwapCacheState::Reading && m_swap->ref_count(slot) == 2) {
    // The last swap entry of a page being read in for a process that is gone: nobody will map the frame.
    m_swap->read_done(slot);
    m_reading.erase(slot);
    m_swap->drop_ref(slot);
    m_swap->evict(slot);
    m_frame_slot.erase(ce->frame.value());
    hal.charge(m_cfg.costs.frame_free);
    m_pmm.free_page(hal.core_id(), ce->frame);
    ++m_freed;
    return;
  }
  m_swap->drop_ref(slot);
}

FaultOutcome Swapper::swap_in(Hal& hal, Process& p, const Vma& vma, VirtAddr va, AccessKind kind, bool may_block,
                             bool& oom) {
  Mm& mm = *p.mm;
  oom = false;
  const VirtAddr page{va.value() & ~kPageMask};
  const std::optional<PhysAddr> ea = leaf_entry(hal, mm.root, m_levels, page);
  const Pte e = ea ? Pte{hal.read64(*ea)} : Pte{0};
  if (!is_swap_entry(e)) return FaultOutcome::Retry;  // changed while this process slept
  const uint64_t slot = swap_slot_of(e);
  hal.charge(m_cfg.costs.swap_in);
  ProcStats& ps = *m_pstats[p.index];
  std::optional<SwapCacheEntry> ce = m_swap->lookup(slot);
  if (!ce) {
    // Major fault: a frame (reclaim may run to get it; it never changes swap entries), then the read.
    std::optional<Pfn> f = m_host.alloc_user_frame(hal, p, vma, page, false);
    if (!f) {
      oom = true;
      return FaultOutcome::Killed;
    }
    m_swap->begin_read(slot, *f);
    m_frame_slot[f->value()] = slot;
    uint64_t done = 0;
    if (may_block) {
      done = hal.swap_submit(false, SwapArea::offset_of(slot), m_copy_buf.data());
    } else {
      hal.swap_read(SwapArea::offset_of(slot), m_copy_buf.data());
    }
    hal.dma_write(addr_of(*f), m_copy_buf.data(), kPageSize);  // the device's DMA into the frame
    ++m_swap_ins;
    ++m_major;
    ++ps.major;
    m_reading[slot] = done;
    ce = m_swap->peek(slot);
  } else if (ce->state != SwapCacheState::Reading) {
    ++m_swap_cache_hits;
  }
  if (ce->state == SwapCacheState::Reading) {
    const uint64_t done = m_reading.at(slot);
    if (done > hal.now_ps()) {
      ++m_swap_waits;
      if (may_block) {
        p.blocked_until = done;
        p.blocked_since = hal.now_ps();
        p.blocked_page = page.value();
        return FaultOutcome::Blocked;
      }
      hal.wait_until(done);  // a system call waits in the kernel (the kernel lock held, like a page lock)
    }
    m_swap->read_done(slot);
    m_reading.erase(slot);
  }
  // Map the cached frame in place of the swap entry.
  const Pfn frame = ce->frame;
  const auto d = m_pages.find(frame.value());
  const bool mapped_elsewhere = d != m_pages.end() && !d->second.maps.empty();
  if (mapped_elsewhere) m_host.get_frame(frame);
  m_swap->drop_ref(slot);
  --mm.swap_pages;
  // Writable only if no other PTE maps the frame and no other swap entry points at the slot (else the
  // page stays shared copy-on-write). A write drops the swap copy; a read keeps it, so a clean page can
  // be evicted again without I/O (its Dirty bit says when the copy went stale).
  bool writable = false;
  if (!mapped_elsewhere && m_swap->ref_count(slot) == 1) {
    writable = true;
    if (kind == AccessKind::Write && m_swap->make_exclusive(slot)) m_frame_slot.erase(frame.value());
  }
  hal.charge(m_cfg.costs.pte_update);
  hal.write64(*ea, Pte::make(frame, leaf_flags(vma, writable) | pte_bit::kPresent).raw());
  rmap_add(frame, mm, page, *ea, m_pmm.zone_of(frame)->first, hal.memory_ops());
  ++mm.resident;
  return FaultOutcome::Retry;
}

// --- Reclaim contexts ---------------------------------------------------------------------------------

void Swapper::reclaim_begin(Hal& hal) {
  m_reclaiming = true;
  m_bridge->hal = &hal;
  m_touched.clear();
}

void Swapper::reclaim_touch(Hal& hal, Mm& mm) {
  for (const ReclaimTouch& t : m_touched) {
    if (t.mm == &mm) return;
  }
  ReclaimTouch t;
  t.mm = &mm;
  t.targets = other_cores(hal, mm);
  if (!t.targets.empty()) hal.shootdown_begin(t.targets);
  m_touched.push_back(std::move(t));
}

void Swapper::reclaim_end(Hal& hal) {
  for (const ReclaimTouch& t : m_touched) m_host.finish_shootdown(hal, t.targets, user_space(*t.mm).root, user_space(*t.mm).pcid, t.pages);
  m_touched.clear();
  m_bridge->hal = nullptr;
  m_reclaiming = false;
}

void Swapper::evict_invalidate(Hal& hal, Mm& mm, VirtAddr page) {
  if (mm.notifier != nullptr) mm.notifier->invalidate(hal, {page});
  if (mm.cpus[hal.core_id()]) {
    hal.charge(m_cfg.costs.tlb_invalidate);
    hal.invalidate_page(user_space(mm).root, user_space(mm).pcid, page);
    ++m_invlpg;
  }
  for (ReclaimTouch& t : m_touched) {
    if (t.mm == &mm && !t.targets.empty()) t.pages.push_back(page);
  }
}

bool Swapper::direct_reclaim(Hal& hal, NodeId node) {
  if (m_reclaiming || m_reclaim->pressure(node) != Reclaimer::Pressure::Direct) return true;
  ++m_direct_runs;
  reclaim_begin(hal);
  const ReclaimResult r = m_reclaim->direct(node, hal.memory_ops());
  reclaim_end(hal);
  if (r.reclaimed > 0) m_kswapd_failed[node] = false;
  return !r.exhausted;
}

void Swapper::wake_kswapd(Hal& hal, NodeId node) {
  if (m_kswapd_pending[node] || m_reclaim->pressure(node) == Reclaimer::Pressure::None) return;
  wake_kswapd_now(hal, node);
}

uint64_t Swapper::promo_watermark(NodeId node) const {
  const Reclaimer::Watermarks w = m_reclaim->watermarks(node);
  return std::min(m_pmm.total_frames(node), w.high + (w.high - w.low));
}

void Swapper::wake_kswapd_for_promotion(Hal& hal, NodeId node) {
  if (m_kswapd_pending[node] || m_pmm.free_frames(node) >= promo_watermark(node)) return;
  wake_kswapd_now(hal, node);
}

void Swapper::wake_kswapd_now(Hal& hal, NodeId node) {
  // After a run that freed nothing, kswapd sleeps until memory comes back (the node above its high
  // watermark) or a direct reclaim makes progress, as Linux's kswapd backs off after failures.
  if (m_kswapd_failed[node]) {
    if (m_pmm.free_frames(node) < m_reclaim->watermarks(node).high) return;
    m_kswapd_failed[node] = false;
  }
  m_kswapd_pending[node] = true;
  // The node's kswapd runs on the first core of that node still running, else on any core that is.
  for (CoreId c = 0; c < m_core_node.size(); ++c) {
    if (m_core_node[c] == node && hal.wake_background(c)) return;
  }
  for (CoreId c = 0; c < m_core_node.size(); ++c) {
    if (hal.wake_background(c)) return;
  }
  m_kswapd_pending[node] = false;
}

void Swapper::run_background(Hal& hal) {
  for (NodeId n = 0; n < m_kswapd_pending.size(); ++n) {
    if (!m_kswapd_pending[n]) continue;
    m_kswapd_pending[n] = false;
    ++m_kswapd_runs;
    reclaim_begin(hal);
    // With tiering, kswapd balances a node with a demotion target to its promotion watermark, leaving room
    // for promotions (Linux's kswapd uses WMARK_PROMO in NUMA_BALANCING_MEMORY_TIERING mode).
    const bool promo = m_tiering != nullptr && m_tiering->demotion_target(n).has_value();
    const ReclaimResult r = promo ? m_reclaim->background_to(n, promo_watermark(n), hal.memory_ops())
                                  : m_reclaim->background(n, hal.memory_ops());
    reclaim_end(hal);
    m_kswapd_failed[n] = r.reclaimed == 0;
  }
  maybe_scan(hal);
}

// --- The Reclaimer's host and the policies' A/D bits ---------------------------------------------------

ReclaimPageInfo Swapper::page_info(Hal& hal, uint64_t pfn) {
  hal.charge(m_cfg.costs.reclaim_scan);
  const PageDesc& d = m_pages.at(pfn);
  ReclaimPageInfo info;
  info.kind = d.kind;
  for (const PageDesc::Mapping& m : d.maps) {
    const Vma* v = m.mm->vmas.find(VirtAddr{m.va});
    if (v != nullptr && v->locked) info.locked = true;
  }
  info.backed = d.kind == PageKind::File || m_frame_slot.count(pfn) != 0;  // a file page has its file
  // Read with the address spaces' other cores stopped: nothing can dirty the page before it is unmapped.
  if (!info.locked) info.dirty = page_dirty(hal, pfn);
  return info;
}

bool Swapper::page_dirty(Hal& hal, uint64_t pfn) {
  const PageDesc& d = m_pages.at(pfn);
  if (d.dirty) return true;
  if (d.kind == PageKind::File && m_segments.at(d.seg)->dirty[d.index]) return true;
  for (const PageDesc::Mapping& m : d.maps) {
    // A VM process's page is written through the EPT (firmware/hv), whose dirty flag is the page's.
    if (m.mm->notifier != nullptr && m.mm->notifier->test_dirty(hal, VirtAddr{m.va})) return true;
    reclaim_touch(hal, *m.mm);
    if (Pte{hal.read64(m.pte)}.dirty()) return true;
  }
  return false;
}

bool Swapper::page_accessed(Hal& hal, uint64_t pfn, bool clear) {
  PageDesc& d = m_pages.at(pfn);
  bool a = d.referenced;
  if (clear) d.referenced = false;
  for (const PageDesc::Mapping& m : d.maps) {
    if (a && !clear) break;
    // Clearing A needs the address space's cores stopped (a walker's A/D update must not be lost) and
    // the translation dropped, or a TLB hit would never set A again.
    if (m.mm->notifier != nullptr) {
      // A VM process's page (firmware/hv): only the guest uses it, through the EPT, whose accessed flag is
      // the page's; no core caches the VM process's own translations, so clearing needs no invalidation.
      const bool young = m.mm->notifier->test_young(hal, VirtAddr{m.va}, clear);
      const Pte e{hal.read64(m.pte)};
      if (clear && e.accessed()) {
        hal.charge(m_cfg.costs.pte_update);
        hal.write64(m.pte, e.raw() & ~pte_bit::kAccessed);
      }
      a = a || young || e.accessed();
      continue;
    }
    if (clear) reclaim_touch(hal, *m.mm);
    const Pte e{hal.read64(m.pte)};
    if (!e.accessed()) continue;
    a = true;
    if (clear) {
      hal.charge(m_cfg.costs.pte_update);
      hal.write64(m.pte, e.raw() & ~pte_bit::kAccessed);
      evict_invalidate(hal, *m.mm, VirtAddr{m.va});
    }
  }
  return a;
}

bool Swapper::reserve_swap(uint64_t pfn) {
  if (!m_swap) return false;  // tiering without a swap area: anonymous pages stay
  const std::optional<SwapSlot> s = m_swap->begin_writeout(Pfn{pfn});
  if (!s) return false;
  m_frame_slot[pfn] = *s;
  m_slots_peak = std::max(m_slots_peak, m_swap->slots().used());
  return true;
}

void Swapper::evict_unmap(Hal& hal, uint64_t pfn) {
  hal.charge(m_cfg.costs.swap_out);
  PageDesc& d = m_pages.at(pfn);
  const bool file = d.kind == PageKind::File;
  const uint64_t slot = file ? 0 : m_frame_slot.at(pfn);
  for (const PageDesc::Mapping& m : d.maps) {
    reclaim_touch(hal, *m.mm);
    const Pte e{hal.read64(m.pte)};
    if (e.pfn().value() != pfn || !(e.present() || (e.raw() & kSoftProtNone))) {
      throw std::logic_error("kernel: reverse map of frame " + std::to_string(pfn) + " names " + format_hex(m.va) +
                             ", whose entry does not map it");
    }
    d.dirty = d.dirty || e.dirty();
    hal.charge(m_cfg.costs.pte_update);
    if (file) {
      hal.write64(m.pte, 0);  // a later fault reads the page back through the page cache
    } else {
      hal.write64(m.pte, swap_entry(slot));
      m_swap->add_ref(slot);
      ++m.mm->swap_pages;
    }
    --m.mm->resident;
    evict_invalidate(hal, *m.mm, VirtAddr{m.va});
  }
  d.maps.clear();
  m_extra_refs.erase(pfn);
}

void Swapper::evict_write(Hal& hal, uint64_t pfn) {
  const uint64_t slot = m_frame_slot.at(pfn);
  hal.dma_read(addr_of(Pfn{pfn}), m_copy_buf.data(), kPageSize);  // the device's DMA out of the frame
  // Asynchronous, as Linux's pageout: the request occupies the device (later reads queue behind it); the
  // reclaiming context goes on.
  hal.swap_submit(true, SwapArea::offset_of(slot), m_copy_buf.data());
  if (m_swap->peek(slot)->state == SwapCacheState::Writing) m_swap->writeout_done(slot);
  m_pages.at(pfn).dirty = false;
  m_reported_dirty.erase(pfn);
  ++m_swap_outs;
}

void Swapper::clean_page(Hal& hal, uint64_t pfn) {
  if (m_frame_slot.count(pfn) == 0 && !reserve_swap(pfn)) return;  // swap full: the page stays dirty
  // The Dirty bits go first (the cores stopped, the translations dropped, so a later write sets D again),
  // then the contents are written to the page's slot.
  PageDesc& d = m_pages.at(pfn);
  for (const PageDesc::Mapping& m : d.maps) {
    // A VM process's page: its EPT translation goes (so the guest's next write makes it dirty again).
    if (m.mm->notifier != nullptr && m.mm->notifier->test_dirty(hal, VirtAddr{m.va})) {
      m.mm->notifier->invalidate(hal, {VirtAddr{m.va}});
    }
    reclaim_touch(hal, *m.mm);
    const Pte e{hal.read64(m.pte)};
    if (!e.dirty()) continue;
    hal.charge(m_cfg.costs.pte_update);
    hal.write64(m.pte, e.raw() & ~pte_bit::kDirty);
    evict_invalidate(hal, *m.mm, VirtAddr{m.va});
  }
  d.dirty = false;
  evict_write(hal, pfn);
}

void Swapper::file_write_back(Hal& hal, uint64_t pfn) {
  PageDesc& d = m_pages.at(pfn);
  Segment& seg = *m_segments.at(d.seg);
  store_file_page(hal, seg.file, d.index, Pfn{pfn});
  seg.dirty[d.index] = false;
  d.dirty = false;
}

void Swapper::store_file_page(Hal& hal, int file, uint64_t index, Pfn frame) {
  hal.dma_read(addr_of(frame), m_copy_buf.data(), kPageSize);  // the device's DMA out of the frame
  hal.charge(m_cfg.costs.file_write);
  m_file_pages[{file, index}].assign(m_copy_buf.begin(), m_copy_buf.end());
  ++m_file_writebacks;
}

void Swapper::mark_dirty(Pfn pfn) {
  auto d = m_pages.find(pfn.value());
  if (d == m_pages.end()) return;
  d->second.dirty = true;
  m_reported_dirty.insert(pfn.value());
}

void Swapper::file_page_cleaned(Pfn frame) {
  auto d = m_pages.find(frame.value());
  if (d != m_pages.end()) d->second.dirty = false;
}

void Swapper::evict_free(Hal& hal, uint64_t pfn) {
  m_reported_dirty.erase(pfn);
  auto fs = m_frame_slot.find(pfn);
  if (fs != m_frame_slot.end()) {
    m_swap->evict(fs->second);
    m_frame_slot.erase(fs);
  }
  const PageDesc& d = m_pages.at(pfn);
  if (d.kind == PageKind::File) {
    Segment& seg = *m_segments.at(d.seg);
    seg.frames[d.index] = 0;  // out of the page cache
    seg.dirty[d.index] = false;
  }
  --m_kind_pages[d.node][d.kind == PageKind::File];
  m_pages.erase(pfn);
  hal.charge(m_cfg.costs.frame_free);
  m_pmm.free_page(hal.core_id(), Pfn{pfn});
  ++m_freed;
}

// --- Demotion (memory tiering) ------------------------------------------------------------------------

ReclaimHost::Demotion Swapper::demote(Hal& hal, uint32_t zone, uint64_t pfn) {
  const std::optional<NodeId> to = m_tiering ? m_tiering->demotion_target(static_cast<NodeId>(zone)) : std::nullopt;
  if (!to) return ReclaimHost::Demotion::NoTarget;
  // A page in the swap cache has a slot that names its frame; reclaim drops or writes it the ordinary way.
  if (m_frame_slot.count(pfn) != 0) {
    m_tiering->demote_failed();
    return ReclaimHost::Demotion::Failed;
  }
  const uint64_t t0 = hal.now_ps();
  const KernelCosts& costs = m_cfg.costs;
  hal.charge(costs.frame_alloc);
  // The target only and without reclaim (Linux's alloc_demote_folio: __GFP_THISNODE, no direct reclaim), and
  // never below its min watermark: a short target leaves the page to swap (or to stay).
  std::optional<PageAlloc> a;
  if (m_pmm.free_frames(*to) > m_reclaim->watermarks(*to).min) a = m_pmm.alloc_page(hal.core_id(), Gfp::Atomic, {*to});
  if (!a) {
    m_tiering->demote_failed();
    return ReclaimHost::Demotion::Failed;
  }
  PageDesc& d = m_pages.at(pfn);
  // Every address space mapping the page stops (the first reclaim_touch of each) before the copy, so no write
  // lands in the old frame after it.
  for (const PageDesc::Mapping& m : d.maps) reclaim_touch(hal, *m.mm);
  hal.charge(costs.migrate_page);
  hal.read_block(addr_of(Pfn{pfn}), m_copy_buf.data(), kPageSize);
  hal.write_block(addr_of(a->pfn), m_copy_buf.data(), kPageSize);
  for (const PageDesc::Mapping& m : d.maps) {
    const Pte e{hal.read64(m.pte)};
    if (e.pfn().value() != pfn || !(e.present() || (e.raw() & kSoftProtNone))) {
      throw std::logic_error("kernel: reverse map of frame " + std::to_string(pfn) + " names " + format_hex(m.va) +
                             ", whose entry does not map it");
    }
    hal.charge(costs.pte_update);
    hal.write64(m.pte, Pte::make(a->pfn, e.raw() & ~pte_bit::kPfnMask).raw());
    // A NUMA hint entry is in no TLB; a present one is dropped here and shot down when the pass ends.
    if (e.present()) evict_invalidate(hal, *m.mm, VirtAddr{m.va});
  }
  if (d.kind == PageKind::File) m_segments.at(d.seg)->frames[d.index] = a->pfn.value() + 1;  // the page cache
  auto refs = m_extra_refs.find(pfn);
  if (refs != m_extra_refs.end()) {
    m_extra_refs[a->pfn.value()] = refs->second;
    m_extra_refs.erase(pfn);
  }
  move_page(pfn, a->pfn, *to, hal.memory_ops());
  m_host.release_moved_frame(hal, Pfn{pfn});
  m_tiering->demoted(hal.now_ps() - t0);
  // The target may now need reclaim of its own (to swap, or nothing to do without one).
  if (m_reclaim->pressure(*to) != Reclaimer::Pressure::None) wake_kswapd(hal, *to);
  return ReclaimHost::Demotion::Demoted;
}

// --- Accessed-bit scan --------------------------------------------------------------------------------

void Swapper::maybe_scan(Hal& hal) {
  const uint64_t period = m_cfg.swap.scan_period;
  if (period == 0 || !m_reclaim || m_reclaiming) return;
  const uint64_t now = hal.memory_ops();
  if (now < m_last_scan + period) return;
  m_last_scan = now - now % period;  // the timer's period boundary
  ++m_scans;
  // Every address space's leaf tables are read whole (one 4 KiB read each); each page found accessed is
  // remembered (the soft A flag the policies see) and its A bit cleared, with its translation dropped.
  reclaim_begin(hal);
  std::unordered_map<const Mm*, std::vector<PageId>> referenced;
  for (Mm* mm : m_live_mms) {
    reclaim_touch(hal, *mm);
    std::vector<VirtAddr> cleared;
    for_each_leaf(hal, mm->root, m_levels, VirtAddr{0}, VirtAddr{m_user_top},
                  [&](VirtAddr va, PhysAddr, Pte e) -> std::optional<uint64_t> {
                    // A VM process's page: the EPT's accessed flag (cleared there, nothing to invalidate).
                    const bool young = mm->notifier != nullptr && mm->notifier->test_young(hal, va, true);
                    if (!e.accessed() && !young) return std::nullopt;
                    referenced[mm].push_back(va.value() >> kPageShift);
                    auto d = m_pages.find(e.pfn().value());
                    if (d != m_pages.end()) d->second.referenced = true;
                    if (!e.accessed()) return std::nullopt;
                    if (mm->notifier == nullptr) cleared.push_back(va);
                    hal.charge(m_cfg.costs.pte_update);
                    return e.raw() & ~pte_bit::kAccessed;
                  });
    for (VirtAddr va : cleared) evict_invalidate(hal, *mm, va);
  }
  for (auto& pol : m_policies) pol->sample(*m_bridge, now);
  reclaim_end(hal);
  static const std::vector<PageId> kNone;
  for (const auto& q : m_procs) {
    if (!q->alive) continue;
    auto r = referenced.find(q->mm.get());
    m_pstats[q->index]->ws->sample(r == referenced.end() ? kNone : r->second, now);
  }
}

// --- OOM killer ---------------------------------------------------------------------------------------

bool Swapper::oom_kill(Hal& hal, Process& p, VirtAddr va, AccessKind kind, uint32_t error_code, bool& killed_self) {
  killed_self = false;
  // An allocation bound to some nodes gains nothing from other processes' memory elsewhere: it fails.
  if (p.policy.kind == NumaPolicyKind::Bind) return false;
  std::vector<OomCandidate> candidates;
  for (const auto& q : m_procs) {
    if (!q->alive) continue;
    OomCandidate c;
    c.pid = q->pid;
    c.name = q->name;
    c.resident_pages = q->mm->resident;
    c.locked_pages = std::min(q->mm->locked_pages, q->mm->resident);
    c.swap_pages = q->mm->swap_pages;
    candidates.push_back(c);
  }
  const std::optional<OomReport> r =
      choose_oom_victim(candidates, m_swap ? "out of memory and swap" : "out of memory");
  if (!r) return false;
  const std::shared_ptr<Mm> victim = m_procs.at(r->pid - 1)->mm;
  // The victim's whole thread group goes (they share its memory): the kill (fw::Faults::kill) takes the
  // other threads along, each with its own report.
  Process* first = nullptr;
  for (const auto& q : m_procs) {
    if (!q->alive || q->mm != victim) continue;
    killed_self = killed_self || q.get() == &p;
    if (first == nullptr) first = q.get();
    ++m_oom_kills;
  }
  if (killed_self) {
    m_host.kill(hal, p, va, kind, error_code, r->reason, "SIGKILL");
  } else {
    m_host.kill(hal, *first, VirtAddr{0}, AccessKind::Read, 0, r->reason, "SIGKILL");
  }
  return !killed_self;
}

}  // namespace vmsim::fw
