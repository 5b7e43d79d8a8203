// The kernel's process table: every process by pid, the declared process specs and the fork state of each,
// the live address spaces, and the statistics group system.os.processes. Creating, forking and tearing
// processes down (their memory and kernel objects) is the façade's; this class keeps the records.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "firmware/hal/trap.hpp"
#include "firmware/kernel/kernel_types.hpp"
#include "common/stats.hpp"

namespace vmsim::fw {

class Processes {
 public:
  // Creates system.os.processes under `parent`. Every process of the run is declared in `specs`
  // (specs[i].index == i); forked ones start Pending.
  Processes(stats::Group& parent, const std::vector<ProcessSpec>& specs);
  Processes(const Processes&) = delete;
  Processes& operator=(const Processes&) = delete;

  const std::vector<ProcessSpec>& specs() const { return m_specs; }
  // The spec of process `index`; throws std::out_of_range for an undeclared one.
  const ProcessSpec& spec(size_t index) const { return m_specs.at(index); }

  // pid's record (also after it ended); throws std::logic_error for a pid never created.
  Process& get(Pid pid);
  bool alive(Pid pid) const { return pid >= 1 && pid <= m_procs.size() && m_procs[pid - 1]->alive; }
  // Every process created, by pid - 1 (ended ones included): creation order.
  const std::vector<std::unique_ptr<Process>>& all() const { return m_procs; }
  // Registers a new live process of spec `index` over mm (the next pid; name, core and NUMA policy from its
  // spec). The record stays valid for the table's lifetime.
  Process& add(size_t index, std::shared_ptr<Mm> mm);

  // Address spaces: ids in creation order, and the live ones (registered until their last user ends).
  uint64_t next_mm_id() { return m_next_mm++; }
  void add_mm(Mm* mm) { m_live_mms.push_back(mm); }
  void remove_mm(const Mm* mm);
  const std::vector<Mm*>& live_mms() const { return m_live_mms; }

  // Forked processes: Pending until the parent's fork call, then Ready (spawned_pid), or Aborted when the
  // parent ended without forking it.
  SpawnState spawn_state(size_t index) const { return m_spawn[index].state; }
  Pid spawned_pid(size_t index) const { return m_spawn[index].pid; }
  // True if `child` is a spec index declared as parent's child and not forked yet.
  bool may_fork(const Process& parent, int child) const;
  // fork created spec `child` as pid.
  void forked(size_t child, Pid pid);
  // p ended: the children it was to fork will never start.
  void abort_children(const Process& p);

  // Statistics of process life cycles.
  void count_created() { ++m_created; }
  void count_exited() { ++m_exited; }
  void count_killed() { ++m_killed; }
  void count_group_kill() { ++m_group_kills; }
  void count_switch() { ++m_switches; }

 private:
  struct Spawn {
    SpawnState state = SpawnState::Pending;
    Pid pid = 0;
  };

  std::vector<ProcessSpec> m_specs;
  std::vector<std::unique_ptr<Process>> m_procs;  // index = pid - 1
  std::vector<Spawn> m_spawn;                     // per spec index
  uint64_t m_next_mm = 1;
  std::vector<Mm*> m_live_mms;

  stats::Group m_group;  // system.os.processes
  stats::Scalar m_created{m_group, "created", "count", "Processes created (forks included)"};
  stats::Scalar m_exited{m_group, "exited", "count", "Processes that ran to completion or called exit"};
  stats::Scalar m_killed{m_group, "killed", "count", "Processes killed (threads killed with their group included)"};
  stats::Scalar m_group_kills{m_group, "group_kills", "count",
                              "Threads killed because another thread of their group took a fatal signal"};
  stats::Scalar m_forks{m_group, "forks", "count", "fork calls that created a process (threads included)"};
  stats::Scalar m_switches{m_group, "context_switches", "count", "Root-register writes switching to a process"};
};

}  // namespace vmsim::fw
