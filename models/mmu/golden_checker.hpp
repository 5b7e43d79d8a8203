// Golden checker: an independent, purely functional x86-64 walk of the page tables in modeled memory,
// used to verify every translation the TLB or walker returns. Written separately from PageWalk on
// purpose, so that a bug in one is not silently shared by the other.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/types.hpp"

namespace vmsim::mmu {

struct GoldenTranslation {
  uint64_t pfn = 0;  // 4 KiB frame of the address
  bool writable = false;
  bool user = false;
  bool no_execute = false;
  bool global = false;  // G of the leaf
  unsigned leaf_level = 0;
};

class GoldenChecker {
 public:
  // read64(pa) must return the 8 bytes at physical address pa without side effects or timing.
  // hash_buckets != 0: the tables are one hashed page table (common/hashed_pt.hpp) of that many
  // anchors at `root`, looked up with the address-space id `asid`.
  GoldenChecker(std::function<uint64_t(uint64_t)> read64, unsigned levels, uint64_t hash_buckets = 0);
  // The translation the page tables under `root` give for va, or nullopt if va is unmapped.
  std::optional<GoldenTranslation> translate(uint64_t root, uint64_t va, std::string* trace = nullptr,
                                             uint16_t asid = 0) const;
  // Compares what the MMU answered with the tables. Returns "" if consistent, else a report.
  // mmu_fault: the MMU raised a fault; otherwise mmu_pfn/perms are what it used.
  // ac: RFLAGS.AC at the access (SMAP's override for explicit user copies).
  std::string check(uint64_t root, uint64_t va, AccessKind kind, bool user_mode, bool mmu_fault, uint64_t mmu_pfn,
                    const char* source, uint16_t asid = 0, bool ac = false) const;
  // CR4.SMEP and CR4.SMAP of the MMU checked.
  void set_supervisor_protection(bool smep, bool smap) {
    m_smep = smep;
    m_smap = smap;
  }
  // The kernel's direct map: every address in [base, base + bytes) must translate to physical address
  // va - base through a global supervisor leaf; a table that says otherwise is reported like a wrong
  // translation. bytes 0: no direct map (the default).
  void set_direct_map(uint64_t base, uint64_t bytes) {
    m_dm_base = base;
    m_dm_bytes = bytes;
  }
  // Kernel page-table isolation (firmware.kpti): the direct map's leaves must not be global, and a user-mode
  // access must run under a root that does not map the direct map at all (the user copy of a root pair).
  void set_kpti(bool on) { m_kpti = on; }
  uint64_t checks() const { return m_checks; }

 private:
  std::function<uint64_t(uint64_t)> m_read64;
  std::optional<GoldenTranslation> translate_hashed(uint64_t base, uint64_t va, uint16_t asid, std::string* trace) const;

  unsigned m_levels;
  uint64_t m_hash_buckets;
  bool m_smep = false;
  bool m_smap = false;
  uint64_t m_dm_base = 0;
  uint64_t m_dm_bytes = 0;
  bool m_kpti = false;
  mutable uint64_t m_checks = 0;
};

}  // namespace vmsim::mmu
