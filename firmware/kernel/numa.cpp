// The kernel's NUMA placement (fw::Numa): the node of every user frame by the area's or the process's
// memory policy, direct reclaim and kswapd wake-ups on the way (with swap), per-node placement statistics.
#include "firmware/kernel/numa.hpp"

#include <algorithm>

namespace vmsim::fw {

Numa::Numa(const KernelCosts& costs, const std::vector<NodeRange>& nodes, const std::vector<NodeId>& core_node,
           PhysicalMemoryManager& pmm, Swapper& swapper, const std::vector<std::unique_ptr<ProcStats>>& pstats,
           stats::Scalar& data_frames)
    : m_costs(costs),
      m_nodes(nodes),
      m_core_node(core_node),
      m_pmm(pmm),
      m_swapper(swapper),
      m_pstats(pstats),
      m_data_frames(data_frames) {}

std::pair<uint64_t, uint64_t> Numa::local_range(CoreId core) const {
  const NodeRange& n = m_nodes.at(m_core_node.at(core));
  return {addr_of(n.base).value(), addr_of(n.base).value() + (n.frames << kPageShift)};
}

std::optional<Pfn> Numa::alloc_user_block(Hal& hal, Process& p, const Vma& vma, VirtAddr va, unsigned order,
                                          bool zero) {
  hal.charge(m_costs.frame_alloc);
  const NumaPolicy& pol = vma.policy.kind != NumaPolicyKind::Default ? vma.policy : p.policy;
  const NodeId local = m_core_node[hal.core_id()];
  const CoreId cpu = hal.core_id();
  const Gfp flags = zero ? (kGfpKernel | Gfp::Zero) : kGfpKernel;
  // Order 0 goes through the per-CPU lists; larger blocks straight to the zones.
  auto get = [&](Gfp f, const std::vector<NodeId>& nodes) {
    return order == 0 ? m_pmm.alloc_page(cpu, f, nodes) : m_pmm.alloc(order, f, nodes);
  };
  // The node the policy asks for first.
  NodeId want = local;
  if (pol.kind == NumaPolicyKind::Preferred || pol.kind == NumaPolicyKind::Bind) want = pol.nodes.front();
  if (pol.kind == NumaPolicyKind::Interleave) want = pol.nodes[(va.value() >> (kPageShift + order)) % pol.nodes.size()];
  auto attempt = [&]() {
    std::optional<PageAlloc> a;
    switch (pol.kind) {
      case NumaPolicyKind::Default:
      case NumaPolicyKind::Local:
      case NumaPolicyKind::Preferred:
      case NumaPolicyKind::Interleave: a = get(flags, {want}); break;
      case NumaPolicyKind::Bind: {
        // Atomic walks only the listed nodes; frames parked on per-CPU lists are drained once on failure.
        const Gfp bind = zero ? (Gfp::Atomic | Gfp::Zero) : Gfp::Atomic;
        a = get(bind, pol.nodes);
        if (!a && m_pmm.pcp_frames() > 0) {
          m_pmm.drain_all();
          a = get(bind, pol.nodes);
        }
        break;
      }
    }
    return a;
  };
  // With swap, a node below its min watermark reclaims in this context first. The frames below min are
  // kept for the kernel: if reclaim can evict nothing more, a user page there fails (the OOM killer's
  // turn). An allocation that fails anyway reclaims every node it may use, then tries once more.
  if (m_swapper.enabled() && order == 0 && !m_swapper.direct_reclaim(hal, want)) {
    bool room = false;  // a node the allocation may fall back to is still above its min watermark
    for (NodeId n = 0; n < m_pmm.node_count(); ++n) {
      const bool allowed =
          pol.kind != NumaPolicyKind::Bind || std::find(pol.nodes.begin(), pol.nodes.end(), n) != pol.nodes.end();
      room = room || (allowed && m_pmm.free_frames(n) >= m_swapper.min_watermark(n));
    }
    if (!room) return std::nullopt;
  }
  std::optional<PageAlloc> a = attempt();
  if (!a && m_swapper.enabled() && order == 0) {
    if (pol.kind == NumaPolicyKind::Bind) {
      for (NodeId n : pol.nodes) m_swapper.direct_reclaim(hal, n);
    } else {
      for (NodeId n = 0; n < m_pmm.node_count(); ++n) m_swapper.direct_reclaim(hal, n);
    }
    a = attempt();
  }
  if (!a && m_shrink && m_shrink(hal)) a = attempt();
  if (!a) return std::nullopt;
  if (m_swapper.enabled()) m_swapper.wake_kswapd(hal, a->node);
  const uint64_t frames = uint64_t{1} << order;
  if (a->must_zero) {
    for (uint64_t i = 0; i < frames; ++i) hal.zero_frame(Pfn{a->pfn.value() + i});
  }
  m_data_frames += frames;
  ProcStats& ps = *m_pstats[p.index];
  *ps.node_pages[a->node] += frames;
  (a->node == local ? ps.local : ps.remote) += frames;
  return a->pfn;
}

}  // namespace vmsim::fw
