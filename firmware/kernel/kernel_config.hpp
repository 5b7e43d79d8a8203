// The firmware's configuration (the `firmware` section): the kernel's cycle costs, physical-memory manager,
// overcommit and limits, the file store, scheduling, swap policy, and the choice between the full kernel and
// the fixed firmware; with the names of the enumerations its keys and the process scripts use.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "firmware/hal/trap.hpp"
#include "firmware/swap/reclaim.hpp"
#include "firmware/vm/vma.hpp"
#include "common/config.hpp"
#include "common/units.hpp"

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
  uint64_t task_migration = 3000; // moving a process to another core's run queue (dequeue, enqueue, wake-up IPI)
  uint64_t kpti_switch = 100;     // KPTI: one root-register write at a kernel entry or return (its flush apart)

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
    v("migrate_page", migrate_page, "core cycles",
      "Compaction or NUMA balancing: moving one page besides its 4 KiB copy and PTE writes");
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
    v("task_migration", task_migration, "core cycles",
      "Moving a process to another core (processes[].migrations, firmware.scheduler.load_balance): dequeue, "
      "enqueue and the wake-up IPI, charged to the core it leaves (its TLB drop apart)");
    v("kpti_switch", kpti_switch, "core cycles",
      "firmware.kpti: one root-register switch at a kernel entry or return (the flush it causes without PCIDs "
      "is modeled apart; Linux's Documentation/arch/x86/pti.rst: moves to CR3 are on the order of a hundred "
      "cycles)");
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

// The periodic load balancer (as Linux's periodic balancing, reduced to task counts): every `period`
// memory operations of all cores, if the busiest core has at least `threshold` more tasks than the idlest,
// the busiest gives one task that is not running to the idlest.
struct LoadBalanceConfig {
  bool enabled = false;
  uint64_t period = 100000;
  uint64_t threshold = 2;

  template <class V>
  void visit(V& v) {
    v("enabled", enabled, "",
      "Move a waiting process from the busiest core (most unfinished processes) to the idlest when their "
      "counts differ by threshold or more");
    v("period", period, "operations", "Balance every this many memory operations of all cores together");
    v("threshold", threshold, "processes",
      "Smallest difference of process counts (busiest - idlest) that moves one (>= 2, so a move never "
      "just swaps the imbalance)");
  }
};

struct SchedulerConfig {
  uint64_t time_slice = 0;
  LoadBalanceConfig load_balance;

  template <class V>
  void visit(V& v) {
    v("time_slice", time_slice, "core cycles",
      "Round-robin time slice of the processes of one core (functional mode: memory operations); 0 = each "
      "process runs to its end, one after another");
    v.section("load_balance", load_balance, "Periodic load balancing between cores (process migration)");
  }
};

// Automatic NUMA balancing (Linux's task_numa_work / do_numa_page): a periodic scan turns a slice of
// every address space's PTEs into NUMA hint entries (PROT_NONE-style: P clear, frame kept); the hint
// faults record the node that touched each page, and a page touched twice in a row from the same remote
// node migrates there, within a rate limit.
struct NumaBalancingConfig {
  bool enabled = false;
  uint64_t scan_period = 100000;
  Bytes scan_size{256ull << 20};
  uint64_t rate_limit_mbps = 1342;

  template <class V>
  void visit(V& v) {
    v("enabled", enabled, "", "Automatic NUMA balancing (hint-fault scanning and page migration)");
    v("scan_period", scan_period, "operations",
      "Scan every this many memory operations of all cores together (Linux: numa_balancing_scan_period_min_ms)");
    v("scan_size", scan_size, "bytes",
      "Virtual address range of each address space made inaccessible per scan (Linux: numa_balancing_scan_size_mb, "
      "256 MB); the next scan goes on where this one stopped");
    v("rate_limit_mbps", rate_limit_mbps, "MB/s",
      "Most bytes migrated per second of simulated time, in windows of 100 ms (Linux's 128 MiB per 100 ms is 1342 "
      "MB/s; 0 = no limit). The functional mode has no time: one window's worth for the whole run");
  }
};

// Memory tiering (Linux's memory tiers with demotion in reclaim and NUMA_BALANCING_MEMORY_TIERING): nodes are
// fast or slow (system.memory.nodes[i].tier); reclaim on a fast node migrates its cold pages to the nearest
// slow node instead of evicting them, and the NUMA-balancing scan hints slow-tier pages so that a page touched
// soon after its scan is promoted to the toucher's fast node, within a rate limit and the node's watermarks.
struct TieringConfig {
  bool enabled = false;
  bool demotion = true;
  bool promotion = true;
  Duration hot_threshold = Duration{1000000000000000ull};  // 1 s
  uint64_t promote_rate_limit_mbps = 65536;

  template <class V>
  void visit(V& v) {
    v("enabled", enabled, "",
      "Memory tiering: reclaim and the promotion scan know fast and slow nodes (system.memory.nodes[i].tier); "
      "needs at least one node of each tier. Reclaim runs with it even without system.swap");
    v("demotion", demotion, "",
      "Reclaim on a fast node migrates its victims to the node's demotion target (the nearest slow node) instead "
      "of evicting them; only when the target is short do they go to swap (or stay)");
    v("promotion", promotion, "",
      "The NUMA-balancing scan (its scan_period and scan_size; it runs even with firmware.numa_balancing off) "
      "hints slow-tier pages, and a hot one is promoted to the faulting core's fast node on its hint fault");
    v("hot_threshold", hot_threshold, "time",
      "A slow-tier page is hot when its hint fault comes less than this long after the scan that hinted it "
      "(Linux: numa_balancing_hot_threshold_ms, 1000 ms); the functional mode has no time: every page is hot");
    v("promote_rate_limit_mbps", promote_rate_limit_mbps, "MB/s",
      "Most bytes promoted per second of simulated time, in windows of 100 ms aligned to time 0 (Linux: "
      "numa_balancing_promote_rate_limit_MBps, 65536; 0 = no limit). The functional mode: one window for the run");
  }
};

struct KernelConfig {
  // Not a key: the hardware's page-table organisation, discovered by the firmware at boot (from
  // system.core.mmu.walker): 0 for radix tables, else the anchors of the hashed table to build.
  uint64_t hash_buckets = 0;
  // Not a key: 4 KiB slots of the swap area (system.swap.size) when system.swap.enabled, else 0. Without
  // swap the kernel neither tracks pages for reclaim nor evicts.
  uint64_t swap_slots = 0;
  // Not a key: PCIDs the hardware tags translations with (system.core.mmu.pcid_count); the kernel hands
  // out 1..pcid_count-1 to address spaces (fw::PcidAllocator).
  uint64_t pcid_count = 4096;
  // Not keys, set by the platform: the core clock (migration costs are reported in core cycles), and
  // whether processes may move between cores (processes[].migrations or load balancing: per-process
  // migration statistics exist).
  uint64_t core_hz = 3000000000ull;
  bool task_migration = false;
  // Not keys, set by the platform from system.memory.nodes and system.interconnect.distance: whether each
  // node is slow memory (its tier), and the distance between nodes as firmware reports it (node i's row is
  // the row of its home socket: the first socket at i's smallest distance). Empty: every node fast, and
  // fallback in node-id order.
  std::vector<bool> node_slow;
  std::vector<std::vector<uint64_t>> node_distance;
  // Not keys, set by the platform: CR4.SMAP and CR4.SMEP (system.core.mmu.smap, .smep), which the fault
  // handler reads for the kernel's faults on user addresses; whether any process script calls read or write
  // (the kernel makes user copies: their statistics exist); and the test-only injections
  // sim.inject_missing_stac (user copies without stac) and sim.inject_user_fetch (a user address the kernel
  // fetches an instruction from at each read or write call; 0 = never).
  bool smap = false;
  bool smep = false;
  bool user_copies = false;
  bool inject_missing_stac = false;
  uint64_t inject_user_fetch = 0;
  FirmwareKind kind = FirmwareKind::Full;
  FixedFaultConfig fixed;
  uint64_t page_table_levels = 4;
  Bytes reserved_low{1ull << 20};
  bool kernel_virtual_access = true;
  bool direct_map_gbpages = true;
  bool kpti = false;
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
  NumaBalancingConfig numa_balancing;
  TieringConfig tiering;
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
    v("kernel_virtual_access", kernel_virtual_access, "",
      "A kernel half in every address space (Linux's direct map of all physical memory at 0xffff888000000000, "
      "0xff11000000000000 with 5 levels: global supervisor no-execute pages in tables shared by every root, "
      "placed below reserved_low), and the firmware's own memory accesses (page zeroing and copies, page-table "
      "reads and writes) made through it: supervisor accesses translated by the core's MMU before "
      "they reach memory. false: no kernel half and physical firmware accesses. Radix page tables only (with "
      "system.core.mmu.walker.format hashed it has no effect) and firmware.kind full only");
    v("direct_map_gbpages", direct_map_gbpages, "",
      "The direct map uses 1 GiB pages for whole gigabytes of memory (false: 2 MiB pages, as Linux's nogbpages "
      "or a CPU without 1 GiB pages)");
    v("kpti", kpti, "",
      "Kernel page-table isolation, as Linux's PTI: two roots per address space, the kernel copy (everything) "
      "and the user copy (the user half, the same lower tables, plus one global page, the entry trampoline, "
      "at 0xfffffe0000000000); the kernel switches the root register to the kernel copy on every entry (page "
      "fault, system call, interrupt, context switch) and back to the user copy on every return. The user "
      "copy is loaded with PCID = the kernel PCID | pcid_count/2 (Linux: bit 11), so with "
      "system.core.mmu.pcid the switches flush nothing; without it each one flushes the non-global "
      "translations, and the direct map is not global. Needs firmware.kernel_virtual_access and radix page "
      "tables");
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
    v.section("numa_balancing", numa_balancing, "Automatic NUMA balancing (page migration by hint faults)");
    v.section("tiering", tiering, "Memory tiering: demotion of cold pages in reclaim, promotion of hot ones");
    v.section("swap", swap,
              "Page replacement and reclaim (the swap area itself is system.swap; used when system.swap.enabled)");
    v.section("costs", costs, "Cycle costs of kernel operations");
  }
  void validate(const std::string& path) const;
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
        {K::ShmAttach, "shm_attach"}, {K::Mbind, "mbind"}, {K::Read, "read"},   {K::Write, "write"}};
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
