// The kernel's huge pages (fw::HugePages): 2 MiB transparent pages, the 1 GiB pool, splitting and
// collapsing them, copy-on-write of 1 GiB pages, and direct compaction.
#include "firmware/kernel/huge_pages.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "firmware/kernel/kernel_config.hpp"
#include "firmware/kernel/swapper.hpp"
#include "common/hashed_pt.hpp"

namespace vmsim::fw {

HugePages::HugePages(stats::Group& faults, unsigned levels, uint64_t user_top)
    : m_levels(levels), m_user_top(user_top), m_copy_buf(kPageSize), m_group(faults) {}

HugePages::~HugePages() = default;

void HugePages::reserve_pool(std::vector<NodeRange>& usable, uint64_t count) {
  // The 1 GiB pool: aligned gigabytes taken from the top of the nodes (highest node first).
  for (uint64_t k = 0; k < count; ++k) {
    bool got = false;
    for (size_t n = usable.size(); n-- > 0 && !got;) {
      const uint64_t base = usable[n].base.value(), end = base + usable[n].frames;
      const uint64_t top = end & ~(kGigaFrames - 1);
      if (top >= kGigaFrames && top - kGigaFrames >= base && (top - kGigaFrames) - base >= 4096) {
        m_giga_free.emplace_back(top - kGigaFrames, static_cast<NodeId>(n));
        usable[n].frames = top - kGigaFrames - base;
        got = true;
      }
    }
    if (!got) {
      throw InputError("firmware.hugepages_1g: bad value '" + std::to_string(count) +
                       "' (no node has room for " + std::to_string(k + 1) +
                       " aligned 1GiB pages and 16MiB more)");
    }
  }
  m_giga_total = m_giga_free.size();
  m_giga_all = m_giga_free;
}

void HugePages::connect(const HugePagesContext& ctx, HugePagesHost& host) {
  m_ctx = std::make_unique<HugePagesContext>(ctx);
  m_host = &host;
}

bool HugePages::try_fault(Hal& hal, Process& p, const Vma& vma, VirtAddr page) {
  if (vma.huge_1g && vma.shm == 0 && vma.prot != 0) {
    const uint64_t base = page.value() & ~(kGigaBytes - 1);
    if (base >= vma.start.value() && base + kGigaBytes <= vma.end.value() &&
        fault_in_giga(hal, p, vma, VirtAddr{base})) {
      return true;
    }
    ++m_giga_fallbacks;
  }
  if (vma.huge && vma.shm == 0 && vma.prot != 0) {
    // Transparent huge page: the whole aligned 2 MiB around va if the area covers it.
    const uint64_t base = page.value() & ~(kHugeBytes - 1);
    if (base >= vma.start.value() && base + kHugeBytes <= vma.end.value()) {
      if (fault_in_huge(hal, p, vma, VirtAddr{base})) return true;
    } else {
      ++m_thp_fallbacks;
    }
  }
  return false;
}

bool HugePages::put_split_frame(Hal& hal, Pfn pfn) {
  auto head = m_split_heads.find(pfn.value() & ~uint64_t{kHugeFrames - 1});
  if (head == m_split_heads.end()) return false;
  // A frame of a split 2 MiB block: the block goes back when its last frame does.
  if (--head->second == 0) {
    hal.charge(m_ctx->cfg.costs.frame_free);
    m_ctx->pmm.free(Pfn{head->first}, kHugeOrder);
    m_ctx->frames_freed += kHugeFrames;
    m_split_heads.erase(head);
  }
  return true;
}

bool HugePages::split_range(Hal& hal, Mm& mm, VirtAddr start, VirtAddr end) {
  for (VirtAddr va : huge_leaves(hal, mm.root, m_levels, start, end)) {
    std::optional<PhysAddr> ea = leaf_entry(hal, mm.root, m_levels, va);
    const uint64_t head = Pte{hal.read64(*ea)}.pfn().value();
    if (!split_huge(hal, mm.root, m_levels, va, [&]() { return m_host->alloc_table_frame(hal, mm); })) return false;
    hal.charge(m_ctx->cfg.costs.pte_update * kHugeFrames);
    m_split_heads[head] = static_cast<uint32_t>(kHugeFrames);
    ++m_thp_splits;
    m_host->invalidate(hal, mm, {va});  // INVLPG of any address drops the whole 2 MiB entry
  }
  return true;
}

std::optional<size_t> HugePages::pick_giga(Hal& hal, const Process& p, const Vma& vma) const {
  if (m_giga_free.empty()) return std::nullopt;
  // The pool page on the policy's first node if there is one, else any.
  const NumaPolicy& pol = vma.policy.kind != NumaPolicyKind::Default ? vma.policy : p.policy;
  const NodeId want = (pol.kind == NumaPolicyKind::Default || pol.kind == NumaPolicyKind::Local)
                          ? m_ctx->core_node[hal.core_id()]
                          : pol.nodes.front();
  size_t pick = 0;
  for (size_t i = 0; i < m_giga_free.size(); ++i) {
    if (m_giga_free[i].second == want) pick = i;
  }
  if (pol.kind == NumaPolicyKind::Bind &&
      std::find(pol.nodes.begin(), pol.nodes.end(), m_giga_free[pick].second) == pol.nodes.end()) {
    return std::nullopt;
  }
  return pick;
}

uint32_t HugePages::giga_refs(Pfn first) const {
  auto it = m_giga_refs.find(first.value());
  return it == m_giga_refs.end() ? 0 : it->second;
}

bool HugePages::fault_in_giga(Hal& hal, Process& p, const Vma& vma, VirtAddr base) {
  Mm& mm = *p.mm;
  const std::optional<size_t> pick = pick_giga(hal, p, vma);
  if (!pick) return false;
  const auto [first, node] = m_giga_free[*pick];
  hal.charge(m_ctx->cfg.costs.frame_alloc);
  if (!map_huge(hal, mm.root, m_levels, base, 3, Pfn{first}, leaf_flags(vma, true),
                [&]() { return m_host->alloc_table_frame(hal, mm); }, mm.user_root)) {
    return false;
  }
  m_giga_free.erase(m_giga_free.begin() + static_cast<long>(*pick));
  m_giga_refs[first] = 1;
  for (uint64_t i = 0; i < kGigaFrames; ++i) hal.zero_frame(Pfn{first + i});
  mm.resident += kGigaFrames;
  ++m_giga_faults;
  ProcStats& ps = *m_ctx->pstats[p.index];
  *ps.node_pages[node] += kGigaFrames;
  (node == m_ctx->core_node[hal.core_id()] ? ps.local : ps.remote) += kGigaFrames;
  return true;
}

bool HugePages::fork_giga(Hal& hal, Mm& parent, Mm& child, std::vector<VirtAddr>& changed) {
  for (VirtAddr va : huge_leaves(hal, parent.root, m_levels, VirtAddr{0}, VirtAddr{m_user_top}, 3)) {
    const PhysAddr ea = *leaf_entry(hal, parent.root, m_levels, va);
    const Pte e{hal.read64(ea)};
    const Vma* v = parent.vmas.find(va);
    uint64_t raw = e.raw();
    if (v != nullptr && !v->shared && e.writable()) {
      // Both sides read-only: the first write copies (or, once the other side is gone, takes it over).
      raw &= ~pte_bit::kWritable;
      hal.charge(m_ctx->cfg.costs.pte_update);
      hal.write64(ea, raw);
      changed.push_back(va);
    }
    hal.charge(m_ctx->cfg.costs.pte_update);
    const uint64_t flags = raw & ~pte_bit::kPfnMask & ~pte_bit::kPresent & ~pte_bit::kPageSize;
    if (!map_huge(hal, child.root, m_levels, va, 3, e.pfn(), flags,
                  [&]() { return m_host->alloc_table_frame(hal, child); }, child.user_root)) {
      return false;
    }
    if (!e.present()) hal.write64(*leaf_entry(hal, child.root, m_levels, va), raw);  // PROT_NONE stays so
    ++m_giga_refs[e.pfn().value()];
    child.resident += kGigaFrames;
    ++m_ctx->cow_shared_giga;
  }
  return true;
}

CowBreak HugePages::break_cow_giga(Hal& hal, Process& p, const Vma& vma, VirtAddr va, PhysAddr ea, Pte old) {
  Mm& mm = *p.mm;
  const VirtAddr base{va.value() & ~(kGigaBytes - 1)};
  const uint64_t keep = old.raw() & ~pte_bit::kPfnMask & ~pte_bit::kDirty & ~pte_bit::kAccessed;
  if (giga_refs(old.pfn()) <= 1) {
    // The other sharers are gone: take the page over.
    hal.charge(m_ctx->cfg.costs.pte_update);
    hal.write64(ea, old.raw() | pte_bit::kWritable);
    ++m_giga_cow_reuse;
  } else {
    const std::optional<size_t> pick = pick_giga(hal, p, vma);
    if (!pick) return CowBreak::NoHugePage;
    const auto [first, node] = m_giga_free[*pick];
    m_giga_free.erase(m_giga_free.begin() + static_cast<long>(*pick));
    m_giga_refs[first] = 1;
    hal.charge(m_ctx->cfg.costs.frame_alloc);
    // The copy: 262144 timed 4 KiB reads and writes through the HAL.
    const uint64_t from = old.frame_addr().value(), to = first << kPageShift;
    for (uint64_t off = 0; off < kGigaBytes; off += kPageSize) {
      hal.read_block(PhysAddr{from + off}, m_copy_buf.data(), kPageSize);
      hal.write_block(PhysAddr{to + off}, m_copy_buf.data(), kPageSize);
    }
    hal.charge(m_ctx->cfg.costs.pte_update);
    hal.write64(ea, Pte::make(Pfn{first}, keep | pte_bit::kWritable).raw());
    give_back_giga(old.pfn());  // drops this side's reference; the others keep the page
    ++m_giga_cow_copies;
    ProcStats& ps = *m_ctx->pstats[p.index];
    ++ps.cow;
    *ps.node_pages[node] += kGigaFrames;
    (node == m_ctx->core_node[hal.core_id()] ? ps.local : ps.remote) += kGigaFrames;
  }
  m_host->invalidate(hal, mm, {base});  // INVLPG of any address drops the whole 1 GiB entry
  return CowBreak::Done;
}

bool HugePages::compact(Hal& hal, Process& p, NodeId node) {
  ++m_compactions;
  hal.charge(m_ctx->cfg.costs.compaction);
  m_ctx->pmm.drain_all();
  const BuddyAllocator* zone = m_ctx->pmm.zone_allocator(node, ZoneKind::Normal);
  if (zone == nullptr) return false;
  // Reverse map of movable frames: every 4 KiB user mapping of every live address space (one timed read
  // per table); frames of shared segments stay where they are.
  struct Mapping {
    Mm* mm;
    VirtAddr va;
    PhysAddr pte;
  };
  std::unordered_map<uint64_t, std::vector<Mapping>> rmap;
  for (Mm* mm : m_ctx->live_mms) {
    for_each_leaf(hal, mm->root, m_levels, VirtAddr{0}, VirtAddr{m_user_top}, [&](VirtAddr va, PhysAddr ea, Pte e) {
      rmap[e.pfn().value()].push_back(Mapping{mm, va, ea});
      return std::optional<uint64_t>();
    });
  }
  for (const auto& [id, seg] : m_ctx->segments) {
    for (uint64_t f : seg->frames) {
      if (f != 0) rmap.erase(f - 1);
    }
  }
  for (const auto& [f, slot] : m_ctx->swapper.swap_cache()) rmap.erase(f);  // swap-cache frames stay too
  // The aligned 2 MiB region of the zone with the fewest allocated frames, all of them movable.
  const uint64_t lo = (zone->base().value() + kHugeFrames - 1) & ~(kHugeFrames - 1);
  const uint64_t hi = zone->base().value() + zone->total_frames();
  uint64_t best = 0, best_used = UINT64_MAX;
  for (uint64_t r = lo; r + kHugeFrames <= hi; r += kHugeFrames) {
    uint64_t used = 0;
    bool movable = true;
    for (uint64_t f = r; f < r + kHugeFrames && movable; ++f) {
      if (!m_ctx->pmm.is_allocated(Pfn{f})) continue;
      ++used;
      movable = rmap.count(f) != 0;
    }
    if (movable && used > 0 && used < best_used) {
      best = r;
      best_used = used;
    }
  }
  if (best_used == UINT64_MAX || m_ctx->pmm.free_frames(node) < best_used + kHugeFrames) return false;
  // The address spaces whose pages move: their other cores stop while the entries change.
  std::vector<Mm*> affected;
  for (uint64_t f = best; f < best + kHugeFrames; ++f) {
    auto it = rmap.find(f);
    if (it == rmap.end()) continue;
    for (const Mapping& m : it->second) {
      if (std::find(affected.begin(), affected.end(), m.mm) == affected.end()) affected.push_back(m.mm);
    }
  }
  std::vector<std::vector<CoreId>> targets;
  for (Mm* mm : affected) {
    targets.push_back(other_cores(hal, *mm));
    if (!targets.back().empty()) hal.shootdown_begin(targets.back());
  }
  std::vector<std::vector<VirtAddr>> pages(affected.size());
  std::vector<Pfn> aside;  // free frames that lie in the region itself
  bool ok = true;
  for (uint64_t f = best; f < best + kHugeFrames && ok; ++f) {
    auto it = rmap.find(f);
    if (it == rmap.end()) continue;
    std::optional<PageAlloc> to;
    while ((to = m_ctx->pmm.alloc_page(hal.core_id(), kGfpKernel, {node})) && to->pfn.value() >= best &&
           to->pfn.value() < best + kHugeFrames) {
      aside.push_back(to->pfn);
    }
    if (!to) {
      ok = false;
      break;
    }
    hal.charge(m_ctx->cfg.costs.migrate_page);
    hal.read_block(addr_of(Pfn{f}), m_copy_buf.data(), kPageSize);
    hal.write_block(addr_of(to->pfn), m_copy_buf.data(), kPageSize);
    for (const Mapping& m : it->second) {
      Pte e{hal.read64(m.pte)};
      hal.charge(m_ctx->cfg.costs.pte_update);
      hal.write64(m.pte, Pte::make(to->pfn, e.raw() & ~pte_bit::kPfnMask).raw());
      const size_t k = static_cast<size_t>(std::find(affected.begin(), affected.end(), m.mm) - affected.begin());
      if (e.present()) pages[k].push_back(m.va);
    }
    // A tracked page moves with its reverse map; to its policy it is a new page.
    if (m_ctx->swapper.enabled()) m_ctx->swapper.move_page(f, to->pfn, node, hal.memory_ops());
    auto refs = m_ctx->extra_refs.find(f);
    if (refs != m_ctx->extra_refs.end()) {
      m_ctx->extra_refs[to->pfn.value()] = refs->second;
      m_ctx->extra_refs.erase(f);
    }
    m_host->put_frame(hal, Pfn{f});
    ++m_migrated;
  }
  for (Pfn a : aside) m_ctx->pmm.free_page(hal.core_id(), a);
  m_ctx->pmm.drain_all();
  const Mm* current = p.mm.get();
  for (size_t k = 0; k < affected.size(); ++k) {
    Mm& mm = *affected[k];
    if (&mm == current) {
      const UserSpace us = user_space(mm);
      for (VirtAddr va : pages[k]) {
        hal.charge(m_ctx->cfg.costs.tlb_invalidate);
        // KPTI: the user translations are cached under the user PCID (INVPCID individual address).
        if (mm.user_root.value() != 0) {
          hal.invalidate_page(us.root, us.pcid, va);
        } else {
          hal.invlpg(va);
        }
        ++m_ctx->invlpg;
      }
    } else if (!pages[k].empty()) {
      hal.invalidate_pcid(user_space(mm).pcid);  // a PCID-tagged copy may be cached here
    }
    if (mm.notifier != nullptr && !pages[k].empty()) mm.notifier->invalidate(hal, pages[k]);
    if (!targets[k].empty()) m_host->finish_shootdown(hal, targets[k], user_space(mm).root, user_space(mm).pcid, pages[k]);
  }
  if (ok) ++m_compaction_success;
  return ok;
}

bool HugePages::cuts_giga(Hal& hal, Mm& mm, uint64_t start, uint64_t end) {
  for (VirtAddr va : huge_leaves(hal, mm.root, m_levels, VirtAddr{start}, VirtAddr{end}, 3)) {
    if (va.value() < start || va.value() + kGigaBytes > end) return true;
  }
  return false;
}

void HugePages::give_back_giga(Pfn first) {
  auto it = m_giga_refs.find(first.value());
  if (it != m_giga_refs.end() && --it->second > 0) return;  // still mapped by another address space
  if (it != m_giga_refs.end()) m_giga_refs.erase(it);
  for (const auto& [pfn, node] : m_giga_all) {
    if (pfn == first.value()) m_giga_free.emplace_back(pfn, node);
  }
}

void HugePages::maybe_collapse(Hal& hal, Process& p, VirtAddr va) {
  if (m_ctx->hashed) return;
  Mm& mm = *p.mm;
  const Vma* vma = mm.vmas.find(va);
  if (vma == nullptr || !vma->huge || vma->shm != 0 || vma->prot == 0) return;
  const uint64_t base = va.value() & ~(kHugeBytes - 1);
  if (base < vma->start.value() || base + kHugeBytes > vma->end.value()) return;
  hal.charge(m_ctx->cfg.costs.thp_scan);
  const std::optional<PhysAddr> pde = entry_at(hal, mm.root, m_levels, VirtAddr{base}, 2);
  if (!pde) return;
  const Pte pd{hal.read64(*pde)};
  if (!pd.present() || pd.huge()) return;
  // The scan: one timed read of the page table. Every entry present with the area's protections (A/D
  // aside) and its frame referenced by this entry alone (no copy-on-write or segment sharing).
  std::array<uint64_t, kHugeFrames> e;
  hal.read_block(pd.frame_addr(), reinterpret_cast<uint8_t*>(e.data()), kPageSize);
  const uint64_t want = leaf_flags(*vma, true) | pte_bit::kPresent;
  const uint64_t ad = pte_bit::kAccessed | pte_bit::kDirty;
  const uint64_t first = Pte{e[0]}.pfn().value();
  uint64_t ad_seen = 0;
  bool contiguous = first % kHugeFrames == 0;
  for (uint64_t i = 0; i < kHugeFrames; ++i) {
    const Pte x{e[i]};
    if ((e[i] & ~pte_bit::kPfnMask & ~ad) != want || m_host->frame_refs(x.pfn()) != 1) return;
    if (m_ctx->swapper.in_swap_cache(x.pfn())) return;  // in the swap cache: its slot may be mapped elsewhere
    contiguous = contiguous && x.pfn().value() == first + i;
    ad_seen |= e[i] & ad;
  }
  // In place when the 512 frames are the range's own split block, all still mapped here.
  auto head = m_split_heads.find(first);
  const bool in_place = contiguous && head != m_split_heads.end() && head->second == kHugeFrames;
  Pfn block{first};
  if (!in_place) {
    std::optional<Pfn> b = m_host->alloc_user_block(hal, p, *vma, VirtAddr{base}, kHugeOrder, false);
    if (!b) {
      ++m_thp_collapse_no_block;
      return;
    }
    block = *b;
    for (uint64_t i = 0; i < kHugeFrames; ++i) {
      hal.read_block(Pte{e[i]}.frame_addr(), m_copy_buf.data(), kPageSize);
      hal.write_block(addr_of(Pfn{block.value() + i}), m_copy_buf.data(), kPageSize);
    }
  }
  hal.charge(m_ctx->cfg.costs.thp_collapse + m_ctx->cfg.costs.pte_update);
  hal.write64(*pde, Pte::make(block, want | ad_seen | pte_bit::kPageSize).raw());
  // Every 4 KiB translation of the range goes (INVLPG also drops the walk caches' entries for the old
  // table), here and on the other cores of the address space, before the table and frames are freed.
  std::vector<VirtAddr> pages;
  for (uint64_t i = 0; i < kHugeFrames; ++i) pages.push_back(VirtAddr{base + (i << kPageShift)});
  m_host->invalidate(hal, mm, pages);
  hal.charge(m_ctx->cfg.costs.frame_free);
  m_ctx->pmm.free_page(hal.core_id(), pd.pfn());
  ++m_ctx->frames_freed;
  --mm.tables;
  if (m_ctx->swapper.enabled()) {
    // The 4 KiB pages leave the reverse map; a 2 MiB page is not tracked for reclaim.
    for (uint64_t i = 0; i < kHugeFrames; ++i) {
      const uint64_t f = Pte{e[i]}.pfn().value();
      m_ctx->swapper.rmap_remove(Pfn{f}, mm, VirtAddr{base + (i << kPageShift)});
      if (in_place) m_ctx->swapper.drop_if_unmapped(f);
    }
  }
  if (in_place) {
    m_split_heads.erase(head);  // the block is one 2 MiB page again, freed whole at unmap or exit
    ++m_thp_collapses_in_place;
  } else {
    for (uint64_t i = 0; i < kHugeFrames; ++i) m_host->put_frame(hal, Pte{e[i]}.pfn());  // tracked ones leave their policy
  }
  ++m_thp_collapses;
}

bool HugePages::fault_in_huge(Hal& hal, Process& p, const Vma& vma, VirtAddr base) {
  Mm& mm = *p.mm;
  std::optional<Pfn> block = m_host->alloc_user_block(hal, p, vma, base, kHugeOrder, true);
  if (!block && m_ctx->cfg.compaction) {
    // Direct compaction: move 4 KiB pages out of one 2 MiB region of the wanted node, then retry.
    const NumaPolicy& pol = vma.policy.kind != NumaPolicyKind::Default ? vma.policy : p.policy;
    const NodeId node = (pol.kind == NumaPolicyKind::Default || pol.kind == NumaPolicyKind::Local)
                            ? m_ctx->core_node[hal.core_id()]
                            : pol.nodes.front();
    if (m_ctx->pmm.free_frames(node) >= 2 * kHugeFrames && compact(hal, p, node)) {
      block = m_host->alloc_user_block(hal, p, vma, base, kHugeOrder, true);
    }
  }
  if (!block) {
    ++m_thp_fallbacks;
    return false;
  }
  if (!map_huge(hal, mm.root, m_levels, base, 2, *block, leaf_flags(vma, true),
                [&]() { return m_host->alloc_table_frame(hal, mm); }, mm.user_root)) {
    // Part of the 2 MiB range is already mapped with 4 KiB pages (or no table frame): fall back.
    hal.charge(m_ctx->cfg.costs.frame_free);
    m_ctx->pmm.free(*block, kHugeOrder);
    m_ctx->frames_freed += kHugeFrames;
    ++m_thp_fallbacks;
    return false;
  }
  mm.resident += kHugeFrames;
  ++m_thp_faults;
  return true;
}

}  // namespace vmsim::fw
