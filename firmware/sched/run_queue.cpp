// Round-robin scheduling decisions of one core.
#include "firmware/sched/run_queue.hpp"

#include <algorithm>

namespace vmsim::fw {

RunQueue::RunQueue(std::vector<Entry> entries, uint64_t time_slice)
    : m_entries(std::move(entries)), m_state(m_entries.size()), m_slice(time_slice) {}

RunQueue::Pick RunQueue::pick(uint64_t now_ps, const Trap& trap) {
  Pick p;
  const size_t n = m_entries.size();
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (m_cursor + k) % n;
    const Entry& e = m_entries[i];
    State& st = m_state[i];
    if (st.finished) continue;
    if (!st.pid && e.parent >= 0) {
      const SpawnState sp = trap.spawn_state(e.index);
      if (sp == SpawnState::Aborted) {
        st.finished = true;
        continue;
      }
      if (sp == SpawnState::Pending) {
        p.waiting_spawn = true;
        continue;
      }
    }
    if (!st.pid && e.start_ps > now_ps) {
      p.earliest_ps = std::min(p.earliest_ps, e.start_ps);
      continue;
    }
    if (st.wake_ps > now_ps) {  // blocked on I/O
      p.earliest_ps = std::min(p.earliest_ps, st.wake_ps);
      continue;
    }
    p.task = i;
    return p;
  }
  return p;
}

void RunQueue::ran(size_t task, bool ended, uint64_t wake_ps) {
  if (ended) m_state[task].finished = true;
  if (!ended && wake_ps != 0) m_state[task].wake_ps = wake_ps;
  m_cursor = m_slice == 0 ? task : (task + 1) % m_entries.size();  // slice 0: keep the list order
}

bool RunQueue::take_resume(size_t task) {
  const bool resume = m_state[task].wake_ps != 0;
  m_state[task].wake_ps = 0;
  return resume;
}

uint64_t RunQueue::next_wake_except(size_t task) const {
  uint64_t wake = UINT64_MAX;
  for (size_t i = 0; i < m_state.size(); ++i) {
    const State& o = m_state[i];
    if (i != task && o.wake_ps != 0 && !o.finished) wake = std::min(wake, o.wake_ps);
  }
  return wake;
}

size_t RunQueue::load() const {
  size_t n = 0;
  for (const State& st : m_state) n += st.finished ? 0 : 1;
  return n;
}

size_t RunQueue::movable(size_t running) const {
  for (size_t k = m_state.size(); k-- > 0;) {
    const State& st = m_state[k];
    if (k != running && !st.finished && st.wake_ps == 0) return k;
  }
  return SIZE_MAX;
}

size_t RunQueue::adopt(const Entry& e, std::optional<Pid> pid) {
  m_entries.push_back(e);
  m_state.emplace_back();
  m_state.back().pid = pid;
  return m_entries.size() - 1;
}

}  // namespace vmsim::fw
