// Page reclaim as a functional core, independent of the kernel: free-memory watermarks per zone, the
// background (kswapd-like) and direct reclaim decisions, the scan that asks a ReplacementPolicy for victims
// and evicts them through callbacks into the kernel, and the OOM victim choice with its report.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "firmware/swap/replacement.hpp"
#include "common/config.hpp"
#include "common/types.hpp"

namespace vmsim::fw {

// Free-memory watermarks of every zone (a NUMA node's memory), in bytes of free memory:
//   free < low  -> wake background reclaim, which reclaims until free >= high;
//   free < min  -> an allocation reclaims directly in the faulting context until free >= min.
struct WatermarkConfig {
  Bytes min{4ull << 20};
  Bytes low{5ull << 20};
  Bytes high{6ull << 20};

  template <class V>
  void visit(V& v) {
    v("min", min, "bytes", "Below this much free memory in a zone, allocations reclaim directly (direct reclaim)");
    v("low", low, "bytes", "Below this, background reclaim (kswapd) is woken");
    v("high", high, "bytes", "Background reclaim stops once a zone has this much free memory");
  }
  // Throws InputError naming the key unless min <= low <= high, all multiples of 4KiB, high > 0.
  void validate(const std::string& path) const;
};

// The firmware's swap and reclaim settings: the replacement policy (keys of ReplacementConfig at this
// level), the watermarks and the scan batch.
struct SwapPolicyConfig {
  ReplacementConfig replacement;
  WatermarkConfig watermarks;
  uint64_t batch = 32;
  uint64_t scan_period = 100000;
  uint64_t swappiness = 60;

  template <class V>
  void visit(V& v) {
    replacement.visit(v);
    v.section("watermarks", watermarks, "Free-memory watermarks per zone");
    v("batch", batch, "pages", "Pages one reclaim pass tries to free before re-checking the watermarks");
    v("scan_period", scan_period, "memory operations",
      "Accessed-bit scan period (memory operations of all cores together): a timer wakes the kernel on a "
      "running core, which reads every address space's leaf tables, clears the A bits it finds set (with "
      "their translations) and feeds the working-set statistics and the sampling policies (lru, lfu, ws); "
      "0 = never");
    v("swappiness", swappiness, "",
      "Balance of reclaim between anonymous pages (to swap) and page-cache pages (dropped or written to the "
      "file store), 0-200 as Linux's vm.swappiness: while both kinds are resident, reclaimed anonymous : file "
      "pages are kept at swappiness : (200 - swappiness); 0 takes anonymous pages only when no page-cache "
      "page is left to take, 200 takes page-cache pages only when no anonymous page is");
  }
  // Throws InputError naming the key (policy opt, tau 0, inactive_ratio 0, batch 0, watermarks out of
  // order). An unknown policy name is rejected while loading ("<path>.policy: bad value ...").
  void validate(const std::string& path) const;
};

// What reclaim needs to know about a resident page; the kernel answers from its page descriptor and PTEs.
enum class PageKind : uint8_t { Anon, File };
struct ReclaimPageInfo {
  PageKind kind = PageKind::Anon;
  bool locked = false;      // mlocked: never evicted
  bool dirty = false;       // D bit ORed over every PTE mapping the page (or the descriptor's dirty flag)
  bool backed = false;      // a valid copy exists on the backing store: file pages always; anon pages when
                            // the swap cache holds an up-to-date slot for them
};

// The kernel's side of reclaim. Every call happens in the context that reclaims (kswapd or the faulting
// process) and charges that context's simulated time.
class ReclaimHost {
 public:
  virtual ~ReclaimHost() = default;
  // Free 4 KiB frames in zone z now.
  virtual uint64_t free_pages(uint32_t zone) = 0;
  // Evictable pages of this kind resident in zone z (the swappiness balance applies while both kinds are).
  virtual uint64_t resident_pages(uint32_t /*zone*/, PageKind /*kind*/) { return 0; }
  // p's kind, from its page descriptor (which list it is on in Linux): free, unlike page_info.
  virtual PageKind kind_of(PageId /*p*/) { return PageKind::Anon; }
  virtual ReclaimPageInfo page_info(PageId p) = 0;
  // Anon page about to be evicted without a valid swap copy: allocate a swap slot and add the page to the
  // swap cache. False if swap is full (the page then stays resident).
  virtual bool reserve_swap(PageId p) = 0;
  // Removes every PTE mapping p (anon: the PTE becomes a swap entry; file: not present) and invalidates the
  // translations on every core that may cache them (shootdown).
  virtual void unmap(PageId p) = 0;
  // Whether unmapping p reported a write page_info did not see (a secondary MMU -- a VM process's EPT --
  // whose dirty translation of p went only now): p is then written back although it looked clean, as
  // Linux checks the folio's dirty flag again after try_to_unmap.
  virtual bool dirtied_by_unmap(PageId /*p*/) { return false; }
  // Writes dirty page p to its backing store (anon: its swap slot; file: the file store) and waits for it.
  virtual void write_back(PageId p, PageKind kind) = 0;
  // Returns p's frame to the allocator (and drops it from the swap cache).
  virtual void free_frame(PageId p) = 0;
  // Memory tiering: migrates victim p to zone z's demotion target instead of evicting it (a copy, its
  // mappings rewritten, the frame here freed; the policy of z no longer holds p). NoTarget: zone z demotes
  // nothing (the default); Failed: p stays here (the target is short, or p cannot move) and is evicted the
  // ordinary way.
  enum class Demotion { NoTarget, Demoted, Failed };
  virtual Demotion demote(uint32_t /*zone*/, PageId /*p*/) { return Demotion::NoTarget; }
};

struct ReclaimCounters {
  uint64_t passes = 0;           // shrink passes (background and direct)
  uint64_t background_wakes = 0; // times background reclaim was found needed (free < low)
  uint64_t direct = 0;           // direct reclaims (free < min in an allocating context)
  uint64_t scanned = 0;          // victims proposed by the policies and examined here
  uint64_t policy_scanned = 0;   // page visits inside the policies (their scanned() growth)
  uint64_t reclaimed = 0;        // frames freed
  uint64_t dropped_clean = 0;    // freed without I/O (clean with a valid backing copy)
  uint64_t written_anon = 0;     // written to swap before freeing
  uint64_t written_file = 0;     // written to the file store before freeing
  uint64_t skipped_locked = 0;   // proposed pages found mlocked (the policy is told, they stay)
  uint64_t swap_full = 0;        // anon victims kept because no swap slot was free
  uint64_t reclaimed_anon = 0;   // frames freed that held anonymous pages
  uint64_t reclaimed_file = 0;   // frames freed that held page-cache pages
  uint64_t deferred = 0;         // candidates passed over for the swappiness balance
  uint64_t demoted = 0;          // victims migrated to the zone's demotion target (not in `reclaimed`)
  uint64_t demote_failed = 0;    // victims whose demotion failed (then evicted the ordinary way, or kept)
};

struct ReclaimResult {
  uint64_t reclaimed = 0;  // frames freed in the zone: evicted or demoted
  uint64_t demoted = 0;    // ... of which by demotion
  uint64_t scanned = 0;
  bool reached_target = false;  // the zone's free pages reached the pass's target
  bool exhausted = false;       // nothing more could be evicted (every page locked, or anon with swap full)
};

// One zone: its size and the policy that tracks its resident pages (owned by the kernel).
struct ReclaimZone {
  uint64_t pages = 0;
  ReplacementPolicy* policy = nullptr;
};

class Reclaimer {
 public:
  struct Watermarks {
    uint64_t min = 0;
    uint64_t low = 0;
    uint64_t high = 0;
  };
  enum class Pressure { None, Background, Direct };

  // Throws std::invalid_argument if a zone has no policy.
  Reclaimer(const SwapPolicyConfig& cfg, std::vector<ReclaimZone> zones, ReclaimHost& host, PageBits& bits);

  // Watermarks of zone z in pages (the configured bytes / 4 KiB, capped at the zone's size).
  Watermarks watermarks(uint32_t z) const { return m_marks.at(z); }
  // Direct if free < min, Background if free < low, else None.
  Pressure pressure(uint32_t z);

  // Background reclaim of zone z (kswapd's loop): if free < low, counts a wake and shrinks in batches until
  // free >= high or nothing more can be evicted. Does nothing (zero result) when free >= low.
  ReclaimResult background(uint32_t z, VirtualTime now);
  // Background reclaim towards `target` free pages (memory tiering's promotion watermark): if free < target,
  // counts a wake and shrinks in batches until free >= target or nothing more can be evicted.
  ReclaimResult background_to(uint32_t z, uint64_t target, VirtualTime now);
  // Direct reclaim in the allocating context: if free < min, counts a direct reclaim and shrinks in batches
  // until free >= min or nothing more can be evicted.
  ReclaimResult direct(uint32_t z, VirtualTime now);
  // One pass: evicts up to `batch` pages of zone z (stops early once free >= target). Victims come from the
  // zone's policy. Per victim: mlocked -> policy.set_locked and skip; demoted to the zone's demotion target
  // if the host has one (host.demote; a failure goes on below); anon without a valid swap copy ->
  // reserve_swap (swap full: skip for this pass); unmap (PTEs + shootdown); write_back if dirty or anon
  // without a copy; policy.on_unmap; free_frame. Pages skipped in a pass are hidden from the policy with
  // set_locked for the pass and unlocked afterwards, so the policy proposes others.
  // A pass examines at most kScanPerBatch * batch candidates besides mlocked ones (each of those is met once:
  // the policy never proposes it again, so it costs the pass no budget).
  ReclaimResult shrink(uint32_t z, uint64_t target_free, uint64_t batch, VirtualTime now);
  static constexpr uint64_t kScanPerBatch = 16;

  const ReclaimCounters& counters() const { return m_counters; }

 private:
  ReclaimResult until(uint32_t z, uint64_t target, VirtualTime now);

  SwapPolicyConfig m_cfg;
  std::vector<ReclaimZone> m_zones;
  std::vector<Watermarks> m_marks;
  std::vector<std::pair<uint64_t, uint64_t>> m_balance;  // per zone: anonymous, file pages reclaimed
  ReclaimHost& m_host;
  PageBits& m_bits;
  ReclaimCounters m_counters;
};

// OOM killer: a process the kernel could kill when neither RAM nor swap has room.
struct OomCandidate {
  Pid pid = 0;
  std::string name;
  uint64_t resident_pages = 0;
  uint64_t locked_pages = 0;  // resident pages that are mlocked
  uint64_t swap_pages = 0;    // pages of the process in swap
};

struct OomReport {
  Pid pid = 0;
  std::string name;
  uint64_t resident_pages = 0;
  uint64_t locked_pages = 0;
  uint64_t swap_pages = 0;
  uint64_t candidates = 0;  // processes considered
  std::string reason;       // one line for the run's report
};

// Victim: the candidate with the most resident pages, among those with at least one resident page that is
// not mlocked; ties -> more swap pages, then the lower pid. nullopt if no candidate qualifies. `why` is put
// at the front of the report's reason (e.g. "out of memory and swap on node 0").
std::optional<OomReport> choose_oom_victim(const std::vector<OomCandidate>& candidates, const std::string& why);

}  // namespace vmsim::fw
