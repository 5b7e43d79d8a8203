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

uint64_t VmaSet::remove(VirtAddr start, VirtAddr end) {
  uint64_t s = start.value(), e = end.value(), removed = 0;
  if (e <= s) return 0;
  auto it = m_vmas.upper_bound(s);
  if (it != m_vmas.begin()) --it;
  while (it != m_vmas.end() && it->second.start.value() < e) {
    Vma v = it->second;
    if (v.end.value() <= s) {
      ++it;
      continue;
    }
    it = m_vmas.erase(it);
    uint64_t cut_s = std::max(s, v.start.value()), cut_e = std::min(e, v.end.value());
    removed += cut_e - cut_s;
    if (v.start.value() < cut_s) {
      Vma left = v;
      left.end = VirtAddr{cut_s};
      m_vmas.emplace(left.start.value(), left);
    }
    if (cut_e < v.end.value()) {
      Vma right = v;
      right.start = VirtAddr{cut_e};
      it = m_vmas.emplace(right.start.value(), right).first;
      ++it;
    }
  }
  return removed;
}

}  // namespace vmsim::fw
