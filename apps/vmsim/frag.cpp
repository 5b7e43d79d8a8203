// The variable-partition fragmentation experiment as a command, shared by `vmsim frag` and `fragsim`.
#include "apps/vmsim/frag.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "firmware/mm/frag_experiment.hpp"
#include "common/error.hpp"
#include "common/units.hpp"

namespace vmsim::study {

namespace {

constexpr int kExitBadInput = 2;
constexpr int kExitFailure = 1;

using vmsim::InputError;
using vmsim::fw::FragExperimentConfig;
using vmsim::fw::FragExperimentResult;
using vmsim::fw::Placement;

std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

uint64_t parse_count(const std::string& flag, const std::string& text) {
  std::optional<uint64_t> v = vmsim::parse_uint(text);
  if (!v) throw InputError(flag + ": bad value '" + text + "' (expected an unsigned integer)");
  return *v;
}

uint64_t parse_size(const std::string& flag, const std::string& text) {
  std::optional<vmsim::Bytes> v = vmsim::parse_bytes(text);
  if (!v) throw InputError(flag + ": bad value '" + text + "' (expected a size such as 4096, 64KiB or 1MiB)");
  return v->value;
}

template <class E>
E parse_enum(const std::string& flag, const std::string& text, const std::string& extra_choice = "") {
  E e{};
  if (!vmsim::config::parse_value(text, e)) {
    throw InputError(flag + ": bad value '" + text + "' (expected " + vmsim::config::enum_choices<E>() + extra_choice +
                     ")");
  }
  return e;
}

// "min_size: bad value ..." (a config key) -> "--min-size: bad value ..." (the flag the user typed).
std::string key_to_flag(const std::string& msg) {
  const size_t colon = msg.find(':');
  if (colon == std::string::npos) return msg;
  std::string key = msg.substr(0, colon);
  for (char& c : key) {
    if (c == '_') c = '-';
  }
  return "--" + key + msg.substr(colon);
}

struct Run {
  const char* policy;
  FragExperimentResult result;
  double host_seconds;
};

void print_summary(const FragExperimentConfig& cfg, const std::vector<Run>& runs) {
  std::printf("fragsim: arena %llu B, %llu steps, seed %llu, sizes %s [%llu, %llu]", static_cast<unsigned long long>(cfg.arena),
              static_cast<unsigned long long>(cfg.steps), static_cast<unsigned long long>(cfg.seed),
              vmsim::config::enum_name(cfg.distribution), static_cast<unsigned long long>(cfg.min_size),
              static_cast<unsigned long long>(cfg.max_size));
  if (cfg.distribution == vmsim::fw::SizeDistribution::Exponential) {
    std::printf(" mean %llu", static_cast<unsigned long long>(cfg.mean_size));
  }
  std::printf(", granule %llu B, mean lifetime %llu steps, compaction %s\n", static_cast<unsigned long long>(cfg.granule),
              static_cast<unsigned long long>(cfg.mean_lifetime), vmsim::config::enum_name(cfg.compaction));

  std::printf("  %-34s", "metric");
  for (const Run& r : runs) std::printf("%14s", r.policy);
  std::printf("\n");
  auto row = [&](const char* name, auto value, const char* fmt) {
    std::printf("  %-34s", name);
    for (const Run& r : runs) std::printf(fmt, value(r));
    std::printf("\n");
  };
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  row("requests", [&](const Run& r) { return u(r.result.requests); }, "%14llu");
  row("allocations", [&](const Run& r) { return u(r.result.allocations); }, "%14llu");
  row("failures", [&](const Run& r) { return u(r.result.failures); }, "%14llu");
  row("failure rate (%)", [](const Run& r) {
    return r.result.requests ? 100.0 * static_cast<double>(r.result.failures) / static_cast<double>(r.result.requests) : 0.0;
  }, "%14.3f");
  row("mean blocks", [](const Run& r) { return r.result.mean_blocks; }, "%14.1f");
  row("mean holes", [](const Run& r) { return r.result.mean_holes; }, "%14.1f");
  row("holes / blocks", [](const Run& r) {
    return r.result.mean_blocks > 0 ? r.result.mean_holes / r.result.mean_blocks : 0.0;
  }, "%14.3f");
  row("mean utilization (%)", [](const Run& r) { return 100.0 * r.result.mean_utilization; }, "%14.2f");
  row("mean external fragmentation", [](const Run& r) { return r.result.mean_external_fragmentation; }, "%14.4f");
  row("mean internal waste (B)", [](const Run& r) { return r.result.mean_internal_waste; }, "%14.1f");
  row("mean unusable free (B)", [](const Run& r) { return r.result.mean_unusable_free; }, "%14.1f");
  row("final largest hole (B)", [&](const Run& r) {
    return u(r.result.samples.empty() ? 0 : r.result.samples.back().largest_hole);
  }, "%14llu");
  row("compactions", [&](const Run& r) { return u(r.result.compactions); }, "%14llu");
  row("moved bytes", [&](const Run& r) { return u(r.result.moved_bytes); }, "%14llu");
  row("holes examined / request", [](const Run& r) {
    return r.result.requests ? static_cast<double>(r.result.holes_examined) / static_cast<double>(r.result.requests) : 0.0;
  }, "%14.2f");
  row("host time (s)", [](const Run& r) { return r.host_seconds; }, "%14.3f");
  row("host speed (M requests/s)", [](const Run& r) {
    return r.host_seconds > 0 ? static_cast<double>(r.result.requests) / r.host_seconds / 1e6 : 0.0;
  }, "%14.3f");
}

}  // namespace

void add_frag_options(CLI::App& app, FragOptions& o) {
  app.add_option("--policy", o.policy, "first-fit | best-fit | worst-fit | next-fit | all")->capture_default_str();
  app.add_option("--steps", o.steps, "Steps to run (one request per step)")->capture_default_str();
  app.add_option("--seed", o.seed, "Random seed")->capture_default_str();
  app.add_option("--arena", o.arena, "Arena size (4096, 64KiB, 1MiB, ...)")->capture_default_str();
  app.add_option("--dist", o.dist, "Request size distribution: uniform | exponential")->capture_default_str();
  app.add_option("--min-size", o.min_size, "Smallest request (bytes)")->capture_default_str();
  app.add_option("--max-size", o.max_size, "Largest request (bytes)")->capture_default_str();
  app.add_option("--mean-size", o.mean_size, "Mean request size for --dist exponential (bytes)")->capture_default_str();
  app.add_option("--lifetime", o.lifetime, "Mean block lifetime in steps (exponential)")->capture_default_str();
  app.add_option("--granule", o.granule, "Allocation unit: requests are rounded up to a multiple (bytes)")
      ->capture_default_str();
  app.add_option("--sample-every", o.sample_every, "Steps between samples of the time series")->capture_default_str();
  app.add_option("--compact", o.compaction, "never | on-failure")->capture_default_str();
  app.add_option("--csv", o.csv, "Write the sampled time series to this CSV file");
}

int run_frag(const FragOptions& o, const std::string& prog) {
  FragExperimentConfig cfg;
  std::vector<Placement> policies;
  std::ofstream csv_out;
  try {
    if (o.policy == "all") {
      policies = {Placement::FirstFit, Placement::BestFit, Placement::WorstFit, Placement::NextFit};
    } else {
      policies = {parse_enum<Placement>("--policy", o.policy, " | all")};
    }
    cfg.steps = parse_count("--steps", o.steps);
    cfg.seed = parse_count("--seed", o.seed);
    cfg.arena = parse_size("--arena", o.arena);
    cfg.distribution = parse_enum<vmsim::fw::SizeDistribution>("--dist", o.dist);
    cfg.min_size = parse_size("--min-size", o.min_size);
    cfg.max_size = parse_size("--max-size", o.max_size);
    cfg.mean_size = parse_size("--mean-size", o.mean_size);
    cfg.mean_lifetime = parse_count("--lifetime", o.lifetime);
    cfg.granule = parse_size("--granule", o.granule);
    cfg.sample_every = parse_count("--sample-every", o.sample_every);
    cfg.compaction = parse_enum<vmsim::fw::CompactionMode>("--compact", o.compaction);
    try {
      cfg.validate("");
    } catch (const InputError& e) {
      throw InputError(key_to_flag(e.what()));
    }
    if (!o.csv.empty()) {
      csv_out.open(o.csv);
      if (!csv_out) throw InputError(o.csv + ": cannot write");
      csv_out << vmsim::fw::frag_csv_header();
    }
  } catch (const InputError& e) {
    std::cerr << prog << ": " << one_line(e.what()) << "\n";
    return kExitBadInput;
  }

  try {
    std::vector<Run> runs;
    for (Placement p : policies) {
      cfg.policy = p;
      const auto t0 = std::chrono::steady_clock::now();
      FragExperimentResult r = vmsim::fw::run_frag_experiment(cfg);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (csv_out.is_open()) {
        for (const auto& s : r.samples) csv_out << vmsim::fw::frag_csv_row(vmsim::config::enum_name(p), s);
      }
      runs.push_back({vmsim::config::enum_name(p), std::move(r), secs});
    }
    print_summary(cfg, runs);
    if (csv_out.is_open()) {
      csv_out.close();
      if (!csv_out) throw std::runtime_error(o.csv + ": write failed");
      std::printf("wrote %s\n", o.csv.c_str());
    }
  } catch (const std::exception& e) {
    std::cerr << prog << ": error: " << one_line(e.what()) << "\n";
    return kExitFailure;
  }
  return 0;
}

}  // namespace vmsim::study
