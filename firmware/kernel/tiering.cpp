// Memory tiering: the tier map (demotion targets, promotion nodes, fallback order by distance), the promotion
// decisions (hint-fault latency, rate limit) and the statistics system.os.tiering.
#include "firmware/kernel/tiering.hpp"

#include <algorithm>

namespace vmsim::fw {

std::vector<std::optional<NodeId>> demotion_targets(const std::vector<bool>& slow,
                                                    const std::vector<std::vector<uint64_t>>& distance) {
  std::vector<std::optional<NodeId>> t(slow.size());
  for (NodeId n = 0; n < slow.size(); ++n) {
    if (slow[n]) continue;
    for (NodeId m = 0; m < slow.size(); ++m) {
      if (slow[m] && (!t[n] || distance.at(n).at(m) < distance.at(n).at(*t[n]))) t[n] = m;
    }
  }
  return t;
}

std::vector<NodeId> fallback_order(NodeId node, const std::vector<std::vector<uint64_t>>& distance) {
  std::vector<NodeId> order;
  for (NodeId m = 0; m < distance.size(); ++m) {
    if (m != node) order.push_back(m);
  }
  const std::vector<uint64_t>& row = distance.at(node);
  std::stable_sort(order.begin(), order.end(), [&](NodeId a, NodeId b) { return row.at(a) < row.at(b); });
  return order;
}

Tiering::Tiering(stats::Group& parent, const KernelConfig& cfg)
    : m_cfg(cfg),
      m_slow(cfg.node_slow),
      m_target(demotion_targets(cfg.node_slow, cfg.node_distance)),
      m_group(parent, "tiering"),
      m_demote_cycles(m_group, "demote_cycles", "core cycles",
                      "Time reclaim spent demoting pages: frame allocation on the target, the 4 KiB copy through the "
                      "HAL, the PTE rewrites and invalidations, freeing the old frame (0 in the functional mode)",
                      [this] {
                        return static_cast<uint64_t>(static_cast<long double>(m_demote_ps) *
                                                     static_cast<long double>(m_cfg.core_hz) / 1e12L);
                      }),
      m_promote_cycles(m_group, "promote_cycles", "core cycles",
                       "Time the faulting cores spent promoting pages (allocation, copy, PTE write, free; 0 in the "
                       "functional mode)",
                       [this] {
                         return static_cast<uint64_t>(static_cast<long double>(m_promote_ps) *
                                                      static_cast<long double>(m_cfg.core_hz) / 1e12L);
                       }) {
  const size_t nodes = m_slow.size();
  for (NodeId n = 0; n < nodes; ++n) {
    NodeId to = n;
    if (m_slow[n]) {
      const std::vector<NodeId> order = fallback_order(n, m_cfg.node_distance);
      auto fast = std::find_if(order.begin(), order.end(), [&](NodeId m) { return !m_slow[m]; });
      to = fast == order.end() ? n : *fast;
    }
    m_promote_to.push_back(to);
  }
}

bool Tiering::hot(Pfn pfn, uint64_t now_ps) {
  ++m_candidates;
  auto it = m_scan_ps.find(pfn.value());
  // A hint entry the scan made records its time; one without (made before the page was demoted here) counts
  // from time 0, as Linux's folio without an access time.
  const uint64_t scanned = it == m_scan_ps.end() ? 0 : it->second;
  const uint64_t threshold_ps = m_cfg.tiering.hot_threshold.fs / 1000;
  if (now_ps - std::min(now_ps, scanned) < threshold_ps) return true;
  ++m_not_hot;
  return false;
}

bool Tiering::promote_rate_allows(uint64_t now_ps) {
  if (m_rate.allows(m_cfg.tiering.promote_rate_limit_mbps, now_ps)) return true;
  ++m_rate_limited;
  return false;
}

}  // namespace vmsim::fw
