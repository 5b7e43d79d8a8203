// `vmsim sweep SPEC.yaml`: expands a sweep spec into runs and executes them with the local backend (each
// run a `vmsim run` child process, N at once), then writes results.csv, results.json and summary.csv.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace vmsim::study {

struct SweepOptions {
  std::string spec;
  std::string out;  // default: sweep-out/<spec file name without .yaml>
  unsigned jobs = 0;  // 0: the number of online cores
  std::string backend = "local";
  bool dry_run = false;
  bool resume = false;
};

// Registers `sweep` on app, its flags bound to o.
CLI::App* add_sweep_command(CLI::App& app, SweepOptions& o);
// Runs the sweep. Returns 0 if every run succeeded, 1 if some failed (recorded in the tables), 130 if
// interrupted by SIGINT (finished runs kept, results written for them). Throws InputError for a bad spec
// or options (exit code 2).
int run_sweep_command(const SweepOptions& o);

}  // namespace vmsim::study
