// The kernel's system calls (fw::Syscalls): argument checks and errno results, VMA changes, unmapping,
// protection changes, mlock population, brk, fork admission, shared memory and file mappings, mbind.
#include "firmware/kernel/syscalls.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "firmware/kernel/faults.hpp"
#include "firmware/kernel/huge_pages.hpp"
#include "firmware/kernel/kernel_config.hpp"
#include "firmware/kernel/processes.hpp"
#include "firmware/kernel/swapper.hpp"
#include "firmware/kernel/user_copy.hpp"
#include "firmware/vm/page_table.hpp"
#include "common/error.hpp"
#include "common/pte.hpp"

namespace vmsim::fw {

namespace {

const std::vector<std::pair<int, const char*>>& errno_names() {
  static const std::vector<std::pair<int, const char*>> t = {
      {EINVAL, "EINVAL"}, {ENOMEM, "ENOMEM"}, {EACCES, "EACCES"}, {EPERM, "EPERM"},
      {EFAULT, "EFAULT"}, {EAGAIN, "EAGAIN"}, {EEXIST, "EEXIST"}};
  return t;
}

bool copies_user_memory(SyscallKind k) { return k == SyscallKind::Read || k == SyscallKind::Write; }

}  // namespace

Syscalls::Syscalls(stats::Group& parent, unsigned levels, uint64_t user_top)
    : m_levels(levels), m_user_top(user_top), m_parent(parent), m_sys_stats(parent, "syscalls"), m_vm_stats(parent, "vm") {
  for (const auto& [k, kname] : config::EnumNames<SyscallKind>::table()) {
    // read and write's counters exist only in runs whose scripts call them (connect).
    m_sys_calls.push_back(copies_user_memory(k) ? nullptr
                                                : std::make_unique<stats::Scalar>(m_sys_stats, kname, "count",
                                                                                  std::string("Calls of ") + kname));
  }
  for (const auto& [e, ename] : errno_names()) {
    m_errnos.push_back(e);
    m_sys_errors.push_back(std::make_unique<stats::Scalar>(m_sys_stats, std::string("errno_") + ename, "count",
                                                           std::string("Calls that failed with ") + ename));
  }
}

Syscalls::~Syscalls() = default;

void Syscalls::connect(const SyscallsContext& ctx, SyscallsHost& host) {
  m_ctx = std::make_unique<SyscallsContext>(ctx);
  m_host = &host;
  if (ctx.cfg.user_copies) {
    for (SyscallKind k : {SyscallKind::Read, SyscallKind::Write}) {
      const char* kname = config::enum_name(k);
      m_sys_calls[static_cast<size_t>(k)] =
          std::make_unique<stats::Scalar>(m_sys_stats, kname, "count", std::string("Calls of ") + kname);
    }
    m_errnos.push_back(EBADF);
    m_sys_errors.push_back(
        std::make_unique<stats::Scalar>(m_sys_stats, "errno_EBADF", "count", "Calls that failed with EBADF"));
    m_file_bytes_read = std::make_unique<stats::Scalar>(m_sys_stats, "bytes_read", "bytes",
                                                        "Bytes read calls copied from files into user buffers");
    m_file_bytes_written = std::make_unique<stats::Scalar>(m_sys_stats, "bytes_written", "bytes",
                                                           "Bytes write calls copied from user buffers into files");
    m_user_copy = std::make_unique<UserCopy>(m_parent, ctx.cfg, ctx.faults);
  }
}

SyscallResult Syscalls::fail(SyscallKind, int error) {
  for (size_t i = 0; i < m_errnos.size(); ++i) {
    if (m_errnos[i] == error) ++*m_sys_errors[i];
  }
  SyscallResult r;
  r.error = error;
  return r;
}

SyscallResult Syscalls::run(Hal& hal, Process& p, const Syscall& c) {
  const Pid pid = p.pid;
  ++m_sys_total;
  if (copies_user_memory(c.call) && !m_user_copy) {
    throw SimulationError(std::string("system call ") + to_string(c.call) +
                          " in a run whose configuration declared no user copies (KernelConfig::user_copies)");
  }
  ++*m_sys_calls[static_cast<size_t>(c.call)];
  ++m_ctx->pstats[p.index]->calls;
  SyscallResult r;
  switch (c.call) {
    case SyscallKind::Mmap: r = sys_mmap(hal, p, c); break;
    case SyscallKind::Munmap: r = sys_munmap(hal, p, c); break;
    case SyscallKind::Mprotect: r = sys_mprotect(hal, p, c); break;
    case SyscallKind::Mlock: r = sys_mlock(hal, p, c, true); break;
    case SyscallKind::Munlock: r = sys_mlock(hal, p, c, false); break;
    case SyscallKind::Brk: r = sys_brk(hal, p, c); break;
    case SyscallKind::Fork: r = sys_fork(hal, p, c); break;
    case SyscallKind::ShmAttach: r = sys_shm_attach(hal, p, c); break;
    case SyscallKind::Mbind: r = sys_mbind(hal, p, c); break;
    case SyscallKind::Read: r = sys_file_io(hal, p, c, false); break;
    case SyscallKind::Write: r = sys_file_io(hal, p, c, true); break;
    case SyscallKind::Exit:
      m_ctx->processes.exit(hal, pid);
      r.exited = true;
      break;
  }
  if (r.error != 0) ++m_ctx->pstats[p.index]->failed;
  if (!r.exited && p.alive) {
    // Account the kernel objects of the VMAs the call left.
    if (!m_host->sync_vma_objects(hal, *p.mm) && r.error == 0) r = fail(c.call, ENOMEM);
    uint64_t locked = 0;
    for (Mm* m : m_ctx->processes.live_mms()) locked += m->locked_pages;
    m_locked_now = locked;
    m_locked_peak = std::max(m_locked_peak, m_locked_now);
  }
  return r;
}

bool Syscalls::commit_ok(uint64_t extra_pages) const {
  switch (m_ctx->cfg.overcommit) {
    case Overcommit::Always: return true;
    case Overcommit::Heuristic: return extra_pages <= m_ctx->pmm.total_frames();
    case Overcommit::Never: {
      uint64_t committed = extra_pages;
      for (const Mm* mm : m_ctx->processes.live_mms()) {
        for (const auto& [s, v] : mm->vmas) {
          if ((v.prot & prot::kWrite) && !v.shared) committed += v.bytes() >> kPageShift;
        }
      }
      return committed <= m_ctx->pmm.total_frames() * m_ctx->cfg.overcommit_ratio / 100;
    }
  }
  return false;
}

uint64_t Syscalls::unmap_range(Hal& hal, Mm& mm, VirtAddr start, VirtAddr end, std::vector<VirtAddr>& changed) {
  m_host->harvest_file_dirty(hal, mm, start, end);
  m_ctx->huge.split_range(hal, mm, start, end);  // without a table frame the huge pages stay (and are freed whole at exit)
  for (VirtAddr va : huge_leaves(hal, mm.root, m_levels, start, end, 3)) {
    // Callers refuse ranges cutting through a 1 GiB page, so each is unmapped whole.
    std::optional<PhysAddr> ea = leaf_entry(hal, mm.root, m_levels, va);
    Pte e{hal.read64(*ea)};
    hal.charge(m_ctx->cfg.costs.pte_update + m_ctx->cfg.costs.frame_free);
    hal.write64(*ea, 0);
    m_ctx->huge.give_back_giga(e.pfn());
    mm.resident -= kGigaFrames;
    changed.push_back(va);
  }
  std::vector<std::pair<VirtAddr, Pte>> to_free;
  uint64_t n = for_each_leaf(hal, mm.root, m_levels, start, end, [&](VirtAddr va, PhysAddr, Pte e) {
    hal.charge(m_ctx->cfg.costs.pte_update);
    if (e.present()) changed.push_back(va);
    to_free.emplace_back(va, e);
    return std::optional<uint64_t>(0);
  });
  for (const auto& [va, e] : to_free) {
    if (m_ctx->swapper.enabled()) m_ctx->swapper.rmap_remove(e.pfn(), mm, va, e.dirty());
    m_host->put_frame(hal, e.pfn());
  }
  mm.resident -= n;
  m_pages_unmapped += n;
  if (m_ctx->swapper.enabled()) {
    // Swapped-out pages of the range: their swap entries go (no TLB holds a not-present entry).
    std::vector<uint64_t> slots;
    n += for_each_swap_entry(hal, mm.root, m_levels, start, end, [&](VirtAddr, PhysAddr, Pte e) {
      hal.charge(m_ctx->cfg.costs.pte_update);
      slots.push_back(swap_slot_of(e));
      return std::optional<uint64_t>(0);
    });
    for (uint64_t slot : slots) m_ctx->swapper.release_swap_entry(hal, mm, slot);
  }
  return n;
}

SyscallResult Syscalls::sys_mmap(Hal& hal, Process& p, const Syscall& c) {
  Mm& mm = *p.mm;
  if (c.length == 0 || (c.fixed && (c.addr & kPageMask))) return fail(c.call, EINVAL);
  const uint64_t len = round_up(c.length, kPageSize);
  if (c.file >= 0) {
    // The whole range must lie in the file (this store has no SIGBUS past the end).
    const uint64_t fsize = m_ctx->cfg.files[static_cast<size_t>(c.file)].size.value;
    if ((c.offset & kPageMask) || c.offset > fsize || len > fsize - c.offset) return fail(c.call, EINVAL);
  }
  if (len < c.length || len > m_user_top) return fail(c.call, ENOMEM);
  if (c.fixed && (c.addr + len > m_user_top || c.addr + len < c.addr || c.addr < kPageSize)) return fail(c.call, EINVAL);
  if (mm.vmas.size() + 2 > m_ctx->cfg.max_map_count) return fail(c.call, ENOMEM);
  if (!c.shared && (c.prot & prot::kWrite) && !commit_ok(len >> kPageShift)) return fail(c.call, ENOMEM);
  hal.charge(m_ctx->cfg.costs.vma_lookup);
  uint64_t at = 0;
  const uint64_t align = c.huge_1g ? kGigaBytes : c.huge ? (2ull << 20) : kPageSize;
  if (c.fixed) {
    at = c.addr;
    std::vector<VirtAddr> changed;
    unmap_range(hal, mm, VirtAddr{at}, VirtAddr{at + len}, changed);
    m_host->invalidate(hal, mm, changed);
    if (mm.vmas.remove(VirtAddr{at}, VirtAddr{at + len}) > 0) hal.charge(m_ctx->cfg.costs.vma_update);
  } else if (c.addr != 0 && !(c.addr & (align - 1)) && c.addr + len <= m_user_top && c.addr + len > c.addr &&
             !mm.vmas.overlaps(VirtAddr{c.addr}, VirtAddr{c.addr + len})) {
    at = c.addr;
  } else {
    at = mm.vmas.find_gap_below(mm.mmap_base, 1ull << 16, len, align);
    if (at == 0) return fail(c.call, ENOMEM);
  }
  Vma v;
  v.start = VirtAddr{at};
  v.end = VirtAddr{at + len};
  v.prot = c.prot;
  v.name = c.name.empty() ? "mmap@" + format_hex(at) : c.name;
  v.huge = c.huge && !c.shared;
  v.huge_1g = c.huge_1g && !c.shared;
  if (c.file >= 0) {
    // A file mapping maps the file's page cache (one segment per file, kept while mapped).
    const FileConfig& file = m_ctx->cfg.files[static_cast<size_t>(c.file)];
    Segment* cache = file_cache(hal, c.file);
    if (cache == nullptr) return fail(c.call, ENOMEM);
    v.shared = c.shared;
    v.shm = cache->id;
    v.shm_offset = c.offset;
    v.huge = false;
    v.huge_1g = false;
    v.name = c.name.empty() ? "file:" + file.name : c.name;
  } else if (c.shared) {
    // Shared anonymous memory is an unnamed segment, so fork children see the same frames.
    hal.charge(m_ctx->cfg.costs.shm_create);
    std::optional<PhysAddr> obj = m_host->kobj_alloc(hal, m_ctx->shm_cache);
    if (!obj) return fail(c.call, ENOMEM);
    auto seg = std::make_unique<Segment>();
    seg->id = m_next_segment++;
    seg->bytes = len;
    seg->frames.assign(len >> kPageShift, 0);
    seg->obj = *obj;
    v.shared = true;
    v.shm = seg->id;
    m_ctx->segments.emplace(seg->id, std::move(seg));
    ++m_segments_created;
  }
  mm.vmas.insert(v);
  hal.charge(m_ctx->cfg.costs.vma_update);
  ++m_vma_splits;
  m_vma_merges += mm.vmas.merge_around(v.start, v.end);
  SyscallResult r;
  r.value = at;
  return r;
}

Segment* Syscalls::file_cache(Hal& hal, int file_index) {
  for (auto& [id, sg] : m_ctx->segments) {
    if (sg->file == file_index) return sg.get();
  }
  const FileConfig& file = m_ctx->cfg.files[static_cast<size_t>(file_index)];
  std::optional<PhysAddr> obj = m_host->kobj_alloc(hal, m_ctx->shm_cache);
  if (!obj) return nullptr;
  auto seg = std::make_unique<Segment>();
  seg->id = m_next_segment++;
  seg->key = "file:" + file.name;
  seg->file = file_index;
  seg->bytes = file.size.value;
  seg->frames.assign(file.size.value >> kPageShift, 0);
  seg->dirty.assign(file.size.value >> kPageShift, false);
  seg->obj = *obj;
  Segment* cache = seg.get();
  m_ctx->segments.emplace(seg->id, std::move(seg));
  return cache;
}

SyscallResult Syscalls::sys_file_io(Hal& hal, Process& p, const Syscall& c, bool write) {
  if (c.file < 0 || static_cast<size_t>(c.file) >= m_ctx->cfg.files.size()) return fail(c.call, EBADF);
  const uint64_t fsize = m_ctx->cfg.files[static_cast<size_t>(c.file)].size.value;
  // The store's files have a fixed size: a transfer stops at the end (a short count; 0 from there on).
  const uint64_t len = c.offset >= fsize ? 0 : std::min(c.length, fsize - c.offset);
  SyscallResult r;
  if (len == 0) return r;
  // access_ok: the whole buffer in the user half.
  if (c.addr + len < c.addr || c.addr + len > m_user_top) return fail(c.call, EFAULT);
  const std::string what = std::string(write ? "copy_from_user" : "copy_to_user") + " (" + to_string(c.call) +
                           " system call)";
  m_user_copy->inject_fetch(hal, p, what);
  Segment* cache = file_cache(hal, c.file);
  if (cache == nullptr) return fail(c.call, ENOMEM);
  uint64_t done = 0;
  UserCopy::End end = UserCopy::End::Done;
  m_io_buf.resize(kPageSize);
  while (done < len && end == UserCopy::End::Done) {
    // One page of the file at a time, through a kernel buffer: the page cache's frame is read or written
    // through the direct map, the user buffer through the user copy (which may fault and reclaim).
    const uint64_t pos = c.offset + done;
    const uint64_t idx = pos >> kPageShift, in_page = pos & kPageMask;
    const uint64_t n = std::min(len - done, kPageSize - in_page);
    UserCopy::Result u;
    if (!write) {
      std::optional<Pfn> frame = m_ctx->faults.file_cache_page(hal, p, *cache, idx);
      if (!frame) {
        end = UserCopy::End::NoMemory;
        break;
      }
      hal.read_block(PhysAddr{addr_of(*frame).value() + in_page}, m_io_buf.data(), n);
      u = m_user_copy->to_user(hal, p, VirtAddr{c.addr + done}, m_io_buf.data(), n, what);
    } else {
      u = m_user_copy->from_user(hal, p, m_io_buf.data(), VirtAddr{c.addr + done}, n, what);
      if (u.bytes > 0) {
        // The frame is looked up after the copy: the copy's faults may have reclaimed it.
        std::optional<Pfn> frame = m_ctx->faults.file_cache_page(hal, p, *cache, idx);
        if (!frame) {
          end = UserCopy::End::NoMemory;
          break;
        }
        hal.write_block(PhysAddr{addr_of(*frame).value() + in_page}, m_io_buf.data(), u.bytes);
        cache->dirty[idx] = true;
        m_ctx->swapper.file_page_dirtied(*frame);
      }
    }
    done += u.bytes;
    end = u.end;
  }
  *(write ? m_file_bytes_written : m_file_bytes_read) += done;
  // As Linux's read and write: the bytes moved before a bad address, EFAULT if none.
  if (done == 0 && end != UserCopy::End::Done) return fail(c.call, end == UserCopy::End::Efault ? EFAULT : ENOMEM);
  r.value = done;
  return r;
}

SyscallResult Syscalls::sys_munmap(Hal& hal, Process& p, const Syscall& c) {
  Mm& mm = *p.mm;
  if (c.length == 0 || (c.addr & kPageMask)) return fail(c.call, EINVAL);
  const uint64_t end = round_up(c.addr + c.length, kPageSize);
  if (end > m_user_top || end < c.addr) return fail(c.call, EINVAL);
  if (m_ctx->huge.cuts_giga(hal, mm, c.addr, end)) return fail(c.call, EINVAL);
  std::vector<VirtAddr> changed;
  unmap_range(hal, mm, VirtAddr{c.addr}, VirtAddr{end}, changed);
  m_host->invalidate(hal, mm, changed);
  if (mm.vmas.remove(VirtAddr{c.addr}, VirtAddr{end}) > 0) {
    hal.charge(m_ctx->cfg.costs.vma_update);
    ++m_vma_splits;
  }
  uint64_t locked = 0;
  for (const auto& [s, v] : mm.vmas) locked += v.locked ? v.bytes() >> kPageShift : 0;
  mm.locked_pages = locked;
  m_host->release_segments(hal);
  return {};
}

SyscallResult Syscalls::sys_mprotect(Hal& hal, Process& p, const Syscall& c) {
  Mm& mm = *p.mm;
  if (c.addr & kPageMask) return fail(c.call, EINVAL);
  const uint64_t end = round_up(c.addr + c.length, kPageSize);
  if (end < c.addr || end > m_user_top) return fail(c.call, ENOMEM);
  if (end == c.addr) return {};
  if (!mm.vmas.covers(VirtAddr{c.addr}, VirtAddr{end})) return fail(c.call, ENOMEM);
  for (auto it = mm.vmas.begin(); it != mm.vmas.end(); ++it) {
    const Vma& v = it->second;
    if (v.end.value() > c.addr && v.start.value() < end && v.shm_readonly && (c.prot & prot::kWrite)) {
      return fail(c.call, EACCES);
    }
  }
  if (m_ctx->huge.cuts_giga(hal, mm, c.addr, end)) return fail(c.call, EINVAL);
  if (!m_ctx->huge.split_range(hal, mm, VirtAddr{c.addr}, VirtAddr{end})) return fail(c.call, ENOMEM);
  size_t merged = 0;
  size_t n = mm.vmas.modify(VirtAddr{c.addr}, VirtAddr{end}, [&](Vma& v) { v.prot = c.prot; }, &merged);
  m_vma_merges += merged;
  hal.charge(m_ctx->cfg.costs.vma_update * (n + 2));
  m_vma_splits += n;
  std::vector<VirtAddr> changed;
  for_each_leaf(hal, mm.root, m_levels, VirtAddr{c.addr}, VirtAddr{end}, [&](VirtAddr va, PhysAddr, Pte e) {
    const Vma* v = mm.vmas.find(va);
    const bool may_write = v->shared || m_host->frame_refs(e.pfn()) <= 1;
    const uint64_t keep = e.raw() & (pte_bit::kPfnMask | pte_bit::kAccessed | pte_bit::kDirty);
    const uint64_t next = v->prot == 0 ? (keep | pte_bit::kUser | kSoftProtNone)
                                       : (keep | pte_bit::kPresent | leaf_flags(*v, may_write));
    if (next == e.raw()) return std::optional<uint64_t>();
    hal.charge(m_ctx->cfg.costs.pte_update);
    ++m_pages_protected;
    if (e.present()) changed.push_back(va);
    return std::optional<uint64_t>(next);
  });
  for (VirtAddr va : huge_leaves(hal, mm.root, m_levels, VirtAddr{c.addr}, VirtAddr{end}, 3)) {
    std::optional<PhysAddr> ea = leaf_entry(hal, mm.root, m_levels, va);
    Pte e{hal.read64(*ea)};
    const Vma* v = mm.vmas.find(va);
    const uint64_t keep = e.raw() & (pte_bit::kPfnMask | pte_bit::kAccessed | pte_bit::kDirty | pte_bit::kPageSize);
    // PROT_NONE on a 1 GiB page keeps it mapped like 4 KiB pages: P clear, the software bit set.
    const uint64_t next = v->prot == 0 ? (keep | pte_bit::kUser | kSoftProtNone)
                                       : (keep | pte_bit::kPresent | leaf_flags(*v, m_ctx->huge.giga_refs(e.pfn()) <= 1));
    hal.charge(m_ctx->cfg.costs.pte_update);
    hal.write64(*ea, next);
    ++m_pages_protected;
    changed.push_back(va);
  }
  m_host->invalidate(hal, mm, changed);
  // Protections uniform again over a split 2 MiB range of a huge area: collapse it (huge_pages.cpp).
  for (uint64_t b = c.addr & ~(kHugeBytes - 1); b < end; b += kHugeBytes) m_ctx->huge.maybe_collapse(hal, p, VirtAddr{b});
  return {};
}

SyscallResult Syscalls::sys_mlock(Hal& hal, Process& p, const Syscall& c, bool lock) {
  Mm& mm = *p.mm;
  const uint64_t start = c.addr & ~kPageMask;
  const uint64_t end = round_up(c.addr + c.length, kPageSize);
  if (end < start || end > m_user_top) return fail(c.call, EINVAL);
  if (end == start) return {};
  if (!mm.vmas.covers(VirtAddr{start}, VirtAddr{end})) return fail(c.call, ENOMEM);
  if (lock) {
    if (m_ctx->cfg.mlock_limit.value == 0) return fail(c.call, EPERM);
    uint64_t newly = 0;
    for (const auto& [s, v] : mm.vmas) {
      if (v.locked || v.end.value() <= start || v.start.value() >= end) continue;
      newly += (std::min(end, v.end.value()) - std::max(start, v.start.value())) >> kPageShift;
    }
    if ((mm.locked_pages + newly) << kPageShift > m_ctx->cfg.mlock_limit.value) return fail(c.call, ENOMEM);
  }
  size_t merged = 0;
  size_t n = mm.vmas.modify(VirtAddr{start}, VirtAddr{end}, [&](Vma& v) { v.locked = lock; }, &merged);
  m_vma_merges += merged;
  hal.charge(m_ctx->cfg.costs.vma_update * (n + 2));
  m_vma_splits += n;
  uint64_t locked = 0;
  for (const auto& [s, v] : mm.vmas) locked += v.locked ? v.bytes() >> kPageShift : 0;
  mm.locked_pages = locked;
  if (lock) {
    // mlock populates the range (mm_populate): every missing page is faulted in now.
    std::vector<bool> present((end - start) >> kPageShift, false);
    for_each_leaf(hal, mm.root, m_levels, VirtAddr{start}, VirtAddr{end}, [&](VirtAddr va, PhysAddr, Pte) {
      present[(va.value() - start) >> kPageShift] = true;
      return std::optional<uint64_t>();
    });
    for (uint64_t i = 0; i < present.size(); ++i) {
      if (present[i]) continue;
      const VirtAddr va{start + (i << kPageShift)};
      const Vma* v = mm.vmas.find(va);
      m_ctx->faults.count_populate(p);
      if (m_ctx->swapper.enabled()) {
        // A swapped-out page is read back; the call waits for the device.
        const std::optional<PhysAddr> ea = leaf_entry(hal, mm.root, m_levels, va);
        if (ea && is_swap_entry(Pte{hal.read64(*ea)})) {
          bool oom = false;
          m_ctx->swapper.swap_in(hal, p, *v, va, AccessKind::Read, false, oom);
          if (oom) return fail(c.call, ENOMEM);
          continue;
        }
      }
      const uint64_t thp = m_ctx->huge.thp_faults(), giga = m_ctx->huge.giga_faults();
      if (!m_ctx->faults.fault_in(hal, p, *v, va)) return fail(c.call, ENOMEM);
      // A huge page now maps the pages around va too (for_each_leaf saw no huge leaves): skip them, or each
      // would fault again (zeroing a 2 MiB block it could not map, then a 4 KiB page under the huge leaf).
      const uint64_t span = m_ctx->huge.giga_faults() != giga ? kGigaBytes : m_ctx->huge.thp_faults() != thp ? kHugeBytes : 0;
      if (span != 0) {
        const uint64_t huge_end = (va.value() & ~(span - 1)) + span;
        while (i + 1 < present.size() && start + ((i + 1) << kPageShift) < huge_end) present[++i] = true;
      }
    }
  } else if (m_ctx->swapper.enabled()) {
    // Unlocked pages are candidates for eviction again.
    for_each_leaf(hal, mm.root, m_levels, VirtAddr{start}, VirtAddr{end}, [&](VirtAddr, PhysAddr, Pte e) {
      m_ctx->swapper.unlock_page(e.pfn());
      return std::optional<uint64_t>();
    });
  }
  return {};
}

SyscallResult Syscalls::sys_brk(Hal& hal, Process& p, const Syscall& c) {
  Mm& mm = *p.mm;
  SyscallResult r;
  r.value = mm.brk;
  if (c.addr == 0) return r;  // query
  if (mm.heap_start == 0 || c.addr < mm.heap_start || c.addr > m_user_top) return fail(c.call, ENOMEM);
  const uint64_t old_end = round_up(mm.brk, kPageSize);
  const uint64_t new_end = round_up(c.addr, kPageSize);
  if (new_end > old_end) {
    if (mm.vmas.overlaps(VirtAddr{old_end}, VirtAddr{new_end})) return fail(c.call, ENOMEM);
    if (!commit_ok((new_end - old_end) >> kPageShift)) return fail(c.call, ENOMEM);
    if (old_end == mm.heap_start) {
      Vma v;
      v.start = VirtAddr{mm.heap_start};
      v.end = VirtAddr{new_end};
      v.name = "heap";
      v.heap = true;
      mm.vmas.insert(v);
    } else if (!mm.vmas.resize(VirtAddr{mm.heap_start}, VirtAddr{new_end})) {
      return fail(c.call, ENOMEM);
    }
    hal.charge(m_ctx->cfg.costs.vma_update);
    ++m_vma_splits;
  } else if (new_end < old_end) {
    std::vector<VirtAddr> changed;
    unmap_range(hal, mm, VirtAddr{new_end}, VirtAddr{old_end}, changed);
    m_host->invalidate(hal, mm, changed);
    mm.vmas.remove(VirtAddr{new_end}, VirtAddr{old_end});
    hal.charge(m_ctx->cfg.costs.vma_update);
    ++m_vma_splits;
  }
  mm.brk = c.addr;
  r.value = mm.brk;
  return r;
}

SyscallResult Syscalls::sys_fork(Hal& hal, Process& p, const Syscall& c) {
  if (!m_ctx->processes.may_fork(p, c.child)) {
    return fail(c.call, EAGAIN);
  }
  hal.charge(m_ctx->cfg.costs.fork);
  // A copy of the address space must fit the commit limit (a thread shares its parent's).
  if (!c.share_vm && !commit_ok(0)) return fail(c.call, ENOMEM);
  std::optional<Pid> child = m_ctx->processes.fork(hal, p, static_cast<size_t>(c.child), c.share_vm);
  if (!child) return fail(c.call, ENOMEM);
  SyscallResult r;
  r.value = *child;
  return r;
}

SyscallResult Syscalls::sys_shm_attach(Hal& hal, Process& p, const Syscall& c) {
  Mm& mm = *p.mm;
  if (c.length == 0 || (c.addr & kPageMask) || c.key.empty()) return fail(c.call, EINVAL);
  const uint64_t len = round_up(c.length, kPageSize);
  Segment* seg = nullptr;
  for (auto& [id, s] : m_ctx->segments) {
    if (s->key == c.key) seg = s.get();
  }
  if (seg != nullptr && len > seg->bytes) return fail(c.call, EINVAL);
  uint64_t at = c.addr;
  if (at == 0) {
    at = mm.vmas.find_gap_below(mm.mmap_base, 1ull << 16, len, kPageSize);
    if (at == 0) return fail(c.call, ENOMEM);
  } else if (at + len > m_user_top || mm.vmas.overlaps(VirtAddr{at}, VirtAddr{at + len})) {
    return fail(c.call, EINVAL);
  }
  if (mm.vmas.size() + 1 > m_ctx->cfg.max_map_count) return fail(c.call, ENOMEM);
  if (seg == nullptr) {
    hal.charge(m_ctx->cfg.costs.shm_create);
    std::optional<PhysAddr> obj = m_host->kobj_alloc(hal, m_ctx->shm_cache);
    if (!obj) return fail(c.call, ENOMEM);
    auto s = std::make_unique<Segment>();
    s->id = m_next_segment++;
    s->key = c.key;
    s->bytes = len;
    s->frames.assign(len >> kPageShift, 0);
    s->obj = *obj;
    seg = s.get();
    m_ctx->segments.emplace(s->id, std::move(s));
    ++m_segments_created;
  }
  Vma v;
  v.start = VirtAddr{at};
  v.end = VirtAddr{at + len};
  v.prot = c.prot;
  v.name = c.name.empty() ? "shm:" + c.key : c.name;
  v.shared = true;
  v.shm = seg->id;
  v.shm_readonly = !(c.prot & prot::kWrite);
  mm.vmas.insert(v);
  hal.charge(m_ctx->cfg.costs.vma_update);
  ++m_vma_splits;
  SyscallResult r;
  r.value = at;
  return r;
}

SyscallResult Syscalls::sys_mbind(Hal& hal, Process& p, const Syscall& c) {
  Mm& mm = *p.mm;
  if ((c.addr & kPageMask) || c.length == 0) return fail(c.call, EINVAL);
  const uint64_t end = round_up(c.addr + c.length, kPageSize);
  if (end < c.addr || end > m_user_top) return fail(c.call, EINVAL);
  for (NodeId n : c.policy.nodes) {
    if (n >= m_ctx->pmm.node_count()) return fail(c.call, EINVAL);
  }
  if (c.policy.kind != NumaPolicyKind::Default && c.policy.kind != NumaPolicyKind::Local && c.policy.nodes.empty()) {
    return fail(c.call, EINVAL);
  }
  if (!mm.vmas.covers(VirtAddr{c.addr}, VirtAddr{end})) return fail(c.call, EFAULT);
  size_t merged = 0;
  size_t n = mm.vmas.modify(VirtAddr{c.addr}, VirtAddr{end}, [&](Vma& v) { v.policy = c.policy; }, &merged);
  m_vma_merges += merged;
  hal.charge(m_ctx->cfg.costs.vma_update * (n + 2));
  m_vma_splits += n;
  return {};
}

}  // namespace vmsim::fw
