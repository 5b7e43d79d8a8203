// The firmware kernel's façade: configuration checks, boot (frame manager, slab caches, subsystems), the trap
// entry points forwarding to the subsystems, and the services they share (frames, kernel objects, segments,
// TLB shootdowns).
#include "firmware/kernel/kernel.hpp"
#include "firmware/sched/run_queue.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "firmware/kernel/kernel_internal.hpp"
#include "firmware/kernel/tiering.hpp"
#include "firmware/vm/page_table.hpp"
#include "common/error.hpp"
#include "common/hashed_pt.hpp"
#include "common/pte.hpp"
#include "common/units.hpp"

namespace vmsim::fw {

Kernel::Kernel(const KernelConfig& cfg, const std::vector<NodeRange>& nodes,
               const std::vector<NodeId>& core_node, const std::vector<ProcessSpec>& specs)
    : m_cfg(cfg),
      m_levels(static_cast<unsigned>(cfg.page_table_levels)),
      m_user_top(1ull << (kPageShift + 9 * cfg.page_table_levels - 1)),
      m_core_node(core_node),
      m_faults(m_stats, m_levels, m_user_top),
      m_processes(m_stats, specs),
      m_syscalls(m_stats, m_levels, m_user_top) {
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
  if (cfg.kpti && cfg.hash_buckets != 0) {
    throw InputError("firmware.kpti: bad value 'true' (needs radix page tables; system.core.mmu.walker.format is hashed)");
  }
  if (cfg.kernel_virtual_access && cfg.hash_buckets == 0) {
    // The kernel half's tables go in the firmware area below reserved_low (frame 0 stays unused), outside
    // the frame allocator, so user frames are placed as without them.
    uint64_t phys = 0;
    for (const NodeRange& n : nodes) phys = std::max(phys, (n.base.value() + n.frames) << kPageShift);
    m_khalf = std::make_unique<KernelHalf>(m_levels, phys, cfg.direct_map_gbpages, Pfn{1},
                                           Pfn{cfg.reserved_low.value >> kPageShift}, cfg.kpti);
    m_core_root.assign(core_node.size(), 0);
    if (cfg.kpti) m_core_kpti.assign(core_node.size(), CoreKpti{});
    m_core_direct_map.assign(core_node.size(), false);
  }
  m_faults.huge().reserve_pool(usable, cfg.hugepages_1g);  // the 1 GiB pool, from the top of the nodes
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
  // A full node falls back over the others nearest first, as Linux orders its zonelists by distance.
  if (cfg.node_distance.size() == nodes.size()) {
    std::vector<std::vector<NodeId>> order;
    for (NodeId n = 0; n < nodes.size(); ++n) order.push_back(fallback_order(n, cfg.node_distance));
    m_pmm->set_fallback_order(std::move(order));
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
  m_swapper_link = std::make_unique<SwapperLink>(*this);
  m_swapper = std::make_unique<Swapper>(
      m_stats,
      SwapperContext{m_cfg, m_levels, m_user_top, nodes.size(), m_core_node, *m_pmm, m_processes.all(),
                     m_processes.live_mms(), m_pstats,
                     m_segments, m_extra_refs, m_freed, m_faults.major_counter(), m_invlpg,
                     m_syscalls.file_writebacks_counter()},
      *m_swapper_link);
  m_numa = std::make_unique<Numa>(m_cfg.costs, nodes, m_core_node, *m_pmm, *m_swapper, m_pstats, m_data_frames);
  m_numa->set_shrinker([this](Hal& hal) { return shrink_page_cache(hal); });
  m_huge_link = std::make_unique<HugePagesLink>(*this);
  m_faults.huge().connect(HugePagesContext{m_cfg, m_hashed != nullptr, m_core_node, *m_pmm, *m_swapper,
                                           m_processes.live_mms(), m_segments, m_extra_refs, m_pstats, m_freed,
                                           m_syscalls.cow_shared_giga_counter(), m_invlpg},
                          *m_huge_link);
  m_faults_link = std::make_unique<FaultsLink>(*this);
  m_faults.connect(FaultsContext{m_cfg, m_hashed.get(), *m_pmm, *m_swapper, m_processes, m_segments, m_pstats},
                   *m_faults_link);
  m_processes_link = std::make_unique<ProcessesLink>(*this);
  m_processes.connect(ProcessesContext{m_cfg, m_levels, m_user_top, m_core_node.size(), m_hashed.get(), *m_swapper,
                                       m_faults.huge(), *m_task_cache, *m_mm_cache, m_pstats,
                                       m_syscalls.cow_shared_counter()},
                      *m_processes_link);
  m_syscalls_link = std::make_unique<SyscallsLink>(*this);
  m_syscalls.connect(SyscallsContext{m_cfg, *m_pmm, *m_swapper, m_faults.huge(), m_processes, m_faults, m_segments,
                                     *m_shm_cache, m_pstats},
                     *m_syscalls_link);
  if (m_cfg.tiering.enabled) {
    m_tiering = std::make_unique<Tiering>(m_stats, m_cfg);
    m_swapper->set_tiering(m_tiering.get());
  }
  const bool promotion = m_tiering && m_tiering->promotion();
  if (m_cfg.numa_balancing.enabled || promotion) {
    m_balancing_link = std::make_unique<NumaBalancingLink>(*this);
    m_balancer = std::make_unique<NumaBalancer>(
        m_stats,
        NumaBalancingContext{m_cfg, m_levels, m_core_node, *m_pmm, *m_swapper, m_processes.live_mms(), m_invlpg,
                             promotion ? m_tiering.get() : nullptr},
        *m_balancing_link);
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    m_pstats.push_back(
        std::make_unique<ProcStats>(m_stats, i, nodes.size(), cfg.swap.replacement.tau, cfg.task_migration));
  }
  if (m_khalf) {
    m_khalf_stats = std::make_unique<stats::Group>(m_stats, "kernel_half");
    auto constant = [&](const char* name, const char* unit, const char* desc, uint64_t value) {
      m_khalf_counters.push_back(std::make_unique<stats::Formula>(
          *m_khalf_stats, name, unit, desc, [value] { return static_cast<double>(value); }, true));
    };
    constant("table_frames", "frames",
             "Frames of the kernel half's shared tables (its root, the direct map's upper tables), below "
             "firmware.reserved_low",
             m_khalf->table_frames());
    constant("direct_map_1g", "pages", "1 GiB leaves of the direct map", m_khalf->leaves(3));
    constant("direct_map_2m", "pages", "2 MiB leaves of the direct map", m_khalf->leaves(2));
    constant("direct_map_4k", "pages", "4 KiB leaves of the direct map", m_khalf->leaves(1));
    m_khalf_counters.push_back(std::make_unique<stats::Counter>(
        *m_khalf_stats, "kernel_root_loads", "count",
        "Root-register writes with the kernel's own root: a core's first kernel entry, and a core whose loaded "
        "address space ended",
        [this] { return m_kernel_root_loads; }));
  }
  if (m_cfg.kpti) {
    m_kpti_stats = std::make_unique<stats::Group>(m_stats, "kpti");
    m_khalf_counters.push_back(std::make_unique<stats::Counter>(
        *m_kpti_stats, "entry_switches", "count",
        "Root-register writes at kernel entry (user copy -> kernel copy of the running address space's root pair)",
        [this] { return m_kpti_entry_switches; }));
    m_khalf_counters.push_back(std::make_unique<stats::Counter>(
        *m_kpti_stats, "exit_switches", "count",
        "Root-register writes at the return to user code (kernel copy -> user copy, with the user PCID)",
        [this] { return m_kpti_exit_switches; }));
  }
}

void Kernel::kernel_entry(Hal& hal) {
  if (!m_khalf) return;
  if (!m_khalf->built()) m_khalf->build(hal);  // boot: physical writes, before any core uses the map
  const CoreId c = hal.core_id();
  if (m_core_root[c] == 0) {
    ++m_kernel_root_loads;
    hal.set_root(m_khalf->kernel_root(), 0);
    m_core_root[c] = m_khalf->kernel_root().value();
  }
  if (!m_core_direct_map[c]) {
    hal.set_direct_map(m_khalf->base(), m_khalf->bytes());
    m_core_direct_map[c] = true;
  }
}

void Kernel::kpti_enter(Hal& hal) {
  if (!m_cfg.kpti || !m_khalf) return;
  const CoreId c = hal.core_id();
  CoreKpti& k = m_core_kpti[c];
  if (k.depth++ != 0 || !k.in_user) return;
  // KPTI: the entry code switches to the kernel copy (the user copy maps no kernel memory but the trampoline).
  k.in_user = false;
  if (m_core_root[c] != 0) {
    ++m_kpti_entry_switches;
    hal.charge(m_cfg.costs.kpti_switch);
    hal.set_root(PhysAddr{m_core_root[c]}, k.pcid);
  }
}

void Kernel::kernel_return(Hal& hal) {
  if (!m_cfg.kpti || !m_khalf) return;
  CoreKpti& k = m_core_kpti[hal.core_id()];
  if (--k.depth != 0 || k.user_root == 0 || k.in_user) return;
  // KPTI: back to the user copy with the user PCID (no flush with PCIDs; without, the write flushes).
  ++m_kpti_exit_switches;
  hal.charge(m_cfg.costs.kpti_switch);
  hal.set_root(PhysAddr{k.user_root}, k.user_pcid);
  k.in_user = true;
}

void Kernel::leave_mm(Hal& hal, const Mm& mm) {
  if (!m_khalf) return;
  for (CoreId c = 0; c < m_core_root.size(); ++c) {
    if (m_core_root[c] != mm.root.value()) continue;
    m_core_root[c] = 0;
    if (m_cfg.kpti) {
      m_core_kpti[c].user_root = 0;
      m_core_kpti[c].in_user = false;  // its next kernel entry loads the kernel's root
    }
    if (c == hal.core_id()) kernel_entry(hal);
  }
}

std::optional<Pfn> Kernel::alloc_root(Hal& hal) {
  std::optional<Pfn> root = alloc_table(hal);
  if (root && m_khalf) m_khalf->install(hal, addr_of(*root));
  return root;
}

std::optional<Pfn> Kernel::alloc_user_root(Hal& hal) {
  std::optional<Pfn> root = alloc_table(hal);
  if (root) m_khalf->install_user(hal, addr_of(*root));
  return root;
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
  // KPTI: the interrupt that runs this (the timer's tick, a wake-up) enters the kernel and returns to user
  // code through the root switches even when it finds nothing to do.
  std::optional<KernelEntry> irq;
  if (m_cfg.kpti) irq.emplace(*this, hal);
  if (m_balancer && m_balancer->scan_pending()) {
    KernelEntry entry(*this, hal);
    m_balancer->scan(hal);
  }
  if (!m_swapper->enabled()) return;
  KernelEntry entry(*this, hal);
  m_swapper->run_background(hal);
}

bool Kernel::numa_tick() {
  if (!m_balancer) return false;
  m_balancer->tick();
  return true;
}

void Kernel::migrate(Hal& hal, size_t index, Pid pid, CoreId to) {
  KernelEntry entry(*this, hal);
  hal.charge(m_cfg.costs.task_migration);
  if (m_pstats[index]->migrations) ++*m_pstats[index]->migrations;
  m_processes.set_core(index, to);  // where a process not created yet will be
  if (pid == 0) return;
  Process& p = process(pid);
  const CoreId from = hal.core_id();
  p.core = to;
  if (!p.alive || !p.mm->cpus[from]) return;
  for (const auto& q : m_processes.all()) {
    if (q.get() != &p && q->alive && q->mm == p.mm && q->core == from) return;  // a thread stays here
  }
  // Nothing here runs the address space any more: its translations go (Linux leaves them to go stale and
  // drops the CPU from mm_cpumask at its next switch; dropping them now is equivalent for the model and
  // spares this core the address space's shootdowns).
  p.mm->cpus[from] = false;
  hal.charge(m_cfg.costs.tlb_invalidate);
  hal.invalidate_space(user_space(*p.mm).root, user_space(*p.mm).pcid);
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

std::optional<Pfn> Kernel::alloc_table(Hal& hal) {
  hal.charge(m_cfg.costs.frame_alloc);
  std::optional<PageAlloc> a = m_pmm->alloc_page(hal.core_id(), kGfpKernel | Gfp::Zero,
                                                  {m_core_node[hal.core_id()]});
  if (!a && shrink_page_cache(hal)) {
    a = m_pmm->alloc_page(hal.core_id(), kGfpKernel | Gfp::Zero, {m_core_node[hal.core_id()]});
  }
  if (!a) return std::nullopt;
  hal.zero_frame(a->pfn);
  ++m_table_frames;
  return a->pfn;
}

std::optional<Pfn> Kernel::alloc_table_frame(Hal& hal, Mm& mm) {
  std::optional<Pfn> f = alloc_table(hal);
  if (f) ++mm.tables;
  return f;
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
  if (m_balancer) m_balancer->forget(pfn);
  if (m_tiering) m_tiering->forget(pfn);
  if (m_faults.huge().put_split_frame(hal, pfn)) return;  // a frame of a split 2 MiB block
  free_frame(hal, pfn);
}

void Kernel::free_frame(Hal& hal, Pfn pfn) {
  hal.charge(m_cfg.costs.frame_free);
  m_pmm->free_page(hal.core_id(), pfn);
  ++m_freed;
}

void Kernel::free_huge_leaf(Hal& hal, Pfn first, unsigned level) {
  hal.charge(m_cfg.costs.frame_free);
  if (level == 3) {
    m_faults.huge().give_back_giga(first);
  } else {
    m_pmm->free(first, kHugeOrder);
    m_freed += kHugeFrames;
  }
}

std::optional<Pid> Kernel::create_process(Hal& hal, size_t index) {
  KernelEntry entry(*this, hal);
  return m_processes.create(hal, index);
}

void Kernel::switch_to(Hal& hal, Pid pid) {
  KernelEntry entry(*this, hal);
  m_processes.switch_to(hal, pid);
  if (m_khalf && alive(pid)) {
    const Mm& mm = *process(pid).mm;
    m_core_root[hal.core_id()] = mm.root.value();
    if (m_cfg.kpti) {
      CoreKpti& k = m_core_kpti[hal.core_id()];
      k.pcid = mm.pcid.id;
      k.user_root = user_space(mm).root.value();
      k.user_pcid = user_space(mm).pcid;
    }
  }
}

void Kernel::invalidate(Hal& hal, Mm& mm, const std::vector<VirtAddr>& pages) {
  if (mm.notifier != nullptr && !pages.empty()) mm.notifier->invalidate(hal, pages);
  for (VirtAddr va : pages) {
    hal.charge(m_cfg.costs.tlb_invalidate);
    // KPTI: the user translations are cached under the user PCID (Linux: INVPCID individual address).
    if (mm.user_root.value() != 0) {
      hal.invalidate_page(mm.user_root, user_space(mm).pcid, va);
    } else {
      hal.invlpg(va);
    }
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
  finish_shootdown(hal, targets, mm.root, mm.pcid.id, pages);
}

void Kernel::finish_shootdown(Hal& hal, const std::vector<CoreId>& targets, PhysAddr root, uint16_t pcid,
                              const std::vector<VirtAddr>& pages) {
  if (targets.empty()) return;
  if (pages.empty()) {
    hal.shootdown_resume(targets);  // nothing changed that another core may have cached
    return;
  }
  ++m_shootdowns;
  m_ipis += targets.size();
  hal.charge(m_cfg.costs.ipi_send * targets.size());
  hal.shootdown_end(targets, root, pcid, pages, m_cfg.costs.ipi_receive);
}

void Kernel::shootdown_pcid(Hal& hal, Mm& mm) {
  hal.invalidate_pcid(mm.pcid.id);
  if (mm.user_root.value() != 0) hal.invalidate_pcid(user_space(mm).pcid);  // KPTI: the user PCID too
  const std::vector<CoreId> targets = other_cores(hal, mm);
  if (targets.empty()) return;
  hal.shootdown_begin(targets);
  ++m_shootdowns;
  m_ipis += targets.size();
  hal.charge(m_cfg.costs.ipi_send * targets.size());
  hal.shootdown_end(targets, user_space(mm).root, user_space(mm).pcid, {}, m_cfg.costs.ipi_receive);
}

FaultOutcome Kernel::handle_page_fault(Hal& hal, Pid pid, VirtAddr va, AccessKind kind, uint32_t error_code) {
  KernelEntry entry(*this, hal);
  if (!alive(pid)) return FaultOutcome::Killed;  // killed (OOM, or with its thread group) while this core waited for the kernel
  // Other cores running this address space stop at an instruction boundary while its tables change
  // (no IPI is charged unless translations are invalidated).
  std::shared_ptr<Mm> mm = process(pid).mm;
  std::vector<CoreId> targets = other_cores(hal, *mm);
  if (!targets.empty()) hal.shootdown_begin(targets);
  std::vector<VirtAddr> pages;
  m_batch = &pages;
  // A NUMA hint entry (firmware.numa_balancing) is not present for the walker: its fault is the balancer's.
  const bool hint = m_balancer && !(error_code & (pf_err::kPresent | pf_err::kReserved)) &&
                    m_balancer->hint_fault(hal, process(pid), va, kind);
  const FaultOutcome out =
      hint ? FaultOutcome::Retry : m_faults.fault(hal, pid, va, kind, error_code, !targets.empty() || mm->users > 1);
  m_batch = nullptr;
  finish_shootdown(hal, targets, user_space(*mm).root, user_space(*mm).pcid, pages);
  return out;
}

SyscallResult Kernel::syscall(Hal& hal, Pid pid, const Syscall& c) {
  KernelEntry entry(*this, hal);
  Process& p = process(pid);
  if (!p.alive) {  // killed (OOM, or with its thread group) while this core waited
    SyscallResult r;
    r.exited = true;
    return r;
  }
  hal.charge(m_cfg.costs.syscall_entry);
  // Other cores running this address space stop at an instruction boundary for the whole call (the
  // mmap lock plus the shootdown), and drop what the call invalidated before they go on.
  std::shared_ptr<Mm> mm = p.mm;
  std::vector<CoreId> targets = other_cores(hal, *mm);
  if (!targets.empty()) hal.shootdown_begin(targets);
  std::vector<VirtAddr> pages;
  m_batch = &pages;
  SyscallResult r = m_syscalls.run(hal, p, c);
  m_batch = nullptr;
  finish_shootdown(hal, targets, user_space(*mm).root, user_space(*mm).pcid, pages);
  return r;
}

bool Kernel::segment_mapped(uint64_t id) const {
  for (const Mm* mm : m_processes.live_mms()) {
    for (const auto& [s, v] : mm->vmas) {
      if (v.shm == id) return true;
    }
  }
  return false;
}

void Kernel::release_segments(Hal& hal) {
  for (auto it = m_segments.begin(); it != m_segments.end();) {
    if (segment_mapped(it->first)) {
      ++it;
      continue;
    }
    Segment& seg = *it->second;
    if (seg.file >= 0) {
      // The file's last mapping went: its dirty pages go back to the file store; the page cache stays
      // (clean, reclaimable) for the next process that maps the file.
      for (uint64_t i = 0; i < seg.frames.size(); ++i) {
        if (seg.frames[i] == 0 || !seg.dirty[i]) continue;
        m_swapper->store_file_page(hal, seg.file, i, Pfn{seg.frames[i] - 1});
        m_swapper->file_page_cleaned(Pfn{seg.frames[i] - 1});
        seg.dirty[i] = false;
      }
      ++it;
      continue;
    }
    for (uint64_t i = 0; i < seg.frames.size(); ++i) {
      if (seg.frames[i] == 0) continue;
      put_frame(hal, Pfn{seg.frames[i] - 1});
    }
    kobj_free(hal, *m_shm_cache, seg.obj);
    it = m_segments.erase(it);
  }
}

void Kernel::set_futures(std::vector<std::shared_ptr<const FutureReferences>> futures) {
  m_swapper->set_futures(std::move(futures));
}

bool Kernel::shrink_page_cache(Hal& hal) {
  bool freed = false;
  for (auto& [id, seg] : m_segments) {
    if (seg->file < 0 || segment_mapped(id)) continue;
    for (uint64_t i = 0; i < seg->frames.size(); ++i) {
      if (seg->frames[i] == 0) continue;
      const Pfn pfn{seg->frames[i] - 1};
      if (seg->dirty[i]) m_swapper->store_file_page(hal, seg->file, i, pfn);
      seg->frames[i] = 0;
      seg->dirty[i] = false;
      put_frame(hal, pfn);
      ++m_cache_dropped;
      freed = true;
    }
  }
  return freed;
}

uint64_t Kernel::page_cache_frames() const {
  uint64_t n = 0;
  for (const auto& [id, seg] : m_segments) {
    if (seg->file < 0) continue;
    for (uint64_t f : seg->frames) n += f != 0;
  }
  return n;
}

void Kernel::harvest_file_dirty(Hal& hal, Mm& mm, VirtAddr start, VirtAddr end) {
  for (const auto& [s, v] : mm.vmas) {
    if (v.shm == 0 || !v.shared || v.end.value() <= start.value() || v.start.value() >= end.value()) continue;
    Segment& seg = *m_segments.at(v.shm);
    if (seg.file < 0) continue;
    const VirtAddr lo{std::max(start.value(), v.start.value())}, hi{std::min(end.value(), v.end.value())};
    for_each_leaf(hal, mm.root, m_levels, lo, hi, [&](VirtAddr va, PhysAddr, Pte e) {
      if (e.dirty()) seg.dirty[v.shm_page(va)] = true;
      return std::optional<uint64_t>();
    });
  }
}

std::optional<Kernel::PageMapping> Kernel::mapping(Hal& hal, Pid pid, VirtAddr va) {
  if (!alive(pid) || m_hashed) return std::nullopt;
  PhysAddr table = process(pid).mm->root;
  for (unsigned level = m_levels; level >= 1; --level) {
    const unsigned shift = kPageShift + 9 * (level - 1);
    const Pte e{hal.read64(PhysAddr{table.value() + ((va.value() >> shift) & 511) * 8})};
    if (!e.present()) return std::nullopt;
    if (level == 1 || (level <= 3 && e.huge())) return PageMapping{e.pfn(), level, e.writable()};
    table = e.frame_addr();
  }
  return std::nullopt;
}

std::optional<Pfn> Kernel::alloc_kernel_frame(Hal& hal, NodeId node) {
  hal.charge(m_cfg.costs.frame_alloc);
  std::optional<PageAlloc> a = m_pmm->alloc_page(hal.core_id(), kGfpKernel | Gfp::Zero, {node});
  if (!a && shrink_page_cache(hal)) a = m_pmm->alloc_page(hal.core_id(), kGfpKernel | Gfp::Zero, {node});
  if (!a) return std::nullopt;
  hal.zero_frame(a->pfn);
  ++m_table_frames;
  return a->pfn;
}

void Kernel::set_page_dirty(Pfn pfn) {
  if (m_swapper->enabled()) m_swapper->mark_dirty(pfn);
}

void Kernel::free_kernel_frame(Hal& hal, Pfn pfn) { free_frame(hal, pfn); }

void Kernel::abandon() {
  for (const auto& p : m_processes.all()) p->alive = false;
}

std::string Kernel::process_name(Pid pid) const {
  return pid >= 1 && pid <= m_processes.all().size() ? m_processes.all()[pid - 1]->name : std::string();
}

void Kernel::set_mm_notifier(Pid pid, MmNotifier* notifier) { process(pid).mm->notifier = notifier; }

void Kernel::kill(Hal& hal, Pid pid, const std::string& reason, const char* signal) {
  if (!alive(pid)) return;
  KernelEntry entry(*this, hal);
  m_faults.kill(hal, process(pid), VirtAddr{0}, AccessKind::Read, 0, reason, signal);
}

void Kernel::exit_process(Hal& hal, Pid pid) {
  KernelEntry entry(*this, hal);
  m_processes.exit(hal, pid);
}

}  // namespace vmsim::fw
