// Automatic NUMA balancing (firmware.numa_balancing), as Linux's task_numa_work and do_numa_page do it: a
// periodic scan turns a slice of every address space's 4 KiB PTEs into NUMA hint entries (P clear, the
// frame and the other bits kept, kSoftProtNone set: a PROT_NONE entry in an area that allows the access);
// the hint fault that follows records the node of the core that touched the page and maps it again, and a
// page touched twice in a row from the same remote node migrates to that node (copied through the HAL, its
// PTE rewritten), within a rate limit.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "firmware/hal/hal.hpp"
#include "firmware/kernel/kernel_config.hpp"
#include "firmware/kernel/migration_rate.hpp"
#include "firmware/kernel/kernel_types.hpp"
#include "firmware/kernel/swapper.hpp"
#include "firmware/mm/zones.hpp"
#include "common/stats.hpp"

namespace vmsim::fw {

// What the balancer asks back of the kernel façade.
class NumaBalancingHost {
 public:
  virtual ~NumaBalancingHost() = default;
  virtual void put_frame(Hal& hal, Pfn pfn) = 0;
  virtual uint32_t frame_refs(Pfn pfn) const = 0;
  // Ends a stopped section of mm (other cores `targets`) after its PTEs of `pages` changed; with flush_all
  // the other cores drop every translation of mm instead (a long range, as Linux flushes beyond 33 pages).
  virtual void finish_shootdown(Hal& hal, const std::vector<CoreId>& targets, Mm& mm,
                                const std::vector<VirtAddr>& pages, bool flush_all) = 0;
};

class Tiering;

struct NumaBalancingContext {
  const KernelConfig& cfg;
  unsigned levels;
  const std::vector<NodeId>& core_node;
  PhysicalMemoryManager& pmm;
  Swapper& swapper;
  const std::vector<Mm*>& live_mms;
  stats::Scalar& invlpg;  // system.os.tlb.invlpg
  // Memory tiering with promotion (firmware.tiering), else nullptr: the scan hints slow-tier pages (only
  // those when firmware.numa_balancing is off) and their hint faults may promote them.
  Tiering* tiering = nullptr;
};

class NumaBalancer {
 public:
  // Creates system.os.numa_balancing under parent.
  NumaBalancer(stats::Group& parent, const NumaBalancingContext& ctx, NumaBalancingHost& host);

  // The scan timer fired (every firmware.numa_balancing.scan_period memory operations): the next
  // background run scans.
  void tick() { m_scan_pending = true; }
  bool scan_pending() const { return m_scan_pending; }
  // One scan: for every live address space, the next scan_size bytes of its eligible areas (private
  // anonymous, accessible, not mlocked) from where its last scan stopped; each present 4 KiB leaf becomes a
  // hint entry, and its translations are dropped here and shot down on the other cores running it. Runs
  // inside the kernel section.
  void scan(Hal& hal);
  // A not-present fault of p at va (inside the kernel section, the address space's other cores stopped):
  // if va's leaf is a hint entry in an area allowing `kind`, handles the hint fault (maps the page again,
  // on the toucher's node if it migrates) and returns true; else false (an ordinary fault).
  bool hint_fault(Hal& hal, Process& p, VirtAddr va, AccessKind kind);
  // The frame was freed: its last-toucher record goes (a new page there starts unrecorded).
  void forget(Pfn pfn) {
    if (!m_last_node.empty()) m_last_node.erase(pfn.value());
  }

 private:
  static constexpr NodeId kNoNode = ~NodeId{0};
  static constexpr size_t kFlushCeiling = 33;  // Linux's tlb_single_page_flush_ceiling
  void scan_mm(Hal& hal, Mm& mm);
  // True if one more page may migrate in the rate-limit window of now_ps (and counts it).
  bool rate_allows(uint64_t now_ps);
  // Moves the page mapped at pte (raw entry `e`, a hint entry) to a frame on `node`; returns its new frame,
  // or nullopt if the node has no frame to give (with reclaim on: none above its high watermark).
  std::optional<Pfn> migrate(Hal& hal, PhysAddr pte, Pte e, NodeId node);
  // True if `node` can take a migrated page: with reclaim on, only while it stays above its high watermark
  // (Linux's migrate_balanced_pgdat), so migration never pushes a node into reclaim.
  bool has_room(NodeId node) const;
  // Memory tiering: the hint fault of a slow-tier page (frame pfn, entry e at pte) from a core whose fast node
  // is `to`: promoted if hot, within the rate limit and the node's watermark. True if it moved.
  bool promote(Hal& hal, const Vma& vma, PhysAddr pte, Pte e, NodeId to);

  NumaBalancingContext m_ctx;
  NumaBalancingHost& m_host;
  bool m_scan_pending = false;
  std::unordered_map<uint64_t, NodeId> m_last_node;  // frame -> node of its last hint fault
  MigrationRateWindow m_rate;
  uint64_t m_migrate_ps = 0;
  std::vector<uint8_t> m_copy_buf;

  stats::Group m_group;
  stats::Scalar m_scans{m_group, "scans", "count", "Scans run (each covers every live address space once)"};
  stats::Scalar m_ptes{m_group, "ptes_updated", "count", "PTEs made NUMA hint entries by the scans"};
  stats::Scalar m_hint{m_group, "hint_faults", "count", "NUMA hint faults (also counted as page faults by the core, not in faults.total)"};
  stats::Scalar m_hint_local{m_group, "hint_faults_local", "count",
                             "Hint faults on a page of the node local to the faulting core"};
  stats::Scalar m_hint_remote{m_group, "hint_faults_remote", "count", "Hint faults on a page of another node"};
  stats::Scalar m_migrated{m_group, "pages_migrated", "pages",
                           "Pages moved to the node of the core that touched them (twice in a row, from that node)"};
  stats::Scalar m_failed{m_group, "migrate_failed", "count",
                         "Migrations that found no free frame on the target node, or (with swap) would have taken it "
                         "below its high watermark (the page stays)"};
  stats::Scalar m_refused{m_group, "migrate_refused", "count",
                          "Migrations refused: the frame is shared (fork, several mappings) or in the swap cache"};
  stats::Scalar m_rate_limited{m_group, "rate_limited", "count",
                               "Migrations deferred by rate_limit_mbps (the page stays; a later hint fault may move it)"};
  stats::Counter m_migrate_cycles;
};

}  // namespace vmsim::fw
