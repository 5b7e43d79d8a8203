// Extended-page-table (EPT) formats of vmsim's nested paging: the EPT paging-structure entry, the EPT
// pointer (EPTP), the exit qualification of an EPT violation and the misconfiguration checks (Intel SDM
// vol. 3C, chapter 29 "VMX Support for Address Translation", section "The Extended Page Table Mechanism
// (EPT)"; sections are cited by title, their numbers differ between editions).
// Used by the nested walk (models/mmu/nested_walk.hpp), the golden checker and the tests; the hypervisor
// that will write these tables comes later.
#pragma once

#include <cstdint>

#include "common/pte.hpp"
#include "common/types.hpp"

namespace vmsim {

struct GuestPhysAddrTag {};
using GuestPhysAddr = StrongU64<GuestPhysAddrTag>;  // a guest-physical address (the input of EPT)

// Bits of an EPT paging-structure entry (SDM "EPT Translation Mechanism", tables "Format of an EPT
// PML4 Entry" .. "Format of an EPT Page-Table Entry").
namespace ept_bit {
constexpr uint64_t kRead = 1ull << 0;      // reads allowed from the region the entry controls
constexpr uint64_t kWrite = 1ull << 1;     // writes allowed
constexpr uint64_t kExecute = 1ull << 2;   // instruction fetches allowed
constexpr uint64_t kRwx = kRead | kWrite | kExecute;
constexpr unsigned kMemTypeShift = 3;      // leaf entries: EPT memory type, bits 5:3
constexpr uint64_t kMemTypeMask = 7ull << kMemTypeShift;
constexpr uint64_t kIgnorePat = 1ull << 6;  // leaf entries: ignore PAT memory type
constexpr uint64_t kPageSize = 1ull << 7;   // PDPTE: 1 GiB leaf, PDE: 2 MiB leaf; reserved in PML4E/PML5E
constexpr uint64_t kAccessed = 1ull << 8;   // A (when the EPTP enables accessed and dirty flags)
constexpr uint64_t kDirty = 1ull << 9;      // D (leaf entries, same condition)
constexpr uint64_t kSuppressVe = 1ull << 63;  // leaf entries: suppress #VE (ignored here: no #VE)
constexpr uint64_t kAddrMask = pte_bit::kPfnMask;  // bits 51:12
}  // namespace ept_bit

// EPT memory types (SDM "EPT and Memory Typing"); 2, 3 and 7 are reserved.
namespace ept_memtype {
constexpr unsigned kUncacheable = 0;
constexpr unsigned kWriteCombining = 1;
constexpr unsigned kWriteThrough = 4;
constexpr unsigned kWriteProtected = 5;
constexpr unsigned kWriteBack = 6;
constexpr bool valid(unsigned t) { return t == 0 || t == 1 || t == 4 || t == 5 || t == 6; }
}  // namespace ept_memtype

// One 64-bit EPT paging-structure entry.
class EptEntry {
 public:
  constexpr EptEntry() = default;
  constexpr explicit EptEntry(uint64_t raw) : m_raw(raw) {}
  // Entry pointing at host address `addr` (4 KiB aligned; a leaf's frame) with flag bits (ept_bit::*).
  static constexpr EptEntry make(PhysAddr addr, uint64_t flags) {
    return EptEntry{(addr.value() & ept_bit::kAddrMask) | (flags & ~ept_bit::kAddrMask)};
  }
  // A leaf entry: rwx permission bits, memory type (write-back unless given), PS when level is 2 or 3.
  static constexpr EptEntry leaf(PhysAddr addr, uint64_t rwx, unsigned level,
                                 unsigned mem_type = ept_memtype::kWriteBack) {
    return make(addr, (rwx & ept_bit::kRwx) | (uint64_t{mem_type} << ept_bit::kMemTypeShift) |
                          (level >= 2 ? ept_bit::kPageSize : 0));
  }
  constexpr uint64_t raw() const { return m_raw; }
  constexpr bool readable() const { return m_raw & ept_bit::kRead; }
  constexpr bool writable() const { return m_raw & ept_bit::kWrite; }
  constexpr bool executable() const { return m_raw & ept_bit::kExecute; }
  constexpr uint64_t rwx() const { return m_raw & ept_bit::kRwx; }
  // An entry is present if any of bits 2:0 is set (SDM "EPT Translation Mechanism"; mode-based execute
  // control off).
  constexpr bool present() const { return rwx() != 0; }
  constexpr bool page_size() const { return m_raw & ept_bit::kPageSize; }
  constexpr bool accessed() const { return m_raw & ept_bit::kAccessed; }
  constexpr bool dirty() const { return m_raw & ept_bit::kDirty; }
  constexpr unsigned mem_type() const { return static_cast<unsigned>((m_raw & ept_bit::kMemTypeMask) >> 3); }
  constexpr PhysAddr addr() const { return PhysAddr{m_raw & ept_bit::kAddrMask}; }
  // True if this present entry at `level` (1 = PTE .. 5 = PML5E) maps a page rather than a table.
  constexpr bool is_leaf(unsigned level) const { return level == 1 || ((level == 2 || level == 3) && page_size()); }

 private:
  uint64_t m_raw = 0;
};

// Why a present EPT entry is an EPT misconfiguration (SDM "EPT Misconfigurations"), or nullptr if it is well formed.
// level: 1..5; maxphyaddr: physical-address width (bits maxphyaddr..51 are reserved); execute_only: the
// processor supports execute-only translations (IA32_VMX_EPT_VPID_CAP bit 0). Checks: write without
// read (bits 2:0 = 010b or 110b), execute-only when not supported, reserved bits (bits 7:3 of a non-leaf
// entry, PS in a PML4E/PML5E, address bits below a 2 MiB/1 GiB page's alignment, bits 51:maxphyaddr),
// and a leaf's reserved memory type (2, 3, 7).
constexpr const char* ept_misconfig(EptEntry e, unsigned level, unsigned maxphyaddr = 52, bool execute_only = true) {
  const uint64_t rwx = e.rwx();
  if ((rwx & ept_bit::kWrite) && !(rwx & ept_bit::kRead)) return "write permission without read permission";
  if (rwx == ept_bit::kExecute && !execute_only) return "execute-only entry (execute-only not supported)";
  const uint64_t high_reserved = maxphyaddr >= 52 ? 0 : (ept_bit::kAddrMask & ~((uint64_t{1} << maxphyaddr) - 1));
  if (e.raw() & high_reserved) return "address bits above the physical-address width set";
  if (level >= 4 && e.page_size()) return "page-size bit set in a PML4E/PML5E";
  if (!e.is_leaf(level)) {
    if (e.raw() & (0x1Full << 3)) return "reserved bits 7:3 set in a non-leaf entry";
    return nullptr;
  }
  if (!ept_memtype::valid(e.mem_type())) return "reserved memory type in a leaf entry";
  if (level >= 2) {
    const uint64_t low = (uint64_t{1} << (kPageShift + 9 * (level - 1))) - 1;
    if (e.raw() & ept_bit::kAddrMask & low) return "address bits below the page's alignment set in a large-page entry";
  }
  return nullptr;
}

// The EPT pointer, a VMCS field (SDM vol. 3C "Extended-Page-Table Pointer (EPTP)"): bits 2:0 the memory type of
// the paging structures (0 UC or 6 WB), bits 5:3 the page-walk length minus 1 (3: 4 levels, 4: 5 levels),
// bit 6 enables accessed and dirty flags, bits 11:7 reserved here (bit 7 supervisor shadow stack is not
// modeled), bits 51:12 the host-physical address of the top table (EP4TA, the tag of EPT-derived cached
// translations, SDM "Information That May Be Cached").
class Eptp {
 public:
  constexpr Eptp() = default;
  constexpr explicit Eptp(uint64_t raw) : m_raw(raw) {}
  static constexpr Eptp make(PhysAddr root, unsigned levels, bool ad, unsigned mem_type = ept_memtype::kWriteBack) {
    return Eptp{(root.value() & ept_bit::kAddrMask) | (uint64_t{levels - 1} << 3) | (ad ? (1ull << 6) : 0) |
                (mem_type & 7)};
  }
  constexpr uint64_t raw() const { return m_raw; }
  constexpr unsigned mem_type() const { return static_cast<unsigned>(m_raw & 7); }
  constexpr unsigned levels() const { return static_cast<unsigned>((m_raw >> 3) & 7) + 1; }
  constexpr bool ad_enabled() const { return m_raw & (1ull << 6); }
  constexpr PhysAddr root() const { return PhysAddr{m_raw & ept_bit::kAddrMask}; }
  // Why loading this EPTP would fail VM entry (SDM "Checks on VMX Controls": EPTP), or nullptr.
  constexpr const char* invalid(unsigned maxphyaddr = 52) const {
    if (mem_type() != ept_memtype::kUncacheable && mem_type() != ept_memtype::kWriteBack) {
      return "paging-structure memory type must be 0 (UC) or 6 (WB)";
    }
    if (levels() != 4 && levels() != 5) return "page-walk length must be 4 or 5 levels (bits 5:3 = 3 or 4)";
    if (m_raw & (0x1Full << 7)) return "reserved bits 11:7 set";
    if (maxphyaddr < 52 && (m_raw & ept_bit::kAddrMask & ~((uint64_t{1} << maxphyaddr) - 1))) {
      return "address bits above the physical-address width set";
    }
    if (m_raw >> 52) return "reserved bits 63:52 set";
    return nullptr;
  }
  constexpr bool operator==(Eptp o) const { return m_raw == o.m_raw; }

 private:
  uint64_t m_raw = 0;
};

// Exit qualification of an EPT violation (SDM "Exit Qualification for EPT Violations").
namespace ept_qual {
constexpr uint64_t kRead = 1ull << 0;         // the access was a data read
constexpr uint64_t kWrite = 1ull << 1;        // the access was a data write
constexpr uint64_t kFetch = 1ull << 2;        // the access was an instruction fetch
constexpr uint64_t kReadable = 1ull << 3;     // AND of bit 0 (read) of the EPT entries used for the gPA
constexpr uint64_t kWritable = 1ull << 4;     // AND of bit 1 (write)
constexpr uint64_t kExecutable = 1ull << 5;   // AND of bit 2 (execute)
constexpr uint64_t kGlaValid = 1ull << 7;     // the guest-linear-address field is valid
constexpr uint64_t kGlaTranslation = 1ull << 8;  // with bit 7: the access was to the translation of the linear
                                                 // address (0: to a guest paging-structure entry)
}  // namespace ept_qual

}  // namespace vmsim
