// The trivial firmware: fixed-cost demand-zero faults, no OS.
#include "firmware/fixed/fixed_firmware.hpp"

#include <algorithm>

#include "firmware/sched/run_queue.hpp"
#include "firmware/vm/page_table.hpp"

namespace vmsim::fw {

FixedFirmware::FixedFirmware(const FixedFirmwareConfig& cfg, const std::vector<NodeRange>& nodes,
                             const std::vector<NodeId>& core_node, const std::vector<ProcessSpec>& specs)
    : m_cfg(cfg),
      m_nodes(nodes),
      m_core_node(core_node),
      m_specs(specs),
      m_procs(specs.size()),
      m_pcids(static_cast<unsigned>(cfg.pcid_count), std::max<size_t>(1, core_node.size()), true) {
  // Node 0 starts above the reserved low memory.
  if (!m_nodes.empty()) {
    const uint64_t reserved = (m_cfg.reserved_low + kPageSize - 1) >> kPageShift;
    const uint64_t base = m_nodes[0].base.value();
    m_next = reserved > base ? std::min(reserved - base, m_nodes[0].frames) : 0;
  }
}

std::unique_ptr<Scheduler> FixedFirmware::make_scheduler(std::vector<Scheduler::Entry> entries) const {
  return std::make_unique<RunQueue>(std::move(entries), 0);
}

std::pair<uint64_t, uint64_t> FixedFirmware::local_range(CoreId core) const {
  const NodeRange& n = m_nodes.at(m_core_node.at(core));
  return {n.base.value() << kPageShift, (n.base.value() + n.frames) << kPageShift};
}

std::optional<Pfn> FixedFirmware::take_frame(Hal& hal) {
  while (m_node < m_nodes.size() && m_next == m_nodes[m_node].frames) {
    ++m_node;
    m_next = 0;
  }
  if (m_node == m_nodes.size()) return std::nullopt;
  const Pfn pfn{m_nodes[m_node].base.value() + m_next++};
  ++m_frames_used;
  hal.zero_frame(pfn);
  return pfn;
}

std::optional<Pid> FixedFirmware::create_process(Hal& hal, size_t index) {
  std::optional<Pfn> root = take_frame(hal);
  if (!root) return std::nullopt;
  m_procs.at(index).root = PhysAddr{root->value() << kPageShift};
  return static_cast<Pid>(index + 1);
}

SpawnState FixedFirmware::spawn_state(size_t index) const {
  return m_specs.at(index).parent >= 0 ? SpawnState::Aborted : SpawnState::Ready;
}

void FixedFirmware::switch_to(Hal& hal, Pid pid) {
  Proc& p = m_procs.at(pid - 1);
  if (m_pcids.switch_in(p.pcid, hal.core_id())) hal.invalidate_all_pcids();
  hal.set_root(p.root, p.pcid.id);
}

void FixedFirmware::exit_process(Hal&, Pid pid) { m_procs.at(pid - 1).alive = false; }

FaultOutcome FixedFirmware::handle_page_fault(Hal& hal, Pid pid, VirtAddr va, AccessKind, uint32_t) {
  ++m_faults;
  hal.charge(m_cfg.fault_cycles);
  Proc& p = m_procs.at(pid - 1);
  // Only the user half is mapped: a fault at the kernel's half or at a non-canonical address kills.
  const unsigned levels = static_cast<unsigned>(m_cfg.page_table_levels);
  if (va.value() >= 1ull << (kPageShift + 9 * levels - 1)) {
    ++(is_canonical(va, levels) ? m_segv_kernel_half : m_segv_noncanonical);
    ++m_killed;
    p.alive = false;
    return FaultOutcome::Killed;
  }
  std::optional<Pfn> frame = take_frame(hal);
  const TableAllocator tables = [this, &hal] { return take_frame(hal); };
  if (!frame || !map_page(hal, p.root, static_cast<unsigned>(m_cfg.page_table_levels), addr_of(vpn_of(va)), *frame,
                          pte_bit::kWritable | pte_bit::kUser, tables)) {
    ++m_killed;
    p.alive = false;
    return FaultOutcome::Killed;
  }
  return FaultOutcome::Retry;
}

SyscallResult FixedFirmware::syscall(Hal&, Pid pid, const Syscall& call) {
  SyscallResult r;
  if (call.call == SyscallKind::Exit) {
    m_procs.at(pid - 1).alive = false;
    r.exited = true;
    return r;
  }
  r.error = 38;  // ENOSYS
  return r;
}

}  // namespace vmsim::fw
