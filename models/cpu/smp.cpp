// SMP machinery of the cores: the big kernel lock, the TLB-shootdown rendezvous (stop at an instruction
// boundary, invalidate, resume) and the interrupts a core takes at its instruction boundaries.
#include "models/cpu/core.hpp"

namespace vmsim::cpu {

void Core::kernel_enter() {
  if (m_shared->kernel_owner == static_cast<int>(m_id)) {
    ++m_shared->kernel_depth;
    return;
  }
  while (m_shared->kernel_owner >= 0) wait_stoppable();
  m_shared->kernel_owner = static_cast<int>(m_id);
  m_shared->kernel_depth = 1;
}

void Core::kernel_exit() {
  if (--m_shared->kernel_depth == 0) {
    m_shared->kernel_owner = -1;
    m_shared->changed.notify(sc_core::SC_ZERO_TIME);
  }
}

void Core::wait_stoppable() {
  if (m_stop_requests > 0 && !m_stopped) {
    m_stopped = true;
    m_shared->changed.notify(sc_core::SC_ZERO_TIME);
  }
  sc_core::wait(m_shared->changed);
}

void Core::shootdown_begin(const std::vector<CoreId>& cores) {
  for (CoreId c : cores) {
    Core& t = *m_peers.at(c);
    ++t.m_stop_requests;
    t.m_attention = true;
    if (!t.m_in_op) t.m_stopped = true;  // at a boundary or idle: it checks before its next operation
  }
  // A target waiting for the kernel lock (or idle) acknowledges when it next looks at the shared state.
  m_shared->changed.notify(sc_core::SC_ZERO_TIME);
  for (;;) {
    bool all = true;
    for (CoreId c : cores) all = all && m_peers[c]->m_stopped;
    if (all) return;
    sc_core::wait(m_shared->changed);
  }
}

void Core::shootdown_end(const std::vector<CoreId>& cores, PhysAddr root, uint16_t pcid,
                         const std::vector<VirtAddr>& pages, uint64_t receiver_cycles) {
  for (CoreId c : cores) {
    Core& t = *m_peers.at(c);
    t.apply_shootdown(root, pcid, pages);
    ++t.m_ipis_received;
    t.m_pending_irq_cycles += receiver_cycles;
    t.m_attention = true;
    if (--t.m_stop_requests == 0) t.m_stopped = false;
  }
  m_shared->changed.notify(sc_core::SC_ZERO_TIME);
}

void Core::apply_shootdown(PhysAddr root, uint16_t pcid, const std::vector<VirtAddr>& pages) {
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

void Core::take_pending_interrupts() {
  m_in_op = false;
  while (m_stop_requests > 0) wait_stoppable();
  if (m_pending_irq_cycles != 0) {
    sc_core::sc_time t0 = m_qk.get_current_time();
    charge(m_pending_irq_cycles);
    m_pending_irq_cycles = 0;
    m_fs_kernel += (m_qk.get_current_time() - t0).value();
  }
  if (m_background) {
    // A woken kernel thread (kswapd) runs here before the next operation.
    m_background = false;
    m_in_op = true;
    sc_core::sc_time t0 = m_qk.get_current_time();
    m_trap.run_background(*this);
    m_fs_kernel += (m_qk.get_current_time() - t0).value();
    m_in_op = false;
    while (m_stop_requests > 0) wait_stoppable();
  }
  m_attention = m_stop_requests > 0 || m_pending_irq_cycles != 0 || m_background;
}

}  // namespace vmsim::cpu
