// The trivial firmware (firmware.kind: fixed): no operating system, a page-fault handler of fixed cost
// that maps a zeroed 4 KiB frame read-write at the faulting address. A baseline for architecture studies
// (translation and memory without kernel policy) and the trap implementation of model tests of the CPU
// and MMU that need no OS.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "firmware/hal/trap.hpp"
#include "firmware/mm/zones.hpp"
#include "firmware/vm/pcid_allocator.hpp"

namespace vmsim::fw {

struct FixedFirmwareConfig {
  uint64_t fault_cycles = 1000;  // charged per page fault besides the zeroing and PTE writes (timed)
  uint64_t page_table_levels = 4;
  uint64_t reserved_low = 1ull << 20;  // bytes from physical address 0 never handed out
  uint64_t context_switch_cycles = 2000;
  uint64_t pcid_count = 4096;  // PCIDs of the hardware (system.core.mmu.pcid_count)
};

class FixedFirmware final : public Trap {
 public:
  // Frames are handed out from the nodes in order (node 0 from reserved_low up), never freed; a fault above
  // the user half (the kernel's half, non-canonical addresses) kills the process. Processes
  // with a parent (forked ones) are never created: their spawn state is Aborted.
  FixedFirmware(const FixedFirmwareConfig& cfg, const std::vector<NodeRange>& nodes,
                const std::vector<NodeId>& core_node, const std::vector<ProcessSpec>& specs);

  std::pair<uint64_t, uint64_t> local_range(CoreId core) const override;
  // Each process to its end, in order (fw::RunQueue without a time slice).
  std::unique_ptr<Scheduler> make_scheduler(std::vector<Scheduler::Entry> entries) const override;
  uint64_t context_switch_cycles() const override { return m_cfg.context_switch_cycles; }
  std::optional<Pid> create_process(Hal& hal, size_t index) override;
  SpawnState spawn_state(size_t index) const override;
  Pid spawned_pid(size_t) const override { return 0; }
  void switch_to(Hal& hal, Pid pid) override;
  uint64_t* access_counters(Pid pid) override { return m_procs.at(pid - 1).access_counts; }
  bool alive(Pid pid) const override { return pid >= 1 && pid <= m_procs.size() && m_procs[pid - 1].alive; }
  const bool* alive_flag(Pid pid) const override { return &m_procs.at(pid - 1).alive; }
  uint64_t blocked_until(Pid) const override { return 0; }
  void exit_process(Hal& hal, Pid pid) override;
  // Charges fault_cycles, then maps a zeroed frame (4 KiB, read-write, user, executable) at va's page
  // with any missing tables. Killed only when physical memory is exhausted.
  FaultOutcome handle_page_fault(Hal& hal, Pid pid, VirtAddr va, AccessKind kind, uint32_t error_code) override;
  // No system calls: every call fails with ENOSYS (an exit call ends the process).
  SyscallResult syscall(Hal& hal, Pid pid, const Syscall& call) override;
  void run_background(Hal&) override {}
  // No OS: a process moves with nothing to update (each has its own PCID-less tables; the new core walks
  // them cold).
  void migrate(Hal&, size_t, Pid, CoreId) override {}

  uint64_t faults() const { return m_faults; }
  uint64_t frames_used() const { return m_frames_used; }
  uint64_t killed() const { return m_killed; }
  // Of the kills, those for a fault at a non-canonical address and in the kernel's half (the rest: out of
  // frames).
  uint64_t segv_noncanonical() const { return m_segv_noncanonical; }
  uint64_t segv_kernel_half() const { return m_segv_kernel_half; }

 private:
  struct Proc {
    PhysAddr root{0};
    PcidContext pcid;
    bool alive = true;
    uint64_t access_counts[2] = {0, 0};
  };
  std::optional<Pfn> take_frame(Hal& hal);

  FixedFirmwareConfig m_cfg;
  std::vector<NodeRange> m_nodes;
  std::vector<NodeId> m_core_node;
  std::vector<ProcessSpec> m_specs;
  std::vector<Proc> m_procs;  // pid = index + 1
  // PCIDs are never freed (nothing is torn down): a roll-over makes every core flush before reuse.
  PcidAllocator m_pcids;
  size_t m_node = 0;          // node frames are taken from
  uint64_t m_next = 0;        // next frame within it
  uint64_t m_faults = 0;
  uint64_t m_frames_used = 0;
  uint64_t m_killed = 0;
  uint64_t m_segv_noncanonical = 0;
  uint64_t m_segv_kernel_half = 0;
};

}  // namespace vmsim::fw
