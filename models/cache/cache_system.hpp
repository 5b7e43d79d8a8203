// The cache hierarchy as a part of the system's object tree (system.caches): owns the functional
// Hierarchy that every core consults and publishes its counters as statistics; in sim.mode at it also
// owns the occupancy of each socket's LLC banks and home directory, where requests wait in SystemC time.
#pragma once

#include <functional>
#include <memory>
#include <systemc>
#include <vector>

#include "common/mode.hpp"
#include "common/stats.hpp"
#include "models/cache/bank_queue.hpp"
#include "models/cache/hierarchy.hpp"

namespace vmsim::cache {

class CacheSystem : public sc_core::sc_module {
 public:
  // core_socket[c]: socket of core c; home(pa): socket whose directory owns pa's line. mode At with
  // llc.bank_cycles (directory.cycles) > 0 models the occupancy of the LLC banks (directory banks) of each
  // socket, in core cycles of period_fs femtoseconds, and publishes its statistics; other modes have none.
  CacheSystem(const sc_core::sc_module_name& name, const HierarchyConfig& cfg, std::vector<uint32_t> core_socket,
              std::function<uint32_t(uint64_t pa)> home, SimMode mode = SimMode::Lt, uint64_t period_fs = 1);
  Hierarchy& hierarchy() { return m_hierarchy; }

  // Whether requests queue at the LLC banks / the home directories (sim.mode at and a nonzero occupancy).
  bool llc_banks_timed() const { return !m_llc_queues.empty(); }
  bool directory_timed() const { return !m_dir_queues.empty(); }
  // sim.mode at, from a SystemC thread: a request for the LLC bank of socket s holding line_pa, arriving
  // `delay` after the current SystemC time. Advances SystemC time to the arrival (delay becomes zero), then
  // waits while the bank serves the requests that arrived before it. Returns the time waited for the bank
  // (femtoseconds; 0 without LLC bank timing, without waiting or advancing anything).
  uint64_t wait_llc_bank(uint32_t s, uint64_t line_pa, sc_core::sc_time& delay);
  // The same for the directory bank holding line_pa at its home socket `home`.
  uint64_t wait_directory(uint32_t home, uint64_t line_pa, sc_core::sc_time& delay);
  // Counters of socket s's LLC banks / home directory (throws std::out_of_range if not timed).
  const BankQueue& llc_queue(uint32_t s) const { return m_llc_queues.at(s); }
  const BankQueue& directory_queue(uint32_t s) const { return m_dir_queues.at(s); }

 private:
  void add_level(stats::Group& parent, const char* name, Level level, uint32_t index);
  void add_queue(stats::Group& parent, const char* name, const char* what, std::vector<BankQueue>& queues,
                 uint32_t s);
  static uint64_t wait_bank(BankQueue& q, uint64_t line, sc_core::sc_time& delay);
  Hierarchy m_hierarchy;
  uint64_t m_period_fs;
  std::vector<BankQueue> m_llc_queues;  // per socket (sim.mode at with llc.bank_cycles > 0)
  std::vector<BankQueue> m_dir_queues;  // per socket (sim.mode at, several sockets, directory.cycles > 0)
  stats::Group m_stats{*this};
  std::vector<std::unique_ptr<stats::Group>> m_groups;
  std::vector<std::unique_ptr<stats::Stat>> m_counters;
};

}  // namespace vmsim::cache
