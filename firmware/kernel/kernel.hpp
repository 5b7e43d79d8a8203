// The firmware OS kernel, a façade over its subsystems: boots a zoned, per-NUMA-node physical memory manager
// and a slab allocator for its own objects, creates processes with address spaces (root table + VMAs),
// handles page faults (demand-zero, shared-segment and copy-on-write faults, stack growth, or kill), runs
// the system calls of process scripts (mmap, munmap, mprotect, mlock, munlock, brk, fork, exit,
// shm_attach, mbind) with TLB shootdowns, and tears processes down; the process table (fw::Processes), frame
// placement (fw::Numa), huge pages (fw::HugePages) and swapping (fw::Swapper) are subsystems it constructs
// and forwards to. It reaches the hardware only through the HAL of the core it runs on.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "firmware/hal/hal.hpp"
#include "firmware/hal/trap.hpp"
#include "firmware/kernel/huge_pages.hpp"
#include "firmware/kernel/processes.hpp"
#include "firmware/mm/slab.hpp"
#include "firmware/mm/zones.hpp"
#include "firmware/swap/reclaim.hpp"
#include "firmware/swap/swap_area.hpp"
#include "firmware/swap/ws_tracker.hpp"
#include "firmware/vm/hashed_table.hpp"
#include "firmware/vm/vma.hpp"
#include "common/config.hpp"
#include "common/stats.hpp"

namespace vmsim::fw {

// Cycle costs of kernel work, in core cycles, charged on top of the memory traffic the work causes.
struct KernelCosts {
  uint64_t fault_entry = 300;     // exception entry + exit (trap, save/restore, iret)
  uint64_t vma_lookup = 40;       // VMA tree search
  uint64_t frame_alloc = 120;     // buddy allocation incl. bookkeeping
  uint64_t frame_free = 80;       // buddy free incl. coalescing
  uint64_t process_create = 5000; // process and address-space setup
  uint64_t process_exit = 5000;   // process teardown besides freeing frames
  uint64_t kill = 2000;           // signal delivery and reporting
  uint64_t syscall_entry = 150;   // system-call entry + exit
  uint64_t vma_update = 60;       // inserting, splitting, merging or removing one VMA
  uint64_t pte_update = 15;       // deciding and composing one PTE change (its memory write is timed apart)
  uint64_t tlb_invalidate = 30;   // one INVLPG on this core
  uint64_t ipi_send = 1200;       // per target core: sending a shootdown IPI and waiting for its ack
  uint64_t ipi_receive = 800;     // charged to each receiving core: interrupt entry, INVLPGs, ack
  uint64_t fork = 8000;           // duplicating the process and its VMAs (page-table copy timed apart)
  uint64_t cow_break = 200;       // copy-on-write fault work besides the 4 KiB copy
  uint64_t slab_alloc = 50;       // one kernel object from the slab allocator
  uint64_t slab_free = 40;        // returning one kernel object
  uint64_t shm_create = 3000;     // creating a shared-memory segment
  uint64_t compaction = 5000;     // a compaction pass besides its scans and moves
  uint64_t file_read = 30000;     // major fault: reading one page from the file store (device latency)
  uint64_t file_write = 30000;    // writing one dirty page-cache page back to the file store
  uint64_t migrate_page = 300;    // moving one page besides its copy and PTE writes
  uint64_t context_switch = 2000; // scheduler: saving and restoring a process's state (the root write apart)
  uint64_t thp_scan = 100;        // examining one 2 MiB range as a collapse candidate (its table read timed apart)
  uint64_t thp_collapse = 2000;   // collapsing a 2 MiB range besides its copies, PTE writes and invalidations
  uint64_t swap_in = 2000;        // swap-in fault besides the device read and the page write
  uint64_t swap_out = 1500;       // evicting one page besides its PTE accesses and the device write
  uint64_t reclaim_scan = 100;    // reclaim examining one candidate page (policy and reverse-map bookkeeping)

  template <class V>
  void visit(V& v) {
    v("fault_entry", fault_entry, "core cycles", "Page-fault exception entry and return");
    v("vma_lookup", vma_lookup, "core cycles", "Finding the VMA of a faulting address");
    v("frame_alloc", frame_alloc, "core cycles", "Allocating one block from the buddy allocator");
    v("frame_free", frame_free, "core cycles", "Freeing one block to the buddy allocator");
    v("process_create", process_create, "core cycles", "Creating a process (besides its root table)");
    v("process_exit", process_exit, "core cycles", "Tearing a process down (besides freeing its frames)");
    v("kill", kill, "core cycles",
      "Killing a process with SIGSEGV or SIGBUS (signal delivery, report); charged again per other thread of its group");
    v("syscall_entry", syscall_entry, "core cycles", "System-call entry and return");
    v("vma_update", vma_update, "core cycles", "Inserting, splitting, merging or removing one VMA");
    v("pte_update", pte_update, "core cycles", "Kernel work per PTE changed (the PTE write itself is a timed access)");
    v("tlb_invalidate", tlb_invalidate, "core cycles", "One INVLPG on the core running the kernel");
    v("ipi_send", ipi_send, "core cycles", "TLB shootdown, per target core: send the IPI and wait for the ack");
    v("ipi_receive", ipi_receive, "core cycles",
      "TLB shootdown, charged to each receiving core: interrupt entry, invalidations, ack");
    v("fork", fork, "core cycles", "fork besides copying page tables (those are timed accesses)");
    v("cow_break", cow_break, "core cycles",
      "Copy-on-write fault besides copying the page (4 KiB, or a 1 GiB pool page in 4 KiB blocks)");
    v("slab_alloc", slab_alloc, "core cycles", "Allocating one kernel object from the slab allocator");
    v("slab_free", slab_free, "core cycles", "Freeing one kernel object to the slab allocator");
    v("shm_create", shm_create, "core cycles", "Creating a shared-memory segment");
    v("compaction", compaction, "core cycles", "A compaction pass besides its table scans and page moves");
    v("file_read", file_read, "core cycles",
      "Major fault: reading one 4KiB page from the file store (device latency; the page write into memory is timed apart)");
    v("file_write", file_write, "core cycles",
      "Writing one dirty page-cache page back to the file store when the file's last mapping goes (device "
      "latency; the page read from memory is timed apart)");
    v("migrate_page", migrate_page, "core cycles", "Compaction: moving one page besides its 4 KiB copy and PTE writes");
    v("context_switch", context_switch, "core cycles",
      "Switching a core from one process to another (the root-register write and its TLB effect apart)");
    v("thp_scan", thp_scan, "core cycles",
      "Examining an aligned 2 MiB range of a huge area as a collapse candidate (its 4 KiB page-table read is timed apart)");
    v("thp_collapse", thp_collapse, "core cycles",
      "Collapsing a 2 MiB range back into a 2 MiB page besides its page copies, PTE writes and TLB invalidations");
    v("swap_in", swap_in, "core cycles",
      "Major fault from swap: swap-cache lookup, I/O submission and completion (the device time and the page "
      "write into memory are timed apart)");
    v("swap_out", swap_out, "core cycles",
      "Evicting one page: swap-slot allocation, reverse-map bookkeeping, I/O submission (PTE accesses, the page "
      "read and the device time apart)");
    v("reclaim_scan", reclaim_scan, "core cycles",
      "Reclaim examining one candidate page, besides the PTE reads of its Accessed/Dirty bits");
  }
};

// Physical-memory manager parameters (per-node DMA + Normal buddy zones, per-CPU order-0 lists).
struct KernelMemConfig {
  Bytes dma_limit{16ull << 20};
  uint64_t pcp_high = 192;
  uint64_t pcp_batch = 32;
  bool lazy_coalescing = false;

  template <class V>
  void visit(V& v) {
    v("dma_limit", dma_limit, "bytes", "Physical addresses below this form node 0's DMA zone (16MiB on x86)");
    v("pcp_high", pcp_high, "frames",
      "Per-CPU order-0 list high watermark: a free leaving more than this drains a batch (0: no per-CPU lists)");
    v("pcp_batch", pcp_batch, "frames", "Frames moved between a per-CPU list and its zone per refill or drain");
    v("lazy_coalescing", lazy_coalescing, "",
      "Free buddy blocks without merging; merge in one pass when an allocation finds no large-enough block");
  }
};

enum class Overcommit : uint8_t { Heuristic, Always, Never };

// Which firmware answers the cores' traps: full = this kernel, fixed = fw::FixedFirmware (no OS).
enum class FirmwareKind : uint8_t { Full, Fixed };

struct FixedFaultConfig {
  uint64_t fault_cycles = 1000;

  template <class V>
  void visit(V& v) {
    v("fault_cycles", fault_cycles, "core cycles",
      "firmware.kind fixed: cost of every page fault besides its frame zeroing and PTE writes (timed)");
  }
};

// A file of the in-model file store: its contents are a deterministic function of seed and offset, read
// into the page cache by major faults of file mappings.
struct FileConfig {
  std::string name;
  Bytes size{1ull << 20};
  uint64_t seed = 1;

  template <class V>
  void visit(V& v) {
    v("name", name, "", "File name that mmap calls use (`file:`)");
    v("size", size, "bytes", "File size (multiple of 4KiB)");
    v("seed", seed, "", "Seed of the file's contents");
  }
};

struct SchedulerConfig {
  uint64_t time_slice = 0;

  template <class V>
  void visit(V& v) {
    v("time_slice", time_slice, "core cycles",
      "Round-robin time slice of the processes of one core (functional mode: memory operations); 0 = each "
      "process runs to its end, one after another");
  }
};

struct KernelConfig {
  // Not a key: the hardware's page-table organisation, discovered by the firmware at boot (from
  // system.core.mmu.walker): 0 for radix tables, else the anchors of the hashed table to build.
  uint64_t hash_buckets = 0;
  // Not a key: 4 KiB slots of the swap area (system.swap.size) when system.swap.enabled, else 0. Without
  // swap the kernel neither tracks pages for reclaim nor evicts.
  uint64_t swap_slots = 0;
  FirmwareKind kind = FirmwareKind::Full;
  FixedFaultConfig fixed;
  uint64_t page_table_levels = 4;
  Bytes reserved_low{1ull << 20};
  uint64_t page_descriptor_bytes = 64;
  KernelMemConfig physmem;
  Overcommit overcommit = Overcommit::Heuristic;
  uint64_t overcommit_ratio = 50;
  Bytes mlock_limit{64ull << 20};
  uint64_t max_map_count = 65530;
  Bytes stack_limit{8ull << 20};
  uint64_t hugepages_1g = 0;
  bool compaction = true;
  bool check_contents = false;
  std::vector<FileConfig> files;
  SchedulerConfig scheduler;
  SwapPolicyConfig swap;
  KernelCosts costs;

  template <class V>
  void visit(V& v) {
    v("kind", kind, "",
      "The firmware behind the cores' trap interface: full (this OS: processes, system calls, NUMA policy, "
      "huge pages, swap) or fixed (no OS: every fault maps a zeroed 4 KiB read-write frame at a fixed cost; "
      "no system calls, forks or reclaim; a baseline and the firmware of model tests)");
    v.section("fixed", fixed, "The fixed firmware (firmware.kind: fixed)");
    v("page_table_levels", page_table_levels, "levels",
      "Levels of the page tables the kernel builds: 4 or 5 (must match system.core.mmu.walker.levels)");
    v("reserved_low", reserved_low, "bytes", "Physical memory from address 0 the kernel never allocates (firmware area)");
    v("page_descriptor_bytes", page_descriptor_bytes, "bytes",
      "Bookkeeping per physical frame (like Linux's struct page); reserved per node from that node at boot");
    v.section("physmem", physmem, "Physical memory manager: zones and per-CPU page lists");
    v("overcommit", overcommit, "",
      "mmap/brk admission: heuristic (refuse one mapping larger than all memory), always, never (commit "
      "limit = overcommit_ratio % of managed frames)");
    v("overcommit_ratio", overcommit_ratio, "percent", "overcommit: never: commit limit as a percentage of managed frames");
    v("mlock_limit", mlock_limit, "bytes", "RLIMIT_MEMLOCK per address space (0: mlock fails with EPERM)");
    v("max_map_count", max_map_count, "VMAs", "VMAs per address space; a call needing more fails with ENOMEM");
    v("stack_limit", stack_limit, "bytes", "RLIMIT_STACK: how large a grows-down area may grow by faults");
    v("hugepages_1g", hugepages_1g, "pages",
      "1 GiB pages reserved at boot (like hugepages=) from the top of the nodes, for areas marked huge_1g");
    v("compaction", compaction, "",
      "Direct compaction: a 2 MiB fault that finds no free block moves 4 KiB user pages out of one region");
    v("check_contents", check_contents, "",
      "Debug: when an address space's last user ends, read every page of its private anonymous areas through "
      "the HAL (timed, charged to that core) and classify each 8-byte word as zero, its own virtual address "
      "(what 8-byte workload writes store) or other (system.os.proc<I>.contents_*)");
    v.list("files", files, "The in-model file store: files that mmap can map (page cache, major faults)");
    v.section("scheduler", scheduler, "Process scheduling on each core");
    v.section("swap", swap,
              "Page replacement and reclaim (the swap area itself is system.swap; used when system.swap.enabled)");
    v.section("costs", costs, "Cycle costs of kernel operations");
  }
  void validate(const std::string& path) const;
};

// Report of a process killed by the fault handler.
struct KillReport {
  Pid pid = 0;
  std::string name;
  CoreId core = 0;
  VirtAddr va;
  AccessKind kind = AccessKind::Read;
  uint32_t error_code = 0;
  std::string signal;
  std::string reason;
  uint64_t time_ps = 0;
};

struct Mm;
struct Process;
struct Segment;
struct ProcStats;
class Swapper;
class Numa;

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
  const KernelConfig& config() const { return m_cfg; }
  const std::vector<KillReport>& kills() const { return m_kills; }
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
  // /proc/buddyinfo and /proc/slabinfo-like text at this moment.
  std::string buddyinfo() const { return m_pmm->buddyinfo(); }
  std::string slabinfo() const { return m_slab->slabinfo(); }
  // buddyinfo, fragmentation indices (extfrag, unusable free space) and slabinfo, as one text report.
  std::string memory_report() const;

 private:
  class SwapperLink;     // the façade as the swapper's host (kernel_internal.hpp)
  class HugePagesLink;  // the façade as the huge pages' host (kernel_internal.hpp)

  Process& process(Pid pid);
  // Frame for a user page of `vma` at va, placed by NUMA policy (fw::Numa); zeroed if zero.
  std::optional<Pfn> alloc_user_frame(Hal& hal, Process& p, const Vma& vma, VirtAddr va, bool zero);
  std::optional<Pfn> alloc_user_block(Hal& hal, Process& p, const Vma& vma, VirtAddr va, unsigned order, bool zero);
  std::optional<Pfn> alloc_table_frame(Hal& hal, Mm& mm);
  void put_frame(Hal& hal, Pfn pfn);  // drops one reference; frees the frame on the last
  void get_frame(Pfn pfn);            // adds a reference
  std::optional<PhysAddr> kobj_alloc(Hal& hal, SlabCache& cache);
  void kobj_free(Hal& hal, SlabCache& cache, PhysAddr obj);
  bool sync_vma_objects(Hal& hal, Mm& mm);  // one vm_area_struct object per VMA
  std::shared_ptr<Mm> new_mm(Hal& hal, const ProcessSpec& spec);
  std::optional<Pid> new_process(Hal& hal, size_t index, std::shared_ptr<Mm> mm);
  // Maps a new page for a fault (or population) at va in vma. False: out of memory.
  bool fault_in(Hal& hal, Process& p, const Vma& vma, VirtAddr va);
  CowBreak break_cow(Hal& hal, Process& p, const Vma& vma, VirtAddr va);
  // Drops the pages' translations on this core; inside a stopped section (m_batch set) records them for
  // the other cores, else shoots them down at once.
  void invalidate(Hal& hal, Mm& mm, const std::vector<VirtAddr>& pages);
  // Ends a stopped section: counts and charges the IPIs if pages were invalidated, releases the cores.
  void finish_shootdown(Hal& hal, const std::vector<CoreId>& targets, PhysAddr root, uint16_t pcid,
                        const std::vector<VirtAddr>& pages);
  SyscallResult run_syscall(Hal& hal, Process& p, const Syscall& c);
  // The fault handler proper; threaded: other cores may have changed the tables since the walk.
  FaultOutcome fault(Hal& hal, Pid pid, VirtAddr va, AccessKind kind, uint32_t error_code, bool threaded);
  uint64_t unmap_range(Hal& hal, Mm& mm, VirtAddr start, VirtAddr end, std::vector<VirtAddr>& changed);
  bool commit_ok(uint64_t extra_pages) const;
  void release_segments(Hal& hal);
  // Marks the page-cache pages that shared file mappings of mm dirtied in [start, end) (their PTEs' D bits)
  // so they are written back to the file store when the file's last mapping goes.
  void harvest_file_dirty(Hal& hal, Mm& mm, VirtAddr start, VirtAddr end);
  // Kills p with `signal` (report line, KillReport, teardown), then every other thread of its group.
  void kill(Hal& hal, Process& p, VirtAddr va, AccessKind kind, uint32_t error_code, const std::string& reason,
            const char* signal = "SIGSEGV");
  // A fatal signal kills the whole thread group (Linux semantics): every other live process sharing
  // `group` gets its own report line and KillReport naming the first, and is torn down.
  void kill_thread_group(Hal& hal, Mm& group, const KillReport& first);
  void teardown(Hal& hal, Process& p);
  // firmware.check_contents: classifies the words of mm's private anonymous pages into p's statistics.
  void check_contents(Hal& hal, Mm& mm, Process& p);
  SyscallResult fail(SyscallKind k, int error);

  SyscallResult sys_mmap(Hal& hal, Process& p, const Syscall& c);
  SyscallResult sys_munmap(Hal& hal, Process& p, const Syscall& c);
  SyscallResult sys_mprotect(Hal& hal, Process& p, const Syscall& c);
  SyscallResult sys_mlock(Hal& hal, Process& p, const Syscall& c, bool lock);
  SyscallResult sys_brk(Hal& hal, Process& p, const Syscall& c);
  SyscallResult sys_fork(Hal& hal, Process& p, const Syscall& c);
  SyscallResult sys_shm_attach(Hal& hal, Process& p, const Syscall& c);
  SyscallResult sys_mbind(Hal& hal, Process& p, const Syscall& c);

  KernelConfig m_cfg;
  unsigned m_levels;
  uint64_t m_user_top;
  std::vector<NodeId> m_core_node;
  std::unique_ptr<PhysicalMemoryManager> m_pmm;
  std::unique_ptr<HashedTable> m_hashed;  // walker.format hashed only: the one global table
  std::unique_ptr<PmmPageSource> m_slab_pages;
  std::unique_ptr<SlabAllocator> m_slab;
  SlabCache* m_task_cache = nullptr;
  SlabCache* m_mm_cache = nullptr;
  SlabCache* m_vma_cache = nullptr;
  SlabCache* m_shm_cache = nullptr;
  uint64_t m_reserved_frames = 0;
  std::unordered_map<uint64_t, uint32_t> m_extra_refs;  // data frame -> references beyond the first
  std::map<uint64_t, std::unique_ptr<Segment>> m_segments;  // by id
  uint64_t m_next_segment = 1;
  std::vector<KillReport> m_kills;
  std::vector<uint8_t> m_copy_buf;
  std::vector<VirtAddr>* m_batch = nullptr;  // pages invalidated in the current stopped section

  stats::Group m_stats;  // root of system.os.*: the platform attaches it (stats::attach)
  stats::Group m_fault_stats{m_stats, "faults"};
  stats::Scalar m_faults{m_fault_stats, "total", "count", "Page faults handled"};
  stats::Scalar m_demand_zero{m_fault_stats, "demand_zero", "count", "Minor faults served by mapping a zeroed frame"};
  stats::Scalar m_shm_faults{m_fault_stats, "shared", "count",
                             "Minor faults mapping a shared-segment or page-cache frame already in memory"};
  stats::Scalar m_major{m_fault_stats, "major", "count",
                        "Major faults: a page read from the file store or from swap"};
  stats::Formula m_minor{m_fault_stats, "minor", "count",
                         "Faults served without I/O (total - major - SIGSEGV - out of memory)",
                         [this] {
                           return static_cast<double>(m_faults.value() - m_major.value() - m_segv_no_vma.value() -
                                                      m_segv_prot.value() - m_oom.value());
                         },
                         true};
  stats::Scalar m_cow_copies{m_fault_stats, "cow_copies", "count",
                             "Copy-on-write faults that copied the page to a new frame"};
  stats::Scalar m_cow_reuse{m_fault_stats, "cow_reuse", "count",
                            "Copy-on-write faults on a frame no longer shared (made writable in place)"};
  // Huge pages register their counters here, between copy-on-write and stack growth.
  HugePages m_huge{m_fault_stats, m_levels, m_user_top};
  stats::Scalar m_stack_growth{m_fault_stats, "stack_growth", "count", "Faults that extended a grows-down area"};
  stats::Scalar m_spurious{m_fault_stats, "spurious", "count",
                           "Faults on a page another thread mapped after this one's walk (retried)"};
  stats::Scalar m_segv_no_vma{m_fault_stats, "segv_no_vma", "count", "Faults at addresses outside every VMA (SIGSEGV)"};
  stats::Scalar m_segv_prot{m_fault_stats, "segv_protection", "count",
                            "Faults whose access the VMA forbids (SIGSEGV)"};
  stats::Scalar m_oom{m_fault_stats, "oom", "count",
                      "Faults that found no free frame even after reclaim and the OOM killer (the faulting process killed)"};
  Processes m_processes;  // the process table and system.os.processes (after faults, before frames)
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
  uint64_t m_locked_now = 0;
  uint64_t m_locked_peak = 0;
  stats::Formula m_shared_frames{m_frame_stats, "shared_peak", "frames",
                                 "Most data frames mapped more than once at a time",
                                 [this] { return static_cast<double>(m_shared_peak); }, true};
  stats::Formula m_giga_pool{m_frame_stats, "hugepages_1g_free", "pages", "1 GiB pool pages free at the end",
                             [this] { return static_cast<double>(m_huge.giga_free()); }, true};
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
  stats::Group m_sys_stats{m_stats, "syscalls"};
  stats::Scalar m_sys_total{m_sys_stats, "total", "count", "System calls made by process scripts"};
  std::vector<std::unique_ptr<stats::Scalar>> m_sys_calls;   // per SyscallKind
  std::vector<std::unique_ptr<stats::Scalar>> m_sys_errors;  // per errno name
  std::vector<int> m_errnos;
  stats::Group m_vm_stats{m_stats, "vm"};
  stats::Scalar m_vma_splits{m_vm_stats, "vma_updates", "count", "VMAs inserted, split, changed or removed by calls"};
  stats::Scalar m_vma_merges{m_vm_stats, "vma_merges", "count", "Neighbouring VMAs merged after a change"};
  stats::Scalar m_pages_unmapped{m_vm_stats, "pages_unmapped", "count", "Pages unmapped by munmap/brk/mmap(FIXED)"};
  stats::Scalar m_pages_protected{m_vm_stats, "pages_reprotected", "count", "PTEs rewritten by mprotect"};
  stats::Formula m_pages_locked{m_vm_stats, "locked_peak", "pages",
                                "Most pages in mlock'd areas at a time (all address spaces)",
                                [this] { return static_cast<double>(m_locked_peak); }, true};
  stats::Scalar m_cow_shared{m_vm_stats, "cow_shared_pages", "count", "Pages shared copy-on-write by fork"};
  stats::Scalar m_cow_shared_giga{m_vm_stats, "cow_shared_1g_pages", "count",
                                  "1 GiB pages shared copy-on-write by fork"};
  stats::Scalar m_segments_created{m_vm_stats, "shm_segments", "count", "Shared-memory segments created"};
  stats::Scalar m_file_writebacks{m_vm_stats, "file_writebacks", "pages",
                                  "Dirty page-cache pages written back to the file store (when a file's last mapping went)"};
  std::vector<std::unique_ptr<ProcStats>> m_pstats;  // per spec index

  // Swap and reclaim: creates system.os.swap (after vm, before the proc<I> groups).
  std::unique_ptr<SwapperLink> m_swapper_link;
  std::unique_ptr<HugePagesLink> m_huge_link;
  std::unique_ptr<Swapper> m_swapper;
  // NUMA placement of user frames (after the swapper: placement may reclaim).
  std::unique_ptr<Numa> m_numa;
};

}  // namespace vmsim::fw

template <>
struct vmsim::config::EnumNames<vmsim::fw::Overcommit> {
  static const std::vector<std::pair<vmsim::fw::Overcommit, const char*>>& table() {
    using O = vmsim::fw::Overcommit;
    static const std::vector<std::pair<O, const char*>> t = {
        {O::Heuristic, "heuristic"}, {O::Always, "always"}, {O::Never, "never"}};
    return t;
  }
};
template <>
struct vmsim::config::EnumNames<vmsim::fw::FirmwareKind> {
  static const std::vector<std::pair<vmsim::fw::FirmwareKind, const char*>>& table() {
    using K = vmsim::fw::FirmwareKind;
    static const std::vector<std::pair<K, const char*>> t = {{K::Full, "full"}, {K::Fixed, "fixed"}};
    return t;
  }
};
template <>
struct vmsim::config::EnumNames<vmsim::fw::SyscallKind> {
  static const std::vector<std::pair<vmsim::fw::SyscallKind, const char*>>& table() {
    using K = vmsim::fw::SyscallKind;
    static const std::vector<std::pair<K, const char*>> t = {
        {K::Mmap, "mmap"},   {K::Munmap, "munmap"}, {K::Mprotect, "mprotect"},    {K::Mlock, "mlock"},
        {K::Munlock, "munlock"}, {K::Brk, "brk"},   {K::Fork, "fork"},            {K::Exit, "exit"},
        {K::ShmAttach, "shm_attach"}, {K::Mbind, "mbind"}};
    return t;
  }
};
template <>
struct vmsim::config::EnumNames<vmsim::fw::NumaPolicyKind> {
  static const std::vector<std::pair<vmsim::fw::NumaPolicyKind, const char*>>& table() {
    using K = vmsim::fw::NumaPolicyKind;
    static const std::vector<std::pair<K, const char*>> t = {{K::Default, "default"},
                                                             {K::Local, "local"},
                                                             {K::Bind, "bind"},
                                                             {K::Interleave, "interleave"},
                                                             {K::Preferred, "preferred"}};
    return t;
  }
};
