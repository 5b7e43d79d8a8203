// Statistics of the cache hierarchy: per core L1I, L1D and L2, per socket LLC, and where PTE reads were served.
#include "models/cache/cache_system.hpp"

#include <string>

namespace vmsim::cache {

CacheSystem::CacheSystem(const sc_core::sc_module_name& name, const HierarchyConfig& cfg,
                         std::vector<uint32_t> core_socket, std::function<uint32_t(uint64_t pa)> home)
    : sc_core::sc_module(name), m_hierarchy(cfg, std::move(core_socket), std::move(home)) {
  for (uint32_t c = 0; c < m_hierarchy.num_cores(); ++c) {
    m_groups.push_back(std::make_unique<stats::Group>(m_stats, "core" + std::to_string(c)));
    stats::Group& g = *m_groups.back();
    if (cfg.l1i.present) add_level(g, "l1i", Level::L1i, c);
    if (cfg.l1d.present) add_level(g, "l1d", Level::L1d, c);
    if (cfg.l2.present) add_level(g, "l2", Level::L2, c);
  }
  if (cfg.llc.present) {
    for (uint32_t s = 0; s < m_hierarchy.num_sockets(); ++s) {
      m_groups.push_back(std::make_unique<stats::Group>(m_stats, "socket" + std::to_string(s)));
      add_level(*m_groups.back(), "llc", Level::Llc, s);
    }
  }
  m_groups.push_back(std::make_unique<stats::Group>(m_stats, "pte_reads"));
  stats::Group& walk = *m_groups.back();
  for (unsigned lvl = 1; lvl <= kMaxWalkLevel; ++lvl) {
    m_groups.push_back(std::make_unique<stats::Group>(walk, "level" + std::to_string(lvl)));
    for (size_t s = 0; s < kNumServed; ++s) {
      const Served served = static_cast<Served>(s);
      m_counters.push_back(std::make_unique<stats::Counter>(
          *m_groups.back(), to_string(served), "count",
          "PTE reads of this walk level (1 = PTE, 4 = PML4E) served by " + std::string(to_string(served)),
          [this, lvl, served] { return m_hierarchy.walk_served(lvl, served); }));
    }
  }
}

void CacheSystem::add_level(stats::Group& parent, const char* name, Level level, uint32_t index) {
  m_groups.push_back(std::make_unique<stats::Group>(parent, name));
  stats::Group& g = *m_groups.back();
  const Hierarchy* h = &m_hierarchy;
  auto counter = [&](stats::Group& grp, const std::string& n, const std::string& desc,
                     std::function<uint64_t(const LevelStats&)> fn) {
    m_counters.push_back(std::make_unique<stats::Counter>(grp, n, "count", desc,
                                                          [h, level, index, fn] { return fn(h->stats(level, index)); }));
  };
  counter(g, "accesses", "Requests arriving at this cache (every class)", [](const LevelStats& s) { return s.total_accesses(); });
  counter(g, "hits", "Requests that found the line with enough permission", [](const LevelStats& s) { return s.total_hits(); });
  counter(g, "misses", "Requests that did not", [](const LevelStats& s) { return s.total_misses(); });
  for (size_t c = 0; c < kNumAccessClasses; ++c) {
    const AccessClass cls = static_cast<AccessClass>(c);
    m_groups.push_back(std::make_unique<stats::Group>(g, to_string(cls)));
    stats::Group& cg = *m_groups.back();
    const std::string what = std::string(to_string(cls)) + " requests";
    counter(cg, "accesses", what + " arriving here", [c](const LevelStats& s) { return s.accesses[c]; });
    counter(cg, "hits", what + " that hit", [c](const LevelStats& s) { return s.hits[c]; });
    counter(cg, "misses", what + " that missed", [c](const LevelStats& s) { return s.misses[c]; });
  }
  counter(g, "upgrades", "Write requests finding only a shared copy here", [](const LevelStats& s) { return s.upgrades; });
  counter(g, "writebacks", "Dirty lines sent down (to the next level or memory)", [](const LevelStats& s) { return s.writebacks; });
  counter(g, "evictions", "Valid lines displaced by fills", [](const LevelStats& s) { return s.evictions; });
  counter(g, "invalidations", "Copies removed by coherence (other cores' writes, DMA writes)",
          [](const LevelStats& s) { return s.invalidations; });
  counter(g, "back_invalidations", "Copies removed to keep an inclusive level inclusive",
          [](const LevelStats& s) { return s.back_invalidations; });
  if (level == Level::Llc) {
    counter(g, "c2c_transfers", "Cache-to-cache transfers inside the socket", [](const LevelStats& s) { return s.c2c_transfers; });
    counter(g, "remote_transfers", "Lines supplied by another socket's caches",
            [](const LevelStats& s) { return s.remote_transfers; });
  }
  counter(g, "prefetch_issued", "Prefetches this level's prefetcher issued", [](const LevelStats& s) { return s.prefetch_issued; });
  counter(g, "prefetch_useful", "Prefetched lines hit by a demand access before leaving",
          [](const LevelStats& s) { return s.prefetch_useful; });
  counter(g, "prefetch_late", "Prefetches a demand access caught before their fill completed",
          [](const LevelStats& s) { return s.prefetch_late; });
  counter(g, "prefetch_useless", "Prefetched lines evicted or invalidated unused",
          [](const LevelStats& s) { return s.prefetch_useless; });
}

}  // namespace vmsim::cache
