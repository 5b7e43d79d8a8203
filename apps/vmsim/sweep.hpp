// `vmsim sweep SPEC.yaml`: expands a sweep spec into runs and executes them with the local backend (each
// run a `vmsim run` child process, N at once) or the Slurm backend (one sbatch job array, a task per run),
// then writes results.csv, results.json and summary.csv. `vmsim sweep collect DIR` builds the tables of a
// Slurm sweep from its run folders later; `vmsim sweep run-one DIR I` (hidden) is one array task.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "apps/vmsim/slurm_script.hpp"

namespace vmsim::study {

struct SweepOptions {
  std::string spec;
  std::string out;    // default: sweep-out/<spec file name without .yaml>
  unsigned jobs = 0;  // 0: the number of online cores (local); no throttle (slurm)
  std::string backend = "local";
  bool dry_run = false;
  bool resume = false;
  // --backend slurm only.
  unsigned throttle = 0;  // 0: -j if given, else no limit
  std::string mem = kSlurmDefaultMem;
  std::string time = kSlurmDefaultTime;
  std::string partition;
  std::string account;
  bool no_wait = false;
  // `sweep collect DIR` and `sweep run-one DIR INDEX`.
  std::string task_dir;
  size_t task_index = 0;
  CLI::App* command = nullptr;
  CLI::App* collect = nullptr;
  CLI::App* run_one = nullptr;
};

// Registers `sweep` (and its `collect` and hidden `run-one` subcommands) on app, its flags bound to o.
CLI::App* add_sweep_command(CLI::App& app, SweepOptions& o);
// Runs the parsed sweep command. Returns 0 if every run succeeded, 1 if some failed (recorded in the
// tables) or, for collect, some are missing, 130 if interrupted by SIGINT (finished runs kept, results
// written for them). Throws InputError for a bad spec or options, a missing sbatch or a failed submission
// (exit code 2).
int run_sweep_command(const SweepOptions& o);

}  // namespace vmsim::study
