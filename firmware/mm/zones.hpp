// Zoned, per-NUMA-node physical memory manager: a DMA and a normal buddy zone per node, GFP-style request
// flags with a fixed fallback order, per-CPU order-0 page lists, optional lazy coalescing, free-area reports.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "firmware/mm/buddy.hpp"
#include "firmware/mm/free_area.hpp"
#include "common/config.hpp"
#include "common/types.hpp"
#include "common/units.hpp"

namespace vmsim::fw {

using NodeId = unsigned;

enum class ZoneKind : uint8_t { Dma, Normal };

constexpr const char* to_string(ZoneKind z) { return z == ZoneKind::Dma ? "DMA" : "Normal"; }

// Request flags (Linux GFP-style). Exactly one of MaySleep and Atomic must be given.
//   MaySleep  process context that could reclaim: walks the whole fallback list (every node), and counts
//             "would reclaim" when its first-choice zone cannot serve it; if the walk fails with frames
//             parked on per-CPU lists, drains them all and walks once more.
//   Atomic    cannot sleep, never reclaims: walks only the preferred nodes' zones; may fail.
//   Dma       only DMA zones (frames below PhysMemConfig::dma_limit) may serve the request.
//   Zero      the caller wants zeroed frames: the result's must_zero is set and the kernel zeroes the
//             frames through the HAL. The allocator never touches frame contents.
enum class Gfp : uint32_t { None = 0, MaySleep = 1u << 0, Atomic = 1u << 1, Dma = 1u << 2, Zero = 1u << 3 };

constexpr Gfp operator|(Gfp a, Gfp b) { return static_cast<Gfp>(static_cast<uint32_t>(a) | static_cast<uint32_t>(b)); }
// True if every bit of `flag` is set in `set`.
constexpr bool has(Gfp set, Gfp flag) {
  return (static_cast<uint32_t>(set) & static_cast<uint32_t>(flag)) == static_cast<uint32_t>(flag);
}
constexpr Gfp kGfpKernel = Gfp::MaySleep;  // ordinary kernel allocation
constexpr Gfp kGfpAtomic = Gfp::Atomic;    // interrupt / spinlock context

// The physical frames of one NUMA node. Node ids are the indexes in the list given to the manager.
struct NodeRange {
  Pfn base;
  uint64_t frames = 0;
};

struct PhysMemConfig {
  Bytes dma_limit{16ull << 20};  // frames below this physical address form the DMA zones
  uint64_t cpus = 1;
  uint64_t pcp_high = 192;  // 0 disables the per-CPU lists
  uint64_t pcp_batch = 32;
  bool lazy_coalescing = false;

  template <class V>
  void visit(V& v) {
    v("dma_limit", dma_limit, "bytes", "Physical addresses below this form each node's DMA zone (16MiB on x86)");
    v("cpus", cpus, "cpus", "Number of CPUs with their own order-0 page lists");
    v("pcp_high", pcp_high, "frames",
      "Per-CPU list high watermark: a free that leaves more frames than this drains a batch (0: no per-CPU lists)");
    v("pcp_batch", pcp_batch, "frames", "Frames moved between a per-CPU list and the buddy per refill or drain");
    v("lazy_coalescing", lazy_coalescing, "",
      "Free blocks without merging buddies; merge in one pass when an allocation finds no large-enough block");
  }
  // Throws InputError naming path.key: dma_limit not a multiple of 4KiB, cpus 0 or > 4096, pcp_batch 0 or
  // above pcp_high (when pcp_high > 0).
  void validate(const std::string& path) const;
};

// A successful allocation.
struct PageAlloc {
  Pfn pfn;                            // first frame
  unsigned order = 0;                 // 2^order frames
  NodeId node = 0;                    // node that served it
  ZoneKind zone = ZoneKind::Normal;   // zone that served it
  bool must_zero = false;             // Gfp::Zero was given: the caller must zero the frames
};

// Cumulative event counts of a manager.
struct PmmCounters {
  uint64_t allocations = 0;       // successful alloc() and alloc_page() calls
  uint64_t frees = 0;             // free() and free_page() calls
  uint64_t failures = 0;          // calls that returned nullopt
  uint64_t atomic_failures = 0;   // ... of which had Gfp::Atomic
  uint64_t fallbacks = 0;         // served by a zone other than the first choice of the fallback list
  uint64_t dma_fallbacks = 0;     // normal requests served by a DMA zone (last resort)
  uint64_t remote = 0;            // served by a node outside the preferred list
  uint64_t would_reclaim = 0;     // MaySleep requests the first-choice zone could not serve
  uint64_t pcp_hits = 0;          // alloc_page() served from a non-empty per-CPU list
  uint64_t pcp_refills = 0;       // batches moved buddy -> per-CPU list
  uint64_t pcp_refill_frames = 0;
  uint64_t pcp_drains = 0;        // batches moved per-CPU list -> buddy because the list exceeded pcp_high
  uint64_t pcp_drain_frames = 0;
  uint64_t drain_all = 0;         // whole-system per-CPU drains (explicit, or by a failing MaySleep walk)
};

// Sum of the buddy counters of every zone.
struct BuddyTotals {
  uint64_t splits = 0;
  uint64_t merges = 0;
  uint64_t deferred_frees = 0;
  uint64_t deferred_merges = 0;
  uint64_t coalesce_passes = 0;
};

// Per node, frames below the DMA limit form the DMA zone and the others the normal zone; each zone that
// has frames is a BuddyAllocator (orders 0..kMaxOrder). A zone never spans nodes.
//
// Fallback order for a request with preferred nodes P (in the caller's order; empty P = every node in id
// order) and the other nodes R (in the fallback order of P's first node, set_fallback_order; id order
// without one), skipping zones that do not exist:
//   normal request:  Normal(P...), Normal(R...), DMA(P...), DMA(R...)   -- DMA only as the last resort
//   Gfp::Dma:        DMA(P...), DMA(R...)
// Atomic requests stop before the first R entry (preferred nodes only). The first entry is the
// "first-choice zone".
//
// Frames on per-CPU lists are free from the caller's view (free_frames() counts them, is_allocated() is
// false) but allocated in their zone's buddy; buddyinfo rows show the buddy free lists only, like Linux.
// Not thread-safe. Cost figures: B blocks in a zone's buddy, N nodes (small).
class PhysicalMemoryManager {
 public:
  static constexpr unsigned kMaxOrder = BuddyAllocator::kMaxOrder;

  // Throws std::invalid_argument if nodes is empty, a node has 0 frames or overflows the PFN space, two
  // nodes overlap, or cfg fails validate().
  explicit PhysicalMemoryManager(const std::vector<NodeRange>& nodes, const PhysMemConfig& cfg = {});

  // Allocates 2^order contiguous, naturally aligned frames from the first zone of the fallback order that
  // has a large-enough block. Returns nullopt when none has. Throws std::invalid_argument if order >
  // kMaxOrder, flags do not contain exactly one of MaySleep/Atomic, or a preferred node does not exist.
  // Cost: O(N + kMaxOrder log B) per zone tried.
  std::optional<PageAlloc> alloc(unsigned order, Gfp flags, const std::vector<NodeId>& preferred = {});
  // Frees a block returned by alloc() (or an order-0 frame from alloc_page()) straight to its zone's
  // buddy. Throws std::logic_error, manager unchanged, if pfn is in no zone, the frame sits on a per-CPU
  // list (double free), or the buddy rejects it (double free, not a block start, wrong order).
  void free(Pfn first, unsigned order);

  // Allocates one frame through `cpu`'s list of each zone in the fallback order: pops the most recently
  // freed frame; an empty list is first refilled with up to pcp_batch frames from the zone's buddy (in
  // address order; the lowest is handed out first). Same flags, errors and counters as alloc(); also
  // throws std::invalid_argument if cpu >= cpus. With pcp_high == 0 it is alloc(0, ...). Cost: O(N) on a
  // hit, plus pcp_batch buddy allocations on a refill.
  std::optional<PageAlloc> alloc_page(CoreId cpu, Gfp flags, const std::vector<NodeId>& preferred = {});
  // Frees one frame onto `cpu`'s list of its zone; if the list then holds more than pcp_high frames, the
  // pcp_batch frames that have been on it longest go back to the buddy. Throws std::logic_error, manager
  // unchanged, if the frame is not an allocated order-0 block (in no zone, free, on a per-CPU list, part
  // of or start of a larger block), std::invalid_argument if cpu >= cpus. Cost: O(log A) plus a drain.
  void free_page(CoreId cpu, Pfn pfn);
  // The order in which a request whose first preferred node is n falls back over the other nodes:
  // order[n] lists node ids nearest first (Linux's zonelist order by node distance); nodes missing from
  // order[n] follow in id order. Throws std::invalid_argument unless order has one list per node of valid ids.
  void set_fallback_order(std::vector<std::vector<NodeId>> order);
  // Returns every frame on `cpu`'s lists (all zones) to the buddies; returns the number of frames.
  uint64_t drain_cpu(CoreId cpu);
  // drain_cpu() for every CPU (counted in drain_all); returns the number of frames.
  uint64_t drain_all();
  // Runs a coalescing pass in every zone's buddy (see BuddyAllocator::coalesce); returns the merges.
  uint64_t coalesce_all();

  // Frame counts: managed (total), free (buddy free + on per-CPU lists), allocated (handed to callers).
  // free + allocated == total for every zone. Absent zones and unknown nodes give 0.
  uint64_t total_frames() const;
  uint64_t total_frames(NodeId node) const;
  uint64_t total_frames(NodeId node, ZoneKind zone) const;
  uint64_t free_frames() const;
  uint64_t free_frames(NodeId node) const;
  uint64_t free_frames(NodeId node, ZoneKind zone) const;
  uint64_t allocated_frames() const;
  uint64_t allocated_frames(NodeId node) const;
  uint64_t allocated_frames(NodeId node, ZoneKind zone) const;
  // Frames currently on per-CPU lists: all, or one CPU's (all zones; std::invalid_argument if cpu >= cpus).
  uint64_t pcp_frames() const { return m_pcp_frames.size(); }
  uint64_t pcp_frames(CoreId cpu) const;
  // True if pfn lies in a block handed to a caller (false: free, on a per-CPU list, or in no zone).
  bool is_allocated(Pfn pfn) const;
  // Node and zone holding pfn, or nullopt.
  std::optional<std::pair<NodeId, ZoneKind>> zone_of(Pfn pfn) const;

  // The buddyinfo table: one row per existing zone, nodes in id order, DMA before Normal.
  std::vector<FreeAreaRow> free_area_report() const;
  // /proc/buddyinfo text of free_area_report().
  std::string buddyinfo() const { return format_buddyinfo(free_area_report()); }
  // Free blocks per order of one zone, or of all zones of a node; zeros if absent.
  FreeAreaCounts free_area(NodeId node, ZoneKind zone) const;
  FreeAreaCounts free_area(NodeId node) const;

  size_t node_count() const { return m_nodes.size(); }
  // The zone's buddy (for its counters and range), or nullptr if the zone does not exist.
  const BuddyAllocator* zone_allocator(NodeId node, ZoneKind zone) const;
  const PmmCounters& counters() const { return m_counters; }
  BuddyTotals buddy_totals() const;
  const PhysMemConfig& config() const { return m_cfg; }

 private:
  struct Zone {
    Zone(NodeId n, ZoneKind k, Pfn base, uint64_t frames) : node(n), kind(k), buddy(base, frames) {}
    NodeId node;
    ZoneKind kind;
    BuddyAllocator buddy;
    std::vector<std::deque<uint64_t>> pcp;  // per CPU; back = most recently freed (hot)
    uint64_t pcp_count = 0;                 // frames on this zone's lists, all CPUs
  };
  struct Node {
    uint64_t base = 0;
    uint64_t end = 0;
    int zone[2] = {-1, -1};  // index into m_zones by ZoneKind, -1 if absent
  };
  struct Candidate {
    Zone* zone;
    bool remote;
  };

  std::optional<PageAlloc> allocate(unsigned order, Gfp flags, const std::vector<NodeId>& preferred,
                                    const CoreId* cpu);
  void build_zonelist(Gfp flags, const std::vector<NodeId>& preferred);
  std::optional<uint64_t> pcp_take(Zone& zone, CoreId cpu);
  void pcp_release(Zone& zone, CoreId cpu, uint64_t count);
  Zone* find_zone(uint64_t pfn);
  const Zone* find_zone(uint64_t pfn) const;
  const Zone* zone_ptr(NodeId node, ZoneKind kind) const;
  void check_cpu(CoreId cpu) const;

  PhysMemConfig m_cfg;
  std::vector<Node> m_nodes;
  std::vector<Zone> m_zones;
  std::unordered_set<uint64_t> m_pcp_frames;  // every frame on any per-CPU list
  std::vector<Candidate> m_zonelist;          // scratch, rebuilt per request
  std::vector<uint8_t> m_is_preferred;        // scratch, per node
  std::vector<std::vector<NodeId>> m_fallback;  // per first preferred node: the others, nearest first
  std::vector<uint64_t> m_refill;             // scratch, one per-CPU refill batch
  PmmCounters m_counters;
};

}  // namespace vmsim::fw
