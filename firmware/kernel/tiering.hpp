// Memory tiering (firmware.tiering), as Linux's memory tiers do it: every node is fast or slow memory; each
// fast node has a demotion target (the nearest slow node), to which reclaim migrates its cold pages instead of
// evicting them; slow-tier pages that the NUMA-balancing scan hinted and that are touched again soon after
// (hint-fault latency below hot_threshold) are promoted to the toucher's fast node, within a rate limit. This
// class holds the tier map, the promotion decisions and the statistics (system.os.tiering); the page moves
// themselves are the swapper's (demotion, with the reverse map) and the NUMA balancer's (promotion).
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "firmware/kernel/kernel_config.hpp"
#include "firmware/kernel/migration_rate.hpp"
#include "firmware/mm/zones.hpp"
#include "common/stats.hpp"

namespace vmsim::fw {

// For each node, its demotion target: for a fast node (slow[n] false) the nearest slow node by distance[n]
// (ties: the lower id); nullopt for slow nodes and when no node is slow. distance[n][m] is the distance
// from node n to node m as firmware reports it.
std::vector<std::optional<NodeId>> demotion_targets(const std::vector<bool>& slow,
                                                    const std::vector<std::vector<uint64_t>>& distance);
// The other nodes in the order an allocation preferring `node` falls back over them: nearest first by
// distance[node], ties by id (Linux's zonelist order).
std::vector<NodeId> fallback_order(NodeId node, const std::vector<std::vector<uint64_t>>& distance);

class Tiering {
 public:
  // Creates system.os.tiering under parent. cfg.node_slow and cfg.node_distance describe the nodes.
  Tiering(stats::Group& parent, const KernelConfig& cfg);

  bool demotion() const { return m_cfg.tiering.demotion; }
  bool promotion() const { return m_cfg.tiering.promotion; }
  bool slow(NodeId n) const { return m_slow.at(n); }
  // Where reclaim on node n demotes to (nullopt: n is slow, or demotion is off).
  std::optional<NodeId> demotion_target(NodeId n) const {
    return m_cfg.tiering.demotion ? m_target.at(n) : std::nullopt;
  }
  // The fast node a page touched from a core of node `core_node` is promoted to: that node if it is fast,
  // else the fast node nearest to it (a core on slow memory promotes to the nearest fast memory).
  NodeId promotion_node(NodeId core_node) const { return m_promote_to.at(core_node); }

  // The scan hinted the slow-tier page in `pfn` at now_ps (its hint-fault latency counts from here).
  void note_scan(Pfn pfn, uint64_t now_ps) { m_scan_ps[pfn.value()] = now_ps; }
  // The frame was freed or moved: its scan time goes.
  void forget(Pfn pfn) {
    if (!m_scan_ps.empty()) m_scan_ps.erase(pfn.value());
  }
  // A hint fault at now_ps on the slow-tier page in pfn: true if it came less than hot_threshold after the
  // scan that hinted the page (counts a candidate, and a not-hot one).
  bool hot(Pfn pfn, uint64_t now_ps);
  // True if one more page may be promoted in the 100 ms window of now_ps (and books it); else counts it.
  bool promote_rate_allows(uint64_t now_ps);

  // Counters the page movers add to.
  void demoted(uint64_t ps) {
    ++m_demoted;
    m_demote_ps += ps;
  }
  void demote_failed() { ++m_demote_failed; }
  void promoted(uint64_t ps) {
    ++m_promoted;
    m_promote_ps += ps;
  }
  void watermark_refused() { ++m_wmark_refused; }
  void promote_refused() { ++m_refused; }
  void promote_failed() { ++m_promote_failed; }

 private:
  const KernelConfig& m_cfg;
  std::vector<bool> m_slow;
  std::vector<std::optional<NodeId>> m_target;
  std::vector<NodeId> m_promote_to;
  std::unordered_map<uint64_t, uint64_t> m_scan_ps;  // hinted slow-tier frame -> time of its scan
  MigrationRateWindow m_rate;
  uint64_t m_demote_ps = 0;
  uint64_t m_promote_ps = 0;

  stats::Group m_group;
  stats::Scalar m_demoted{m_group, "pages_demoted", "pages",
                          "Pages reclaim migrated from a fast node to its demotion target instead of evicting them"};
  stats::Scalar m_demote_failed{m_group, "demote_failed", "pages",
                                "Reclaim victims of a fast node that could not be demoted (target at its min "
                                "watermark, or the page in the swap cache); they went the ordinary way (swap or stay)"};
  stats::Scalar m_candidates{m_group, "promote_candidates", "count",
                             "Hint faults on slow-tier pages from a core with a fast node to promote to"};
  stats::Scalar m_not_hot{m_group, "promote_not_hot", "count",
                          "Candidates not promoted because the hint fault came hot_threshold or more after the scan"};
  stats::Scalar m_rate_limited{m_group, "promote_rate_limited", "count",
                               "Hot candidates not promoted because promote_rate_limit_mbps was used up"};
  stats::Scalar m_wmark_refused{m_group, "promote_watermark_refused", "count",
                                "Hot candidates not promoted because the fast node was at or below its high watermark "
                                "(its kswapd is woken to demote down to the promotion watermark)"};
  stats::Scalar m_refused{m_group, "promote_refused", "count",
                          "Hot candidates not promoted: the frame is shared (fork, several mappings) or in the swap cache"};
  stats::Scalar m_promote_failed{m_group, "promote_failed", "count",
                                 "Hot candidates whose frame allocation on the fast node failed"};
  stats::Scalar m_promoted{m_group, "pages_promoted", "pages", "Slow-tier pages migrated to a fast node on a hint fault"};
  stats::Counter m_demote_cycles;
  stats::Counter m_promote_cycles;
};

}  // namespace vmsim::fw
