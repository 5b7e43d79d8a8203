// Firmware kernel: boot, processes, page faults, NUMA placement, system calls, shootdowns, teardown.
#include "firmware/kernel/kernel.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "firmware/vm/page_table.hpp"
#include "models/common/error.hpp"
#include "models/common/hashed_pt.hpp"
#include "models/common/pte.hpp"
#include "models/common/units.hpp"

namespace vmsim::fw {

// Sizes of the kernel's own objects (roughly Linux's), carved from slab caches.
constexpr uint64_t kTaskBytes = 1024;  // task_struct
constexpr uint64_t kMmBytes = 512;     // mm_struct
constexpr uint64_t kVmaBytes = 192;    // vm_area_struct
constexpr uint64_t kShmBytes = 256;    // shmid_kernel

struct Kernel::Mm {
  uint64_t id = 0;
  PhysAddr root{0};
  uint16_t pcid = 0;
  VmaSet vmas;
  uint64_t resident = 0;
  uint64_t tables = 1;
  uint64_t locked_pages = 0;
  unsigned users = 1;
  std::vector<bool> cpus;  // cores that loaded this address space (may cache its translations)
  uint64_t heap_start = 0;
  uint64_t brk = 0;
  uint64_t mmap_base = 0;
  PhysAddr obj{0};
  std::vector<PhysAddr> vma_objs;
  std::set<uint64_t> hashed_pages;  // walker.format hashed: the virtual pages mapped, for teardown
};

struct Kernel::Process {
  Pid pid = 0;
  std::string name;
  CoreId core = 0;
  size_t index = 0;
  std::shared_ptr<Mm> mm;
  NumaPolicy policy;
  bool alive = true;
  PhysAddr obj{0};
};

struct Kernel::Segment {
  uint64_t id = 0;
  std::string key;
  int file = -1;  // page cache of this file of the store, or -1 (anonymous shared memory)
  uint64_t bytes = 0;
  std::vector<uint64_t> frames;  // per page: pfn + 1, or 0 before the first touch
  PhysAddr obj{0};
};

struct Kernel::ProcStats {
  ProcStats(stats::Group& parent, size_t index, size_t nodes)
      : group(parent, "proc" + std::to_string(index)),
        faults(group, "faults", "count", "Page faults taken by this process"),
        local(group, "pages_local", "pages", "Data pages placed on the faulting core's local node"),
        remote(group, "pages_remote", "pages", "Data pages placed on another node"),
        cow(group, "cow_copies", "count", "Copy-on-write page copies"),
        calls(group, "syscalls", "count", "System calls made"),
        failed(group, "syscall_errors", "count", "System calls that returned an errno") {
    for (size_t n = 0; n < nodes; ++n) {
      node_pages.push_back(std::make_unique<stats::Scalar>(group, "pages_node" + std::to_string(n), "pages",
                                                           "Data pages allocated on node " + std::to_string(n)));
    }
  }
  stats::Group group;
  stats::Scalar faults, local, remote, cow, calls, failed;
  std::vector<std::unique_ptr<stats::Scalar>> node_pages;
};

namespace {

std::string describe_error_code(uint32_t ec) {
  std::string s = (ec & pf_err::kPresent) ? "protection" : "not-present";
  s += (ec & pf_err::kWrite) ? ", write" : ", read";
  s += (ec & pf_err::kUser) ? ", user" : ", supervisor";
  if (ec & pf_err::kReserved) s += ", reserved-bit";
  if (ec & pf_err::kFetch) s += ", instruction-fetch";
  return s;
}

constexpr uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

const std::vector<std::pair<int, const char*>>& errno_names() {
  static const std::vector<std::pair<int, const char*>> t = {
      {EINVAL, "EINVAL"}, {ENOMEM, "ENOMEM"}, {EACCES, "EACCES"}, {EPERM, "EPERM"},
      {EFAULT, "EFAULT"}, {EAGAIN, "EAGAIN"}, {EEXIST, "EEXIST"}};
  return t;
}

}  // namespace

const char* to_string(SyscallKind k) { return config::enum_name(k); }

namespace {

// The kernel as one critical section across cores (see Hal::kernel_enter).
class KernelSection {
 public:
  explicit KernelSection(Hal& hal) : m_hal(hal) { m_hal.kernel_enter(); }
  ~KernelSection() { m_hal.kernel_exit(); }
  KernelSection(const KernelSection&) = delete;
  KernelSection& operator=(const KernelSection&) = delete;

 private:
  Hal& m_hal;
};

}  // namespace

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
}

Kernel::Kernel(const sc_core::sc_module_name& name, const KernelConfig& cfg, const std::vector<NodeRange>& nodes,
               const std::vector<NodeId>& core_node, const std::vector<ProcessSpec>& specs)
    : sc_core::sc_module(name),
      m_cfg(cfg),
      m_levels(static_cast<unsigned>(cfg.page_table_levels)),
      m_user_top(1ull << (kPageShift + 9 * cfg.page_table_levels - 1)),
      m_core_node(core_node),
      m_specs(specs),
      m_spawn(specs.size()),
      m_copy_buf(kPageSize) {
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
  // The 1 GiB pool: aligned gigabytes taken from the top of the nodes (highest node first).
  for (uint64_t k = 0; k < cfg.hugepages_1g; ++k) {
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
      throw InputError("firmware.hugepages_1g: bad value '" + std::to_string(cfg.hugepages_1g) +
                       "' (no node has room for " + std::to_string(k + 1) +
                       " aligned 1GiB pages and 16MiB more)");
    }
  }
  m_giga_total = m_giga_free.size();
  m_giga_all = m_giga_free;
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
  for (size_t i = 0; i < specs.size(); ++i) {
    m_pstats.push_back(std::make_unique<ProcStats>(m_stats, i, nodes.size()));
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

Kernel::Process& Kernel::process(Pid pid) {
  if (pid == 0 || pid > m_procs.size()) throw std::logic_error("kernel: no process " + std::to_string(pid));
  return *m_procs[pid - 1];
}

bool Kernel::alive(Pid pid) const { return pid >= 1 && pid <= m_procs.size() && m_procs[pid - 1]->alive; }

uint64_t Kernel::resident_pages(Pid pid) const {
  if (pid < 1 || pid > m_procs.size() || !m_procs[pid - 1]->alive) return 0;
  return m_procs[pid - 1]->mm->resident;
}

uint32_t Kernel::frame_refs(Pfn pfn) const {
  if (!m_pmm->is_allocated(pfn)) return 0;
  auto it = m_extra_refs.find(pfn.value());
  return 1 + (it == m_extra_refs.end() ? 0 : it->second);
}

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
  hal.charge(m_cfg.costs.frame_alloc);
  const NumaPolicy& pol = vma.policy.kind != NumaPolicyKind::Default ? vma.policy : p.policy;
  const NodeId local = m_core_node[hal.core_id()];
  const CoreId cpu = hal.core_id();
  const Gfp flags = zero ? (kGfpKernel | Gfp::Zero) : kGfpKernel;
  // Order 0 goes through the per-CPU lists; larger blocks straight to the zones.
  auto get = [&](Gfp f, const std::vector<NodeId>& nodes) {
    return order == 0 ? m_pmm->alloc_page(cpu, f, nodes) : m_pmm->alloc(order, f, nodes);
  };
  std::optional<PageAlloc> a;
  switch (pol.kind) {
    case NumaPolicyKind::Default:
    case NumaPolicyKind::Local: a = get(flags, {local}); break;
    case NumaPolicyKind::Preferred: a = get(flags, {pol.nodes.front()}); break;
    case NumaPolicyKind::Interleave: {
      const NodeId n = pol.nodes[(va.value() >> (kPageShift + order)) % pol.nodes.size()];
      a = get(flags, {n});
      break;
    }
    case NumaPolicyKind::Bind: {
      // Atomic walks only the listed nodes; frames parked on per-CPU lists are drained once on failure.
      const Gfp bind = zero ? (Gfp::Atomic | Gfp::Zero) : Gfp::Atomic;
      a = get(bind, pol.nodes);
      if (!a && m_pmm->pcp_frames() > 0) {
        m_pmm->drain_all();
        a = get(bind, pol.nodes);
      }
      break;
    }
  }
  if (!a) return std::nullopt;
  const uint64_t frames = uint64_t{1} << order;
  if (a->must_zero) {
    for (uint64_t i = 0; i < frames; ++i) hal.zero_frame(Pfn{a->pfn.value() + i});
  }
  m_data_frames += frames;
  ProcStats& ps = *m_pstats[p.index];
  *ps.node_pages[a->node] += frames;
  (a->node == local ? ps.local : ps.remote) += frames;
  return a->pfn;
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
  auto head = m_split_heads.find(pfn.value() & ~uint64_t{kHugeFrames - 1});
  if (head != m_split_heads.end()) {
    // A frame of a split 2 MiB block: the block goes back when its last frame does.
    if (--head->second == 0) {
      hal.charge(m_cfg.costs.frame_free);
      m_pmm->free(Pfn{head->first}, kHugeOrder);
      m_freed += kHugeFrames;
      m_split_heads.erase(head);
    }
    return;
  }
  hal.charge(m_cfg.costs.frame_free);
  m_pmm->free_page(hal.core_id(), pfn);
  ++m_freed;
}

bool Kernel::split_range(Hal& hal, Mm& mm, VirtAddr start, VirtAddr end) {
  for (VirtAddr va : huge_leaves(hal, mm.root, m_levels, start, end)) {
    std::optional<PhysAddr> ea = leaf_entry(hal, mm.root, m_levels, va);
    const uint64_t head = Pte{hal.read64(*ea)}.pfn().value();
    if (!split_huge(hal, mm.root, m_levels, va, [&]() { return alloc_table_frame(hal, mm); })) return false;
    hal.charge(m_cfg.costs.pte_update * kHugeFrames);
    m_split_heads[head] = static_cast<uint32_t>(kHugeFrames);
    ++m_thp_splits;
    invalidate(hal, mm, {va});  // INVLPG of any address drops the whole 2 MiB entry
  }
  return true;
}

bool Kernel::fault_in_giga(Hal& hal, Process& p, const Vma& vma, VirtAddr base) {
  Mm& mm = *p.mm;
  if (m_giga_free.empty()) return false;
  // The pool page on the policy's first node if there is one, else any.
  const NumaPolicy& pol = vma.policy.kind != NumaPolicyKind::Default ? vma.policy : p.policy;
  const NodeId want = (pol.kind == NumaPolicyKind::Default || pol.kind == NumaPolicyKind::Local)
                          ? m_core_node[hal.core_id()]
                          : pol.nodes.front();
  size_t pick = 0;
  for (size_t i = 0; i < m_giga_free.size(); ++i) {
    if (m_giga_free[i].second == want) pick = i;
  }
  if (pol.kind == NumaPolicyKind::Bind &&
      std::find(pol.nodes.begin(), pol.nodes.end(), m_giga_free[pick].second) == pol.nodes.end()) {
    return false;
  }
  const auto [first, node] = m_giga_free[pick];
  hal.charge(m_cfg.costs.frame_alloc);
  if (!map_huge(hal, mm.root, m_levels, base, 3, Pfn{first}, leaf_flags(vma, true),
                [&]() { return alloc_table_frame(hal, mm); })) {
    return false;
  }
  m_giga_free.erase(m_giga_free.begin() + static_cast<long>(pick));
  for (uint64_t i = 0; i < kGigaFrames; ++i) hal.zero_frame(Pfn{first + i});
  mm.resident += kGigaFrames;
  ++m_giga_faults;
  ProcStats& ps = *m_pstats[p.index];
  *ps.node_pages[node] += kGigaFrames;
  (node == m_core_node[hal.core_id()] ? ps.local : ps.remote) += kGigaFrames;
  return true;
}

bool Kernel::compact(Hal& hal, Process& p, NodeId node) {
  ++m_compactions;
  hal.charge(m_cfg.costs.compaction);
  m_pmm->drain_all();
  const BuddyAllocator* zone = m_pmm->zone_allocator(node, ZoneKind::Normal);
  if (zone == nullptr) return false;
  // Reverse map of movable frames: every 4 KiB user mapping of every live address space (one timed read
  // per table); frames of shared segments stay where they are.
  struct Mapping {
    Mm* mm;
    VirtAddr va;
    PhysAddr pte;
  };
  std::unordered_map<uint64_t, std::vector<Mapping>> rmap;
  for (Mm* mm : m_live_mms) {
    for_each_leaf(hal, mm->root, m_levels, VirtAddr{0}, VirtAddr{m_user_top}, [&](VirtAddr va, PhysAddr ea, Pte e) {
      rmap[e.pfn().value()].push_back(Mapping{mm, va, ea});
      return std::optional<uint64_t>();
    });
  }
  for (const auto& [id, seg] : m_segments) {
    for (uint64_t f : seg->frames) {
      if (f != 0) rmap.erase(f - 1);
    }
  }
  // The aligned 2 MiB region of the zone with the fewest allocated frames, all of them movable.
  const uint64_t lo = (zone->base().value() + kHugeFrames - 1) & ~(kHugeFrames - 1);
  const uint64_t hi = zone->base().value() + zone->total_frames();
  uint64_t best = 0, best_used = UINT64_MAX;
  for (uint64_t r = lo; r + kHugeFrames <= hi; r += kHugeFrames) {
    uint64_t used = 0;
    bool movable = true;
    for (uint64_t f = r; f < r + kHugeFrames && movable; ++f) {
      if (!m_pmm->is_allocated(Pfn{f})) continue;
      ++used;
      movable = rmap.count(f) != 0;
    }
    if (movable && used > 0 && used < best_used) {
      best = r;
      best_used = used;
    }
  }
  if (best_used == UINT64_MAX || m_pmm->free_frames(node) < best_used + kHugeFrames) return false;
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
    while ((to = m_pmm->alloc_page(hal.core_id(), kGfpKernel, {node})) && to->pfn.value() >= best &&
           to->pfn.value() < best + kHugeFrames) {
      aside.push_back(to->pfn);
    }
    if (!to) {
      ok = false;
      break;
    }
    hal.charge(m_cfg.costs.migrate_page);
    hal.read_block(addr_of(Pfn{f}), m_copy_buf.data(), kPageSize);
    hal.write_block(addr_of(to->pfn), m_copy_buf.data(), kPageSize);
    for (const Mapping& m : it->second) {
      Pte e{hal.read64(m.pte)};
      hal.charge(m_cfg.costs.pte_update);
      hal.write64(m.pte, Pte::make(to->pfn, e.raw() & ~pte_bit::kPfnMask).raw());
      const size_t k = static_cast<size_t>(std::find(affected.begin(), affected.end(), m.mm) - affected.begin());
      if (e.present()) pages[k].push_back(m.va);
    }
    auto refs = m_extra_refs.find(f);
    if (refs != m_extra_refs.end()) {
      m_extra_refs[to->pfn.value()] = refs->second;
      m_extra_refs.erase(f);
    }
    put_frame(hal, Pfn{f});
    ++m_migrated;
  }
  for (Pfn a : aside) m_pmm->free_page(hal.core_id(), a);
  m_pmm->drain_all();
  const Mm* current = p.mm.get();
  for (size_t k = 0; k < affected.size(); ++k) {
    Mm& mm = *affected[k];
    if (&mm == current) {
      for (VirtAddr va : pages[k]) {
        hal.charge(m_cfg.costs.tlb_invalidate);
        hal.invlpg(va);
        ++m_invlpg;
      }
    } else if (!pages[k].empty()) {
      hal.invalidate_pcid(mm.pcid);  // a PCID-tagged copy may be cached here
    }
    if (!targets[k].empty()) finish_shootdown(hal, targets[k], mm.root, mm.pcid, pages[k]);
  }
  if (ok) ++m_compaction_success;
  return ok;
}

bool Kernel::cuts_giga(Hal& hal, Mm& mm, uint64_t start, uint64_t end) {
  for (VirtAddr va : huge_leaves(hal, mm.root, m_levels, VirtAddr{start}, VirtAddr{end}, 3)) {
    if (va.value() < start || va.value() + kGigaBytes > end) return true;
  }
  return false;
}

void Kernel::give_back_giga(Pfn first) {
  for (const auto& [pfn, node] : m_giga_all) {
    if (pfn == first.value()) m_giga_free.emplace_back(pfn, node);
  }
}

bool Kernel::fault_in_huge(Hal& hal, Process& p, const Vma& vma, VirtAddr base) {
  Mm& mm = *p.mm;
  std::optional<Pfn> block = alloc_user_block(hal, p, vma, base, kHugeOrder, true);
  if (!block && m_cfg.compaction) {
    // Direct compaction: move 4 KiB pages out of one 2 MiB region of the wanted node, then retry.
    const NumaPolicy& pol = vma.policy.kind != NumaPolicyKind::Default ? vma.policy : p.policy;
    const NodeId node = (pol.kind == NumaPolicyKind::Default || pol.kind == NumaPolicyKind::Local)
                            ? m_core_node[hal.core_id()]
                            : pol.nodes.front();
    if (m_pmm->free_frames(node) >= 2 * kHugeFrames && compact(hal, p, node)) {
      block = alloc_user_block(hal, p, vma, base, kHugeOrder, true);
    }
  }
  if (!block) {
    ++m_thp_fallbacks;
    return false;
  }
  if (!map_huge(hal, mm.root, m_levels, base, 2, *block, leaf_flags(vma, true),
                [&]() { return alloc_table_frame(hal, mm); })) {
    // Part of the 2 MiB range is already mapped with 4 KiB pages (or no table frame): fall back.
    hal.charge(m_cfg.costs.frame_free);
    m_pmm->free(*block, kHugeOrder);
    m_freed += kHugeFrames;
    ++m_thp_fallbacks;
    return false;
  }
  mm.resident += kHugeFrames;
  ++m_thp_faults;
  return true;
}

std::shared_ptr<Kernel::Mm> Kernel::new_mm(Hal& hal, const ProcessSpec& spec) {
  auto mm = std::make_shared<Mm>();
  mm->id = m_next_mm++;
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
    for (const Mm* other : m_live_mms) {
      if (other->pcid == mm->pcid) {
        throw SimulationError("hashed page table: more than 4095 address spaces alive at once (PCID " +
                              std::to_string(mm->pcid) + " is taken)");
      }
    }
    mm->root = m_hashed->base();
    mm->tables = 0;
    m_live_mms.push_back(mm.get());
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
  m_live_mms.push_back(mm.get());
  return mm;
}

std::optional<Pid> Kernel::new_process(Hal& hal, size_t index, std::shared_ptr<Mm> mm) {
  const ProcessSpec& spec = m_specs.at(index);
  auto p = std::make_unique<Process>();
  p->pid = static_cast<Pid>(m_procs.size() + 1);
  p->name = spec.name;
  p->core = spec.core;
  p->index = index;
  p->policy = spec.policy;
  p->mm = std::move(mm);
  // Registered before further HAL calls: in the AT mode a memory access waits, and another core may
  // enter the kernel meanwhile (a real kernel would hold a lock here).
  Process& proc = *p;
  m_procs.push_back(std::move(p));
  std::optional<PhysAddr> obj = kobj_alloc(hal, *m_task_cache);
  if (!obj) {
    proc.alive = false;
    return std::nullopt;
  }
  proc.obj = *obj;
  ++m_created;
  return proc.pid;
}

std::optional<Pid> Kernel::create_process(Hal& hal, size_t index) {
  KernelSection section(hal);
  hal.charge(m_cfg.costs.process_create);
  const ProcessSpec& spec = m_specs.at(index);
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
  p.mm->cpus[hal.core_id()] = true;
  ++m_switches;
  hal.set_root(p.mm->root, p.mm->pcid);
}

uint64_t Kernel::leaf_flags(const Vma& vma, bool writable) const {
  uint64_t flags = pte_bit::kUser;
  if (writable && (vma.prot & prot::kWrite)) flags |= pte_bit::kWritable;
  if (!(vma.prot & prot::kExec)) flags |= pte_bit::kNoExecute;
  return flags;
}

bool Kernel::fault_in(Hal& hal, Process& p, const Vma& vma, VirtAddr va) {
  Mm& mm = *p.mm;
  const VirtAddr page{va.value() & ~kPageMask};
  Pfn frame{0};
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
  if (vma.shm != 0) {
    Segment& seg = *m_segments.at(vma.shm);
    const uint64_t idx = (vma.shm_offset + (page.value() - vma.start.value())) >> kPageShift;
    if (seg.frames[idx] == 0) {
      std::optional<Pfn> f = alloc_user_frame(hal, p, vma, page, seg.file < 0);
      if (!f) return false;
      if (seg.file >= 0) {
        // Major fault: the page comes from the file store into the page cache.
        const FileConfig& file = m_cfg.files[static_cast<size_t>(seg.file)];
        hal.charge(m_cfg.costs.file_read);
        uint64_t x = file.seed * 0x9E3779B97F4A7C15ull + idx;
        for (uint64_t i = 0; i < kPageSize; i += 8) {
          x ^= x << 13;
          x ^= x >> 7;
          x ^= x << 17;
          std::memcpy(&m_copy_buf[i], &x, 8);
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
  bool ok = map_page(hal, mm.root, m_levels, page, frame, flags, [&]() { return alloc_table_frame(hal, mm); });
  if (!ok) {
    put_frame(hal, frame);
    return false;
  }
  if (vma.prot == 0) {
    // map_page set P; a PROT_NONE page keeps its frame with P clear.
    std::optional<PhysAddr> ea = leaf_entry(hal, mm.root, m_levels, page);
    hal.write64(*ea, Pte::make(frame, flags).raw());
  }
  ++mm.resident;
  return true;
}

bool Kernel::break_cow(Hal& hal, Process& p, const Vma& vma, VirtAddr va) {
  Mm& mm = *p.mm;
  const VirtAddr page{va.value() & ~kPageMask};
  hal.charge(m_cfg.costs.cow_break);
  std::optional<PhysAddr> ea = leaf_entry(hal, mm.root, m_levels, page);
  if (!ea) return false;
  Pte old{hal.read64(*ea)};
  if (!old.present()) return false;
  if (old.writable()) return true;  // another thread broke the sharing first
  if (frame_refs(old.pfn()) <= 1) {
    // The other sharers are gone: take the frame over.
    hal.write64(*ea, old.raw() | pte_bit::kWritable);
    ++m_cow_reuse;
  } else {
    std::optional<Pfn> f = alloc_user_frame(hal, p, vma, page, false);
    if (!f) return false;
    hal.read_block(old.frame_addr(), m_copy_buf.data(), kPageSize);
    hal.write_block(addr_of(*f), m_copy_buf.data(), kPageSize);
    hal.charge(m_cfg.costs.pte_update);
    const uint64_t keep = old.raw() & ~pte_bit::kPfnMask & ~pte_bit::kDirty & ~pte_bit::kAccessed;
    hal.write64(*ea, Pte::make(*f, keep | pte_bit::kWritable).raw());
    put_frame(hal, old.pfn());
    ++m_cow_copies;
    ++m_pstats[p.index]->cow;
  }
  invalidate(hal, mm, {page});
  return true;
}

std::vector<CoreId> Kernel::other_cores(const Hal& hal, const Mm& mm) const {
  std::vector<CoreId> targets;
  for (CoreId c = 0; c < mm.cpus.size(); ++c) {
    if (mm.cpus[c] && c != hal.core_id()) targets.push_back(c);
  }
  return targets;
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
  ++m_faults;
  ++m_pstats[p.index]->faults;
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
      if (!break_cow(hal, p, *vma, va)) {
        ++m_oom;
        kill(hal, p, va, kind, error_code, "out of memory (no frame to break copy-on-write)");
        return FaultOutcome::Killed;
      }
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
  } else if (threaded) {
    // Another thread may have mapped the page since this one's walk: a spurious fault.
    std::optional<PhysAddr> ea = leaf_entry(hal, mm.root, m_levels, VirtAddr{va.value() & ~kPageMask});
    if (ea && Pte{hal.read64(*ea)}.present()) {
      ++m_spurious;
      return FaultOutcome::Retry;
    }
  }
  if (!fault_in(hal, p, *vma, va)) {
    ++m_oom;
    kill(hal, p, va, kind, error_code, "out of memory (no free frame; reclaim arrives with issue E)");
    return FaultOutcome::Killed;
  }
  // x86 TLBs never cache not-present translations, so this update needs no invalidation.
  return FaultOutcome::Retry;
}

SyscallResult Kernel::fail(SyscallKind, int error) {
  for (size_t i = 0; i < m_errnos.size(); ++i) {
    if (m_errnos[i] == error) ++*m_sys_errors[i];
  }
  SyscallResult r;
  r.error = error;
  return r;
}

SyscallResult Kernel::syscall(Hal& hal, Pid pid, const Syscall& c) {
  KernelSection section(hal);
  Process& p = process(pid);
  hal.charge(m_cfg.costs.syscall_entry);
  // Other cores running this address space stop at an instruction boundary for the whole call (the
  // mmap lock plus the shootdown), and drop what the call invalidated before they go on.
  std::shared_ptr<Mm> mm = p.mm;
  std::vector<CoreId> targets = other_cores(hal, *mm);
  if (!targets.empty()) hal.shootdown_begin(targets);
  std::vector<VirtAddr> pages;
  m_batch = &pages;
  SyscallResult r = run_syscall(hal, p, c);
  m_batch = nullptr;
  finish_shootdown(hal, targets, mm->root, mm->pcid, pages);
  return r;
}

SyscallResult Kernel::run_syscall(Hal& hal, Process& p, const Syscall& c) {
  const Pid pid = p.pid;
  ++m_sys_total;
  ++*m_sys_calls[static_cast<size_t>(c.call)];
  ++m_pstats[p.index]->calls;
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
    case SyscallKind::Exit:
      exit_process(hal, pid);
      r.exited = true;
      break;
  }
  if (r.error != 0) ++m_pstats[p.index]->failed;
  if (!r.exited && p.alive) {
    // Account the kernel objects of the VMAs the call left.
    if (!sync_vma_objects(hal, *p.mm) && r.error == 0) r = fail(c.call, ENOMEM);
    uint64_t locked = 0;
    for (Mm* m : m_live_mms) locked += m->locked_pages;
    m_locked_now = locked;
    m_locked_peak = std::max(m_locked_peak, m_locked_now);
  }
  return r;
}

bool Kernel::commit_ok(uint64_t extra_pages) const {
  switch (m_cfg.overcommit) {
    case Overcommit::Always: return true;
    case Overcommit::Heuristic: return extra_pages <= m_pmm->total_frames();
    case Overcommit::Never: {
      uint64_t committed = extra_pages;
      for (const Mm* mm : m_live_mms) {
        for (const auto& [s, v] : mm->vmas) {
          if ((v.prot & prot::kWrite) && !v.shared) committed += v.bytes() >> kPageShift;
        }
      }
      return committed <= m_pmm->total_frames() * m_cfg.overcommit_ratio / 100;
    }
  }
  return false;
}

uint64_t Kernel::unmap_range(Hal& hal, Mm& mm, VirtAddr start, VirtAddr end, std::vector<VirtAddr>& changed) {
  split_range(hal, mm, start, end);  // without a table frame the huge pages stay (and are freed whole at exit)
  for (VirtAddr va : huge_leaves(hal, mm.root, m_levels, start, end, 3)) {
    // Callers refuse ranges cutting through a 1 GiB page, so each is unmapped whole.
    std::optional<PhysAddr> ea = leaf_entry(hal, mm.root, m_levels, va);
    Pte e{hal.read64(*ea)};
    hal.charge(m_cfg.costs.pte_update + m_cfg.costs.frame_free);
    hal.write64(*ea, 0);
    give_back_giga(e.pfn());
    mm.resident -= kGigaFrames;
    changed.push_back(va);
  }
  std::vector<Pfn> to_free;
  uint64_t n = for_each_leaf(hal, mm.root, m_levels, start, end, [&](VirtAddr va, PhysAddr, Pte e) {
    hal.charge(m_cfg.costs.pte_update);
    if (e.present()) changed.push_back(va);
    to_free.push_back(e.pfn());
    return std::optional<uint64_t>(0);
  });
  for (Pfn f : to_free) put_frame(hal, f);
  mm.resident -= n;
  m_pages_unmapped += n;
  return n;
}

SyscallResult Kernel::sys_mmap(Hal& hal, Process& p, const Syscall& c) {
  Mm& mm = *p.mm;
  if (c.length == 0 || (c.fixed && (c.addr & kPageMask))) return fail(c.call, EINVAL);
  const uint64_t len = round_up(c.length, kPageSize);
  if (c.file >= 0) {
    // The whole range must lie in the file (this store has no SIGBUS past the end).
    const uint64_t fsize = m_cfg.files[static_cast<size_t>(c.file)].size.value;
    if ((c.offset & kPageMask) || c.offset > fsize || len > fsize - c.offset) return fail(c.call, EINVAL);
  }
  if (len < c.length || len > m_user_top) return fail(c.call, ENOMEM);
  if (c.fixed && (c.addr + len > m_user_top || c.addr + len < c.addr || c.addr < kPageSize)) return fail(c.call, EINVAL);
  if (mm.vmas.size() + 2 > m_cfg.max_map_count) return fail(c.call, ENOMEM);
  if (!c.shared && (c.prot & prot::kWrite) && !commit_ok(len >> kPageShift)) return fail(c.call, ENOMEM);
  hal.charge(m_cfg.costs.vma_lookup);
  uint64_t at = 0;
  const uint64_t align = c.huge_1g ? kGigaBytes : c.huge ? (2ull << 20) : kPageSize;
  if (c.fixed) {
    at = c.addr;
    std::vector<VirtAddr> changed;
    unmap_range(hal, mm, VirtAddr{at}, VirtAddr{at + len}, changed);
    invalidate(hal, mm, changed);
    if (mm.vmas.remove(VirtAddr{at}, VirtAddr{at + len}) > 0) hal.charge(m_cfg.costs.vma_update);
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
    const FileConfig& file = m_cfg.files[static_cast<size_t>(c.file)];
    Segment* cache = nullptr;
    for (auto& [id, sg] : m_segments) {
      if (sg->file == c.file) cache = sg.get();
    }
    if (cache == nullptr) {
      std::optional<PhysAddr> obj = kobj_alloc(hal, *m_shm_cache);
      if (!obj) return fail(c.call, ENOMEM);
      auto seg = std::make_unique<Segment>();
      seg->id = m_next_segment++;
      seg->key = "file:" + file.name;
      seg->file = c.file;
      seg->bytes = file.size.value;
      seg->frames.assign(file.size.value >> kPageShift, 0);
      seg->obj = *obj;
      cache = seg.get();
      m_segments.emplace(seg->id, std::move(seg));
    }
    v.shared = c.shared;
    v.shm = cache->id;
    v.shm_offset = c.offset;
    v.huge = false;
    v.huge_1g = false;
    v.name = c.name.empty() ? "file:" + file.name : c.name;
  } else if (c.shared) {
    // Shared anonymous memory is an unnamed segment, so fork children see the same frames.
    hal.charge(m_cfg.costs.shm_create);
    std::optional<PhysAddr> obj = kobj_alloc(hal, *m_shm_cache);
    if (!obj) return fail(c.call, ENOMEM);
    auto seg = std::make_unique<Segment>();
    seg->id = m_next_segment++;
    seg->bytes = len;
    seg->frames.assign(len >> kPageShift, 0);
    seg->obj = *obj;
    v.shared = true;
    v.shm = seg->id;
    m_segments.emplace(seg->id, std::move(seg));
    ++m_segments_created;
  }
  mm.vmas.insert(v);
  hal.charge(m_cfg.costs.vma_update);
  ++m_vma_splits;
  m_vma_merges += mm.vmas.merge_around(v.start, v.end);
  SyscallResult r;
  r.value = at;
  return r;
}

SyscallResult Kernel::sys_munmap(Hal& hal, Process& p, const Syscall& c) {
  Mm& mm = *p.mm;
  if (c.length == 0 || (c.addr & kPageMask)) return fail(c.call, EINVAL);
  const uint64_t end = round_up(c.addr + c.length, kPageSize);
  if (end > m_user_top || end < c.addr) return fail(c.call, EINVAL);
  if (cuts_giga(hal, mm, c.addr, end)) return fail(c.call, EINVAL);
  std::vector<VirtAddr> changed;
  unmap_range(hal, mm, VirtAddr{c.addr}, VirtAddr{end}, changed);
  invalidate(hal, mm, changed);
  if (mm.vmas.remove(VirtAddr{c.addr}, VirtAddr{end}) > 0) {
    hal.charge(m_cfg.costs.vma_update);
    ++m_vma_splits;
  }
  uint64_t locked = 0;
  for (const auto& [s, v] : mm.vmas) locked += v.locked ? v.bytes() >> kPageShift : 0;
  mm.locked_pages = locked;
  release_segments(hal);
  return {};
}

SyscallResult Kernel::sys_mprotect(Hal& hal, Process& p, const Syscall& c) {
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
  if (cuts_giga(hal, mm, c.addr, end)) return fail(c.call, EINVAL);
  if (!split_range(hal, mm, VirtAddr{c.addr}, VirtAddr{end})) return fail(c.call, ENOMEM);
  size_t merged = 0;
  size_t n = mm.vmas.modify(VirtAddr{c.addr}, VirtAddr{end}, [&](Vma& v) { v.prot = c.prot; }, &merged);
  m_vma_merges += merged;
  hal.charge(m_cfg.costs.vma_update * (n + 2));
  m_vma_splits += n;
  std::vector<VirtAddr> changed;
  for_each_leaf(hal, mm.root, m_levels, VirtAddr{c.addr}, VirtAddr{end}, [&](VirtAddr va, PhysAddr, Pte e) {
    const Vma* v = mm.vmas.find(va);
    const bool may_write = v->shared || frame_refs(e.pfn()) <= 1;
    const uint64_t keep = e.raw() & (pte_bit::kPfnMask | pte_bit::kAccessed | pte_bit::kDirty);
    const uint64_t next = v->prot == 0 ? (keep | pte_bit::kUser | kSoftProtNone)
                                       : (keep | pte_bit::kPresent | leaf_flags(*v, may_write));
    if (next == e.raw()) return std::optional<uint64_t>();
    hal.charge(m_cfg.costs.pte_update);
    ++m_pages_protected;
    if (e.present()) changed.push_back(va);
    return std::optional<uint64_t>(next);
  });
  for (VirtAddr va : huge_leaves(hal, mm.root, m_levels, VirtAddr{c.addr}, VirtAddr{end}, 3)) {
    std::optional<PhysAddr> ea = leaf_entry(hal, mm.root, m_levels, va);
    Pte e{hal.read64(*ea)};
    const Vma* v = mm.vmas.find(va);
    const uint64_t keep = e.raw() & (pte_bit::kPfnMask | pte_bit::kAccessed | pte_bit::kDirty | pte_bit::kPageSize);
    // PROT_NONE on a 1 GiB page keeps it mapped read-only-not-present like 4 KiB pages (P clear).
    const uint64_t next = v->prot == 0 ? (keep | pte_bit::kUser) : (keep | pte_bit::kPresent | leaf_flags(*v, true));
    hal.charge(m_cfg.costs.pte_update);
    hal.write64(*ea, next);
    ++m_pages_protected;
    changed.push_back(va);
  }
  invalidate(hal, mm, changed);
  return {};
}

SyscallResult Kernel::sys_mlock(Hal& hal, Process& p, const Syscall& c, bool lock) {
  Mm& mm = *p.mm;
  const uint64_t start = c.addr & ~kPageMask;
  const uint64_t end = round_up(c.addr + c.length, kPageSize);
  if (end < start || end > m_user_top) return fail(c.call, EINVAL);
  if (end == start) return {};
  if (!mm.vmas.covers(VirtAddr{start}, VirtAddr{end})) return fail(c.call, ENOMEM);
  if (lock) {
    if (m_cfg.mlock_limit.value == 0) return fail(c.call, EPERM);
    uint64_t newly = 0;
    for (const auto& [s, v] : mm.vmas) {
      if (v.locked || v.end.value() <= start || v.start.value() >= end) continue;
      newly += (std::min(end, v.end.value()) - std::max(start, v.start.value())) >> kPageShift;
    }
    if ((mm.locked_pages + newly) << kPageShift > m_cfg.mlock_limit.value) return fail(c.call, ENOMEM);
  }
  size_t merged = 0;
  size_t n = mm.vmas.modify(VirtAddr{start}, VirtAddr{end}, [&](Vma& v) { v.locked = lock; }, &merged);
  m_vma_merges += merged;
  hal.charge(m_cfg.costs.vma_update * (n + 2));
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
      if (!fault_in(hal, p, *v, va)) return fail(c.call, ENOMEM);
    }
  }
  return {};
}

SyscallResult Kernel::sys_brk(Hal& hal, Process& p, const Syscall& c) {
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
    hal.charge(m_cfg.costs.vma_update);
    ++m_vma_splits;
  } else if (new_end < old_end) {
    std::vector<VirtAddr> changed;
    unmap_range(hal, mm, VirtAddr{new_end}, VirtAddr{old_end}, changed);
    invalidate(hal, mm, changed);
    mm.vmas.remove(VirtAddr{new_end}, VirtAddr{old_end});
    hal.charge(m_cfg.costs.vma_update);
    ++m_vma_splits;
  }
  mm.brk = c.addr;
  r.value = mm.brk;
  return r;
}

SyscallResult Kernel::sys_fork(Hal& hal, Process& p, const Syscall& c) {
  if (c.child < 0 || static_cast<size_t>(c.child) >= m_specs.size() || m_specs[c.child].parent != static_cast<int>(p.index) ||
      m_spawn[c.child].state != SpawnState::Pending) {
    return fail(c.call, EAGAIN);
  }
  hal.charge(m_cfg.costs.fork);
  const ProcessSpec& cs = m_specs[c.child];
  std::shared_ptr<Mm> cmm;
  if (c.share_vm) {
    cmm = p.mm;
    ++cmm->users;
  } else {
    Mm& pm = *p.mm;
    if (!commit_ok(0)) return fail(c.call, ENOMEM);
    // Copy-on-write of 1 GiB pages is not modeled: such an address space cannot fork (threads can).
    if (!huge_leaves(hal, pm.root, m_levels, VirtAddr{0}, VirtAddr{m_user_top}, 3).empty()) return fail(c.call, ENOMEM);
    cmm = new_mm(hal, cs);
    if (!cmm) return fail(c.call, ENOMEM);
    for (const auto& [s, v] : pm.vmas) cmm->vmas.insert(v);
    cmm->heap_start = pm.heap_start;
    cmm->brk = pm.brk;
    cmm->mmap_base = pm.mmap_base;
    cmm->locked_pages = 0;  // mlock is not inherited
    std::vector<VirtAddr> changed;
    // Huge pages are split: copy-on-write works on 4 KiB pages.
    bool ok = split_range(hal, pm, VirtAddr{0}, VirtAddr{m_user_top});
    std::vector<std::pair<VirtAddr, uint64_t>> leaves;
    for_each_leaf(hal, pm.root, m_levels, VirtAddr{0}, VirtAddr{m_user_top}, [&](VirtAddr va, PhysAddr, Pte e) {
      const Vma* v = pm.vmas.find(va);
      uint64_t raw = e.raw();
      std::optional<uint64_t> parent_new;
      if (v != nullptr && !v->shared && e.writable()) {
        raw &= ~pte_bit::kWritable;
        parent_new = raw;
        hal.charge(m_cfg.costs.pte_update);
        changed.push_back(va);
      }
      leaves.emplace_back(va, raw);
      return parent_new;
    });
    for (const auto& [va, raw] : leaves) {
      if (!ok) break;
      Pte e{raw};
      hal.charge(m_cfg.costs.pte_update);
      if (!map_page(hal, cmm->root, m_levels, va, e.pfn(), raw & ~pte_bit::kPfnMask & ~pte_bit::kPresent,
                    [&]() { return alloc_table_frame(hal, *cmm); })) {
        ok = false;
        break;
      }
      if (!e.present()) {
        std::optional<PhysAddr> ea = leaf_entry(hal, cmm->root, m_levels, va);
        hal.write64(*ea, raw);
      }
      get_frame(e.pfn());
      ++cmm->resident;
      ++m_cow_shared;
    }
    invalidate(hal, pm, changed);
    if (!ok) {
      // Undo: the child's tables and its references go.
      destroy_tables(
          hal, cmm->root, m_levels, [&](Pfn f) { put_frame(hal, f); }, [&](Pfn f) { put_frame(hal, f); });
      m_live_mms.erase(std::find(m_live_mms.begin(), m_live_mms.end(), cmm.get()));
      kobj_free(hal, *m_mm_cache, cmm->obj);
      return fail(c.call, ENOMEM);
    }
    // The child's workload areas that the parent lacks are added.
    for (const Vma& v : cs.vmas) {
      if (!cmm->vmas.overlaps(v.start, v.end)) cmm->vmas.insert(v);
    }
  }
  std::optional<Pid> child = new_process(hal, static_cast<size_t>(c.child), cmm);
  if (!child) return fail(c.call, ENOMEM);
  Process& cp = process(*child);
  if (cp.policy.kind == NumaPolicyKind::Default) cp.policy = p.policy;
  if (!sync_vma_objects(hal, *cmm)) {
    teardown(hal, cp);
    return fail(c.call, ENOMEM);
  }
  ++m_forks;
  m_spawn[c.child].state = SpawnState::Ready;
  m_spawn[c.child].pid = *child;
  m_spawn_event.notify(sc_core::SC_ZERO_TIME);
  SyscallResult r;
  r.value = *child;
  return r;
}

SyscallResult Kernel::sys_shm_attach(Hal& hal, Process& p, const Syscall& c) {
  Mm& mm = *p.mm;
  if (c.length == 0 || (c.addr & kPageMask) || c.key.empty()) return fail(c.call, EINVAL);
  const uint64_t len = round_up(c.length, kPageSize);
  Segment* seg = nullptr;
  for (auto& [id, s] : m_segments) {
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
  if (mm.vmas.size() + 1 > m_cfg.max_map_count) return fail(c.call, ENOMEM);
  if (seg == nullptr) {
    hal.charge(m_cfg.costs.shm_create);
    std::optional<PhysAddr> obj = kobj_alloc(hal, *m_shm_cache);
    if (!obj) return fail(c.call, ENOMEM);
    auto s = std::make_unique<Segment>();
    s->id = m_next_segment++;
    s->key = c.key;
    s->bytes = len;
    s->frames.assign(len >> kPageShift, 0);
    s->obj = *obj;
    seg = s.get();
    m_segments.emplace(s->id, std::move(s));
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
  hal.charge(m_cfg.costs.vma_update);
  ++m_vma_splits;
  SyscallResult r;
  r.value = at;
  return r;
}

SyscallResult Kernel::sys_mbind(Hal& hal, Process& p, const Syscall& c) {
  Mm& mm = *p.mm;
  if ((c.addr & kPageMask) || c.length == 0) return fail(c.call, EINVAL);
  const uint64_t end = round_up(c.addr + c.length, kPageSize);
  if (end < c.addr || end > m_user_top) return fail(c.call, EINVAL);
  for (NodeId n : c.policy.nodes) {
    if (n >= m_pmm->node_count()) return fail(c.call, EINVAL);
  }
  if (c.policy.kind != NumaPolicyKind::Default && c.policy.kind != NumaPolicyKind::Local && c.policy.nodes.empty()) {
    return fail(c.call, EINVAL);
  }
  if (!mm.vmas.covers(VirtAddr{c.addr}, VirtAddr{end})) return fail(c.call, EFAULT);
  size_t merged = 0;
  size_t n = mm.vmas.modify(VirtAddr{c.addr}, VirtAddr{end}, [&](Vma& v) { v.policy = c.policy; }, &merged);
  m_vma_merges += merged;
  hal.charge(m_cfg.costs.vma_update * (n + 2));
  m_vma_splits += n;
  return {};
}

void Kernel::release_segments(Hal& hal) {
  for (auto it = m_segments.begin(); it != m_segments.end();) {
    bool used = false;
    for (const Mm* mm : m_live_mms) {
      for (const auto& [s, v] : mm->vmas) used = used || v.shm == it->first;
    }
    if (used) {
      ++it;
      continue;
    }
    for (uint64_t f : it->second->frames) {
      if (f != 0) put_frame(hal, Pfn{f - 1});
    }
    kobj_free(hal, *m_shm_cache, it->second->obj);
    it = m_segments.erase(it);
  }
}

void Kernel::kill(Hal& hal, Process& p, VirtAddr va, AccessKind kind, uint32_t error_code, const std::string& reason) {
  hal.charge(m_cfg.costs.kill);
  KillReport r;
  r.pid = p.pid;
  r.name = p.name;
  r.core = hal.core_id();
  r.va = va;
  r.kind = kind;
  r.error_code = error_code;
  r.signal = "SIGSEGV";
  r.reason = reason;
  r.time_ps = hal.now_ps();
  std::cerr << "vmsim: process " << p.pid << " '" << p.name << "' killed by SIGSEGV on core " << r.core << " at "
            << r.time_ps << " ps: " << to_string(kind) << " at " << format_hex(va.value()) << " (error code "
            << format_hex(error_code) << ": " << describe_error_code(error_code) << "): " << reason << "\n";
  m_kills.push_back(r);
  ++m_killed;
  teardown(hal, p);
}

void Kernel::exit_process(Hal& hal, Pid pid) {
  KernelSection section(hal);
  Process& p = process(pid);
  if (!p.alive) return;
  ++m_exited;
  teardown(hal, p);
}

void Kernel::teardown(Hal& hal, Process& p) {
  hal.charge(m_cfg.costs.process_exit);
  p.alive = false;
  // Children this process was to fork will never start.
  for (size_t i = 0; i < m_specs.size(); ++i) {
    if (m_specs[i].parent == static_cast<int>(p.index) && m_spawn[i].state == SpawnState::Pending) {
      m_spawn[i].state = SpawnState::Aborted;
      m_spawn_event.notify(sc_core::SC_ZERO_TIME);
    }
  }
  std::shared_ptr<Mm> mm = std::move(p.mm);
  if (--mm->users == 0) {
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
      destroy_tables(
          hal, mm->root, m_levels, [&](Pfn f) { put_frame(hal, f); },
          [&](Pfn f) {
            hal.charge(m_cfg.costs.frame_free);
            m_pmm->free_page(hal.core_id(), f);
            ++m_freed;
          },
          [&](Pfn f, unsigned level) {
            hal.charge(m_cfg.costs.frame_free);
            if (level == 3) {
              give_back_giga(f);
            } else {
              m_pmm->free(f, kHugeOrder);
              m_freed += kHugeFrames;
            }
          });
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
    m_live_mms.erase(std::find(m_live_mms.begin(), m_live_mms.end(), mm.get()));
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
