// The core's hardware virtualization (VMX with EPT and VPID): VM entry and exit, guest CR3 writes,
// INVEPT, guest invalidations and the shootdowns that carry them to other cores, and the VM exits its
// guest-mode translations raise.
#include "common/error.hpp"
#include "models/cpu/core.hpp"

namespace vmsim::cpu {

void Core::set_virtualization(const mmu::NestedCacheSizes& sizes) {
  if (m_virt) return;
  m_virt = true;
  m_nested_sizes = sizes;
  m_vm_stats.push_back(std::make_unique<stats::Counter>(
      m_stats, "vm_exits", "count", "VM exits taken by guest-mode accesses (EPT violations handed to the hypervisor)",
      [this] { return m_vm_exits; }));
  m_vm_stats.push_back(std::make_unique<stats::Counter>(
      m_time_stats, "vm_exit", "core cycles",
      "Cycles in the hypervisor's VM-exit handler (the exit and re-entry, the host's fault handling, the EPT "
      "update); not in time.fault",
      [this] { return cycles_of(m_fs_vm_exit); }));
}

void Core::vm_enter(const fw::VmEntry& e) {
  if (!m_virt) throw SimulationError(std::string(name()) + ": VM entry, but virtualization is not enabled");
  mmu::GuestMode g;
  g.eptp = Eptp{e.eptp};
  g.vpid = e.vpid;
  g.root = GuestPhysAddr{e.guest_root.value()};
  g.pcid = e.guest_pcid;
  g.levels = e.guest_levels;
  g.caches = m_nested_sizes;
  m_mmu.enter_guest(g);
}

void Core::vm_exit() { m_mmu.exit_guest(); }

void Core::set_guest_root(PhysAddr root, uint16_t pcid) { m_mmu.set_guest_root(GuestPhysAddr{root.value()}, pcid); }

void Core::invept(uint64_t eptp) { m_mmu.invept(mmu::InveptType::SingleContext, Eptp{eptp}); }

void Core::invalidate_guest(uint16_t vpid, PhysAddr root, uint16_t pcid, const std::vector<VirtAddr>& pages) {
  if (vpid == 0) throw SimulationError(std::string(name()) + ": guest invalidation with VPID 0 (the host's)");
  // Without PCIDs only the address space the VPID last loaded here can be cached (a guest CR3 write flushes).
  if (!m_cfg.mmu.pcid && !m_mmu.guest_space_cached(vpid, GuestPhysAddr{root.value()})) return;
  if (pages.empty()) {
    m_mmu.invalidate_vpid_space(vpid, pcid);
  } else {
    for (VirtAddr va : pages) m_mmu.invalidate_vpid_page(vpid, pcid, va);
  }
}

void Core::shootdown_end_guest(const std::vector<CoreId>& cores, uint16_t vpid, PhysAddr root, uint16_t pcid,
                               const std::vector<VirtAddr>& pages, uint64_t receiver_cycles) {
  m_smp->release_guest(cores, vpid, root, pcid, pages, receiver_cycles);
}

void Core::shootdown_end_ept(const std::vector<CoreId>& cores, uint64_t eptp, uint64_t receiver_cycles) {
  m_smp->release_ept(cores, eptp, receiver_cycles);
}

bool Core::vm_exit_info(VirtAddr va, AccessKind kind, fw::VmExitInfo& info) const {
  if (!m_mmu.in_guest()) return false;
  const mmu::VmExit exit = m_mmu.last_vm_exit();
  if (exit == mmu::VmExit::None) return false;
  const mmu::NestedResult& r = m_mmu.last_nested();
  info.reason = exit == mmu::VmExit::EptViolation ? fw::VmExitReason::EptViolation : fw::VmExitReason::EptMisconfig;
  info.gpa = r.gpa.value();
  info.qualification = exit == mmu::VmExit::EptViolation ? r.qualification : 0;
  info.guest_linear = va;
  info.kind = kind;
  return true;
}

fw::FaultOutcome Core::take_vm_exit(Pid pid, const fw::VmExitInfo& info) {
  ++m_vm_exits;
  return m_trap.handle_vm_exit(*this, pid, info);
}

}  // namespace vmsim::cpu
