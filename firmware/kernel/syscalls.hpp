// The kernel's system calls: mmap (anonymous, shared and file mappings), munmap, mprotect, mlock/munlock
// (mlock populates), brk, fork (admission; the copy is fw::Processes'), exit, shm_attach, mbind, and read
// and write of the file store's files (through the page cache and fw::UserCopy), with overcommit accounting
// and errno results. Owns the statistics groups system.os.syscalls (calls and errors)
// and system.os.vm (VMA and PTE changes, sharing, segments, file write-back).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "firmware/hal/hal.hpp"
#include "firmware/hal/trap.hpp"
#include "firmware/kernel/kernel_types.hpp"
#include "firmware/mm/zones.hpp"
#include "firmware/vm/vma.hpp"
#include "common/stats.hpp"

namespace vmsim::fw {

struct KernelConfig;
class Faults;
class HugePages;
class Processes;
class SlabCache;
class Swapper;
class UserCopy;

// What system calls ask of the rest of the kernel (the façade implements it).
class SyscallsHost {
 public:
  virtual ~SyscallsHost() = default;
  // Drops one reference to a data frame; frees it on the last.
  virtual void put_frame(Hal& hal, Pfn pfn) = 0;
  // References to a data frame (0 if not a mapped data frame).
  virtual uint32_t frame_refs(Pfn pfn) const = 0;
  // Drops the pages' translations of mm here and (inside the call's stopped section) on the other cores.
  virtual void invalidate(Hal& hal, Mm& mm, const std::vector<VirtAddr>& pages) = 0;
  // A kernel object from a slab cache (charged slab_alloc); nullopt when memory is exhausted.
  virtual std::optional<PhysAddr> kobj_alloc(Hal& hal, SlabCache& cache) = 0;
  // One vm_area_struct object per VMA of mm; false when memory is exhausted.
  virtual bool sync_vma_objects(Hal& hal, Mm& mm) = 0;
  // Marks the page-cache pages that mm's shared file mappings dirtied in [start, end) for write-back.
  virtual void harvest_file_dirty(Hal& hal, Mm& mm, VirtAddr start, VirtAddr end) = 0;
  // Frees the segments no live address space maps any more.
  virtual void release_segments(Hal& hal) = 0;
};

// The kernel state system calls work on, owned elsewhere and given by reference once it exists.
struct SyscallsContext {
  const KernelConfig& cfg;
  const PhysicalMemoryManager& pmm;
  Swapper& swapper;
  HugePages& huge;
  Processes& processes;  // fork, exit, the live address spaces
  Faults& faults;        // mlock's population faults
  // Shared segments and page caches by id: mmap of a file or shared memory and shm_attach create them.
  std::map<uint64_t, std::unique_ptr<Segment>>& segments;
  SlabCache& shm_cache;  // shmid_kernel
  const std::vector<std::unique_ptr<ProcStats>>& pstats;
};

class Syscalls {
 public:
  // Creates system.os.syscalls and system.os.vm under `parent`. levels/user_top: the page tables the
  // kernel builds.
  Syscalls(stats::Group& parent, unsigned levels, uint64_t user_top);
  ~Syscalls();
  Syscalls(const Syscalls&) = delete;
  Syscalls& operator=(const Syscalls&) = delete;

  // Boot, once the frame manager, the slab caches, the swapper and the other subsystems exist.
  void connect(const SyscallsContext& ctx, SyscallsHost& host);

  // Runs one system call of live process p (the caller holds the kernel section and has stopped the other
  // cores running p's address space). Bad arguments give an errno, never an exception.
  SyscallResult run(Hal& hal, Process& p, const Syscall& c);

  // Counters of system.os.vm that other subsystems' work adds to.
  stats::Scalar& cow_shared_counter() { return m_cow_shared; }            // fork's copy-on-write pages
  stats::Scalar& cow_shared_giga_counter() { return m_cow_shared_giga; }  // fork's 1 GiB pages
  stats::Scalar& file_writebacks_counter() { return m_file_writebacks; }  // page-cache write-back

 private:
  SyscallResult fail(SyscallKind k, int error);
  // overcommit: true if extra_pages more committed (private writable) pages stay within the limit.
  bool commit_ok(uint64_t extra_pages) const;
  // Unmaps [start, end) of mm (huge pages split or dropped whole, frames and swap entries released);
  // `changed` gets the pages whose translations must go. Returns the entries removed.
  uint64_t unmap_range(Hal& hal, Mm& mm, VirtAddr start, VirtAddr end, std::vector<VirtAddr>& changed);

  SyscallResult sys_mmap(Hal& hal, Process& p, const Syscall& c);
  SyscallResult sys_munmap(Hal& hal, Process& p, const Syscall& c);
  SyscallResult sys_mprotect(Hal& hal, Process& p, const Syscall& c);
  SyscallResult sys_mlock(Hal& hal, Process& p, const Syscall& c, bool lock);
  SyscallResult sys_brk(Hal& hal, Process& p, const Syscall& c);
  SyscallResult sys_fork(Hal& hal, Process& p, const Syscall& c);
  SyscallResult sys_shm_attach(Hal& hal, Process& p, const Syscall& c);
  SyscallResult sys_mbind(Hal& hal, Process& p, const Syscall& c);
  // read (write false) and write of a file of the store: between its page cache and the user buffer.
  SyscallResult sys_file_io(Hal& hal, Process& p, const Syscall& c, bool write);
  // The page cache of file `file_index` (a segment kept while the run lasts), created on first use; nullptr
  // when memory is exhausted.
  Segment* file_cache(Hal& hal, int file_index);

  unsigned m_levels;
  uint64_t m_user_top;
  std::unique_ptr<SyscallsContext> m_ctx;  // set by connect
  SyscallsHost* m_host = nullptr;          // set by connect
  uint64_t m_next_segment = 1;
  uint64_t m_locked_now = 0;
  uint64_t m_locked_peak = 0;
  std::vector<int> m_errnos;
  stats::Group& m_parent;                 // system.os
  std::unique_ptr<UserCopy> m_user_copy;  // runs whose scripts call read or write (KernelConfig::user_copies)
  std::vector<uint8_t> m_io_buf;          // read/write's kernel buffer

  stats::Group m_sys_stats;  // system.os.syscalls
  stats::Scalar m_sys_total{m_sys_stats, "total", "count", "System calls made by process scripts"};
  std::vector<std::unique_ptr<stats::Scalar>> m_sys_calls;   // per SyscallKind (read, write: with user copies)
  std::vector<std::unique_ptr<stats::Scalar>> m_sys_errors;  // per errno name
  std::unique_ptr<stats::Scalar> m_file_bytes_read;          // with user copies
  std::unique_ptr<stats::Scalar> m_file_bytes_written;
  stats::Group m_vm_stats;  // system.os.vm
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
};

}  // namespace vmsim::fw
