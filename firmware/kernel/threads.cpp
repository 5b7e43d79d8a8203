// Firmware kernel: thread groups. A fatal signal to one thread kills every thread sharing its address space.
#include <iostream>

#include "firmware/kernel/kernel_internal.hpp"

namespace vmsim::fw {

void Kernel::kill_thread_group(Hal& hal, Mm& group, const KillReport& first) {
  // Pids in creation order, so reports come out deterministically. Each teardown may end the address
  // space (the last user frees it); `group` stays valid because the caller holds a reference.
  for (const std::unique_ptr<Process>& q : m_processes.all()) {
    if (!q->alive || q->mm.get() != &group) continue;
    hal.charge(m_cfg.costs.kill);
    KillReport r = first;
    r.pid = q->pid;
    r.name = q->name;
    r.core = q->core;
    r.reason = "thread group: process " + std::to_string(first.pid) + " '" + first.name + "' killed by " +
               first.signal + " (" + first.reason + ")";
    r.time_ps = hal.now_ps();
    std::cerr << "vmsim: process " << r.pid << " '" << r.name << "' killed by " << r.signal << " on core " << r.core
              << " at " << r.time_ps << " ps: " << r.reason << "\n";
    m_kills.push_back(r);
    m_processes.count_killed();
    m_processes.count_group_kill();
    teardown(hal, *q);
  }
}

}  // namespace vmsim::fw
