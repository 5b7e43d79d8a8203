// Loading and validation of the run configuration.
#include "models/platform/platform_config.hpp"

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
  swap.validate(path + ".swap");
}

void WorkloadConfig::validate(const std::string& path) const {
  if (kind == WorkloadKind::Lackey) {
    require(!trace.empty(), path, "trace", trace, "a lackey workload needs a trace file");
    return;
  }
  require(trace.empty(), path, "trace", trace, "only lackey workloads read a trace");
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
  for (size_t i = 0; i < vmas.size(); ++i) {
    std::string p = path + ".vmas[" + std::to_string(i) + "]";
    const VmaConfig& v = vmas[i];
    require(v.start.value % kPageSize == 0, p, "start", config::format_value(v.start), "must be page aligned");
    require(v.size.value > 0 && v.size.value % kPageSize == 0, p, "size", format_bytes(v.size),
            "must be a positive multiple of 4KiB");
    bool ok = v.prot.size() == 3 && (v.prot[0] == 'r' || v.prot[0] == '-') && (v.prot[1] == 'w' || v.prot[1] == '-') &&
              (v.prot[2] == 'x' || v.prot[2] == '-');
    require(ok, p, "prot", v.prot, "expected three characters like rw- or r-x");
    for (size_t j = 0; j < i; ++j) {
      const VmaConfig& o = vmas[j];
      bool overlap = v.start.value < o.start.value + o.size.value && o.start.value < v.start.value + v.size.value;
      require(!overlap, p, "start", config::format_value(v.start),
              "overlaps " + path + ".vmas[" + std::to_string(j) + "]");
    }
  }
}

void PlatformConfig::validate() const {
  sim.validate("sim");
  system.validate("system");
  firmware.validate("firmware");
  firmware_swap.validate("firmware.swap");
  require(system.core.outstanding == 1 || sim.mode == SimMode::At, "system.core", "outstanding",
          std::to_string(system.core.outstanding), "more than one operation in flight needs sim.mode at");
  require(firmware.page_table_levels == system.core.mmu.walker.levels, "firmware", "page_table_levels",
          std::to_string(firmware.page_table_levels),
          "the walker walks " + std::to_string(system.core.mmu.walker.levels) +
              " levels (system.core.mmu.walker.levels): both must agree");
  if (processes.empty()) throw InputError("processes: the run needs at least one process");
  const uint64_t user_top = 1ull << (kPageShift + 9 * firmware.page_table_levels - 1);
  for (size_t i = 0; i < processes.size(); ++i) {
    const std::string path = "processes[" + std::to_string(i) + "]";
    const ProcessConfig& p = processes[i];
    p.validate(path, system.cores);
    if (p.workload.kind != WorkloadKind::Lackey) {
      require(p.workload.base.value + p.workload.footprint.value <= user_top, path + ".workload", "footprint",
              format_bytes(p.workload.footprint),
              "base + footprint must stay in the user half of the " +
                  std::to_string(kPageShift + 9 * firmware.page_table_levels) + "-bit address space");
    }
    for (size_t j = 0; j < p.vmas.size(); ++j) {
      require(p.vmas[j].start.value + p.vmas[j].size.value <= user_top, path + ".vmas[" + std::to_string(j) + "]",
              "size", format_bytes(p.vmas[j].size), "area must end in the user half of the address space");
    }
  }
}

PlatformConfig load_platform_config(const std::string& file, const std::vector<std::string>& overrides,
                                    const std::optional<uint64_t>& seed) {
  YAML::Node root = config::load_yaml_file(file);
  for (const std::string& o : overrides) config::apply_override(root, o);
  PlatformConfig cfg;
  config::Loader loader(root, "", file);
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
