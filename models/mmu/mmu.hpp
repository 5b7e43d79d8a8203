// MMU of one core: L1 ITLB/DTLB and a shared STLB in front of the hardware page walker (with its
// page-walk caches), a root-table register (CR3 with PCID), and an optional golden checker that verifies
// every translation against the tables in memory.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include <memory>
#include <systemc>

#include "common/config.hpp"
#include "common/stats.hpp"
#include "models/mmu/golden_checker.hpp"
#include "models/mmu/golden_nested.hpp"
#include "models/mmu/tlb_array.hpp"
#include "models/mmu/walker.hpp"

namespace vmsim::mmu {

struct MmuConfig {
  TlbHierarchyConfig tlb;
  WalkerConfig walker;
  bool pcid = false;
  uint64_t pcid_count = 4096;
  bool smep = false;
  bool smap = false;

  template <class V>
  void visit(V& v) {
    v.section("tlb", tlb, "TLB hierarchy: L1 instruction and data TLBs and the shared L2 TLB");
    v.section("walker", walker, "Hardware page walker");
    v("pcid", pcid, "",
      "Process-context identifiers (CR4.PCIDE): TLB entries are tagged with the 12-bit PCID and a root switch "
      "keeps them; off: a root switch flushes every non-global entry");
    v("pcid_count", pcid_count, "PCIDs",
      "PCIDs the hardware accepts in the root register, 0..pcid_count-1 (x86-64: 4096, 12 bits; fewer "
      "models a narrower tag, as ARM's 8-bit ASIDs). The kernel hands out 1..pcid_count-1 to address spaces "
      "and rolls over to a new generation when they run out (at least cores + 2); with the hashed page table "
      "it bounds the address spaces alive at once");
    v("smep", smep, "",
      "Supervisor-mode execution prevention (CR4.SMEP): a supervisor instruction fetch from a user page (U=1 at "
      "every level) faults");
    v("smap", smap, "",
      "Supervisor-mode access prevention (CR4.SMAP): a supervisor data access to a user page faults unless "
      "RFLAGS.AC is set (the kernel's explicit user copies, bracketed by stac/clac)");
  }
  void validate(const std::string& path) const {
    tlb.validate(path + ".tlb");
    walker.validate(path + ".walker");
    config::require(pcid_count >= 2 && pcid_count <= 4096, path, "pcid_count", std::to_string(pcid_count),
                    "2..4096: PCID 0 is the kernel's and the root register holds 12 bits");
  }
};

// A VM exit a guest-mode translation raised instead of a page fault (Mmu::last_vm_exit()).
enum class VmExit : uint8_t { None, EptViolation, EptMisconfig };

// Result of a translation. On a fault, error_code holds the x86 error-code bits and va is the CR2 value;
// in guest mode a fault may instead be a VM exit (Mmu::last_vm_exit() says which; error_code 0). No field
// for it here: this struct is copied on the hottest path.
struct Translation {
  bool fault = false;
  PhysAddr pa{0};
  uint32_t error_code = 0;
};

// What one access's translations did, for the event trace (sim.event_trace): filled by the MMU and its
// walker while set (Mmu::set_trace); the owner clears it before each access.
struct TranslationTrace {
  TlbHitLevel first = TlbHitLevel::Miss;  // the access's first TLB lookup
  uint32_t lookups = 0;                   // TLB lookups (more than one after a fault: the access retries)
  uint32_t walks = 0;                     // page walks started (misses and Dirty re-walks)
  uint32_t faults = 0;                    // translations that raised a page fault
  uint64_t pa = 0;                        // the last successful translation's physical address
  std::vector<PteReadRecord> reads;       // every PTE read of the walks, in order
  void clear() {
    first = TlbHitLevel::Miss;
    lookups = walks = faults = 0;
    pa = 0;
    reads.clear();
  }
};

// Firmware writes to physical memory so far (any core): a walk that faulted while tables changed under it
// may legitimately disagree with the tables as they are afterwards (at mode, several requesters).
inline uint64_t& firmware_write_epoch() {
  static uint64_t epoch = 0;
  return epoch;
}

// Another implementation of a TLB array (impl: rtl), made by whoever composes the system: the backend the
// array hands its operations to, and two counters of that implementation for the statistics.
struct ExternalTlb {
  std::unique_ptr<TlbArrayBackend> backend;
  std::function<uint64_t()> operations;  // operations the implementation executed
  std::function<uint64_t()> cycles;      // clock cycles it ran
};
// Makes the implementation of the array configured at `path` (impl: rtl) as a child named `name` of the
// module under construction. Throws InputError if it cannot hold that configuration.
using TlbBackendFactory =
    std::function<ExternalTlb(const TlbArrayConfig& cfg, const std::string& path, const char* name)>;

// What VM entry loads into the MMU (mmu_nested.cpp): the VMCS's EPTP and VPID and the guest's CR3.
struct GuestMode {
  Eptp eptp;
  Vpid vpid = 1;                // 1..65535 (0 is the host)
  GuestPhysAddr root{0};        // guest CR3
  Pcid pcid = 0;                // guest PCID (ignored, as the host's, when system.core.mmu.pcid is off)
  unsigned levels = 4;          // guest paging levels, 4 or 5
  NestedCacheSizes caches;      // sizes of the nested structures, taken at the first entry
};

// INVEPT types (Intel SDM vol. 2, INVEPT).
enum class InveptType : uint8_t { SingleContext = 1, AllContexts = 2 };

class Mmu : public sc_core::sc_module {
 public:
  // waits: the at mode (memory transactions wait in SystemC time): several translations of one core
  // may be in flight, with up to walker.max_walks walks and misses merged per page. rtl_factory makes the
  // arrays configured impl: rtl (none given: such a configuration is an error naming the key).
  Mmu(const sc_core::sc_module_name& name, const MmuConfig& cfg, sc_core::sc_time core_period, bool timed,
      bool golden_checker, bool waits = false, const TlbBackendFactory& rtl_factory = {});

  // Translates va for an access; adds TLB, page-walk-cache and walk time to delay (timed mode). Throws
  // SimulationError if the golden checker is on and disagrees.
  // user: CPL 3 (every workload access); false: a supervisor access (the firmware's accesses through the
  // kernel's direct map), counted apart in mmu.kernel.*.
  [[gnu::always_inline]] Translation translate(VirtAddr va, AccessKind kind, bool user, sc_core::sc_time& delay) {
    if (!user) return translate_supervisor(va, kind, delay);
    ++m_translations;
    TlbLookup l = m_tlb.lookup(va, pcid(), kind);
    if (m_timed) {
      delay += m_period * static_cast<double>(l.latency);
      m_l1_cycles += l.latency - l.l2_latency;
      m_l2_cycles += l.l2_latency;
    }
    // Inline fast path: a permitted hit that needs no Dirty update, with the checker and the trace off.
    if (m_fast && l.level != TlbHitLevel::Miss) {
      const TlbArrayEntry& e = *l.entry;
      bool denied = !e.user || (kind == AccessKind::Write && !e.writable) ||
                    (kind == AccessKind::Fetch && e.no_execute);
      if (!denied && !(m_ad && kind == AccessKind::Write && !e.dirty)) {
        ++m_hits;
        Translation t;
        t.pa = l.pa;
        return t;
      }
    }
    return after_lookup(va, kind, user, delay, l);
  }
  // For the functional mode's loop (Core): a translate(va, kind, true, delay) of a data access (Read or
  // Write) is a repeat of the DTLB's previous hit on the inline path if it is to the same 4 KiB page (and
  // PCID), permitted, needs no Dirty update and no checker or trace runs. count_repeat_hit() counts such a
  // translation exactly as translate() does (untimed: the functional mode adds no delay).
  // repeat_page() answers for every data access to va's 4 KiB page at once: true if a Read there would be
  // such a repeat hit, with the page's physical address and whether a Write would be one too. Both stay
  // true until the MMU is next called for anything else.
  bool repeat_page(VirtAddr va, PhysAddr& page_pa, bool& writes) {
    if (!m_fast) return false;
    const TlbArrayEntry* e = m_tlb.dtlb().memo_entry(va, pcid());
    if (e == nullptr || !e->user) return false;
    writes = e->writable && !(m_ad && !e->dirty);
    page_pa = e->translate(VirtAddr{va.value() & ~kPageMask});
    return true;
  }
  void count_repeat_hit() {
    ++m_translations;
    m_tlb.dtlb().count_memo_hit();
    ++m_hits;
  }
  // Writes the root-table register (CR3): with PCID off, flushes every non-global TLB entry and the
  // page-walk caches; with PCID on, keeps them (the entries are tagged).
  void set_root(PhysAddr root, uint16_t pcid);
  PhysAddr root() const { return m_root; }
  uint16_t pcid() const { return m_pcid_enabled ? m_pcid : 0; }
  // RFLAGS.AC (stac sets it, clac clears it): with SMAP, supervisor data accesses to user pages are
  // allowed while it is set.
  void set_ac(bool ac) { m_ac = ac; }
  bool ac() const { return m_ac; }
  // Creates the mmu.kernel statistics (supervisor translations); called by whoever composes the system
  // when the firmware translates its own accesses (firmware.kernel_virtual_access). Before the simulation.
  void add_kernel_stats();
  // The golden checker (if on) also checks the kernel's direct map at base (see GoldenChecker).
  void set_direct_map(uint64_t base, uint64_t bytes) {
    if (m_checker) m_checker->set_direct_map(base, bytes);
  }
  // The golden checker (if on) checks kernel page-table isolation (firmware.kpti; see GoldenChecker).
  void set_kpti(bool on) {
    if (m_checker) m_checker->set_kpti(on);
  }
  // INVLPG: drops va's translations for the current PCID (and global ones) from every TLB level, and the
  // current PCID's page-walk-cache entries.
  void invlpg(VirtAddr va);
  // INVPCID of the given type (individual address, single context, all contexts with or without globals).
  // Returns the TLB entries removed (all levels).
  uint64_t invpcid(InvpcidType type, uint16_t pcid, VirtAddr va);
  // Drops every TLB and page-walk-cache entry, global ones included.
  void flush_all();

  // Nested paging (mmu_nested.cpp). VM entry: translations from now on are the guest's, through its
  // tables and the EPT, in TLB entries tagged with g.vpid. Throws SimulationError for an invalid EPTP,
  // VPID 0 or guest levels other than 4/5, and InputError naming the key of a configuration that cannot
  // hold guest translations (a TLB array with impl rtl has no VPID tags; the hashed page-table format).
  void enter_guest(const GuestMode& g);
  // VM exit: host translations (VPID 0, the host root) again; guest entries stay cached under their VPID.
  void exit_guest();
  bool in_guest() const { return m_guest; }
  // A guest CR3 write (guest mode only): as set_root, within the guest's VPID.
  void set_guest_root(GuestPhysAddr root, Pcid pcid);
  // INVEPT: drops the guest-physical and combined translations derived from eptp's EPT (single context)
  // or from every EPT (all contexts). Returns the entries removed (TLBs and nested caches).
  uint64_t invept(InveptType type, Eptp eptp);
  // INVVPID with SDM semantics (InvvpidType). VPID 0 is not a valid operand except for all-contexts:
  // SimulationError. Returns the entries removed.
  uint64_t invvpid(InvvpidType type, Vpid vpid, VirtAddr va = VirtAddr{0});
  // Invalidations of one VPID's translations on this core whatever mode it is in now (a shootdown that
  // reaches a core running the host or another guest; VPID 0 is the host). With PCIDs: the non-global
  // translations of va in (vpid, pcid) (INVPCID individual-address within the VPID); without: every
  // translation of va in vpid (INVVPID individual-address: only one address space per VPID is cached, a
  // root write flushes). Also drops that context's page-walk-cache entries (the host's walker caches for
  // VPID 0, the guest-dimension nested caches otherwise). Returns the TLB entries removed.
  uint64_t invalidate_vpid_page(Vpid vpid, Pcid pcid, VirtAddr va);
  // Every non-global translation of (vpid, pcid) with PCIDs (INVPCID single-context within the VPID),
  // of vpid without (INVVPID single-context retaining globals; for VPID 0 a root-write flush, counted in
  // tlb.root_switch_flushes), and that context's page-walk-cache entries. Returns the TLB entries removed.
  uint64_t invalidate_vpid_space(Vpid vpid, Pcid pcid);
  // The host's root register (CR3), also while the core is in guest mode (saved at VM entry).
  PhysAddr host_root() const { return m_guest ? m_host_root : m_root; }
  // Without PCIDs: whether translations of guest address space `root` may be cached under vpid on this
  // core (root is the last guest CR3 that VPID loaded here, or the VPID switched roots without a flush).
  bool guest_space_cached(Vpid vpid, GuestPhysAddr root) const;
  // The last guest-mode walk's result: the VM-exit information of an EPT violation or misconfiguration.
  const NestedResult& last_nested() const { return m_last_nested; }
  // After a guest-mode translation that faulted: the VM exit it raised (None: a guest page fault). Every
  // guest-mode fault comes from a walk (TLB hits that forbid an access walk again), so last_nested() is it.
  VmExit last_vm_exit() const {
    return m_last_nested.outcome == NestedOutcome::EptViolation  ? VmExit::EptViolation
           : m_last_nested.outcome == NestedOutcome::EptMisconfig ? VmExit::EptMisconfig
                                                                  : VmExit::None;
  }

  // The event trace: while t is set, every translation takes the out-of-line path (same results, counts
  // and time) and records what it did in *t; nullptr turns it off.
  void set_trace(TranslationTrace* t) {
    m_trace = t;
    m_walker.set_read_log(t != nullptr ? &t->reads : nullptr);
    m_fast = !m_checker && t == nullptr;
  }
  Walker& walker() { return m_walker; }
  TlbHierarchy& tlb() { return m_tlb; }

 private:
  // Everything after the TLB lookup that is not the fast path: permission faults, Dirty re-walks,
  // misses and walks, fills, checking.
  Translation after_lookup(VirtAddr va, AccessKind kind, bool user, sc_core::sc_time& delay, const TlbLookup& l);
  // A supervisor translation: the same lookup, walk and checks, counted in mmu.kernel.* besides the totals,
  // never recorded in the event trace (it is the kernel's, not the access's).
  Translation translate_supervisor(VirtAddr va, AccessKind kind, sc_core::sc_time& delay);
  WalkRequest request(VirtAddr va, AccessKind kind, bool user) const {
    WalkRequest r{va, kind, user};
    r.smep = m_smep;
    r.smap = m_smap;
    r.ac = m_ac;
    return r;
  }
  // The TLB entry a successful walk (native or two-dimensional) fills: its page, frame and rights.
  template <class Walked>
  TlbArrayEntry walked_entry(VirtAddr va, unsigned level, const Walked& r) const {
    TlbArrayEntry e = TlbArrayEntry::make(va, page_size_of_level(level), r.pfn, pcid());
    e.writable = r.writable;
    e.user = r.user;
    e.no_execute = r.no_execute;
    e.global = r.global;
    e.dirty = r.dirty;
    return e;
  }
  Translation translate_slow(VirtAddr va, AccessKind kind, bool user, sc_core::sc_time& delay, const TlbLookup& l);
  void verify(VirtAddr va, AccessKind kind, bool user, bool fault, uint64_t pfn, const char* source);
  void add_level_stats(stats::Group& g, TlbLevelCounters TlbHierarchyCounters::*level);
  // The guest-mode walk after a miss (mmu_nested.cpp): walks on the acquired slot, releases it, fills.
  Translation walk_guest(Walker::Slot& slot, VirtAddr va, AccessKind kind, bool user, sc_core::sc_time& delay,
                         uint64_t epoch);
  void verify_nested(VirtAddr va, AccessKind kind, bool user, bool fault, uint64_t pfn, const char* source);

  TlbHierarchy m_tlb;
  Walker m_walker;
  sc_core::sc_time m_period;
  bool m_timed;
  bool m_waits;
  bool m_pcid_enabled;
  uint64_t m_pcid_count;
  bool m_ad;
  bool m_smep;
  bool m_smap;
  bool m_ac = false;
  PhysAddr m_root{0};
  uint16_t m_pcid = 0;
  // Supervisor translations (mmu.kernel.*).
  uint64_t m_k_translations = 0, m_k_hits = 0, m_k_misses = 0, m_k_fs = 0;
  std::unique_ptr<stats::Group> m_kernel_stats;
  std::vector<std::unique_ptr<stats::Stat>> m_kernel_counters;
  std::unique_ptr<GoldenChecker> m_checker;
  bool m_guest = false;                   // guest mode (VMX non-root)
  NestedContext m_guest_ctx;
  PhysAddr m_host_root{0};                // the host's root register while in guest mode
  uint16_t m_host_pcid = 0;
  // Per VPID: the last guest CR3 loaded on this core, and whether older roots' entries may remain
  // (a VM entry with another root than the VPID last had, without PCIDs, flushes nothing).
  struct VpidRoot {
    uint64_t root = 0;
    bool mixed = false;
  };
  std::unordered_map<Vpid, VpidRoot> m_vpid_roots;
  NestedResult m_last_nested;
  std::unique_ptr<GoldenNestedChecker> m_nested_checker;
  bool m_fast = true;                     // no checker, no trace: hits may take the inline path
  TranslationTrace* m_trace = nullptr;    // sim.event_trace
  uint64_t m_l1_cycles = 0;  // timed modes: cycles of L1 TLB lookups
  uint64_t m_l2_cycles = 0;  // and of L2 TLB lookups
  uint64_t m_fs_walk_wait = 0;  // at mode: femtoseconds waiting for a walk in flight or a free walker

  stats::Group m_stats{*this};
  stats::Scalar m_translations{m_stats, "translations", "count", "Translations requested by the core"};
  stats::Scalar m_faults{m_stats, "faults", "count", "Translations that raised a page fault"};
  stats::Group m_tlb_stats{m_stats, "tlb"};
  stats::Scalar m_hits{m_tlb_stats, "hits", "count", "Translations that hit a TLB level (L1 or L2)"};
  stats::Scalar m_misses{m_tlb_stats, "misses", "count", "Translations that missed every TLB level (each walks)"};
  stats::Scalar m_dirty_walks{m_tlb_stats, "dirty_walks", "count",
                              "TLB hits by writes through an entry whose Dirty bit was clear: they walk to set it"};
  stats::Scalar m_merged{m_tlb_stats, "merged_misses", "count",
                          "Misses that waited for a walk of the same page already in flight and took its result "
                          "(at mode): walks = misses - merged_misses + dirty_walks"};
  stats::Scalar m_unchecked_faults{m_stats, "checker_skipped_faults", "count",
                                    "Walk faults not verified by the golden checker because the firmware wrote memory "
                                    "during the walk (at mode with several requesters; the access is retried)"};
  stats::Scalar m_perm_faults{m_tlb_stats, "permission_faults", "count",
                              "TLB hits whose cached permissions forbid the access (fault without a walk)"};
  stats::Scalar m_flushes{m_tlb_stats, "root_switch_flushes", "count", "Root-table writes that flushed the TLBs"};
  stats::Formula m_hit_rate{m_tlb_stats, "hit_rate", "ratio", "hits / (hits + misses)", [this] {
    uint64_t n = m_hits.value() + m_misses.value();
    return n ? static_cast<double>(m_hits.value()) / static_cast<double>(n) : 0.0;
  }};
  // Where translation time went (timed modes); with the walker's time group it sums to the core's
  // time.translation.
  stats::Group m_time_stats{m_stats, "time"};
  stats::Counter m_t_l1{m_time_stats, "l1_tlb", "core cycles", "Cycles in L1 TLB lookups (ITLB or DTLB), hit or miss",
                        [this] { return m_l1_cycles; }};
  stats::Counter m_t_l2{m_time_stats, "stlb", "core cycles", "Cycles in L2 TLB (STLB) lookups after L1 misses",
                        [this] { return m_l2_cycles; }};
  stats::Counter m_t_walk_wait{m_time_stats, "walk_wait", "core cycles",
                               "Cycles waiting for a walk of the same page in flight (merged misses) or for a free "
                               "walker (at mode)",
                               [this] { return m_fs_walk_wait / static_cast<uint64_t>(m_period.value()); }};
  stats::Group m_itlb_stats{m_stats, "itlb"};
  stats::Group m_dtlb_stats{m_stats, "dtlb"};
  stats::Group m_stlb_stats{m_stats, "stlb"};
  std::vector<std::unique_ptr<stats::Group>> m_size_groups;
  std::vector<std::unique_ptr<stats::Group>> m_rtl_groups;  // dtlb.rtl<i>: arrays with impl rtl
  std::vector<std::unique_ptr<stats::Counter>> m_level_counters;
  stats::Counter m_checks;
};

}  // namespace vmsim::mmu
