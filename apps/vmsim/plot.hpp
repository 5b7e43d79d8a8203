// `vmsim plot DIR` and `vmsim report DIR`: plots of a sweep's results.csv and the self-contained HTML
// report of a run or sweep folder, drawn by scripts/vmsim_plot.py (python3-matplotlib).
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "apps/vmsim/refs.hpp"

namespace vmsim::study {

struct PlotOptions {
  std::string dir;
  std::vector<std::string> x;  // empty: every swept key
  std::vector<std::string> y;  // empty: the spec's metrics
  std::string group;           // empty: a second swept key, when there is one
  std::string kind = "line";
};

// Registers `plot` and `report` on app, their flags bound to plot and report_dir.
CLI::App* add_plot_command(CLI::App& app, PlotOptions& o);
CLI::App* add_report_command(CLI::App& app, std::string& report_dir);

// The drawing script: $VMSIM_PLOT_SCRIPT if set, else scripts/vmsim_plot.py of the source tree vmsim was
// built from. Throws InputError if the file does not exist.
std::string plot_script();

// Run the script (with /usr/bin/python3, or $VMSIM_PYTHON) and return its exit code: 0, or 2 for bad input (a missing results.csv or
// stats.json, an unknown column; the script prints one line naming it). Throws InputError if the script is
// missing or the interpreter cannot be started.
int run_plot_command(const PlotOptions& o);
int run_report_command(const std::string& dir);
// `vmsim refs --plot FILE`: the table's fault curves (faults against frames, one line per policy) drawn to
// FILE, PNG or SVG by its extension. Returns the script's exit code.
int plot_refs(const RefsTable& table, const std::string& file);

}  // namespace vmsim::study
