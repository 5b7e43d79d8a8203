// The firmware OS kernel, a façade over its subsystems: processes and their life cycles (fw::Processes),
// the page-fault handler with the huge pages (fw::Faults, fw::HugePages), the system calls (fw::Syscalls),
// NUMA placement (fw::Numa) and swapping (fw::Swapper). The façade implements the cores' trap interface by
// forwarding to them, boots the zoned per-NUMA-node physical memory manager and the slab allocator, and
// keeps the services they share: frame references, kernel objects, shared segments and TLB shootdowns. It
// reaches the hardware only through the HAL of the core it runs on.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "firmware/hal/hal.hpp"
#include "firmware/hal/trap.hpp"
#include "firmware/kernel/faults.hpp"
#include "firmware/kernel/huge_pages.hpp"
#include "firmware/kernel/kernel_config.hpp"
#include "firmware/kernel/mm_notifier.hpp"
#include "firmware/kernel/processes.hpp"
#include "firmware/kernel/syscalls.hpp"
#include "firmware/mm/slab.hpp"
#include "firmware/mm/zones.hpp"
#include "firmware/swap/future.hpp"
#include "firmware/vm/hashed_table.hpp"
#include "firmware/vm/kernel_half.hpp"
#include "firmware/vm/vma.hpp"
#include "common/stats.hpp"

namespace vmsim::fw {

struct Mm;
struct Process;
struct Segment;
struct ProcStats;
class Swapper;
class Numa;
class NumaBalancer;
class Tiering;

class Kernel final : public Trap {
 public:
  // Boots over the NUMA nodes `nodes` (byte ranges that tile physical memory, node 0 first); core i's
  // local node is core_node[i]. Every process of the run is declared up front (specs[i].index == i).
  // Throws InputError if the kernel's reservations do not fit.
  Kernel(const KernelConfig& cfg, const std::vector<NodeRange>& nodes,
         const std::vector<NodeId>& core_node, const std::vector<ProcessSpec>& specs);
  ~Kernel() override;
  // The root of the kernel's statistics (system.os.* once the platform attaches it to the object tree).
  stats::Group& stats() { return m_stats; }

  // Creates process `index` (its spec has no parent): root table (zeroed), VMAs. Returns its pid, or
  // nullopt when memory is exhausted.
  std::optional<Pid> create_process(Hal& hal, size_t index) override;
  // Forked processes: Pending until the parent's fork call, then Ready (spawned_pid), or Aborted when
  // the parent ended without forking it.
  using SpawnState = fw::SpawnState;
  SpawnState spawn_state(size_t index) const override { return m_processes.spawn_state(index); }
  Pid spawned_pid(size_t index) const override { return m_processes.spawned_pid(index); }
  // Makes pid current on the HAL's core (context switch: writes the root-table register with the PCID).
  void switch_to(Hal& hal, Pid pid) override;
  // The page-fault handler. Returns Retry after mapping the page, or Killed after killing the process.
  FaultOutcome handle_page_fault(Hal& hal, Pid pid, VirtAddr va, AccessKind kind, uint32_t error_code) override;
  // Runs one system call of pid's script. Never throws for bad arguments: they give an errno.
  SyscallResult syscall(Hal& hal, Pid pid, const Syscall& call) override;
  // Normal exit: frees every frame and table of the process (if it was the last user of its address space).
  void exit_process(Hal& hal, Pid pid) override;

  bool alive(Pid pid) const override;
  const bool* alive_flag(Pid pid) const override;
  // After a Blocked fault: the simulated time (ps) at which pid's swap-in completes.
  uint64_t blocked_until(Pid pid) const override;
  // Background kernel work a core runs when woken through Hal::wake_background: kswapd's reclaim of the
  // nodes below their low watermark.
  void run_background(Hal& hal) override;
  // Process `index` (pid; 0: not created yet) moves from the HAL's core to `to`: its record follows; this
  // core drops its translations of the address space unless another live process here shares it. Charges
  // costs.task_migration.
  void migrate(Hal& hal, size_t index, Pid pid, CoreId to) override;
  // firmware.numa_balancing: the scan timer fired; the next background run on a core scans. Returns false
  // when balancing is off.
  bool numa_tick();
  const KernelConfig& config() const { return m_cfg; }
  const std::vector<KillReport>& kills() const { return m_faults.kills(); }
  // Major faults (swap and file-store reads) of the process with config index `index` so far (since the
  // warm-up reset): the event trace tells minor from major faults with it.
  uint64_t major_faults(size_t index) const;
  // Swap entries currently held by pid's address space.
  uint64_t swapped_pages(Pid pid) const;
  // Working-set size samples of every process: "memory_ops,process,pages" lines after a header.
  std::string working_set_csv() const;
  const PhysicalMemoryManager& frames() const { return *m_pmm; }
  uint64_t reserved_frames() const { return m_reserved_frames; }
  // Distinct pages currently mapped for pid (its resident set).
  uint64_t resident_pages(Pid pid) const;
  // References to a data frame (0 if not a mapped data frame).
  uint32_t frame_refs(Pfn pfn) const;
  // Per-process NUMA access counters, kept by the cores on their hot path: [0] completed accesses (data
  // and fetches) whose physical address lies on the local node of the core the process runs on, [1] the
  // others. A core points at the running process's pair from the context switch on. Valid for the
  // kernel's lifetime, also after the process ended.
  uint64_t* access_counters(Pid pid) override;
  // Physical byte range [first, second) of the NUMA node local to `core`.
  std::pair<uint64_t, uint64_t> local_range(CoreId core) const override;
  // Round robin with firmware.scheduler.time_slice (fw::RunQueue).
  std::unique_ptr<Scheduler> make_scheduler(std::vector<Scheduler::Entry> entries) const override;
  uint64_t context_switch_cycles() const override { return m_cfg.costs.context_switch; }
  // firmware.swap.policy opt: the future references of the process with config index i (nullptr for none).
  void set_futures(std::vector<std::shared_ptr<const FutureReferences>> futures);
  // ---- For a hypervisor running this kernel as its host (firmware/hv). ----
  // The present leaf that maps va in pid's tables: the first frame of the page, its table level (1: 4 KiB,
  // 2: 2 MiB, 3: 1 GiB) and whether it is writable; nullopt if va is not mapped (or pid is not alive). One
  // timed 8-byte read per level (the hypervisor reading the host's tables, as KVM's host-PTE lookup).
  struct PageMapping {
    Pfn first{0};
    unsigned level = 1;
    bool writable = false;
  };
  std::optional<PageMapping> mapping(Hal& hal, Pid pid, VirtAddr va);
  // A zeroed kernel frame on `node` (falling back to the others), counted in system.os.frames.table_allocated
  // (the hypervisor's EPT tables); nullopt when memory is exhausted. free_kernel_frame gives it back.
  std::optional<Pfn> alloc_kernel_frame(Hal& hal, NodeId node);
  void free_kernel_frame(Hal& hal, Pfn pfn);
  // Registers a secondary MMU caching pid's translations (nullptr: none); it hears of every invalidation.
  void set_mm_notifier(Pid pid, MmNotifier* notifier);
  // The frame was written through a secondary MMU (the EPT) whose translation of it goes now: reclaim
  // must write it back before evicting it (swap's soft dirty flag; no-op without swap or for an untracked frame).
  void set_page_dirty(Pfn pfn);
  // Kills pid (and its thread group) with a report line naming `reason`, as the fault handler's kills.
  void kill(Hal& hal, Pid pid, const std::string& reason, const char* signal);
  // The memory this kernel runs in is gone (a hypervisor lost its guest): every process is marked dead at
  // once, without teardown (its alive flags read false); nothing may call into this kernel afterwards.
  void abandon();
  // The name of pid's process ("" if there is no such pid).
  std::string process_name(Pid pid) const;
  // The NUMA node local to `core`.
  NodeId core_node(CoreId core) const { return m_core_node.at(core); }
  // /proc/buddyinfo and /proc/slabinfo-like text at this moment.
  std::string buddyinfo() const { return m_pmm->buddyinfo(); }
  std::string slabinfo() const { return m_slab->slabinfo(); }
  // buddyinfo, fragmentation indices (extfrag, unusable free space) and slabinfo, as one text report.
  std::string memory_report() const;

 private:
  // The façade as each subsystem's host (kernel_internal.hpp).
  class SwapperLink;
  class HugePagesLink;
  class FaultsLink;
  class ProcessesLink;
  class SyscallsLink;
  class NumaBalancingLink;

  Process& process(Pid pid);

  // Frames, shared by the subsystems.
  // Frame for a user page of `vma` at va, placed by NUMA policy (fw::Numa); zeroed if zero.
  std::optional<Pfn> alloc_user_frame(Hal& hal, Process& p, const Vma& vma, VirtAddr va, bool zero);
  std::optional<Pfn> alloc_user_block(Hal& hal, Process& p, const Vma& vma, VirtAddr va, unsigned order, bool zero);
  // A zeroed page-table frame on the core's local node (a root table); alloc_table_frame counts it in mm.
  std::optional<Pfn> alloc_table(Hal& hal);
  std::optional<Pfn> alloc_table_frame(Hal& hal, Mm& mm);
  // A new address space's root: a zeroed table with the kernel half installed (if there is one).
  std::optional<Pfn> alloc_root(Hal& hal);

  // The kernel half (firmware.kernel_virtual_access). At every kernel entry: builds the tables on the first
  // one, and makes sure this core runs under a root holding the kernel half with its firmware accesses
  // going through the direct map (the kernel's root if it has none loaded).
  void kernel_entry(Hal& hal);
  // With firmware.kpti, at every kernel entry / return to user code (the outermost ones on the core; a
  // nested entry switches nothing): the kernel copy of the running address space's root pair with its
  // kernel PCID / the user copy with its user PCID.
  void kpti_enter(Hal& hal);
  void kernel_return(Hal& hal);
  // One kernel entry: the kernel's critical section, kernel_entry, and kernel_return at its end.
  class KernelEntry {
   public:
    KernelEntry(Kernel& k, Hal& hal) : m_section(hal), m_k(k), m_hal(hal) {
      m_k.kpti_enter(hal);
      m_k.kernel_entry(hal);
    }
    ~KernelEntry() { m_k.kernel_return(m_hal); }
    KernelEntry(const KernelEntry&) = delete;
    KernelEntry& operator=(const KernelEntry&) = delete;

   private:
    KernelSection m_section;
    Kernel& m_k;
    Hal& m_hal;
  };
  // firmware.kpti: the user copy of a new address space's root pair (KernelHalf::install_user).
  std::optional<Pfn> alloc_user_root(Hal& hal);
  // Before mm's tables are freed: this core, if it has mm loaded, switches to the kernel's root; other
  // cores that have it loaded switch at their next kernel entry.
  void leave_mm(Hal& hal, const Mm& mm);
  void put_frame(Hal& hal, Pfn pfn);  // drops one reference; frees the frame on the last
  void get_frame(Pfn pfn);            // adds a reference
  void free_frame(Hal& hal, Pfn pfn);  // frees a frame nothing references
  // Frees what a huge leaf of table level `level` maps: a 2 MiB block, or one reference to a 1 GiB pool page.
  void free_huge_leaf(Hal& hal, Pfn first, unsigned level);

  // Kernel objects from the slab caches.
  std::optional<PhysAddr> kobj_alloc(Hal& hal, SlabCache& cache);
  void kobj_free(Hal& hal, SlabCache& cache, PhysAddr obj);
  bool sync_vma_objects(Hal& hal, Mm& mm);  // one vm_area_struct object per VMA

  // Shared segments and page caches.
  // Frees the segments no live address space maps (dirty page-cache pages go back to the file store).
  void release_segments(Hal& hal);
  // Drops the page cache of files no live address space maps (their dirty pages were written back at the
  // last unmap); true if a frame was freed. Memory's last resort before the OOM killer, as Linux's
  // shrinkers, and the only way such pages go without swap (with swap, reclaim evicts them too).
  bool shrink_page_cache(Hal& hal);
  // Whether a live address space maps segment `id`.
  bool segment_mapped(uint64_t id) const;
  // Frames holding page-cache pages.
  uint64_t page_cache_frames() const;
  // Marks the page-cache pages that shared file mappings of mm dirtied in [start, end) (their PTEs' D bits)
  // so they are written back to the file store when the file's last mapping goes.
  void harvest_file_dirty(Hal& hal, Mm& mm, VirtAddr start, VirtAddr end);

  // TLB shootdowns.
  // Drops the pages' translations on this core; inside a stopped section (m_batch set) records them for
  // the other cores, else shoots them down at once.
  void invalidate(Hal& hal, Mm& mm, const std::vector<VirtAddr>& pages);
  // Ends a stopped section: counts and charges the IPIs if pages were invalidated, releases the cores.
  void finish_shootdown(Hal& hal, const std::vector<CoreId>& targets, PhysAddr root, uint16_t pcid,
                        const std::vector<VirtAddr>& pages);
  // mm's PCID is free again: drops its translations and walk-cache entries here and on every other core
  // that ran mm (one IPI each).
  void shootdown_pcid(Hal& hal, Mm& mm);

  KernelConfig m_cfg;
  unsigned m_levels;
  uint64_t m_user_top;
  std::vector<NodeId> m_core_node;
  std::unique_ptr<PhysicalMemoryManager> m_pmm;
  std::unique_ptr<HashedTable> m_hashed;  // walker.format hashed only: the one global table
  std::unique_ptr<KernelHalf> m_khalf;    // firmware.kernel_virtual_access with radix tables, else nullptr
  std::vector<uint64_t> m_core_root;      // with m_khalf: the root each core has loaded (0: none or ended)
  std::vector<bool> m_core_direct_map;    // with m_khalf: the core's firmware accesses use the direct map
  uint64_t m_kernel_root_loads = 0;
  // firmware.kpti, per core: kernel entries open (nested ones switch nothing), whether the user copy is
  // loaded, and the running address space's kernel PCID, user copy and user PCID (0: none).
  struct CoreKpti {
    unsigned depth = 0;
    bool in_user = false;
    uint16_t pcid = 0;
    uint64_t user_root = 0;
    uint16_t user_pcid = 0;
  };
  std::vector<CoreKpti> m_core_kpti;
  uint64_t m_kpti_entry_switches = 0, m_kpti_exit_switches = 0;
  std::unique_ptr<stats::Group> m_kpti_stats;
  std::unique_ptr<PmmPageSource> m_slab_pages;
  std::unique_ptr<SlabAllocator> m_slab;
  SlabCache* m_task_cache = nullptr;
  SlabCache* m_mm_cache = nullptr;
  SlabCache* m_vma_cache = nullptr;
  SlabCache* m_shm_cache = nullptr;
  uint64_t m_reserved_frames = 0;
  std::unordered_map<uint64_t, uint32_t> m_extra_refs;  // data frame -> references beyond the first
  std::map<uint64_t, std::unique_ptr<Segment>> m_segments;  // by id
  std::vector<VirtAddr>* m_batch = nullptr;  // pages invalidated in the current stopped section

  // The statistics groups register in this order, which is their order in stats.json: faults, processes,
  // frames, hashed_table, tlb, syscalls, vm, then (constructed at boot) swap and the proc<I> groups.
  stats::Group m_stats;  // root of system.os.*: the platform attaches it (stats::attach)
  Faults m_faults;        // system.os.faults (the huge pages' counters inside it)
  Processes m_processes;  // system.os.processes
  stats::Group m_frame_stats{m_stats, "frames"};
  stats::Scalar m_data_frames{m_frame_stats, "data_allocated", "count", "Frames allocated for user pages"};
  stats::Scalar m_table_frames{m_frame_stats, "table_allocated", "count", "Frames allocated for page tables"};
  stats::Scalar m_freed{m_frame_stats, "freed", "count", "Frames returned to the allocator"};
  stats::Formula m_free_now{m_frame_stats, "free", "frames", "Free frames at the end of the run (per-CPU lists included)",
                            [this] { return static_cast<double>(m_pmm->free_frames()); }, true};
  stats::Formula m_total{m_frame_stats, "managed", "frames", "Frames managed by the physical memory manager",
                         [this] { return static_cast<double>(m_pmm->total_frames()); }, true};
  stats::Formula m_reserved{m_frame_stats, "reserved", "frames",
                            "Frames reserved at boot for the kernel's page descriptors",
                            [this] { return static_cast<double>(m_reserved_frames); }, true};
  stats::Formula m_cache_frames{m_frame_stats, "page_cache", "frames",
                                "Frames holding page-cache pages of files at the end of the run (kept after the "
                                "last unmap until reclaim or the shrinker takes them)",
                                [this] { return static_cast<double>(page_cache_frames()); }, true};
  stats::Scalar m_cache_dropped{m_frame_stats, "page_cache_dropped", "count",
                                "Page-cache frames of unmapped files freed by the shrinker when an allocation "
                                "failed (without swap; with swap, reclaim evicts them and counts them as evictions)"};
  stats::Formula m_slab_frames{m_frame_stats, "slab", "frames",
                               "Frames held by the slab allocator for kernel objects at the end of the run",
                               [this] { return static_cast<double>(m_slab->frames_held()); }, true};
  stats::Counter m_splits{m_frame_stats, "buddy_splits", "count", "Buddy block splits (all zones)",
                          [this] { return m_pmm->buddy_totals().splits; }};
  stats::Counter m_merges{m_frame_stats, "buddy_merges", "count", "Buddy block coalesces (all zones)",
                          [this] { return m_pmm->buddy_totals().merges; }};
  stats::Counter m_pcp_hits{m_frame_stats, "pcp_hits", "count", "Order-0 allocations served by a per-CPU list",
                            [this] { return m_pmm->counters().pcp_hits; }};
  stats::Counter m_pcp_refills{m_frame_stats, "pcp_refills", "count", "Per-CPU list batch refills",
                               [this] { return m_pmm->counters().pcp_refills; }};
  stats::Counter m_pcp_drains{m_frame_stats, "pcp_drains", "count", "Per-CPU list batch drains",
                              [this] { return m_pmm->counters().pcp_drains; }};
  stats::Counter m_zone_fallbacks{m_frame_stats, "zone_fallbacks", "count",
                                  "Allocations served by a zone other than the first choice",
                                  [this] { return m_pmm->counters().fallbacks; }};
  stats::Counter m_remote_allocs{m_frame_stats, "remote_allocations", "count",
                                 "Allocations served by a node outside the requested ones",
                                 [this] { return m_pmm->counters().remote; }};
  uint64_t m_shared_peak = 0;
  stats::Formula m_shared_frames{m_frame_stats, "shared_peak", "frames",
                                 "Most data frames mapped more than once at a time",
                                 [this] { return static_cast<double>(m_shared_peak); }, true};
  stats::Formula m_giga_pool{m_frame_stats, "hugepages_1g_free", "pages", "1 GiB pool pages free at the end",
                             [this] { return static_cast<double>(m_faults.huge().giga_free()); }, true};
  std::vector<std::unique_ptr<stats::Group>> m_node_groups;
  std::vector<std::unique_ptr<stats::Stat>> m_node_stats;
  stats::Group m_hpt_stats{m_stats, "hashed_table"};
  stats::Formula m_hpt_entries{m_hpt_stats, "entries", "count",
                               "Translations in the hashed page table at the end of the run (format hashed)",
                               [this] { return m_hashed ? static_cast<double>(m_hashed->entries()) : 0.0; }, true};
  stats::Formula m_hpt_overflow{m_hpt_stats, "overflow_frames", "frames",
                                "Frames holding overflow (collision-chain) entries at the end of the run",
                                [this] { return m_hashed ? static_cast<double>(m_hashed->overflow_frames()) : 0.0; },
                                true};
  stats::Formula m_hpt_longest{m_hpt_stats, "longest_chain", "entries", "Longest collision chain built during the run",
                               [this] { return m_hashed ? static_cast<double>(m_hashed->longest_chain()) : 0.0; },
                               true};
  stats::Group m_tlb_stats{m_stats, "tlb"};
  stats::Scalar m_invlpg{m_tlb_stats, "invlpg", "count", "INVLPGs issued by the kernel on its own core"};
  stats::Scalar m_shootdowns{m_tlb_stats, "shootdowns", "count", "Shootdowns that sent IPIs to other cores"};
  stats::Scalar m_ipis{m_tlb_stats, "ipis", "count", "Shootdown IPIs sent (one per target core)"};
  Syscalls m_syscalls;  // system.os.syscalls and system.os.vm
  std::vector<std::unique_ptr<ProcStats>> m_pstats;  // per spec index

  std::unique_ptr<SwapperLink> m_swapper_link;
  std::unique_ptr<HugePagesLink> m_huge_link;
  std::unique_ptr<FaultsLink> m_faults_link;
  std::unique_ptr<ProcessesLink> m_processes_link;
  std::unique_ptr<SyscallsLink> m_syscalls_link;
  // Swap and reclaim: creates system.os.swap (after vm, before the proc<I> groups).
  std::unique_ptr<Swapper> m_swapper;
  // NUMA placement of user frames (after the swapper: placement may reclaim).
  std::unique_ptr<Numa> m_numa;
  // firmware.tiering (system.os.tiering), else nullptr.
  std::unique_ptr<Tiering> m_tiering;
  // firmware.numa_balancing, or tiering's promotion scan (system.os.numa_balancing), else nullptr.
  std::unique_ptr<NumaBalancingLink> m_balancing_link;
  std::unique_ptr<NumaBalancer> m_balancer;
  // With m_khalf: system.os.kernel_half (after the proc<I> groups).
  std::unique_ptr<stats::Group> m_khalf_stats;
  std::vector<std::unique_ptr<stats::Stat>> m_khalf_counters;
};

}  // namespace vmsim::fw
