// Firmware kernel façade: boot, processes, page faults, NUMA placement, shootdowns, teardown; swapping and
// reclaim are the swapper's (swapper.cpp).
#include "firmware/kernel/kernel.hpp"
#include "firmware/sched/run_queue.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "firmware/kernel/kernel_internal.hpp"
#include "firmware/vm/page_table.hpp"
#include "common/error.hpp"
#include "common/hashed_pt.hpp"
#include "common/pte.hpp"
#include "common/units.hpp"

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

const std::vector<std::pair<int, const char*>>& errno_names() {
  static const std::vector<std::pair<int, const char*>> t = {
      {EINVAL, "EINVAL"}, {ENOMEM, "ENOMEM"}, {EACCES, "EACCES"}, {EPERM, "EPERM"},
      {EFAULT, "EFAULT"}, {EAGAIN, "EAGAIN"}, {EEXIST, "EEXIST"}};
  return t;
}

}  // namespace

const char* to_string(SyscallKind k) { return config::enum_name(k); }


void KernelConfig::validate(const std::string& path) const {
  config::require(page_table_levels == 4 || page_table_levels == 5, path, "page_table_levels",
                  std::to_string(page_table_levels), "must be 4 or 5");
  config::require(reserved_low.value % kPageSize == 0, path, "reserved_low", format_bytes(reserved_low),
                  "must be a multiple of 4KiB");
  config::require(page_descriptor_bytes <= kPageSize, path, "page_descriptor_bytes",
                  std::to_string(page_descriptor_bytes), "must be <= 4096");
  config::require(physmem.dma_limit.value % kPageSize == 0, path + ".physmem", "dma_limit",
                  format_bytes(physmem.dma_limit), "must be a multiple of 4KiB");
  config::require(physmem.pcp_high == 0 || (physmem.pcp_batch >= 1 && physmem.pcp_batch <= physmem.pcp_high),
                  path + ".physmem", "pcp_batch", std::to_string(physmem.pcp_batch),
                  "must be between 1 and pcp_high (" + std::to_string(physmem.pcp_high) + ")");
  config::require(overcommit_ratio >= 1 && overcommit_ratio <= 1000, path, "overcommit_ratio",
                  std::to_string(overcommit_ratio), "must be between 1 and 1000");
  config::require(max_map_count >= 1, path, "max_map_count", std::to_string(max_map_count), "must be >= 1");
  config::require(stack_limit.value % kPageSize == 0, path, "stack_limit", format_bytes(stack_limit),
                  "must be a multiple of 4KiB");
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string fp = path + ".files[" + std::to_string(i) + "]";
    config::require(!files[i].name.empty(), fp, "name", files[i].name, "a file needs a name");
    config::require(files[i].size.value > 0 && files[i].size.value % kPageSize == 0, fp, "size",
                    format_bytes(files[i].size), "must be a positive multiple of 4KiB");
    for (size_t j = 0; j < i; ++j) {
      config::require(files[j].name != files[i].name, fp, "name", files[i].name, "another file has that name");
    }
  }
  swap.validate(path + ".swap");
}

Kernel::Kernel(const KernelConfig& cfg, const std::vector<NodeRange>& nodes,
               const std::vector<NodeId>& core_node, const std::vector<ProcessSpec>& specs)
    : m_cfg(cfg),
      m_levels(static_cast<unsigned>(cfg.page_table_levels)),
      m_user_top(1ull << (kPageShift + 9 * cfg.page_table_levels - 1)),
      m_core_node(core_node),
      m_copy_buf(kPageSize),
      m_processes(m_stats, specs) {
  // Node 0 loses the firmware area below reserved_low, and with walker.format hashed the anchors of
  // the hashed page table right above it (zero at power-on: every anchor starts invalid).
  std::vector<NodeRange> usable = nodes;
  const uint64_t hashed_bytes = (cfg.hash_buckets * hpt::kEntryBytes + kPageMask) & ~kPageMask;
  if (cfg.hash_buckets != 0) m_hashed = std::make_unique<HashedTable>(PhysAddr{cfg.reserved_low.value}, cfg.hash_buckets);
  const uint64_t low = (cfg.reserved_low.value + hashed_bytes) >> kPageShift;
  if (cfg.hash_buckets != 0 && (usable.empty() || usable[0].base.value() + usable[0].frames <= low + 256)) {
    throw InputError("system.core.mmu.walker.hash_buckets: bad value '" + std::to_string(cfg.hash_buckets) +
                     "' (the " + format_bytes(Bytes{hashed_bytes}) + " table leaves less than 1MiB of node 0)");
  }
  if (usable.empty() || usable[0].base.value() + usable[0].frames <= low + 256) {
    throw InputError("firmware.reserved_low: bad value '" + format_bytes(cfg.reserved_low) +
                     "' (leaves less than 1MiB of node 0)");
  }
  if (usable[0].base.value() < low) {
    usable[0].frames -= low - usable[0].base.value();
    usable[0].base = Pfn{low};
  }
  m_huge.reserve_pool(usable, cfg.hugepages_1g);  // the 1 GiB pool, from the top of the nodes
  PhysMemConfig pm;
  pm.dma_limit = cfg.physmem.dma_limit;
  pm.cpus = std::max<uint64_t>(1, core_node.size());
  pm.pcp_high = cfg.physmem.pcp_high;
  pm.pcp_batch = cfg.physmem.pcp_batch;
  pm.lazy_coalescing = cfg.physmem.lazy_coalescing;
  try {
    m_pmm = std::make_unique<PhysicalMemoryManager>(usable, pm);
  } catch (const std::invalid_argument& e) {
    throw InputError(std::string("firmware.physmem: ") + e.what());
  }
  // Each node's page-descriptor array (its memmap) is reserved from that node, as Linux places it.
  for (NodeId n = 0; n < nodes.size(); ++n) {
    uint64_t need = (nodes[n].frames * cfg.page_descriptor_bytes + kPageSize - 1) / kPageSize;
    uint64_t got = 0;
    while (got < need) {
      unsigned order = PhysicalMemoryManager::kMaxOrder;
      while (order > 0 && (uint64_t{1} << order) > need - got) --order;
      std::optional<PageAlloc> b;
      while (!(b = m_pmm->alloc(order, kGfpKernel, {n})) && order > 0) --order;
      if (!b) {
        throw InputError("firmware.page_descriptor_bytes: bad value '" + std::to_string(cfg.page_descriptor_bytes) +
                         "' (the page descriptors do not fit in memory)");
      }
      got += uint64_t{1} << order;
    }
    m_reserved_frames += got;
  }
  m_slab_pages = std::make_unique<PmmPageSource>(*m_pmm, kGfpKernel);
  m_slab = std::make_unique<SlabAllocator>(*m_slab_pages);
  m_task_cache = &m_slab->create_cache("task_struct", kTaskBytes, 64);
  m_mm_cache = &m_slab->create_cache("mm_struct", kMmBytes, 64);
  m_vma_cache = &m_slab->create_cache("vm_area_struct", kVmaBytes, 8);
  m_shm_cache = &m_slab->create_cache("shmid_kernel", kShmBytes, 8);

  for (NodeId n = 0; n < nodes.size(); ++n) {
    auto g = std::make_unique<stats::Group>(m_frame_stats, "node" + std::to_string(n));
    m_node_stats.push_back(std::make_unique<stats::Formula>(
        *g, "free", "frames", "Free frames of this node at the end of the run",
        [this, n] { return static_cast<double>(m_pmm->free_frames(n)); }, true));
    m_node_stats.push_back(std::make_unique<stats::Formula>(
        *g, "extfrag_order9", "index",
        "Fragmentation index for a 2 MiB (order-9) block at the end (-1: a block is free; towards 1: "
        "failure from fragmentation, towards 0: from lack of memory)",
        [this, n] { return extfrag_index(m_pmm->free_area(n), 9); }));
    m_node_stats.push_back(std::make_unique<stats::Formula>(
        *g, "free_order9_blocks", "blocks", "Free blocks of order 9 or more (2 MiB and up) at the end",
        [this, n] {
          FreeAreaCounts c = m_pmm->free_area(n);
          uint64_t b = 0;
          for (unsigned o = 9; o <= PhysicalMemoryManager::kMaxOrder; ++o) b += c[o] << (o - 9);
          return static_cast<double>(b);
        },
        true));
    m_node_groups.push_back(std::move(g));
  }
  for (const auto& [k, kname] : config::EnumNames<SyscallKind>::table()) {
    (void)k;
    m_sys_calls.push_back(std::make_unique<stats::Scalar>(m_sys_stats, kname, "count",
                                                          std::string("Calls of ") + kname));
  }
  for (const auto& [e, ename] : errno_names()) {
    m_errnos.push_back(e);
    m_sys_errors.push_back(std::make_unique<stats::Scalar>(m_sys_stats, std::string("errno_") + ename, "count",
                                                           std::string("Calls that failed with ") + ename));
  }
  m_swapper_link = std::make_unique<SwapperLink>(*this);
  m_swapper = std::make_unique<Swapper>(
      m_stats,
      SwapperContext{m_cfg, m_levels, m_user_top, nodes.size(), m_core_node, *m_pmm, m_processes.all(),
                     m_processes.live_mms(), m_pstats,
                     m_segments, m_extra_refs, m_freed, m_major, m_invlpg, m_file_writebacks},
      *m_swapper_link);
  m_numa = std::make_unique<Numa>(m_cfg.costs, nodes, m_core_node, *m_pmm, *m_swapper, m_pstats, m_data_frames);
  m_huge_link = std::make_unique<HugePagesLink>(*this);
  m_huge.connect(HugePagesContext{m_cfg, m_hashed != nullptr, m_core_node, *m_pmm, *m_swapper, m_processes.live_mms(),
                                  m_segments,
                                  m_extra_refs, m_pstats, m_freed, m_cow_shared_giga, m_invlpg},
                 *m_huge_link);
  for (size_t i = 0; i < specs.size(); ++i) {
    m_pstats.push_back(std::make_unique<ProcStats>(m_stats, i, nodes.size(), cfg.swap.replacement.tau));
  }
}

Kernel::~Kernel() = default;

std::string Kernel::memory_report() const {
  const std::vector<FreeAreaRow> rows = m_pmm->free_area_report();
  return "# /proc/buddyinfo: free blocks per order (0..10) per node and zone\n" + format_buddyinfo(rows) +
         "\n# extfrag index per order (-1: a block of that order is free)\n" + format_extfrag_index(rows) +
         "\n# unusable free space index per order\n" + format_unusable_index(rows) +
         "\n# slabinfo: kernel object caches\n" + m_slab->slabinfo();
}

uint64_t Kernel::blocked_until(Pid pid) const { return alive(pid) ? m_processes.all()[pid - 1]->blocked_until : 0; }

uint64_t Kernel::swapped_pages(Pid pid) const { return alive(pid) ? m_processes.all()[pid - 1]->mm->swap_pages : 0; }

std::string Kernel::working_set_csv() const {
  std::string out = "memory_ops,process,name,pages\n";
  for (size_t i = 0; i < m_pstats.size(); ++i) {
    for (const auto& [t, pages] : m_pstats[i]->ws->series()) {
      out += std::to_string(t) + "," + std::to_string(i) + "," + m_processes.spec(i).name + "," + std::to_string(pages) + "\n";
    }
  }
  return out;
}

void Kernel::run_background(Hal& hal) {
  if (!m_swapper->enabled()) return;
  KernelSection section(hal);
  m_swapper->run_background(hal);
}

Process& Kernel::process(Pid pid) {
  return m_processes.get(pid);
}

bool Kernel::alive(Pid pid) const { return m_processes.alive(pid); }

const bool* Kernel::alive_flag(Pid pid) const { return &m_processes.all().at(pid - 1)->alive; }

uint64_t Kernel::resident_pages(Pid pid) const {
  if (!m_processes.alive(pid)) return 0;
  return m_processes.all()[pid - 1]->mm->resident;
}

uint32_t Kernel::frame_refs(Pfn pfn) const {
  if (!m_pmm->is_allocated(pfn)) return 0;
  auto it = m_extra_refs.find(pfn.value());
  return 1 + (it == m_extra_refs.end() ? 0 : it->second);
}

std::unique_ptr<Scheduler> Kernel::make_scheduler(std::vector<Scheduler::Entry> entries) const {
  return std::make_unique<RunQueue>(std::move(entries), m_cfg.scheduler.time_slice);
}

uint64_t Kernel::major_faults(size_t index) const {
  return index < m_pstats.size() ? m_pstats[index]->major.value() : 0;
}

uint64_t* Kernel::access_counters(Pid pid) { return m_pstats[process(pid).index]->access_counts; }

std::pair<uint64_t, uint64_t> Kernel::local_range(CoreId core) const { return m_numa->local_range(core); }

std::optional<PhysAddr> Kernel::kobj_alloc(Hal& hal, SlabCache& cache) {
  hal.charge(m_cfg.costs.slab_alloc);
  return cache.alloc();
}

void Kernel::kobj_free(Hal& hal, SlabCache& cache, PhysAddr obj) {
  hal.charge(m_cfg.costs.slab_free);
  cache.free(obj);
}

bool Kernel::sync_vma_objects(Hal& hal, Mm& mm) {
  while (mm.vma_objs.size() > mm.vmas.size()) {
    kobj_free(hal, *m_vma_cache, mm.vma_objs.back());
    mm.vma_objs.pop_back();
  }
  while (mm.vma_objs.size() < mm.vmas.size()) {
    std::optional<PhysAddr> o = kobj_alloc(hal, *m_vma_cache);
    if (!o) return false;
    mm.vma_objs.push_back(*o);
  }
  return true;
}

std::optional<Pfn> Kernel::alloc_table_frame(Hal& hal, Mm& mm) {
  hal.charge(m_cfg.costs.frame_alloc);
  std::optional<PageAlloc> a = m_pmm->alloc_page(hal.core_id(), kGfpKernel | Gfp::Zero,
                                                  {m_core_node[hal.core_id()]});
  if (!a) return std::nullopt;
  hal.zero_frame(a->pfn);
  ++m_table_frames;
  ++mm.tables;
  return a->pfn;
}

std::optional<Pfn> Kernel::alloc_user_frame(Hal& hal, Process& p, const Vma& vma, VirtAddr va, bool zero) {
  return alloc_user_block(hal, p, vma, va, 0, zero);
}

std::optional<Pfn> Kernel::alloc_user_block(Hal& hal, Process& p, const Vma& vma, VirtAddr va, unsigned order,
                                            bool zero) {
  return m_numa->alloc_user_block(hal, p, vma, va, order, zero);
}

void Kernel::get_frame(Pfn pfn) {
  uint32_t& r = m_extra_refs[pfn.value()];
  ++r;
  m_shared_peak = std::max<uint64_t>(m_shared_peak, m_extra_refs.size());
}

void Kernel::put_frame(Hal& hal, Pfn pfn) {
  auto it = m_extra_refs.find(pfn.value());
  if (it != m_extra_refs.end()) {
    if (--it->second == 0) m_extra_refs.erase(it);
    return;
  }
  // The last reference to a tracked page: it leaves its policy and the swap cache.
  if (m_swapper->enabled()) m_swapper->forget(pfn);
  if (m_huge.put_split_frame(hal, pfn)) return;  // a frame of a split 2 MiB block
  hal.charge(m_cfg.costs.frame_free);
  m_pmm->free_page(hal.core_id(), pfn);
  ++m_freed;
}

std::shared_ptr<Mm> Kernel::new_mm(Hal& hal, const ProcessSpec& spec) {
  auto mm = std::make_shared<Mm>();
  mm->id = m_processes.next_mm_id();
  // PCIDs 1..4095 in turn (0 is the kernel's); a reused PCID's stale entries are dropped at teardown.
  mm->pcid = static_cast<uint16_t>((mm->id - 1) % 4095 + 1);
  mm->cpus.assign(m_core_node.size(), false);
  mm->heap_start = spec.heap_base;
  mm->brk = spec.heap_base;
  mm->mmap_base = spec.mmap_base;
  std::optional<PhysAddr> obj = kobj_alloc(hal, *m_mm_cache);
  if (!obj) return nullptr;
  mm->obj = *obj;
  if (m_hashed) {
    // One global table: the root register holds its base, the PCID tells the address spaces apart.
    for (const Mm* other : m_processes.live_mms()) {
      if (other->pcid == mm->pcid) {
        throw SimulationError("hashed page table: more than 4095 address spaces alive at once (PCID " +
                              std::to_string(mm->pcid) + " is taken)");
      }
    }
    mm->root = m_hashed->base();
    mm->tables = 0;
    m_processes.add_mm(mm.get());
    return mm;
  }
  hal.charge(m_cfg.costs.frame_alloc);
  std::optional<PageAlloc> root = m_pmm->alloc_page(hal.core_id(), kGfpKernel | Gfp::Zero, {m_core_node[hal.core_id()]});
  if (!root) {
    kobj_free(hal, *m_mm_cache, mm->obj);
    return nullptr;
  }
  hal.zero_frame(root->pfn);
  ++m_table_frames;
  mm->root = addr_of(root->pfn);
  m_processes.add_mm(mm.get());
  return mm;
}

std::optional<Pid> Kernel::new_process(Hal& hal, size_t index, std::shared_ptr<Mm> mm) {
  // Registered before further HAL calls: in the AT mode a memory access waits, and another core may
  // enter the kernel meanwhile (a real kernel would hold a lock here).
  Process& proc = m_processes.add(index, std::move(mm));
  std::optional<PhysAddr> obj = kobj_alloc(hal, *m_task_cache);
  if (!obj) {
    proc.alive = false;
    return std::nullopt;
  }
  proc.obj = *obj;
  m_processes.count_created();
  return proc.pid;
}

std::optional<Pid> Kernel::create_process(Hal& hal, size_t index) {
  KernelSection section(hal);
  hal.charge(m_cfg.costs.process_create);
  const ProcessSpec& spec = m_processes.spec(index);
  std::shared_ptr<Mm> mm = new_mm(hal, spec);
  if (!mm) return std::nullopt;
  for (const Vma& v : spec.vmas) mm->vmas.insert(v);
  std::optional<Pid> pid = new_process(hal, index, mm);
  if (!pid || !sync_vma_objects(hal, *mm)) {
    if (pid) teardown(hal, process(*pid));
    return std::nullopt;
  }
  return pid;
}

void Kernel::switch_to(Hal& hal, Pid pid) {
  KernelSection section(hal);
  Process& p = process(pid);
  if (!p.alive) return;  // killed while it waited (OOM killer, thread group): its core ends it next
  p.mm->cpus[hal.core_id()] = true;
  m_processes.count_switch();
  hal.set_root(p.mm->root, p.mm->pcid);
}

bool Kernel::fault_in(Hal& hal, Process& p, const Vma& vma, VirtAddr va) {
  Mm& mm = *p.mm;
  const VirtAddr page{va.value() & ~kPageMask};
  Pfn frame{0};
  if (m_huge.try_fault(hal, p, vma, page)) return true;  // a 1 GiB or 2 MiB page (huge_pages.cpp)
  if (vma.shm != 0) {
    Segment& seg = *m_segments.at(vma.shm);
    const uint64_t idx = vma.shm_page(page);
    if (seg.frames[idx] == 0) {
      std::optional<Pfn> f = alloc_user_frame(hal, p, vma, page, seg.file < 0);
      if (!f) return false;
      if (seg.file >= 0) {
        // Major fault: the page comes from the file store into the page cache.
        const FileConfig& file = m_cfg.files[static_cast<size_t>(seg.file)];
        hal.charge(m_cfg.costs.file_read);
        if (const std::vector<uint8_t>* written = m_swapper->written_file_page(seg.file, idx)) {
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
        hal.write_block(addr_of(*f), m_copy_buf.data(), kPageSize);
        ++m_major;
      } else {
        ++m_shm_faults;
      }
      seg.frames[idx] = f->value() + 1;  // the segment's (page cache's) own reference
    } else {
      ++m_shm_faults;
    }
    frame = Pfn{seg.frames[idx] - 1};
    get_frame(frame);
  } else {
    std::optional<Pfn> f = alloc_user_frame(hal, p, vma, page, true);
    if (!f) return false;
    frame = *f;
    ++m_demand_zero;
  }
  // Private anonymous 4 KiB pages and page-cache pages can be evicted (not shared anonymous memory).
  const bool file_page = vma.shm != 0 && m_segments.at(vma.shm)->file >= 0;
  const bool track = m_swapper->enabled() && (vma.shm == 0 || file_page);

  // A private file page is mapped read-only: a write breaks the sharing with the page cache (COW).
  const bool writable = vma.shm == 0 || vma.shared;
  const uint64_t flags = vma.prot == 0 ? (pte_bit::kUser | kSoftProtNone) : leaf_flags(vma, writable);
  if (m_hashed) {
    // Hashed table: 4 KiB entries only (scripts and huge areas are refused at configuration).
    if (!m_hashed->map(hal, mm.pcid, page, frame, flags, [&]() { return alloc_table_frame(hal, mm); })) {
      put_frame(hal, frame);
      return false;
    }
    mm.hashed_pages.insert(page.value() >> kPageShift);
    ++mm.resident;
    return true;
  }
  PhysAddr pte{0};
  bool ok =
      map_page(hal, mm.root, m_levels, page, frame, flags, [&]() { return alloc_table_frame(hal, mm); }, &pte);
  if (!ok) {
    put_frame(hal, frame);
    return false;
  }
  if (vma.prot == 0) {
    // map_page set P; a PROT_NONE page keeps its frame with P clear.
    hal.write64(pte, Pte::make(frame, flags).raw());
  }
  if (track) {
    m_swapper->rmap_add(frame, mm, page, pte, m_pmm->zone_of(frame)->first, hal.memory_ops());
    if (file_page) m_swapper->set_file_page(frame, vma.shm, vma.shm_page(page));
  }
  ++mm.resident;
  return true;
}

CowBreak Kernel::break_cow(Hal& hal, Process& p, const Vma& vma, VirtAddr va) {
  Mm& mm = *p.mm;
  const VirtAddr page{va.value() & ~kPageMask};
  hal.charge(m_cfg.costs.cow_break);
  std::optional<PhysAddr> ea = leaf_entry(hal, mm.root, m_levels, page);
  if (!ea) return CowBreak::NoFrame;
  Pte old{hal.read64(*ea)};
  if (!old.present()) return m_swapper->enabled() ? CowBreak::Done : CowBreak::NoFrame;  // evicted meanwhile: the retry faults it back
  if (old.writable()) return CowBreak::Done;  // another thread broke the sharing first
  if (old.huge() && m_huge.giga_refs(old.pfn()) > 0) return m_huge.break_cow_giga(hal, p, vma, va, *ea, old);  // 1 GiB
  // A frame in the swap cache is still what the slot's other swap entries will map: the writer may
  // keep it only if the slot can be dropped (no other reference).
  const bool slot_free = m_swapper->make_exclusive(old.pfn());
  if (frame_refs(old.pfn()) <= 1 && slot_free) {
    // The other sharers are gone: take the frame over.
    hal.write64(*ea, old.raw() | pte_bit::kWritable);
    ++m_cow_reuse;
  } else {
    std::optional<Pfn> f = alloc_user_frame(hal, p, vma, page, false);
    if (!f) return CowBreak::NoFrame;
    if (m_swapper->enabled()) {
      // The allocation may have reclaimed: the PTE must still be the one the copy is made from.
      const Pte now{hal.read64(*ea)};
      if (now.raw() != old.raw()) {
        hal.charge(m_cfg.costs.frame_free);
        m_pmm->free_page(hal.core_id(), *f);
        ++m_freed;
        return CowBreak::Done;  // the retry sees the new state
      }
    }
    hal.read_block(old.frame_addr(), m_copy_buf.data(), kPageSize);
    hal.write_block(addr_of(*f), m_copy_buf.data(), kPageSize);
    hal.charge(m_cfg.costs.pte_update);
    const uint64_t keep = old.raw() & ~pte_bit::kPfnMask & ~pte_bit::kDirty & ~pte_bit::kAccessed;
    hal.write64(*ea, Pte::make(*f, keep | pte_bit::kWritable).raw());
    if (m_swapper->enabled()) {
      m_swapper->rmap_remove(old.pfn(), mm, page);
      m_swapper->rmap_add(*f, mm, page, *ea, m_pmm->zone_of(*f)->first, hal.memory_ops());
    }
    put_frame(hal, old.pfn());
    ++m_cow_copies;
    ++m_pstats[p.index]->cow;
  }
  invalidate(hal, mm, {page});
  return CowBreak::Done;
}

void Kernel::invalidate(Hal& hal, Mm& mm, const std::vector<VirtAddr>& pages) {
  for (VirtAddr va : pages) {
    hal.charge(m_cfg.costs.tlb_invalidate);
    hal.invlpg(va);
    ++m_invlpg;
  }
  if (m_batch != nullptr) {
    m_batch->insert(m_batch->end(), pages.begin(), pages.end());
    return;
  }
  // Outside a stopped section (teardown of an address space nobody runs): a plain shootdown.
  std::vector<CoreId> targets = other_cores(hal, mm);
  if (targets.empty() || pages.empty()) return;
  hal.shootdown_begin(targets);
  finish_shootdown(hal, targets, mm.root, mm.pcid, pages);
}

void Kernel::finish_shootdown(Hal& hal, const std::vector<CoreId>& targets, PhysAddr root, uint16_t pcid,
                              const std::vector<VirtAddr>& pages) {
  if (targets.empty()) return;
  uint64_t receiver = 0;
  if (!pages.empty()) {
    ++m_shootdowns;
    m_ipis += targets.size();
    hal.charge(m_cfg.costs.ipi_send * targets.size());
    receiver = m_cfg.costs.ipi_receive;
  }
  hal.shootdown_end(targets, root, pcid, pages, receiver);
}

FaultOutcome Kernel::handle_page_fault(Hal& hal, Pid pid, VirtAddr va, AccessKind kind, uint32_t error_code) {
  KernelSection section(hal);
  if (!alive(pid)) return FaultOutcome::Killed;  // killed (OOM, or with its thread group) while this core waited for the kernel
  // Other cores running this address space stop at an instruction boundary while its tables change
  // (no IPI is charged unless translations are invalidated).
  std::shared_ptr<Mm> mm = process(pid).mm;
  std::vector<CoreId> targets = other_cores(hal, *mm);
  if (!targets.empty()) hal.shootdown_begin(targets);
  std::vector<VirtAddr> pages;
  m_batch = &pages;
  FaultOutcome out = fault(hal, pid, va, kind, error_code, !targets.empty() || mm->users > 1);
  m_batch = nullptr;
  finish_shootdown(hal, targets, mm->root, mm->pcid, pages);
  return out;
}

FaultOutcome Kernel::fault(Hal& hal, Pid pid, VirtAddr va, AccessKind kind, uint32_t error_code, bool threaded) {
  Process& p = process(pid);
  Mm& mm = *p.mm;
  const uint64_t vpage = va.value() & ~kPageMask;
  if (p.blocked_page == vpage) {
    // The retry of an access that slept on a swap-in: the same fault goes on (already counted).
    p.blocked_page = UINT64_MAX;
    const uint64_t slept_ns = (hal.now_ps() - std::min(hal.now_ps(), p.blocked_since)) / 1000;
    m_swapper->add_blocked_time(slept_ns);
    m_pstats[p.index]->swap_wait += slept_ns;
  } else {
    p.blocked_page = UINT64_MAX;  // the retry did not fault there (mapped meanwhile): no continuation left
    ++m_faults;
    ++m_pstats[p.index]->faults;
    if (m_swapper->enabled()) m_pstats[p.index]->ws->reference(vpage >> kPageShift, hal.memory_ops());
  }
  hal.charge(m_cfg.costs.fault_entry + m_cfg.costs.vma_lookup);
  if (!is_canonical(va, m_levels)) {
    ++m_segv_no_vma;  // a #GP on real hardware; reported as SIGSEGV
    kill(hal, p, va, kind, error_code, "non-canonical address");
    return FaultOutcome::Killed;
  }
  const Vma* vma = mm.vmas.find(va);
  if (vma == nullptr) {
    // Stack growth: just below a grows-down area, within the stack limit.
    const Vma* above = mm.vmas.next_above(va);
    const uint64_t page = va.value() & ~kPageMask;
    if (above != nullptr && above->grows_down && above->start.value() > page &&
        above->end.value() - page <= m_cfg.stack_limit.value) {
      Vma grown = *above;
      mm.vmas.remove(above->start, above->end);
      grown.start = VirtAddr{page};
      mm.vmas.insert(grown);
      hal.charge(m_cfg.costs.vma_update);
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
  if (threaded && m_hashed) {
    if (m_hashed->lookup(hal, mm.pcid, VirtAddr{va.value() & ~kPageMask}).present()) {
      ++m_spurious;
      return FaultOutcome::Retry;
    }
  } else if (threaded || m_swapper->enabled()) {
    // Another thread may have mapped the page since this one's walk (a spurious fault), or the entry is
    // a swap entry (a swap-in).
    std::optional<PhysAddr> ea = leaf_entry(hal, mm.root, m_levels, VirtAddr{vpage});
    const Pte e = ea ? Pte{hal.read64(*ea)} : Pte{0};
    if (e.present()) {
      ++m_spurious;
      return FaultOutcome::Retry;
    }
    if (m_swapper->enabled() && is_swap_entry(e)) {
      for (;;) {
        bool oom = false;
        const FaultOutcome out = m_swapper->swap_in(hal, p, *vma, va, kind, true, oom);
        if (!oom) return out;
        bool self = false;
        if (!m_swapper->oom_kill(hal, p, va, kind, error_code, self)) {
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
    if (m_swapper->oom_kill(hal, p, va, kind, error_code, self)) continue;
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

void Kernel::kill(Hal& hal, Process& p, VirtAddr va, AccessKind kind, uint32_t error_code, const std::string& reason,
                  const char* signal) {
  hal.charge(m_cfg.costs.kill);
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
  m_processes.count_killed();
  std::shared_ptr<Mm> group = p.mm;
  teardown(hal, p);
  kill_thread_group(hal, *group, r);  // threads.cpp
}

void Kernel::exit_process(Hal& hal, Pid pid) {
  KernelSection section(hal);
  Process& p = process(pid);
  if (!p.alive) return;
  m_processes.count_exited();
  teardown(hal, p);
}

void Kernel::teardown(Hal& hal, Process& p) {
  hal.charge(m_cfg.costs.process_exit);
  p.alive = false;
  // Children this process was to fork will never start.
  m_processes.abort_children(p);
  std::shared_ptr<Mm> mm = std::move(p.mm);
  if (--mm->users == 0) {
    if (m_cfg.check_contents) check_contents(hal, *mm, p);  // debug.cpp
    if (m_hashed) {
      for (uint64_t vpn : mm->hashed_pages) {
        const Pte e = m_hashed->unmap(hal, mm->pcid, VirtAddr{vpn << kPageShift}, [&](Pfn f) {
          hal.charge(m_cfg.costs.frame_free);
          m_pmm->free_page(hal.core_id(), f);
          ++m_freed;
        });
        if (e.raw() & (pte_bit::kPresent | kSoftProtNone)) put_frame(hal, e.pfn());
      }
      mm->hashed_pages.clear();
    } else {
      harvest_file_dirty(hal, *mm, VirtAddr{0}, VirtAddr{m_user_top});
      destroy_tables(
          hal, mm->root, m_levels,
          [&](Pfn f) {
            if (m_swapper->enabled()) m_swapper->rmap_remove_mm(f, *mm);
            put_frame(hal, f);
          },
          [&](Pfn f) {
            hal.charge(m_cfg.costs.frame_free);
            m_pmm->free_page(hal.core_id(), f);
            ++m_freed;
          },
          [&](Pfn f, unsigned level) {
            hal.charge(m_cfg.costs.frame_free);
            if (level == 3) {
              m_huge.give_back_giga(f);
            } else {
              m_pmm->free(f, kHugeOrder);
              m_freed += kHugeFrames;
            }
          },
          [&](uint64_t raw) { m_swapper->release_swap_entry(hal, *mm, swap_slot_of(Pte{raw})); });
    }
    // The PCID may be handed to another address space later: drop its translations and walk-cache
    // entries here and on every other core that ran it.
    hal.invalidate_pcid(mm->pcid);
    std::vector<CoreId> targets;
    for (CoreId c = 0; c < mm->cpus.size(); ++c) {
      if (mm->cpus[c] && c != hal.core_id()) targets.push_back(c);
    }
    if (!targets.empty()) {
      hal.shootdown_begin(targets);
      ++m_shootdowns;
      m_ipis += targets.size();
      hal.charge(m_cfg.costs.ipi_send * targets.size());
      hal.shootdown_end(targets, mm->root, mm->pcid, {}, m_cfg.costs.ipi_receive);
    }
    m_processes.remove_mm(mm.get());
    mm->resident = 0;
    mm->vmas = VmaSet();
    sync_vma_objects(hal, *mm);
    kobj_free(hal, *m_mm_cache, mm->obj);
    release_segments(hal);
  }
  kobj_free(hal, *m_task_cache, p.obj);
  m_slab->shrink_all();
}

}  // namespace vmsim::fw
