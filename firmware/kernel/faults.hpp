// The kernel's page-fault handler: demand-zero, shared-segment and page-cache faults (major faults read the
// file store), copy-on-write breaks, stack growth, spurious faults of threads, swap-in and huge-page faults
// (through fw::Swapper and its own fw::HugePages), and the SIGSEGV/SIGBUS kills with their reports (the
// whole thread group dies). Owns the statistics group system.os.faults and the kill reports.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "firmware/hal/hal.hpp"
#include "firmware/hal/trap.hpp"
#include "firmware/kernel/huge_pages.hpp"
#include "firmware/kernel/kernel_types.hpp"
#include "firmware/mm/zones.hpp"
#include "firmware/vm/vma.hpp"
#include "common/stats.hpp"

namespace vmsim::fw {

struct KernelConfig;
class HashedTable;
class Processes;
class Swapper;

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

// What the fault handler asks of the rest of the kernel (the façade implements it).
class FaultsHost {
 public:
  virtual ~FaultsHost() = default;
  // A 4 KiB user frame for p's `vma` at va, placed by NUMA policy (may reclaim); zeroed if zero. Nullopt
  // when memory is exhausted.
  virtual std::optional<Pfn> alloc_user_frame(Hal& hal, Process& p, const Vma& vma, VirtAddr va, bool zero) = 0;
  // A zeroed page-table frame for mm; nullopt when memory is exhausted.
  virtual std::optional<Pfn> alloc_table_frame(Hal& hal, Mm& mm) = 0;
  // One more reference to a mapped data frame / drops one (frees the frame on the last).
  virtual void get_frame(Pfn pfn) = 0;
  virtual void put_frame(Hal& hal, Pfn pfn) = 0;
  // Frees a frame that was never mapped (charges frame_free, counts frames.freed).
  virtual void free_frame(Hal& hal, Pfn pfn) = 0;
  // References to a data frame (0 if not a mapped data frame).
  virtual uint32_t frame_refs(Pfn pfn) const = 0;
  // Drops the pages' translations of mm here and on the other cores that ran it.
  virtual void invalidate(Hal& hal, Mm& mm, const std::vector<VirtAddr>& pages) = 0;
};

// The kernel state the fault handler works on, owned elsewhere and given by reference once it exists.
struct FaultsContext {
  const KernelConfig& cfg;
  HashedTable* hashed;  // walker.format hashed: the one global table, else nullptr
  const PhysicalMemoryManager& pmm;
  Swapper& swapper;
  Processes& processes;  // records by pid, teardown of killed processes
  // Shared segments and page caches by id (their frames are what shared and file faults map).
  const std::map<uint64_t, std::unique_ptr<Segment>>& segments;
  const std::vector<std::unique_ptr<ProcStats>>& pstats;
};

// How the kernel resolved a fault of its own access to a user address (Faults::user_fault).
enum class UserFault : uint8_t { Retry, Efault, NoMemory };

class Faults {
 public:
  // Creates system.os.faults under `parent` (the huge pages' counters inside it, after copy-on-write).
  // levels/user_top: the page tables the kernel builds.
  Faults(stats::Group& parent, unsigned levels, uint64_t user_top);
  ~Faults();
  Faults(const Faults&) = delete;
  Faults& operator=(const Faults&) = delete;

  // Boot, once the frame manager, the process table and the swapper exist.
  void connect(const FaultsContext& ctx, FaultsHost& host);

  // The fault handler proper for pid at va (error_code: the x86 page-fault error code). threaded: other
  // cores run this address space, so they may have mapped the page since this one's walk. Retry after
  // mapping (or finding) the page, Blocked while a swap-in sleeps, Killed after killing the process.
  FaultOutcome fault(Hal& hal, Pid pid, VirtAddr va, AccessKind kind, uint32_t error_code, bool threaded);
  // Maps a new page for a fault (or mlock's population) at va in vma: a huge page if the area and a free
  // block allow, else a 4 KiB zeroed, shared-segment or page-cache frame. False: out of memory.
  bool fault_in(Hal& hal, Process& p, const Vma& vma, VirtAddr va);
  // A fault of the kernel's access to user address va of p (a user copy: Hal::user_access, error_code with
  // U/S clear), resolved as p's page fault, as Linux's handler does for a kernel-mode fault on a user address
  // with an exception-table fixup: Retry once the page is mapped (demand-zero, shared or page-cache page,
  // copy-on-write break, swap-in, which the caller waits for), Efault when va is outside the user half or
  // every VMA or the VMA forbids the access (the copy stops; the process lives), NoMemory when no frame was
  // found. Counted as p's fault. SMAP and SMEP violations are the caller's to recognise before (it knows
  // whether it set RFLAGS.AC); a present page the VMA allows yet the access was denied on throws
  // SimulationError (a kernel oops: the tables disagree with the VMA).
  UserFault user_fault(Hal& hal, Process& p, VirtAddr va, AccessKind kind, uint32_t error_code);
  // Page idx of seg, a file's page cache, in memory: read from the file store (major: charged file_read,
  // the file's contents or what was written back to it, moved by the store's DMA) into a new frame placed by
  // p's policy if it is not there yet. Nullopt when memory is exhausted.
  std::optional<Pfn> file_cache_page(Hal& hal, Process& p, Segment& seg, uint64_t idx);
  // Kills p with `signal` (report line on stderr, KillReport, teardown), then every other thread of its
  // group (Linux semantics: each gets its own report naming the first).
  void kill(Hal& hal, Process& p, VirtAddr va, AccessKind kind, uint32_t error_code, const std::string& reason,
            const char* signal = "SIGSEGV");
  // Every kill so far, in order.
  const std::vector<KillReport>& kills() const { return m_kills; }

  // The huge pages (their counters live in this group, so they are constructed inside it).
  HugePages& huge() { return m_huge; }
  const HugePages& huge() const { return m_huge; }
  // faults.major, which swap-ins add to.
  stats::Scalar& major_counter() { return m_major; }
  // A page mlock makes present (mm_populate) goes through the fault handler and counts as p's fault, as
  // Linux's get_user_pages does: call before fault_in or the swap-in of such a page.
  void count_populate(Process& p) {
    ++m_faults;
    ++m_populated;
    ++m_ctx->pstats[p.index]->faults;
  }

 private:
  CowBreak break_cow(Hal& hal, Process& p, const Vma& vma, VirtAddr va);
  // Reads page idx of `file` from the file store into frame (charged file_read; the store's DMA).
  void read_file_page(Hal& hal, int file, uint64_t idx, Pfn frame);
  void kill_thread_group(Hal& hal, Mm& group, const KillReport& first);

  unsigned m_levels;
  uint64_t m_user_top;  // end of the user half; canonical addresses from here up are the kernel's
  std::unique_ptr<FaultsContext> m_ctx;  // set by connect
  FaultsHost* m_host = nullptr;          // set by connect
  std::vector<KillReport> m_kills;
  std::vector<uint8_t> m_copy_buf;

  stats::Group m_group;  // system.os.faults
  stats::Scalar m_faults{m_group, "total", "count", "Page faults handled"};
  stats::Scalar m_populated{m_group, "populated", "count",
                            "Faults taken by mlock to make its range present (in total and in the kind they were)"};
  stats::Scalar m_demand_zero{m_group, "demand_zero", "count", "Minor faults served by mapping a zeroed frame"};
  stats::Scalar m_shm_faults{m_group, "shared", "count",
                             "Minor faults mapping a shared-segment or page-cache frame already in memory"};
  stats::Scalar m_major{m_group, "major", "count", "Major faults: a page read from the file store or from swap"};
  stats::Formula m_minor{m_group, "minor", "count",
                         "Faults served without I/O (total - major - SIGSEGV - out of memory)",
                         [this] {
                           return static_cast<double>(m_faults.value() - m_major.value() - m_segv_no_vma.value() -
                                                      m_segv_prot.value() - m_oom.value());
                         },
                         true};
  stats::Scalar m_cow_copies{m_group, "cow_copies", "count", "Copy-on-write faults that copied the page to a new frame"};
  stats::Scalar m_cow_reuse{m_group, "cow_reuse", "count",
                            "Copy-on-write faults on a frame no longer shared (made writable in place)"};
  // Huge pages register their counters here, between copy-on-write and stack growth.
  HugePages m_huge;
  stats::Scalar m_stack_growth{m_group, "stack_growth", "count", "Faults that extended a grows-down area"};
  stats::Scalar m_spurious{m_group, "spurious", "count",
                           "Faults on a page another thread mapped after this one's walk (retried)"};
  stats::Scalar m_segv_no_vma{m_group, "segv_no_vma", "count", "Faults at addresses outside every VMA (SIGSEGV)"};
  stats::Scalar m_segv_prot{m_group, "segv_protection", "count",
                            "Faults whose access the VMA forbids, or user accesses to the kernel's half of the address "
                            "space (SIGSEGV)"};
  stats::Scalar m_oom{m_group, "oom", "count",
                      "Faults that found no free frame even after reclaim and the OOM killer (the faulting process killed)"};
};

}  // namespace vmsim::fw
