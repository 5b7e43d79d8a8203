// The kernel's shared records (address spaces, processes, shared segments, per-process statistics, tracked
// page descriptors) and small helpers, used by the kernel façade and its subsystems.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "firmware/hal/hal.hpp"
#include "firmware/kernel/mm_notifier.hpp"
#include "firmware/mm/zones.hpp"
#include "firmware/swap/reclaim.hpp"
#include "firmware/swap/replacement.hpp"
#include "firmware/swap/ws_tracker.hpp"
#include "firmware/vm/pcid_allocator.hpp"
#include "firmware/vm/page_table.hpp"
#include "firmware/vm/vma.hpp"
#include "common/error.hpp"
#include "common/pte.hpp"
#include "common/stats.hpp"
#include "common/units.hpp"

namespace vmsim::fw {

// Sizes of the kernel's own objects (roughly Linux's), carved from slab caches.
constexpr uint64_t kTaskBytes = 1024;  // task_struct
constexpr uint64_t kMmBytes = 512;     // mm_struct
constexpr uint64_t kVmaBytes = 192;    // vm_area_struct
constexpr uint64_t kShmBytes = 256;    // shmid_kernel

struct Mm {
  uint64_t id = 0;
  PhysAddr root{0};
  PcidContext pcid;  // from the kernel's PcidAllocator (Processes); pcid.id goes with root into CR3
  // firmware.kpti: the user copy of the root pair (page_table.hpp), loaded with the user PCID
  // pcid.id | user_pcid_bit while user code runs; PhysAddr{0} without KPTI.
  PhysAddr user_root{0};
  uint16_t user_pcid_bit = 0;
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
  uint64_t swap_pages = 0;          // swap entries in the tables
  uint64_t numa_scan_next = 0;      // firmware.numa_balancing: where the next hint scan starts
  // A secondary MMU caching this address space's translations (a VM process's EPT), or nullptr.
  MmNotifier* notifier = nullptr;
};

struct Process {
  Pid pid = 0;
  std::string name;
  CoreId core = 0;
  size_t index = 0;
  std::shared_ptr<Mm> mm;
  NumaPolicy policy;
  bool alive = true;
  PhysAddr obj{0};
  // A fault that started (or found) a swap-in sleeps until blocked_until; its retry at blocked_page
  // continues that fault rather than starting a new one.
  uint64_t blocked_until = 0;
  uint64_t blocked_since = 0;
  uint64_t blocked_page = UINT64_MAX;
};

struct Segment {
  uint64_t id = 0;
  std::string key;
  int file = -1;  // page cache of this file of the store, or -1 (anonymous shared memory)
  uint64_t bytes = 0;
  std::vector<uint64_t> frames;  // per page: pfn + 1, or 0 before the first touch
  std::vector<bool> dirty;       // file page cache: written through a shared mapping since it was read
  PhysAddr obj{0};
};

struct ProcStats {
  // migrations: the run moves processes between cores (the statistic `migrations` exists).
  ProcStats(stats::Group& parent, size_t index, size_t nodes, uint64_t tau, bool migrations = false)
      : group(parent, "proc" + std::to_string(index)),
        faults(group, "faults", "count", "Page faults taken by this process"),
        local(group, "pages_local", "pages", "Data pages placed on the faulting core's local node"),
        remote(group, "pages_remote", "pages", "Data pages placed on another node"),
        cow(group, "cow_copies", "count", "Copy-on-write page copies"),
        calls(group, "syscalls", "count", "System calls made"),
        failed(group, "syscall_errors", "count", "System calls that returned an errno"),
        major(group, "major_faults", "count", "Major faults: pages read from swap or the file store"),
        swap_wait(group, "swap_wait", "ns", "Time this process slept waiting for swap-ins"),
        ws(std::make_unique<WorkingSetTracker>(tau)),
        ws_peak(group, "working_set_peak", "pages",
                "Largest working-set size sampled: pages referenced within the last firmware.swap.tau memory "
                "operations (A-bit scans every firmware.swap.scan_period, with swap)",
                [this] { return static_cast<double>(ws->peak()); }, true),
        ws_mean(group, "working_set_mean", "pages", "Mean working-set size over the samples",
                [this] { return ws->mean(); }),
        accesses_local(group, "accesses_local", "count",
                       "Completed data accesses and fetches whose physical address lies on the node local to the "
                       "core the process ran on (counted by the core)",
                       [this] { return access_counts[0]; }),
        accesses_remote(group, "accesses_remote", "count",
                        "Completed data accesses and fetches whose physical address lies on another node",
                        [this] { return access_counts[1]; }),
        contents_own(group, "contents_own_va", "words",
                     "firmware.check_contents: 8-byte words holding their own virtual address when the address "
                     "space ended (counted for its last user)"),
        contents_zero(group, "contents_zero", "words", "firmware.check_contents: words holding zero"),
        contents_other(group, "contents_other", "words",
                       "firmware.check_contents: words holding anything else (a lost or misplaced write, or data "
                       "not written by 8-byte workload accesses)") {
    for (size_t n = 0; n < nodes; ++n) {
      node_pages.push_back(std::make_unique<stats::Scalar>(group, "pages_node" + std::to_string(n), "pages",
                                                           "Data pages allocated on node " + std::to_string(n)));
    }
    if (migrations) {
      this->migrations = std::make_unique<stats::Scalar>(
          group, "migrations", "count", "Moves of this process to another core (scheduled or by the load balancer)");
    }
  }
  stats::Group group;
  stats::Scalar faults, local, remote, cow, calls, failed, major, swap_wait;
  std::unique_ptr<WorkingSetTracker> ws;
  stats::Formula ws_peak, ws_mean;
  // Kept by the cores (Kernel::access_counters): [0] local, [1] remote accesses.
  uint64_t access_counts[2] = {0, 0};
  stats::Counter accesses_local, accesses_remote;
  stats::Scalar contents_own, contents_zero, contents_other;
  std::vector<std::unique_ptr<stats::Scalar>> node_pages;
  std::unique_ptr<stats::Scalar> migrations;  // only when processes may move between cores
};

// A tracked frame (private anonymous 4 KiB page, with swap): its node and the PTEs mapping it. The
// soft Accessed/Dirty flags keep what A-bit scans and removed PTEs reported.
struct PageDesc {
  NodeId node = 0;
  PageKind kind = PageKind::Anon;  // File: a page-cache page of segment `seg`, page `index` of the file
  uint64_t seg = 0;
  uint64_t index = 0;
  bool referenced = false;
  bool dirty = false;
  struct Mapping {
    Mm* mm;
    uint64_t va;   // virtual page address
    PhysAddr pte;  // the leaf entry (tables are freed only after the pages they map are unmapped)
  };
  std::vector<Mapping> maps;
};

// Huge-page geometry: a 2 MiB page is an order-9 buddy block; a 1 GiB page is a pool page.
constexpr unsigned kHugeOrder = 9;
constexpr uint64_t kHugeFrames = 512;
constexpr uint64_t kHugeBytes = 2ull << 20;
constexpr uint64_t kGigaFrames = 1ull << 18;
constexpr uint64_t kGigaBytes = 1ull << 30;

// Outcome of a copy-on-write break: done (or nothing left to do), no frame to copy into, no 1 GiB pool page.
enum class CowBreak { Done, NoFrame, NoHugePage };

constexpr uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

// The address space user code of mm runs under, where its user translations are cached: with KPTI the
// user copy of the root pair with the user PCID, else the root with the PCID.
struct UserSpace {
  PhysAddr root;
  uint16_t pcid;
};
inline UserSpace user_space(const Mm& mm) {
  if (mm.user_root.value() == 0) return {mm.root, mm.pcid.id};
  return {mm.user_root, static_cast<uint16_t>(mm.pcid.id | mm.user_pcid_bit)};
}

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

// The leaf flags of a user page of `vma` (U, W if writable and the area allows writes, NX unless executable).
inline uint64_t leaf_flags(const Vma& vma, bool writable) {
  uint64_t flags = pte_bit::kUser;
  if (writable && (vma.prot & prot::kWrite)) flags |= pte_bit::kWritable;
  if (!(vma.prot & prot::kExec)) flags |= pte_bit::kNoExecute;
  return flags;
}

// Cores other than the HAL's that ran the address space (may cache its translations).
inline std::vector<CoreId> other_cores(const Hal& hal, const Mm& mm) {
  std::vector<CoreId> targets;
  for (CoreId c = 0; c < mm.cpus.size(); ++c) {
    if (mm.cpus[c] && c != hal.core_id()) targets.push_back(c);
  }
  return targets;
}

}  // namespace vmsim::fw
