// `vmsim refs`: replays a reference string through the kernel's page-replacement policies (the classes of
// firmware/swap, OPT included) for a range of frame counts and reports faults, flagging Belady's anomaly.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "firmware/swap/ref_sim.hpp"
#include "firmware/swap/replacement.hpp"

namespace vmsim::study {

// Frame counts: "N", "A..B" (inclusive), or a comma list of those ("1..4,8"); sorted, duplicates removed.
// Throws InputError "--frames: bad value 'T' (...)" for 0, a reversed range, or non-numbers.
std::vector<uint64_t> parse_frames(const std::string& text);
// Policies: "all" (every kind the kernel has, in its table order) or a comma list of names ("fifo,opt").
// Throws InputError "--policy: unknown policy 'X' (expected ...)".
std::vector<fw::ReplacementKind> parse_policies(const std::string& text);

// Faults of every policy (rows) at every frame count (columns), exact information, fixed allocation.
struct RefsTable {
  std::vector<fw::ReplacementKind> policies;
  std::vector<uint64_t> frames;
  std::vector<std::vector<uint64_t>> faults;  // [policy][frame index]
};
// tau: the ws/wsclock window (in references); seed: the random policy's seed.
RefsTable run_refs(const std::vector<fw::Reference>& refs, const std::vector<fw::ReplacementKind>& policies,
                   const std::vector<uint64_t>& frames, uint64_t tau, uint64_t seed);

// More faults with more frames: frames[i] -> frames[i + 1] of one policy.
struct BeladyAnomaly {
  fw::ReplacementKind policy;
  uint64_t frames_before, faults_before;
  uint64_t frames_after, faults_after;
};
std::vector<BeladyAnomaly> belady_anomalies(const RefsTable& table);

// A text table (policies as rows, frame counts as columns, anomalous cells marked '!') with a line per
// anomaly; or `policy,frames,faults` rows with a header.
std::string format_refs_table(const RefsTable& table, const std::vector<fw::Reference>& refs, uint64_t tau);
std::string format_refs_csv(const RefsTable& table);

struct RefsOptions {
  std::string references;  // the string itself, or
  std::string file;        // a file holding it
  std::string frames = "1..8";
  std::string policy = "all";
  bool csv = false;
  uint64_t tau = fw::ReplacementConfig{}.tau;
  uint64_t seed = fw::ReplacementConfig{}.seed;
  std::string plot;  // draw the fault curves to this file (.png or .svg); "" = no plot
};
// Registers `refs` on app, its flags bound to o.
CLI::App* add_refs_command(CLI::App& app, RefsOptions& o);
// Runs it, printing to stdout; with o.plot, then calls plot(table, o.plot) and returns its exit code.
// Throws InputError for bad input (exit code 2), a --plot file not ending in .png or .svg included.
int run_refs_command(const RefsOptions& o,
                     const std::function<int(const RefsTable&, const std::string&)>& plot = {});

}  // namespace vmsim::study
