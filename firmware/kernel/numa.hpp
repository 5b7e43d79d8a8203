// The kernel's NUMA placement: chooses the node of every user frame by the area's or the process's memory
// policy (local, preferred, bind, interleave), reclaims on the way with swap, and counts where pages land.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "firmware/kernel/kernel_config.hpp"
#include "firmware/kernel/kernel_types.hpp"
#include "firmware/kernel/swapper.hpp"
#include "firmware/mm/zones.hpp"
#include "common/stats.hpp"

namespace vmsim::fw {

class Numa {
 public:
  // nodes: the NUMA nodes as booted (before the firmware's reservations); core_node[i]: core i's local
  // node. Placement adds to frames.data_allocated (data_frames) and to the per-process statistics.
  Numa(const KernelCosts& costs, const std::vector<NodeRange>& nodes, const std::vector<NodeId>& core_node,
       PhysicalMemoryManager& pmm, Swapper& swapper, const std::vector<std::unique_ptr<ProcStats>>& pstats,
       stats::Scalar& data_frames);

  // A block of 2^order user frames for p's `vma` at va (order 0 through the per-CPU lists), on the node the
  // policy (the area's, else the process's) asks for; zeroed through the HAL if zero. With swap, an order-0
  // allocation first reclaims a node below its min watermark and wakes kswapd after. Nullopt when memory is
  // exhausted (the caller's OOM path). Charges frame_alloc.
  std::optional<Pfn> alloc_user_block(Hal& hal, Process& p, const Vma& vma, VirtAddr va, unsigned order, bool zero);
  // Called when an allocation fails even after reclaim: frees what it can without swap (the page cache of
  // files nobody maps) and says whether it freed anything, so the allocation is tried once more.
  void set_shrinker(std::function<bool(Hal&)> shrink) { m_shrink = std::move(shrink); }
  // Physical byte range [first, second) of the NUMA node local to `core`.
  std::pair<uint64_t, uint64_t> local_range(CoreId core) const;

 private:
  const KernelCosts& m_costs;
  std::vector<NodeRange> m_nodes;  // as booted
  const std::vector<NodeId>& m_core_node;
  PhysicalMemoryManager& m_pmm;
  Swapper& m_swapper;
  const std::vector<std::unique_ptr<ProcStats>>& m_pstats;
  stats::Scalar& m_data_frames;
  std::function<bool(Hal&)> m_shrink;
};

}  // namespace vmsim::fw
