// MMU of one core: a TLB in front of the hardware page walker, a root-table register (CR3), and an
// optional golden checker that verifies every translation against the tables in memory.
#pragma once

#include <memory>
#include <systemc>

#include "models/common/config.hpp"
#include "models/common/stats.hpp"
#include "models/mmu/golden_checker.hpp"
#include "models/mmu/tlb.hpp"
#include "models/mmu/walker.hpp"

namespace vmsim::mmu {

struct MmuConfig {
  TlbConfig tlb;
  WalkerConfig walker;

  template <class V>
  void visit(V& v) {
    v.section("tlb", tlb, "The data/instruction TLB (one unified TLB until issue C)");
    v.section("walker", walker, "Hardware page walker");
  }
  void validate(const std::string& path) const {
    tlb.validate(path + ".tlb");
    walker.validate(path + ".walker");
  }
};

// Result of a translation. On a fault, error_code holds the x86 error-code bits and va is the CR2 value.
struct Translation {
  bool fault = false;
  PhysAddr pa{0};
  uint32_t error_code = 0;
};

class Mmu : public sc_core::sc_module {
 public:
  Mmu(const sc_core::sc_module_name& name, const MmuConfig& cfg, sc_core::sc_time core_period, bool timed,
      bool golden_checker);

  // Translates va for an access; adds the TLB and walk time to delay (timed mode). Throws
  // SimulationError if the golden checker is on and disagrees.
  Translation translate(VirtAddr va, AccessKind kind, bool user, sc_core::sc_time& delay) {
    // Fast path, inline so the result stays in registers: a permitted TLB hit with the checker off.
    if (!m_checker) {
      if (const TlbEntry* e = m_tlb.lookup(vpn_of(va))) {
        bool denied = (user && !e->user) || (kind == AccessKind::Write && !e->writable) ||
                      (kind == AccessKind::Fetch && e->no_execute);
        if (!denied) {
          ++m_translations;
          ++m_hits;
          if (m_timed) delay += m_hit_time;
          Translation t;
          t.pa = PhysAddr{(e->pfn << kPageShift) | page_offset(va)};
          return t;
        }
      }
    }
    return translate_slow(va, kind, user, delay);
  }
  // Writes the root-table register (CR3 without PCID): flushes all non-global TLB entries.
  void set_root(PhysAddr root);
  PhysAddr root() const { return m_root; }
  // INVLPG: drops the translation of va's page.
  void invlpg(VirtAddr va);
  // Drops every TLB entry, global ones included.
  void flush_all();

  Walker& walker() { return m_walker; }
  Tlb& tlb() { return m_tlb; }

 private:
  Translation translate_slow(VirtAddr va, AccessKind kind, bool user, sc_core::sc_time& delay);
  void verify(VirtAddr va, AccessKind kind, bool user, bool fault, uint64_t pfn, const char* source);

  Tlb m_tlb;
  Walker m_walker;
  sc_core::sc_time m_hit_time;
  bool m_timed;
  PhysAddr m_root{0};
  std::unique_ptr<GoldenChecker> m_checker;

  stats::Group m_stats{*this};
  stats::Scalar m_translations{m_stats, "translations", "count", "Translations requested by the core"};
  stats::Scalar m_faults{m_stats, "faults", "count", "Translations that raised a page fault"};
  stats::Group m_tlb_stats{m_stats, "tlb"};
  stats::Scalar m_hits{m_tlb_stats, "hits", "count", "TLB lookups that hit"};
  stats::Scalar m_misses{m_tlb_stats, "misses", "count", "TLB lookups that missed (each starts a walk)"};
  stats::Scalar m_perm_faults{m_tlb_stats, "permission_faults", "count",
                              "TLB hits whose cached permissions forbid the access (fault without a walk)"};
  stats::Scalar m_fills{m_tlb_stats, "fills", "count", "Entries inserted after successful walks"};
  stats::Scalar m_evictions{m_tlb_stats, "evictions", "count", "Valid entries replaced by a fill"};
  stats::Scalar m_invalidations{m_tlb_stats, "invalidations", "count", "INVLPG operations that removed an entry"};
  stats::Scalar m_flushed{m_tlb_stats, "flushed_entries", "count", "Entries removed by root switches and flushes"};
  stats::Formula m_hit_rate{m_tlb_stats, "hit_rate", "ratio", "hits / (hits + misses)", [this] {
    uint64_t n = m_hits.value() + m_misses.value();
    return n ? static_cast<double>(m_hits.value()) / static_cast<double>(n) : 0.0;
  }};
  stats::Counter m_checks;
};

}  // namespace vmsim::mmu
