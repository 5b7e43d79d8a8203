// The core's side of the SMP protocol (smp::Domain): the HAL's kernel lock and shootdown calls, the TLB
// invalidation a shootdown asks of this core, and the interrupts it takes at its instruction boundaries.
#include "models/cpu/core.hpp"

namespace vmsim::cpu {

void Core::kernel_enter() { m_smp->lock(m_id); }

void Core::kernel_exit() { m_smp->unlock(); }

void Core::shootdown_begin(const std::vector<CoreId>& cores) { m_smp->stop(cores); }

void Core::shootdown_end(const std::vector<CoreId>& cores, PhysAddr root, uint16_t pcid,
                         const std::vector<VirtAddr>& pages, uint64_t receiver_cycles) {
  m_smp->release(cores, root, pcid, pages, receiver_cycles);
}

void Core::shootdown_resume(const std::vector<CoreId>& cores) { m_smp->resume(cores); }

void Core::apply_shootdown(PhysAddr root, uint16_t pcid, const std::vector<VirtAddr>& pages) {
  if (m_mmu.in_guest()) {
    // The host's address space while the core runs a guest: its (VPID 0) translations, and without PCIDs
    // only if it is the host root saved at VM entry.
    if (!m_cfg.mmu.pcid && m_mmu.host_root() != root) return;
    if (pages.empty()) {
      m_mmu.invalidate_vpid_space(0, pcid);
    } else {
      for (VirtAddr va : pages) m_mmu.invalidate_vpid_page(0, pcid, va);
    }
    return;
  }
  if (m_cfg.mmu.pcid) {
    // Tagged entries of that address space may be cached even if another one is loaded now.
    if (pages.empty()) {
      m_mmu.invpcid(mmu::InvpcidType::SingleContext, pcid, VirtAddr{0});
    } else {
      for (VirtAddr va : pages) m_mmu.invpcid(mmu::InvpcidType::IndividualAddress, pcid, va);
    }
  } else if (m_root == root) {
    // Without PCIDs only the loaded address space is cached (a root switch flushes).
    if (pages.empty()) {
      m_mmu.set_root(root, pcid);
    } else {
      for (VirtAddr va : pages) m_mmu.invlpg(va);
    }
  }
}

void Core::invalidate_space(PhysAddr root, uint16_t pcid) {
  if (m_mmu.in_guest()) {
    if (m_cfg.mmu.pcid || m_mmu.host_root() == root) {
      const uint64_t removed = m_mmu.invalidate_vpid_space(0, pcid);
      if (m_migrating) m_mig_tlb_dropped += removed;
    }
    return;
  }
  if (m_cfg.mmu.pcid) {
    const uint64_t removed = m_mmu.invpcid(mmu::InvpcidType::SingleContext, pcid, VirtAddr{0});
    if (m_migrating) m_mig_tlb_dropped += removed;
  } else if (m_root == root) {
    m_mmu.set_root(root, pcid);  // a root write flushes the non-global entries
  }
}

void Core::take_pending_interrupts() {
  m_cpu.in_op = false;
  m_smp->hold_while_stopped(m_id);
  if (m_cpu.pending_irq_cycles != 0) {
    sc_core::sc_time t0 = m_qk.get_current_time();
    charge(m_cpu.pending_irq_cycles);
    m_cpu.pending_irq_cycles = 0;
    m_fs_kernel += (m_qk.get_current_time() - t0).value();
  }
  if (m_cpu.background) {
    // A woken kernel thread (kswapd) runs here before the next operation.
    m_cpu.background = false;
    m_cpu.in_op = true;
    sc_core::sc_time t0 = m_qk.get_current_time();
    m_trap.run_background(*this);
    m_fs_kernel += (m_qk.get_current_time() - t0).value();
    m_cpu.in_op = false;
    m_smp->hold_while_stopped(m_id);
  }
  // The load balancer asked this core to give a waiting process away (migration.cpp).
  if (m_give_to >= 0) give_pending();
  m_cpu.attention = m_cpu.stop_requests > 0 || m_cpu.pending_irq_cycles != 0 || m_cpu.background || m_give_to >= 0;
}

}  // namespace vmsim::cpu
