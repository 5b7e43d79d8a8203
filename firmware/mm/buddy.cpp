// Binary buddy frame allocator: initial carving, split on alloc, validated free with repeated coalesce,
// optional lazy coalescing with a whole-allocator coalescing pass.
#include "firmware/mm/buddy.hpp"

#include <iterator>
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
    : m_base(base.value()), m_end(base.value() + frames), m_total(frames) {
  if (frames == 0) throw std::invalid_argument("BuddyAllocator: frame count must be > 0");
  if (m_end < m_base) throw std::invalid_argument("BuddyAllocator: base + frames overflows the PFN space");

  // Greedy carve: at each position take the largest aligned block that still fits. Blocks are produced
  // in increasing address order, so appending at the end of each set is O(1) amortized.
  uint64_t pos = m_base;
  while (pos < m_end) {
    unsigned order = kMaxOrder;
    while (order > 0 && ((pos & (block_size(order) - 1)) != 0 || block_size(order) > m_end - pos)) --order;
    m_free_lists[order].emplace_hint(m_free_lists[order].end(), pos);
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
  while (have <= kMaxOrder && m_free_lists[have].empty()) ++have;
  if (have > kMaxOrder && m_pending > 0) {
    // Lazy mode: the frames may be there as unmerged pieces. Merge everything, then look again.
    coalesce();
    have = order;
    while (have <= kMaxOrder && m_free_lists[have].empty()) ++have;
  }
  if (have > kMaxOrder) return std::nullopt;

  auto& list = m_free_lists[have];
  const uint64_t start = *list.begin();
  list.erase(list.begin());
  // Split down to the requested order, keeping the lower half and freeing each upper half. Each upper half
  // is the highest block of its order inside this region, but may sit anywhere relative to other free
  // blocks of that order, so a plain insert is used.
  while (have > order) {
    --have;
    m_free_lists[have].insert(start + block_size(have));
    ++m_splits;
  }
  m_allocated.emplace(start, order);
  m_free -= block_size(order);
  return Pfn{start};
}

void BuddyAllocator::free(Pfn first, unsigned order) {
  uint64_t start = first.value();
  if (start < m_base || start >= m_end) throw std::logic_error(free_error(start, order, "PFN outside managed range"));

  auto it = m_allocated.find(start);
  if (it == m_allocated.end()) {
    if (is_allocated(first)) {
      auto owner = std::prev(m_allocated.upper_bound(start));
      std::ostringstream os;
      os << "PFN is not the start of an allocated block (it lies inside the order-" << owner->second
         << " block at 0x" << std::hex << owner->first << ")";
      throw std::logic_error(free_error(start, order, os.str()));
    }
    throw std::logic_error(free_error(start, order, "double free or never allocated: PFN is free"));
  }
  if (it->second != order) {
    throw std::logic_error(
        free_error(start, order, "order mismatch: block was allocated with order " + std::to_string(it->second)));
  }
  m_allocated.erase(it);
  m_free += block_size(order);

  if (m_lazy) {
    m_free_lists[order].insert(start);
    ++m_deferred_frees;
    ++m_pending;
    return;
  }
  // Coalesce upward while the buddy is a whole free block of the same order inside the range. Free blocks
  // are always inside the range, so the membership test already implies that; the explicit range check
  // keeps the edge rule obvious and guards the unaligned ends.
  while (order < kMaxOrder) {
    const uint64_t buddy = start ^ block_size(order);
    if (!block_in_range(buddy, order)) break;
    auto& list = m_free_lists[order];
    auto b = list.find(buddy);
    if (b == list.end()) break;
    list.erase(b);
    start &= ~block_size(order);  // merged block starts at the lower of the two
    ++order;
    ++m_merges;
  }
  m_free_lists[order].insert(start);
}

bool BuddyAllocator::is_allocated(Pfn pfn) const {
  const uint64_t p = pfn.value();
  auto it = m_allocated.upper_bound(p);
  if (it == m_allocated.begin()) return false;
  --it;
  return p - it->first < block_size(it->second);
}

uint64_t BuddyAllocator::free_blocks(unsigned order) const {
  return order > kMaxOrder ? 0 : m_free_lists[order].size();
}

std::array<uint64_t, BuddyAllocator::kMaxOrder + 1> BuddyAllocator::free_area() const {
  std::array<uint64_t, kMaxOrder + 1> counts{};
  for (unsigned k = 0; k <= kMaxOrder; ++k) counts[k] = m_free_lists[k].size();
  return counts;
}

std::optional<unsigned> BuddyAllocator::allocated_order(Pfn pfn) const {
  auto it = m_allocated.find(pfn.value());
  if (it == m_allocated.end()) return std::nullopt;
  return it->second;
}

void BuddyAllocator::set_lazy_coalescing(bool on) {
  if (m_lazy && !on) coalesce();
  m_lazy = on;
}

uint64_t BuddyAllocator::coalesce() {
  if (m_pending == 0) return 0;  // eager state already holds: no free buddy pairs exist
  // Order by order, lowest first, so a merge at order k produces a block that order k+1 sees. In an
  // address-sorted list a free lower buddy s (bit k clear) is immediately followed by its upper buddy
  // s + 2^k when that one is free too. Both are inside the range, hence so is their union.
  uint64_t merged = 0;
  for (unsigned k = 0; k < kMaxOrder; ++k) {
    auto& list = m_free_lists[k];
    auto& upper = m_free_lists[k + 1];
    for (auto it = list.begin(); it != list.end();) {
      const uint64_t s = *it;
      auto next = std::next(it);
      if ((s & block_size(k)) == 0 && next != list.end() && *next == s + block_size(k)) {
        upper.insert(s);
        it = list.erase(it);
        it = list.erase(it);
        ++merged;
      } else {
        it = next;
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
