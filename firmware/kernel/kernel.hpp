// The firmware OS kernel: boots a buddy frame allocator over physical memory, creates processes with
// address spaces (root table + VMAs), handles page faults (demand-zero mapping or kill), and tears
// processes down. It reaches the hardware only through the HAL of the core it runs on.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <systemc>
#include <vector>

#include "firmware/hal/hal.hpp"
#include "firmware/mm/buddy.hpp"
#include "firmware/vm/hashed_table.hpp"
#include "firmware/vm/vma.hpp"
#include "models/common/config.hpp"
#include "models/common/stats.hpp"

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

  template <class V>
  void visit(V& v) {
    v("fault_entry", fault_entry, "core cycles", "Page-fault exception entry and return");
    v("vma_lookup", vma_lookup, "core cycles", "Finding the VMA of a faulting address");
    v("frame_alloc", frame_alloc, "core cycles", "Allocating one block from the buddy allocator");
    v("frame_free", frame_free, "core cycles", "Freeing one block to the buddy allocator");
    v("process_create", process_create, "core cycles", "Creating a process (besides its root table)");
    v("process_exit", process_exit, "core cycles", "Tearing a process down (besides freeing its frames)");
    v("kill", kill, "core cycles", "Killing a process with SIGSEGV (signal delivery, report)");
  }
};

struct KernelConfig {
  uint64_t page_table_levels = 4;
  Bytes reserved_low{1ull << 20};
  uint64_t page_descriptor_bytes = 64;
  KernelCosts costs;
  // Not a key: the hardware's page-table organisation, discovered by the firmware at boot (from
  // system.core.mmu.walker): 0 for radix tables, else the anchors of the hashed table to build.
  uint64_t hash_buckets = 0;

  template <class V>
  void visit(V& v) {
    v("page_table_levels", page_table_levels, "levels",
      "Levels of the page tables the kernel builds: 4 or 5 (must match system.core.mmu.walker.levels)");
    v("reserved_low", reserved_low, "bytes", "Physical memory from address 0 the kernel never allocates (firmware area)");
    v("page_descriptor_bytes", page_descriptor_bytes, "bytes",
      "Bookkeeping per physical frame (like Linux's struct page); the total is reserved from the allocator at boot");
    v.section("costs", costs, "Cycle costs of kernel operations");
  }
  void validate(const std::string& path) const;
};

// What the firmware knows about a process at creation.
struct ProcessSpec {
  std::string name;
  CoreId core = 0;
  std::vector<Vma> vmas;
};

enum class FaultOutcome { Retry, Killed };

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

class Kernel : public sc_core::sc_module {
 public:
  // Boots over physical memory [0, memory_bytes). Throws InputError if the kernel's reservations do
  // not fit.
  Kernel(const sc_core::sc_module_name& name, const KernelConfig& cfg, uint64_t memory_bytes);
  ~Kernel() override;

  // Creates a process: root table (zeroed), VMAs. Returns its pid, or nullopt when memory is exhausted.
  std::optional<Pid> create_process(Hal& hal, const ProcessSpec& spec);
  // Makes pid current on the HAL's core (writes the root-table register).
  void switch_to(Hal& hal, Pid pid);
  // The page-fault handler. Returns Retry after mapping the page, or Killed after killing the process.
  FaultOutcome handle_page_fault(Hal& hal, Pid pid, VirtAddr va, AccessKind kind, uint32_t error_code);
  // Normal exit: frees every frame and table of the process.
  void exit_process(Hal& hal, Pid pid);

  bool alive(Pid pid) const;
  const std::vector<KillReport>& kills() const { return m_kills; }
  const BuddyAllocator& frames() const { return m_buddy; }
  uint64_t reserved_frames() const { return m_reserved_frames; }
  // Distinct pages currently mapped for pid (its resident set).
  uint64_t resident_pages(Pid pid) const;

 private:
  struct Process;
  Process& process(Pid pid);
  std::optional<Pfn> alloc_frame(Hal& hal, bool zero);
  void free_frame(Hal& hal, Pfn pfn);
  void kill(Hal& hal, Process& p, VirtAddr va, AccessKind kind, uint32_t error_code, const std::string& reason);
  void teardown(Hal& hal, Process& p);

  // Maps va's page for p (radix tables or the hashed table); false if a table frame could not be had.
  bool map_user_page(Hal& hal, Process& p, VirtAddr va, Pfn frame, uint64_t flags);
  static uint64_t hashed_reserve(const KernelConfig& cfg);

  KernelConfig m_cfg;
  BuddyAllocator m_buddy;
  std::unique_ptr<HashedTable> m_hashed;  // format hashed only
  uint64_t m_reserved_frames = 0;
  std::vector<std::unique_ptr<Process>> m_procs;  // index = pid - 1
  std::vector<KillReport> m_kills;

  stats::Group m_stats{*this};
  stats::Group m_fault_stats{m_stats, "faults"};
  stats::Scalar m_faults{m_fault_stats, "total", "count", "Page faults handled"};
  stats::Scalar m_demand_zero{m_fault_stats, "demand_zero", "count", "Minor faults served by mapping a zeroed frame"};
  stats::Scalar m_segv_no_vma{m_fault_stats, "segv_no_vma", "count", "Faults at addresses outside every VMA (SIGSEGV)"};
  stats::Scalar m_segv_prot{m_fault_stats, "segv_protection", "count",
                            "Faults whose access the VMA forbids (SIGSEGV)"};
  stats::Scalar m_oom{m_fault_stats, "oom", "count", "Faults that found no free frame (process killed)"};
  stats::Group m_proc_stats{m_stats, "processes"};
  stats::Scalar m_created{m_proc_stats, "created", "count", "Processes created"};
  stats::Scalar m_exited{m_proc_stats, "exited", "count", "Processes that ran to completion"};
  stats::Scalar m_killed{m_proc_stats, "killed", "count", "Processes killed"};
  stats::Group m_frame_stats{m_stats, "frames"};
  stats::Scalar m_data_frames{m_frame_stats, "data_allocated", "count", "Frames allocated for user pages"};
  stats::Scalar m_table_frames{m_frame_stats, "table_allocated", "count", "Frames allocated for page tables"};
  stats::Scalar m_freed{m_frame_stats, "freed", "count", "Frames returned to the allocator"};
  stats::Formula m_free_now{m_frame_stats, "free", "frames", "Free frames at the end of the run",
                            [this] { return static_cast<double>(m_buddy.free_frames()); }, true};
  stats::Formula m_total{m_frame_stats, "managed", "frames", "Frames managed by the buddy allocator",
                         [this] { return static_cast<double>(m_buddy.total_frames()); }, true};
  stats::Formula m_reserved{m_frame_stats, "reserved", "frames",
                            "Frames reserved at boot for the kernel's page descriptors",
                            [this] { return static_cast<double>(m_reserved_frames); }, true};
  stats::Counter m_splits{m_frame_stats, "buddy_splits", "count", "Buddy block splits",
                          [this] { return m_buddy.splits(); }};
  stats::Counter m_merges{m_frame_stats, "buddy_merges", "count", "Buddy block coalesces",
                          [this] { return m_buddy.merges(); }};
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
};

}  // namespace vmsim::fw
