// System elaboration.
#include "models/platform/system.hpp"

#include "models/common/units.hpp"

#include <tlm_utils/tlm_quantumkeeper.h>

#include "models/common/error.hpp"
#include "models/workload/generators.hpp"
#include "models/workload/lackey.hpp"

namespace vmsim::platform {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

workload::Pattern pattern_of(WorkloadKind k) {
  switch (k) {
    case WorkloadKind::Strided: return workload::Pattern::Strided;
    case WorkloadKind::Random: return workload::Pattern::Random;
    case WorkloadKind::PointerChase: return workload::Pattern::PointerChase;
    default: return workload::Pattern::Sequential;
  }
}

uint8_t prot_of(const workload::Region& r) {
  return static_cast<uint8_t>((r.read ? fw::prot::kRead : 0) | (r.write ? fw::prot::kWrite : 0) |
                              (r.exec ? fw::prot::kExec : 0));
}

uint8_t prot_of(const std::string& text) {
  return static_cast<uint8_t>((text[0] == 'r' ? fw::prot::kRead : 0) | (text[1] == 'w' ? fw::prot::kWrite : 0) |
                              (text[2] == 'x' ? fw::prot::kExec : 0));
}


}  // namespace

System::System(const sc_core::sc_module_name& name, const PlatformConfig& cfg, bool progress)
    : sc_core::sc_module(name), m_cfg(cfg) {
  uint64_t expected = 0;
  for (const auto& p : cfg.processes) {
    if (p.workload.kind != WorkloadKind::Lackey) {
      expected += p.workload.limit ? std::min(p.workload.limit, p.workload.accesses) : p.workload.accesses;
    }
  }
  m_control = std::make_unique<cpu::RunControl>(cfg.sim.warmup_accesses, progress, expected);
  const std::vector<mem::NodeRange> ranges = cfg.system.memory.ranges();
  for (size_t k = 0; k < ranges.size(); ++k) {
    std::string n = "node" + std::to_string(k);
    m_nodes.push_back(std::make_unique<mem::MemoryNode>(n.c_str(), static_cast<unsigned>(k), ranges[k],
                                                        cfg.system.memory, cfg.sim.mode, m_store));
  }
  // A page of the store created or released: revoke direct pointers to it (they live in the node).
  m_store.set_change_listener([this](uint64_t pfn) {
    const uint64_t pa = pfn << kPageShift;
    for (auto& node : m_nodes) {
      if (node->contains(pa)) node->invalidate_dmi(pa, pa + kPageSize - 1);
    }
  });
  m_interconnect = std::make_unique<interconnect::NumaInterconnect>("interconnect", cfg.system.interconnect,
                                                                    cfg.sim.mode, ranges, cfg.system.sockets);
  for (auto& node : m_nodes) m_interconnect->out.bind(node->in);
  if (cfg.system.swap.enabled) m_swap = std::make_unique<storage::SwapDevice>("swap", cfg.system.swap.device);
  fw::KernelConfig kcfg = cfg.firmware;
  const mmu::WalkerConfig& walker = cfg.system.core.mmu.walker;
  kcfg.hash_buckets = walker.format == mmu::PageTableFormat::Hashed ? walker.hash_buckets : 0;
  m_kernel = std::make_unique<fw::Kernel>("os", kcfg, cfg.system.memory.total_bytes());
  for (uint64_t i = 0; i < cfg.system.cores; ++i) {
    std::string n = "core" + std::to_string(i);
    m_cores.push_back(std::make_unique<cpu::Core>(n.c_str(), static_cast<CoreId>(i), cfg.system.core, cfg.sim.mode,
                                                  cfg.sim.checker, *m_kernel, *m_control));
    m_interconnect->connect(m_cores.back()->data, cfg.system.socket_of(i));
    m_interconnect->connect(m_cores.back()->mmu().walker().mem, cfg.system.socket_of(i));
    if (m_swap) m_cores.back()->io.bind(m_swap->in);
  }
  for (size_t i = 0; i < cfg.processes.size(); ++i) {
    const ProcessConfig& pc = cfg.processes[i];
    const WorkloadConfig& w = pc.workload;
    std::string path = "processes[" + std::to_string(i) + "]";
    cpu::CoreTask task;
    task.spec.name = pc.name;
    task.spec.core = static_cast<CoreId>(pc.core);
    task.limit = w.limit;
    std::vector<workload::Region> regions;
    if (w.kind == WorkloadKind::Lackey) {
      std::string trace = w.trace;
      if (!trace.empty() && trace[0] != '/') trace = cfg.base_dir + trace;
      workload::LackeyOptions opt;
      opt.fetches = w.fetches;
      workload::TraceScan scan = workload::scan_lackey(trace, opt, w.merge_gap_pages);
      regions = scan.regions;
      m_distinct_pages += scan.distinct_pages;
      task.source = std::make_unique<workload::LackeyReader>(trace, opt);
      task.data_ops_are_instructions = false;  // the reader counts I lines in the gaps
    } else {
      workload::GeneratorParams gp;
      gp.pattern = pattern_of(w.kind);
      gp.base = VirtAddr{w.base.value};
      gp.footprint = w.footprint.value;
      gp.accesses = w.limit ? std::min(w.limit, w.accesses) : w.accesses;
      gp.read_fraction = w.read_fraction;
      gp.access_size = w.access_size;
      gp.stride = w.stride.value;
      gp.gap = w.gap;
      gp.seed = splitmix64(cfg.sim.seed ^ (0x1000003ull * (i + 1)));
      try {
        regions.push_back(workload::generator_region(gp));
        m_distinct_pages += workload::generator_distinct_pages(gp);
        task.source = workload::make_generator(gp);
      } catch (const std::invalid_argument& e) {
        throw InputError(path + ".workload: " + e.what());
      }
    }
    if (!pc.vmas.empty()) {
      for (const VmaConfig& v : pc.vmas) {
        task.spec.vmas.push_back(fw::Vma{VirtAddr{v.start.value}, VirtAddr{v.start.value + v.size.value},
                                         prot_of(v.prot), v.name.empty() ? format_hex(v.start.value) : v.name});
      }
    } else {
      for (const workload::Region& r : regions) {
        task.spec.vmas.push_back(fw::Vma{r.start, r.end, prot_of(r), format_hex(r.start.value())});
      }
    }
    m_cores[pc.core]->add_task(std::move(task));
  }
  tlm_utils::tlm_quantumkeeper::set_global_quantum(
      sc_core::sc_time(static_cast<double>(cfg.sim.quantum.fs), sc_core::SC_FS));
}

System::~System() = default;

void System::run() {
  sc_core::sc_start();
  m_control->finish();
  if (m_control->error()) std::rethrow_exception(m_control->error());
  // The independent JEDEC checker (dram.controller.timing_checker) must have seen a legal command stream.
  for (auto& node : m_nodes) {
    if (node->finish() != 0) {
      throw SimulationError(std::string(node->name()) + ": DRAM timing violations:\n" + node->violation_report());
    }
  }
}

sc_core::sc_time System::end_time() const {
  sc_core::sc_time t = sc_core::SC_ZERO_TIME;
  for (const auto& c : m_cores) t = std::max(t, c->finish_time());
  return t;
}

}  // namespace vmsim::platform
