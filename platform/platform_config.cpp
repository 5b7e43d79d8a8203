// Loading and validation of the run configuration.
#include "platform/platform_config.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>
#include <map>
#include <sstream>

namespace vmsim::platform {

using config::require;

void SimConfig::validate(const std::string& path) const {
  require(quantum.fs > 0, path, "quantum", format_duration(quantum), "must be > 0");
}

void SystemConfig::validate(const std::string& path) const {
  require(cores >= 1 && cores <= 256, path, "cores", std::to_string(cores), "must be between 1 and 256");
  require(sockets >= 1 && sockets <= 64, path, "sockets", std::to_string(sockets), "must be between 1 and 64");
  require(cores % sockets == 0, path, "sockets", std::to_string(sockets),
          "must divide system.cores (" + std::to_string(cores) + "): cores are split evenly over sockets");
  core.validate(path + ".core");
  memory.validate(path + ".memory");
  interconnect.validate(path + ".interconnect", sockets, memory.nodes.size());
  // Cores sit on sockets, and a socket's cores are local to the node at distance 10 from it: a CPU-less
  // node must be farther from every socket, and every socket needs a node with CPUs at distance 10.
  const auto& rows = interconnect.distance.rows;
  const std::string key = path + ".interconnect.distance";
  for (size_t n = 0; n < memory.nodes.size(); ++n) {
    if (memory.nodes[n].cpus) continue;
    for (size_t s = 0; s < sockets; ++s) {
      if (rows[s][n] == 10) {
        throw InputError(key + ": bad value '10' at [" + std::to_string(s) + "][" + std::to_string(n) + "] (node " +
                         std::to_string(n) + " has no CPUs (" + path + ".memory.nodes[" + std::to_string(n) +
                         "].cpus false), so it cannot be the local node of socket " + std::to_string(s) +
                         "'s cores: its distances must be > 10)");
      }
    }
  }
  for (size_t s = 0; s < sockets; ++s) {
    bool local = false;
    for (size_t n = 0; n < memory.nodes.size(); ++n) local = local || rows[s][n] == 10;
    if (!local) {
      throw InputError(key + ": bad value '" + config::format_value(interconnect.distance) + "' (socket " +
                       std::to_string(s) + " has no node at distance 10: its cores need a local node with CPUs)");
    }
  }
  swap.validate(path + ".swap");
  caches.validate(path + ".caches");
}

void WorkloadConfig::validate(const std::string& path) const {
  if (is_trace(kind)) {
    require(!trace.empty(), path, "trace", trace, "a trace workload needs a trace file");
    return;
  }
  require(trace.empty(), path, "trace", trace, "only trace workloads (lackey, champsim, vmsim_trace) read a trace");
  require(footprint.value > 0 && footprint.value % kPageSize == 0, path, "footprint", format_bytes(footprint),
          "must be a positive multiple of 4KiB");
  require(read_fraction >= 0 && read_fraction <= 1, path, "read_fraction", config::format_value(read_fraction),
          "must be in [0, 1]");
  require(access_size >= 1 && access_size <= 64 && (access_size & (access_size - 1)) == 0, path, "access_size",
          std::to_string(access_size), "must be a power of two <= 64");
  require(base.value % kPageSize == 0, path, "base", config::format_value(base), "must be page aligned");
  require(base.value + footprint.value <= (1ull << 56) && base.value + footprint.value > base.value, path, "footprint",
          format_bytes(footprint), "base + footprint must stay below 2^56 (user half of the 57-bit space)");
  require(base.value >= kPageSize, path, "base", config::format_value(base), "page 0 stays unmapped");
  if (kind == WorkloadKind::Strided) {
    require(stride.value > 0, path, "stride", format_bytes(stride), "must be > 0");
  }
}

void ProcessConfig::validate(const std::string& path, uint64_t cores) const {
  require(core < cores, path, "core", std::to_string(core),
          "no such core (system.cores = " + std::to_string(cores) + ")");
  workload.validate(path + ".workload");
  uint64_t on = core;
  for (size_t k = 0; k < migrations.size(); ++k) {
    const std::string mp = path + ".migrations[" + std::to_string(k) + "]";
    const MigrationConfig& m = migrations[k];
    require(m.core < cores, mp, "core", std::to_string(m.core),
            "no such core (system.cores = " + std::to_string(cores) + ")");
    require(m.core != on, mp, "core", std::to_string(m.core), "the process is on that core already");
    require(k == 0 || m.at > migrations[k - 1].at, mp, "at", std::to_string(m.at),
            "must be larger than the previous migration's (" + (k == 0 ? std::string() : std::to_string(migrations[k - 1].at)) + ")");
    on = m.core;
  }
  require(vmas.size() <= kMaxVmas, path, "vmas", std::to_string(vmas.size()) + " areas",
          "out of range (max " + std::to_string(kMaxVmas) + ", Linux's default vm.max_map_count)");
  for (size_t i = 0; i < vmas.size(); ++i) {
    std::string p = path + ".vmas[" + std::to_string(i) + "]";
    const VmaConfig& v = vmas[i];
    require(v.start.value % kPageSize == 0, p, "start", config::format_value(v.start), "must be page aligned");
    require(v.size.value > 0 && v.size.value % kPageSize == 0, p, "size", format_bytes(v.size),
            "must be a positive multiple of 4KiB");
    bool ok = v.prot.size() == 3 && (v.prot[0] == 'r' || v.prot[0] == '-') && (v.prot[1] == 'w' || v.prot[1] == '-') &&
              (v.prot[2] == 'x' || v.prot[2] == '-');
    require(ok, p, "prot", v.prot, "expected three characters like rw- or r-x");
  }
  // Overlaps in O(n log n): sorted by start, an area overlapping any other overlaps its successor.
  std::vector<size_t> order(vmas.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return vmas[a].start.value != vmas[b].start.value ? vmas[a].start.value < vmas[b].start.value : a < b;
  });
  for (size_t k = 1; k < order.size(); ++k) {
    const size_t a = std::min(order[k - 1], order[k]);
    const size_t b = std::max(order[k - 1], order[k]);
    const VmaConfig& prev = vmas[order[k - 1]];
    if (vmas[order[k]].start.value < prev.start.value + prev.size.value) {
      require(false, path + ".vmas[" + std::to_string(b) + "]", "start", config::format_value(vmas[b].start),
              "overlaps " + path + ".vmas[" + std::to_string(a) + "]");
    }
  }
}

uint8_t parse_prot(const std::string& text) {
  return static_cast<uint8_t>((text[0] == 'r' ? fw::prot::kRead : 0) | (text[1] == 'w' ? fw::prot::kWrite : 0) |
                              (text[2] == 'x' ? fw::prot::kExec : 0));
}

namespace {

struct NestedCachesSize {
  const char* key;
  uint64_t entries;
};

bool prot_ok(const std::string& p) {
  return p.size() == 3 && (p[0] == 'r' || p[0] == '-') && (p[1] == 'w' || p[1] == '-') && (p[2] == 'x' || p[2] == '-');
}

void check_policy(fw::NumaPolicyKind kind, const std::string& nodes, size_t node_count, const std::string& path,
                  const char* policy_key, const char* nodes_key) {
  std::vector<unsigned> list = parse_node_list(nodes, node_count, path, nodes_key);
  const bool needs = kind == fw::NumaPolicyKind::Bind || kind == fw::NumaPolicyKind::Interleave ||
                     kind == fw::NumaPolicyKind::Preferred;
  require(!needs || !list.empty(), path, nodes_key, nodes,
          std::string("policy ") + config::enum_name(kind) + " needs at least one node");
  require(needs || list.empty(), path, nodes_key, nodes,
          std::string("policy ") + config::enum_name(kind) + " takes no node list");
  (void)policy_key;
}

}  // namespace

std::vector<size_t> parse_process_list(const std::string& text, size_t processes, const std::string& path,
                                       const char* key) {
  std::vector<size_t> out;
  size_t i = 0;
  auto bad = [&](const std::string& why) { require(false, path, key, text, why); };
  if (text.empty()) bad("expected process indices like \"0-3\" or \"0,2\"");
  while (i < text.size()) {
    size_t j = text.find(',', i);
    if (j == std::string::npos) j = text.size();
    std::string item = text.substr(i, j - i);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    const size_t dash = item.find('-');
    uint64_t lo = 0, hi = 0;
    const bool ok = dash == std::string::npos ? config::parse_value(item, lo) && (hi = lo, true)
                                              : config::parse_value(item.substr(0, dash), lo) &&
                                                    config::parse_value(item.substr(dash + 1), hi) && lo <= hi;
    if (!ok) bad("expected process indices like \"0-3\" or \"0,2\"");
    if (hi >= processes) {
      bad("no process " + std::to_string(hi) + " (processes has " + std::to_string(processes) + ")");
    }
    for (uint64_t n = lo; n <= hi; ++n) {
      if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(static_cast<size_t>(n));
    }
    i = j + 1;
  }
  return out;
}

std::vector<std::vector<size_t>> PlatformConfig::guest_processes() const {
  std::vector<std::vector<size_t>> out;
  if (virtualization.guests.empty()) {
    out.emplace_back();
    for (size_t i = 0; i < processes.size(); ++i) out.back().push_back(i);
    return out;
  }
  for (size_t g = 0; g < virtualization.guests.size(); ++g) {
    out.push_back(parse_process_list(virtualization.guests[g].processes, processes.size(),
                                     "virtualization.guests[" + std::to_string(g) + "]", "processes"));
  }
  return out;
}

void PlatformConfig::validate_virtualization() const {
  const fw::HypervisorConfig& hv = virtualization;
  const std::string path = "virtualization";
  require(hv.ept_levels == 4 || hv.ept_levels == 5, path, "ept_levels", std::to_string(hv.ept_levels),
          "must be 4 or 5");
  const NestedCachesSize caches[] = {{"nested_tlb", hv.caches.nested_tlb},
                                     {"guest_pwc", hv.caches.guest_pwc},
                                     {"ept_pwc", hv.caches.ept_pwc}};
  for (const NestedCachesSize& c : caches) {
    require(c.entries >= 1 && c.entries <= 4096, path + ".caches", c.key, std::to_string(c.entries),
            "must be between 1 and 4096 (fully associative)");
  }
  require(hv.costs.vm_exit <= 100000000, path + ".costs", "vm_exit", std::to_string(hv.costs.vm_exit),
          "at most 100000000 core cycles");
  require(hv.costs.ept_violation <= 100000000, path + ".costs", "ept_violation",
          std::to_string(hv.costs.ept_violation), "at most 100000000 core cycles");
  std::vector<int> guest_of(processes.size(), -1);
  std::set<std::string> names;
  for (size_t g = 0; g < hv.guests.size(); ++g) {
    const fw::GuestConfig& gc = hv.guests[g];
    const std::string gp = path + ".guests[" + std::to_string(g) + "]";
    require(gc.memory.value % (2ull << 20) == 0, gp, "memory", format_bytes(gc.memory), "must be a multiple of 2MiB");
    require(gc.memory.value <= (uint64_t{1} << 46), gp, "memory", format_bytes(gc.memory), "at most 64TiB");
    const std::string name = gc.name.empty() ? "vm" + std::to_string(g) : gc.name;
    bool ok = !name.empty() && std::isalpha(static_cast<unsigned char>(name[0])) != 0;
    for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_');
    require(ok, gp, "name", gc.name, "expected a letter, then letters, digits or _ (it names statistics)");
    bool reserved = name == "os" || name == "hv" || name == "interconnect" || name == "swap" || name == "caches";
    for (const char* prefix : {"core", "node", "cxl"}) {
      const size_t n = std::strlen(prefix);
      if (name.size() > n && name.compare(0, n, prefix) == 0 &&
          name.find_first_not_of("0123456789", n) == std::string::npos) {
        reserved = true;
      }
    }
    require(!reserved, gp, "name", name, "names another part of the system");
    require(names.insert(name).second, gp, "name", name, "another guest has that name");
    for (size_t p : parse_process_list(gc.processes, processes.size(), gp, "processes")) {
      require(guest_of[p] < 0, gp, "processes", gc.processes,
              "process " + std::to_string(p) + " is also in virtualization.guests[" + std::to_string(guest_of[p]) +
                  "] (every process runs in exactly one guest)");
      guest_of[p] = static_cast<int>(g);
    }
  }
  if (!hv.guests.empty()) {
    for (size_t p = 0; p < processes.size(); ++p) {
      if (guest_of[p] >= 0) continue;
      throw InputError(path + ".guests: bad value '" + std::to_string(hv.guests.size()) + " guests' (processes[" +
                       std::to_string(p) + "] '" + processes[p].name + "' is in no guest)");
    }
  }
  if (!hv.enabled) return;
  require(firmware.kind == fw::FirmwareKind::Full, "firmware", "kind", config::enum_name(firmware.kind),
          "virtualization.enabled needs the full firmware (the guests run its kernel)");
  require(system.core.mmu.walker.format == mmu::PageTableFormat::Radix, "system.core.mmu.walker", "format", "hashed",
          "virtualization.enabled: nested paging walks radix tables only");
  for (size_t i = 0; i < system.core.mmu.tlb.dtlb.size(); ++i) {
    require(system.core.mmu.tlb.dtlb[i].impl != mmu::TlbImpl::Rtl,
            "system.core.mmu.tlb.dtlb[" + std::to_string(i) + "]", "impl", "rtl",
            "virtualization.enabled: the RTL TLB has no VPID tags, which guest mode needs");
  }
  if (system.swap.enabled) {
    require(firmware.swap.replacement.policy != fw::ReplacementKind::Opt, "firmware.swap", "policy", "opt",
            "virtualization.enabled: the host swaps guest memory, whose future references are unknown");
  }
  // The kernel's user copies (read and write) are supervisor accesses to user pages; a guest kernel's would
  // need the core to take EPT violations inside them, which it does not model.
  for (size_t p = 0; p < processes.size(); ++p) {
    for (size_t s = 0; s < processes[p].syscalls.size(); ++s) {
      const fw::SyscallKind k = processes[p].syscalls[s].call;
      if (k == fw::SyscallKind::Read || k == fw::SyscallKind::Write) {
        throw InputError("processes[" + std::to_string(p) + "].syscalls[" + std::to_string(s) + "].call: bad value '" +
                         config::enum_name(k) + "' (virtualization.enabled: guest kernels make no user copies)");
      }
    }
  }
  if (hv.ept_page_size == fw::EptPageSize::G1) {
    require(firmware.hugepages_1g > 0, path, "ept_page_size", "1g",
            "1 GiB EPT pages are backed from the 1 GiB pool: set firmware.hugepages_1g");
  }
  // A forked process runs in its parent's guest (fork copies an address space of that guest's kernel).
  if (!hv.guests.empty()) {
    for (size_t p = 0; p < processes.size(); ++p) {
      if (processes[p].parent.empty()) continue;
      for (size_t q = 0; q < processes.size(); ++q) {
        if (processes[q].name != processes[p].parent) continue;
        require(guest_of[q] == guest_of[p], path + ".guests[" + std::to_string(guest_of[p]) + "]", "processes",
                hv.guests[guest_of[p]].processes,
                "processes[" + std::to_string(p) + "] '" + processes[p].name + "' is forked by '" + processes[q].name +
                    "' of another guest (a child runs in its parent's guest)");
      }
    }
  }
}

std::vector<unsigned> parse_node_list(const std::string& text, size_t nodes, const std::string& path,
                                      const char* key) {
  std::vector<unsigned> out;
  size_t i = 0;
  auto bad = [&](const std::string& why) { require(false, path, key, text, why); };
  while (i < text.size()) {
    size_t j = text.find(',', i);
    if (j == std::string::npos) j = text.size();
    std::string item = text.substr(i, j - i);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    size_t dash = item.find('-');
    uint64_t lo = 0, hi = 0;
    bool ok = dash == std::string::npos ? config::parse_value(item, lo) && (hi = lo, true)
                                        : config::parse_value(item.substr(0, dash), lo) &&
                                              config::parse_value(item.substr(dash + 1), hi) && lo <= hi;
    if (!ok) bad("expected node numbers like \"0,1\" or \"0-3\"");
    for (uint64_t n = lo; n <= hi; ++n) {
      if (n >= nodes) bad("no node " + std::to_string(n) + " (system.memory.nodes has " + std::to_string(nodes) + ")");
      if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(static_cast<unsigned>(n));
    }
    i = j + 1;
  }
  return out;
}

void PlatformConfig::validate() const {
  sim.validate("sim");
  system.validate("system");
  firmware.validate("firmware");
  require(system.core.outstanding == 1 || sim.mode == SimMode::At, "system.core", "outstanding",
          std::to_string(system.core.outstanding), "more than one operation in flight needs sim.mode at");
  if (sim.event_trace.count != 0) {
    require(system.core.outstanding == 1, "system.core", "outstanding", std::to_string(system.core.outstanding),
            "sim.event_trace records one access at a time: the core must have one operation in flight");
  }
  require(firmware.page_table_levels == system.core.mmu.walker.levels, "firmware", "page_table_levels",
          std::to_string(firmware.page_table_levels),
          "the walker walks " + std::to_string(system.core.mmu.walker.levels) +
              " levels (system.core.mmu.walker.levels): both must agree");
  if (system.core.mmu.walker.format == mmu::PageTableFormat::Radix) {
    require(system.core.mmu.pcid_count >= system.cores + 2, "system.core.mmu", "pcid_count",
            std::to_string(system.core.mmu.pcid_count),
            "a PCID roll-over keeps the PCID of the address space each core runs and needs one more, besides the "
            "kernel's PCID 0: at least cores + 2 = " + std::to_string(system.cores + 2));
  }
  if (firmware.kpti) {
    require(system.core.mmu.walker.format == mmu::PageTableFormat::Radix, "firmware", "kpti", "true",
            "needs radix page tables (system.core.mmu.walker.format is hashed)");
    require(system.core.mmu.pcid_count >= 2 * (system.cores + 2), "system.core.mmu", "pcid_count",
            std::to_string(system.core.mmu.pcid_count),
            "with firmware.kpti the kernel PCIDs are the lower half (each address space's user PCID is the same | "
            "pcid_count/2), which needs cores + 2 of them: at least 2 * (cores + 2) = " +
                std::to_string(2 * (system.cores + 2)));
  }
  if (processes.empty()) throw InputError("processes: the run needs at least one process");
  if (processes.size() > kMaxProcesses) {
    throw InputError("processes: bad value '" + std::to_string(processes.size()) + " processes' (out of range (max " +
                     std::to_string(kMaxProcesses) + ", Linux's default pid_max))");
  }
  if (system.swap.enabled) {
    // Eviction changes PTEs under running translations: implemented for radix tables and for cores with
    // one operation in flight (a fault there is precise: nothing else of the core touches memory).
    require(system.core.mmu.walker.format != mmu::PageTableFormat::Hashed, "system.swap", "enabled", "true",
            "swapping needs system.core.mmu.walker.format radix (the hashed table has no swap entries)");
    require(system.core.outstanding == 1, "system.core", "outstanding", std::to_string(system.core.outstanding),
            "with system.swap.enabled the core must have one operation in flight");
  }
  if (system.swap.enabled && firmware.swap.replacement.policy == fw::ReplacementKind::Opt) {
    // Belady's opt evicts the page used farthest in the future: only a trace's future is known before the run.
    for (size_t i = 0; i < processes.size(); ++i) {
      if (is_trace(processes[i].workload.kind)) continue;
      throw InputError("firmware.swap.policy: bad value 'opt' (Belady's opt needs every process's future "
                       "references, known only for trace workloads (lackey, champsim, vmsim_trace); processes[" +
                       std::to_string(i) + "] '" + processes[i].name +
                       "' runs a generator: replay its reference string with `vmsim refs`, or pick another policy)");
    }
  }
  if (firmware.numa_balancing.enabled) {
    require(system.core.mmu.walker.format != mmu::PageTableFormat::Hashed, "firmware.numa_balancing", "enabled",
            "true", "NUMA hint entries need system.core.mmu.walker.format radix");
  }
  if (firmware.tiering.enabled) {
    // Demotion and promotion change PTEs under running translations, as eviction does.
    require(system.core.mmu.walker.format != mmu::PageTableFormat::Hashed, "firmware.tiering", "enabled", "true",
            "tiering needs system.core.mmu.walker.format radix");
    require(system.core.outstanding == 1, "system.core", "outstanding", std::to_string(system.core.outstanding),
            "with firmware.tiering.enabled the core must have one operation in flight");
    bool fast = false, slow = false;
    for (const mem::NodeRange& r : system.memory.ranges()) (r.slow ? slow : fast) = true;
    require(fast && slow, "firmware.tiering", "enabled", "true",
            std::string("tiering needs a fast and a slow node, and every node is ") + (slow ? "slow" : "fast") +
                " (system.memory.nodes[i].tier; auto makes attach: cxl nodes slow)");
  }
  if (system.core.mmu.walker.format == mmu::PageTableFormat::Hashed) {
    // The firmware builds the hashed table for demand paging of 4 KiB pages; changing mappings (system
    // calls), huge pages and PROT_NONE areas are implemented for radix tables only so far.
    for (size_t i = 0; i < processes.size(); ++i) {
      const std::string path = "processes[" + std::to_string(i) + "]";
      if (!processes[i].syscalls.empty()) {
        throw InputError(path + ".syscalls: bad value '" + std::to_string(processes[i].syscalls.size()) +
                         " calls' (system-call scripts need system.core.mmu.walker.format radix)");
      }
      for (size_t k = 0; k < processes[i].vmas.size(); ++k) {
        const VmaConfig& v = processes[i].vmas[k];
        const std::string vp = path + ".vmas[" + std::to_string(k) + "]";
        if (v.huge || v.huge_1g) {
          throw InputError(vp + "." + (v.huge ? "huge" : "huge_1g") +
                           ": bad value 'true' (huge pages need system.core.mmu.walker.format radix)");
        }
        if (v.prot == "---") {
          throw InputError(vp + ".prot: bad value '---' (PROT_NONE areas need system.core.mmu.walker.format radix)");
        }
      }
    }
  }
  const uint64_t user_top = 1ull << (kPageShift + 9 * firmware.page_table_levels - 1);
  // Process names to indices (-2: the name is not unique), so set-up stays O(n log n) in processes.
  std::map<std::string, int> by_name;
  for (size_t k = 0; k < processes.size(); ++k) {
    const auto [it, fresh] = by_name.emplace(processes[k].name, static_cast<int>(k));
    if (!fresh) it->second = -2;
  }
  for (size_t i = 0; i < processes.size(); ++i) {
    const std::string path = "processes[" + std::to_string(i) + "]";
    const ProcessConfig& p = processes[i];
    p.validate(path, system.cores);
    if (!is_trace(p.workload.kind)) {
      require(p.workload.base.value + p.workload.footprint.value <= user_top, path + ".workload", "footprint",
              format_bytes(p.workload.footprint),
              "base + footprint must stay in the user half of the " +
                  std::to_string(kPageShift + 9 * firmware.page_table_levels) + "-bit address space");
    }
    const size_t node_count = system.memory.nodes.size();
    for (size_t j = 0; j < p.vmas.size(); ++j) {
      const std::string vp = path + ".vmas[" + std::to_string(j) + "]";
      require(p.vmas[j].start.value + p.vmas[j].size.value <= user_top, vp, "size", format_bytes(p.vmas[j].size),
              "area must end in the user half of the address space");
      check_policy(p.vmas[j].numa, p.vmas[j].nodes, node_count, vp, "numa", "nodes");
    }
    check_policy(p.numa.policy, p.numa.nodes, node_count, path + ".numa", "policy", "nodes");
    require(p.numa.policy != fw::NumaPolicyKind::Default, path + ".numa", "policy", "default",
            "a process policy must be local, bind, interleave or preferred");
    for (const char* k : {"heap_base", "mmap_base"}) {
      const uint64_t a = std::string(k) == "heap_base" ? p.heap_base.value : p.mmap_base.value;
      require(a % kPageSize == 0 && a < user_top, path, k, format_hex(a),
              "must be page aligned and in the user half of the address space");
    }
    auto index_of = [&](const std::string& name) {
      const auto it = by_name.find(name);
      return it == by_name.end() ? -1 : it->second;
    };
    if (!p.parent.empty()) {
      int parent = index_of(p.parent);
      require(parent >= 0, path, "parent", p.parent,
              parent == -2 ? "several processes have that name" : "no process has that name");
      require(static_cast<size_t>(parent) != i, path, "parent", p.parent, "a process cannot fork itself");
      require(processes[parent].core != p.core || static_cast<size_t>(parent) < i, path, "parent", p.parent,
              "a child on its parent's core must be listed after the parent (processes of a core run in order)");
    }
    for (size_t k = 0; k < p.syscalls.size(); ++k) {
      const SyscallConfig& c = p.syscalls[k];
      const std::string cp = path + ".syscalls[" + std::to_string(k) + "]";
      require(prot_ok(c.prot), cp, "prot", c.prot, "expected three characters like rw- or r-x");
      if (c.call == fw::SyscallKind::Fork) {
        int child = index_of(c.child);
        require(child >= 0 && processes[child].parent == p.name, cp, "child", c.child,
                "must name a process whose `parent` is '" + p.name + "'");
      } else {
        require(c.child.empty(), cp, "child", c.child, "only fork takes a child");
      }
      if (c.call == fw::SyscallKind::ShmAttach) require(!c.key.empty(), cp, "key", c.key, "shm_attach needs a key");
      const bool file_io = c.call == fw::SyscallKind::Read || c.call == fw::SyscallKind::Write;
      if (file_io) {
        require(!c.file.empty(), cp, "file", c.file, "read and write need a file of firmware.files (name or index)");
        for (const char* flag : {"fixed", "shared", "huge", "huge_1g"}) {
          const bool set = std::string(flag) == "fixed"    ? c.fixed
                           : std::string(flag) == "shared" ? c.shared
                           : std::string(flag) == "huge"   ? c.huge
                                                        : c.huge_1g;
          require(!set, cp, flag, "true", "only mmap takes it");
        }
      }
      if (!c.file.empty() && !(file_io && is_descriptor(c.file))) {
        require(c.call == fw::SyscallKind::Mmap || file_io, cp, "file", c.file, "only mmap, read and write take files");
        bool known = false;
        for (const fw::FileConfig& f : firmware.files) known = known || f.name == c.file;
        require(known, cp, "file", c.file, "no such file in firmware.files");
      }
      if (c.call == fw::SyscallKind::Mbind) {
        check_policy(c.policy, c.nodes, node_count, cp, "policy", "nodes");
      } else {
        parse_node_list(c.nodes, node_count, cp, "nodes");
      }
      if (k > 0) {
        require(c.at >= p.syscalls[k - 1].at, cp, "at", std::to_string(c.at), "calls must be listed in `at` order");
      }
    }
  }
  validate_virtualization();
}

YAML::Node load_config_tree(const std::string& file, const std::vector<std::string>& overrides,
                            config::Overrides& applied) {
  YAML::Node root = file.empty() ? YAML::Node(YAML::NodeType::Map) : config::load_yaml_file(file);
  // system.caches: NAME is short for system.caches: {preset: NAME} (in the file, and in a --set).
  auto expand_caches = [&root] {
    if (root.IsMap() && root["system"] && root["system"].IsMap()) {
      YAML::Node caches = root["system"]["caches"];
      if (caches && caches.IsScalar() && !caches.Scalar().empty()) {
        YAML::Node expanded(YAML::NodeType::Map);
        expanded["preset"] = caches.Scalar();
        root["system"]["caches"] = expanded;
      }
    }
  };
  expand_caches();
  for (const std::string& o : overrides) {
    applied.push_back(config::apply_override(root, o));
    expand_caches();
  }
  return root;
}

PlatformConfig load_platform_config(const std::string& file, const std::vector<std::string>& overrides,
                                    const std::optional<uint64_t>& seed) {
  if (file.empty()) throw InputError("the config file name is empty");
  config::Overrides applied;
  YAML::Node root = load_config_tree(file, overrides, applied);
  PlatformConfig cfg;
  config::Loader loader(root, "", file, &applied);
  cfg.visit(loader);
  loader.finish();
  if (seed) cfg.sim.seed = *seed;
  size_t slash = file.find_last_of('/');
  cfg.base_dir = slash == std::string::npos ? "" : file.substr(0, slash + 1);
  cfg.validate();
  return cfg;
}

std::string resolved_yaml(PlatformConfig& cfg) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  config::Writer w(out);
  cfg.visit(w);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string config_reference_markdown() {
  std::vector<config::KeyDoc> rows;
  PlatformConfig cfg;
  config::Documenter d(rows);
  cfg.visit(d);
  // A '|' inside a cell (enum choices) would end the cell.
  auto cell = [](const std::string& text) {
    std::string out;
    for (char c : text) {
      if (c == '|') out += '\\';
      out += c;
    }
    return out;
  };
  std::ostringstream os;
  os << "| key | type | unit | default | meaning |\n|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    if (r.is_section) {
      os << "| **`" << r.path << "`** | " << cell(r.type) << " | | | " << cell(r.description) << " |\n";
    } else {
      os << "| `" << r.path << "` | " << cell(r.type) << " | " << r.unit << " | `"
         << (r.default_value.empty() ? "\"\"" : cell(r.default_value)) << "` | " << cell(r.description) << " |\n";
    }
  }
  return os.str();
}

}  // namespace vmsim::platform
