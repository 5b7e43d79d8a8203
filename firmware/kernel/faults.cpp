// The kernel's page-fault handler (fw::Faults): demand-zero, shared and page-cache faults, copy-on-write,
// stack growth, spurious faults, the hand-over to swap-in and huge-page faults, and kills.
#include "firmware/kernel/faults.hpp"

#include <algorithm>
#include <cstring>
#include <iostream>

#include "firmware/kernel/kernel_config.hpp"
#include "firmware/kernel/processes.hpp"
#include "firmware/kernel/swapper.hpp"
#include "firmware/vm/hashed_table.hpp"
#include "firmware/vm/page_table.hpp"
#include "common/hashed_pt.hpp"
#include "common/pte.hpp"

namespace vmsim::fw {

namespace {

std::string describe_error_code(uint32_t ec) {
  std::string s = (ec & pf_err::kPresent) ? "protection" : "not-present";
  s += (ec & pf_err::kWrite) ? ", write" : ", read";
  s += (ec & pf_err::kUser) ? ", user" : ", supervisor";
  if (ec & pf_err::kReserved) s += ", reserved-bit";
  if (ec & pf_err::kFetch) s += ", instruction-fetch";
  return s;
}

}  // namespace

Faults::Faults(stats::Group& parent, unsigned levels, uint64_t user_top)
    : m_levels(levels), m_user_top(user_top), m_copy_buf(kPageSize), m_group(parent, "faults"), m_huge(m_group, levels, user_top) {}

Faults::~Faults() = default;

void Faults::connect(const FaultsContext& ctx, FaultsHost& host) {
  m_ctx = std::make_unique<FaultsContext>(ctx);
  m_host = &host;
}

bool Faults::fault_in(Hal& hal, Process& p, const Vma& vma, VirtAddr va) {
  Mm& mm = *p.mm;
  const VirtAddr page{va.value() & ~kPageMask};
  Pfn frame{0};
  if (m_huge.try_fault(hal, p, vma, page)) return true;  // a 1 GiB or 2 MiB page (huge_pages.cpp)
  if (vma.shm != 0) {
    Segment& seg = *m_ctx->segments.at(vma.shm);
    const uint64_t idx = vma.shm_page(page);
    if (seg.frames[idx] == 0) {
      std::optional<Pfn> f = m_host->alloc_user_frame(hal, p, vma, page, seg.file < 0);
      if (!f) return false;
      if (seg.file >= 0) {
        // Major fault: the page comes from the file store into the page cache.
        read_file_page(hal, seg.file, idx, *f);
        ++m_major;
      } else {
        ++m_shm_faults;
      }
      seg.frames[idx] = f->value() + 1;  // the segment's (page cache's) own reference
    } else {
      ++m_shm_faults;
    }
    frame = Pfn{seg.frames[idx] - 1};
    m_host->get_frame(frame);
  } else {
    std::optional<Pfn> f = m_host->alloc_user_frame(hal, p, vma, page, true);
    if (!f) return false;
    frame = *f;
    ++m_demand_zero;
  }
  // Private anonymous 4 KiB pages and page-cache pages can be evicted (not shared anonymous memory).
  const bool file_page = vma.shm != 0 && m_ctx->segments.at(vma.shm)->file >= 0;
  const bool track = m_ctx->swapper.enabled() && (vma.shm == 0 || file_page);

  // A private file page is mapped read-only: a write breaks the sharing with the page cache (COW).
  const bool writable = vma.shm == 0 || vma.shared;
  const uint64_t flags = vma.prot == 0 ? (pte_bit::kUser | kSoftProtNone) : leaf_flags(vma, writable);
  if (m_ctx->hashed) {
    // Hashed table: 4 KiB entries only (scripts and huge areas are refused at configuration).
    if (!m_ctx->hashed->map(hal, mm.pcid.id, page, frame, flags, [&]() { return m_host->alloc_table_frame(hal, mm); })) {
      m_host->put_frame(hal, frame);
      return false;
    }
    mm.hashed_pages.insert(page.value() >> kPageShift);
    ++mm.resident;
    return true;
  }
  PhysAddr pte{0};
  bool ok =
      map_page(hal, mm.root, m_levels, page, frame, flags, [&]() { return m_host->alloc_table_frame(hal, mm); }, &pte,
               mm.user_root);
  if (!ok) {
    m_host->put_frame(hal, frame);
    return false;
  }
  if (vma.prot == 0) {
    // map_page set P; a PROT_NONE page keeps its frame with P clear.
    hal.write64(pte, Pte::make(frame, flags).raw());
  }
  if (track) {
    m_ctx->swapper.rmap_add(frame, mm, page, pte, m_ctx->pmm.zone_of(frame)->first, hal.memory_ops());
    if (file_page) m_ctx->swapper.set_file_page(frame, vma.shm, vma.shm_page(page));
  }
  ++mm.resident;
  return true;
}

void Faults::read_file_page(Hal& hal, int file_index, uint64_t idx, Pfn frame) {
  const FileConfig& file = m_ctx->cfg.files[static_cast<size_t>(file_index)];
  hal.charge(m_ctx->cfg.costs.file_read);
  if (const std::vector<uint8_t>* written = m_ctx->swapper.written_file_page(file_index, idx)) {
    std::memcpy(m_copy_buf.data(), written->data(), kPageSize);  // written back earlier
  } else {
    uint64_t x = file.seed * 0x9E3779B97F4A7C15ull + idx;
    for (uint64_t i = 0; i < kPageSize; i += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      std::memcpy(&m_copy_buf[i], &x, 8);
    }
  }
  hal.dma_write(addr_of(frame), m_copy_buf.data(), kPageSize);  // the file store's DMA into the frame
}

std::optional<Pfn> Faults::file_cache_page(Hal& hal, Process& p, Segment& seg, uint64_t idx) {
  if (seg.frames[idx] == 0) {
    // Placed by the process's policy, as a page-cache page read by a fault of its mapping would be.
    const Vma placement(VirtAddr{0}, VirtAddr{kPageSize});
    std::optional<Pfn> f = m_host->alloc_user_frame(hal, p, placement, VirtAddr{idx << kPageShift}, false);
    if (!f) return std::nullopt;
    read_file_page(hal, seg.file, idx, *f);
    seg.frames[idx] = f->value() + 1;  // the page cache's own reference
  }
  return Pfn{seg.frames[idx] - 1};
}

UserFault Faults::user_fault(Hal& hal, Process& p, VirtAddr va, AccessKind kind, uint32_t error_code) {
  Mm& mm = *p.mm;
  ++m_faults;
  ++m_ctx->pstats[p.index]->faults;
  hal.charge(m_ctx->cfg.costs.fault_entry + m_ctx->cfg.costs.vma_lookup);
  if (!is_canonical(va, m_levels) || va.value() >= m_user_top) return UserFault::Efault;
  const Vma* vma = mm.vmas.find(va);
  if (vma == nullptr || !vma->allows(kind) || (error_code & pf_err::kReserved)) return UserFault::Efault;
  if (error_code & pf_err::kPresent) {
    if (kind == AccessKind::Write && !vma->shared) {
      const CowBreak cow = break_cow(hal, p, *vma, va);
      if (cow == CowBreak::NoHugePage) return UserFault::Efault;
      if (cow == CowBreak::NoFrame) return UserFault::NoMemory;
      return UserFault::Retry;
    }
    throw SimulationError("kernel page fault (oops) on core " + std::to_string(hal.core_id()) + ": supervisor " +
                          to_string(kind) + " of user address " + format_hex(va.value()) + " of process " +
                          std::to_string(p.pid) + " '" + p.name + "' (error code " + format_hex(error_code) + ": " +
                          describe_error_code(error_code) + ") on a present page VMA '" + vma->name + "' (" +
                          prot_string(vma->prot) + ") allows");
  }
  const uint64_t vpage = va.value() & ~kPageMask;
  if (m_ctx->swapper.enabled()) {
    std::optional<PhysAddr> ea = leaf_entry(hal, mm.root, m_levels, VirtAddr{vpage});
    const Pte e = ea ? Pte{hal.read64(*ea)} : Pte{0};
    if (e.present()) return UserFault::Retry;
    if (is_swap_entry(e)) {
      // The system call waits for the device (as mlock's population does).
      bool oom = false;
      m_ctx->swapper.swap_in(hal, p, *vma, va, kind, false, oom);
      return oom ? UserFault::NoMemory : UserFault::Retry;
    }
  }
  if (!fault_in(hal, p, *vma, va)) return UserFault::NoMemory;
  return UserFault::Retry;
}

CowBreak Faults::break_cow(Hal& hal, Process& p, const Vma& vma, VirtAddr va) {
  Mm& mm = *p.mm;
  const VirtAddr page{va.value() & ~kPageMask};
  hal.charge(m_ctx->cfg.costs.cow_break);
  std::optional<PhysAddr> ea = leaf_entry(hal, mm.root, m_levels, page);
  if (!ea) return CowBreak::NoFrame;
  Pte old{hal.read64(*ea)};
  if (!old.present()) return m_ctx->swapper.enabled() ? CowBreak::Done : CowBreak::NoFrame;  // evicted meanwhile: the retry faults it back
  if (old.writable()) return CowBreak::Done;  // another thread broke the sharing first
  if (old.huge() && m_huge.giga_refs(old.pfn()) > 0) return m_huge.break_cow_giga(hal, p, vma, va, *ea, old);  // 1 GiB
  // A frame in the swap cache is still what the slot's other swap entries will map: the writer may
  // keep it only if the slot can be dropped (no other reference).
  const bool slot_free = m_ctx->swapper.make_exclusive(old.pfn());
  if (m_host->frame_refs(old.pfn()) <= 1 && slot_free) {
    // The other sharers are gone: take the frame over.
    hal.write64(*ea, old.raw() | pte_bit::kWritable);
    ++m_cow_reuse;
  } else {
    std::optional<Pfn> f = m_host->alloc_user_frame(hal, p, vma, page, false);
    if (!f) return CowBreak::NoFrame;
    if (m_ctx->swapper.enabled()) {
      // The allocation may have reclaimed: the PTE must still be the one the copy is made from.
      const Pte now{hal.read64(*ea)};
      if (now.raw() != old.raw()) {
        m_host->free_frame(hal, *f);
        return CowBreak::Done;  // the retry sees the new state
      }
    }
    hal.read_block(old.frame_addr(), m_copy_buf.data(), kPageSize);
    hal.write_block(addr_of(*f), m_copy_buf.data(), kPageSize);
    hal.charge(m_ctx->cfg.costs.pte_update);
    const uint64_t keep = old.raw() & ~pte_bit::kPfnMask & ~pte_bit::kDirty & ~pte_bit::kAccessed;
    hal.write64(*ea, Pte::make(*f, keep | pte_bit::kWritable).raw());
    if (m_ctx->swapper.enabled()) {
      m_ctx->swapper.rmap_remove(old.pfn(), mm, page);
      m_ctx->swapper.rmap_add(*f, mm, page, *ea, m_ctx->pmm.zone_of(*f)->first, hal.memory_ops());
    }
    m_host->put_frame(hal, old.pfn());
    ++m_cow_copies;
    ++m_ctx->pstats[p.index]->cow;
  }
  m_host->invalidate(hal, mm, {page});
  return CowBreak::Done;
}

FaultOutcome Faults::fault(Hal& hal, Pid pid, VirtAddr va, AccessKind kind, uint32_t error_code, bool threaded) {
  Process& p = m_ctx->processes.get(pid);
  Mm& mm = *p.mm;
  const uint64_t vpage = va.value() & ~kPageMask;
  if (p.blocked_page == vpage) {
    // The retry of an access that slept on a swap-in: the same fault goes on (already counted).
    p.blocked_page = UINT64_MAX;
    const uint64_t slept_ns = (hal.now_ps() - std::min(hal.now_ps(), p.blocked_since)) / 1000;
    m_ctx->swapper.add_blocked_time(slept_ns);
    m_ctx->pstats[p.index]->swap_wait += slept_ns;
  } else {
    p.blocked_page = UINT64_MAX;  // the retry did not fault there (mapped meanwhile): no continuation left
    ++m_faults;
    ++m_ctx->pstats[p.index]->faults;
    if (m_ctx->swapper.enabled()) m_ctx->pstats[p.index]->ws->reference(vpage >> kPageShift, hal.memory_ops());
  }
  hal.charge(m_ctx->cfg.costs.fault_entry + m_ctx->cfg.costs.vma_lookup);
  if (!is_canonical(va, m_levels)) {
    ++m_segv_no_vma;  // a #GP on real hardware; reported as SIGSEGV
    kill(hal, p, va, kind, error_code, "non-canonical address");
    return FaultOutcome::Killed;
  }
  if (va.value() >= m_user_top) {
    // The kernel's half: no user access may reach it, whatever VMA the process declares (an access of
    // a trace there, say). Not looked up, never mapped: as Linux's fault handler for a user-mode fault at a
    // kernel address (do_kern_addr_fault), SIGSEGV.
    ++m_segv_prot;
    kill(hal, p, va, kind, error_code, "kernel address from user mode");
    return FaultOutcome::Killed;
  }
  const Vma* vma = mm.vmas.find(va);
  if (vma == nullptr) {
    // Stack growth: just below a grows-down area, within the stack limit.
    const Vma* above = mm.vmas.next_above(va);
    const uint64_t page = va.value() & ~kPageMask;
    if (above != nullptr && above->grows_down && above->start.value() > page &&
        above->end.value() - page <= m_ctx->cfg.stack_limit.value) {
      Vma grown = *above;
      mm.vmas.remove(above->start, above->end);
      grown.start = VirtAddr{page};
      mm.vmas.insert(grown);
      hal.charge(m_ctx->cfg.costs.vma_update);
      ++m_stack_growth;
      vma = mm.vmas.find(va);
    } else {
      ++m_segv_no_vma;
      kill(hal, p, va, kind, error_code, "address not in any VMA");
      return FaultOutcome::Killed;
    }
  }
  if (!vma->allows(kind)) {
    ++m_segv_prot;
    kill(hal, p, va, kind, error_code,
         std::string(to_string(kind)) + " not allowed by VMA '" + vma->name + "' (" + prot_string(vma->prot) + ")");
    return FaultOutcome::Killed;
  }
  if (error_code & pf_err::kReserved) {
    ++m_segv_prot;
    kill(hal, p, va, kind, error_code, "reserved bit set in a page-table entry");
    return FaultOutcome::Killed;
  }
  if (error_code & pf_err::kPresent) {
    // Present but not permitted although the VMA allows it: a copy-on-write page being written.
    if (kind == AccessKind::Write && !vma->shared) {
      const CowBreak cow = break_cow(hal, p, *vma, va);
      if (cow == CowBreak::NoHugePage) {
        // Like Linux's hugetlb for a process without a reservation: no page to copy into is SIGBUS.
        m_huge.count_sigbus();
        kill(hal, p, va, kind, error_code,
             "no free 1 GiB page to break copy-on-write (firmware.hugepages_1g pool empty)", "SIGBUS");
        return FaultOutcome::Killed;
      }
      if (cow == CowBreak::NoFrame) {
        ++m_oom;
        kill(hal, p, va, kind, error_code, "out of memory (no frame to break copy-on-write)");
        return FaultOutcome::Killed;
      }
      if (vma->huge) m_huge.maybe_collapse(hal, p, va);  // the last read-only page of a 2 MiB range
      return FaultOutcome::Retry;
    }
    ++m_segv_prot;
    kill(hal, p, va, kind, error_code, "page-table permissions inconsistent with VMA '" + vma->name + "'");
    return FaultOutcome::Killed;
  }
  if (threaded && m_ctx->hashed) {
    if (m_ctx->hashed->lookup(hal, mm.pcid.id, VirtAddr{va.value() & ~kPageMask}).present()) {
      ++m_spurious;
      return FaultOutcome::Retry;
    }
  } else if (threaded || m_ctx->swapper.enabled()) {
    // Another thread may have mapped the page since this one's walk (a spurious fault), or the entry is
    // a swap entry (a swap-in).
    std::optional<PhysAddr> ea = leaf_entry(hal, mm.root, m_levels, VirtAddr{vpage});
    const Pte e = ea ? Pte{hal.read64(*ea)} : Pte{0};
    if (e.present()) {
      ++m_spurious;
      return FaultOutcome::Retry;
    }
    if (m_ctx->swapper.enabled() && is_swap_entry(e)) {
      for (;;) {
        bool oom = false;
        const FaultOutcome out = m_ctx->swapper.swap_in(hal, p, *vma, va, kind, true, oom);
        if (!oom) return out;
        bool self = false;
        if (!m_ctx->swapper.oom_kill(hal, p, va, kind, error_code, self)) {
          if (self) return FaultOutcome::Killed;
          break;
        }
      }
      ++m_oom;
      kill(hal, p, va, kind, error_code, "out of memory (no frame to swap the page in, nothing left to reclaim or kill)");
      return FaultOutcome::Killed;
    }
  }
  const uint64_t thp_before = m_huge.thp_faults();
  while (!fault_in(hal, p, *vma, va)) {
    // Out of memory after direct reclaim: the OOM killer frees a victim's memory, or this process goes.
    bool self = false;
    if (m_ctx->swapper.oom_kill(hal, p, va, kind, error_code, self)) continue;
    if (self) return FaultOutcome::Killed;
    ++m_oom;
    kill(hal, p, va, kind, error_code, "out of memory (no free frame, nothing left to reclaim or kill)");
    return FaultOutcome::Killed;
  }
  // A 4 KiB page of a huge area may complete its 2 MiB range: collapse.
  if (vma->huge && m_huge.thp_faults() == thp_before) m_huge.maybe_collapse(hal, p, va);
  // x86 TLBs never cache not-present translations, so this update needs no invalidation.
  return FaultOutcome::Retry;
}

void Faults::kill(Hal& hal, Process& p, VirtAddr va, AccessKind kind, uint32_t error_code, const std::string& reason,
                  const char* signal) {
  hal.charge(m_ctx->cfg.costs.kill);
  KillReport r;
  r.pid = p.pid;
  r.name = p.name;
  r.core = p.core;
  r.va = va;
  r.kind = kind;
  r.error_code = error_code;
  r.signal = signal;
  r.reason = reason;
  r.time_ps = hal.now_ps();
  std::cerr << "vmsim: process " << p.pid << " '" << p.name << "' killed by " << signal << " on core " << r.core
            << " at " << r.time_ps << " ps";
  if (error_code != 0 || va.value() != 0) {
    std::cerr << ": " << to_string(kind) << " at " << format_hex(va.value()) << " (error code "
              << format_hex(error_code) << ": " << describe_error_code(error_code) << ")";
  }
  std::cerr << ": " << reason << "\n";
  m_kills.push_back(r);
  m_ctx->processes.count_killed();
  std::shared_ptr<Mm> group = p.mm;
  m_ctx->processes.teardown(hal, p);
  kill_thread_group(hal, *group, r);
}

void Faults::kill_thread_group(Hal& hal, Mm& group, const KillReport& first) {
  // Pids in creation order, so reports come out deterministically. Each teardown may end the address
  // space (the last user frees it); `group` stays valid because the caller holds a reference.
  for (const std::unique_ptr<Process>& q : m_ctx->processes.all()) {
    if (!q->alive || q->mm.get() != &group) continue;
    hal.charge(m_ctx->cfg.costs.kill);
    KillReport r = first;
    r.pid = q->pid;
    r.name = q->name;
    r.core = q->core;
    r.reason = "thread group: process " + std::to_string(first.pid) + " '" + first.name + "' killed by " +
               first.signal + " (" + first.reason + ")";
    r.time_ps = hal.now_ps();
    std::cerr << "vmsim: process " << r.pid << " '" << r.name << "' killed by " << r.signal << " on core " << r.core
              << " at " << r.time_ps << " ps: " << r.reason << "\n";
    m_kills.push_back(r);
    m_ctx->processes.count_killed();
    m_ctx->processes.count_group_kill();
    m_ctx->processes.teardown(hal, *q);
  }
}

}  // namespace vmsim::fw
