// VMA set.
#include "firmware/vm/vma.hpp"

#include <stdexcept>

namespace vmsim::fw {

std::string prot_string(uint8_t p) {
  std::string s = "---";
  if (p & prot::kRead) s[0] = 'r';
  if (p & prot::kWrite) s[1] = 'w';
  if (p & prot::kExec) s[2] = 'x';
  return s;
}

bool Vma::mergeable_with(const Vma& next) const {
  if (end != next.start) return false;
  if (prot != next.prot || shared != next.shared || locked != next.locked || grows_down != next.grows_down ||
      huge != next.huge || huge_1g != next.huge_1g || heap != next.heap || shm != next.shm || shm_readonly != next.shm_readonly ||
      policy != next.policy) {
    return false;
  }
  // Segment areas join only where the segment offsets continue.
  return shm == 0 || shm_offset + bytes() == next.shm_offset;
}

void VmaSet::insert(const Vma& vma) {
  uint64_t s = vma.start.value(), e = vma.end.value();
  if (e <= s || (s & kPageMask) || (e & kPageMask)) {
    throw std::invalid_argument("VMA [" + std::to_string(s) + ", " + std::to_string(e) +
                                ") is empty or not page aligned");
  }
  auto next = m_vmas.lower_bound(s);
  if (next != m_vmas.end() && next->second.start.value() < e) {
    throw std::invalid_argument("VMA " + vma.name + " overlaps " + next->second.name);
  }
  if (next != m_vmas.begin()) {
    auto prev = std::prev(next);
    if (prev->second.end.value() > s) throw std::invalid_argument("VMA " + vma.name + " overlaps " + prev->second.name);
  }
  m_vmas.emplace(s, vma);
}

const Vma* VmaSet::find(VirtAddr va) const {
  auto it = m_vmas.upper_bound(va.value());
  if (it == m_vmas.begin()) return nullptr;
  --it;
  return va.value() < it->second.end.value() ? &it->second : nullptr;
}

bool VmaSet::overlaps(VirtAddr start, VirtAddr end) const {
  auto it = m_vmas.lower_bound(start.value());
  if (it != m_vmas.end() && it->first < end.value()) return true;
  if (it == m_vmas.begin()) return false;
  return std::prev(it)->second.end.value() > start.value();
}

bool VmaSet::covers(VirtAddr start, VirtAddr end) const {
  uint64_t at = start.value();
  while (at < end.value()) {
    const Vma* v = find(VirtAddr{at});
    if (v == nullptr) return false;
    at = v->end.value();
  }
  return true;
}

void VmaSet::split_at(uint64_t addr) {
  auto it = m_vmas.upper_bound(addr);
  if (it == m_vmas.begin()) return;
  --it;
  Vma& v = it->second;
  if (v.start.value() >= addr || v.end.value() <= addr) return;
  Vma right = v;
  right.start = VirtAddr{addr};
  if (right.shm != 0) right.shm_offset += addr - v.start.value();
  v.end = VirtAddr{addr};
  m_vmas.emplace(addr, right);
}

uint64_t VmaSet::remove(VirtAddr start, VirtAddr end) {
  uint64_t s = start.value(), e = end.value(), removed = 0;
  if (e <= s) return 0;
  split_at(s);
  split_at(e);
  auto it = m_vmas.lower_bound(s);
  while (it != m_vmas.end() && it->first < e) {
    removed += it->second.bytes();
    it = m_vmas.erase(it);
  }
  return removed;
}

size_t VmaSet::merge_around(VirtAddr start, VirtAddr end) {
  size_t merges = 0;
  auto it = m_vmas.upper_bound(start.value());
  if (it != m_vmas.begin()) --it;
  if (it != m_vmas.begin() && it->second.start.value() >= start.value()) --it;
  while (it != m_vmas.end() && it->second.start.value() <= end.value()) {
    auto next = std::next(it);
    if (next != m_vmas.end() && it->second.mergeable_with(next->second)) {
      it->second.end = next->second.end;
      m_vmas.erase(next);
      ++merges;
      continue;
    }
    it = next;
  }
  return merges;
}

bool VmaSet::resize(VirtAddr start, VirtAddr new_end) {
  auto it = m_vmas.find(start.value());
  if (it == m_vmas.end() || new_end.value() <= start.value() || (new_end.value() & kPageMask)) return false;
  auto next = std::next(it);
  if (next != m_vmas.end() && next->first < new_end.value()) return false;
  it->second.end = new_end;
  return true;
}

uint64_t VmaSet::find_gap_below(uint64_t top, uint64_t bottom, uint64_t bytes, uint64_t align) const {
  if (bytes == 0 || top < bytes) return 0;
  uint64_t candidate_end = top;
  auto it = m_vmas.lower_bound(top);
  // Walk areas downwards from top; each gap is [prev.end, it.start).
  for (;;) {
    uint64_t gap_hi = candidate_end;
    if (it != m_vmas.end() && it->first < gap_hi) gap_hi = it->first;
    uint64_t gap_lo = bottom;
    auto prev = it;
    bool has_prev = prev != m_vmas.begin();
    if (has_prev) {
      --prev;
      gap_lo = std::max(gap_lo, prev->second.end.value());
    }
    if (gap_hi >= bytes) {
      uint64_t s = (gap_hi - bytes) & ~(align - 1);
      if (s >= gap_lo && s + bytes <= gap_hi) return s;
    }
    if (!has_prev || prev->second.start.value() <= bottom) return 0;
    candidate_end = prev->second.start.value();
    it = prev;
  }
}

}  // namespace vmsim::fw
