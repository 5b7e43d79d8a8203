// The simulated system: cores (each with an MMU), memory bus, physical memory and the firmware OS,
// elaborated from a PlatformConfig under the top-level module "system".
#pragma once

#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "firmware/fixed/fixed_firmware.hpp"
#include "firmware/hv/hypervisor.hpp"
#include "models/cache/cache_system.hpp"
#include "firmware/kernel/kernel.hpp"
#include "common/stats.hpp"
#include "models/cpu/core.hpp"
#include "models/cpu/run_control.hpp"
#include "models/interconnect/numa_interconnect.hpp"
#include "models/memory/cxl_link.hpp"
#include "models/memory/memory_node.hpp"
#include "models/memory/sparse_store.hpp"
#include "models/cpu/event_trace.hpp"
#include "models/workload/page_count.hpp"
#include "platform/platform_config.hpp"
#include "platform/timeseries.hpp"
#include "models/storage/swap_device.hpp"

namespace vmsim::platform {

// A named place in the SystemC object tree for the statistics of a SystemC-free block (the firmware).
class StatsAnchor : public sc_core::sc_object {
 public:
  explicit StatsAnchor(const char* name) : sc_core::sc_object(name) {}
  const char* kind() const override { return "vmsim_stats_anchor"; }
};

// What a run shows while it runs and the files it writes besides the statistics.
struct RunOutputs {
  cpu::Progress progress = cpu::Progress::Off;
  double heartbeat_seconds = 60.0;  // Progress::Heartbeat: host seconds between lines
  // Folder of timeseries.csv (sim.stats_interval) and events.csv (sim.event_trace); "" = none, and then
  // those keys are refused.
  std::string out_dir;
};

// A guest's place in the SystemC object tree (system.<guest name>): its kernel's statistics are under
// system.<guest name>.os.
class GuestAnchor : public sc_core::sc_module {
 public:
  explicit GuestAnchor(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {}
  StatsAnchor os{"os"};
};

// A kernel that runs processes, and where its statistics are ("system.os." or "system.<guest>.os.").
struct ProcessKernel {
  fw::Kernel* kernel = nullptr;
  std::string stats_prefix;
};

class System : public sc_core::sc_module {
 public:
  // Elaborates the platform and prepares every process's workload (trace files are opened and
  // scanned here). Throws InputError on bad workloads.
  System(const sc_core::sc_module_name& name, const PlatformConfig& cfg, const RunOutputs& outputs = {});
  ~System() override;

  // Runs the simulation to the end of every workload. Rethrows the first error raised in a process.
  void run();

  // The configuration the system was built from.
  const PlatformConfig& config() const { return m_cfg; }
  // The full firmware (firmware.kind: full), else nullptr; with virtualization.enabled the host's kernel.
  fw::Kernel* kernel() { return m_hv ? &m_hv->host() : m_kernel.get(); }
  // The hypervisor (virtualization.enabled), else nullptr.
  fw::Hypervisor* hypervisor() { return m_hv.get(); }
  // The kernels that run the processes: the full firmware's, or each guest's (virtualization.enabled);
  // empty with the fixed firmware.
  std::vector<ProcessKernel> process_kernels();
  // The fixed firmware (firmware.kind: fixed), else nullptr.
  fw::FixedFirmware* fixed_firmware() { return m_fixed.get(); }
  cpu::Core& core(size_t i) { return *m_cores.at(i); }
  size_t cores() const { return m_cores.size(); }
  // All of physical memory's contents (every node), for the golden checker and tests.
  mem::SparseStore& store() { return m_store; }
  mem::MemoryNode& node(size_t i) { return *m_nodes.at(i); }
  size_t nodes() const { return m_nodes.size(); }
  interconnect::NumaInterconnect& interconnect() { return *m_interconnect; }
  // The CXL link in front of node i (attach: cxl), else nullptr.
  mem::CxlLink* cxl_link(size_t i) { return m_links.at(i).get(); }
  // The cache hierarchy (system.caches), else nullptr.
  cache::CacheSystem* caches() { return m_caches.get(); }
  // The swap device (system.swap.enabled), else nullptr.
  storage::SwapDevice* swap_device() { return m_swap.get(); }
  // Distinct 4 KiB pages the workloads touch, summed over processes (what demand paging must fault in):
  // a trace's as scanned before the run, a generator's as counted over the operations the run took (all
  // of them unless its process was killed or exited before its last one).
  uint64_t workload_distinct_pages() const;
  // Simulated time at the end of the run.
  sc_core::sc_time end_time() const;
  // The latest local time of the cores now (lt: cores run ahead of SystemC time by up to a quantum).
  sc_core::sc_time now() const;
  // Files the run wrote besides the statistics (timeseries.csv, events.csv), after run().
  std::vector<std::string> extra_outputs() const;

 private:
  void build_caches(const PlatformConfig& cfg);
  PlatformConfig m_cfg;
  std::unique_ptr<cpu::RunControl> m_control;
  mem::SparseStore m_store;
  std::vector<std::unique_ptr<mem::MemoryNode>> m_nodes;
  std::unique_ptr<interconnect::NumaInterconnect> m_interconnect;
  std::vector<std::unique_ptr<mem::CxlLink>> m_links;  // per node: its CXL link, or nullptr
  std::unique_ptr<storage::SwapDevice> m_swap;
  // The object that carries the kernel's statistics in the SystemC tree (system.os); before m_kernel, so
  // the kernel's statistics go first at destruction.
  std::unique_ptr<StatsAnchor> m_os_stats;
  std::unique_ptr<StatsAnchor> m_hv_stats;                  // system.hv (virtualization.enabled)
  std::vector<std::unique_ptr<GuestAnchor>> m_guest_anchors;  // system.<guest>
  std::unique_ptr<fw::Kernel> m_kernel;
  std::unique_ptr<fw::Hypervisor> m_hv;
  std::unique_ptr<fw::FixedFirmware> m_fixed;
  std::vector<std::unique_ptr<cpu::Core>> m_cores;
  std::unique_ptr<cache::CacheSystem> m_caches;  // system.caches (none: nullptr)
  std::vector<std::unique_ptr<cpu::Core::CachePort::MissSlots>> m_llc_mshrs;  // per socket (at mode)
  std::unique_ptr<smp::Domain> m_smp;  // the kernel lock and shootdown rendezvous of the cores
  // Process migration between cores (processes[].migrations, firmware.scheduler.load_balance), else nullptr.
  std::unique_ptr<cpu::MigrationHub> m_migration;
  void balance_load();  // the load balancer's timer
  // A timer's periodic kernel work: the first core still running takes it at its next boundary; with
  // migration, where idle cores stay until the end, the first core running a process (an idle one would
  // wait for the others in the functional mode, where a running core never yields).
  void request_kernel_work();
  std::unique_ptr<StatsTimeSeries> m_series;  // sim.stats_interval
  std::unique_ptr<cpu::EventTrace> m_events;  // sim.event_trace
  std::string m_out_dir;
  uint64_t m_trace_distinct_pages = 0;
  std::vector<workload::CountingSource*> m_page_counters;  // the generators' sources, owned by the cores

  stats::Group m_stats{*this};
  stats::Formula m_resident{m_stats, "resident_pages", "pages",
                            "4 KiB pages of modeled memory holding non-zero data (host memory in use)",
                            [this] { return static_cast<double>(m_store.resident_pages()); }, true};
};

}  // namespace vmsim::platform
