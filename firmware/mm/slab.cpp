// Slab allocator: slab lists and slot reuse per cache, the cache registry, kmalloc size classes.
#include "firmware/mm/slab.hpp"

#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "common/units.hpp"

namespace vmsim::fw {
namespace {


// Smallest k with 2^k >= n (n >= 1).
unsigned ceil_log2(uint64_t n) {
  unsigned k = 0;
  while ((uint64_t{1} << k) < n) ++k;
  return k;
}

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

// ---- page sources ----

std::optional<Pfn> BuddyPageSource::alloc_pages(unsigned order) {
  std::optional<Pfn> p = m_buddy.alloc(order);
  if (p) m_frames += uint64_t{1} << order;
  return p;
}

void BuddyPageSource::free_pages(Pfn first, unsigned order) {
  m_buddy.free(first, order);
  m_frames -= uint64_t{1} << order;
}

std::optional<Pfn> PmmPageSource::alloc_pages(unsigned order) {
  std::optional<PageAlloc> p = m_pmm.alloc(order, m_flags, m_preferred);
  if (!p) return std::nullopt;
  m_frames += uint64_t{1} << order;
  return p->pfn;
}

void PmmPageSource::free_pages(Pfn first, unsigned order) {
  m_pmm.free(first, order);
  m_frames -= uint64_t{1} << order;
}

// ---- SlabCache ----

SlabCache::SlabCache(SlabAllocator& owner, std::string name, uint64_t object_size, uint64_t align, Constructor ctor,
                     bool kmalloc)
    : m_owner(owner),
      m_name(std::move(name)),
      m_object_size(object_size),
      m_stride((object_size + align - 1) / align * align),
      m_order(0),
      m_per_slab(0),
      m_ctor(std::move(ctor)),
      m_kmalloc(kmalloc) {
  // Smallest order whose tail (bytes after the last whole slot) is <= 1/8 of the slab; otherwise the order
  // with the smallest tail fraction (ties: the smaller order).
  bool chosen = false;
  uint64_t best_tail = 0;
  uint64_t best_bytes = 1;
  for (unsigned k = 0; k <= SlabAllocator::kMaxSlabOrder; ++k) {
    const uint64_t bytes = kPageSize << k;
    const uint64_t n = bytes / m_stride;
    if (n == 0) continue;
    const uint64_t tail = bytes - n * m_stride;
    if (tail * 8 <= bytes) {
      m_order = k;
      m_per_slab = n;
      return;
    }
    if (!chosen || tail * best_bytes < best_tail * bytes) {
      chosen = true;
      best_tail = tail;
      best_bytes = bytes;
      m_order = k;
      m_per_slab = n;
    }
  }
}

SlabCache::SlabList& SlabCache::list_of(State s) {
  return s == State::Full ? m_full : s == State::Partial ? m_partial : m_empty;
}

void SlabCache::move_to(SlabList::iterator it, State s) {
  SlabList& to = list_of(s);
  to.splice(to.begin(), list_of(it->state), it);
  it->state = s;
}

std::optional<PhysAddr> SlabCache::alloc() { return alloc_sized(m_object_size); }

std::optional<PhysAddr> SlabCache::alloc_sized(uint64_t requested) {
  SlabList::iterator it;
  if (!m_partial.empty()) {
    it = m_partial.begin();
  } else if (!m_empty.empty()) {
    it = m_empty.begin();
  } else {
    std::optional<Pfn> pfn = m_owner.get_pages(m_order);
    if (!pfn) {
      ++m_failed;
      return std::nullopt;
    }
    m_empty.emplace_front();
    it = m_empty.begin();
    it->pfn = pfn->value();
    it->requested.assign(m_per_slab, 0);
    it->state = State::Empty;
    m_by_pfn.emplace(it->pfn, it);
    m_owner.register_slab(it->pfn, m_order, this);
    ++m_created;
  }

  Slab& slab = *it;
  const bool fresh = slab.free_slots.empty();
  const uint32_t slot = fresh ? slab.fresh : slab.free_slots.back();
  const PhysAddr addr{(slab.pfn << kPageShift) + uint64_t{slot} * m_stride};
  if (fresh && m_ctor) {
    m_ctor(addr);  // before any bookkeeping change: a throwing constructor leaves the cache consistent
    ++m_ctor_calls;
  }
  if (fresh) {
    ++slab.fresh;
  } else {
    slab.free_slots.pop_back();
  }
  slab.requested[slot] = static_cast<uint32_t>(requested);
  ++slab.in_use;
  ++m_active;
  ++m_allocations;
  m_live_requested += requested;
  if (slab.in_use == m_per_slab) {
    move_to(it, State::Full);
  } else if (slab.state == State::Empty) {
    move_to(it, State::Partial);
  }
  return addr;
}

void SlabCache::free(PhysAddr obj) { free_checked(obj, nullptr); }

void SlabCache::free_checked(PhysAddr obj, uint64_t* requested_out) {
  const uint64_t a = obj.value();
  const uint64_t pfn = a >> kPageShift;
  auto fail = [&](const std::string& why) {
    throw std::logic_error("SlabCache(" + m_name + ")::free(" + format_hex(a) + "): " + why);
  };
  auto m = m_by_pfn.upper_bound(pfn);
  if (m == m_by_pfn.begin()) fail("address is in no slab of this cache");
  --m;
  SlabList::iterator it = m->second;
  Slab& slab = *it;
  if (pfn >= slab.pfn + (uint64_t{1} << m_order)) fail("address is in no slab of this cache");
  const uint64_t offset = a - (slab.pfn << kPageShift);
  if (offset % m_stride != 0 || offset / m_stride >= m_per_slab) fail("address is not the start of an object slot");
  const auto slot = static_cast<uint32_t>(offset / m_stride);
  if (slab.requested[slot] == 0) fail("double free or never allocated: the slot is free");

  if (requested_out) *requested_out = slab.requested[slot];
  m_live_requested -= slab.requested[slot];
  slab.requested[slot] = 0;
  slab.free_slots.push_back(slot);
  --slab.in_use;
  --m_active;
  ++m_frees;
  move_to(it, slab.in_use == 0 ? State::Empty : State::Partial);
}

void SlabCache::release_slab(SlabList::iterator it) {
  const uint64_t pfn = it->pfn;
  m_by_pfn.erase(pfn);
  m_owner.unregister_slab(pfn);
  list_of(it->state).erase(it);
  m_owner.put_pages(pfn, m_order);
  ++m_released;
}

uint64_t SlabCache::shrink() {
  const uint64_t frames = m_empty.size() << m_order;
  while (!m_empty.empty()) release_slab(m_empty.begin());
  return frames;
}

bool SlabCache::owns(PhysAddr obj) const {
  const uint64_t pfn = obj.value() >> kPageShift;
  auto m = m_by_pfn.upper_bound(pfn);
  if (m == m_by_pfn.begin()) return false;
  --m;
  return pfn < m->first + (uint64_t{1} << m_order);
}

SlabCacheStats SlabCache::stats() const {
  SlabCacheStats s;
  s.object_size = m_object_size;
  s.stride = m_stride;
  s.objects_per_slab = m_per_slab;
  s.slab_order = m_order;
  s.active_objects = m_active;
  s.slabs_full = m_full.size();
  s.slabs_partial = m_partial.size();
  s.slabs_empty = m_empty.size();
  const uint64_t slabs = s.slabs_full + s.slabs_partial + s.slabs_empty;
  s.total_objects = slabs * m_per_slab;
  s.frames = slabs << m_order;
  s.allocations = m_allocations;
  s.frees = m_frees;
  s.failed_allocations = m_failed;
  s.constructor_calls = m_ctor_calls;
  s.slabs_created = m_created;
  s.slabs_released = m_released;
  const uint64_t tail = (kPageSize << m_order) - m_per_slab * m_stride;
  s.wasted_bytes = m_active * m_stride - m_live_requested + slabs * tail;
  return s;
}

// ---- SlabAllocator ----

SlabAllocator::SlabAllocator(PageSource& pages) : m_pages(pages) {
  for (unsigned i = 0; i < kKmallocClasses; ++i) {
    const uint64_t size = kKmallocMinSize << i;
    m_caches.push_back(std::unique_ptr<SlabCache>(
        new SlabCache(*this, "kmalloc-" + std::to_string(size), size, kKmallocMinSize, {}, true)));
    m_kmalloc[i] = m_caches.back().get();
  }
}

SlabAllocator::~SlabAllocator() {
  for (auto& c : m_caches) {
    for (SlabCache::SlabList* l : {&c->m_full, &c->m_partial, &c->m_empty}) {
      for (const SlabCache::Slab& s : *l) m_pages.free_pages(Pfn{s.pfn}, c->m_order);
    }
  }
  for (const auto& [pfn, block] : m_large) m_pages.free_pages(Pfn{pfn}, block.order);
}

SlabCache& SlabAllocator::create_cache(const std::string& name, uint64_t object_size, uint64_t align,
                                       SlabCache::Constructor ctor) {
  if (name.empty()) throw std::invalid_argument("SlabAllocator::create_cache: empty name");
  if (find_cache(name)) throw std::invalid_argument("SlabAllocator::create_cache: cache '" + name + "' exists");
  if (object_size == 0 || object_size > kMaxObjectSize) {
    throw std::invalid_argument("SlabAllocator::create_cache(" + name + "): object size " + std::to_string(object_size) +
                                " not in 1.." + std::to_string(kMaxObjectSize));
  }
  if (!is_power_of_two(align) || align > kPageSize) {
    throw std::invalid_argument("SlabAllocator::create_cache(" + name + "): alignment " + std::to_string(align) +
                                " is not a power of two in 1..4096");
  }
  if ((object_size + align - 1) / align * align > kMaxObjectSize) {
    throw std::invalid_argument("SlabAllocator::create_cache(" + name + "): aligned object size exceeds " +
                                std::to_string(kMaxObjectSize));
  }
  m_caches.push_back(
      std::unique_ptr<SlabCache>(new SlabCache(*this, name, object_size, align, std::move(ctor), false)));
  return *m_caches.back();
}

bool SlabAllocator::destroy_cache(SlabCache& cache) {
  for (size_t i = 0; i < m_caches.size(); ++i) {
    if (m_caches[i].get() != &cache) continue;
    if (cache.m_kmalloc) {
      throw std::invalid_argument("SlabAllocator::destroy_cache: '" + cache.m_name + "' is a kmalloc cache");
    }
    if (cache.m_active > 0) return false;
    cache.shrink();  // no live objects: every slab is empty
    m_caches.erase(m_caches.begin() + static_cast<std::ptrdiff_t>(i));
    return true;
  }
  throw std::invalid_argument("SlabAllocator::destroy_cache: cache not created by this allocator");
}

SlabCache* SlabAllocator::find_cache(const std::string& name) {
  for (auto& c : m_caches) {
    if (c->m_name == name) return c.get();
  }
  return nullptr;
}

uint64_t SlabAllocator::shrink_all() {
  uint64_t n = 0;
  for (auto& c : m_caches) n += c->shrink();
  return n;
}

std::vector<const SlabCache*> SlabAllocator::caches() const {
  std::vector<const SlabCache*> v;
  for (const auto& c : m_caches) v.push_back(c.get());
  return v;
}

uint64_t SlabAllocator::kmalloc_size_class(uint64_t size) {
  if (size == 0 || size > kKmallocMaxSize) return 0;
  return size <= kKmallocMinSize ? kKmallocMinSize : uint64_t{1} << ceil_log2(size);
}

const SlabCache& SlabAllocator::kmalloc_cache(unsigned index) const {
  if (index >= kKmallocClasses) throw std::out_of_range("SlabAllocator::kmalloc_cache: index " + std::to_string(index));
  return *m_kmalloc[index];
}

std::optional<PhysAddr> SlabAllocator::kmalloc(uint64_t size) {
  if (size == 0) throw std::invalid_argument("SlabAllocator::kmalloc: size 0");
  if (size <= kKmallocMaxSize) {
    const uint64_t cls = kmalloc_size_class(size);
    SlabCache& cache = *m_kmalloc[ceil_log2(cls) - ceil_log2(kKmallocMinSize)];
    std::optional<PhysAddr> p = cache.alloc_sized(size);
    if (!p) {
      ++m_kstats.failures;
      return std::nullopt;
    }
    ++m_kstats.allocations;
    ++m_kstats.live_objects;
    m_kstats.live_requested_bytes += size;
    m_kstats.live_allocated_bytes += cls;
    return p;
  }
  const uint64_t frames = (size + kPageSize - 1) / kPageSize;
  const unsigned order = ceil_log2(frames);
  std::optional<Pfn> p;
  if (order <= BuddyAllocator::kMaxOrder) p = get_pages(order);
  if (!p) {
    ++m_kstats.failures;
    return std::nullopt;
  }
  m_large.emplace(p->value(), LargeBlock{order, size});
  ++m_kstats.allocations;
  ++m_kstats.live_objects;
  ++m_kstats.large_live;
  m_kstats.large_frames += uint64_t{1} << order;
  m_kstats.live_requested_bytes += size;
  m_kstats.live_allocated_bytes += kPageSize << order;
  return addr_of(*p);
}

void SlabAllocator::kfree(PhysAddr ptr) {
  const uint64_t a = ptr.value();
  const uint64_t pfn = a >> kPageShift;
  if ((a & kPageMask) == 0) {
    auto l = m_large.find(pfn);
    if (l != m_large.end()) {
      const LargeBlock block = l->second;
      m_large.erase(l);
      put_pages(pfn, block.order);
      ++m_kstats.frees;
      --m_kstats.live_objects;
      --m_kstats.large_live;
      m_kstats.large_frames -= uint64_t{1} << block.order;
      m_kstats.live_requested_bytes -= block.requested;
      m_kstats.live_allocated_bytes -= kPageSize << block.order;
      return;
    }
  }
  auto o = m_slab_owner.upper_bound(pfn);
  if (o == m_slab_owner.begin() || pfn >= std::prev(o)->second.end_pfn) {
    throw std::logic_error("SlabAllocator::kfree(" + format_hex(a) + "): not a kmalloc address");
  }
  SlabCache& cache = *std::prev(o)->second.cache;
  if (!cache.m_kmalloc) {
    throw std::logic_error("SlabAllocator::kfree(" + format_hex(a) + "): object of cache '" + cache.m_name +
                           "', not from kmalloc");
  }
  uint64_t requested = 0;
  cache.free_checked(ptr, &requested);
  ++m_kstats.frees;
  --m_kstats.live_objects;
  m_kstats.live_requested_bytes -= requested;
  m_kstats.live_allocated_bytes -= cache.m_object_size;
}

std::optional<Pfn> SlabAllocator::get_pages(unsigned order) {
  std::optional<Pfn> p = m_pages.alloc_pages(order);
  if (p) m_frames_held += uint64_t{1} << order;
  return p;
}

void SlabAllocator::put_pages(uint64_t pfn, unsigned order) {
  m_pages.free_pages(Pfn{pfn}, order);
  m_frames_held -= uint64_t{1} << order;
}

void SlabAllocator::register_slab(uint64_t pfn, unsigned order, SlabCache* cache) {
  m_slab_owner[pfn] = SlabOwner{pfn + (uint64_t{1} << order), cache};
}

void SlabAllocator::unregister_slab(uint64_t pfn) { m_slab_owner.erase(pfn); }

std::string SlabAllocator::slabinfo() const {
  std::string out =
      "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : slabdata <full> <partial> "
      "<empty> : waste <bytes>\n";
  char buf[256];
  for (const auto& c : m_caches) {
    const SlabCacheStats s = c->stats();
    std::snprintf(buf, sizeof buf, "%-17s %13llu %10llu %9llu %12llu %14llu : slabdata %6llu %9llu %7llu : waste %7llu\n",
                  c->name().c_str(), static_cast<unsigned long long>(s.active_objects),
                  static_cast<unsigned long long>(s.total_objects), static_cast<unsigned long long>(s.object_size),
                  static_cast<unsigned long long>(s.objects_per_slab), 1ull << s.slab_order,
                  static_cast<unsigned long long>(s.slabs_full), static_cast<unsigned long long>(s.slabs_partial),
                  static_cast<unsigned long long>(s.slabs_empty), static_cast<unsigned long long>(s.wasted_bytes));
    out += buf;
  }
  return out;
}

}  // namespace vmsim::fw
