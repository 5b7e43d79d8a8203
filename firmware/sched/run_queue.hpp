// The scheduler of one core's processes, as the firmware decides it: round robin in list order with a time
// slice; a process is runnable once its start time has come and (a forked one) its parent created it, and
// not while it waits for I/O. Plain C++: the core executes the decisions (waits, context switches, slices).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "firmware/hal/scheduler.hpp"
#include "firmware/hal/trap.hpp"

namespace vmsim::fw {

class RunQueue final : public Scheduler {
 public:
  // time_slice: core cycles (functional mode: memory operations); 0 = each process to its end, in order.
  RunQueue(std::vector<Entry> entries, uint64_t time_slice);

  // A forked process whose parent ended without creating it is finished here.
  Pick pick(uint64_t now_ps, const Trap& trap) override;

  void created(size_t task, Pid pid) override { m_state[task].pid = pid; }
  std::optional<Pid> pid(size_t task) const override { return m_state[task].pid; }
  void ran(size_t task, bool ended, uint64_t wake_ps) override;
  bool take_resume(size_t task) override;
  uint64_t next_wake_except(size_t task) const override;
  uint64_t time_slice() const override { return m_slice; }
  size_t load() const override;
  size_t movable(size_t running) const override;
  void remove(size_t task) override { m_state[task].finished = true; }
  size_t adopt(const Entry& e, std::optional<Pid> pid) override;
  size_t size() const { return m_entries.size(); }

 private:
  struct State {
    std::optional<Pid> pid;
    bool finished = false;
    uint64_t wake_ps = 0;  // blocked until this simulated time; 0 = runnable
  };
  std::vector<Entry> m_entries;
  std::vector<State> m_state;
  uint64_t m_slice;
  size_t m_cursor = 0;  // round-robin position
};

}  // namespace vmsim::fw
