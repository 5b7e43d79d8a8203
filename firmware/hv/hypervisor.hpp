// The hypervisor (nested paging, the `virtualization` section): a host fw::Kernel over the real NUMA nodes
// and one fw::Kernel per guest over that guest's guest-physical memory, as KVM runs a Linux host with guest
// kernels. Each guest's memory is one anonymous area of a host "VM process" (never scheduled on a core), so
// the host's NUMA policy, THP, 1 GiB pool, reclaim, swap, tiering and NUMA balancing apply to guest memory
// unchanged. The hypervisor backs guest-physical pages on EPT violations (a host page fault of the VM
// process, then an EPT leaf), keeps the EPT in modeled memory (table frames from the host kernel, entries
// written with timed stores), and hears of every host invalidation of guest memory through the VM process's
// MMU notifier (EPT entries cleared, INVEPT shootdown). It is the cores' Trap: every trap of a guest process
// goes to its guest's kernel, run in that guest's VMX non-root mode through a GuestHal that turns the guest
// kernel's guest-physical accesses into host-physical ones.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/ept.hpp"
#include "common/stats.hpp"
#include "firmware/hal/hal.hpp"
#include "firmware/hal/trap.hpp"
#include "firmware/hv/hv_config.hpp"
#include "firmware/kernel/kernel.hpp"
#include "firmware/kernel/kernel_config.hpp"

namespace vmsim::fw {

// The processes of each guest (global process indices, ascending), from `virtualization.guests`: with no
// guests listed, one guest runs every process. Throws InputError naming the key for a bad process list, a
// process in two guests or in none, or a forked process in another guest than its parent (parents[i]: the
// parent index of process i, -1 for none; may be empty).
std::vector<std::vector<size_t>> guest_processes(const HypervisorConfig& hv, size_t processes,
                                                 const std::vector<int>& parents = {});

// Checks the `virtualization` section against the run (exit 2, InputError naming the key): the process
// lists (guest_processes), guest memory a multiple of 2 MiB (1 GiB with ept_page_size 1g) and below 64 TiB,
// unique guest names, ept_levels 4 or 5, and with ept_page_size 1g a firmware.hugepages_1g pool holding
// every guest's memory. host_nodes: the host's NUMA nodes.
void validate(const HypervisorConfig& hv, size_t processes, const KernelConfig& kcfg,
              const std::vector<NodeRange>& host_nodes, const std::vector<int>& parents = {});

// The guest-physical NUMA nodes of a guest with `memory` bytes (0: the host's sizes): the host's nodes in
// order, each scaled to its share of `memory`, `align`-aligned (the last takes the remainder), tiling
// guest-physical memory from 0.
std::vector<NodeRange> guest_nodes(const std::vector<NodeRange>& host_nodes, uint64_t memory, uint64_t align);

class GuestHal;

class Hypervisor final : public Trap {
 public:
  // Where each VM process maps its guest's memory: guest-physical address a is host-virtual kHvaBase + a.
  static constexpr uint64_t kHvaBase = 1ull << 40;

  // Boots the host kernel over `nodes` (kcfg, with one VM process per guest) and each guest's kernel over
  // its guest-physical nodes (kcfg without swap, kernel_virtual_access, KPTI and hashed tables) with its
  // processes (specs re-indexed within the guest). Validates hv (InputError).
  Hypervisor(const HypervisorConfig& hv, const KernelConfig& kcfg, const std::vector<NodeRange>& nodes,
             const std::vector<NodeId>& core_node, const std::vector<ProcessSpec>& specs);
  ~Hypervisor() override;

  // system.hv.* (the platform attaches it).
  stats::Group& stats() { return m_stats; }
  Kernel& host() { return *m_host; }
  size_t guest_count() const { return m_guests.size(); }
  Kernel& guest(size_t g);
  const std::string& guest_name(size_t g) const;
  // The guest running process `index` and its index there.
  std::pair<size_t, size_t> guest_of_index(size_t index) const { return m_index.at(index); }
  // The guest of a pid the cores see and its pid in that guest.
  std::pair<size_t, Pid> guest_of_pid(Pid pid) const;
  // firmware.numa_balancing's scan timer for every kernel (host and guests); false when none balances.
  bool numa_tick();
  // The EPT pointer and VPID of guest g (0 before its first process exists).
  uint64_t eptp(size_t g) const;
  uint16_t vpid(size_t g) const { return static_cast<uint16_t>(g + 1); }
  // The VM process of guest g in the host kernel (0 before its first process exists).
  Pid vm_pid(size_t g) const;
  // The host frame backing guest-physical address gpa of guest g (untimed, from the shadow of the EPT), or
  // nullopt if not backed.
  std::optional<PhysAddr> backing_of(size_t g, uint64_t gpa) const;
  // Guest-physical 4 KiB pages of guest g currently backed by an EPT leaf.
  uint64_t pages_backed(size_t g) const;

  // ---- Trap ----
  std::pair<uint64_t, uint64_t> local_range(CoreId core) const override { return m_host->local_range(core); }
  std::unique_ptr<Scheduler> make_scheduler(std::vector<Scheduler::Entry> entries) const override {
    return m_host->make_scheduler(std::move(entries));
  }
  uint64_t context_switch_cycles() const override { return m_host->context_switch_cycles(); }
  std::optional<Pid> create_process(Hal& hal, size_t index) override;
  SpawnState spawn_state(size_t index) const override;
  Pid spawned_pid(size_t index) const override;
  void switch_to(Hal& hal, Pid pid) override;
  uint64_t* access_counters(Pid pid) override;
  bool alive(Pid pid) const override;
  const bool* alive_flag(Pid pid) const override;
  uint64_t blocked_until(Pid pid) const override;
  void exit_process(Hal& hal, Pid pid) override;
  FaultOutcome handle_page_fault(Hal& hal, Pid pid, VirtAddr va, AccessKind kind, uint32_t error_code) override;
  SyscallResult syscall(Hal& hal, Pid pid, const Syscall& call) override;
  void run_background(Hal& hal) override;
  void migrate(Hal& hal, size_t index, Pid pid, CoreId to) override;
  FaultOutcome handle_vm_exit(Hal& hal, Pid pid, const VmExitInfo& exit) override;

 private:
  friend class GuestHal;
  struct Guest;
  class Notifier;
  enum class Cause { GuestAccess, GuestKernel, Prefault };

  Guest& guest_rec(size_t g) { return *m_guests.at(g); }
  // The guest's HAL on the core of `hal`, bound to it.
  GuestHal& ghal(Hal& hal, size_t g);
  Pid global_pid(size_t g, Pid gpid);
  // Puts the core in guest g's non-root mode (VM entry with its EPTP, VPID and the guest root last loaded
  // there) unless it is already; the hypervisor's own mode switches cost nothing.
  void enter(Hal& hal, size_t g);
  // Back to root mode (VM exit) if the core is in a guest.
  void to_host(Hal& hal);
  int mode(Hal& hal) const;
  void restore(Hal& hal, int mode);
  // The guest's first use: its VM process, its EPT root, prefaulting.
  void boot_guest(Hal& hal, size_t g);
  // Backs guest-physical frame gfn (host fault of the VM process if it has no suitable page, then the EPT
  // leaf); the core is in root mode. Retry once backed.
  FaultOutcome back(Hal& hal, Guest& g, uint64_t gfn, bool write, Cause cause);
  // The host-physical address for a guest-kernel access at gpa (GuestHal), backing the page first.
  PhysAddr translate_for_kernel(Hal& hal, size_t g, uint64_t gpa, bool write);
  // EPT edits (timed 8-byte accesses through the host HAL).
  void ept_install(Hal& hal, Guest& g, uint64_t gfn, PhysAddr hpa, unsigned level, bool writable, unsigned host_level);
  bool ept_clear_leaf(Hal& hal, Guest& g, uint64_t gfn);  // the leaf covering gfn; false if none
  void ept_free_subtree(Hal& hal, Guest& g, PhysAddr table, unsigned level, uint64_t first_gfn);
  std::optional<PhysAddr> ept_entry(Hal& hal, Guest& g, uint64_t gfn, unsigned level);  // entry address
  // Changing a present EPT entry: the other cores that ran the guest stop first (their walkers may set
  // A/D in the entry meanwhile, which would undo the change or lose a D), then after the change INVEPT
  // here and on each of them (changed) or they resume untouched.
  std::vector<CoreId> stop_guest_cores(Hal& hal, Guest& g);
  void end_ept_change(Hal& hal, Guest& g, const std::vector<CoreId>& stopped, bool changed);
  // The MMU notifier's work for guest g.
  void notify_invalidate(Hal& hal, Guest& g, const std::vector<VirtAddr>& pages);
  bool notify_young(Hal& hal, Guest& g, VirtAddr page, bool clear);
  bool notify_dirty(Hal& hal, Guest& g, VirtAddr page);
  // A leaf about to be dropped: if the guest may have written through it (D, or writable without EPT A/D),
  // its host frames are marked dirty in the host kernel (KVM's kvm_set_pfn_dirty on zapping a dirty SPTE).
  // Marked too: the frames the host maps at those addresses now (a migration moved the page and its
  // reclaim record before telling the notifier).
  void report_dirty(Hal& hal, Guest& g, EptEntry leaf, unsigned level, uint64_t first_gfn);
  void notify_release(Hal& hal, Guest& g);
  // The host can no longer back guest g (its VM process was killed): every process of g is reported dead.
  void guest_lost(Hal& hal, Guest& g, const std::string& reason);

  HypervisorConfig m_hv;
  KernelConfig m_kcfg;
  std::vector<NodeRange> m_nodes;
  std::vector<NodeId> m_core_node;
  std::unique_ptr<Kernel> m_host;
  std::vector<std::unique_ptr<Guest>> m_guests;
  std::vector<std::pair<size_t, size_t>> m_index;  // global process index -> (guest, local index)
  std::vector<std::pair<size_t, Pid>> m_pids;      // global pid - 1 -> (guest, guest pid)
  std::vector<uint64_t> m_host_blocked;            // global pid - 1 -> end of a host swap-in it waits for
  std::vector<int> m_core_mode;                    // per core: -1 root mode, else the guest loaded

  stats::Group m_stats;
  stats::Group m_exit_stats{m_stats, "vm_exits"};
  stats::Scalar m_exit_violation{m_exit_stats, "ept_violation", "count", "VM exits for EPT violations"};
  stats::Scalar m_exit_misconfig{m_exit_stats, "ept_misconfig", "count",
                                 "VM exits for EPT misconfigurations (a hypervisor bug: the run stops)"};
  stats::Scalar m_exit_cycles{m_exit_stats, "cycles", "core cycles",
                              "Core cycles charged for VM exits and the EPT-violation handler "
                              "(virtualization.costs; the host faults and EPT writes are timed apart)"};
  stats::Group m_viol_stats{m_stats, "ept_violations"};
  stats::Scalar m_viol_guest{m_viol_stats, "guest_access", "count",
                             "EPT violations of guest processes' accesses (data, fetches, the guest page walk)"};
  stats::Scalar m_viol_kernel{m_viol_stats, "guest_kernel_access", "count",
                              "EPT violations of guest kernels' own memory accesses (page tables, zeroing, copies)"};
  stats::Scalar m_viol_prefault{m_viol_stats, "prefault", "count",
                                "Guest pages backed at boot by virtualization.prefault (no VM exit)"};
  stats::Scalar m_host_faults{m_stats, "host_faults", "count",
                              "Host page faults the hypervisor took for VM processes (guest memory without a "
                              "suitable host page)"};
  stats::Group m_ept_stats{m_stats, "ept"};
  stats::Scalar m_leaves_4k{m_ept_stats, "leaves_4k", "count", "4 KiB EPT leaves installed"};
  stats::Scalar m_leaves_2m{m_ept_stats, "leaves_2m", "count", "2 MiB EPT leaves installed"};
  stats::Scalar m_leaves_1g{m_ept_stats, "leaves_1g", "count", "1 GiB EPT leaves installed"};
  stats::Scalar m_leaves_cleared{m_ept_stats, "leaves_cleared", "count",
                                 "EPT leaves cleared (MMU notifier, replaced table entries, guest teardown)"};
  stats::Scalar m_table_frames{m_ept_stats, "table_frames", "frames", "EPT table frames allocated (roots included)"};
  stats::Scalar m_table_freed{m_ept_stats, "table_frames_freed", "frames", "EPT table frames freed"};
  stats::Scalar m_notifier{m_stats, "notifier_invalidations", "count",
                           "MMU-notifier invalidations of VM-process memory that cleared EPT entries"};
  stats::Scalar m_young{m_stats, "notifier_young_tests", "count",
                        "Accessed-flag tests of guest memory by host reclaim (read from the EPT leaves)"};
  stats::Scalar m_invept{m_stats, "invept_shootdowns", "count",
                         "INVEPT shootdowns: INVEPT on the hypervisor's core and an IPI to every other core that "
                         "ran the guest"};
  stats::Scalar m_invept_ipis{m_stats, "invept_ipis", "count", "IPIs of INVEPT shootdowns (one per target core)"};
  stats::Formula m_backed{m_stats, "pages_backed", "pages",
                          "Guest-physical 4 KiB pages backed by EPT leaves at the end (all guests)",
                          [this] {
                            uint64_t n = 0;
                            for (size_t g = 0; g < m_guests.size(); ++g) n += pages_backed(g);
                            return static_cast<double>(n);
                          },
                          true};
  std::vector<std::unique_ptr<stats::Group>> m_guest_groups;
  std::vector<std::unique_ptr<stats::Stat>> m_guest_stats;
};

}  // namespace vmsim::fw
