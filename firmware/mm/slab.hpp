// Slab allocator: caches of fixed-size objects carved from page-source frames, with full/partial/empty
// slab lists, per-slot constructors, shrinking, and kmalloc/kfree over power-of-two size classes.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "firmware/mm/buddy.hpp"
#include "firmware/mm/zones.hpp"
#include "common/types.hpp"

namespace vmsim::fw {

// Where slabs get their frames. Implementations count what they hand out.
class PageSource {
 public:
  virtual ~PageSource() = default;
  // 2^order contiguous, naturally aligned frames, or nullopt when out of memory.
  virtual std::optional<Pfn> alloc_pages(unsigned order) = 0;
  // Returns frames obtained from alloc_pages(order).
  virtual void free_pages(Pfn first, unsigned order) = 0;
  // Frames currently handed out by this source.
  virtual uint64_t frames_in_use() const = 0;
};

// Pages straight from one BuddyAllocator (which must outlive the source).
class BuddyPageSource : public PageSource {
 public:
  explicit BuddyPageSource(BuddyAllocator& buddy) : m_buddy(buddy) {}
  std::optional<Pfn> alloc_pages(unsigned order) override;
  void free_pages(Pfn first, unsigned order) override;  // buddy errors propagate (std::logic_error)
  uint64_t frames_in_use() const override { return m_frames; }

 private:
  BuddyAllocator& m_buddy;
  uint64_t m_frames = 0;
};

// Pages from a PhysicalMemoryManager with fixed flags and preferred nodes (the manager must outlive it).
class PmmPageSource : public PageSource {
 public:
  explicit PmmPageSource(PhysicalMemoryManager& pmm, Gfp flags = kGfpKernel, std::vector<NodeId> preferred = {})
      : m_pmm(pmm), m_flags(flags), m_preferred(std::move(preferred)) {}
  std::optional<Pfn> alloc_pages(unsigned order) override;
  void free_pages(Pfn first, unsigned order) override;
  uint64_t frames_in_use() const override { return m_frames; }

 private:
  PhysicalMemoryManager& m_pmm;
  Gfp m_flags;
  std::vector<NodeId> m_preferred;
  uint64_t m_frames = 0;
};

// Statistics of one cache (a /proc/slabinfo line plus counters).
struct SlabCacheStats {
  uint64_t object_size = 0;       // bytes requested per object at cache creation
  uint64_t stride = 0;            // bytes per slot: object_size rounded up to the alignment
  uint64_t objects_per_slab = 0;
  unsigned slab_order = 0;        // each slab is 2^slab_order frames
  uint64_t active_objects = 0;    // objects handed out
  uint64_t total_objects = 0;     // slots in all slabs
  uint64_t slabs_full = 0;
  uint64_t slabs_partial = 0;
  uint64_t slabs_empty = 0;
  uint64_t frames = 0;            // frames held by the cache's slabs
  uint64_t allocations = 0;       // successful allocations
  uint64_t frees = 0;
  uint64_t failed_allocations = 0;// the page source had no frames for a new slab
  uint64_t constructor_calls = 0;
  uint64_t slabs_created = 0;
  uint64_t slabs_released = 0;
  // Internal fragmentation: slot bytes of live objects not covered by their requested size (alignment
  // padding, kmalloc size-class slack), plus every slab's tail that holds no slot:
  //   sum over live objects (stride - requested) + slabs * (slab bytes - objects_per_slab * stride).
  uint64_t wasted_bytes = 0;
};

class SlabAllocator;

// One cache of equal-size objects. Created and destroyed through SlabAllocator.
//
// Object addresses: the kernel direct map, where an object's address equals its physical address:
// (slab first PFN << 12) + slot * stride. Only bookkeeping lives in host memory.
// Slot choice: allocation takes the first partial slab (else the first empty one, else a new slab), and
// in it the most recently freed slot (LIFO), else the lowest never-used slot. A free moves its slab to the
// front of the partial list, so the most recently freed slot is reused first unless that free emptied its
// slab (empty slabs are used only when no partial slab exists, so that shrink() can release them).
class SlabCache {
 public:
  // Called with the object's address when a slot is handed out for the first time in its slab's life.
  using Constructor = std::function<void(PhysAddr)>;

  SlabCache(const SlabCache&) = delete;
  SlabCache& operator=(const SlabCache&) = delete;

  // An object, or nullopt if a new slab was needed and the page source had no frames. O(1) amortized
  // (O(log S) when a slab is created).
  std::optional<PhysAddr> alloc();
  // Returns an object of this cache. Throws std::logic_error, cache unchanged, if obj is not the start of a
  // live object of this cache (foreign address, middle of a slot, double free). O(log S).
  void free(PhysAddr obj);
  // Releases every empty slab to the page source; returns the frames released.
  uint64_t shrink();
  // True if obj lies in one of this cache's slabs.
  bool owns(PhysAddr obj) const;

  const std::string& name() const { return m_name; }
  uint64_t object_size() const { return m_object_size; }
  uint64_t stride() const { return m_stride; }
  unsigned slab_order() const { return m_order; }
  uint64_t objects_per_slab() const { return m_per_slab; }
  bool is_kmalloc() const { return m_kmalloc; }
  SlabCacheStats stats() const;

 private:
  friend class SlabAllocator;
  enum class State : uint8_t { Full, Partial, Empty };
  struct Slab {
    uint64_t pfn = 0;
    uint32_t in_use = 0;
    uint32_t fresh = 0;                 // slots [fresh, objects_per_slab) have never been handed out
    std::vector<uint32_t> free_slots;   // freed slots, LIFO
    std::vector<uint32_t> requested;    // per slot: requested bytes of the live object, 0 = free
    State state = State::Empty;
  };
  using SlabList = std::list<Slab>;

  SlabCache(SlabAllocator& owner, std::string name, uint64_t object_size, uint64_t align, Constructor ctor,
            bool kmalloc);
  std::optional<PhysAddr> alloc_sized(uint64_t requested);
  void free_checked(PhysAddr obj, uint64_t* requested_out);
  SlabList& list_of(State s);
  void move_to(SlabList::iterator it, State s);
  void release_slab(SlabList::iterator it);

  SlabAllocator& m_owner;
  std::string m_name;
  uint64_t m_object_size;
  uint64_t m_stride;
  unsigned m_order;
  uint64_t m_per_slab;
  Constructor m_ctor;
  bool m_kmalloc;
  SlabList m_full;
  SlabList m_partial;
  SlabList m_empty;
  std::map<uint64_t, SlabList::iterator> m_by_pfn;  // slab first PFN -> slab
  uint64_t m_active = 0;
  uint64_t m_live_requested = 0;  // sum of requested bytes of live objects
  uint64_t m_allocations = 0;
  uint64_t m_frees = 0;
  uint64_t m_failed = 0;
  uint64_t m_ctor_calls = 0;
  uint64_t m_created = 0;
  uint64_t m_released = 0;
};

// kmalloc accounting.
struct KmallocStats {
  uint64_t allocations = 0;
  uint64_t frees = 0;
  uint64_t failures = 0;
  uint64_t live_objects = 0;          // slab objects and large blocks
  uint64_t live_requested_bytes = 0;  // what callers asked for
  uint64_t live_allocated_bytes = 0;  // size-class bytes plus whole-page bytes of large blocks
  uint64_t large_live = 0;            // live blocks above kKmallocMaxSize
  uint64_t large_frames = 0;          // frames they hold
};

// The slab layer: named caches plus kmalloc. Frames come from `pages`, which must outlive the allocator;
// the destructor returns every frame still held (live objects included) to it.
class SlabAllocator {
 public:
  static constexpr uint64_t kKmallocMinSize = 8;
  static constexpr uint64_t kKmallocMaxSize = 4096;  // larger kmalloc requests get whole pages
  static constexpr unsigned kKmallocClasses = 10;    // 8, 16, ..., 4096
  static constexpr unsigned kMaxSlabOrder = 3;       // slabs are at most 8 frames
  static constexpr uint64_t kMaxObjectSize = kPageSize << kMaxSlabOrder;

  // Creates the kmalloc-8 .. kmalloc-4096 caches (8-byte aligned, no constructor).
  explicit SlabAllocator(PageSource& pages);
  ~SlabAllocator();
  SlabAllocator(const SlabAllocator&) = delete;
  SlabAllocator& operator=(const SlabAllocator&) = delete;

  // Creates a cache. Slot stride = object_size rounded up to align; slab order = the smallest order
  // (0..kMaxSlabOrder) whose unusable tail is at most 1/8 of the slab, else the order with the smallest
  // tail fraction. Throws std::invalid_argument if name is empty or already used, object_size is 0 or
  // above kMaxObjectSize, or align is not a power of two in 1..4096.
  SlabCache& create_cache(const std::string& name, uint64_t object_size, uint64_t align = 8,
                          SlabCache::Constructor ctor = {});
  // Destroys a cache, returning its slabs' frames. Returns false (cache unchanged) if it has live objects.
  // Throws std::invalid_argument for a kmalloc cache or a cache not created by this allocator.
  bool destroy_cache(SlabCache& cache);
  // The cache with this name, or nullptr.
  SlabCache* find_cache(const std::string& name);
  // shrink() on every cache; returns the frames released.
  uint64_t shrink_all();

  // size bytes from the smallest size class >= max(size, 8) up to 4096; above that 2^k whole frames
  // (smallest k covering size), the address being the first frame's. nullopt if out of frames or more
  // than 2^kMaxOrder frames are needed. Throws std::invalid_argument if size == 0.
  std::optional<PhysAddr> kmalloc(uint64_t size);
  // Frees a kmalloc address. Throws std::logic_error if ptr is not a live kmalloc allocation.
  void kfree(PhysAddr ptr);
  // Size class serving a request (8..4096), or 0 for size 0 or above 4096.
  static uint64_t kmalloc_size_class(uint64_t size);
  // The kmalloc cache of class index i (0: kmalloc-8 ... 9: kmalloc-4096). Throws std::out_of_range.
  const SlabCache& kmalloc_cache(unsigned index) const;
  const KmallocStats& kmalloc_stats() const { return m_kstats; }

  // Frames held by all caches and large kmalloc blocks.
  uint64_t frames_held() const { return m_frames_held; }
  size_t cache_count() const { return m_caches.size(); }
  std::vector<const SlabCache*> caches() const;
  // slabinfo-like text: one line per cache (name, active, total, object size, objects/slab, pages/slab,
  // full/partial/empty slabs, wasted bytes).
  std::string slabinfo() const;

 private:
  friend class SlabCache;
  struct SlabOwner {
    uint64_t end_pfn;
    SlabCache* cache;
  };
  struct LargeBlock {
    unsigned order;
    uint64_t requested;
  };
  std::optional<Pfn> get_pages(unsigned order);
  void put_pages(uint64_t pfn, unsigned order);
  void register_slab(uint64_t pfn, unsigned order, SlabCache* cache);
  void unregister_slab(uint64_t pfn);

  PageSource& m_pages;
  std::vector<std::unique_ptr<SlabCache>> m_caches;
  SlabCache* m_kmalloc[kKmallocClasses] = {};
  std::map<uint64_t, SlabOwner> m_slab_owner;   // slab first PFN -> owner (kfree dispatch)
  std::map<uint64_t, LargeBlock> m_large;       // large kmalloc first PFN -> block
  uint64_t m_frames_held = 0;
  KmallocStats m_kstats;
};

}  // namespace vmsim::fw
