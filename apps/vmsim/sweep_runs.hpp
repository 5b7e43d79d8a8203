// The run folders of a sweep, shared by its local and Slurm backends: starting one run as a `vmsim run`
// child with its output in its folder, recording how it ended (status.json), reading a recorded run back,
// and writing the result tables. Plain C++ without SystemC.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "apps/vmsim/study_results.hpp"
#include "apps/vmsim/sweep_spec.hpp"

namespace vmsim::study {

// Written into a run's folder when the run ended: status ok / failed, exit_code, host_seconds, error,
// seed, overrides.
constexpr const char* kStatusFile = "status.json";

// A run to execute or already done, with where its files go.
struct Job {
  RunResult result;
  std::string dir;            // the run's folder, DIR/runs/<hash>
  std::string resolve_error;  // non-empty: the config did not resolve (the child will report it)
  bool skipped = false;       // --resume found it complete
  bool finished = false;      // its outcome is in result (and in its status.json)
};

// The whole file ("" if it cannot be read).
std::string slurp(const std::string& path);
// Writes text to path; throws InputError "PATH: cannot write".
void write_file(const std::string& path, const std::string& text);
// The first non-empty line of text ("" if none).
std::string first_line(const std::string& text);
// "key=value ... seed=S": a run's swept parameters and seed, for progress lines and messages.
std::string params_text(const SweepRun& run, const std::optional<uint64_t>& seed);

// Reads a finished run's outcome from its folder: status.json and, if ok, stats.json. False if the
// folder holds no complete ok run (missing, failed or damaged).
bool load_complete(Job& job);
// Reads any recorded outcome, ok or failed, from the run's status.json (and stats.json for an ok run;
// an ok run whose stats.json does not parse reads as failed). False if status.json is missing or damaged.
bool load_recorded(Job& job);

// The `vmsim run` arguments of a job (argv[0] "vmsim"): BASE --set ... [--seed S] --out DIR -q.
std::vector<std::string> run_arguments(const std::string& base, const Job& job);
// Starts `vmsim run` (the executable `exe`) for job in its own process group, stdin from /dev/null,
// stdout and stderr into the run folder's stdout.txt and stderr.txt. The folder must exist. Returns the
// child's pid; throws std::runtime_error if fork fails.
pid_t spawn_run(const std::string& exe, const std::string& base, const Job& job);
// Records how the child ended (a waitpid status) after host_seconds: fills job.result (exit code, error
// line from stderr.txt, statistics from stats.json) and writes status.json.
void record_end(Job& job, int status, double host_seconds);

// Records a run that ended without recording itself (a Slurm array task that was killed or never
// started vmsim): status failed with exit_code and error; writes status.json.
void record_failure(Job& job, int exit_code, const std::string& error, double host_seconds);

// Writes DIR/results.csv and DIR/results.json, and DIR/summary.csv if summary; returns the paths written.
std::vector<std::string> write_tables(const SweepSpec& spec, const std::string& out,
                                      const std::vector<RunResult>& results, bool summary);

// Prints the expanded runs as --dry-run shows them: a header line (runs, points, seeds, base, output
// folder), the fixed sets, then one line per run: hash, parameters and seed, and "(invalid: ...)" for a
// run whose config does not resolve.
void print_run_list(const SweepSpec& spec, const std::string& out, const std::vector<Job>& all);

// Ends a sweep: writes the tables for the finished jobs (summary.csv with more than one seed), prints
// the counts ("sweep: N runs: R ran, S skipped (complete before), F failed; T s"), one line per failed
// run and the files written. If interrupted is not empty it goes to stderr and the result is 130; else a
// metric no ok run has throws InputError; else 1 if some run failed, 0 if none did.
int finish_sweep(const SweepSpec& spec, const std::string& out, const std::vector<Job>& all, size_t ran, size_t skipped,
                 double wall_seconds, const std::string& interrupted);

}  // namespace vmsim::study
