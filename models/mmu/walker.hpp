// Hardware page walker: TLM shell around the PageWalk stepping core and the page-walk caches. Every PTE
// read is an 8-byte TLM read to physical memory (timed b_transport in the lt mode, transport_dbg in the
// functional mode); Accessed/Dirty updates are written back with an 8-byte write right after the read
// (the read and write of a locked read-modify-write, as x86 performs them).
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "common/config.hpp"
#include "common/stats.hpp"
#include "models/mmu/nested_walk.hpp"
#include "models/mmu/page_walk.hpp"
#include "models/mmu/pwc.hpp"

namespace vmsim::mmu {

struct PwcConfig {
  uint64_t pml5e = 2;
  uint64_t pml4e = 4;
  uint64_t pdpte = 8;
  uint64_t pde = 32;
  uint64_t latency = 1;  // core cycles per probe

  template <class V>
  void visit(V& v) {
    v("pml5e", pml5e, "entries", "PML5E cache entries (5-level paging only); 0 disables it");
    v("pml4e", pml4e, "entries", "PML4E cache entries; 0 disables it");
    v("pdpte", pdpte, "entries", "PDPTE cache entries; 0 disables it");
    v("pde", pde, "entries", "PDE cache entries; 0 disables it");
    v("latency", latency, "core cycles", "Cycles of one probe of the page-walk caches (all levels in parallel)");
  }
};

// One PTE read of a walk, for the event trace (sim.event_trace).
struct PteReadRecord {
  uint8_t level = 0;             // walk level of the entry (1 = page table ... 5 = PML5; 0 = a hashed-table entry)
  uint64_t pa = 0;               // physical address of the entry
  const char* served = nullptr;  // where a cache hierarchy served it (set by the cached path); nullptr: memory
};

// Page-table organisation the walker reads.
enum class PageTableFormat : uint8_t { Radix, Hashed };

struct WalkerConfig {
  PageTableFormat format = PageTableFormat::Radix;
  uint64_t hash_buckets = 65536;
  uint64_t levels = 4;
  uint64_t step_latency = 1;  // core cycles per level, on top of the memory read
  uint64_t max_walks = 2;
  bool ad_updates = true;
  PwcConfig pwc;

  template <class V>
  void visit(V& v) {
    v("format", format, "",
      "Page-table organisation: radix (x86-64 4- or 5-level tables per process) or hashed (one global hashed "
      "page table keyed by PCID and virtual page, with collision chains; 4 KiB pages only; see "
      "common/hashed_pt.hpp)");
    v("hash_buckets", hash_buckets, "entries",
      "format hashed: anchor entries of the hashed table (a power of two, 32 bytes each, reserved by the "
      "firmware above firmware.reserved_low)");
    v("levels", levels, "levels",
      "Paging levels: 4 (48-bit virtual addresses) or 5 (LA57, 57-bit); with format hashed, the canonical "
      "address width");
    v("step_latency", step_latency, "core cycles", "Walker cycles per level besides the PTE read itself");
    v("max_walks", max_walks, "walks",
      "Walks in flight at once (at mode, with system.core.outstanding > 1); a miss finding them all busy "
      "waits, a miss to a page already being walked waits for that walk instead of starting another");
    v("ad_updates", ad_updates, "",
      "Set Accessed in every entry used and Dirty in the leaf of a write, writing the entry back to memory");
    v.section("pwc", pwc, "Page-walk caches (paging-structure caches) for the upper levels");
  }
  void validate(const std::string& path) const;
};

class Walker : public sc_core::sc_module {
 public:
  // Page walks started so far.
  uint64_t walks() const { return m_walks.value(); }
  // Femtoseconds of walks for supervisor accesses (probes, steps, memory): kept out of walker.time.*, so
  // that split stays the workload's; the MMU reports it in mmu.kernel.cycles.
  uint64_t time_supervisor() const { return m_fs_supervisor; }
  // Walks and PTE reads for supervisor accesses so far (included in walks() and walker.pte_reads).
  uint64_t supervisor_walks() const { return m_supervisor_walks; }
  uint64_t supervisor_pte_reads() const { return m_supervisor_pte_reads; }
  tlm_utils::simple_initiator_socket<Walker> mem;

  // waits: the at mode, where memory transactions wait in SystemC time, so several walks can be in
  // flight (from several threads of the core) and a walk can wait for a free walker.
  Walker(const sc_core::sc_module_name& name, const WalkerConfig& cfg, sc_core::sc_time core_period, bool timed,
         bool waits = false);

  // One walk in flight: its own transactions and the page it walks.
  struct Slot {
    tlm::tlm_generic_payload trans;        // 8-byte PTE reads and write-backs
    uint64_t buf = 0;
    tlm::tlm_generic_payload entry_trans;  // hashed format: 32-byte entries
    std::array<uint64_t, 4> entry{};
    bool busy = false;
    uint64_t vpn = 0;  // 4 KiB virtual page being walked
    uint16_t asid = 0;
    bool supervisor = false;  // the walk serves a supervisor access: its time goes to time_supervisor()
    sc_core::sc_event done;  // notified by release()
  };
  // The walk in flight for (vpn, asid), or nullptr.
  Slot* in_flight(uint64_t vpn, uint16_t asid);
  // A free walker for (vpn, asid); in the at mode waits for one when all max_walks are busy.
  Slot& acquire(uint64_t vpn, uint16_t asid);
  // Ends the walk (after its result was used, e.g. filled into the TLB): wakes merged misses.
  void release(Slot& s);
  // Walks the tables under root for req (PCID pcid tags page-walk-cache entries) on an acquired slot.
  // In the timed mode every PTE read and write-back adds its latency to delay. Format hashed: root is
  // the table base and pcid the address-space id of the lookup.
  WalkResult walk(Slot& slot, PhysAddr root, uint16_t pcid, const WalkRequest& req, sc_core::sc_time& delay);
  // acquire + walk + release.
  WalkResult walk(PhysAddr root, uint16_t pcid, const WalkRequest& req, sc_core::sc_time& delay);
  bool hashed() const { return m_cfg.format == PageTableFormat::Hashed; }
  // Invalidations of the page-walk caches.
  void flush_pcid(uint16_t pcid);
  void flush_all();
  // Reads 8 bytes of physical memory without timing (for the golden checker).
  uint64_t debug_read64(uint64_t pa);
  // The walker's memory accesses through a cache hierarchy, when the system has one (the core sets it): called
  // instead of the socket for every PTE read and A/D write with the transaction (command, address, data set),
  // the walk level of the entry (1..5; 0 for hashed-table entries) and the annotation, to which it adds the
  // access's time; it moves the data and sets the response status.
  using CachedPath = std::function<void(tlm::tlm_generic_payload& t, unsigned level, sc_core::sc_time& delay)>;
  void set_cached_path(CachedPath path) { m_cached = std::move(path); }
  unsigned levels() const { return static_cast<unsigned>(m_cfg.levels); }
  // The event trace: while set, every PTE read is appended to *log before it is issued (nullptr: off).
  void set_read_log(std::vector<PteReadRecord>* log) { m_read_log = log; }

  // Nested paging (walker_nested.cpp). Creates the nested caches with the given sizes and the statistics
  // group walker.nested (first call only; guest mode is what creates them, so native runs keep their
  // statistics).
  void enable_nested(const NestedCacheSizes& sizes);
  bool nested_enabled() const { return m_nested != nullptr; }
  // The nested caches (enable_nested first).
  NestedCaches& nested_caches() { return *m_nested; }
  // The two-dimensional walk of req under ctx on an acquired slot: every reference an 8-byte TLM read
  // (timed as PTE reads are), every A/D update a write. enable_nested first.
  NestedResult walk_nested(Slot& slot, const NestedContext& ctx, const WalkRequest& req, sc_core::sc_time& delay);

 private:
  uint64_t read_pte(Slot& s, PhysAddr pa, sc_core::sc_time& delay);
  void write_pte(Slot& s, PhysAddr pa, uint64_t value, sc_core::sc_time& delay);
  // fs_memory: where the time of the access goes (timed modes).
  void transport(tlm::tlm_generic_payload& t, tlm::tlm_command cmd, PhysAddr pa, sc_core::sc_time& delay,
                 uint64_t& fs_memory);
  WalkResult walk_hashed(Slot& s, PhysAddr base, uint16_t asid, const WalkRequest& req, sc_core::sc_time& delay);
  void count_fault(const WalkResult& r);
  struct NestedStats;  // walker_nested.cpp
  struct NestedStatsDeleter {
    void operator()(NestedStats* s) const;
  };

  WalkerConfig m_cfg;
  sc_core::sc_time m_core_period;
  sc_core::sc_time m_step;
  sc_core::sc_time m_pwc_time;
  bool m_timed;
  bool m_waits;
  std::vector<std::unique_ptr<Slot>> m_slots;
  sc_core::sc_event m_slot_freed;
  uint64_t m_busy = 0;
  tlm::tlm_generic_payload m_dbg_trans;  // golden-checker reads
  uint64_t m_fs_pwc = 0;     // time attribution, femtoseconds: page-walk-cache probes
  uint64_t m_fs_steps = 0;   // walker cycles per level
  uint64_t m_fs_memory = 0;  // PTE reads and A/D write-backs in the memory system
  uint64_t m_fs_supervisor = 0;  // all three for walks of supervisor accesses (kept out of the above)
  uint64_t m_supervisor_walks = 0;
  uint64_t m_supervisor_pte_reads = 0;
  CachedPath m_cached;       // empty: no caches, PTE accesses go to the socket
  unsigned m_level = 0;      // walk level of the entry being read or written (for m_cached)
  std::vector<PteReadRecord>* m_read_log = nullptr;
  uint64_t m_period_fs;
  std::vector<std::unique_ptr<PageWalkCache>> m_pwc;  // index = level - 2 (PDE, PDPTE, PML4E, PML5E)
  std::unique_ptr<NestedCaches> m_nested;             // guest mode only
  std::unique_ptr<NestedStats, NestedStatsDeleter> m_nested_stats;

  stats::Group m_stats{*this};
  stats::Scalar m_walks{m_stats, "walks", "count", "Page walks started"};
  stats::Scalar m_pte_reads{m_stats, "pte_reads", "count", "PTE reads issued to memory"};
  stats::Scalar m_ad_updates{m_stats, "ad_updates", "count", "Entries written back to set Accessed or Dirty"};
  uint64_t m_peak_value = 0;
  stats::Formula m_peak{m_stats, "peak_in_flight", "walks", "Most walks in flight at once over the whole run",
                        [this] { return static_cast<double>(m_peak_value); }, true};
  stats::Scalar m_slot_waits{m_stats, "busy_waits", "count", "Walks that waited for a free walker (all max_walks busy)"};
  stats::Scalar m_faults{m_stats, "faults", "count", "Walks that ended in a page fault"};
  stats::Group m_fault_stats{m_stats, "fault"};
  stats::Scalar m_f_not_present{m_fault_stats, "not_present", "count", "Walks that found a non-present entry"};
  stats::Scalar m_f_protection{m_fault_stats, "protection", "count",
                               "Walks whose leaf forbids the access (write, user or NX)"};
  stats::Scalar m_f_reserved{m_fault_stats, "reserved", "count", "Walks that found a reserved bit set"};
  stats::Scalar m_f_noncanonical{m_fault_stats, "noncanonical", "count", "Walks of non-canonical addresses"};
  stats::Histogram m_latency{m_stats, "latency", "core cycles", "Walk latency", 25, 40};
  stats::Formula m_reads_per_walk{m_stats, "pte_reads_per_walk", "reads", "Average PTE reads per walk", [this] {
    return m_walks.value() ? static_cast<double>(m_pte_reads.value()) / static_cast<double>(m_walks.value()) : 0.0;
  }};
  stats::Group m_time_stats{m_stats, "time"};
  stats::Counter m_t_pwc{m_time_stats, "pwc", "core cycles", "Cycles probing the page-walk caches",
                         [this] { return m_fs_pwc / m_period_fs; }};
  stats::Counter m_t_steps{m_time_stats, "steps", "core cycles", "Walker cycles per level besides the memory accesses",
                           [this] { return m_fs_steps / m_period_fs; }};
  stats::Counter m_t_memory{m_time_stats, "memory", "core cycles",
                            "Cycles in the memory system for PTE reads and Accessed/Dirty write-backs",
                            [this] { return m_fs_memory / m_period_fs; }};
  stats::Group m_pwc_stats{m_stats, "pwc"};
  std::array<std::unique_ptr<stats::Scalar>, 4> m_pwc_hits;  // per level 2..5
  stats::Scalar m_pwc_misses{m_pwc_stats, "misses", "count", "Walks that found no page-walk-cache entry"};
};

}  // namespace vmsim::mmu

template <>
struct vmsim::config::EnumNames<vmsim::mmu::PageTableFormat> {
  static const std::vector<std::pair<vmsim::mmu::PageTableFormat, const char*>>& table() {
    static const std::vector<std::pair<vmsim::mmu::PageTableFormat, const char*>> t = {
        {vmsim::mmu::PageTableFormat::Radix, "radix"}, {vmsim::mmu::PageTableFormat::Hashed, "hashed"}};
    return t;
  }
};
