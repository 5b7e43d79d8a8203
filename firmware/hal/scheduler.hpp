// The scheduling part of the hardware/software contract: the firmware decides which of a core's processes
// runs next; the core carries the decision out (idles until a time, switches address spaces, runs a slice).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/types.hpp"

namespace vmsim::fw {

class Trap;

class Scheduler {
 public:
  struct Entry {
    int parent = -1;        // process index whose fork creates this one; -1: created at its start time
    size_t index = 0;       // the process's index in the run (for Trap::spawn_state)
    uint64_t start_ps = 0;  // not scheduled before this simulated time (processes without a parent)
  };
  struct Pick {
    size_t task = SIZE_MAX;             // the entry to run; SIZE_MAX: none is runnable now
    uint64_t earliest_ps = UINT64_MAX;  // none runnable: the next start or wake-up time (UINT64_MAX: none)
    bool waiting_spawn = false;         // none runnable: a forked process may still be created
    bool all_done() const { return task == SIZE_MAX && earliest_ps == UINT64_MAX && !waiting_spawn; }
  };
  virtual ~Scheduler() = default;
  // The decision at now_ps (spawn states from trap).
  virtual Pick pick(uint64_t now_ps, const Trap& trap) = 0;
  // What the core reports back: the task's process was created; it ran its slice and ended, was
  // preempted, or blocked until wake_ps (> 0).
  virtual void created(size_t task, Pid pid) = 0;
  virtual std::optional<Pid> pid(size_t task) const = 0;
  virtual void ran(size_t task, bool ended, uint64_t wake_ps) = 0;
  // Before the task runs: true if it resumes after a block (its interrupted operation is retried).
  virtual bool take_resume(size_t task) = 0;
  // The earliest wake-up time of the other blocked tasks (UINT64_MAX: none); it preempts the running one.
  virtual uint64_t next_wake_except(size_t task) const = 0;
  // Core cycles per slice (functional mode: memory operations); 0 = each task to its end, in order.
  virtual uint64_t time_slice() const = 0;

  // Migration between cores (scheduled moves and the load balancer).
  // The core's load: tasks not finished here (running, runnable, blocked or still to be created).
  virtual size_t load() const = 0;
  // A task the load balancer may take from this core now: not finished, not blocked on I/O and not
  // `running` (the one on the core, SIZE_MAX: none), created or not yet; the last such in list order, as
  // Linux's balancer takes the task that would run last. SIZE_MAX: none.
  virtual size_t movable(size_t running) const = 0;
  // The task left this core for another one: it is finished here.
  virtual void remove(size_t task) = 0;
  // A task that arrives from another core (pid if created, else it is created here as its entry says):
  // appended; returns its index here.
  virtual size_t adopt(const Entry& e, std::optional<Pid> pid) = 0;
};

}  // namespace vmsim::fw
