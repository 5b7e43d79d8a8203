// `vmsim frag` and the `fragsim` alias: the steady-state variable-partition fragmentation experiment for one
// or all placement policies; a summary table (one column per policy) and optionally the sampled time series.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace vmsim::study {

// The command-line values, as typed (parsed and validated by run_frag).
struct FragOptions {
  std::string policy = "first-fit";
  std::string steps = "100000";
  std::string seed = "1";
  std::string arena = "1MiB";
  std::string dist = "uniform";
  std::string min_size = "64";
  std::string max_size = "4096";
  std::string mean_size = "1024";
  std::string lifetime = "400";
  std::string granule = "16";
  std::string sample_every = "1000";
  std::string compaction = "never";
  std::string csv;
};

// Adds the experiment's flags to cmd (the fragsim app or the vmsim frag subcommand), bound to o.
void add_frag_options(CLI::App& cmd, FragOptions& o);
// Runs the experiment and prints the summary to stdout. Errors go to stderr as one line prefixed with
// `prog`: bad input returns 2, a failure while running or writing returns 1; success 0.
int run_frag(const FragOptions& o, const std::string& prog);

}  // namespace vmsim::study
