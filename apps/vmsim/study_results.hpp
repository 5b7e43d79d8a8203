// The results of a sweep as tables: results.csv / results.json (one row per run) and summary.csv (mean and
// 95 % confidence interval per parameter point), plus the CSV quoting and the statistics they use.
// Plain C++ without SystemC.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/vmsim/sweep_spec.hpp"

namespace vmsim::study {

// What became of one run.
struct RunResult {
  SweepRun run;
  std::string hash;                 // run folder name under DIR/runs/
  std::optional<uint64_t> seed;     // the seed the run used (the spec's, else the base config's), if known
  bool ok = false;                  // exit code 0 and stats.json read
  int exit_code = 0;                // the run's exit code; 128 + N if killed by signal N
  double host_seconds = 0;          // wall time of the run's process
  std::string error;                // failed runs: the first line of the run's stderr
  nlohmann::ordered_json stats = nlohmann::ordered_json::object();  // flattened summary (ok runs)
};

// The summary object of a run's stats.json flattened to one level: nested keys joined with '.'
// ({"page_faults": {"total": 3}} -> "page_faults.total": 3). Non-numeric leaves are dropped.
nlohmann::ordered_json flatten_summary(const nlohmann::ordered_json& summary);

// One CSV field (RFC 4180): quoted when it holds a comma, a quote, a line break or leading/trailing
// spaces; quotes inside are doubled.
std::string csv_field(const std::string& text);
// Fields joined with commas, ending in "\n".
std::string csv_row(const std::vector<std::string>& fields);

// Two-sided 95 % quantile of Student's t with df degrees of freedom (t_{0.975, df}), from a table
// (df 1..30 exact to 4 decimals, then 40, 60, 120 and the normal 1.96; between table rows the smaller df,
// i.e. the wider interval). df == 0 is invalid (std::invalid_argument).
double student_t975(uint64_t df);

struct MeanCi {
  size_t n = 0;
  double mean = 0;
  double half_width = 0;  // 95 % CI half-width: t975(n-1) * s / sqrt(n), s the sample standard deviation; NaN if n < 2
};
// Mean and 95 % confidence interval of values (n == 0: mean NaN).
MeanCi mean_ci95(const std::vector<double>& values);

// Column names of results.csv: the swept keys, the spec's metrics, seed, status, exit_code,
// host_seconds, run, error, then every other summary statistic in the order of the first ok run
// (statistics of later runs that the first lacks are appended).
std::vector<std::string> result_columns(const SweepSpec& spec, const std::vector<RunResult>& results);
// results.csv text: a header and one row per result, in the given order.
std::string results_csv(const SweepSpec& spec, const std::vector<RunResult>& results);
// results.json: {"spec", "base", "columns", "runs": [{params, seed, status, exit_code, host_seconds, run,
// error, stats}]}, the same data as results.csv.
nlohmann::ordered_json results_json(const SweepSpec& spec, const std::vector<RunResult>& results);
// summary.csv text: one row per parameter point that has results: the swept keys, runs, ok, then for
// each statistic (the spec's metrics first) `<stat>.mean` and `<stat>.ci95` (half-width; empty with
// fewer than two ok runs) over the point's ok runs.
std::string summary_csv(const SweepSpec& spec, const std::vector<RunResult>& results);

// The spec's metrics that no ok run has as a summary statistic (empty when no run is ok).
std::vector<std::string> unknown_metrics(const SweepSpec& spec, const std::vector<RunResult>& results);

}  // namespace vmsim::study
