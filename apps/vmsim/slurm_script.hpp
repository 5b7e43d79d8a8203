// The sbatch array script of `vmsim sweep --backend slurm`: its options, their checks and its text.
// Plain C++ without SystemC, so unit tests check the script for a given sweep.
#pragma once

#include <cstddef>
#include <string>

namespace vmsim::study {

// What one submission asks of Slurm. Paths are absolute and free of whitespace, quotes and '%'
// (check_slurm_script() says which is not).
struct SlurmScript {
  std::string spec;       // the spec file as given (a comment in the script)
  std::string job_name;   // --job-name
  size_t tasks = 0;       // array tasks 0 .. tasks-1, one per run
  unsigned throttle = 0;  // at most this many tasks at once (%K); 0: no limit
  std::string mem;        // --mem per task, Slurm syntax (e.g. "2G")
  std::string time;       // --time per task, Slurm syntax (e.g. "1:00:00")
  std::string partition;  // --partition; empty: the cluster's default
  std::string account;    // --account; empty: the user's default
  std::string workdir;    // --chdir: the folder vmsim sweep ran in (relative spec and base paths)
  std::string out_dir;    // the sweep's DIR
  std::string vmsim;      // the vmsim executable every task runs
};

// Default --mem and --time of one run.
constexpr const char* kSlurmDefaultMem = "2G";
constexpr const char* kSlurmDefaultTime = "1:00:00";

// Throws InputError naming the option and the bad value: --mem not N[K|M|G|T]; --time not one of
// Slurm's forms (MINUTES, MINUTES:SECONDS, HOURS:MINUTES:SECONDS, DAYS-HOURS, DAYS-HOURS:MINUTES,
// DAYS-HOURS:MINUTES:SECONDS); --partition or --account with characters other than letters, digits
// and "_.,+-"; a path (out_dir, workdir, vmsim) that is not absolute or holds whitespace, quotes, '\',
// '$', '`' or '%'; no tasks.
void check_slurm_script(const SlurmScript& s);

// The script's text: #SBATCH lines (array 0-(tasks-1)[%throttle], one task with one CPU, mem, time,
// partition and account when given, chdir, output and error files
// OUT/slurm/tasks/%a/slurm-%A_%a.{out,err} — OUT/slurm/tasks/<i> links to the run folder of task i),
// then `exec VMSIM sweep run-one OUT $SLURM_ARRAY_TASK_ID`.
std::string sbatch_script(const SlurmScript& s);

// A Slurm job name from a spec file name: "vmsim-" and the file's stem, characters other than letters,
// digits, '_', '.', '-' replaced by '_'.
std::string slurm_job_name(const std::string& spec_file);

}  // namespace vmsim::study
