// The kernel's huge pages: transparent 2 MiB pages (faults, splits, khugepaged-like collapse), direct
// compaction, and the 1 GiB pool reserved at boot (faults, copy-on-write sharing after fork, give-back).
// Owns the split-block table, the pool and its counters in system.os.faults.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "firmware/hal/hal.hpp"
#include "firmware/kernel/kernel_types.hpp"
#include "firmware/mm/zones.hpp"
#include "firmware/vm/vma.hpp"
#include "common/pte.hpp"
#include "common/stats.hpp"

namespace vmsim::fw {

struct KernelConfig;
class Swapper;

// What huge pages ask of the rest of the kernel (the façade implements it).
class HugePagesHost {
 public:
  virtual ~HugePagesHost() = default;
  // 2^order user frames for p's `vma` at va, placed by NUMA policy; nullopt when memory is exhausted.
  virtual std::optional<Pfn> alloc_user_block(Hal& hal, Process& p, const Vma& vma, VirtAddr va, unsigned order,
                                              bool zero) = 0;
  // A zeroed page-table frame for mm; nullopt when memory is exhausted.
  virtual std::optional<Pfn> alloc_table_frame(Hal& hal, Mm& mm) = 0;
  // Drops one reference to a data frame; frees it on the last.
  virtual void put_frame(Hal& hal, Pfn pfn) = 0;
  // References to a data frame (0 if not a mapped data frame).
  virtual uint32_t frame_refs(Pfn pfn) const = 0;
  // Drops the pages' translations of mm here and on the other cores that ran it.
  virtual void invalidate(Hal& hal, Mm& mm, const std::vector<VirtAddr>& pages) = 0;
  // Ends a stopped section: counts and charges the shootdown IPIs if pages were invalidated.
  virtual void finish_shootdown(Hal& hal, const std::vector<CoreId>& targets, PhysAddr root, uint16_t pcid,
                                const std::vector<VirtAddr>& pages) = 0;
};

// The kernel state huge pages work on, owned elsewhere and given by reference once it exists.
struct HugePagesContext {
  const KernelConfig& cfg;
  bool hashed;                           // walker.format hashed: no huge pages to collapse
  const std::vector<NodeId>& core_node;  // local node of each core
  PhysicalMemoryManager& pmm;
  Swapper& swapper;
  const std::vector<Mm*>& live_mms;
  const std::map<uint64_t, std::unique_ptr<Segment>>& segments;
  std::unordered_map<uint64_t, uint32_t>& extra_refs;  // data frame -> references beyond the first
  const std::vector<std::unique_ptr<ProcStats>>& pstats;
  // Counters of other groups that huge-page work adds to.
  stats::Scalar& frames_freed;     // system.os.frames.freed
  stats::Scalar& cow_shared_giga;  // system.os.vm.cow_shared_1g_pages
  stats::Scalar& invlpg;           // system.os.tlb.invlpg
};

class HugePages {
 public:
  // Registers the huge-page counters in `faults` (system.os.faults, where they follow the copy-on-write
  // counters). levels/user_top: the page tables the kernel builds.
  HugePages(stats::Group& faults, unsigned levels, uint64_t user_top);
  ~HugePages();
  HugePages(const HugePages&) = delete;
  HugePages& operator=(const HugePages&) = delete;

  // Boot: takes `count` aligned gigabytes from the top of `usable` (highest node first, each node keeping
  // 16 MiB) for the 1 GiB pool and shrinks the nodes. Throws InputError if they do not fit.
  void reserve_pool(std::vector<NodeRange>& usable, uint64_t count);
  // Boot, once the frame manager and the swapper exist: the state and services huge pages use.
  void connect(const HugePagesContext& ctx, HugePagesHost& host);

  // A fault at the 4 KiB page `page` of a huge or huge_1g private area: maps the 1 GiB or 2 MiB page around
  // it if the area covers it and a page is free (2 MiB after direct compaction if enabled). True if mapped;
  // false (a fallback counted) when the caller maps a 4 KiB page.
  bool try_fault(Hal& hal, Process& p, const Vma& vma, VirtAddr page);
  // Splits every 2 MiB leaf intersecting [start, end) into 4 KiB entries. False: no table frame.
  bool split_range(Hal& hal, Mm& mm, VirtAddr start, VirtAddr end);
  // khugepaged-like collapse: if va lies in an aligned 2 MiB range inside a private anonymous `huge` area,
  // mapped by a page table whose 512 entries are all present with the area's protections and map frames
  // referenced once, makes it one 2 MiB leaf again: in place over the frames of its own split block, else
  // copied into a free order-9 block. Frees the table (and copied frames), invalidates.
  void maybe_collapse(Hal& hal, Process& p, VirtAddr va);
  // PDPT leaves mapping the pool page at first (copy-on-write sharing after fork).
  uint32_t giga_refs(Pfn first) const;
  // fork: shares every 1 GiB page of parent with child copy-on-write (W cleared in both for private
  // writable areas, one more reference on the pool page). False if a child table could not be allocated.
  bool fork_giga(Hal& hal, Mm& parent, Mm& child, std::vector<VirtAddr>& changed);
  // Write fault on the read-only 1 GiB leaf `old` at ea: takes it over if no one else maps it, else
  // copies the gigabyte into another pool page (4 KiB blocks through the HAL). NoHugePage: pool empty.
  CowBreak break_cow_giga(Hal& hal, Process& p, const Vma& vma, VirtAddr va, PhysAddr ea, Pte old);
  // True if [start, end) cuts through a mapped 1 GiB page (such calls fail with EINVAL).
  bool cuts_giga(Hal& hal, Mm& mm, uint64_t start, uint64_t end);
  // Drops one reference to the pool page at first; it returns to the pool with the last one.
  void give_back_giga(Pfn first);
  // The last reference to a frame went: if it belongs to a split 2 MiB block, the block is freed whole with
  // its last frame and true is returned; false for any other frame (the caller frees it).
  bool put_split_frame(Hal& hal, Pfn pfn);
  // A write to a shared 1 GiB page found the pool empty (the process is killed with SIGBUS).
  void count_sigbus() { ++m_giga_sigbus; }
  // Faults served with a 2 MiB / 1 GiB page so far.
  uint64_t thp_faults() const { return m_thp_faults.value(); }
  uint64_t giga_faults() const { return m_giga_faults.value(); }
  // 1 GiB pool pages free now.
  uint64_t giga_free() const { return m_giga_free.size(); }

 private:
  bool fault_in_huge(Hal& hal, Process& p, const Vma& vma, VirtAddr base);
  bool fault_in_giga(Hal& hal, Process& p, const Vma& vma, VirtAddr base);
  // The pool page to take for p's area `vma` (the policy's first node if it has one), or nullopt (pool
  // empty, or a bind policy none of whose nodes has one).
  std::optional<size_t> pick_giga(Hal& hal, const Process& p, const Vma& vma) const;
  // Frees one aligned 2 MiB region of node's normal zone by moving its 4 KiB user pages elsewhere
  // (copy through the HAL, every PTE mapping them rewritten, TLBs invalidated). False if no region has
  // only movable pages or frames ran out.
  bool compact(Hal& hal, Process& p, NodeId node);

  unsigned m_levels;
  uint64_t m_user_top;
  std::unique_ptr<HugePagesContext> m_ctx;  // set by connect
  HugePagesHost* m_host = nullptr;          // set by connect
  std::unordered_map<uint64_t, uint32_t> m_split_heads;  // split 2 MiB block -> frames still mapped
  std::vector<std::pair<uint64_t, NodeId>> m_giga_free;  // pool: first pfn, node
  uint64_t m_giga_total = 0;
  std::vector<std::pair<uint64_t, NodeId>> m_giga_all;
  std::unordered_map<uint64_t, uint32_t> m_giga_refs;  // mapped pool page (first pfn) -> PDPT leaves
  std::vector<uint8_t> m_copy_buf;

  stats::Group& m_group;  // system.os.faults (shared with the fault handler's counters)
  stats::Scalar m_thp_faults{m_group, "thp", "count", "Faults served with a 2 MiB page"};
  stats::Scalar m_thp_fallbacks{m_group, "thp_fallbacks", "count",
                                "Faults in huge areas served with 4 KiB pages (no free 2 MiB block, range "
                                "partly mapped, or the aligned 2 MiB not inside the area)"};
  stats::Scalar m_thp_splits{m_group, "thp_splits", "count",
                             "2 MiB pages split into 4 KiB entries (munmap, mprotect, fork)"};
  stats::Scalar m_giga_faults{m_group, "huge_1g", "count", "Faults served with a 1 GiB page from the pool"};
  stats::Scalar m_giga_fallbacks{m_group, "huge_1g_fallbacks", "count",
                                 "Faults in 1 GiB areas served otherwise (pool empty or range partly mapped)"};
  stats::Scalar m_giga_cow_copies{m_group, "huge_1g_cow_copies", "count",
                                  "Copy-on-write faults that copied a shared 1 GiB page into another pool page"};
  stats::Scalar m_giga_cow_reuse{m_group, "huge_1g_cow_reuse", "count",
                                 "Copy-on-write faults on a 1 GiB page no longer shared (made writable in place)"};
  stats::Scalar m_giga_sigbus{m_group, "huge_1g_sigbus", "count",
                              "Writes to a shared 1 GiB page that found the pool empty (process killed with SIGBUS)"};
  stats::Scalar m_thp_collapses{m_group, "thp_collapses", "count",
                                "Aligned 2 MiB ranges of 4 KiB pages collapsed back into a 2 MiB page"};
  stats::Scalar m_thp_collapses_in_place{m_group, "thp_collapses_in_place", "count",
                                         "Collapses over the frames of the range's own split 2 MiB block (no copy)"};
  stats::Scalar m_thp_collapse_no_block{m_group, "thp_collapse_no_block", "count",
                                        "Collapsible 2 MiB ranges left as 4 KiB pages: no free 2 MiB block to copy into"};
  stats::Scalar m_compactions{m_group, "compactions", "count", "Direct compaction passes"};
  stats::Scalar m_compaction_success{m_group, "compaction_success", "count",
                                     "Compaction passes that freed a 2 MiB region"};
  stats::Scalar m_migrated{m_group, "pages_migrated", "count", "Pages moved by compaction"};
};

}  // namespace vmsim::fw
