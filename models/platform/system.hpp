// The simulated system: cores (each with an MMU), memory bus, physical memory and the firmware OS,
// elaborated from a PlatformConfig under the top-level module "system".
#pragma once

#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "firmware/kernel/kernel.hpp"
#include "models/cpu/core.hpp"
#include "models/cpu/run_control.hpp"
#include "models/interconnect/bus.hpp"
#include "models/memory/physical_memory.hpp"
#include "models/platform/platform_config.hpp"

namespace vmsim::platform {

class System : public sc_core::sc_module {
 public:
  // Elaborates the platform and prepares every process's workload (trace files are opened and
  // scanned here). Throws InputError on bad workloads.
  System(const sc_core::sc_module_name& name, const PlatformConfig& cfg, bool progress);
  ~System() override;

  // Runs the simulation to the end of every workload. Rethrows the first error raised in a process.
  void run();

  fw::Kernel& kernel() { return *m_kernel; }
  cpu::Core& core(size_t i) { return *m_cores.at(i); }
  size_t cores() const { return m_cores.size(); }
  mem::PhysicalMemory& memory() { return *m_memory; }
  // Distinct 4 KiB pages the workloads touch, summed over processes (what demand paging must fault in).
  uint64_t workload_distinct_pages() const { return m_distinct_pages; }
  // Simulated time at the end of the run.
  sc_core::sc_time end_time() const;

 private:
  PlatformConfig m_cfg;
  std::unique_ptr<cpu::RunControl> m_control;
  std::unique_ptr<mem::PhysicalMemory> m_memory;
  std::unique_ptr<interconnect::Bus> m_bus;
  std::unique_ptr<fw::Kernel> m_kernel;
  std::vector<std::unique_ptr<cpu::Core>> m_cores;
  uint64_t m_distinct_pages = 0;
};

}  // namespace vmsim::platform
