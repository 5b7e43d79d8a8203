// Hardware page walker: TLM shell around the PageWalk stepping core. Every PTE read is an 8-byte TLM
// read to physical memory (timed b_transport in the lt mode, transport_dbg in the functional mode).
#pragma once

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "models/common/config.hpp"
#include "models/common/stats.hpp"
#include "models/mmu/page_walk.hpp"

namespace vmsim::mmu {

struct WalkerConfig {
  uint64_t levels = 4;
  uint64_t step_latency = 1;  // core cycles per level, on top of the memory read

  template <class V>
  void visit(V& v) {
    v("levels", levels, "levels", "Paging levels: 4 (48-bit virtual addresses); 5-level walks arrive with issue C");
    v("step_latency", step_latency, "core cycles", "Walker cycles per level besides the PTE read itself");
  }
  void validate(const std::string& path) const;
};

class Walker : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<Walker> mem;

  Walker(const sc_core::sc_module_name& name, const WalkerConfig& cfg, sc_core::sc_time core_period, bool timed);

  // Walks the tables under root for req. In the timed mode every PTE read adds its latency to delay.
  WalkResult walk(PhysAddr root, const WalkRequest& req, sc_core::sc_time& delay);
  // Reads 8 bytes of physical memory without timing (for the golden checker).
  uint64_t debug_read64(uint64_t pa);
  unsigned levels() const { return static_cast<unsigned>(m_cfg.levels); }

 private:
  uint64_t read_pte(PhysAddr pa, sc_core::sc_time& delay);

  WalkerConfig m_cfg;
  sc_core::sc_time m_core_period;
  sc_core::sc_time m_step;
  bool m_timed;
  tlm::tlm_generic_payload m_trans;
  tlm::tlm_generic_payload m_dbg_trans;  // golden-checker reads
  uint64_t m_buf = 0;

  stats::Group m_stats{*this};
  stats::Scalar m_walks{m_stats, "walks", "count", "Page walks started"};
  stats::Scalar m_pte_reads{m_stats, "pte_reads", "count", "PTE reads issued to memory"};
  stats::Scalar m_faults{m_stats, "faults", "count", "Walks that ended in a page fault"};
  stats::Histogram m_latency{m_stats, "latency", "core cycles", "Walk latency", 25, 40};
  stats::Formula m_reads_per_walk{m_stats, "pte_reads_per_walk", "reads", "Average PTE reads per walk", [this] {
    return m_walks.value() ? static_cast<double>(m_pte_reads.value()) / static_cast<double>(m_walks.value()) : 0.0;
  }};
};

}  // namespace vmsim::mmu
