// Two-dimensional (nested) page-walk stepping core (no SystemC): a guest x86-64 walk whose every
// guest-physical address - each guest paging-structure entry's and the final one - is translated through
// the EPT tables before use (Intel SDM vol. 3C ch. 29, "The Extended Page Table Mechanism (EPT)"). Fed
// one 8-byte read at a time, like PageWalk; the caller performs the reads (timed TLM reads in the walker,
// plain memory in the tests) and the Accessed/Dirty write-backs it asks for. Without caches a 4-level
// guest over 4-level EPT reads 24 entries (4 guest + 5 x 4 EPT), 5/5 reads 35.
#pragma once

#include <cstdint>

#include "common/ept.hpp"
#include "common/pte.hpp"
#include "common/types.hpp"
#include "models/mmu/nested_caches.hpp"
#include "models/mmu/page_walk.hpp"

namespace vmsim::mmu {

// What the MMU holds in guest mode: the VMCS's EPTP and VPID and the guest's CR3.
struct NestedContext {
  Eptp eptp;
  GuestPhysAddr guest_root{0};  // guest CR3 (table address)
  unsigned guest_levels = 4;    // guest paging levels (4 or 5)
  bool guest_ad = true;         // the guest's A/D updates (x86 always performs them)
  uint16_t vpid = 1;
  uint16_t pcid = 0;            // guest PCID (0 when the guest does not use PCIDs)
  uint64_t ep4ta() const { return eptp.root().value(); }
};

enum class NestedDim : uint8_t { Guest, Ept };
constexpr const char* to_string(NestedDim d) { return d == NestedDim::Guest ? "guest" : "ept"; }

// One memory reference of a nested walk: an 8-byte read at a host-physical address.
struct NestedRef {
  PhysAddr hpa{0};
  NestedDim dim = NestedDim::Guest;
  unsigned level = 0;  // level of the entry in its dimension (1 = PTE .. 5 = PML5E)
};

enum class NestedOutcome : uint8_t { Success, GuestFault, EptViolation, EptMisconfig };
constexpr const char* to_string(NestedOutcome o) {
  return o == NestedOutcome::Success      ? "success"
         : o == NestedOutcome::GuestFault ? "guest page fault"
         : o == NestedOutcome::EptViolation ? "EPT violation"
                                            : "EPT misconfiguration";
}

struct NestedResult {
  NestedOutcome outcome = NestedOutcome::Success;
  // Success: host frame of va's 4 KiB page and the combined permissions (guest AND EPT).
  Pfn pfn{0};
  GuestPhysAddr gpa{0};     // success: va's guest-physical address; EPT fault: the faulting guest-physical address
  unsigned guest_level = 0;  // guest leaf level (1..3), or the guest level where a guest fault stopped
  unsigned ept_level = 0;    // EPT leaf level of the final translation (1..3); EPT fault: level of the faulting entry
  bool readable = false;     // EPT read permission of the final page (false: execute-only)
  bool writable = false;
  bool user = false;
  bool no_execute = false;
  bool global = false;
  bool dirty = false;        // a write needs no further walk: guest D set and (EPT A/D on) EPT D set
  uint32_t error_code = 0;   // GuestFault: the x86 page-fault error code
  uint64_t qualification = 0;  // EptViolation: the exit qualification (ept_qual bits)
  bool final_translation = false;  // EPT fault on the final guest-physical address (not a guest table's)
  uint64_t misconfig_entry = 0;    // EptMisconfig: the offending entry
  const char* misconfig_reason = nullptr;
  // Where the walk's references went.
  unsigned guest_reads = 0;
  unsigned ept_reads = 0;
  unsigned guest_ad_writes = 0;
  unsigned ept_ad_writes = 0;
  unsigned guest_pwc_level = 0;  // guest page-walk-cache level the walk resumed below (0: none)
  unsigned ept_pwc_hits = 0;     // EPT translations resumed from the EPT page-walk cache
  unsigned ntlb_hits = 0;        // EPT translations answered by the nested TLB
  unsigned ept_translations = 0; // guest-physical addresses translated (guest tables + the final one)
  unsigned references() const { return guest_reads + ept_reads; }
  // Level of the TLB entry the translation may fill: the smaller page of the two dimensions.
  unsigned effective_level() const { return guest_level < ept_level ? guest_level : ept_level; }
};

class NestedWalk {
 public:
  // A walk of req.va in the guest described by ctx. caches (may be nullptr) are probed and filled: the
  // guest page-walk cache once at the start, the nested TLB and the EPT page-walk cache before each EPT
  // walk. The EPTP must be valid (Eptp::invalid() == nullptr).
  NestedWalk(const NestedContext& ctx, const WalkRequest& req, NestedCaches* caches = nullptr);
  bool done() const { return m_done; }
  // The next read. Only valid while !done().
  const NestedRef& next() const { return m_ref; }
  // Supplies the 8 bytes read at next().hpa and advances. Afterwards has_write() tells whether that entry
  // must be written back with write_value() (Accessed/Dirty of a guest entry, or of an EPT entry when the
  // EPTP enables A/D) before the next read.
  void feed(uint64_t value);
  bool has_write() const { return m_write != 0; }
  uint64_t write_value() const { return m_write; }
  PhysAddr write_addr() const { return m_write_addr; }
  const NestedResult& result() const { return m_res; }

 private:
  enum class Phase : uint8_t { GuestTable, GuestRead, Final };
  void advance();
  // Starts translating gpa through EPT; true if the walk has a read to do (m_ref set), false if the
  // translation finished at once (nested TLB hit, or a fault ending the walk).
  bool begin_ept(GuestPhysAddr gpa, bool final_gpa);
  void feed_ept(uint64_t value);
  void feed_guest(uint64_t value);
  void ept_translated(PhysAddr page, unsigned level, uint8_t rwx, bool dirty);
  bool ept_permits(uint8_t rwx) const;
  void ept_violation(uint8_t rwx, uint64_t access_bits);
  uint64_t access_bits() const;
  void finish_success();

  NestedContext m_ctx;
  WalkRequest m_req;
  NestedCaches* m_caches;
  unsigned m_ept_levels;
  bool m_ept_ad;
  PageWalk m_guest;
  Phase m_phase = Phase::GuestTable;
  bool m_done = false;
  NestedRef m_ref;
  uint64_t m_write = 0;
  PhysAddr m_write_addr{0};
  // The guest table being read: its host page once translated.
  bool m_table_known = false;
  PhysAddr m_table_hpa{0};
  uint8_t m_table_rwx = 0;
  unsigned m_pending_pwc = 0;  // guest level whose entry points at the table being translated (0: none)
  // The EPT translation in progress.
  GuestPhysAddr m_gpa{0};
  bool m_final = false;
  AccessKind m_access = AccessKind::Read;
  unsigned m_ept_level = 0;
  PhysAddr m_ept_table{0};
  uint8_t m_rwx = 0;
  bool m_in_ept = false;  // an EPT walk has its next read in m_ref
  NestedResult m_res;
};

// Index of gpa's entry in the EPT table at `level`.
constexpr unsigned ept_index(GuestPhysAddr gpa, unsigned level) {
  return static_cast<unsigned>((gpa.value() >> (kPageShift + 9 * (level - 1))) & 0x1FF);
}

}  // namespace vmsim::mmu
