// Golden checker of nested paging: an independent, purely functional walk of both dimensions (guest
// tables whose every guest-physical address goes through EPT) over modeled memory, used to verify the
// translations the MMU gives in guest mode. Written separately from NestedWalk on purpose.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/types.hpp"

namespace vmsim::mmu {

// What the tables say about one guest-linear address.
struct GoldenNested {
  enum class Kind : uint8_t { Mapped, GuestNotMapped, EptNotMapped, EptMisconfig } kind = Kind::GuestNotMapped;
  uint64_t hpfn = 0;       // Mapped: host frame of the 4 KiB page
  bool writable = false;   // combined rights (guest AND EPT)
  bool user = false;
  bool no_execute = false;
  bool readable = false;   // EPT read permission of the final page
  uint64_t fault_gpa = 0;  // EptNotMapped/EptMisconfig: the guest-physical address that failed
};

class GoldenNestedChecker {
 public:
  // read64(hpa): 8 bytes of host-physical memory without side effects or timing.
  explicit GoldenNestedChecker(std::function<uint64_t(uint64_t)> read64) : m_read64(std::move(read64)) {}
  // Walks va under guest CR3 guest_root (guest_levels 4 or 5) and the EPTP eptp. trace (optional) gets
  // every entry read.
  GoldenNested translate(uint64_t eptp, uint64_t guest_root, unsigned guest_levels, uint64_t va,
                         std::string* trace = nullptr) const;
  // Compares an MMU answer for an access with the tables: "" if consistent, else a report. mmu_fault:
  // the MMU reported a guest page fault, an EPT violation or a misconfiguration (any of them); else
  // mmu_hpfn is the host frame it used.
  std::string check(uint64_t eptp, uint64_t guest_root, unsigned guest_levels, uint64_t va, AccessKind kind,
                    bool user_mode, bool mmu_fault, uint64_t mmu_hpfn, const char* source) const;
  uint64_t checks() const { return m_checks; }

 private:
  std::function<uint64_t(uint64_t)> m_read64;
  mutable uint64_t m_checks = 0;
};

}  // namespace vmsim::mmu
