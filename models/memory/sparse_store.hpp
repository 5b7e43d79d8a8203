// Sparse byte store for physical memory contents: host memory grows with pages written, not with the
// capacity configured. Pages never written (or written all-zero) read as zero.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "common/types.hpp"

namespace vmsim::mem {

class SparseStore {
 public:
  // Copies len bytes at pa into dst (zeros where nothing was written).
  void read(PhysAddr pa, uint8_t* dst, uint64_t len) const;
  // Copies len bytes from src to pa. A write that leaves a whole page zero releases its host memory.
  void write(PhysAddr pa, const uint8_t* src, uint64_t len);
  // Number of 4 KiB pages currently holding host memory.
  uint64_t resident_pages() const { return m_pages.size(); }
  // Host pointer to the 4 KiB page of frame pfn, creating it (zeroed) if needed: for direct memory
  // interfaces. Valid until the page is released (see set_change_listener).
  uint8_t* page_pointer(uint64_t pfn) { return find_or_create(pfn)->data(); }
  // Whether frame pfn holds host memory.
  bool resident(uint64_t pfn) const { return find(pfn) != nullptr; }
  // Called with the frame number whenever a page's host memory is created or released.
  void set_change_listener(std::function<void(uint64_t)> fn) { m_on_change = std::move(fn); }

 private:
  using Page = std::array<uint8_t, kPageSize>;
  const Page* find(uint64_t pfn) const;
  Page* find_or_create(uint64_t pfn);

  std::unordered_map<uint64_t, std::unique_ptr<Page>> m_pages;
  // The pages found last, direct-mapped by the frame's low bits: a walk's PTE pages and the data pages
  // between them no longer evict each other as a single remembered page did.
  struct Memo {
    uint64_t pfn = UINT64_MAX;
    Page* page = nullptr;
  };
  static constexpr uint64_t kMemoSlots = 8;
  mutable std::array<Memo, kMemoSlots> m_memo{};
  std::function<void(uint64_t)> m_on_change;
};

}  // namespace vmsim::mem
