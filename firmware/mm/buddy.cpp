// Binary buddy frame allocator: initial carving, split on alloc, validated free with repeated coalesce,
// optional lazy coalescing with a whole-allocator coalescing pass.
#include "firmware/mm/buddy.hpp"

#include <sstream>
#include <stdexcept>
#include <string>

namespace vmsim::fw {
namespace {

std::string free_error(uint64_t pfn, unsigned order, const std::string& why) {
  std::ostringstream os;
  os << "BuddyAllocator::free(pfn 0x" << std::hex << pfn << std::dec << ", order " << order << "): " << why;
  return os.str();
}

}  // namespace

BuddyAllocator::BuddyAllocator(Pfn base, uint64_t frames)
    : m_base(base.value()),
      m_end(base.value() + frames),
      m_total(frames),
      m_origin(base.value() & ~(block_size(kMaxOrder + 1) - 1)) {
  if (frames == 0) throw std::invalid_argument("BuddyAllocator: frame count must be > 0");
  if (m_end < m_base) throw std::invalid_argument("BuddyAllocator: base + frames overflows the PFN space");
  for (unsigned k = 0; k <= kMaxOrder; ++k) {
    const uint64_t bits = ((m_end - m_origin) >> k) + 1;
    m_free_map[k] = BitTree(bits);
    m_allocated[k] = FlatBitmap(bits);
  }

  // Greedy carve: at each position take the largest aligned block that still fits.
  uint64_t pos = m_base;
  while (pos < m_end) {
    unsigned order = kMaxOrder;
    while (order > 0 && ((pos & (block_size(order) - 1)) != 0 || block_size(order) > m_end - pos)) --order;
    add_free(pos, order);
    pos += block_size(order);
  }
  m_free = frames;
}

std::optional<Pfn> BuddyAllocator::alloc(unsigned order) {
  if (order > kMaxOrder) {
    throw std::invalid_argument("BuddyAllocator::alloc: order " + std::to_string(order) + " exceeds kMaxOrder " +
                                std::to_string(kMaxOrder));
  }
  unsigned have = order;
  while (have <= kMaxOrder && m_free_count[have] == 0) ++have;
  if (have > kMaxOrder && m_pending > 0) {
    // Lazy mode: the frames may be there as unmerged pieces. Merge everything, then look again.
    coalesce();
    have = order;
    while (have <= kMaxOrder && m_free_count[have] == 0) ++have;
  }
  if (have > kMaxOrder) return std::nullopt;

  // The lowest-addressed free block of the smallest sufficient order.
  const uint64_t start = block_start(m_free_map[have].find_next(0), have);
  remove_free(start, have);
  // Split down to the requested order, keeping the lower half and freeing each upper half.
  while (have > order) {
    --have;
    add_free(start + block_size(have), have);
    ++m_splits;
  }
  m_allocated[order].set(bit(start, order));
  ++m_allocated_blocks;
  m_free -= block_size(order);
  return Pfn{start};
}

bool BuddyAllocator::owner(uint64_t pfn, uint64_t& start, unsigned& order) const {
  for (unsigned k = 0; k <= kMaxOrder; ++k) {
    const uint64_t s = pfn & ~(block_size(k) - 1);
    if (s < m_base) break;  // no block of this order or larger can contain pfn
    if (m_allocated[k].test(bit(s, k))) {
      start = s;
      order = k;
      return true;
    }
  }
  return false;
}

void BuddyAllocator::free(Pfn first, unsigned order) {
  uint64_t start = first.value();
  if (start < m_base || start >= m_end) throw std::logic_error(free_error(start, order, "PFN outside managed range"));
  if (order > kMaxOrder || !is_allocated_block(start, order)) {
    uint64_t owner_start = 0;
    unsigned owner_order = 0;
    if (!owner(start, owner_start, owner_order)) {
      throw std::logic_error(free_error(start, order, "double free or never allocated: PFN is free"));
    }
    if (owner_start != start) {
      std::ostringstream os;
      os << "PFN is not the start of an allocated block (it lies inside the order-" << owner_order
         << " block at 0x" << std::hex << owner_start << ")";
      throw std::logic_error(free_error(start, order, os.str()));
    }
    throw std::logic_error(
        free_error(start, order, "order mismatch: block was allocated with order " + std::to_string(owner_order)));
  }
  m_allocated[order].clear(bit(start, order));
  --m_allocated_blocks;
  m_free += block_size(order);

  if (m_lazy) {
    add_free(start, order);
    ++m_deferred_frees;
    ++m_pending;
    return;
  }
  // Coalesce upward while the buddy is a whole free block of the same order inside the range. Free blocks
  // are always inside the range, so the free-map test already implies that; the explicit range check
  // keeps the edge rule obvious and guards the unaligned ends.
  while (order < kMaxOrder) {
    const uint64_t buddy = start ^ block_size(order);
    if (!block_in_range(buddy, order)) break;
    if (!is_free_block(buddy, order)) break;
    remove_free(buddy, order);
    start &= ~block_size(order);  // merged block starts at the lower of the two
    ++order;
    ++m_merges;
  }
  add_free(start, order);
}

bool BuddyAllocator::is_allocated(Pfn pfn) const {
  const uint64_t p = pfn.value();
  if (p < m_base || p >= m_end) return false;
  uint64_t start = 0;
  unsigned order = 0;
  return owner(p, start, order);
}

uint64_t BuddyAllocator::free_blocks(unsigned order) const { return order > kMaxOrder ? 0 : m_free_count[order]; }

std::array<uint64_t, BuddyAllocator::kMaxOrder + 1> BuddyAllocator::free_area() const { return m_free_count; }

std::optional<unsigned> BuddyAllocator::allocated_order(Pfn pfn) const {
  const uint64_t p = pfn.value();
  if (p < m_base || p >= m_end) return std::nullopt;
  for (unsigned k = 0; k <= kMaxOrder; ++k) {
    if (is_allocated_block(p, k)) return k;
  }
  return std::nullopt;
}

void BuddyAllocator::set_lazy_coalescing(bool on) {
  if (m_lazy && !on) coalesce();
  m_lazy = on;
}

uint64_t BuddyAllocator::coalesce() {
  if (m_pending == 0) return 0;  // eager state already holds: no free buddy pairs exist
  // Order by order, lowest first, so a merge at order k produces a block that order k+1 sees. A free lower
  // buddy (even bit: the origin is aligned beyond the largest order) merges with its upper buddy, the next
  // bit, when that one is free too. Both are inside the range, hence so is their union.
  uint64_t merged = 0;
  for (unsigned k = 0; k < kMaxOrder; ++k) {
    BitTree& map = m_free_map[k];
    for (uint64_t i = map.find_next(0); i != BitTree::kNone;) {
      if ((i & 1) == 0 && i + 1 < map.size() && map.test(i + 1)) {
        remove_free(block_start(i, k), k);
        remove_free(block_start(i + 1, k), k);
        add_free(block_start(i, k), k + 1);
        ++merged;
        i = map.find_next(i + 2);
      } else {
        i = map.find_next(i + 1);
      }
    }
  }
  m_merges += merged;
  m_deferred_merges += merged;
  ++m_passes;
  m_pending = 0;
  return merged;
}

bool BuddyAllocator::block_in_range(uint64_t start, unsigned order) const {
  return start >= m_base && start <= m_end && block_size(order) <= m_end - start;
}

}  // namespace vmsim::fw
