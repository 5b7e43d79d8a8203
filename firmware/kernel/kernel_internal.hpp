// Private to the kernel's source files: the kernel's own records (address spaces, processes, segments,
// per-process statistics) and small helpers shared by kernel.cpp, huge.cpp and syscalls.cpp.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "firmware/kernel/kernel.hpp"
#include "firmware/vm/page_table.hpp"
#include "models/common/error.hpp"
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
        failed(group, "syscall_errors", "count", "System calls that returned an errno"),
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
  }
  stats::Group group;
  stats::Scalar faults, local, remote, cow, calls, failed;
  // Kept by the cores (Kernel::access_counters): [0] local, [1] remote accesses.
  uint64_t access_counts[2] = {0, 0};
  stats::Counter accesses_local, accesses_remote;
  stats::Scalar contents_own, contents_zero, contents_other;
  std::vector<std::unique_ptr<stats::Scalar>> node_pages;
};

constexpr uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

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

}  // namespace vmsim::fw
