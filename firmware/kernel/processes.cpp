// The kernel's process table (fw::Processes): process records by pid, fork states, live address spaces.
#include "firmware/kernel/processes.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace vmsim::fw {

Processes::Processes(stats::Group& parent, const std::vector<ProcessSpec>& specs)
    : m_specs(specs), m_spawn(specs.size()), m_group(parent, "processes") {}

Process& Processes::get(Pid pid) {
  if (pid == 0 || pid > m_procs.size()) throw std::logic_error("kernel: no process " + std::to_string(pid));
  return *m_procs[pid - 1];
}

Process& Processes::add(size_t index, std::shared_ptr<Mm> mm) {
  const ProcessSpec& s = m_specs.at(index);
  auto p = std::make_unique<Process>();
  p->pid = static_cast<Pid>(m_procs.size() + 1);
  p->name = s.name;
  p->core = s.core;
  p->index = index;
  p->policy = s.policy;
  p->mm = std::move(mm);
  Process& proc = *p;
  m_procs.push_back(std::move(p));
  return proc;
}

void Processes::remove_mm(const Mm* mm) { m_live_mms.erase(std::find(m_live_mms.begin(), m_live_mms.end(), mm)); }

bool Processes::may_fork(const Process& parent, int child) const {
  return child >= 0 && static_cast<size_t>(child) < m_specs.size() &&
         m_specs[child].parent == static_cast<int>(parent.index) && m_spawn[child].state == SpawnState::Pending;
}

void Processes::forked(size_t child, Pid pid) {
  ++m_forks;
  m_spawn[child].state = SpawnState::Ready;
  m_spawn[child].pid = pid;
}

void Processes::abort_children(const Process& p) {
  for (size_t i = 0; i < m_specs.size(); ++i) {
    if (m_specs[i].parent == static_cast<int>(p.index) && m_spawn[i].state == SpawnState::Pending) {
      m_spawn[i].state = SpawnState::Aborted;
    }
  }
}

}  // namespace vmsim::fw
