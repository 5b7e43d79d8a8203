// sim.event_trace: one CSV row per memory access of a window of accesses (OUTDIR/events.csv), recorded by
// the cores. The columns are described in docs/STATS.md ("events.csv").
#pragma once

#include <cstdint>
#include <fstream>
#include <functional>
#include <string>

#include "common/types.hpp"
#include "models/mmu/mmu.hpp"

namespace vmsim::cpu {

// One access as the core saw it.
struct AccessEvent {
  uint64_t index = 0;  // run-wide access index (all cores, in completion order, from 0)
  CoreId core = 0;
  Pid pid = 0;
  AccessKind kind = AccessKind::Read;
  uint64_t va = 0;
  uint64_t pa = 0;           // the translation's physical address (0 for a killed access)
  const mmu::TranslationTrace* translation = nullptr;
  std::string pte_served;    // per PTE read: level:where, separated by ';'
  uint32_t faults = 0;
  const char* fault = "none";  // none, minor, major, or the signal that killed the process (segv, bus, kill)
  uint64_t translation_cycles = 0;
  uint64_t fault_cycles = 0;
  uint64_t data_cycles = 0;
};

class EventTrace {
 public:
  // Creates (truncates) path and writes the header; the window is accesses [from, from + count).
  // Throws InputError if the file cannot be written.
  EventTrace(const std::string& path, uint64_t from, uint64_t count);

  // What the firmware knows about a process's faults (set by the platform; the defaults know nothing):
  // major faults of the process with this config index so far, and the signal of the last kill.
  std::function<uint64_t(size_t process)> major_faults = [](size_t) { return uint64_t{0}; };
  std::function<std::string()> last_kill_signal = [] { return std::string(); };

  bool wants(uint64_t index) const { return index >= m_from && index - m_from < m_count; }
  // True once every access of the window has completed (`completed` accesses so far).
  bool over(uint64_t completed) const { return completed >= m_from + m_count; }
  void write(const AccessEvent& e);
  uint64_t rows() const { return m_rows; }

 private:
  std::string m_path;
  std::ofstream m_out;
  uint64_t m_from;
  uint64_t m_count;
  uint64_t m_rows = 0;
};

}  // namespace vmsim::cpu
