// System elaboration.
#include "platform/system.hpp"

#include "common/units.hpp"

#include <tlm_utils/tlm_quantumkeeper.h>
#include <unordered_map>

#include "common/error.hpp"
#include "models/workload/generators.hpp"
#include "models/workload/trace_scan.hpp"
#include "platform/trace_future.hpp"
#include "firmware/sched/load_balance.hpp"
#if VMSIM_HAVE_RTL
#include "testbench/rtl_tlb_backend.hpp"
#endif

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

uint8_t prot_of(const std::string& text) { return parse_prot(text); }

// The MMU's impl: rtl arrays: the Verilated RTL TLB when this vmsim was built with it, else none (the MMU
// then refuses such a configuration naming the key).
mmu::TlbBackendFactory tlb_backend_factory() {
#if VMSIM_HAVE_RTL
  return [](const mmu::TlbArrayConfig& cfg, const std::string& path, const char* name) {
    std::unique_ptr<rtl::RtlTlbBackend> backend = rtl::make_rtl_tlb_backend(cfg, path, name);
    const rtl::RtlTlb* r = &backend->rtl();
    mmu::ExternalTlb ext;
    ext.operations = [r] { return r->operations(); };
    ext.cycles = [r] { return r->cycles(); };
    ext.backend = std::move(backend);
    return ext;
  };
#else
  return {};
#endif
}


// The nested caches' sizes from virtualization.caches: the PDE-level page-walk caches as given, PDPTE a
// quarter, PML4E an eighth, PML5E a sixteenth (at least 1 each), as the native page-walk caches shrink.
mmu::NestedCacheSizes nested_cache_sizes(const fw::NestedCachesConfig& c) {
  auto part = [](uint64_t n, uint64_t d) { return std::max<uint64_t>(1, n / d); };
  mmu::NestedCacheSizes s;
  s.guest_pde = part(c.guest_pwc, 1);
  s.guest_pdpte = part(c.guest_pwc, 4);
  s.guest_pml4e = part(c.guest_pwc, 8);
  s.guest_pml5e = part(c.guest_pwc, 16);
  s.ept_pde = part(c.ept_pwc, 1);
  s.ept_pdpte = part(c.ept_pwc, 4);
  s.ept_pml4e = part(c.ept_pwc, 8);
  s.ept_pml5e = part(c.ept_pwc, 16);
  s.nested_tlb = c.nested_tlb;
  return s;
}

}  // namespace

System::System(const sc_core::sc_module_name& name, const PlatformConfig& cfg, const RunOutputs& outputs)
    : sc_core::sc_module(name), m_cfg(cfg), m_out_dir(outputs.out_dir) {
  if (outputs.out_dir.empty() && (cfg.sim.stats_interval != 0 || cfg.sim.event_trace.count != 0)) {
    throw InputError(std::string("sim.") + (cfg.sim.stats_interval != 0 ? "stats_interval" : "event_trace.count") +
                     ": this command writes no output folder");
  }
  // The run's accesses, for the progress line: generators' counts, trace ops as scanned below.
  uint64_t expected = 0;
  for (const auto& p : cfg.processes) {
    if (!is_trace(p.workload.kind)) {
      expected += p.workload.limit ? std::min(p.workload.limit, p.workload.accesses) : p.workload.accesses;
    }
  }
  m_control = std::make_unique<cpu::RunControl>(cfg.sim.warmup_accesses, outputs.progress, 0,
                                                outputs.heartbeat_seconds);
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
  // A CXL-attached node sits behind its link: interconnect -> system.cxl<N> -> system.node<N>.
  for (size_t k = 0; k < m_nodes.size(); ++k) {
    const mem::NodeConfig& nc = cfg.system.memory.nodes[k];
    if (nc.attach == mem::NodeAttach::Cxl) {
      const std::string n = "cxl" + std::to_string(k);
      m_links.push_back(std::make_unique<mem::CxlLink>(n.c_str(), nc.cxl, cfg.sim.mode,
                                                       cfg.system.interconnect.lt_link_window));
      m_interconnect->out.bind(m_links.back()->in);
      m_links.back()->out.bind(m_nodes[k]->in);
    } else {
      m_links.push_back(nullptr);
      m_interconnect->out.bind(m_nodes[k]->in);
    }
  }
  if (cfg.system.swap.enabled) m_swap = std::make_unique<storage::SwapDevice>("swap", cfg.system.swap.device);
  std::vector<cpu::CoreTask> tasks;
  std::vector<fw::ProcessSpec> specs;
  std::vector<std::shared_ptr<const fw::FutureReferences>> futures;  // by process, for the opt policy
  std::unordered_map<std::string, int> process_index;  // a name that parent or child refers to is unique (validated)
  for (size_t k = 0; k < cfg.processes.size(); ++k) process_index.emplace(cfg.processes[k].name, static_cast<int>(k));
  auto index_of = [&](const std::string& process) {
    const auto it = process_index.find(process);
    return it == process_index.end() ? -1 : it->second;
  };
  for (size_t i = 0; i < cfg.processes.size(); ++i) {
    const ProcessConfig& pc = cfg.processes[i];
    const WorkloadConfig& w = pc.workload;
    std::string path = "processes[" + std::to_string(i) + "]";
    cpu::CoreTask task;
    task.spec.name = pc.name;
    task.spec.core = static_cast<CoreId>(pc.core);
    task.spec.index = i;
    task.spec.heap_base = pc.heap_base.value;
    task.spec.mmap_base = pc.mmap_base.value;
    const size_t node_count = ranges.size();
    task.spec.policy.kind = pc.numa.policy;
    task.spec.policy.nodes = parse_node_list(pc.numa.nodes, node_count, path + ".numa", "nodes");
    if (!pc.parent.empty()) task.spec.parent = index_of(pc.parent);
    for (size_t k = 0; k < pc.syscalls.size(); ++k) {
      const SyscallConfig& c = pc.syscalls[k];
      fw::Syscall call;
      call.at = c.at;
      call.call = c.call;
      call.addr = c.addr.value;
      call.length = c.length.value;
      call.prot = parse_prot(c.prot);
      call.fixed = c.fixed;
      call.shared = c.shared;
      call.huge = c.huge;
      call.huge_1g = c.huge_1g;
      call.share_vm = c.share_vm;
      call.key = c.key;
      call.offset = c.offset.value;
      for (size_t f = 0; f < cfg.firmware.files.size(); ++f) {
        if (!c.file.empty() && cfg.firmware.files[f].name == c.file) call.file = static_cast<int>(f);
      }
      // read/write: a number is the file descriptor itself (one with no file gives EBADF).
      if (call.file < 0 && is_descriptor(c.file)) call.file = static_cast<int>(std::stoul(c.file));
      call.name = c.name;
      call.policy.kind = c.policy;
      call.policy.nodes =
          parse_node_list(c.nodes, node_count, path + ".syscalls[" + std::to_string(k) + "]", "nodes");
      if (!c.child.empty()) call.child = index_of(c.child);
      task.script.push_back(call);
    }
    task.limit = w.limit;
    task.start_ps = pc.start.fs / 1000;
    for (const MigrationConfig& m : pc.migrations) task.migrations.push_back({m.at, static_cast<CoreId>(m.core)});
    std::vector<workload::Region> regions;
    if (is_trace(w.kind)) {
      std::string trace = w.trace;
      if (!trace.empty() && trace[0] != '/') trace = cfg.base_dir + trace;
      workload::TraceOptions opt;
      opt.fetches = w.fetches;
      const workload::TraceKind tk = w.kind == WorkloadKind::Lackey     ? workload::TraceKind::Lackey
                                     : w.kind == WorkloadKind::Champsim ? workload::TraceKind::Champsim
                                                                        : workload::TraceKind::Vmsim;
      workload::TraceScan scan = workload::scan_trace(tk, trace, opt, w.merge_gap_pages);
      expected += w.limit ? std::min(w.limit, scan.ops) : scan.ops;
      regions = scan.regions;
      m_trace_distinct_pages += scan.distinct_pages;
      task.source = workload::open_trace(tk, trace, opt);
      if (cfg.system.swap.enabled && cfg.firmware.swap.replacement.policy == fw::ReplacementKind::Opt) {
        // Belady's opt needs the future: the trace is read once more, ahead of the run.
        std::unique_ptr<workload::Source> ahead = workload::open_trace(tk, trace, opt);
        futures.resize(i + 1);
        futures[i] = std::make_shared<TraceFuture>(*ahead, w.limit);
      }
      task.data_ops_are_instructions = false;  // the reader counts instructions in the gaps
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
        // Distinct pages are counted as the run takes the operations: host memory grows with the pages
        // touched, and nothing is replayed or allocated for the footprint before the first access.
        auto counted = std::make_unique<workload::CountingSource>(workload::make_generator(gp));
        m_page_counters.push_back(counted.get());
        task.source = std::move(counted);
      } catch (const std::invalid_argument& e) {
        throw InputError(path + ".workload: " + e.what());
      }
    }
    if (!pc.vmas.empty()) {
      for (const VmaConfig& v : pc.vmas) {
        fw::Vma vma{VirtAddr{v.start.value}, VirtAddr{v.start.value + v.size.value}, prot_of(v.prot),
                    v.name.empty() ? format_hex(v.start.value) : v.name};
        vma.grows_down = v.grows_down;
        vma.huge = v.huge;
        vma.huge_1g = v.huge_1g;
        vma.policy.kind = v.numa;
        vma.policy.nodes = parse_node_list(v.nodes, ranges.size(), path + ".vmas", "nodes");
        task.spec.vmas.push_back(vma);
      }
    } else {
      // The user half only: a trace's accesses above it (the kernel's half, or non-canonical addresses) get
      // no area, so the fault handler refuses them (SIGSEGV) as any user access there.
      const uint64_t user_top = 1ull << (kPageShift + 9 * cfg.firmware.page_table_levels - 1);
      for (const workload::Region& r : regions) {
        if (r.start.value() >= user_top) continue;
        const VirtAddr end{std::min(r.end.value(), user_top)};
        task.spec.vmas.push_back(fw::Vma{r.start, end, prot_of(r), format_hex(r.start.value())});
      }
    }
    specs.push_back(task.spec);
    tasks.push_back(std::move(task));
  }
  // The firmware boots over the NUMA nodes; core i's local node is the first node at distance 10 from
  // its socket (the interconnect's definition of local).
  std::vector<fw::NodeRange> fw_nodes;
  for (const mem::NodeRange& r : ranges) fw_nodes.push_back(fw::NodeRange{Pfn{r.base >> kPageShift}, r.size >> kPageShift});
  std::vector<fw::NodeId> core_node;
  for (uint64_t i = 0; i < cfg.system.cores; ++i) {
    const auto& row = cfg.system.interconnect.distance.rows.at(cfg.system.socket_of(i));
    fw::NodeId local = 0;
    for (size_t n = 0; n < row.size(); ++n) {
      if (row[n] == 10) {
        local = static_cast<fw::NodeId>(n);
        break;
      }
    }
    core_node.push_back(local);
  }
  fw::KernelConfig kcfg = cfg.firmware;
  kcfg.core_hz = cfg.system.core.frequency.hz;
  // Node-to-node distances as firmware reports them: node i's row is the row of its home socket (the first
  // socket at i's smallest distance: its own socket, or the one a CPU-less node hangs off).
  const config::Matrix& dist = cfg.system.interconnect.distance;
  for (size_t i = 0; i < ranges.size(); ++i) {
    size_t home = 0;
    for (size_t s = 1; s < dist.rows.size(); ++s) {
      if (dist.rows[s].at(i) < dist.rows[home].at(i)) home = s;
    }
    kcfg.node_distance.push_back(dist.rows[home]);
    kcfg.node_slow.push_back(ranges[i].slow);
  }
  bool migrations = cfg.firmware.scheduler.load_balance.enabled;
  for (const ProcessConfig& pc : cfg.processes) migrations = migrations || !pc.migrations.empty();
  kcfg.task_migration = migrations;
  const mmu::WalkerConfig& walker = cfg.system.core.mmu.walker;
  kcfg.hash_buckets = walker.format == mmu::PageTableFormat::Hashed ? walker.hash_buckets : 0;
  kcfg.swap_slots = cfg.system.swap.enabled ? cfg.system.swap.size.value / kPageSize : 0;
  kcfg.pcid_count = cfg.system.core.mmu.pcid_count;
  kcfg.smap = cfg.system.core.mmu.smap;
  kcfg.smep = cfg.system.core.mmu.smep;
  for (const ProcessConfig& pc : cfg.processes) {
    for (const SyscallConfig& c : pc.syscalls) {
      kcfg.user_copies = kcfg.user_copies || c.call == fw::SyscallKind::Read || c.call == fw::SyscallKind::Write;
    }
  }
  kcfg.inject_missing_stac = cfg.sim.inject_missing_stac;
  kcfg.inject_user_fetch = cfg.sim.inject_user_fetch.value;
  fw::Trap* trap = nullptr;
  if (cfg.firmware.kind == fw::FirmwareKind::Fixed) {
    fw::FixedFirmwareConfig fixed;
    fixed.fault_cycles = cfg.firmware.fixed.fault_cycles;
    fixed.page_table_levels = cfg.firmware.page_table_levels;
    fixed.reserved_low = cfg.firmware.reserved_low.value;
    fixed.context_switch_cycles = cfg.firmware.costs.context_switch;
    fixed.pcid_count = cfg.system.core.mmu.pcid_count;
    m_fixed = std::make_unique<fw::FixedFirmware>(fixed, fw_nodes, core_node, specs);
    trap = m_fixed.get();
  } else if (cfg.virtualization.enabled) {
    // The hypervisor: the host's kernel (system.os) backs each guest's memory; each guest's kernel runs
    // its processes (system.<guest>.os).
    m_hv = std::make_unique<fw::Hypervisor>(cfg.virtualization, kcfg, fw_nodes, core_node, specs);
    m_os_stats = std::make_unique<StatsAnchor>("os");
    stats::attach(m_hv->host().stats(), *m_os_stats);
    m_hv_stats = std::make_unique<StatsAnchor>("hv");
    stats::attach(m_hv->stats(), *m_hv_stats);
    for (size_t g = 0; g < m_hv->guest_count(); ++g) {
      m_guest_anchors.push_back(std::make_unique<GuestAnchor>(m_hv->guest_name(g).c_str()));
      stats::attach(m_hv->guest(g).stats(), m_guest_anchors.back()->os);
    }
    trap = m_hv.get();
  } else {
    m_kernel = std::make_unique<fw::Kernel>(kcfg, fw_nodes, core_node, specs);
    m_os_stats = std::make_unique<StatsAnchor>("os");
    stats::attach(m_kernel->stats(), *m_os_stats);
    if (!futures.empty()) m_kernel->set_futures(std::move(futures));
    trap = m_kernel.get();
  }
  for (uint64_t i = 0; i < cfg.system.cores; ++i) {
    std::string n = "core" + std::to_string(i);
    m_cores.push_back(std::make_unique<cpu::Core>(n.c_str(), static_cast<CoreId>(i), cfg.system.core, cfg.sim.mode,
                                                  cfg.sim.checker, *trap, *m_control, tlb_backend_factory()));
    m_interconnect->connect(m_cores.back()->data, cfg.system.socket_of(i));
    m_interconnect->connect(m_cores.back()->mmu().walker().mem, cfg.system.socket_of(i));
    if (m_swap) m_cores.back()->io.bind(m_swap->in);
    m_cores.back()->set_check_data(cfg.sim.check_data);
    m_cores.back()->set_general_paths_only(cfg.sim.general_paths_only);
    if (m_hv) m_cores.back()->set_virtualization(nested_cache_sizes(cfg.virtualization.caches));
    // The kernel translates its own accesses through its direct map: the MMU counts them apart.
    if ((m_kernel || m_hv) && cfg.firmware.kernel_virtual_access && walker.format == mmu::PageTableFormat::Radix) {
      m_cores.back()->mmu().add_kernel_stats();
      if (cfg.firmware.kpti) m_cores.back()->mmu().set_kpti(true);
    }
  }
  if (cfg.system.caches.any_present()) build_caches(cfg);
  m_smp = std::make_unique<smp::Domain>();
  for (auto& c : m_cores) c->join(*m_smp);
  for (cpu::CoreTask& task : tasks) {
    const CoreId core = task.spec.core;
    m_cores[core]->add_task(std::move(task));
  }
  if (migrations) {
    m_migration = std::make_unique<cpu::MigrationHub>();
    for (auto& c : m_cores) m_migration->cores.push_back(c.get());
    for (auto& c : m_cores) c->set_migration(m_migration.get());
  }
  if ((cfg.system.swap.enabled || cfg.firmware.tiering.enabled) && cfg.firmware.swap.scan_period != 0) {
    // The A-bit scan timer: the first core still running takes it.
    m_control->add_tick(cfg.firmware.swap.scan_period, [this] { request_kernel_work(); });
  }
  if ((m_kernel || m_hv) &&
      (cfg.firmware.numa_balancing.enabled || (cfg.firmware.tiering.enabled && cfg.firmware.tiering.promotion))) {
    // The NUMA-balancing scan timer: the first core still running scans, as background kernel work (with
    // the hypervisor: the host's and every guest's kernel).
    m_control->add_tick(cfg.firmware.numa_balancing.scan_period, [this] {
      if (m_hv ? m_hv->numa_tick() : m_kernel->numa_tick()) request_kernel_work();
    });
  }
  if (cfg.firmware.scheduler.load_balance.enabled) {
    m_control->add_tick(cfg.firmware.scheduler.load_balance.period, [this] { balance_load(); });
  }
  tlm_utils::tlm_quantumkeeper::set_global_quantum(
      sc_core::sc_time(static_cast<double>(cfg.sim.quantum.fs), sc_core::SC_FS));
  m_control->set_expected(expected);
  m_control->set_clock([this] { return now(); });
  if (cfg.sim.stats_interval != 0) {
    m_series = std::make_unique<StatsTimeSeries>(outputs.out_dir + "/timeseries.csv");
    m_control->set_sampler(
        cfg.sim.stats_interval, [this] { m_series->row(m_control->accesses(), now().value() / 1000); },
        [this] { m_series->restart(); });
  }
  if (cfg.sim.event_trace.count != 0) {
    m_events = std::make_unique<cpu::EventTrace>(outputs.out_dir + "/events.csv", cfg.sim.event_trace.from,
                                                 cfg.sim.event_trace.count);
    if (m_kernel) {
      fw::Kernel* k = m_kernel.get();
      m_events->major_faults = [k](size_t process) { return k->major_faults(process); };
      m_events->last_kill_signal = [k] { return k->kills().empty() ? std::string() : k->kills().back().signal; };
    } else if (m_hv) {
      fw::Hypervisor* hv = m_hv.get();
      m_events->major_faults = [hv](size_t process) {
        const std::pair<size_t, size_t> at = hv->guest_of_index(process);
        return hv->guest(at.first).major_faults(at.second);
      };
      m_events->last_kill_signal = [hv] {
        // The latest kill of any guest (kills are recorded in time order within each guest).
        const fw::KillReport* last = nullptr;
        for (size_t g = 0; g < hv->guest_count(); ++g) {
          const auto& kills = hv->guest(g).kills();
          if (!kills.empty() && (last == nullptr || kills.back().time_ps >= last->time_ps)) last = &kills.back();
        }
        return last == nullptr ? std::string() : last->signal;
      };
    }
    for (auto& c : m_cores) c->set_event_trace(m_events.get());
  }
}

System::~System() = default;

std::vector<ProcessKernel> System::process_kernels() {
  std::vector<ProcessKernel> out;
  if (m_kernel) out.push_back({m_kernel.get(), "system.os."});
  if (m_hv) {
    for (size_t g = 0; g < m_hv->guest_count(); ++g) {
      out.push_back({&m_hv->guest(g), "system." + m_hv->guest_name(g) + ".os."});
    }
  }
  return out;
}

void System::request_kernel_work() {
  if (m_migration) {
    for (auto& c : m_cores) {
      if (c->busy() && c->request_background()) return;
    }
  }
  for (auto& c : m_cores) {
    if (c->request_background()) return;
  }
}

void System::balance_load() {
  std::vector<size_t> load;
  for (const auto& c : m_cores) load.push_back(c->load());
  const std::optional<fw::BalanceMove> move = fw::find_imbalance(load, m_cfg.firmware.scheduler.load_balance.threshold);
  if (move) m_cores[move->from]->request_give(move->to);
}

void System::build_caches(const PlatformConfig& cfg) {
  interconnect::NumaInterconnect* ic = m_interconnect.get();
  const uint64_t sockets = cfg.system.sockets;
  const size_t nodes = cfg.system.memory.nodes.size();
  // A line's home directory is at its node's socket (the first local to it; for a CPU-less node the
  // socket it hangs off).
  std::vector<uint32_t> node_home(nodes, 0);
  for (size_t n = 0; n < nodes; ++n) node_home[n] = ic->home_socket(static_cast<unsigned>(n));
  std::vector<uint32_t> core_socket;
  for (uint64_t i = 0; i < cfg.system.cores; ++i) core_socket.push_back(static_cast<uint32_t>(cfg.system.socket_of(i)));
  m_caches = std::make_unique<cache::CacheSystem>(
      "caches", cfg.system.caches, core_socket,
      [ic, node_home](uint64_t pa) {
        const int n = ic->node_of(pa);
        return n < 0 ? 0u : node_home[static_cast<size_t>(n)];
      },
      cfg.sim.mode, cfg.system.core.frequency.period_fs());
  // One cross-socket coherence message: half the round trip a remote node adds over a local one.
  sc_core::sc_time lo = sc_core::SC_ZERO_TIME, hi = sc_core::SC_ZERO_TIME;
  bool first = true;
  for (uint64_t s = 0; s < sockets; ++s) {
    for (size_t n = 0; n < nodes; ++n) {
      const sc_core::sc_time p = ic->path_latency(static_cast<unsigned>(s), static_cast<unsigned>(n));
      if (first || p < lo) lo = p;
      if (first || p > hi) hi = p;
      first = false;
    }
  }
  const sc_core::sc_time message = (hi - lo) / 2;
  for (auto& node : m_nodes) node->allow_dmi(true);
  if (cfg.system.caches.llc.present) {
    m_llc_mshrs.resize(sockets);
    for (auto& slots : m_llc_mshrs) {
      slots = std::make_unique<cpu::Core::CachePort::MissSlots>();
      slots->capacity = cfg.system.caches.llc.mshrs;
    }
  }
  for (uint64_t i = 0; i < cfg.system.cores; ++i) {
    const unsigned s = static_cast<unsigned>(cfg.system.socket_of(i));
    cpu::Core::CachePort port;
    port.hierarchy = &m_caches->hierarchy();
    port.llc_mshrs = m_llc_mshrs.empty() ? nullptr : m_llc_mshrs[s].get();
    port.socket = s;
    if (m_caches->llc_banks_timed() || m_caches->directory_timed()) port.queues = m_caches.get();
    port.writeback_buffer = cfg.system.caches.writeback_buffer;
    port.check = cfg.sim.check_coherence;
    port.path = [ic, s](uint64_t pa) {
      const int n = ic->node_of(pa);
      return n < 0 ? sc_core::SC_ZERO_TIME : ic->path_latency(s, static_cast<unsigned>(n));
    };
    port.remote = [ic, s](uint64_t pa) {
      const int n = ic->node_of(pa);
      return n >= 0 && !ic->is_local(s, static_cast<unsigned>(n));
    };
    port.remote_message = message;
    if (i == 0) port.inject_drop_at = cfg.sim.inject_dropped_invalidation;
    m_cores[i]->set_caches(port);
  }
  if (cfg.sim.general_paths_only) m_caches->hierarchy().set_general_paths_only(true);
}

void System::run() {
  if (m_series) m_series->start();
  sc_core::sc_start();
  m_control->finish();
  if (m_control->error()) std::rethrow_exception(m_control->error());
  // Every core's thread must have run to its end; SystemC running out of events before is a deadlock.
  for (const auto& c : m_cores) {
    if (!c->finished()) {
      throw SimulationError(std::string(c->name()) + ": the simulation stopped at " +
                            sc_core::sc_time_stamp().to_string() +
                            " with this core's processes unfinished (a deadlock in the model)");
    }
  }
  // The independent JEDEC checker (dram.controller.timing_checker) must have seen a legal command stream.
  for (auto& node : m_nodes) {
    if (node->finish() != 0) {
      throw SimulationError(std::string(node->name()) + ": DRAM timing violations:\n" + node->violation_report());
    }
  }
  // The last, partial interval (the work after the last access, such as process teardown, included), with
  // the statistics as stats.json will have them (the memory nodes settled their time averages above).
  if (m_series) m_series->row(m_control->accesses(), end_time().value() / 1000);
}

sc_core::sc_time System::now() const {
  sc_core::sc_time t = sc_core::sc_time_stamp();
  for (const auto& c : m_cores) t = std::max(t, c->local_time());
  return t;
}

std::vector<std::string> System::extra_outputs() const {
  std::vector<std::string> files;
  if (m_series) files.push_back(m_out_dir + "/timeseries.csv");
  if (m_events) files.push_back(m_out_dir + "/events.csv");
  return files;
}

uint64_t System::workload_distinct_pages() const {
  uint64_t pages = m_trace_distinct_pages;
  for (const workload::CountingSource* c : m_page_counters) pages += c->pages();
  return pages;
}

sc_core::sc_time System::end_time() const {
  sc_core::sc_time t = sc_core::SC_ZERO_TIME;
  for (const auto& c : m_cores) t = std::max(t, c->finish_time());
  return t;
}

}  // namespace vmsim::platform
