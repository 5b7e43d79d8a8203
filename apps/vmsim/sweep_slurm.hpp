// The Slurm backend of `vmsim sweep`: submitting the runs as one sbatch job array, waiting for it with
// progress, one array task (`vmsim sweep run-one`), and `vmsim sweep collect DIR`.
#pragma once

#include <string>
#include <vector>

#include "apps/vmsim/sweep.hpp"
#include "apps/vmsim/sweep_runs.hpp"
#include "apps/vmsim/sweep_spec.hpp"

namespace vmsim::study {

// Submits every run of `all` (with --resume: every run not complete) as an array task of one sbatch job,
// after writing DIR/slurm/plan.json, DIR/slurm/sweep.sbatch and DIR/slurm/tasks/<i> (links to the run
// folders). Then, unless o.no_wait, waits with progress until every task recorded its run and ends the
// sweep as the local backend does (finish_sweep). With o.dry_run it writes the files but submits
// nothing. Throws InputError (exit 2) for bad options, a missing sbatch, an earlier job of DIR still in
// the queue, or a refused submission.
int run_slurm_sweep(const SweepOptions& o, const SweepSpec& spec, const std::string& out, std::vector<Job>& all);

// Builds the tables of the Slurm sweep in dir from its run folders; lists failed and missing runs.
// Returns 0 if every run is ok, 1 if some failed or are missing; throws InputError if dir holds no plan.
int collect_slurm_sweep(const std::string& dir);

// One array task: runs the index-th task of dir's plan exactly as the local backend runs it (same
// arguments, same folder, same status.json) and returns the run's exit code.
int run_slurm_task(const std::string& dir, size_t index);

}  // namespace vmsim::study
