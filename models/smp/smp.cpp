#include "models/smp/smp.hpp"

#include <stdexcept>

namespace vmsim::smp {

void Domain::join(CoreId id, CpuState& state, Target& target) {
  if (id != m_cpus.size()) throw std::logic_error("smp::Domain: CPUs must join in id order");
  m_cpus.push_back({&state, &target});
}

void Domain::acknowledge_stop(CpuState& s) {
  if (s.stop_requests > 0 && !s.stopped) {
    s.stopped = true;
    m_changed.notify(sc_core::SC_ZERO_TIME);
  }
}

void Domain::wait(CoreId me) {
  acknowledge_stop(*m_cpus[me].state);
  sc_core::wait(m_changed);
}

void Domain::wait(CoreId me, const sc_core::sc_time& timeout) {
  acknowledge_stop(*m_cpus[me].state);
  sc_core::wait(timeout, m_changed);
}

void Domain::lock(CoreId me) {
  if (m_owner == static_cast<int>(me)) {
    ++m_depth;
    return;
  }
  while (m_owner >= 0) wait(me);
  m_owner = static_cast<int>(me);
  m_depth = 1;
}

void Domain::unlock() {
  if (--m_depth == 0) {
    m_owner = -1;
    m_changed.notify(sc_core::SC_ZERO_TIME);
  }
}

void Domain::stop(const std::vector<CoreId>& targets) {
  for (CoreId c : targets) {
    CpuState& t = *m_cpus.at(c).state;
    ++t.stop_requests;
    t.attention = true;
    if (!t.in_op) t.stopped = true;  // at a boundary or idle: it checks before its next operation
  }
  // A target waiting for the kernel lock (or idle) acknowledges when it next looks at the shared state.
  m_changed.notify(sc_core::SC_ZERO_TIME);
  for (;;) {
    bool all = true;
    for (CoreId c : targets) all = all && m_cpus[c].state->stopped;
    if (all) return;
    sc_core::wait(m_changed);
  }
}

void Domain::release(const std::vector<CoreId>& targets, PhysAddr root, uint16_t pcid,
                     const std::vector<VirtAddr>& pages, uint64_t receiver_cycles) {
  for (CoreId c : targets) {
    Member& m = m_cpus.at(c);
    m.target->receive_shootdown(root, pcid, pages);
    finish_release(*m.state, receiver_cycles);
  }
  m_changed.notify(sc_core::SC_ZERO_TIME);
}

void Domain::finish_release(CpuState& t, uint64_t receiver_cycles) {
  t.pending_irq_cycles += receiver_cycles;
  t.attention = true;
  if (--t.stop_requests == 0) t.stopped = false;
}

void Domain::release_guest(const std::vector<CoreId>& targets, uint16_t vpid, PhysAddr root, uint16_t pcid,
                           const std::vector<VirtAddr>& pages, uint64_t receiver_cycles) {
  for (CoreId c : targets) {
    Member& m = m_cpus.at(c);
    m.target->receive_guest_shootdown(vpid, root, pcid, pages);
    finish_release(*m.state, receiver_cycles);
  }
  m_changed.notify(sc_core::SC_ZERO_TIME);
}

void Domain::release_ept(const std::vector<CoreId>& targets, uint64_t eptp, uint64_t receiver_cycles) {
  for (CoreId c : targets) {
    Member& m = m_cpus.at(c);
    m.target->receive_ept_shootdown(eptp);
    finish_release(*m.state, receiver_cycles);
  }
  m_changed.notify(sc_core::SC_ZERO_TIME);
}

void Domain::resume(const std::vector<CoreId>& targets) {
  for (CoreId c : targets) {
    CpuState& t = *m_cpus.at(c).state;
    if (--t.stop_requests == 0) t.stopped = false;
  }
  m_changed.notify(sc_core::SC_ZERO_TIME);
}

bool Domain::wake_background(CoreId id) {
  Member& m = m_cpus.at(id);
  if (m.target->finished()) return false;
  m.state->background = true;
  m.state->attention = true;
  m_changed.notify(sc_core::SC_ZERO_TIME);
  return true;
}

}  // namespace vmsim::smp
