// The one page-table-entry format of vmsim: x86-64 long mode (Intel SDM vol. 3A, 4.5). Used by the
// firmware, the walker, the golden checker and the RTL testbench alike.
#pragma once

#include <cstdint>

#include "common/types.hpp"

namespace vmsim {

namespace pte_bit {
constexpr uint64_t kPresent = 1ull << 0;        // P
constexpr uint64_t kWritable = 1ull << 1;       // R/W
constexpr uint64_t kUser = 1ull << 2;           // U/S
constexpr uint64_t kWriteThrough = 1ull << 3;   // PWT
constexpr uint64_t kCacheDisable = 1ull << 4;   // PCD
constexpr uint64_t kAccessed = 1ull << 5;       // A
constexpr uint64_t kDirty = 1ull << 6;          // D (leaf entries)
constexpr uint64_t kPageSize = 1ull << 7;       // PS (PDPTE: 1 GiB leaf, PDE: 2 MiB leaf)
constexpr uint64_t kGlobal = 1ull << 8;         // G (leaf entries)
constexpr uint64_t kNoExecute = 1ull << 63;     // XD/NX
constexpr uint64_t kPfnMask = 0x000FFFFFFFFFF000ull;  // bits 51:12
}  // namespace pte_bit

// x86 page-fault error code bits (Intel SDM vol. 3A, 4.7).
namespace pf_err {
constexpr uint32_t kPresent = 1u << 0;   // 1: protection violation; 0: not-present page
constexpr uint32_t kWrite = 1u << 1;     // access was a write
constexpr uint32_t kUser = 1u << 2;      // access was from user mode
constexpr uint32_t kReserved = 1u << 3;  // a reserved bit was set in a paging-structure entry
constexpr uint32_t kFetch = 1u << 4;     // access was an instruction fetch
}  // namespace pf_err

// A 64-bit paging-structure entry.
class Pte {
 public:
  constexpr Pte() = default;
  constexpr explicit Pte(uint64_t raw) : m_raw(raw) {}
  // Entry pointing at frame `pfn` with the given flag bits (pte_bit::*); pfn must fit in 40 bits.
  static constexpr Pte make(Pfn pfn, uint64_t flags) {
    return Pte{((pfn.value() << kPageShift) & pte_bit::kPfnMask) | (flags & ~pte_bit::kPfnMask)};
  }
  constexpr uint64_t raw() const { return m_raw; }
  constexpr bool present() const { return m_raw & pte_bit::kPresent; }
  constexpr bool writable() const { return m_raw & pte_bit::kWritable; }
  constexpr bool user() const { return m_raw & pte_bit::kUser; }
  constexpr bool accessed() const { return m_raw & pte_bit::kAccessed; }
  constexpr bool dirty() const { return m_raw & pte_bit::kDirty; }
  constexpr bool huge() const { return m_raw & pte_bit::kPageSize; }
  constexpr bool global() const { return m_raw & pte_bit::kGlobal; }
  constexpr bool no_execute() const { return m_raw & pte_bit::kNoExecute; }
  constexpr Pfn pfn() const { return Pfn{(m_raw & pte_bit::kPfnMask) >> kPageShift}; }
  constexpr PhysAddr frame_addr() const { return PhysAddr{m_raw & pte_bit::kPfnMask}; }
  constexpr bool operator==(Pte o) const { return m_raw == o.m_raw; }

 private:
  uint64_t m_raw = 0;
};

// Index of va's entry in the table at `level` (1 = PT, 2 = PD, 3 = PDPT, 4 = PML4, 5 = PML5).
constexpr unsigned pt_index(VirtAddr va, unsigned level) {
  return static_cast<unsigned>((va.value() >> (kPageShift + 9 * (level - 1))) & 0x1FF);
}

// Bytes mapped by one entry at `level` (1: 4 KiB, 2: 2 MiB, 3: 1 GiB).
constexpr uint64_t level_span(unsigned level) { return uint64_t{1} << (kPageShift + 9 * (level - 1)); }

// True if va is canonical for a walk of `levels` levels (bits 63..(12+9*levels-1) all equal).
constexpr bool is_canonical(VirtAddr va, unsigned levels) {
  unsigned bits = kPageShift + 9 * levels;  // 48 or 57
  int64_t v = static_cast<int64_t>(va.value() << (64 - bits)) >> (64 - bits);
  return static_cast<uint64_t>(v) == va.value();
}

}  // namespace vmsim
