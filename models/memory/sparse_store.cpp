// Sparse page-granular byte store.
#include "models/memory/sparse_store.hpp"

#include <algorithm>
#include <cstring>

namespace vmsim::mem {

const SparseStore::Page* SparseStore::find(uint64_t pfn) const {
  Memo& m = m_memo[pfn % kMemoSlots];
  if (m.pfn == pfn) return m.page;
  auto it = m_pages.find(pfn);
  if (it == m_pages.end()) return nullptr;
  m = Memo{pfn, it->second.get()};
  return m.page;
}

SparseStore::Page* SparseStore::find_or_create(uint64_t pfn) {
  Memo& m = m_memo[pfn % kMemoSlots];
  if (m.pfn == pfn) return m.page;
  auto& slot = m_pages[pfn];
  if (!slot) {
    slot = std::make_unique<Page>(Page{});
    if (m_on_change) m_on_change(pfn);
  }
  m = Memo{pfn, slot.get()};
  return m.page;
}

void SparseStore::read(PhysAddr pa, uint8_t* dst, uint64_t len) const {
  uint64_t a = pa.value();
  while (len > 0) {
    uint64_t off = a & kPageMask;
    uint64_t n = std::min(len, kPageSize - off);
    if (const Page* p = find(a >> kPageShift)) {
      std::memcpy(dst, p->data() + off, n);
    } else {
      std::memset(dst, 0, n);
    }
    a += n;
    dst += n;
    len -= n;
  }
}

void SparseStore::write(PhysAddr pa, const uint8_t* src, uint64_t len) {
  uint64_t a = pa.value();
  while (len > 0) {
    uint64_t off = a & kPageMask;
    uint64_t n = std::min(len, kPageSize - off);
    uint64_t pfn = a >> kPageShift;
    bool all_zero = std::all_of(src, src + n, [](uint8_t b) { return b == 0; });
    if (all_zero && n == kPageSize) {
      if (m_pages.erase(pfn) != 0 && m_on_change) m_on_change(pfn);  // whole page zero: as never written
      if (m_memo[pfn % kMemoSlots].pfn == pfn) m_memo[pfn % kMemoSlots] = Memo{};
    } else if (!(all_zero && find(pfn) == nullptr)) {
      std::memcpy(find_or_create(pfn)->data() + off, src, n);
    }
    a += n;
    src += n;
    len -= n;
  }
}

}  // namespace vmsim::mem
