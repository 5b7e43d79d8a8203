// The core's side of process migration: handing a task over to another core (a scheduled move or the load
// balancer's request), taking arrivals into its scheduler, and the migration statistics.
#include "models/cpu/core.hpp"

namespace vmsim::cpu {

bool MigrationHub::all_done() const {
  for (const Core* c : cores) {
    if (c->load() != 0) return false;
  }
  return true;
}

void Core::set_migration(MigrationHub* hub) {
  m_hub = hub;
  if (hub == nullptr || m_mig_group) return;
  m_mig_group = std::make_unique<stats::Group>(m_stats, "migration");
  m_mig_stats.push_back(std::make_unique<stats::Counter>(*m_mig_group, "in", "count",
                                                          "Processes that moved to this core from another one",
                                                          [this] { return m_mig_in; }));
  m_mig_stats.push_back(std::make_unique<stats::Counter>(*m_mig_group, "out", "count",
                                                          "Processes that left this core for another one",
                                                          [this] { return m_mig_out; }));
  m_mig_stats.push_back(std::make_unique<stats::Counter>(
      *m_mig_group, "tlb_entries_dropped", "entries",
      "TLB entries of a leaving process's address space dropped here (INVPCID; none when another process of "
      "this core shares the address space; not counted with PCIDs off, where the drop is a root-register write)",
      [this] { return m_mig_tlb_dropped; }));
}

size_t Core::load() const {
  const size_t here = m_queue ? m_queue->load() : (m_done ? 0 : m_tasks.size());
  return here + m_inbox.size();
}

void Core::request_give(CoreId to) {
  m_give_to = static_cast<int>(to);
  m_cpu.attention = true;
  m_smp->notify();  // an idle core looks at its flags when it wakes
}

void Core::give_pending() {
  const int to = m_give_to;
  m_give_to = -1;
  if (!m_queue || to < 0) return;
  const size_t k = m_queue->movable(m_running);
  if (k != SIZE_MAX) hand_over(k, static_cast<CoreId>(to));
}

void Core::hand_over(size_t i, CoreId to) {
  CoreTask& task = m_tasks[i];
  const std::optional<Pid> pid = m_queue->pid(i);
  // A scheduled move consumes its entry; a balancer move leaves the schedule as it is.
  if (task.next_migration < task.migrations.size() && task.migrations[task.next_migration].core == to &&
      m_states[i].done >= task.migrations[task.next_migration].at) {
    ++task.next_migration;
  }
  const bool was_in_op = m_cpu.in_op;
  m_cpu.in_op = true;
  const sc_core::sc_time t0 = m_qk.get_current_time();
  m_migrating = true;
  m_trap.migrate(*this, task.spec.index, pid.value_or(0), to);
  m_migrating = false;
  m_fs_kernel += (m_qk.get_current_time() - t0).value();
  m_cpu.in_op = was_in_op;
  m_queue->remove(i);
  Core& dest = *m_hub->cores.at(to);
  task.spec.core = to;
  dest.m_inbox.push_back(Arrival{std::move(task), std::move(m_states[i]), pid});
  ++m_mig_out;
  ++m_hub->moves;
  m_smp->notify();
}

void Core::adopt_arrivals() {
  if (m_inbox.empty()) return;
  std::vector<Arrival> arrivals = std::move(m_inbox);
  m_inbox.clear();
  for (Arrival& a : arrivals) {
    const fw::Scheduler::Entry e{a.task.spec.parent, a.task.spec.index, a.task.start_ps};
    m_tasks.push_back(std::move(a.task));
    m_states.push_back(std::move(a.state));
    m_queue->adopt(e, a.pid);
    ++m_mig_in;
  }
}

}  // namespace vmsim::cpu
