// The vmsim command line: run a configuration, sweep many (sweep), plot a sweep (plot), write a report page
// (report), replay DRAM traces (dram) and reference strings (refs), the fragmentation experiment (frag), or
// print the generated key and statistics references.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <iostream>
#include <sys/stat.h>
#include <systemc>

#include "apps/vmsim/frag.hpp"
#include "apps/vmsim/options.hpp"
#include "apps/vmsim/plot.hpp"
#include "apps/vmsim/refs.hpp"
#include "apps/vmsim/sweep.hpp"
#include "common/config.hpp"
#include "common/error.hpp"
#include "models/dram/trace_replay.hpp"
#include "models/workload/vmsim_trace.hpp"
#include "common/stats.hpp"
#include "platform/platform_config.hpp"
#include "platform/report.hpp"
#include "platform/system.hpp"

namespace {

constexpr int kExitBadInput = 2;
constexpr int kExitSimulationError = 3;

void make_dir(const std::string& dir) {
  std::string cur;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      if (!cur.empty() && ::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
        throw vmsim::InputError(dir + ": cannot create directory: " + std::strerror(errno));
      }
    }
    if (i < dir.size()) cur.push_back(dir[i]);
  }
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  if (!out) throw vmsim::InputError(path + ": cannot write");
  out << text;
}

// Prints the statistics reference: every statistic an elaborated (not simulated) config produces.
// Per-core names are folded into one row: system.core<N>.accesses.
std::string stats_reference(const std::vector<vmsim::stats::Record>& records) {
  std::string s = "| statistic | unit | meaning |\n|---|---|---|\n";
  std::set<std::string> seen;
  for (const auto& r : records) {
    if (r.name.find(".bucket.") != std::string::npos) continue;
    std::string name = std::regex_replace(r.name, std::regex("\\.core[0-9]+\\."), ".core<N>.");
    if (!seen.insert(name).second) continue;
    s += "| `" + name + "` | " + r.unit + " | " + r.description + " |\n";
  }
  return s;
}

// Host seconds between heartbeat lines: 60, or $VMSIM_HEARTBEAT_SECONDS (tests use a small value).
double heartbeat_seconds() {
  const char* env = std::getenv("VMSIM_HEARTBEAT_SECONDS");
  if (env == nullptr || *env == '\0') return 60.0;
  char* end = nullptr;
  const double v = std::strtod(env, &end);
  if (*end != '\0' || !(v >= 0) || v > 1e9) {
    throw vmsim::InputError(std::string("VMSIM_HEARTBEAT_SECONDS: bad value '") + env +
                            "' (expected a number of seconds >= 0)");
  }
  return v;
}

int cmd_run(const std::string& config_path, const std::vector<std::string>& sets, const std::string& out_dir,
            const std::optional<uint64_t>& seed, bool quiet) {
  auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  vmsim::platform::PlatformConfig cfg = vmsim::platform::load_platform_config(config_path, sets, seed);
  make_dir(out_dir);
  write_text(out_dir + "/config.resolved.yaml", vmsim::platform::resolved_yaml(cfg));
  vmsim::platform::RunOutputs outputs;
  outputs.out_dir = out_dir;
  // A terminal gets a self-overwriting line; a file or pipe a heartbeat line every minute of host time.
  outputs.progress = quiet                      ? vmsim::cpu::Progress::Off
                     : ::isatty(STDERR_FILENO) ? vmsim::cpu::Progress::Line
                                               : vmsim::cpu::Progress::Heartbeat;
  outputs.heartbeat_seconds = heartbeat_seconds();
  vmsim::platform::System system("system", cfg, outputs);
  system.run();
  std::vector<vmsim::stats::Record> records = vmsim::stats::collect_all();
  nlohmann::ordered_json summary = vmsim::platform::make_summary(records, system);
  static const std::vector<vmsim::fw::KillReport> kNoKills;
  vmsim::fw::Kernel* kernel = system.kernel();
  if (vmsim::fw::Hypervisor* hv = system.hypervisor()) {
    // The guests' kernels ran the processes: their kill reports, and memory reports after the host's.
    std::vector<vmsim::fw::KillReport> kills = hv->host().kills();
    std::string memory = "host (backs the guests' memory)\n" + hv->host().memory_report();
    std::string ws = hv->host().working_set_csv();
    for (size_t g = 0; g < hv->guest_count(); ++g) {
      const vmsim::fw::Kernel& k = hv->guest(g);
      kills.insert(kills.end(), k.kills().begin(), k.kills().end());
      memory += "\nguest " + hv->guest_name(g) + " (guest-physical memory)\n" + hv->guest(g).memory_report();
    }
    vmsim::platform::write_stats_json(out_dir + "/stats.json", summary, records, kills);
    write_text(out_dir + "/memory.txt", memory);
    write_text(out_dir + "/working_set.csv", ws);
  } else {
    vmsim::platform::write_stats_json(out_dir + "/stats.json", summary, records, kernel ? kernel->kills() : kNoKills);
    if (kernel) {
      write_text(out_dir + "/memory.txt", kernel->memory_report());
      write_text(out_dir + "/working_set.csv", kernel->working_set_csv());
    }
  }
  vmsim::platform::write_stats_csv(out_dir + "/stats.csv", records);
  double host = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Process CPU time as well: on a shared machine it is the figure other jobs disturb least.
  double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  if (!quiet) {
    vmsim::platform::print_summary(std::cout, summary);
    const double acc = static_cast<double>(summary["accesses"].get<uint64_t>());
    std::printf("  %-30s%18.3f\n  %-30s%18.3f\n", "host time (s)", host, "host speed (M accesses/s)",
                host > 0 ? acc / host / 1e6 : 0.0);
    std::printf("  %-30s%18.3f\n  %-30s%18.3f\n", "host CPU time (s)", cpu, "CPU speed (M accesses/s)",
                cpu > 0 ? acc / cpu / 1e6 : 0.0);
    std::cout << "wrote " << out_dir << "/stats.json, " << out_dir << "/stats.csv, ";
    if (kernel) std::cout << out_dir << "/memory.txt, " << out_dir << "/working_set.csv, ";
    for (const std::string& f : system.extra_outputs()) std::cout << f << ", ";
    std::cout << out_dir << "/config.resolved.yaml\n";
  }
  return 0;
}

// DRAM-only mode: replays a physical-address trace into the memory controllers of the nodes of
// CONFIG's system.memory (or of one node spanning the default DRAM when no config is given).
int cmd_dram(const std::string& trace, const std::string& config_path, const std::vector<std::string>& sets,
             bool json, bool checker) {
  vmsim::config::Overrides applied;
  YAML::Node root = vmsim::platform::load_config_tree(config_path, sets, applied);
  vmsim::platform::PlatformConfig cfg;
  vmsim::config::Loader loader(root, "", config_path.empty() ? "--set" : config_path, &applied);
  cfg.visit(loader);
  loader.finish();
  vmsim::mem::MemoryConfig& mc = cfg.system.memory;
  if (checker) {
    mc.dram.controller.timing_checker = true;
    for (vmsim::mem::NodeConfig& n : mc.nodes) n.dram.controller.timing_checker = true;
  }
  if (config_path.empty() && !root["system"]) mc.nodes[0].size = vmsim::Bytes{mc.dram.organisation.capacity_bytes()};
  mc.model = vmsim::mem::MemoryModel::Dram;
  mc.validate("system.memory");
  // Each node's own controller (nodes[].dram); a CXL node's link is not part of this replay.
  std::vector<std::unique_ptr<vmsim::dram::MemorySystem>> systems;
  std::vector<vmsim::dram::ReplayNode> nodes;
  const std::vector<vmsim::mem::NodeRange> node_ranges = mc.ranges();
  for (size_t i = 0; i < node_ranges.size(); ++i) {
    systems.push_back(std::make_unique<vmsim::dram::MemorySystem>(mc.nodes[i].dram));
    nodes.push_back({node_ranges[i].base, node_ranges[i].size, systems.back().get()});
  }
  vmsim::dram::TraceFileReader reader(trace);
  auto outside = [&](uint64_t address) {
    std::string ranges;
    for (const auto& n : nodes) {
      ranges += (ranges.empty() ? "" : ", ") + std::string("[") + vmsim::format_hex(n.base) + ", " +
                vmsim::format_hex(n.base + n.size) + ")";
    }
    throw vmsim::InputError(reader.name(), reader.line(),
                            "address " + vmsim::format_hex(address) + " is outside every node (" + ranges + ")");
  };
  const auto t0 = std::chrono::steady_clock::now();
  const vmsim::dram::ReplayResult r = vmsim::dram::replay(nodes, reader, outside);
  const double host = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (r.violations != 0) {
    throw vmsim::SimulationError("DRAM timing violations:\n" + r.violation_report);
  }
  if (json) {
    nlohmann::ordered_json j;
    j["requests"] = r.requests;
    j["reads"] = r.reads;
    j["writes"] = r.writes;
    j["host_seconds"] = host;
    j["requests_per_second"] = host > 0 ? static_cast<double>(r.requests) / host : 0.0;
    j["sim_dram_cycles"] = r.cycles;
    j["avg_read_latency_dram_cycles"] = r.avg_read_latency;
    j["bandwidth_gbps"] = r.bandwidth_gbs;
    j["row_hits"] = r.stats.row_hits;
    j["row_misses"] = r.stats.row_misses;
    j["row_conflicts"] = r.stats.row_conflicts;
    j["energy_pj"] = r.energy.total();
    j["energy_per_request_pj"] = r.energy_per_access_pj;
    j["avg_power_mw"] = r.avg_power_mw;
    nlohmann::ordered_json e;
    e["act"] = r.energy.act;
    e["pre"] = r.energy.pre;
    e["rd"] = r.energy.rd;
    e["wr"] = r.energy.wr;
    e["ref"] = r.energy.ref;
    e["act_standby"] = r.energy.active_standby;
    e["pre_standby"] = r.energy.precharged_standby;
    j["energy_breakdown_pj"] = e;
    j["preset"] = mc.dram.preset;
    j["nodes"] = nodes.size();
    j["timing_checker"] = mc.dram.controller.timing_checker;
    j["timing_violations"] = r.violations;
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::cout << vmsim::dram::format_result(r, mc.dram);
  std::printf("%-21s%zu\n%-21s%.3f s (%.0f requests/s)\n", "nodes", nodes.size(), "host time", host,
              host > 0 ? static_cast<double>(r.requests) / host : 0.0);
  return 0;
}

int cmd_trace_convert(const std::string& in, const std::string& out, const std::string& from) {
  using vmsim::workload::TraceFormat;
  const TraceFormat f = from == "lackey" ? TraceFormat::Lackey : from == "champsim" ? TraceFormat::Champsim : TraceFormat::Unknown;
  const vmsim::workload::ConvertResult r = vmsim::workload::convert_trace(in, out, f);
  std::cout << in << " (" << (r.header.source == TraceFormat::Lackey ? "lackey" : "champsim") << ", " << r.bytes_in
            << " bytes) -> " << out << " (" << r.bytes_out << " bytes): " << r.header.instructions << " instructions, "
            << r.header.data << " data accesses\n";
  return 0;
}

}  // namespace

// The SystemC kernel reads SC_COPYRIGHT_MESSAGE before sc_main runs: set it during static
// initialization so no banner is printed.
static const bool g_banner_off = [] { return ::setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0) == 0; }();

int sc_main(int argc, char* argv[]) {
  sc_core::sc_report_handler::set_actions(sc_core::SC_WARNING, sc_core::SC_DISPLAY | sc_core::SC_THROW);
  sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  sc_core::sc_set_time_resolution(1, sc_core::SC_FS);

  CLI::App app{
      "vmsim: a cycle-level virtual-memory system simulator (SystemC/TLM-2.0).\n"
      "Cores replay workloads through MMUs (TLB + page walker) against physical memory, with a firmware OS\n"
      "handling page faults. Exit codes: 0 success, 2 bad input, 3 simulation error (e.g. golden-checker mismatch)."};
  app.require_subcommand(1);
  CLI::App* run = app.add_subcommand("run", "Simulate CONFIG; write stats.json, stats.csv and config.resolved.yaml");
  std::string config_path;
  std::vector<std::string> sets;
  std::string out_dir = "vmsim-out";
  std::optional<uint64_t> seed;
  bool quiet = false;
  run->add_option("config", config_path, "YAML configuration file (see docs/CONFIG.md)")->required();
  run->add_option("--set", sets,
                  "Override a key: --set sim.mode=at, --set processes[0].workload.accesses=1000 (repeatable; a "
                  "list element, [N] or .N, must exist in the config; a value in flow syntax, [..] or {..}, sets a "
                  "whole list or map: --set 'system.core.mmu.tlb.stlb=[{entries: 2048}]')")
      ->take_all();
  run->add_option("--out", out_dir, "Output directory (created if missing)")->capture_default_str();
  vmsim::study::add_uint_option(run, "--seed", seed, "Seed for every random choice (overrides sim.seed)");
  run->add_flag("-q,--quiet", quiet,
                 "Print nothing on success, and no progress on stderr (by default a progress line on a terminal, "
                 "else a heartbeat line every 60 s, $VMSIM_HEARTBEAT_SECONDS)");

  CLI::App* dram = app.add_subcommand(
      "dram", "Replay a physical-address trace straight into the DRAM controllers (no cores, MMU or OS)");
  std::string dram_trace;
  std::string dram_config;
  std::vector<std::string> dram_sets;
  bool dram_json = false;
  bool dram_checker = false;
  dram->add_option("--trace", dram_trace,
                   "Trace file: lines 'ADDR READ|WRITE CYCLE' (timed; CYCLE at most 2^48 - 1) or 'LD|ST ADDR' (as "
                   "fast as accepted); ADDR and CYCLE in 0x hex or decimal")
      ->required();
  dram->add_option("--config", dram_config,
                   "Run configuration whose system.memory (DRAM and nodes) to use; default: one node spanning "
                   "the default DDR4-3200AA organisation");
  dram->add_option("--set", dram_sets, "Override a key: --set system.memory.dram.controller.page_policy=closed")
      ->take_all();
  dram->add_flag("--json", dram_json,
                 "Print one JSON object (requests, host_seconds, sim_dram_cycles, avg_read_latency_dram_cycles, "
                 "bandwidth_gbps, ...)");
  dram->add_flag("--checker", dram_checker, "Run the independent JEDEC timing checker on every command");

  CLI::App* doc = app.add_subcommand("doc", "Print generated reference tables");
  std::string doc_what;
  std::string doc_config;
  doc->add_option("what", doc_what, "config (every key) or stats (every statistic of CONFIG)")
      ->required()
      ->check(CLI::IsMember({"config", "stats"}));
  doc->add_option("config", doc_config, "For 'stats': the configuration to elaborate");
  std::vector<std::string> doc_sets;
  doc->add_option("--set", doc_sets, "For 'stats': override a key of the configuration (--set sim.mode=at)")->take_all();

  CLI::App* trace = app.add_subcommand("trace", "Trace files: convert to vmsim's compact format (docs/TRACES.md)");
  trace->require_subcommand(1);
  CLI::App* convert = trace->add_subcommand(
      "convert", "Convert a lackey or ChampSim trace IN to a vmsim trace OUT (replay with workload.kind: vmsim_trace)");
  std::string convert_in;
  std::string convert_out;
  std::string convert_from = "auto";
  convert->add_option("in", convert_in, "Input trace: lackey text, or ChampSim binary (raw, .gz or .xz)")->required();
  convert->add_option("out", convert_out, "Output file (vmsim trace)")->required();
  convert->add_option("--from", convert_from, "Input format (auto: by content)")
      ->check(CLI::IsMember({"auto", "lackey", "champsim"}))
      ->capture_default_str();

  vmsim::study::SweepOptions sweep_options;
  CLI::App* sweep = vmsim::study::add_sweep_command(app, sweep_options);
  vmsim::study::PlotOptions plot_options;
  CLI::App* plot = vmsim::study::add_plot_command(app, plot_options);
  std::string report_dir;
  CLI::App* report = vmsim::study::add_report_command(app, report_dir);
  vmsim::study::RefsOptions refs_options;
  CLI::App* refs = vmsim::study::add_refs_command(app, refs_options);
  vmsim::study::FragOptions frag_options;
  CLI::App* frag = app.add_subcommand(
      "frag", "Steady-state fragmentation experiment over the variable-partition allocator (also: fragsim)");
  vmsim::study::add_frag_options(*frag, frag_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "vmsim: " << vmsim::printable(e.what(), 1000) << " (see vmsim --help)\n";
    return kExitBadInput;
  }

  try {
    if (run->parsed()) return cmd_run(config_path, sets, out_dir, seed, quiet);
    if (dram->parsed() && dram->count("--config") > 0 && dram_config.empty()) {
      throw vmsim::InputError("--config: the file name is empty");
    }
    if (dram->parsed()) return cmd_dram(dram_trace, dram_config, dram_sets, dram_json, dram_checker);
    if (convert->parsed()) return cmd_trace_convert(convert_in, convert_out, convert_from);
    if (sweep->parsed()) return vmsim::study::run_sweep_command(sweep_options);
    if (plot->parsed()) return vmsim::study::run_plot_command(plot_options);
    if (report->parsed()) return vmsim::study::run_report_command(report_dir);
    if (refs->parsed()) return vmsim::study::run_refs_command(refs_options, vmsim::study::plot_refs);
    if (frag->parsed()) return vmsim::study::run_frag(frag_options, "vmsim frag");
    if (doc_what == "config") {
      std::cout << vmsim::platform::config_reference_markdown();
      return 0;
    }
    if (doc_config.empty()) throw vmsim::InputError("doc stats: give the configuration to elaborate");
    vmsim::platform::PlatformConfig cfg = vmsim::platform::load_platform_config(doc_config, doc_sets, std::nullopt);
    vmsim::platform::System system("system", cfg);
    std::cout << stats_reference(vmsim::stats::collect_all());
    return 0;
  } catch (const vmsim::InputError& e) {
    std::cerr << "vmsim: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const vmsim::SimulationError& e) {
    std::cerr << "vmsim: simulation error: " << e.what() << "\n";
    return kExitSimulationError;
  } catch (const sc_core::sc_report& e) {
    std::cerr << "vmsim: SystemC error: " << e.what() << "\n";
    return kExitSimulationError;
  } catch (const std::exception& e) {
    std::cerr << "vmsim: internal error: " << e.what() << "\n";
    return kExitSimulationError;
  }
}
