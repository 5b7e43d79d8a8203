// The cache hierarchy as a part of the system's object tree (system.caches): owns the functional
// Hierarchy that every core consults and publishes its counters as statistics.
#pragma once

#include <functional>
#include <memory>
#include <systemc>
#include <vector>

#include "common/stats.hpp"
#include "models/cache/hierarchy.hpp"

namespace vmsim::cache {

class CacheSystem : public sc_core::sc_module {
 public:
  // core_socket[c]: socket of core c; home(pa): socket whose directory owns pa's line.
  CacheSystem(const sc_core::sc_module_name& name, const HierarchyConfig& cfg, std::vector<uint32_t> core_socket,
              std::function<uint32_t(uint64_t pa)> home);
  Hierarchy& hierarchy() { return m_hierarchy; }

 private:
  void add_level(stats::Group& parent, const char* name, Level level, uint32_t index);
  Hierarchy m_hierarchy;
  stats::Group m_stats{*this};
  std::vector<std::unique_ptr<stats::Group>> m_groups;
  std::vector<std::unique_ptr<stats::Stat>> m_counters;
};

}  // namespace vmsim::cache
