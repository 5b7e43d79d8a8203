// Statistics of the cache hierarchy: per core L1I, L1D and L2, per socket LLC, and where PTE reads were
// served; in sim.mode at the queues of each socket's LLC banks and home directory.
#include "models/cache/cache_system.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace vmsim::cache {

namespace {

// A maximum kept by a functional core: dumped as it is; the warm-up reset restarts it from zero.
class Peak : public stats::Stat {
 public:
  Peak(stats::Group& group, std::string name, std::string unit, std::string description,
       std::function<double()> value, std::function<void()> restart)
      : stats::Stat(group, std::move(name), std::move(unit), std::move(description)),
        m_value(std::move(value)),
        m_restart(std::move(restart)) {}
  void reset() override { m_restart(); }
  void dump(const std::string& prefix, std::vector<stats::Record>& out) const override {
    out.push_back({prefix + name(), unit(), description(), m_value(), true});
  }

 private:
  std::function<double()> m_value;
  std::function<void()> m_restart;
};

}  // namespace

CacheSystem::CacheSystem(const sc_core::sc_module_name& name, const HierarchyConfig& cfg,
                         std::vector<uint32_t> core_socket, std::function<uint32_t(uint64_t pa)> home, SimMode mode,
                         uint64_t period_fs)
    : sc_core::sc_module(name), m_hierarchy(cfg, std::move(core_socket), std::move(home)), m_period_fs(period_fs) {
  if (m_period_fs == 0) throw std::invalid_argument("cache system: core clock period 0");
  const uint32_t sockets = m_hierarchy.num_sockets();
  if (mode == SimMode::At && cfg.llc.present && cfg.llc.bank_cycles != 0) {
    for (uint32_t s = 0; s < sockets; ++s) m_llc_queues.emplace_back(cfg.llc.banks, cfg.llc.bank_cycles * m_period_fs);
  }
  if (mode == SimMode::At && sockets > 1 && cfg.directory.cycles != 0) {
    for (uint32_t s = 0; s < sockets; ++s) m_dir_queues.emplace_back(cfg.directory.banks, cfg.directory.cycles * m_period_fs);
  }
  for (uint32_t c = 0; c < m_hierarchy.num_cores(); ++c) {
    m_groups.push_back(std::make_unique<stats::Group>(m_stats, "core" + std::to_string(c)));
    stats::Group& g = *m_groups.back();
    if (cfg.l1i.present) add_level(g, "l1i", Level::L1i, c);
    if (cfg.l1d.present) add_level(g, "l1d", Level::L1d, c);
    if (cfg.l2.present) add_level(g, "l2", Level::L2, c);
  }
  if (cfg.llc.present || !m_dir_queues.empty()) {
    for (uint32_t s = 0; s < sockets; ++s) {
      m_groups.push_back(std::make_unique<stats::Group>(m_stats, "socket" + std::to_string(s)));
      stats::Group& g = *m_groups.back();
      if (cfg.llc.present) add_level(g, "llc", Level::Llc, s);
      if (!m_llc_queues.empty()) add_queue(g, "llc_banks", "the socket's LLC banks", m_llc_queues, s);
      if (!m_dir_queues.empty()) add_queue(g, "directory", "the directory banks of the lines homed at the socket", m_dir_queues, s);
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

uint64_t CacheSystem::wait_bank(BankQueue& q, uint64_t line, sc_core::sc_time& delay) {
  if (delay != sc_core::SC_ZERO_TIME) {
    sc_core::wait(delay);
    delay = sc_core::SC_ZERO_TIME;
  }
  const uint64_t now = sc_core::sc_time_stamp().value();
  const uint64_t start = q.request(q.bank_of(line), now);
  if (start > now) sc_core::wait(sc_core::sc_time::from_value(start - now));
  return start - now;
}

uint64_t CacheSystem::wait_llc_bank(uint32_t s, uint64_t line_pa, sc_core::sc_time& delay) {
  if (m_llc_queues.empty()) return 0;
  return wait_bank(m_llc_queues.at(s), line_pa / m_hierarchy.line_bytes(), delay);
}

uint64_t CacheSystem::wait_directory(uint32_t home, uint64_t line_pa, sc_core::sc_time& delay) {
  if (m_dir_queues.empty()) return 0;
  return wait_bank(m_dir_queues.at(home), line_pa / m_hierarchy.line_bytes(), delay);
}

void CacheSystem::add_queue(stats::Group& parent, const char* name, const char* what,
                            std::vector<BankQueue>& queues, uint32_t s) {
  m_groups.push_back(std::make_unique<stats::Group>(parent, name));
  stats::Group& g = *m_groups.back();
  BankQueue* q = &queues[s];
  const std::string whose = what;
  const double cycle = 1.0 / static_cast<double>(m_period_fs);
  const uint64_t period = m_period_fs;
  auto counter = [&](const char* n, const char* unit, const std::string& desc, std::function<uint64_t()> fn) {
    m_counters.push_back(std::make_unique<stats::Counter>(g, n, unit, desc, std::move(fn)));
  };
  auto ratio = [&](const char* n, const char* unit, const std::string& desc, std::function<double()> num,
                   double scale) {
    m_counters.push_back(std::make_unique<stats::Ratio>(
        g, n, unit, desc, std::move(num), [q] { return static_cast<double>(q->stats().accesses); }, scale));
  };
  auto peak = [&](const char* n, const char* unit, const std::string& desc, std::function<double()> fn) {
    m_counters.push_back(std::make_unique<Peak>(g, n, unit, desc, std::move(fn), [q] { q->restart_peaks(); }));
  };
  counter("accesses", "count", "Requests to " + whose, [q] { return q->stats().accesses; });
  counter("waits", "count", "Requests to " + whose + " that found their bank busy", [q] { return q->stats().waits; });
  counter("wait_cycles", "core cycles", "Cycles requests waited for " + whose,
          [q, period] { return q->stats().wait_time / period; });
  counter("busy_cycles", "core cycles", "Cycles " + whose + " were busy, summed over the banks",
          [q, period] { return q->stats().busy_time / period; });
  ratio("avg_wait", "core cycles", "Cycles a request waited for " + whose + " (average over all requests)",
        [q] { return static_cast<double>(q->stats().wait_time); }, cycle);
  ratio("avg_depth", "requests",
        "Requests a request found in its bank of " + whose + " on arrival, waiting or in service (average)",
        [q] { return static_cast<double>(q->stats().depth_sum); }, 1.0);
  peak("max_wait", "core cycles", "The longest wait of one request for " + whose,
       [q, period] { return static_cast<double>(q->stats().max_wait / period); });
  peak("max_depth", "requests", "The most requests one request found in its bank of " + whose + " on arrival",
       [q] { return static_cast<double>(q->stats().max_depth); });
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
