// Variable-partition allocator: hole selection per placement policy, hole merging on free, compaction.
#include "firmware/mm/partitions.hpp"

#include <iterator>
#include <stdexcept>
#include <string>

namespace vmsim::fw {

PartitionAllocator::PartitionAllocator(uint64_t base, uint64_t size, Placement policy)
    : m_base(base), m_end(base + size), m_policy(policy), m_rover(base) {
  if (size == 0) throw std::invalid_argument("PartitionAllocator: size must be > 0");
  if (m_end < m_base) throw std::invalid_argument("PartitionAllocator: base + size overflows");
  add_hole(base, size);
}

void PartitionAllocator::add_hole(uint64_t start, uint64_t size) {
  m_holes.emplace(start, size);
  m_by_size.emplace(size, start);
}

void PartitionAllocator::remove_hole(HoleMap::iterator it) {
  m_by_size.erase({it->second, it->first});
  m_holes.erase(it);
}

PartitionAllocator::HoleMap::iterator PartitionAllocator::select(uint64_t size) {
  switch (m_policy) {
    case Placement::FirstFit:
      for (auto it = m_holes.begin(); it != m_holes.end(); ++it) {
        ++m_examined;
        if (it->second >= size) return it;
      }
      return m_holes.end();
    case Placement::BestFit: {
      ++m_examined;
      auto s = m_by_size.lower_bound({size, 0});
      return s == m_by_size.end() ? m_holes.end() : m_holes.find(s->second);
    }
    case Placement::WorstFit: {
      ++m_examined;
      if (m_by_size.empty() || m_by_size.rbegin()->first < size) return m_holes.end();
      auto s = m_by_size.lower_bound({m_by_size.rbegin()->first, 0});  // lowest address among the largest
      return m_holes.find(s->second);
    }
    case Placement::NextFit: {
      if (m_holes.empty()) return m_holes.end();
      auto start = m_holes.upper_bound(m_rover);
      if (start != m_holes.begin()) {
        auto p = std::prev(start);
        if (p->first + p->second > m_rover) start = p;  // the rover lies inside this hole
      }
      if (start == m_holes.end()) start = m_holes.begin();
      auto it = start;
      do {
        ++m_examined;
        if (it->second >= size) return it;
        if (++it == m_holes.end()) it = m_holes.begin();
      } while (it != start);
      return m_holes.end();
    }
  }
  return m_holes.end();
}

std::optional<uint64_t> PartitionAllocator::allocate(uint64_t size) {
  if (size == 0) throw std::invalid_argument("PartitionAllocator::allocate: size 0");
  auto it = select(size);
  if (it == m_holes.end()) return std::nullopt;
  const uint64_t start = it->first;
  const uint64_t hole = it->second;
  remove_hole(it);
  if (hole > size) add_hole(start + size, hole - size);
  m_blocks.emplace(start, size);
  m_used += size;
  m_rover = start + size;
  return start;
}

void PartitionAllocator::free(uint64_t start) {
  auto b = m_blocks.find(start);
  if (b == m_blocks.end()) {
    throw std::logic_error("PartitionAllocator::free(" + std::to_string(start) + "): no block starts there");
  }
  uint64_t s = start;
  uint64_t e = start + b->second;
  m_used -= b->second;
  m_blocks.erase(b);
  auto next = m_holes.lower_bound(s);
  if (next != m_holes.end() && next->first == e) {
    e += next->second;
    auto after = std::next(next);
    remove_hole(next);
    next = after;
  }
  if (next != m_holes.begin()) {
    auto p = std::prev(next);
    if (p->first + p->second == s) {
      s = p->first;
      remove_hole(p);
    }
  }
  add_hole(s, e - s);
}

CompactionResult PartitionAllocator::compact() {
  CompactionResult r;
  std::map<uint64_t, uint64_t> moved;
  uint64_t cursor = m_base;
  for (const auto& [start, size] : m_blocks) {
    if (start != cursor) {
      r.relocations.push_back({start, cursor, size});
      r.moved_bytes += size;
      ++r.moved_blocks;
    }
    moved.emplace_hint(moved.end(), cursor, size);
    cursor += size;
  }
  m_blocks.swap(moved);
  m_holes.clear();
  m_by_size.clear();
  if (cursor < m_end) add_hole(cursor, m_end - cursor);
  m_rover = cursor;
  return r;
}

double PartitionAllocator::external_fragmentation() const {
  const uint64_t f = free_bytes();
  return f == 0 ? 0.0 : 1.0 - static_cast<double>(largest_hole()) / static_cast<double>(f);
}

uint64_t PartitionAllocator::free_bytes_in_holes_below(uint64_t size) const {
  uint64_t sum = 0;
  for (auto it = m_by_size.begin(); it != m_by_size.end() && it->first < size; ++it) sum += it->first;
  return sum;
}

std::optional<uint64_t> PartitionAllocator::block_size(uint64_t start) const {
  auto b = m_blocks.find(start);
  if (b == m_blocks.end()) return std::nullopt;
  return b->second;
}

std::vector<Extent> PartitionAllocator::hole_list() const {
  std::vector<Extent> v;
  v.reserve(m_holes.size());
  for (const auto& [s, n] : m_holes) v.push_back({s, n});
  return v;
}

std::vector<Extent> PartitionAllocator::block_list() const {
  std::vector<Extent> v;
  v.reserve(m_blocks.size());
  for (const auto& [s, n] : m_blocks) v.push_back({s, n});
  return v;
}

}  // namespace vmsim::fw
