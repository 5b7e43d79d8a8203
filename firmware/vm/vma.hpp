// Virtual memory areas of an address space: non-overlapping, page-aligned [start, end) ranges with
// protections, kept sorted for O(log n) lookup.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "models/common/types.hpp"

namespace vmsim::fw {

namespace prot {
constexpr uint8_t kRead = 1;
constexpr uint8_t kWrite = 2;
constexpr uint8_t kExec = 4;
}  // namespace prot

struct Vma {
  VirtAddr start;
  VirtAddr end;  // exclusive
  uint8_t prot = prot::kRead | prot::kWrite;
  std::string name;
  bool allows(AccessKind kind) const {
    switch (kind) {
      case AccessKind::Read: return prot & prot::kRead;
      case AccessKind::Write: return prot & prot::kWrite;
      case AccessKind::Fetch: return prot & prot::kExec;
    }
    return false;
  }
};

// "rwx"-style text of a protection, e.g. "rw-".
std::string prot_string(uint8_t p);

class VmaSet {
 public:
  // Adds a VMA. Throws std::invalid_argument if it is empty, not page aligned, or overlaps another.
  void insert(const Vma& vma);
  // The VMA containing va, or nullptr.
  const Vma* find(VirtAddr va) const;
  // Removes every part of [start, end) from the set, splitting VMAs that straddle its ends. Returns the
  // number of bytes removed.
  uint64_t remove(VirtAddr start, VirtAddr end);
  size_t size() const { return m_vmas.size(); }
  bool empty() const { return m_vmas.empty(); }
  auto begin() const { return m_vmas.begin(); }
  auto end() const { return m_vmas.end(); }

 private:
  std::map<uint64_t, Vma> m_vmas;  // keyed by start
};

}  // namespace vmsim::fw
