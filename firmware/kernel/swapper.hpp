// The kernel's swapper: the reverse map of evictable pages, swap entries and the swap cache, swap-in
// faults, direct and background (kswapd) reclaim through fw::Reclaimer, page-cache write-back to the file
// store, the periodic Accessed-bit scan behind the working-set statistics, and the OOM killer. Owns the
// swap area, the per-node replacement policies and the statistics group system.os.swap.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "firmware/kernel/kernel_config.hpp"
#include "firmware/kernel/kernel_types.hpp"
#include "firmware/mm/zones.hpp"
#include "firmware/swap/future.hpp"
#include "firmware/swap/reclaim.hpp"
#include "firmware/swap/swap_area.hpp"
#include "common/stats.hpp"

namespace vmsim::fw {

// What the swapper asks of the rest of the kernel (the façade implements it).
class SwapperHost {
 public:
  virtual ~SwapperHost() = default;
  // A 4 KiB user frame for p's `vma` at va, placed by NUMA policy (may reclaim); nullopt when memory is
  // exhausted even after reclaim.
  virtual std::optional<Pfn> alloc_user_frame(Hal& hal, Process& p, const Vma& vma, VirtAddr va, bool zero) = 0;
  // One more reference to a mapped data frame.
  virtual void get_frame(Pfn pfn) = 0;
  // A page moved out of frame `pfn` (demotion: its mappings and references went to the new frame): the old
  // frame is released as by the last put (other subsystems forget what they kept about it).
  virtual void release_moved_frame(Hal& hal, Pfn pfn) = 0;
  // Ends a stopped section: counts and charges the shootdown IPIs if pages were invalidated, releases the
  // cores `targets`.
  virtual void finish_shootdown(Hal& hal, const std::vector<CoreId>& targets, PhysAddr root, uint16_t pcid,
                                const std::vector<VirtAddr>& pages) = 0;
  // Kills p with `signal` (report, teardown), then every other thread of its group.
  virtual void kill(Hal& hal, Process& p, VirtAddr va, AccessKind kind, uint32_t error_code,
                    const std::string& reason, const char* signal) = 0;
};

// The kernel state the swapper works on, owned elsewhere and given by reference at construction.
struct SwapperContext {
  const KernelConfig& cfg;
  unsigned levels;                      // page-table levels
  uint64_t user_top;                    // end of the user half of the address space
  size_t nodes;                         // NUMA nodes (one replacement policy and kswapd each)
  const std::vector<NodeId>& core_node; // local node of each core (where kswapd runs)
  PhysicalMemoryManager& pmm;
  // The process table: processes by pid - 1, live address spaces, per-process statistics by spec index.
  const std::vector<std::unique_ptr<Process>>& procs;
  const std::vector<Mm*>& live_mms;
  const std::vector<std::unique_ptr<ProcStats>>& pstats;
  // Shared segments and page caches by id (file pages are evicted and written back from them).
  std::map<uint64_t, std::unique_ptr<Segment>>& segments;
  // Data frame -> references beyond the first (an evicted frame loses them).
  std::unordered_map<uint64_t, uint32_t>& extra_refs;
  // Counters of other groups that the swapper's work adds to.
  stats::Scalar& frames_freed;     // system.os.frames.freed
  stats::Scalar& major_faults;     // system.os.faults.major
  stats::Scalar& invlpg;           // system.os.tlb.invlpg
  stats::Scalar& file_writebacks;  // system.os.vm.file_writebacks
};

class Tiering;

class Swapper {
 public:
  // Creates system.os.swap under `parent`. Disabled (tracks nothing, never evicts) unless cfg.swap_slots > 0
  // or memory tiering is on (cfg.tiering.enabled: reclaim runs, demoting, with or without a swap area).
  Swapper(stats::Group& parent, const SwapperContext& ctx, SwapperHost& host);
  ~Swapper();
  Swapper(const Swapper&) = delete;
  Swapper& operator=(const Swapper&) = delete;

  // True when reclaim runs (a swap area, or memory tiering): pages are tracked in the reverse map and
  // reclaimed under pressure (evicted, or demoted with tiering).
  bool enabled() const { return m_reclaim != nullptr; }
  // True with a swap area (anonymous pages can be evicted).
  bool has_swap() const { return m_swap != nullptr; }
  // Memory tiering (firmware.tiering): reclaim demotes to the nodes' targets, kswapd balances fast nodes to
  // their promotion watermark. Set once at boot, before the first fault.
  void set_tiering(Tiering* tiering) { m_tiering = tiering; }

  // Reverse map of tracked frames (private anonymous 4 KiB pages and page-cache pages): the PTEs mapping
  // each. rmap_add starts tracking a frame (on its node's policy) with its first mapping.
  void rmap_add(Pfn pfn, Mm& mm, VirtAddr page, PhysAddr pte, NodeId node, uint64_t now);
  void rmap_remove(Pfn pfn, const Mm& mm, VirtAddr page, bool dirty = false);
  void rmap_remove_mm(Pfn pfn, const Mm& mm);  // one mapping of pfn by mm (teardown: the address is unknown)
  // Marks the tracked frame as page `index` of the page cache of segment `seg`.
  void set_file_page(Pfn pfn, uint64_t seg, uint64_t index);
  // The future references of the process with config index i (nullptr: unknown), for firmware.swap.policy
  // opt. Set before the first fault.
  void set_futures(std::vector<std::shared_ptr<const FutureReferences>> futures) { m_futures = std::move(futures); }
  // The node of a tracked frame, or nullopt if the frame is not tracked.
  std::optional<NodeId> tracked_node(Pfn pfn) const;
  // The last reference to a frame went: it leaves its policy and the swap cache.
  void forget(Pfn pfn);
  // A copy-on-write writer wants the frame: true if no swap slot holds it or the slot could be dropped
  // (no other reference); the frame then leaves the swap cache.
  bool make_exclusive(Pfn pfn);
  // True while the frame is in the swap cache (its slot may be mapped by other swap entries).
  bool in_swap_cache(Pfn pfn) const { return m_frame_slot.count(pfn.value()) != 0; }
  // Frames in the swap cache -> their slots.
  const std::unordered_map<uint64_t, uint64_t>& swap_cache() const { return m_frame_slot; }
  // Compaction moved frame `from` to `to` on `node`: a tracked page moves with its reverse map; to the
  // policies it is a new page.
  void move_page(uint64_t from, Pfn to, NodeId node, uint64_t now);
  // Stops tracking the frame if nothing maps it any more (a collapse in place).
  void drop_if_unmapped(uint64_t pfn);
  // munlock: the frame is an eviction candidate again.
  void unlock_page(Pfn pfn);
  // fork copied a swap entry: one more reference to its slot.
  void add_swap_ref(uint64_t slot) { m_swap->add_ref(slot); }
  // A swap entry of mm goes away (munmap, exit): drops its slot reference; an orphaned swap-in is finished.
  void release_swap_entry(Hal& hal, Mm& mm, uint64_t slot);
  // Fault on a swap entry at va: maps the page from the swap cache, or reads it from the device. With
  // may_block the process sleeps during the read (Blocked); else the caller waits for the device. oom: no
  // frame to read into.
  FaultOutcome swap_in(Hal& hal, Process& p, const Vma& vma, VirtAddr va, AccessKind kind, bool may_block,
                       bool& oom);
  // Time (ns) a process slept waiting for a swap-in, added when its fault goes on.
  void add_blocked_time(uint64_t ns) { m_swap_blocked += ns; }

  // Direct reclaim in an allocation's context if node is below its min watermark. False if the node stays
  // below min with nothing left to evict.
  bool direct_reclaim(Hal& hal, NodeId node);
  // Wakes node's kswapd (on a running core) if the node is below its low watermark.
  void wake_kswapd(Hal& hal, NodeId node);
  // Memory tiering: a promotion found the fast node at or below its high watermark; wakes its kswapd if the
  // node is below its promotion watermark (kswapd then demotes until it is above, as Linux's kswapd balances
  // to WMARK_PROMO in tiering mode).
  void wake_kswapd_for_promotion(Hal& hal, NodeId node);
  // The node's promotion watermark (frames): high + (high - low), as Linux's WMARK_PROMO (capped at the node).
  uint64_t promo_watermark(NodeId node) const;
  // The node's min watermark (frames).
  uint64_t min_watermark(NodeId node) const { return m_reclaim->watermarks(node).min; }
  // The node's high watermark (frames).
  uint64_t high_watermark(NodeId node) const { return m_reclaim->watermarks(node).high; }
  // kswapd: reclaims the nodes it was woken for, then the A-bit scan if scan_period passed. The caller
  // holds the kernel section.
  void run_background(Hal& hal);
  // OOM killer: kills the largest process (and its threads) other than a bound allocation's; true if it
  // killed one and `p` survived (the caller retries), false if `p` was the victim or nobody qualified.
  bool oom_kill(Hal& hal, Process& p, VirtAddr va, AccessKind kind, uint32_t error_code, bool& killed_self);

  // A dirty page-cache page of `file` goes to the file store (the file's last mapping went).
  void store_file_page(Hal& hal, int file, uint64_t index, Pfn frame);
  // A tracked page-cache page was written back outside reclaim: it is clean now.
  void file_page_cleaned(Pfn frame);
  // A secondary MMU (a VM process's EPT) wrote the tracked page at pfn: its contents must be written
  // before it is evicted (no-op for an untracked frame).
  void mark_dirty(Pfn pfn);
  // Contents of page `index` of `file` written back earlier, or nullptr (never written).
  const std::vector<uint8_t>* written_file_page(int file, uint64_t index) const;

 private:
  class Bridge;
  // An address space a reclaim pass stopped (its other cores) and the pages it invalidated there.
  struct ReclaimTouch {
    Mm* mm = nullptr;
    std::vector<CoreId> targets;
    std::vector<VirtAddr> pages;
  };

  // Reclaim contexts stop the other cores of every address space they touch once, and shoot the evicted
  // translations down at the end.
  void reclaim_begin(Hal& hal);
  void reclaim_touch(Hal& hal, Mm& mm);
  void reclaim_end(Hal& hal);
  void evict_invalidate(Hal& hal, Mm& mm, VirtAddr page);
  ReclaimPageInfo page_info(Hal& hal, uint64_t pfn);
  bool page_accessed(Hal& hal, uint64_t pfn, bool clear);
  bool page_dirty(Hal& hal, uint64_t pfn);
  bool reserve_swap(uint64_t pfn);
  void evict_unmap(Hal& hal, uint64_t pfn);
  void evict_write(Hal& hal, uint64_t pfn);
  void evict_free(Hal& hal, uint64_t pfn);
  // Memory tiering: moves victim pfn of `zone` to the zone's demotion target (see ReclaimHost::demote).
  ReclaimHost::Demotion demote(Hal& hal, uint32_t zone, uint64_t pfn);
  // Wakes the node's kswapd on a running core (pending set); false if no core could take it.
  void wake_kswapd_now(Hal& hal, NodeId node);
  // A dirty page-cache page to the file store (eviction).
  void file_write_back(Hal& hal, uint64_t pfn);
  // WSClock's background write of a dirty page: to its swap slot (one is reserved if needed), D cleared.
  void clean_page(Hal& hal, uint64_t pfn);
  // Accessed-bit scan of every address space when scan_period has passed (working sets, sampling policies).
  void maybe_scan(Hal& hal);

  const KernelConfig& m_cfg;
  unsigned m_levels;
  uint64_t m_user_top;
  const std::vector<NodeId>& m_core_node;
  PhysicalMemoryManager& m_pmm;
  const std::vector<std::unique_ptr<Process>>& m_procs;
  const std::vector<Mm*>& m_live_mms;
  const std::vector<std::unique_ptr<ProcStats>>& m_pstats;
  std::vector<std::shared_ptr<const FutureReferences>> m_futures;
  std::vector<std::array<uint64_t, 2>> m_kind_pages;  // per node: tracked anonymous, page-cache pages
  // opt: operations until the frame's next reference by any process mapping it (FutureReferences::kNever if
  // none will, or if a mapping's process has no known future).
  uint64_t next_use(uint64_t pfn) const;
  std::map<uint64_t, std::unique_ptr<Segment>>& m_segments;
  std::unordered_map<uint64_t, uint32_t>& m_extra_refs;
  stats::Scalar& m_freed;
  stats::Scalar& m_major;
  stats::Scalar& m_invlpg;
  stats::Scalar& m_file_writebacks;
  SwapperHost& m_host;
  Tiering* m_tiering = nullptr;

  std::unique_ptr<SwapArea> m_swap;
  std::vector<std::unique_ptr<ReplacementPolicy>> m_policies;  // per node
  std::unique_ptr<Bridge> m_bridge;
  std::unique_ptr<Reclaimer> m_reclaim;
  std::unordered_map<uint64_t, PageDesc> m_pages;       // tracked frame -> descriptor (reverse map)
  std::unordered_map<uint64_t, uint64_t> m_frame_slot;  // frame -> its swap slot while in the swap cache
  // Frames a secondary MMU reported written (mark_dirty) since their last write-back (VM processes only).
  std::set<uint64_t> m_reported_dirty;
  std::unordered_map<uint64_t, uint64_t> m_reading;     // slot -> completion time (ps) of its swap-in
  std::vector<ReclaimTouch> m_touched;                  // address spaces stopped by the current reclaim pass
  bool m_reclaiming = false;
  std::vector<bool> m_kswapd_pending;  // per node
  std::vector<bool> m_kswapd_failed;   // per node: the last background run freed nothing
  uint64_t m_last_scan = 0;
  uint64_t m_slots_peak = 0;
  std::map<std::pair<int, uint64_t>, std::vector<uint8_t>> m_file_pages;  // (file, page) written back
  std::vector<uint8_t> m_copy_buf;

  stats::Group m_group;  // system.os.swap
  stats::Scalar m_swap_ins{m_group, "swap_ins", "pages", "Pages read back from the swap device (major faults)"};
  stats::Scalar m_swap_outs{m_group, "swap_outs", "pages", "Pages written to the swap device by reclaim"};
  stats::Scalar m_swap_cache_hits{m_group, "cache_hits", "count",
                                  "Faults on swap entries served from the swap cache without I/O"};
  stats::Scalar m_swap_waits{m_group, "waits", "count",
                             "Faults that slept until a swap-in completed (their own or another process's)"};
  stats::Scalar m_swap_blocked{m_group, "blocked_time", "ns",
                               "Time processes slept waiting for swap-ins (all processes)"};
  stats::Scalar m_direct_runs{m_group, "direct_reclaims", "count",
                              "Allocations that reclaimed in their own context (a node below its min watermark)"};
  stats::Scalar m_kswapd_runs{m_group, "kswapd_runs", "count", "Background reclaim runs (kswapd woken on a core)"};
  stats::Scalar m_oom_kills{m_group, "oom_kills", "count",
                            "Processes killed by the OOM killer (RAM and swap exhausted), threads included"};
  stats::Scalar m_scans{m_group, "ab_scans", "count", "Accessed-bit scans of every address space (scan_period)"};
  stats::Counter m_r_scanned{m_group, "scanned", "pages", "Pages reclaim examined as eviction candidates",
                             [this] { return m_reclaim ? m_reclaim->counters().scanned : 0; }};
  stats::Counter m_r_policy_scanned{m_group, "policy_scanned", "pages",
                                    "Page visits inside the replacement policy while choosing victims",
                                    [this] { return m_reclaim ? m_reclaim->counters().policy_scanned : 0; }};
  stats::Counter m_r_reclaimed{m_group, "reclaimed", "pages", "Pages reclaimed (frames freed by eviction)",
                               [this] { return m_reclaim ? m_reclaim->counters().reclaimed : 0; }};
  stats::Counter m_r_clean{m_group, "dropped_clean", "pages",
                           "Evicted without I/O: clean, with an up-to-date copy in swap",
                           [this] { return m_reclaim ? m_reclaim->counters().dropped_clean : 0; }};
  stats::Counter m_r_written{m_group, "writebacks", "pages",
                             "Evicted pages written back first (anonymous pages to swap, file pages to the file store)",
                             [this] {
                               return m_reclaim ? m_reclaim->counters().written_anon + m_reclaim->counters().written_file
                                                : 0;
                             }};
  stats::Counter m_r_written_file{m_group, "file_pages_written", "pages",
                                  "Evicted page-cache pages written back to the file store first",
                                  [this] { return m_reclaim ? m_reclaim->counters().written_file : 0; }};
  stats::Counter m_r_anon{m_group, "reclaimed_anon", "pages", "Reclaimed pages that were anonymous (to swap)",
                          [this] { return m_reclaim ? m_reclaim->counters().reclaimed_anon : 0; }};
  stats::Counter m_r_file{m_group, "reclaimed_file", "pages",
                          "Reclaimed pages that were page cache (dropped, or written to the file store first)",
                          [this] { return m_reclaim ? m_reclaim->counters().reclaimed_file : 0; }};
  stats::Counter m_r_deferred{m_group, "swappiness_deferred", "pages",
                              "Candidates passed over to keep reclaimed anonymous : file pages at "
                              "firmware.swap.swappiness : (200 - swappiness)",
                              [this] { return m_reclaim ? m_reclaim->counters().deferred : 0; }};
  stats::Counter m_r_locked{m_group, "skipped_locked", "pages", "Candidates found mlocked (never evicted)",
                            [this] { return m_reclaim ? m_reclaim->counters().skipped_locked : 0; }};
  stats::Counter m_r_full{m_group, "swap_full", "pages", "Candidates kept because the swap area was full",
                          [this] { return m_reclaim ? m_reclaim->counters().swap_full : 0; }};
  stats::Counter m_r_passes{m_group, "passes", "count", "Reclaim passes (one batch each)",
                            [this] { return m_reclaim ? m_reclaim->counters().passes : 0; }};
  stats::Formula m_slots_used{m_group, "slots_used", "slots", "Swap slots in use at the end of the run",
                              [this] { return m_swap ? static_cast<double>(m_swap->slots().used()) : 0.0; }, true};
  stats::Formula m_slots_peak_f{m_group, "slots_peak", "slots", "Most swap slots in use at once",
                                [this] { return static_cast<double>(m_slots_peak); }, true};
  stats::Formula m_tracked{m_group, "tracked_pages", "pages",
                           "Pages the replacement policies track at the end (evictable private anonymous pages)",
                           [this] { return static_cast<double>(m_pages.size()); }, true};
};

}  // namespace vmsim::fw
